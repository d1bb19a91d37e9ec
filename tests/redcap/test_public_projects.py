"""Public REDCap test projects of another open-source REDCap client (REDCapR, MIT;
tests/data/redcap/README.md says which files, from which commit), imported through a
mapping. Expected values are read off the vendored data.csv files by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reinfuse.redcap import locate, parse_mapping, read_dictionary, read_export, starter_mapping
from reinfuse.validate import validate

DATA = Path(__file__).parents[1] / "data" / "redcap"


def test_longitudinal_events_become_infusions() -> None:
    project = DATA / "redcapr-arm-single-longitudinal"
    mapping = parse_mapping(
        '[fields]\ninterview_date = "infusions.date"\nweight = "infusions.dose_per_kg"\n'
        '[events]\nintake_arm_1 = 1\ndischage_arm_1 = 2\nfollow_up_arm_1 = 3\n')
    export = read_export(project / "data.csv", project / "dictionary.csv", mapping)
    report = validate(export)
    # the project has no reinfusion fields, so events 2 and 3 lack them (errors, located
    # at their event); everything else reads cleanly
    assert {f.rule for f in report.errors} == {"reinfusion-field-missing"}
    located = locate(report.errors, export)
    assert any(f.message.startswith("data.csv line 3, record 1, event dischage_arm_1, "
                                    "instrument collection, field indication:")
               for f in located)
    inf = report.cohort.infusions
    # data.csv: records 1-3, three events each; record 2 follow_up: 2001-02-03, weight 23
    assert len(inf) == 9 and sorted(set(report.cohort.patients["patient_id"])) == ["1", "2",
                                                                                  "3"]
    row = inf[(inf["patient_id"] == "2") & (inf["infusion"] == 3)].iloc[0]
    assert row["date"] == pd.Timestamp("2001-02-03") and row["dose_per_kg"] == 23
    # the file field image_profile is not mapped: said, not silently dropped
    assert any("image_profile" in n.message for n in export.notes)


def test_repeating_instrument_rows_are_not_patients() -> None:
    project = DATA / "redcapr-repeating-instruments"
    mapping = parse_mapping(
        '[fields]\nsex = "patients.sex"\nrace = "patients.race"\n'
        'ethnicity = "patients.ethnicity"\n'
        '[values.race]\n"6" = "unknown"\n')
    export = read_export(project / "data.csv", project / "dictionary.csv", mapping)
    report = validate(export)
    assert report.ok, report.errors[:3]
    patients = report.cohort.patients.set_index("patient_id")
    # record 1: ethnicity 1 "NOT Hispanic or Latino", race 4 "White", sex 0 "Female";
    # record 2: ethnicity 0 "Hispanic or Latino", race 6 (mapped to unknown), sex 1 "Male"
    assert list(patients.index) == ["1", "2"]
    assert patients.loc["1", ["sex", "race", "ethnicity"]].tolist() == [
        "F", "white", "non_hispanic"]
    assert patients.loc["2", ["sex", "race", "ethnicity"]].tolist() == [
        "M", "unknown", "hispanic"]
    # first_name and dob (identifier-flagged) are unmapped and never read
    unmapped = next(n for n in export.notes if n.rule == "redcap-unmapped-field")
    assert "first_name" in unmapped.message and "dob" in unmapped.message
    assert "first_name" not in export.sheets["patients"].frame.columns


def test_checkboxes_with_letter_codes() -> None:
    project = DATA / "redcapr-checkboxes-1"
    mapping = parse_mapping(
        '[fields]\ncheck_two = "patients.prior_car"\n'
        '[values.check_two]\na = "CD19"\nb = "CD22"\nc = "CD19/CD22"\nd = "other"\n'
        'e = "other"\n')
    export = read_export(project / "data.csv", project / "dictionary.csv", mapping)
    report = validate(export)
    assert report.ok, report.errors[:3]
    cars = report.cohort.patients.set_index("patient_id")["prior_car"]
    # record 1 ticks a and c; record 2 b and d; records 3 and 4 none
    assert cars["1"] == "CD19;CD19/CD22" and cars["2"] == "CD22;other"
    assert pd.isna(cars["3"]) and pd.isna(cars["4"])


def test_bad_mapped_value_is_located() -> None:
    project = DATA / "redcapr-repeating-instruments"
    mapping = parse_mapping('[fields]\nrace = "patients.race"\n')  # no value for code 6
    export = read_export(project / "data.csv", project / "dictionary.csv", mapping)
    errors = locate(validate(export).errors, export)
    assert len(errors) == 1
    assert errors[0].value == "Unknown / Not Reported" and errors[0].column == "race"
    assert "record 2" in errors[0].message and "instrument demographics" in errors[0].message


def test_starter_mapping_finds_the_demographics() -> None:
    starter = starter_mapping(read_dictionary(DATA / "redcapr-repeating-instruments"
                                              / "dictionary.csv"))
    assert starter.matched["sex"] == "patients.sex"
    assert starter.matched["race"] == "patients.race"
    assert starter.matched["ethnicity"] == "patients.ethnicity"
    assert "bp_systolic" in starter.unmatched
    parsed = parse_mapping(starter.text)  # what it writes is a valid mapping
    assert parsed.fields["sex"] == ("patients", "sex")
    assert parsed.values["sex"] == {"0": "F", "1": "M"}
