"""The validated, typed cohort that every later step works from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from reinfuse.findings import Finding

#: Name of the column that carries the row number the user sees in the source file.
SOURCE_ROW = "source_row"


@dataclass(frozen=True)
class Cohort:
    """A cohort read from a source and checked against the cohort format.

    Attributes
    ----------
    tables
        Table name -> typed frame (``patients``, ``infusions``, and any optional table).
        Each frame has the schema's columns (absent optional ones filled with missing),
        any extra columns the user added, and ``source_row``.
    source
        Path of the workbook or folder it came from.
    sha256
        File name -> SHA-256 of the bytes read, for the reproducibility stamp.
    findings
        Warnings (and, when validation was not strict, errors) found while reading.
    format_version
        Version of the cohort format it was checked against.
    prefer
        Which value was used where raw observations and recorded summaries disagreed.
    """

    tables: Mapping[str, pd.DataFrame]
    source: str = ""
    sha256: Mapping[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    format_version: str = "1"
    prefer: str = "recorded"

    @property
    def patients(self) -> pd.DataFrame:
        """The patients table."""
        return self.tables["patients"]

    @property
    def infusions(self) -> pd.DataFrame:
        """The infusions table."""
        return self.tables["infusions"]
