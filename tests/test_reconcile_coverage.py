"""Never lose what the chart says: the vignettes of issue 8 on raw observations.

Each cohort is the hand-written conftest cohort (P1: infusion 1 on 2018-01-10 at age 12,
reinfused on 2018-05-01; P2: one infusion) with a recorded grade changed and raw observation
rows written here. Every expected grade is worked by hand from the ASTCT consensus (Lee et
al., Biol Blood Marrow Transplant 2019;25:625-638): CRS grade 1 fever >= 38 C alone, 2 with
hypotension needing fluids only, 3 one vasopressor, 4 several vasopressors; ICANS grade 1
ICE 7-9, 2 ICE 3-6, 4 diffuse cerebral oedema. Spreadsheet rows count the header as row 1.
The coverage rules tested are those of docs/validation.md ("Raw observations and recorded
values").
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reinfuse.cli import main
from reinfuse.cohort import SOURCE_ROW
from reinfuse.io.read import read_raw
from reinfuse.plan import default_plan_text, parse_plan
from reinfuse.validate import validate

KEY = ["patient_id", "infusion"]
CRS_HEADER = ("patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
              "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n")
ICANS_HEADER = ("patient_id,infusion,day,ice_score,capd_score,consciousness,sedated,seizure,"
                "motor_weakness,cerebral_edema,raised_icp_signs,other_cause,death_from_icans\n")

# P1 infusion 1, days 0-6: ICE 10, 8, 5, 5, 8, 10, 10 (grades 0, 1, 2, 2, 1, 0, 0), alert,
# no seizure or weakness. The worst is grade 2, first on day 2 (row 4).
ICE = (10, 8, 5, 5, 8, 10, 10)


def _icans(edema: str) -> str:
    return ICANS_HEADER + "".join(
        f"P1,1,{day},{ice},,alert,no,none,no,{edema},no,no,no\n" for day, ice in enumerate(ICE))


# P1 infusion 1: day 0 afebrile (0); day 1 39.0 C (1); day 2 39.5 C with fluids (2); day 3
# in intensive care on two vasopressors (4); day 4 38.6 C with fluids (2); day 5 afebrile (0).
CRS_DAYS = {
    0: "P1,1,0,37.0,no,none,0,no,room_air,,no,no\n",
    1: "P1,1,1,39.0,no,none,0,no,room_air,,no,no\n",
    2: "P1,1,2,39.5,no,fluids,0,no,room_air,,no,no\n",
    3: "P1,1,3,39.8,no,vasopressors,2,no,room_air,,no,no\n",
    4: "P1,1,4,38.6,no,fluids,0,no,room_air,,no,no\n",
    5: "P1,1,5,37.0,no,none,0,no,room_air,,no,no\n",
}


def _cohort(write_cohort_csv, edits=(), name: str = "cohort",  # type: ignore[no-untyped-def]
            **sheets: str) -> Path:
    folder = write_cohort_csv(list(edits), name=name)
    for name, text in sheets.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def _used(report, column: str):  # type: ignore[no-untyped-def]
    return report.reconciled.infusions.set_index(KEY).loc[("P1", 1), column]


def _only(report, rule: str):  # type: ignore[no-untyped-def]
    (finding,) = [f for f in report.findings if f.rule == rule]
    return finding


# === vignette: recorded ICANS 4 (cerebral oedema in the chart), observations to grade 2 ===

@pytest.mark.parametrize("prefer", [None, "recorded"])
def test_recorded_icans_4_stands_beside_a_derived_2(write_cohort_csv, prefer: str) -> None:
    folder = _cohort(write_cohort_csv, [("infusions", 0, "neurotox_grade", "4")],
                     icans_observations=_icans("none"))
    report = validate(read_raw(folder), prefer=prefer)  # type: ignore[arg-type]
    assert _used(report, "neurotox_grade") == 4
    assert _used(report, "neurotox_grade_derived") == 2
    warning = _only(report, "derived-differs-from-recorded")
    assert (warning.sheet, warning.row, warning.column) == ("infusions", 2, "neurotox_grade")
    assert (warning.value, warning.expected) == ("4", "2")
    # the deciding observation: sheet, row, day and rule
    assert "icans_observations row 4" in warning.message
    assert "day 2: grade 2: ICE score 3-6" in warning.message
    assert warning.message.endswith("the recorded value is used.")


def test_lower_icans_applied_with_prefer_derived_when_covered(write_cohort_csv) -> None:
    # Days 0-6 all observed, the last normal: the observations cover the infusion, so the
    # lower derived grade is applied, and the warning says it is lower.
    folder = _cohort(write_cohort_csv, [("infusions", 0, "neurotox_grade", "4")],
                     icans_observations=_icans("none"))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "neurotox_grade") == 2
    warning = _only(report, "derived-lower-applied")
    assert "LOWER than the recorded one" in warning.message
    assert "every day from day 0 to day 6, the last with grade 0" in warning.message
    assert "icans_observations row 4" in warning.message
    assert not [f for f in report.findings if f.rule == "derived-differs-from-recorded"]


def test_blank_oedema_does_not_lower_a_recorded_icans_4(write_cohort_csv) -> None:
    # The oedema was never transcribed (blank: unknown, not "none"). Diffuse oedema is ICANS
    # 4, so the observations may have supported the recorded 4: kept even with --prefer
    # derived. (Whether the blank cell leaves the rows ungradable or graded from what is
    # known depends on the grading of blank cells; either way the 4 stays, with a reason.)
    folder = _cohort(write_cohort_csv, [("infusions", 0, "neurotox_grade", "4")],
                     icans_observations=_icans(""))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "neurotox_grade") == 4
    reasons = [f for f in report.findings
               if f.rule in ("observations-incomplete", "observation-not-gradable")]
    assert len(reasons) == 1
    if reasons[0].rule == "observations-incomplete":
        assert "blank (unknown) cerebral_edema" in reasons[0].message
        assert "reach grade 4" in reasons[0].message


def test_blank_oxygen_keeps_a_recorded_crs_3(write_cohort_csv) -> None:
    # Recorded CRS 3. Days 0-5 all observed, the worst known finding is fever with fluids
    # (grade 2), but day 3's oxygen cell is blank: positive-pressure ventilation there would
    # be grade 4, so the observations do not show the 3 was wrong; kept with --prefer
    # derived (the criteria leave the row ungraded, or the blank is found to reach 4).
    rows = "".join(CRS_DAYS.values()).replace(
        "P1,1,3,39.8,no,vasopressors,2,no,room_air,", "P1,1,3,39.8,no,fluids,0,no,,")
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "3")],
                     crs_observations=CRS_HEADER + rows)
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "crs_grade") == 3
    reasons = [f for f in report.findings
               if f.rule in ("observations-incomplete", "observation-not-gradable")]
    assert len(reasons) == 1
    if reasons[0].rule == "observations-incomplete":
        assert "blank (unknown) oxygen" in reasons[0].message


# The benign course of CRS_DAYS (grade 2 at most: day 3 with fluids only), on P1's second
# infusion, with death_from_crs left blank on every row.
BLANK_DEATH = "".join(CRS_DAYS.values()).replace(
    "vasopressors,2,no,room_air", "fluids,0,no,room_air").replace(",no,no\n", ",no,\n")


def test_blank_death_cell_keeps_the_grade_of_a_patient_who_died(write_cohort_csv) -> None:
    # P1 died (death_date on infusion 2). A blank death_from_crs cell is unknown: death from
    # CRS would be grade 5, so the recorded 3 stands even with --prefer derived.
    folder = _cohort(write_cohort_csv, [("infusions", 1, "crs_grade", "3")],
                     crs_observations=CRS_HEADER + BLANK_DEATH.replace("P1,1,", "P1,2,"))
    report = validate(read_raw(folder), prefer="derived")
    infusions = report.reconciled.infusions.set_index(KEY)
    assert infusions.loc[("P1", 2), "crs_grade"] == 3
    reasons = [f for f in report.findings
               if f.rule in ("observations-incomplete", "observation-not-gradable")]
    assert len(reasons) == 1 and reasons[0].row == 3
    if reasons[0].rule == "observations-incomplete":
        message = reasons[0].message
        assert "blank (unknown) death_from_crs" in message and "reach grade 5" in message


def test_blank_death_cell_is_harmless_when_no_death_is_recorded(write_cohort_csv) -> None:
    # The same rows on infusion 1, whose row records no death: the blank death cells cannot
    # reach the recorded 4 (ASTCT grade 5 is death from CRS), and the rest is complete, so
    # the lower derived grade is applied; never "observations-incomplete" for them.
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "4")],
                     crs_observations=CRS_HEADER + BLANK_DEATH)
    report = validate(read_raw(folder), prefer="derived")
    assert not [f for f in report.findings if f.rule == "observations-incomplete"]
    rules = {f.rule for f in report.findings if f.sheet == "infusions"}
    if "observation-not-gradable" in rules:  # blank death cells left ungraded by criteria
        assert _used(report, "crs_grade") == 4
    else:
        assert rules == {"derived-lower-applied"} and _used(report, "crs_grade") == 2


# === vignette: recorded CRS 4, the intensive-care day not transcribed =====================

@pytest.mark.parametrize("prefer", ["recorded", "derived"])
def test_recorded_crs_4_kept_when_the_icu_day_is_missing(write_cohort_csv, prefer: str) -> None:
    rows = "".join(text for day, text in CRS_DAYS.items() if day != 3)
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "4")],
                     crs_observations=CRS_HEADER + rows)
    report = validate(read_raw(folder), prefer=prefer)  # type: ignore[arg-type]
    assert _used(report, "crs_grade") == 4
    assert _used(report, "crs_grade_derived") == 2
    warning = _only(report, "observations-incomplete")
    assert (warning.row, warning.column, warning.value, warning.expected) == (
        2, "crs_grade", "4", "2")
    assert "no observation on day(s) 3" in warning.message
    assert "crs_observations row 4" in warning.message  # day 2, the derived grade's day
    assert warning.message.endswith("the recorded value is used.")


def test_recorded_crs_kept_when_the_observations_stop_during_the_syndrome(
        write_cohort_csv) -> None:
    # Only days 0-2 transcribed; day 2 is still CRS grade 2, so the course may have gone on.
    rows = "".join(CRS_DAYS[day] for day in (0, 1, 2))
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "4")],
                     crs_observations=CRS_HEADER + rows)
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "crs_grade") == 4
    warning = _only(report, "observations-incomplete")
    assert "the last observation (day 2) still shows grade 2" in warning.message


def test_lower_crs_applied_with_prefer_derived_when_covered(write_cohort_csv) -> None:
    # Every day 0-5 observed, day 3 with fluids only (grade 2): the chart's 4 is not borne
    # out by the complete observations; applied with --prefer derived, said explicitly.
    rows = "".join(CRS_DAYS.values()).replace(
        "P1,1,3,39.8,no,vasopressors,2,no", "P1,1,3,39.8,no,fluids,0,no")
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "4")],
                     crs_observations=CRS_HEADER + rows)
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "crs_grade") == 2
    warning = _only(report, "derived-lower-applied")
    assert (warning.value, warning.expected) == ("4", "2")
    assert "every day from day 0 to day 5, the last with grade 0" in warning.message
    # the default keeps the chart's value
    report = validate(read_raw(folder))
    assert _used(report, "crs_grade") == 4


def test_full_course_gives_the_recorded_grade_without_warning(write_cohort_csv) -> None:
    folder = _cohort(write_cohort_csv, [("infusions", 0, "crs_grade", "4")],
                     crs_observations=CRS_HEADER + "".join(CRS_DAYS.values()))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "crs_grade") == 4 and _used(report, "crs_grade_derived") == 4
    assert [f.rule for f in report.findings if f.sheet == "infusions"] == []


def test_icans_blank_recorded_grade_is_filled(write_cohort_csv) -> None:
    folder = _cohort(write_cohort_csv, [("infusions", 0, "neurotox_grade", "")],
                     icans_observations=_icans("none"))
    report = validate(read_raw(folder))
    assert _used(report, "neurotox_grade") == 2
    filled = _only(report, "derived-fills-blank")
    assert "icans_observations row 4" in filled.message


# === expansion and assessments ============================================================

def _counts(days_values: dict[int, float]) -> str:
    return "patient_id,infusion,day,compartment,value,unit\n" + "".join(
        f"P1,1,{day},blood,{value},cells_per_ul\n" for day, value in days_values.items())


def test_lower_peak_applied_only_when_sampled_weekly(write_cohort_csv) -> None:
    # Recorded peak 120.5 cells/uL. Weekly counts (days 0, 7, 14, 21, 28) peaking at 80:
    # the sampling catches the peak, 80 is applied with --prefer derived.
    weekly = {0: 0, 7: 80, 14: 40, 21: 10, 28: 2}
    folder = _cohort(write_cohort_csv, car_counts=_counts(weekly))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "peak_car_per_ul") == 80
    assert "at most 7 days apart" in _only(report, "derived-lower-applied").message
    # Counts on days 0, 21 and 28 only: days 1-20 unsampled, the recorded peak is kept.
    folder = _cohort(write_cohort_csv, name="sparse", car_counts=_counts({0: 0, 21: 10, 28: 2}))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "peak_car_per_ul") == 120.5
    warning = _only(report, "observations-incomplete")
    assert "no blood count from day 0 to day 21" in warning.message


ASSESS_HEADER = ("patient_id,infusion,day,marrow_blasts_pct,mrd_pct,csf_wbc_per_ul,"
                 "csf_rbc_per_ul,csf_blasts,csf_flow_positive,blood_wbc,blood_rbc,"
                 "cns_clinical_signs,emd,anc,platelets\n")


def test_response_kept_without_an_assessment_on_the_recorded_date(write_cohort_csv) -> None:
    # Recorded CR on 2018-02-07 (day 28). The sheet has no day-28 marrow, only day 35 with
    # 2 % blasts and platelets 60 (no count recovery: CRi). Nothing shows what the day-28
    # marrow showed: CR stays, even with --prefer derived.
    folder = _cohort(write_cohort_csv, disease_assessments=ASSESS_HEADER + (
        "P1,1,-5,60,55,1,0,no,no,,,no,no,,\n"
        "P1,1,35,2,0,0,0,no,no,,,no,no,1.5,60\n"
        "P1,1,81,20,18,,,,,,,,no,,\n"))
    report = validate(read_raw(folder), prefer="derived")
    assert _used(report, "best_response") == "CR"
    assert _used(report, "best_response_derived") == "CRi"
    hits = {f.column: f for f in report.findings if f.rule == "observations-incomplete"}
    assert set(hits) == {"best_response", "response_date"}
    assert ("no assessment on the recorded response date (day 28); the assessments after "
            "the infusion are on day(s) 35, 81") in hits["best_response"].message


# === the observation window is a plan option =============================================

def _plan(derive: str) -> str:
    return default_plan_text().replace(
        "[abbreviations]", "[plan.derive]\n" + derive + "\n\n[abbreviations]", 1)


WINDOW_ROWS = (CRS_HEADER + "P1,1,1,38.5,no,none,0,no,room_air,,no,no\n"
               "P1,1,20,39.0,no,vasopressors,1,no,room_air,,no,no\n")


@pytest.mark.parametrize(("derive", "grade", "outside"), [
    ("", 3, 0),                                   # default days 0-30: day 20 counts
    ("observation_window_days = [0, 14]", 1, 1),  # day 20 is outside: only day 1 counts
    ("observation_window_days = [10, 30]", 3, 1),  # day 1 is outside
])
def test_plan_window_decides_which_observations_count(write_cohort_csv, derive: str,
                                                      grade: int, outside: int) -> None:
    folder = _cohort(write_cohort_csv, crs_observations=WINDOW_ROWS)
    options = parse_plan(_plan(derive)).derive_options()
    report = validate(read_raw(folder), options=options)
    assert _used(report, "crs_grade_derived") == grade
    assert len([f for f in report.findings if f.rule == "observation-outside-window"]) == outside


def test_cli_plan_window_and_prefer(write_cohort_csv, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = _cohort(write_cohort_csv, crs_observations=WINDOW_ROWS)
    plan = tmp_path / "plan.toml"
    plan.write_text(_plan('observation_window_days = [0, 14]\nprefer = "derived"'))
    assert main(["validate", str(folder), "--plan", str(plan), "--format", "json"]) == 0
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)]
    # Day 20 is outside the plan's window. Day 1 (grade 1) is below the recorded 2, but day
    # 0 is not observed and day 1, the last, still shows CRS: the recorded 2 is kept.
    assert any("fall outside days 0-14" in m for m in messages)
    assert any("the recorded value is used." in m and "still shows grade 1" in m
               for m in messages)
    # --prefer on the command line wins over the plan's; the default window counts day 20.
    assert main(["validate", str(folder), "--prefer", "derived", "--format", "json"]) == 0
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)]
    assert any(m.endswith("the derived value is used.") for m in messages)
    assert main(["validate", str(folder), "--format", "json"]) == 0
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)]
    assert any(m.endswith("the recorded value is used.") for m in messages)


# === the derived value reaches the analysis frame and the report's warnings ================

def test_derived_value_reaches_the_frame_and_results_json(write_cohort_csv,
                                                          tmp_path: Path) -> None:
    from reinfuse.derive import derive
    from reinfuse.pipeline import build_report
    from reinfuse.plan import default_plan
    from reinfuse.validate import load_cohort

    folder = _cohort(write_cohort_csv, [("infusions", 0, "neurotox_grade", "4")],
                     icans_observations=_icans("none"))
    cohort = load_cohort(folder)
    frame = derive(cohort).set_index(KEY)
    assert frame.loc[("P1", 1), "neurotox_grade"] == 4
    assert frame.loc[("P1", 1), "neurotox_grade_derived"] == 2
    assert "icans_observations row 4" in frame.loc[("P1", 1), "neurotox_grade_derived_from"]
    output = build_report(cohort, default_plan(), tmp_path / "out")
    results = json.loads(output.results_json.read_text(encoding="utf-8"))
    (warning,) = [w for w in results["warnings"] if w["column"] == "neurotox_grade"]
    assert "icans_observations row 4" in warning["message"]
    assert (warning["value"], warning["expected"]) == ("4", "2")
    assert '"prefer": "recorded"' in json.dumps(results)


# === the policy as a truth table ===========================================================

@pytest.mark.parametrize(("prefer", "recorded", "derived", "gap", "used", "rule"), [
    # higher derived: an observation shows it; used only with prefer="derived"
    ("recorded", 2, 3, None, 2, "derived-differs-from-recorded"),
    ("derived", 2, 3, None, 3, "derived-differs-from-recorded"),
    ("derived", 2, 5, "no observation on day(s) 3", 5, "derived-differs-from-recorded"),
    # lower derived: needs coverage, else the recorded value stands whatever prefer says
    ("recorded", 4, 2, "no observation on day(s) 3", 4, "observations-incomplete"),
    ("derived", 4, 2, "no observation on day(s) 3", 4, "observations-incomplete"),
    ("recorded", 4, 2, None, 4, "derived-differs-from-recorded"),
    ("derived", 4, 2, None, 2, "derived-lower-applied"),
    # blank recorded: filled either way (a gap is mentioned, not blocking)
    ("recorded", None, 2, None, 2, "derived-fills-blank"),
    ("derived", None, 2, "no observation on day(s) 3", 2, "derived-fills-blank"),
    # agreement, or nothing derived: no finding, recorded value
    ("derived", 3, 3, "no observation on day(s) 3", 3, None),
    ("derived", 3, None, None, 3, None),
])
def test_policy_truth_table(prefer: str, recorded: int | None, derived: int | None,
                            gap: str | None, used: int, rule: str | None) -> None:
    # (imported here: reinfuse.reconcile is loaded through reinfuse.validate, above)
    from reinfuse.reconcile import _lower, _reconcile_column

    infusions = pd.DataFrame({"patient_id": pd.array(["P1"], dtype="string"),
                              "infusion": pd.array([1], dtype="Int64"),
                              "crs_grade": pd.array([recorded], dtype="Int64"),
                              SOURCE_ROW: [2]})
    index = pd.MultiIndex.from_frame(infusions[KEY])
    summary = pd.DataFrame({"derived": pd.array([derived], dtype="Int64"),
                            "because": ["day 3: rule; crs_observations row 5"]}, index=index)
    coverage = pd.DataFrame({"gap": pd.array([gap], dtype="string"),
                             "covers": ["an observation on every day from day 0 to day 9"]},
                            index=index)
    out, findings = _reconcile_column(
        infusions, summary, "crs_grade", sheet="crs_observations", what="CRS grade",
        prefer=prefer, coverage=coverage, needs_cover=_lower, ordinal=True)  # type: ignore[arg-type]
    assert out["crs_grade"].iloc[0] == used
    assert [f.rule for f in findings] == ([rule] if rule else [])
    if rule == "observations-incomplete":
        assert gap is not None and gap in findings[0].message
    if derived is None:
        assert out["crs_grade_derived"].isna().all()
    else:
        assert out["crs_grade_derived"].iloc[0] == derived
