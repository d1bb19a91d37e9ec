"""Validation findings: one problem, located precisely, with what to do about it."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem found in a cohort.

    ``row`` is the row number the user sees: the Excel row, or the CSV line, with the
    header being 1. It is ``None`` for a problem with a whole sheet or workbook.
    ``rule`` names the check that found it (stable, for filtering and tests).
    ``column_letter`` is the Excel column letter of ``column`` in a workbook (``None`` for
    CSV files and for columns that are absent).
    """

    severity: Severity
    sheet: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    message: str
    fix: str
    rule: str = ""
    column_letter: str | None = None

    def column_label(self) -> str:
        """``crs_grade (K)`` in a workbook, ``crs_grade`` otherwise (empty when no column)."""
        if not self.column:
            return ""
        return self.column + (f" ({self.column_letter})" if self.column_letter else "")

    def location(self) -> str:
        """``sheet row N, column C (K)`` as a person would say it."""
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column_label()}"
        return where

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the keys documented for ``reinfuse validate --format json``).

        ``column_letter`` is present only for workbooks.
        """
        data = asdict(self)
        data.pop("rule")
        if data["column_letter"] is None:
            data.pop("column_letter")
        return data


def display(value: object) -> str:
    """A cell value as the user would recognise it in an error message."""
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and value != value):
        return "empty"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"  # as the cohort format writes yes/no cells
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error."""
    return any(f.severity == "error" for f in findings)
