"""Kruskal-Wallis, Dunn and Jonckheere-Terpstra (tests/reference/groups_reference.md).

References: R's ``?kruskal.test`` examples (Hollander and Wolfe's lung function data and
``Ozone ~ Month`` on airquality, printed output), DescTools' ``?DunnTest`` examples
(printed Holm-adjusted p-values on airquality), and hand calculations from the definitions.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from reinfuse.errors import StatisticsError
from reinfuse.stats import dunn_test, jonckheere_terpstra, kruskal_wallis

# R datasets::airquality, Ozone (ppb) by Month (5 = May ... 9 = September); 37 missing.
NA = None
OZONE = {
    5: [41, 36, 12, 18, NA, 28, 23, 19, 8, NA, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4,
        32, NA, NA, NA, 23, 45, 115, 37],
    6: [NA, NA, NA, NA, NA, NA, 29, NA, 71, 39, NA, NA, 23, NA, NA, 21, 37, 20, 12, 13, NA, NA,
        NA, NA, NA, NA, NA, NA, NA, NA],
    7: [135, 49, 32, NA, 64, 40, 77, 97, 97, 85, NA, 10, 27, NA, 7, 48, 35, 61, 79, 63, 16, NA,
        NA, 80, 108, 20, 52, 82, 50, 64, 59],
    8: [39, 9, 16, 78, 35, 66, 122, 89, 110, NA, NA, 44, 28, 65, NA, 22, 59, 23, 31, 44, 21, 9,
        NA, 45, 168, 73, NA, 76, 118, 84, 85],
    9: [96, 78, 73, 91, 47, 32, 20, 23, 21, 24, 44, 21, 28, 9, 13, 46, 18, 13, 24, 16, 13, 23,
        36, 7, 14, 30, NA, 14, 18, 20],
}

# Hollander & Wolfe (1973) p. 116, in R's ?kruskal.test: normal subjects, obstructive
# airway disease, asbestosis.
HW = {"normal": [2.9, 3.0, 2.5, 2.6, 3.2], "obstructive": [3.8, 2.7, 4.0, 2.4],
      "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0]}
HW_ORDER = ["normal", "obstructive", "asbestosis"]

# Wohl et al., Hollander & Wolfe exercise 6.10: vital capacity (% predicted) after bilateral
# lung irradiation (1), additional irradiation or thoracic surgery (2), no irradiation (3);
# ordered alternative 2 <= 1 <= 3.
WOHL = {"1": [71, 57, 85, 67, 66, 79], "2": [76, 94, 61, 36, 42, 49],
        "3": [80, 104, 81, 90, 93, 85, 101, 83]}


def test_kruskal_airquality_matches_r() -> None:
    # kruskal.test(Ozone ~ Month, data = airquality):
    # "Kruskal-Wallis chi-squared = 29.267, df = 4, p-value = 6.901e-06"
    r = kruskal_wallis(OZONE, method="asymptotic")
    assert round(r.statistic, 3) == 29.267 and r.df == 4
    assert f"{r.pvalue:.3e}" == "6.901e-06"
    assert r.n == 116 and r.n_missing == 37 and r.has_ties
    assert r.distribution == "chi-squared" and "corrected for ties" in r.method
    # epsilon^2 = H / ((n^2 - 1) / (n + 1)) = 29.2666 / 115
    assert r.epsilon_squared == pytest.approx(r.statistic / 115)
    assert kruskal_wallis(OZONE).distribution == "chi-squared"  # auto: too many to enumerate


def test_kruskal_hollander_wolfe_matches_r() -> None:
    # "Kruskal-Wallis chi-squared = 0.77143, df = 2, p-value = 0.68"
    r = kruskal_wallis(HW, order=HW_ORDER, method="asymptotic")
    assert round(r.statistic, 5) == 0.77143 and round(r.pvalue, 2) == 0.68
    assert r.groups == tuple(HW_ORDER)
    values = [x for v in HW.values() for x in v]
    labels = [g for g, v in HW.items() for _ in v]
    long = kruskal_wallis(values, labels, order=HW_ORDER, method="asymptotic")
    assert long.statistic == r.statistic


def test_kruskal_exact_by_hand() -> None:
    # Groups {1}, {2}, {3, 4}: N = 4, H = 12/20 * (R_a^2 + R_b^2 + R_c^2 / 2) - 15.
    # Observed 0.6 * (1 + 4 + 49/2) - 15 = 2.7. Of the 12 ordered choices (a, b) of the
    # singletons, sum a^2 + b^2 + (10 - a - b)^2 / 2 >= 29.5 for (1,2), (2,1), (1,4), (4,1),
    # (3,4), (4,3): p = 6/12 = 0.5.
    r = kruskal_wallis({"a": [1], "b": [2], "c": [3, 4]})
    assert r.statistic == pytest.approx(2.7) and r.pvalue == pytest.approx(0.5)
    assert r.distribution == "exact" and "all 12 assignments" in r.method


@pytest.mark.parametrize(("groups", "h", "p"), [
    # Sizes 3, 3, 3. Rank sums 24, 12, 9: H = 4/90 * (576 + 144 + 81) - 30 = 5.6.
    ({"a": [7, 8, 9], "b": [3, 4, 5], "c": [1, 2, 6]}, 5.6, 0.050),
    # Rank sums 24, 15, 6: H = 4/90 * 837 - 30 = 7.2.
    ({"a": [7, 8, 9], "b": [4, 5, 6], "c": [1, 2, 3]}, 7.2, 0.004),
])
def test_kruskal_exact_matches_published_table(groups: dict[str, list[int]], h: float,
                                               p: float) -> None:
    # Kruskal and Wallis (1952) exact table, as reproduced in Siegel and Castellan,
    # Nonparametric Statistics (1988), table O: n = (3, 3, 3), H = 5.6000 -> p = .050,
    # H = 7.2000 -> p = .004.
    r = kruskal_wallis(groups)
    assert r.statistic == pytest.approx(h) and r.distribution == "exact"
    assert round(r.pvalue, 3) == p


def test_kruskal_exact_with_ties_by_enumeration() -> None:
    # Brute force from the definition: every way to split the 7 values into groups of 2, 2, 3.
    data = {"a": [1, 2], "b": [2, 3], "c": [3, 3, 5]}
    pooled = np.array([1, 2, 2, 3, 3, 3, 5], dtype=float)
    observed = kruskal_wallis(data, method="asymptotic").statistic
    count = extreme = 0
    for first in itertools.combinations(range(7), 2):
        rest = [i for i in range(7) if i not in first]
        for second in itertools.combinations(rest, 2):
            third = [i for i in rest if i not in second]
            groups = {"a": pooled[list(first)], "b": pooled[list(second)],
                      "c": pooled[third]}
            h = kruskal_wallis(groups, method="asymptotic").statistic
            count += 1
            extreme += h >= observed - 1e-9
    r = kruskal_wallis(data, method="exact")
    assert count == 210 and r.pvalue == pytest.approx(extreme / count)


def test_kruskal_monte_carlo_is_seeded_and_close_to_exact() -> None:
    small = {"a": [2.9, 3.0, 2.5, 2.6], "b": [3.8, 2.7, 4.0], "c": [2.8, 3.4, 3.7, 2.2]}
    exact = kruskal_wallis(small)  # auto: 11!/(4! 3! 4!) = 11,550 assignments enumerated
    assert exact.distribution == "exact"
    mc = kruskal_wallis(small, method="monte-carlo", draws=20_000, seed=3)
    assert mc.draws == 20_000 and mc.seed == 3 and "seed 3" in mc.method
    assert abs(mc.pvalue - exact.pvalue) < 4 * math.sqrt(exact.pvalue / 20_000)
    assert kruskal_wallis(HW, method="monte-carlo", draws=2000, seed=3).pvalue == \
        kruskal_wallis(HW, method="monte-carlo", draws=2000, seed=3).pvalue


def test_dunn_airquality_matches_desctools() -> None:
    # DescTools ?DunnTest: DunnTest(Ozone ~ factor(Month), data = airquality), Holm:
    # mean.rank.diff and pval printed for each pair ("B-A" = mean rank of B minus A).
    printed = {("5", "6"): (12.02991453, 1.0), ("5", "7"): (41.21153846, 9.9e-05),
               ("5", "8"): (38.53846154, 0.00032), ("5", "9"): (11.99734748, 0.74574),
               ("6", "7"): (29.18162393, 0.14891), ("6", "8"): (26.50854701, 0.20743),
               ("6", "9"): (-0.03256705, 1.0), ("7", "8"): (-2.67307692, 1.0),
               ("7", "9"): (-29.21419098, 0.01036), ("8", "9"): (-26.54111406, 0.02428)}
    r = dunn_test(OZONE)
    assert r.adjustment == "holm" and len(r.comparisons) == 10
    for (a, b), (diff, p) in printed.items():
        c = r.pair(a, b)
        assert (c.group_a, c.group_b) == (a, b)
        assert c.mean_rank_difference == pytest.approx(diff, abs=1e-8)
        assert float(f"{c.pvalue_adjusted:.2g}" if p < 0.001 else f"{c.pvalue_adjusted:.5f}") \
            == pytest.approx(p)
    json.dumps(r.to_dict())


def test_dunn_hollander_wolfe_and_adjustments() -> None:
    # DescTools: mean.rank.diff 1.8, -0.6, -2.4; Holm p = 1 for all three.
    r = dunn_test(HW, order=HW_ORDER)
    assert [round(c.mean_rank_difference, 1) for c in r.comparisons] == [1.8, -0.6, -2.4]
    assert all(c.pvalue_adjusted == 1.0 for c in r.comparisons)
    # By hand, obstructive vs normal: n = 14, no ties, se = sqrt(14*15/12 * (1/5 + 1/4))
    # = sqrt(17.5 * 0.45) = 2.806243; z = 1.8 / 2.806243 = 0.641427; p = 0.521234.
    c = r.pair("normal", "obstructive")
    assert c.z == pytest.approx(1.8 / math.sqrt(17.5 * 0.45))
    assert c.pvalue == pytest.approx(0.5212, abs=1e-4)
    raw = sorted(x.pvalue for x in r.comparisons)
    bonf = dunn_test(HW, order=HW_ORDER, adjustment="bonferroni")
    assert sorted(x.pvalue_adjusted for x in bonf.comparisons) == \
        pytest.approx([min(1.0, 3 * p) for p in raw])
    bh = dunn_test(HW, order=HW_ORDER, adjustment="bh")
    # BH: p_(i) * m / i, then running minimum from the top.
    expected = [min(1.0, p * 3 / (i + 1)) for i, p in enumerate(raw)]
    expected = [min(expected[i:]) for i in range(3)]
    assert sorted(x.pvalue_adjusted for x in bh.comparisons) == pytest.approx(expected)
    assert "Benjamini-Hochberg" in bh.method


def test_jonckheere_by_hand_with_ties() -> None:
    # Order 2, 1, 3. U(2<1) = 2+0+5+6+6+6 = 25 (for each value of group 2, the values of
    # group 1 above it), U(2<3) = 8+2+8+8+8+8 = 42, U(1<3) = 8+8+4.5+8+8+8 = 44.5 (85 ties
    # with one 85 of group 3): J = 111.5.
    # E J = (20^2 - 36 - 36 - 64) / 4 = 66.
    # Var J = [20*19*45 - 2*(6*5*17) - 8*7*21 - 2*1*9] / 72
    #         + [2*(6*5*4) + 8*7*6] * 0 / (36*20*19*18) + [30 + 30 + 56] * 2 / (8*20*19)
    #       = (17100 - 1020 - 1176 - 18) / 72 + 232 / 3040 = 206.75 + 0.0763158 = 206.8263
    # z = 45.5 / sqrt(206.8263) = 3.16380; one-sided p = 0.000779.
    r = jonckheere_terpstra(WOHL, order=["2", "1", "3"], alternative="increasing")
    assert r.statistic == 111.5 and r.mean == 66.0
    assert r.variance == pytest.approx(206.75 + 232 / 3040)
    assert r.z == pytest.approx(45.5 / math.sqrt(206.75 + 232 / 3040))
    assert r.pvalue == pytest.approx(0.000779, abs=5e-7)
    assert r.distribution == "normal" and r.has_ties
    with pytest.raises(StatisticsError, match="ties"):
        jonckheere_terpstra(WOHL, order=["2", "1", "3"], method="exact")
    mc = jonckheere_terpstra(WOHL, order=["2", "1", "3"], alternative="increasing",
                             method="monte-carlo", draws=20_000, seed=1)
    assert mc.pvalue < 0.002 and mc.seed == 1


def test_jonckheere_exact_by_hand_and_by_enumeration() -> None:
    # One value per group, ordered 1 < 2 < 3: J counts the pairs in increasing order; among
    # the 3! orderings J = 3 happens once: P(J >= 3) = 1/6, two-sided 1/3.
    r = jonckheere_terpstra({"1": [1.0], "2": [2.0], "3": [3.0]}, alternative="increasing")
    assert r.statistic == 3 and r.pvalue == pytest.approx(1 / 6)
    assert jonckheere_terpstra({"1": [1.0], "2": [2.0], "3": [3.0]}).pvalue == \
        pytest.approx(1 / 3)
    # Sizes 2, 3, 2: every one of the 7!/(2!3!2!) = 210 assignments of the ranks 1..7.
    data = {"a": [1.0, 4.0], "b": [2.0, 5.0, 6.0], "c": [3.0, 7.0]}
    observed = sum(x < y for a, b in [("a", "b"), ("a", "c"), ("b", "c")]
                   for x in data[a] for y in data[b])
    at_least = total = 0
    for first in itertools.combinations(range(1, 8), 2):
        rest = [v for v in range(1, 8) if v not in first]
        for second in itertools.combinations(rest, 3):
            third = [v for v in rest if v not in second]
            groups = [first, second, third]
            j = sum(x < y for i, k in [(0, 1), (0, 2), (1, 2)]
                    for x in groups[i] for y in groups[k])
            total += 1
            at_least += j >= observed
    r = jonckheere_terpstra(data, order=["a", "b", "c"], alternative="increasing")
    assert r.distribution == "exact" and r.statistic == observed
    assert total == 210 and r.pvalue == pytest.approx(at_least / total)


def test_errors_and_missing() -> None:
    with pytest.raises(StatisticsError, match="at least two groups"):
        kruskal_wallis({"a": [1, 2]})
    with pytest.raises(StatisticsError, match="no value"):
        kruskal_wallis({"a": [1, 2], "b": [None]})
    with pytest.raises(StatisticsError, match="all values are equal"):
        kruskal_wallis({"a": [1, 1], "b": [1]})
    with pytest.raises(StatisticsError, match="order must list"):
        dunn_test(HW, order=["normal"])
    with pytest.raises(StatisticsError, match="method="):
        kruskal_wallis(HW, method="fast")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="draws"):
        kruskal_wallis(HW, method="monte-carlo", draws=0)
    with pytest.raises(StatisticsError, match="mapping"):
        kruskal_wallis([1, 2, 3])
    r = kruskal_wallis([1, 2, None, 4, 5], ["a", "a", "b", None, "b"])
    assert r.n == 3 and r.n_missing == 2
