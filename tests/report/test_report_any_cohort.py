"""The report is not demo-only: it runs on random cohorts and on a user's own small plan."""

from __future__ import annotations

import json
from pathlib import Path

from reinfuse.io.write import write_cohort
from reinfuse.pipeline import build_report
from reinfuse.plan import default_plan, parse_plan
from reinfuse.synth import synth_cohort
from reinfuse.validate import load_cohort


def test_seed_plan_on_a_random_cohort(tmp_path: Path) -> None:
    source = write_cohort(synth_cohort(400, seed=9), tmp_path / "cohort")
    cohort = load_cohort(source)
    output = build_report(cohort, default_plan(), tmp_path / "out")
    results = json.loads(output.results_json.read_text(encoding="utf-8"))
    plan = default_plan()
    assert [t["id"] for t in results["tables"]] == [t.id for t in plan.tables]
    assert [c["id"] for c in results["comparisons"]] == [c.id for c in plan.comparisons]
    assert len(results["figures"]) == len(plan.figures)
    # Every patient counted is a reinfused one, and Table 1's n matches.
    n = results["population"]["n_patients"]
    reinfused = cohort.infusions.groupby("patient_id")["infusion"].max().ge(2).sum()
    assert n == reinfused
    assert results["tables"][0]["columns"][0] == f"All B-ALL patients (n={n})"


PLAN = """
[plan]
id = "mine"
population = "all"
style = "nejm"
infusion_labels = { 1 = "first", 2 = "second" }

[[tables]]
id = "t"
title = "Response to the {label1} infusion by target"
columns = [
  { id = "cd19", label = "CD19 (n={n})", infusion = 1, where = { target = ["CD19"] } },
  { id = "cd22", label = "CD22 (n={n})", infusion = 1, where = { target = ["CD22"] } },
]
rows = [
  { label = "Age, {summary}", stat = "median", variable = "age_years" },
  { label = "CR", stat = "count", variable = "complete_response", ci = "wilson" },
]

[[comparisons]]
id = "c"
title = "CR by target"
variable = "complete_response"
paired = false
test = "fisher"
groups = [
  { label = "CD19", infusion = 1, where = { target = ["CD19"] } },
  { label = "CD22", infusion = 1, where = { target = ["CD22"] } },
]
"""


def test_a_users_own_plan(tmp_path: Path) -> None:
    tables = synth_cohort(300, seed=4)
    cohort = load_cohort(write_cohort(tables, tmp_path / "cohort"))
    output = build_report(cohort, parse_plan(PLAN, "mine.toml"), tmp_path / "out")
    results = json.loads(output.results_json.read_text(encoding="utf-8"))
    first = tables["infusions"][tables["infusions"]["infusion"] == 1]
    n19 = int((first["target"] == "CD19").sum())
    table = results["tables"][0]
    assert table["title"] == "Response to the first infusion by target"
    assert table["columns"][0] == f"CD19 (n={n19})"
    assert table["rows"][0]["label"] == "Age, median (IQR)"  # NEJM: median (IQR)
    cr = table["rows"][1]["cells"][0]
    response = first.loc[first["target"] == "CD19", "best_response"]
    k = int(response.isin(["CR", "CRi"]).sum())
    # The percentage is of the known responses: blank or NE (not evaluable) is unknown,
    # not "no CR" (issue 8), and is counted apart.
    known = int(response.isin(["CR", "CRi", "PR", "SD", "PD"]).sum())
    assert (cr["numerator"], cr["denominator"], cr["n_missing"]) == (k, known, n19 - known)
    assert "95% CI" in cr["text"] and " to " in cr["text"]  # NEJM writes "ll to ul"
    comparison = results["comparisons"][0]
    assert comparison["method"].startswith("two-sided Fisher")
    assert "Newcombe" in comparison["note"]


def test_filters_match_like_levels_and_counts_skip_missing(tmp_path: Path,
                                                           write_cohort_csv) -> None:
    # where = { csf_lp_done = ["yes"] } and { crs_grade = [1] } select like table levels;
    # a blank prior_hsct is not counted (and does not crash the count).
    folder = write_cohort_csv([("patients", 1, "prior_hsct", "")])
    cohort = load_cohort(folder)
    plan = parse_plan("""
[plan]
population = "all"
[[tables]]
id = "t"
title = "T"
columns = [
  { id = "lp", label = "LP (n={n})", where = { csf_lp_done = ["yes"] } },
  { id = "g1", label = "CRS 1 (n={n})", where = { crs_grade = [1] } },
]
rows = [{ label = "Prior HSCT", stat = "count", variable = "prior_hsct" }]
""")
    output = build_report(cohort, plan, tmp_path / "out")
    table = json.loads(output.results_json.read_text(encoding="utf-8"))["tables"][0]
    # conftest cohort: LP done on P1 infusion 1 and P2; CRS grade 1 only on P2 infusion 1.
    assert table["columns"] == ["LP (n=2)", "CRS 1 (n=1)"]
    lp, g1 = table["rows"][0]["cells"]
    assert (lp["numerator"], lp["n_missing"]) == (1, 1)  # P1 had 1 HSCT; P2 is blank
    # The CRS 1 column holds only P2, whose prior_hsct is blank: unknown, not "0 (0.0)".
    assert (g1["numerator"], g1["n_missing"], g1["text"]) == (None, 1, "not recorded")


def test_report_warnings_show_no_calendar_dates(tmp_path: Path, write_cohort_csv) -> None:
    # Assessments put P1's relapse on day 81 (2018-04-01); the record says 2018-04-05: the
    # warning names both dates in `validate`, but the report replaces them with [date].
    folder = write_cohort_csv([("infusions", 0, "relapse_date", "2018-04-05")])
    (folder / "disease_assessments.csv").write_text(
        "patient_id,infusion,day,marrow_blasts_pct,mrd_pct,csf_wbc_per_ul,csf_rbc_per_ul,"
        "csf_blasts,csf_flow_positive,blood_wbc,blood_rbc,cns_clinical_signs,emd,anc,"
        "platelets\n"
        "P1,1,-5,60,55,1,0,no,no,,,no,no,,\n"
        "P1,1,28,2,0,0,0,no,no,,,no,no,1.5,150\n"
        "P1,1,81,20,18,,,,,,,,no,,\n")
    cohort = load_cohort(folder, prefer="recorded")
    assert any("2018-04-05" in f.message for f in cohort.findings)
    output = build_report(cohort, default_plan(), tmp_path / "out")
    body = output.html.read_text(encoding="utf-8").split("<h2>Reproducibility</h2>")[0]
    assert "2018-04" not in body and "[date]" in body
    warnings = json.loads(output.results_json.read_text(encoding="utf-8"))["warnings"]
    assert "2018-04" not in json.dumps(warnings) and warnings
