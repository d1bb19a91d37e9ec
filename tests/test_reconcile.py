"""Raw observations vs recorded summaries: the derived value wins, every difference warns.

Expected grades are worked out by hand from the ASTCT consensus (Lee et al. 2019) as
summarised in clinical-definitions.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reinfuse.io.read import read_raw
from reinfuse.validate import validate

HEADER = ("patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
          "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n")
# P1 infusion 1 (recorded grade 2): day 1 fever only (grade 1); day 2 fever with one
# vasopressor (grade 3). P2 infusion 1 (recorded grade 1): day 1 fever only (grade 1).
ROWS = ("P1,1,1,38.5,no,none,0,no,room_air,,no,no\n"
        "P1,1,2,39.0,no,vasopressors,1,no,room_air,,no,no\n"
        "P2,1,1,38.2,no,none,0,no,room_air,,no,no\n")


def _folder(write_cohort_csv) -> Path:  # type: ignore[no-untyped-def]
    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(HEADER + ROWS)
    return folder


def test_disagreement_is_a_warning_and_derived_value_is_used(write_cohort_csv) -> None:
    report = validate(read_raw(_folder(write_cohort_csv)))
    assert report.ok
    warnings = [f for f in report.findings if f.rule == "derived-differs-from-recorded"]
    assert len(warnings) == 1  # P2 agrees (grade 1 recorded and derived)
    warning = warnings[0]
    assert (warning.sheet, warning.row, warning.column) == ("infusions", 2, "crs_grade")
    assert (warning.value, warning.expected) == ("2", "3")
    assert "day 2" in warning.message and "crs_observations row 3" in warning.message
    assert "vasopressor" in warning.message
    infusions = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert infusions.loc[("P1", 1), "crs_grade"] == 3
    assert infusions.loc[("P2", 1), "crs_grade"] == 1


def test_prefer_recorded_keeps_the_chart_value(write_cohort_csv) -> None:
    report = validate(read_raw(_folder(write_cohort_csv)), prefer="recorded")
    infusions = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert infusions.loc[("P1", 1), "crs_grade"] == 2
    assert any(f.rule == "derived-differs-from-recorded" for f in report.findings)


def test_derived_fills_missing_recorded_value(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 0, "crs_grade", "")])
    (folder / "crs_observations.csv").write_text(HEADER + ROWS)
    report = validate(read_raw(folder), prefer="recorded")
    infusions = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert infusions.loc[("P1", 1), "crs_grade"] == 3
    assert not any(f.rule == "derived-differs-from-recorded" for f in report.findings)


@pytest.mark.parametrize(("rows", "expected"), [
    # Tocilizumab given: fever no longer required; fluids only -> grade 2.
    ("P1,1,1,37.0,yes,fluids,0,no,room_air,,no,no\n", 2),
    # 37.9 C without anti-cytokine therapy is not fever: not CRS, grade 0.
    ("P1,1,1,37.9,no,fluids,0,no,room_air,,no,no\n", 0),
    # Vasopressin plus one vasopressor: vasopressin does not count toward "multiple": 3.
    ("P1,1,1,39.0,no,vasopressors,1,yes,room_air,,no,no\n", 3),
    # Two vasopressors: grade 4.
    ("P1,1,1,39.0,no,vasopressors,2,no,room_air,,no,no\n", 4),
])
def test_grades_follow_astct(write_cohort_csv, rows: str, expected: int) -> None:
    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(HEADER + rows)
    report = validate(read_raw(folder))
    infusions = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert infusions.loc[("P1", 1), "crs_grade"] == expected


def test_car_counts_give_the_peak(write_cohort_csv) -> None:
    folder = write_cohort_csv()
    # P1 infusion 1 recorded peak 120.5; counts peak at 150 on day 10 (days 0-28 window);
    # day 35 (outside the window) is ignored. P2 recorded 33 and counts agree.
    (folder / "car_counts.csv").write_text(
        "patient_id,infusion,day,compartment,value,unit\n"
        "P1,1,0,blood,0,cells_per_ul\nP1,1,10,blood,150,cells_per_ul\n"
        "P1,1,35,blood,900,cells_per_ul\nP1,1,14,marrow,2.5,percent_of_cells\n"
        "P2,1,7,blood,33,cells_per_ul\n")
    report = validate(read_raw(folder))
    assert report.ok
    warnings = [f for f in report.findings if f.rule == "derived-differs-from-recorded"]
    assert [(w.column, w.value, w.expected) for w in warnings] == [
        ("peak_car_per_ul", "120.5", "150")]
    assert "day 10" in warnings[0].message
    infusions = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert infusions.loc[("P1", 1), "peak_car_per_ul"] == 150
    assert infusions.loc[("P1", 2), "peak_car_per_ul"] == 0  # no counts: recorded kept
