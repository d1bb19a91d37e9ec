"""The ``kaplan_meier`` figure kind: curves, numbers at risk, filters and groups.

The frame is written by hand (not by ``reinfuse.derive``): remission durations in days after
CART2 chosen so that every expected number below is worked out in a comment from the
product-limit definition, S(t) = prod (1 - d/n) over event times <= t.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from reinfuse.errors import PlanError, StatisticsError
from reinfuse.figures import FIGURE_KINDS, FigureResult, kind_parameters, make_figure, save_figure
from reinfuse.figures._common import NO_PATIENTS
from reinfuse.plan import FigureSpec

LABELS = {1: "CART1", 2: "CART2"}

# patient, infusion, remission_days, remission_event, indication, ld_class, followup_days,
# death_event
ROWS = [
    ("P01", 1, 500.0, False, None, "standard", 520.0, False),      # CART1 row: never used
    ("P01", 2, 90.0, True, "relapse", "intensified", 400.0, False),
    ("P02", 2, 344.0, False, "persistent_disease", "standard", 365.0, False),
    ("P03", 2, 40.0, True, "persistent_disease", "standard", 366.0, True),
    ("P04", 2, None, None, "relapse", "standard", 153.0, True),    # not in CR after CART2
    ("P05", 2, 120.0, True, "relapse", "standard", 300.0, True),
    ("P06", 2, 200.0, False, "relapse", "intensified", 250.0, False),
    ("P07", 2, 60.0, True, "persistent_disease", "intensified", 180.0, True),
]
COLUMNS = ["patient_id", "infusion", "remission_days", "remission_event", "indication",
           "ld_class", "followup_days", "death_event"]


def hand_frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    frame["patient_id"] = frame["patient_id"].astype("string")
    frame["infusion"] = frame["infusion"].astype("Int64")
    for column in ("remission_event", "death_event"):
        frame[column] = frame[column].astype("boolean")
    for column in ("indication", "ld_class"):
        frame[column] = frame[column].astype("string")
    return frame


def draw(frame: pd.DataFrame | None = None, **params: Any) -> FigureResult:
    spec = FigureSpec(id="fig_km", kind="kaplan_meier", title="Remission after {label2}",
                      caption="", params=params)
    result = make_figure(hand_frame() if frame is None else frame, spec, LABELS)
    json.dumps(result.data, allow_nan=False)  # JSON-ready, no NaN
    return result


def texts(result: FigureResult) -> list[str]:
    return [t.get_text() for ax in result.figure.axes for t in ax.texts]


def test_registered_with_defaults() -> None:
    assert "kaplan_meier" in FIGURE_KINDS
    assert kind_parameters("kaplan_meier") == ({
        "time": "remission_days", "event": "remission_event", "infusion": 2, "where": None,
        "group": None, "median_line": False}, [])
    # the analyze stage checks the same parameters when it makes the figure's estimates
    from reinfuse.survival_curves import KM_PARAMETERS

    assert set(KM_PARAMETERS) == set(kind_parameters("kaplan_meier")[0])


def test_one_curve_steps_median_and_numbers_at_risk() -> None:
    result = draw()
    data = result.data
    # CART2 rows with a remission duration: P01 90 (relapse), P02 344 (censored), P03 40
    # (relapse), P05 120 (relapse), P06 200 (censored), P07 60 (relapse). P04 has none.
    assert data["n_patients"] == 6
    assert data["skipped"] == {"missing_time": 1, "missing_event": 0, "missing_group": 0}
    (curve,) = data["curves"]
    assert (curve["n"], curve["n_events"], curve["n_censored"]) == (6, 4, 2)
    # 40: n = 6 -> 5/6; 60: n = 5 -> 5/6 * 4/5 = 4/6; 90: n = 4 -> 4/6 * 3/4 = 3/6;
    # 120: n = 3 -> 3/6 * 2/3 = 2/6; 200 and 344 censored (n = 2 and 1).
    steps = [(s["time"], s["n_at_risk"], s["n_events"], s["n_censored"]) for s in
             curve["steps"]]
    assert steps == [(40, 6, 1, 0), (60, 5, 1, 0), (90, 4, 1, 0), (120, 3, 1, 0),
                     (200, 2, 0, 1), (344, 1, 0, 1)]
    assert [s["survival"] for s in curve["steps"]] == pytest.approx(
        [5 / 6, 4 / 6, 3 / 6, 2 / 6, 2 / 6, 2 / 6])
    # Median: S is exactly 0.5 from 90 to 120; the midpoint rule (R's survival package,
    # reinfuse's default) takes (90 + 120) / 2 = 105 (the "smallest" rule would take 90).
    assert curve["median"] == 105.0 and curve["median_reached"] is True
    assert curve["median_text"].startswith("105 days (95% CI ")
    # Ticks every 100 days up to the first tick past 344; at risk = durations >= t:
    # 0: 6; 100: 120, 200, 344 -> 3; 200: 200, 344 -> 2; 300: 344 -> 1; 400: 0.
    assert data["ticks"] == [0, 100, 200, 300, 400]
    assert curve["at_risk"] == [6, 3, 2, 1, 0]
    for count in ("6", "3", "2", "1", "0"):
        assert count in texts(result)
    ax = result.figure.axes[0]
    assert ax.get_xlabel() == "Days since CR after CART2"
    assert ax.get_ylabel() == "Probability" and ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "100", "200", "300", "400"]
    assert "Number at risk" in result.figure.axes[1].get_title(loc="left")
    assert "Kaplan-Meier estimator" in data["method"]


def test_group_gives_one_curve_per_value() -> None:
    data = draw(group="ld_class").data
    curves = {c["label"]: c for c in data["curves"]}
    assert list(curves) == ["intensified", "standard"]
    # intensified: P07 60 (relapse, n = 3 -> 2/3), P01 90 (relapse, n = 2 -> 1/3), P06 200
    # censored -> median 90; at risk at 0/100/200/300/400: 3, 1, 1, 0, 0.
    intensified = curves["intensified"]
    assert (intensified["n"], intensified["n_events"], intensified["median"]) == (3, 2, 90.0)
    assert intensified["at_risk"] == [3, 1, 1, 0, 0]
    # standard: P03 40 (2/3), P05 120 (1/3), P02 344 censored -> median 120;
    # at risk 3, 2 (120, 344), 1, 1, 0.
    standard = curves["standard"]
    assert (standard["n"], standard["median"], standard["at_risk"]) == (3, 120.0,
                                                                         [3, 2, 1, 1, 0])
    assert data["group"] == "ld_class"


def test_missing_group_value_is_counted() -> None:
    frame = hand_frame()
    frame.loc[frame["patient_id"].eq("P06") & frame["infusion"].eq(2), "ld_class"] = pd.NA
    data = draw(frame, group="ld_class").data
    assert data["skipped"]["missing_group"] == 1
    assert [c["n"] for c in data["curves"]] == [2, 3]


def test_where_filter_keeps_matching_rows() -> None:
    data = draw(where={"indication": ["relapse"]}).data
    # CART2 rows with indication relapse: P01 90 (relapse), P04 (no CR), P05 120 (relapse),
    # P06 200 (censored); the 3 others are excluded by the filter.
    assert data["excluded_by_where"] == 3 and data["skipped"]["missing_time"] == 1
    (curve,) = data["curves"]
    # 90: n = 3 -> 2/3; 120: n = 2 -> 1/3 -> median 120.
    assert (curve["n"], curve["median"]) == (3, 120.0)
    assert data["where"] == {"indication": ["relapse"]}


def test_median_not_reached_and_median_line() -> None:
    frame = hand_frame()
    frame["remission_event"] = pd.array([False] * len(frame), dtype="boolean")
    frame.loc[frame["patient_id"].eq("P03") & frame["infusion"].eq(2), "remission_event"] = True
    result = draw(frame, median_line=True)
    (curve,) = result.data["curves"]
    # One relapse (40 days, n = 6): S = 5/6, never 0.5 or below.
    assert curve["median"] is None and curve["median_reached"] is False
    assert curve["median_text"].startswith("not reached")
    # No median line for a median not reached: only the curve and the censoring marks.
    assert len(result.figure.axes[0].get_lines()) == 2


def test_followup_counts_from_the_infusion() -> None:
    result = draw(time="followup_days", event="death_event")
    # Deaths at 366 (P03), 153 (P04), 300 (P05), 180 (P07) among 7 CART2 rows.
    (curve,) = result.data["curves"]
    assert (curve["n"], curve["n_events"]) == (7, 4)
    assert result.figure.axes[0].get_xlabel() == "Days since CART2"
    assert result.data["x_label"] == "Days since CART2"


def test_no_patient_gives_the_empty_figure() -> None:
    result = draw(infusion=3)
    assert NO_PATIENTS in texts(result)
    assert result.data["curves"] == [] and result.data["n_patients"] == 0
    result = draw(where={"indication": ["none of these"]})
    assert NO_PATIENTS in texts(result) and result.data["excluded_by_where"] == 7


@pytest.mark.parametrize(("params", "expected"), [
    ({"where": {"indication": "relapse"}}, "non-empty list"),
    ({"where": ["indication"]}, "map column names"),
    ({"group": "no_such_column"}, "no_such_column"),
    ({"time": 3}, "column name"),
    ({"infusion": 0}, "infusion number"),
    ({"median_line": "yes"}, "true or false"),
])
def test_plan_errors(params: dict[str, Any], expected: str) -> None:
    with pytest.raises(PlanError, match=expected) as info:
        draw(**params)
    assert "fig_km" in str(info.value)


def test_negative_duration_is_refused() -> None:
    frame = hand_frame()
    frame.loc[1, "remission_days"] = -5.0
    with pytest.raises(StatisticsError, match=">= 0"):
        draw(frame)


def test_png_is_greyscale_single_column_and_reproducible(tmp_path: Path) -> None:
    paths = save_figure(draw(group="ld_class", median_line=True), tmp_path / "a")
    with Image.open(paths["png"]) as image:
        assert image.size[0] == 1050  # 3.5 in at 300 dpi
        rgb = np.asarray(image.convert("RGB")).astype(int)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    again = save_figure(draw(group="ld_class", median_line=True), tmp_path / "b")
    assert again["png"].read_bytes() == paths["png"].read_bytes()
    assert again["svg"].read_bytes() == paths["svg"].read_bytes()
