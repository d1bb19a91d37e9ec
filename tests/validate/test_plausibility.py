"""Plausibility warnings (issue 8): values the format accepts but that are most likely
slips. Single-cell cases are in test_validation_rules.py; these need more than one cell or
a parameter."""

from __future__ import annotations

from reinfuse.io.read import read_raw
from reinfuse.validate import validate


def test_blasts_and_mrd_within_tenfold_pass(write_cohort_csv) -> None:
    # 2.8% blasts with 28% by flow is exactly tenfold: not flagged (the margin is "more
    # than tenfold"); the base cohort's 30 / 28, 60 / 55 and 3 / 2.1 pass as well.
    report = validate(read_raw(write_cohort_csv([("infusions", 1, "pre_marrow_blasts_pct",
                                                  "2.8")])))
    assert not [f for f in report.findings if f.rule == "blasts-mrd-discordant"]


def test_stated_population_sets_the_age_range(write_cohort_csv) -> None:
    # An adult cohort (18-80 years): P1's ages 12 and 12.3 are queried, P2's 20 is not.
    report = validate(read_raw(write_cohort_csv()), age_range=(18, 80))
    hits = [f for f in report.findings if f.rule == "age-implausible"]
    assert [(f.row, f.severity) for f in hits] == [(2, "warning"), (3, "warning")]
    assert "outside the cohort's population (18-80 years)" in hits[0].message


def test_disease_assessment_blasts_mrd_discordant(write_cohort_csv) -> None:
    folder = write_cohort_csv()
    (folder / "disease_assessments.csv").write_text(
        "patient_id,infusion,day,marrow_blasts_pct,mrd_pct\nP1,1,28,0.9,90\n")
    report = validate(read_raw(folder))
    hits = [f for f in report.findings if f.rule == "blasts-mrd-discordant"]
    assert [(f.sheet, f.row, f.column) for f in hits] == [("disease_assessments", 2,
                                                           "mrd_pct")]
    assert "0.9% by morphology but 90% by flow MRD" in hits[0].message
