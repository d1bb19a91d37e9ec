"""CART1 vs CART2 kinetics: the paired comparison and the figure with fitted Stein curves.

References: the p-values are worked from the definition of the exact Wilcoxon signed-rank
test (with n non-zero differences all of one sign, only the two sign patterns "all
negative" and "all positive" are as extreme as the data: two-sided p = 2 / 2^n); medians
and ranges by hand from the listed values; the curves are generated from known Stein
parameters (Stein et al. 2019, Figure 2's formula) and the figure must draw what the fit
of those data gives back.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reinfuse.errors import CriteriaError
from reinfuse.figures.kinetics import kinetics_figure
from reinfuse.kinetics.model import SteinParameters, fit_stein_table, stein_curve
from reinfuse.kinetics.paired import paired_kinetics

DAYS = np.array([0, 1, 3, 5, 7, 9, 11, 14, 17, 21, 28, 42, 56, 90.0])


def _table(values: dict[str, list[float | None]]) -> pd.DataFrame:
    """Patients p1..p6, infusions 1 and 2, and p7 with infusion 1 only."""
    ids = [f"p{i}" for i in range(1, 7) for _ in (1, 2)] + ["p7"]
    return pd.DataFrame({"patient_id": ids, "infusion": [1, 2] * 6 + [1], **values})


def test_paired_medians_denominators_and_exact_p() -> None:
    nca = _table({
        # CART2 below CART1 in every pair; p6's CART2 Cmax unknown (blank, not zero)
        "cmax": [10, 4, 20, 8, 30, 12, 40, 16, 50, 20, 60, None, 99],
        "tmax": [7, 7, 9, 9, 10, 10, 14, 14, 8, 8, 9, 9, 9],  # no change at all
    })
    result = paired_kinetics(nca, parameters=["cmax", "tmax"])
    assert (result.n_patients, result.n_single) == (6, 1)
    cmax, tmax = result.parameters
    # by hand: pairs p1-p5; CART1 10..50 -> median 30 (10-50); CART2 4..20 -> 12 (4-20)
    assert (cmax.n_pairs, cmax.n_unknown) == (5, 1)
    assert (cmax.first_median, cmax.first_min, cmax.first_max) == (30, 10, 50)
    assert (cmax.second_median, cmax.second_min, cmax.second_max) == (12, 4, 20)
    assert cmax.median_difference == -18  # differences -6, -12, -18, -24, -30
    assert cmax.statistic == 0  # W+ of CART2 - CART1: no positive difference
    assert cmax.pvalue == pytest.approx(2 / 2**5)  # exact: 0.0625
    assert "Wilcoxon" in cmax.test and cmax.note == ""
    # every difference zero: no test, and the result says why (not p = 1)
    assert tmax.n_pairs == 6 and tmax.pvalue is None and tmax.note
    assert "Wilcoxon signed-rank" in result.method
    assert result.to_frame().loc[0, "parameter"] == "cmax"
    assert result.to_dict()["parameters"][1]["pvalue"] is None


def test_fit_parameters_only_from_fitted_curves() -> None:
    fits = _table({"status": ["fitted"] * 11 + ["too few points", "fitted"],
                   "rho": [0.5, 0.8, 0.6, 0.9, 0.7, 1.0, 0.4, 0.6, 0.5, 0.3, 0.9, 0.2, 1.0],
                   "alpha": [0.2] * 13})
    nca = _table({"cmax": [1.0] * 13})
    result = paired_kinetics(nca, fits, parameters=["rho"])
    rho = result.parameters[0]
    # p6's CART2 curve was not fitted: unknown, so 5 pairs. Differences (CART2 - CART1):
    # p1 +0.3, p2 +0.3, p3 +0.3, p4 +0.2, p5 -0.2 -> midranks of |d|: the two 0.2s 1.5
    # each, the three 0.3s 4 each; W+ = 3 * 4 + 1.5 = 13.5
    assert (rho.n_pairs, rho.n_unknown) == (5, 1)
    assert rho.statistic == pytest.approx(13.5)
    # exact conditional p with ties (Prism): sign patterns of ranks {1.5, 1.5, 4, 4, 4}
    # with W+ >= 13.5 or <= 1.5: W+ = 15 (1), 13.5 (2), 1.5 (2), 0 (1) -> 6 / 32
    assert rho.pvalue == pytest.approx(6 / 32)
    # default parameters: the NCA ones present in its table, and rho/alpha from the fits
    names = [p.parameter for p in paired_kinetics(nca, fits).parameters]
    assert names == ["cmax", "rho", "alpha"]
    with pytest.raises(CriteriaError, match="auc_window"):
        paired_kinetics(nca, parameters=["auc_window"])
    with pytest.raises(CriteriaError, match="patient p1 infusion 1"):
        paired_kinetics(pd.concat([nca, nca.iloc[:1]]))


def _counts(lod_value: float = 0.0) -> tuple[pd.DataFrame, dict[tuple[str, int], float]]:
    frames, peaks = [], {}
    for i, pid in enumerate(("A", "B")):
        for number, scale in ((1, 1.0), (2, 0.3)):
            cmax = 5000.0 * scale * (i + 1)
            truth = SteinParameters.from_fold_expansion(
                foldx=1000.0 * (i + 1), tmax=9.0 + i, cmax=cmax, alpha=0.2, fb=0.02,
                beta=0.01)
            value = stein_curve(DAYS, truth)
            value[0] = lod_value  # day 0: at the limit (not detected)
            frames.append(pd.DataFrame({"patient_id": pid, "infusion": number, "day": DAYS,
                                        "compartment": "blood", "value": value,
                                        "unit": "cells_per_ul"}))
            peaks[(pid, number)] = cmax
    counts = pd.concat(frames, ignore_index=True)
    return counts, peaks


def test_figure_draws_observations_limits_and_fitted_curves() -> None:
    counts, peaks = _counts(lod_value=5.0)
    counts.loc[3, "value"] = np.nan  # A, CART1, day 5: blank = unknown, not below limit
    fits = fit_stein_table(counts.dropna(subset=["value"]), lod=5.0)
    only_b1 = fits.table.copy()
    only_b1.loc[("B", 2), "status"] = "not identifiable"  # this curve must not be drawn
    result = kinetics_figure(counts, only_b1, lod=5.0)
    curves = {(c["patient_id"], c["infusion"]): c for c in result.data["curves"]}
    assert curves[("A", 1)]["n_unknown"] == 1 and curves[("A", 1)]["n_below_limit"] == 1
    assert curves[("A", 1)]["n_above_limit"] == len(DAYS) - 2
    # A, CART2: day 0 at the limit, and day 1 = R0 e^rho = 1.5 * 1000^(1/9) = 3.2 < 5
    assert curves[("A", 2)]["n_below_limit"] == 2 and curves[("A", 2)]["n_unknown"] == 0
    assert not curves[("B", 2)]["fitted"] and curves[("B", 1)]["fitted"]
    assert result.empty == "" and result.data["n_patients"] == 2
    axes = [ax for ax in result.figure.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["Patient A", "Patient B"]
    # fitted lines peak at the generating Cmax (the fit recovers the curve it was made of)
    peaks_drawn = [[float(np.max(line.get_ydata())) for line in ax.get_lines()
                    if len(line.get_ydata()) > 2] for ax in axes]
    assert peaks_drawn[0] == pytest.approx([peaks[("A", 1)], peaks[("A", 2)]], rel=1e-3)
    assert peaks_drawn[1] == pytest.approx([peaks[("B", 1)]], rel=1e-3)  # B2 not fitted
    # below-limit markers are drawn at the limit itself
    ys = np.concatenate([c.get_offsets()[:, 1] for c in axes[0].collections
                         if len(c.get_offsets())])
    assert np.sum(ys == 5.0) == 3  # A1 day 0; A2 days 0 and 1
    assert all(ax.get_yscale() == "log" for ax in axes)
    # tick labels are literal text (1,000), not the log axis' default mathtext 10^3
    formatter = axes[0].yaxis.get_major_formatter()
    assert [formatter(v, 0) for v in (0.1, 10.0, 1000.0)] == ["0.1", "10", "1,000"]


def test_figure_bad_and_empty_input() -> None:
    counts, _ = _counts()
    with pytest.raises(CriteriaError, match="value"):
        kinetics_figure(counts.drop(columns=["value"]))
    with pytest.raises(CriteriaError, match="lod"):
        kinetics_figure(counts, lod=-1.0)
    empty = kinetics_figure(counts.assign(compartment="marrow"))
    assert "No CAR T-cell measurement in the blood" in empty.empty
    assert math.isclose(kinetics_figure(counts, max_patients=1).data["n_patients_not_drawn"],
                        1)
