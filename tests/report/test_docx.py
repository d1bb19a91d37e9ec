"""The Word report of the demo cohort: real tables that print what results.json holds.

Every table is read back with python-docx and compared cell by cell with results.json (the
machine-readable record the HTML test checks against the paper); the figures must be
embedded pictures; the generated methods must name every test and the software versions;
the results template must quote the numbers. Published numbers quoted below come from the
seed paper (/work/shared/reference/cart2-reinfusion-study.txt, section named in a comment).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docx
import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from reinfuse.demo import demo_path, demo_plan
from reinfuse.pipeline import build_report
from reinfuse.validate import load_cohort

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("docx") / "report"
    output = build_report(load_cohort(demo_path()), demo_plan(), out, now=NOW,
                          formats=("html", "docx"))
    assert output.docx is not None and output.pdf is None
    return {"json": json.loads(output.results_json.read_text(encoding="utf-8")),
            "docx": docx.Document(str(output.docx)), "path": output.docx,
            "html": output.html.read_text(encoding="utf-8") if output.html else ""}


def body(document: Any) -> list[Paragraph | Table]:
    """Paragraphs and tables of the document body, in order."""
    items: list[Paragraph | Table] = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            items.append(Paragraph(element, document))
        elif element.tag == qn("w:tbl"):
            items.append(Table(element, document))
    return items


def titled_tables(document: Any) -> list[tuple[str, Table]]:
    """Each table with the last non-empty paragraph above it (its title)."""
    found, title = [], ""
    for item in body(document):
        if isinstance(item, Paragraph):
            title = item.text or title
        else:
            found.append((title, item))
    return found


def grid(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def section_text(document: Any, heading: str) -> str:
    """The text of the paragraphs under a Heading 1, up to the next one."""
    texts, inside = [], False
    for paragraph in document.paragraphs:
        if paragraph.style.name == "Heading 1":
            inside = paragraph.text == heading
        elif inside:
            texts.append(paragraph.text)
    return "\n".join(texts)


def expected_tables(payload: dict[str, Any]) -> dict[str, tuple[str, list[list[str]]]]:
    """Title and printed grid of every table and comparison, from results.json alone."""
    expected = {}
    for table in payload["tables"]:
        rows = [["Characteristic", *table["columns"]]]
        rows += [[row["label"], *("" if c is None else c["text"] for c in row["cells"])]
                 for row in table["rows"]]
        expected[table["id"]] = (table["title"], rows)
    for comparison in payload["comparisons"]:
        marker = "a" if comparison["method"] and comparison["p_text"] else ""
        rows = [["Group", "n", "?", "p"]]
        rows += [[g["label"], str(g["n"]), g["text"], comparison["p_text"] + marker]
                 for g in comparison["groups"]]
        expected[comparison["id"]] = (comparison["title"], rows)
    return expected


def test_every_table_cell_by_cell(report: dict[str, Any]) -> None:
    expected = expected_tables(report["json"])
    tables = titled_tables(report["docx"])
    assert len(tables) == len(expected)  # only data tables: the stamp is text
    seen = []
    for number, (title, table) in enumerate(tables, start=1):
        # Titles are numbered in order; a number the plan wrote ("Table 1. ...") is kept.
        match = re.match(r"Table (\d+)\. (.*)$", title)
        assert match is not None and int(match[1]) == number, title
        table_id = next(i for i, (t, _) in expected.items()
                        if t in (title, match[2]) and i not in seen)
        seen.append(table_id)
        want, got = expected[table_id][1], grid(table)
        if want[0][:2] == ["Group", "n"] and want[0][2] == "?":  # a comparison:
            # the summary header names the statistic (and unit) of the groups.
            assert got[0][2].startswith(("median (range)", "n (%)")), got[0]
            want[0][2] = got[0][2]
        assert got == want, table_id
    # Same order as the HTML report (sections in plan order).
    html_order = re.findall(r'<h3 id="([^"]+)">', report["html"])
    assert seen == html_order


def test_table_layout(report: dict[str, Any]) -> None:
    payload = report["json"]
    tables = dict((t, table) for t, table in titled_tables(report["docx"]))
    spec = next(t for t in payload["tables"] if t["id"] == "table1")
    table = tables[spec["title"]]
    properties = table._tbl.tblPr
    borders = {child.tag.split("}")[1]: child.get(qn("w:val"))
               for child in properties.find(qn("w:tblBorders"))}
    # Three-line table: rules above and below, nothing inside, no vertical lines.
    assert borders == {"top": "single", "left": "nil", "bottom": "single", "right": "nil",
                       "insideH": "nil", "insideV": "nil"}
    header = table.rows[0]
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None  # repeats on a new page
    assert header.cells[0]._tc.tcPr.find(qn("w:tcBorders")) is not None  # the middle rule
    assert all(run.bold for cell in header.cells for p in cell.paragraphs for run in p.runs)
    for row, line in zip(spec["rows"], table.rows[1:], strict=True):
        label = line.cells[0].paragraphs[0]
        indent = label.paragraph_format.left_indent or 0
        assert abs(indent - Cm(0.4) * row["indent"]) < Cm(0.01), row["label"]
        assert bool(label.runs[0].bold) == row["header"], row["label"]
        for cell in line.cells[1:]:
            assert cell.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT


def test_page_and_font(report: dict[str, Any]) -> None:
    document = report["docx"]
    section = document.sections[0]
    assert (section.page_width, section.page_height) == (Inches(8.5), Inches(11))  # Letter
    for margin in (section.left_margin, section.right_margin, section.top_margin,
                   section.bottom_margin):
        assert abs(margin - Cm(2.5)) < Cm(0.01)
    normal = document.styles["Normal"].font
    assert (normal.name, normal.size) == ("Calibri", Pt(10))
    footer = section.footer.paragraphs[0]._p.xml
    assert 'w:instr="PAGE"' in footer  # page numbers


def test_comparison_footnote_names_the_test(report: dict[str, Any]) -> None:
    paragraphs = [p.text for p in report["docx"].paragraphs]
    for comparison in report["json"]["comparisons"]:
        if comparison["method"]:
            sentence = comparison["method"][0].upper() + comparison["method"][1:]
            assert any(p.startswith("a " + sentence) for p in paragraphs), comparison["id"]


def test_figures_embedded_with_captions(report: dict[str, Any]) -> None:
    document, figures = report["docx"], report["json"]["figures"]
    assert len(document.inline_shapes) == len(figures)
    section = document.sections[0]
    text_width = section.page_width - section.left_margin - section.right_margin
    assert all(shape.width <= text_width for shape in document.inline_shapes)
    captions = [p.text for p in document.paragraphs if p.text.startswith("Figure ")]
    by_id = {f["id"]: f for f in figures}
    in_order = [by_id[i] for i in re.findall(r'<figure id="([^"]+)">', report["html"])]
    assert len(captions) == len(in_order) == len(figures)
    for number, (caption, figure) in enumerate(zip(captions, in_order, strict=True), 1):
        assert caption == f"Figure {number}. {figure['title']}. {figure['caption']}"


def test_methods_name_every_test_and_the_software(report: dict[str, Any]) -> None:
    methods = section_text(report["docx"], "Methods")
    for comparison in report["json"]["comparisons"]:
        assert comparison["method"] in methods, comparison["id"]
    packages = report["json"]["stamp"]["packages"]
    for name in ("reinfuse", "python", "numpy", "pandas", "scipy"):
        assert packages[name] in methods, name
    # Methods, statistical analyses: "Wilcoxon signed-rank tests were used for paired
    # analyses and Mann-Whitney U tests used for all unpaired analyses ... p<0.05".
    assert "Wilcoxon signed-rank" in methods and "Mann-Whitney U" in methods
    assert "p < 0.05" in methods
    # Results: "Eighteen of 136 (13.2%) patients with B-ALL receiving CART1 proceeded".
    assert "18 of 136" in methods


def test_results_template_quotes_the_numbers(report: dict[str, Any]) -> None:
    text = section_text(report["docx"], "Results (template)")
    # Published (abstract and results): "Seven of 18 (38.9%) demonstrated objective
    # response"; "6 (33.3%) attaining a morphologic CR"; CRS after CART1 15 (83.3%), 5
    # (27.8%) grade >= 3; CART1 vs CART2 expansion p = 0.03; median remission 77 days
    # (54-292); all 6 relapsed; "18 of 136 (13.2%)" proceeded to CART2.
    for quoted in ("Objective response (CR, CRi or PR): CART1 13 of 18 (72.2%), CART2 7 of 18 "
                   "(38.9%)", "Morphologic CR (CR or CRi): CART1 12 of 18 (66.7%), CART2 6 of "
                   "18 (33.3%)", "Any CRS: CART1 15 of 18 (83.3%)",
                   "Severe CRS (grade ≥ 3): CART1 5 of 18 (27.8%)", "p = 0.03 by two-sided "
                   "Wilcoxon signed-rank test", "77 (54–292)", "Relapsed: 6 of 6 (100.0%)",
                   "18 of 136", "(13.2%)"):
        assert quoted in text, quoted
    # Every count printed in a table row is quoted as "k of n" (zero levels may be left out).
    for table in report["json"]["tables"]:
        for row in table["rows"]:
            for cell in row["cells"]:
                if cell is None or cell["denominator"] in (None, 0):
                    continue
                if cell["stat"] in ("level", "missing") and cell["numerator"] == 0:
                    continue
                assert f"{cell['numerator']} of {cell['denominator']}" in text, cell
            for cell in row["cells"]:
                if cell is not None and cell["stat"] in ("median_range", "median_iqr"):
                    assert cell["text"] in text, cell
    # Every comparison with its p-value and test.
    for comparison in report["json"]["comparisons"]:
        assert comparison["title"] in text
        if comparison["p_text"]:
            p = comparison["p_text"]
            assert (f"p = {p}" if p[0] not in "<>" else f"p {p[0]} {p[1:]}") in text
            assert comparison["method"] in text


def test_no_identifiers_or_dates_beyond_the_stamp(report: dict[str, Any]) -> None:
    document = report["docx"]
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    before_stamp = text.split("Reproducibility")[0]
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b", before_stamp)
    patients = {p for c in report["json"]["comparisons"] for g in c["groups"]
                for p in g["patients"]}
    assert patients and not any(re.search(rf"\b{re.escape(p)}\b", text) for p in patients)
    properties = document.core_properties
    assert properties.created == properties.modified == NOW  # the stamp's time, only
    assert properties.author == "reinfuse" and "python-docx" not in properties.comments


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                    reason="LibreOffice (soffice) is not installed: the .docx is not "
                           "converted to PDF by an independent reader")
def test_libreoffice_opens_the_docx(report: dict[str, Any], tmp_path: Path) -> None:
    from pypdf import PdfReader

    office = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([str(office), "--headless", "--convert-to", "pdf", "--outdir",
                    str(tmp_path), str(report["path"])], check=True, timeout=120,
                   capture_output=True)
    pdf = tmp_path / "report.pdf"
    reader = PdfReader(pdf)
    # An independent reader lays the document out: every numbered table and figure title is
    # on its pages, in order, and the pages are at least one per section of the report.
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    document = Document(str(report["path"]))
    titles = [" ".join(p.text.split()) for p in document.paragraphs
              if re.match(r"^(Table|Figure) \d+\.", p.text)]
    assert titles, "no numbered titles in the .docx"
    positions = [text.find(title[:40]) for title in titles]
    missing = [t for t, p in zip(titles, positions, strict=True) if p < 0]
    assert not missing, missing
    assert positions == sorted(positions)
    sections = sum(1 for p in document.paragraphs if p.style.name == "Heading 1")
    assert len(reader.pages) >= sections
