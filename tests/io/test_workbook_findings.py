"""Workbook layout problems coordinators make (issue 8): a title above the headers, cells
without a header, percent-formatted fractions; and findings that name Excel's column
letters as well as the column names.

Letters are worked out by hand from the column order of tests/conftest.py (A-Z are the
first 26 columns, then AA, AB...): in ``infusions``, ``crs_grade`` is the 28th column (AB)
and ``pre_marrow_blasts_pct`` the 17th (Q).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl

from reinfuse.io.read import column_letter, read_raw
from reinfuse.validate import validate


def _book(folder: Path) -> openpyxl.Workbook:
    """The CSV cohort as a workbook, cell by cell."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in ("patients", "infusions"):
        sheet = book.create_sheet(name)
        for line in (folder / f"{name}.csv").read_text().splitlines():
            sheet.append(line.split(","))
    return book


def _with_title(book: openpyxl.Workbook, name: str) -> None:
    sheet = book[name]
    sheet.insert_rows(1)
    sheet["A1"] = "CAR T reinfusion cohort, centre A"
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=12)


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 16, 25, 26, 27, 51, 52)] == [
        "A", "Q", "Z", "AA", "AB", "AZ", "BA"]


def test_title_row_above_headers_is_one_finding(write_cohort_csv, tmp_path: Path) -> None:
    book = _book(write_cohort_csv())
    _with_title(book, "infusions")
    book.save(tmp_path / "title.xlsx")
    report = validate(read_raw(tmp_path / "title.xlsx"))
    about_infusions = [f for f in report.findings if f.sheet == "infusions"]
    assert [f.rule for f in about_infusions] == ["headers-not-on-first-row"]
    finding = about_infusions[0]
    assert finding.severity == "warning"
    assert "the headers seem to be on row 2" in finding.message
    assert "CAR T reinfusion cohort, centre A" in finding.message
    assert "Delete rows 1-1" in finding.fix
    # The data are read from below the headers, with the workbook's own row numbers.
    infusions = report.cohort.infusions
    assert infusions["source_row"].tolist() == [3, 4, 5]
    assert infusions["patient_id"].tolist() == ["P1", "P1", "P2"]
    assert report.ok


def test_rows_below_a_title_keep_their_excel_numbers(write_cohort_csv, tmp_path) -> None:
    book = _book(write_cohort_csv([("infusions", 1, "crs_grade", "x")]))
    _with_title(book, "infusions")
    book.save(tmp_path / "title.xlsx")
    errors = validate(read_raw(tmp_path / "title.xlsx")).errors
    # P1's reinfusion is data row 2, below the title and the headers: Excel row 4.
    assert [(f.row, f.column, f.column_letter) for f in errors] == [(4, "crs_grade", "AB")]
    assert errors[0].location() == "infusions row 4, column crs_grade (AB)"


def test_csv_findings_have_no_letters(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 1, "crs_grade", "x")])
    finding = validate(read_raw(folder)).errors[0]
    assert finding.column_letter is None
    assert finding.location() == "infusions row 3, column crs_grade"
    assert "column_letter" not in finding.to_dict()


def test_columns_without_headers_are_one_finding(write_cohort_csv) -> None:
    folder = write_cohort_csv()
    path = folder / "patients.csv"
    lines = path.read_text().splitlines()
    # Two columns with cells but no header after the 9 patients columns: J and K.
    path.write_text("\n".join([lines[0] + ",,"] + [line + ",a,b" for line in lines[1:]])
                    + "\n")
    report = validate(read_raw(folder))
    hits = [f for f in report.findings if f.sheet == "patients"]
    assert [f.rule for f in hits] == ["column-without-header"]
    assert "2 column(s) with cells but no header (column(s) J, K)" in hits[0].message


def test_percent_formatted_fractions_are_listed_by_cell(write_cohort_csv, tmp_path) -> None:
    book = _book(write_cohort_csv())
    infusions = book["infusions"]
    for row, value in ((3, 0.3), (4, 0.6)):
        cell = infusions.cell(row=row, column=17, value=value)  # Q: pre_marrow_blasts_pct
        cell.number_format = "0%"
    book.save(tmp_path / "pct.xlsx")
    hits = [f for f in validate(read_raw(tmp_path / "pct.xlsx")).findings
            if f.rule == "percent-formatted-cells"]
    assert len(hits) == 1 and hits[0].column == "pre_marrow_blasts_pct"
    assert "2 value(s) of pre_marrow_blasts_pct lie between 0 and 1: Q3 (0.3), Q4 (0.6)" \
        in hits[0].message
    assert hits[0].column_letter == "Q"
