"""Descriptive statistics and intervals (tests/reference/stats_reference.md)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta

from reinfuse.errors import StatisticsError
from reinfuse.stats import median_ci, median_iqr, median_range, proportion


def test_median_range_ignores_missing() -> None:
    r = median_range(pd.Series([24.05, None, 0.35, 13653.0, 1.69], dtype="Float64"))
    assert r.median == pytest.approx((1.69 + 24.05) / 2)
    assert (r.minimum, r.maximum, r.n, r.n_missing) == (0.35, 13653.0, 4, 1)
    assert median_range([3]).median == 3.0
    assert r.method == "median (range: minimum to maximum)"


@pytest.mark.parametrize("values", [[], [None, np.nan], pd.Series([pd.NA], dtype="Float64")])
def test_median_range_empty_raises(values: object) -> None:
    with pytest.raises(StatisticsError, match="no non-missing values"):
        median_range(values)


@pytest.mark.parametrize(
    ("values", "method", "q1", "median", "q3"),
    [
        # type 7: rank 1 + (n - 1)p. n = 8: 2.75 -> 2 + 0.75 = 2.75; 6.25 -> 6.25.
        (list(range(1, 9)), "type7", 2.75, 4.5, 6.25),
        # type 6: rank (n + 1)p. n = 8: 2.25 -> 2.25; 6.75 -> 6.75 (Prism, KB #501).
        (list(range(1, 9)), "type6", 2.25, 4.5, 6.75),
        # n = 7, sorted 2 4 4 5 7 9 10. type 7: ranks 2.5 and 5.5 -> 4 and (7 + 9) / 2 = 8.
        ([10, 2, 4, 7, 4, 9, 5], "type7", 4.0, 5.0, 8.0),
        # type 6: ranks 2 and 6 -> 4 and 9.
        ([10, 2, 4, 7, 4, 9, 5], "type6", 4.0, 5.0, 9.0),
        # type 6 clamps below rank 1: n = 2, rank 0.75 -> minimum.
        ([1, 3], "type6", 1.0, 2.0, 3.0),
    ],
)
def test_median_iqr_definitions(
    values: list[float], method: str, q1: float, median: float, q3: float
) -> None:
    r = median_iqr(values, quartile_method=method)  # type: ignore[arg-type]
    assert (r.q1, r.median, r.q3) == pytest.approx((q1, median, q3), abs=1e-12)
    assert r.iqr == pytest.approx(q3 - q1)
    assert r.quartile_method == method
    assert ("type 6" if method == "type6" else "type 7") in r.method


def test_median_iqr_bad_method() -> None:
    with pytest.raises(StatisticsError, match="quartile_method"):
        median_iqr([1, 2, 3], quartile_method="prism")  # type: ignore[arg-type]


def test_clopper_pearson_objective_response() -> None:
    # 7/18 responders. Definition: lower = Beta(0.025; k, n - k + 1),
    # upper = Beta(0.975; k + 1, n - k). The seed-study figure is 0.173 to 0.643.
    r = proportion(7, 18)
    assert r.ci_low == pytest.approx(beta.ppf(0.025, 7, 12), rel=1e-9)
    assert r.ci_high == pytest.approx(beta.ppf(0.975, 8, 11), rel=1e-9)
    assert (round(r.ci_low, 3), round(r.ci_high, 3)) == (0.173, 0.643)
    assert r.estimate == 7 / 18
    assert r.method == "proportion with exact (Clopper-Pearson) 95% confidence interval"


def test_wilson_objective_response_closed_form() -> None:
    # p = 7/18 = 0.388889, z = 1.959964, z^2 = 3.841459, n = 18:
    # centre = (p + z^2/(2n)) / (1 + z^2/n) = (0.388889 + 0.106707) / 1.213414 = 0.408432
    # half = z sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n)
    #      = 1.959964 * sqrt(0.013203 + 0.002964) / 1.213414 = 0.205377
    # interval 0.203055 to 0.613809
    n, p = 18, 7 / 18
    z = NormalDist().inv_cdf(0.975)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    r = proportion(7, 18, method="wilson")
    assert r.ci_low == pytest.approx(centre - half, rel=1e-9)
    assert r.ci_high == pytest.approx(centre + half, rel=1e-9)
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (0.2031, 0.6138)


def test_proportion_edges() -> None:
    none = proportion(0, 12)
    assert none.ci_low == 0.0
    assert none.ci_high == pytest.approx(1 - 0.025 ** (1 / 12), rel=1e-9)  # closed form, k = 0
    every = proportion(12, 12)
    assert every.ci_high == 1.0
    assert every.ci_low == pytest.approx(0.025 ** (1 / 12), rel=1e-9)
    assert proportion(np.int64(3), 10.0, confidence_level=0.9).ci_method == "clopper-pearson"


@pytest.mark.parametrize(
    ("k", "n", "kwargs", "message"),
    [
        (8, 7, {}, "between 0 and n=7"),
        (-1, 7, {}, "between 0 and n=7"),
        (1.5, 7, {}, "whole number"),
        (0, 0, {}, "at least 1"),
        (True, 3, {}, "whole number"),
        (1, 3, {"confidence_level": 95}, "strictly between 0 and 1"),
        (1, 3, {"method": "agresti-coull"}, "method"),
    ],
)
def test_proportion_invalid(k: object, n: object, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        proportion(k, n, **kwargs)  # type: ignore[arg-type]


def test_median_ci_n18() -> None:
    # P(Bin(18, 1/2) <= 4) = (1 + 18 + 153 + 816 + 3060) / 2**18 = 4048 / 262144 = 0.015442
    # <= 0.025, while P(<= 5) = 12616 / 262144 = 0.048 > 0.025: ranks 5 and 14,
    # coverage 1 - 2 * 4048 / 262144 = 0.969116.
    assert sum(math.comb(18, k) for k in range(5)) == 4048
    r = median_ci(list(range(18, 0, -1)))
    assert (r.lower_rank, r.upper_rank, r.ci_low, r.ci_high) == (5, 14, 5.0, 14.0)
    assert r.achieved_confidence == pytest.approx(1 - 2 * 4048 / 262144, rel=1e-12)
    assert "actual confidence 96.9%" in r.method


def test_median_ci_too_small() -> None:
    with pytest.raises(StatisticsError, match=r"93\.75%"):
        median_ci([1, 2, 3, 4, 5])
    assert median_ci([1, 2, 3, 4, 5], confidence_level=0.9).lower_rank == 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(6, 80), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_median_ci_rank_is_the_largest_with_enough_coverage(n: int, level: float) -> None:
    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    try:
        r = median_ci(np.arange(n, dtype=float), confidence_level=level)
    except StatisticsError:
        assert coverage(1) < level
        return
    assert r.achieved_confidence == pytest.approx(coverage(r.lower_rank), rel=1e-9)
    assert r.achieved_confidence >= level - 1e-12
    assert r.lower_rank + 1 > n - r.lower_rank or coverage(r.lower_rank + 1) < level
