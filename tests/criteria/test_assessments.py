"""Disease assessments over time: pre-infusion status, best response, relapse.

Truth tables of vignettes: one patient (P1, infusion 1) with assessments on a few days
(day -7 before the infusion, day 28, 60 ... after it); each test id names the rule it
exercises. Expected values are worked out by hand from clinical-definitions.md ("Bone
marrow, CNS and MRD status", "Response"); the arithmetic of the boundary cases is in
tests/reference/assessments_vignettes.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from reinfuse.criteria import (
    ASSESSMENT_COLUMNS,
    CriteriaError,
    best_response,
    pre_infusion_status,
    relapse_after_response,
)

NUMBERS = ["marrow_blasts_pct", "mrd_pct", "csf_wbc_per_ul", "csf_rbc_per_ul", "blood_wbc",
           "blood_rbc", "anc", "platelets"]
FLAGS = ["csf_blasts", "csf_flow_positive", "blood_blasts", "cns_clinical_signs", "emd"]


def table(rows: list[dict[str, Any]], patient: Any = "P1", infusion: int = 1) -> pd.DataFrame:
    """A disease_assessments table (numbers Float64, yes/no 'boolean', missing = NA)."""
    records = [{"patient_id": patient, "infusion": infusion, **row} for row in rows]
    frame = pd.DataFrame.from_records(
        records, columns=["patient_id", "infusion", "day", *NUMBERS, *FLAGS])
    frame["day"] = frame["day"].astype(float)
    for c in NUMBERS:
        frame[c] = frame[c].astype("Float64")
    for c in FLAGS:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None).astype("boolean")
    return frame


def pre(day: float = -7, blasts: float | None = 60.0, **findings: Any) -> dict[str, Any]:
    """A pre-infusion assessment: M3 marrow, CNS1 (blast-free CSF, no signs), no EMD."""
    return {"day": day, "marrow_blasts_pct": blasts, "mrd_pct": None, "csf_wbc_per_ul": 1.0,
            "csf_blasts": False, "csf_flow_positive": False, "cns_clinical_signs": False,
            "emd": False, **findings}


def post(day: float, blasts: float | None, **findings: Any) -> dict[str, Any]:
    """A post-infusion assessment: CNS1, no EMD, counts recovered unless overridden."""
    return {"day": day, "marrow_blasts_pct": blasts, "csf_blasts": False,
            "cns_clinical_signs": False, "emd": False, "anc": 1.5, "platelets": 150.0,
            **findings}


def same(a: Any, b: Any) -> bool:
    missing_a = a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b))
    return (missing_a and missing_b) or (not missing_a and not missing_b and a == b)


def one(frame: pd.DataFrame) -> dict[str, Any]:
    """The single result row of P1 / infusion 1 as plain values."""
    assert len(frame) == 1
    row = frame.loc[("P1", 1)]
    return {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()}


# ---------------------------------------------------------------------------------------
# pre-infusion status
# ---------------------------------------------------------------------------------------

DOMAIN_CASES = [
    pytest.param([pre(-20, 50.0), pre(-5, 30.0)], {}, "pre_marrow_blasts_pct", 30.0,
                 id="latest marrow in the window: day -5 (30%) supersedes day -20 (50%)"),
    pytest.param([pre(-40, 60.0)], {}, "pre_marrow_blasts_pct", None,
                 id="window 30 days: a marrow on day -40 is ignored"),
    pytest.param([pre(-40, 60.0)], {"window_days": 45}, "pre_marrow_blasts_pct", 60.0,
                 id="window_days=45: day -40 counts"),
    pytest.param([pre(-30, 60.0)], {}, "pre_marrow_day", -30.0,
                 id="window boundary: day -30 is within 30 days (inclusive)"),
    pytest.param([pre(0, 60.0)], {}, "pre_marrow_blasts_pct", 60.0,
                 id="day 0 (infusion day) counts as pre-infusion"),
    pytest.param([pre(1, 60.0)], {}, "pre_marrow_blasts_pct", None,
                 id="day 1 is after the infusion: not pre-infusion"),
    pytest.param([pre(-10, 40.0, csf_blasts=None, csf_wbc_per_ul=None),
                  {"day": -3, "csf_wbc_per_ul": 1.0, "csf_blasts": False}], {},
                 "pre_marrow_day", -10.0, id="per-domain latest: marrow from day -10"),
    pytest.param([pre(-10, 40.0, csf_blasts=None, csf_wbc_per_ul=None),
                  {"day": -3, "csf_wbc_per_ul": 1.0, "csf_blasts": False}], {},
                 "pre_csf_day", -3.0, id="per-domain latest: CSF from day -3"),
    pytest.param([pre(-10, 40.0), {"day": -3, "marrow_blasts_pct": None}], {},
                 "pre_marrow_blasts_pct", 40.0,
                 id="a later row without marrow does not erase the marrow"),
    pytest.param([pre(-20, 40.0, emd=True), {"day": -2, "emd": False}], {}, "pre_emd", False,
                 id="EMD: the latest EMD finding (day -2, absent)"),
    pytest.param([pre(-5, 3.0), {"day": -5, "mrd_pct": 0.005}], {}, "marrow_class",
                 "MRD-negative CR",
                 id="same-day rows are one assessment: M1 with MRD 0.005% < 0.01%"),
    pytest.param([{"day": -10, "mrd_pct": 0.005}, pre(-3, 3.0)], {}, "marrow_class",
                 "MRD-negative CR", id="mrd_from='latest': MRD of day -10 with marrow of -3"),
    pytest.param([{"day": -10, "mrd_pct": 0.005}, pre(-3, 3.0)], {"mrd_from": "same_marrow"},
                 "marrow_class", None,
                 id="mrd_from='same_marrow': no MRD on day -3, M1 with unknown MRD"),
    pytest.param([pre(-3, 3.0, mrd_pct=0.01)], {}, "marrow_class", "M1",
                 id="marrow class: M1 with MRD 0.01% is MRD-positive"),
    pytest.param([pre(-3, 3.0, mrd_pct=0.02)], {"mrd_negative_below": 0.05}, "marrow_class",
                 "MRD-negative CR", id="mrd_negative_below=0.05: MRD 0.02% is negative"),
    pytest.param([pre(-3, 26.0)], {}, "marrow_class", "M3", id="marrow class: M3 > 25%"),
]


@pytest.mark.parametrize(("rows", "kwargs", "column", "expected"), DOMAIN_CASES)
def test_pre_infusion_domains(rows: list[dict[str, Any]], kwargs: dict[str, Any],
                              column: str, expected: Any) -> None:
    assert same(one(pre_infusion_status(table(rows), **kwargs))[column], expected)


# Blood counts in SI units: WBC 5 x 10^9/L = 5,000/uL, RBC 4 x 10^12/L = 4,000,000/uL.
CNS_CASES = [
    pytest.param({}, {}, "CNS1", id="CNS1: no blasts on cytospin"),
    pytest.param({"csf_flow_positive": True}, {}, "CNS1 flow+",
                 id="CNS1 flow+: blast-free cytospin, disease by flow"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 2.0}, {}, "CNS2",
                 id="CNS2: blasts with WBC < 5/uL"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 5.0}, {},
                 "CNS3", id="CNS3: blasts with WBC >= 5/uL, clean tap (RBC < 10)"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 5.0}, {"cns_wbc_threshold": 10.0},
                 "CNS2", id="cns_wbc_threshold=10: WBC 5 with blasts is CNS2"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0, "blood_blasts": True}, {}, "CNS2",
                 id="Steinherz-Bleyer with circulating blasts: 40/20,000 = 0.002 not > "
                    "2 x 5,000/4e6 -> CNS2"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0, "blood_blasts": False}, {}, "CNS3",
                 id="COG: no circulating blasts, correction does not apply -> CNS3"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0}, {}, "CNS3",
                 id="when_available: circulating blasts unrecorded, taken as is (CNS3)"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0}, {"traumatic_tap": "always"}, None,
                 id="always: circulating blasts unrecorded, SB negative -> unknown"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0},
                 {"unknown_circulating_blasts": "apply"}, "CNS2",
                 id="unknown_circulating_blasts='apply': SB applied -> CNS2"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "blood_blasts": True},
                 {"traumatic_tap": "always"}, "CNS3",
                 id="issue 8: WBC >= 5 with blasts and no RBC count -> CNS3 (always)"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "blood_blasts": True},
                 {"traumatic_tap": "always", "unrecorded_csf_rbc": "missing"}, None,
                 id="unrecorded_csf_rbc='missing': no RBC count -> unknown"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 2_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0}, {}, "CNS3",
                 id="Steinherz-Bleyer: 40/2,000 = 0.02 > 0.0025 -> CNS3"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0},
                 {}, "CNS3",
                 id="when_available: bloody tap without blood counts, taken as is (CNS3)"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0},
                 {"traumatic_tap": "always"}, None,
                 id="traumatic_tap='always': bloody tap without blood counts is unknown"),
    pytest.param({"csf_blasts": True, "csf_wbc_per_ul": 40.0, "csf_rbc_per_ul": 20_000.0,
                  "blood_wbc": 5.0, "blood_rbc": 4.0}, {"traumatic_tap": "never"}, "CNS3",
                 id="traumatic_tap='never': WBC 40 with blasts is CNS3"),
    pytest.param({"cns_clinical_signs": True}, {}, "CNS3",
                 id="CNS3: clinical signs whatever the CSF shows"),
    pytest.param({"cns_clinical_signs": None}, {}, "CNS1",
                 id="unassessed_cns_signs='absent': no signs recorded = none"),
    pytest.param({"cns_clinical_signs": None}, {"unassessed_cns_signs": "missing"}, None,
                 id="unassessed_cns_signs='missing': CNS1 needs signs known absent"),
    pytest.param({"csf_flow_positive": None}, {}, None,
                 id="unknown_flow='missing': blast-free CSF without flow is unknown"),
    pytest.param({"csf_flow_positive": None}, {"unknown_flow": "CNS1"}, "CNS1",
                 id="unknown_flow='CNS1': blast-free CSF without flow is CNS1"),
]


@pytest.mark.parametrize(("findings", "kwargs", "expected"), CNS_CASES)
def test_pre_infusion_cns_status(findings: dict[str, Any], kwargs: dict[str, Any],
                                 expected: str | None) -> None:
    out = one(pre_infusion_status(table([pre(-3, **findings)]), **kwargs))
    assert same(out["cns_status"], expected)


def test_pre_infusion_signs_and_csf_from_different_days() -> None:
    # clinical signs on day -5 and a clean CSF on day -3: each domain's latest value
    rows = [pre(-5, cns_clinical_signs=True), {"day": -3, "csf_wbc_per_ul": 0.0,
                                               "csf_blasts": False, "csf_flow_positive": False}]
    out = one(pre_infusion_status(table(rows)))
    assert out["cns_status"] == "CNS3"
    assert (out["pre_cns_signs_day"], out["pre_csf_day"]) == (-5.0, -3.0)


# ---------------------------------------------------------------------------------------
# best response
# ---------------------------------------------------------------------------------------

BEST_CASES = [
    pytest.param([pre(), post(28, 2.0)], {}, "CR", 28.0, "count recovery",
                 id="CR: blasts < 5%, CNS1, no EMD, ANC >= 1.0 and platelets >= 100"),
    pytest.param([pre(), post(28, 2.0, anc=1.0, platelets=100.0)], {}, "CR", 28.0, "CR:",
                 id="CR boundary: ANC 1.0 and platelets 100 exactly recover (>=)"),
    pytest.param([pre(), post(28, 4.99)], {}, "CR", 28.0, "CR:",
                 id="CR boundary: 4.99% blasts is < 5%"),
    pytest.param([pre(), post(28, 2.0, anc=0.9)], {}, "CRi", 28.0, "without count recovery",
                 id="CRi: ANC 0.9 < 1.0 (no count recovery)"),
    pytest.param([pre(), post(28, 2.0, platelets=99.0)], {}, "CRi", 28.0, "CRi:",
                 id="CRi: platelets 99 < 100"),
    pytest.param([pre(), post(28, 2.0, anc=None, platelets=None)], {}, "CRi", 28.0,
                 "not documented", id="missing_counts='CRi' (default): counts not recorded"),
    pytest.param([pre(), post(28, 2.0, anc=None, platelets=None)], {"missing_counts": "CR"},
                 "CR", 28.0, "taken as recovered",
                 id="missing_counts='CR': counts not recorded are taken as recovered"),
    pytest.param([pre(), post(28, 2.0, anc=None, platelets=None)], {"missing_counts": "NE"},
                 "NE", None, "could be classified",
                 id="missing_counts='NE': the assessment is not classified"),
    pytest.param([pre(), post(28, 2.0, anc=None, platelets=50.0)], {"missing_counts": "CR"},
                 "CRi", 28.0, "without count recovery",
                 id="missing ANC cannot make a CR when platelets are below 100"),
    pytest.param([pre(), {"day": 24, "anc": 1.5, "platelets": 150.0},
                  post(28, 2.0, anc=None, platelets=None)], {}, "CR", 28.0, "CR:",
                 id="companion_days=7: counts of day 24 count for the day-28 marrow"),
    pytest.param([pre(), {"day": 20, "anc": 1.5, "platelets": 150.0},
                  post(28, 2.0, anc=None, platelets=None)], {}, "CRi", 28.0, "not documented",
                 id="companion_days=7: counts of day 20 are 8 days old, not used"),
    pytest.param([pre(), post(28, 5.0)], {}, "PR", 28.0, "PR:",
                 id="5% blasts is not < 5% (no CR); 60 -> 5 is PR"),
    pytest.param([pre(), post(28, 20.0)], {}, "PR", 28.0, "reduced by >= 50 %",
                 id="PR: 60% -> 20% (>= 50% reduction, <= 25%)"),
    pytest.param([pre(), post(28, 30.0)], {}, "SD", 28.0, "SD:",
                 id="not PR: 60% -> 30% halved but > 25% -> SD"),
    pytest.param([pre(blasts=50.0), post(28, 25.0)], {}, "PR", 28.0, "PR:",
                 id="PR boundary: 50% -> 25% (exactly halved, exactly 25%)"),
    pytest.param([pre(blasts=40.0), post(28, 21.0)], {}, "SD", 28.0, "SD:",
                 id="not PR: 40% -> 21% is a 47.5% reduction -> SD"),
    pytest.param([pre(blasts=40.0), post(28, 50.0)], {}, "PD", 28.0, "increased by >= 25 %",
                 id="PD: 40% -> 50% (+25% of the pre-infusion value)"),
    pytest.param([pre(blasts=40.0), post(28, 49.0)], {}, "SD", 28.0, "SD:",
                 id="SD: 40% -> 49% (+22.5%)"),
    pytest.param([pre(blasts=40.0), post(28, 50.0)], {"pd_increase": "points"}, "SD", 28.0,
                 "SD:", id="pd_increase='points': 40% -> 50% is +10 points, SD"),
    pytest.param([pre(blasts=40.0), post(28, 65.0)], {"pd_increase": "points"}, "PD", 28.0,
                 "percentage points", id="pd_increase='points': 40% -> 65% is +25 points, PD"),
    pytest.param([pre(), post(28, 2.0, emd=True)], {}, "PD", 28.0, "new extramedullary",
                 id="PD: new EMD after an EMD-free baseline, even with M1 marrow"),
    pytest.param([pre(), {"day": 14, "emd": True}], {}, "PD", 14.0, "new extramedullary",
                 id="PD: new EMD on an assessment without marrow"),
    pytest.param([pre(emd=True), post(28, 2.0, emd=True)], {}, "PR", 28.0, "PR:",
                 id="persisting EMD blocks CR but is not new: 60% -> 2% is PR"),
    pytest.param([pre(emd=None), post(28, 20.0, emd=True)], {}, "PR", 28.0, "PR:",
                 id="unknown_baseline_sites='not_new': EMD with unknown baseline is not new"),
    pytest.param([pre(emd=None), post(28, 20.0, emd=True)], {"unknown_baseline_sites": "new"},
                 "PD", 28.0, "new extramedullary",
                 id="unknown_baseline_sites='new': EMD with unknown baseline is new -> PD"),
    pytest.param([pre(), post(28, 2.0, csf_blasts=True)], {}, "PD", 28.0,
                 "new extramedullary", id="CSF blasts after a CNS1 baseline: new CNS disease"),
    pytest.param([pre(csf_blasts=True), post(28, 2.0, csf_blasts=True)], {}, "PR", 28.0,
                 "PR:", id="CSF blasts block CR (CNS2 before and after): 60% -> 2% is PR"),
    pytest.param([pre(cns_clinical_signs=True), post(28, 2.0, cns_clinical_signs=True)], {},
                 "PR", 28.0, "PR:", id="clinical signs of CNS leukemia (CNS3) block CR"),
    pytest.param([pre(), post(28, 2.0, blood_blasts=True)], {}, "PR", 28.0, "PR:",
                 id="circulating blasts block CR: 60% -> 2% is PR"),
    pytest.param([pre(), post(28, 2.0, blood_blasts=None)], {}, "CR", 28.0, "CR:",
                 id="circulating blasts not recorded do not block CR ('if recorded')"),
    pytest.param([pre(), post(28, 2.0, csf_flow_positive=True)], {}, "CR", 28.0, "CR:",
                 id="csf_flow_blocks_cr=False: flow-only CSF disease is CNS1"),
    pytest.param([pre(), post(28, 2.0, csf_flow_positive=True)], {"csf_flow_blocks_cr": True},
                 "PR", 28.0, "PR:", id="csf_flow_blocks_cr=True: CNS1 flow+ blocks CR"),
    pytest.param([pre(), post(28, 2.0, csf_blasts=None, cns_clinical_signs=None, emd=None)],
                 {}, "CR", 28.0, "CR:",
                 id="unassessed_sites='absent': sites without findings are free"),
    pytest.param([pre(), post(28, 2.0, csf_blasts=None, cns_clinical_signs=None, emd=None)],
                 {"unassessed_sites": "missing"}, "CR", 28.0, "CR:",
                 id="site_findings='until_reassessed': CNS1 and no EMD before still stand"),
    pytest.param([pre(), post(28, 2.0, csf_blasts=None, cns_clinical_signs=None, emd=None)],
                 {"unassessed_sites": "missing", "site_findings": "recent"}, "NE", None,
                 "could be classified",
                 id="unassessed_sites='missing', site_findings='recent': CR needs CNS1 and "
                    "no EMD documented after the infusion"),
    pytest.param([pre(csf_blasts=True), post(28, 2.0, csf_blasts=None)], {}, "PR", 28.0,
                 "PR:", id="until_reassessed: CSF blasts before, no later LP -> still no CR"),
    pytest.param([pre(csf_blasts=True), post(28, 2.0, csf_blasts=None)],
                 {"site_findings": "recent"}, "CR", 28.0, "CR:",
                 id="site_findings='recent': the pre-infusion CSF is not carried"),
    pytest.param([pre(), {"day": 14, "emd": True}, post(28, 2.0, emd=None)], {}, "PD", 14.0,
                 "new extramedullary",
                 id="until_reassessed: EMD found on day 14 persists at the day-28 marrow"),
    pytest.param([pre(), {"day": 14, "emd": True}, post(28, 2.0, emd=None)],
                 {"site_findings": "recent"}, "CR", 28.0, "CR:",
                 id="site_findings='recent': the day-14 EMD is > 7 days old at day 28"),
    pytest.param([pre(), post(28, 20.0), post(60, 2.0)], {}, "CR", 60.0, "CR:",
                 id="best over the window: PR on day 28, CR on day 60 -> CR"),
    pytest.param([pre(), post(28, 2.0), post(60, 1.0)], {}, "CR", 28.0, "CR:",
                 id="tie: CR on days 28 and 60 -> the earliest (28)"),
    pytest.param([pre(), post(28, 2.0, anc=0.5), post(60, 2.0)], {}, "CR", 60.0, "CR:",
                 id="CR > CRi: CRi on day 28, CR on day 60 -> CR on day 60"),
    pytest.param([pre(), post(28, 20.0), post(100, 2.0)], {}, "PR", 28.0, "PR:",
                 id="window (1, 90): a CR on day 100 is outside"),
    pytest.param([pre(), post(28, 20.0), post(100, 2.0)], {"window": (1, 120)}, "CR", 100.0,
                 "CR:", id="window=(1, 120): the CR on day 100 counts"),
    pytest.param([pre(), post(28, 90.0), post(60, 2.0)], {}, "CR", 60.0, "CR:",
                 id="best, not first: PD on day 28 then CR on day 60"),
    pytest.param([pre(-20), pre(-7)], {}, "NE", None, "no assessment in the response window",
                 id="NE: no assessment after the infusion"),
    pytest.param([pre(), post(0, 2.0)], {}, "NE", None, "no assessment in the response window",
                 id="NE: day 0 is pre-infusion, the window starts on day 1"),
    pytest.param([pre(blasts=None), post(28, 12.0)], {}, "NE", None, "could be classified",
                 id="no pre-infusion marrow: an M2 marrow could be PR, SD or PD -> NE"),
    pytest.param([pre(blasts=None), post(28, 2.0)], {}, "CR", 28.0, "CR:",
                 id="no pre-infusion marrow: CR needs none"),
    pytest.param([pre(-40), post(28, 20.0)], {}, "NE", None, "could be classified",
                 id="pre-infusion marrow on day -40 is outside the default 30-day window"),
    # PR with count recovery (an option, as NCCN-style response tables list it; issue 8).
    # 60% -> 20% is a >= 50% reduction to <= 25% (clinical-definitions "Response").
    pytest.param([pre(), post(28, 20.0, anc=0.5)], {}, "PR", 28.0, "PR:",
                 id="seed default: PR needs no count recovery (ANC 0.5)"),
    pytest.param([pre(), post(28, 20.0, anc=0.5)], {"pr_count_recovery": True}, "SD", 28.0,
                 "SD:", id="pr_count_recovery=True: ANC 0.5 < 1.0, not PR -> SD"),
    pytest.param([pre(), post(28, 20.0, platelets=99.0)], {"pr_count_recovery": True}, "SD",
                 28.0, "SD:", id="pr_count_recovery=True: platelets 99 < 100 -> SD"),
    pytest.param([pre(), post(28, 20.0, anc=1.0, platelets=100.0)],
                 {"pr_count_recovery": True}, "PR", 28.0, "count recovery",
                 id="pr_count_recovery=True: ANC 1.0 and platelets 100 (>=) -> PR"),
    pytest.param([pre(), post(28, 20.0, anc=0.5)],
                 {"pr_count_recovery": True, "count_recovery_anc": 0.5}, "PR", 28.0, "PR:",
                 id="pr_count_recovery with count_recovery_anc=0.5 -> PR"),
    pytest.param([pre(), post(28, 20.0, anc=None, platelets=None)],
                 {"pr_count_recovery": True, "missing_counts": "NE"}, "NE", None,
                 "could be classified",
                 id="pr_count_recovery, counts missing, missing_counts='NE' -> unclassified"),
]


@pytest.mark.parametrize(("rows", "kwargs", "expected", "day", "rule"), BEST_CASES)
def test_best_response(rows: list[dict[str, Any]], kwargs: dict[str, Any], expected: str,
                       day: float | None, rule: str) -> None:
    out = one(best_response(table(rows), **kwargs))
    assert out["best_response"] == expected
    assert same(out["response_day"], day)
    assert out["rule"].startswith(expected) and rule in out["rule"], out["rule"]


def test_best_response_with_explicit_pre_status_window() -> None:
    # the only pre-infusion marrow is on day -40: outside 30 days, inside 45
    assessments = table([pre(-40), post(28, 20.0)])
    assert one(best_response(assessments))["best_response"] == "NE"
    wide = pre_infusion_status(assessments, window_days=45)
    assert one(best_response(assessments, pre_status=wide))["best_response"] == "PR"


def test_best_response_from_recorded_pre_status() -> None:
    # the infusions sheet's columns, indexed by patient and infusion
    recorded = pd.DataFrame({"patient_id": ["P1"], "infusion": [1],
                             "pre_marrow_blasts_pct": [40.0], "pre_emd": [True],
                             "pre_csf_blasts": [False]}).set_index(["patient_id", "infusion"])
    assessments = table([post(28, 15.0, emd=True)])
    out = one(best_response(assessments, pre_status=recorded))
    assert out["best_response"] == "PR"  # 40 -> 15 is >= 50 %; EMD persisting, not new


@pytest.mark.parametrize(
    ("kwargs", "day", "mrd", "negative"),
    [
        pytest.param({"mrd_negative_cr_from": "best_assessment"}, 28.0, 0.5, False,
                     id="mrd_negative_cr_from='best_assessment': CR on day 28 (MRD 0.5%)"),
        pytest.param({}, 28.0, 0.0, True,
                     id="issue 8 default 'window': MRD-negative on day 60 makes the day-28 "
                        "CR an MRD-negative CR; the response day stays 28"),
        pytest.param({"tie_break": "mrd_negative_first"}, 60.0, 0.0, True,
                     id="tie_break='mrd_negative_first': MRD-negative CR on day 60"),
    ],
)
def test_best_response_mrd_at_best(kwargs: dict[str, Any], day: float, mrd: float,
                                   negative: bool) -> None:
    rows = [pre(), post(28, 2.0, mrd_pct=0.5), post(60, 1.0, mrd_pct=0.0)]
    out = one(best_response(table(rows), **kwargs))
    assert (out["best_response"], out["response_day"]) == ("CR", day)
    assert out["best_response_mrd_pct"] == mrd
    assert out["mrd_negative_cr"] is negative


# MRD-negative CR (clinical-definitions "Bone marrow, CNS and MRD status": M1 marrow with
# MRD < 0.01 %) reached at any remission assessment of the response window (issue 8).
MRD_WINDOW_CASES = [
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(56, 1.0, mrd_pct=0.0)], {}, True,
                 56.0, id="issue 8 vignette: MRD+ CR day 28, MRD-negative CR day 56"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(56, 1.0, mrd_pct=0.0095)], {},
                 True, 56.0, id="MRD 0.0095% on day 56 is < 0.01%: negative"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(56, 1.0, mrd_pct=0.01)], {},
                 False, None, id="MRD 0.01% on day 56 is not < 0.01%: still positive"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(56, 1.0, mrd_pct=None)], {}, None,
                 None, id="day-56 remission marrow without MRD: could be negative -> unknown"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(120, 1.0, mrd_pct=0.0)], {}, False,
                 None, id="MRD-negative on day 120 is outside the (1, 90) window"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(120, 1.0, mrd_pct=0.0)],
                 {"window": (1, 120)}, True, 120.0, id="window=(1, 120) includes day 120"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5), post(56, 1.0, mrd_pct=0.0, emd=True)],
                 {}, False, None,
                 id="MRD-negative marrow with new EMD (PD, not a remission) does not count"),
    pytest.param([pre(), post(28, 20.0, mrd_pct=0.0)], {}, False, None,
                 id="best response PR: not an MRD-negative CR whatever the MRD"),
    pytest.param([pre(), post(28, 2.0, mrd_pct=0.5, anc=0.5), post(56, 1.0, mrd_pct=0.0)],
                 {}, True, 56.0, id="CRi MRD+ on day 28 then CR MRD-negative on day 56"),
]


@pytest.mark.parametrize(("rows", "kwargs", "negative", "negative_day"), MRD_WINDOW_CASES)
def test_mrd_negative_cr_in_window(rows: list[dict[str, Any]], kwargs: dict[str, Any],
                                   negative: bool | None, negative_day: float | None) -> None:
    out = one(best_response(table(rows), **kwargs))
    assert same(out["mrd_negative_cr"], negative)
    assert same(out["mrd_negative_day"], negative_day)
    # the rule names the other assessment when it decided
    later = negative is True and negative_day != out["response_day"]
    assert ("MRD-negative (< 0.01 %) at another remission assessment" in out["rule"]) is later


def test_first_remission_and_first_cr_days() -> None:
    rows = [pre(), post(28, 2.0, anc=0.5), post(60, 2.0)]
    out = one(best_response(table(rows)))
    assert (out["first_remission_day"], out["first_cr_day"]) == (28.0, 60.0)


# ---------------------------------------------------------------------------------------
# relapse
# ---------------------------------------------------------------------------------------

IN_CR = [pre(), post(28, 1.0, mrd_pct=0.0)]

RELAPSE_CASES = [
    pytest.param([*IN_CR, post(150, 12.0)], {}, True, 150.0, "marrow",
                 id="relapse: marrow 12% (> 5%) on day 150 after CR"),
    pytest.param([*IN_CR, post(150, 2.0)], {}, False, None, None,
                 id="no relapse: marrow 2% on day 150"),
    pytest.param([*IN_CR, post(150, 2.0, mrd_pct=0.5)], {}, False, None, None,
                 id="mrd_relapse=False (default): MRD-only recurrence is not relapse"),
    pytest.param([*IN_CR, post(150, 2.0, mrd_pct=0.5)], {"mrd_relapse": True}, True, 150.0,
                 "marrow", id="mrd_relapse=True: MRD 0.5% after MRD-negative CR"),
    pytest.param([pre(), post(28, 1.0, mrd_pct=0.5), post(150, 2.0, mrd_pct=0.5)],
                 {"mrd_relapse": True}, False, None, None,
                 id="mrd_relapse=True: persisting MRD (never negative) is not a reappearance"),
    pytest.param([*IN_CR, post(150, 5.0)], {}, False, None, None,
                 id="relapse_marrow='above_5' (default): 5% is not > 5%"),
    pytest.param([*IN_CR, post(150, 5.0)], {"relapse_marrow": "not_m1"}, True, 150.0,
                 "marrow", id="relapse_marrow='not_m1': 5% is M2, relapse"),
    pytest.param([*IN_CR, post(120, 1.0, csf_blasts=True)], {}, True, 120.0, "cns",
                 id="CNS relapse: CSF blasts on day 120"),
    pytest.param([*IN_CR, post(120, 1.0, cns_clinical_signs=True)], {}, True, 120.0, "cns",
                 id="CNS relapse: clinical signs of CNS leukemia"),
    pytest.param([*IN_CR, post(120, 1.0, csf_flow_positive=True)], {}, False, None, None,
                 id="flow-only CSF finding is not a relapse site"),
    pytest.param([*IN_CR, post(120, 1.0, emd=True)], {}, True, 120.0, "emd",
                 id="isolated extramedullary relapse"),
    pytest.param([*IN_CR, post(150, 12.0, emd=True)], {}, True, 150.0, "marrow;emd",
                 id="combined marrow and EMD relapse on the same day"),
    pytest.param([*IN_CR, post(150, 12.0), {"day": 153, "csf_blasts": True}], {}, True, 150.0,
                 "marrow", id="sites_within_days=0: a CSF finding 3 days later is not a site"),
    pytest.param([*IN_CR, post(150, 12.0), {"day": 153, "csf_blasts": True}],
                 {"sites_within_days": 7}, True, 150.0, "marrow;cns",
                 id="sites_within_days=7: CSF blasts 3 days after the marrow relapse"),
    pytest.param([*IN_CR, post(150, 12.0)], {"until_day": 120}, False, None, None,
                 id="until_day=120: the day-150 relapse is not looked at"),
    pytest.param([pre(), post(14, 12.0), post(28, 1.0)], {}, False, None, None,
                 id="blasts before the remission (day 14) are not a relapse"),
    pytest.param([pre(), post(28, 20.0), post(150, 40.0)], {}, None, None, None,
                 id="no remission (best PR): relapse is not defined"),
    pytest.param([pre(), post(28, 1.0, anc=0.5), post(150, 12.0)], {}, True, 150.0, "marrow",
                 id="include_cri=True (default): relapse after CRi"),
    pytest.param([pre(), post(28, 1.0, anc=0.5), post(150, 12.0)], {"include_cri": False},
                 None, None, None, id="include_cri=False: CRi is not a remission"),
]


@pytest.mark.parametrize(("rows", "kwargs", "relapsed", "day", "sites"), RELAPSE_CASES)
def test_relapse_after_response(rows: list[dict[str, Any]], kwargs: dict[str, Any],
                                relapsed: bool | None, day: float | None,
                                sites: str | None) -> None:
    assessments = table(rows)
    out = one(relapse_after_response(assessments, best_response(assessments), **kwargs))
    assert same(out["relapsed"], relapsed)
    assert same(out["relapse_day"], day)
    assert same(out["relapse_sites"], sites)


@pytest.mark.parametrize(
    ("blasts", "kwargs", "relapsed", "rule"),
    [
        # clinical-definitions "Response": relapse is marrow blasts > 5 % after CR, while
        # M2 is 5-25 %: exactly 5 % is M2 but not > 5 % (issue 8, stated rule).
        pytest.param(5.0, {}, False, "exactly 5 % blasts (M2, but not > 5 %) is not a relapse",
                     id="above_5 (default): 5% is not a relapse, and the rule says why"),
        pytest.param(4.99, {}, False, "in remission, no relapse documented",
                     id="4.99% is M1: in remission"),
        pytest.param(5.01, {}, True, "marrow blasts > 5 %", id="5.01% is > 5%: relapse"),
        pytest.param(5.0, {"relapse_marrow": "not_m1"}, True, "marrow blasts >= 5 %",
                     id="not_m1: 5% (M2) is a relapse"),
    ],
)
def test_relapse_at_five_percent(blasts: float, kwargs: dict[str, Any], relapsed: bool,
                                 rule: str) -> None:
    assessments = table([*IN_CR, post(150, blasts)])
    out = one(relapse_after_response(assessments, best_response(assessments), **kwargs))
    assert out["relapsed"] is relapsed
    assert rule in out["rule"]
    if not relapsed:
        assert out["rule"].startswith("in remission")


def test_remission_starts_at_first_cri_not_at_best_response() -> None:
    rows = [pre(), post(28, 1.0, anc=0.5), post(60, 1.0), post(45, 12.0)]
    assessments = table(rows)
    best = best_response(assessments)
    assert one(best)["best_response"] == "CR" and one(best)["response_day"] == 60.0
    out = one(relapse_after_response(assessments, best))
    assert (out["remission_day"], out["relapse_day"]) == (28.0, 45.0)


def test_relapse_from_recorded_best_response() -> None:
    recorded = pd.DataFrame({"patient_id": ["P1"], "infusion": [1], "best_response": ["CR"],
                             "response_day": [28.0]}).set_index(["patient_id", "infusion"])
    out = one(relapse_after_response(table([*IN_CR, post(150, 12.0)]), recorded))
    assert (out["relapsed"], out["relapse_day"], out["relapse_sites"]) == (
        True, 150.0, "marrow")


# ---------------------------------------------------------------------------------------
# several patients at once = each alone
# ---------------------------------------------------------------------------------------


def random_patient(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Assessments on distinct days (so row order within a day cannot matter)."""
    days = rng.choice([-40, -20, -7, -3, 0, 14, 28, 45, 60, 95, 150, 200], size=6,
                      replace=False)

    def maybe(value: Any, p: float = 0.3) -> Any:
        return None if rng.random() < p else value

    return [{
        "day": float(d),
        "marrow_blasts_pct": maybe(float(rng.choice([0, 2, 4.99, 5, 12, 20, 25, 30, 60]))),
        "mrd_pct": maybe(float(rng.choice([0, 0.005, 0.01, 0.5, 30]))),
        "csf_wbc_per_ul": maybe(float(rng.choice([0, 2, 5, 40]))),
        "csf_rbc_per_ul": maybe(float(rng.choice([0, 5, 2_000, 20_000]))),
        "csf_blasts": maybe(bool(rng.random() < 0.2)),
        "csf_flow_positive": maybe(bool(rng.random() < 0.2)),
        "blood_wbc": maybe(float(rng.choice([1.0, 5.0, 100.0]))),
        "blood_rbc": maybe(float(rng.choice([2.5, 4.0]))),
        "blood_blasts": maybe(bool(rng.random() < 0.1), 0.6),
        "cns_clinical_signs": maybe(bool(rng.random() < 0.05), 0.6),
        "emd": maybe(bool(rng.random() < 0.1)),
        "anc": maybe(float(rng.choice([0.3, 1.0, 2.0]))),
        "platelets": maybe(float(rng.choice([30.0, 100.0, 200.0]))),
    } for d in days]


def test_several_patients_at_once_equal_each_alone() -> None:
    rng = np.random.default_rng(20240604)
    alone: list[pd.DataFrame] = []
    vignettes = [c.values[0] for c in BEST_CASES + RELAPSE_CASES]
    for i, rows in enumerate(vignettes):
        alone.append(table(rows, patient=f"V{i:03d}", infusion=1 + i % 2))
    for i in range(60):
        alone.append(table(random_patient(rng), patient=f"R{i:03d}", infusion=1 + i % 2))
    together = pd.concat(alone, ignore_index=True)
    together = together.iloc[rng.permutation(len(together))]  # row order must not matter
    together.index = together.index * 7 + 3

    functions = {
        "pre": lambda a: pre_infusion_status(a),
        "best": lambda a: best_response(a, tie_break="mrd_negative_first"),
        "relapse": lambda a: relapse_after_response(a, best_response(a), mrd_relapse=True,
                                                    sites_within_days=7),
    }
    for name, function in functions.items():
        combined = function(together)
        separate = pd.concat([function(frame) for frame in alone])
        # categoricals built per patient have the same categories: compare as objects
        pd.testing.assert_frame_equal(
            combined.astype(object), separate.sort_index().astype(object),
            check_index_type=False, obj=name)
    assert best_response(together)["best_response"].nunique() == 6  # every class occurs


# ---------------------------------------------------------------------------------------
# shape of the results and errors
# ---------------------------------------------------------------------------------------


def test_results_are_indexed_by_patient_and_infusion() -> None:
    a = pd.concat([table([pre(), post(28, 2.0)], patient="B", infusion=2),
                   table([pre(), post(28, 20.0)], patient="A", infusion=1)])
    for out in (pre_infusion_status(a), best_response(a),
                relapse_after_response(a, best_response(a))):
        assert list(out.index.names) == ["patient_id", "infusion"]
        assert out.index.tolist() == [("A", 1), ("B", 2)]
    assert best_response(a)["best_response"].tolist() == ["PR", "CR"]
    assert str(pre_infusion_status(a)["pre_emd"].dtype) == "boolean"


def test_optional_columns_may_be_absent_and_tables_empty() -> None:
    minimal = pd.DataFrame({"patient_id": [1, 1], "infusion": [1, 1], "day": [-3, 28],
                            "marrow_blasts_pct": [60.0, 20.0]})
    assert best_response(minimal)["best_response"].tolist() == ["PR"]
    assert set(ASSESSMENT_COLUMNS) == {"patient_id", "infusion", "day", *NUMBERS, *FLAGS}
    empty = table([]).iloc[0:0]
    assert len(pre_infusion_status(empty)) == 0
    best = best_response(empty)
    assert len(best) == 0 and len(relapse_after_response(empty, best)) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda a: best_response(a.drop(columns="day")), "lacks column",
                     id="required column missing"),
        pytest.param(lambda a: best_response(a.assign(day=[None, 28.0])), "day is missing",
                     id="assessment without a day"),
        pytest.param(lambda a: best_response(a.assign(patient_id=[None, "P1"])),
                     "patient_id or infusion is missing", id="assessment without a patient"),
        pytest.param(lambda a: best_response(a, window=(90, 1)), "window",
                     id="window reversed"),
        pytest.param(lambda a: best_response(a, missing_counts="maybe"), "missing_counts",
                     id="unknown option"),
        pytest.param(lambda a: pre_infusion_status(a, window_days=-1), "window_days",
                     id="negative window"),
        pytest.param(lambda a: best_response(a.assign(blood_rbc=[4.2e6, None])),
                     "x 10\\^12/L", id="blood RBC per microlitre instead of SI"),
        pytest.param(lambda a: best_response(a.assign(marrow_blasts_pct=[160.0, 2.0])),
                     "marrow_blasts_pct", id="blasts above 100%"),
        pytest.param(
            lambda a: best_response(a, pre_status=pd.DataFrame(
                {"pre_marrow_blasts_pct": [50.0]},
                index=pd.MultiIndex.from_tuples([(1, 1)], names=["patient_id", "infusion"]))),
            "shares no", id="pre_status with other ids (numbers vs text)"),
        pytest.param(lambda a: relapse_after_response(a, pd.DataFrame({"x": [1]})),
                     "indexed by", id="best without the (patient_id, infusion) index"),
        pytest.param(lambda a: best_response(a.to_dict()), "DataFrame", id="not a frame"),
    ],
)
def test_errors(call: Any, message: str) -> None:
    with pytest.raises(CriteriaError, match=message):
        call(table([pre(), post(28, 2.0)]))
