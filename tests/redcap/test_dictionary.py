"""Our REDCap data dictionary, checked against REDCap's documented dictionary format.

Reference: REDCap's data dictionary documentation ("Data Dictionary Excel Spreadsheet
Columns", Vanderbilt University): 18 columns A-R with the headers below; the first field
of the first form is the record identifier; field names are lower-case letters, digits and
underscores; choices ``code, label`` separated by ``|``. The header strings are typed
from issue 10, which lists them, and agree with the REDCapR test projects' dictionaries
(tests/data/redcap/).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from reinfuse.redcap import dictionary_csv, dictionary_frame, field_names, read_dictionary

DATA = Path(__file__).parents[1] / "data" / "redcap"

ISSUE_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min",
    "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)",
    "Matrix Group Name", "Matrix Ranking?", "Field Annotation",
]


def _rows() -> dict[str, dict[str, str]]:
    reader = csv.DictReader(io.StringIO(dictionary_csv()))
    assert reader.fieldnames == ISSUE_COLUMNS
    return {row["Variable / Field Name"]: row for row in reader}


def test_headers_match_redcaps_and_a_public_projects() -> None:
    with (DATA / "redcapr-repeating-instruments" / "dictionary.csv").open(
            encoding="utf-8") as handle:
        theirs = next(csv.reader(handle))
    assert theirs == ISSUE_COLUMNS
    assert list(dictionary_frame().columns) == ISSUE_COLUMNS


def test_record_identifier_first_and_forms() -> None:
    rows = list(_rows().values())
    assert rows[0]["Variable / Field Name"] == "patient_id"
    assert rows[0]["Form Name"] == "patients"
    forms = list(dict.fromkeys(r["Form Name"] for r in rows))
    assert forms == ["patients", "infusions", "crs_observations", "icans_observations",
                     "car_counts", "disease_assessments", "bcell_assessments"]


def test_field_names_are_valid_unique_and_short() -> None:
    names = list(field_names().values())
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) and len(n) <= 26 for n in names)


def test_types_choices_and_validation_from_the_schema() -> None:
    rows = _rows()
    # cohort_v1: sex codes M, F, unknown -> numbered 1.. in that order
    assert rows["sex"]["Field Type"] == "dropdown"
    assert rows["sex"]["Choices, Calculations, OR Slider Labels"] == "1, M | 2, F | 3, unknown"
    # crs_grade: integer 0-5 (ASTCT grades)
    crs = rows["crs_grade"]
    assert (crs["Field Type"], crs["Text Validation Type OR Show Slider Number"],
            crs["Text Validation Min"], crs["Text Validation Max"]) == ("text", "integer",
                                                                         "0", "5")
    # dose_per_kg: a number > 0 (REDCap's min is inclusive, so the note says so)
    dose = rows["dose_per_kg"]
    assert dose["Text Validation Type OR Show Slider Number"] == "number"
    assert dose["Text Validation Min"] == "0" and "more than 0" in dose["Field Note"]
    assert "cells/kg" in dose["Field Note"]
    date = rows["infusion_date"]
    assert date["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert date["Identifier?"] == "y" and date["Required Field?"] == "y"
    assert rows["prior_car"]["Field Type"] == "checkbox"
    assert rows["prior_blinatumomab"]["Field Type"] == "yesno"
    assert rows["trial"]["Field Type"] == "text"
    assert rows["trial"]["Text Validation Type OR Show Slider Number"] == ""


def test_branching_logic_only_on_reinfusion_fields() -> None:
    rows = _rows()
    with_logic = {name for name, row in rows.items()
                  if row["Branching Logic (Show field only if...)"]}
    assert with_logic == {"indication", "interim_therapy", "residual_car"}
    assert rows["indication"]["Branching Logic (Show field only if...)"] == "[infusion] >= 2"


def test_our_dictionary_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "dict.csv"
    path.write_text(dictionary_csv(), encoding="utf-8")
    parsed = read_dictionary(path)
    assert parsed.record_id == "patient_id"
    by_name = parsed.by_name()
    assert by_name["crs_day"].target == ("crs_observations", "day")
    assert by_name["sex"].choices == (("1", "M"), ("2", "F"), ("3", "unknown"))


def test_reads_a_public_dictionary_with_unspaced_choices() -> None:
    parsed = read_dictionary(DATA / "redcapr-checkboxes-1" / "dictionary.csv")
    fields = parsed.by_name()
    # written "a, A|b, B|c, C|d, D|e, E" in the file
    assert fields["check_two"].choices == (("a", "A"), ("b", "B"), ("c", "C"), ("d", "D"),
                                           ("e", "E"))
    assert parsed.record_id == "record_id"
