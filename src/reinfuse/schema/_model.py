"""The building blocks of the cohort format: a column, a table, a format version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from reinfuse.vocabulary import normalise_label

ColumnKind = Literal["text", "integer", "number", "yesno", "code", "codelist", "date"]



def normalise_code(value: str) -> str:
    """Fold a coded value for matching: lower case, spaces and hyphens as underscores.

    Examples
    --------
    >>> normalise_code(" Non-Hispanic ")
    'non_hispanic'
    """
    return normalise_label(value)


@dataclass(frozen=True)
class Column:
    """One column of a cohort table.

    Parameters
    ----------
    name
        Column name as written in the header (matched case-insensitively on read).
    kind
        How cells are read: ``text``, ``integer``, ``number``, ``yesno`` (the words of
        :data:`reinfuse.vocabulary.YES_WORDS` and ``NO_WORDS``), ``code`` (one of
        ``codes``), ``codelist`` (``;``-separated codes) or ``date`` (ISO ``YYYY-MM-DD``
        or a real date cell).
    meaning
        What the column records, for the data dictionary.
    unit
        Unit of measure, if any.
    codes
        Canonical codes for ``code``/``codelist`` columns.
    synonyms
        Other spellings accepted on read (after :func:`normalise_code`) -> canonical code.
    minimum, maximum
        Allowed range (inclusive unless ``minimum_exclusive``).
    required
        A value must be given in every row.
    unique
        Values must not repeat within the table.
    optional
        The column may be absent from the sheet without a warning.
    """

    name: str
    kind: ColumnKind
    meaning: str
    unit: str = ""
    codes: tuple[str, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict, hash=False)
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    required: bool = False
    unique: bool = False
    optional: bool = False

    def lookup(self) -> dict[str, str]:
        """Map every accepted spelling (normalised) to its canonical code."""
        table = {normalise_code(code): code for code in self.codes}
        table.update({normalise_code(k): v for k, v in self.synonyms.items()})
        return table

    def allowed(self) -> str:
        """Describe the allowed values in words, for error messages and the dictionary."""
        if self.kind in ("code", "codelist"):
            codes = " / ".join(self.codes)
            return codes if self.kind == "code" else f"a ';'-separated list of {codes}"
        if self.kind == "yesno":
            return "yes / no (also true/false, 1/0, y/n, checked/unchecked)"
        if self.kind == "date":
            return "a date, written YYYY-MM-DD"
        if self.kind == "text":
            return "text"
        noun = "a whole number" if self.kind == "integer" else "a number"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{noun} from {low:g} to {high:g}"
        if low is not None:
            return f"{noun} {'>' if self.minimum_exclusive else '>='} {low:g}"
        if high is not None:
            return f"{noun} <= {high:g}"
        return noun


@dataclass(frozen=True)
class Table:
    """One sheet of the cohort format."""

    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required_table: bool = True

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in their documented order."""
        return tuple(col.name for col in self.columns)


@dataclass(frozen=True)
class CohortFormat:
    """A versioned set of tables."""

    version: str
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        """Return the table called ``name``."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)
