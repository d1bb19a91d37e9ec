"""Fisher, chi-squared and McNemar: reference values (tests/reference/stats_reference.md)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from tests._oracles import fisher_p

from reinfuse.errors import StatisticsError
from reinfuse.stats import chi_square, fisher_exact, mcnemar

TEA = [[3, 1], [1, 3]]
# R ?fisher.test: Job <- matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)
# R fills by column, so these lists are the columns (income rows, satisfaction columns).
JOB = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T
# R ?mcnemar.test: matrix(c(794, 86, 150, 570), nrow = 2), filled by column.
PERFORMANCE = [[794, 150], [86, 570]]


def test_tea_tasting() -> None:
    # Hypergeometric probabilities of x = 0..4 milk-first cups guessed right (margins 4, 4):
    # C(4,x) C(4,4-x) / C(8,4) = 1, 16, 36, 16, 1 (/70). Observed x = 3 (16/70).
    # Two-sided: x in {0, 1, 3, 4} -> 34/70 = 0.4857 (R); greater: x >= 3 -> 17/70 = 0.2429.
    r = fisher_exact(TEA, conditional_odds_ratio=True)
    assert r.pvalue == pytest.approx(34 / 70, rel=1e-12)
    assert round(r.pvalue, 4) == 0.4857
    assert r.odds_ratio == r.statistic == 9.0
    # R prints "odds ratio 6.408309" (conditional MLE; R's optimiser tolerance ~1e-6).
    assert r.conditional_odds_ratio == pytest.approx(6.408309, rel=1e-5)
    greater = fisher_exact(TEA, alternative="greater")
    assert greater.pvalue == pytest.approx(17 / 70, rel=1e-12)
    assert round(greater.pvalue, 4) == 0.2429
    assert greater.method.startswith("one-sided (alternative: odds ratio > 1) Fisher's exact")
    assert (r.row_totals, r.column_totals, r.n) == ((4, 4), (4, 4), 8)


def test_job_satisfaction_rxc() -> None:
    r = fisher_exact(JOB)
    assert r.pvalue == pytest.approx(0.7827, abs=5e-5)  # R: fisher.test(Job) # 0.7827
    assert r.odds_ratio is None
    assert r.method.startswith("two-sided Fisher-Freeman-Halton exact test (4x4 table")
    assert fisher_exact(JOB.T).pvalue == pytest.approx(r.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    "table",
    [
        [[3, 2, 1], [1, 4, 7]],
        [[0, 3, 2], [4, 0, 1], [1, 2, 0]],
        [[2, 0], [1, 3], [0, 4]],
        [[5, 0, 0], [0, 5, 0]],
        [[1, 1, 1], [1, 1, 1]],
        [[6, 2], [1, 4]],
    ],
)
def test_rxc_matches_enumeration(table: list[list[int]]) -> None:
    counts = np.array(table)
    expected = fisher_p(counts)
    if counts.shape == (2, 2):
        from reinfuse.stats._fisher_rxc import fisher_rxc_pvalue

        assert fisher_rxc_pvalue(counts)[1] == pytest.approx(expected, rel=1e-9)
    assert fisher_exact(table).pvalue == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("table", "kwargs", "message"),
    [
        ([[1, -1], [2, 3]], {}, "negative"),
        ([[1, 0.5], [2, 3]], {}, "non-integer"),
        ([[1, 2, 3]], {}, "at least 2 rows"),
        ([1, 2, 3, 4], {}, "two-dimensional"),
        ([[0, 0], [0, 0]], {}, "all counts are zero"),
        ([[1, np.nan], [2, 3]], {}, "missing"),
        ([[1, 2, 3], [3, 2, 1]], {"alternative": "greater"}, "only defined for 2x2"),
    ],
)
def test_fisher_invalid(table: object, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        fisher_exact(table, **kwargs)  # type: ignore[arg-type]


def test_chi_square_r_documentation_example() -> None:
    # R: chisq.test(M) -> X-squared = 30.07, df = 2, p-value = 2.954e-07
    r = chi_square([[762, 327, 468], [484, 239, 477]])
    assert round(r.statistic, 2) == 30.07
    assert r.df == 2
    assert r.pvalue == pytest.approx(2.954e-07, rel=5e-4)
    assert not r.yates_correction
    assert r.expected[0] == pytest.approx((703.6714, 319.6453, 533.6834), abs=1e-4)
    assert r.expected[1] == pytest.approx((542.3286, 246.3547, 411.3166), abs=1e-4)
    assert not r.small_expected and r.notes == ()


def test_chi_square_yates_by_hand() -> None:
    # Margins 30/70 and 40/60 of N = 100: E = [[12, 18], [28, 42]], every |O - E| = 2.
    # Yates: (2 - 0.5)^2 * (1/12 + 1/18 + 1/28 + 1/42) = 2.25 * 0.198413 = 0.446429
    # p = P(chi2_1 > X2) = erfc(sqrt(X2 / 2)) = 0.50404
    r = chi_square([[10, 20], [30, 40]])
    x2 = 2.25 * (1 / 12 + 1 / 18 + 1 / 28 + 1 / 42)
    assert r.statistic == pytest.approx(x2, rel=1e-12)
    assert r.pvalue == pytest.approx(math.erfc(math.sqrt(x2 / 2)), rel=1e-10)
    assert r.yates_correction and r.df == 1
    assert "Yates's continuity correction" in r.method
    plain = chi_square([[10, 20], [30, 40]], correction=False)
    x2_plain = 4 * (1 / 12 + 1 / 18 + 1 / 28 + 1 / 42)
    assert plain.statistic == pytest.approx(x2_plain, rel=1e-12)
    assert not plain.yates_correction


def test_chi_square_flags_small_expected_counts() -> None:
    r = chi_square(TEA)
    assert r.small_expected
    assert r.n_expected_below_5 == 4 and r.min_expected == 2.0
    assert "Fisher's exact test is recommended" in r.notes[0]


def test_chi_square_empty_row_refused() -> None:
    with pytest.raises(StatisticsError, match="no subjects"):
        chi_square([[0, 0], [3, 4]])


def test_mcnemar_r_documentation_example() -> None:
    # R: mcnemar.test(Performance) -> McNemar's chi-squared = 16.818, df = 1,
    # p-value = 4.115e-05; correct = FALSE -> 17.356, p-value = 3.099e-05.
    # By hand: (|150 - 86| - 1)^2 / 236 = 3969 / 236 = 16.8178; 64^2 / 236 = 17.3559.
    r = mcnemar(PERFORMANCE, exact=False)
    assert r.statistic == pytest.approx(3969 / 236, rel=1e-12)
    assert round(r.statistic, 3) == 16.818
    assert r.pvalue == pytest.approx(4.115e-05, rel=2e-4)
    assert (r.b, r.c, r.n) == (150, 86, 1600)
    plain = mcnemar(PERFORMANCE, exact=False, correction=False)
    assert plain.statistic == pytest.approx(4096 / 236, rel=1e-12)
    assert plain.pvalue == pytest.approx(3.099e-05, rel=2e-4)
    assert plain.method == "McNemar's chi-squared test (1 df) without continuity correction"


def test_mcnemar_exact_binomial_by_hand() -> None:
    # Two-sided exact p = 2 * P(Bin(236, 1/2) <= 86), in exact integer arithmetic.
    tail = Fraction(sum(math.comb(236, k) for k in range(87)), 2**236)
    r = mcnemar(PERFORMANCE)
    assert r.exact and r.statistic == 86
    assert r.pvalue == pytest.approx(float(2 * tail), rel=1e-10)
    # A small cohort: 1 vs 6 discordant pairs -> 2 * (1 + 7) / 2**7 = 0.125.
    small = mcnemar([[5, 1], [6, 6]])
    assert small.pvalue == pytest.approx(16 / 128, rel=1e-12)
    assert small.method.startswith("exact McNemar test")


def test_mcnemar_from_paired_vectors() -> None:
    first = [1, 1, 0, 0, 1, None, True, 0]
    second = [0, 1, 1, 0, 0, 1, False, 1]
    r = mcnemar(first, second)
    # pairs (1,0) x3 [incl. True/False], (1,1) x1, (0,1) x2, (0,0) x1; one dropped.
    assert r.table == ((1, 3), (2, 1))
    assert (r.n, r.n_missing, r.b, r.c) == (7, 1, 3, 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([[1, 2, 3], [4, 5, 6]],), "2x2"),
        (([[4, 0], [0, 5]],), "no discordant pairs"),
        (([1, 2, 0], [1, 0, 1]), "binary outcomes"),
        (([1, 0], [1, 0, 1]), "same length"),
    ],
)
def test_mcnemar_invalid(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        mcnemar(*args)


@pytest.mark.parametrize("b", [1, 3, 10])
def test_mcnemar_equal_discordant_counts_like_r(b: int) -> None:
    # R's mcnemar.test applies the correction only when the table is not symmetric
    # (YATES <- if (correct && (r == 2) && any(x - t(x) != 0)) 1 else 0), so with b == c
    # the statistic is (|b - c|)^2 / (b + c) = 0 and p = pchisq(0, 1, lower.tail = FALSE) = 1.
    r = mcnemar([[5, b], [b, 7]], exact=False)
    assert r.statistic == 0.0
    assert r.pvalue == 1.0
    assert not r.correction
    assert "no continuity correction applies" in r.method


def test_mcnemar_corrects_unequal_counts_by_hand() -> None:
    # b = 1, c = 4: (|1 - 4| - 1)^2 / 5 = 0.8; P(chi2_1 > 0.8) = 0.3710934 (R: pchisq(0.8, 1,
    # lower.tail = FALSE)).
    r = mcnemar([[5, 1], [4, 7]], exact=False)
    assert r.statistic == pytest.approx(0.8)
    assert r.pvalue == pytest.approx(0.3710934, abs=1e-7)
    assert r.correction


def test_fisher_monte_carlo_agrees_with_exact_on_rs_job_table() -> None:
    # R: fisher.test(Job) = 0.7827 exactly; the Monte Carlo estimate from 100,000 tables
    # must lie within 4 Monte Carlo standard errors (sqrt(p (1 - p) / B) = 0.0013).
    r = fisher_exact(JOB, method="monte-carlo")
    assert r.pvalue == pytest.approx(0.7827, abs=4 * math.sqrt(0.7827 * 0.2173 / 100_000))
    assert (r.draws, r.seed) == (100_000, 20190101)
    assert "Monte Carlo p-value from 100,000 random tables" in r.method
    assert "seed 20190101" in r.method
    # The same seed gives the same p-value (reports reproduce); another seed need not.
    assert fisher_exact(JOB, method="monte-carlo").pvalue == r.pvalue
    exact = fisher_exact(JOB)
    assert (exact.draws, exact.seed) == (None, None)
    assert "exact enumeration of all tables" in exact.method


def test_fisher_size_rule_falls_back_to_monte_carlo_in_bounded_time() -> None:
    import time

    # 143,000 patients in a 3x2 table: enumeration is O(N^2) (642 s and 7.9 GB before the
    # work guard). The chi-squared p-value is about 1e-43, so every simulated table is
    # more probable than the observed one: the Monte Carlo p is its floor 1 / (B + 1).
    big = [[50_000, 20_000], [30_000, 13_000], [20_100, 9_900]]
    start = time.perf_counter()
    r = fisher_exact(big)
    assert time.perf_counter() - start < 30
    assert r.pvalue == pytest.approx(1 / 100_001)
    assert "exact enumeration was not feasible for this table" in r.method
    with pytest.raises(StatisticsError, match="steps of enumeration; use the Monte Carlo"):
        fisher_exact(big, method="exact")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "bootstrap"}, "method='bootstrap' is not supported"),
    ({"method": "monte-carlo", "draws": 0}, "draws must be a whole number of at least 1"),
])
def test_fisher_method_options_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        fisher_exact(JOB, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("caps", [(0, 0), (3, 0), (2, 5), (5, 2), (7, 7), (40, 3)])
def test_column_count_closed_form_for_two_rows(caps: tuple[int, int]) -> None:
    """The two-row shortcut of _count_columns against listing the columns one by one."""
    from reinfuse.stats._fisher_rxc import _columns, _count_columns

    log_fact = np.zeros(100)
    for total in range(sum(caps) + 3):
        assert _count_columns(caps, total) == len(list(_columns(caps, total, log_fact)))


def test_an_infeasible_table_is_refused_before_the_last_columns_are_listed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The work of the last two columns is counted before any of it is done: a 2x3 table
    of 143,000 patients is refused after listing the first column's fillings only (once
    it listed completions up to the limit, about 3 s)."""
    from reinfuse.stats import _fisher_rxc

    calls: list[tuple[int, ...]] = []
    listing = _fisher_rxc._columns

    def counted(caps: tuple[int, ...], total: int, log_fact: np.ndarray):  # type: ignore[no-untyped-def]
        calls.append(caps)
        return listing(caps, total, log_fact)

    monkeypatch.setattr(_fisher_rxc, "_columns", counted)
    big = np.array([[50_000, 20_000], [30_000, 13_000], [20_100, 9_900]])
    with pytest.raises(_fisher_rxc.EnumerationTooLargeError):
        _fisher_rxc.fisher_rxc_pvalue(big)
    assert len(calls) == 1  # the root's children only
