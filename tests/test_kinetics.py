"""CAR T-cell kinetics: expansion metrics and last detection day.

Every expected number is worked out by hand from the definitions (PKNCA / Phoenix
linear-up/log-down trapezoid; seed-study limits of detection); the arithmetic is in the
comments and in tests/reference/kinetics_reference.md.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from reinfuse.errors import CriteriaError, ReinfuseError
from reinfuse.kinetics import SEED_STUDY_MARROW_LOD, expansion_metrics, last_detection_day

LN2 = 0.6931471805599453  # ln 2, looked up
LN5 = 1.6094379124341003  # ln 5, looked up


def counts(
    days: list[float],
    values: list[float],
    *,
    patient: str = "P1",
    infusion: int = 1,
    compartment: str = "blood",
    unit: str = "cells_per_ul",
) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": patient, "infusion": infusion, "day": days,
                         "compartment": compartment, "value": values, "unit": unit})


def flag(value: object) -> bool | None:
    """A yes/no cell as a plain bool (None when missing), refusing anything else."""
    if pd.isna(value):  # type: ignore[arg-type]
        return None
    assert isinstance(value, (bool, np.bool_)), value
    return bool(value)


def one(frame: pd.DataFrame, **options: object) -> pd.Series:
    result = expansion_metrics(frame, **options)  # type: ignore[arg-type]
    assert len(result) == 1
    return result.iloc[0]


# (1) rise and fall ---------------------------------------------------------------------
RISE_FALL = ([0, 7, 14, 28], [0, 100, 50, 10])
# 0-7 rising, linear: (0 + 100) / 2 * 7 = 350
# 7-14 falling, log: (100 - 50) * 7 / ln 2 = 350 / 0.6931471805599453 = 504.9432643111372
# 14-28 falling, log: (50 - 10) * 14 / ln 5 = 560 / 1.6094379124341003 = 347.9475633533826
RISE_FALL_LOG = 350 + 504.9432643111372 + 347.9475633533826  # 1202.8908276645198
# linear: 350 + (100 + 50) / 2 * 7 + (50 + 10) / 2 * 14 = 350 + 525 + 420
RISE_FALL_LINEAR = 1295.0


def test_rise_and_fall_by_hand() -> None:
    m = one(counts(*RISE_FALL))
    assert m["cmax"] == 100 and m["tmax"] == 7
    assert m["auc"] == pytest.approx(1202.8908276645198, rel=1e-12)
    assert m["auc"] == pytest.approx(RISE_FALL_LOG, rel=1e-12)
    assert m["auc_method"] == "linear-up/log-down"
    assert (m["tlast"], m["clast"], m["n_points"]) == (28, 10, 4)
    assert flag(m["expansion"]) is True and m["lod"] == 0
    assert m["unit"] == "cells_per_ul"
    # the segment formulas one by one, against the looked-up logarithms
    segments = [350 / LN2, 560 / LN5]
    assert segments == pytest.approx([504.9432643111372, 347.9475633533826], rel=1e-12)


def test_rise_and_fall_linear() -> None:
    m = one(counts(*RISE_FALL), auc_method="linear")
    assert m["auc"] == pytest.approx(RISE_FALL_LINEAR, rel=1e-12)
    assert m["auc_method"] == "linear"


def test_missing_values_and_pre_infusion_points_are_dropped() -> None:
    # day 21 has no value; day -2 is before the infusion: both ignored (reference 1)
    frame = counts([-2, 0, 7, 14, 21, 28], [3, 0, 100, 50, np.nan, 10])
    m = one(frame)
    assert m["auc"] == pytest.approx(RISE_FALL_LOG, rel=1e-12)
    assert m["n_points"] == 4


# (2) zeros everywhere -------------------------------------------------------------------
def test_zeros_everywhere_is_no_expansion() -> None:
    m = one(counts([0, 7, 14], [0, 0, 0]))
    assert m["cmax"] == 0 and m["auc"] == 0 and m["n_points"] == 3
    assert pd.isna(m["tmax"])  # no peak when every value is 0 (PKNCA pk.calc.tmax)
    assert pd.isna(m["tlast"]) and pd.isna(m["clast"])
    assert flag(m["expansion"]) is False  # "no expansion"
    assert one(counts([0, 7, 14], [0, 0, 0]), auc_method="linear")["auc"] == 0


# (3) a single point ---------------------------------------------------------------------
def test_single_point() -> None:
    m = one(counts([10], [42]))
    assert (m["cmax"], m["tmax"], m["auc"], m["n_points"]) == (42, 10, 0, 1)
    assert (m["tlast"], m["clast"]) == (10, 42) and flag(m["expansion"]) is True
    zero = one(counts([10], [0]))
    assert zero["cmax"] == 0 and zero["auc"] == 0 and pd.isna(zero["tmax"])
    assert flag(zero["expansion"]) is False


# (4) a curve that never falls -------------------------------------------------------------
def test_never_falls_log_down_equals_linear() -> None:
    # (1 + 4) / 2 * 3 + (4 + 4) / 2 * 7 + (4 + 9) / 2 * 4 = 7.5 + 28 + 26 = 61.5
    frame = counts([0, 3, 10, 14], [1, 4, 4, 9])
    log_down, linear = one(frame), one(frame, auc_method="linear")
    assert log_down["auc"] == linear["auc"] == pytest.approx(61.5, rel=1e-12)
    assert (log_down["cmax"], log_down["tmax"], log_down["tlast"]) == (9, 14, 14)


# (5) window -------------------------------------------------------------------------------
WINDOWED = counts([-3, 0, 14, 28, 35], [50, 5, 20, 10, 2])


def test_window_cuts_pre_infusion_and_late_points() -> None:
    m = one(WINDOWED)  # default window 0-28, both ends included
    assert (m["cmax"], m["tmax"], m["n_points"]) == (20, 14, 3)
    assert (m["tlast"], m["clast"]) == (28, 10)
    # (5 + 20) / 2 * 14 = 175; (20 - 10) * 14 / ln 2 = 201.97730572445488
    assert m["auc"] == pytest.approx(175 + 201.97730572445488, rel=1e-12)
    # linear: 175 + (20 + 10) / 2 * 14 = 385
    assert one(WINDOWED, auc_method="linear")["auc"] == pytest.approx(385, rel=1e-12)


@pytest.mark.parametrize(
    ("window", "auc", "tlast"),
    [
        # 376.97730572445488 + (10 - 2) * 7 / ln 5 (= 34.79475633533826)
        ((0, 35), 411.77206205979314, 35),
        ((0, 14), 175.0, 14),  # (5 + 20) / 2 * 14
        ((14, 28), 201.97730572445488, 28),  # (20 - 10) * 14 / ln 2
    ],
    ids=["day-35-included", "window-0-14", "window-14-28"],
)
def test_other_windows(window: tuple[float, float], auc: float, tlast: float) -> None:
    m = one(WINDOWED, window=window)
    assert m["auc"] == pytest.approx(auc, rel=1e-12)
    assert m["tlast"] == tlast


# (6) limit of detection per target ------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "value", "detected"),
    [
        ("CD19", 0.8, True),  # 0.8 > 0.1 (seed study: CD19 CAR marrow LOD 0.1 %)
        ("CD22", 0.8, False),  # 0.8 <= 1 (seed study: CD22 CAR marrow LOD 1 %)
        ("CD22", 1.0, False),  # strict: equal to the LOD is not above it
        ("CD22", 1.01, True),  # 1.01 > 1
        ("CD19", 0.1 + 0.2 - 0.2, False),  # 0.10000000000000003: the LOD up to rounding
        ("CD19", 0.1001, True),  # just above 0.1
    ],
    ids=["CD19-0.8-above", "CD22-0.8-below", "CD22-equal-not-above", "CD22-1.01-above",
         "CD19-rounding-not-above", "CD19-0.1001-above"],
)
def test_lod_per_target(target: str, value: float, detected: bool) -> None:
    frame = counts([0, 28], [0, value], compartment="marrow", unit="percent_of_cells")
    infusions = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "target": [target]})
    m = one(frame, infusions=infusions, compartment="marrow", unit="percent_of_cells",
            lod=SEED_STUDY_MARROW_LOD)
    assert flag(m["expansion"]) is detected
    assert m["lod"] == {"CD19": 0.1, "CD22": 1.0}[target]
    assert m["target"] == target
    assert m["cmax"] == value and m["tmax"] == 28  # the peak is reported even if undetected
    if detected:
        assert (m["tlast"], m["clast"]) == (28, value)
    else:
        assert pd.isna(m["tlast"]) and pd.isna(m["clast"])


def test_lod_one_number_and_target_keys_ignore_case() -> None:
    frame = counts([0, 28], [0, 0.8], compartment="marrow", unit="percent_of_cells")
    m = one(frame, compartment="marrow", unit="percent_of_cells", lod=1.0)
    assert flag(m["expansion"]) is False and m["lod"] == 1.0  # 0.8 <= 1
    infusions = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "target": ["cd19"]})
    m = one(frame, infusions=infusions, compartment="marrow", unit="percent_of_cells",
            lod={"CD19 ": 0.1})
    assert flag(m["expansion"]) is True and m["lod"] == 0.1


# (7) several patients and infusions at once ---------------------------------------------
def test_many_curves_at_once_equal_each_alone() -> None:
    parts = [
        counts(*RISE_FALL, patient="P1", infusion=1),
        counts([0, 7, 14], [0, 0, 0], patient="P1", infusion=2),
        counts([10], [42], patient="P2", infusion=1),
        counts([0, 3, 10, 14], [1, 4, 4, 9], patient="P10", infusion=1),
        counts([-3, 0, 14, 28, 35], [50, 5, 20, 10, 2], patient="P3", infusion=2),
        counts([0, 1.5, 4.25], [3, 0.5, 0], patient="P3", infusion=1),
    ]
    noise = counts([7, 14], [5.0, 9.0], patient="P2", infusion=1, compartment="marrow",
                   unit="percent_of_cells")  # another compartment: not in the blood curve
    table = pd.concat([*parts, noise]).sample(frac=1, random_state=3)  # shuffled rows
    for method in ("linear-up/log-down", "linear"):
        together = expansion_metrics(table, auc_method=method)  # type: ignore[arg-type]
        alone = pd.concat([expansion_metrics(p, auc_method=method)  # type: ignore[arg-type]
                           for p in parts]).sort_index()
        pd.testing.assert_frame_equal(together, alone)
    assert together.index.names == ["patient_id", "infusion"]
    assert together.index.tolist() == [("P1", 1), ("P1", 2), ("P10", 1), ("P2", 1),
                                       ("P3", 1), ("P3", 2)]


def test_infusions_without_measurements_have_no_result() -> None:
    infusions = pd.DataFrame({"patient_id": ["P1", "P9"], "infusion": [1, 1],
                              "target": ["CD19", "CD22"]})
    result = expansion_metrics(counts(*RISE_FALL), infusions)
    empty = result.loc[("P9", 1)]
    assert empty["n_points"] == 0 and pd.isna(empty["expansion"]) and pd.isna(empty["auc"])
    assert result.loc[("P1", 1), "auc"] == pytest.approx(RISE_FALL_LOG, rel=1e-12)
    # blood measured only as percent of T cells: no cells/uL curve, "unknown", not "none"
    percent = counts(*RISE_FALL, unit="percent_of_t_cells")
    m = one(percent)
    assert m["n_points"] == 0 and pd.isna(m["expansion"])
    assert one(percent, unit="percent_of_t_cells")["cmax"] == 100


# (8) mixed units --------------------------------------------------------------------------
def test_mixed_units_are_refused_with_a_clear_message() -> None:
    frame = pd.concat([
        counts([0, 7], [0, 100], patient="P7", infusion=2),
        counts([14], [12.5], patient="P7", infusion=2, unit="percent_of_t_cells"),
    ])
    with pytest.raises(ReinfuseError) as caught:
        expansion_metrics(frame, unit=None)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, CriteriaError)
    message = str(caught.value)
    for word in ("P7", "infusion 2", "cells_per_ul", "percent_of_t_cells", "unit="):
        assert word in message
    # choosing a unit keeps that unit's values: (0 + 100) / 2 * 7 = 350
    assert one(frame, unit="cells_per_ul")["auc"] == 350
    assert one(frame, unit=None, window=(0, 7))["unit"] == "cells_per_ul"


# other definitions and checks -----------------------------------------------------------
def test_log_down_is_exact_for_an_exponential_decline() -> None:
    days = [0, 5, 10, 20]
    frame = counts(days, [1000 * math.exp(-0.1 * d) for d in days])
    # integral of 1000 e^(-0.1 t) over 0-20 = 10000 (1 - e^-2) = 8646.647167633873
    assert one(frame)["auc"] == pytest.approx(8646.647167633873, rel=1e-12)
    assert one(frame, auc_method="linear")["auc"] > 8646.647167633873


def test_nearly_level_fall_uses_the_log_rule_stably() -> None:
    # C1 = 100, C2 = 100 (1 - 1e-13): the log trapezoid tends to the level value x dt
    m = one(counts([0, 10], [100, 100 * (1 - 1e-13)]))
    assert m["auc"] == pytest.approx(1000, rel=1e-12)


def test_same_day_repeats() -> None:
    frame = counts([0, 7, 7, 14], [0, 90, 110, 50])
    with pytest.raises(CriteriaError, match=r"patient P1, infusion 1: 2 blood values on day 7"):
        expansion_metrics(frame)
    m = one(frame, duplicates="mean")  # day 7 = (90 + 110) / 2 = 100
    # 350 + (100 - 50) * 7 / ln 2
    assert m["auc"] == pytest.approx(350 + 504.9432643111372, rel=1e-12)
    assert m["n_points"] == 3


@pytest.mark.parametrize(
    ("change", "options", "match"),
    [
        (lambda f: f.drop(columns="unit"), {}, "lacks column"),
        (lambda f: f.assign(value=[0, -1, 50, 10]), {}, "must be >= 0"),
        (lambda f: f.assign(unit="cells/ul"), {}, "allowed: cells_per_ul"),
        (lambda f: f.assign(compartment="bone"), {}, "allowed: blood"),
        (lambda f: f.assign(value=["0", "x", "50", "10"]), {}, "must hold numbers"),
        (lambda f: f.assign(infusion=0), {}, "whole number >= 1"),
        (lambda f: f.assign(unit=[None, *["cells_per_ul"] * 3]), {}, "unit is empty"),
        (lambda f: f, {"compartment": "pleura"}, "compartment must be one of"),
        (lambda f: f, {"auc_method": "log"}, "auc_method must be one of"),
        (lambda f: f, {"window": (28, 0)}, "start <= end"),
        (lambda f: f, {"lod": -1}, "finite number >= 0"),
        (lambda f: f, {"lod": {"CD19": 0.1}}, "pass the infusions table"),
    ],
    ids=["no-unit-column", "negative", "unknown-unit", "unknown-compartment", "text-value",
         "infusion-0", "value-without-unit", "bad-compartment-option", "bad-method",
         "reversed-window", "negative-lod", "lod-per-target-without-infusions"],
)
def test_refusals(change, options, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CriteriaError, match=match):
        expansion_metrics(change(counts(*RISE_FALL)), **options)


def test_target_without_lod_is_refused() -> None:
    infusions = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "target": ["other"]})
    with pytest.raises(CriteriaError, match=r"patient P1, infusion 1: no limit of detection "
                                            r"for target 'other'"):
        expansion_metrics(counts(*RISE_FALL), infusions, lod=SEED_STUDY_MARROW_LOD)


def test_labels_and_text_numbers_are_read_like_the_rest_of_reinfuse() -> None:
    frame = counts(*RISE_FALL).assign(
        compartment="Blood ", unit="cells-per-ul", day=["0", "7", "14", "28"])
    assert one(frame)["auc"] == pytest.approx(RISE_FALL_LOG, rel=1e-12)


def test_empty_table() -> None:
    empty = counts([], [])
    assert expansion_metrics(empty).empty
    assert last_detection_day(empty).empty


# independent, deliberately plain implementation -------------------------------------------
def plain_curve(days: list[float], values: list[float], lod: float, log_down: bool,
                window: tuple[float, float]) -> dict[str, float]:
    """Row-by-row reading of the definitions in tests/reference/kinetics_reference.md."""
    points = sorted((d, v) for d, v in zip(days, values, strict=True)
                    if not math.isnan(v) and window[0] <= d <= window[1])
    if not points:
        return {"n_points": 0}
    cmax = max(v for _, v in points)
    tmax = next(d for d, v in points if v == cmax) if cmax > 0 else math.nan
    auc = 0.0
    for (t1, c1), (t2, c2) in itertools.pairwise(points):
        if log_down and c2 < c1 and c2 > 0:
            auc += (c1 - c2) * (t2 - t1) / (math.log(c1) - math.log(c2))
        else:
            auc += (c1 + c2) / 2 * (t2 - t1)
    above = [(d, v) for d, v in points if v > lod]
    tlast, clast = above[-1] if above else (math.nan, math.nan)
    return {"n_points": len(points), "cmax": cmax, "tmax": tmax, "auc": auc,
            "tlast": tlast, "clast": clast, "expansion": bool(above)}


def test_matches_plain_implementation() -> None:
    rng = np.random.default_rng(11)
    frames, expected = [], {}
    for k in range(300):
        n = int(rng.integers(1, 9))
        days = rng.choice(np.arange(-7, 40), size=n, replace=False).astype(float)
        values = np.round(rng.lognormal(1, 1.5, n), 1)
        values[rng.random(n) < 0.25] = 0.0
        values[rng.random(n) < 0.1] = np.nan
        if n > 2 and rng.random() < 0.3:
            values[1] = values[2]  # a level stretch
        patient, infusion = f"R{k // 2}", k % 2 + 1
        frames.append(counts(list(days), list(values), patient=patient, infusion=infusion))
        expected[(patient, infusion)] = (list(days), list(values))
    table = pd.concat(frames)
    for method, log_down in (("linear-up/log-down", True), ("linear", False)):
        result = expansion_metrics(table, auc_method=method, lod=1.0)  # type: ignore[arg-type]
        for key, (days, values) in expected.items():
            want = plain_curve(days, values, 1.0, log_down, (0, 28))
            got = result.loc[key]
            assert got["n_points"] == want["n_points"], key
            if want["n_points"] == 0:
                assert pd.isna(got["expansion"]) and pd.isna(got["cmax"])
                continue
            for column in ("cmax", "tmax", "auc", "tlast", "clast"):
                assert got[column] == pytest.approx(want[column], rel=1e-9, nan_ok=True), (
                    key, column)
            assert flag(got["expansion"]) is want["expansion"], key
            if not log_down:
                kept = sorted((d, v) for d, v in zip(days, values, strict=True)
                              if not math.isnan(v) and 0 <= d <= 28)
                area = np.trapezoid([v for _, v in kept], [d for d, _ in kept])
                assert got["auc"] == pytest.approx(area, rel=1e-9, abs=1e-12)


# last detection day -----------------------------------------------------------------------
def swimmer_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [  # patient, infusion, day, compartment, value, unit
        ("P1", 1, -3, "blood", 5.0, "cells_per_ul"),  # before the infusion: ignored
        ("P1", 1, 14, "blood", 40.0, "cells_per_ul"),
        ("P1", 1, 60, "blood", 0.5, "cells_per_ul"),
        ("P1", 1, 60, "marrow", 2.0, "percent_of_cells"),  # 2 > 1 (CD22)
        ("P1", 1, 90, "csf", 0.0, "cells_per_ul"),
        ("P1", 1, 120, "marrow", 0.6, "percent_of_cells"),  # 0.6 <= 1 (CD22)
        ("P1", 1, 150, "blood", 0.0, "cells_per_ul"),
        ("P1", 2, 30, "marrow", 0.6, "percent_of_cells"),  # 0.6 > 0.1 (CD19)
        ("P1", 2, 45, "csf", 3.0, "cells_per_ul"),
        ("P1", 2, 45, "blood", 0.0, "cells_per_ul"),
        ("P2", 1, 7, "blood", 0.0, "cells_per_ul"),
        ("P2", 1, 14, "blood", 0.0, "cells_per_ul"),
    ]
    table = pd.DataFrame(rows, columns=["patient_id", "infusion", "day", "compartment",
                                        "value", "unit"])
    infusions = pd.DataFrame({"patient_id": ["P1", "P1", "P2", "P3"],
                              "infusion": [1, 2, 1, 1],
                              "target": ["CD22", "CD19", "CD19", "CD22"]})
    return table.sample(frac=1, random_state=5), infusions


def test_last_detection_day_by_hand() -> None:
    table, infusions = swimmer_table()
    r = last_detection_day(table, infusions, lod={"marrow": SEED_STUDY_MARROW_LOD})
    assert r.index.tolist() == [("P1", 1), ("P1", 2), ("P2", 1), ("P3", 1)]
    assert r["last_detection_day"].tolist()[:2] == [60, 45]
    assert r["detected_in"].tolist()[:2] == ["blood+marrow", "csf"]
    assert r["last_assessment_day"].tolist()[:3] == [150, 45, 14]
    assert r["n_points"].tolist() == [6, 3, 2, 0]
    assert r["detected"].tolist()[:3] == [True, True, False]
    assert pd.isna(r.loc[("P2", 1), "last_detection_day"])
    assert pd.isna(r.loc[("P2", 1), "detected_in"])
    assert pd.isna(r.loc[("P3", 1), "detected"])  # in the infusions table only
    assert pd.isna(r.loc[("P3", 1), "last_assessment_day"])


def test_last_detection_day_options() -> None:
    table, infusions = swimmer_table()
    blood = last_detection_day(table, infusions, lod={"marrow": SEED_STUDY_MARROW_LOD},
                               compartments=["blood"])
    assert blood.loc[("P1", 1), "last_detection_day"] == 60
    assert blood.loc[("P1", 1), "detected_in"] == "blood"
    assert flag(blood.loc[("P1", 2), "detected"]) is False  # its one blood value is 0
    no_lod = last_detection_day(table)  # any value above 0: marrow 0.6 on day 120 counts
    assert no_lod.loc[("P1", 1), "last_detection_day"] == 120
    assert no_lod.loc[("P1", 1), "detected_in"] == "marrow"
    # a target mapping at the top level applies to every compartment: blood 0.5 (day 60)
    # and 40 (day 14) against the CD22 limit 1 -> last detection day 60 in marrow (2 > 1)
    every = last_detection_day(table, infusions, lod=SEED_STUDY_MARROW_LOD)
    assert every.loc[("P1", 1), "detected_in"] == "marrow"


def test_last_detection_day_refuses_a_limit_over_mixed_units() -> None:
    table, infusions = swimmer_table()
    mixed = pd.concat([table, pd.DataFrame([("P1", 2, 50, "marrow", 3.0, "cells_per_ul")],
                                           columns=table.columns)])
    with pytest.raises(CriteriaError, match=r"patient P1, infusion 2: marrow values are in "
                                            r"several units \(cells_per_ul, percent_of_cells\)"):
        last_detection_day(mixed, infusions, lod={"marrow": SEED_STUDY_MARROW_LOD})
    assert last_detection_day(mixed).loc[("P1", 2), "last_detection_day"] == 50
    with pytest.raises(CriteriaError, match="either by compartment"):
        last_detection_day(table, infusions, lod={"marrow": 0.1, "CD19": 0.1})
