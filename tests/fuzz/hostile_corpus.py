"""A corpus of hostile and broken cohort sources, generated from the demo cohort.

Each entry is built into a folder by :func:`build` and says what reinfuse must make of it:
``"unreadable"`` (a :class:`~reinfuse.errors.CohortReadError`, exit 2), ``"invalid"``
(error findings, exit 1; ``rule`` names the finding expected) or ``"valid"`` (exit 0,
perhaps with warnings). The "Found" items of issue 13 are here, one entry each.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reinfuse.demo import demo_path


@dataclass(frozen=True)
class Case:
    """One hostile input: how to build it, and what reinfuse must make of it."""

    name: str
    make: Callable[[Path], Path]
    expect: str  # "unreadable", "invalid" or "valid"
    rule: str | None = None  # a finding rule expected (invalid) or a message part (unreadable)


def _csv_copy(where: Path) -> Path:
    folder = where / "cohort"
    shutil.copytree(demo_path("csv"), folder)
    return folder


def _xlsx_copy(where: Path) -> Path:
    path = where / "cohort.xlsx"
    shutil.copy(demo_path("xlsx"), path)
    return path


def _edit_csv(table: str, row: int, column: str, value: str) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        folder = _csv_copy(where)
        frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        frame.loc[row, column] = value
        frame.to_csv(folder / f"{table}.csv", index=False)
        return folder
    return make


def _write_csv_bytes(table: str, data: bytes) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        folder = _csv_copy(where)
        (folder / f"{table}.csv").write_bytes(data)
        return folder
    return make


def _folder_named_like_sheet(where: Path) -> Path:
    folder = _csv_copy(where)
    (folder / "archive.csv").mkdir()
    (folder / "archive.csv" / "old.csv").write_text("patient_id\nP01\n")
    return folder


def _shuffled_infusions(seed: int) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        folder = _csv_copy(where)
        frame = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
        columns = list(frame.columns)
        np.random.default_rng(seed).shuffle(columns)
        frame[columns].to_csv(folder / "infusions.csv", index=False)
        return folder
    return make


def _multiline_long_cell(where: Path) -> Path:
    folder = _csv_copy(where)
    frame = pd.read_csv(folder / "infusions.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "trial"] = "note line\n" * 4000  # 40,000 characters, no long line
    frame.to_csv(folder / "infusions.csv", index=False)
    return folder


def _many_columns(where: Path) -> Path:
    folder = _csv_copy(where)
    header = ",".join(f"c{i}" for i in range(1_200))
    (folder / "patients.csv").write_text(header + "\n" + ",".join("x" * 1_200) + "\n")
    return folder


def _replace_part(member: str, data: bytes) -> Callable[[Path], Path]:
    """The demo workbook with one zip part replaced (or added)."""
    def make(where: Path) -> Path:
        source = demo_path("xlsx")
        path = where / "cohort.xlsx"
        with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w",
                                                              zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                if info.filename != member:
                    new.writestr(info, old.read(info))
            new.writestr(member, data)
        return path
    return make


def _laughs() -> bytes:
    entities = [' <!ENTITY lol "lol">'] + [
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(entities) + "\n]>\n"
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
            "</sheetData></worksheet>").encode()


#: A sheet whose one cell expands to 10^9 "lol"s if entities are expanded.
BILLION_LAUGHS = _laughs()


def _zip_bomb(size: int) -> Callable[[Path], Path]:
    """The demo workbook whose first sheet is ``size`` bytes of spaces, highly compressed."""
    def make(where: Path) -> Path:
        source = demo_path("xlsx")
        path = where / "cohort.xlsx"
        with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w",
                                                              zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                if info.filename != "xl/worksheets/sheet1.xml":
                    new.writestr(info, old.read(info))
            block = b" " * (1 << 20)
            with new.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as handle:
                handle.write(b'<?xml version="1.0"?><worksheet>')
                for _ in range(size >> 20):
                    handle.write(block)
        return path
    return make


def _lying_zip_bomb(where: Path) -> Path:
    """A 64 MB sheet whose zip directory declares 5,000 bytes (the size checks pass)."""
    path = _zip_bomb(64 << 20)(where)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # central directory entries
        length = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + length] == name:
            data[at + 24:at + 28] = struct.pack("<I", 5_000)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def _truncated_xlsx(where: Path) -> Path:
    path = _xlsx_copy(where)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _bytes_file(data: bytes) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        path = where / "cohort.xlsx"
        path.write_bytes(data)
        return path
    return make


def _xlsx_edit(sheet: str, row: int, column: str, value: object) -> Callable[[Path], Path]:
    def make(where: Path) -> Path:
        book = pd.read_excel(demo_path("xlsx"), sheet_name=None, dtype=object)
        book[sheet].loc[row, column] = value
        path = where / "cohort.xlsx"
        with pd.ExcelWriter(path) as writer:
            for name, frame in book.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        return path
    return make


_CRS = "crs_observations"

CASES: tuple[Case, ...] = (
    # Found: tracebacks.
    Case("folder-named-like-a-sheet", _folder_named_like_sheet, "valid", "extra-sheet"),
    Case("1e30-in-integer-column", _edit_csv(_CRS, 0, "vasopressors", "1e30"), "invalid",
         "out-of-range"),
    Case("huge-integer-text", _edit_csv(_CRS, 0, "vasopressors", "9" * 40), "invalid",
         "out-of-range"),
    Case("inf-in-integer-column", _edit_csv(_CRS, 0, "vasopressors", "inf"), "invalid",
         "bad-number"),
    Case("nan-in-integer-column", _edit_csv(_CRS, 0, "vasopressors", "NaN"), "invalid",
         "bad-number"),
    Case("-1e400-in-number-column", _edit_csv("infusions", 0, "dose_per_kg", "-1e400"),
         "invalid", "bad-number"),
    Case("odd-text-in-integer-column", _edit_csv(_CRS, 0, "vasopressors", "2 (then 3)"),
         "invalid", "bad-number"),
    Case("1e30-in-xlsx-integer-column", _xlsx_edit(_CRS, 0, "vasopressors", 1e30),
         "invalid", "out-of-range"),
    # Found: hangs.
    Case("10MB-text-cell", _edit_csv("infusions", 0, "trial", "x" * 10_000_000), "invalid",
         "cell-too-long"),
    Case("10MB-digit-cell", _edit_csv("infusions", 0, "dose_per_kg", "1" * 10_000_000),
         "invalid", "cell-too-long"),
    Case("30k-digit-cell", _edit_csv("infusions", 0, "dose_per_kg", "1" * 30_000),
         "invalid", "bad-number"),
    Case("long-cell-over-many-lines", _multiline_long_cell, "invalid", "cell-too-long"),
    # Found: a false error.
    *(Case(f"shuffled-infusions-{seed}", _shuffled_infusions(seed), "valid")
      for seed in range(3)),
    # Broken files: every reader path ends in a CohortReadError.
    Case("empty-csv", _write_csv_bytes("patients", b""), "unreadable", "empty"),
    Case("nul-bytes-csv", _write_csv_bytes("patients", b"patient_id\x00,sex\nP01\x00,M\n"),
         "unreadable", "NUL"),
    Case("utf16-csv", _write_csv_bytes("patients", "patient_id,sex\nP01,M\n".encode("utf-16")),
         "unreadable", "NUL"),
    Case("latin1-csv", _write_csv_bytes("patients", "patient_id,sex\nP\xe9,M\n".encode("latin-1")),
         "unreadable", "UTF-8"),
    Case("binary-junk-csv", _write_csv_bytes("patients", bytes(range(1, 256)) * 40),
         "unreadable", None),
    Case("unbalanced-quote-csv", _write_csv_bytes("patients", b'patient_id,sex\n"P01,M\n'),
         "unreadable", None),
    Case("too-many-columns", _many_columns, "unreadable", "columns"),
    Case("truncated-xlsx", _truncated_xlsx, "unreadable", None),
    Case("not-a-zip", _bytes_file(b"PK\x03\x04 this is not really a zip"), "unreadable", None),
    Case("empty-xlsx", _bytes_file(b""), "unreadable", None),
    Case("encrypted-xlsx", _bytes_file(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600),
         "unreadable", "password"),
    Case("billion-laughs", _replace_part("xl/worksheets/sheet1.xml", BILLION_LAUGHS),
         "unreadable", "DTD"),
    Case("sheet-declares-2M-rows", _replace_part(
        "xl/worksheets/sheet1.xml",
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><dimension ref="A1:C2000000"/><sheetData/></worksheet>'),
        "unreadable", "rows"),
    Case("zip-bomb-64MB", _zip_bomb(64 << 20), "unreadable", "zip bomb"),
    Case("zip-bomb-lying-sizes", _lying_zip_bomb, "unreadable", "declared"),
)
