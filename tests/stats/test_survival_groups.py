"""Kaplan-Meier by group and the k-sample / stratified log-rank test.

References (tests/reference/survival_groups_reference.md): R ``survival::survdiff`` printed
output on the NCCTG lung cancer data (shipped with lifelines as ``load_lung``, status
already recoded 1 = death, 0 = censored), and the 6-MP data of tests/stats/test_survival.py
worked by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from lifelines.datasets import load_lung

import reinfuse.stats as rs
from reinfuse.errors import StatisticsError
from reinfuse.stats import kaplan_meier_by_group, logrank_test_groups

LUNG = load_lung()

MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PL_TIME = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
PL_EVENT = [1] * 21


def test_k_sample_logrank_matches_r_survdiff_lung_ecog() -> None:
    # R: survdiff(Surv(time, status) ~ ph.ecog, data = lung); 1 observation deleted due to
    # missingness. N 63/113/50/1, Observed 37/82/44/1, Expected 54.153/83.528/26.147/0.172,
    # (O-E)^2/V 8.2119/0.0573/14.6491/4.0040, "Chisq= 22 on 3 degrees of freedom, p= 7e-05".
    r = logrank_test_groups(LUNG["time"], LUNG["status"], LUNG["ph.ecog"])
    assert r.groups == ("0", "1", "2", "3")
    assert r.n_per_group == (63, 113, 50, 1) and r.n_missing == 1 and r.n == 227
    assert r.observed == (37, 82, 44, 1)
    assert [round(e, 3) for e in r.expected] == [54.153, 83.528, 26.147, 0.172]
    per_group = [(o - e) ** 2 / r.variance[i][i]
                 for i, (o, e) in enumerate(zip(r.observed, r.expected, strict=True))]
    assert [round(v, 4) for v in per_group] == [8.2119, 0.0573, 14.6491, 4.0040]
    assert r.df == 3 and round(r.statistic) == 22
    assert f"{r.pvalue:.0e}" == "7e-05"
    assert r.strata is None and "3 degrees of freedom" in r.method


def test_stratified_logrank_matches_r_survdiff_lung_karnofsky_by_institution() -> None:
    # R: survdiff(Surv(time, status) ~ pat.karno + strata(inst), data = lung), the
    # "stratified 7-sample test" of ?survdiff; broom's tidy()/glance() print N, obs, exp per
    # group and statistic 21.4, df 7, p.value 0.00326.
    r = logrank_test_groups(LUNG["time"], LUNG["status"], LUNG["pat.karno"],
                            strata=LUNG["inst"])
    assert r.groups == ("30", "40", "50", "60", "70", "80", "90", "100")
    assert r.n_per_group == (2, 2, 4, 30, 41, 50, 60, 35)
    assert r.observed == (1, 1, 4, 27, 31, 38, 38, 21)
    printed = [0.692, 1.10, 1.17, 16.3, 26.4, 41.9, 47.2, 26.2]
    for got, want in zip(r.expected, printed, strict=True):
        assert float(f"{got:.3g}") == want
    assert r.df == 7 and round(r.statistic, 1) == 21.4 and round(r.pvalue, 5) == 0.00326
    assert r.n_missing == 4  # 3 missing pat.karno, 1 missing inst
    assert r.strata is not None and len(r.strata) == 18  # institutions present
    assert "stratified" in r.method


def test_two_groups_agree_with_two_sample_logrank_6mp() -> None:
    # Kleinbaum & Klein / R survdiff on the 6-MP data: chi-squared 16.79, O 9 / 21,
    # E 19.3 / 10.7 (tests/reference/survival_reference.md).
    r = logrank_test_groups(MP_TIME + PL_TIME, MP_EVENT + PL_EVENT,
                            ["6-MP"] * 21 + ["placebo"] * 21)
    assert r.df == 1 and round(r.statistic, 2) == 16.79
    assert r.observed == (9, 21)
    assert [round(e, 1) for e in r.expected] == [19.3, 10.7]


def test_stratified_with_one_stratum_equals_unstratified() -> None:
    times, events = MP_TIME + PL_TIME, MP_EVENT + PL_EVENT
    groups = ["6-MP"] * 21 + ["placebo"] * 21
    plain = logrank_test_groups(times, events, groups)
    one = logrank_test_groups(times, events, groups, strata=["all"] * 42)
    assert one.statistic == pytest.approx(plain.statistic, rel=1e-10)


def test_stratified_by_hand_two_strata() -> None:
    # Stratum s1: A = 1, 3 (events); B = 2 (event), 4 (censored).
    #   t=1: n=4 (A 2), d=1 -> E_A = 1/2, V = 1*3/3 * 1/2 * 1/2 = 0.25
    #   t=2: n=3 (A 1), d=1 -> E_A = 1/3, V = 1*2/2 * 1/3 * 2/3 = 2/9
    #   t=3: n=2 (A 1), d=1 -> E_A = 1/2, V = 1*1/1 * 1/2 * 1/2 = 0.25
    # Stratum s2: A = 5 (event); B = 6 (event).
    #   t=5: n=2 (A 1), d=1 -> E_A = 1/2, V = 0.25; t=6: only B at risk, V = 0.
    # O_A = 3, E_A = 1/2 + 1/3 + 1/2 + 1/2 = 11/6; V = 0.25 + 2/9 + 0.25 + 0.25 = 35/36.
    # chi2 = (3 - 11/6)^2 / (35/36) = (49/36) / (35/36) = 1.4.
    r = logrank_test_groups([1, 3, 2, 4, 5, 6], [1, 1, 1, 0, 1, 1],
                            ["A", "A", "B", "B", "A", "B"],
                            strata=["s1", "s1", "s1", "s1", "s2", "s2"])
    assert r.expected[0] == pytest.approx(11 / 6)
    assert r.variance[0][0] == pytest.approx(35 / 36)
    assert r.statistic == pytest.approx(1.4)


def test_kaplan_meier_by_group_curves_and_numbers_at_risk() -> None:
    r = kaplan_meier_by_group(MP_TIME + PL_TIME, MP_EVENT + PL_EVENT,
                              ["6-MP"] * 21 + ["placebo"] * 21, at_risk_times=[0, 10, 20])
    # Medians 23 and 8 weeks (Kleinbaum & Klein). At risk (duration >= t) by counting:
    # 6-MP >= 10: 15 (6 values below 10); >= 20: 8 (20, 22, 23, 25, 32, 32, 34, 35).
    # Placebo >= 10: 8 (11, 11, 12, 12, 15, 17, 22, 23); >= 20: 2.
    assert r.curves["6-MP"].median == 23 and r.curves["placebo"].median == 8
    assert [row.n_at_risk for row in r.at_risk] == [
        {"6-MP": 21, "placebo": 21}, {"6-MP": 15, "placebo": 8}, {"6-MP": 8, "placebo": 2}]
    assert r.n == 42 and r.n_missing == 0
    json.dumps(r.to_dict())


def test_missing_group_dropped_and_counted_and_order() -> None:
    r = kaplan_meier_by_group([1, 2, 3, 4, 5], [1, 1, 0, 1, 1], ["b", "a", None, "b", "a"],
                              order=["b", "a"])
    assert r.groups == ("b", "a") and r.n == 4 and r.n_missing == 1


def test_errors() -> None:
    with pytest.raises(StatisticsError, match="at least two groups"):
        logrank_test_groups([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(StatisticsError, match="needs at least one event"):
        logrank_test_groups([1, 2], [0, 0], ["a", "b"])
    with pytest.raises(StatisticsError, match="one value per subject"):
        logrank_test_groups([1, 2], [1, 1], ["a"])
    with pytest.raises(StatisticsError, match="not computable"):
        logrank_test_groups([1, 1], [1, 1], ["a", "b"])  # all at risk have the event
    with pytest.raises(StatisticsError, match="order must list each group"):
        kaplan_meier_by_group([1, 2], [1, 1], ["a", "b"], order=["a"])
    with pytest.raises(StatisticsError, match="events must be"):
        logrank_test_groups([1, 2], [1, 2], ["a", "b"])


def test_results_are_frozen_and_public() -> None:
    r = logrank_test_groups([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    assert isinstance(r, rs.GroupLogRankResult)
    with pytest.raises(AttributeError):
        r.statistic = 0.0  # type: ignore[misc]
    assert np.isfinite(json.loads(json.dumps(r.to_dict()))["statistic"])


def test_group_without_variance_is_left_out_of_the_degrees_of_freedom() -> None:
    # a: 5, 7 (events); b: 6 (event), 8 (censored); c: 1, 2 (censored, before any event).
    # t=5: n=4 (a 2), d=1 -> E_a = 1/2, V_aa = 1*3/3 * 1/2 * 1/2 = 1/4
    # t=6: n=3 (a 1), d=1 -> E_a = 1/3, V_aa = 1*2/2 * 1/3 * 2/3 = 2/9
    # t=7: n=2 (a 1), d=1 -> E_a = 1/2, V_aa = 1/4
    # Group c expects nothing and has no variance: 1 df, chi2 = (2 - 4/3)^2 / (13/18) = 8/13.
    r = logrank_test_groups([5, 6, 7, 8, 1, 2], [1, 1, 1, 0, 0, 0],
                            ["a", "b", "a", "b", "c", "c"])
    assert r.df == 1 and r.expected[2] == 0.0
    assert r.statistic == pytest.approx(8 / 13)
