"""Resource limits and reader paths that must end in a CohortReadError or a finding
(issue 13): the limits are checked before parsing where the file says enough."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import reinfuse.io.read as read_module
from reinfuse.cli import EXIT_UNREADABLE, main
from reinfuse.demo import demo_path
from reinfuse.errors import CohortReadError
from reinfuse.io.read import read_raw
from reinfuse.schema import Column
from reinfuse.validate import validate
from reinfuse.validate._coerce import coerce_column


def _csv(tmp_path: Path) -> Path:
    folder = tmp_path / "cohort"
    shutil.copytree(demo_path("csv"), folder)
    return folder


def test_permission_denied_is_a_read_error(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, for whom chmod 000 denies nothing: the OS error is simulated.
    def denied(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(read_module.pd, "read_csv", denied)
    with pytest.raises(CohortReadError, match=r"Permission denied.*may read it"):
        read_raw(_csv(tmp_path))


def test_rows_limit_names_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A CSV file has its own, larger limit (a registry outgrows an Excel sheet).
    monkeypatch.setattr(read_module, "MAX_CSV_ROWS", 10)
    with pytest.raises(CohortReadError, match=r"rows, more than the limit of 10 rows.*Split"):
        read_raw(_csv(tmp_path))


def test_rows_limit_checked_from_the_sheet_dimension(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The workbook's sheets declare their size: refused before calamine parses anything.
    monkeypatch.setattr(read_module, "MAX_ROWS", 10)
    monkeypatch.setattr(read_module.pd, "read_excel", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(CohortReadError, match="limit of 10 rows"):
        read_raw(demo_path("xlsx"))


def test_part_size_limit_from_the_zip_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_module, "MAX_XML_BYTES", 1_000)
    monkeypatch.setattr(read_module.pd, "read_excel", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(CohortReadError, match=r"once unpacked.*limit is 1,000 bytes"):
        read_raw(demo_path("xlsx"))


def test_too_many_zip_parts(tmp_path: Path) -> None:
    path = tmp_path / "cohort.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(read_module.MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"x/{i}", b"")
    with pytest.raises(CohortReadError, match="parts, more than the limit"):
        read_raw(path)


def test_long_cell_in_a_workbook_is_a_finding(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Excel and openpyxl cut cells at 32,767 characters: the limit is lowered to test it.
    monkeypatch.setattr(read_module, "MAX_CELL_CHARS", 1_000)
    # The module (reinfuse.validate at package level is the pipeline's stage function).
    monkeypatch.setattr(importlib.import_module("reinfuse.validate"), "MAX_CELL_CHARS", 1_000)
    book = pd.read_excel(demo_path("xlsx"), sheet_name=None, dtype=object)
    book["infusions"]["trial"] = book["infusions"]["trial"].astype(object)
    book["infusions"].loc[0, "trial"] = "NCT" + "9" * 4_000
    path = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, frame in book.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    report = validate(read_raw(path))
    assert [(f.sheet, f.row, f.column, f.column_letter, f.value) for f in report.errors] == [
        ("infusions", 2, "trial", "E", "4,003 characters")]
    assert "NCT" not in report.errors[0].message  # the cell is not quoted


def test_linear_time_for_a_long_run_of_digits() -> None:
    # The old pattern for "3x10^5" backtracked quadratically: 20,000 digits took 4 s.
    col = Column("dose_per_kg", "number", "dose", minimum=0)
    raw = pd.Series(["1" * 30_000 + "x"], index=[2], dtype=object)
    started = time.perf_counter()
    _, findings = coerce_column(raw, col, "infusions")
    assert time.perf_counter() - started < 0.5
    assert [f.rule for f in findings] == ["bad-number"]


def test_internal_error_is_one_line_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("cannot safely cast non-equivalent float64 to int64")

    monkeypatch.setattr("reinfuse.pipeline.validate", broken)
    monkeypatch.delenv("REINFUSE_DEBUG", raising=False)
    assert main(["validate", str(_csv(tmp_path)), "--format", "json"]) == EXIT_UNREADABLE
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert error["kind"] == "internal" and "TypeError" in error["message"]
    assert "Traceback" not in out + err
    assert main(["validate", str(_csv(tmp_path / "b")), "--format", "text"]) == EXIT_UNREADABLE
    _, err = capsys.readouterr()
    assert re.search(r"internal error.*REINFUSE_DEBUG", err, flags=re.S)


def test_json_error_object_for_unreadable_and_bad_options(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "none.xlsx"), "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["exit_code"] == 2
    assert main(["validate", str(tmp_path), "--format", "json", "--prefer", "x"]) == 3
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "bad-options"
