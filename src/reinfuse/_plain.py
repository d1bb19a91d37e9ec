"""One conversion to JSON-ready Python, shared by results, figures and the report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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


_ONE_LINE = json.JSONEncoder(allow_nan=False, ensure_ascii=True).encode
_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_text(value: Any, indent: str = " ") -> str:
    """``value`` (JSON-ready, :func:`to_plain`) as JSON text that people can read and
    that is quick to write at registry scale.

    Objects are spread over indented lines; a list of plain values (a figure's patient
    ids, a column of numbers) is written on one line, and a list of objects holding only
    plain values (one mark of a figure per patient) one object per line. Written this
    way, results.json of 100,000 patients takes a quarter to a third of the time of
    ``json.dumps(value, indent=1)`` (0.12 s instead of 0.42-0.57 s), whose pure-Python
    encoder puts every value on its own line.

    Raises
    ------
    ValueError
        ``value`` holds NaN or an infinity (:func:`to_plain` makes them None first).

    Examples
    --------
    >>> print(json_text({"ids": ["A", "B"], "marks": [{"x": 1}, {"x": 2.5}], "n": 2}))
    {
     "ids": ["A", "B"],
     "marks": [
      {"x": 1},
      {"x": 2.5}
     ],
     "n": 2
    }
    >>> json.loads(json_text({"a": [[1, 2], {}]})) == {"a": [[1, 2], {}]}
    True
    """
    parts: list[str] = []
    _write(value, "\n", indent, parts)
    return "".join(parts)


def _write(value: Any, newline: str, indent: str, parts: list[str]) -> None:
    """Append the JSON text of ``value`` at the depth ``newline`` opens to ``parts``."""
    inner = newline + indent
    if type(value) is dict and value:
        parts.append("{")
        for position, (key, item) in enumerate(value.items()):
            parts.append(("," if position else "") + inner + _ONE_LINE(str(key)) + ": ")
            _write(item, inner, indent, parts)
        parts.append(newline + "}")
    elif type(value) is list and value and not all(type(v) in _SCALARS for v in value):
        if all(type(item) is dict for item in value) and {
                type(v) for item in value for v in item.values()} <= _SCALARS:
            # Records (one figure mark per patient): one line each. One call encodes
            # them all; the text is cut between records unless a value holds the cut.
            pieces = _ONE_LINE(value)[1:-1].split("}, {")
            lines = (("}," + inner + "{").join(pieces) if len(pieces) == len(value)
                     else ("," + inner).join(map(_ONE_LINE, value)))
            parts.append("[" + inner + lines + newline + "]")
            return
        parts.append("[")
        for position, item in enumerate(value):
            parts.append("," + inner if position else inner)
            _write(item, inner, indent, parts)
        parts.append(newline + "]")
    else:  # a plain value, an empty container or a list of plain values: one line
        parts.append(_ONE_LINE(value))
