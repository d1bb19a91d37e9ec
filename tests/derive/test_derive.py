"""Derived variables on the hand-written cohort of tests/conftest.py, checked by hand.

Every expected value below is worked out from the cohort's raw values and the definition
cited (clinical-definitions.md), not computed by reinfuse.
"""

from __future__ import annotations

import pandas as pd
import pytest

from reinfuse.derive import DeriveOptions, derive
from reinfuse.validate import load_cohort


@pytest.fixture
def frame(write_cohort_csv) -> pd.DataFrame:
    data = derive(load_cohort(write_cohort_csv()))
    return data.set_index(["patient_id", "infusion"])


def test_one_row_per_infusion_sorted(frame: pd.DataFrame) -> None:
    assert list(frame.index) == [("P1", 1), ("P1", 2), ("P2", 1)]
    assert frame["n_infusions"].tolist() == [2, 2, 1]


def test_marrow_and_cns(frame: pd.DataFrame) -> None:
    # blasts 60% and 30% are M3 (> 25%); 3% blasts with MRD 2.1% is M1 (MRD-positive).
    assert frame["marrow_class_pre"].tolist() == ["M3", "M3", "M1"]
    assert frame["marrow_group_pre"].tolist() == ["M2/M3", "M2/M3", "M1"]
    # No blasts on cytospin: CNS1; P2 is flow-positive: "CNS1 flow+".
    assert frame["cns_status_pre"].tolist() == ["CNS1", "CNS1", "CNS1 flow+"]


def test_response_flags(frame: pd.DataFrame) -> None:
    # CR, SD, CR; MRD at best response 0, 25, 0 (< 0.01% is negative).
    assert frame["objective_response"].tolist() == [True, False, True]
    assert frame["complete_response"].tolist() == [True, False, True]
    assert frame["mrd_negative_cr"].tolist() == [True, False, True]


def test_reinfusion_pairs(frame: pd.DataFrame) -> None:
    reinfusion = frame.loc[("P1", 2)]
    assert reinfusion["ld_pair"] == "standard->intensified"
    assert reinfusion["dose_change"] == "equal"
    assert reinfusion["days_since_previous"] == 111  # 2018-01-10 -> 2018-05-01
    assert reinfusion["previous_best_response"] == "CR"
    assert reinfusion["abc_cd22_change"] == 1800 - 3500
    assert pd.isna(frame.loc[("P1", 1), "ld_pair"])


def test_remission(frame: pd.DataFrame) -> None:
    # P1 CR 2018-02-07, relapse 2018-04-01: 53 days, event.
    assert frame.loc[("P1", 1), "remission_days"] == 53
    assert bool(frame.loc[("P1", 1), "remission_event"]) is True
    # P2 CR 2019-04-01, no relapse, last follow-up 2020-01-01: censored at 275 days.
    assert frame.loc[("P2", 1), "remission_days"] == 275
    assert bool(frame.loc[("P2", 1), "remission_event"]) is False
    # Not in CR: no remission.
    assert pd.isna(frame.loc[("P1", 2), "remission_days"])
    # CAR T cells gone, antigen positive at relapse.
    assert frame.loc[("P1", 1), "relapse_phenotype"] == "CAR loss, antigen preserved"
    assert frame.loc[("P1", 1), "relapse_site_group"] == "marrow only"


def test_followup_is_patient_level(frame: pd.DataFrame) -> None:
    # P1 died 2018-09-01 (recorded on the reinfusion row): 123 days after 2018-05-01 and
    # 234 days after 2018-01-10; death counts for both of P1's rows.
    assert frame.loc[("P1", 2), "followup_days"] == 123
    assert frame.loc[("P1", 1), "followup_days"] == 234
    assert frame["death_event"].tolist() == [True, True, False]


def test_options_change_definitions(write_cohort_csv) -> None:
    folder = write_cohort_csv([("infusions", 2, "pre_marrow_mrd_pct", "0.005"),
                               ("infusions", 2, "best_response", "CRi")])
    strict = derive(load_cohort(folder), DeriveOptions(mrd_negative_below=0.001))
    default = derive(load_cohort(folder))
    assert default.loc[2, "marrow_class_pre"] == "MRD-negative CR"
    assert strict.loc[2, "marrow_class_pre"] == "M1"
    assert bool(default.loc[2, "complete_response"]) is True
    no_cri = derive(load_cohort(folder), DeriveOptions(cri_counts_as_cr=False))
    assert bool(no_cri.loc[2, "complete_response"]) is False


def test_event_free_survival(frame: pd.DataFrame) -> None:
    # P1 infusion 1: CR, relapse 2018-04-01, 81 days after 2018-01-10: event at 81.
    assert frame.loc[("P1", 1), "efs_days"] == 81
    assert bool(frame.loc[("P1", 1), "efs_event"]) is True
    # P1 infusion 2: SD (no CR): an event at day 0 by the ALL convention.
    assert frame.loc[("P1", 2), "efs_days"] == 0
    assert bool(frame.loc[("P1", 2), "efs_event"]) is True
    # P2: CR, no relapse, alive at 2020-01-01: censored at 303 days after 2019-03-04.
    assert frame.loc[("P2", 1), "efs_days"] == 303
    assert bool(frame.loc[("P2", 1), "efs_event"]) is False


def test_reinfusion_modifications(frame: pd.DataFrame) -> None:
    # P1: standard -> intensified LD, same dose, MRD 55% -> 28% before the reinfusion;
    # CR then relapse after the first infusion: eligible by the relapse indication.
    row = frame.loc[("P1", 2)]
    assert bool(row["mod_intensified_ld"]) and not bool(row["mod_higher_dose"])
    assert bool(row["mod_lower_burden"])
    assert row["modifications"] == "intensified LD; lower disease burden"
    assert bool(row["seed_eligible"]) and row["seed_indication"] == "relapse after CR"
    assert pd.isna(frame.loc[("P1", 1), "modifications"])
