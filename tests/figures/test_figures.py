"""Figures: the numbers behind each mark, the files written and the plan errors.

The analysis frame here is written by hand (not by ``reinfuse.derive``): six patients with
dates and values chosen so every expected number below is worked out in a comment from
the definitions (days between two calendar dates, medians of a few values).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tests.conftest import with_follow_up

from reinfuse.errors import PlanError
from reinfuse.figures import (
    FIGURE_KINDS,
    FigureResult,
    fill_placeholders,
    make_figure,
    save_figure,
)
from reinfuse.figures._common import NO_PATIENTS
from reinfuse.plan import FigureSpec

LABELS = {1: "CART1", 2: "CART2"}

ESCAPE = "antigen escape, CAR persistent"
LOSS = "CAR loss, antigen preserved"

# One tuple per infusion:
# patient, infusion, date, best_response, response_date, indication, ld_class, crs, icans,
# peak, abc_cd19, abc_cd22, relapse_date, phenotype, site_group, hsct, last_followup, death
ROWS = [
    ("P01", 1, "2020-01-01", "CR", "2020-02-01", None, "standard", 2, 0, 120.5, 1000.0,
     3500.0, "2020-05-01", LOSS, "marrow only", False, "2020-06-01", None),
    ("P01", 2, "2020-06-01", "CR", "2020-06-29", "relapse", "intensified", 0, 0, 0.0, 900.0,
     1800.0, "2020-09-27", ESCAPE, "CNS", False, "2021-01-01", None),
    ("P02", 1, "2020-09-01", "SD", "2020-10-01", None, "standard", 1, 1, 10.0, None, None,
     None, None, None, False, "2021-03-01", None),
    ("P02", 2, "2021-03-01", "CRi", "2021-03-22", "persistent_disease", "standard", 0, 0, 2.5,
     None, 2000.0, None, None, None, True, "2022-03-01", None),
    ("P02", 3, "2021-09-27", "CR", "2021-10-20", "relapse_prevention", "standard", 0, 0, 4.0,
     None, None, None, None, None, False, "2022-03-01", None),
    ("P03", 1, "2018-11-01", "PR", "2018-12-01", None, "standard", 0, 0, 0.35, None, 4100.0,
     None, None, None, False, "2019-05-10", None),
    ("P03", 2, "2019-05-10", "CR", "2019-06-09", "persistent_disease", "flag", 1, 2, 0.0,
     None, 4100.0, "2019-07-19", LOSS, "marrow and EMD", False, "2020-05-10", "2020-05-10"),
    ("P04", 1, "2017-01-10", "CR", "2017-02-10", None, "standard", 3, 1, 50.0, None, 1200.0,
     "2017-06-01", LOSS, "marrow only", False, "2017-07-01", None),
    ("P04", 2, "2017-07-01", "PD", "2017-08-01", "relapse", "standard", 0, 0, None, None,
     900.0, None, None, None, False, "2017-12-01", "2017-12-01"),
    ("P05", 1, "2022-01-01", "CR", "2022-02-01", None, "standard", 1, 0, 30.0, None, 2500.0,
     None, None, None, False, "2023-01-01", None),
    ("P06", 1, "2016-01-01", "SD", "2016-02-01", None, "standard", None, 0, 8.0, None, None,
     None, None, None, False, "2016-04-01", None),
    ("P06", 2, "2016-04-01", "CR", None, "persistent_disease", None, 0, 0, 1.0, None, None,
     None, None, None, False, "2016-12-01", None),
]
COLUMNS = ["patient_id", "infusion", "date", "best_response", "response_date", "indication",
           "ld_class", "crs_grade", "neurotox_grade", "peak_car_per_ul", "abc_cd19_pre",
           "abc_cd22_pre", "relapse_date", "relapse_phenotype", "relapse_site_group",
           "hsct_after", "last_followup_date", "death_date"]


def hand_frame() -> pd.DataFrame:
    """The frame above with the analysis frame's dtypes and its response booleans."""
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    for column in ("date", "response_date", "relapse_date", "last_followup_date",
                   "death_date"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("patient_id", "best_response", "indication", "ld_class",
                   "relapse_phenotype", "relapse_site_group"):
        frame[column] = frame[column].astype("string")
    for column in ("infusion", "crs_grade", "neurotox_grade"):
        frame[column] = frame[column].astype("Int64")
    frame["hsct_after"] = frame["hsct_after"].astype("boolean")
    # CRi counts as CR (the seed study's "morphologic CR"); objective = CR, CRi or PR.
    frame["complete_response"] = frame["best_response"].isin(["CR", "CRi"]).astype("boolean")
    frame["objective_response"] = frame["best_response"].isin(
        ["CR", "CRi", "PR"]).astype("boolean")
    frame["target"] = pd.Series(["CD22"] * len(frame), dtype="string")
    return with_follow_up(frame)


def spec(kind: str, **params: Any) -> FigureSpec:
    return FigureSpec(id=f"fig_{kind}", kind=kind, title="{label1} and {label2}",
                      caption="Caption for {label2}.", params=params)


def draw(kind: str, frame: pd.DataFrame | None = None, **params: Any) -> FigureResult:
    result = make_figure(hand_frame() if frame is None else frame, spec(kind, **params),
                         LABELS)
    json.dumps(result.data, allow_nan=False)  # JSON-ready, no NaN
    return result


def texts(result: FigureResult) -> list[str]:
    return [t.get_text() for ax in result.figure.axes for t in ax.texts]


# --- response_by_infusion ------------------------------------------------------------------

def test_response_by_infusion_rows_sorted_by_second_then_first_response() -> None:
    result = draw("response_by_infusion")
    data = result.data
    # 5 reinfused patients, under the default max_patients of 60: one row each.
    assert data["mode"] == "patients" and data["max_patients"] == 60
    # Sized by rows: 0.16 x 5 + 0.75 = 1.55 in, below the 1.7 in minimum.
    assert tuple(result.figure.get_size_inches()) == pytest.approx((3.5, 1.7))
    # CART2 CR: P01 (CART1 CR), P03 (PR), P06 (SD); then CRi: P02; then PD: P04.
    # P05 has no reinfusion and is left out.
    assert data["order"] == ["P01", "P03", "P06", "P02", "P04"]
    assert data["n_patients"] == 5
    assert data["n_not_paired"] == 1
    first = data["patients"][0]
    assert first == {"patient_id": "P01", "best_response_1": "CR", "best_response_2": "CR",
                     "indication": "relapse", "cr_group": "both"}
    assert data["counts"]["CART2"] == {"CR": 3, "CRi": 1, "PD": 1}
    assert data["counts"]["CART1"] == {"CR": 2, "PR": 1, "SD": 2}
    # CR (CRi included): both P01; CART2 only P02, P03, P06; CART1 only P04.
    assert data["cr_groups"] == {"both": 1, "first_only": 1, "second_only": 3, "neither": 0,
                                 "unknown": 0}


def test_response_by_infusion_marks_missing_response() -> None:
    frame = hand_frame()
    frame.loc[(frame["patient_id"] == "P04") & (frame["infusion"] == 2), "best_response"] = pd.NA
    frame.loc[(frame["patient_id"] == "P04") & (frame["infusion"] == 2),
              "complete_response"] = pd.NA
    result = draw("response_by_infusion", frame)
    assert result.data["n_missing"] == {"CART1": 0, "CART2": 1}
    assert result.data["order"][-1] == "P04"  # missing sorts last
    assert result.data["cr_groups"]["unknown"] == 1
    assert "–" in texts(result)


# Above max_patients: a frame of 70 reinfused patients (plus one never reinfused) built
# from these (response to CART1, response to CART2, number of patients) groups; None is a
# missing response and "MLFS" a code outside the six of the figure.
TRANSITIONS = [("CR", "CR", 20), ("CR", "PD", 5), ("PR", "CR", 10), ("SD", "CR", 8),
               ("SD", "SD", 12), ("SD", "NE", 3), ("PD", "CRi", 6), ("CR", None, 2),
               (None, "CR", 1), ("PR", "MLFS", 3)]


def transition_frame() -> pd.DataFrame:
    rows: list[tuple[str, int, str | None, str | None]] = []
    for r1, r2, count in TRANSITIONS:
        for _ in range(count):
            patient = f"A{len(rows) // 2 + 1:02d}"
            rows += [(patient, 1, r1, None), (patient, 2, r2, "relapse")]
    rows.append(("A71", 1, "CR", None))
    frame = pd.DataFrame(rows, columns=["patient_id", "infusion", "best_response",
                                        "indication"])
    for column in ("patient_id", "best_response", "indication"):
        frame[column] = frame[column].astype("string")
    frame["infusion"] = frame["infusion"].astype("Int64")
    complete = frame["best_response"].isin(["CR", "CRi"]).astype("boolean")
    frame["complete_response"] = complete.mask(frame["best_response"].isna())
    return frame


def test_response_by_infusion_aggregates_above_max_patients() -> None:
    result = draw("response_by_infusion", transition_frame())
    data = result.data
    assert data["mode"] == "aggregate"
    assert data["n_patients"] == 70 and data["n_not_paired"] == 1  # A71
    assert "patients" not in data and "order" not in data
    matrix = data["matrix"]
    # Six codes in order, then MLFS (seen at CART2 only, listed on both axes), then
    # missing (one patient at CART1, two at CART2).
    codes = ["CR", "CRi", "PR", "SD", "PD", "NE", "MLFS", "missing"]
    assert matrix["rows"] == codes and matrix["columns"] == codes
    assert (matrix["row_infusion"], matrix["column_infusion"]) == ("CART1", "CART2")
    # Each TRANSITIONS group in its cell (row = CART1, column = CART2), written out:
    #            CR CRi PR  SD PD NE MLFS missing
    expected = [[20, 0, 0, 0, 5, 0, 0, 2],   # CR
                [0, 0, 0, 0, 0, 0, 0, 0],    # CRi
                [10, 0, 0, 0, 0, 0, 3, 0],   # PR
                [8, 0, 0, 12, 0, 3, 0, 0],   # SD
                [0, 6, 0, 0, 0, 0, 0, 0],    # PD
                [0, 0, 0, 0, 0, 0, 0, 0],    # NE
                [0, 0, 0, 0, 0, 0, 0, 0],    # MLFS
                [1, 0, 0, 0, 0, 0, 0, 0]]    # missing
    assert matrix["counts"] == expected
    # Percent of all 70: 20/70 = 28.57 -> 28.6; 12/70 = 17.14 -> 17.1; 1/70 = 1.43 -> 1.4.
    assert matrix["percent"][0][0] == 28.6 and matrix["percent"][3][3] == 17.1
    assert matrix["percent"][7][0] == 1.4 and matrix["percent"][1][1] == 0.0
    # Margins: CART1 CR 20 + 5 + 2 = 27, PR 10 + 3, SD 8 + 12 + 3, PD 6, missing 1;
    # CART2 CR 20 + 10 + 8 + 1 = 39, CRi 6, SD 12, PD 5, NE 3, MLFS 3, missing 2.
    assert data["counts"]["CART1"] == {"CR": 27, "PR": 13, "SD": 23, "PD": 6, "missing": 1}
    assert data["counts"]["CART2"] == {"CR": 39, "CRi": 6, "SD": 12, "PD": 5, "NE": 3,
                                       "MLFS": 3, "missing": 2}
    # CR (CRi included) at both: 20; CART1 only: CR -> PD 5; CART2 only: PR -> CR 10,
    # SD -> CR 8, PD -> CRi 6; neither: SD -> SD 12, SD -> NE 3, PR -> MLFS 3; unknown: the
    # three with a missing response.
    assert data["cr_groups"] == {"both": 20, "first_only": 5, "second_only": 24,
                                 "neither": 18, "unknown": 3}
    assert data["indications"] == {"relapse": 70}
    # The figure: cell text "n (%)", the "All" margins, and a title saying it is aggregated.
    cells = texts(result)
    assert "20\n(28.6%)" in cells and "70\n(100.0%)" in cells and "39\n(55.7%)" in cells
    ax = result.figure.axes[0]
    assert ax.get_title(loc="left").startswith("Aggregated over 70 patients")
    assert [t.get_text() for t in ax.get_xticklabels()] == [*codes, "All"]
    assert ax.get_xlabel() == "Best response to CART2"
    assert ax.get_ylabel() == "Best response to CART1"


def test_response_by_infusion_threshold_and_fixed_aggregate_size() -> None:
    # Up to max_patients patients: one row each, sized by the number of rows.
    result = draw("response_by_infusion", transition_frame(), max_patients=70)
    assert result.data["mode"] == "patients" and len(result.data["order"]) == 70
    assert result.figure.get_size_inches()[1] == pytest.approx(0.16 * 70 + 0.75)
    # Above it, the same size whatever the number of patients.
    small = draw("response_by_infusion", max_patients=4)  # the 5 patients of hand_frame
    large = draw("response_by_infusion", transition_frame(), max_patients=69)
    assert small.data["mode"] == large.data["mode"] == "aggregate"
    # CART1 CR: P01 (CR after CART2) and P04 (PD).
    assert small.data["matrix"]["counts"][0] == [1, 0, 0, 0, 1, 0]
    assert (tuple(small.figure.get_size_inches()) == tuple(large.figure.get_size_inches())
            == pytest.approx((3.5, 3.4)))


def test_response_by_infusion_aggregate_png_is_greyscale(tmp_path: Path) -> None:
    paths = save_figure(draw("response_by_infusion", transition_frame()), tmp_path)
    with Image.open(paths["png"]) as image:
        assert image.size == (1050, 1020)  # 3.5 x 3.4 in at 300 dpi
        rgb = np.asarray(image.convert("RGB")).astype(int)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


# --- grade_distribution --------------------------------------------------------------------

def test_grade_distribution_counts_and_percentages() -> None:
    data = draw("grade_distribution", variable="crs_grade").data
    cart1, cart2 = data["bars"]["CART1"], data["bars"]["CART2"]
    # CART1 grades: P01 2, P02 1, P03 0, P04 3, P05 1, P06 missing -> n = 5.
    assert cart1["n"] == 5 and cart1["n_missing"] == 1
    assert cart1["counts"] == {"0": 1, "1": 2, "2": 1, "3": 1, "4": 0, "5": 0}
    assert cart1["percent"] == {"0": 20.0, "1": 40.0, "2": 20.0, "3": 20.0, "4": 0.0,
                                "5": 0.0}
    assert cart1["patients"]["1"] == ["P02", "P05"]
    # CART2: P03 grade 1, the four others 0.
    assert cart2["n"] == 5 and cart2["counts"]["0"] == 4 and cart2["percent"]["1"] == 20.0


def test_grade_distribution_neurotox_and_no_grades() -> None:
    data = draw("grade_distribution", variable="neurotox_grade").data
    assert data["bars"]["CART2"]["counts"]["2"] == 1  # P03
    frame = hand_frame()
    frame["crs_grade"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    result = draw("grade_distribution", frame, variable="crs_grade")
    assert NO_PATIENTS in texts(result)
    assert result.data["bars"]["CART1"]["n_missing"] == 6


# --- swimmer -------------------------------------------------------------------------------

def _lanes(result: FigureResult) -> dict[str, dict[str, Any]]:
    return {lane["patient_id"]: lane for lane in result.data["lanes"]}


def test_swimmer_lanes_in_days_since_reinfusion() -> None:
    result = draw("swimmer")
    lanes = _lanes(result)
    # In CR after CART2 with a response date: P01, P02 (CRi), P03; P06's is missing.
    assert set(lanes) == {"P01", "P02", "P03"}
    assert result.data["skipped"] == {"missing_response_date": 1,
                                      "missing_end_of_followup": 0}
    # P01 from 2020-06-01: CR 2020-06-29 = day 28; relapse 2020-09-27 = 30 + 31 + 31 + 26
    # = day 118; last follow-up 2021-01-01 = 30+31+31+30+31+30+31 = day 214.
    assert (lanes["P01"]["cr_day"], lanes["P01"]["relapse_day"], lanes["P01"]["end_day"]) \
        == (28, 118, 214)
    assert lanes["P01"]["remission_days"] == 90 and lanes["P01"]["alive"] is True
    assert lanes["P01"]["relapse_phenotype"] == ESCAPE and lanes["P01"]["site_code"] == "^"
    # P02 from 2021-03-01: CRi 2021-03-22 = day 21; no relapse; CART3 on 2021-09-27 =
    # 31+30+31+30+31+31+26 = day 210; last follow-up 2022-03-01 = day 365 (no 29 Feb).
    assert (lanes["P02"]["cr_day"], lanes["P02"]["relapse_day"], lanes["P02"]["end_day"]) \
        == (21, None, 365)
    assert lanes["P02"]["next_infusion_day"] == 210 and lanes["P02"]["hsct_after"] is True
    # derive's remission (censored at CART3, a new treatment): 2021-03-22 to 2021-09-27 =
    # 9 + 30 + 31 + 30 + 31 + 31 + 27 = 189 days (the lane itself runs on to day 365)
    assert lanes["P02"]["remission_days"] == 189
    # P03 from 2019-05-10: CR 2019-06-09 = day 30; relapse 2019-07-19 = day 70; death
    # 2020-05-10 = day 366 (29 Feb 2020 in between).
    assert (lanes["P03"]["cr_day"], lanes["P03"]["relapse_day"], lanes["P03"]["end_day"],
            lanes["P03"]["death_day"]) == (30, 70, 366, 366)
    assert lanes["P03"]["alive"] is False and lanes["P03"]["site_code"] == "&"
    assert result.data["n_relapsed"] == 2 and result.data["n_died"] == 1


@pytest.mark.parametrize(("sort", "order"), [
    ("remission", ["P02", "P01", "P03"]),   # 189, 90, 40 days in remission
    ("followup", ["P03", "P02", "P01"]),    # lanes of 366, 365, 214 days
    ("patient_id", ["P01", "P02", "P03"]),
])
def test_swimmer_lane_order(sort: str, order: list[str]) -> None:
    lanes = draw("swimmer", sort=sort).data["lanes"]
    assert [lane["patient_id"] for lane in lanes] == order
    assert [lane["lane"] for lane in lanes] == [0, 1, 2]


def test_swimmer_has_no_calendar_dates() -> None:
    result = draw("swimmer")
    text = json.dumps(result.data)
    assert "2020" not in text and "2019" not in text
    assert result.figure.axes[0].get_xlabel() == "Days since CART2"


def test_swimmer_other_infusion_and_no_patient_in_cr() -> None:
    # After CART1, P01, P04 and P05 are in CR (P05 never reinfused, still a lane here).
    data = draw("swimmer", infusion=1).data
    assert {lane["patient_id"] for lane in data["lanes"]} == {"P01", "P04", "P05"}
    frame = hand_frame()
    frame["complete_response"] = False
    result = draw("swimmer", frame)
    assert result.data["n_patients"] == 0 and result.data["lanes"] == []
    assert NO_PATIENTS in texts(result)


def swimmer_frame(n: int) -> pd.DataFrame:
    """``n`` patients S01, S02... in CR after CART2, none relapsed, all alive.

    CART2 on 2020-01-01, CR on day 30, last follow-up on day 100 + k for patient k, so
    patient k is in remission for 70 + k days: the longer, the later the patient.
    """
    day0 = pd.Timestamp("2020-01-01")
    rows = []
    for k in range(1, n + 1):
        patient = f"S{k:02d}"
        end = day0 + pd.Timedelta(days=100 + k)
        rows += [(patient, 1, day0 - pd.Timedelta(days=200), False, pd.NaT, end),
                 (patient, 2, day0, True, day0 + pd.Timedelta(days=30), end)]
    frame = pd.DataFrame(rows, columns=["patient_id", "infusion", "date", "complete_response",
                                        "response_date", "last_followup_date"])
    frame["patient_id"] = frame["patient_id"].astype("string")
    frame["infusion"] = frame["infusion"].astype("Int64")
    frame["complete_response"] = frame["complete_response"].astype("boolean")
    for column in ("relapse_date", "death_date"):
        frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for column in ("relapse_phenotype", "relapse_site_group"):
        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["hsct_after"] = pd.array([False] * len(frame), dtype="boolean")
    return with_follow_up(frame)


def test_swimmer_caps_lanes_with_a_note() -> None:
    result = draw("swimmer", swimmer_frame(45))
    data = result.data
    note = "Showing 40 of 45 patients in CR after CART2, longest remission first"
    assert (data["max_lanes"], data["shown"], data["eligible"], data["n_patients"]) \
        == (40, 40, 45, 45)
    assert data["note"] == note
    assert result.figure.axes[0].get_title(loc="left") == note
    # Longest remission first: S45 (115 days) down to S06 (76 days); S01-S05 not drawn.
    lanes = data["lanes"]
    assert [lane["patient_id"] for lane in lanes] == [f"S{k:02d}" for k in range(45, 5, -1)]
    assert lanes[0]["remission_days"] == 115 and lanes[-1]["remission_days"] == 76
    assert [lane["lane"] for lane in lanes] == list(range(40))
    ticks = [t.get_text() for t in result.figure.axes[0].get_yticklabels()]
    assert len(ticks) == 40 and "S05" not in ticks
    # Median remission over all 45 eligible patients (71 ... 115 days): the 23rd, 93.
    assert data["median_remission_days"] == 93.0
    # 40 lanes would need 0.24 x 40 + 1.45 = 11.05 in: capped at a 9 in page.
    assert result.figure.get_size_inches()[1] == pytest.approx(9.0)


def test_swimmer_cap_follows_the_sort_and_counts_all_eligible() -> None:
    # hand_frame: P01 (90 days in remission, lane 214 days), P02 (189, 365), P03 (40, 366).
    result = draw("swimmer", max_lanes=2)
    data = result.data
    assert [lane["patient_id"] for lane in data["lanes"]] == ["P02", "P01"]
    assert (data["shown"], data["eligible"]) == (2, 3)
    assert result.figure.axes[0].get_title(loc="left") \
        == "Showing 2 of 3 patients in CR after CART2, longest remission first"
    # Relapses and deaths of all eligible patients, drawn or not (P03 relapsed and died).
    assert data["n_relapsed"] == 2 and data["n_died"] == 1
    # Two lanes and the line of the note: 0.24 x 2 + 1.45 + 0.15 in.
    assert result.figure.get_size_inches()[1] == pytest.approx(2.08)
    data = draw("swimmer", sort="followup", max_lanes=1).data
    assert [lane["patient_id"] for lane in data["lanes"]] == ["P03"]
    assert data["note"] == "Showing 1 of 3 patients in CR after CART2, longest follow-up first"


def test_swimmer_under_the_cap_has_no_note() -> None:
    result = draw("swimmer", max_lanes=3)
    assert (result.data["shown"], result.data["eligible"]) == (3, 3)
    assert result.data["note"] is None
    assert result.figure.axes[0].get_title(loc="left") == ""
    # Unchanged size: 0.24 in per lane + 1.45 in.
    assert result.figure.get_size_inches()[1] == pytest.approx(0.24 * 3 + 1.45)


# --- paired_expansion ----------------------------------------------------------------------

def test_paired_expansion_pairs_zeros_and_skips() -> None:
    data = draw("paired_expansion").data
    peaks = {p["patient_id"]: (p["peak_1"], p["peak_2"]) for p in data["patients"]}
    # P04 has no CART2 peak (skipped), P05 no reinfusion.
    assert peaks == {"P01": (120.5, 0.0), "P02": (10.0, 2.5), "P03": (0.35, 0.0),
                     "P06": (8.0, 1.0)}
    assert data["n_pairs"] == 4
    assert data["n_per_infusion"] == {"CART1": 4, "CART2": 4}
    assert data["zeros"] == {"CART1": 0, "CART2": 2}
    assert data["skipped"] == {"missing_first": 0, "missing_second": 1, "missing_both": 0,
                               "not_paired": 1}
    # Medians: (8 + 10) / 2 = 9 and (0 + 1) / 2 = 0.5 (zeros count as values).
    assert data["summary"]["CART1"] == {"n": 4, "median": 9.0, "min": 0.35, "max": 120.5}
    assert data["summary"]["CART2"]["median"] == 0.5
    assert data["n_missing_ld_class"] == 1  # P06
    by_id = {p["patient_id"]: p for p in data["patients"]}
    assert by_id["P01"]["ld_class_2"] == "intensified"
    assert by_id["P01"]["objective_response_2"] is True


def test_paired_expansion_zero_band_is_labelled() -> None:
    result = draw("paired_expansion")
    ax = result.figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "0 (not\ndetected)"
    # 0.35 to 120.5 cells/uL: decades 0.1 ... 1,000.
    assert labels[1:] == ["0.1", "1", "10", "100", "1,000"]
    assert "n = 2" in texts(result)  # the two zeros at CART2, counted on the band


def test_paired_expansion_all_zero_and_no_pairs() -> None:
    frame = hand_frame()
    frame["peak_car_per_ul"] = 0.0
    result = draw("paired_expansion", frame)
    assert result.data["zeros"] == {"CART1": 5, "CART2": 5}
    assert "No detectable expansion after either infusion" in texts(result)
    frame["peak_car_per_ul"] = np.nan
    result = draw("paired_expansion", frame)
    assert result.data["n_pairs"] == 0 and result.data["skipped"]["missing_both"] == 5
    assert NO_PATIENTS in texts(result)


# --- paired_values -------------------------------------------------------------------------

def test_paired_values_pairs_and_medians() -> None:
    data = draw("paired_values", variable="abc_cd22_pre").data
    pairs = {p["patient_id"]: (p["before_1"], p["before_2"], p["change"])
             for p in data["pairs"]}
    assert pairs == {"P01": (3500.0, 1800.0, -1700.0), "P03": (4100.0, 4100.0, 0.0),
                     "P04": (1200.0, 900.0, -300.0)}
    # P02 lacks the value before CART1, P06 both; P05 has no reinfusion.
    assert data["skipped"] == {"missing_first": 1, "missing_second": 0, "missing_both": 1,
                               "not_paired": 1}
    # Medians of (3500, 4100, 1200) and (1800, 4100, 900).
    assert data["summary"]["CART1"]["median"] == 3500.0
    assert data["summary"]["CART2"]["median"] == 1800.0
    assert (data["n_increased"], data["n_decreased"]) == (0, 2)
    both = {p["patient_id"]: p["both_antigens"] for p in data["pairs"]}
    assert both == {"P01": True, "P03": False, "P04": False}  # only P01 has CD19 ABC too


def test_paired_values_no_pairs() -> None:
    frame = hand_frame()
    frame.loc[frame["infusion"] == 1, "abc_cd19_pre"] = np.nan
    result = draw("paired_values", frame, variable="abc_cd19_pre")
    assert result.data["n_pairs"] == 0 and result.data["pairs"] == []
    assert result.data["skipped"]["missing_first"] == 1  # P01 still has CART2's value
    assert NO_PATIENTS in texts(result)


# --- make_figure and save_figure -----------------------------------------------------------

ALL_SPECS = [("response_by_infusion", {}), ("grade_distribution", {"variable": "crs_grade"}),
             ("swimmer", {}), ("paired_expansion", {}),
             ("paired_values", {"variable": "abc_cd22_pre"})]

#: Kinds that need columns this hand frame lacks, tested in a module of their own.
OWN_MODULE = {"kaplan_meier", "swimmer_course"}  # tests/figures/test_<kind>.py


def test_every_kind_is_tested() -> None:
    assert {kind for kind, _ in ALL_SPECS} | OWN_MODULE == set(FIGURE_KINDS)


@pytest.mark.parametrize(("kind", "params"), ALL_SPECS)
def test_save_figure_writes_greyscale_png_and_svg(tmp_path: Path, kind: str,
                                                  params: dict[str, Any]) -> None:
    result = draw(kind, **params)
    assert result.title == "CART1 and CART2" and result.caption == "Caption for CART2."
    assert result.data["kind"] == kind
    paths = save_figure(result, tmp_path / "out")
    assert set(paths) == {"png", "svg"}
    assert paths["png"].name == f"fig_{kind}.png"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths["svg"].read_bytes()[:2000]
    with Image.open(paths["png"]) as image:
        # Journal widths at 300 dpi: 3.5 in single column, 7 in for the swimmer.
        assert image.size[0] == (2100 if kind == "swimmer" else 1050)
        assert image.info["dpi"][0] == pytest.approx(300, abs=0.5)
        rgb = np.asarray(image.convert("RGB")).astype(int)
    # Greyscale only: every pixel has R = G = B, so nothing depends on colour.
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    # Same data, same bytes (no dates or random ids in the files).
    again = save_figure(draw(kind, **params), tmp_path / "again")
    assert again["svg"].read_bytes() == paths["svg"].read_bytes()
    assert again["png"].read_bytes() == paths["png"].read_bytes()


def test_custom_labels_fill_titles_and_axes() -> None:
    result = make_figure(hand_frame(), spec("paired_expansion"), {1: "first", 2: "second"})
    assert result.title == "first and second"
    ticks = [t.get_text() for t in result.figure.axes[0].get_xticklabels()]
    assert ticks == ["first\nn = 4", "second\nn = 4"]
    assert fill_placeholders("{label3} {x}", LABELS) == "infusion 3 {x}"


@pytest.mark.parametrize(("kind", "params", "expected"), [
    ("bar_chart", {}, ["fig_bar_chart", "unknown kind 'bar_chart'", "swimmer",
                       "paired_values"]),
    ("grade_distribution", {}, ["fig_grade_distribution", "grade_distribution",
                                "missing parameter(s) variable", "variable (required)"]),
    ("swimmer", {"sortt": "remission"}, ["fig_swimmer", "unknown parameter(s) sortt",
                                         "sort (default 'remission')",
                                         "infusion (default 2)", "max_lanes (default 40)"]),
    ("swimmer", {"max_lanes": 0}, ["fig_swimmer", "'max_lanes' is 0", "whole number >= 1"]),
    ("response_by_infusion", {"max_patients": 2.5}, ["fig_response_by_infusion",
                                                     "'max_patients' is 2.5",
                                                     "whole number >= 1"]),
    ("response_by_infusion", {"max_patients": True}, ["'max_patients' is True"]),
    ("grade_distribution", {"variable": "age_years"}, ["fig_grade_distribution",
                                                       "'age_years'",
                                                       "crs_grade, neurotox_grade"]),
    ("paired_values", {"variable": "abc_cd20_pre"}, ["abc_cd19_pre, abc_cd22_pre"]),
    ("swimmer", {"sort": "age"}, ["'age'", "remission, followup, patient_id"]),
    ("swimmer", {"infusion": "2"}, ["'2'", "infusion number"]),
])
def test_plan_errors_name_figure_kind_and_what_is_allowed(
        kind: str, params: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(PlanError) as info:
        make_figure(hand_frame(), spec(kind, **params), LABELS)
    for text in expected:
        assert text in str(info.value)


def test_missing_column_is_a_plan_error() -> None:
    frame = hand_frame().drop(columns=["peak_car_per_ul"])
    with pytest.raises(PlanError, match=r"fig_paired_expansion.*peak_car_per_ul"):
        make_figure(frame, spec("paired_expansion"), LABELS)


# --- realistic frames ----------------------------------------------------------------------

def _synthetic_frame(tmp_path: Path) -> pd.DataFrame:
    from reinfuse.derive import derive
    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort
    from reinfuse.validate import load_cohort

    write_cohort(synth_cohort(60, seed=4), tmp_path / "cohort", overwrite=True)
    frame = derive(load_cohort(tmp_path / "cohort"))
    return frame[frame["n_infusions"] >= 2]


def test_default_plan_figures_on_a_synthetic_cohort(tmp_path: Path) -> None:
    from reinfuse.plan import default_plan

    frame = _synthetic_frame(tmp_path)
    plan = default_plan()
    reinfused = frame["patient_id"].nunique()
    for figure_spec in plan.figures:
        result = make_figure(frame, figure_spec, plan.infusion_labels)
        json.dumps(result.data, allow_nan=False)
        assert "{label" not in result.title + result.caption
        if figure_spec.kind == "response_by_infusion":
            assert result.data["n_patients"] == reinfused
        if figure_spec.kind == "swimmer":
            in_cr = frame.loc[(frame["infusion"] == 2)
                              & frame["complete_response"].fillna(False).astype(bool)]
            assert result.data["n_patients"] == len(in_cr)
            assert all(lane["end_day"] >= lane["cr_day"] >= 0
                       for lane in result.data["lanes"])


@pytest.mark.parametrize(("kind", "params"), ALL_SPECS)
def test_a_frame_without_rows_gives_the_no_patients_figure(kind: str,
                                                           params: dict[str, Any]) -> None:
    result = draw(kind, hand_frame().iloc[0:0], **params)
    assert NO_PATIENTS in texts(result)


def test_default_plan_figures_on_the_demo_cohort(tmp_path: Path) -> None:
    from reinfuse.derive import derive
    from reinfuse.plan import default_plan
    from reinfuse.validate import load_cohort

    demo = Path(__file__).parents[2] / "src/reinfuse/demo/data/demo_cohort.xlsx"
    if not demo.exists():
        pytest.skip("the demo cohort is not built yet")
    frame = derive(load_cohort(demo))
    frame = frame[frame["n_infusions"] >= 2]
    plan = default_plan()
    for figure_spec in plan.figures:
        result = make_figure(frame, figure_spec, plan.infusion_labels)
        json.dumps(result.data, allow_nan=False)
        save_figure(result, tmp_path)


def test_swimmer_relapse_recorded_on_a_later_row(tmp_path) -> None:
    # CR after CART2 on day 28, CART3 on day 100, relapse on day 300 recorded on the CART3
    # row: the lane shows the relapse (day 300) and its remission statistic is derive's
    # (censored at CART3: 100 - 28 = 72 days).
    import pandas as pd

    from reinfuse.figures import make_figure
    from reinfuse.plan import FigureSpec

    day0 = pd.Timestamp("2020-01-01")
    frame = pd.DataFrame({
        "patient_id": ["A", "A", "A"], "infusion": [1, 2, 3],
        "date": [day0 - pd.Timedelta(days=200), day0, day0 + pd.Timedelta(days=100)],
        "complete_response": pd.array([False, True, False], dtype="boolean"),
        "response_date": [pd.NaT, day0 + pd.Timedelta(days=28), pd.NaT],
        "relapse_date": [pd.NaT, pd.NaT, day0 + pd.Timedelta(days=300)],
        "first_relapse_date": [day0 + pd.Timedelta(days=300)] * 3,
        "remission_days": [pd.NA, 72, pd.NA],
        "relapse_phenotype": pd.array([None, None, "other"], dtype="string"),
        "relapse_site_group": pd.array([None, None, "marrow only"], dtype="string"),
        "hsct_after": pd.array([False, False, False], dtype="boolean"),
        "hsct_date": [pd.NaT] * 3,
        "last_followup_date": [pd.NaT, pd.NaT, day0 + pd.Timedelta(days=400)],
        "death_date": [pd.NaT] * 3,
        # derive's follow-up: last contact on day 400 from CART2, alive
        "followup_days": [600, 400, 300], "death_event": [False] * 3,
    })
    spec = FigureSpec(id="s", kind="swimmer", title="t", caption="c", params={})
    data = make_figure(frame, spec, {1: "CART1", 2: "CART2"}).data
    (lane,) = data["lanes"]
    assert lane["relapse_day"] == 300
    assert lane["remission_days"] == 72


def test_swimmer_lane_ends_where_derive_ends_follow_up() -> None:
    """Issue 9: the lane end was max(last follow-up, death) while derive ends follow-up at
    death. A death on 2020-03-01 with a last contact typed as 2020-05-01 (an entry error
    validation reports) ends follow-up at the death: day 60 after the 2020-01-01 CART2
    (31 + 29), not day 121."""
    day0 = pd.Timestamp("2020-01-01")
    frame = pd.DataFrame({
        "patient_id": pd.array(["A", "A"], dtype="string"),
        "infusion": pd.array([1, 2], dtype="Int64"),
        "date": [day0 - pd.Timedelta(days=100), day0],
        "complete_response": pd.array([False, True], dtype="boolean"),
        "response_date": [pd.NaT, day0 + pd.Timedelta(days=28)],
        "relapse_date": [pd.NaT, pd.NaT],
        "relapse_phenotype": pd.array([None, None], dtype="string"),
        "relapse_site_group": pd.array([None, None], dtype="string"),
        "hsct_after": pd.array([False, False], dtype="boolean"),
        "last_followup_date": [pd.NaT, pd.Timestamp("2020-05-01")],
        "death_date": [pd.NaT, pd.Timestamp("2020-03-01")],
    })
    (lane,) = draw("swimmer", with_follow_up(frame)).data["lanes"]
    assert (lane["end_day"], lane["death_day"], lane["remission_days"]) == (60, 60, 32)
