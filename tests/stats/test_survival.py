"""Kaplan-Meier and log-rank (tests/reference/survival_reference.md).

Reference data: the 6-mercaptopurine leukaemia remission trial (Freireich et al. 1963;
Gehan 1965; Kleinbaum & Klein, *Survival Analysis*; R ``MASS::gehan``), remission in weeks.
Every expected number is either published for these data or worked out below from the
definitions (product-limit estimate, Greenwood variance, log-rank by Mantel-Haenszel).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

import reinfuse.stats as rs
from reinfuse.errors import StatisticsError
from reinfuse.stats import kaplan_meier, logrank_test

# 6-MP: 6, 6, 6, 6+, 7, 9+, 10, 10+, 11+, 13, 16, 17+, 19+, 20+, 22, 23, 25+, 32+, 32+,
# 34+, 35+ (1 = relapse, 0 = censored "+").
MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
# Placebo: every child relapsed.
PL_TIME = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
PL_EVENT = [1] * 21

Z95 = 1.959963984540054  # NormalDist().inv_cdf(0.975)


# --- Kaplan-Meier: the 6-MP group --------------------------------------------------------

# Product-limit, S(t) = prod (1 - d/n) over event times <= t; n = still in remission and
# not censored before t (a censoring at an event time counts as at risk at that time).
#   t = 6:  n = 21, d = 3            S = 18/21                      = 0.857143
#   t = 7:  n = 17 (6+ gone), d = 1  S = 0.857143 * 16/17           = 0.806723
#   t = 10: n = 15 (9+ gone), d = 1  S = 0.806723 * 14/15           = 0.752941
#   t = 13: n = 12 (10+, 11+ gone)   S = 0.752941 * 11/12           = 0.690196
#   t = 16: n = 11                   S = 0.690196 * 10/11           = 0.627451
#   t = 22: n = 7 (17+, 19+, 20+)    S = 0.627451 * 6/7             = 0.537815
#   t = 23: n = 6                    S = 0.537815 * 5/6             = 0.448179
# Kleinbaum & Klein print the same values to 3 decimals (0.857 ... 0.448).
MP_SURVIVAL = {6: 18 / 21, 7: 18 / 21 * 16 / 17, 10: 18 / 21 * 16 / 17 * 14 / 15,
               13: 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12,
               16: 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11,
               22: 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7,
               23: 18 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7 * 5 / 6}
MP_PUBLISHED = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}


def test_km_6mp_survival_matches_published_table() -> None:
    km = kaplan_meier(MP_TIME, MP_EVENT)
    at = {e.time: e for e in km.survival_at(list(MP_SURVIVAL))}
    for t, expected in MP_SURVIVAL.items():
        assert at[t].survival == pytest.approx(expected, rel=1e-12)
        assert round(at[t].survival, 3) == MP_PUBLISHED[t]
    assert (km.n, km.n_events, km.n_censored, km.n_missing) == (21, 9, 12, 0)


def test_km_6mp_table_rows_and_ties() -> None:
    table = kaplan_meier(MP_TIME, MP_EVENT).to_frame()
    # One row per distinct observed time: 6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25,
    # 32, 34, 35.
    assert table["time"].tolist() == [6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32,
                                      34, 35]
    first = table.iloc[0]
    assert (first["n_at_risk"], first["n_events"], first["n_censored"]) == (21, 3, 1)
    assert table.set_index("time").loc[7, "n_at_risk"] == 17
    assert table.set_index("time").loc[32, "n_censored"] == 2
    assert table["n_events"].sum() == 9 and table["n_censored"].sum() == 12


def test_km_medians_6mp_and_placebo() -> None:
    # 6-MP: S(22) = 0.538 > 0.5, S(23) = 0.448 -> median 23 weeks (published).
    # Placebo: S(5) = 12/21 = 0.571, S(8) = 8/21 = 0.381 -> median 8 weeks (published).
    mp = kaplan_meier(MP_TIME, MP_EVENT)
    placebo = kaplan_meier(PL_TIME, PL_EVENT)
    assert mp.median == 23.0 and mp.median_reached
    assert placebo.median == 8.0 and placebo.median_reached
    assert placebo.n_events == 21 and placebo.n_censored == 0


def test_greenwood_log_log_limits_by_hand() -> None:
    # 6-MP at t = 10 (S = 0.752941). Greenwood: V = sum d / (n (n - d))
    #   = 3/(21*18) + 1/(17*16) + 1/(15*14) = 0.0079365 + 0.0036765 + 0.0047619 = 0.0163749.
    # log(-log) (Kalbfleisch-Prentice): se = sqrt(V) / |ln S| = 0.127964 / 0.283768
    #   = 0.450947; z se = 1.959964 * 0.450947 = 0.883840; exp(0.883840) = 2.420175.
    # lower = S^2.420175 = exp(-0.283768 * 2.420175) = exp(-0.686769) = 0.503200
    # upper = S^(1/2.420175) = exp(-0.283768 / 2.420175) = exp(-0.117251) = 0.889362
    km = kaplan_meier(MP_TIME, MP_EVENT)
    (at10,) = km.survival_at([10])
    assert at10.lower == pytest.approx(0.503200, abs=5e-6)
    assert at10.upper == pytest.approx(0.889362, abs=5e-6)
    # And at t = 6: V = 3/(21*18) = 1/126; se = 0.089087 / 0.154151 = 0.577929;
    # z se = 1.132706; lower = (6/7)^3.104152 = 0.619718, upper = (6/7)^0.322149 = 0.951552.
    (at6,) = km.survival_at([6])
    assert (at6.lower, at6.upper) == (pytest.approx(0.619718, abs=5e-6),
                                      pytest.approx(0.951552, abs=5e-6))


def test_log_log_limits_are_lifelines_confidence_interval() -> None:
    # The wrapper computes the limits itself (to offer "log" and "plain"); for "log-log"
    # they must be lifelines' exponential Greenwood limits wherever 0 < S < 1.
    km = kaplan_meier(PL_TIME, PL_EVENT)
    fitter = KaplanMeierFitter().fit(PL_TIME, PL_EVENT)
    ci = fitter.confidence_interval_
    for step in km.steps:
        if 0 < step.survival < 1:
            assert step.lower == pytest.approx(ci.loc[step.time].iloc[0], rel=1e-10)
            assert step.upper == pytest.approx(ci.loc[step.time].iloc[1], rel=1e-10)


def test_median_confidence_interval_log_log() -> None:
    # Read off the pointwise limits: from the first time the lower limit is <= 0.5 to the
    # first time the upper limit is.
    # 6-MP lower limit at 10 = 0.5032 (above), at 13: V = 0.0163749 + 1/(12*11) = 0.0239506,
    #   se = 0.154760 / 0.370780 = 0.417391, z se = 0.818071, S^exp(0.818071) = 0.690196^2.266124
    #   = 0.431610 -> 13. The upper limit is 0.680143 at 23 and the curve is flat after
    #   (censored only), so it never reaches 0.5: not reached.
    mp = kaplan_meier(MP_TIME, MP_EVENT)
    assert (mp.median_ci_low, mp.median_ci_high) == (13.0, None)
    # Placebo lower limit at 3: S = 16/21, V = 2/(21*19) + 2/(19*17) + 1/(17*16) = 0.014881,
    #   se = 0.121988 / 0.271934 = 0.448594, z se = 0.879228, S^2.409034 = 0.519391 (above);
    #   at 4: S = 14/21, V = 0.014881 + 2/(16*14) = 0.023810, se = 0.154304 / 0.405465
    #   = 0.380563, S^exp(0.745890) = 0.666667^2.108300 = 0.425350 -> 4.
    # Upper limit at 8: S = 8/21, V = 0.023810 + 2/(14*12) + 4/(12*8) = 0.077381,
    #   se = 0.278174 / 0.965081 = 0.288239, S^exp(-0.564939) = 0.380952^0.568395 = 0.577789
    #   (above); at 11: S = 6/21, V = 0.077381 + 2/(8*6) = 0.119048, se = 0.345033 / 1.252763
    #   = 0.275417, S^exp(-0.539808) = 0.285714^0.582856 = 0.481820 -> 11.
    placebo = kaplan_meier(PL_TIME, PL_EVENT)
    assert (placebo.median_ci_low, placebo.median_ci_high) == (4.0, 11.0)
    assert mp.median_text("weeks") == "23 weeks (95% CI 13 to not reached)"
    assert placebo.median_text() == "8 (95% CI 4 to 11)"


def test_median_confidence_interval_log() -> None:
    # ci_method="log": limits S exp(-+z sqrt V) (upper capped at 1), R survfit's default.
    # 6-MP lower: at 13, 0.690196 * exp(-1.959964 * sqrt(0.0239506)) = 0.690196 * 0.738336
    #   = 0.509613 (above); at 16, V = 0.0239506 + 1/(11*10) = 0.0330415,
    #   0.627451 * exp(-1.959964 * 0.181773) = 0.627451 * 0.700281 = 0.439394 -> 16.
    #   Upper: at 23, V = 0.0330415 + 1/(7*6) + 1/(6*5) = 0.0901844,
    #   0.448179 * exp(1.959964 * 0.300307) = 0.807372; flat after -> not reached.
    # Placebo lower: at 4, 0.666667 * exp(-1.959964 * 0.154304) = 0.492661 (at 3: 0.599872)
    #   -> 4. Upper: at 11, 0.285714 * exp(1.959964 * 0.345033) = 0.561855 (above);
    #   at 12, V = 0.119048 + 2/(6*4) = 0.202381, 0.190476 * exp(1.959964 * 0.449868)
    #   = 0.460012 -> 12.
    mp = kaplan_meier(MP_TIME, MP_EVENT, ci_method="log")
    placebo = kaplan_meier(PL_TIME, PL_EVENT, ci_method="log")
    assert (mp.median, mp.median_ci_low, mp.median_ci_high) == (23.0, 16.0, None)
    assert (placebo.median, placebo.median_ci_low, placebo.median_ci_high) == (8.0, 4.0, 12.0)
    (at16,) = mp.survival_at([16])
    assert at16.lower == pytest.approx(0.439394, abs=5e-6)
    assert "log transformation" in mp.method and "log(-log)" not in mp.method


def test_plain_limits_clipped() -> None:
    # "plain": S -+ z S sqrt(V), clipped to [0, 1]. 6-MP at 6: 0.857143 -+ 1.959964 *
    # 0.857143 * 0.0890871 = 0.857143 -+ 0.149664 -> 0.707479 to 1.006807 -> clipped to 1.
    (at6,) = kaplan_meier(MP_TIME, MP_EVENT, ci_method="plain").survival_at([6])
    assert at6.lower == pytest.approx(0.707479, abs=5e-6)
    assert at6.upper == 1.0


# --- the median: definition, "not reached", flat at 0.5 -----------------------------------

def test_demo_like_durations_median_is_77() -> None:
    # Remission days 54, 77, 292, 60, 90, 120, all relapses. Sorted 54, 60, 77, 90, 120, 292:
    # S = 5/6 after 54, 4/6 after 60, 3/6 = 0.5 after 77 -> the smallest t with S(t) <= 0.5
    # is 77 (not (77 + 90) / 2 = 83.5, the sample median of the six numbers).
    km = kaplan_meier([54, 77, 292, 60, 90, 120], [1, 1, 1, 1, 1, 1], median_rule="smallest")
    assert km.median == 77.0 and km.median_reached
    # lifelines' own median_survival_time_ says 90 here (it computes S(77) as
    # exp(sum of logs) = 0.5000000000000001); reinfuse compares with a tolerance.
    assert [round(s.survival, 12) for s in km.steps] == [round(v, 12) for v in
                                                         (5 / 6, 4 / 6, 0.5, 2 / 6, 1 / 6, 0)]
    # R's survival package takes the midpoint of a segment flat at exactly 0.5 (the default).
    assert kaplan_meier([54, 77, 292, 60, 90, 120], [1] * 6).median == 83.5
    # The lower limit reaches 0.5 at 54 (log(-log): 0.833^exp(1.96 * 0.182574 / 0.182322)
    # = 0.2731); the upper limit is 0.5168 at 120 and undefined once S = 0 at 292, so the
    # interval stays open (R: NA; lifelines' band would be 0 there and give 292).
    assert (km.median_ci_low, km.median_ci_high) == (54.0, None)
    last = km.steps[-1]
    assert last.survival == 0.0 and math.isnan(last.lower) and math.isnan(last.upper)


def test_median_not_reached_when_most_are_censored() -> None:
    # 10 subjects followed 1..10 weeks, events only at 2 and 4, the others censored:
    # at 2, n = 9 (the one censored at 1 has left), S = 8/9; at 4, n = 7, S = 8/9 * 6/7
    # = 48/63 = 0.761905, then flat (censorings only) -> never 0.5 or below.
    events = [0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    km = kaplan_meier(list(range(1, 11)), events)
    assert km.median is None and km.median_reached is False
    assert km.median_ci_high is None
    assert km.survival_at([4])[0].survival == pytest.approx(48 / 63)
    assert km.median_text("days").startswith("not reached (95% CI ")
    assert km.to_dict()["median"] is None and km.to_dict()["median_reached"] is False


def test_median_lower_limit_not_estimable() -> None:
    # One subject, event at 9: S falls from 1 to 0 at 9, so the median is 9 but the limits
    # are undefined at S = 0 (Greenwood's d / (n (n - d)) = 1/0): no lower limit.
    km = kaplan_meier([9], [1])
    assert (km.median, km.median_ci_low, km.median_ci_high) == (9.0, None, None)
    assert km.median_text("days") == "9 days (95% CI not estimable to not reached)"


def test_median_midpoint_at_end_of_curve() -> None:
    # Two subjects: event at 5, censored at 9: S = 0.5 from 5 to the end (9). The midpoint
    # rule takes (5 + 9) / 2 = 7 (R: flat at the end of the curve ends at the last time).
    assert kaplan_meier([5, 9], [1, 0], median_rule="smallest").median == 5.0
    assert kaplan_meier([5, 9], [1, 0]).median == 7.0


# --- survival_at, inputs, missing values ----------------------------------------------------

def test_survival_at_between_before_and_after() -> None:
    km = kaplan_meier(MP_TIME, MP_EVENT)
    before, between, after = km.survival_at([0, 8.5, 40])
    assert (before.survival, before.lower, before.upper, before.n_at_risk) == (1, 1, 1, 21)
    # Between 7 and 9: S = S(7); at risk = durations >= 8.5: 21 - 5 = 16.
    assert between.survival == pytest.approx(MP_SURVIVAL[7]) and between.n_at_risk == 16
    # After 35 (last time, censored): the curve is not defined.
    assert math.isnan(after.survival) and after.n_at_risk == 0
    # A scalar is accepted; after the last time of a curve that reached 0, S stays 0.
    (late,) = kaplan_meier([1, 2], [1, 1]).survival_at(5)
    assert late.survival == 0.0
    with pytest.raises(StatisticsError, match=">= 0"):
        km.survival_at([-1])


def test_events_bool_pandas_and_missing_dropped() -> None:
    durations = pd.Series([10.0, None, 30.0, 40.0, 50.0], dtype="Float64")
    events = pd.Series([True, True, pd.NA, False, True], dtype="boolean")
    km = kaplan_meier(durations, events)
    # Complete: (10, event), (40, censored), (50, event) -> n = 3, 2 missing.
    assert (km.n, km.n_events, km.n_censored, km.n_missing) == (3, 2, 1, 2)
    # S = 2/3 after 10; 40 censored; 50: n = 1, d = 1 -> 0.
    assert [s.survival for s in km.steps] == pytest.approx([2 / 3, 2 / 3, 0.0])
    same = kaplan_meier([10, 40, 50], np.array([True, False, True]))
    assert [s.to_dict() for s in same.steps] == [s.to_dict() for s in km.steps]


def test_event_at_time_zero() -> None:
    # An event on day 0 (e.g. relapse found at the CR assessment) counts at t = 0.
    km = kaplan_meier([0, 3, 5], [1, 1, 0])
    assert km.steps[0].time == 0.0 and km.steps[0].survival == pytest.approx(2 / 3)
    assert km.survival_at([0])[0].survival == pytest.approx(2 / 3)


@pytest.mark.parametrize(("durations", "events", "message"), [
    ([5, -1, 3], [1, 0, 1], "must be >= 0"),
    ([], [], "no subject"),
    ([None, np.nan], [1, 0], "no subject"),
    ([5, 6], [1, 2], "1/True .* or 0/False .*CNSR"),
    ([5, 6, 7], [1, 0], "same length"),
    (["a", "b"], [1, 0], "numbers"),
    ([5, np.inf], [1, 0], "infinite"),
])
def test_kaplan_meier_refuses_bad_input(durations: object, events: object,
                                        message: str) -> None:
    with pytest.raises(StatisticsError, match=message):
        kaplan_meier(durations, events)


def test_kaplan_meier_refuses_bad_options() -> None:
    with pytest.raises(StatisticsError, match="ci_method='arcsine'"):
        kaplan_meier([1, 2], [1, 1], ci_method="arcsine")  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="confidence_level"):
        kaplan_meier([1, 2], [1, 1], confidence_level=95)
    with pytest.raises(StatisticsError, match="median_rule"):
        kaplan_meier([1, 2], [1, 1], median_rule="mean")  # type: ignore[arg-type]


def test_confidence_level_changes_limits_and_text() -> None:
    narrow = kaplan_meier(MP_TIME, MP_EVENT, confidence_level=0.90)
    wide = kaplan_meier(MP_TIME, MP_EVENT)
    assert narrow.steps[0].lower > wide.steps[0].lower
    assert "90% CI" in narrow.median_text() and "90% pointwise" in narrow.method


# --- log-rank ------------------------------------------------------------------------------

def _logrank_by_definition(ta: list[int], ea: list[int], tb: list[int], eb: list[int]
                           ) -> tuple[float, float]:
    """(E_a, chi-squared) from the Mantel-Haenszel definition, written out independently."""
    expected = variance = 0.0
    observed = sum(ea)
    times = sorted({t for t, e in zip(ta + tb, ea + eb, strict=True) if e})
    for t in times:
        na = sum(1 for x in ta if x >= t)
        n = na + sum(1 for x in tb if x >= t)
        d = sum(1 for x, e in zip(ta + tb, ea + eb, strict=True) if e and x == t)
        expected += d * na / n
        variance += d * (na / n) * (1 - na / n) * (n - d) / (n - 1)
    return expected, (observed - expected) ** 2 / variance


def test_logrank_6mp_vs_placebo_published() -> None:
    r = logrank_test(MP_TIME, MP_EVENT, PL_TIME, PL_EVENT)
    # Published: chi-squared 16.79 (Kleinbaum & Klein), R survdiff "Chisq= 16.8 on 1
    # degrees of freedom, p= 4.17e-05", Observed / Expected 9 / 19.3 and 21 / 10.7.
    assert round(r.statistic, 2) == 16.79
    assert r.pvalue == pytest.approx(4.17e-05, abs=5e-08)
    assert (r.observed_a, r.observed_b) == (9, 21)
    assert (round(r.expected_a, 1), round(r.expected_b, 1)) == (19.3, 10.7)
    assert (r.n, r.n_a, r.n_b, r.df) == (42, 21, 21, 1)
    expected_a, chi2 = _logrank_by_definition(MP_TIME, MP_EVENT, PL_TIME, PL_EVENT)
    assert r.statistic == pytest.approx(chi2, rel=1e-10)
    assert r.expected_a == pytest.approx(expected_a, rel=1e-12)
    assert r.statistic == pytest.approx((9 - r.expected_a) ** 2 / r.variance, rel=1e-10)
    # p = P(chi2_1 >= 16.7929) = erfc(sqrt(16.7929 / 2)).
    assert r.pvalue == pytest.approx(math.erfc(math.sqrt(r.statistic / 2)), rel=1e-9)
    # Symmetric in the groups.
    swapped = logrank_test(PL_TIME, PL_EVENT, MP_TIME, MP_EVENT)
    assert swapped.statistic == pytest.approx(r.statistic)
    assert swapped.expected_a == pytest.approx(r.expected_b)


def test_logrank_missing_and_errors() -> None:
    r = logrank_test([1, 2, None, 4], [1, 1, 1, 0], [3, 5, 6], [1, None, 1])
    assert (r.n_a, r.n_missing_a, r.n_b, r.n_missing_b) == (3, 1, 2, 1)
    with pytest.raises(StatisticsError, match="neither group has an observed event"):
        logrank_test([1, 2], [0, 0], [3, 4], [0, 0])
    with pytest.raises(StatisticsError, match="of group b"):
        logrank_test([1, 2], [1, 1], [3, -4], [1, 1])


# --- results --------------------------------------------------------------------------------

def test_results_are_frozen_and_json_ready() -> None:
    km = kaplan_meier([54, 77, 292, 60, 90, 120], [1] * 6)
    lr = logrank_test(MP_TIME, MP_EVENT, PL_TIME, PL_EVENT)
    for result in (km, lr, km.steps[0], km.survival_at([1])[0]):
        data = result.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.time = 1  # type: ignore[misc,union-attr]
    data = km.to_dict()
    assert data["n"] == 6 and data["table"]["lower"][-1] is None  # NaN -> None
    assert km.steps[-1].to_dict() == {k: v[-1] for k, v in data["table"].items()}
    assert data["method"].startswith("Kaplan-Meier estimator; 95% pointwise confidence")
    assert "log(-log) transformation (Kalbfleisch-Prentice)" in data["method"]
    assert "Brookmeyer-Crowley" in data["method"]
    assert lr.to_dict()["method"].startswith("log-rank (Mantel-Cox) test")
    assert {"kaplan_meier", "logrank_test", "KaplanMeierResult",
            "LogRankResult"} <= set(rs.__all__)


@pytest.mark.parametrize(("ta", "ea", "tb", "eb"), [
    # Both subjects die at day 1: at the only event time n = d = 2, so (n - d) = 0 and the
    # hypergeometric variance d (n_a/n)(1 - n_a/n)(n - d)/(n - 1) is 0.
    ([1], [1], [1], [1]),
    # Group b is censored before group a's only event: at t = 5 only group a is at risk
    # (n_a / n = 1), so the variance term is 0 again.
    ([5], [1], [1], [0]),
])
def test_logrank_zero_variance_is_not_computable(ta: list[int], ea: list[int], tb: list[int],
                                                 eb: list[int]) -> None:
    with pytest.raises(StatisticsError, match="not computable: the variance"):
        logrank_test(ta, ea, tb, eb)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_product_limit_matches_lifelines_with_ties_and_censoring(seed: int) -> None:
    # lifelines' KaplanMeierFitter is the independent reference: its event table (at risk,
    # events, censored per distinct time) and survival function, on data with many ties,
    # censorings at event times and a time 0.
    rng = np.random.default_rng(seed)
    durations = rng.integers(0, 40, size=300).astype(float)
    events = rng.random(300) < 0.6
    km = kaplan_meier(durations, events)
    fitter = KaplanMeierFitter().fit(durations, events)
    table = fitter.event_table[fitter.event_table["removed"] > 0]
    np.testing.assert_array_equal(km.table.time, table.index.to_numpy(float))
    np.testing.assert_array_equal(km.table.n_at_risk, table["at_risk"].to_numpy())
    np.testing.assert_array_equal(km.table.n_events, table["observed"].to_numpy())
    np.testing.assert_array_equal(km.table.n_censored, table["censored"].to_numpy())
    reference = fitter.survival_function_.iloc[:, 0].reindex(table.index).to_numpy()
    np.testing.assert_allclose(km.table.survival, reference, rtol=1e-12, atol=1e-15)
