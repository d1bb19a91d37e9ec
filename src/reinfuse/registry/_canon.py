"""One text form per value, shared by the diff, the audit trail, exports and data locks.

A value's canonical text is what the cohort format reads back as the same value: codes
as their canonical spelling, whole numbers without a decimal point, numbers as Python's
shortest round-tripping ``repr``, yes/no as ``yes``/``no``, dates as ``YYYY-MM-DD``;
missing is ``None`` (never the empty string, never zero).
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from reinfuse.schema import Column, Table

#: Booleans (also SQLite's 1/0, equal to True/False as keys) -> canonical text.
_YES: dict[object, str] = {True: "yes", False: "no", "yes": "yes", "no": "no"}


def canonical_column(values: pd.Series, column: Column) -> pd.Series:
    """``values`` (typed by validation, or as read from the database) as canonical text.

    Examples
    --------
    >>> from reinfuse.schema import INFUSIONS
    >>> canonical_column(pd.Series([1.5e8, None]), INFUSIONS.column("dose_per_kg")).tolist()
    ['150000000.0', None]
    >>> canonical_column(pd.Series([2, None]), INFUSIONS.column("infusion")).tolist()
    ['2', None]
    """
    kind = column.kind
    present = values.notna().to_numpy(dtype=bool)
    if kind == "integer":
        text = pd.to_numeric(values, errors="coerce").astype("Int64").astype("string")
    elif kind == "number":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64",
                                                                  na_value=np.nan)
        text = pd.Series(_shortest(numbers, present), index=values.index)
    elif kind == "yesno":
        text = values.astype(object).map(_YES)
    elif kind == "date":
        days = pd.to_datetime(values, errors="coerce", format="ISO8601"
                              ).to_numpy(dtype="datetime64[D]")
        text = pd.Series(np.datetime_as_string(days, unit="D"), index=values.index)
    else:
        text = values.astype("string")
    out = text.astype(object)
    return out.where(present & out.notna().to_numpy(dtype=bool), None)


def _shortest(numbers: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Python's shortest round-tripping text (``repr``) of each double."""
    out = np.full(len(numbers), None, dtype=object)
    out[present] = list(map(repr, numbers[present].tolist()))  # ~2x numpy's astype(str)
    return out


def canonical_frame(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The schema's columns of ``frame`` as canonical text (absent columns: all missing)."""
    out = {}
    for col in table.columns:
        if col.name in frame.columns:
            out[col.name] = canonical_column(frame[col.name], col).to_numpy()
        else:
            out[col.name] = np.full(len(frame), None, dtype=object)
    return pd.DataFrame(out, index=frame.index)


def python_values(canon: pd.DataFrame, table: Table,
                  dates_as_text: bool = False) -> pd.DataFrame:
    """Canonical text back to Python values for the database driver (``None`` = NULL);
    ``dates_as_text`` keeps dates as ISO text (SQLite's storage of a date)."""
    out = {}
    for col in table.columns:
        text = canon[col.name]
        if col.kind == "integer":
            values = pd.to_numeric(text).astype("Int64").astype(object)
        elif col.kind == "number":
            values = pd.to_numeric(text).astype("float64").astype(object)
        elif col.kind == "yesno":
            values = text.map({"yes": True, "no": False}).astype(object)
        elif col.kind == "date" and not dates_as_text:
            values = pd.to_datetime(text, format="%Y-%m-%d").dt.date.astype(object)
        else:
            values = text.astype(object)
        out[col.name] = values.where(text.notna(), None).to_numpy(dtype=object)
    return pd.DataFrame(out, index=canon.index)


def csv_bytes(canon: pd.DataFrame, table: Table) -> bytes:
    """One table as the cohort format's CSV (sorted by key): the bytes a lock hashes."""
    ordered = canon.sort_values(list(table.key), kind="stable", key=_key_sorter(table))
    buffer = io.StringIO()
    ordered.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _key_sorter(table: Table) -> object:
    def sorter(values: pd.Series) -> pd.Series:
        kind = table.column(str(values.name)).kind
        if kind in ("integer", "number"):
            return pd.to_numeric(values)
        return values

    return sorter


def content_hash(tables: Mapping[str, bytes]) -> str:
    """SHA-256 of a set of table CSVs, in the given order, each preceded by its name."""
    digest = hashlib.sha256()
    for name, data in tables.items():
        digest.update(f"{name}\n{len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def compress(data: bytes) -> bytes:
    """Gzip with a fixed timestamp (the same table always gives the same bytes)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def decompress(data: bytes) -> bytes:
    """Inverse of :func:`compress`."""
    return gzip.decompress(data)
