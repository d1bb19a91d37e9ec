"""Wilcoxon signed-rank test: reference values (see tests/reference/stats_reference.md).

Exact p-values are checked against brute-force enumeration of every sign pattern, written
here from the definition and independent of reinfuse's generating-function recursion.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from tests._oracles import signed_rank_p

from reinfuse.errors import StatisticsError
from reinfuse.stats import wilcoxon_signed_rank

BEFORE = [11, 15, 36, 23, 37, 16, 19, 7]
AFTER = [12, 14, 45, 35, 22, 24, 29, 11]

# R ?wilcox.test, paired example (Hollander & Wolfe, depression scale).
DEP_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
DEP_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


def test_prism_worked_example_exact_conditional() -> None:
    # after - before = 1, -1, 9, 12, -15, 8, 10, 4; |d| ranks: 1.5, 1.5, 5, 7, 8, 4, 6, 3.
    # W+ = 1.5 + 5 + 7 + 4 + 6 + 3 = 26.5; W- = 1.5 + 8 = 9.5.
    r = wilcoxon_signed_rank(AFTER, BEFORE)
    assert (r.w_plus, r.w_minus, r.w_signed) == (26.5, 9.5, 17.0)
    assert r.statistic == 26.5
    assert r.distribution == "permutation"
    assert r.has_ties
    ranks = [1.5, 1.5, 5, 7, 8, 4, 6, 3]
    # 68 of the 256 sign patterns are at least 8.5 away from the mean 18: p = 68/256.
    # GraphPad's knowledge base prints 0.2565 for this example, a typo for 0.2656.
    assert signed_rank_p(ranks, 26.5, "two-sided") == Fraction(68, 256)
    assert r.pvalue == 68 / 256
    assert r.method == (
        "two-sided Wilcoxon signed-rank test, exact conditional distribution (permutation) "
        "because of ties; zero differences dropped (Wilcoxon's method)"
    )
    # Direction: before - after swaps W+ and W-, same two-sided p.
    swapped = wilcoxon_signed_rank(BEFORE, AFTER)
    assert (swapped.w_plus, swapped.w_minus, swapped.pvalue) == (9.5, 26.5, 68 / 256)


def test_prism_example_normal_approximation_by_hand() -> None:
    # mean = n(n+1)/4 = 18; var = 8*9*17/24 - (2**3 - 2)/48 = 51 - 0.125 = 50.875
    # z = (|26.5 - 18| - 0.5) / sqrt(50.875); two-sided p = erfc(z / sqrt(2)).
    r = wilcoxon_signed_rank(AFTER, BEFORE, method="normal")
    z = 8.0 / math.sqrt(50.875)
    assert r.z == pytest.approx(z, rel=1e-12)
    assert r.pvalue == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert r.method.startswith(
        "two-sided Wilcoxon signed-rank test, normal approximation with tie correction "
        "and continuity correction"
    )
    no_cc = wilcoxon_signed_rank(AFTER, BEFORE, method="normal", correction=False)
    assert no_cc.pvalue == pytest.approx(math.erfc(8.5 / math.sqrt(50.875) / math.sqrt(2)))


def test_r_documentation_depression_example() -> None:
    # R: wilcox.test(x, y, paired = TRUE) -> V = 40, p-value = 0.03906;
    #    alternative = "greater" -> p-value = 0.01953.
    r = wilcoxon_signed_rank(DEP_X, DEP_Y)
    assert r.statistic == 40.0
    assert r.distribution == "exact"
    assert r.pvalue == pytest.approx(0.03906, abs=5e-6)
    assert r.pvalue == 20 / 512
    greater = wilcoxon_signed_rank(DEP_X, DEP_Y, alternative="greater")
    assert greater.pvalue == pytest.approx(0.01953, abs=5e-6)
    assert greater.pvalue == 10 / 512
    assert greater.method.startswith("one-sided (alternative: x > y) Wilcoxon")
    less = wilcoxon_signed_rank(DEP_X, DEP_Y, alternative="less")
    assert less.pvalue == float(signed_rank_p(list(range(1, 10)), 40, "less"))


@pytest.mark.parametrize("w_plus", range(0, 56))
def test_exact_n10_matches_enumeration(w_plus: int) -> None:
    # Build differences with untied ranks 1..10 whose positive ranks sum to w_plus.
    positive = next(
        set(c)
        for k in range(11)
        for c in itertools.combinations(range(1, 11), k)
        if sum(c) == w_plus
    )
    d = [rank if rank in positive else -rank for rank in range(1, 11)]
    ranks = list(range(1, 11))
    for alternative in ("two-sided", "greater", "less"):
        r = wilcoxon_signed_rank(d, alternative=alternative)
        assert r.distribution == "exact"
        assert r.pvalue == pytest.approx(
            float(signed_rank_p(ranks, w_plus, alternative)), abs=1e-15
        )


def test_n10_table_value() -> None:
    # Classical table: for n = 10, P(W+ <= 8) = 25/1024 (critical value 8 at alpha 0.05,
    # two-sided). Enumerate to confirm the count, then compare.
    count = sum(
        1
        for signs in itertools.product((0, 1), repeat=10)
        if sum(r for r, s in zip(range(1, 11), signs, strict=True) if s) <= 8
    )
    assert count == 25
    d = [1, 2, -3, -4, 5, -6, -7, -8, -9, -10]  # W+ = 1 + 2 + 5 = 8
    assert wilcoxon_signed_rank(d).pvalue == 2 * 25 / 1024
    assert wilcoxon_signed_rank(d, alternative="less").pvalue == 25 / 1024


@pytest.mark.parametrize("seed", range(6))
def test_ties_and_zeros_match_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = rng.integers(-4, 5, size=11).astype(float)
    if not (d != 0).any():  # pragma: no cover - the seeds used all have non-zero values
        d[0] = 1.0
    for zero_method in ("wilcox", "pratt"):
        if zero_method == "wilcox":
            kept = d[d != 0]
            ranks = scipy.stats.rankdata(np.abs(kept))
        else:
            all_ranks = scipy.stats.rankdata(np.abs(d))
            kept = d[d != 0]
            ranks = all_ranks[d != 0]
        w_plus = float(ranks[kept > 0].sum())
        for alternative in ("two-sided", "greater", "less"):
            r = wilcoxon_signed_rank(
                d, zero_method=zero_method, method="permutation", alternative=alternative
            )
            assert r.w_plus == w_plus
            expected = signed_rank_p(list(ranks), w_plus, alternative)
            assert r.pvalue == pytest.approx(float(expected), abs=1e-12)


def test_zero_differences_dropped_and_counted() -> None:
    x = [5, 3, 8, 2, 7, 4]
    y = [5, 1, 5, 2, 9, 1]  # two zero differences
    r = wilcoxon_signed_rank(x, y)
    assert (r.n_pairs, r.n_zero, r.n) == (6, 2, 4)
    # d = 2, 3, -2, 3 -> ranks 1.5, 3.5, 1.5, 3.5 -> W+ = 8.5, W- = 1.5
    assert (r.w_plus, r.w_minus) == (8.5, 1.5)
    assert "zero differences dropped (Wilcoxon's method)" in r.method
    pratt = wilcoxon_signed_rank(x, y, zero_method="pratt")
    # Pratt: zeros take ranks 1.5, 1.5; then 2 -> 3.5, 3 -> 5.5: W+ = 3.5 + 5.5 + 5.5 = 14.5
    assert (pratt.w_plus, pratt.w_minus, pratt.n) == (14.5, 3.5, 4)
    assert pratt.distribution == "permutation"
    assert "Pratt's method" in pratt.method


def test_missing_pairs_dropped() -> None:
    x = pd.Series([1.0, 2.0, None, 4.0, 5.0], dtype="Float64")
    y = [2.5, np.nan, 3.0, 1.0, 1.5]
    r = wilcoxon_signed_rank(x, y)
    assert (r.n_missing, r.n_pairs) == (2, 3)
    assert r.x_summary.n == 3
    assert r.y_summary is not None and r.y_summary.median == 1.5


def test_one_sample_against_zero() -> None:
    r = wilcoxon_signed_rank([1.5, -0.5, 2.0, 3.0, None])
    assert r.y_summary is None
    assert r.n == 4 and r.n_missing == 1
    assert r.w_plus == 9.0 and r.w_minus == 1.0
    assert r.pvalue == float(signed_rank_p([2, 1, 3, 4], 9, "two-sided"))


def test_floating_point_ties_are_ties() -> None:
    # 1.3 - 1.29 and 2.3 - 2.29 are both 0.01 on paper, not in binary floating point.
    r = wilcoxon_signed_rank([1.3, 2.3, 5.0], [1.29, 2.29, 3.0])
    assert r.has_ties
    assert (r.w_plus, r.n) == (6.0, 3)


def test_auto_uses_normal_from_200_pairs() -> None:
    ranks = np.arange(1, 201, dtype=float)
    d = np.where(np.arange(200) % 3 == 0, -ranks, ranks)
    r = wilcoxon_signed_rank(d)
    assert r.distribution == "normal"
    assert "(200 or more pairs)" in r.method
    mean, var = 200 * 201 / 4, 200 * 201 * 401 / 24
    w_plus = float(ranks[d > 0].sum())
    z = (abs(w_plus - mean) - 0.5) / math.sqrt(var)
    assert r.pvalue == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-10)
    below = wilcoxon_signed_rank(d[:199])
    assert below.distribution == "exact"


def test_exact_conditional_fast_up_to_the_prism_limit() -> None:
    rng = np.random.default_rng(3)
    d = rng.integers(-30, 31, size=199).astype(float)
    start = time.perf_counter()
    r = wilcoxon_signed_rank(d)
    assert time.perf_counter() - start < 1.0
    assert r.distribution == "permutation"
    approx = wilcoxon_signed_rank(d, method="normal")
    assert r.pvalue == pytest.approx(approx.pvalue, abs=0.01)


def test_matches_scipy_without_ties() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=15), rng.normal(size=15)
    for alternative in ("two-sided", "greater", "less"):
        ours = wilcoxon_signed_rank(x, y, alternative=alternative)
        ref = scipy.stats.wilcoxon(x, y, alternative=alternative, method="exact")
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
        ours_n = wilcoxon_signed_rank(
            x, y, alternative=alternative, method="normal", correction=False
        )
        ref_n = scipy.stats.wilcoxon(x, y, alternative=alternative, method="approx")
        assert ours_n.pvalue == pytest.approx(ref_n.pvalue, rel=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1, 2, 3], "y": [1, 2]}, "same length"),
        ({"x": [None, 1.0], "y": [1.0, None]}, "no complete pair"),
        ({"x": [1, 2, 3], "y": [1, 2, 3]}, "all 3 difference"),
        ({"x": [1, 2, 2], "y": [0, 0, 0], "method": "exact"}, "method='permutation'"),
        ({"x": [1, 2, 3], "y": [0, 0, 0], "method": "fast"}, "method='fast'"),
        ({"x": [1, 2, 3], "y": [0, 0, 0], "zero_method": "zsplit"}, "zero_method"),
        ({"x": [1, 2, 3], "y": [0, 0, 0], "alternative": "two.sided"}, "alternative"),
        ({"x": [1, np.inf], "y": [0, 0]}, "infinite"),
        ({"x": ["a", "b"], "y": [0, 0]}, "numbers"),
        ({"x": "123", "y": [0, 0, 0]}, "string"),
        ({"x": [[1, 2], [3, 4]], "y": None}, "one-dimensional"),
    ],
)
def test_invalid_input_raises(kwargs: dict[str, object], message: str) -> None:
    x = kwargs.pop("x")
    y = kwargs.pop("y")
    with pytest.raises(StatisticsError, match=message):
        wilcoxon_signed_rank(x, y, **kwargs)  # type: ignore[arg-type]


def test_exact_refused_for_pratt_zeros() -> None:
    with pytest.raises(StatisticsError, match="Pratt"):
        wilcoxon_signed_rank([0, 1, 2, 3], zero_method="pratt", method="exact")
