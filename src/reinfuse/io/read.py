"""Read a cohort source (an .xlsx workbook or a folder of .csv files) into raw sheets.

Reading does not interpret cell values: every cell stays what the file holds (text, a
number, a date cell) so that validation can report the value exactly as the user typed it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from reinfuse.errors import CohortReadError
from reinfuse.vocabulary import normalise_label

SourceKind = Literal["xlsx", "csv"]

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

# Resource limits (docs/validation.md, "Resource limits"). Each is checked before the
# expensive step it protects where the file says enough to check it (zip directory sizes,
# the sheet's <dimension>, a CSV file's size); the message names the limit and what to do.

#: Longest cell, in characters: Excel's own limit. Longer cells are emptied and reported.
MAX_CELL_CHARS = 32_767
#: Most data rows in one sheet (Excel's sheet holds 1,048,576 rows).
MAX_ROWS = 1_048_576
#: Most data rows in one CSV file: a registry's infusions outgrow an Excel sheet (a
#: million patients have about 1.2 million infusions); MAX_CSV_BYTES bounds the file too.
MAX_CSV_ROWS = 20_000_000
#: Most columns in one sheet or CSV file (the format has about 50).
MAX_COLUMNS = 1_000
#: Largest uncompressed part (a sheet's XML, the shared strings) of a workbook, in bytes.
MAX_XML_BYTES = 1 << 30
#: Largest sum of the uncompressed parts of a workbook, in bytes.
MAX_WORKBOOK_BYTES = 3 << 29
#: Most parts in a workbook's zip archive.
MAX_ZIP_MEMBERS = 10_000
#: Largest CSV file, in bytes.
MAX_CSV_BYTES = 1 << 30
#: CSV files from this size on are parsed with Arrow first (:func:`_parse_csv`); below
#: it, loading Arrow's parser costs more than it saves.
ARROW_CSV_MIN_BYTES = 4 << 20

#: What a damaged or hostile zip archive can raise while it is read: truncated or corrupt
#: data (BadZipFile, EOFError, zlib.error), encrypted parts (RuntimeError), an unknown
#: compression (NotImplementedError), bad header fields (ValueError), the OS (OSError).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError,
               NotImplementedError, ValueError, OSError)

_LIMIT_HINT = ("Split the cohort (for example by year of infusion) and analyse the parts, "
               "or remove what does not belong in the sheet.")


@dataclass(frozen=True)
class RawSheet:
    """One sheet as read: header names as written, cells untouched.

    ``frame`` has one column per header (names lower-cased and stripped) and the index
    holds the row number the user sees (Excel row or CSV line; the header is row 1).
    ``headers`` keeps the names exactly as written, in order.
    """

    name: str
    frame: pd.DataFrame
    headers: tuple[str, ...]
    file: str
    #: Cells holding an Excel error value (#DIV/0!, #VALUE!...): (row, header, error text).
    #: The reader sees them as empty, so validation reports them from this list.
    error_cells: tuple[tuple[int, str, str], ...] = ()
    #: The row the headers were read from (1 unless :func:`reheader` moved them).
    header_row: int = 1
    #: Cells longer than :data:`MAX_CELL_CHARS`: (row, header, length). They are emptied
    #: on reading (a 10 MB cell must not reach the parsers) and reported by validation.
    long_cells: tuple[tuple[int, str, int], ...] = ()

    def letters(self) -> dict[str, str]:
        """Excel column letter of each header, by its matching key (:func:`header_key`)."""
        return {header_key(h): column_letter(i) for i, h in enumerate(self.headers)}


@dataclass(frozen=True)
class RawCohort:
    """Every sheet of a cohort source, before validation."""

    source: str
    kind: SourceKind
    sheets: dict[str, RawSheet]
    sha256: dict[str, str] = field(default_factory=dict)
    percent_styles: bool = False
    #: Entries of a CSV folder that look like tables but are not readable files (a folder
    #: named ``archive.csv``): left out, and reported by validation as a warning.
    ignored: tuple[str, ...] = ()


_PERCENT_BUILTIN = {"9", "10"}  # Excel's built-in "0%" and "0.00%" number formats


def uses_percent_format(path: Path) -> bool:
    """Whether a workbook defines a cell style with a percent number format.

    Excel stores a cell shown as "30%" as 0.3. The fast reader does not return formats, so
    reading the styles part (a few kB) tells whether such cells can exist at all.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            styles = archive.read("xl/styles.xml").decode("utf-8", errors="replace")
    except (KeyError, *_ZIP_ERRORS):
        return False
    custom = {m.group(1) for m in re.finditer(
        r'<numFmt[^>]*numFmtId="(\d+)"[^>]*formatCode="[^"]*%[^"]*"', styles)}
    cell_xfs = re.search(r"<cellXfs.*?</cellXfs>", styles, flags=re.S)
    used = set(re.findall(r'numFmtId="(\d+)"', cell_xfs.group(0))) if cell_xfs else set()
    return bool(used & (_PERCENT_BUILTIN | custom))


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def header_key(header: str) -> str:
    """How a header is matched: case, surrounding space, inner spaces and hyphens ignored.

    Examples
    --------
    >>> header_key(" Dose per-kg ")
    'dose_per_kg'
    """
    return normalise_label(header)


def column_letter(position: int) -> str:
    """Excel's letters for a 0-based column position.

    Examples
    --------
    >>> column_letter(0), column_letter(10), column_letter(26), column_letter(701)
    ('A', 'K', 'AA', 'ZZ')
    """
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def blank_header(header: str) -> bool:
    """Whether a header cell was empty (pandas names such a column "Unnamed: 3")."""
    return re.fullmatch(r"Unnamed: \d+(\.\d+)?", header) is not None


def find_header_row(sheet: RawSheet, names: set[str], needed: set[str],
                    look: int = 10) -> int | None:
    """The row holding the headers when they are not on row 1 (a title above them).

    Returns the row number (as the user sees it) of the first of the top ``look`` data
    rows whose cells, read as headers, include every name of ``needed`` and more of
    ``names`` than row 1 does; ``None`` when row 1 already holds them or no row does.
    """
    present = {header_key(h) for h in sheet.headers}
    if needed <= present:
        return None
    for row, values in sheet.frame.head(look).iterrows():  # a few rows, not the data
        keys = {header_key(str(v)) for v in values if pd.notna(v)}
        if needed <= keys and len(keys & names) > len(present & names):
            return int(row)
    return None


def reheader(sheet: RawSheet, row: int) -> RawSheet:
    """The sheet read with its headers on ``row``; the rows above are left out.

    Row numbers stay those of the file, so findings still point at the right rows.
    """
    values = sheet.frame.loc[row]
    headers = tuple(str(v).strip() if pd.notna(v) and str(v).strip() else f"Unnamed: {i}"
                    for i, v in enumerate(values))
    data = sheet.frame.loc[sheet.frame.index > row].copy()
    data.columns = pd.Index([header_key(h) for h in headers])
    data = data.loc[data.notna().any(axis=1)]
    moved = dict(zip(sheet.headers, headers, strict=True))
    errors = tuple((r, moved.get(h, h), text) for r, h, text in sheet.error_cells if r > row)
    long_cells = tuple((r, moved.get(h, h), n) for r, h, n in sheet.long_cells if r > row)
    moved_sheet = RawSheet(sheet.name, data, headers, sheet.file, errors, header_row=row,
                           long_cells=long_cells)
    _check_duplicate_headers(moved_sheet)
    return moved_sheet


def _check_shape(rows: int, columns: int, where: str, max_rows: int | None = None) -> None:
    """Refuse a sheet beyond :data:`MAX_ROWS` (``max_rows``) or :data:`MAX_COLUMNS`."""
    limit = MAX_ROWS if max_rows is None else max_rows
    if rows > limit:
        raise CohortReadError(
            f"{where}: {rows:,} rows, more than the limit of {limit:,} rows per sheet. "
            + _LIMIT_HINT)
    if columns > MAX_COLUMNS:
        raise CohortReadError(
            f"{where}: {columns:,} columns, more than the limit of {MAX_COLUMNS:,} columns "
            "per sheet (the cohort format has about 50). " + _LIMIT_HINT)


def _long_cells(data: pd.DataFrame, headers: tuple[str, ...]
                ) -> tuple[pd.DataFrame, tuple[tuple[int, str, int], ...]]:
    """Empty the cells longer than :data:`MAX_CELL_CHARS`; list them (row, header, length).

    Only text columns are measured (one vectorised ``str.len`` each), and only when the
    caller could not rule long cells out from the file's size.
    """
    found: list[tuple[int, str, int]] = []
    for position in range(data.shape[1]):
        values = data.iloc[:, position]
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in (
                "string", "mixed", "mixed-integer"):
            continue  # no text cells (numbers, dates): nothing can be over-long
        lengths = pd.Series(values.to_numpy(), dtype=object).str.len()  # NaN: not text
        over = (lengths > MAX_CELL_CHARS).to_numpy(dtype=bool)
        if over.any():
            for row, length in zip(data.index[over], lengths[over], strict=True):
                found.append((int(row), headers[position], int(length)))
            data.iloc[over, position] = None
    return data, tuple(found)


def _frame_from(data: pd.DataFrame, name: str, file: str, may_hold_long: bool = True,
                max_rows: int | None = None, row_has_value: np.ndarray | None = None
                ) -> RawSheet:
    _check_shape(len(data), len(data.columns), f"{file}: sheet '{name}'", max_rows)
    headers = tuple(str(c).strip() for c in data.columns)
    if any(len(h) > MAX_CELL_CHARS for h in headers):
        raise CohortReadError(
            f"{file}: sheet '{name}' has a header longer than {MAX_CELL_CHARS:,} characters "
            "(the limit of a cell); the headers must be the column names of the format.")
    data.columns = pd.Index([header_key(h) for h in headers])
    # Drop rows that are entirely empty (trailing formatting in Excel) but keep row numbers.
    data.index = pd.RangeIndex(2, len(data) + 2)
    long_cells: tuple[tuple[int, str, int], ...] = ()
    if may_hold_long:
        data, long_cells = _long_cells(data, headers)
    if row_has_value is None or long_cells:  # an emptied long cell may empty its row
        row_has_value = data.notna().any(axis=1).to_numpy()
    data = data.loc[row_has_value]
    return RawSheet(name=name, frame=data, headers=headers, file=file, long_cells=long_cells)


def _check_duplicate_headers(sheet: RawSheet) -> None:
    lowered = [header_key(h) for h in sheet.headers]
    # pandas renames a repeated header "date" to "date.1": undo that to see the repeat.
    lowered = [re.sub(r"\.\d+$", "", h) if re.sub(r"\.\d+$", "", h) in lowered else h
               for h in lowered]
    dupes = sorted({h for h in lowered if lowered.count(h) > 1 and h})
    if dupes:
        raise CohortReadError(
            f"{sheet.file}: sheet '{sheet.name}' has the column(s) {', '.join(dupes)} more "
            "than once (names are compared without regard to case). Rename or remove the "
            "duplicates so each column appears once."
        )


def _read_xlsx(path: Path) -> dict[str, RawSheet]:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == _OLE_MAGIC:
        raise CohortReadError(
            f"{path}: this is a password-protected workbook or an old-style .xls file. "
            "Remove the password (File > Info > Protect Workbook) or save it as .xlsx."
        )
    if not zipfile.is_zipfile(path):
        raise CohortReadError(
            f"{path}: not an Excel .xlsx workbook (the file is not a zip archive). "
            "Save it from Excel as 'Excel Workbook (.xlsx)', or give a folder of .csv files."
        )
    _check_workbook_parts(path)
    try:
        # calamine (Rust) reads large workbooks an order of magnitude faster than openpyxl.
        # "None", "NA", "null"... stay text: "none" is a code (ld_regimen), and only an
        # empty cell means missing, as in the CSV reader.
        book = pd.read_excel(path, sheet_name=None, dtype=object, engine="calamine",
                             keep_default_na=False, na_values=[""])
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # calamine's Rust panics derive from BaseException
        # The reader's own errors are varied; say what failed.
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise CohortReadError(
            f"{path}: the workbook cannot be read ({reason}). Open it in Excel and save it "
            "again as 'Excel Workbook (.xlsx)'.") from exc
    errors = _error_cells(path)
    sheets: dict[str, RawSheet] = {}
    for name, data in book.items():
        key = str(name).strip().lower()
        sheet = _frame_from(data, str(name), path.name)
        found = tuple((row, sheet.headers[col] if col < len(sheet.headers) else f"column {col + 1}",
                       text) for row, col, text in errors.get(str(name), []))
        sheets[key] = RawSheet(sheet.name, sheet.frame, sheet.headers, sheet.file, found,
                               long_cells=sheet.long_cells)
    return sheets


#: Compression ratio above which a large workbook part is taken for a zip bomb.
_MAX_RATIO = 200
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:([A-Z]+)(\d+)"')


def _check_workbook_parts(path: Path) -> None:
    """Refuse a workbook whose zip directory promises more than the limits allow.

    Checked before any part is decompressed: the number of parts, each part's declared
    size (:data:`MAX_XML_BYTES`) and compression ratio, their sum
    (:data:`MAX_WORKBOOK_BYTES`); then the first few kB of each sheet: a DTD (entity
    declarations, as in a billion-laughs file) is refused, and the sheet's declared
    ``<dimension>`` must be within :data:`MAX_ROWS` and :data:`MAX_COLUMNS`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise CohortReadError(
                    f"{path}: the workbook has {len(members):,} parts, more than the limit "
                    f"of {MAX_ZIP_MEMBERS:,}; it is not a workbook reinfuse can read safely. "
                    "Open it in Excel and save it again as a new .xlsx.")
            total = 0
            for info in members:
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > MAX_XML_BYTES or (
                        info.file_size > 50 << 20 and ratio > _MAX_RATIO):
                    raise CohortReadError(
                        f"{path}: the part {info.filename} would take {info.file_size:,} "
                        f"bytes once unpacked (compressed {ratio:,.0f} to 1); the limit is "
                        f"{MAX_XML_BYTES:,} bytes per part and {_MAX_RATIO} to 1 for large "
                        "parts. This looks like a zip bomb, not a cohort. " + _LIMIT_HINT)
            if total > MAX_WORKBOOK_BYTES:
                raise CohortReadError(
                    f"{path}: the workbook would take {total:,} bytes once unpacked, more "
                    f"than the limit of {MAX_WORKBOOK_BYTES:,}. " + _LIMIT_HINT)
            for info in members:
                if not info.filename.lower().endswith((".xml", ".rels")):
                    continue
                with archive.open(info) as handle:
                    head = handle.read(4096)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise CohortReadError(
                        f"{path}: the part {info.filename} declares a DTD or XML entities, "
                        "which Excel never writes (entity expansion can exhaust memory). "
                        "Open the file in Excel and save it again as a new .xlsx.")
                dimension = _DIMENSION.search(head)
                if dimension:
                    rows = int(dimension.group(2)) - 1
                    columns = _column_index(dimension.group(1).decode()) + 1
                    _check_shape(rows, columns, f"{path}: {info.filename}")
    except _ZIP_ERRORS as exc:
        # Encrypted parts (RuntimeError), unknown compression (NotImplementedError),
        # truncated archives (EOFError, BadZipFile)...
        raise CohortReadError(
            f"{path}: the workbook cannot be read ({type(exc).__name__}: {exc}). Open it "
            "in Excel and save it again as 'Excel Workbook (.xlsx)'.") from exc


_ERROR_CELL = re.compile(
    rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f[^>]*>.*?</f>)?<v>([^<]*)</v>', re.S)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - 64)
    return index - 1


def _mentions_error(archive: zipfile.ZipFile, member: str) -> bool:
    """Stream a sheet's XML in blocks looking for an error cell, without holding it all."""
    tail = b""
    with archive.open(member) as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            if b't="e"' in tail + block:
                return True
            tail = block[-8:]
    return False


def _error_cells(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Excel error values (t="e" cells) per sheet name: (row, column index, text).

    The fast reader returns them as empty cells; a formula error must not pass as "missing".
    Sheets are scanned only when their XML mentions an error cell at all.
    """
    found: dict[str, list[tuple[int, int, str]]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            book = archive.read("xl/workbook.xml").decode("utf-8", errors="replace")
            rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
            targets = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
            targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"',
                                                         rels)})
            for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', book):
                target = targets.get(rid, "")
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if member not in archive.namelist():
                    continue
                if not _mentions_error(archive, member):
                    continue
                data = archive.read(member)
                found[html.unescape(name)] = [
                    (int(row), _column_index(col.decode()), text.decode())
                    for col, row, text in _ERROR_CELL.findall(data)]
    except (KeyError, *_ZIP_ERRORS):
        return {}
    return found


def _csv_entries(path: Path) -> tuple[list[Path], list[str]]:
    """The readable .csv files of a folder, and the names of .csv entries that are not files."""
    entries = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
    files = [p for p in entries if p.is_file()]
    return files, [p.name for p in entries if not p.is_file()]


def _may_hold_long_cell(file: Path, rows: int) -> bool:
    """Whether a CSV file can hold a cell over :data:`MAX_CELL_CHARS` characters.

    Measuring every cell costs about as much as parsing, so it is done only when needed: a
    cell that long needs a line that long, or a quoted cell spanning lines (then the file
    has more line breaks than rows). Both are found from the bytes in one numpy pass.
    """
    if file.stat().st_size <= MAX_CELL_CHARS:
        return False
    data = np.fromfile(file, dtype=np.uint8)
    breaks = np.flatnonzero(data == 10)
    if len(breaks) > rows + 1:
        return True
    edges = np.concatenate(([-1], breaks, [len(data)]))
    return bool(np.diff(edges).max() > MAX_CELL_CHARS)


def _parse_csv(file: Path, size: int) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Every cell of ``file`` as text (``NaN`` for an empty cell), one row per record.

    The second item says which rows hold a value, where the parser knew it for free.

    pandas' C parser defines the result and gives the error messages. A large file is first
    offered to Arrow's multi-threaded parser (about 2x faster on a registry's files); its
    result is kept only when it is certain to be the same frame, so any file Arrow parses
    differently or refuses (ragged rows, whitespace-only lines, repeated or empty headers,
    a second byte-order mark, NUL bytes, an unclosed quote, text that is not UTF-8) goes
    to pandas unchanged. A test compares both parsers on generated CSV text.
    """
    if size >= ARROW_CSV_MIN_BYTES:
        parsed = _parse_csv_arrow(file)
        if parsed is not None:
            return parsed
    return pd.read_csv(
        file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
        skip_blank_lines=False,  # keep numbering = file lines; empty rows drop later
    ), None


#: Most runs of quote characters :func:`_quotes_close` follows before giving the file to
#: pandas instead (a Python step per run; cohort files quote few cells).
_MAX_QUOTE_RUNS = 1_000_000


def _quotes_close(raw: bytes) -> bool:
    """Whether every quoted field of the CSV text ``raw`` is closed before the end.

    Follows the quoting rules of pandas' C tokenizer (RFC 4180 with double quotes as the
    escape): a quote opens a quoted field only at the start of a field; inside one, a pair
    of quotes is a literal quote and a single quote closes the field; elsewhere a quote is
    an ordinary character. Only runs of consecutive quotes are visited. ``False`` also when
    there are more than :data:`_MAX_QUOTE_RUNS` runs (not worth following).
    """
    data = np.frombuffer(raw, dtype=np.uint8)
    if raw.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    quotes = np.flatnonzero(data == ord('"'))
    if not len(quotes):
        return True
    first = np.concatenate(([True], np.diff(quotes) != 1))
    starts = quotes[first]
    if len(starts) > _MAX_QUOTE_RUNS:
        return False
    lengths = np.diff(np.append(np.flatnonzero(first), len(quotes)))
    before = np.where(starts > 0, data[np.maximum(starts - 1, 0)], ord(","))
    at_field_start = np.isin(before, (ord(","), ord("\n"), ord("\r")))
    quoted = False
    for length, opens in zip(lengths.tolist(), at_field_start.tolist(), strict=True):
        if quoted:
            quoted = length % 2 == 0  # pairs are literal quotes; an odd one closes
        elif opens:
            quoted = length % 2 == 1  # the first opens; then pairs, and an odd one closes
    return not quoted


def _parse_csv_arrow(file: Path) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Arrow's parse of ``file`` and its non-empty rows, or ``None`` where it might differ
    from pandas' parse (see :func:`_parse_csv`)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error):
        return None
    # pandas renames repeated headers ("date.1") and names empty ones ("Unnamed: 3"); its
    # tokenizer strips a second byte-order mark, Arrow keeps it.
    if not header or len(set(header)) != len(header) or not all(header) \
            or len(header) > MAX_COLUMNS or header[0].startswith("\ufeff"):
        return None
    raw = file.read_bytes()
    # pandas ends a cell at a NUL byte (the read checks only the first 64 KB for them),
    # Arrow keeps it; and pandas refuses an unclosed quote, Arrow reads to the end.
    if b"\x00" in raw or not _quotes_close(raw):
        return None
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(raw),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True,
                                              ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True))
    except (pa.ArrowException, ValueError):
        return None
    if table.column_names != header or any(t != pa.string() for t in table.schema.types):
        return None
    # Arrow's conversion runs on every core; empty cells arrive as None, pandas' are NaN.
    converted = table.to_pandas(split_blocks=True)
    columns = {}
    row_has_value = np.zeros(table.num_rows, dtype=bool)
    for name, column in zip(header, table.columns, strict=True):
        values = converted[name].to_numpy()
        if column.null_count:
            values = values if values.flags.writeable else values.copy()
            empty = column.is_null().to_numpy(zero_copy_only=False)
            values[empty] = np.nan
            row_has_value |= ~empty
        else:
            row_has_value[:] = True
        columns[name] = values
    return (pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False),
            row_has_value)


def _read_csv_folder(path: Path) -> tuple[dict[str, RawSheet], list[str]]:
    files, ignored = _csv_entries(path)
    if not files:
        raise CohortReadError(
            f"{path}: the folder holds no .csv files. Put one file per table in it, named "
            "after the table (patients.csv, infusions.csv)."
        )
    sheets: dict[str, RawSheet] = {}
    for file in files:
        size = file.stat().st_size
        if size > MAX_CSV_BYTES:
            raise CohortReadError(
                f"{file}: {size:,} bytes, more than the limit of {MAX_CSV_BYTES:,} bytes per "
                "CSV file. " + _LIMIT_HINT)
        with file.open("rb") as handle:
            if b"\x00" in handle.read(1 << 16):
                raise CohortReadError(
                    f"{file}: the file holds NUL bytes, so it is not a text (CSV) file; it "
                    "may be a spreadsheet saved with a .csv name, or UTF-16 text. Save it "
                    "as 'CSV UTF-8' from Excel.")
        try:
            data, row_has_value = _parse_csv(file, size)
        except UnicodeDecodeError as exc:
            raise CohortReadError(
                f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}). Save the file "
                "as 'CSV UTF-8' from Excel."
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise CohortReadError(f"{file}: the file is empty; it needs at least a header "
                                  "line.") from exc
        except (pd.errors.ParserError, ValueError, OverflowError, csv.Error) as exc:
            raise CohortReadError(f"{file}: not a readable CSV file ({exc}). Save it as "
                                  "'CSV UTF-8' from Excel.") from exc
        # Stray spaces are left for validation, which strips only the cells that need it.
        sheets[file.stem.strip().lower()] = _frame_from(
            data, file.stem, file.name, may_hold_long=_may_hold_long_cell(file, len(data)),
            max_rows=MAX_CSV_ROWS, row_has_value=row_has_value)
    return sheets, ignored


def read_raw(path: str | Path) -> RawCohort:
    """Read every sheet of a cohort source without interpreting cell values.

    Parameters
    ----------
    path
        An ``.xlsx`` workbook, or a folder of ``.csv`` files named after the tables.

    Raises
    ------
    CohortReadError
        When the source cannot be read at all (missing, not a workbook, encrypted...).
    """
    path = Path(path)
    try:
        return _read_raw(path)
    except OSError as exc:  # permission denied, a file vanishing, a device error...
        where = exc.filename or path
        reason = exc.strerror or type(exc).__name__
        raise CohortReadError(
            f"{where}: cannot be read ({reason}). Check that the file exists, that you may "
            "read it, and that no other program holds it open.") from exc
    except MemoryError as exc:
        raise CohortReadError(
            f"{path}: not enough memory to read this cohort. " + _LIMIT_HINT) from exc


def _read_raw(path: Path) -> RawCohort:
    if not path.exists():
        raise CohortReadError(f"{path}: no such file or folder.")
    ignored: list[str] = []
    if path.is_dir():
        sheets, ignored = _read_csv_folder(path)
        percent = False
        hashes = {p.name: sha256_of(p) for p in _csv_entries(path)[0]}
        kind: SourceKind = "csv"
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = _read_xlsx(path)
        hashes = {path.name: sha256_of(path)}
        kind = "xlsx"
        percent = uses_percent_format(path)
    elif path.suffix.lower() == ".csv":
        raise CohortReadError(
            f"{path}: a cohort is a workbook or a folder of CSV files, one per table. Give "
            f"the folder ({path.parent}) instead of one file. A REDCap record export is "
            "read with `reinfuse redcap import` (docs/redcap.md)."
        )
    else:
        raise CohortReadError(
            f"{path}: unsupported file type '{path.suffix}'. Give an .xlsx workbook or a "
            "folder of .csv files."
        )
    for sheet in sheets.values():
        _check_duplicate_headers(sheet)
    return RawCohort(source=str(path), kind=kind, sheets=sheets, sha256=hashes,
                     percent_styles=percent, ignored=tuple(ignored))
