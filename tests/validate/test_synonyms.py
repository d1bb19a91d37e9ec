"""Synonyms coordinators type that need another column, or a person, to be coded (issue 8).

Decisions (docs/validation.md): accepted with a warning when the mapping is unambiguous,
refused with where the information belongs otherwise. The base cohort (tests/conftest.py)
has P1's first infusion as a CR with MRD 0 (row 2), P1's reinfusion as SD with MRD 25
(row 3); the drug totals of row 2 are fludarabine 75 + cyclophosphamide 900 mg/m2, the
seed study's standard regimen (Methods), and of row 3 120 + 1200, its intensified one.
"""

from __future__ import annotations

import pytest

from reinfuse.io.read import read_raw
from reinfuse.validate import validate


def _one(write_cohort_csv, edits, column):
    report = validate(read_raw(write_cohort_csv(edits)))
    hits = [f for f in report.findings if f.column == column
            and f.rule in ("synonym-accepted", "code-belongs-elsewhere")]
    assert len(hits) == 1, [(f.rule, f.message) for f in report.findings]
    return report, hits[0]


@pytest.mark.parametrize("typed", ["MRD-negative CR", "MRD neg CR", "CR (MRD-)",
                                   "cr mrd negative"])
def test_mrd_negative_cr_with_mrd_recorded_is_accepted(write_cohort_csv, typed) -> None:
    report, finding = _one(write_cohort_csv, [("infusions", 0, "best_response", typed)],
                           "best_response")
    assert finding.rule == "synonym-accepted" and finding.severity == "warning"
    assert finding.row == 2 and finding.value == typed
    assert "read as CR: the MRD-negative status is recorded in best_response_mrd_pct (0%)" \
        in finding.message
    assert report.ok
    assert report.cohort.infusions.loc[0, "best_response"] == "CR"


def test_mrd_negative_cr_without_mrd_is_refused(write_cohort_csv) -> None:
    report, finding = _one(write_cohort_csv, [("infusions", 0, "best_response",
                                               "MRD-negative CR"),
                                              ("infusions", 0, "best_response_mrd_pct", "")],
                           "best_response")
    assert not report.ok
    assert finding.rule == "code-belongs-elsewhere" and finding.severity == "error"
    assert "belongs in best_response_mrd_pct, which is empty" in finding.message
    assert "Enter CR in best_response and the flow MRD" in finding.fix


def test_mrd_negative_cr_contradicting_mrd_is_refused(write_cohort_csv) -> None:
    # MRD 0.5% is MRD-positive (the threshold is 0.01%, 10^-4).
    _, finding = _one(write_cohort_csv, [("infusions", 0, "best_response", "MRD-negative CR"),
                                         ("infusions", 0, "best_response_mrd_pct", "0.5")],
                      "best_response")
    assert finding.severity == "error"
    assert "MRD-negative contradicts best_response_mrd_pct 0.5%" in finding.message


def test_mrd_positive_cr_with_positive_mrd_is_accepted(write_cohort_csv) -> None:
    # Row 3: MRD 25% recorded; the recorded CR then meets relapse rules like any CR.
    report, finding = _one(write_cohort_csv, [("infusions", 1, "best_response", "MRD+ CR")],
                           "best_response")
    assert finding.severity == "warning" and "MRD-positive status" in finding.message
    assert report.cohort.infusions.loc[1, "best_response"] == "CR"


@pytest.mark.parametrize(("typed", "words", "fix"), [
    ("CR/CRi", "names two codes", "otherwise CRi"),
    ("CR or CRi", "names two codes", "ANC >= 1000/uL"),
    ("NR", "does not say whether the disease was stable or progressed", "Enter SD"),
    ("no response", "stable or progressed", "PD (progressive disease)"),
])
def test_ambiguous_responses_are_refused(write_cohort_csv, typed, words, fix) -> None:
    report, finding = _one(write_cohort_csv, [("infusions", 1, "best_response", typed)],
                           "best_response")
    assert finding.rule == "code-belongs-elsewhere" and finding.severity == "error"
    assert finding.row == 3 and finding.value == typed
    assert words in finding.message and fix in finding.fix
    assert not report.ok


@pytest.mark.parametrize(("row", "typed", "code"), [(0, "Flu/Cy", "standard"),
                                                    (1, "Flu/Cy", "intensified"),
                                                    (0, "FC", "standard"),
                                                    (1, "fludarabine + cyclophosphamide",
                                                     "intensified")])
def test_flu_cy_is_read_from_the_drug_totals(write_cohort_csv, row, typed, code) -> None:
    report, finding = _one(write_cohort_csv, [("infusions", row, "ld_regimen", typed)],
                           "ld_regimen")
    assert finding.rule == "synonym-accepted" and finding.row == row + 2
    assert f"read as '{code}', the class its drug totals define" in finding.message
    assert report.ok
    assert report.cohort.infusions.loc[row, "ld_regimen"] == code


def test_flu_cy_without_drug_totals_is_refused(write_cohort_csv) -> None:
    _, finding = _one(write_cohort_csv, [("infusions", 0, "ld_regimen", "Flu/Cy"),
                                         ("infusions", 0, "ld_fludarabine_mg_m2", ""),
                                         ("infusions", 0, "ld_cyclophosphamide_mg_m2", "")],
                      "ld_regimen")
    assert finding.severity == "error"
    assert "names the drugs but not the regimen class" in finding.message
    assert "standard (fludarabine 75 + cyclophosphamide 900" in finding.fix
