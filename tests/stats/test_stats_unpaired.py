"""Mann-Whitney U test: reference values (see tests/reference/stats_reference.md).

Exact p-values are checked against enumeration of every split of the pooled ranks into
groups of the observed sizes, written here from the definition.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from tests._oracles import rank_sum_p

from reinfuse.errors import StatisticsError
from reinfuse.stats import mann_whitney_u


def brute_force_p(x: list[float], y: list[float], alternative: str) -> float:
    """p of the rank sum of x over all C(N, n_x) equally likely splits (tests/_oracles)."""
    return float(rank_sum_p(x, y, alternative)[1])


# R ?wilcox.test, two-sample example (Hollander & Wolfe, permeability constants).
PERM_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
PERM_Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def test_r_documentation_example() -> None:
    # R: wilcox.test(x, y, alternative = "g") -> W = 35, p-value = 0.1272 (exact, no ties);
    # two-sided p = 2 * 0.1272 = 0.2544.
    r = mann_whitney_u(PERM_X, PERM_Y)
    assert r.statistic == 35.0 == r.u_x
    assert (r.u_y, r.u_min) == (15.0, 15.0)
    assert r.distribution == "exact"
    assert r.pvalue == pytest.approx(0.2544, abs=5e-5)
    assert r.pvalue == pytest.approx(brute_force_p(PERM_X, PERM_Y, "two-sided"), abs=1e-14)
    greater = mann_whitney_u(PERM_X, PERM_Y, alternative="greater")
    assert greater.pvalue == pytest.approx(0.1272, abs=5e-5)
    assert greater.pvalue == pytest.approx(brute_force_p(PERM_X, PERM_Y, "greater"), abs=1e-14)
    assert r.method == "two-sided Mann-Whitney U test (Wilcoxon rank-sum test), exact distribution"


def test_normal_approximation_with_ties_by_hand() -> None:
    # Pooled, sorted: 0 0 0 | 1 | 2 | 3 | 4 | 5 5  -> midranks 2 2 2 | 4 | 5 | 6 | 7 | 8.5 8.5
    # R_x = 2 + 2 + 4 + 5 = 13; U_x = 13 - 4*5/2 = 3; U_y = 20 - 3 = 17.
    # mean = 4*5/2 = 10; ties t = 3 and t = 2: sum(t^3 - t) = 24 + 6 = 30; N = 9.
    # var = 4*5/12 * ((9 + 1) - 30 / (9*8)) = 1.666667 * 9.583333 = 15.972222
    # z = (|3 - 10| - 0.5) / sqrt(15.972222) = 6.5 / 3.996526 = 1.626412
    # two-sided p = erfc(1.626412 / sqrt(2)) = 0.103862
    x, y = [0, 0, 1, 2], [0, 3, 4, 5, 5]
    r = mann_whitney_u(x, y, method="normal")
    assert (r.u_x, r.u_y, r.rank_sum_x, r.rank_sum_y) == (3.0, 17.0, 13.0, 32.0)
    var = 4 * 5 / 12 * (10 - 30 / 72)
    z = 6.5 / math.sqrt(var)
    assert r.z == pytest.approx(-z, rel=1e-12)
    assert r.pvalue == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert r.pvalue == pytest.approx(0.103862, abs=1e-6)
    assert r.method == (
        "two-sided Mann-Whitney U test (Wilcoxon rank-sum test), normal approximation "
        "with tie correction and continuity correction"
    )
    # Same data, one-sided: z = (3 - 10 + 0.5) / sd for "less".
    less = mann_whitney_u(x, y, method="normal", alternative="less")
    assert less.pvalue == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-12)


@pytest.mark.parametrize(
    ("n_x", "n_y", "seed"),
    [(8, 9, 0), (8, 9, 1), (7, 11, 2), (7, 11, 3), (5, 6, 4), (3, 9, 5)],
)
def test_ties_exact_conditional_matches_enumeration(n_x: int, n_y: int, seed: int) -> None:
    # Shapes of the seed study's comparisons: many zeros (no expansion) plus tied values.
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(n_x) < 0.3, 0.0, rng.integers(1, 6, n_x)).tolist()
    y = np.where(rng.random(n_y) < 0.5, 0.0, rng.integers(1, 4, n_y)).tolist()
    for alternative in ("two-sided", "greater", "less"):
        r = mann_whitney_u(x, y, alternative=alternative)
        assert r.distribution == "permutation"
        assert r.pvalue == pytest.approx(brute_force_p(x, y, alternative), abs=1e-12)
    assert "exact conditional distribution (permutation) because of ties" in r.method


def test_swapping_groups() -> None:
    x, y = [0, 0, 0, 1.2, 5.4, 7.7], [0, 0, 2.5, 3.1, 9.0, 12.0, 40.0]
    a, b = mann_whitney_u(x, y), mann_whitney_u(y, x)
    assert a.pvalue == pytest.approx(b.pvalue, abs=1e-14)
    assert (a.u_x, a.u_y) == (b.u_y, b.u_x)
    assert mann_whitney_u(x, y, alternative="greater").pvalue == pytest.approx(
        mann_whitney_u(y, x, alternative="less").pvalue, abs=1e-14
    )


def test_matches_scipy_without_ties() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=9), rng.normal(0.5, size=12)
    for alternative in ("two-sided", "greater", "less"):
        ours = mann_whitney_u(x, y, alternative=alternative)
        assert ours.distribution == "exact"
        ref = scipy.stats.mannwhitneyu(x, y, alternative=alternative, method="exact")
        assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
        ours_n = mann_whitney_u(x, y, alternative=alternative, method="normal")
        ref_n = scipy.stats.mannwhitneyu(x, y, alternative=alternative, method="asymptotic")
        assert ours_n.pvalue == pytest.approx(ref_n.pvalue, rel=1e-10)


def test_auto_rule_boundaries() -> None:
    rng = np.random.default_rng(5)
    assert mann_whitney_u(rng.normal(size=20), rng.normal(size=30)).distribution == "exact"
    big = mann_whitney_u(rng.normal(size=101), rng.normal(size=101))
    assert big.distribution == "normal"
    assert "smaller group over 100 values" in big.method
    total = mann_whitney_u(rng.normal(size=10), rng.normal(size=241))
    assert total.distribution == "normal"
    assert mann_whitney_u(rng.normal(size=10), rng.normal(size=240)).distribution == "exact"


def test_missing_values_dropped_and_summaries() -> None:
    r = mann_whitney_u([1.0, None, 3.0, np.nan], [2.0, 4.0, 6.0])
    assert (r.n_x, r.n_missing_x, r.n_y, r.n_missing_y, r.n) == (2, 2, 3, 0, 5)
    assert (r.x_summary.median, r.y_summary.minimum, r.y_summary.maximum) == (2.0, 2.0, 6.0)
    assert (r.mean_rank_x, r.mean_rank_y) == (2.0, 11 / 3)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        ([None, np.nan], [1, 2], {}, "group x has no non-missing value"),
        ([1, 2], [], {}, "group y has no non-missing value"),
        ([3, 3], [3, 3, 3], {}, "every one of the 5 values"),
        ([1, 2, 2], [2, 3], {"method": "exact"}, "method='permutation'"),
        ([1, 2], [3, 4], {"method": "asymptotic"}, "method='asymptotic'"),
        ([1, 2], [3, 4], {"alternative": "g"}, "alternative='g'"),
    ],
)
def test_invalid_input_raises(
    x: list[float], y: list[float], kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(StatisticsError, match=message):
        mann_whitney_u(x, y, **kwargs)  # type: ignore[arg-type]


def test_permutation_too_large_is_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(StatisticsError, match="method='normal'"):
        mann_whitney_u(rng.normal(size=600), rng.normal(size=600), method="permutation")


def test_floating_point_ties_are_ties() -> None:
    r = mann_whitney_u([0.1 + 0.2, 1.0], [0.3, 2.0])
    assert r.has_ties
    assert r.u_x == 1.5


@pytest.mark.parametrize(("n_x", "n_y", "seed"), [(9, 12, 1), (30, 25, 2), (100, 100, 3)])
def test_untied_exact_agrees_with_the_conditional_table(n_x: int, n_y: int, seed: int) -> None:
    # Without ties, method="exact" takes SciPy's classical distribution and
    # method="permutation" this package's own generating-function table: two independent
    # computations of the same distribution, which must give the same p-values (the
    # two-sided rule differs in form, doubling the smaller tail vs "at least as far from
    # the centre", and agrees because the untied distribution is symmetric).
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n_x), rng.normal(0.4, size=n_y)
    for alternative in ("two-sided", "greater", "less"):
        exact = mann_whitney_u(x, y, alternative=alternative, method="exact")
        table = mann_whitney_u(x, y, alternative=alternative, method="permutation")
        assert exact.pvalue == pytest.approx(table.pvalue, rel=1e-9, abs=1e-15)


# --- the untied exact distribution (q-binomial), issue 9 --------------------------------


@pytest.mark.parametrize(("m", "n"), [(1, 1), (1, 5), (2, 3), (3, 3), (4, 6), (6, 2)])
def test_untied_u_distribution_against_enumeration(m: int, n: int) -> None:
    """Every split of the ranks 1..m+n enumerated: P(U <= u), P(U >= u) and twice the
    smaller, for every u (hand-checkable reference: C(m + n, m) equally likely subsets)."""
    import itertools

    from reinfuse.stats._exact import untied_u_pvalue

    us = np.array([sum(c) + m - m * (m + 1) // 2
                   for c in itertools.combinations(range(m + n), m)])
    for u in range(m * n + 1):
        less, greater = float((us <= u).mean()), float((us >= u).mean())
        assert untied_u_pvalue(u, m, n, "less") == pytest.approx(less, abs=1e-13)
        assert untied_u_pvalue(u, m, n, "greater") == pytest.approx(greater, abs=1e-13)
        assert untied_u_pvalue(u, m, n, "two-sided") == pytest.approx(
            min(1.0, 2 * min(less, greater)), abs=1e-13)


@pytest.mark.parametrize("seed", range(6))
def test_untied_exact_p_matches_scipy(seed: int) -> None:
    """SciPy's exact Mann-Whitney distribution (an independent implementation) on
    untied samples of up to 100 per group, every alternative."""
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(1, 101, size=2))
    x, y = rng.normal(size=m), rng.normal(0.4, size=n)
    for alternative in ("two-sided", "less", "greater"):
        ours = mann_whitney_u(x, y, method="exact", alternative=alternative)
        theirs = scipy.stats.mannwhitneyu(x, y, method="exact", alternative=alternative)
        assert ours.statistic == theirs.statistic
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-10, abs=1e-300)
