"""Non-compartmental analysis following PKNCA's rules (reinfuse.kinetics.nca).

Expected values are worked by hand from PKNCA's documented rules (PKNCA 0.12: the
"Options for Controlling PKNCA" vignette and the help of clean.conc.blq,
pk.calc.half.life and pk.calc.auc); the arithmetic is in the comments and in
tests/reference/kinetics_nca_reference.md. The public check comes from the issue and from
the nlmixr2lib vignette "Tisagenlecleucel (Stein 2019)", which ran PKNCA on the typical
Stein et al. 2019 curve.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reinfuse.errors import CriteriaError
from reinfuse.kinetics.nca import NCA_COLUMNS, nca

LN2 = 0.6931471805599453  # ln 2, looked up


def counts(days: list[float], values: list[float], *, patient: str = "P1",
           infusion: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": patient, "infusion": infusion, "day": days,
                         "compartment": "blood", "value": values,
                         "unit": "cells_per_ul"})


def row(frame: pd.DataFrame, **options: object) -> pd.Series:
    table = nca(frame, **options).table  # type: ignore[arg-type]
    assert list(table.columns) == list(NCA_COLUMNS)
    assert len(table) == 1
    return table.iloc[0]


def sig3(x: float) -> float:
    """x rounded to 3 significant figures."""
    return float(f"{x:.3g}")


# Stein et al. 2019 (CPT Pharmacometrics Syst Pharmacol 8:285-295), Table 1 typical values
# (as transcribed in nlmixr2lib's Stein_2019_Tisagenlecleucel model): fold expansion
# 3,900, Tmax 9.3 d, Cmax 24,000 copies/ug, alpha 0.16 /d, FB 0.0079, beta 0.0032 /d.
FOLDX, TMAX, CMAX, ALPHA, FB, BETA = 3900.0, 9.3, 24000.0, 0.16, 0.0079, 0.0032


def stein_typical(t: np.ndarray) -> np.ndarray:
    rho = math.log(FOLDX) / TMAX
    s = t - TMAX
    return np.where(t < TMAX, CMAX / FOLDX * np.exp(rho * t),
                    CMAX * ((1 - FB) * np.exp(-ALPHA * s) + FB * np.exp(-BETA * s)))


def test_public_check_stein_typical_curve() -> None:
    # Issue 12 and the nlmixr2lib vignette (PKNCA on a 0.1-day grid, days 0-28):
    # AUClast 172,000, Cmax 24,000, Tmax 9.3, half-life 4.75 (3 significant figures).
    t = np.round(np.arange(281) / 10, 1)
    m = row(counts(list(t), list(stein_typical(t))))
    assert sig3(m["auclast"]) == 172_000
    assert m["cmax"] == pytest.approx(24_000, rel=1e-12)
    assert m["tmax"] == 9.3
    assert sig3(m["half_life"]) == 4.75
    assert m["auc_window"] == m["auclast"]  # sampled on day 0 and day 28


# Below-limit rules (PKNCA conc.blq: first keep, middle drop, last keep), no LOD so a
# value of 0 is below the limit: days 0-6, values 0, 10, 0, 40, 20, 0, 0.
# First value above the limit day 1, last day 4: day 0 kept as 0 (first), day 2 dropped
# (middle), days 5 and 6 kept as 0 (last). Kept: (0,0) (1,10) (3,40) (4,20) (5,0) (6,0).
# AUClast, linear-up/log-down: 0-1 up (0+10)/2 = 5; 1-3 up (10+40)/2*2 = 50;
#   3-4 down (40-20)*1/ln 2 = 28.853900817779268; total 83.85390081777927.
# AUCall adds 4-5, linear to 0: (20+0)/2 = 10 -> 93.85390081777927.
# Linear throughout: 5 + 50 + (40+20)/2 = 85; AUCall 95.
BLQ_DAYS = [0, 1, 2, 3, 4, 5, 6]
BLQ_VALUES = [0.0, 10, 0, 40, 20, 0, 0]


def test_below_limit_first_kept_middle_dropped_last_kept() -> None:
    m = row(counts(BLQ_DAYS, BLQ_VALUES))
    assert m["auclast"] == pytest.approx(83.85390081777927, rel=1e-12)
    assert m["aucall"] == pytest.approx(93.85390081777927, rel=1e-12)
    assert (m["cmax"], m["tmax"], m["tlast"], m["clast"]) == (40, 3, 4, 20)
    assert (m["n_points"], m["n_below_limit"], m["n_below_limit_dropped"]) == (6, 4, 1)
    # measured on day 0 and below the limit at the end: the window's AUC is AUClast
    assert m["auc_window"] == pytest.approx(83.85390081777927, rel=1e-12)
    # one point after Tmax above the limit (day 4): no terminal slope
    assert np.isnan(m["lambda_z"]) and pd.isna(m["lambda_z_n_points"])


def test_below_limit_linear_method() -> None:
    m = row(counts(BLQ_DAYS, BLQ_VALUES), auc_method="linear")
    assert m["auclast"] == pytest.approx(85.0, rel=1e-12)
    assert m["aucall"] == pytest.approx(95.0, rel=1e-12)


def test_values_at_or_below_the_lod_count_as_below_the_limit() -> None:
    # Same curve with LOD 1: 0.5, 0.8, 1.0 (equal to the LOD) and 0.2 are below it, so
    # they follow the same rules and count as 0: same results as above.
    m = row(counts(BLQ_DAYS, [0.5, 10, 0.8, 40, 20, 1.0, 0.2]), lod=1.0)
    assert m["auclast"] == pytest.approx(83.85390081777927, rel=1e-12)
    assert m["aucall"] == pytest.approx(93.85390081777927, rel=1e-12)
    assert (m["n_points"], m["n_below_limit"], m["n_below_limit_dropped"]) == (6, 4, 1)
    assert m["lod"] == 1.0


# Terminal slope. Peak 1000 on day 0; after it, days 1-4 with ln(C/100) = -1 + d, -2,
# -3, -4 (C = 100 e^(-1+d), 100 e^-2, 100 e^-3, 100 e^-4).
# Last 3 points: exactly on a line of slope -1 -> R^2 = 1, adjusted R^2 = 1.
# Last 4 points, d = 0.5: y = -0.5, -2, -3, -4; t mean 2.5, Sxx = 5; y mean -2.375,
#   deviations 1.875, 0.375, -0.625, -1.625; Sxy = -5.75, Syy = 6.6875;
#   R^2 = 5.75^2 / (5 x 6.6875) = 33.0625 / 33.4375 = 0.98878504672897...;
#   adjusted = 1 - (1 - R^2) x 3/2 = 0.98317757...: more than 1e-4 below 1 -> 3 points,
#   lambda_z = 1, half-life ln 2.
# d = 0.01: y = -0.99, -2, -3, -4; mean -2.4975; deviations 1.5075, 0.4975, -0.5025,
#   -1.5025; Sxy = -5.015, Syy = 5.030075; R^2 = 25.150225 / 25.150375; 1 - R^2 =
#   5.9641e-6, adjusted 1 - 8.946e-6: within 1e-4 of the best (1) -> the fit with most
#   points (4) wins, lambda_z = 5.015 / 5 = 1.003.
def terminal(d: float) -> pd.DataFrame:
    return counts([0, 1, 2, 3, 4], [1000.0, 100 * math.exp(-1 + d), 100 * math.exp(-2),
                                    100 * math.exp(-3), 100 * math.exp(-4)])


def test_lambda_z_best_adjusted_r_squared() -> None:
    m = row(terminal(0.5))
    assert m["lambda_z_n_points"] == 3 and m["lambda_z_time_first"] == 2
    assert m["lambda_z"] == pytest.approx(1.0, rel=1e-9)
    assert m["half_life"] == pytest.approx(LN2, rel=1e-9)
    assert m["adj_r_squared"] == pytest.approx(1.0, abs=1e-12)
    # asking for at least 4 points leaves only the 4-point fit
    m4 = row(terminal(0.5), min_hl_points=4)
    assert m4["lambda_z_n_points"] == 4
    assert m4["lambda_z"] == pytest.approx(1.15, rel=1e-9)  # 5.75 / 5
    assert m4["r_squared"] == pytest.approx(33.0625 / 33.4375, rel=1e-9)
    assert m4["adj_r_squared"] == pytest.approx(1 - (1 - 33.0625 / 33.4375) * 1.5,
                                                rel=1e-9)


def test_lambda_z_within_tolerance_most_points() -> None:
    m = row(terminal(0.01))
    assert m["lambda_z_n_points"] == 4 and m["lambda_z_time_first"] == 1
    assert m["lambda_z"] == pytest.approx(1.003, rel=1e-9)
    assert m["r_squared"] == pytest.approx(25.150225 / 25.150375, rel=1e-12)
    # with a tolerance of 1e-7 (below 8.946e-6) the exact 3-point fit is best
    assert row(terminal(0.01), adj_r_squared_factor=1e-7)["lambda_z_n_points"] == 3


def test_lambda_z_needs_a_falling_curve_and_excludes_tmax() -> None:
    # Rising after the peak (100 on day 1; then 10, 20, 30): slope > 0, no half-life.
    m = row(counts([0, 1, 2, 3, 4], [0.0, 100, 10, 20, 30]))
    assert np.isnan(m["lambda_z"]) and np.isnan(m["half_life"])
    # 100, 50, 25 on days 7, 14, 21: only two points after Tmax -> no fit; with
    # allow_tmax_in_half_life the peak joins: exact halving each week, half-life 7.
    curve = counts([0, 7, 14, 21], [0.0, 100, 50, 25])
    assert np.isnan(row(curve)["half_life"])
    assert row(curve, allow_tmax_in_half_life=True)["half_life"] == pytest.approx(7.0)


def test_tmax_is_the_first_maximum_and_window_rules() -> None:
    m = row(counts([1, 2, 3, 28], [20.0, 50, 50, 10]))
    assert m["tmax"] == 2 and m["cmax"] == 50
    # first measurement on day 1, after the window's start (0): no AUC over the window
    # (PKNCA refuses an interval starting before the first measurement) but AUClast:
    # 1-2 up (20+50)/2 = 35; 2-3 level, linear 50; 3-28 down 40 x 25 / ln 5.
    assert np.isnan(m["auc_window"])
    assert m["auclast"] == pytest.approx(35 + 50 + 1000 / 1.6094379124341003, rel=1e-12)
    # measured from day 0 but last on day 14 while still detected: window AUC unknown
    m = row(counts([0, 7, 14], [0.0, 100, 50]))
    assert np.isnan(m["auc_window"]) and m["auclast"] == pytest.approx(350 + 350 / LN2)


def test_all_below_limit_and_single_point() -> None:
    m = row(counts([0, 7, 14], [0.0, 0, 0]))
    assert m["auclast"] == 0 and m["aucall"] == 0 and m["cmax"] == 0
    assert np.isnan(m["tmax"]) and np.isnan(m["tlast"]) and m["n_points"] == 3
    m = row(counts([7], [100.0]))
    assert np.isnan(m["auclast"]) and m["cmax"] == 100 and m["tlast"] == 7


def test_many_curves_at_once_and_empty_infusion() -> None:
    # The hand-worked curves above, in one table with a reinfusion and an infusion
    # without measurements: every row keeps its own values.
    table = pd.concat([
        counts(BLQ_DAYS, BLQ_VALUES, patient="A", infusion=1),
        terminal(0.5).assign(patient_id="A", infusion=2),
        terminal(0.01).assign(patient_id="B"),
    ])
    infusions = pd.DataFrame({"patient_id": ["A", "A", "B", "C"], "infusion": [1, 2, 1, 1]})
    t = nca(table, infusions).table
    assert list(t.index) == [("A", 1), ("A", 2), ("B", 1), ("C", 1)]
    assert t.loc[("A", 1), "aucall"] == pytest.approx(93.85390081777927, rel=1e-12)
    assert t.loc[("A", 2), "lambda_z"] == pytest.approx(1.0, rel=1e-9)
    assert t.loc[("B", 1), "lambda_z"] == pytest.approx(1.003, rel=1e-9)
    assert t.loc[("C", 1), "n_points"] == 0 and np.isnan(t.loc[("C", 1), "auclast"])


def test_method_sentence_and_bad_options() -> None:
    result = nca(counts(BLQ_DAYS, BLQ_VALUES))
    assert "PKNCA" in result.method and "days 0 to 28" in result.method
    with pytest.raises(CriteriaError, match="min_hl_points"):
        nca(counts(BLQ_DAYS, BLQ_VALUES), min_hl_points=2)
    with pytest.raises(CriteriaError, match="adj_r_squared_factor"):
        nca(counts(BLQ_DAYS, BLQ_VALUES), adj_r_squared_factor=0)
    with pytest.raises(CriteriaError, match="auc_method"):
        nca(counts(BLQ_DAYS, BLQ_VALUES), auc_method="log")  # type: ignore[arg-type]
