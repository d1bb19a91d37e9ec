"""The derive stage takes over validation's reconciliation instead of reconciling again.

The reference is the derive stage's own path without it: taking validation's
reconciliation over must give the same analysis frame and the same findings as
reconciling the cohort anew (:func:`reinfuse.validate.reconcile_cohort`), for cohorts
whose observations disagree with the recorded values and whose reconciled values the
rules flag again, under both ``prefer`` settings. It is taken over only for the cohort it
was made from, under the options it was made under.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reinfuse import pipeline
from reinfuse.demo import demo_path, demo_plan
from reinfuse.io.read import read_raw
from reinfuse.options import DeriveOptions
from reinfuse.validate import reconcile_cohort, validate

# The module (``reinfuse.derive`` the attribute is the public function).
derive_module = importlib.import_module("reinfuse.derive")

# P1 infusion 1 (recorded CRS grade 2): a vasopressor on day 2 makes grade 3.
CRS = ("patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
       "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n"
       "P1,1,1,38.5,no,none,0,no,room_air,,no,no\n"
       "P1,1,2,39.0,no,vasopressors,1,no,room_air,,no,no\n"
       "P2,1,1,38.2,no,none,0,no,room_air,,no,no\n")
# P1 infusion 1 (recorded CR, then relapse): the day-28 marrow shows a PR only, which
# prefer="derived" applies, and the rules flag the PR beside the relapse again.
ASSESSMENTS = ("patient_id,infusion,day,marrow_blasts_pct,mrd_pct,csf_wbc_per_ul,"
               "csf_rbc_per_ul,csf_blasts,csf_flow_positive,blood_wbc,blood_rbc,"
               "cns_clinical_signs,emd,anc,platelets\n"
               "P1,1,-5,60,55,1,0,no,no,,,no,no,,\n"
               "P1,1,28,20,18,0,0,no,no,,,no,no,1.5,150\n")


def _cohort(write_cohort_csv: Any, sheets: dict[str, str]) -> Path:
    folder = write_cohort_csv()
    for name, text in sheets.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


@pytest.mark.parametrize("prefer", ["recorded", "derived"])
@pytest.mark.parametrize("sheets", [{"crs_observations": CRS},
                                    {"disease_assessments": ASSESSMENTS},
                                    {"crs_observations": CRS,
                                     "disease_assessments": ASSESSMENTS}],
                         ids=["crs", "assessments", "both"])
def test_validation_reconciliation_is_what_reconcile_cohort_makes(
        write_cohort_csv: Any, sheets: dict[str, str], prefer: str) -> None:
    options = DeriveOptions(prefer=prefer)  # type: ignore[arg-type]
    report = validate(read_raw(_cohort(write_cohort_csv, sheets)), options=options)
    kept = report.reconciliation
    assert kept is not None and kept.serves(report.cohort, options)
    # With the cohort's findings (what derive passes) and with none at all (every
    # re-check finding is then new): the same findings as reconciling anew.
    for before in (report.cohort.findings, ()):
        anew = reconcile_cohort(report.cohort, options, found_before=before)
        assert kept.findings_after(before) == anew.findings
        for name, table in anew.cohort.tables.items():
            pd.testing.assert_frame_equal(kept.cohort.tables[name], table)
    if prefer == "derived" and "disease_assessments" in sheets:
        # The case must exercise the re-check: the PR beside the relapse is flagged.
        assert any(f.message.startswith("after reconciliation") for f in kept.rechecks)
    if "crs_observations" in sheets:
        assert any(f.rule == "derived-differs-from-recorded" for f in kept.disagreements)


def test_derive_takes_it_over_with_the_same_result(write_cohort_csv: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    options = DeriveOptions(prefer="derived")
    report = validate(read_raw(_cohort(write_cohort_csv, {"crs_observations": CRS})),
                      options=options)
    assert report.ok
    anew = pipeline.derive(report.cohort, options)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reconciled again")

    with monkeypatch.context() as patch:
        patch.setattr(derive_module, "reconcile_cohort", refuse)
        taken = pipeline.derive(report.cohort, options, reconciliation=report.reconciliation)
    pd.testing.assert_frame_equal(taken.frame, anew.frame)
    assert taken.findings == anew.findings
    assert taken.frame.loc[taken.frame["patient_id"].eq("P1")
                           & taken.frame["infusion"].eq(1), "crs_grade"].item() == 3


def test_it_is_not_taken_over_for_other_options_or_another_cohort(
        write_cohort_csv: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    report = validate(read_raw(_cohort(write_cohort_csv, {"crs_observations": CRS})))
    calls: list[str] = []

    def counted(cohort: Any, options: Any, **kwargs: Any) -> Any:
        calls.append(options.prefer)
        return reconcile_cohort(cohort, options, **kwargs)

    monkeypatch.setattr(derive_module, "reconcile_cohort", counted)
    derived = DeriveOptions(prefer="derived")
    # Validated under prefer="recorded": deriving under "derived" reconciles again, and
    # uses the derived grade, not the recorded one the reconciliation kept.
    frame = pipeline.derive(report.cohort, derived,
                            reconciliation=report.reconciliation).frame
    assert calls == ["derived"]
    assert frame.loc[frame["patient_id"].eq("P1") & frame["infusion"].eq(1),
                     "crs_grade"].item() == 3
    # A copy of the cohort is another cohort: reconciled again too.
    other = replace(report.cohort)
    pipeline.derive(other, DeriveOptions(), reconciliation=report.reconciliation)
    assert calls == ["derived", "recorded"]


def test_study_report_reconciles_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    """``reinfuse report``'s path: validation reconciles, derive takes it over."""
    calls: list[object] = []
    original = derive_module.reconcile_cohort
    monkeypatch.setattr(derive_module, "reconcile_cohort",
                        lambda *a, **k: calls.append(a) or original(*a, **k))
    plan = replace(demo_plan(), figures=(), comparisons=())
    study = pipeline.Study(demo_path("csv"), plan)
    checked = study.validate()
    assert checked.reconciliation is not None  # the demo has raw observation sheets
    study.report(tmp_path / "report", checked=checked)
    assert calls == []


@pytest.mark.parametrize("change", ["cell", "table", "reconciled"])
def test_it_is_not_taken_over_once_a_table_was_changed_in_place(
        write_cohort_csv: Any, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    # Tables are read-only by contract, but a DataFrame can be changed in place: the
    # reconciliation notices it and derive reconciles again (found in review: a recorded
    # CRS grade changed after validation kept the old grade).
    report = validate(read_raw(_cohort(write_cohort_csv, {"crs_observations": CRS})))
    cohort, kept = report.cohort, report.reconciliation
    assert kept is not None and kept.serves(cohort, DeriveOptions())
    first = cohort.infusions.index[cohort.infusions["patient_id"].eq("P2")][0]
    if change == "cell":  # P2's recorded grade 1 becomes 2
        cohort.tables["infusions"].loc[first, "crs_grade"] = 2
    elif change == "table":  # the observations are dropped
        cohort.tables["crs_observations"] = cohort.tables["crs_observations"].iloc[:0]
    else:  # the reconciled copy handed out for inspection is edited
        kept.cohort.tables["infusions"].loc[first, "crs_grade"] = 5
    assert not kept.serves(cohort, DeriveOptions())
    calls: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("reconciled")
        return reconcile_cohort(*args, **kwargs)

    monkeypatch.setattr(derive_module, "reconcile_cohort", counted)
    taken = pipeline.derive(cohort, DeriveOptions(), reconciliation=kept)
    assert calls == ["reconciled"]
    anew = pipeline.derive(cohort, DeriveOptions())
    pd.testing.assert_frame_equal(taken.frame, anew.frame)
    if change == "cell":
        grade = taken.frame.loc[taken.frame["patient_id"].eq("P2")
                                & taken.frame["infusion"].eq(1), "crs_grade"].item()
        assert grade == 2


def test_a_cohort_without_raw_sheets_is_not_fingerprinted(write_cohort_csv: Any) -> None:
    # derive leaves such a cohort as it is, so there is nothing to take over, and hashing
    # a registry's tables would cost validation about 2 s per million patients.
    report = validate(read_raw(write_cohort_csv()))
    assert report.reconciliation is not None and report.reconciliation.fingerprint == ()
    assert not report.reconciliation.serves(report.cohort, DeriveOptions())
