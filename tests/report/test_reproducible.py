"""Two runs of the same report give the same bytes.

With ``SOURCE_DATE_EPOCH`` (or the same ``now``) every output is identical byte for byte,
in another process too: HTML, results.json, tables, PNG and SVG figures, the Word document
(fixed zip times and order) and the PDF (font subsets dated by the report's time). Without
it, results.json differs only in :data:`TIME_DEPENDENT_KEYS` and the tables and figures
do not differ at all.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import reinfuse
from reinfuse.cli import main
from reinfuse.demo import demo_path
from reinfuse.errors import UsageError
from reinfuse.report._build import TIME_DEPENDENT_KEYS, report_time
from reinfuse.report._docx import reproducible_zip

SRC = str(Path(reinfuse.__file__).resolve().parents[1])
EPOCH = 1_700_000_000
LATER = 1_950_000_000  # another time, as a run on another day
FORMATS = "html,docx,pdf"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """The demo report three times: in a child process and here at the same
    SOURCE_DATE_EPOCH, and here at another time (HTML only)."""
    base = tmp_path_factory.mktemp("repro")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH),
           "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("PYTHONHASHSEED", None)  # the child gets its own string hashing
    subprocess.run([sys.executable, "-m", "reinfuse.cli", "report", str(demo_path()),
                    "--out", str(base / "child"), "--format", FORMATS], env=env, check=True,
                   capture_output=True, timeout=300)
    for name, epoch, formats in (("here", EPOCH, FORMATS), ("later", LATER, "html")):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", str(epoch))
            assert main(["report", str(demo_path()), "--out", str(base / name),
                         "--format", formats]) == 0
    return {name: _snapshot(base / name) for name in ("child", "here", "later")}


def test_same_epoch_gives_identical_bytes_in_every_output(
        runs: dict[str, dict[str, bytes]]) -> None:
    child, here = runs["child"], runs["here"]
    assert {"report.html", "report.docx", "report.pdf", "results.json"} <= set(child)
    assert any(n.startswith("figures/") and n.endswith(".svg") for n in child)
    assert sorted(child) == sorted(here)
    different = [name for name in child if child[name] != here[name]]
    assert different == []
    stamp = json.loads(child["results.json"])["stamp"]
    assert stamp["generated_at"] == "2023-11-14T22:13:20Z"  # SOURCE_DATE_EPOCH honoured


def _without(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        *parents, last = key.split(".")
        node = payload
        for parent in parents:
            node = node[parent]
        del node[last]
    return payload


def test_another_time_changes_results_json_only_in_the_time_dependent_keys(
        runs: dict[str, dict[str, bytes]]) -> None:
    here, later = runs["here"], runs["later"]
    first, second = (json.loads(r["results.json"]) for r in (here, later))
    assert first["stamp"]["generated_at"] != second["stamp"]["generated_at"]
    assert _without(first, TIME_DEPENDENT_KEYS) == _without(second, TIME_DEPENDENT_KEYS)
    for name in later:
        if name.startswith(("tables/", "figures/")):
            assert later[name] == here[name], name


def test_figures_carry_no_creation_date(runs: dict[str, dict[str, bytes]]) -> None:
    for name, data in runs["here"].items():
        if name.endswith(".svg"):
            assert b"<dc:date>" not in data, name
        if name.endswith(".png"):
            assert b"tIME" not in data and b"Creation Time" not in data, name


def test_docx_members_carry_the_report_time_in_a_stable_order(
        runs: dict[str, dict[str, bytes]]) -> None:
    with zipfile.ZipFile(io.BytesIO(runs["here"]["report.docx"])) as archive:
        infos = archive.infolist()
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert infos[0].filename == "[Content_Types].xml"
    assert {i.external_attr for i in infos} == {0o644 << 16}


def test_reproducible_zip_is_independent_of_member_times() -> None:
    def archive(when: tuple[int, ...]) -> bytes:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as z:
            for name in ("b.xml", "a.xml"):
                z.writestr(zipfile.ZipInfo(name, date_time=when), f"<{name}/>")
        return data.getvalue()

    one, two = archive((2020, 1, 1, 0, 0, 0)), archive((2025, 6, 7, 8, 9, 10))
    assert one != two
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert reproducible_zip(one, when) == reproducible_zip(two, when)
    with zipfile.ZipFile(io.BytesIO(reproducible_zip(one, when))) as z:
        assert z.namelist() == ["b.xml", "a.xml"]  # the order is kept
        assert z.read("a.xml") == b"<a.xml/>"


def test_report_time_reads_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert report_time() == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    given = dt.datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)
    assert report_time(given) == given.replace(microsecond=0)  # `now` wins
    for bad in ("yesterday", "-5", "1.5e9"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH must be a whole number"):
            report_time()
