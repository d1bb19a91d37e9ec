"""One conversion to JSON-ready Python, shared by results, figures and the report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: dicts, lists, str, int, float, bool and None.

    Dataclasses become dicts of their fields; NumPy and pandas scalars Python numbers;
    missing values (None, NaN, infinities, ``pd.NA``, ``pd.NaT``) None; tuples, arrays,
    Series and Index lists; mapping keys strings; dates ISO strings.

    Examples
    --------
    >>> to_plain({1: np.int64(3), "x": (np.float64(0.5), float("nan"), pd.NA)})
    {'1': 3, 'x': [0.5, None, None]}
    """
    # Fast paths first (exact built-in types, numeric arrays): figure data at registry
    # scale holds hundreds of thousands of values; the general checks below are slower.
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(k): to_plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray | pd.Series) and value.dtype.kind in "biuf":
        array = np.asarray(value)
        if array.dtype.kind == "f":
            finite = np.isfinite(array)
            if not finite.all():
                return [x if ok else None
                        for x, ok in zip(array.tolist(), finite.tolist(), strict=True)]
        return array.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series | pd.Index):
        return [to_plain(v) for v in list(value)]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot make {type(value).__name__} JSON-ready: {value!r}")
