"""Writers never overwrite silently, and the template is made from the schema."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reinfuse.errors import OutputExistsError
from reinfuse.io.read import read_raw
from reinfuse.io.template import format_markdown, write_template
from reinfuse.io.write import write_cohort
from reinfuse.schema import COHORT_V1
from reinfuse.validate import validate


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "c.xlsx"
    target.write_text("precious")
    with pytest.raises(OutputExistsError, match="never overwrites"):
        write_cohort({"patients": pd.DataFrame({"patient_id": ["P1"]})}, target)
    assert target.read_text() == "precious"


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = pd.DataFrame.to_csv

    def fail_second(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_second)
    target = tmp_path / "folder"
    with pytest.raises(OSError, match="disk full"):
        write_cohort({"patients": pd.DataFrame({"a": [1]}), "x": pd.DataFrame({"a": [1]})},
                     target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_template_headers_dictionary_and_dropdowns(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["patients", "infusions", "crs_observations",
                               "icans_observations", "car_counts", "disease_assessments",
                               "bcell_assessments", "antigen_samples", "dictionary"]
    for table in COHORT_V1.tables:
        headers = [c.value for c in book[table.name][1]]
        assert headers == list(table.names)
    sheet = book["infusions"]
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert '"CR,CRi,PR,SD,PD,NE"' in formulas
    assert '"yes,no"' in formulas
    dictionary = [[c.value for c in row] for row in book["dictionary"].iter_rows()]
    assert dictionary[0][:3] == ["table", "column", "type"]
    assert len(dictionary) - 1 == sum(len(t.columns) for t in COHORT_V1.tables)


def test_empty_template_reads_back(tmp_path: Path) -> None:
    report = validate(read_raw(write_template(tmp_path / "t.xlsx")))
    assert report.ok
    assert {f.rule for f in report.findings} == {"empty-sheet"}


def test_template_refuses_overwrite(tmp_path: Path) -> None:
    path = write_template(tmp_path / "t.xlsx")
    with pytest.raises(OutputExistsError):
        write_template(path)


def test_docs_are_generated_from_schema() -> None:
    doc = Path(__file__).parents[2] / "docs" / "cohort-format.md"
    assert doc.read_text(encoding="utf-8").strip() == format_markdown().strip(), (
        "docs/cohort-format.md is out of date: run `reinfuse schema > docs/cohort-format.md`"
    )


def test_overwrite_never_deletes_a_users_folder(tmp_path: Path) -> None:
    mine = tmp_path / "precious"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputExistsError, match="did not write"):
        write_cohort({"patients": pd.DataFrame({"a": [1]})}, mine, overwrite=True)
    assert (mine / "thesis.docx").read_text() == "years of work"


def test_overwrite_replaces_reinfuse_output(tmp_path: Path) -> None:
    out = write_cohort({"patients": pd.DataFrame({"a": [1]})}, tmp_path / "c")
    assert (out / ".reinfuse-output").exists()
    write_cohort({"patients": pd.DataFrame({"a": [2]})}, out, overwrite=True)
    assert (out / "patients.csv").read_text().splitlines() == ["a", "2"]


def test_never_writes_over_the_input(tmp_path: Path) -> None:
    source = tmp_path / "cohort.xlsx"
    source.write_text("input")
    with pytest.raises(OutputExistsError, match="never writes over its input"):
        write_cohort({"patients": pd.DataFrame({"a": [1]})}, source, overwrite=True,
                     protect=[source])
    with pytest.raises(OutputExistsError, match="never writes over its input"):
        write_cohort({"patients": pd.DataFrame({"a": [1]})}, tmp_path, overwrite=True,
                     protect=[source])
    assert source.read_text() == "input"


def test_file_and_folder_are_not_confused(tmp_path: Path) -> None:
    existing = tmp_path / "afile"
    existing.write_text("x")
    with pytest.raises(OutputExistsError, match="is a file; give a folder name"):
        write_cohort({"patients": pd.DataFrame({"a": [1]})}, existing, overwrite=True)
