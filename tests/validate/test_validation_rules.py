"""Every validation rule: a bad-input fixture and an assertion on the finding it produces.

The base cohort (tests/conftest.py) is valid; each case edits one or two cells and states
the finding a coordinator must see: rule, severity, sheet, row (CSV line; header = 1),
column and words of the message. Rules come from issue 2 ("Validation").
"""

from __future__ import annotations

import pytest

from reinfuse.io.read import read_raw
from reinfuse.validate import validate

# (id, edits, rule, severity, sheet, row, column, words in message)
CASES = [
    ("bad integer", [("patients", 0, "prior_lines", "four")],
     "bad-number", "error", "patients", 2, "prior_lines", "'four' is not a whole number"),
    ("fractional integer", [("patients", 1, "prior_hsct", "1.5")],
     "bad-number", "error", "patients", 3, "prior_hsct", "'1.5'"),
    ("negative count", [("patients", 0, "prior_lines", "-1")],
     "out-of-range", "error", "patients", 2, "prior_lines", "out of range"),
    ("percent over 100", [("infusions", 1, "pre_marrow_blasts_pct", "130")],
     "out-of-range", "error", "infusions", 3, "pre_marrow_blasts_pct", "130 is out of range"),
    ("dose must be > 0", [("infusions", 0, "dose_per_kg", "0")],
     "out-of-range", "error", "infusions", 2, "dose_per_kg", "out of range"),
    ("age over 120", [("infusions", 2, "age_years", "200")],
     "out-of-range", "error", "infusions", 4, "age_years", "200"),
    ("unknown code with suggestion", [("patients", 0, "sex", "mael")],
     "unknown-code", "error", "patients", 2, "sex", "not an allowed code"),
    ("unknown race", [("patients", 1, "race", "martian")],
     "unknown-code", "error", "patients", 3, "race", "'martian'"),
    ("unknown code in list", [("patients", 0, "prior_car", "CD19;CD33")],
     "unknown-code", "error", "patients", 2, "prior_car", "CD19;CD33"),
    ("bad yes/no", [("infusions", 0, "pre_emd", "maybe")],
     "bad-yesno", "error", "infusions", 2, "pre_emd", "'maybe' is not yes or no"),
    ("non-ISO date", [("infusions", 2, "date", "03/04/2019")],
     "bad-date", "error", "infusions", 4, "date", "not a date in the form YYYY-MM-DD"),
    ("required value empty", [("infusions", 2, "date", "")],
     "missing-required", "error", "infusions", 4, "date", "date is required"),
    ("duplicate patient", [("patients", 1, "patient_id", "P1"), ("infusions", 2, "patient_id",
                                                                 "P1")],
     "duplicate-patient", "error", "patients", 2, "patient_id", "appears more than once"),
    ("duplicate infusion", [("infusions", 1, "infusion", "1")],
     "duplicate-infusion", "error", "infusions", 2, "infusion", "recorded more than once"),
    ("unknown patient", [("infusions", 2, "patient_id", "P9")],
     "unknown-patient", "error", "infusions", 4, "patient_id", "'P9' is not in the patients"),
    ("gap in numbering", [("infusions", 1, "infusion", "3")],
     "infusion-gap", "error", "infusions", 2, "infusion", "numbered 1, 3"),
    ("numbering not starting at 1", [("infusions", 2, "infusion", "2"),
                                     ("infusions", 2, "indication", "relapse"),
                                     ("infusions", 2, "interim_therapy", "no"),
                                     ("infusions", 2, "residual_car", "no")],
     "infusion-gap", "error", "infusions", 4, "infusion", "numbered 2"),
    ("reinfusion before first infusion", [("infusions", 1, "date", "2017-12-01"),
                                          ("infusions", 1, "response_date", "2017-12-20"),
                                          ("infusions", 1, "age_years", "12")],
     "infusion-date-order", "error", "infusions", 3, "date", "on or before the previous"),
    ("response before infusion", [("infusions", 0, "response_date", "2018-01-01")],
     "response-before-infusion", "error", "infusions", 2, "response_date",
     "best response is dated before the infusion"),
    ("relapse before infusion", [("infusions", 0, "relapse_date", "2018-01-01")],
     "relapse-before-infusion", "error", "infusions", 2, "relapse_date", "before the infusion"),
    ("relapse before response", [("infusions", 0, "relapse_date", "2018-02-01")],
     "relapse-before-response", "error", "infusions", 2, "relapse_date",
     "relapse is dated before the response"),
    ("death before follow-up", [("infusions", 1, "death_date", "2018-08-01")],
     "death-before-followup", "error", "infusions", 3, "death_date",
     "death is dated before the last follow-up"),
    ("follow-up before infusion", [("infusions", 2, "last_followup_date", "2019-01-01")],
     "followup-before-infusion", "error", "infusions", 4, "last_followup_date",
     "before the infusion"),
    ("indication on first infusion", [("infusions", 0, "indication", "relapse")],
     "reinfusion-field-on-first", "error", "infusions", 2, "indication",
     "only applies to reinfusions"),
    ("interim therapy on first infusion", [("infusions", 2, "interim_therapy", "yes")],
     "reinfusion-field-on-first", "error", "infusions", 4, "interim_therapy",
     "only applies to reinfusions"),
    ("indication missing on reinfusion", [("infusions", 1, "indication", "")],
     "reinfusion-field-missing", "error", "infusions", 3, "indication", "empty on a reinfusion"),
    ("residual CAR missing on reinfusion", [("infusions", 1, "residual_car", "")],
     "reinfusion-field-missing", "warning", "infusions", 3, "residual_car",
     "empty on a reinfusion"),
    ("MRD-negative with M2/M3 marrow", [("infusions", 0, "pre_marrow_mrd_pct", "0.001")],
     "mrd-negative-with-m2m3", "error", "infusions", 2, "pre_marrow_mrd_pct",
     "is contradictory"),
    ("relapse without CR", [("infusions", 0, "best_response", "PR")],
     "relapse-without-cr", "error", "infusions", 2, "relapse_date", "requires a prior CR"),
    ("regimen contradicts drug totals", [("infusions", 1, "ld_regimen", "standard")],
     "ld-regimen-contradicts-doses", "error", "infusions", 3, "ld_regimen",
     "make it 'intensified'"),
    ("identifier column", [], "identifier-column", "error", "patients", None, "MRN",
     "looks like a direct identifier"),
    ("age decreases", [("infusions", 1, "age_years", "11")],
     "age-decreases", "error", "infusions", 3, "age_years", "lower than at the previous"),
    ("product changes at reinfusion", [("infusions", 1, "target", "CD19")],
     "product-changes", "warning", "infusions", 3, "target", "differs from the first"),
    ("CAR in CSF without LP", [("infusions", 0, "csf_lp_done", "no")],
     "csf-car-without-lp", "error", "infusions", 2, "csf_car_detected", "no lumbar puncture"),
    ("relapse details without date", [("infusions", 2, "relapse_sites", "cns")],
     "relapse-details-without-date", "warning", "infusions", 4, "relapse_date",
     "relapse_date is empty"),
    ("death before infusion", [("infusions", 2, "death_date", "2019-01-01")],
     "death-before-infusion", "error", "infusions", 4, "death_date",
     "death is dated before the infusion"),
    ("death before relapse", [("infusions", 0, "death_date", "2018-03-01"),
                              ("infusions", 0, "last_followup_date", "2018-03-01")],
     "death-before-relapse", "error", "infusions", 2, "death_date",
     "death is dated before the relapse"),
    ("age jumps more than the dates", [("infusions", 1, "age_years", "14")],
     "age-date-mismatch", "warning", "infusions", 3, "age_years",
     "different amount than the time between"),
    ("transplant before infusion", [("infusions", 2, "hsct_date", "2019-01-01")],
     "hsct-before-infusion", "error", "infusions", 4, "hsct_date", "transplant is dated"),
    ("transplant date without transplant", [("infusions", 0, "hsct_date", "2018-03-01")],
     "hsct-date-without-hsct", "error", "infusions", 2, "hsct_date", "hsct_after is no"),
    # Cross-row dates (issue 8): derive ends a living patient's follow-up at the latest
    # last_followup_date of any row. P1's first row says 2018-04-20; with the reinfusion
    # row's follow-up and death blank, the reinfusion (2018-05-01) lies 11 days after the
    # end of follow-up (worked by hand), which crashed the report with a negative duration.
    ("reinfusion after the end of follow-up", [("infusions", 1, "last_followup_date", ""),
                                               ("infusions", 1, "death_date", "")],
     "event-after-last-followup", "error", "infusions", 3, "date",
     "infusion 2 of 'P1' (date 2018-05-01) is dated after the patient's last "
     "follow-up (2018-04-20, row 2)"),
    ("response after the next infusion", [("infusions", 0, "response_date", "2018-05-10"),
                                          ("infusions", 0, "relapse_date", "")],
     "event-after-next-infusion", "error", "infusions", 2, "response_date",
     "is dated after infusion 2 (2018-05-01)"),
    ("relapse after the next infusion", [("infusions", 0, "relapse_date", "2018-05-10")],
     "event-after-next-infusion", "error", "infusions", 2, "relapse_date",
     "it belongs to the later infusion's row"),
    ("death before response", [("infusions", 2, "death_date", "2019-03-20")],
     "death-before-response", "error", "infusions", 4, "death_date",
     "death is dated before the best response"),
    ("death before transplant", [("infusions", 2, "hsct_date", "2019-06-01"),
                                 ("infusions", 2, "death_date", "2019-05-01")],
     "death-before-hsct", "error", "infusions", 4, "death_date",
     "death is dated before the transplant"),
    ("transplant before response", [("infusions", 2, "hsct_date", "2019-03-20")],
     "hsct-before-response", "error", "infusions", 4, "hsct_date",
     "the transplant is dated before the best response"),
    ("transplant after the last follow-up", [("infusions", 2, "hsct_date", "2020-02-01"),
                                              ("infusions", 2, "death_date", ""),
                                              ("infusions", 1, "death_date", "")],
     "event-after-last-followup", "error", "infusions", 4, "hsct_date",
     "after the patient's last follow-up (2020-01-01, row 4)"),
    # Plausibility (issue 8). Doses: the seed study's levels were 3x10^5-3x10^6 cells/kg;
    # 5x10^8 is a typical total dose typed per kg, "1" a dose in millions.
    ("total dose typed as per kg", [("infusions", 0, "dose_per_kg", "5e8")],
     "dose-implausible", "warning", "infusions", 2, "dose_per_kg",
     "a dose of 5e+08 CAR T cells/kg lies outside 10^4-10^8 cells/kg"),
    ("dose typed in millions", [("infusions", 2, "dose_per_kg", "1")],
     "dose-implausible", "warning", "infusions", 4, "dose_per_kg", "outside 10^4-10^8"),
    ("age in months", [("infusions", 2, "age_years", "0.5")],
     "age-implausible", "warning", "infusions", 4, "age_years",
     "age 0.5 years lies outside the cohort's population (1-100 years)"),
    # 85% blasts by morphology with 0.85% by flow: 0.85 x 10 = 8.5 < 85.
    ("MRD typed as a fraction", [("infusions", 0, "pre_marrow_blasts_pct", "85"),
                                 ("infusions", 0, "pre_marrow_mrd_pct", "0.85")],
     "blasts-mrd-discordant", "warning", "infusions", 2, "pre_marrow_mrd_pct",
     "marrow blasts 85% by morphology but 0.85% by flow MRD"),
    # 2.8% blasts with 28% by flow: 2.8 x 10 = 28, not more than tenfold; 2.7 x 10 < 28 is.
    ("blasts typed as a fraction", [("infusions", 1, "pre_marrow_blasts_pct", "2.7")],
     "blasts-mrd-discordant", "warning", "infusions", 3, "pre_marrow_mrd_pct",
     "marrow blasts 2.7% by morphology but 28% by flow MRD"),
    ("CR with MRD of 85%", [("infusions", 0, "best_response_mrd_pct", "85")],
     "cr-with-high-mrd", "warning", "infusions", 2, "best_response_mrd_pct",
     "best response CR with flow MRD 85%"),
    ("missing optional-in-study column", [("infusions", 0, "crs_grade", None)],
     "missing-column", "warning", "infusions", None, "crs_grade", "treated as entirely empty"),
    ("missing key column", [("infusions", 0, "infusion", None)],
     "missing-column", "error", "infusions", None, "infusion", "required column"),
    ("extra column kept", [], "extra-column", "warning", "infusions", None, "site_note",
     "not part of the cohort format"),
]

EXTRA = {
    "identifier column": {"patients": {"MRN": ["123", "456"]}},
    "extra column kept": {"infusions": {"site_note": ["a", "b", "c"]}},
}


def test_extra_sheet_is_reported(write_cohort_csv):
    folder = write_cohort_csv()
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    finding = next(f for f in validate(read_raw(folder)).findings if f.rule == "extra-sheet")
    assert finding.severity == "warning" and finding.sheet == "notes"
    assert "not part of the cohort format" in finding.message


def test_base_cohort_is_valid(write_cohort_csv):
    report = validate(read_raw(write_cohort_csv()))
    assert report.findings == (), [f.message for f in report.findings]


@pytest.mark.parametrize(
    ("edits", "rule", "severity", "sheet", "row", "column", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_rule(write_cohort_csv, request, edits, rule, severity, sheet, row, column, words):
    case_id = request.node.callspec.id
    folder = write_cohort_csv(edits, extra_columns=EXTRA.get(case_id))
    report = validate(read_raw(folder))
    hits = [f for f in report.findings if f.rule == rule and f.column == column]
    assert hits, f"no {rule} finding; got {[(f.rule, f.message) for f in report.findings]}"
    finding = hits[0]
    assert finding.severity == severity
    assert finding.sheet == sheet
    assert finding.row == row
    assert words in finding.message
    assert finding.fix  # every finding says what to do
    assert report.ok is (severity == "warning" and not report.errors)


def test_all_problems_listed_at_once(write_cohort_csv):
    folder = write_cohort_csv([
        ("patients", 0, "sex", "x"),
        ("infusions", 0, "pre_emd", "maybe"),
        ("infusions", 2, "date", "2019-13-45"),
        ("infusions", 1, "indication", ""),
    ])
    rules = {f.rule for f in validate(read_raw(folder)).errors}
    assert {"unknown-code", "bad-yesno", "bad-date", "reinfusion-field-missing"} <= rules


def test_unknown_code_suggests_closest(write_cohort_csv):
    folder = write_cohort_csv([("infusions", 0, "ld_regimen", "intensifed")])
    finding = next(f for f in validate(read_raw(folder)).findings if f.rule == "unknown-code")
    assert "Did you mean 'intensified'?" in finding.message
    assert "standard, intensified, flag, other, none" in finding.fix
    assert finding.value == "intensifed"


def test_identifiers_allowed_become_warning(write_cohort_csv):
    folder = write_cohort_csv(extra_columns={"patients": {"date_of_birth": ["2001-01-01",
                                                                            "2002-02-02"]}})
    strict = validate(read_raw(folder))
    relaxed = validate(read_raw(folder), allow_identifiers=True)
    assert [f.severity for f in strict.findings if f.rule == "identifier-column"] == ["error"]
    assert [f.severity for f in relaxed.findings if f.rule == "identifier-column"] == ["warning"]


def test_synonyms_and_case_are_accepted(write_cohort_csv):
    folder = write_cohort_csv([
        ("patients", 0, "sex", "Male"),
        ("patients", 1, "ethnicity", "Hispanic or Latino"),
        ("patients", 0, "prior_car", "cd19; CD19/22"),
        ("infusions", 0, "pre_emd", "Y"),
        ("infusions", 1, "dose_per_kg", "1x10^6"),
        ("infusions", 0, "best_response", "complete remission"),
    ])
    report = validate(read_raw(folder))
    assert report.ok, [f.message for f in report.errors]
    patients = report.cohort.patients
    assert patients.loc[0, "sex"] == "M"
    assert patients.loc[1, "ethnicity"] == "hispanic"
    assert patients.loc[0, "prior_car"] == "CD19;CD19/CD22"
    infusions = report.cohort.infusions
    assert infusions.loc[1, "dose_per_kg"] == 1e6
    assert infusions.loc[0, "best_response"] == "CR"
    assert bool(infusions.loc[0, "pre_emd"]) is True


def test_headers_are_case_insensitive(write_cohort_csv, tmp_path):
    folder = write_cohort_csv()
    text = (folder / "patients.csv").read_text().replace("patient_id", "Patient_ID", 1)
    (folder / "patients.csv").write_text(text)
    assert validate(read_raw(folder)).ok


def test_input_is_never_modified(write_cohort_csv):
    folder = write_cohort_csv([("patients", 0, "sex", "x")])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    validate(read_raw(folder))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


CRS_HEADER = ("patient_id,infusion,day,temperature_c,anticytokine_or_antipyretic,hypotension,"
              "vasopressors,vasopressin,oxygen,oxygen_l_min,other_cause,death_from_crs\n")


@pytest.mark.parametrize(("row", "rule", "column", "words"), [
    ("P9,1,2,39,no,none,0,no,room_air,,no,no", "observation-unknown-infusion", "infusion",
     "infusion 1 of patient 'P9' is not in the infusions sheet"),
    ("P1,3,2,39,no,none,0,no,room_air,,no,no", "observation-unknown-infusion", "infusion",
     "infusion 3 of patient 'P1'"),
    ("P1,1,2,39,no,fluids,1,no,room_air,,no,no", "crs-hypotension-contradiction",
     "hypotension", "hypotension 'fluids' with 1 vasopressor"),
    ("P1,1,2,39,no,none,0,yes,room_air,,no,no", "crs-hypotension-contradiction",
     "hypotension", "hypotension 'none' with 0 vasopressor(s) and vasopressin"),
    ("P1,1,2,39,no,vasopressors,0,no,room_air,,no,no", "crs-hypotension-contradiction",
     "vasopressors", "no vasopressor or vasopressin"),
    ("P1,1,2,39,no,none,0,no,room_air,4,no,no", "crs-oxygen-contradiction", "oxygen_l_min",
     "4 L/min on room air"),
    ("P1,1,2,39,no,none,0,no,room_air,,yes,yes", "death-cause-contradiction",
     "death_from_crs", "another cause at once"),
    ("P1,1,2,39,no,hypotensive,0,no,room_air,,no,no", "unknown-code", "hypotension",
     "'hypotensive' is not an allowed code"),
])
def test_crs_observation_rules(write_cohort_csv, row, rule, column, words):
    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(CRS_HEADER + row + "\n")
    report = validate(read_raw(folder))
    hits = [f for f in report.findings if f.rule == rule and f.column == column]
    assert hits, [(f.rule, f.message) for f in report.findings]
    assert hits[0].sheet == "crs_observations" and hits[0].row == 2
    assert words in hits[0].message


def test_valid_observation_sheet_passes(write_cohort_csv):
    folder = write_cohort_csv()
    (folder / "crs_observations.csv").write_text(
        CRS_HEADER + "P1,1,2.5,39.1,no,fluids,0,no,low_flow_nasal_cannula,2,no,no\n")
    report = validate(read_raw(folder))
    assert report.ok and "crs_observations" in report.cohort.tables


# --- moved from tests/test_review_regressions.py (regressions found in review) ----------
# The conftest cohort: P1: infusion 1 on 2018-01-10 (CR 2018-02-07, relapse 2018-04-01),
# infusion 2 on 2018-05-01 (SD), died 2018-09-01. P2: one infusion on 2019-03-04 (CR
# 2019-04-01), alive on 2020-01-01. See tests/conftest.py.


def test_death_ends_follow_up(write_cohort_csv) -> None:
    # P2 died 2019-06-01 but a later follow-up (2020-01-01) is recorded: validation says so.
    folder = write_cohort_csv([("infusions", 2, "death_date", "2019-06-01")])
    findings = validate(read_raw(folder)).findings
    assert any(f.rule == "death-before-followup" for f in findings)


def test_event_after_death_on_another_row(write_cohort_csv) -> None:
    # P1's death recorded on infusion 1's row (2018-04-20), yet reinfused 2018-05-01.
    folder = write_cohort_csv([("infusions", 0, "death_date", "2018-04-20"),
                               ("infusions", 0, "last_followup_date", "2018-04-20"),
                               ("infusions", 1, "death_date", "")])
    hits = [f for f in validate(read_raw(folder)).findings if f.rule == "event-after-death"]
    assert {(f.row, f.column) for f in hits} >= {(3, "date"), (3, "last_followup_date")}
    assert "after the patient's death (2018-04-20" in hits[0].message


def test_flag_without_cytarabine_total_is_not_a_contradiction(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 1, "ld_regimen", "flag"),
                               ("infusions", 1, "ld_fludarabine_mg_m2", "125"),
                               ("infusions", 1, "ld_cyclophosphamide_mg_m2", "0"),
                               ("infusions", 1, "ld_cytarabine_mg_m2", "")])
    report = validate(read_raw(folder))
    assert not any(f.rule == "ld-regimen-contradicts-doses" for f in report.findings)


def test_relapse_indication_needs_a_previous_relapse(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 0, "relapse_date", ""),
                               ("infusions", 0, "relapse_sites", ""),
                               ("infusions", 0, "relapse_antigen", ""),
                               ("infusions", 0, "car_at_relapse", "")])
    hits = [f for f in validate(read_raw(folder)).findings
            if f.rule == "relapse-indication-without-relapse"]
    assert [(f.severity, f.row) for f in hits] == [("warning", 3)]


def test_reconciled_values_are_checked_again(write_cohort_csv) -> None:
    # Recorded: CR then relapse after infusion 1. Assessments show only a PR (blasts 60 ->
    # 20%): with --prefer derived (the day-28 marrow is on the recorded response date, so
    # the PR is applied), the derived PR beside the recorded relapse is an error, said to
    # come from the reconciliation, instead of a crash later in the analysis.
    folder = write_cohort_csv()
    (folder / "disease_assessments.csv").write_text(
        "patient_id,infusion,day,marrow_blasts_pct,mrd_pct,csf_wbc_per_ul,csf_rbc_per_ul,"
        "csf_blasts,csf_flow_positive,blood_wbc,blood_rbc,cns_clinical_signs,emd,anc,"
        "platelets\n"
        "P1,1,-5,60,55,1,0,no,no,,,no,no,,\n"
        "P1,1,28,20,18,0,0,no,no,,,no,no,1.5,150\n")
    assert validate(read_raw(folder)).ok  # by default the recorded CR stands
    report = validate(read_raw(folder), prefer="derived")
    hits = [f for f in report.errors if f.rule == "relapse-without-cr"]
    assert hits and hits[0].message.startswith("after reconciliation with the raw observations")
    assert not report.ok
