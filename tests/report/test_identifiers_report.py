"""Issue 13 regressions through the whole report: planted identifiers appear in no output
(report.html, the PDF text, report.docx, results.json, tables/*.csv, figures), and user
strings holding matplotlib mathtext are drawn literally instead of crashing the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pytest
from pypdf import PdfReader
from tests.conftest import INFUSIONS, PATIENTS

from reinfuse.cli import main

SECRETS = ["Okafor", "Alice Walker", "Walker", "99887766", "14/07/1999", "14-07-1999",
           "alice@example.org"]
MATH_IDS = [r"$x^$", r"$\undefinedmacro$", r"$\frac{1}{0}$"]


def _cohort(folder: Path) -> Path:
    patients = pd.DataFrame(PATIENTS, dtype=str)
    infusions = pd.DataFrame(INFUSIONS, dtype=str)
    # Six patients: the fixture's two, renamed to mathtext, and two copies of them; the
    # reinfused patient of each copy is named `$\frac{1}{0}$` and like a person.
    ids = [(MATH_IDS[0], MATH_IDS[1]), (MATH_IDS[2], "P3"), ("Okafor, Bob", "P4")]
    copies_p, copies_i = [], []
    for first, second in ids:
        p, i = patients.copy(), infusions.copy()
        p["patient_id"] = [first, second]
        i["patient_id"] = [first, first, second]
        copies_p.append(p)
        copies_i.append(i)
    copies_i[2]["trial"] = ["MRN-99887766", "NCT02315612", "NCT02315612"]
    copies_i[2]["construct"] = ["CD19-28z", "by Alice Walker on 14/07/1999",
                                "alice@example.org"]
    patients = pd.concat(copies_p, ignore_index=True)
    infusions = pd.concat(copies_i, ignore_index=True)
    patients["entered by Alice Walker on 14/07/1999"] = ["a", "b", "c", "d", "e", "f"]
    patients["notes"] = ["", "Okafor family", "", "", "phone 99887766", ""]
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    infusions.to_csv(folder / "infusions.csv", index=False)
    pd.DataFrame({"x": ["1"]}).to_csv(folder / "Okafor_Bob_14-07-1999.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ident")
    source = _cohort(root / "cohort")
    refused = main(["report", str(source), "--out", str(root / "refused")])
    out = root / "out"
    code = main(["report", str(source), "--out", str(out), "--allow-identifiers",
                 "--format", "html,docx,pdf"])
    texts = {"report.html": (out / "report.html").read_text(encoding="utf-8"),
             "results.json": (out / "results.json").read_text(encoding="utf-8"),
             "report.pdf": "\n".join(p.extract_text() or "" for p in
                                     PdfReader(out / "report.pdf").pages),
             "report.docx": "\n".join(
                 [p.text for p in docx.Document(str(out / "report.docx")).paragraphs]
                 + [c.text for t in docx.Document(str(out / "report.docx")).tables
                    for r in t.rows for c in r.cells])}
    for path in sorted((out / "tables").glob("*.csv")) + sorted(
            (out / "figures").glob("*.svg")):
        texts[f"{path.parent.name}/{path.name}"] = path.read_text(encoding="utf-8")
    texts["tables/cells.parquet"] = pd.read_parquet(out / "tables" / "cells.parquet").to_csv()
    return {"refused": refused, "code": code, "out": out, "texts": texts,
            "refused_exists": (root / "refused").exists()}


def test_identifiers_refuse_the_report_without_the_option(outputs: dict[str, Any]) -> None:
    assert outputs["refused"] == 1
    assert not outputs["refused_exists"]


def test_mathtext_ids_do_not_crash_the_report(outputs: dict[str, Any]) -> None:
    assert outputs["code"] == 0


@pytest.mark.parametrize("secret", SECRETS)
def test_no_planted_identifier_in_any_output(outputs: dict[str, Any], secret: str) -> None:
    texts = outputs["texts"]
    assert {"report.html", "results.json", "report.pdf", "report.docx"} <= set(texts)
    assert any(name.startswith("tables/") for name in texts)
    leaked = [name for name, text in texts.items() if secret in text]
    assert leaked == []


def test_the_warnings_are_in_the_report_in_redacted_form(outputs: dict[str, Any]) -> None:
    html = outputs["texts"]["report.html"]
    assert "identifier" in html
    assert "input " in html  # the identifying file name replaced by a neutral label


def test_mathtext_is_drawn_literally(outputs: dict[str, Any]) -> None:
    svgs = " ".join(t for n, t in outputs["texts"].items() if n.startswith("figures/"))
    assert r"$\frac{1}{0}$" in svgs
    assert r"$x^$" in svgs
    assert "O*****, B**" in svgs  # the redacted id, drawn as it is
