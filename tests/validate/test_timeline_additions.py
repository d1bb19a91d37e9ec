"""Timeline additions to the cohort format (issue 10): response states as coordinators
record them, status before the first infusion, reason for leaving the study, B-cell
aplasia / recovery assessments. All optional: a cohort without them reads as before.

Truth table of the response-state mapping (reference: docs/cohort-format.md,
best_response; clinical-definitions.md "Response": CR requires count recovery, CRi is CR
without it; stable disease = neither CR/PR nor progression):

| recorded       | read as | why                                                      |
|----------------|---------|----------------------------------------------------------|
| CR/CRi         | CRi     | remission, count recovery not stated (as missing counts) |
| CR or CRi      | CRi     | same                                                     |
| RD             | SD      | resistant disease: no CR, CRi or PR, not progression     |
| resistant disease | SD   | same, spelt out                                          |
| CR             | CR      | unchanged                                                |
| PD             | PD      | progression stays progression                            |
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reinfuse.io.read import read_raw
from reinfuse.schema import COHORT_V1
from reinfuse.validate import validate


@pytest.mark.parametrize(("recorded", "read_as"), [
    ("CR/CRi", "CRi"), ("CR or CRi", "CRi"), ("RD", "SD"), ("resistant disease", "SD"),
    ("CR", "CR"), ("PD", "PD"),
])
def test_response_states_truth_table(recorded: str, read_as: str) -> None:
    column = COHORT_V1.table("infusions").column("best_response")
    from reinfuse.schema import normalise_code

    assert column.lookup()[normalise_code(recorded)] == read_as


def test_new_columns_and_bcell_sheet_validate(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    folder: Path = write_cohort_csv(
        edits=[("infusions", 1, "best_response", "RD")],
        extra_columns={"patients": {
            "status_before_first_infusion": ["R/R", "MRD+"],
            "off_study_reason": ["died", ""],
            "off_study_date": ["2018-09-01", ""]}})
    # B-cell assessments: P1 aplasia after CART1, recovery on day 60 (before CART2);
    # a row for an infusion that does not exist is reported, not dropped.
    pd.DataFrame({"patient_id": ["P1", "P1", "P2"], "infusion": ["1", "1", "2"],
                  "day": ["28", "60", "28"], "bcells_per_ul": ["0", "85", "1"],
                  "bcell_status": ["BCA", "recovered", "aplasia"]}).to_csv(
        folder / "bcell_assessments.csv", index=False)
    report = validate(read_raw(folder))
    errors = [(f.sheet, f.rule) for f in report.errors]
    assert errors == [("bcell_assessments", "observation-unknown-infusion")]
    patients = report.cohort.patients.set_index("patient_id")
    assert patients.loc["P1", "status_before_first_infusion"] == "relapsed_refractory"
    assert patients.loc["P2", "status_before_first_infusion"] == "mrd_positive"
    assert patients.loc["P1", "off_study_reason"] == "death"
    assert pd.isna(patients.loc["P2", "off_study_reason"])  # blank: not recorded
    assert report.cohort.infusions["best_response"].tolist() == ["CR", "SD", "CR"]
    assert report.cohort.tables["bcell_assessments"]["bcell_status"].tolist() == [
        "aplasia", "recovery", "aplasia"]


def test_cohort_without_the_additions_has_no_new_finding(write_cohort_csv) -> None:  # type: ignore[no-untyped-def]
    report = validate(read_raw(write_cohort_csv()))
    new = {"status_before_first_infusion", "off_study_reason", "off_study_date"}
    assert not [f for f in report.findings if f.column in new
                or f.sheet == "bcell_assessments"]
