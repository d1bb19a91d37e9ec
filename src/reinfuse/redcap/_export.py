"""Write a cohort as a REDCap record import/export CSV for reinfuse's own project.

The layout is REDCap's flat record export (see :mod:`reinfuse.redcap._import`): the
record identifier, ``redcap_repeat_instrument``, ``redcap_repeat_instance``, then every
field in dictionary order with checkbox fields as ``field___code`` columns and a
``{form}_complete`` column after each form. One row per patient (the ``patients``
instrument), then one row per instance of each repeating instrument. The same file is
what REDCap's Data Import Tool accepts to load the cohort into the project.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from reinfuse.cohort import Cohort
from reinfuse.io.write import write_text
from reinfuse.redcap._dictionary import (
    RECORD_ID,
    RECORD_TABLE,
    field_names,
    map_unique,
    redcap_tables,
)
from reinfuse.redcap._import import INSTANCE, INSTRUMENT
from reinfuse.schema import COHORT_V1, CohortFormat, Column, normalise_code

_YES = {"yes", "y", "true", "1", "1.0"}
_NO = {"no", "n", "false", "0", "0.0"}


def _text(values: pd.Series, col: Column) -> pd.Series:
    """Cells as text (dates ISO, numbers without a spurious .0), missing as None."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_bool_dtype(values):
        out = values.map({True: "1", False: "0"})
    elif col.kind in ("integer", "number") and pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("Float64")
        whole = numbers.notna() & (numbers == numbers.round())
        out = map_unique(numbers.astype(object).where(numbers.notna()),
                         lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)))
        del whole
    else:
        out = map_unique(values.astype(object), lambda v: v.strftime("%Y-%m-%d")
                         if isinstance(v, pd.Timestamp | dt.date) else str(v))
    return out.where(values.notna(), None).astype(object)


def _coded(text: pd.Series, col: Column, labels: bool) -> pd.Series:
    """A code column as REDCap's choice numbers (raw) or labels (our codes)."""
    lookup = col.lookup()
    number = {code: str(i) for i, code in enumerate(col.codes, start=1)}
    canonical = map_unique(text, lambda v: lookup.get(normalise_code(v), v))
    return canonical if labels else map_unique(canonical, lambda v: number.get(v, v))


def _yesno(text: pd.Series, labels: bool) -> pd.Series:
    yes, no = ("Yes", "No") if labels else ("1", "0")

    def one(v: object) -> object:
        word = str(v).strip().lower()
        return yes if word in _YES else no if word in _NO else v

    return map_unique(text, one)


def _checkboxes(text: pd.Series, col: Column, name: str, labels: bool
                ) -> dict[str, pd.Series]:
    lookup = col.lookup()
    ticked = map_unique(text, lambda v: frozenset(lookup.get(normalise_code(p), p)
                                                  for p in str(v).split(";") if p.strip()))
    ticked = ticked.where(ticked.notna(), frozenset())
    on, off = ("Checked", "Unchecked") if labels else ("1", "0")

    def box(code: str) -> pd.Series:
        return map_unique(ticked, lambda s: on if code in s else off)

    return {f"{name}___{i}": box(code) for i, code in enumerate(col.codes, start=1)}


def export_frame(tables: Cohort | Mapping[str, pd.DataFrame], labels: bool = False,
                 cohort_format: CohortFormat = COHORT_V1) -> pd.DataFrame:
    """The record export of a cohort as a frame of text cells (``""`` = empty)."""
    frames = tables.tables if isinstance(tables, Cohort) else tables
    names = field_names(cohort_format)
    blocks: list[pd.DataFrame] = []
    header: list[str] = [RECORD_ID, INSTRUMENT, INSTANCE]
    patients = frames[RECORD_TABLE]
    rank = {pid: i for i, pid in enumerate(pd.unique(patients[RECORD_ID].astype(str)))}
    for position, table in enumerate(redcap_tables(cohort_format)):
        cells: dict[str, pd.Series] = {}
        frame = frames.get(table.name)
        for col in table.columns:
            key = (table.name, col.name)
            if key not in names or col.name == RECORD_ID:
                continue  # the record identifier is the first column already
            name = names[key]
            if frame is None or col.name not in frame.columns:
                values = pd.Series(None, index=(frame.index if frame is not None
                                                else pd.RangeIndex(0)), dtype=object)
            else:
                values = _text(frame[col.name], col)
            if col.kind == "codelist":
                boxes = _checkboxes(values, col, name, labels)
                cells.update(boxes)
                header += list(boxes)
                continue
            if col.kind == "code":
                values = _coded(values, col, labels)
            elif col.kind == "yesno":
                values = _yesno(values, labels)
            cells[name] = values
            header.append(name)
        complete = f"{table.name}_complete"
        header.append(complete)
        if frame is None or frame.empty:
            continue
        block = pd.DataFrame(cells, index=frame.index)
        block[complete] = "Complete" if labels else "2"
        record = frame[RECORD_ID].astype(str)
        block[RECORD_ID] = record
        if table.name == RECORD_TABLE:
            block[INSTRUMENT], block[INSTANCE] = "", ""
        else:
            order = frame.sort_values([c for c in table.key if c in frame.columns],
                                      kind="stable").index
            instance = record.loc[order].groupby(record.loc[order]).cumcount() + 1
            block[INSTRUMENT] = table.name
            block[INSTANCE] = instance.reindex(block.index).astype(str)
        block["_record_rank"] = record.map(rank).fillna(len(rank)).astype(int)
        block["_form"] = position
        block["_instance"] = pd.to_numeric(block[INSTANCE], errors="coerce").fillna(0)
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
    out = out.sort_values(["_record_rank", "_form", "_instance"], kind="stable")
    out = out.reindex(columns=header)
    return out.astype(object).where(out.notna(), "").reset_index(drop=True)


def export_csv(tables: Cohort | Mapping[str, pd.DataFrame], labels: bool = False,
               cohort_format: CohortFormat = COHORT_V1) -> str:
    """The record export of a cohort as CSV text."""
    buffer = io.StringIO()
    export_frame(tables, labels, cohort_format).to_csv(buffer, index=False,
                                                       lineterminator="\n")
    return buffer.getvalue()


def write_export(cohort: Cohort | Mapping[str, pd.DataFrame], path: str | Path,
                 labels: bool = False, *, overwrite: bool = False,
                 cohort_format: CohortFormat = COHORT_V1) -> Path:
    """Write ``cohort`` as a REDCap record CSV for the project of our dictionary.

    Parameters
    ----------
    cohort
        A validated :class:`~reinfuse.cohort.Cohort`, or table name -> frame (typed, or
        text as :func:`reinfuse.io.write.write_cohort` takes it).
    path
        The CSV file to write (never over an existing file unless ``overwrite``).
    labels
        Write choice labels (our codes), Yes/No and Checked/Unchecked instead of raw
        codes, as REDCap's "labels" export does. REDCap's Data Import Tool needs raw.

    Returns
    -------
    Path
        The file written.
    """
    return write_text(export_csv(cohort, labels, cohort_format), path, overwrite=overwrite)
