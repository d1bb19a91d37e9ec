"""The demo cohort contract: the population (Table 1, Table 2, between the infusions).

Each test computes a published figure of the seed study from ``demo_tables()`` with pandas /
scipy and cites what it checks; the shared data, helpers and conventions are in
``tests/demo/_contract.py`` (split from the former test_demo_contract.py by paper section).
"""

from __future__ import annotations

import pytest
from tests.demo._contract import (
    C1,
    C2,
    INFUSIONS,
    PATIENTS,
    RESPONDERS,
    cns_status,
    ld_pair,
    marrow_status,
    pct,
)

# === Table 1 =============================================================================

@pytest.mark.parametrize(("infusion", "median", "low", "high"), [
    (1, 18.5, 7, 30),  # "Median age at CART1 ... 18.5 years (range, 7-30 years)"
    (2, 19.0, 8, 31),  # "... and CART2 ... 19 years (range, 8-31 years)"
])
def test_age(infusion: int, median: float, low: float, high: float) -> None:
    ages = (C1 if infusion == 1 else C2)["age_years"]
    assert (ages.median(), ages.min(), ages.max()) == (median, low, high)


@pytest.mark.parametrize(("column", "codes", "count", "percent"), [
    ("sex", {"M"}, 16, 88.9),                       # Table 1: Male 16 (88.9)
    ("sex", {"F"}, 2, 11.1),                        # Female 2 (11.1)
    ("race", {"white"}, 12, 66.7),                  # White 12 (66.7)
    ("race", {"asian"}, 2, 11.1),                   # Asian 2 (11.1)
    ("race", {"multiple", "unknown"}, 4, 22.2),     # Multiple and unknown 4 (22.2)
    ("ethnicity", {"hispanic"}, 3, 16.7),           # Hispanic 3 (16.7)
    ("ethnicity", {"non_hispanic"}, 15, 83.3),      # Non-Hispanic 15 (83.3)
])
def test_demographics(column: str, codes: set[str], count: int, percent: float) -> None:
    n = int(PATIENTS[column].isin(codes).sum())
    assert (n, pct(n)) == (count, percent)


def test_prior_lines_of_therapy() -> None:
    # Table 1: "Prior no of lines of therapy excluding CART1, median (range) 6 (2-13)"
    lines = PATIENTS["prior_lines"]
    assert (lines.median(), lines.min(), lines.max()) == (6, 2, 13)


@pytest.mark.parametrize(("label", "mask", "count", "percent"), [
    ("any", lambda h: h >= 1, 14, 77.8),   # "77.8% (n=14) ... prior HSCT"; Table 1 n=14
    ("1", lambda h: h == 1, 11, 61.1),     # Table 1: 1 11 (61.1)
    (">1", lambda h: h > 1, 3, 16.7),      # Table 1: >1 3 (16.7)
])
def test_prior_hsct(label: str, mask: object, count: int, percent: float) -> None:
    n = int(mask(PATIENTS["prior_hsct"]).sum())  # type: ignore[operator]
    assert (n, pct(n)) == (count, percent), label


def test_prior_immunotherapy() -> None:
    # Table 1: Prior immunotherapy n=8; blinatumomab 6 (33.3), inotuzumab 2 (11.1).
    # Text: "8 (44.4%) received blinatumomab or inotuzumab ozogamicin".
    blin, ino = PATIENTS["prior_blinatumomab"], PATIENTS["prior_inotuzumab"]
    assert (int(blin.sum()), pct(int(blin.sum()))) == (6, 33.3)
    assert (int(ino.sum()), pct(int(ino.sum()))) == (2, 11.1)
    either = int((blin | ino).sum())
    assert (either, pct(either)) == (8, 44.4)
    assert not (blin & ino).any()


def test_prior_alternate_car() -> None:
    # Table 1: prior alternate CAR "n=9": anti-CD19 6 (33.3), anti-CD22 2 (11.1), anti-CD19/22
    # 1 (5.6). Text and Discussion: "8 (44.4%) received an alternate anti-CD19- and/or CD22
    # CART therapy": 9 products in 8 patients, one patient with two (discrepancy reconciled).
    products = PATIENTS["prior_car"].dropna().str.split(";").explode()
    assert products.value_counts().to_dict() == {"CD19": 6, "CD22": 2, "CD19/CD22": 1}
    assert len(products) == 9
    exposed = int(PATIENTS["prior_car"].notna().sum())
    assert (exposed, pct(exposed)) == (8, 44.4)
    assert products.index.value_counts().max() == 2
    assert pct(1) == 5.6 and pct(6) == 33.3 and pct(2) == 11.1


# === Table 2 =============================================================================

@pytest.mark.parametrize(("infusion", "status", "count", "percent"), [
    (1, "MRD-negative CR", 0, 0.0),   # Table 2: MRD-negative CR 0 | 2 (11.1)
    (2, "MRD-negative CR", 2, 11.1),
    (1, "M1", 5, 27.8),               # M1 5 (27.8) | 4 (22.2)
    (2, "M1", 4, 22.2),
    (1, "M2/M3", 13, 72.2),           # M2/M3 13 (72.2) | 12 (66.7)
    (2, "M2/M3", 12, 66.7),
])
def test_marrow_status_before_infusion(infusion: int, status: str, count: int,
                                       percent: float) -> None:
    n = int((marrow_status(C1 if infusion == 1 else C2) == status).sum())
    assert (n, pct(n)) == (count, percent)


@pytest.mark.parametrize(("infusion", "status", "count", "percent"), [
    (1, "CNS1", 11, 61.1),        # Table 2: CNS1 11 (61.1)
    (2, "CNS1", 14, 77.8),        # CNS1 14 (72.2 printed; 14/18 = 77.8%: discrepancy)
    (1, "CNS1 flow+", 7, 38.9),   # CNS1 with flow +disease 7 (38.8 printed; 7/18 = 38.9%)
    (2, "CNS1 flow+", 3, 16.7),   # 3 (16.7)
    (1, "CNS2", 0, 0.0),
    (2, "CNS2", 0, 0.0),
    (1, "CNS3", 0, 0.0),          # CNS3 0 | 1 (5.6)
    (2, "CNS3", 1, 5.6),
])
def test_cns_status_before_infusion(infusion: int, status: str, count: int,
                                    percent: float) -> None:
    n = int((cns_status(C1 if infusion == 1 else C2) == status).sum())
    assert (n, pct(n)) == (count, percent)


def test_cns_at_cart1_text() -> None:
    # "Seven (38.9%) had CNS disease detectable by FC, though all maintained CNS1 status."
    status = cns_status(C1)
    assert status.isin(["CNS1", "CNS1 flow+"]).all()
    assert int(C1["pre_csf_flow_positive"].sum()) == 7 and pct(7) == 38.9


@pytest.mark.parametrize(("infusion", "count", "percent"), [
    (1, 5, 27.8),  # Table 2 non-CNS EMD 5 (27.8); "Non-CNS EMD was identified in 5 (27.8%)"
    (2, 4, 22.2),  # 4 (22.2); "Four (22.2%) had persistent non-CNS EMD pre-CART2"
])
def test_non_cns_emd(infusion: int, count: int, percent: float) -> None:
    n = int((C1 if infusion == 1 else C2)["pre_emd"].sum())
    assert (n, pct(n)) == (count, percent)


def test_active_marrow_disease() -> None:
    # "All patients had active medullary disease at CART1" (M2/M3 13, 72.2%; M1 5, 27.8%).
    assert (C1["pre_marrow_mrd_pct"] >= 0.01).all()
    # "Pre-CART2, 16 of 18 (88.9%) had active medullary disease, 4 (22.2%) with an M1 marrow
    # and 12 (66.7%) with high disease burden."
    active = int((C2["pre_marrow_mrd_pct"] >= 0.01).sum())
    assert (active, pct(active)) == (16, 88.9)


@pytest.mark.parametrize(("comparison", "count", "percent", "targets"), [
    ("equal", 15, 83.3, None),            # Table 2: CART1=CART2 dose 15 (83.3)
    ("lower", 2, 11.1, {"CD19"}),         # CART1 >CART2 dose 2 (11.1): "2 CD19 CART patients"
    ("higher", 1, 5.6, {"CD19/CD22"}),    # CART1 <CART2 dose 1 (5.6): "One CD19/22 ... patient"
])
def test_cart_dose_change(comparison: str, count: int, percent: float,
                          targets: set[str] | None) -> None:
    d1, d2 = C1["dose_per_kg"], C2["dose_per_kg"]
    mask = {"equal": d1 == d2, "lower": d2 < d1, "higher": d2 > d1}[comparison]
    assert (int(mask.sum()), pct(int(mask.sum()))) == (count, percent)
    if targets is not None:
        assert set(C1.loc[mask, "target"]) == targets


def test_lowered_dose_followed_toxicity_and_raised_dose_followed_poor_response() -> None:
    # "Cell dose was lowered in 2 CD19 CART patients due to prior dose-limiting toxicity at a
    # higher dose level. One CD19/22 CART patient received a higher CART2 dose relative to
    # CART1 due to suboptimal CART1 response."
    lowered = C2["dose_per_kg"] < C1["dose_per_kg"]
    assert (C1.loc[lowered, "crs_grade"] >= 3).all()
    raised = C2["dose_per_kg"] > C1["dose_per_kg"]
    assert C2.loc[raised, "indication"].eq("persistent_disease").all()


def test_dose_levels() -> None:
    # "Patients were treated at one of three CAR T-cell dose levels: 3x10^5 cells/kg,
    # 1x10^6 cells/kg, or 3x10^6 cells/kg."
    assert set(INFUSIONS["dose_per_kg"]) <= {3e5, 1e6, 3e6}


@pytest.mark.parametrize(("pair", "count", "percent"), [
    (("standard", "standard"), 7, 38.9),      # Standard LD at CART1 and CART2 7 (38.9)
    (("standard", "intensified"), 8, 44.4),   # Standard at CART1, intensified at CART2 8 (44.4)
    (("intensified", "standard"), 1, 5.6),    # Intensified at CART1, standard at CART2 1 (5.6)
])
def test_lymphodepletion_pairs(pair: tuple[str, str], count: int, percent: float) -> None:
    n = sum(ld_pair(p) == pair for p in C1.index)
    assert (n, pct(n)) == (count, percent)


def test_flag_combinations() -> None:
    # Table 2: "Combination standard LD and FLAG 2 (11.1)"; footnote: "Two CD19 CART patients
    # ...: one with FLAG pre-CART1 and standard LD pre-CART2 and the other with standard LD
    # pre-CART1 and FLAG pre-CART2." Methods: FLAG "was used in 2 CD19 CART patients".
    pairs = {p: ld_pair(p) for p in C1.index if "flag" in ld_pair(p)}
    assert sorted(pairs.values()) == [("flag", "standard"), ("standard", "flag")]
    assert set(C1.loc[list(pairs), "target"]) == {"CD19"}
    assert pct(len(pairs)) == 11.1


def test_intensified_ld_before_cart2() -> None:
    # "Eight (44.4%) patients received intensified LD pre-CART2"; all received LD.
    n = int((C2["ld_regimen"] == "intensified").sum())
    assert (n, pct(n)) == (8, 44.4)
    assert INFUSIONS["ld_regimen"].isin(["standard", "intensified", "flag"]).all()


@pytest.mark.parametrize(("regimen", "fludarabine", "cyclophosphamide", "cytarabine"), [
    ("standard", 75, 900, 0),        # fludarabine 25 x 3, cyclophosphamide 900 x 1
    ("intensified", 120, 1200, 0),   # fludarabine 30 x 4, cyclophosphamide 600 x 2
    ("flag", 125, 0, 10000),         # fludarabine 25 x 5, cytarabine 2000 x 5
])
def test_lymphodepletion_drug_totals(regimen: str, fludarabine: float,
                                     cyclophosphamide: float, cytarabine: float) -> None:
    # Abstract, Methods and Table 2 footnote: the regimens' doses.
    rows = INFUSIONS[INFUSIONS["ld_regimen"] == regimen]
    assert len(rows) > 0
    assert (rows["ld_fludarabine_mg_m2"] == fludarabine).all()
    assert (rows["ld_cyclophosphamide_mg_m2"] == cyclophosphamide).all()
    assert (rows["ld_cytarabine_mg_m2"] == cytarabine).all()


@pytest.mark.parametrize(("indication", "count", "percent"), [
    ("persistent_disease", 7, 38.9),  # Table 2: stable disease following CART1 7 (38.9)
    ("relapse", 11, 61.1),            # Relapse post-CART1 11 (61.1)
])
def test_indication(indication: str, count: int, percent: float) -> None:
    n = int((C2["indication"] == indication).sum())
    assert (n, pct(n)) == (count, percent)


def test_relapse_indication_was_antigen_positive_after_cr() -> None:
    # "CART2 was offered only to patients who had (1) relapse following a CR with CART1";
    # "antigen-positive relapse in 11 (61.1%)".
    relapse = C2["indication"] == "relapse"
    assert C1.loc[relapse, "best_response"].eq("CR").all()
    assert C1.loc[relapse, "relapse_antigen"].eq("positive").all()
    assert C1.loc[~relapse, "relapse_date"].isna().all()


def test_time_between_infusions() -> None:
    # Table 2 and text: "Median time between CART1 and CART2 was 116.5 days (range, 35-373)".
    days = (C2["date"] - C1["date"]).dt.days
    assert (days.median(), days.min(), days.max()) == (116.5, 35, 373)


@pytest.mark.parametrize(("patient", "target", "days"), [
    ("P17", "CD19/CD22", 162),  # Fig. 2D: "CD19/22 CART patient 17" (162 days apart)
    ("P03", "CD19", 204),       # Fig. 2E: "CD19 CART patient three" (204 days apart)
    ("P10", "CD22", 125),       # Fig. 2F: "CD22 CART patient 10" (125 days after CART1)
])
def test_named_patients_time_gap(patient: str, target: str, days: int) -> None:
    assert C1.at[patient, "target"] == target
    assert (C2.at[patient, "date"] - C1.at[patient, "date"]).days == days


@pytest.mark.parametrize(("target", "trial", "construct"), [
    ("CD19", "NCT01593696", "CD19-28z"),      # "anti-CD19-28z (NCT01593696)"
    ("CD22", "NCT02315612", "CD22-BBz"),      # "anti-CD22-.BBz (NCT02315612)"
    ("CD19/CD22", "NCT03448393", "CD19/22-BBz"),  # printed truncated "NCT0344839"
])
def test_trials_and_constructs(target: str, trial: str, construct: str) -> None:
    rows = INFUSIONS[INFUSIONS["target"] == target]
    assert len(rows) > 0
    assert set(rows["trial"]) == {trial} and set(rows["construct"]) == {construct}


def test_same_product_reinfused() -> None:
    # "All 18 patients proceeded to CART2 using a cryopreserved aliquot of their original
    # CART1 product."
    for column in ("target", "trial", "construct"):
        assert (C1[column] == C2[column]).all()


# === Between the infusions ===============================================================

def test_compassionate_use() -> None:
    # "Four (22.2%) patients received CART2 by individualized compassionate use following
    # CART1 infusion on-study."
    assert not C1["compassionate_use"].any()
    n = int(C2["compassionate_use"].sum())
    assert (n, pct(n)) == (4, 22.2)


def test_interim_therapy_and_no_interim_hsct() -> None:
    # "Seven (38.9%) patients received interim therapy ..."; "No patient had interim HSCT".
    n = int(C2["interim_therapy"].sum())
    assert (n, pct(n)) == (7, 38.9)
    assert not C1["hsct_after"].any()
    # "five of seven (71.4%) responders had received interim therapy"
    k = int(C2.loc[RESPONDERS, "interim_therapy"].sum())
    assert (k, pct(k, 7)) == (5, 71.4)


def test_residual_car_and_cart1_expansion() -> None:
    # "All patients offered CART2 had evidence of CART1 expansion, with 6 (33.3%) having
    # residual low-level detectable CART1 cells prior to initiation of CART2 LD."
    assert (C1["peak_car_per_ul"] > 0).all()
    n = int(C2["residual_car"].sum())
    assert (n, pct(n)) == (6, 33.3)


def test_isolated_cns_disease_with_marrow_mrd_negative_cr() -> None:
    # "Two (11.1%) patients had isolated CNS disease despite attaining a medullary MRD
    # negative CR with CART1"; Table 2 footnote: "one patient with stable disease, one
    # patient with relapsed disease".
    mrd_negative = marrow_status(C2) == "MRD-negative CR"
    isolated = mrd_negative & (cns_status(C2) != "CNS1") & ~C2["pre_emd"].astype(bool)
    assert isolated.sum() == 2 and pct(2) == 11.1
    assert sorted(C2.loc[isolated, "indication"]) == ["persistent_disease", "relapse"]
    assert (C1.loc[isolated, "best_response"] == "CR").all()
    assert (C1.loc[isolated, "best_response_mrd_pct"] < 0.01).all()


def test_any_cns_involvement_before_cart2() -> None:
    # "4 (22.2%) had any CNS involvement (CNS1 with FC detectable disease, n=3; CNS3 white
    # cell count >= 5 uL, cytospin positive for blasts, n=1)".
    status = cns_status(C2)
    involved = status != "CNS1"
    assert (int(involved.sum()), pct(int(involved.sum()))) == (4, 22.2)
    assert status[involved].value_counts().to_dict() == {"CNS1 flow+": 3, "CNS3": 1}
    cns3 = status == "CNS3"
    assert (C2.loc[cns3, "pre_csf_wbc_per_ul"] >= 5).all() and C2.loc[cns3, "pre_csf_blasts"].all()
