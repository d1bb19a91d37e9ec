"""The empty template workbook and the format documentation, both made from the schema."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from reinfuse.io._atomic import write_atomically
from reinfuse.schema import COHORT_V1, CohortFormat, Column

_TEMPLATE_ROWS = 1000  # rows that carry the drop-down and range checks
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _type_words(col: Column) -> str:
    return {"text": "text", "integer": "whole number", "number": "number", "yesno": "yes/no",
            "code": "code", "codelist": "list of codes (;)", "date": "date"}[col.kind]


def dictionary_rows(cohort_format: CohortFormat = COHORT_V1) -> list[dict[str, str]]:
    """One row per column of every table: the data dictionary."""
    rows = []
    for table in cohort_format.tables:
        for col in table.columns:
            rows.append({
                "table": table.name,
                "column": col.name,
                "type": _type_words(col),
                "unit": col.unit,
                "allowed values": col.allowed(),
                "required": "yes" if col.required else ("optional column" if col.optional
                                                        else "no"),
                "meaning": col.meaning,
            })
    return rows


def _validation_for(col: Column) -> DataValidation | None:
    if col.kind == "code":
        return DataValidation(type="list", formula1='"' + ",".join(col.codes) + '"',
                              allow_blank=True, showErrorMessage=True,
                              errorTitle=f"{col.name}", error=f"Allowed: {col.allowed()}")
    if col.kind == "yesno":
        return DataValidation(type="list", formula1='"yes,no"', allow_blank=True,
                              showErrorMessage=True, error="Enter yes or no.")
    if col.kind in ("integer", "number") and col.minimum is not None:
        kind = "whole" if col.kind == "integer" else "decimal"
        if col.maximum is not None:
            return DataValidation(type=kind, operator="between", formula1=str(col.minimum),
                                  formula2=str(col.maximum), allow_blank=True,
                                  showErrorMessage=True, error=f"Enter {col.allowed()}.")
        operator = "greaterThan" if col.minimum_exclusive else "greaterThanOrEqual"
        return DataValidation(type=kind, operator=operator, formula1=str(col.minimum),
                              allow_blank=True, showErrorMessage=True,
                              error=f"Enter {col.allowed()}.")
    if col.kind == "date":
        return DataValidation(type="date", operator="greaterThan", formula1="1",
                              allow_blank=True, showErrorMessage=True,
                              error="Enter a date (YYYY-MM-DD).")
    return None


def write_template(path: str | Path, *, overwrite: bool = False,
                   cohort_format: CohortFormat = COHORT_V1) -> Path:
    """Write an empty cohort workbook: headers, drop-downs, range checks, a dictionary sheet.

    Parameters
    ----------
    path
        Destination ``.xlsx`` file (refused if it exists, unless ``overwrite``).
    overwrite
        Replace an existing file.
    """
    book = Workbook()
    book.remove(book.active)
    for table in cohort_format.tables:
        sheet = book.create_sheet(table.name)
        for index, col in enumerate(table.columns, start=1):
            cell = sheet.cell(row=1, column=index, value=col.name)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(12, len(col.name) + 2)
            validation = _validation_for(col)
            if validation is not None:
                validation.prompt = f"{col.meaning} Allowed: {col.allowed()}"
                validation.showInputMessage = True
                sheet.add_data_validation(validation)
                validation.add(f"{letter}2:{letter}{_TEMPLATE_ROWS + 1}")
            if col.kind == "date":
                # A column style, not 1,000 formatted cells: Excel's Ctrl+End and
                # appending rows stay right below the data.
                sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "B2"

    info = book.create_sheet("dictionary")
    rows = dictionary_rows(cohort_format)
    headers = list(rows[0])
    info.append(headers)
    for entry in rows:
        info.append([entry[h] for h in headers])
    for index, header in enumerate(headers, start=1):
        info.cell(row=1, column=index).font = Font(bold=True)
        width = 60 if header == "meaning" else 18
        info.column_dimensions[get_column_letter(index)].width = width
    for cells in info.iter_rows(min_row=2):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    info.freeze_panes = "A2"

    return write_atomically(Path(path), lambda tmp: book.save(tmp), overwrite=overwrite)


def format_markdown(cohort_format: CohortFormat = COHORT_V1) -> str:
    """The cohort format as Markdown (the text of ``docs/cohort-format.md``)."""
    lines = [
        f"# The cohort format, version {cohort_format.version}",
        "",
        "Generated from `reinfuse.schema` by `reinfuse schema > docs/cohort-format.md`; the",
        "schema is the single source of truth for validation, the template and this page.",
        "",
        "A cohort is an `.xlsx` workbook with one sheet per table, or a folder of `.csv` files",
        "named after the tables. Column names are matched without regard to case; extra",
        "columns are kept and reported as a warning. An empty cell means missing. Yes/no",
        "columns accept yes/no/true/false/1/0/y/n/checked/unchecked (an empty cell is",
        "unknown, never no). Coded columns are case-insensitive and accept common synonyms",
        "(e.g. `male` for `M`).",
        "",
    ]
    for table in cohort_format.tables:
        lines += [f"## `{table.name}`", "", table.meaning, "",
                  "| column | type | unit | allowed | required | meaning |",
                  "|---|---|---|---|---|---|"]
        for row in dictionary_rows(cohort_format):
            if row["table"] == table.name:
                lines.append(
                    f"| `{row['column']}` | {row['type']} | {row['unit']} | "
                    f"{row['allowed values']} | {row['required']} | {row['meaning']} |"
                )
        lines.append("")
    return "\n".join(lines)
