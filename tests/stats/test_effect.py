"""Effect sizes: Cliff's delta, rank-biserial correlation, Cramer's V (hand calculations).

Every expected value is worked out from the definition in the comments
(tests/reference/groups_reference.md, "Effect sizes").
"""

from __future__ import annotations

import json
import math

import pytest

from reinfuse.errors import StatisticsError
from reinfuse.stats import cliffs_delta, cramers_v, mann_whitney_u, rank_biserial


def test_cliffs_delta_by_hand() -> None:
    # x = 1, 2, 3; y = 2, 4. Pairs: (1,2) <, (1,4) <, (2,2) =, (2,4) <, (3,2) >, (3,4) <.
    # greater 1, less 4, equal 1 of 6: delta = (1 - 4)/6 = -0.5.
    d = cliffs_delta([1, 2, 3], [2, 4])
    assert d.estimate == -0.5
    assert (d.prob_greater, d.prob_less, d.prob_equal) == pytest.approx((1 / 6, 4 / 6, 1 / 6))
    assert d.magnitude == "large" and d.n == 5
    json.dumps(d.to_dict())


def test_rank_biserial_equals_two_u_over_n1n2_minus_one() -> None:
    # U_x = 1 + 0.5 (the tie) = 1.5; r = 2 * 1.5 / 6 - 1 = -0.5.
    x, y = [1, 2, 3, None], [2, 4]
    r = rank_biserial(x, y)
    assert r.estimate == -0.5 and r.n_missing_x == 1
    u = mann_whitney_u(x, y).u_x
    assert r.estimate == pytest.approx(2 * u / (3 * 2) - 1)


def test_magnitude_thresholds() -> None:
    # 10 x 10 pairs; x = 0..9, y = 0..9 shifted: delta = 0 -> negligible.
    assert cliffs_delta(range(10), range(10)).magnitude == "negligible"
    # Complete separation: delta = 1 -> large.
    assert cliffs_delta([5, 6], [1, 2]).estimate == 1.0


def test_cramers_v_by_hand() -> None:
    # [[10, 10, 10], [20, 10, 0]], n = 60: row totals 30, 30; column totals 30, 20, 10;
    # expected 15, 10, 5 in both rows. chi2 = 2 * (25/15 + 0 + 25/5) = 13.3333.
    # V = sqrt(13.3333 / (60 * 1)) = 0.471405.
    v = cramers_v([[10, 10, 10], [20, 10, 0]])
    assert v.chi_square == pytest.approx(40 / 3)
    assert v.estimate == pytest.approx(math.sqrt(40 / 3 / 60))
    # Bergsma: phi2 = 0.222222 - 2/59 = 0.188324; r~ = 2 - 1/59; c~ = 3 - 4/59;
    # V = sqrt(0.188324 / min(1 - 1/59, 2 - 4/59)) = 0.437688.
    vc = cramers_v([[10, 10, 10], [20, 10, 0]], bias_correction=True)
    assert vc.estimate == pytest.approx(math.sqrt((2 / 9 - 2 / 59) / (1 - 1 / 59)))
    assert round(vc.estimate, 6) == 0.437688 and vc.bias_corrected


def test_cramers_v_perfect_association_and_errors() -> None:
    # [[10, 0], [0, 10]]: chi2 = 20 = n, V = 1; corrected phi2 = 1 - 1/19 = r~ - 1: V = 1.
    assert cramers_v([[10, 0], [0, 10]]).estimate == pytest.approx(1.0)
    assert cramers_v([[10, 0], [0, 10]], bias_correction=True).estimate == pytest.approx(1.0)
    with pytest.raises(StatisticsError, match="empty row or column"):
        cramers_v([[1, 0], [2, 0]])
    with pytest.raises(StatisticsError):
        cramers_v([[1, -1], [2, 3]])
    with pytest.raises(StatisticsError, match="at least one value"):
        cliffs_delta([None], [1])
