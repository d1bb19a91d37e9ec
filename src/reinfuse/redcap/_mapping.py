"""A centre's own REDCap project mapped onto the cohort format, by a small TOML file.

.. code-block:: toml

    [redcap]
    record_id = "study_id"          # optional: the record identifier field

    [fields]                        # their field -> our table.column
    study_id = "patients.patient_id"
    gender = "patients.sex"
    cart_dose = "infusions.dose_per_kg"

    [values.gender]                 # their code or label -> our value
    "1" = "F"
    "2" = "M"

    [events]                        # longitudinal projects: event -> infusion number
    cart1_arm_1 = 1
    cart2_arm_1 = 2

:func:`starter_mapping` writes a first version from a centre's dictionary with the
closest matches (``difflib`` over field names and labels), to be checked by a person.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reinfuse.errors import UsageError
from reinfuse.redcap._dictionary import RECORD_ID, RECORD_TABLE, Dictionary, redcap_tables
from reinfuse.schema import COHORT_V1, CohortFormat, Column, normalise_code


@dataclass(frozen=True)
class RedcapMapping:
    """Their fields -> our columns, their codes -> our values, events -> infusions."""

    fields: dict[str, tuple[str, str]]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    record_id: str | None = None
    source: str = ""


def _targets(cohort_format: CohortFormat) -> dict[str, tuple[str, str]]:
    return {f"{t.name}.{c.name}": (t.name, c.name)
            for t in redcap_tables(cohort_format) for c in t.columns}


def parse_mapping(text: str, source: str = "mapping",
                  cohort_format: CohortFormat = COHORT_V1) -> RedcapMapping:
    """Parse a mapping's TOML text; every problem is listed at once.

    Raises
    ------
    UsageError
        When the TOML is malformed, or names a table.column the format does not have.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML ({exc}).") from exc
    problems: list[str] = []
    allowed = _targets(cohort_format)
    unknown_sections = sorted(set(data) - {"redcap", "fields", "values", "events"})
    if unknown_sections:
        problems.append(f"unknown section(s) {', '.join(unknown_sections)} (allowed: redcap, "
                        "fields, values, events)")
    fields: dict[str, tuple[str, str]] = {}
    for theirs, ours in dict(data.get("fields", {})).items():
        target = allowed.get(str(ours))
        if target is None:
            near = difflib.get_close_matches(str(ours), list(allowed), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            problems.append(f"[fields] {theirs} = '{ours}': not a table.column of the cohort "
                            f"format{hint}")
        else:
            fields[str(theirs).strip().lower()] = target
    values: dict[str, dict[str, str]] = {}
    for theirs, table in dict(data.get("values", {})).items():
        if not isinstance(table, dict):
            problems.append(f"[values] {theirs}: expected a table of their value = our value")
            continue
        values[str(theirs).strip().lower()] = {str(k): str(v) for k, v in table.items()}
    events: dict[str, int] = {}
    for event, number in dict(data.get("events", {})).items():
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            problems.append(f"[events] {event} = {number!r}: the infusion number must be a "
                            "whole number >= 1")
        else:
            events[str(event).strip()] = number
    record_id = data.get("redcap", {}).get("record_id")
    if problems:
        raise UsageError(f"{source}: " + "; ".join(problems) + ". See docs/redcap.md, "
                         "'Mapping a centre's own project'.")
    return RedcapMapping(fields=fields, values=values, events=events,
                         record_id=str(record_id).strip().lower() if record_id else None,
                         source=source)


def load_mapping(path: str | Path, cohort_format: CohortFormat = COHORT_V1) -> RedcapMapping:
    """Read a mapping TOML file (see the module docstring for its layout)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: the mapping cannot be read ({exc}).") from exc
    return parse_mapping(text, path.name, cohort_format)


# --- starter mapping ----------------------------------------------------------------------

def _words(text: str) -> str:
    return normalise_code(text).replace("_", " ")


@dataclass(frozen=True)
class StarterMapping:
    """A starter mapping: its TOML text, and their fields it could not match."""

    text: str
    matched: dict[str, str]
    unmatched: tuple[str, ...]


#: Similarity (difflib ratio, 0-1) below which a field is left unmatched.
MATCH_CUTOFF = 0.6


def _best(candidates: dict[str, str], *keys: str) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for key in keys:
        if not key:
            continue
        for target, words in candidates.items():
            score = difflib.SequenceMatcher(None, key, words).ratio()
            if best is None or score > best[1]:
                best = (target, score)
    return best


def _value_lines(field_name: str, choices: tuple[tuple[str, str], ...], col: Column
                 ) -> list[str]:
    lookup = col.lookup()
    lines = [f"\n[values.{field_name}]"]
    for code, label in choices:
        exact = lookup.get(normalise_code(label)) or lookup.get(normalise_code(code))
        if exact is not None:
            lines.append(f"{json.dumps(code)} = {json.dumps(exact)}  # {label}")
            continue
        near = difflib.get_close_matches(normalise_code(label), list(col.codes), n=1,
                                         cutoff=0.5)
        if near:
            lines.append(f"{json.dumps(code)} = {json.dumps(near[0])}  # {label} (check)")
        else:
            lines.append(f"# {json.dumps(code)} = ?  # {label}: no close match; allowed "
                         f"{', '.join(col.codes)}")
    return lines


def starter_mapping(dictionary: Dictionary,
                    cohort_format: CohortFormat = COHORT_V1) -> StarterMapping:
    """The closest cohort-format column for each of their fields, as a mapping to edit.

    Each field's name and label are compared (``difflib.SequenceMatcher``) with each
    column's name and meaning; a match scores at least :data:`MATCH_CUTOFF`. Their record
    identifier always maps to ``patients.patient_id``. Choice fields matched to a coded
    column get a ``[values]`` table with the closest code of each label. Nothing is
    guessed silently: every line is for a person to check.
    """
    columns = {f"{t.name}.{c.name}": c for t in redcap_tables(cohort_format) for c in t.columns
               if not (c.name == RECORD_ID and t.name != RECORD_TABLE)}
    names = {target: _words(target.split(".", 1)[1]) for target in columns}
    meanings = {target: _words(col.meaning)[:80] for target, col in columns.items()}
    matched: dict[str, str] = {}
    unmatched: list[str] = []
    value_lines: list[str] = []
    lines = ["# reinfuse REDCap mapping: their field -> our table.column.",
             f"# Written from {dictionary.source}; check every line before use.",
             "", "[redcap]", f"record_id = {json.dumps(dictionary.record_id)}", "",
             "[fields]", f"{dictionary.record_id} = \"patients.patient_id\""]
    taken = {"patients.patient_id"}
    for fld in dictionary.fields[1:]:
        if fld.type in ("descriptive", "calc", "file", "signature"):
            continue
        by_name = _best(names, _words(fld.name))
        by_label = _best(meanings, _words(fld.label)[:80])
        best = max((b for b in (by_name, by_label) if b), key=lambda b: b[1], default=None)
        if best is None or best[1] < MATCH_CUTOFF or best[0] in taken:
            unmatched.append(fld.name)
            lines.append(f"# {fld.name} = ?  # '{fld.label[:60]}': no close match")
            continue
        target, score = best
        taken.add(target)
        matched[fld.name] = target
        lines.append(f"{fld.name} = {json.dumps(target)}  # '{fld.label[:60]}' "
                     f"(similarity {score:.2f})")
        col = columns[target]
        if fld.choices and col.kind in ("code", "codelist", "yesno"):
            if col.kind == "yesno":
                continue  # yes/no labels are read as they are
            value_lines += _value_lines(fld.name, fld.choices, col)
    return StarterMapping(text="\n".join(lines + value_lines) + "\n", matched=matched,
                          unmatched=tuple(unmatched))
