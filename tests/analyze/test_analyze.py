"""reinfuse.analyze: tables and comparisons from an analysis frame, counted by hand.

Each frame is small enough to count every cell by hand; the expected counts, percentages
and denominators are written from the plan's definitions (docs/analysis-plan.md), never
read back from the code.
"""

from __future__ import annotations

from reinfuse.derive import derive
from reinfuse.validate import load_cohort

# --- moved from tests/test_review_regressions.py (regressions found in review) ----------
# The conftest cohort: P1: infusion 1 on 2018-01-10 (CR 2018-02-07, relapse 2018-04-01),
# infusion 2 on 2018-05-01 (SD), died 2018-09-01. P2: one infusion on 2019-03-04 (CR
# 2019-04-01), alive on 2020-01-01. See tests/conftest.py.


def test_row_filters_add_to_column_filters(write_cohort_csv, tmp_path) -> None:
    import json

    from reinfuse.plan import parse_plan
    from reinfuse.report import build_report

    cohort = load_cohort(write_cohort_csv())
    plan = parse_plan("""
[plan]
population = "all"
[[tables]]
id = "t"
title = "T"
rows = [{ label = "x", stat = "n", where = { objective_response = ["yes"] } },
        { label = "y", stat = "n", where = { interim_therapy = [1] } }]
[[tables.columns]]
id = "nr"
label = "Non-responders (n={n})"
where = { objective_response = [false] }
""")
    table = json.loads(build_report(cohort, plan, tmp_path / "o").results_json.read_text())[
        "tables"][0]
    # One non-responder (P1's reinfusion, SD); a responder row inside it is empty; its
    # interim therapy is yes, written 1 in the plan.
    assert table["columns"] == ["Non-responders (n=1)"]
    assert [r["cells"][0]["text"] for r in table["rows"]] == ["0", "1"]


def test_fisher_needs_two_groups_with_patients(write_cohort_csv) -> None:
    from reinfuse.analyze import analyze
    from reinfuse.plan import parse_plan

    frame = derive(load_cohort(write_cohort_csv()))
    plan = parse_plan("""
[plan]
population = "all"
[[comparisons]]
id = "c"
title = "C"
variable = "objective_response"
paired = false
test = "fisher"
groups = [{ label = "CD22", where = { target = ["cd22"] } },
          { label = "CD19", where = { target = ["CD19"] } },
          { label = "other", where = { target = ["other"] } }]
""")
    result = analyze(frame, plan).comparisons[0]
    assert result.groups[0].n == 3  # "cd22" matches CD22 without regard to case
    assert result.pvalue is None and result.method.startswith("not computed")
