"""Descriptive summaries: median with range, median with quartiles."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import GroupSummary, MedianIQR, MedianRange
from reinfuse.stats._validate import as_float_vector, check_choice

QuartileMethod = Literal["type7", "type6"]

#: Hyndman & Fan type -> numpy.quantile ``method``.
_NUMPY_QUANTILE_METHOD: dict[str, Literal["linear", "weibull"]] = {
    "type7": "linear",
    "type6": "weibull",
}

_QUARTILE_SENTENCE = {
    "type7": (
        "quartiles by linear interpolation between order statistics at rank 1 + (n - 1)p "
        "(Hyndman & Fan type 7, the default of R and NumPy)"
    ),
    "type6": (
        "quartiles by linear interpolation between order statistics at rank (n + 1)p "
        "(Hyndman & Fan type 6, the method of GraphPad Prism 5 and later)"
    ),
}


def present_values(values: Any, name: str) -> tuple[NDArray[np.float64], int]:
    """Return the non-missing values and the number of missing ones; refuse empty input."""
    array = as_float_vector(values, name)
    missing = np.isnan(array)
    present = array[~missing]
    if present.size == 0:
        raise StatisticsError(
            f"{name} has no non-missing values ({array.size} value(s), all missing); "
            "a summary needs at least one value."
        )
    return present, int(missing.sum())


def summarize_group(values: NDArray[np.float64]) -> GroupSummary:
    """Median and range of already-cleaned values (internal helper for test results)."""
    return GroupSummary(
        n=int(values.size),
        median=float(np.median(values)),
        minimum=float(values.min()),
        maximum=float(values.max()),
    )


def median_range(values: Any) -> MedianRange:
    """Median and range (minimum-maximum) of a sample, ignoring missing values.

    Parameters
    ----------
    values : array_like
        Numbers; ``None``/NaN/``pd.NA`` are missing and only counted.

    Returns
    -------
    MedianRange
        ``median``, ``minimum``, ``maximum``, ``n`` (non-missing values), ``n_missing``.

    Raises
    ------
    StatisticsError
        If there is no non-missing value, or a value is not numeric or is infinite.

    Notes
    -----
    The median is the middle order statistic, or the mean of the two middle ones when
    ``n`` is even (every quantile definition agrees on this). "Median (range)" is how the
    seed study reports continuous variables.

    Examples
    --------
    >>> r = median_range([24.05, 0.35, 13653.0, None, 5.4, 1.69])
    >>> r.median, r.minimum, r.maximum, r.n, r.n_missing
    (5.4, 0.35, 13653.0, 5, 1)
    """
    present, n_missing = present_values(values, "values")
    return MedianRange(
        median=float(np.median(present)),
        minimum=float(present.min()),
        maximum=float(present.max()),
        n=int(present.size),
        n_missing=n_missing,
        method="median (range: minimum to maximum)",
    )


def median_iqr(values: Any, *, quartile_method: QuartileMethod = "type7") -> MedianIQR:
    """Median and quartiles (interquartile range) of a sample, ignoring missing values.

    Parameters
    ----------
    values : array_like
        Numbers; ``None``/NaN/``pd.NA`` are missing and only counted.
    quartile_method : {"type7", "type6"}, default "type7"
        Sample-quantile definition (Hyndman & Fan 1996, types 6 and 7):

        * ``"type7"``: the p-quantile is found at rank ``1 + (n - 1) p`` with linear
          interpolation between neighbouring order statistics. Default of R's
          ``quantile`` and of ``numpy.quantile``.
        * ``"type6"``: rank ``(n + 1) p``, clamped to the sample minimum/maximum. This is
          what GraphPad Prism (version 5 and later) uses, so choose it to reproduce
          quartiles printed by Prism.

    Returns
    -------
    MedianIQR
        ``median``, ``q1``, ``q3``, ``iqr = q3 - q1``, ``n``, ``n_missing``.

    Raises
    ------
    StatisticsError
        If there is no non-missing value, or an option is not recognised.

    Notes
    -----
    Definitions: R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages",
    The American Statistician 50 (1996) 361-365. Prism's rule: GraphPad knowledge base
    article #501 "How Prism computes percentiles" (rank ``P (n + 1) / 100``, definition 6
    of Hyndman and Fan). The median is the same under both definitions.

    Examples
    --------
    >>> data = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> r = median_iqr(data)
    >>> r.q1, r.median, r.q3
    (2.75, 4.5, 6.25)
    >>> r6 = median_iqr(data, quartile_method="type6")
    >>> r6.q1, r6.q3
    (2.25, 6.75)
    """
    check_choice(quartile_method, tuple(_NUMPY_QUANTILE_METHOD), "quartile_method")
    present, n_missing = present_values(values, "values")
    q1, median, q3 = np.quantile(
        present, [0.25, 0.5, 0.75], method=_NUMPY_QUANTILE_METHOD[quartile_method]
    )
    return MedianIQR(
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        iqr=float(q3 - q1),
        n=int(present.size),
        n_missing=n_missing,
        quartile_method=quartile_method,
        method=f"median (interquartile range); {_QUARTILE_SENTENCE[quartile_method]}",
    )
