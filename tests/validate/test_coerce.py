"""Cell coercion (reinfuse.validate._coerce): numbers, dates and code lists as typed.

Cases worked out by hand on the conftest cohort (tests/conftest.py).
"""

from __future__ import annotations

import pytest

from reinfuse.io.read import read_raw
from reinfuse.validate import validate

# --- moved from tests/test_review_regressions.py (regressions found in review) ----------
# The conftest cohort: P1: infusion 1 on 2018-01-10 (CR 2018-02-07, relapse 2018-04-01),
# infusion 2 on 2018-05-01 (SD), died 2018-09-01. P2: one infusion on 2019-03-04 (CR
# 2019-04-01), alive on 2020-01-01. See tests/conftest.py.

@pytest.mark.parametrize(("typed", "rule"), [("0,5", "bad-number"), ("1,000", None)])
def test_decimal_comma_is_not_silently_misread(write_cohort_csv, typed: str,
                                               rule: str | None) -> None:
    folder = write_cohort_csv([("infusions", 2, "abc_cd22_pre", typed)])
    report = validate(read_raw(folder))
    hits = [f for f in report.findings if f.column == "abc_cd22_pre"]
    if rule is None:
        assert hits == []
        assert report.cohort.infusions.loc[2, "abc_cd22_pre"] == 1000
    else:
        assert hits[0].rule == rule and "decimal mark" in hits[0].fix


def test_bare_year_is_not_a_date(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 0, "response_date", "2018")])
    finding = next(f for f in validate(read_raw(folder)).findings if f.rule == "bad-date")
    assert finding.value == "2018" and finding.row == 2


def test_comma_separated_list_gets_the_right_hint(write_cohort_csv) -> None:
    folder = write_cohort_csv([("patients", 0, "prior_car", "CD19, CD22")])
    finding = next(f for f in validate(read_raw(folder)).findings if f.rule == "unknown-code")
    assert "Separate several codes with ';'" in finding.message
