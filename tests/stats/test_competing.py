"""Cumulative incidence with competing risks and landmark data (survival_groups_reference.md).

Expected values are worked out by hand from the Aalen-Johansen definition
F_j(t) = sum_{t_i <= t} S(t_{i-1}) d_ij / n_i, and compared with lifelines'
AalenJohansenFitter on data without tied times (where lifelines does not jitter).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from lifelines import AalenJohansenFitter

from reinfuse.errors import StatisticsError
from reinfuse.stats import cumulative_incidence, landmark

CAUSES = {1: "relapse", 2: "death in remission", 3: "transplant"}

# Ten patients after CART2 (days): relapse (1), death in remission (2), transplant (3),
# censored (0). Ties at day 30 between a relapse and a transplant, at day 90 between a
# relapse and a censoring.
TIME = [15, 30, 30, 45, 60, 90, 90, 120, 150, 200]
CODE = [1, 1, 3, 2, 0, 1, 0, 3, 1, 0]
# By hand (n at risk, events, S = all-cause Kaplan-Meier, F = cumulative incidence):
#  t=15:  n=10, relapse 1          F_rel = 1/10 = 0.1;           S = 0.9
#  t=30:  n=9,  relapse 1, tx 1    F_rel += 0.9 * 1/9 = 0.2;     F_tx = 0.1;  S = 0.9 * 7/9 = 0.7
#  t=45:  n=7,  death 1            F_death = 0.7 * 1/7 = 0.1;    S = 0.6
#  t=60:  n=6,  censored
#  t=90:  n=5,  relapse 1 (+1 cens) F_rel += 0.6 * 1/5 = 0.32;   S = 0.48
#  t=120: n=3,  tx 1               F_tx += 0.48 * 1/3 = 0.26;    S = 0.32
#  t=150: n=2,  relapse 1          F_rel += 0.32 * 1/2 = 0.48;   S = 0.16
#  t=200: n=1,  censored
# Check: 0.48 + 0.1 + 0.26 + 0.16 = 1.
HAND = {"relapse": {15: 0.1, 30: 0.2, 90: 0.32, 150: 0.48},
        "transplant": {30: 0.1, 120: 0.26}, "death in remission": {45: 0.1}}


def test_aalen_johansen_by_hand_with_ties() -> None:
    r = cumulative_incidence(TIME, CODE, causes=CAUSES, event_of_interest=1,
                             times=[0, 14, 15, 30, 100, 150, 200, 201])
    curve = r.curves["all"]
    for cause, points in HAND.items():
        for t, value in points.items():
            assert curve.at(cause, t)[0] == pytest.approx(value, abs=1e-12)
    estimates = dict(r.estimates["all"])
    assert estimates.pop("201") is None  # beyond follow-up with S > 0: unknown
    assert estimates == pytest.approx(
        {"0": 0.0, "14": 0.0, "15": 0.1, "30": 0.2, "100": 0.32, "150": 0.48, "200": 0.48})
    total = sum(curve.incidence.values()) + curve.event_free
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert r.causes == ("relapse", "death in remission", "transplant")
    assert curve.n_at_risk.tolist() == [10, 9, 7, 6, 5, 3, 2, 1]
    assert r.gray_test is None and "Gray" in r.gray_test_note and "Gray" in r.method
    json.dumps(r.to_dict())


def test_variance_by_hand_first_step() -> None:
    # At t=15 only the first term of the relapse variance is non-zero:
    # S0^2 d (n - d) / n^3 = 1 * 1 * 9 / 1000 = 0.009 (the binomial variance 0.1 * 0.9 / 10).
    # log(-log) limits: se_theta = sqrt(0.009) / (0.1 * |ln 0.1|) = 0.412002;
    # lower = 0.1 ** exp(1.959964 * 0.412002), upper = 0.1 ** exp(-1.959964 * 0.412002).
    curve = cumulative_incidence(TIME, CODE, causes=CAUSES, event_of_interest=1).curves["all"]
    se_theta = math.sqrt(0.009) / (0.1 * abs(math.log(0.1)))
    z = 1.959963984540054
    assert curve.lower["relapse"][0] == pytest.approx(0.1 ** math.exp(z * se_theta))
    assert curve.upper["relapse"][0] == pytest.approx(0.1 ** math.exp(-z * se_theta))
    assert math.isnan(curve.lower["death in remission"][0])  # incidence 0: undefined
    # limits_at reads the same steps: the day-15 limits hold until the next relapse (day
    # 30); before the first event the limits are 0.
    low, high = curve.limits_at("relapse", [10, 15, 29])
    assert low == pytest.approx((0.0, 0.1 ** math.exp(z * se_theta),
                                 0.1 ** math.exp(z * se_theta)))
    assert high == pytest.approx((0.0, 0.1 ** math.exp(-z * se_theta),
                                  0.1 ** math.exp(-z * se_theta)))


def test_matches_lifelines_without_ties() -> None:
    rng = np.random.default_rng(7)
    time = rng.permutation(np.arange(1, 61)).astype(float)
    code = rng.integers(0, 3, size=60)
    ours = cumulative_incidence(time, code, causes={1: "a", 2: "b"},
                                event_of_interest=1).curves["all"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aj = AalenJohansenFitter(calculate_variance=True).fit(time, code, event_of_interest=1)
    theirs = aj.cumulative_density_.iloc[1:, 0].to_numpy()
    np.testing.assert_allclose(ours.incidence["a"], theirs, rtol=1e-10)
    # lifelines 0.30 labels its two limit columns the wrong way round ("upper" holds the
    # lower limit), so compare with the smaller and larger of the two.
    # At the last time the only subject at risk has the event (d = n): lifelines' variance
    # is then 0/0 (NaN); ours drops that term, whose factor (F(t) - F(t_i)) is 0 there.
    ci = aj.confidence_interval_.iloc[1:].to_numpy()
    finite = np.isfinite(ours.lower["a"]) & np.isfinite(ci).all(axis=1)
    assert finite.sum() == ours.time.size - 2  # t = 1 (incidence 0) and the last time
    np.testing.assert_allclose(ours.lower["a"][finite], ci.min(axis=1)[finite], rtol=1e-6)
    np.testing.assert_allclose(ours.upper["a"][finite], ci.max(axis=1)[finite], rtol=1e-6)


def test_groups_and_missing() -> None:
    r = cumulative_incidence([*TIME, 5, None], [*CODE, 1, 1], causes=CAUSES,
                             event_of_interest=1, groups=["x"] * 10 + ["y", "y"], times=[30])
    assert r.groups == ("x", "y") and r.n == 11 and r.n_missing == 1
    assert r.estimates["x"]["30"] == pytest.approx(0.2)
    assert r.estimates["y"]["30"] == pytest.approx(1.0)


def test_errors() -> None:
    with pytest.raises(StatisticsError, match="neither 0"):
        cumulative_incidence([1, 2], [1, 4], causes={1: "relapse"}, event_of_interest=1)
    with pytest.raises(StatisticsError, match="not one of the causes"):
        cumulative_incidence([1, 2], [1, 0], causes={1: "relapse"}, event_of_interest=2)
    with pytest.raises(StatisticsError, match="positive integers"):
        cumulative_incidence([1, 2], [1, 0], causes={0: "x", 1: "r"}, event_of_interest=1)
    with pytest.raises(StatisticsError, match=">= 0"):
        cumulative_incidence([-1, 2], [1, 0], causes={1: "r"}, event_of_interest=1)
    with pytest.raises(StatisticsError, match="map each cause"):
        cumulative_incidence([1, 2], [1, 0], causes={}, event_of_interest=1)


def test_landmark_by_hand() -> None:
    # Landmark day 28: 15 (relapse) excluded as an event before L; 30, 30, 45, ... kept with
    # time - 28. A censoring at exactly L is excluded (not followed beyond L).
    lm = landmark([*TIME, 28, None], [*CODE, 0, 1], at=28)
    assert lm.index.tolist() == list(range(1, 10))
    assert lm.durations.tolist() == [2, 2, 17, 32, 62, 62, 92, 122, 172]
    assert (lm.n, lm.n_event_before, lm.n_censored_before, lm.n_missing) == (9, 1, 1, 1)
    assert "landmark analysis at 28 days" in lm.method
    again = cumulative_incidence(lm.durations, lm.events, causes=CAUSES, event_of_interest=1)
    # Among the 9 at risk at day 28: relapse at 2 (n=9): 1/9.
    assert again.curves["all"].at("relapse", 2)[0] == pytest.approx(1 / 9)
    with pytest.raises(StatisticsError, match="landmark"):
        landmark([1], [1], at=-1)
    assert landmark([10, 30], [1, 0], at=np.int64(28)).n == 1
