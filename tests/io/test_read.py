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


# --- moved from tests/test_review_regressions.py (regressions found in review) ----------
# The conftest cohort: P1: infusion 1 on 2018-01-10 (CR 2018-02-07, relapse 2018-04-01),
# infusion 2 on 2018-05-01 (SD), died 2018-09-01. P2: one infusion on 2019-03-04 (CR
# 2019-04-01), alive on 2020-01-01. See tests/conftest.py.


def _workbook(folder):  # type: ignore[no-untyped-def]
    """The CSV cohort as an openpyxl workbook, cell by cell (to save as .xlsx)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in ("patients", "infusions"):
        sheet = book.create_sheet(name)
        for line in (folder / f"{name}.csv").read_text().splitlines():
            sheet.append(line.split(","))
    return book


def test_csv_row_numbers_survive_blank_lines(write_cohort_csv) -> None:
    folder = write_cohort_csv([("patients", 1, "sex", "x")])
    lines = (folder / "patients.csv").read_text().splitlines()
    (folder / "patients.csv").write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n")
    finding = next(f for f in validate(read_raw(folder)).findings if f.column == "sex")
    assert finding.row == 4  # header 1, P1 2, blank 3, P2 4


def test_header_spelling_variants_match(write_cohort_csv) -> None:
    folder = write_cohort_csv()
    text = (folder / "infusions.csv").read_text().replace("dose_per_kg", "Dose per kg", 1)
    (folder / "infusions.csv").write_text(text)
    report = validate(read_raw(folder))
    assert report.findings == ()
    assert report.cohort.infusions.loc[0, "dose_per_kg"] == 1e6


def test_none_text_is_a_code_in_workbooks(write_cohort_csv, tmp_path) -> None:
    # "None" lymphodepletion must survive the workbook reader as it does the CSV reader.

    folder = write_cohort_csv([("infusions", 2, "ld_regimen", "None"),
                               ("infusions", 2, "ld_fludarabine_mg_m2", "0"),
                               ("infusions", 2, "ld_cyclophosphamide_mg_m2", "0")])
    book = _workbook(folder)
    book.save(tmp_path / "c.xlsx")
    report = validate(read_raw(tmp_path / "c.xlsx"))
    assert report.cohort.infusions.loc[2, "ld_regimen"] == "none"


def test_repeated_header_in_a_workbook_is_refused(tmp_path) -> None:
    import openpyxl

    from reinfuse.errors import CohortReadError

    book = openpyxl.Workbook()
    book.active.title = "patients"
    book.active.append(["patient_id", "sex", "Sex"])
    book.active.append(["P1", "M", "F"])
    book.save(tmp_path / "d.xlsx")
    with pytest.raises(CohortReadError, match="sex more than once"):
        read_raw(tmp_path / "d.xlsx")


def test_percent_formatted_cells_are_flagged(write_cohort_csv, tmp_path) -> None:
    # Excel shows 0.3 formatted "0%" as 30%; reinfuse reads the stored 0.3 and must say so.

    folder = write_cohort_csv()
    book = _workbook(folder)
    infusions = book["infusions"]
    column = [c.value for c in infusions[1]].index("pre_marrow_blasts_pct") + 1
    cell = infusions.cell(row=4, column=column, value=0.3)
    cell.number_format = "0%"
    book.save(tmp_path / "pct.xlsx")
    findings = validate(read_raw(tmp_path / "pct.xlsx")).findings
    hits = [f for f in findings if f.rule == "percent-formatted-cells"]
    assert [(h.sheet, h.column) for h in hits] == [("infusions", "pre_marrow_blasts_pct")]
    # The same workbook without percent formats raises nothing.
    cell.number_format = "General"
    book.save(tmp_path / "plain.xlsx")
    assert not any(f.rule == "percent-formatted-cells"
                   for f in validate(read_raw(tmp_path / "plain.xlsx")).findings)


def test_excel_error_cells_are_errors_not_blanks(write_cohort_csv, tmp_path) -> None:
    # A cached formula error (<c t="e"><v>#DIV/0!</v></c>) reads as an empty cell; it
    # must be reported where it is instead of passing as "missing".
    import re
    import zipfile


    folder = write_cohort_csv()
    book = _workbook(folder)
    book.save(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as source:
        members = {n: source.read(n) for n in source.namelist()}
    xml = members["xl/worksheets/sheet2.xml"].decode()  # infusions; D = age_years
    xml = re.sub(r'<c r="D3"[^>]*>.*?</c>', '<c r="D3" t="e"><f>A1/0</f><v>#DIV/0!</v></c>',
                 xml)
    members["xl/worksheets/sheet2.xml"] = xml.encode()
    with zipfile.ZipFile(tmp_path / "bad.xlsx", "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    report = validate(read_raw(tmp_path / "bad.xlsx"))
    hits = [f for f in report.errors if f.rule == "excel-error-cell"]
    assert [(f.sheet, f.row, f.column, f.value) for f in hits] == [
        ("infusions", 3, "age_years", "#DIV/0!")]
