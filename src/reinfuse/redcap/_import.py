"""Read a REDCap record export (CSV, raw or labels) into the sheets of the cohort format.

The layout read is REDCap's "CSV / Microsoft Excel (raw data)" and "(labels)" record
export, as also returned by the API's ``content=record, format=csv, type=flat``:

- the record identifier first; then, when the project has them, ``redcap_event_name``
  (longitudinal projects), ``redcap_repeat_instrument`` and ``redcap_repeat_instance``
  (repeating instruments), ``redcap_data_access_group``, ``redcap_survey_identifier``;
- one row per record and event for the non-repeating instruments, and one row per
  instance of a repeating instrument, where only that instrument's fields are filled;
- a checkbox field as one column per choice, ``field___code``, holding 1/0 (raw),
  Checked/Unchecked (labels) or, with "export checkbox labels", the choice's label;
- ``{form}_complete`` status columns (0/1/2) and ``{form}_timestamp`` survey columns,
  which hold no cohort data and are left out.

The result is a :class:`RedcapExport`, a :class:`~reinfuse.io.read.RawCohort` whose
row numbers are the export's lines, so ``reinfuse.validate.validate`` checks it like a
workbook; :func:`locate` then says each finding in REDCap's terms (record, event,
instrument, instance, field).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from reinfuse.cohort import SOURCE_ROW, Cohort
from reinfuse.errors import CohortReadError
from reinfuse.findings import Finding
from reinfuse.io.read import MAX_CSV_BYTES, RawCohort, RawSheet, header_key, sha256_of
from reinfuse.redcap._dictionary import (
    RECORD_ID,
    RECORD_TABLE,
    DictField,
    Dictionary,
    map_unique,
    our_dictionary,
    read_dictionary,
    redcap_tables,
)
from reinfuse.redcap._mapping import RedcapMapping, load_mapping
from reinfuse.schema import COHORT_V1, CohortFormat
from reinfuse.schema.cohort_v1 import CORE_TABLES

RawOrLabel = Literal["auto", "raw", "label"]

EVENT, INSTRUMENT, INSTANCE = ("redcap_event_name", "redcap_repeat_instrument",
                               "redcap_repeat_instance")
_META = {EVENT, INSTRUMENT, INSTANCE, "redcap_data_access_group",
         "redcap_survey_identifier"}
_STATUS = re.compile(r"^.+_(complete|timestamp)$")
_CHECKED = {"1", "checked"}
_UNCHECKED = {"0", "unchecked", ""}
_YESNO_RAW = {"yesno": {"1": "yes", "0": "no"}, "truefalse": {"1": "yes", "0": "no"}}


@dataclass(frozen=True)
class RedcapExport(RawCohort):
    """A REDCap export read into the sheets of the cohort format.

    ``origin`` gives, per sheet, the REDCap location of each row (indexed by the
    export's line): ``record``, ``event``, ``instrument``, ``instance``. ``field_of``
    gives the REDCap field each ``(table, column)`` was read from. ``notes`` are
    warnings found while reading (fields not read, tables nothing maps to).
    """

    origin: dict[str, pd.DataFrame] = field(default_factory=dict)
    field_of: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: tuple[Finding, ...] = ()
    labels: bool = False


def _note(sheet: str, message: str, fix: str, rule: str, column: str | None = None,
          value: str | None = None, expected: str = "") -> Finding:
    return Finding(severity="warning", sheet=sheet, row=None, column=column, value=value,
                   expected=expected, message=message, fix=fix, rule=rule)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise CohortReadError(f"{path}: no such file.")
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise CohortReadError(f"{path}: {size:,} bytes, more than the limit of "
                              f"{MAX_CSV_BYTES:,} bytes per CSV file.")
    try:
        # dtype=object keeps every cell as the text read (no number guessing), without
        # the second pass dtype=str makes over every column.
        data = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""],
                           encoding="utf-8-sig", skip_blank_lines=True)
    except UnicodeDecodeError as exc:
        raise CohortReadError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}). "
                              "Export it again from REDCap (CSV files are UTF-8).") from exc
    except pd.errors.EmptyDataError as exc:
        raise CohortReadError(f"{path}: the file is empty.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise CohortReadError(f"{path}: not a readable CSV record export ({exc}).") from exc
    data.columns = pd.Index([str(c).strip().lower() for c in data.columns])
    data.index = pd.RangeIndex(2, len(data) + 2)
    return data


def _targets(dictionary: Dictionary, mapping: RedcapMapping | None, record_id: str,
             source: str) -> dict[str, tuple[str, str]]:
    """Their field -> (table, column), from the mapping or our dictionary's annotations."""
    if mapping is not None:
        targets = dict(mapping.fields)
    else:
        targets = {f.name: f.target for f in dictionary.fields if f.target is not None}
        if not targets:
            raise CohortReadError(
                f"{dictionary.source}: this dictionary is not reinfuse's (its fields carry no "
                "'reinfuse:table.column' annotation), so a mapping is needed. Write a "
                "starter with `reinfuse redcap map --dictionary "
                f"{dictionary.source} --out mapping.toml`, check it, and pass --mapping.")
    targets[record_id] = (RECORD_TABLE, RECORD_ID)
    return targets


def _choice_maps(fld: DictField, mapped: dict[str, str]
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """(raw code -> value, label -> value) for a choice field, mapping values applied."""
    by_code = {code: mapped.get(code, mapped.get(label, label)) for code, label in fld.choices}
    by_label = {label: mapped.get(label, mapped.get(code, label)) for code, label in fld.choices}
    return by_code, by_label


def _values(raw: pd.Series, fld: DictField | None, labels: bool,
            mapped: dict[str, str]) -> pd.Series:
    """Cells of one (non-checkbox) field as the cohort format reads them."""
    text = raw.astype(object)
    if fld is not None and fld.type in _YESNO_RAW and not labels:
        table = {**_YESNO_RAW[fld.type], **mapped}
    elif fld is not None and fld.choices:
        by_code, by_label = _choice_maps(fld, mapped)
        table = by_label if labels else by_code
    elif mapped:
        table = mapped
    else:
        return text
    return map_unique(text, lambda v: table.get(v.strip(), v))


def _checkbox(data: pd.DataFrame, fld: DictField, columns: list[str],
              mapped: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """A checkbox field as ``;``-joined values, and whether any box was ticked per row."""
    parts = []

    def is_ticked(cell: str, label: str) -> bool:
        cell = cell.strip()
        return cell.lower() in _CHECKED or (cell == label and label != "")

    for column in columns:
        code = column.split("___", 1)[1]
        label = next((lab for c, lab in fld.choices if c.lower() == code), code)
        value = mapped.get(code, mapped.get(label, label))
        ticked = map_unique(data[column], functools.partial(is_ticked, label=label)).eq(True)
        parts.append(np.where(ticked.to_numpy(), value + ";", "").astype(object))
    joined = pd.Series(functools.reduce(np.add, parts), index=data.index, dtype=object)
    any_ticked = joined != ""
    return map_unique(joined.where(any_ticked), lambda v: v.rstrip(";")), any_ticked


_YESNO_LABELS = {"yesno": {"yes", "no"}, "truefalse": {"true", "false"}}


def _is_labels(data: pd.DataFrame, dictionary: Dictionary,
               checkboxes: dict[str, list[str]]) -> bool:
    """Whether the export holds labels: a choice cell that is not a code but a label.

    A cell that is neither (a typo) is no evidence either way, so one bad raw value does
    not make a raw export read as labels.
    """
    for fld in dictionary.fields:
        if fld.name in data.columns and (fld.choices or fld.type in _YESNO_RAW):
            codes = {c for c, _ in fld.choices} or {"0", "1"}
            names = ({lab.lower() for _, lab in fld.choices}
                     or _YESNO_LABELS.get(fld.type, set()))
            seen = {str(v).strip() for v in pd.unique(data[fld.name].dropna())} - {""}
            if {v.lower() for v in seen - codes} & names:
                return True
    for base, columns in checkboxes.items():
        box = dictionary.by_name().get(base)
        names = {"checked", "unchecked"} | ({lab.lower() for _, lab in box.choices}
                                            if box else set())
        for column in columns:
            seen = {str(v).strip().lower() for v in pd.unique(data[column].dropna())}
            if (seen - {"0", "1", ""}) & names:
                return True
    return False


def read_export(path: str | Path, dictionary: str | Path | Dictionary | None = None,
                mapping: str | Path | RedcapMapping | None = None, *,
                raw_or_label: RawOrLabel = "auto",
                cohort_format: CohortFormat = COHORT_V1) -> RedcapExport:
    """Read a REDCap record export into the sheets of the cohort format.

    Parameters
    ----------
    path
        The record export, a CSV file (raw or labels; flat; headers as field names).
    dictionary
        The project's data dictionary (a path, or a parsed :class:`Dictionary`); default:
        reinfuse's own (``reinfuse redcap dictionary``).
    mapping
        For a centre's own project: a mapping TOML file or :class:`RedcapMapping`
        (their field -> our column, their codes -> our values, events -> infusions).
        Without it the dictionary must be reinfuse's (its annotations say the columns).
    raw_or_label
        ``"auto"`` (default) tells a labels export from a raw one by its choice cells.
    cohort_format
        The format the sheets are built for.

    Returns
    -------
    RedcapExport
        A :class:`~reinfuse.io.read.RawCohort` (cells as text, row numbers = export
        lines) for :func:`reinfuse.validate.validate`, with each row's REDCap origin.

    Raises
    ------
    CohortReadError
        The export or dictionary cannot be read, or lacks the record identifier.
    UsageError
        The mapping is malformed.

    Notes
    -----
    Unknown is never no: an empty cell stays empty; a checkbox with no box ticked is an
    empty cell too (REDCap cannot tell "none ticked" from "not answered"). The infusion
    number of an ``infusions`` row is the ``infusion`` field, else the event's number
    from the mapping's ``[events]``, else the repeat instance.
    """
    path = Path(path)
    if dictionary is None:
        parsed = our_dictionary(cohort_format)
    elif isinstance(dictionary, Dictionary):
        parsed = dictionary
    else:
        parsed = read_dictionary(dictionary)
    if mapping is not None and not isinstance(mapping, RedcapMapping):
        mapping = load_mapping(mapping, cohort_format)
    data = _read_csv(path)
    file = path.name
    record_id = (mapping.record_id if mapping and mapping.record_id else parsed.record_id)
    if record_id not in data.columns:
        raise CohortReadError(
            f"{file}: no column '{record_id}', the record identifier of "
            f"{parsed.source} (found: {', '.join(data.columns[:6])}...). Export the "
            "records with the record identifier, as field names (not labels) in the header.")
    fields = parsed.by_name()
    targets = _targets(parsed, mapping, record_id, parsed.source)
    notes: list[Finding] = []

    checkboxes: dict[str, list[str]] = {}
    for column in data.columns:
        if "___" in column:
            checkboxes.setdefault(column.split("___", 1)[0], []).append(column)
    labels = (_is_labels(data, parsed, checkboxes) if raw_or_label == "auto"
              else raw_or_label == "label")

    unknown = [c for c in data.columns if c not in fields and "___" not in c
               and c not in _META and not _STATUS.match(c)]
    unknown += [base for base in checkboxes if base not in fields]
    if unknown:
        notes.append(_note(file, f"{len(unknown)} column(s) of the export are not fields of "
                           f"{parsed.source} and were not read: {', '.join(unknown[:10])}.",
                           "Give the dictionary of the project the export came from.",
                           "redcap-unknown-field"))

    instrument = (data[INSTRUMENT].fillna("") if INSTRUMENT in data.columns
                  else pd.Series("", index=data.index))
    instance = data[INSTANCE] if INSTANCE in data.columns else pd.Series(
        None, index=data.index, dtype=object)
    event = data[EVENT] if EVENT in data.columns else pd.Series(None, index=data.index,
                                                                dtype=object)
    record = data[record_id]

    by_table: dict[str, list[tuple[str, str]]] = {}
    for theirs, (target_table, column) in targets.items():
        by_table.setdefault(target_table, []).append((theirs, column))
    missing = sorted(t for t in targets if t not in data.columns and t not in checkboxes)
    if missing:
        notes.append(_note(file, f"field(s) {', '.join(missing[:10])} are in the "
                           f"{'mapping' if mapping else 'dictionary'} but not in the export; "
                           "their columns are read as empty.",
                           "Export all fields (or all instruments) of the project.",
                           "redcap-field-not-exported"))
    if mapping:
        unmapped = [f.name for f in parsed.fields if f.name not in targets
                    and f.type not in ("descriptive", "calc")
                    and (f.name in data.columns or f.name in checkboxes)]
        if unmapped:
            notes.append(_note(file, f"{len(unmapped)} field(s) of the export have no line in "
                               f"the mapping and were not read: {', '.join(unmapped[:10])}.",
                               "Add them to [fields] of the mapping if they belong in the "
                               "cohort.", "redcap-unmapped-field"))

    sheets: dict[str, RawSheet] = {}
    origin: dict[str, pd.DataFrame] = {}
    field_of: dict[tuple[str, str], str] = {}
    order = {t.name: i for i, t in enumerate(redcap_tables(cohort_format))}
    folded = (map_unique(instrument, lambda v: v.lower().replace(" ", "_")) if labels
              else instrument)  # a labels export names the instrument by its label
    first_row = record.notna() & ~record.duplicated()
    for table_name in sorted(by_table, key=lambda t: order.get(t, 99)):
        table = cohort_format.table(table_name)
        forms = {fields[theirs].form for theirs, _ in by_table[table_name] if theirs in fields}
        # Only the rows that can hold this table's data are translated: its instruments'
        # rows, the non-repeating rows, and (patients) each record's first row.
        candidates = (instrument == "") | folded.isin(forms)
        if table_name == RECORD_TABLE:
            candidates |= first_row
        needed = [c for theirs, _ in by_table[table_name]
                  for c in (checkboxes.get(theirs) or [theirs]) if c in data.columns]
        sub = data.loc[candidates, list(dict.fromkeys(needed))]
        columns: dict[str, pd.Series] = {}
        present = pd.Series(False, index=sub.index)
        for theirs, column in by_table[table_name]:
            field_of[(table_name, column)] = theirs
            fld = fields.get(theirs)
            mapped = mapping.values.get(theirs, {}) if mapping else {}
            if theirs in checkboxes and fld is not None:
                values, ticked = _checkbox(sub, fld, checkboxes[theirs], mapped)
                present |= ticked
            elif theirs in sub.columns:
                values = _values(sub[theirs], fld, labels, mapped)
                if theirs != record_id:
                    present |= values.notna()
            else:
                values = pd.Series(None, index=sub.index, dtype=object)
            columns[column] = values
        if table_name == RECORD_TABLE:
            rows = present & (instrument[sub.index] == "")
            # every record has a patients row, also one with no patient-level data
            rows |= first_row[sub.index] & ~record[sub.index].isin(set(record[rows.index[rows]]))
        else:
            rows = present
            columns[RECORD_ID] = record[sub.index].astype(object)
        if "infusion" in table.names and "infusion" not in columns:
            # Not a field of the project: the event says it (mapping [events]), or for
            # the infusions instrument its repeat instance. A blank field is left blank.
            number = pd.Series(None, index=sub.index, dtype=object)
            if mapping and mapping.events and EVENT in data.columns:
                number = event[sub.index].map({e: str(n) for e, n in mapping.events.items()}
                                              ).astype(object)
            if table_name == "infusions":
                number = number.where(number.notna(), instance[sub.index])
            columns["infusion"] = number
        names = [c.name for c in table.columns if c.name in columns]
        names += [c for c in columns if c not in names]
        keep = rows.index[rows.to_numpy()]
        frame = pd.DataFrame({header_key(c): columns[c].loc[keep] for c in names},
                             index=keep)
        frame = frame.astype(object).where(frame.notna(), None)
        sheets[table_name] = RawSheet(name=table_name, frame=frame, headers=tuple(names),
                                      file=file)
        origin[table_name] = pd.DataFrame({
            "record": record[keep], "event": event[keep],
            "instrument": instrument[keep].where(instrument[keep] != "",
                                                 _form_of(table_name, field_of, fields)),
            "instance": instance[keep]})
    for core in CORE_TABLES:
        if core not in sheets:  # nothing maps to it: an empty sheet, and a word saying so
            names = [c.name for c in cohort_format.table(core).columns if c.required]
            sheets[core] = RawSheet(name=core, frame=pd.DataFrame(
                columns=[header_key(n) for n in names], dtype=object), headers=tuple(names),
                file=file)
            origin[core] = pd.DataFrame(columns=["record", "event", "instrument", "instance"])
            notes.append(_note(core, f"no field of the export maps to the {core} table, so "
                               "it is empty.", "Map the fields that hold it (see "
                               "docs/redcap.md).", "redcap-table-empty"))
    return RedcapExport(source=str(path), kind="csv", sheets=sheets,
                        sha256={file: sha256_of(path)}, origin=origin, field_of=field_of,
                        notes=tuple(notes), labels=labels)


def _form_of(table: str, field_of: dict[tuple[str, str], str],
             fields: dict[str, DictField]) -> str:
    for (name, _), theirs in field_of.items():
        if name == table and theirs in fields:
            return fields[theirs].form
    return table


def locate(findings: tuple[Finding, ...] | list[Finding], export: RedcapExport,
           cohort: Cohort | None = None) -> list[Finding]:
    """Findings about an export, said in REDCap's terms.

    Each finding on a row gets its record, event, instrument and instance in front of
    its message, ``sheet`` becomes the instrument and ``column`` the REDCap field; the
    row stays the export's line number. Give the validated ``cohort`` so that a record ID
    validation redacted as identifying (an MRN typed as study ID) is shown redacted here
    too.
    """
    file = Path(export.source).name
    shown: dict[str, str] = {}
    if cohort is not None and RECORD_TABLE in cohort.tables and RECORD_TABLE in export.sheets:
        typed = cohort.tables[RECORD_TABLE]
        raw_ids = export.sheets[RECORD_TABLE].frame[RECORD_ID]
        if SOURCE_ROW in typed:
            by_row = dict(zip(typed[SOURCE_ROW], typed[RECORD_ID].astype(str), strict=True))
            shown = {str(raw): by_row.get(row, str(raw)) for row, raw in raw_ids.items()}
    out: list[Finding] = []
    for f in findings:
        where = export.origin.get(f.sheet)
        column = export.field_of.get((f.sheet, f.column or ""), f.column)
        if where is None or f.row is None or f.row not in where.index:
            prefix = f"{file}: " if f.sheet in export.origin else ""
            out.append(replace(f, column=column, message=prefix + f.message))
            continue
        origin = where.loc[f.row]
        record_id = str(origin["record"])
        parts = [f"{file} line {f.row}", f"record {shown.get(record_id, record_id)}"]
        if isinstance(origin["event"], str) and origin["event"]:
            parts.append(f"event {origin['event']}")
        parts.append(f"instrument {origin['instrument']}")
        if isinstance(origin["instance"], str) and origin["instance"]:
            parts.append(f"instance {origin['instance']}")
        if column:
            parts.append(f"field {column}")
        out.append(replace(f, sheet=str(origin["instrument"]), column=column,
                           message=", ".join(parts) + ": " + f.message))
    return out
