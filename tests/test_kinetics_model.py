"""The Stein et al. 2019 multiphasic model and its per-curve fit (reinfuse.kinetics.model).

References: the model and the typical parameters are those of Stein et al. 2019 (CPT
Pharmacometrics Syst Pharmacol 8:285-295, Figure 2 and Table 1), see
tests/reference/kinetics_nca_reference.md. The fits are checked by simulation from known
parameters: exact recovery without noise, recovery within 3 standard errors with noise
(fixed seed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reinfuse.errors import CriteriaError, StatisticsError
from reinfuse.kinetics.model import (
    STEIN_2019_TYPICAL,
    STEIN_PARAMETERS,
    SteinParameters,
    fit_stein,
    fit_stein_table,
    stein_curve,
)

DAYS = np.array([1, 2, 4, 7, 9, 11, 14, 17, 21, 28, 42, 60, 90, 180, 270, 365.0])
# a second, different curve: later, lower peak, slower expansion, larger slow phase
OTHER = SteinParameters(cmax=5000.0, tmax=12.0, rho=0.6, alpha=0.25, fb=0.01, beta=0.01)


def truth(p: SteinParameters) -> dict[str, float]:
    return {"cmax": p.cmax, "tmax": p.tmax, "rho": p.rho, "alpha": p.alpha, "fb": p.fb,
            "beta": p.beta, "r0": p.r0, "foldx": p.foldx}


def test_typical_parameters_and_curve_by_hand() -> None:
    p = STEIN_2019_TYPICAL
    # Table 1: foldx 3,900, Tmax 9.3, Cmax 24,000, alpha 0.16, FB 0.0079, beta 0.0032;
    # the abstract: doubling time 0.78 d, initial decline half-life 4.3 d.
    assert (p.cmax, p.tmax, p.alpha, p.fb, p.beta) == (24000, 9.3, 0.16, 0.0079, 0.0032)
    assert p.foldx == pytest.approx(3900, rel=1e-12)
    assert round(math.log(2) / p.rho, 2) == 0.78
    assert round(math.log(2) / p.alpha, 1) == 4.3
    # R0 = Cmax / foldx = 24000 / 3900 = 6.153846153846154 (Figure 2 initial condition)
    assert p.r0 == pytest.approx(6.153846153846154, rel=1e-12)
    c = stein_curve([0.0, 9.3, 19.3, 4.65], p)
    assert c[0] == pytest.approx(6.153846153846154, rel=1e-12)
    assert c[1] == pytest.approx(24000, rel=1e-12)
    # 10 days after the peak: 24000 (0.9921 e^-1.6 + 0.0079 e^-0.032)
    assert c[2] == pytest.approx(
        24000 * (0.9921 * math.exp(-1.6) + 0.0079 * math.exp(-0.032)), rel=1e-12)
    # half way up, on the log scale: sqrt(R0 x Cmax) = 24000 / sqrt(3900)
    assert c[3] == pytest.approx(24000 / math.sqrt(3900), rel=1e-12)


@pytest.mark.parametrize("params", [STEIN_2019_TYPICAL, OTHER])
def test_noise_free_curves_recovered_exactly(params: SteinParameters) -> None:
    fit = fit_stein(DAYS, stein_curve(DAYS, params))
    assert fit.converged and fit.n_points == 16 and fit.df_residual == 10
    assert fit.residual_sd == pytest.approx(0.0, abs=1e-8)
    for name, value in truth(params).items():
        assert fit.estimates.at[name, "estimate"] == pytest.approx(value, rel=1e-6), name
    assert list(fit.estimates.index) == list(STEIN_PARAMETERS)
    assert "Stein et al. 2019" in fit.method and "least squares" in fit.method


def test_noisy_curve_recovered_within_three_standard_errors() -> None:
    # log-normal noise, SD 0.25 on the natural-log scale, fixed seed
    rng = np.random.default_rng(20190305)
    values = stein_curve(DAYS, STEIN_2019_TYPICAL) * np.exp(rng.normal(0, 0.25, DAYS.size))
    fit = fit_stein(DAYS, values)
    est = fit.estimates
    true = truth(STEIN_2019_TYPICAL)
    for name in ("cmax", "tmax", "rho", "alpha", "beta", "r0", "foldx"):
        distance = abs(math.log(est.at[name, "estimate"]) - math.log(true[name]))
        assert distance < 3 * est.at[name, "se_fit_scale"], name
    logit = math.log(true["fb"] / (1 - true["fb"]))
    fb = est.at["fb", "estimate"]
    assert abs(math.log(fb / (1 - fb)) - logit) < 3 * est.at["fb", "se_fit_scale"]
    # the 95% intervals hold the estimate, and the residual SD is within the central 95%
    # range of an SD on 10 degrees of freedom: 0.25 x sqrt(chi2(0.025 or 0.975, 10) / 10)
    # = 0.25 x [0.570, 1.431] = [0.142, 0.358]
    assert (est["ci_low"] < est["estimate"]).all() and (est["estimate"] < est["ci_high"]).all()
    assert 0.142 < fit.residual_sd < 0.358


def test_below_limit_values_censored_or_dropped() -> None:
    # OTHER falls below 5 after day 180 (3.79 on day 270, 1.47 on day 365): recorded as 1
    # with a limit of 5. Censored, the model's prediction there (below 5) costs nothing,
    # so the curve is still recovered exactly; dropped, likewise.
    values = stein_curve(DAYS, OTHER)
    values = np.where(values <= 5, 1.0, values)
    censored = fit_stein(DAYS, values, lod=5.0)
    assert (censored.n_points, censored.n_censored, censored.n_dropped) == (14, 2, 0)
    dropped = fit_stein(DAYS, values, lod=5.0, below_limit="drop")
    assert (dropped.n_points, dropped.n_censored, dropped.n_dropped) == (14, 0, 2)
    for fit in (censored, dropped):
        assert fit.parameters.beta == pytest.approx(OTHER.beta, rel=1e-6)
    # Censored values do pull: day 90 (true value 22.9) recorded as below a limit of 5.
    # (days 270 and 365 are below it too). Dropped, the other 13 points still give the
    # true curve; censored, the fit must
    # come down towards the limit on day 90, below the true curve there.
    odd = stein_curve(DAYS, OTHER)
    odd[12] = 0.0
    truth_90 = float(stein_curve(90.0, OTHER))
    dropped = fit_stein(DAYS, odd, lod=5.0, below_limit="drop")
    assert float(stein_curve(90.0, dropped.parameters)) == pytest.approx(truth_90, rel=1e-6)
    censored = fit_stein(DAYS, odd, lod=5.0)
    assert censored.n_censored == 3 and dropped.n_dropped == 3
    assert float(stein_curve(90.0, censored.parameters)) < 0.9 * truth_90


def test_too_few_points_and_not_identifiable_refused() -> None:
    with pytest.raises(StatisticsError, match=r"too few points.*6 above the limit"):
        fit_stein(DAYS[:6], stein_curve(DAYS[:6], STEIN_2019_TYPICAL))
    # no measurement before the peak
    days = DAYS[5:]
    with pytest.raises(StatisticsError, match="0 before"):
        fit_stein(days, 24000 * np.exp(-0.16 * (days - days[0])) + 100)
    # a single exponential decline (FB = 0): the slow phase cannot be estimated
    mono = np.where(DAYS < 9.3, 24000 / 3900 * np.exp(math.log(3900) / 9.3 * DAYS),
                    24000 * np.exp(-0.16 * (DAYS - 9.3)))
    with pytest.raises(StatisticsError, match="not identifiable"):
        fit_stein(DAYS, mono)


def test_table_of_fits() -> None:
    long = pd.DataFrame({"patient_id": "A", "infusion": 1, "day": DAYS,
                         "compartment": "blood", "value": stein_curve(DAYS, OTHER),
                         "unit": "cells_per_ul"})
    short = long.iloc[:5].assign(infusion=2)
    infusions = pd.DataFrame({"patient_id": ["A", "A", "B"], "infusion": [1, 2, 1]})
    fits = fit_stein_table(pd.concat([long, short]), infusions)
    t = fits.table
    assert list(t["status"]) == ["fitted", "too few points", "no measurements"]
    assert t.loc[("A", 1), "cmax"] == pytest.approx(5000, rel=1e-6)
    assert t.loc[("A", 1), "beta_ci_low"] <= t.loc[("A", 1), "beta"]
    assert bool(t.loc[("A", 1), "converged"]) and t.loc[("A", 2), "n_points"] == 5
    assert "patient A, infusion 2" in t.loc[("A", 2), "message"]
    assert np.isnan(t.loc[("A", 2), "cmax"]) and pd.isna(t.loc[("B", 1), "message"])
    assert fits.confidence == 0.95 and "Wald" in fits.method


def test_bad_input() -> None:
    with pytest.raises(CriteriaError, match="same length"):
        fit_stein([1, 2], [1.0])
    with pytest.raises(CriteriaError, match=">= 0"):
        fit_stein([1, 2], [1.0, -1])
    with pytest.raises(CriteriaError, match="repeated"):
        fit_stein([1, 1], [1.0, 2])
    with pytest.raises(CriteriaError, match="confidence"):
        fit_stein(DAYS, stein_curve(DAYS, OTHER), confidence=95)
    with pytest.raises(CriteriaError, match="below_limit"):
        fit_stein(DAYS, stein_curve(DAYS, OTHER), below_limit="zero")  # type: ignore[arg-type]
