"""The PDF report of the demo cohort: paged for print, nothing cut, nothing fetched.

The PDF is read back with pypdf (an independent reader); the published numbers it must
show are quoted from the seed paper (/work/shared/reference/cart2-reinfusion-study.txt):
Table 1 "18.5 (7–30)", Table 2 "116.5 (35–373)", results p=0.03 (CART1 vs CART2
expansion) and p=0.084 (CD22 ABC before CART1 vs CART2).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reinfuse.demo import demo_path, demo_plan
from reinfuse.pipeline import build_report
from reinfuse.report._pdf import ExternalResourceError, OfflineFetcher, render_pdf, write_pdf
from reinfuse.validate import load_cohort


@pytest.fixture(scope="module")
def cohort() -> Any:
    return load_cohort(demo_path())


@pytest.fixture(scope="module")
def report(cohort: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import reinfuse.report._pdf as pdf

    out = tmp_path_factory.mktemp("pdf") / "report"
    seen: list[str] = []

    def keep_html(html: str, path: Path, **kwargs: Any) -> Path:
        seen.append(html)  # the HTML the PDF is rendered from, for the layout test
        return write_pdf(html, path, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "write_pdf", keep_html)
        output = build_report(cohort, demo_plan(), out, formats="pdf")
    # Only the PDF was asked for: no report.html, results.json always.
    assert output.pdf is not None and output.html is None and output.docx is None
    assert {p.name for p in out.iterdir()} >= {"report.pdf", "results.json", "figures"}
    assert not (out / "report.html").exists() and len(seen) == 1
    reader = PdfReader(output.pdf)
    return {"json": json.loads(output.results_json.read_text(encoding="utf-8")),
            "reader": reader, "html": seen[0],
            "pages": [" ".join(page.extract_text().split()) for page in reader.pages]}


def test_page_count_size_and_numbers(report: dict[str, Any]) -> None:
    reader, pages = report["reader"], report["pages"]
    assert len(pages) >= 3
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # Letter
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text


def test_published_numbers_are_printed(report: dict[str, Any]) -> None:
    text = " ".join(report["pages"])
    for quoted in ("18.5 (7–30)", "116.5 (35–373)", "0.084", "0.03", "7 (38.9)"):
        assert quoted in text, quoted


def test_no_table_is_split_across_pages(report: dict[str, Any]) -> None:
    # Some page holds the title, the header and the whole last row of each table (and
    # every group and the p-value of each comparison).
    pages, payload = report["pages"], report["json"]
    for table in payload["tables"]:
        last = table["rows"][-1]
        needles = [table["title"], " ".join(table["columns"][-1].split()[:2]),
                   " ".join(last["label"].split()[:3]),
                   *(c["text"] for c in last["cells"] if c is not None)]
        assert any(all(n in page for n in needles) for page in pages), table["id"]
    for comparison in payload["comparisons"]:
        needles = [comparison["title"], comparison["p_text"],
                   *(f"{g['label']} {g['n']} {g['text']}" for g in comparison["groups"])]
        assert any(all(n in page for n in needles) for page in pages), comparison["id"]


def test_layout_keeps_every_table_and_figure_on_one_page(report: dict[str, Any]) -> None:
    # The layout itself: no <table> or <figure> element has boxes on two pages.
    document = render_pdf(report["html"])
    pages_of: dict[int, set[int]] = {}
    for number, page in enumerate(document.pages):
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            if box.element_tag in ("table", "figure"):
                pages_of.setdefault(id(box.element), set()).add(number)
            stack.extend(getattr(box, "children", []))
    n_items = len(report["json"]["tables"]) + len(report["json"]["comparisons"]) + len(
        report["json"]["figures"])
    assert len(pages_of) >= n_items
    assert all(len(pages) == 1 for pages in pages_of.values())


def test_a_table_taller_than_a_page_breaks_and_repeats_its_header(tmp_path: Path) -> None:
    rows = "".join(f"<tr><td>Row {i}</td><td class='num'>{i}</td></tr>" for i in range(120))
    html = ("<html><body><p>Text before.</p><h3>Long table</h3><table class='data'><thead>"
            f"<tr><th>Item</th><th>Value HEADER</th></tr></thead><tbody>{rows}</tbody></table>"
            "</body></html>")
    path = write_pdf(html, tmp_path / "long.pdf", page_size="a4")
    reader = PdfReader(path)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(texts) >= 2
    # The table starts below its title on the first page, and every page repeats its header.
    assert "Text before. Long table Item Value HEADER Row 0 0" in texts[0]
    assert all("Item Value HEADER Row" in text for text in texts)
    assert all(f"Row {i} {i}" in " ".join(texts) for i in range(120))


def test_fetcher_serves_data_urls_and_refuses_everything_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the PDF renderer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    fetcher = OfflineFetcher()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in ("http://example.org/x.png", "https://example.org/x.css",
                "file:///etc/passwd", "ftp://example.org/x"):
        with pytest.raises(ExternalResourceError, match="refused to fetch"):
            fetcher.fetch(url)
    with pytest.raises(ExternalResourceError, match=r"example\.org"):
        render_pdf('<html><body><img src="http://example.org/x.png"></body></html>')
    with pytest.raises(ExternalResourceError):
        render_pdf('<html><head><link rel="stylesheet" href="https://example.org/s.css">'
                   "</head><body>x</body></html>")


def test_a_failure_writes_nothing(cohort: Any, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import reinfuse.report._pdf as pdf

    def broken(html: str, path: Path, **kwargs: Any) -> Path:
        path.write_bytes(b"%PDF-half")
        raise ExternalResourceError("simulated failure half-way through the PDF")

    monkeypatch.setattr(pdf, "write_pdf", broken)
    with pytest.raises(ExternalResourceError, match="simulated"):
        build_report(cohort, demo_plan(), tmp_path / "failed", formats="html,pdf")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary copy
