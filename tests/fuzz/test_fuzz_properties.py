"""Property tests (hypothesis) over cell values and structures, for the CSV and xlsx readers
and validation.

Properties: no exception other than :class:`~reinfuse.errors.ReinfuseError` escapes; no
input of this size takes over 5 s (the hypothesis deadline); a valid cohort stays valid
whatever the order of its columns; a report of an invalid cohort writes nothing.

``make test`` runs a bounded, derandomised number of examples per property
(``REINFUSE_FUZZ_EXAMPLES``, default 15; half that for the
column and row orders, a fifth for the report); ``make fuzz`` raises it and draws new inputs.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reinfuse.cli import EXIT_INVALID, EXIT_UNREADABLE, main
from reinfuse.demo import demo_path
from reinfuse.errors import ReinfuseError
from reinfuse.io.read import read_raw
from reinfuse.validate import validate

EXAMPLES = int(os.environ.get("REINFUSE_FUZZ_EXAMPLES", "15"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=5_000,  # ms: the bound on a demo-sized input
    derandomize=not os.environ.get("REINFUSE_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

def _small_cohort(patients: int = 3) -> dict[str, pd.DataFrame]:
    """The demo's patients and infusions sheets, first few patients (a fast, valid cohort)."""
    folder = demo_path("csv")
    tables = {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in ("patients", "infusions")}
    keep = tables["patients"]["patient_id"].head(patients)
    return {name: frame[frame["patient_id"].isin(keep)].reset_index(drop=True)
            for name, frame in tables.items()}


TABLES = _small_cohort()

#: Strings that have broken spreadsheet readers before, beside hypothesis's own text.
NASTY = ["1e30", "-1e400", "inf", "-inf", "NaN", "nan", "9" * 40, "0x10", "1_000", "١٢٣",
         "2020-02-30", "0001-01-01", "9999-12-31", "NaT", "None", "null", " ", "\t", "\r\n",
         "1,000,000", "3x10^5", "3 × 10^999", "½", "$x^$", r"$\frac{1}{0}$", "=1+1",
         "=cmd|' /C calc'!A0", "\u202eevil", "\ufeffP1", '"', '""', "P1\nP2", "CR;CR",
         "MRD-negative CR", "yes;no", "-0", "+5", "5.", ".5", "1e-400", "2e308", "P1", "1"]

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40)
cell = st.one_of(text, st.sampled_from(NASTY),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(min_value=-(10**30), max_value=10**30).map(str))


Edit = tuple[str, int, str, object]


def _edits(value: st.SearchStrategy[object]) -> st.SearchStrategy[list[Edit]]:
    one = st.sampled_from(sorted(TABLES)).flatmap(lambda t: st.tuples(
        st.just(t), st.integers(0, len(TABLES[t]) - 1), st.sampled_from(list(TABLES[t].columns)),
        value))
    return st.lists(one, min_size=1, max_size=6)


def _tables(edits: list[Edit]) -> dict[str, pd.DataFrame]:
    tables = {name: frame.astype(object) for name, frame in TABLES.items()}
    for table, row, column, value in edits:
        tables[table].loc[row, column] = value
    return tables


def _write_csv(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def _check(source: Path) -> bool | None:
    """Read and validate; True/False for valid/invalid, None when refused as unreadable."""
    try:
        return validate(read_raw(source)).ok
    except ReinfuseError:
        return None


@FUZZ
@given(_edits(cell))
def test_csv_cells(edits: list[Edit]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(_write_csv(_tables(edits), Path(tmp) / "cohort"))


@settings(FUZZ, deadline=None, max_examples=max(3, EXAMPLES // 5))
@given(_edits(cell))
def test_report_of_invalid_cohort_writes_nothing(edits: list[Edit]) -> None:
    # No deadline: the first report imports matplotlib; validation is timed above.
    with tempfile.TemporaryDirectory() as tmp:
        source = _write_csv(_tables(edits), Path(tmp) / "cohort")
        if _check(source) is False:
            out = Path(tmp) / "report"
            assert main(["report", str(source), "--out", str(out)]) == EXIT_INVALID
            assert not out.exists()
            assert [p.name for p in Path(tmp).iterdir()] == ["cohort"]


xlsx_cell = st.one_of(
    cell, st.floats(allow_nan=True, allow_infinity=False), st.integers(-(2**62), 2**62),
    st.booleans(), st.datetimes(min_value=dt.datetime(1900, 3, 1),
                                max_value=dt.datetime(9999, 1, 1)),
    st.dates(min_value=dt.date(1900, 3, 1)))


@FUZZ
@given(_edits(xlsx_cell))
def test_xlsx_cells(edits: list[Edit]) -> None:
    tables = _tables(edits)
    for frame in tables.values():  # openpyxl refuses control characters in cells
        for column in frame.columns:
            frame[column] = frame[column].map(
                lambda v: "".join(c for c in v if c >= " " or c in "\t\n\r")
                if isinstance(v, str) else v)
    with tempfile.TemporaryDirectory() as tmp:
        _check(_write_xlsx(tables, Path(tmp) / "cohort.xlsx"))


@settings(FUZZ, max_examples=max(5, EXAMPLES // 2))
@given(st.permutations(list(TABLES["patients"].columns)),
       st.permutations(list(TABLES["infusions"].columns)),
       st.sampled_from(["csv", "xlsx"]))
def test_column_order_does_not_matter(patients: list[str], infusions: list[str],
                                      kind: str) -> None:
    tables = {"patients": TABLES["patients"][patients],
              "infusions": TABLES["infusions"][infusions]}
    with tempfile.TemporaryDirectory() as tmp:
        source = (_write_csv(tables, Path(tmp) / "cohort") if kind == "csv"
                  else _write_xlsx(tables, Path(tmp) / "cohort.xlsx"))
        report = validate(read_raw(source))
        assert report.ok, report.errors[:3]


@settings(FUZZ, max_examples=max(5, EXAMPLES // 2))
@given(st.permutations(range(len(TABLES["infusions"]))))
def test_row_order_does_not_matter(order: list[int]) -> None:
    tables = dict(TABLES, infusions=TABLES["infusions"].iloc[order])
    with tempfile.TemporaryDirectory() as tmp:
        assert validate(read_raw(_write_csv(tables, Path(tmp) / "cohort"))).ok


def _csv_bytes() -> bytes:
    buffer = io.StringIO()
    TABLES["infusions"].to_csv(buffer, index=False)
    return buffer.getvalue().encode()


mutation = st.tuples(st.floats(0, 1), st.sampled_from(["replace", "insert", "delete"]),
                     st.binary(min_size=1, max_size=8))


def _mutate(data: bytes, mutations: list[tuple[float, str, bytes]]) -> bytes:
    for where, how, chunk in mutations:
        at = int(where * len(data))
        if how == "replace":
            data = data[:at] + chunk + data[at + len(chunk):]
        elif how == "insert":
            data = data[:at] + chunk + data[at:]
        else:
            data = data[:at] + data[at + len(chunk):]
    return data


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=8))
def test_csv_bytes(mutations: list[tuple[float, str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = _write_csv(TABLES, Path(tmp) / "cohort")
        (folder / "infusions.csv").write_bytes(_mutate(_csv_bytes(), mutations))
        _check(folder)


def _xlsx_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return _write_xlsx(TABLES, Path(tmp) / "cohort.xlsx").read_bytes()


_XLSX_BYTES = _xlsx_bytes()


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=8))
def test_xlsx_bytes(mutations: list[tuple[float, str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.xlsx"
        path.write_bytes(_mutate(_XLSX_BYTES, mutations))
        _check(path)


@FUZZ
@given(st.sampled_from(["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                        "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                        "[Content_Types].xml"]),
       st.lists(mutation, min_size=1, max_size=8))
def test_xlsx_xml_parts(member: str, mutations: list[tuple[float, str, bytes]]) -> None:
    """Mutations inside one XML part (a valid zip around broken XML)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cohort.xlsx"
        with zipfile.ZipFile(io.BytesIO(_XLSX_BYTES)) as old, zipfile.ZipFile(
                path, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                data = old.read(info)
                new.writestr(info, _mutate(data, mutations) if info.filename == member else data)
        _check(path)


@settings(FUZZ, max_examples=max(5, EXAMPLES // 3))
@given(st.lists(mutation, min_size=1, max_size=8))
def test_cli_json_is_always_json(mutations: list[tuple[float, str, bytes]]) -> None:
    import contextlib
    import json

    with tempfile.TemporaryDirectory() as tmp:
        folder = _write_csv(TABLES, Path(tmp) / "cohort")
        (folder / "infusions.csv").write_bytes(_mutate(_csv_bytes(), mutations))
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["validate", str(folder), "--format", "json"])
        document = json.loads(out.getvalue())
        assert code in (0, EXIT_INVALID, EXIT_UNREADABLE)
        assert isinstance(document, list) == (code != EXIT_UNREADABLE)


def test_fuzz_counts_are_bounded_in_the_suite() -> None:
    # The suite stays fast: the long run belongs to `make fuzz`.
    if not os.environ.get("REINFUSE_FUZZ_EXAMPLES"):
        assert EXAMPLES <= 60

