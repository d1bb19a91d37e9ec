"""Round trip: cohort -> our dictionary -> record export (raw and labels) -> import -> the
same cohort, for the demo cohort and a synthetic one. The reference is the cohort itself
as validated from its workbook / tables (an independent path: io.read + validate)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reinfuse.cohort import Cohort
from reinfuse.demo import demo_path
from reinfuse.redcap import dictionary_csv, read_export, write_export
from reinfuse.schema import COHORT_V1
from reinfuse.synth import synth_cohort
from reinfuse.validate import load_cohort, validate


@pytest.fixture(scope="module")
def demo() -> Cohort:
    return load_cohort(demo_path())


def _same(original: Cohort, back: Cohort) -> None:
    for table in COHORT_V1.tables:
        if table.name not in original.tables:
            continue
        left = original.tables[table.name][list(table.names)].reset_index(drop=True)
        right = back.tables[table.name][list(table.names)].reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=True)


# Validation of the demo takes ~2 s (it reconciles the observation sheets), so the demo
# goes through the labels export and the synthetic cohort through the raw one; the
# hand-written exports (test_import.py) cover both with every kind of field.
@pytest.mark.parametrize("labels", [True], ids=["labels"])
def test_demo_round_trip(demo: Cohort, tmp_path: Path, labels: bool) -> None:
    dictionary = tmp_path / "dictionary.csv"
    dictionary.write_text(dictionary_csv(), encoding="utf-8")
    path = write_export(demo, tmp_path / "export.csv", labels=labels)
    export = read_export(path, dictionary)
    assert export.labels == labels and export.notes == ()
    report = validate(export)
    assert report.ok, report.errors[:3]
    _same(demo, report.cohort)


def test_synthetic_round_trip(tmp_path: Path) -> None:
    tables = synth_cohort(25, seed=7)
    original = validate_tables(tables, tmp_path)
    path = write_export(tables, tmp_path / "synthetic.csv")  # text tables, as synth writes
    back = validate(read_export(path))
    assert back.ok, back.errors[:3]
    _same(original, back.cohort)


def validate_tables(tables: dict[str, pd.DataFrame], tmp_path: Path) -> Cohort:
    from reinfuse.io.write import write_cohort

    folder = write_cohort(tables, tmp_path / "synthetic")
    return load_cohort(folder)


def test_export_refuses_to_overwrite(demo: Cohort, tmp_path: Path) -> None:
    from reinfuse.errors import OutputExistsError

    path = tmp_path / "export.csv"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(OutputExistsError):
        write_export(demo, path)
