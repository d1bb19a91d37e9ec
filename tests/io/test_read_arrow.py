"""Large CSV files are parsed by Arrow first; the result must be pandas' frame exactly.

pandas' C parser (``dtype=str``, only the empty cell missing, blank lines kept) defines
what a CSV cohort file holds. ``_parse_csv_arrow`` may answer only when its frame is that
frame cell for cell, and must step aside (return ``None``) otherwise. The reference here is
pandas itself, run on the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reinfuse.io import read as read_module
from reinfuse.io.read import _parse_csv_arrow, read_raw
from reinfuse.io.write import write_cohort
from reinfuse.synth import synth_cohort


def _pandas(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                       encoding="utf-8-sig", skip_blank_lines=False)


def _same_as_pandas(path: Path) -> bool:
    """Whether Arrow answered; fails the test if its answer differs from pandas'."""
    parsed = _parse_csv_arrow(path)
    if parsed is None:
        return False
    frame, row_has_value = parsed
    expected = _pandas(path)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert all(frame[c].dtype == object for c in frame.columns)
    np.testing.assert_array_equal(row_has_value, expected.notna().any(axis=1).to_numpy())
    return True


_PLAIN = st.text(alphabet="ab1. -/é\t", max_size=6)
_QUOTED = st.text(alphabet='ab ,"\n\r1', max_size=6).map(
    lambda s: '"' + s.replace('"', '""') + '"')
# Unusual or malformed cells: quotes inside fields, unclosed quotes, a lone CR.
_RAGGED = st.sampled_from(['a"b', '"a"b', '"', " ", "\r", 'x""', '"a"b"c', '"a""', '"""'])
_CELL = st.one_of(_PLAIN, _PLAIN, _PLAIN, _QUOTED, _RAGGED)


@st.composite
def _csv_text(draw: st.DrawFn) -> str:
    columns = draw(st.integers(1, 4))
    names = st.sampled_from(["id", "dose", "Date", "x y", "n\u00e9", "a,b", '"q"'])
    header = draw(st.lists(names, min_size=columns, max_size=columns,
                           unique=draw(st.integers(0, 4)) > 0))  # mostly unique
    if draw(st.integers(0, 9)) == 0:
        header[-1] = ""  # an empty header
    header = [f'"{h.strip(chr(34))}"' if "," in h else h for h in header]
    width = st.just(columns) if draw(st.integers(0, 3)) else st.integers(1, columns + 1)
    rows = draw(st.lists(width.flatmap(lambda n: st.lists(_CELL, min_size=n, max_size=n)),
                         max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [",".join(header)] + [",".join(row) for row in rows]
    if draw(st.integers(0, 3)) == 0:
        lines.insert(draw(st.integers(1, len(lines))), "")  # a blank line
    bom = "\ufeff" if draw(st.booleans()) else ""
    return bom + newline.join(lines) + (newline if draw(st.booleans()) else "")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_csv_text())
def test_arrow_parse_is_pandas_parse_or_steps_aside(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    event("arrow answered" if _same_as_pandas(path) else "arrow stepped aside")


@pytest.mark.parametrize("text", [
    "id,dose\nP1,1.5\nP2,\n,\nP3,2\n",            # empty cells and an all-empty row
    "id,dose\r\nP1,\"1,5\"\r\n\"P\n2\",3\r\n",     # CRLF, quoted comma and line break
    "\ufeffid,dose\nP1, 2 \n",                    # BOM, stray spaces kept
    "id,dose\nP1,2\n\nP3,4\n",                    # a blank line in the middle
    'id,note\nP1,"said ""no"""\nP2,""\n',         # doubled quotes; a quoted empty cell
    "id,dose\rP1,2\rP2,3\r",                    # lone carriage returns (old Mac files)
])
def test_arrow_answers_plain_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    assert _same_as_pandas(path)


@pytest.mark.parametrize("text", [
    "id,dose\nP1\n",               # short row: pandas pads it
    "id,dose\nP1,2,3\n",           # long first row: pandas makes an index of it
    "id,id\nP1,P2\n",              # repeated header: pandas renames it id.1
    "id,\nP1,2\n",                 # empty header: pandas names it Unnamed: 1
    "id,dose\nP1,2\n   \n",        # a whitespace-only line
])
def test_arrow_steps_aside(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    assert _parse_csv_arrow(path) is None


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf\xef\xbb\xbfid,dose\nP1,2\n",  # two byte-order marks: pandas strips both
    b"id,dose\nP1,a\x00b\n",                      # a NUL byte: pandas ends the cell there
    b'id,dose\nP1,"a\x00b"\n',
])
def test_arrow_steps_aside_on_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert _parse_csv_arrow(path) is None


def test_arrow_steps_aside_on_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("id,name\nP1,José\n".encode("latin-1"))
    assert _parse_csv_arrow(path) is None


def test_read_raw_is_the_same_on_either_parser(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_cohort(synth_cohort(300, seed=7), tmp_path / "cohort")
    (folder / "patients.csv").write_text((folder / "patients.csv").read_text() + "\n,,\n")
    with_pandas = read_raw(folder)
    monkeypatch.setattr(read_module, "ARROW_CSV_MIN_BYTES", 0)
    calls: list[Path] = []
    arrow = read_module._parse_csv_arrow
    monkeypatch.setattr(read_module, "_parse_csv_arrow",
                        lambda path: calls.append(path) or arrow(path))
    with_arrow = read_raw(folder)
    assert len(calls) == 2
    assert with_pandas.sheets.keys() == with_arrow.sheets.keys()
    for name, sheet in with_pandas.sheets.items():
        other = with_arrow.sheets[name]
        assert sheet.headers == other.headers
        pd.testing.assert_frame_equal(sheet.frame, other.frame, check_exact=True)
