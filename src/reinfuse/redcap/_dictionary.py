"""REDCap data dictionaries: ours, generated from the schema, and anyone's, parsed.

A REDCap data dictionary is a CSV file with 18 columns, one row per field (variable), in
form order. Facts used here (REDCap's data dictionary documentation, "Data Dictionary
Excel Spreadsheet Columns", Vanderbilt University; checked against the dictionaries of
the REDCapR test projects, tests/data/redcap/):

- the first field of the first form is the record identifier;
- field names are lower case letters, digits and underscores, starting with a letter;
- choices of dropdown, radio and checkbox fields are written ``code, label`` separated
  by ``|``; a checkbox field is exported as one column per choice, ``field___code``;
- ``yesno`` fields are coded 1 = Yes, 0 = No; ``truefalse`` 1 = True, 0 = False;
- text fields carry a validation type (``date_ymd``, ``number``, ``integer``...) and an
  optional minimum and maximum;
- ``Identifier?`` is ``y`` for fields a de-identified export must drop;
- branching logic is written in REDCap's logic syntax, ``[field] >= 2``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reinfuse.errors import CohortReadError
from reinfuse.schema import COHORT_V1, REINFUSION_ONLY, CohortFormat, Column, Table

#: The 18 columns of a REDCap data dictionary, in order.
DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

#: Short keys for the dictionary columns (what each column is called in this module).
_KEYS = ("field", "form", "section", "type", "label", "choices", "note", "validation",
         "min", "max", "identifier", "branching", "required", "alignment", "question",
         "matrix", "ranking", "annotation")

#: The table whose rows are REDCap records (a non-repeating instrument); every other
#: table is a repeating instrument of the record.
RECORD_TABLE = "patients"
RECORD_ID = "patient_id"

#: Field-name prefix of each repeating observation instrument.
_PREFIX = {"crs_observations": "crs", "icans_observations": "icans", "car_counts": "car",
           "disease_assessments": "da", "bcell_assessments": "bc"}
#: Names too generic to stand alone in a project where every field name is unique.
_GENERIC = {"infusion", "day", "value", "unit", "date"}
#: Explicit names where the rule above would give something long or unclear.
_RENAMES = {("infusions", "date"): "infusion_date",
            ("crs_observations", "anticytokine_or_antipyretic"): "crs_anticytokine",
            ("patients", "status_before_first_infusion"): "status_before_first"}

#: REDCap recommends field names of at most 26 characters (longer names are truncated in
#: some export formats); every name generated here keeps to it.
MAX_FIELD_NAME = 26
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: The annotation that ties a field of our dictionary to its table and column.
_ANNOTATION = "reinfuse:{table}.{column}"
_ANNOTATION_RE = re.compile(r"reinfuse:([a-z_]+)\.([a-z0-9_]+)")


def map_unique(values: pd.Series, func: Callable[[Any], object]) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (exports repeat few values
    over many rows); missing cells stay missing (``None``), ``func`` never sees them."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object, copy=False)


#: Tables that stay out of REDCap: ``antigen_samples`` lists FCS files by their path next to
#: the workbook (docs/antigen-density.md), a laboratory manifest rather than patient data.
NOT_IN_REDCAP = ("antigen_samples",)


def redcap_tables(cohort_format: CohortFormat = COHORT_V1) -> tuple[Table, ...]:
    """The tables of ``cohort_format`` that have a REDCap instrument (all but
    :data:`NOT_IN_REDCAP`)."""
    return tuple(t for t in cohort_format.tables if t.name not in NOT_IN_REDCAP)


def field_names(cohort_format: CohortFormat = COHORT_V1) -> dict[tuple[str, str], str]:
    """The REDCap field name of every column of the format, ``(table, column) -> field``.

    ``patient_id`` is the record identifier (the first field of the ``patients`` form);
    in the other tables it is not a field but the record the row belongs to.
    Names are the column names, except that key and generic columns of the observation
    tables carry their instrument's prefix (``crs_day``) and a name already taken by an
    earlier table is prefixed too: a REDCap project needs every field name unique.

    Examples
    --------
    >>> names = field_names()
    >>> names[("infusions", "dose_per_kg")], names[("crs_observations", "day")]
    ('dose_per_kg', 'crs_day')
    """
    names: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for table in redcap_tables(cohort_format):
        for col in table.columns:
            if col.name == RECORD_ID and table.name != RECORD_TABLE:
                continue
            name = _RENAMES.get((table.name, col.name), col.name)
            prefix = _PREFIX.get(table.name)
            if prefix and (name in _GENERIC or name in used) and not name.startswith(prefix):
                name = f"{prefix}_{name}"
            names[(table.name, col.name)] = name
            used.add(name)
    return names


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def choices_text(codes: tuple[str, ...]) -> str:
    """REDCap's choices for ``codes``: ``1, CODE | 2, CODE``; the labels are our codes.

    Examples
    --------
    >>> choices_text(("M", "F", "unknown"))
    '1, M | 2, F | 3, unknown'
    """
    return " | ".join(f"{i}, {code}" for i, code in enumerate(codes, start=1))


def _field_row(table: Table, col: Column, name: str) -> dict[str, str]:
    row = dict.fromkeys(_KEYS, "")
    row.update(field=name, form=table.name, label=col.meaning,
               annotation=_ANNOTATION.format(table=table.name, column=col.name))
    notes = [col.unit] if col.unit else []
    if col.kind in ("integer", "number"):
        row.update(type="text", validation=col.kind, min=_number(col.minimum),
                   max=_number(col.maximum))
        if col.minimum_exclusive and col.minimum is not None:
            notes.append(f"must be more than {col.minimum:g}")
    elif col.kind == "date":
        # Dates (other than years) identify a person under HIPAA Safe Harbor
        # (45 CFR 164.514(b)(2)(i)(C)): flagged, so a de-identified export drops them.
        row.update(type="text", validation="date_ymd", identifier="y")
    elif col.kind == "yesno":
        row.update(type="yesno")
    elif col.kind == "code":
        row.update(type="dropdown", choices=choices_text(col.codes))
    elif col.kind == "codelist":
        row.update(type="checkbox", choices=choices_text(col.codes))
    else:
        row.update(type="text")
    if col.required:
        row["required"] = "y"
    if table.name == "infusions" and col.name in REINFUSION_ONLY:
        row["branching"] = "[infusion] >= 2"
    row["note"] = "; ".join(notes)
    return row


def dictionary_frame(cohort_format: CohortFormat = COHORT_V1) -> pd.DataFrame:
    """Our REDCap data dictionary as a frame with the 18 standard column headers.

    ``patients`` is the first, non-repeating instrument (its first field, ``patient_id``,
    is the record identifier); ``infusions`` and every observation table are repeating
    instruments (REDCap: Project Setup > "Repeating instruments and events"; which
    instruments repeat is a project setting, not part of the dictionary, so
    docs/redcap.md says which to tick). Each field's annotation names its table and
    column (``reinfuse:infusions.dose_per_kg``), so an export can be read back with the
    dictionary alone.
    """
    names = field_names(cohort_format)
    rows = [_field_row(table, col, names[(table.name, col.name)])
            for table in redcap_tables(cohort_format) for col in table.columns
            if (table.name, col.name) in names]
    frame = pd.DataFrame(rows, columns=list(_KEYS))
    frame.columns = pd.Index(DICTIONARY_COLUMNS)
    return frame


def repeating_forms(cohort_format: CohortFormat = COHORT_V1) -> tuple[str, ...]:
    """The instruments that repeat in our project: every table but ``patients``."""
    return tuple(t.name for t in redcap_tables(cohort_format) if t.name != RECORD_TABLE)


def dictionary_csv(cohort_format: CohortFormat = COHORT_V1) -> str:
    """Our data dictionary as CSV text, ready to upload to REDCap."""
    buffer = io.StringIO()
    dictionary_frame(cohort_format).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL,
                                           lineterminator="\n")
    return buffer.getvalue()


# --- reading anyone's dictionary ----------------------------------------------------------

@dataclass(frozen=True)
class DictField:
    """One field of a data dictionary, as needed to read an export."""

    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...]
    validation: str
    annotation: str

    @property
    def target(self) -> tuple[str, str] | None:
        """``(table, column)`` when the annotation ties the field to the cohort format."""
        found = _ANNOTATION_RE.search(self.annotation)
        return (found.group(1), found.group(2)) if found else None


@dataclass(frozen=True)
class Dictionary:
    """A parsed data dictionary: its fields in order, and the file it came from."""

    fields: tuple[DictField, ...]
    source: str

    @property
    def record_id(self) -> str:
        """The record identifier: the first field."""
        return self.fields[0].name

    def by_name(self) -> dict[str, DictField]:
        """Fields by name."""
        return {f.name: f for f in self.fields}

    @property
    def forms(self) -> tuple[str, ...]:
        """Form (instrument) names in order."""
        return tuple(dict.fromkeys(f.form for f in self.fields))


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """``1, Yes | 2, No`` -> ``(("1", "Yes"), ("2", "No"))``; a label may hold commas.

    Examples
    --------
    >>> parse_choices("1, one|2, two, three| x , X ")
    (('1', 'one'), ('2', 'two, three'), ('x', 'X'))
    """
    found = []
    for part in text.split("|"):
        if not part.strip():
            continue
        code, _, label = part.partition(",")
        found.append((code.strip(), label.strip()))
    return tuple(found)


#: How each dictionary column may be spelt (REDCap's own headers, and the API metadata
#: export's field names, which PyCap and REDCapR return).
_HEADER_ALIASES = {
    "field": ("variable / field name", "field_name"),
    "form": ("form name", "form_name"),
    "type": ("field type", "field_type"),
    "label": ("field label", "field_label"),
    "choices": ("choices, calculations, or slider labels",
                "select_choices_or_calculations"),
    "validation": ("text validation type or show slider number",
                   "text_validation_type_or_show_slider_number"),
    "annotation": ("field annotation", "field_annotation"),
}


def _dictionary_from_frame(data: pd.DataFrame, source: str) -> Dictionary:
    headers = {str(h).strip().lower(): h for h in data.columns}
    picked: dict[str, str] = {}
    for key, aliases in _HEADER_ALIASES.items():
        found = next((headers[a] for a in aliases if a in headers), None)
        if found is None and key in ("field", "form", "type"):
            raise CohortReadError(
                f"{source}: not a REDCap data dictionary: no '{aliases[0]}' column (found: "
                f"{', '.join(map(str, data.columns[:8]))}). Download it from REDCap: "
                "Project Setup > Data Dictionary > Download the current Data Dictionary.")
        if found is not None:
            picked[key] = found
    data = data.fillna("")
    if data.empty:
        raise CohortReadError(f"{source}: the data dictionary lists no fields.")

    def col(key: str) -> list[str]:
        return ([str(v).strip() for v in data[picked[key]]] if key in picked
                else [""] * len(data))

    fields = tuple(
        DictField(name=name.lower(), form=form, type=kind.lower(), label=label,
                  choices=parse_choices(choices) if kind.lower() in (
                      "dropdown", "radio", "checkbox") else (),
                  validation=validation.lower(), annotation=annotation)
        for name, form, kind, label, choices, validation, annotation in zip(
            col("field"), col("form"), col("type"), col("label"), col("choices"),
            col("validation"), col("annotation"), strict=True) if name)
    bad = [f.name for f in fields if not _FIELD_NAME.match(f.name)]
    if bad:
        raise CohortReadError(
            f"{source}: field name(s) {', '.join(bad[:10])} are not REDCap field names "
            "(lower-case letters, digits and underscores, starting with a letter).")
    return Dictionary(fields=fields, source=source)


def read_dictionary(path: str | Path) -> Dictionary:
    """Read a REDCap data dictionary CSV (REDCap's download, or the API metadata export).

    Raises
    ------
    CohortReadError
        When the file cannot be read or is not a data dictionary.
    """
    path = Path(path)
    try:
        data = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise CohortReadError(f"{path}: no such file.") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise CohortReadError(f"{path}: not a readable CSV data dictionary ({exc}). "
                              "Save it as 'CSV UTF-8'.") from exc
    return _dictionary_from_frame(data, path.name)


def dictionary_from_records(records: list[Mapping[str, object]], source: str) -> Dictionary:
    """A dictionary from the API's metadata export (one mapping per field)."""
    return _dictionary_from_frame(pd.DataFrame(records, dtype=str), source)


def our_dictionary(cohort_format: CohortFormat = COHORT_V1) -> Dictionary:
    """Our own dictionary, parsed (what :func:`read_dictionary` gives for its CSV)."""
    return _dictionary_from_frame(dictionary_frame(cohort_format), "reinfuse dictionary")
