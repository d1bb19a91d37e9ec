"""How plan values (TOML) match analysis-frame values, shared by tables, tests and figures.

A plan writes ``where = { interim_therapy = ["yes"] }`` or ``[true]`` or ``[1]``, ``target =
["cd22"]``, ``age_years = [12]``: each should select what a reader means, whatever the
column's type. Yes/no columns accept the yes/no words of ``reinfuse.vocabulary``; numeric
columns compare numbers (12 matches 12.0); text compares without regard to case;
``;``-lists match any element.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from reinfuse.vocabulary import yes_no


def matches(values: pd.Series, wanted: Sequence[Any]) -> pd.Series:
    """True where a value equals one of ``wanted`` (missing values never match).

    Examples
    --------
    >>> s = pd.Series([True, False, None], dtype="boolean")
    >>> matches(s, ["yes"]).tolist(), matches(s, [0]).tolist()
    ([True, False, False], [False, True, False])
    >>> matches(pd.Series([12.0, 13.5]), ["12"]).tolist()
    [True, False]
    >>> matches(pd.Series(["CD22", "CD19;CD22", None]), ["cd22"]).tolist()
    [True, True, False]
    """
    if pd.api.types.is_bool_dtype(values):
        flags = {yes_no(v) for v in wanted} - {None}
        return values.isin(list(flags)).fillna(False).astype(bool)
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(pd.Series(list(wanted), dtype=object), errors="coerce")
        return values.isin(numbers.dropna().tolist()).fillna(False).astype(bool)
    keys = {str(v).strip().lower() for v in wanted}
    if len(values) > 1_000:  # match the distinct values once, then map back (registries)
        codes, uniques = pd.factorize(values)
        hit = _text_matches(pd.Series(uniques, dtype=object), keys).to_numpy(dtype=bool)
        found = np.zeros(len(values), dtype=bool)
        known = codes >= 0
        found[known] = hit[codes[known]]
        return pd.Series(found, index=values.index)
    return _text_matches(values, keys)


def _text_matches(values: pd.Series, keys: set[str]) -> pd.Series:
    """Case-blind text matching of :func:`matches` (``;``-lists match any element)."""
    text = values.astype("string").str.lower()
    if text.str.contains(";", regex=False).fillna(False).any():
        parts = text.str.split(";")
        return parts.map(lambda xs: isinstance(xs, list) and any(x.strip() in keys
                                                                 for x in xs)).astype(bool)
    return text.isin(list(keys)).fillna(False).astype(bool)
