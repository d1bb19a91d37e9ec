"""Build the bundled demo cohort: 18 synthetic reinfusion patients.

The cohort is **synthetic**: no row describes a real person. Every value below was chosen
by hand so that each figure published by the seed study (a retrospective review of
reinfusion of the same CAR T-cell product, CART2, across three NCI phase I trials,
7/2012-1/2021) is reproduced when it is computed from the two tables; columns the study
did not publish (dates, CSF counts, follow-up, deaths, relapse antigen...) hold plausible,
mutually consistent values.
``docs/demo-cohort.md`` maps each published figure to the rows that carry it and lists the
study's internal discrepancies. The raw observation sheets (``crs_observations``,
``icans_observations``, ``car_counts``, ``disease_assessments``), from which the criteria
engine derives the recorded grades, peaks and disease status, are built by
:mod:`reinfuse.demo.observations`.

The build is deterministic: the data are literals; nothing is random. Run

    python -m reinfuse.demo.build

to (re)write ``src/reinfuse/demo/data/demo_cohort.xlsx`` and the CSV folder
``src/reinfuse/demo/data/demo_cohort/``.

Reading guide (the paper's roles, used in the comments below)
-------------------------------------------------------------
- Products: CD19-28z (P01-P05, NCT01593696, 2013-2015), CD22-BBz (P06-P15, NCT02315612,
  2016-2019), CD19/22-BBz (P16-P18, NCT03448393, 2018-2020). Paper patient numbers are kept
  where the paper names them: P03 (CD19), P10 (CD22), P14 (CD22), P17 (CD19/22).
- CART2 indication: persistent disease P03 P08 P09 P10 P12 P16 P17 (7), relapse the other 11.
- CART2 responders (7): CR P05 (MRD-positive) P09 P12 P13 P14 P16, PR P10 (antigen loss).
- P08 and P13: isolated CNS disease with a marrow MRD-negative CR before CART2.
- ``best_response`` is the best *marrow* response (the format's definition), so P08, whose
  marrow reached an MRD-negative CR with CART1 while CSF disease persisted, is a CART1 CR
  with indication ``persistent_disease``: CART1 = 12 CR + 1 PR + 5 SD (13/18 objective).
- ``antigen_after`` is the antigen status of leukemia detected at the response assessment
  after the infusion (empty when none is detectable, i.e. MRD-negative CR); antigen status at
  a later relapse is ``relapse_antigen``.
- The paper's "standard LD" group in the CART2 expansion comparison is every patient *not*
  given intensified LD before CART2 (n=10, both FLAG patients included); P07 has no blood
  CART2 expansion but CAR T cells in the CSF, so 6 blood zeros but 5 patients without any
  demonstrated expansion.
- Ages are completed years; dates are ISO dates; ``peak_car_per_ul`` is the paper's
  "cells/mL" figure (see the format).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "INFUSION_COLUMNS",
    "PATIENT_COLUMNS",
    "demo_tables",
    "main",
]

#: Column order of the ``patients`` sheet (cohort format v1, issue 2).
PATIENT_COLUMNS: tuple[str, ...] = (
    "patient_id", "sex", "race", "ethnicity", "prior_lines", "prior_hsct",
    "prior_blinatumomab", "prior_inotuzumab", "prior_car",
)

#: Column order of the ``infusions`` sheet (cohort format v1, issue 2).
INFUSION_COLUMNS: tuple[str, ...] = (
    "patient_id", "infusion", "date", "age_years", "trial", "construct", "target",
    "dose_per_kg", "ld_regimen", "ld_fludarabine_mg_m2", "ld_cyclophosphamide_mg_m2",
    "ld_cytarabine_mg_m2", "indication", "compassionate_use", "interim_therapy",
    "residual_car", "pre_marrow_blasts_pct", "pre_marrow_mrd_pct", "pre_csf_wbc_per_ul",
    "pre_csf_rbc_per_ul", "pre_csf_blasts", "pre_csf_flow_positive",
    "pre_cns_clinical_signs", "pre_emd", "best_response", "best_response_mrd_pct",
    "response_date", "crs_grade", "neurotox_grade", "peak_car_per_ul", "csf_lp_done",
    "csf_car_detected", "abc_cd19_pre", "abc_cd22_pre", "antigen_after", "relapse_date",
    "relapse_sites", "relapse_antigen", "car_at_relapse", "hsct_after",
    "last_followup_date", "death_date",
)

_DATE = ("date", "response_date", "relapse_date", "last_followup_date", "death_date")
_BOOL_PATIENTS = ("prior_blinatumomab", "prior_inotuzumab")
_BOOL_INFUSIONS = (
    "compassionate_use", "interim_therapy", "residual_car", "pre_csf_blasts",
    "pre_csf_flow_positive", "pre_cns_clinical_signs", "pre_emd", "csf_lp_done",
    "csf_car_detected", "car_at_relapse", "hsct_after",
)
_INT_INFUSIONS = ("infusion", "crs_grade", "neurotox_grade")
_TEXT_INFUSIONS = (
    "patient_id", "trial", "construct", "target", "ld_regimen", "indication",
    "best_response", "antigen_after", "relapse_sites", "relapse_antigen",
)

# Methods: "Patients received anti-CD19-28z (NCT01593696), anti-CD22-.BBz (NCT02315612),
# or anti-CD19/CD22.BBz (NCT0344839) CAR T-cells." The third number is printed truncated;
# the CD19/22-BBz trial is NCT03448393 (see docs/demo-cohort.md, discrepancies).
TRIALS: dict[str, tuple[str, str]] = {
    "CD19": ("NCT01593696", "CD19-28z"),
    "CD22": ("NCT02315612", "CD22-BBz"),
    "CD19/CD22": ("NCT03448393", "CD19/22-BBz"),
}

# Course totals in mg/m2 (fludarabine, cyclophosphamide, cytarabine). Table 2 footnote:
# standard = fludarabine 25 x 3 + cyclophosphamide 900 x 1; intensified = fludarabine
# 30 x 4 + cyclophosphamide 600 x 2; FLAG = fludarabine 25 x 5 + cytarabine 2000 x 5.
LD_TOTALS: dict[str, tuple[float, float, float]] = {
    "standard": (75.0, 900.0, 0.0),
    "intensified": (120.0, 1200.0, 0.0),
    "flag": (125.0, 0.0, 10000.0),
}

# ---------------------------------------------------------------------------------------
# patients: Table 1 ("Patient demographics and therapy prior to CART1").
# Sex M 16 / F 2; race white 12, Asian 2, "multiple and unknown" 4 (2 + 2); Hispanic 3;
# prior lines median 6 (2-13); prior HSCT 1 in 11, >1 in 3 (14 = 77.8%); blinatumomab 6
# and inotuzumab 2 in 8 different patients ("8 (44.4%) received blinatumomab or
# inotuzumab"); prior alternate CAR: CD19 6, CD22 2, CD19/22 1 = 9 products in 8 patients
# ("8 (44.4%) received an alternate ... CART therapy"): P17 received two (CD19 then CD22).
# ---------------------------------------------------------------------------------------
_PATIENTS: tuple[tuple[Any, ...], ...] = (
    # id    sex  race        ethnicity       lines hsct blin   ino    prior_car
    ("P01", "M", "white",    "non_hispanic",  4, 1, False, False, None),
    ("P02", "M", "white",    "hispanic",      3, 1, False, False, None),
    ("P03", "M", "white",    "non_hispanic",  5, 1, False, False, None),
    ("P04", "F", "white",    "non_hispanic",  2, 0, False, False, None),
    ("P05", "M", "white",    "non_hispanic",  6, 1, True,  False, None),
    ("P06", "M", "multiple", "non_hispanic",  7, 1, False, False, "CD19"),
    ("P07", "M", "white",    "hispanic",      9, 2, False, False, None),
    ("P08", "M", "white",    "non_hispanic",  5, 1, True,  False, None),
    ("P09", "M", "asian",    "non_hispanic",  8, 1, False, False, "CD19"),
    ("P10", "M", "white",    "non_hispanic",  4, 0, True,  False, None),
    ("P11", "M", "unknown",  "non_hispanic", 10, 1, True,  False, "CD19"),
    ("P12", "M", "white",    "non_hispanic",  6, 0, True,  False, None),
    ("P13", "M", "multiple", "non_hispanic", 11, 2, False, False, "CD19"),
    ("P14", "M", "white",    "hispanic",      6, 1, False, False, "CD19"),
    ("P15", "M", "asian",    "non_hispanic",  7, 1, False, True,  "CD19/CD22"),
    ("P16", "F", "white",    "non_hispanic",  5, 0, False, True,  None),
    ("P17", "M", "white",    "non_hispanic", 13, 3, False, False, "CD19;CD22"),
    ("P18", "M", "unknown",  "non_hispanic",  6, 1, True,  False, "CD22"),
)

# Last follow-up and death (not published; plausible). Data cut-off 2021-06-30. For a
# patient who died, last follow-up is the date of death. P03 is followed beyond one year
# after CART2 (figure 2E: "disease regaining full expression of CD19 1 year post-CART2").
_OUTCOME: dict[str, tuple[str, str | None]] = {
    "P01": ("2014-01-20", "2014-01-20"),
    "P02": ("2014-06-02", "2014-06-02"),
    "P03": ("2015-09-08", "2015-09-08"),
    "P04": ("2014-11-25", "2014-11-25"),
    "P05": ("2016-04-12", "2016-04-12"),
    "P06": ("2016-09-30", "2016-09-30"),
    "P07": ("2016-12-15", "2016-12-15"),
    "P08": ("2017-05-20", "2017-05-20"),
    "P09": ("2021-06-30", None),
    "P10": ("2018-04-03", "2018-04-03"),
    "P11": ("2018-06-19", "2018-06-19"),
    "P12": ("2021-06-30", None),
    "P13": ("2019-08-14", "2019-08-14"),
    "P14": ("2020-02-11", "2020-02-11"),
    "P15": ("2019-10-08", "2019-10-08"),
    "P16": ("2021-06-30", None),
    "P17": ("2021-05-27", None),
    "P18": ("2021-06-30", None),
}


def _inf(patient_id: str, infusion: int, date: str, age_years: int, target: str,
         dose_per_kg: float, ld_regimen: str, **values: Any) -> dict[str, Any]:
    """One infusion row: the clinical values given, plus the columns they determine.

    ``trial`` and ``construct`` follow from ``target``; the lymphodepletion drug totals from
    ``ld_regimen``; ``last_followup_date`` / ``death_date`` from the patient's outcome. Not
    published and the same for every row: no CNS clinical signs, no consolidative HSCT
    ("No patient had interim HSCT"; "No patient was eligible for consolidative HSCT").
    """
    trial, construct = TRIALS[target]
    flu, cy, ara_c = LD_TOTALS[ld_regimen]
    last_followup, death = _OUTCOME[patient_id]
    row: dict[str, Any] = {
        "patient_id": patient_id, "infusion": infusion, "date": date,
        "age_years": float(age_years), "trial": trial, "construct": construct,
        "target": target, "dose_per_kg": dose_per_kg, "ld_regimen": ld_regimen,
        "ld_fludarabine_mg_m2": flu, "ld_cyclophosphamide_mg_m2": cy,
        "ld_cytarabine_mg_m2": ara_c, "compassionate_use": False,
        "pre_cns_clinical_signs": False, "hsct_after": False,
        "last_followup_date": last_followup, "death_date": death,
    }
    unknown = set(values) - set(INFUSION_COLUMNS)
    if unknown:  # a typo in the literal table below, not user input
        raise KeyError(f"unknown infusion columns {sorted(unknown)}")
    row.update(values)
    return row


# Shorthands used in the rows below.
CD19, CD22, BI = "CD19", "CD22", "CD19/CD22"
STD, INT, FLAG = "standard", "intensified", "flag"

# ---------------------------------------------------------------------------------------
# infusions: two rows per patient (CART1, CART2).
# Table 2 pre-CART1: all with active marrow disease, M1 5 (P05 P08 P13 P16 P18), M2/M3 13;
# all CNS1, 7 with flow-detectable CSF disease (P03 P06 P08 P11 P13 P14 P15); non-CNS EMD 5
# (P02 P07 P09 P14 P16).
# Table 2 pre-CART2: MRD-negative CR 2 (P08 P13, isolated CNS disease), M1 4 (P09 P12 P15
# P18), M2/M3 12; CNS1 with flow+ 3 (P08 P13 P15), CNS3 1 (P14); non-CNS EMD 4 (P07 P14 P15
# P18).
# Dose: equal 15; CART1 > CART2 in 2 CD19 patients after a dose-limiting toxicity (P01,
# P04: 3e6 -> 1e6, both with grade >= 3 CRS at CART1); CART1 < CART2 in 1 CD19/22 patient
# with a suboptimal CART1 response (P16: 3e5 -> 1e6).
# Lymphodepletion: standard -> standard 7 (P01 P03 P05 P06 P08 P12 P18); standard ->
# intensified 8 (P09 P10 P11 P13 P14 P15 P16 P17); intensified -> standard 1 (P07); FLAG in
# 2 CD19 patients: FLAG -> standard (P02), standard -> FLAG (P04).
# Time CART1 -> CART2 (days): median 116.5 (35-373); P17 162, P03 204, P10 125 (fig. 2D-F).
# CART2 peak expansion (CAR T cells/uL): median 1.69 (0-2886.0) over 18; 6 blood zeros
# (P01 P02 P06 P07 P08 P18), all non-responders. "5 (27.8%) of 18 failed to demonstrate any
# CART2 expansion": P07 has no blood expansion but CAR T cells in the CSF, so expansion was
# demonstrated (blood > 0 or CSF CAR detected) in 13. Intensified LD at CART2 (n=8): median
# 5.40 (0.63-2886); all others (n=10, incl. both FLAG patients, P02 and P04): median 0
# (0-196.8). The positive non-intensified values (P03 1.12, P04 2.26, P05 45, P12 196.8)
# are the 2nd, 5th, 9th and 10th of the 12 positive values, which gives U = 64 and the
# exact conditional (Prism 6+) two-sided p = 0.02900 (paper: p=0.029).
# CSF CAR after CART2 in 5 of 14 with an LP: P05 P09 P12 P14 (4 of the 5 highest blood
# peaks) and P07 (blood-undetectable): "largely correlated with ... more robust PB expansion".
# ---------------------------------------------------------------------------------------
_INFUSIONS: tuple[dict[str, Any], ...] = (
    # P01 CD19. Relapse after CR; dose lowered after grade 3 CRS (DLT) at 3e6/kg.
    _inf("P01", 1, "2013-02-12", 19, CD19, 3e6, STD,
         pre_marrow_blasts_pct=80.0, pre_marrow_mrd_pct=78.0, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2013-03-12", crs_grade=3, neurotox_grade=2, peak_car_per_ul=17.2,
         csf_lp_done=True, csf_car_detected=False, relapse_date="2013-07-12",
         relapse_sites="marrow", relapse_antigen="positive", car_at_relapse=False),
    _inf("P01", 2, "2013-08-09", 19, CD19, 1e6, STD,
         indication="relapse", interim_therapy=False, residual_car=False,
         pre_marrow_blasts_pct=85.0, pre_marrow_mrd_pct=83.6, pre_csf_wbc_per_ul=2.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=80.0,
         response_date="2013-09-06", crs_grade=0, neurotox_grade=0, peak_car_per_ul=0.0,
         csf_lp_done=False, antigen_after="positive"),
    # P02 CD19. FLAG before CART1, standard LD before CART2 (Table 2 footnote).
    _inf("P02", 1, "2013-06-18", 13, CD19, 1e6, FLAG,
         pre_marrow_blasts_pct=93.0, pre_marrow_mrd_pct=92.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=5.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=True, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2013-07-17", crs_grade=0, neurotox_grade=0, peak_car_per_ul=5.6,
         csf_lp_done=True, csf_car_detected=False, relapse_date="2014-01-09",
         relapse_sites="marrow", relapse_antigen="positive", car_at_relapse=False),
    _inf("P02", 2, "2014-02-09", 14, CD19, 1e6, STD,
         indication="relapse", compassionate_use=True, interim_therapy=False,
         residual_car=False, pre_marrow_blasts_pct=96.0, pre_marrow_mrd_pct=95.0,
         pre_csf_wbc_per_ul=1.0, pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False,
         pre_csf_flow_positive=False, pre_emd=False, best_response="PD",
         best_response_mrd_pct=97.0, response_date="2014-03-08", crs_grade=0,
         neurotox_grade=0, peak_car_per_ul=0.0, csf_lp_done=False,
         antigen_after="positive"),
    # P03 CD19 (paper's patient 3, fig. 2E): partial loss of CD19 after CART1 and CART2,
    # 204 days apart; CD19 ABC 4426 -> 2130 (fig. 2B).
    _inf("P03", 1, "2013-10-22", 24, CD19, 1e6, STD,
         pre_marrow_blasts_pct=38.0, pre_marrow_mrd_pct=35.0, pre_csf_wbc_per_ul=2.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="SD", best_response_mrd_pct=30.0,
         response_date="2013-11-19", crs_grade=1, neurotox_grade=0, peak_car_per_ul=15.4,
         csf_lp_done=True, csf_car_detected=True, abc_cd19_pre=4426.0, abc_cd22_pre=2630.0,
         antigen_after="dim"),
    _inf("P03", 2, "2014-05-14", 25, CD19, 1e6, STD,
         indication="persistent_disease", interim_therapy=True, residual_car=False,
         pre_marrow_blasts_pct=21.0, pre_marrow_mrd_pct=24.0, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=22.0,
         response_date="2014-06-11", crs_grade=0, neurotox_grade=0, peak_car_per_ul=1.12,
         csf_lp_done=True, csf_car_detected=False, abc_cd19_pre=2130.0,
         abc_cd22_pre=1421.0, antigen_after="dim"),
    # P04 CD19. Standard LD before CART1, FLAG before CART2; dose lowered after grade 4 CRS.
    _inf("P04", 1, "2014-03-11", 9, CD19, 3e6, STD,
         pre_marrow_blasts_pct=70.0, pre_marrow_mrd_pct=66.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2014-04-07", crs_grade=4, neurotox_grade=0, peak_car_per_ul=9.9,
         csf_lp_done=True, csf_car_detected=False, relapse_date="2014-06-03",
         relapse_sites="marrow", relapse_antigen="positive", car_at_relapse=False),
    _inf("P04", 2, "2014-06-28", 9, CD19, 1e6, FLAG,
         indication="relapse", interim_therapy=False, residual_car=False,
         pre_marrow_blasts_pct=63.0, pre_marrow_mrd_pct=67.5, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=60.0,
         response_date="2014-07-27", crs_grade=0, neurotox_grade=0, peak_car_per_ul=2.26,
         csf_lp_done=True, csf_car_detected=False, antigen_after="dim"),
    # P05 CD19. Relapse responder with standard LD; CART2 CR with persistent MRD ("one had
    # persistent MRD level disease by FC"); relapsed with CAR loss, antigen preserved.
    _inf("P05", 1, "2014-09-16", 21, CD19, 1e6, STD,
         pre_marrow_blasts_pct=2.0, pre_marrow_mrd_pct=1.2, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2014-10-14", crs_grade=2, neurotox_grade=0, peak_car_per_ul=74.9,
         csf_lp_done=True, csf_car_detected=True, relapse_date="2015-06-05",
         relapse_sites="marrow", relapse_antigen="positive", car_at_relapse=False),
    _inf("P05", 2, "2015-07-02", 22, CD19, 1e6, STD,
         indication="relapse", interim_therapy=True, residual_car=False,
         pre_marrow_blasts_pct=38.0, pre_marrow_mrd_pct=41.7, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.8,
         response_date="2015-07-30", crs_grade=0, neurotox_grade=0, peak_car_per_ul=45.0,
         csf_lp_done=True, csf_car_detected=True, antigen_after="positive",
         relapse_date="2015-10-01", relapse_sites="marrow", relapse_antigen="positive",
         car_at_relapse=False),
    # P06 CD22. Prior CD19 CAR. Increased CD19 and CD22 ABC before CART2 (one of the two
    # patients with increased antigen; non-responder).
    _inf("P06", 1, "2016-01-19", 17, CD22, 3e6, STD,
         pre_marrow_blasts_pct=55.0, pre_marrow_mrd_pct=54.0, pre_csf_wbc_per_ul=3.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2016-02-16", crs_grade=2, neurotox_grade=0, peak_car_per_ul=96.3,
         csf_lp_done=True, csf_car_detected=True, abc_cd19_pre=1124.0, abc_cd22_pre=1150.0,
         relapse_date="2016-03-25", relapse_sites="marrow", relapse_antigen="positive",
         car_at_relapse=False),
    _inf("P06", 2, "2016-04-16", 17, CD22, 3e6, STD,
         indication="relapse", interim_therapy=False, residual_car=False,
         pre_marrow_blasts_pct=50.0, pre_marrow_mrd_pct=48.5, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=45.0,
         response_date="2016-05-14", crs_grade=0, neurotox_grade=0, peak_car_per_ul=0.0,
         csf_lp_done=False, abc_cd19_pre=1376.0, abc_cd22_pre=2160.0,
         antigen_after="positive"),
    # P07 CD22. Intensified LD before CART1, standard before CART2. Increased CD22 ABC
    # before CART2 (the second patient with increased antigen; non-responder). No CAR T
    # cells detectable in blood after CART2, but found in the CSF: CART2 expansion was
    # demonstrated (the sixth blood zero, not one of the "5 ... failed to demonstrate any").
    _inf("P07", 1, "2016-05-10", 30, CD22, 3e5, INT,
         pre_marrow_blasts_pct=90.0, pre_marrow_mrd_pct=88.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=12.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=True, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2016-06-09", crs_grade=2, neurotox_grade=0, peak_car_per_ul=310.5,
         csf_lp_done=True, csf_car_detected=True, abc_cd22_pre=2210.0,
         relapse_date="2016-09-05", relapse_sites="marrow;emd", relapse_antigen="positive",
         car_at_relapse=False),
    _inf("P07", 2, "2016-09-28", 31, CD22, 3e5, STD,
         indication="relapse", compassionate_use=True, interim_therapy=False,
         residual_car=False, pre_marrow_blasts_pct=72.0, pre_marrow_mrd_pct=71.4,
         pre_csf_wbc_per_ul=1.0, pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False,
         pre_csf_flow_positive=False, pre_emd=True, best_response="PD",
         best_response_mrd_pct=85.0, response_date="2016-10-19", crs_grade=0,
         neurotox_grade=0, peak_car_per_ul=0.0, csf_lp_done=True, csf_car_detected=True,
         abc_cd22_pre=6310.0, antigen_after="positive"),
    # P08 CD22. "Persistent ... CNS disease despite attaining a medullary MRD negative CR
    # with CART1" (the stable-disease patient of the Table 2 footnote): marrow CR, CSF flow+
    # persists; no CART2 expansion; marrow progression after CART2; CNS not cleared.
    _inf("P08", 1, "2016-09-13", 18, CD22, 1e6, STD,
         pre_marrow_blasts_pct=4.0, pre_marrow_mrd_pct=3.1, pre_csf_wbc_per_ul=2.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2016-10-11", crs_grade=2, neurotox_grade=0, peak_car_per_ul=187.0,
         csf_lp_done=True, csf_car_detected=True),
    _inf("P08", 2, "2016-11-01", 18, CD22, 1e6, STD,
         indication="persistent_disease", interim_therapy=False, residual_car=True,
         pre_marrow_blasts_pct=0.0, pre_marrow_mrd_pct=0.0, pre_csf_wbc_per_ul=2.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="PD", best_response_mrd_pct=22.0,
         response_date="2016-11-20", crs_grade=0, neurotox_grade=0, peak_car_per_ul=0.0,
         csf_lp_done=True, csf_car_detected=False, antigen_after="positive"),
    # P09 CD22. Prior CD19 CAR. The CART1 PR; CART2 CR after intensified LD with "improved
    # disease control pre-CART2"; relapse with persistent CAR and antigen escape.
    _inf("P09", 1, "2017-01-24", 22, CD22, 1e6, STD,
         pre_marrow_blasts_pct=50.0, pre_marrow_mrd_pct=47.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=True, best_response="PR", best_response_mrd_pct=8.5,
         response_date="2017-02-21", crs_grade=4, neurotox_grade=1,
         peak_car_per_ul=13653.0, csf_lp_done=True, csf_car_detected=True,
         abc_cd22_pre=13435.0, antigen_after="positive"),
    _inf("P09", 2, "2017-03-07", 22, CD22, 1e6, INT,
         indication="persistent_disease", interim_therapy=True, residual_car=True,
         pre_marrow_blasts_pct=3.0, pre_marrow_mrd_pct=2.4, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2017-04-04", crs_grade=1, neurotox_grade=1, peak_car_per_ul=512.0,
         csf_lp_done=True, csf_car_detected=True, abc_cd22_pre=7727.0,
         relapse_date="2017-06-26", relapse_sites="marrow;emd", relapse_antigen="negative",
         car_at_relapse=True),
    # P10 CD22 (paper's patient 10, fig. 2F): CD22 diminished after CART1 (ABC 4210 ->
    # 1012), fully CD22-negative after CART2 (125 days later): the CART2 PR with antigen loss.
    _inf("P10", 1, "2017-05-16", 14, CD22, 3e5, STD,
         pre_marrow_blasts_pct=72.0, pre_marrow_mrd_pct=71.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=52.0,
         response_date="2017-06-13", crs_grade=1, neurotox_grade=0, peak_car_per_ul=25.4,
         csf_lp_done=True, csf_car_detected=False, abc_cd22_pre=4210.0,
         antigen_after="dim"),
    _inf("P10", 2, "2017-09-18", 14, CD22, 3e5, INT,
         indication="persistent_disease", interim_therapy=False, residual_car=False,
         pre_marrow_blasts_pct=58.0, pre_marrow_mrd_pct=62.9, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="PR", best_response_mrd_pct=9.5,
         response_date="2017-10-16", crs_grade=0, neurotox_grade=0, peak_car_per_ul=6.68,
         csf_lp_done=True, csf_car_detected=False, abc_cd22_pre=1012.0,
         antigen_after="negative"),
    # P11 CD22. Prior CD19 CAR. CD19 ABC measured too (fig. 2B, 2C).
    _inf("P11", 1, "2017-09-12", 25, CD22, 1e6, STD,
         pre_marrow_blasts_pct=30.0, pre_marrow_mrd_pct=29.0, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2017-10-10", crs_grade=3, neurotox_grade=1, peak_car_per_ul=1020.0,
         csf_lp_done=True, csf_car_detected=True, abc_cd19_pre=6494.0, abc_cd22_pre=8870.0,
         relapse_date="2017-11-27", relapse_sites="marrow", relapse_antigen="positive",
         car_at_relapse=True),
    _inf("P11", 2, "2017-12-18", 25, CD22, 1e6, INT,
         indication="relapse", interim_therapy=False, residual_car=True,
         pre_marrow_blasts_pct=27.0, pre_marrow_mrd_pct=29.3, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=26.0,
         response_date="2018-01-15", crs_grade=0, neurotox_grade=0, peak_car_per_ul=1.35,
         csf_lp_done=True, csf_car_detected=False, abc_cd19_pre=5657.0,
         abc_cd22_pre=1298.0, antigen_after="dim"),
    # P12 CD22. "One CART1 non-responder who required early steroids due to rapid disease
    # progression abrogating CART1 expansion achieved a CR with CART2 following standard LD
    # with lower disease burden" (interim therapy: 86% -> 0.08% MRD).
    _inf("P12", 1, "2018-01-09", 7, CD22, 3e5, STD,
         pre_marrow_blasts_pct=88.0, pre_marrow_mrd_pct=86.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=80.0,
         response_date="2018-02-06", crs_grade=2, neurotox_grade=0, peak_car_per_ul=0.35,
         csf_lp_done=False, abc_cd22_pre=3684.0, antigen_after="positive"),
    _inf("P12", 2, "2018-03-11", 8, CD22, 3e5, STD,
         indication="persistent_disease", interim_therapy=True, residual_car=False,
         pre_marrow_blasts_pct=1.0, pre_marrow_mrd_pct=0.08, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2018-04-08", crs_grade=1, neurotox_grade=0, peak_car_per_ul=196.8,
         csf_lp_done=True, csf_car_detected=True, abc_cd22_pre=1812.0,
         relapse_date="2018-06-18", relapse_sites="marrow", relapse_antigen="positive",
         car_at_relapse=False),
    # P13 CD22. Prior CD19 CAR. Isolated CNS relapse after an MRD-negative marrow CR with
    # CART1 (the relapsed-disease patient of the Table 2 footnote); CART2 CR with CNS
    # clearance; CNS relapse again, CAR lost, antigen preserved.
    _inf("P13", 1, "2018-04-17", 20, CD22, 1e6, STD,
         pre_marrow_blasts_pct=1.0, pre_marrow_mrd_pct=0.6, pre_csf_wbc_per_ul=3.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2018-05-15", crs_grade=3, neurotox_grade=2, peak_car_per_ul=2410.0,
         csf_lp_done=True, csf_car_detected=True, relapse_date="2018-07-21",
         relapse_sites="cns", relapse_antigen="positive", car_at_relapse=False),
    _inf("P13", 2, "2018-08-14", 20, CD22, 1e6, INT,
         indication="relapse", compassionate_use=True, interim_therapy=True,
         residual_car=False, pre_marrow_blasts_pct=0.0, pre_marrow_mrd_pct=0.0,
         pre_csf_wbc_per_ul=2.0, pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False,
         pre_csf_flow_positive=True, pre_emd=False, best_response="CR",
         best_response_mrd_pct=0.0, response_date="2018-09-11", crs_grade=0,
         neurotox_grade=0, peak_car_per_ul=4.12, csf_lp_done=True, csf_car_detected=False,
         relapse_date="2018-11-04", relapse_sites="cns", relapse_antigen="positive",
         car_at_relapse=False),
    # P14 CD22 (paper's patient 14, fig. 1F): CNS3 and non-CNS EMD before CART2, both
    # eradicated with the CART2 CR; "relapse post-CART2 with isolated CNS disease and a
    # myeloid sarcoma" (recorded as a CNS relapse; the myeloid sarcoma is not B-ALL).
    _inf("P14", 1, "2018-08-21", 16, CD22, 1e6, STD,
         pre_marrow_blasts_pct=18.0, pre_marrow_mrd_pct=17.0, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=True, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2018-09-17", crs_grade=2, neurotox_grade=0, peak_car_per_ul=2636.0,
         csf_lp_done=True, csf_car_detected=True, abc_cd22_pre=5120.0,
         relapse_date="2018-11-17", relapse_sites="marrow;cns;emd",
         relapse_antigen="positive", car_at_relapse=True),
    _inf("P14", 2, "2018-12-13", 16, CD22, 1e6, INT,
         indication="relapse", interim_therapy=True, residual_car=True,
         pre_marrow_blasts_pct=11.0, pre_marrow_mrd_pct=12.5, pre_csf_wbc_per_ul=14.0,
         pre_csf_rbc_per_ul=3.0, pre_csf_blasts=True, pre_csf_flow_positive=True,
         pre_emd=True, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2019-01-09", crs_grade=1, neurotox_grade=1, peak_car_per_ul=2886.0,
         csf_lp_done=True, csf_car_detected=True, abc_cd22_pre=2466.0,
         relapse_date="2019-05-29", relapse_sites="cns", relapse_antigen="dim",
         car_at_relapse=True),
    # P15 CD22. Prior CD19/22 CAR. CSF flow+ before CART2, not cleared; CD22-negative after.
    _inf("P15", 1, "2019-01-15", 26, CD22, 1e6, STD,
         pre_marrow_blasts_pct=12.0, pre_marrow_mrd_pct=11.0, pre_csf_wbc_per_ul=2.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2019-02-12", crs_grade=0, neurotox_grade=0, peak_car_per_ul=11.9,
         csf_lp_done=True, csf_car_detected=False, abc_cd22_pre=3390.0,
         relapse_date="2019-03-12", relapse_sites="marrow;emd", relapse_antigen="positive",
         car_at_relapse=True),
    _inf("P15", 2, "2019-03-30", 26, CD22, 1e6, INT,
         indication="relapse", interim_therapy=False, residual_car=True,
         pre_marrow_blasts_pct=4.0, pre_marrow_mrd_pct=3.6, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=True,
         pre_emd=True, best_response="SD", best_response_mrd_pct=4.0,
         response_date="2019-04-27", crs_grade=0, neurotox_grade=0, peak_car_per_ul=2.03,
         csf_lp_done=True, csf_car_detected=False, abc_cd22_pre=1544.0,
         antigen_after="negative"),
    # P16 CD19/22. "One CD19/22 CART patient received a higher CART2 dose relative to CART1
    # due to suboptimal CART1 response"; intensified LD; CR lasting 292 days.
    _inf("P16", 1, "2018-11-06", 11, BI, 3e5, STD,
         pre_marrow_blasts_pct=3.0, pre_marrow_mrd_pct=4.4, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=True, best_response="SD", best_response_mrd_pct=3.8,
         response_date="2018-12-04", crs_grade=1, neurotox_grade=0, peak_car_per_ul=22.7,
         csf_lp_done=True, csf_car_detected=False, antigen_after="positive"),
    _inf("P16", 2, "2018-12-11", 11, BI, 1e6, INT,
         indication="persistent_disease", interim_therapy=False, residual_car=True,
         pre_marrow_blasts_pct=6.0, pre_marrow_mrd_pct=7.8, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2019-01-08", crs_grade=1, neurotox_grade=0, peak_car_per_ul=41.5,
         csf_lp_done=True, csf_car_detected=False, relapse_date="2019-10-27",
         relapse_sites="marrow", relapse_antigen="negative", car_at_relapse=True),
    # P17 CD19/22 (paper's patient 17, fig. 2D): partial loss of CD19 after CART1 and
    # CART2, 162 days apart; prior CD19 and CD22 CAR products elsewhere.
    _inf("P17", 1, "2019-06-11", 23, BI, 1e6, STD,
         pre_marrow_blasts_pct=42.0, pre_marrow_mrd_pct=40.0, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="SD", best_response_mrd_pct=35.0,
         response_date="2019-07-09", crs_grade=0, neurotox_grade=0, peak_car_per_ul=3.2,
         csf_lp_done=True, csf_car_detected=False, abc_cd19_pre=3712.0, abc_cd22_pre=1980.0,
         antigen_after="dim"),
    _inf("P17", 2, "2019-11-20", 23, BI, 1e6, INT,
         indication="persistent_disease", compassionate_use=True, interim_therapy=True,
         residual_car=False, pre_marrow_blasts_pct=15.0, pre_marrow_mrd_pct=18.2,
         pre_csf_wbc_per_ul=0.0, pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False,
         pre_csf_flow_positive=False, pre_emd=False, best_response="SD",
         best_response_mrd_pct=16.0, response_date="2019-12-18", crs_grade=0,
         neurotox_grade=0, peak_car_per_ul=0.63, csf_lp_done=True, csf_car_detected=False,
         abc_cd19_pre=3376.0, abc_cd22_pre=1160.0, antigen_after="dim"),
    # P18 CD19/22. Prior CD22 CAR. Late relapse; the longest interval (373 days).
    _inf("P18", 1, "2019-10-15", 18, BI, 1e6, STD,
         pre_marrow_blasts_pct=3.0, pre_marrow_mrd_pct=2.7, pre_csf_wbc_per_ul=1.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=False, best_response="CR", best_response_mrd_pct=0.0,
         response_date="2019-11-12", crs_grade=1, neurotox_grade=0, peak_car_per_ul=8.7,
         csf_lp_done=True, csf_car_detected=False, relapse_date="2020-09-19",
         relapse_sites="marrow;emd", relapse_antigen="positive", car_at_relapse=False),
    _inf("P18", 2, "2020-10-22", 19, BI, 1e6, STD,
         indication="relapse", interim_therapy=False, residual_car=False,
         pre_marrow_blasts_pct=2.0, pre_marrow_mrd_pct=0.9, pre_csf_wbc_per_ul=0.0,
         pre_csf_rbc_per_ul=0.0, pre_csf_blasts=False, pre_csf_flow_positive=False,
         pre_emd=True, best_response="SD", best_response_mrd_pct=1.5,
         response_date="2020-11-19", crs_grade=0, neurotox_grade=0, peak_car_per_ul=0.0,
         csf_lp_done=False, antigen_after="positive"),
)


def _patients_frame() -> pd.DataFrame:
    frame = pd.DataFrame(list(_PATIENTS), columns=list(PATIENT_COLUMNS))
    for name in ("patient_id", "sex", "race", "ethnicity", "prior_car"):
        frame[name] = frame[name].astype("string")
    for name in ("prior_lines", "prior_hsct"):
        frame[name] = frame[name].astype("Int64")
    for name in _BOOL_PATIENTS:
        frame[name] = frame[name].astype("boolean")
    return frame


def _infusions_frame() -> pd.DataFrame:
    frame = pd.DataFrame(list(_INFUSIONS)).reindex(columns=list(INFUSION_COLUMNS))
    for name in _DATE:
        frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
    for name in _BOOL_INFUSIONS:
        frame[name] = frame[name].astype("boolean")
    for name in _INT_INFUSIONS:
        frame[name] = frame[name].astype("Int64")
    for name in _TEXT_INFUSIONS:
        frame[name] = frame[name].astype("string")
    numeric = [c for c in INFUSION_COLUMNS
               if c not in (*_DATE, *_BOOL_INFUSIONS, *_INT_INFUSIONS, *_TEXT_INFUSIONS)]
    for name in numeric:
        frame[name] = frame[name].astype("float64")
    return frame.sort_values(["patient_id", "infusion"], kind="stable").reset_index(drop=True)


def demo_tables() -> dict[str, pd.DataFrame]:
    """The demo cohort as typed tables: ``{"patients": ..., "infusions": ..., ...}``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``patients`` (18 rows) and ``infusions`` (36 rows: CART1 and CART2 of each patient),
        then the raw observation sheets ``crs_observations``, ``icans_observations``,
        ``car_counts`` and ``disease_assessments``
        (:func:`reinfuse.demo.observations.observation_tables`), with the columns of cohort
        format v1 in order. Dates are ``datetime64``, yes/no columns pandas ``"boolean"``,
        integers ``"Int64"``, codes and text ``"string"``, measurements ``float64``;
        missing values are ``NA``/``NaN``/``NaT``.

    Notes
    -----
    Synthetic data built to reproduce the published figures of the seed study (reinfusion
    of the same CAR T-cell product at the NCI, 2012-2021); see ``docs/demo-cohort.md``.
    A fresh copy is returned on every call.
    """
    from reinfuse.demo.observations import observation_tables

    infusions = _infusions_frame()
    return {"patients": _patients_frame(), "infusions": infusions,
            **observation_tables(infusions)}


def main(data_dir: Path | None = None) -> list[Path]:
    """Write the demo cohort as ``demo_cohort.xlsx`` and as the CSV folder ``demo_cohort/``.

    Parameters
    ----------
    data_dir
        Destination folder; by default ``src/reinfuse/demo/data`` next to this module.

    Returns
    -------
    list of pathlib.Path
        The workbook and the CSV folder written (both replaced if they exist).
    """
    from reinfuse.io.write import write_cohort

    folder = data_dir if data_dir is not None else Path(__file__).resolve().parent / "data"
    tables = demo_tables()
    written = [
        write_cohort(tables, folder / "demo_cohort.xlsx", overwrite=True),
        write_cohort(tables, folder / "demo_cohort", overwrite=True),
    ]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
