"""The demo cohort contract: response, and disease burden by response.

Each test computes a published figure of the seed study from ``demo_tables()`` with pandas /
scipy and cites what it checks; the shared data, helpers and conventions are in
``tests/demo/_contract.py`` (split from the former test_demo_contract.py by paper section).
"""

from __future__ import annotations

import pytest
from scipy import stats
from tests.demo._contract import (
    C1,
    C2,
    CR2,
    RESPONDERS,
    cns_status,
    mann_whitney_conditional_p,
    mann_whitney_normal_p,
    pct,
)

from reinfuse.stats import mann_whitney_u

# === Response ============================================================================

def test_cart1_objective_response() -> None:
    # Discussion: "Objective response rate with CART2 was 38.9% in contrast to 72.2% with
    # CART1." Objective marrow response = CR (MRD-negative or not) or PR.
    n = int(C1["best_response"].isin(["CR", "CRi", "PR"]).sum())
    assert (n, pct(n)) == (13, 72.2)
    # With best_response = best marrow response: 12 CR (11 relapse + P08's marrow CR with
    # persistent CNS disease), 1 PR, 5 SD (see docs/demo-cohort.md).
    assert C1["best_response"].value_counts().to_dict() == {"CR": 12, "SD": 5, "PR": 1}


def test_persistent_disease_indication_means_suboptimal_response() -> None:
    # "suboptimal response (PR or stable disease (SD)) to CART1 in 7": PR/SD marrow, or a
    # marrow CR with persisting CNS disease (P08, Table 2 footnote).
    persistent = C2["indication"] == "persistent_disease"
    marrow_cr = C1["best_response"] == "CR"
    assert C1.loc[persistent & ~marrow_cr, "best_response"].isin(["PR", "SD"]).all()
    cns_persisting = C1.loc[persistent & marrow_cr, "pre_csf_flow_positive"]
    assert len(cns_persisting) == 1 and cns_persisting.all()
    assert C2.loc[persistent & marrow_cr, "pre_csf_flow_positive"].all()


def test_cart2_objective_response() -> None:
    # Abstract: "Seven of 18 (38.9%) demonstrated objective response (responders) to CART2:
    # 5 achieved a minimal residual disease (MRD) negative CR, 1 had persistent MRD level
    # disease, and 1 showed a partial remission". Text: "6 (33.3%) attaining a morphologic CR"
    n = int(RESPONDERS.sum())
    assert (n, pct(n)) == (7, 38.9)
    assert (int(CR2.sum()), pct(int(CR2.sum()))) == (6, 33.3)
    mrd_negative = CR2 & (C2["best_response_mrd_pct"] < 0.01)
    assert (int(mrd_negative.sum()), pct(int(mrd_negative.sum()), 7)) == (5, 71.4)
    assert int((CR2 & ~mrd_negative).sum()) == 1
    assert int((C2["best_response"] == "PR").sum()) == 1


def test_partial_remission_with_antigen_loss() -> None:
    # "One patient with a bone marrow PR showed clearance of antigen positive disease but
    # emerged from CART2 with antigen loss."
    pr = C2["best_response"] == "PR"
    assert C2.loc[pr, "antigen_after"].tolist() == ["negative"]


def test_cd22_responders() -> None:
    # "... 6 (33.3%) attaining a morphologic CR; 5 of whom received CD22 CART (4 with CR)."
    cd22 = C2["target"] == "CD22"
    assert int((RESPONDERS & cd22).sum()) == 5
    assert int((CR2 & cd22).sum()) == 4


def test_responders_without_cr_after_cart1() -> None:
    # "Among seven CART2 responders, four had not achieved a CR with CART1 (PR, n=1; SD,
    # n=3). Of these four, three (75%) received intensified LD, including one patient who
    # also had improved disease control pre-CART2 and one who received a higher CART2 dose.
    # One CART1 non-responder who required early steroids due to rapid disease progression
    # abrogating CART1 expansion achieved a CR with CART2 following standard LD with lower
    # disease burden." Abstract: "Responders included four patients who had not achieved a
    # CR with CART1."
    four = RESPONDERS & (C1["best_response"] != "CR")
    assert C1.loc[four, "best_response"].value_counts().to_dict() == {"SD": 3, "PR": 1}
    intensified = four & (C2["ld_regimen"] == "intensified")
    assert (int(intensified.sum()), pct(int(intensified.sum()), 4)) == (3, 75.0)
    assert int((intensified & (C2["dose_per_kg"] > C1["dose_per_kg"])).sum()) == 1
    improved = C2["pre_marrow_mrd_pct"] < C1["pre_marrow_mrd_pct"]
    assert int((intensified & improved).sum()) >= 1
    standard = four & (C2["ld_regimen"] == "standard")
    assert int(standard.sum()) == 1
    patient = standard[standard].index[0]
    assert C2.at[patient, "best_response"] == "CR"
    assert C2.at[patient, "pre_marrow_mrd_pct"] < C1.at[patient, "pre_marrow_mrd_pct"]
    assert C1.at[patient, "peak_car_per_ul"] == C1["peak_car_per_ul"].min()


def test_responders_received_intensified_ld() -> None:
    # Abstract: "Five of seven (71.4%) responders received intensified LD pre-CART2"; text:
    # "... with one concurrently receiving a higher CART2 dose."
    intensified = RESPONDERS & (C2["ld_regimen"] == "intensified")
    assert (int(intensified.sum()), pct(int(intensified.sum()), 7)) == (5, 71.4)
    assert int((intensified & (C2["dose_per_kg"] > C1["dose_per_kg"])).sum()) == 1


@pytest.mark.parametrize(("indication", "responders", "total", "percent"), [
    ("persistent_disease", 4, 7, 57.1),  # "four of seven (57.1%) patients with suboptimal
                                         # CART1 response had objective response to CART2"
    ("relapse", 3, 11, 27.3),            # "Of 11 ... antigen positive relapse, only 3 (27.3%)"
])
def test_response_by_indication(indication: str, responders: int, total: int,
                                percent: float) -> None:
    group = C2["indication"] == indication
    n = int((RESPONDERS & group).sum())
    assert (n, int(group.sum()), pct(n, total)) == (responders, total, percent)


def test_cns_disease_eradication() -> None:
    # "Among four patients with CNS involvement, two (50.0%) had full eradication of CNS
    # disease with CART2, including the patient with CNS3 disease who had simultaneous
    # eradication of non-CNS EMD." The format has no post-infusion CNS column: a CR (which
    # requires CNS1 without detectable disease and no EMD) is the record of eradication.
    involved = cns_status(C2) != "CNS1"
    cleared = involved & CR2
    assert (int(cleared.sum()), pct(int(cleared.sum()), 4)) == (2, 50.0)
    cns3 = cns_status(C2) == "CNS3"
    assert (cleared[cns3]).all() and C2.loc[cns3, "pre_emd"].all()

# === Disease burden and response =========================================================

@pytest.mark.parametrize(("group", "median", "low", "high"), [
    ("responders", 7.8, 0.0, 62.9),       # "(median, 7.8% B-ALL/MNCs ...; range, 0%-62.9%)"
    ("non-responders", 29.3, 0.0, 95.0),  # "(median, 29.3% B-ALL/MNCs; range, 0%-95.0%)"
])
def test_pre_cart2_marrow_burden(group: str, median: float, low: float, high: float) -> None:
    mask = RESPONDERS if group == "responders" else ~RESPONDERS
    mrd = C2.loc[mask, "pre_marrow_mrd_pct"]
    assert (mrd.median(), mrd.min(), mrd.max()) == (median, low, high)


def test_pre_cart2_marrow_burden_p_value() -> None:
    # "Pre-CART2 disease burden tended to be lower in marrow responders ... than in
    # non-responders ... (p=0.16)": Mann-Whitney U, two-sided, normal approximation with tie
    # (one zero in each group) and continuity correction.
    r = C2.loc[RESPONDERS, "pre_marrow_mrd_pct"].to_numpy()
    nr = C2.loc[~RESPONDERS, "pre_marrow_mrd_pct"].to_numpy()
    # Exact conditional distribution (Prism 6+, the reinfuse default): all C(18, 7) splits.
    u, hand = mann_whitney_conditional_p(r, nr)
    default = mann_whitney_u(r, nr)
    assert default.distribution == "permutation"
    assert default.statistic == u == 22.5
    assert default.pvalue == pytest.approx(hand, rel=1e-12)
    assert 0.155 <= hand < 0.165 and round(hand, 2) == 0.16
    # The normal approximation with tie and continuity correction gives 0.16 as well.
    result = stats.mannwhitneyu(r, nr, alternative="two-sided", method="asymptotic",
                                use_continuity=True)
    assert result.pvalue == pytest.approx(mann_whitney_normal_p(r, nr)[1], rel=1e-12)
    assert 0.155 <= result.pvalue < 0.165
