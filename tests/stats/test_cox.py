"""Cox regression against R's coxph on the Rossi recidivism data (survival_groups_reference.md).

R (survival, Efron ties) on ``carData::Rossi``:
``coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi)``
Published in J. Fox and S. Weisberg's appendix "Cox Proportional-Hazards Regression for
Survival Data in R" and reproduced in public R Markdown outputs (summary printed there).
R codes race and mar as factors with reference "black" and "married"; lifelines'
``load_rossi`` codes race = 1 for black and mar = 1 for married, so those two coefficients
change sign and their hazard ratios invert (R's ``exp(-coef)`` column).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from reinfuse.errors import StatisticsError
from reinfuse.stats import CoxResult, cox_regression, indicator_columns, logrank_test

ROSSI = load_rossi()
COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]

# name: (coef, se(coef), z, Pr(>|z|)) in lifelines' coding, from R's printed table.
R_TABLE = {
    "fin": (-0.37942, 0.19138, -1.983, 0.04742),
    "age": (-0.05744, 0.02200, -2.611, 0.00903),
    "race": (0.31390, 0.30799, 1.019, 0.30812),    # R: raceother -0.31390
    "wexp": (-0.14980, 0.21222, -0.706, 0.48029),
    "mar": (-0.43370, 0.38187, -1.136, 0.25606),   # R: marnot married 0.43370
    "paro": (-0.08487, 0.19576, -0.434, 0.66461),
    "prio": (0.09150, 0.02865, 3.194, 0.00140),
}
# name: (exp(coef), lower .95, upper .95) from R's summary; race and mar inverted from
# R's rows (raceother 0.7306 [0.3995, 1.3361] -> 1.3688 [1/1.3361, 1/0.3995]).
R_HR = {
    "fin": (0.6843, 0.4702, 0.9957),
    "age": (0.9442, 0.9043, 0.9858),
    "race": (1.3688, 1 / 1.3361, 1 / 0.3995),
    "wexp": (0.8609, 0.5679, 1.3049),
    "mar": (0.6481, 1 / 3.2614, 1 / 0.7300),
    "paro": (0.9186, 0.6259, 1.3482),
    "prio": (1.0958, 1.0360, 1.1591),
}


@pytest.fixture(scope="module")
def rossi_fit() -> CoxResult:
    return cox_regression(ROSSI, "week", "arrest", COVARIATES)


def test_coefficients_match_r_coxph(rossi_fit: CoxResult) -> None:
    for name, (coef, se, z, p) in R_TABLE.items():
        t = rossi_fit.term(name)
        assert round(t.coef, 5) == pytest.approx(coef, abs=1e-5)
        assert round(t.se, 5) == pytest.approx(se, abs=1e-5)
        assert round(t.z, 3) == pytest.approx(z, abs=1e-3)
        assert t.pvalue == pytest.approx(p, abs=6e-6)


def test_hazard_ratios_and_intervals_match_r(rossi_fit: CoxResult) -> None:
    for name, (hr, low, high) in R_HR.items():
        t = rossi_fit.term(name)
        assert t.hazard_ratio == pytest.approx(hr, abs=6e-5)
        assert t.ci_low == pytest.approx(low, abs=3e-4)
        assert t.ci_high == pytest.approx(high, abs=3e-4)


def test_global_tests_match_r(rossi_fit: CoxResult) -> None:
    # "Likelihood ratio test= 33.27 on 7 df, p=2.362e-05"
    # "Wald test = 32.11 on 7 df, p=3.871e-05"; "Concordance= 0.64"; n= 432, events= 114.
    assert round(rossi_fit.statistic, 2) == 33.27 and rossi_fit.df == 7
    assert f"{rossi_fit.pvalue:.3e}" == "2.362e-05"
    assert round(rossi_fit.wald_statistic, 2) == 32.11
    assert f"{rossi_fit.wald_pvalue:.3e}" == "3.871e-05"
    assert round(rossi_fit.concordance, 2) == 0.64
    # "Score (logrank) test = 33.53 on 7 df, p=2.11e-05"
    assert round(rossi_fit.score_statistic, 2) == 33.53
    assert f"{rossi_fit.score_pvalue:.2e}" == "2.11e-05"
    assert (rossi_fit.n, rossi_fit.n_events, rossi_fit.n_missing) == (432, 114, 0)
    assert rossi_fit.events_per_variable == pytest.approx(114 / 7)


def test_ph_check_reported(rossi_fit: CoxResult) -> None:
    # No independent R value is asserted here (see the reference file): the check is
    # lifelines' Grambsch-Therneau test, reported for every covariate, and a p < 0.05
    # is turned into a note for the reader.
    assert [c.name for c in rossi_fit.ph_checks] == [t.name for t in rossi_fit.terms]
    assert rossi_fit.ph_transform == "km"
    flagged = [c.name for c in rossi_fit.ph_checks if c.pvalue < 0.05]
    assert flagged and any("proportional hazards doubtful" in n for n in rossi_fit.notes)
    json.dumps(rossi_fit.to_dict())


def test_too_few_events_per_variable_refused_or_flagged() -> None:
    # First 60 subjects: count the arrests by hand via the data, 7 covariates.
    small = ROSSI.iloc[:60]
    events = int(small["arrest"].sum())
    assert events / 7 < 10
    with pytest.raises(StatisticsError, match="events per variable"):
        cox_regression(small, "week", "arrest", COVARIATES)
    fit = cox_regression(small, "week", "arrest", COVARIATES, on_low_epv="warn",
                         ph_test=False)
    assert fit.notes and "events per variable" in fit.notes[0]
    assert fit.ph_checks == () and fit.ph_transform is None


def test_missing_values_dropped_and_counted() -> None:
    data = ROSSI.copy()
    data["age"] = data["age"].astype(float)
    data.loc[[0, 5], "age"] = None
    fit = cox_regression(data, "week", "arrest", ["fin", "age", "prio"], ph_test=False)
    assert fit.n == 430 and fit.n_missing == 2


def test_score_test_without_ties_is_the_logrank_test() -> None:
    # With one binary covariate and no tied times the score test is the log-rank test
    # (Efron and Breslow coincide): 6-MP vs placebo after breaking the ties by adding
    # distinct small offsets; compare with the two-sample log-rank of the same data.
    mp = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    mp_e = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    pl = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
    times = [t + i / 1000 for i, t in enumerate(mp + pl)]
    data = pd.DataFrame({"t": times, "e": mp_e + [1] * 21, "drug": [1] * 21 + [0] * 21})
    fit = cox_regression(data, "t", "e", ["drug"], ph_test=False)
    lr = logrank_test(times[:21], mp_e, times[21:], [1] * 21)
    assert fit.score_statistic == pytest.approx(lr.statistic, rel=1e-9)


def test_strata_and_errors() -> None:
    fit = cox_regression(ROSSI, "week", "arrest", ["age", "prio"], strata=["fin"],
                         ph_test=False)
    assert fit.strata == ("fin",) and "stratified by fin" in fit.method
    one = cox_regression(ROSSI.assign(all=1), "week", "arrest", ["age", "prio"],
                         strata=["all"], ph_test=False)
    plain = cox_regression(ROSSI, "week", "arrest", ["age", "prio"], ph_test=False)
    assert one.score_statistic == pytest.approx(plain.score_statistic, rel=1e-10)
    assert fit.score_statistic != pytest.approx(plain.score_statistic)
    with pytest.raises(StatisticsError, match="not in data"):
        cox_regression(ROSSI, "week", "arrest", ["nope"])
    text = ROSSI.assign(group=["a", "b"] * 216)
    with pytest.raises(StatisticsError, match="indicator columns"):
        cox_regression(text, "week", "arrest", ["group"])
    with pytest.raises(StatisticsError, match="1 \\(event\\) or 0"):
        cox_regression(ROSSI.assign(arrest=2), "week", "arrest", ["age"])
    with pytest.raises(StatisticsError, match="single value"):
        cox_regression(ROSSI.assign(one=1), "week", "arrest", ["one", "age"])
    with pytest.raises(StatisticsError, match="DataFrame"):
        cox_regression(ROSSI.to_dict(), "week", "arrest", ["age"])  # type: ignore[arg-type]
    with pytest.raises(StatisticsError, match="no event"):
        cox_regression(ROSSI.assign(arrest=0), "week", "arrest", ["age"])


def test_separation_is_a_clear_error() -> None:
    data = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] * 2,
                         "e": [1] * 12 + [0] * 12, "x": [1] * 12 + [0] * 12})
    with pytest.raises(StatisticsError, match="did not converge"):
        cox_regression(data, "t", "e", ["x"], ph_test=False)


def test_indicator_columns_reproduce_r_factor_coding() -> None:
    # R codes race as a factor with reference "black": raceother = -0.31390. Recode
    # lifelines' 0/1 race as labels and let indicator_columns build R's column.
    data = ROSSI.assign(race=ROSSI["race"].map({1: "black", 0: "other"}))
    coded = indicator_columns(data, "race", "black")
    fit = cox_regression(coded, "week", "arrest", ph_test=False)
    assert round(fit.term("race=other").coef, 5) == -0.31390
    with pytest.raises(StatisticsError, match="not a level"):
        indicator_columns(data, "race", "white")
