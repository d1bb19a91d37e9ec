"""Turn raw cells into typed columns, vectorised, reporting every cell that does not fit."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reinfuse.findings import Finding, display
from reinfuse.schema import Column
from reinfuse.vocabulary import NO_WORDS, YES_WORDS, normalise_labels

_YESNO = {**dict.fromkeys(YES_WORDS, True), **dict.fromkeys(NO_WORDS, False)}

# "3x10^5", "3 × 10^6", "3*10^5" -> scientific notation. The mantissa is written so that
# a long run of digits is matched in linear time ("[0-9]*\.?[0-9]+" backtracked
# quadratically: one 10 MB cell of digits took minutes).
_TIMES_TEN = r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*[xX×*]\s*10\s*\^\s*([+-]?[0-9]+)\s*$"

#: Integer cells beyond this size cannot be held exactly (float64 has 53 bits); such
#: values are reported out of range rather than cast (pandas raised a TypeError on 1e30).
_LARGEST_INTEGER = 2.0**53


def _only_strings(raw: pd.Series) -> bool:
    # infer_dtype runs in C: CSV columns (all text) skip the per-cell type checks below.
    return pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty")


def _is_date_cell(raw: pd.Series) -> pd.Series:
    if _only_strings(raw):
        return pd.Series(False, index=raw.index)
    return raw.map(lambda v: isinstance(v, dt.date))


def as_text(raw: pd.Series) -> pd.Series:
    """Cells as stripped strings (whole-number floats lose their ``.0``), missing as NA."""
    out = raw.astype(object)
    if not _only_strings(raw):
        floats = out.map(lambda v: isinstance(v, float) and v.is_integer())
        out = out.where(~floats, out[floats].map(lambda v: str(int(v))))
    text = out.astype("string").str.strip()
    return text.mask(text == "", pd.NA)


def _codelist(text: pd.Series, lookup: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """``;``-lists of codes as canonical codes (``typed``) and whether a code is unknown
    (``bad``; its typed value is then missing), for a column of stripped, present text."""
    parts = text.str.split(";").explode().str.strip()
    parts = parts[parts.notna() & (parts != "")]
    mapped = normalise_labels(parts).map(lookup)
    unknown = mapped.isna().groupby(level=0).any()
    typed = mapped.dropna().groupby(level=0).agg(";".join).reindex(text.index)
    typed = typed.astype("string")
    bad = text.notna() & unknown.reindex(text.index, fill_value=False)
    return typed.where(~bad), bad


def _finding(
    sheet: str, row: int, col: Column, value: object, message: str, fix: str,
    rule: str, severity: str = "error", expected: str | None = None,
) -> Finding:
    return Finding(
        severity="error" if severity == "error" else "warning",
        sheet=sheet,
        row=int(row),
        column=col.name,
        value=display(value),
        expected=expected if expected is not None else col.allowed(),
        message=message,
        fix=fix,
        rule=rule,
    )


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The allowed value most like ``value``, if any is close."""
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _variants(lookup: dict[str, str]) -> dict[object, str]:
    """Exact spellings accepted without normalisation: the fast path of code matching."""
    table: dict[object, str] = {}
    for key, code in lookup.items():
        for spelling in (key, key.upper(), key.title(), code, code.lower(), code.upper()):
            table[spelling] = code
    return table


_YESNO_FAST: dict[object, bool] = {
    **{v: True for k in YES_WORDS for v in (k, k.upper(), k.title())},
    **{v: False for k in NO_WORDS for v in (k, k.upper(), k.title())},
    True: True, False: False,  # also matches 1 / 1.0 and 0 / 0.0 cells (equal hashes)
}


#: Columns from this many rows on are typed once per distinct cell text (see
#: :func:`coerce_column`); below it, finding the distinct cells costs more than it saves.
DISTINCT_MIN_ROWS = 20_000
#: ... and when the distinct cells are at most this share of the rows (columns whose first
#: rows are nearly all distinct, such as identifiers, are not hashed at all).
DISTINCT_MAX_SHARE = 0.1


@dataclass(frozen=True)
class _Typed:
    """One column typed: values (bad cells missing), and per cell whether it held
    something, was bad, or was a number out of the column's range."""

    typed: pd.Series
    present: np.ndarray
    bad: np.ndarray
    out_of_range: np.ndarray

    def spread(self, codes: np.ndarray, index: pd.Index, name: object) -> _Typed:
        """The result for every cell from the result for each distinct cell (``codes``:
        which distinct cell each cell is; -1 for an empty cell)."""
        typed = pd.Series(self.typed.array.take(codes, allow_fill=True), index=index,
                          name=name)
        return _Typed(typed.astype(self.typed.dtype),
                      *(_per_cell(flags, codes, False)
                        for flags in (self.present, self.bad, self.out_of_range)))


def _per_cell(per_distinct: np.ndarray, codes: np.ndarray, empty: object) -> np.ndarray:
    """Values of the distinct cells put back on every cell (``codes`` from
    ``pd.factorize``; ``empty`` where the code is -1, an empty cell)."""
    found = codes >= 0
    out = np.full(len(codes), empty, dtype=per_distinct.dtype)
    out[found] = per_distinct[codes[found]]
    return out


def coerce_column(
    raw: pd.Series, col: Column, sheet: str
) -> tuple[pd.Series, list[Finding]]:
    """Convert one raw column to its schema type.

    Returns the typed column (bad cells become missing) and one finding per bad cell.
    Every kind has a vectorised fast path for well-formed cells; only the cells it misses
    (stray spaces, synonyms, odd case, "3x10^6", real errors) go through the slower
    normalising path, so a clean 100,000-row sheet never loops in Python. A long column
    of text (a CSV file's) is typed once per distinct cell and spread back to its rows: a
    registry repeats a few thousand dates and a handful of codes over a million rows.
    """
    result = None
    # Text compares exactly, so equal cells type equally (mixed cells would not: 1, 1.0
    # and True hash alike). A sample of the first rows skips hashing the columns of nearly
    # all distinct cells (ids); DISTINCT_MAX_SHARE then decides on the whole column.
    sample = DISTINCT_MIN_ROWS // 2
    if len(raw) >= DISTINCT_MIN_ROWS and _only_strings(raw) \
            and raw.iloc[:sample].nunique() <= 0.9 * sample:
        codes, distinct = pd.factorize(raw)
        if len(distinct) <= DISTINCT_MAX_SHARE * len(raw):
            result = _type_cells(pd.Series(distinct, dtype=object), col).spread(
                codes, raw.index, raw.name)
    if result is None:
        result = _type_cells(raw, col)
    return result.typed, _findings(raw, col, sheet, result)


def _type_cells(raw: pd.Series, col: Column) -> _Typed:
    """The vectorised part of :func:`coerce_column`: no findings, no loop over cells."""
    present = raw.notna()

    def retry(misses: pd.Series) -> pd.Series:
        """The missed cells as stripped text; cells that are only spaces count as empty."""
        text = as_text(raw[misses])
        present.loc[text.index[text.isna().to_numpy()]] = False
        return text.dropna()

    if col.kind == "text":
        typed: pd.Series = as_text(raw)
        present = typed.notna()
        bad = pd.Series(False, index=raw.index)
    elif col.kind in ("integer", "number"):
        is_date = _is_date_cell(raw)
        numbers = pd.to_numeric(raw.where(~is_date), errors="coerce")
        misses = present & numbers.isna() & ~is_date
        if misses.any():
            text = retry(misses)
            cleaned = text.str.replace(_TIMES_TEN, r"\1e\2", regex=True)
            # Only a thousands separator is dropped ("1,000,000"); "0,5" stays an error
            # rather than silently becoming 5 (a decimal comma cannot be told from it).
            thousands = cleaned.str.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?").fillna(False)
            cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
            numbers.loc[cleaned.index] = pd.to_numeric(cleaned.astype(object), errors="coerce")
        numbers = numbers.astype("float64")
        # "inf", "-inf" and "nan" are parsed by pandas but are not numbers a user records.
        numbers = numbers.where(np.isfinite(numbers.to_numpy()))
        bad = present & numbers.isna()
        if col.kind == "integer":
            fractional = numbers.notna() & (numbers % 1 != 0)
            bad |= fractional
            numbers = numbers.where(~fractional)
            # Too large for an exact integer: reported below as out of range, never cast.
            huge = (numbers.abs() >= _LARGEST_INTEGER).to_numpy(dtype=bool)
            typed = numbers.where(~huge).astype("Int64")
        else:
            huge = np.zeros(len(numbers), dtype=bool)
            typed = numbers
    elif col.kind == "yesno":
        mapped = raw.map(_YESNO_FAST)
        misses = present & mapped.isna()
        if misses.any():
            text = retry(misses)
            mapped.loc[text.index] = text.str.lower().map(_YESNO)
        typed = mapped.astype("boolean")
        bad = present & typed.isna()
    elif col.kind == "code":
        lookup = col.lookup()
        mapped = raw.map(_variants(lookup))
        misses = present & mapped.isna()
        if misses.any():
            text = retry(misses)
            keys = normalise_labels(text)
            mapped.loc[keys.index] = keys.map(lookup)
        typed = mapped.astype("string")
        bad = present & typed.isna()
    elif col.kind == "codelist":
        text = as_text(raw)
        present = text.notna()
        # Each distinct list is parsed once (a registry repeats a few dozen lists over
        # millions of rows), then mapped back to the rows by its code.
        codes, distinct = pd.factorize(text)
        typed_d, bad_d = _codelist(pd.Series(distinct, dtype="string"), col.lookup())
        values = _per_cell(typed_d.astype(object).to_numpy(), codes, None)
        typed = pd.Series(values, index=raw.index, name=raw.name).astype("string")
        flags = _per_cell(bad_d.to_numpy(dtype=bool), codes, False)
        bad = present & pd.Series(flags, index=raw.index)
    elif col.kind == "date":
        numeric = raw.map(lambda v: isinstance(v, int | float)) if not _only_strings(raw) \
            else pd.Series(False, index=raw.index)
        dates = pd.to_datetime(raw.where(~numeric), format="ISO8601", errors="coerce")
        misses = present & dates.isna() & ~numeric
        if misses.any():
            text = retry(misses)
            dates.loc[text.index] = pd.to_datetime(text, format="ISO8601", errors="coerce")
        # A bare year or year-month ("2020") is not a date: ISO parsing would make it 1 Jan.
        partial = present & ~_is_date_cell(raw) & ~raw.astype("string").str.strip().str.match(
            r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$").fillna(False)
        dates = dates.mask(partial)
        typed = dates.dt.normalize()
        bad = present & typed.isna()
    else:  # pragma: no cover - the schema only uses the kinds above
        raise ValueError(col.kind)

    if col.kind in ("integer", "number"):
        values = numbers.where(~bad)
        low_bad = pd.Series(False, index=raw.index)
        if col.minimum is not None:
            low_bad = (values <= col.minimum) if col.minimum_exclusive else (values < col.minimum)
        high_bad = values > col.maximum if col.maximum is not None else low_bad & False
        out_of_range = (low_bad | high_bad).fillna(False).to_numpy(dtype=bool) | huge
        typed = typed.where(~pd.Series(out_of_range, index=raw.index))
    else:
        out_of_range = np.zeros(len(raw), dtype=bool)
    return _Typed(typed, present.to_numpy(dtype=bool), bad.to_numpy(dtype=bool),
                  out_of_range)


def _findings(raw: pd.Series, col: Column, sheet: str, typed: _Typed) -> list[Finding]:
    """One finding per bad cell, out-of-range number and empty required cell, in that order
    and in row order within each."""
    findings: list[Finding] = []
    for row in raw.index[typed.bad]:
        value = raw.loc[row]
        shown = display(value)
        if col.kind in ("code", "codelist"):
            near = closest(shown.split(";")[0], col.codes) if shown else None
            hint = f" Did you mean '{near}'?" if near else ""
            if col.kind == "codelist" and "," in shown:
                hint = " Separate several codes with ';' (e.g. CD19;CD22), not ','."
            message = f"'{shown}' is not an allowed code for {col.name}.{hint}"
            fix = f"Use one of: {', '.join(col.codes)}."
            rule = "unknown-code"
        elif col.kind == "date":
            message = f"'{shown}' is not a date in the form YYYY-MM-DD."
            fix = ("Write the date as YYYY-MM-DD (e.g. 2019-03-07) or format the cell as "
                   "a date; day/month order cannot be guessed safely.")
            rule = "bad-date"
        elif col.kind == "yesno":
            message = f"'{shown}' is not yes or no."
            fix = "Write yes or no (empty if unknown)."
            rule = "bad-yesno"
        else:
            message = f"'{shown}' is not {col.allowed().split(' from ')[0].split(' >')[0]}."
            fix = f"Enter {col.allowed()} (empty if unknown)."
            if "," in shown:
                fix += " Use a point as the decimal mark (0.5, not 0,5)."
            elif "%" in shown or any(c.isalpha() for c in shown.replace("e", "")):
                fix += f" Enter the number alone; the unit is {col.unit or 'fixed'}."
            rule = "bad-number"
        findings.append(_finding(sheet, row, col, value, message, fix, rule))

    for row in raw.index[typed.out_of_range]:
        findings.append(_finding(
            sheet, row, col, raw.loc[row],
            f"{display(raw.loc[row])} is out of range for {col.name}.",
            f"Enter {col.allowed()}; check the unit ({col.unit or 'none'}).",
            "out-of-range",
        ))
    if col.required:
        for row in raw.index[~typed.present]:
            findings.append(_finding(
                sheet, row, col, None, f"{col.name} is required but empty.",
                f"Fill in {col.name} ({col.allowed()}).", "missing-required",
            ))
    return findings


_NEG = r"(?:negative|neg|-)"
_POS = r"(?:positive|pos|\+)"
_CR = r"(?:cr|complete[\s_]*(?:remission|response))"


def _with_mrd(status: str) -> re.Pattern[str]:
    """'MRD-negative CR', 'MRD neg CR', 'MRD- CR', 'CR MRD-negative', 'CR (MRD-)'..."""
    mrd = rf"mrd\s*[-_ ]?\s*{status}"
    return re.compile(rf"(?:{mrd}\s*[-_ ]?\s*{_CR}|{_CR}\s*[-_ ,(]*\s*{mrd}\s*\)?)",
                      re.IGNORECASE)


#: Spellings of a code column that cannot be coded from the cell alone. Each is taken out
#: of the column before coding and settled by :func:`reinfuse.validate._rules.
#: resolve_context_codes`, which accepts it with a warning when another column makes the
#: meaning unambiguous and refuses it otherwise, saying where the information belongs.
CONTEXT_CODES: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    "best_response": (
        ("mrd_negative_cr", _with_mrd(_NEG)),
        ("mrd_positive_cr", _with_mrd(_POS)),
        ("cr_or_cri", re.compile(r"(?:cr\s*(?:/|or|and|_|-|\+)\s*cri|cri\s*(?:/|or)\s*cr)",
                                 re.IGNORECASE)),
        ("no_response", re.compile(r"(?:nr|no[\s_\-]*response|non[\s_\-]*respon(?:der|se)"
                                   r"|refractory|no[\s_\-]*remission)", re.IGNORECASE)),
    ),
    "ld_regimen": (
        ("flu_cy", re.compile(r"(?:flu(?:darabine)?\s*[/+,&_\-]?\s*(?:and\s*)?"
                              r"cy(?:clophosphamide|c|clo)?|cy(?:clophosphamide)?\s*"
                              r"[/+,&_\-]?\s*(?:and\s*)?flu(?:darabine)?|fc|flucy)",
                              re.IGNORECASE)),
    ),
}


def split_context_codes(raw: pd.Series, col: Column) -> tuple[pd.Series, pd.DataFrame]:
    """Take the cells of :data:`CONTEXT_CODES` out of a raw code column.

    Returns the column with those cells emptied, and one row per cell taken out (indexed
    like ``raw``) with its ``kind`` (the name in :data:`CONTEXT_CODES`) and ``text`` (as
    typed). Only cells that are not already an allowed code are matched.
    """
    taken = pd.DataFrame({"kind": pd.Series(dtype="string"),
                          "text": pd.Series(dtype="string")})
    patterns = CONTEXT_CODES.get(col.name)
    if not patterns:
        return raw, taken
    candidates = raw.notna() & raw.map(_variants(col.lookup())).isna()
    if not candidates.any():
        return raw, taken
    text = as_text(raw[candidates]).dropna()
    kind = pd.Series(pd.NA, index=text.index, dtype="string")
    for name, pattern in patterns:
        hit = text.str.fullmatch(pattern).fillna(False).astype(bool)
        kind = kind.mask(kind.isna() & hit, name)
    taken = pd.DataFrame({"kind": kind, "text": text}).dropna(subset=["kind"])
    return raw.mask(raw.index.isin(taken.index)), taken


def empty_column(col: Column, index: pd.Index) -> pd.Series:
    """An all-missing column of the right dtype, for an absent optional column."""
    dtype = {"integer": "Int64", "number": "float64", "yesno": "boolean",
             "date": "datetime64[ns]"}.get(col.kind, "string")
    if dtype == "datetime64[ns]":
        return pd.Series(pd.NaT, index=index, dtype=dtype)
    return pd.Series(np.nan if dtype == "float64" else pd.NA, index=index, dtype=dtype)
