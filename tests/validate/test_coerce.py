"""Cell coercion (reinfuse.validate._coerce): numbers, dates and code lists as typed.

Cases worked out by hand on the conftest cohort (tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reinfuse.io.read import read_raw
from reinfuse.schema import INFUSIONS, PATIENTS
from reinfuse.validate import _coerce, validate

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


# --- long text columns are typed once per distinct cell (issue 9) ------------------------
# The reference is the cell-by-cell path on the same cells: the distinct-cell path must
# give the same typed column and the same findings, in the same order.

_CELLS = {
    "prior_lines": ["2", " 3 ", "2.0", "2.5", "-1", "1,000", "3x10^1", "two", "inf", "  "],
    "dose_per_kg": ["1e6", "3x10^6", "3 × 10^5", "0,5", "1,000,000", "0", "-2", "1e400", "x"],
    "compassionate_use": ["yes", "No", " y ", "TRUE", "maybe", "0", " "],
    "sex": ["M", "f", "Female", " male ", "other", "unknown", "X"],
    "prior_car": ["CD19", "cd19;CD22", "CD19, CD22", "CD19; ", ";", "none", "CD33"],
    "date": ["2019-03-07", " 2019-3-7 ", "2019", "2019-02", "07/03/2019", "2019-02-30",
             "2019-03-07T10:00"],
    "patient_id": ["P1", " P2 ", "p1", "   "],
}
_COLUMNS = {**{c.name: c for c in PATIENTS.columns}, **{c.name: c for c in INFUSIONS.columns}}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(_CELLS)))
def test_distinct_cell_typing_matches_cell_by_cell(data: st.DataObject, name: str) -> None:
    cells = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(_CELLS[name])),
                               min_size=1, max_size=40))
    raw = pd.Series([np.nan if c is None else c for c in cells], dtype=object, name=name,
                    index=pd.RangeIndex(2, len(cells) + 2))  # as read from a CSV file
    col = _COLUMNS[name]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_coerce, "DISTINCT_MIN_ROWS", 10**9)
        expected, expected_findings = _coerce.coerce_column(raw, col, "sheet")
        patch.setattr(_coerce, "DISTINCT_MIN_ROWS", 0)
        patch.setattr(_coerce, "DISTINCT_MAX_SHARE", 1.0)
        calls: list[int] = []
        type_cells = _coerce._type_cells
        patch.setattr(_coerce, "_type_cells",
                      lambda cells, column: calls.append(len(cells)) or type_cells(cells, column))
        typed, findings = _coerce.coerce_column(raw, col, "sheet")
    assert calls == [raw.nunique()]  # the distinct path was taken
    pd.testing.assert_series_equal(typed, expected, check_exact=True)
    assert findings == expected_findings
