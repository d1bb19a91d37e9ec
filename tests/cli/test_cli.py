"""The command line: exit codes 0 / 1 / 2 and the JSON shape promised in the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reinfuse.cli import main

JSON_KEYS = {"severity", "sheet", "row", "column", "value", "expected", "message", "fix"}


def test_validate_clean_exits_0(write_cohort_csv, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write_cohort_csv())]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_validate_errors_exit_1_and_json(write_cohort_csv,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_cohort_csv([("patients", 1, "sex", "x"), ("infusions", 0, "pre_emd", "?")])
    assert main(["validate", str(folder), "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert len(findings) == 2
    assert all(set(f) == JSON_KEYS for f in findings)
    assert findings[0] == {
        "severity": "error", "sheet": "patients", "row": 3, "column": "sex", "value": "x",
        "expected": "M / F / unknown", "message": "'x' is not an allowed code for sex.",
        "fix": "Use one of: M, F, unknown."}


def test_unreadable_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_text("no")
    assert main(["validate", str(bad)]) == 2
    assert "not an Excel .xlsx workbook" in capsys.readouterr().err


def test_identifiers_flag(write_cohort_csv) -> None:
    folder = write_cohort_csv(extra_columns={"patients": {"last_name": ["A", "B"]}})
    assert main(["validate", str(folder)]) == 1
    assert main(["validate", str(folder), "--allow-identifiers"]) == 0


def test_template_and_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.xlsx"
    assert main(["template", str(out)]) == 0
    assert main(["template", str(out)]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert main(["template", str(out), "--overwrite"]) == 0


def test_synth_writes_valid_cohort(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert main(["synth", "--patients", "300", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
