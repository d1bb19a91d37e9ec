"""Reading sources: what cannot be read is said plainly (exit code 2 in the CLI)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from reinfuse.errors import CohortReadError
from reinfuse.io.read import read_raw
from reinfuse.io.write import write_cohort
from reinfuse.validate import validate


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(CohortReadError, match="no such file or folder"):
        read_raw(tmp_path / "nope.xlsx")


def test_not_a_workbook(tmp_path: Path) -> None:
    fake = tmp_path / "cohort.xlsx"
    fake.write_text("patient_id,sex\nP1,M\n")
    with pytest.raises(CohortReadError, match=r"not an Excel \.xlsx workbook"):
        read_raw(fake)


def test_password_protected_workbook(tmp_path: Path) -> None:
    # Encrypted .xlsx files are OLE compound documents: they start with this signature.
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    with pytest.raises(CohortReadError, match="password-protected"):
        read_raw(locked)


def test_single_csv_file_is_explained(tmp_path: Path) -> None:
    single = tmp_path / "patients.csv"
    single.write_text("patient_id\nP1\n")
    with pytest.raises(CohortReadError, match="Give the folder"):
        read_raw(single)


def test_missing_sheet(tmp_path: Path) -> None:
    path = tmp_path / "only_patients.xlsx"
    pd.DataFrame({"patient_id": ["P1"]}).to_excel(path, sheet_name="patients", index=False)
    with pytest.raises(CohortReadError, match=r"missing sheet\(s\) infusions"):
        validate(read_raw(path))


def test_duplicate_headers(write_cohort_csv) -> None:
    folder = write_cohort_csv()
    text = (folder / "patients.csv").read_text().replace("race", "SEX", 1)
    (folder / "patients.csv").write_text(text)
    with pytest.raises(CohortReadError, match="sex more than once"):
        read_raw(folder)


def test_corrupt_zip(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook inside")
    with pytest.raises(CohortReadError, match="cannot be read"):
        read_raw(path)


def test_xlsx_round_trip_equals_csv(write_cohort_csv, tmp_path: Path) -> None:
    """The same cohort as a workbook (real date cells) and as CSV reads to the same tables."""
    folder = write_cohort_csv()
    from_csv = validate(read_raw(folder)).cohort
    book = write_cohort(dict(from_csv.tables), tmp_path / "same.xlsx")
    from_xlsx = validate(read_raw(book))
    assert from_xlsx.ok, [f.message for f in from_xlsx.findings]
    for name in ("patients", "infusions"):
        left = from_csv.tables[name].drop(columns="source_row")
        right = from_xlsx.cohort.tables[name].drop(columns="source_row")
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_excel_row_numbers(write_cohort_csv, tmp_path: Path) -> None:
    folder = write_cohort_csv([("infusions", 2, "pre_emd", "maybe")])
    tables = {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("patients", "infusions")}
    book = tmp_path / "bad.xlsx"
    with pd.ExcelWriter(book) as xl:
        for name, frame in tables.items():
            frame.to_excel(xl, sheet_name=name, index=False)
    finding = next(f for f in validate(read_raw(book)).findings if f.rule == "bad-yesno")
    assert finding.row == 4  # header is Excel row 1, the third data row is row 4
