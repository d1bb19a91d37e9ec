"""The contract of issue 3: the report on the demo cohort prints the seed study's figures.

Each expected value is quoted from the published paper (section, table or figure named in
the test id). Where the paper is internally inconsistent the corrected figure is asserted
and the comment says why (docs/demo-cohort.md lists every discrepancy). The values are read
from results.json, so the same numbers the HTML shows are checked.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reinfuse.demo import demo_path, demo_plan
from reinfuse.pipeline import build_report
from reinfuse.validate import load_cohort


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("seed") / "report"
    output = build_report(load_cohort(demo_path()), demo_plan(), out)
    payload = json.loads(output.results_json.read_text(encoding="utf-8"))
    payload["_html"] = html.unescape(output.html.read_text(encoding="utf-8"))
    payload["_folder"] = str(output.folder)
    return payload


def cell(report: dict[str, Any], table: str, row: str, column: str) -> dict[str, Any]:
    """The cell whose row label is ``row`` in the column whose label starts with ``column``."""
    for t in report["tables"]:
        if t["id"] != table:
            continue
        index = next(i for i, c in enumerate(t["columns"]) if c.startswith(column))
        for line in t["rows"]:
            c = line["cells"][index]
            if c is not None and c["row"] == row:
                return c
    raise KeyError((table, row, column))


# (table, row, column, printed text) -> quoted from the paper.
PUBLISHED_CELLS = [
    # Table 1
    ("table1", "Age at CART1, median (range), years", "All", "18.5 (7–30)"),
    ("table1", "Age at CART2, median (range), years", "All", "19 (8–31)"),
    ("table1", "Sex, n (%) / Male", "All", "16 (88.9)"),
    ("table1", "Sex, n (%) / Female", "All", "2 (11.1)"),
    ("table1", "Race, n (%) / White", "All", "12 (66.7)"),
    ("table1", "Race, n (%) / Asian", "All", "2 (11.1)"),
    ("table1", "Race, n (%) / Multiple and unknown", "All", "4 (22.2)"),
    ("table1", "Ethnicity, n (%) / Hispanic", "All", "3 (16.7)"),
    ("table1", "Ethnicity, n (%) / Non-Hispanic", "All", "15 (83.3)"),
    ("table1", "Prior lines of therapy excluding CART1, median (range)", "All", "6 (2–13)"),
    ("table1", "Prior HSCT, n (%)", "All", "14 (77.8)"),  # text: 77.8% (n=14)
    ("table1", "Number of prior HSCT / 1", "All", "11 (61.1)"),
    ("table1", "Number of prior HSCT / >1", "All", "3 (16.7)"),
    ("table1", "Prior immunotherapy, n (%)", "All", "8 (44.4)"),
    ("table1", "Prior blinatumomab", "All", "6 (33.3)"),
    ("table1", "Prior inotuzumab ozogamicin", "All", "2 (11.1)"),
    # Table 1 prints n=9 (products); the text says 8 patients (44.4%): one had two products.
    ("table1", "Prior alternate CAR T-cell therapy (before CART1), n (%)", "All", "8 (44.4)"),
    ("table1", "Products received / Prior anti-CD19 CAR", "All", "6 (33.3)"),
    ("table1", "Products received / Prior anti-CD22 CAR", "All", "2 (11.1)"),
    ("table1", "Products received / Prior anti-CD19/22 CAR", "All", "1 (5.6)"),
    # Table 2
    ("table2", "Bone marrow / MRD-negative CR", "CART1", "0 (0.0)"),
    ("table2", "Bone marrow / MRD-negative CR", "CART2", "2 (11.1)"),
    ("table2", "Bone marrow / M1", "CART1", "5 (27.8)"),
    ("table2", "Bone marrow / M1", "CART2", "4 (22.2)"),
    ("table2", "Bone marrow / M2/M3", "CART1", "13 (72.2)"),
    ("table2", "Bone marrow / M2/M3", "CART2", "12 (66.7)"),
    ("table2", "CNS / CNS1", "CART1", "11 (61.1)"),
    # Paper: "14 (72.2)"; 14 of 18 is 77.8% (counts 14 + 3 + 1 = 18; text: 4 with CNS disease).
    ("table2", "CNS / CNS1", "CART2", "14 (77.8)"),
    # Paper: "7 (38.8)"; 7 of 18 is 38.9% (the text prints 38.9%).
    ("table2", "CNS / CNS1 with flow+ disease", "CART1", "7 (38.9)"),
    ("table2", "CNS / CNS1 with flow+ disease", "CART2", "3 (16.7)"),
    ("table2", "CNS / CNS3", "CART1", "0 (0.0)"),
    ("table2", "CNS / CNS3", "CART2", "1 (5.6)"),
    ("table2", "Non-CNS extramedullary disease", "CART1", "5 (27.8)"),
    ("table2", "Non-CNS extramedullary disease", "CART2", "4 (22.2)"),
    ("table2", "CAR T-cell dose / CART1 = CART2 dose", "CART2", "15 (83.3)"),
    ("table2", "CAR T-cell dose / CART1 > CART2 dose", "CART2", "2 (11.1)"),
    ("table2", "CAR T-cell dose / CART1 < CART2 dose", "CART2", "1 (5.6)"),
    ("table2", "Lymphodepletion before the infusions / Standard LD at CART1 and CART2",
     "CART2", "7 (38.9)"),
    ("table2", "Lymphodepletion before the infusions / Standard LD at CART1, intensified LD "
               "at CART2", "CART2", "8 (44.4)"),
    ("table2", "Lymphodepletion before the infusions / Intensified LD at CART1, standard LD "
               "at CART2", "CART2", "1 (5.6)"),
    ("table2", "Lymphodepletion before the infusions / Combination of standard LD and FLAG",
     "CART2", "2 (11.1)"),
    ("table2", "Indication for CART2 / Persistent disease (PR or SD) after CART1", "CART2",
     "7 (38.9)"),
    ("table2", "Indication for CART2 / Relapse after CART1", "CART2", "11 (61.1)"),
    ("table2", "Time between CART1 and CART2, median (range), days", "CART2",
     "116.5 (35–373)"),
    # Text: compassionate use 4 (22.2%); interim therapy 7 (38.9%); residual CART1 cells 6
    # (33.3%); intensified LD pre-CART2 8 (44.4%).
    ("reinfusion_treatment", "Compassionate use", "CART2", "4 (22.2)"),
    ("reinfusion_treatment", "Interim therapy between CART1 and CART2", "CART2", "7 (38.9)"),
    ("reinfusion_treatment", "Residual CART1 CAR T cells detectable before CART2 "
                             "lymphodepletion", "CART2", "6 (33.3)"),
    ("reinfusion_treatment", "Intensified LD before CART2", "CART2", "8 (44.4)"),
    # Response (abstract, results, discussion): ORR 72.2% vs 38.9%; 6 (33.3%) morphologic CR;
    # 5 of 7 (71.4%) responders MRD-negative; one with persistent MRD; 6 (33.3%) antigen
    # negative/dim after CART2.
    ("response", "Objective response (CR, CRi or PR)", "CART1", "13 (72.2)"),
    ("response", "Objective response (CR, CRi or PR)", "CART2", "7 (38.9)"),
    ("response", "Morphologic CR (CR or CRi)", "CART2", "6 (33.3)"),
    ("response", "MRD-negative CR", "CART2", "5 (27.8)"),
    ("response", "Best response / PR", "CART2", "1 (5.6)"),
    ("response", "MRD-negative CR", "CART2", "5 (27.8)"),
    ("response", "Antigen dim or negative leukemia after the infusion", "CART2", "6 (33.3)"),
    # Discussion: 4 of 7 (57.1%) persistent-disease and 3 of 11 (27.3%) relapse responded.
    ("response_by_indication", "Objective response to CART2", "Persistent", "4 (57.1)"),
    ("response_by_indication", "Objective response to CART2", "Relapse", "3 (27.3)"),
    # Results: of 7 responders, 4 had no CR with CART1 (PR 1, SD 3); 5 (71.4%) intensified
    # LD; 5 (71.4%) interim therapy; 5 of 7 received CD22 CART.
    ("responders", "Response to CART1 / PR", "CART2 responders", "1 (14.3)"),
    ("responders", "Response to CART1 / SD", "CART2 responders", "3 (42.9)"),
    ("responders", "Intensified LD before CART2", "CART2 responders", "5 (71.4)"),
    ("responders", "Interim therapy before CART2", "CART2 responders", "5 (71.4)"),
    ("responders", "Target of the product / CD22", "CART2 responders", "5 (71.4)"),
    # Toxicity (results, Figure 1D/E): CRS 15 (83.3%) with 5 (27.8%) >= grade 3 at CART1;
    # 14 (77.8%) no CRS and 4 (22.2%) grade 1 at CART2; neurotoxicity 4 (22.2%) vs 2 (11.1%),
    # only one of the four with both.
    ("toxicity", "Any CRS", "CART1", "15 (83.3)"),
    ("toxicity", "Severe CRS (grade ≥ 3)", "CART1", "5 (27.8)"),
    ("toxicity", "Maximum CRS grade / No CRS", "CART2", "14 (77.8)"),
    ("toxicity", "Maximum CRS grade / Grade 1", "CART2", "4 (22.2)"),
    ("toxicity", "Any neurotoxicity", "CART1", "4 (22.2)"),
    ("toxicity", "Any neurotoxicity", "CART2", "2 (11.1)"),
    ("toxicity", "Neurotoxicity after CART2, of those with neurotoxicity after CART1, n (%)",
     "CART2", "1 (25.0)"),
    # Expansion: CART1 median 24.05 (0.35-13653.0), CART2 1.69 (0-2886.0); 5 (27.8%) failed
    # to demonstrate any CART2 expansion; CSF trafficking in 5 (35.7%) of 14 with an LP.
    ("expansion", "Peak CAR T cells/µL, median (range)", "CART1", "24.05 (0.35–13653)"),
    ("expansion", "Peak CAR T cells/µL, median (range)", "CART2", "1.69 (0–2886)"),
    ("expansion", "No detectable expansion (blood or CSF), n (%) / No expansion", "CART2",
     "5 (27.8)"),
    ("expansion", "CAR T cells in CSF, n (%) of patients with a lumbar puncture", "CART2",
     "5 (35.7)"),
    # Pre-CART2 disease burden: responders 7.8% (0-62.9), non-responders 29.3% (0-95.0).
    ("burden_by_response", "Marrow B-ALL before CART2, % of MNC by flow, median (range)",
     "Responders", "7.8 (0.0–62.9)"),
    ("burden_by_response", "Marrow B-ALL before CART2, % of MNC by flow, median (range)",
     "Non-responders", "29.3 (0.0–95.0)"),
    # Remission after CART2 (results, Figure 1F): 6 in CR, none transplanted, all relapsed:
    # 3 antigen escape with persistent CAR, 3 CAR loss with antigen preserved; median 77 days
    # (54-292); 2 CNS, 1 combined EMD and marrow, 3 marrow; 3 (50%) had a prior alternate CAR.
    # All six relapsed, so the paper's median is over the relapsed patients.
    ("remission", "Duration of remission in patients who relapsed, median (range), days", "CR",
     "77 (54–292)"),
    ("remission", "Relapsed", "CR", "6 (100.0)"),
    ("remission", "Consolidative HSCT", "CR", "0 (0.0)"),
    ("remission", "Relapse phenotype / Antigen escape with persistent CAR T cells", "CR",
     "3 (50.0)"),
    ("remission", "Relapse phenotype / CAR T-cell loss with antigen preserved", "CR",
     "3 (50.0)"),
    ("remission", "Site of relapse / CNS", "CR", "2 (33.3)"),
    ("remission", "Site of relapse / Marrow and non-CNS EMD", "CR", "1 (16.7)"),
    ("remission", "Site of relapse / Marrow only", "CR", "3 (50.0)"),
    ("remission", "Prior alternate CAR T-cell therapy", "CR", "3 (50.0)"),
]


@pytest.mark.parametrize(("table", "row", "column", "text"), PUBLISHED_CELLS,
                         ids=[f"{t}:{r}:{c}" for t, r, c, _ in PUBLISHED_CELLS])
def test_published_cell(report: dict[str, Any], table: str, row: str, column: str,
                        text: str) -> None:
    found = cell(report, table, row, column)
    assert found["text"] == text
    assert found["text"] in report["_html"]
    if found["denominator"]:
        assert found["value"] == pytest.approx(found["numerator"] / found["denominator"])


# The four p-values of the paper, printed to its precision, with their groups.
PUBLISHED_TESTS = [
    ("expansion_by_infusion", "0.03", "Wilcoxon signed-rank", (18, 18)),
    ("expansion_by_ld", "0.029", "Mann-Whitney", (8, 10)),
    ("burden_by_response_test", "0.16", "Mann-Whitney", (7, 11)),
    ("abc_cd22", "0.084", "Wilcoxon signed-rank", (10, 10)),
]


@pytest.mark.parametrize(("comparison", "p_text", "test", "sizes"), PUBLISHED_TESTS)
def test_published_pvalue(report: dict[str, Any], comparison: str, p_text: str, test: str,
                          sizes: tuple[int, int]) -> None:
    found = next(c for c in report["comparisons"] if c["id"] == comparison)
    assert found["p_text"] == p_text
    assert test in found["method"]
    assert tuple(g["n"] for g in found["groups"]) == sizes
    assert found["method"] in report["_html"]


def test_expansion_by_ld_groups(report: dict[str, Any]) -> None:
    # Intensified LD: median 5.40 (0.63-2886); standard LD: median 0 (0-196.8).
    found = next(c for c in report["comparisons"] if c["id"] == "expansion_by_ld")
    intensified, standard = found["groups"]
    assert (intensified["median"], intensified["minimum"], intensified["maximum"]) == (
        pytest.approx(5.40), 0.63, 2886)
    assert (standard["median"], standard["minimum"], standard["maximum"]) == (0, 0, 196.8)


def test_abc_cd19_not_significant(report: dict[str, Any]) -> None:
    # Figure 2B: CD19 ABC 4069 (1124-6494) vs 2753 (1376-5657), p = NS (n = 4).
    found = next(c for c in report["comparisons"] if c["id"] == "abc_cd19")
    assert [g["text"] for g in found["groups"]] == ["4069 (1124–6494)", "2753 (1376–5657)"]
    assert found["pvalue"] >= 0.05


def test_abc_cd22_groups(report: dict[str, Any]) -> None:
    # Figure 2C: CD22 ABC pre-CART1 3537 (1150-13435) vs pre-CART2 1678 (1012-7727).
    found = next(c for c in report["comparisons"] if c["id"] == "abc_cd22")
    assert [g["text"] for g in found["groups"]] == ["3537 (1150–13435)", "1678 (1012–7727)"]


def test_population_sentence(report: dict[str, Any]) -> None:
    # "Eighteen of 136 (13.2%) patients with B-ALL receiving CART1 proceeded to CART2".
    assert "18 of 136 patients" in report["_html"] and "(13.2%)" in report["_html"]


def test_reproducibility_stamp(report: dict[str, Any]) -> None:
    stamp = report["stamp"]
    assert stamp["plan_sha256"] == demo_plan().sha256
    assert list(stamp["inputs"]) == ["demo_cohort.xlsx"]
    assert len(next(iter(stamp["inputs"].values()))) == 64
    assert {"python", "numpy", "pandas", "scipy"} <= set(stamp["packages"])
    assert stamp["plan_sha256"] in report["_html"]


def test_report_is_self_contained_and_free_of_dates(report: dict[str, Any]) -> None:
    text = report["_html"]
    assert "<img src=\"data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text
    # Dates appear only in the reproducibility stamp (when the report was made).
    body = text.split("<h2>Reproducibility</h2>")[0]
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", body)


def test_every_abbreviation_is_defined(report: dict[str, Any]) -> None:
    body, glossary = report["_html"].split("<h2>Abbreviations</h2>")
    used = [key for key in demo_plan().abbreviations
            if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", body)]
    assert {"CRS", "LD", "MRD", "CNS", "HSCT", "FLAG", "CR"} <= set(used)
    for key in used:
        assert f"{key}, {demo_plan().abbreviations[key]}" in glossary


def test_outputs_written(report: dict[str, Any]) -> None:
    folder = Path(report["_folder"])
    assert {p.name for p in (folder / "figures").iterdir()} >= {
        "fig_expansion.png", "fig_expansion.svg", "fig_swimmer.png"}
    assert (folder / "tables" / "table1.csv").read_text(encoding="utf-8").startswith("row,")
    assert all(f["data"] for f in report["figures"])


def test_cells_parquet_is_every_tidy_table_typed(report: dict[str, Any]) -> None:
    tables = Path(report["_folder"]) / "tables"
    cells = pd.read_parquet(tables / "cells.parquet")
    assert str(cells["numerator"].dtype) == "Int64" and str(cells["p"].dtype) == "Float64"
    tidy = pd.concat([pd.read_csv(tables / f"{t['id']}.tidy.csv") for t in report["tables"]],
                     ignore_index=True)
    assert len(cells) == len(tidy)
    assert cells["text"].fillna("").tolist() == tidy["text"].fillna("").tolist()
    # Table 1 of the paper: 16 of 18 patients male, 88.9%.
    male = cells.loc[(cells["table"] == "table1") & (cells["row"] == "Sex, n (%) / Male")]
    assert male[["numerator", "denominator"]].iloc[0].tolist() == [16, 18]
    assert male["text"].iloc[0] == "16 (88.9)"


def test_no_placeholder_left_unfilled(report: dict[str, Any]) -> None:
    # Labels, titles and footnotes may say {label1}/{label2}/{summary}; none may survive.
    assert not re.search(r"\{(label\d|summary|n)\}", report["_html"])


# --- regression: the numbers of results.json before and after the pipeline refactor -----

#: Keys of the baseline deliberately not compared: the patient ids of each comparison
#: group (written only for groups of at most 100 patients, or when asked for). A null of
#: the baseline may now hold a number (analyze computes both the range and the IQR).
DROPPED_KEYS = {"patients"}


def _differences(before: Any, after: Any, path: str) -> list[str]:
    """Every leaf of ``before`` (number, text, true/false, null) that ``after`` lacks or
    holds differently; ``after`` may carry more (new keys are not differences)."""
    if isinstance(before, dict):
        if not isinstance(after, dict):
            return [f"{path}: {type(after).__name__} instead of an object"]
        out = []
        for key, value in before.items():
            if key in DROPPED_KEYS:
                continue
            if key not in after:
                out.append(f"{path}.{key}: missing")
            else:
                out += _differences(value, after[key], f"{path}.{key}")
        return out
    if isinstance(before, list):
        if not isinstance(after, list) or len(after) != len(before):
            return [f"{path}: list of {len(before)} became {after!r:.80}"]
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in _differences(b, a, f"{path}[{i}]")]
    if before is None and isinstance(after, (int, float)):
        return []  # a number computed now that was not before (both range and IQR)
    if isinstance(before, float) and isinstance(after, (int, float)):
        return [] if after == pytest.approx(before, rel=1e-12, abs=1e-300) else [
            f"{path}: {before!r} became {after!r}"]
    return [] if before == after and type(before) is type(after) else [
        f"{path}: {before!r} became {after!r}"]


def test_results_json_same_as_before_the_refactor(report: dict[str, Any]) -> None:
    """Every number and printed text of the demo's results.json is what it was before
    issue 9's refactor (baseline and how it was made: tests/data/README.md)."""
    baseline = json.loads((Path(__file__).parents[1] / "data" /
                           "demo_results_baseline.json").read_text(encoding="utf-8"))
    after = {k: v for k, v in report.items() if not k.startswith("_")}
    differences = _differences(baseline, after, "results")
    assert not differences, "\n".join(differences[:40])
