"""Record exports written by hand, column by column, following REDCap's record export
layout (record id; redcap_repeat_instrument / redcap_repeat_instance; one row per record
for non-repeating forms and one per instance of a repeating form; checkboxes as
``field___code`` holding 1/0 or Checked/Unchecked; ``{form}_complete`` status columns).

The expected cohort values are read off our dictionary's choice lists by hand
(sex: 1 M, 2 F, 3 unknown; prior_car: 1 CD19, 2 CD22, 3 CD19/CD22, 4 other; indication:
1 persistent_disease, 2 relapse, 3 relapse_prevention; best_response: 1 CR, 2 CRi,
3 PR...; crs_anticytokine: 1 no, 2 for_crs, 3 premedication; yesno: 1 yes, 0 no).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reinfuse.errors import CohortReadError, UsageError
from reinfuse.redcap import locate, parse_mapping, read_export
from reinfuse.validate import validate

HEADER = ("patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,prior_blinatumomab,"
          "prior_car___1,prior_car___2,prior_car___3,prior_car___4,patients_complete,"
          "infusion,infusion_date,dose_per_kg,indication,best_response,infusions_complete,"
          "crs_infusion,crs_day,temperature_c,crs_anticytokine,crs_observations_complete")
RAW = [
    "P1,,,1,0,1,0,1,0,2,,,,,,,,,,,",
    "P1,infusions,1,,,,,,,,1,2019-01-05,1000000,,1,2,,,,,",
    "P1,infusions,2,,,,,,,,2,2019-06-01,3000000,2,3,2,,,,,",
    "P1,crs_observations,1,,,,,,,,,,,,,,1,0.5,38.5,3,2",
    "P2,,,2,,0,0,0,0,1,,,,,,,,,,,",
    "P2,infusions,1,,,,,,,,1,2020-02-02,,,,0,,,,,",
]
LABELS = [
    "P1,,,M,No,Checked,Unchecked,Checked,Unchecked,Complete,,,,,,,,,,,",
    "P1,Infusions,1,,,,,,,,1,2019-01-05,1000000,,CR,Complete,,,,,",
    "P1,Infusions,2,,,,,,,,2,2019-06-01,3000000,relapse,PR,Complete,,,,,",
    "P1,Crs Observations,1,,,,,,,,,,,,,,1,0.5,38.5,premedication,Complete",
    "P2,,,F,,Unchecked,Unchecked,Unchecked,Unchecked,Unverified,,,,,,,,,,,",
    "P2,Infusions,1,,,,,,,,1,2020-02-02,,,,Incomplete,,,,,",
]


#: Without the CRS row: validation then has no observations to reconcile (4x faster).
CORE = [row for row in RAW if "crs_observations" not in row]


def _write(tmp_path: Path, rows: list[str], name: str = "export.csv",
           header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("rows", [RAW, LABELS], ids=["raw", "labels"])
def test_hand_written_export(tmp_path: Path, rows: list[str]) -> None:
    export = read_export(_write(tmp_path, rows))
    assert export.labels == (rows is LABELS)
    report = validate(export)
    assert report.ok, report.errors
    patients = report.cohort.patients.set_index("patient_id")
    assert patients.loc["P1", "sex"] == "M" and patients.loc["P2", "sex"] == "F"
    assert patients.loc["P1", "prior_car"] == "CD19;CD19/CD22"
    assert bool(patients.loc["P1", "prior_blinatumomab"]) is False
    assert pd.isna(patients.loc["P2", "prior_blinatumomab"])  # blank stays unknown
    assert pd.isna(patients.loc["P2", "prior_car"])  # no box ticked: blank
    inf = report.cohort.infusions.set_index(["patient_id", "infusion"])
    assert list(inf.index) == [("P1", 1), ("P1", 2), ("P2", 1)]
    assert inf.loc[("P1", 2), "indication"] == "relapse"
    assert inf.loc[("P1", 2), "best_response"] == "PR"
    assert inf.loc[("P1", 1), "dose_per_kg"] == 1e6
    assert inf.loc[("P1", 2), "date"] == pd.Timestamp("2019-06-01")
    crs = report.cohort.tables["crs_observations"]
    assert crs[["patient_id", "infusion", "day", "temperature_c",
                "anticytokine_or_antipyretic"]].values.tolist() == [
        ["P1", 1, 0.5, 38.5, "premedication"]]
    # row numbers are the export's lines (header = line 1)
    assert list(report.cohort.tables["crs_observations"]["source_row"]) == [5]


def test_longitudinal_export_and_a_record_without_patient_data(tmp_path: Path) -> None:
    header = HEADER.replace("patient_id,", "patient_id,redcap_event_name,", 1)
    rows = [row.replace(",", ",baseline_arm_1,", 1) for row in
            [*CORE, "P3,infusions,1,,,,,,,,1,2021-01-01,,,,0,,,,,"]]
    report = validate(read_export(_write(tmp_path, rows, header=header)))
    assert report.ok, report.errors
    assert len(report.cohort.infusions) == 4
    # P3 has only a repeating row: it still gets its patients row
    assert report.cohort.patients["patient_id"].tolist() == ["P1", "P2", "P3"]


def test_missing_record_id_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, ["1,M"], header="study_id,sex")
    with pytest.raises(CohortReadError, match="no column 'patient_id'"):
        read_export(path)


def test_mapping_problems_listed_at_once() -> None:
    text = ('[fields]\ngender = "patients.sexx"\nvisit = "nowhere.date"\n'
            '[events]\nv1 = 0\n[extra]\n')
    with pytest.raises(UsageError) as caught:
        parse_mapping(text, "map.toml")
    message = str(caught.value)
    assert "map.toml" in message and "did you mean 'patients.sex'" in message
    assert "nowhere.date" in message and "v1 = 0" in message and "extra" in message


def test_findings_in_redcap_terms_and_one_bad_value_keeps_raw(tmp_path: Path) -> None:
    # sex 1 (raw M) beside an indication '9' that is neither a code nor a label: still raw,
    # so only the indication is reported, at its line, record, instrument, instance and
    # field; the record ID shown as validation redacts it (a name typed as study ID).
    rows = [CORE[0].replace("P1", "John Smith"), *[r.replace("P1", "John Smith")
                                                   for r in CORE[1:3]]]
    rows[2] = rows[2].replace(",2,3,2,", ",9,3,2,")
    export = read_export(_write(tmp_path, rows))
    assert export.labels is False
    report = validate(export, allow_identifiers=True)
    errors = locate(report.errors, export, report.cohort)
    assert [(f.column, f.value) for f in errors if f.rule == "unknown-code"] == [
        ("indication", "9")]
    assert all("John" not in f.message for f in errors)
    bad = next(f for f in errors if f.rule == "unknown-code")
    assert bad.row == 4 and bad.sheet == "infusions" and "relapse" in bad.fix
    assert bad.message.startswith("export.csv line 4, record J*** S****, instrument "
                                  "infusions, instance 2, field indication:")
