"""A cohort that validates must report: cross-row date orderings that derive relies on.

Issue 8: a blank ``last_followup_date`` on a reinfusion row, with an earlier row holding a
date before the reinfusion, crashed the report with ``durations must be >= 0 ([-73.0])``
and no patient named. Validation now reports it; derive, given such a cohort without
validation, names the patient, infusion and row.
"""

from __future__ import annotations

import pytest

from reinfuse.derive import derive
from reinfuse.errors import CohortValidationError
from reinfuse.io.read import read_raw
from reinfuse.validate import validate

# P1 (tests/conftest.py): infusion 1 on 2018-01-10 with last follow-up 2018-04-20,
# reinfusion on 2018-05-01. With the reinfusion row's follow-up and death blank, P1 is
# alive and followed until 2018-04-20: 2018-04-20 - 2018-05-01 = -11 days (by hand).
BLANK_REINFUSION_FOLLOWUP = [("infusions", 1, "last_followup_date", ""),
                             ("infusions", 1, "death_date", "")]


def test_blank_followup_on_reinfusion_is_a_validation_error(write_cohort_csv) -> None:
    report = validate(read_raw(write_cohort_csv(BLANK_REINFUSION_FOLLOWUP)))
    assert not report.ok
    hits = [f for f in report.errors if f.rule == "event-after-last-followup"]
    # The reinfusion date and its response (2018-05-29) both lie after 2018-04-20; the row
    # is reported once, at the earliest (the fix is the same).
    assert [(f.row, f.column) for f in hits] == [(3, "date")]
    assert "'P1'" in hits[0].message and "2018-04-20, row 2" in hits[0].message


def test_derive_names_patient_and_row_of_a_negative_duration(write_cohort_csv) -> None:
    # The typed cohort of a report with errors, derived anyway (as a caller skipping
    # validation would): the error names the row instead of listing numbers.
    cohort = validate(read_raw(write_cohort_csv(BLANK_REINFUSION_FOLLOWUP))).cohort
    with pytest.raises(CohortValidationError) as caught:
        derive(cohort)
    findings = caught.value.findings
    assert {(f.sheet, f.row, f.rule) for f in findings} == {("infusions", 3, "negative-duration")}
    followup = next(f for f in findings if "follow-up from the infusion" in f.message)
    assert "infusion 2 of 'P1' would be -11 days" in followup.message
    assert "infusions row 3" in str(caught.value)


def test_living_patient_with_followup_on_the_last_row_only_is_valid(write_cohort_csv) -> None:
    # Follow-up belongs to the patient: a blank on an earlier row is fine when a later row
    # carries the last contact (P1 alive, last seen 2018-09-01 on the reinfusion row).
    folder = write_cohort_csv([("infusions", 0, "last_followup_date", ""),
                               ("infusions", 1, "death_date", "")])
    report = validate(read_raw(folder))
    assert report.ok, [f.message for f in report.errors]
    frame = derive(report.cohort)
    first = frame[(frame["patient_id"] == "P1") & (frame["infusion"] == 1)].iloc[0]
    # 2018-01-10 -> 2018-09-01 = 234 days (21 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 1).
    assert first["followup_days"] == 234



def test_rows_without_a_patient_are_not_compared_with_each_other(write_cohort_csv) -> None:
    """Two rows with no patient_id (P1's reinfusion, dead 2018-09-01, and P2's infusion of
    2019-03-04) belong to no known patient: the missing id is reported, and neither row's
    dates are checked against the other's death or follow-up (the cross-row rules group
    rows by patient, and two blanks are not one patient)."""
    report = validate(read_raw(write_cohort_csv([("infusions", 1, "patient_id", ""),
                                                 ("infusions", 2, "patient_id", "")])))
    rules = {f.rule for f in report.findings if f.sheet == "infusions" and f.row in (3, 4)}
    assert "missing-required" in rules
    assert not rules & {"event-after-death", "event-after-last-followup"}
