"""Issue 8, "Missing is never zero": a report of a cohort with blank columns.

The cohort is the demo's CSV cohort (patients and infusions sheets only, so no raw
observation fills a blank grade back in) with values blanked as a centre's export leaves
them. Every expected count is worked out in the test from the CSV itself with plain pandas,
not read back from reinfuse.
"""

from __future__ import annotations

import csv
import html
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pytest

from reinfuse.analyze import censoring_phrase
from reinfuse.demo import demo_path, demo_plan
from reinfuse.derive import DeriveOptions
from reinfuse.io.write import write_cohort
from reinfuse.pipeline import build_report
from reinfuse.plan import default_plan_text, parse_plan
from reinfuse.report._text import definition_clauses
from reinfuse.synth import synth_cohort
from reinfuse.validate import load_cohort

#: Reinfusion rows whose best response is blanked (the demo has SD, PD, SD there).
BLANK_RESPONSE = ("P01", "P02", "P03")
#: Columns blanked on every row: nothing recorded at all.
BLANK_ALL = ("crs_grade", "peak_car_per_ul", "csf_lp_done", "csf_car_detected",
             "abc_cd19_pre", "abc_cd22_pre")


def _percent(k: int, n: int) -> str:
    """k/n as a percentage with one decimal, halves up (the journal rule, by hand)."""
    return str((Decimal(100 * k) / Decimal(n)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _blank_cohort(folder: Path) -> pd.DataFrame:
    """Write the blanked demo cohort into ``folder``; return its infusions as typed."""
    source = demo_path("csv")
    folder.mkdir()
    (folder / "patients.csv").write_text((source / "patients.csv").read_text())
    infusions = pd.read_csv(source / "infusions.csv", dtype=str, keep_default_na=False)
    rows = infusions["patient_id"].isin(BLANK_RESPONSE) & infusions["infusion"].eq("2")
    for column in ("best_response", "best_response_mrd_pct", "response_date"):
        infusions.loc[rows, column] = ""
    for column in BLANK_ALL:
        infusions[column] = ""
    infusions.to_csv(folder / "infusions.csv", index=False)
    return infusions


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("blank")
    infusions = _blank_cohort(root / "cohort")
    output = build_report(load_cohort(root / "cohort"), demo_plan(), root / "report",
                          formats=("html", "docx"))
    document = docx.Document(str(output.docx))
    texts = [p.text for p in document.paragraphs]
    texts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    return {"infusions": infusions, "folder": output.folder,
            "results": json.loads(output.results_json.read_text(encoding="utf-8")),
            "html": html.unescape(output.html.read_text(encoding="utf-8")),
            "docx": texts}


def _table(results: dict[str, Any], table_id: str) -> dict[str, Any]:
    return next(t for t in results["tables"] if t["id"] == table_id)


def _cell(results: dict[str, Any], table_id: str, row: str, column: str) -> dict[str, Any]:
    table = _table(results, table_id)
    index = next(i for i, c in enumerate(table["columns"]) if c.startswith(column))
    for line in table["rows"]:
        cell = line["cells"][index]
        if cell is not None and cell["row"] == row:
            return cell
    raise KeyError((table_id, row, column))


def test_partly_blank_response_states_the_known_denominator(blank: dict[str, Any]) -> None:
    second = blank["infusions"][blank["infusions"]["infusion"] == "2"]
    known = second[second["best_response"] != ""]
    assert len(second) - len(known) == len(BLANK_RESPONSE)  # 3 blanked of 18
    n = len(known)  # 15 known responses after CART2
    for code in ("SD", "PD", "CR"):
        k = int((known["best_response"] == code).sum())
        cell = _cell(blank["results"], "response", f"Best response / {code}", "CART2")
        assert (cell["numerator"], cell["denominator"], cell["n_missing"]) == (k, n, 3)
        assert cell["text"] == f"{k} ({_percent(k, n)})"
    objective = int(known["best_response"].isin(["CR", "CRi", "PR"]).sum())
    cell = _cell(blank["results"], "response", "Objective response (CR, CRi or PR)", "CART2")
    assert (cell["numerator"], cell["denominator"]) == (objective, n)
    assert cell["text"] == f"{objective} ({_percent(objective, n)})"
    # The unknowns are counted on their own line, in the HTML, Word and CSV alike.
    line = _cell(blank["results"], "response", "Best response / Not recorded", "CART2")
    assert line["text"] == "3"
    rows = list(csv.reader((blank["folder"] / "tables" / "response.csv").open()))
    assert any(r[0].strip() == "Not recorded, n" and r[2] == "3" for r in rows)
    assert re.search(r"Not recorded, n</td><td class=\"num\">0</td><td class=\"num\">3<",
                     blank["html"])
    assert "Not recorded, n" in blank["docx"]


def test_a_column_blank_for_everyone_is_not_recorded(blank: dict[str, Any]) -> None:
    for row in ("Any CRS", "Severe CRS (grade ≥ 3)"):
        for column in ("CART1", "CART2"):
            try:
                cell = _cell(blank["results"], "toxicity", row, column)
            except KeyError:
                continue
            assert cell["text"] == "not recorded", cell
            assert cell["numerator"] is None and cell["n_missing"] == 18
    cell = _cell(blank["results"], "toxicity", "Any CRS", "CART2")
    assert cell["text"] == "not recorded"
    # Nowhere does an unknown count print as zero: every cell whose values are all
    # unknown says so, and no count over nobody ("0/0", "0 (0.0)" of 0) is printed.
    for table in blank["results"]["tables"]:
        for line in table["rows"]:
            for cell in line["cells"]:
                if cell and cell["stat"] in ("count", "level") and cell["numerator"] is None:
                    assert cell["text"] == "not recorded"
                if cell and cell["denominator"] == 0:
                    assert not cell["text"].startswith("0 ("), cell
    page = re.sub(r"<img [^>]*>", "", blank["html"])  # base64 figures hold any letters
    for text in (page, "\n".join(blank["docx"])):
        assert "0/0" not in text
    toxicity = (blank["folder"] / "tables" / "toxicity.csv").read_text(encoding="utf-8")
    assert "Any CRS,not recorded,not recorded" in toxicity
    any_crs = [t for t in blank["docx"] if t.startswith("Any CRS")]
    assert any_crs and "not recorded" in blank["docx"]


def test_tables_figures_and_comparisons_without_data_are_left_out(
        blank: dict[str, Any]) -> None:
    results, page = blank["results"], blank["html"]
    omitted = {item["id"]: item for item in results["omitted"]}
    # Expansion: peak count, LP and CSF CAR T all blank; antigen density all blank; CRS
    # grades all blank.
    assert {"expansion", "fig_expansion", "expansion_by_infusion", "abc_cd19", "abc_cd22",
            "fig_abc_cd19", "fig_abc_cd22", "fig_crs", "crs_by_infusion"} <= set(omitted)
    assert "toxicity" not in omitted and "fig_neurotox" not in omitted  # neurotox is there
    line = omitted["expansion"]["reason"]
    assert line.startswith("Table not shown (Peak CAR T-cell expansion in blood and "
                           "trafficking to the CSF): no value of peak_car_per_ul, ")
    assert line in page and any(line == t for t in blank["docx"])
    assert "No patients to show" not in page
    assert results["figures"][[f["id"] for f in results["figures"]].index("fig_crs")][
        "files"] == {}
    assert not (blank["folder"] / "figures" / "fig_crs.png").exists()
    # Numbering runs over what is printed, the same in HTML and Word: 1, 2, 3, ...
    for kind in ("Table", "Figure"):
        numbers = [int(n) for n in re.findall(rf"<h3 id=\"[^\"]+\">{kind} (\d+)\.", page)
                   + re.findall(rf"<figcaption><strong>{kind} (\d+)\.", page)]
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (kind, numbers)
        word = sorted(int(m[1]) for t in blank["docx"]
                      if (m := re.match(rf"{kind} (\d+)\. ", t)))
        assert sorted(set(word)) == sorted(numbers), kind


def test_methods_define_only_what_is_printed(blank: dict[str, Any]) -> None:
    methods = blank["html"].split("<h2>Methods</h2>")[1].split("<h2>")[0]
    assert "CRS graded by the ASTCT" not in methods  # no CRS grade was recorded
    assert "neurotoxicity severe at grade ≥ 4 by CTCAE, ≥ 3 by ICANS" in methods  # recorded
    # The demo, with its CRS grades, defines CRS.
    options = DeriveOptions()
    assert any("CRS graded" in c for c in definition_clauses(options, {"crs_grade"}))
    assert not any("CRS" in c for c in definition_clauses(options, {"neurotox_grade"}))


def test_paired_comparison_says_how_many_are_left_out(blank: dict[str, Any]) -> None:
    # Best response blanked for 3 reinfusions: the McNemar comparison of response to
    # CART1 vs CART2 pairs 15 patients and says 3 were left out.
    comparison = next(c for c in blank["results"]["comparisons"]
                      if c["id"] == "response_by_infusion_test")
    assert comparison["n"] == 15
    assert [g["n_missing"] for g in comparison["groups"]] == [0, 3]
    assert "CART2 3" in comparison["note"] and "both groups" in comparison["note"]


@pytest.mark.parametrize(("next_infusion", "hsct"), [(True, True), (False, False),
                                                      (True, False)])
def test_censoring_sentences_follow_the_derive_options(tmp_path: Path, next_infusion: bool,
                                                       hsct: bool) -> None:
    keys = (f"censor_at_next_infusion = {str(next_infusion).lower()}\n"
            f"censor_at_hsct = {str(hsct).lower()}\n")
    text = default_plan_text()
    text = (text.replace("[plan.derive]\n", "[plan.derive]\n" + keys, 1)
            if "[plan.derive]\n" in text
            else text.replace("\n[[tables]]", f"\n[plan.derive]\n{keys}\n[[tables]]", 1))
    plan = parse_plan(text)
    output = build_report(load_cohort(demo_path()), plan, tmp_path / "out")
    payload = json.loads(output.results_json.read_text(encoding="utf-8"))
    assert payload["derive_options"]["censor_at_next_infusion"] is next_infusion
    assert payload["derive_options"]["censor_at_hsct"] is hsct
    page = html.unescape(output.html.read_text(encoding="utf-8"))
    methods = page.split("<h2>Methods</h2>")[1].split("<h2>")[0]
    remission = re.search(r"duration of remission [^;]*", methods)
    assert remission is not None
    assert ("the next infusion" in remission[0]) is next_infusion
    assert ("HSCT" in remission[0]) is hsct
    # The remission table's footnote quotes the same words.
    footnote = next(n for n in _table(payload, "remission")["footnotes"]
                    if "censored at" in n)
    options = DeriveOptions(censor_at_next_infusion=next_infusion, censor_at_hsct=hsct)
    assert censoring_phrase(options) in footnote
    assert censoring_phrase(options) in remission[0]


def test_censoring_phrase_by_hand() -> None:
    # derive.py: follow-up ends at death or last contact, then at HSCT and next infusion.
    assert censoring_phrase(DeriveOptions(censor_at_hsct=False,
                                          censor_at_next_infusion=False)) == (
        "death or last follow-up, whichever came first")
    assert censoring_phrase(DeriveOptions(censor_at_hsct=False), "efs") == (
        "last follow-up or the next infusion, whichever came first")


def test_denominator_display_prints_k_of_n(tmp_path: Path) -> None:
    infusions = _blank_cohort(tmp_path / "cohort")
    text = default_plan_text().replace('style = "seed"', 'style = "seed"\nmissing = "denominator"')
    output = build_report(load_cohort(tmp_path / "cohort"), parse_plan(text),
                          tmp_path / "out")
    results = json.loads(output.results_json.read_text(encoding="utf-8"))
    assert results["tables"]
    second = infusions[infusions["infusion"] == "2"]
    known = second[second["best_response"] != ""]
    k = int((known["best_response"] == "SD").sum())
    cell = _cell(results, "response", "Best response / SD", "CART2")
    assert cell["text"] == f"{k}/{len(known)} ({_percent(k, len(known))})"
    assert not any(line["label"].startswith("Not recorded")
                   for line in _table(results, "response")["rows"])
    # A column without unknowns prints as before.
    first = infusions[infusions["infusion"] == "1"]
    k1 = int((first["best_response"] == "CR").sum())
    assert _cell(results, "response", "Best response / CR", "CART1")["text"] == (
        f"{k1} ({_percent(k1, 18)})")


def test_median_over_known_values_says_n(tmp_path: Path, write_cohort_csv) -> None:
    # conftest cohort, all infusions: ages 12, 12.3, 20; blank P2's: median of 2 values.
    folder = write_cohort_csv([("infusions", 2, "age_years", "")])
    plan_text = """
[plan]
population = "all"
missing = "{missing}"
[[tables]]
id = "t"
title = "T"
columns = [{ id = "all", label = "All (n={n})" }]
rows = [{ label = "Age", stat = "median_range", variable = "age_years" }]
"""
    for missing, expected in (("denominator", ["12.15 (12–12.3); n=2"]),
                              ("row", ["12.15 (12–12.3)", "1"])):
        output = build_report(load_cohort(folder),
                              parse_plan(plan_text.replace("{missing}", missing)),
                              tmp_path / missing)
        table = json.loads(output.results_json.read_text(encoding="utf-8"))["tables"][0]
        assert [line["cells"][0]["text"] for line in table["rows"]] == expected
        assert table["rows"][0]["cells"][0]["n"] == 2


def test_a_users_cohort_report_does_not_speak_of_the_seed_study(tmp_path: Path) -> None:
    source = write_cohort(synth_cohort(60, seed=3), tmp_path / "cohort")
    output = build_report(load_cohort(source), parse_plan(default_plan_text()),
                          tmp_path / "out", formats=("html", "docx"))
    page = html.unescape(output.html.read_text(encoding="utf-8"))
    body = page.split("<h2>Reproducibility</h2>")[0]
    body = body.replace("Analysis plan seed-cart2", "")  # the plan's id in the subtitle
    assert not re.search(r"\bseed\b", body, flags=re.IGNORECASE), re.findall(
        r".{60}\bseed\b.{60}", body, flags=re.IGNORECASE)
    words = " ".join(p.text for p in docx.Document(str(output.docx)).paragraphs)
    words = words.replace("Analysis plan seed-cart2", "")
    assert "seed study" not in words.lower() and "seed criteria" not in words.lower()


def test_unrecorded_crs_is_one_line_and_loses_its_definition(blank: dict[str, Any]) -> None:
    toxicity = _table(blank["results"], "toxicity")
    labels = [line["label"] for line in toxicity["rows"]]
    # One "not recorded" line for the CRS grade, not six grade lines of "not recorded".
    index = labels.index("Maximum CRS grade")
    assert [c["text"] for c in toxicity["rows"][index]["cells"]] == ["not recorded"] * 2
    assert labels[index + 1] == "Severe CRS (grade ≥ 3)"
    notes = " ".join(toxicity["footnotes"])
    assert "ASTCT" not in notes and "Neurotoxicity graded" in notes
    # The demo itself, with CRS grades, keeps both footnotes (checked in the plan text).
    assert default_plan_text().count("CRS graded by the ASTCT consensus criteria") == 1


def test_a_table_whose_columns_select_nobody_says_so(tmp_path: Path,
                                                     write_cohort_csv) -> None:
    # conftest cohort: no infusion has CRS grade 4, so the column holds no patient.
    plan = parse_plan("""
[plan]
population = "all"
[[tables]]
id = "t"
title = "Severe CRS"
columns = [{ id = "g4", label = "CRS 4 (n={n})", where = { crs_grade = [4] } }]
rows = [{ label = "Prior HSCT", stat = "count", variable = "prior_hsct" }]
""")
    output = build_report(load_cohort(write_cohort_csv()), plan, tmp_path / "out")
    omitted = json.loads(output.results_json.read_text(encoding="utf-8"))["omitted"]
    assert omitted == [{"id": "t", "kind": "table", "reason":
                        "Table not shown (Severe CRS): no patient is in its columns "
                        "(CRS 4 (n=0))."}]
