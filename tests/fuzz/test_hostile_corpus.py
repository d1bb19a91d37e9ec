"""The hostile-input corpus through the command line: no traceback, no hang, valid JSON,
the documented exit code, and nothing written for input that is not a valid cohort."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_corpus import CASES, Case

from reinfuse.cli import EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, main
from reinfuse.errors import CohortReadError
from reinfuse.io.read import read_raw
from reinfuse.validate import validate

EXIT = {"valid": EXIT_OK, "invalid": EXIT_INVALID, "unreadable": EXIT_UNREADABLE}
#: The issue's bound on a demo-sized input.
SECONDS = 5.0


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_json(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = case.make(tmp_path)
    capsys.readouterr()
    started = time.perf_counter()
    code = main(["validate", str(source), "--format", "json"])
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert elapsed < SECONDS, f"{case.name}: {elapsed:.1f} s"
    document = json.loads(out)  # always one JSON document
    assert code == EXIT[case.expect], document
    if case.expect == "unreadable":
        assert document["error"]["kind"] == "unreadable"
        assert document["error"]["exit_code"] == EXIT_UNREADABLE
        if case.rule:
            assert case.rule.lower() in document["error"]["message"].lower()
    else:
        assert isinstance(document, list)
        errors = [f for f in document if f["severity"] == "error"]
        assert bool(errors) == (case.expect == "invalid"), errors[:3]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_expected_finding_or_error(case: Case, tmp_path: Path) -> None:
    source = case.make(tmp_path)
    if case.expect == "unreadable":
        with pytest.raises(CohortReadError) as caught:
            validate(read_raw(source))
        if case.rule:
            assert case.rule.lower() in str(caught.value).lower()
        return
    report = validate(read_raw(source))
    assert report.ok == (case.expect == "valid"), report.errors[:3]
    if case.rule:
        assert case.rule in {f.rule for f in report.findings}


@pytest.mark.parametrize("case", [c for c in CASES if c.expect != "valid"],
                         ids=[c.name for c in CASES if c.expect != "valid"])
def test_report_writes_nothing_for_bad_input(case: Case, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    source = case.make(tmp_path)
    out = tmp_path / "report"
    code = main(["report", str(source), "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == EXIT[case.expect]
    assert "Traceback" not in err
    assert not out.exists()
    assert {p.name for p in tmp_path.iterdir()} == {source.name}  # no stray temp folder


def test_findings_name_sheet_row_column_of_1e30(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.name == "1e30-in-integer-column")
    main(["validate", str(case.make(tmp_path)), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)
    hit = [f for f in findings if f["column"] == "vasopressors" and f["severity"] == "error"]
    assert [(f["sheet"], f["row"], f["value"]) for f in hit] == [
        ("crs_observations", 2, "1e30")]
    assert "0 to 20" in hit[0]["expected"]


def test_long_cell_is_not_quoted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in CASES if c.name == "10MB-text-cell")
    main(["validate", str(case.make(tmp_path)), "--format", "json"])
    out = capsys.readouterr().out
    assert len(out) < 100_000  # the 10 MB cell is not echoed back
    finding = next(f for f in json.loads(out) if f["severity"] == "error")
    assert (finding["sheet"], finding["row"], finding["column"]) == ("infusions", 2, "trial")
    assert finding["value"] == "10,000,000 characters"
    assert "32,767" in finding["message"]


@pytest.mark.skipif(not os.environ.get("REINFUSE_FUZZ_RANDOM"),
                    reason="builds a 1.1 GiB zip bomb: run by `make fuzz`")
def test_real_zip_bomb_refused_within_2gb_and_30s(tmp_path: Path) -> None:
    from hostile_corpus import _zip_bomb

    path = _zip_bomb(1_100 << 20)(tmp_path)
    assert path.stat().st_size < 20 << 20
    probe = ("import resource, sys, time\n"
             "from reinfuse.errors import CohortReadError\n"
             "from reinfuse.io.read import read_raw\n"
             "t = time.perf_counter()\n"
             "try:\n    read_raw(sys.argv[1])\nexcept CohortReadError as e:\n    print(e)\n"
             "print(time.perf_counter() - t)\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                          text=True, check=True, timeout=60)
    message, seconds, peak_kb = done.stdout.strip().rsplit("\n", 2)
    assert "zip bomb" in message
    assert float(seconds) < 30 and int(peak_kb) < 2 << 20
