"""Grading raw CRS/ICANS observations in reconciliation: blanks are unknown, centre options.

Expected grades are worked out by hand from the ASTCT consensus (Lee et al., Biol Blood
Marrow Transplant 2019;25:625-638) as summarised in clinical-definitions.md, and from the
vignettes of issue 8 (a blank ``sedated`` cell once pushed ICANS to 4).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reinfuse.errors import PlanError
from reinfuse.io.read import read_raw
from reinfuse.options import DeriveOptions
from reinfuse.plan import default_plan_text, parse_plan
from reinfuse.reconcile import grade_crs_observations, grade_icans_observations
from reinfuse.validate import ValidationReport, validate

KEY = ["patient_id", "infusion"]
CRS_HEADER = ("patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
              "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n")
ICANS_HEADER = ("patient_id,infusion,day,ice_score,capd_score,consciousness,sedated,seizure,"
                "motor_weakness,cerebral_edema,raised_icp_signs,other_cause,"
                "death_from_icans\n")


def _validated(write_cohort_csv, sheet: str, text: str,  # type: ignore[no-untyped-def]
               options: DeriveOptions | None = None, name: str = "cohort"
               ) -> ValidationReport:
    folder: Path = write_cohort_csv(name=name)
    (folder / f"{sheet}.csv").write_text(text)
    report = validate(read_raw(folder), options=options)
    assert report.ok, [f.message for f in report.findings if f.severity == "error"]
    return report


def _graded(report: ValidationReport, sheet: str) -> pd.DataFrame:
    from reinfuse.reconcile import reconcile

    return reconcile(report.cohort.tables).graded[sheet]


def _recorded(report: ValidationReport, column: str, patient: str, number: int) -> object:
    return report.reconciled.infusions.set_index(KEY).loc[(patient, number), column]


# --- blanks are unknown ----------------------------------------------------------------


def test_blank_sedated_no_longer_makes_icans_4(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    # Issue 8: P2 (age 20, recorded ICANS 1). Day 2: ICE 8, alert (grade 1). Day 4: ICE 0,
    # unarousable, `sedated` blank. Unarousable is grade 4 unless sedation explains it
    # (ASTCT: depressed consciousness due to sedating medication does not count), so day
    # 4 is 0 or 4: not gradable, and the recorded 1 is kept with a warning.
    text = ICANS_HEADER + ("P2,1,2,8,,alert,no,none,no,none,no,no,no\n"
                           "P2,1,4,0,,unarousable,,none,no,none,no,no,no\n")
    report = _validated(write_cohort_csv, "icans_observations", text)
    graded = _graded(report, "icans_observations").set_index("day")
    assert pd.isna(graded.loc[4.0, "grade"])
    assert graded.loc[4.0, "rule"] == "not gradable: sedation status missing"
    assert _recorded(report, "neurotox_grade", "P2", 1) == 1
    assert any(f.rule == "observation-not-gradable" for f in report.findings)


@pytest.mark.parametrize(("sedated", "grade"), [
    # ASTCT: sedation explains the unarousable state and the ICE 0 (not assessable): 0.
    ("yes", 0),
    # not sedated: unarousable -> grade 4
    ("no", 4),
])
def test_sedation_recorded_decides(write_cohort_csv, sedated: str, grade: int) -> None:  # type: ignore[no-untyped-def]
    text = ICANS_HEADER + f"P2,1,4,0,,unarousable,{sedated},none,no,none,no,no,no\n"
    graded = _graded(_validated(write_cohort_csv, "icans_observations", text),
                     "icans_observations")
    assert graded["grade"].tolist() == [grade]


@pytest.mark.parametrize(("cells", "grade", "rule"), [
    # seizure blank with ICE 8: a seizure would make it 3 or 4 -> not gradable
    ("8,,alert,no,,no,none,no,no,no", None, "not gradable: seizure missing"),
    # ASTCT: a prolonged seizure is 4; blank motor/edema/ICP cannot raise it further
    ("8,,alert,no,prolonged,,,,no,no", 4,
     "grade 4: prolonged (> 5 min) life-threatening seizure"),
    # cerebral_edema blank (no imaging) with ICE 5 (grade 2): focal edema would be 3
    ("5,,alert,no,none,no,,no,no,no", None, "not gradable: cerebral_edema missing"),
    # other_cause blank with ICE 5: attributed elsewhere it would be 0 -> not gradable
    ("5,,alert,no,none,no,none,no,,no", None, "not gradable: other_cause missing"),
    # every finding normal: other_cause cannot change a grade 0
    ("10,,alert,no,none,no,none,no,,no", 0, "grade 0: no ICANS findings"),
])
def test_blank_icans_domains_are_unknown(write_cohort_csv, cells: str, grade: int | None,  # type: ignore[no-untyped-def]
                                         rule: str) -> None:
    text = ICANS_HEADER + f"P2,1,3,{cells}\n"
    graded = _graded(_validated(write_cohort_csv, "icans_observations", text),
                     "icans_observations")
    assert [None if pd.isna(g) else int(g) for g in graded["grade"]] == [grade]
    assert graded["rule"].tolist() == [rule]


def test_blank_other_cause_on_a_crs_day_is_unknown(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    # P1 infusion 1 (recorded CRS 2): fever 39.0 with fluids (grade 2) and other_cause
    # blank: if the fever and hypotension came from sepsis it is not CRS (ASTCT) -> 0 or 2.
    text = CRS_HEADER + "P1,1,3,39.0,no,fluids,0,no,room_air,,,no\n"
    report = _validated(write_cohort_csv, "crs_observations", text)
    graded = _graded(report, "crs_observations")
    assert graded["grade"].isna().all()
    assert graded["rule"].tolist() == ["not gradable: other_cause missing"]
    assert _recorded(report, "crs_grade", "P1", 1) == 2


def test_blank_death_from_crs_is_no_only_on_a_day_survived() -> None:
    # Infusion on 2020-01-01, death on 2020-01-05 (day 4). One vasopressor with fever is
    # grade 3 (ASTCT); with death_from_crs blank: day 2 was survived, so it is no -> 3; on
    # day 4 the death could be from CRS (grade 5) -> not gradable.
    infusions = pd.DataFrame({
        "patient_id": ["A"], "infusion": [1], "date": pd.to_datetime(["2020-01-01"]),
        "death_date": pd.to_datetime(["2020-01-05"]),
        "last_followup_date": pd.to_datetime(["2020-01-05"])})
    observations = pd.DataFrame({
        "patient_id": ["A", "A"], "infusion": [1, 1], "day": [2.0, 4.0],
        "temperature_c": [39.0, 39.0], "anticytokine_or_antipyretic": ["no", "no"],
        "hypotension": ["vasopressors"] * 2, "vasopressors": [1, 1],
        "vasopressin": [False, False], "oxygen": ["room_air"] * 2,
        "oxygen_l_min": [None, None], "other_cause": [False, False],
        "death_from_crs": pd.array([None, None], dtype="boolean")})
    graded = grade_crs_observations(observations, infusions)
    assert graded["grade"].tolist()[0] == 3
    assert pd.isna(graded["grade"].tolist()[1])
    assert graded["rule"].tolist()[1] == "not gradable: death_from_crs missing"
    # without the infusions sheet nothing is known about survival: both unknown
    assert graded["grade"].notna().sum() == 1
    assert grade_crs_observations(observations)["grade"].isna().all()


@pytest.mark.parametrize(("therapy", "grade"), [
    # ASTCT: fever is no longer required once therapy is given for CRS -> fluids = 2
    ("yes", 2), ("for_crs", 2),
    # premedication on day 0 (before CRS began) does not waive fever -> not CRS
    ("premedication", 0),
])
def test_premedication_does_not_waive_fever(write_cohort_csv, therapy: str,  # type: ignore[no-untyped-def]
                                            grade: int) -> None:
    text = CRS_HEADER + f"P1,1,0,37.2,{therapy},fluids,0,no,room_air,,no,no\n"
    report = _validated(write_cohort_csv, "crs_observations", text)
    graded = _graded(report, "crs_observations")
    assert graded["grade"].tolist() == [grade]
    assert _recorded(report, "crs_grade_derived", "P1", 1) == grade  # beside the record


def test_assessment_tool_names_capd_for_an_older_patient(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    # P2 is 20 (ICE by age), but with developmental delay was assessed with the CAPD
    # (ASTCT pediatric table): CAPD 10 -> grade 3. Without the tool column age decides and
    # the ICE score is missing -> not gradable.
    header = ICANS_HEADER.rstrip("\n") + ",assessment_tool\n"
    text = header + "P2,1,3,,10,alert,no,none,no,none,no,no,no,capd\n"
    graded = _graded(_validated(write_cohort_csv, "icans_observations", text),
                     "icans_observations")
    assert graded["grade"].tolist() == [3]
    assert graded["rule"].tolist() == ["grade 3: CAPD score >= 9 (CAPD used)"]
    text = ICANS_HEADER + "P2,1,3,,10,alert,no,none,no,none,no,no,no\n"
    graded = _graded(_validated(write_cohort_csv, "icans_observations", text, name="no_tool"),
                     "icans_observations")
    assert graded["grade"].isna().all()


# --- centre options --------------------------------------------------------------------


def _crs_frame(**changes: object) -> pd.DataFrame:
    row = {"patient_id": "A", "infusion": 1, "day": 2.0, "temperature_c": 38.2,
           "anticytokine_or_antipyretic": "no", "hypotension": "none", "vasopressors": 0,
           "vasopressin": False, "oxygen": "room_air", "oxygen_l_min": None,
           "other_cause": False, "death_from_crs": False, **changes}
    return pd.DataFrame([row])


@pytest.mark.parametrize(("options", "changes", "grade"), [
    # ASTCT: 38.2 C is fever (>= 38.0) -> 1; a centre defining fever as >= 38.5 -> 0
    ({}, {}, 1),
    ({"fever_c": 38.5}, {}, 0),
    # ASTCT: 7 L/min is high-flow (> 6) -> 3; a centre's limit of 8 L/min -> 2
    ({}, {"oxygen": "nasal_cannula", "oxygen_l_min": 7}, 3),
    ({"low_flow_max_l_min": 8.0}, {"oxygen": "nasal_cannula", "oxygen_l_min": 7}, 2),
    # high-flow label at 4 L/min: graded by rate (2) or by label (3)
    ({}, {"oxygen": "high_flow_nasal_cannula", "oxygen_l_min": 4}, 2),
    ({"hfnc_at_low_rate": "label"}, {"oxygen": "high_flow_nasal_cannula",
                                     "oxygen_l_min": 4}, 3),
])
def test_crs_options_reach_the_grade(options: dict[str, object],
                                     changes: dict[str, object], grade: int) -> None:
    graded = grade_crs_observations(_crs_frame(**changes),
                                    options=DeriveOptions.from_mapping(options))
    assert graded["grade"].tolist() == [grade]


@pytest.mark.parametrize(("options", "age", "ice", "capd", "sedated", "consciousness",
                          "grade"), [
    # "< 12 years" (default): age 12 uses ICE 8 -> 1; "12 and under" (13): CAPD 12 -> 3
    ({}, 12.0, 8, 12, False, "alert", 1),
    ({"capd_age_below": 13.0}, 12.0, 8, 12, False, "alert", 3),
    # sedated (propofol), awakens to touch, ICE 2: excluded by default -> 0; counted -> 3
    ({}, 30.0, 2, None, True, "awakens_to_touch", 0),
    ({"sedation_excludes_scores": False}, 30.0, 2, None, True, "awakens_to_touch", 3),
])
def test_icans_options_reach_the_grade(options: dict[str, object], age: float, ice: object,
                                       capd: object, sedated: bool, consciousness: str,
                                       grade: int) -> None:
    infusions = pd.DataFrame({"patient_id": ["A"], "infusion": [1], "age_years": [age]})
    observations = pd.DataFrame([{
        "patient_id": "A", "infusion": 1, "day": 3.0, "ice_score": ice, "capd_score": capd,
        "consciousness": consciousness, "sedated": sedated, "seizure": "none",
        "motor_weakness": False, "cerebral_edema": "none", "raised_icp_signs": False,
        "other_cause": False, "death_from_icans": False}])
    graded = grade_icans_observations(observations, infusions,
                                      DeriveOptions.from_mapping(options))
    assert graded["grade"].tolist() == [grade]


def _plan_with(derive: str):  # type: ignore[no-untyped-def]
    text = default_plan_text().replace(
        "[abbreviations]", "[plan.derive]\n" + derive + "\n\n[abbreviations]", 1)
    return parse_plan(text)


def test_a_plan_setting_changes_a_derived_grade(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    # P2 (recorded CRS 1) had 38.2 C and nothing else: CRS 1 by ASTCT (>= 38.0 C). A plan
    # defining fever as >= 38.5 C derives 0 instead, with a warning against the record.
    text = CRS_HEADER + "P2,1,1,38.2,no,none,0,no,room_air,,no,no\n"
    default = _validated(write_cohort_csv, "crs_observations", text)
    assert _recorded(default, "crs_grade", "P2", 1) == 1
    options = _plan_with("fever_c = 38.5").derive_options()
    assert options.fever_c == 38.5
    report = _validated(write_cohort_csv, "crs_observations", text, options, name="plan")
    assert _recorded(report, "crs_grade_derived", "P2", 1) == 0
    # The lower derived grade rests on one observation (day 1; day 0 not observed): the
    # recorded grade stands and the warning says the observations do not cover it.
    assert _recorded(report, "crs_grade", "P2", 1) == 1
    assert any(f.rule == "observations-incomplete" for f in report.findings)
    # recorded in results.json through derive_options
    assert options.to_dict()["fever_c"] == 38.5


def test_grading_defaults_are_the_consensus_and_recorded() -> None:
    # ASTCT (Lee et al. 2019): fever >= 38.0 C, low-flow <= 6 L/min, CAPD below 12,
    # sedation does not count; high flow by rate.
    values = DeriveOptions().to_dict()
    assert {k: values[k] for k in ("fever_c", "low_flow_max_l_min", "hfnc_at_low_rate",
                                   "capd_age_below", "sedation_excludes_scores")} == {
        "fever_c": 38.0, "low_flow_max_l_min": 6.0, "hfnc_at_low_rate": "rate",
        "capd_age_below": 12.0, "sedation_excludes_scores": True}


def test_bad_grading_options_are_listed_at_once() -> None:
    with pytest.raises(PlanError) as info:
        _plan_with('fever_c = 100.4\nhfnc_at_low_rate = "labels"\ncapd_age_below = 0'
                   ).derive_options()
    message = str(info.value)
    assert "'hfnc_at_low_rate' is 'labels'; allowed: rate, label" in message
    with pytest.raises(PlanError) as info:
        _plan_with("fever_c = 100.4\ncapd_age_below = 0").derive_options()
    message = str(info.value)
    assert "'fever_c' must be degrees Celsius from 35 to 42, got 100.4" in message
    assert "'capd_age_below' must be an age from above 0 to 30 years, got 0" in message


def test_a_grade_taken_from_icans_observations_is_on_the_icans_scale(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    # P2's neurotoxicity grade left blank; its ICANS observations give grade 3 (day 2: ICE
    # 2, awake; ASTCT: ICE 0-2 is grade 3). The grade filled in is an ICANS grade, so it is
    # severe by the ICANS threshold (>= 3, Lee et al. 2019), not by the seed study's CTCAE
    # "> grade 3" that a blank scale would otherwise imply.
    from reinfuse.derive import derive

    folder: Path = write_cohort_csv([("infusions", 2, "neurotox_grade", "")])
    (folder / "icans_observations.csv").write_text(
        ICANS_HEADER + "".join(f"P2,1,{day},{ice},,alert,no,none,no,none,no,no,no\n"
                               for day, ice in ((0, 10), (1, 10), (2, 2), (3, 10))))
    report = validate(read_raw(folder))
    assert report.ok, [f.message for f in report.findings if f.severity == "error"]
    assert _recorded(report, "neurotox_grade", "P2", 1) == 3
    assert _recorded(report, "neurotox_scale", "P2", 1) == "icans"
    frame = derive(report.cohort).set_index(KEY)
    assert bool(frame.loc[("P2", 1), "neurotox_severe"]) is True
    assert frame.loc[("P2", 1), "neurotox_severe_scale"] == "icans"
