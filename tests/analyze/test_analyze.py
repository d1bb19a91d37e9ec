"""reinfuse.analyze: tables and comparisons from an analysis frame, counted by hand.

Each frame is small enough to count every cell by hand; the expected counts, percentages
and denominators are written from the plan's definitions (docs/analysis-plan.md), never
read back from the code.
"""

from __future__ import annotations

import pandas as pd
import pytest

from reinfuse.analyze import analyze
from reinfuse.derive import derive
from reinfuse.plan import parse_plan
from reinfuse.validate import load_cohort

# Five patients, two infusions each except E (one). By hand, per infusion:
#   infusion 1: objective response A yes, B yes, C no, D unknown, E no
#               best response CR, PR, SD, (blank), PD; age 5, 9, 12, 20, (blank)
#   infusion 2: objective response A no, B yes, C unknown, D yes
#               best response SD, CR, (blank), CRi; age 6, 10, 13, 21
HAND = pd.DataFrame({
    "patient_id": ["A", "A", "B", "B", "C", "C", "D", "D", "E"],
    "infusion": [1, 2, 1, 2, 1, 2, 1, 2, 1],
    "objective_response": pd.array([True, False, True, True, False, None, None, True, False],
                                   dtype="boolean"),
    "best_response": pd.array(["CR", "SD", "PR", "CR", "SD", None, None, "CRi", "PD"],
                              dtype="string"),
    "age_years": [5.0, 6.0, 9.0, 10.0, 12.0, 13.0, 20.0, 21.0, None],
    "n_infusions": [2, 2, 2, 2, 2, 2, 2, 2, 1],
})

PLAN = """
[plan]
population = "{population}"
infusion_labels = {{ 1 = "CART1", 2 = "CART2" }}
[[tables]]
id = "t"
title = "T"
columns = [{{ id = "c1", label = "CART1 (n={{n}})", infusion = 1 }},
           {{ id = "c2", label = "CART2 (n={{n}})", infusion = 2 }}]
  [[tables.rows]]
  label = "Patients"
  stat = "n"
  [[tables.rows]]
  label = "Objective response, known"
  stat = "count"
  variable = "objective_response"
  [[tables.rows]]
  label = "Objective response, of all"
  stat = "count"
  variable = "objective_response"
  denominator = "column"
  show_missing = false
  [[tables.rows]]
  label = "Age"
  stat = "median_range"
  variable = "age_years"
  [[tables.rows]]
  label = "Response"
  stat = "levels"
  variable = "best_response"
  levels = [{{ label = "CR or CRi", values = ["CR", "CRi"] }},
            {{ label = "Other", values = ["PR", "SD", "PD"] }}]
"""


def _table(population: str = "all"):  # type: ignore[no-untyped-def]
    plan = parse_plan(PLAN.format(population=population))
    return analyze(HAND, plan).tables[0]


def test_counts_use_the_known_values_as_denominator() -> None:
    table = _table()
    c1, c2 = table.columns
    assert (c1, c2) == ("CART1 (n=5)", "CART2 (n=4)")
    # infusion 1: 2 yes (A, B) of 4 known (D unknown); infusion 2: 2 yes (B, D) of 3 known
    cell = table.cell("Objective response, known", c1)
    assert (cell.numerator, cell.denominator, cell.n_missing) == (2, 4, 1)
    assert cell.value == pytest.approx(0.5)  # a proportion; percent is render's
    cell = table.cell("Objective response, known", c2)
    assert (cell.numerator, cell.denominator, cell.n_missing) == (2, 3, 1)
    assert cell.value == pytest.approx(2 / 3)


def test_column_denominator_counts_every_patient_of_the_column() -> None:
    table = _table()
    c1, c2 = table.columns
    # the same yes counts over all 5 and all 4 patients: 2/5 and 2/4; unknown is not "no"
    one, two = (table.cell("Objective response, of all", c) for c in (c1, c2))
    assert (one.numerator, one.denominator, two.numerator, two.denominator) == (2, 5, 2, 4)
    assert (one.value, two.value) == (pytest.approx(0.4), pytest.approx(0.5))


def test_median_and_range_leave_unknown_out() -> None:
    table = _table()
    c1, c2 = table.columns
    # infusion 1: ages 5, 9, 12, 20 (E unknown): median (9 + 12) / 2 = 10.5, range 5-20
    cell = table.cell("Age", c1)
    assert (cell.value, cell.minimum, cell.maximum, cell.n, cell.n_missing) == (
        10.5, 5.0, 20.0, 4, 1)
    # infusion 2: 6, 10, 13, 21: median 11.5, range 6-21
    cell = table.cell("Age", c2)
    assert (cell.value, cell.minimum, cell.maximum, cell.n) == (11.5, 6.0, 21.0, 4)


def test_levels_count_of_known_responses() -> None:
    table = _table()
    c1, c2 = table.columns
    # infusion 1: CR 1 of 4 known (A), other 3 (B PR, C SD, E PD); infusion 2: CR/CRi 2
    # of 3 known (B, D), other 1 (A SD)
    got = {(level, col): (table.cell(level, col).numerator, table.cell(level, col).denominator)
           for level in ("CR or CRi", "Other") for col in (c1, c2)}
    assert got == {("CR or CRi", c1): (1, 4), ("Other", c1): (3, 4),
                   ("CR or CRi", c2): (2, 3), ("Other", c2): (1, 3)}


def test_reinfused_population_drops_single_infusion_patients() -> None:
    # population "reinfused": E (one infusion) leaves; infusion 1 keeps A-D: 2 yes of 3
    table = _table("reinfused")
    c1 = table.columns[0]
    assert c1 == "CART1 (n=4)"
    cell = table.cell("Objective response, known", c1)
    assert (cell.numerator, cell.denominator) == (2, 3)

# --- moved from tests/test_review_regressions.py (regressions found in review) ----------
# The conftest cohort: P1: infusion 1 on 2018-01-10 (CR 2018-02-07, relapse 2018-04-01),
# infusion 2 on 2018-05-01 (SD), died 2018-09-01. P2: one infusion on 2019-03-04 (CR
# 2019-04-01), alive on 2020-01-01. See tests/conftest.py.


def test_row_filters_add_to_column_filters(write_cohort_csv, tmp_path) -> None:
    import json

    from reinfuse.pipeline import build_report
    from reinfuse.plan import parse_plan

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
