"""Input checks shared by the statistics functions (every failure is a StatisticsError)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reinfuse.errors import StatisticsError

ALTERNATIVES = ("two-sided", "less", "greater")


def as_float_vector(values: Any, name: str) -> NDArray[np.float64]:
    """Return ``values`` as a 1-D float array; missing values (None, NaN, pd.NA) become NaN.

    Raises
    ------
    StatisticsError
        If the values are not numeric, not one-dimensional, or contain +/-infinity.
    """
    if isinstance(values, str | bytes):
        raise StatisticsError(f"{name} must be a sequence of numbers; got the string {values!r}.")
    try:
        if hasattr(values, "to_numpy"):  # pandas Series / Index, nullable dtypes included
            array = np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        else:
            if not isinstance(values, np.ndarray) and isinstance(values, Iterable):
                values = [np.nan if v is None else v for v in values]
            array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(
            f"{name} must contain only numbers or missing values (None/NaN); "
            f"could not convert it: {exc}."
        ) from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise StatisticsError(
            f"{name} must be one-dimensional; got an array of shape {array.shape}. "
            "Pass one column of values."
        )
    if np.isinf(array).any():
        raise StatisticsError(
            f"{name} contains {int(np.isinf(array).sum())} infinite value(s); only finite "
            "numbers (or missing values) are allowed. Replace them or mark them missing."
        )
    return array


def check_alternative(alternative: str) -> None:
    """Raise unless ``alternative`` is one of two-sided / less / greater."""
    if alternative not in ALTERNATIVES:
        raise StatisticsError(
            f"alternative={alternative!r} is not supported; use one of {', '.join(ALTERNATIVES)}."
        )


def check_choice(value: object, allowed: tuple[object, ...], name: str) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise StatisticsError(f"{name}={value!r} is not supported; use one of {shown}.")


def whole_number(value: Any, name: str) -> int:
    """``value`` as an int, or raise unless it is a whole real number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StatisticsError(f"{name} must be a whole number; got {value!r}.")
    number = float(value)
    if not number.is_integer():
        raise StatisticsError(f"{name} must be a whole number of subjects; got {value!r}.")
    return int(number)


def check_confidence_level(level: float) -> None:
    """Raise unless ``0 < level < 1``."""
    if not isinstance(level, int | float) or not 0.0 < float(level) < 1.0:
        raise StatisticsError(
            f"confidence_level must be a number strictly between 0 and 1 (e.g. 0.95); "
            f"got {level!r}."
        )


def as_count_table(table: Any, name: str = "table") -> NDArray[np.int64]:
    """Return a 2-D table of non-negative integer counts.

    Raises
    ------
    StatisticsError
        If the table is not 2-D, has fewer than two rows or columns, holds negative,
        non-integer or missing counts, or is empty.
    """
    if hasattr(table, "to_numpy"):
        table = table.to_numpy()
    try:
        array = np.asarray(table, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"{name} must be a 2-D table of counts; {exc}.") from exc
    if array.ndim != 2:
        raise StatisticsError(
            f"{name} must be a two-dimensional table of counts; got shape {array.shape}."
        )
    if array.shape[0] < 2 or array.shape[1] < 2:
        raise StatisticsError(
            f"{name} must have at least 2 rows and 2 columns; got shape {array.shape}."
        )
    if not np.isfinite(array).all():
        raise StatisticsError(
            f"{name} contains missing or infinite counts; every cell needs a whole number."
        )
    if (array < 0).any():
        raise StatisticsError(
            f"{name} contains negative counts ({array[array < 0].tolist()}); counts must be >= 0."
        )
    if (array != np.round(array)).any():
        raise StatisticsError(
            f"{name} contains non-integer counts ({array[array != np.round(array)].tolist()}); "
            "pass whole numbers of subjects."
        )
    counts = array.astype(np.int64)
    if counts.sum() == 0:
        raise StatisticsError(f"{name} is empty (all counts are zero).")
    return counts
