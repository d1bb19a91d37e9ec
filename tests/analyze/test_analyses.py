"""The plan's [[analyses]]: parsing, computation on hand-made frames, rendering.

References are worked by hand from the definitions (the statistics themselves are checked
against R in tests/stats/):

- log-rank, A = {1, 2} (both deaths), B = {3, 4} (both deaths): at t = 1, 4 at risk (2 A),
  E_A = 1/2, V = 1/4; at t = 2, 3 at risk (1 A), E_A = 1/3, V = 2/9; then no A at risk.
  O_A - E_A = 7/6, V = 17/36, chi-square = (49/36) / (17/36) = 49/17 = 2.882 on 1 df.
- Aalen-Johansen, 4 remissions: relapse day 10, death in remission day 20, relapse day 30,
  last contact day 40. Relapse incidence 1/4 after day 10; S = 3/4; death takes 3/4 * 1/3;
  S = 1/2; relapse adds 1/2 * 1/2: 0.5 by day 35. With death censored instead (not
  competing): 1 - (3/4)(1/2) = 0.625 by day 35.
- Kruskal-Wallis, A = {1, 2, 3}, B = {4, 5, 6}: H = 12/42 (36/3 + 225/3) - 21 = 27/7; the
  exact p is 2/20 = 0.1 (only the two complete separations of the 20 splits are as extreme).
- Fisher, [[3, 0], [0, 3]]: two-sided p = 2 / C(6, 3) = 0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reinfuse.analyses import compute_analysis
from reinfuse.analyze import plan_problems
from reinfuse.errors import PlanError
from reinfuse.plan import default_plan_text, parse_plan
from reinfuse.report._analyses import analysis_item
from reinfuse.style import get_style
from reinfuse.variables import frame_names


def _spec(body: str):  # type: ignore[no-untyped-def]
    plan = parse_plan("[[analyses]]\n" + body, "test plan")
    return plan.analyses[0]


def _frame(**columns: list) -> pd.DataFrame:  # type: ignore[type-arg]
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "infusion": [1] * n,
                         **columns})


def test_log_rank_by_group_matches_the_hand_count() -> None:
    spec = _spec('id = "os"\nkind = "survival_by_group"\ntitle = "OS"\nendpoint = "os"\n'
                 'group = "target"\ntimes = [0, 2, 3]\n')
    frame = _frame(followup_days=[1.0, 2.0, 3.0, 4.0, None],
                   death_event=pd.array([True, True, True, True, None], dtype="boolean"),
                   target=["A", "A", "B", "B", "B"])
    result = compute_analysis(frame, spec)
    assert not result.refused
    rows = {r.label: [c.value for c in r.cells] for r in result.rows}
    # n, events, median, at risk at day 0, 2, 3 (time >= t)
    assert rows["A"][:2] == [2, 2] and rows["A"][3:] == [2, 1, 0]
    assert rows["B"][:2] == [2, 2] and rows["B"][3:] == [2, 2, 2]
    test = result.tests[0]
    assert test.statistic == pytest.approx(49 / 17) and test.df == 1
    assert result.n == 4 and result.n_missing == 1  # the unknown time is left out, counted
    assert any("1 infusion(s) without a known" in n for n in result.notes)
    text = analysis_item(result, get_style("seed"))
    assert "Log-rank test: chi-square 2.88, df 1" in " ".join(text["notes"])


def test_cox_with_too_few_events_is_refused_in_words() -> None:
    spec = _spec('id = "cox"\nkind = "cox"\ntitle = "Cox"\nendpoint = "os"\n'
                 'covariates = ["age_years", "target"]\n')
    frame = _frame(followup_days=[1.0, 2.0, 3.0, 4.0], death_event=[True, True, True, False],
                   age_years=[5.0, 9.0, 14.0, 20.0], target=["A", "A", "B", "B"])
    result = compute_analysis(frame, spec)
    assert "events per variable" in result.refused
    item = analysis_item(result, get_style("seed"))
    assert item["kind"] == "omitted" and item["text"].startswith("Analysis not shown (Cox)")


@pytest.mark.parametrize(("competing", "expected"), [('["death", "hsct"]', 0.5),
                                                    ("[]", 0.625)])
def test_cumulative_incidence_matches_aalen_johansen_by_hand(competing: str,
                                                             expected: float) -> None:
    spec = _spec(f'id = "cif"\nkind = "cumulative_incidence"\ntitle = "CIF"\n'
                 f'times = [15, 35]\ncompeting = {competing}\n')
    frame = _frame(remission_days=[10.0, 20.0, 30.0, 40.0, None],
                   remission_end=["relapse", "death", "relapse", "last_contact", None])
    result = compute_analysis(frame, spec)
    (row,) = result.rows
    assert [c.value for c in row.cells[:2]] == [4, 2]  # 4 in remission, 2 relapses
    assert row.cells[2].value == pytest.approx(0.25)
    assert row.cells[3].value == pytest.approx(expected)
    assert any("1 infusions without a complete remission are not at risk" in n
               for n in result.notes)


def test_kruskal_wallis_and_fisher_match_the_hand_values() -> None:
    kw = _spec('id = "kw"\nkind = "group_test"\ntitle = "KW"\nvariable = "peak_car_per_ul"\n'
               'group = "target"\ntest = "kruskal_wallis"\n')
    frame = _frame(peak_car_per_ul=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, None],
                   target=["A", "A", "A", "B", "B", "B", "B"],
                   best_response=["CR", "CR", "CR", "SD", "SD", "SD", None])
    result = compute_analysis(frame, kw)
    assert result.tests[0].statistic == pytest.approx(27 / 7)
    assert result.tests[0].pvalue == pytest.approx(0.1)
    assert [(r.label, r.cells[0].value, r.cells[1].value) for r in result.rows] == [
        ("A", 3, 2.0), ("B", 3, 5.0)]
    assert result.n_missing == 1
    fisher = _spec('id = "f"\nkind = "group_test"\ntitle = "F"\nvariable = "best_response"\n'
                   'group = "target"\ntest = "fisher"\n')
    result = compute_analysis(frame, fisher)
    assert result.tests[0].pvalue == pytest.approx(0.1)
    assert result.columns == ("A (n = 3)", "B (n = 3)")
    item = analysis_item(result, get_style("seed"))
    assert item["rows"][0]["cells"] == ["3 (100.0)", "0 (0.0)"]


@pytest.mark.parametrize(("body", "words"), [
    ('id = "a"\nkind = "survival_by_group"\ntitle = "t"\nendpoint = "os"\n', "needs 'group'"),
    ('id = "a"\nkind = "group_test"\ntitle = "t"\nvariable = "x"\ngroup = "g"\n'
     'test = "jonckheere_terpstra"\n', "needs 'order'"),
    ('id = "a"\nkind = "cumulative_incidence"\ntitle = "t"\nendpoint = "os"\n',
     "must be 'remission'"),
    ('id = "a"\nkind = "cumulative_incidence"\ntitle = "t"\ncompeting = ["relapse"]\n',
     "'competing' has"),
    ('id = "a"\nkind = "cox"\ntitle = "t"\nendpoint = "os"\ncovariates = ["x"]\n'
     'reference = { y = "A" }\n', "not among 'covariates'"),
    ('id = "a"\nkind = "cox"\ntitle = "t"\nendpoint = "os"\ncovariates = ["x"]\nbins = 3\n',
     "unknown key(s) bins"),
])
def test_plan_refuses_malformed_analyses(body: str, words: str) -> None:
    with pytest.raises(PlanError, match="analyses\\[0\\]") as err:
        parse_plan("[[analyses]]\n" + body, "test plan")
    assert words in str(err.value)


def test_plan_check_names_unknown_analysis_variables() -> None:
    plan = parse_plan('[[analyses]]\nid = "a"\nkind = "group_test"\ntitle = "t"\n'
                      'variable = "peak_car_per_u"\ngroup = "target"\ntest = "chi_square"\n',
                      "test plan")
    problems = plan_problems(plan, frame_names())
    assert problems == ["analysis 'a': unknown variable 'peak_car_per_u' (did you mean "
                        "'peak_car_per_ul'?)"]


EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "analyses.toml"


def test_example_plan_runs_on_the_demo_in_every_format(tmp_path: Path) -> None:
    from reinfuse.demo import demo_path
    from reinfuse.pipeline import Study

    plan = parse_plan(default_plan_text() + EXAMPLE.read_text(encoding="utf-8"),
                      str(EXAMPLE))
    assert len(plan.analyses) >= 5
    out = Study(demo_path(), plan).report(tmp_path / "r", formats="html,docx")
    payload = json.loads(out.results_json.read_text(encoding="utf-8"))
    html = out.html.read_text(encoding="utf-8")  # type: ignore[union-attr]
    by_id = {a["id"]: a for a in payload["analyses"]}
    assert set(by_id) == {a.id for a in plan.analyses}
    # the demo's 18 CART1 infusions: every patient once, by target (5 + 3 + 10)
    os_rows = {r["label"]: r["cells"][0]["value"] for r in by_id["os_by_target"]["rows"]}
    assert os_rows == {"CD19": 5, "CD19/CD22": 3, "CD22": 10}
    assert "Overall survival after the first infusion by product target" in html
    assert 'id="os_by_target_figure"' in html and 'id="relapse_cif_figure"' in html
    assert 'id="kinetics_paired_figure"' in html
    # Cmax CART1 vs CART2 of the 18 demo patients: the seed study's p = 0.03 (Wilcoxon)
    cmax = by_id["kinetics_paired"]["rows"][0]
    assert cmax["label"] == "Cmax" and cmax["cells"][0]["value"] == 18
    assert round(cmax["cells"][4]["value"], 2) == 0.03
    assert "Analysis not shown" in html  # the Cox model: too few events per variable
    assert (out.folder / "tables" / "os_by_target.csv").is_file()
    table1 = next(t for t in payload["tables"] if t["id"] == "table1_by_target")
    assert table1["columns"][-1] == "p" and table1["columns"][0] == "All (n = 18)"
    # tbl_merge: parts side by side under their spanners, rows matched by label; a row one
    # part lacks is blank there; the parts are in results.json but not printed
    merged = next(t for t in payload["tables"] if t["id"] == "toxicity_merged")
    assert merged["columns"] == ["CART1: n = 18", "CART2: n = 18"]
    labels = [(r["label"], [c is None for c in r["cells"]]) for r in merged["rows"]]
    assert labels[:3] == [("CRS, any grade", [False, False]),
                          ("Neurotoxicity, any grade", [False, True]),
                          ("Severe CRS", [True, False])]
    assert "Toxicity after CART1 and CART2, side by side" in html
    assert "Toxicity after CART2</h3>" not in html
    assert any(t["id"] == "toxicity_cart2" for t in payload["tables"])
    from docx import Document

    docx_text = " ".join(p.text for p in Document(str(out.docx)).paragraphs)
    assert "Overall survival after the first infusion by product target" in docx_text


TABLE_P = """
[[tables]]
id = "by_target"
title = "By target"
p_value = true
p_columns = ["a", "b"]
columns = [
  { id = "all", label = "All" },
  { id = "a", label = "A", where = { target = ["A"] } },
  { id = "b", label = "B", where = { target = ["B"] } },
]
rows = [
  { label = "Peak", stat = "median", variable = "peak_car_per_ul" },
  { label = "CRS", stat = "count", variable = "crs_any" },
  { label = "Response", stat = "levels", variable = "best_response", levels = LEVELS },
]
""".replace("LEVELS", '[{ label = "CR", values = ["CR"] }, { label = "SD", values = ["SD"] }]')


def test_table_p_column_like_gtsummary_add_p() -> None:
    """Mann-Whitney A = {1, 2, 3} vs B = {4, 5, 6}: exact two-sided p = 2 / C(6, 3) = 0.1;
    yes/no and levels rows give the 2x2 table [[3, 0], [0, 3]] (expected counts 1.5 < 5,
    so Fisher's exact test): p = 0.1. The "All" column is not compared."""
    from reinfuse.analyze import compute_table
    from reinfuse.report._format import cell_text

    spec = parse_plan(TABLE_P, "test plan").tables[0]
    frame = _frame(peak_car_per_ul=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, None],
                   crs_any=pd.array([True, True, True, False, False, False, None],
                                    dtype="boolean"),
                   best_response=["CR", "CR", "CR", "SD", "SD", "SD", None],
                   target=["A", "A", "A", "B", "B", "B", "B"])
    table = compute_table(frame, spec, {})
    assert table.columns[-1] == "p"
    p_cells = [line.cells[-1] for line in table.rows if line.cells[-1] is not None]
    assert [c.value for c in p_cells] == pytest.approx([0.1, 0.1, 0.1])
    assert [c.ci_method.split(" ")[0] for c in p_cells] == ["Mann-Whitney", "Fisher's",
                                                           "Fisher's"]
    assert cell_text(p_cells[0], get_style("seed")) == "0.1"
    assert any(note.startswith("p compares A, B:") for note in table.footnotes)
    # the same patients in both columns: no independent-group test
    shared = frame.assign(target=["A", "A", "A", "B", "B", "B", "B"],
                          patient_id=["P0", "P1", "P2", "P0", "P1", "P2", "P3"])
    cell = compute_table(shared, spec, {}).rows[0].cells[-1]
    assert cell is not None and cell.value is None and "share patients" in cell.ci_method


@pytest.mark.parametrize(("extra", "words"), [
    ('merge = ["t1", "nope"]\n', "'merge' names ['nope']"),
    ('merge = ["t1", "t1"]\nspanners = ["a"]\n', "one label per merged table (2), got 1"),
    ('merge = ["t1"]\n', "at least two table ids"),
    ('merge = ["t1", "t1"]\ncolumns = []\n', "unknown key(s) columns"),
])
def test_plan_refuses_malformed_merges(extra: str, words: str) -> None:
    base = ('[[tables]]\nid = "t1"\ntitle = "T1"\ncolumns = [{ id = "a", label = "A" }]\n'
            'rows = [{ label = "n", stat = "n" }]\n')
    with pytest.raises(PlanError) as err:
        parse_plan(base + '[[tables]]\nid = "m"\ntitle = "M"\n' + extra, "test plan")
    assert words in str(err.value)


def test_figures_draw_the_analysis_estimates() -> None:
    """The KM figure's at-risk strip prints the table's numbers (counted by hand above:
    A 2, 1, 0 and B 2, 2, 2 at days 0, 2, 3), one curve per group; the cumulative
    incidence figure has a relapse panel and a competing-events panel."""
    from reinfuse.figures.survival_groups import (
        cumulative_incidence_figure,
        kaplan_meier_groups_figure,
    )

    spec = _spec('id = "os"\nkind = "survival_by_group"\ntitle = "OS"\nendpoint = "os"\n'
                 'group = "target"\ntimes = [0, 2, 3]\n')
    frame = _frame(followup_days=[1.0, 2.0, 3.0, 4.0],
                   death_event=pd.array([True, True, True, True], dtype="boolean"),
                   target=["A", "A", "B", "B"])
    figure, caption = kaplan_meier_groups_figure(compute_analysis(frame, spec))
    curves, strip = figure.axes
    assert len(curves.get_lines()) == 2 and "Log-rank test" in caption
    numbers = [t.get_text() for t in strip.texts if t.get_text().isdigit()]
    assert numbers == ["2", "2", "1", "2", "0", "2"]  # per time: A then B
    cif = _spec('id = "cif"\nkind = "cumulative_incidence"\ntitle = "CIF"\n')
    frame = _frame(remission_days=[10.0, 20.0, 30.0, 40.0],
                   remission_end=["relapse", "death", "relapse", "last_contact"])
    figure, _ = cumulative_incidence_figure(compute_analysis(frame, cif))
    assert [ax.get_title() for ax in figure.axes] == [
        "Relapse", "Death in remission or consolidative transplant"]
