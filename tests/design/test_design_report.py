"""The design report (`reinfuse design ... --out DIR --format html,docx,pdf`).

Reference values: clinfun's ``ph2simon`` documentation example (R package clinfun, Seshan
VE; p0 = 0.2, p1 = 0.4, alpha = beta = 0.1): minimax r1/n1 = 3/19, r/n = 10/36,
EN0 28.26, PET0 0.4551; optimal 3/17, 10/37, EN0 26.02, PET0 0.5489 (also in
tests/reference/trial_design.md). The report must print these, and the same numbers as
the design result it renders.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from reinfuse.cli import main
from reinfuse.design import simon_two_stage, two_stage_inference

CLINFUN = {"minimax": ("3/19", "10/36", "28.26", "0.4551"),
           "optimal": ("3/17", "10/37", "26.02", "0.5489")}
ARGS = ["design", "simon", "--p0", "0.2", "--p1", "0.4", "--alpha", "0.1", "--beta", "0.1",
        "--nmax", "40"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run writing every format (the PDF is the slow part: done once)."""
    out = tmp_path_factory.mktemp("design") / "report"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
        assert main([*ARGS, "--out", str(out), "--format", "html,docx,pdf"]) == 0
    return out


def _docx_text(path: Path) -> str:
    document = Document(str(path))
    cells = [" | ".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def test_every_format_prints_clinfun_values(report: Path) -> None:
    html = (report / "design.html").read_text(encoding="utf-8")
    texts = {"html": re.sub(r"<[^>]+>", " ", html), "docx": _docx_text(report / "design.docx"),
             "pdf": _pdf_text(report / "design.pdf")}
    for fmt, text in texts.items():
        words = " ".join(text.split())
        for kind, (first, total, en0, pet0) in CLINFUN.items():
            assert re.search(rf"{kind.capitalize()}\W+{first}\W+{total}\W+{en0}\W+{pet0}",
                             words), (fmt, kind)
        for ref in ("Simon R. Optimal two-stage designs", "Jung SH, Lee T, Kim K"):
            assert ref in words, (fmt, ref)
        assert "Made 2023-11-14T22:13:20Z by reinfuse" in words, fmt  # SOURCE_DATE_EPOCH


def test_json_equals_design_result(report: Path) -> None:
    data = json.loads((report / "design.json").read_text(encoding="utf-8"))
    expected = simon_two_stage(0.2, 0.4, 0.1, 0.1, nmax=40).to_dict()
    assert data["result"] == expected
    assert data["stamp"]["generated_at"] == "2023-11-14T22:13:20Z"
    # the HTML prints the result's own alpha and power of the optimal design
    html = (report / "design.html").read_text(encoding="utf-8")
    assert f"{expected['optimal']['alpha']:.4f}" in html
    assert f"{expected['optimal']['power']:.4f}" in html


def test_refusals_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    # bad rates: exit 3 (bad options), nothing created
    assert main(["design", "simon", "--p0", "0.5", "--p1", "0.4", "--out", str(out)]) == 3
    # an unknown document format: exit 3 (argparse's error, raised as SystemExit)
    with pytest.raises(SystemExit) as exc:
        main([*ARGS, "--out", str(out), "--format", "html,rtf"])
    assert exc.value.code == 3
    # a document format without --out, and json with --out: exit 3
    assert main([*ARGS, "--format", "docx"]) == 3
    assert main([*ARGS, "--out", str(out), "--format", "json"]) == 3
    assert list(tmp_path.iterdir()) == []
    # a folder of the user's: refused (exit 4), even with --overwrite, and left untouched
    out.mkdir()
    (out / "mine.txt").write_text("keep", encoding="utf-8")
    assert main([*ARGS, "--out", str(out)]) == 4
    assert main([*ARGS, "--out", str(out), "--overwrite"]) == 4
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]
    capsys.readouterr()


def test_inference_report_in_lancet_style(tmp_path: Path) -> None:
    """After-trial report: p, UMVUE and CI as computed, in the Lancet's decimal mark."""
    from reinfuse.report.design import design_document

    result = two_stage_inference(3, 17, 10, 37, 5, 8, p0=0.2)
    doc = design_document(result, style="lancet")
    row = doc.tables[1].rows[0]
    assert row[1] == "13/37"
    assert row[3] == f"{result.estimate:.4f}".replace(".", "·")
    assert row[5].startswith(f"{result.ci_low:.4f}".replace(".", "·"))
    assert any("Koyama T, Chen H" in r for r in doc.references)
    assert any("Jung SH, Kim KM" in r for r in doc.references)
    # no stage 2 planned size change: the UMVUE is reported, so Jung & Kim is cited;
    # a changed stage-2 size reports the naive proportion and does not cite it
    changed = design_document(two_stage_inference(3, 17, 10, 37, 5, 8, p0=0.2, m2=18))
    assert not any("Jung SH, Kim KM" in r for r in changed.references)
    assert main(["design", "bayes", "--p0", "0.2", "--p1", "0.4", "--nmax", "10",
                 "--out", str(tmp_path / "b"), "--format", "docx"]) == 0
    text = _docx_text(tmp_path / "b" / "design.docx")
    assert "Lee JJ, Liu DD" in text and "Stopping boundaries" in text
    assert not (tmp_path / "b" / "design.html").exists()


def test_same_bytes_twice_with_source_date_epoch(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from reinfuse.report.design import write_design_report

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = simon_two_stage(0.2, 0.4, 0.1, 0.1, nmax=40)
    one = write_design_report(result, tmp_path / "one", formats="html,docx")
    two = write_design_report(result, tmp_path / "two", formats="html,docx")
    for name in ("design.html", "design.docx", "design.json"):
        assert (one.folder / name).read_bytes() == (two.folder / name).read_bytes(), name
    assert one.pdf is None and not (one.folder / "design.pdf").exists()
