"""The ``swimmer_course`` figure kind: lanes, status segments, events, order, groups, cap.

The frame is written by hand (not by ``reinfuse.derive``): four reinfused patients and one
with a single infusion, with dates chosen so that every day below is counted by hand in a
comment (days between two calendar dates; 2020 is a leap year) and every segment follows
from the rules in the ``swimmer_course`` docstring.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tests.conftest import with_follow_up

from reinfuse.errors import PlanError
from reinfuse.figures import FigureResult, make_figure, save_figure
from reinfuse.figures._common import NO_PATIENTS
from reinfuse.plan import FigureSpec

LABELS = {1: "CART1", 2: "CART2"}

ESCAPE = "antigen escape, CAR persistent"
LOSS = "CAR loss, antigen preserved"

# patient, infusion, date, best_response, response_date, relapse_date, phenotype,
# site_group, crs_grade, hsct_after, hsct_date, last_followup, death, target, indication
ROWS = [
    # P1: CR after CART1, CNS relapse, CART2 with grade 3 CRS and no CR, died.
    ("P1", 1, "2020-01-01", "CR", "2020-01-29", "2020-05-01", ESCAPE, "CNS", 1, False, None,
     "2020-06-01", None, "CD19", None),
    ("P1", 2, "2020-06-01", "PD", "2020-06-29", None, None, None, 3, False, None,
     "2020-09-01", "2020-09-01", "CD19", "relapse"),
    # P2: no CR after CART1, CR after CART2, transplant with a date, alive.
    ("P2", 1, "2019-03-01", "SD", "2019-03-29", None, None, None, 2, False, None,
     "2019-05-01", None, "CD22", None),
    ("P2", 2, "2019-05-01", "CR", "2019-05-29", None, None, None, 0, True, "2019-08-01",
     "2020-05-01", None, "CD22", "persistent_disease"),
    # P3: CR after CART1, CART2 given in remission (grade 4 CRS, CR again), transplant
    # without a date, alive.
    ("P3", 1, "2021-01-10", "CR", "2021-02-07", None, None, None, 0, False, None,
     "2021-06-10", None, "CD19", None),
    ("P3", 2, "2021-06-10", "CR", "2021-07-08", None, None, None, 4, True, None,
     "2022-01-10", None, "CD19", "relapse_prevention"),
    # P4: a CR without its date, relapse, CART2 without a response; no target.
    ("P4", 1, "2018-01-01", "CR", None, "2018-07-01", LOSS, "marrow and EMD", 2, False, None,
     "2018-07-20", None, None, None),
    ("P4", 2, "2018-07-20", None, None, None, None, None, None, False, None,
     "2019-01-20", None, None, "relapse"),
    # P5: one infusion and no date of last follow-up or death: no lane.
    ("P5", 1, "2020-03-01", "CR", "2020-03-30", None, None, None, 0, False, None,
     None, None, "CD22", None),
]
COLUMNS = ["patient_id", "infusion", "date", "best_response", "response_date",
           "relapse_date", "relapse_phenotype", "relapse_site_group", "crs_grade",
           "hsct_after", "hsct_date", "last_followup_date", "death_date", "target",
           "indication"]


def hand_frame() -> pd.DataFrame:
    """The rows above with the analysis frame's dtypes and ``complete_response``."""
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    for column in ("date", "response_date", "relapse_date", "hsct_date",
                   "last_followup_date", "death_date"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("patient_id", "best_response", "relapse_phenotype", "relapse_site_group",
                   "target", "indication"):
        frame[column] = frame[column].astype("string")
    for column in ("infusion", "crs_grade"):
        frame[column] = frame[column].astype("Int64")
    frame["hsct_after"] = frame["hsct_after"].astype("boolean")
    complete = frame["best_response"].isin(["CR", "CRi"]).astype("boolean")
    frame["complete_response"] = complete.mask(frame["best_response"].isna())
    frame["n_infusions"] = frame.groupby("patient_id")["infusion"].transform("size")
    return with_follow_up(frame)


def draw(frame: pd.DataFrame | None = None, **params: Any) -> FigureResult:
    spec = FigureSpec(id="fig_course", kind="swimmer_course", title="Course after {label2}",
                      caption="", params=params)
    result = make_figure(hand_frame() if frame is None else frame, spec, LABELS)
    json.dumps(result.data, allow_nan=False)  # JSON-ready, no NaN
    return result


def lanes(result: FigureResult) -> dict[str, dict[str, Any]]:
    return {lane["patient_id"]: lane for lane in result.data["lanes"]}


def segments(lane: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [(s["start"], s["end"], s["status"]) for s in lane["segments"]]


def events(lane: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["kind"], e["day"], e["infusion"], e["detail"], e["site_code"], e["date_known"])
            for e in lane["events"]]


def order(result: FigureResult) -> list[str]:
    return [lane["patient_id"] for lane in result.data["lanes"]]


def texts(result: FigureResult) -> list[str]:
    return [t.get_text() for ax in result.figure.axes for t in ax.texts]


# --- lanes from the first infusion -----------------------------------------------------------

def test_segments_and_events_from_the_first_infusion() -> None:
    result = draw()
    by_id = lanes(result)
    assert set(by_id) == {"P1", "P2", "P3", "P4"}  # P5 has no end of follow-up
    p1, p2, p3, p4 = (by_id[p] for p in ("P1", "P2", "P3", "P4"))
    # P1 from 2020-01-01: CR 2020-01-29 = day 28; relapse 2020-05-01 = 31 + 29 + 31 + 30
    # = day 121; CART2 2020-06-01 = 121 + 31 = day 152; death 2020-09-01 = 152 + 30 + 31
    # + 31 = day 244. Active to the CR, in remission to the relapse, relapsed to CART2;
    # no CR after CART2 (PD; its response date is not a CR date), so active to the end.
    assert segments(p1) == [(0, 28, "active disease"), (28, 121, "in remission"),
                            (121, 152, "relapsed"), (152, 244, "active disease")]
    assert p1["infusions"] == [{"infusion": 1, "label": "CART1", "day": 0},
                               {"infusion": 2, "label": "CART2", "day": 152}]
    assert events(p1) == [("relapse", 121, 1, ESCAPE, "^", True),
                          ("severe_crs", 152, 2, "grade 3 after CART2", None, True),
                          ("death", 244, None, None, None, True)]
    assert (p1["start_day"], p1["end_day"], p1["death_day"]) == (0, 244, 244)
    assert p1["alive"] is False and p1["arrow"] is False
    # P2 from 2019-03-01: CART2 2019-05-01 = 31 + 30 = day 61; CR 2019-05-29 = day 89;
    # HSCT 2019-08-01 = 89 + 3 + 30 + 31 = day 153; last follow-up 2020-05-01 = 366
    # (to 2020-03-01, over 29 Feb 2020) + 31 + 30 = day 427. SD after CART1: active to CART2.
    assert segments(p2) == [(0, 61, "active disease"), (61, 89, "active disease"),
                            (89, 427, "in remission")]
    assert events(p2) == [("transplant", 153, 2, "after CART2", None, True)]
    assert p2["alive"] is True and p2["arrow"] is True and p2["death_day"] is None
    # P3 from 2021-01-10: CR 2021-02-07 = day 28; CART2 2021-06-10 = 31 + 28 + 31 + 30 + 31
    # = day 151, given in remission (no relapse) and followed by a CR (2021-07-08, day 179),
    # so the lane stays in remission from CART2 to the last follow-up 2022-01-10 = day 365.
    assert segments(p3) == [(0, 28, "active disease"), (28, 151, "in remission"),
                            (151, 365, "in remission")]
    # Grade 4 CRS at CART2 (>= 3); the transplant has no date: at the lane end, flagged.
    assert events(p3) == [("severe_crs", 151, 2, "grade 4 after CART2", None, True),
                          ("transplant", 365, 2, "after CART2, date not recorded", None,
                           False)]
    # P4 from 2018-01-01: a CR without a date and a CART2 without a response -> status
    # unknown over both intervals; CART2 2018-07-20 = 31+28+31+30+31+30+19 = day 200; last
    # follow-up 2019-01-20 = 200 + 12 + 31 + 30 + 31 + 30 + 31 + 19 = day 384. The relapse
    # (2018-07-01 = day 181) is still marked, with & for marrow and EMD.
    assert segments(p4) == [(0, 200, "unknown"), (200, 384, "unknown")]
    assert events(p4) == [("relapse", 181, 1, LOSS, "&", True)]
    assert result.data["skipped"] == {"missing_origin_date": 0, "missing_end_of_followup": 1,
                                      "missing_infusion_date": 0, "missing_response_date": 1}
    assert (result.data["n_patients"], result.data["eligible"], result.data["shown"]) \
        == (5, 4, 4)
    assert result.data["event_counts"] == {"severe_crs": 2, "relapse": 2, "transplant": 2,
                                           "death": 1}
    assert result.data["n_alive"] == 3


def test_best_response_and_remission_at_the_reinfusion() -> None:
    by_id = lanes(draw())
    # Remission from CART2 on: P2 89 -> 427 = 338 days; P3 151 -> 365 = 214; P1 (PD) and
    # P4 (no response) none.
    assert {p: (lane["best_response"], lane["remission_days"]) for p, lane in by_id.items()} \
        == {"P1": ("PD", 0), "P2": ("CR", 338), "P3": ("CR", 214), "P4": (None, 0)}


def test_no_calendar_dates_and_axis_label() -> None:
    result = draw()
    text = json.dumps(result.data)
    assert not any(year in text for year in ("2018", "2019", "2020", "2021", "2022"))
    assert result.figure.axes[0].get_xlabel() == "Days since first infusion"
    assert result.data["x_label"] == "Days since first infusion"


# --- origin at the reinfusion ----------------------------------------------------------------

def test_origin_reinfusion_shifts_every_day() -> None:
    result = draw(origin="reinfusion")
    by_id = lanes(result)
    # P1: every day minus CART2's day 152; what came before it is negative.
    assert segments(by_id["P1"]) == [(-152, -124, "active disease"),
                                     (-124, -31, "in remission"), (-31, 0, "relapsed"),
                                     (0, 92, "active disease")]
    assert [(e["kind"], e["day"]) for e in by_id["P1"]["events"]] \
        == [("relapse", -31), ("severe_crs", 0), ("death", 92)]
    assert (by_id["P1"]["start_day"], by_id["P1"]["end_day"]) == (-152, 92)
    # P2 minus 61: CR 28, HSCT 92, end 366; P3 minus 151: end 214; P4 minus 200: end 184.
    assert segments(by_id["P2"])[-1] == (28, 366, "in remission")
    assert by_id["P2"]["events"][0]["day"] == 92
    assert (by_id["P3"]["end_day"], by_id["P4"]["end_day"]) == (214, 184)
    assert [i["day"] for i in by_id["P3"]["infusions"]] == [-151, 0]
    # P5 has no CART2: no lane, counted.
    assert result.data["skipped"]["without_infusion_2"] == 1
    assert result.data["skipped"]["missing_end_of_followup"] == 0
    assert result.figure.axes[0].get_xlabel() == "Days since CART2"


# --- order and groups ------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["P2", "P4", "P3", "P1"]),                         # lanes of 427, 384, 365, 244 days
    ({"origin": "reinfusion"}, ["P2", "P3", "P4", "P1"]),   # 366, 214, 184, 92 days
    ({"sort": "patient_id"}, ["P1", "P2", "P3", "P4"]),
    # CART2 response: CR (P2, P3; longer follow-up first), PD (P1), missing (P4) last.
    ({"sort": "response"}, ["P2", "P3", "P1", "P4"]),
    # Remission from CART2: 338 (P2), 214 (P3), then 0 for P4 and P1 by follow-up.
    ({"sort": "remission"}, ["P2", "P3", "P4", "P1"]),
])
def test_lane_order(params: dict[str, Any], expected: list[str]) -> None:
    result = draw(**params)
    assert order(result) == expected
    assert [lane["lane"] for lane in result.data["lanes"]] == [0, 1, 2, 3]
    ticks = [t.get_text() for t in result.figure.axes[0].get_yticklabels()]
    assert ticks == expected


def test_stratify_groups_lanes_in_sorted_order_with_unknown_last() -> None:
    result = draw(stratify="target")
    # CD19: P3 (365 days), P1 (244); CD22: P2; P4 has no target: "unknown", last.
    assert order(result) == ["P3", "P1", "P2", "P4"]
    assert [lane["group"] for lane in result.data["lanes"]] == ["CD19", "CD19", "CD22",
                                                                "unknown"]
    assert result.data["groups"] == [{"group": "CD19", "eligible": 2, "shown": 2},
                                     {"group": "CD22", "eligible": 1, "shown": 1},
                                     {"group": "unknown", "eligible": 1, "shown": 1}]
    labels = [t for t in texts(result) if t.startswith("target:")]
    assert labels == ["target: CD19 (n = 2)", "target: CD22 (n = 1)",
                      "target: unknown (n = 1)"]
    separators = [line for line in result.figure.axes[0].lines
                  if line.get_gid() == "group-separator"]
    assert len(separators) == 2  # above the second and third groups
    # Each group's label takes a lane slot: 4 lanes + 3 labels.
    assert result.figure.get_size_inches()[1] == pytest.approx(0.24 * 7 + 2.0)


def test_stratify_uses_the_value_at_the_reinfusion() -> None:
    # indication is recorded on CART2 rows only (CART1 rows are missing).
    result = draw(stratify="indication")
    assert [(lane["patient_id"], lane["group"]) for lane in result.data["lanes"]] == [
        ("P2", "persistent_disease"), ("P4", "relapse"), ("P1", "relapse"),
        ("P3", "relapse_prevention")]


def test_numeric_groups_sort_as_numbers() -> None:
    frame = hand_frame()
    frame["dose_level"] = pd.array([9, 10, 10, 10, 9, 9, None, None, 9], dtype="Int64")
    result = draw(frame, stratify="dose_level")
    # At CART2: P1 10, P2 10, P3 9, P4 missing; 9 before 10.
    assert [g["group"] for g in result.data["groups"]] == ["9", "10", "unknown"]
    assert order(result) == ["P3", "P2", "P1", "P4"]


# --- the cap ---------------------------------------------------------------------------------

def test_cap_keeps_the_first_lanes_and_says_so() -> None:
    result = draw(max_lanes=2)
    assert order(result) == ["P2", "P4"]
    assert (result.data["shown"], result.data["eligible"]) == (2, 4)
    note = "Showing 2 of 4 patients, longest follow-up first"
    assert result.data["note"] == note
    assert result.figure.axes[0].get_title(loc="left") == note
    # Capped in sort order, then grouped: CD22 (P2) before unknown (P4); CD19 none shown.
    result = draw(max_lanes=2, stratify="target")
    assert order(result) == ["P2", "P4"]
    assert result.data["groups"][0] == {"group": "CD19", "eligible": 2, "shown": 0}
    assert draw(max_lanes=4).data["note"] is None


def many(n: int) -> pd.DataFrame:
    """``n`` patients S01, S02..., two infusions 60 days apart, patient k followed 100 + k
    days from the first, no response recorded as CR, all alive."""
    rows = []
    for k in range(1, n + 1):
        day0 = pd.Timestamp("2020-01-01")
        end = day0 + pd.Timedelta(days=100 + k)
        rows += [(f"S{k:02d}", 1, day0, "PD", day0 + pd.Timedelta(days=60)),
                 (f"S{k:02d}", 2, day0 + pd.Timedelta(days=60), "PD", end)]
    frame = pd.DataFrame(rows, columns=["patient_id", "infusion", "date", "best_response",
                                        "last_followup_date"])
    frame["patient_id"] = frame["patient_id"].astype("string")
    frame["infusion"] = frame["infusion"].astype("Int64")
    frame["best_response"] = frame["best_response"].astype("string")
    frame["complete_response"] = pd.array([False] * len(frame), dtype="boolean")
    for column in ("response_date", "relapse_date", "death_date"):
        frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for column in ("relapse_phenotype", "relapse_site_group"):
        frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["crs_grade"] = pd.array([0] * len(frame), dtype="Int64")
    frame["hsct_after"] = pd.array([False] * len(frame), dtype="boolean")
    return with_follow_up(frame)


def test_cap_at_forty_lanes_on_a_page() -> None:
    result = draw(many(45))
    data = result.data
    assert (data["max_lanes"], data["shown"], data["eligible"]) == (40, 40, 45)
    assert data["note"] == "Showing 40 of 45 patients, longest follow-up first"
    # Longest first: S45 (145 days) down to S06 (106); S01-S05 not drawn.
    assert order(result) == [f"S{k:02d}" for k in range(45, 5, -1)]
    assert data["lanes"][0]["end_day"] == 145 and data["lanes"][-1]["end_day"] == 106
    # 40 lanes would take 0.24 x 40 + 2 = 11.6 in: capped at a 9 in page.
    assert result.figure.get_size_inches() == pytest.approx((7.0, 9.0))
    # Without a transplant date column (optional in the cohort format) nothing breaks.
    assert data["transplant_date_unknown"]["n"] == 0


# --- transplants -----------------------------------------------------------------------------

def test_transplant_without_a_date_goes_to_the_lane_end() -> None:
    data = draw().data
    assert data["transplant_date_unknown"]["n"] == 1
    assert data["transplant_date_unknown"]["patients"] == ["P3"]
    assert "date" in data["transplant_date_unknown"]["note"]
    # Without the optional hsct_date column, P2's transplant is undated too: at day 427.
    frame = hand_frame().drop(columns=["hsct_date"])
    result = draw(frame)
    assert events(lanes(result)["P2"]) == [
        ("transplant", 427, 2, "after CART2, date not recorded", None, False)]
    assert result.data["transplant_date_unknown"]["patients"] == ["P2", "P3"]
    assert "Transplant (HSCT)" not in result.data["legend"]


def test_transplant_date_extends_the_lane() -> None:
    frame = hand_frame()
    # A transplant dated after the last follow-up (an inconsistency validation reports):
    # P2's lane reaches it, 2020-06-01 = 427 + 31 = day 458.
    frame.loc[(frame["patient_id"] == "P2") & (frame["infusion"] == 2), "hsct_date"] = \
        pd.Timestamp("2020-06-01")
    lane = lanes(draw(frame))["P2"]
    assert lane["end_day"] == 458 and segments(lane)[-1] == (89, 458, "in remission")


# --- missing dates and no patients -----------------------------------------------------------

def test_missing_dates_are_skipped_and_counted() -> None:
    frame = hand_frame()
    frame.loc[(frame["patient_id"] == "P2") & (frame["infusion"] == 1), "date"] = pd.NaT
    result = draw(frame)
    assert "P2" not in lanes(result)
    assert result.data["skipped"]["missing_origin_date"] == 1
    # From CART2 on, P2 keeps a lane without its CART1 row (not drawn, counted).
    result = draw(frame, origin="reinfusion")
    p2 = lanes(result)["P2"]
    assert segments(p2) == [(0, 28, "active disease"), (28, 366, "in remission")]
    assert p2["infusions"] == [{"infusion": 2, "label": "CART2", "day": 0}]
    assert result.data["skipped"]["missing_infusion_date"] == 1


@pytest.mark.parametrize("rows", [slice(0, 0), slice(8, 9)])  # no rows; P5 only
def test_no_patients_to_show(rows: slice) -> None:
    result = draw(hand_frame().iloc[rows])
    assert NO_PATIENTS in texts(result)
    assert result.data["lanes"] == [] and result.data["shown"] == 0
    assert result.figure.get_size_inches()[0] == pytest.approx(7.0)


# --- the drawing -----------------------------------------------------------------------------

def test_legend_lists_what_is_drawn() -> None:
    result = draw()
    assert result.data["legend"] == [
        "Active disease", "In remission (CR)", "Relapsed",
        "Status unknown (NE / not recorded)", "CART1", "CART2",
        "CRS grade ≥ 3 (above infusion)", "Relapse, antigen escape (CAR persistent)",
        "Relapse, CAR loss (antigen preserved)", "Transplant (HSCT)",
        "HSCT, date unknown (above lane end)", "Death", "Alive at last follow-up"]
    legend = result.figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == result.data["legend"]
    assert legend.get_title().get_text() == "Relapse site: ^ CNS; & marrow and EMD"
    assert "^" in texts(result) and "&" in texts(result)
    # Four lanes: 0.24 x 4 + 2 in, double column.
    assert result.figure.get_size_inches() == pytest.approx((7.0, 2.96))
    # Journal fonts: 7-8 pt everywhere.
    sizes = {t.get_fontsize() for t in result.figure.findobj(
        lambda a: hasattr(a, "get_fontsize") and a.get_visible() and a.get_text())}
    assert min(sizes) >= 7 and max(sizes) <= 8


def test_severe_crs_threshold() -> None:
    # From grade 2: P1 CART1 (1) no, P2 CART1 (2) and P4 CART1 (2) yes, plus the two >= 3.
    data = draw(severe_crs=2).data
    assert data["event_counts"]["severe_crs"] == 4
    assert "CRS grade ≥ 2 (above infusion)" in data["legend"]
    assert draw(severe_crs=5).data["event_counts"]["severe_crs"] == 0


@pytest.mark.parametrize(("params", "expected"), [
    ({"origin": "last"}, ["'origin' is 'last'", "first, reinfusion"]),
    ({"sort": "age"}, ["'age'", "followup, patient_id, response, remission"]),
    ({"stratify": "trial"}, ["no column(s) trial"]),
    ({"stratify": 3}, ["'stratify' is 3"]),
    ({"severe_crs": 0}, ["'severe_crs' is 0", "1 to 5"]),
    ({"max_lanes": 0}, ["'max_lanes' is 0"]),
    ({"colour": "red"}, ["unknown parameter(s) colour", "origin (default 'first')",
                         "stratify (default None)"]),
])
def test_plan_errors(params: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(PlanError) as info:
        draw(**params)
    for text in ["fig_course", *expected]:
        assert text in str(info.value)


@pytest.mark.parametrize("params", [{}, {"origin": "reinfusion", "stratify": "target"}])
def test_save_figure_writes_greyscale_png_and_svg(tmp_path: Path,
                                                  params: dict[str, Any]) -> None:
    paths = save_figure(draw(**params), tmp_path / "out")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths["svg"].read_bytes()[:2000]
    with Image.open(paths["png"]) as image:
        assert image.size[0] == 2100  # 7 in at 300 dpi
        assert image.info["dpi"][0] == pytest.approx(300, abs=0.5)
        rgb = np.asarray(image.convert("RGB")).astype(int)
    # Greyscale only: every pixel has R = G = B.
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    again = save_figure(draw(**params), tmp_path / "again")
    assert again["png"].read_bytes() == paths["png"].read_bytes()
    assert again["svg"].read_bytes() == paths["svg"].read_bytes()


def test_synthetic_cohort(tmp_path: Path) -> None:
    from reinfuse.derive import derive
    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort
    from reinfuse.validate import load_cohort

    write_cohort(synth_cohort(120, seed=7), tmp_path / "cohort", overwrite=True)
    frame = derive(load_cohort(tmp_path / "cohort"))
    frame = frame[frame["n_infusions"] >= 2]
    for params in ({}, {"origin": "reinfusion", "sort": "response", "stratify": "target"}):
        result = draw(frame, **params)
        data = result.data
        assert data["eligible"] == frame["patient_id"].nunique()
        for lane in data["lanes"]:
            # Segments tile the lane from the first infusion to its end, without gaps.
            bounds = [(s["start"], s["end"]) for s in lane["segments"]]
            assert bounds[0][0] == lane["start_day"] and bounds[-1][1] == lane["end_day"]
            assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        save_figure(result, tmp_path / "figures")


def test_capped_group_label_says_how_many_are_shown() -> None:
    # Top 3 by follow-up: P2, P4, P3; P1 (CD19, 244 days) is left out.
    result = draw(max_lanes=3, stratify="target")
    assert [t for t in texts(result) if t.startswith("target:")] == [
        "target: CD19 (1 of 2 shown)", "target: CD22 (n = 1)", "target: unknown (n = 1)"]


def test_months_axis_keeps_days_in_the_data() -> None:
    # Ticks by hand: a month is 365.25 / 12 = 30.4375 days, so 3 months = 91.3125 days.
    days = draw()
    months = draw(time_unit="months")
    assert months.data["x_label"] == "Months since first infusion"
    assert months.data["lanes"] == days.data["lanes"]  # times stay in days
    ax = months.figure.axes[0]
    positions = ax.get_xticks()
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert all(float(name) * 30.4375 == pytest.approx(pos) for name, pos in
               zip(names, positions, strict=True))
    assert "Days since" in days.data["x_label"]
