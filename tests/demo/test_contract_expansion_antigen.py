"""The demo cohort contract: CAR T-cell expansion (figure 2A) and antigen density (figure 2B-F).

Each test computes a published figure of the seed study from ``demo_tables()`` with pandas /
scipy and cites what it checks; the shared data, helpers and conventions are in
``tests/demo/_contract.py`` (split from the former test_demo_contract.py by paper section).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.demo._contract import (
    C1,
    C2,
    CR2,
    INFUSIONS,
    RESPONDERS,
    conditional_null,
    exact_signed_rank_p,
    mann_whitney_conditional_p,
    mann_whitney_normal_p,
    pct,
)

from reinfuse.stats import mann_whitney_u, wilcoxon_signed_rank

# === Expansion (figure 2A) ===============================================================

@pytest.mark.parametrize(("infusion", "median", "low", "high"), [
    (1, 24.05, 0.35, 13653.0),  # "CART1 (median, 24.05 cells/mL; range, 0.35-13 653.0 c/mL)"
    (2, 1.69, 0.0, 2886.0),     # "CART2 (median, 1.69 c/mL; range, 0-2886.0 c/mL)"
])
def test_peak_expansion(infusion: int, median: float, low: float, high: float) -> None:
    peak = (C1 if infusion == 1 else C2)["peak_car_per_ul"]
    assert round(peak.median(), 2) == median
    assert (peak.min(), peak.max()) == (low, high)


def test_no_cart2_expansion_in_five_non_responders() -> None:
    # "5 (27.8%) of 18 failed to demonstrate any CART2 expansion which correlated with
    # non-response (figure 2A)." Expansion is demonstrated by CAR T cells in the blood or in
    # the CSF (reinfuse's expansion_detected): 6 patients have no detectable CAR T cells in
    # the blood, and one of them (a non-responder with standard LD) had CAR T cells in the
    # CSF after CART2, so 5 failed to demonstrate any expansion.
    blood_zero = C2["peak_car_per_ul"] == 0
    csf_car = C2["csf_car_detected"].fillna(False).astype(bool)  # no LP: none detected
    none = blood_zero & ~csf_car
    assert (int(none.sum()), pct(int(none.sum()))) == (5, 27.8)
    assert int(blood_zero.sum()) == 6
    assert not RESPONDERS[blood_zero].any()
    csf_only = blood_zero & csf_car
    assert int(csf_only.sum()) == 1
    assert C2.loc[csf_only, "csf_lp_done"].all()
    assert not C2.loc[csf_only, "ld_regimen"].eq("intensified").any()


def test_expansion_cart1_vs_cart2_p_value() -> None:
    # "Peripheral blood absolute CAR T-cell expansion was substantially higher with CART1
    # ... than with CART2 ... (p=0.03)": Wilcoxon signed-rank, paired, two-sided, exact.
    x, y = C1["peak_car_per_ul"], C2.loc[C1.index, "peak_car_per_ul"]
    result = stats.wilcoxon(x, y, method="exact", alternative="two-sided")
    hand = exact_signed_rank_p(x, y)
    default = wilcoxon_signed_rank(x, y)  # the study report's computation (Prism 6+)
    assert default.distribution == "exact"
    assert 0.025 <= default.pvalue < 0.035
    assert default.pvalue == pytest.approx(hand, rel=1e-12)
    assert result.pvalue == pytest.approx(hand, rel=1e-12)
    assert round(hand, 2) == 0.03
    assert default.w_minus == 36
    # Exact null of n=18 with no ties: min(T+, T-) = 36 gives p = 2 * 3980 / 2**18.
    assert result.statistic == 36 and hand == pytest.approx(2 * 3980 / 2**18)


INTENSIFIED_LD = C2["ld_regimen"] == "intensified"


@pytest.mark.parametrize(("group", "n", "median", "low", "high"), [
    ("intensified", 8, 5.40, 0.63, 2886.0),  # "(median, 5.40 c/mL; range, 0.63-2886 c/mL)"
    ("standard", 10, 0.0, 0.0, 196.8),       # "(median, 0 c/mL; range, 0-196.8 c/mL)"
])
def test_cart2_expansion_by_ld(group: str, n: int, median: float, low: float,
                               high: float) -> None:
    # "Intensified LD pre-CART2 corresponded with higher CART2 expansion (...) than in those
    # receiving standard LD (...)". The "standard LD" group is every patient who did not
    # receive intensified LD before CART2: the 7 standard->standard, the intensified->standard
    # and both FLAG-combination patients (FLAG->standard, standard->FLAG), n=10. A median of
    # 0 among 10 needs 6 zeros (docs/demo-cohort.md, interpretation choices).
    mask = INTENSIFIED_LD if group == "intensified" else ~INTENSIFIED_LD
    peak = C2.loc[mask, "peak_car_per_ul"]
    assert len(peak) == n
    assert round(peak.median(), 2) == median
    assert (peak.min(), peak.max()) == (low, high)
    if group == "standard":
        assert set(C2.loc[mask, "ld_regimen"]) == {"standard", "flag"}
        assert int((peak == 0).sum()) == 6


INTENSIFIED = C2.loc[INTENSIFIED_LD, "peak_car_per_ul"].to_numpy()
STANDARD = C2.loc[~INTENSIFIED_LD, "peak_car_per_ul"].to_numpy()


def test_expansion_by_ld_p_value() -> None:
    # "Intensified LD pre-CART2 corresponded with higher CART2 expansion ... than in those
    # receiving standard LD ... (p=0.029)": Mann-Whitney U, two-sided, 8 vs 10, exact
    # conditional distribution given the 6 tied zeros (Prism 6+, the reinfuse default).
    u, hand = mann_whitney_conditional_p(INTENSIFIED, STANDARD)  # all C(18, 8) = 43,758 splits
    default = mann_whitney_u(INTENSIFIED, STANDARD)
    assert default.distribution == "permutation"
    assert default.statistic == u == 64
    assert default.pvalue == pytest.approx(hand, rel=1e-12)
    assert 0.0285 <= hand < 0.0295 and round(hand, 3) == 0.029
    assert hand == pytest.approx(0.0290004, abs=1e-7)
    # Software that uses the normal approximation with ties (R, SciPy's "auto") prints 0.033.
    scipy_normal = stats.mannwhitneyu(INTENSIFIED, STANDARD, alternative="two-sided",
                                      method="asymptotic", use_continuity=True)
    assert scipy_normal.pvalue == pytest.approx(mann_whitney_normal_p(INTENSIFIED, STANDARD)[1])
    assert round(scipy_normal.pvalue, 3) == 0.033


def _attainable_ld_p_values(n_standard: int, zeros: int) -> set[float]:
    """Exact conditional p of every ordering of 8 intensified values (all positive: the
    published intensified minimum is 0.63) against ``n_standard`` values of which ``zeros`` are
    0, the other values untied. Only the positions of the positive standard values among all
    positive values matter; the largest value is intensified (2886 > 196.8)."""
    positives = 8 + n_standard - zeros
    ranks = np.arange(1.0, positives + 1)
    pooled = np.concatenate([ranks, np.zeros(zeros)])  # same midranks for every ordering
    null = conditional_null(pooled, 8)
    attainable = set()
    for positions in itertools.combinations(range(positives - 1), n_standard - zeros):
        labels = np.ones(positives, dtype=bool)
        labels[list(positions)] = False
        a = ranks[labels]
        b = np.concatenate([ranks[~labels], np.zeros(zeros)])
        attainable.add(round(mann_whitney_conditional_p(a, b, null)[1], 10))
    return attainable


def published(p: float) -> bool:
    return 0.0285 <= p < 0.0295


def test_published_ld_p_value_needs_the_eight_vs_ten_reading() -> None:
    # Which groups give the paper's p=0.029 under Prism's exact conditional method?
    # (1) 8 vs 9, LD = standard at CART2 (the standard->FLAG patient in neither group) with
    #     the literal "5 (27.8%) of 18 failed to demonstrate any CART2 expansion", i.e. 5
    #     blood zeros, all in the standard group (its median 0 of 9 needs 5): unattainable,
    #     with the exact conditional p and with the normal approximation alike.
    eight_vs_nine = _attainable_ld_p_values(9, zeros=5)
    assert len(eight_vs_nine) > 1 and not any(map(published, eight_vs_nine))
    normal = set()
    for positions in itertools.combinations(range(12), 4):
        labels = np.ones(12, dtype=bool)
        labels[list(positions)] = False
        ranks = np.arange(1.0, 13.0)
        normal.add(mann_whitney_normal_p(ranks[labels],
                                          np.concatenate([np.zeros(5), ranks[~labels]]))[1])
    assert not any(map(published, normal))
    # (2) 8 vs 10, intensified vs all others (the demo): the median 0 of 10 needs 6 zeros,
    #     and 0.029000 is attained; the demo's ordering is one of those that attain it.
    eight_vs_ten = _attainable_ld_p_values(10, zeros=6)
    hits = {p for p in eight_vs_ten if published(p)}
    assert hits == {0.0290004114}
    assert round(mann_whitney_conditional_p(INTENSIFIED, STANDARD)[1], 10) in hits
    # Caveat, documented rather than hidden: once a sixth blood zero is accepted (which the
    # 8 vs 10 reading forces, reconciled with "5 ... failed" through CSF detection), 8 vs 9
    # with 6 zeros also reaches 0.029 (0.02925). The p-value alone rules out only the
    # literal 5-zero reading; 8 vs 10 is the choice that uses every patient.
    assert any(map(published, _attainable_ld_p_values(9, zeros=6)))
    # The demo read the 8 vs 9 way (FLAG at CART2 left out) gives U = 59, p = 0.0216.
    eight_vs_nine_demo = C2["ld_regimen"] == "standard"
    other = C2.loc[eight_vs_nine_demo, "peak_car_per_ul"].to_numpy()
    assert round(mann_whitney_conditional_p(INTENSIFIED, other)[1], 4) == 0.0216


def test_csf_trafficking_after_cart2() -> None:
    # "CAR T-cell trafficking to the CSF was seen in 5 (35.7%) of 14 patients where lumbar
    # punctures were performed and largely correlated with those who also had more robust
    # PB expansion."
    lp = C2["csf_lp_done"].astype(bool)
    found = C2["csf_car_detected"].fillna(False).astype(bool)
    assert (int(found.sum()), int(lp.sum()), pct(int(found.sum()), 14)) == (5, 14, 35.7)
    # "Largely": 4 of the 5 had higher blood peaks than every LP patient without CSF CAR; the
    # fifth had CAR T cells in the CSF without detectable blood expansion (see above).
    peak = C2["peak_car_per_ul"]
    above = found & (peak > peak[lp & ~found].max())
    assert int(above.sum()) == 4
    assert (peak[found & ~above] == 0).all()


def test_cd22_expansion_generally_higher() -> None:
    # "CD22 CART expansion was generally higher with both CART1 and CART2".
    cd22 = C1["target"] == "CD22"
    for rows in (C1, C2):
        peak = rows["peak_car_per_ul"]
        assert peak[cd22].median() > peak[~cd22].median()

# === Antigen density and modulation (figure 2B-F) ========================================

def paired_abc(column: str) -> pd.DataFrame:
    both = C1[column].notna() & C2[column].notna()
    return pd.DataFrame({"pre1": C1.loc[both, column], "pre2": C2.loc[both, column],
                         "target": C1.loc[both, "target"]})


@pytest.mark.parametrize(("column", "targets", "pre1", "pre2"), [
    # Fig. 2B: "CD19 antigen expression for four patients (CD19, n=1; CD22, n=2; CD19/22,
    # n=1) ... pre-CART1 CD19 ABC was 4069 (range, 1124-6494) compared with ... pre-CART2 CD19
    # ABC of 2753 (range, 1376-5657)"
    ("abc_cd19_pre", {"CD19": 1, "CD22": 2, "CD19/CD22": 1}, (4069, 1124, 6494),
     (2753, 1376, 5657)),
    # Fig. 2C: "CD22 antigen expression performed for 10 patients (CD19, n=1; CD22, n=8;
    # CD19/22, n=1) ... pre-CART2 (median, 1678; range, 1012-7727) compared with pre-CART1
    # ABC (median, 3537; range, 1150-13435)"
    ("abc_cd22_pre", {"CD19": 1, "CD22": 8, "CD19/CD22": 1}, (3537, 1150, 13435),
     (1678, 1012, 7727)),
])
def test_paired_antigen_binding_capacity(column: str, targets: dict[str, int],
                                         pre1: tuple[float, float, float],
                                         pre2: tuple[float, float, float]) -> None:
    pairs = paired_abc(column)
    assert pairs["target"].value_counts().to_dict() == targets
    for key, expected in (("pre1", pre1), ("pre2", pre2)):
        values = pairs[key]
        assert (values.median(), values.min(), values.max()) == expected
    # Only paired values are recorded, so the medians are also those of the whole column.
    assert INFUSIONS[column].notna().sum() == 2 * len(pairs)


def test_cd22_abc_p_value() -> None:
    # Fig. 2C: "a trend toward diminished CD22 ABC pre-CART2 ... (p=0.084)": Wilcoxon
    # signed-rank, exact, n=10, no ties: p = 86/1024.
    pairs = paired_abc("abc_cd22_pre")
    result = stats.wilcoxon(pairs["pre1"], pairs["pre2"], method="exact")
    hand = exact_signed_rank_p(pairs["pre1"], pairs["pre2"])
    default = wilcoxon_signed_rank(pairs["pre1"], pairs["pre2"])
    assert default.distribution == "exact" and default.pvalue == pytest.approx(86 / 1024)
    assert result.pvalue == pytest.approx(86 / 1024) and hand == pytest.approx(86 / 1024)
    assert round(result.pvalue, 3) == 0.084


def test_cd19_abc_not_significant() -> None:
    # Fig. 2B: "(p=NS)"; n=4, exact.
    pairs = paired_abc("abc_cd19_pre")
    result = stats.wilcoxon(pairs["pre1"], pairs["pre2"], method="exact")
    hand = exact_signed_rank_p(pairs["pre1"], pairs["pre2"])
    default = wilcoxon_signed_rank(pairs["pre1"], pairs["pre2"])
    assert default.pvalue == pytest.approx(hand) and result.pvalue == pytest.approx(hand)
    assert hand >= 0.05


def test_evaluable_serial_antigen_data_in_ten_patients() -> None:
    # "Paired analysis of ABC ... in a subset of patients (n=10) with evaluable serial data";
    # "Patients who had both CD19 and CD22 expression quantified are indicated" (fig. 2C).
    cd19, cd22 = paired_abc("abc_cd19_pre"), paired_abc("abc_cd22_pre")
    assert len(cd19.index.union(cd22.index)) == 10
    assert set(cd19.index) <= set(cd22.index)


def test_increased_antigen_before_cart2() -> None:
    # "In two (11.1%) with increased antigen expression pre-CART2, higher ABC did not
    # correlate with CART2 response."
    increased: set[str] = set()
    for column in ("abc_cd19_pre", "abc_cd22_pre"):
        pairs = paired_abc(column)
        increased |= set(pairs.index[pairs["pre2"] > pairs["pre1"]])
    assert (len(increased), pct(len(increased))) == (2, 11.1)
    assert not RESPONDERS[sorted(increased)].any()


def test_antigen_negative_or_dim_after_cart2() -> None:
    # Abstract: "Emergence of antigen negative/dim B-ALL in 6 (33.3%) patients following
    # CART2 contributed to lack of CR." (antigen_after = leukemia at the response assessment)
    emerged = C2["antigen_after"].isin(["negative", "dim"])
    assert (int(emerged.sum()), pct(int(emerged.sum()))) == (6, 33.3)
    assert not CR2[emerged].any()


@pytest.mark.parametrize(("patient", "after_cart1", "after_cart2"), [
    ("P17", "dim", "dim"),       # Fig. 2D: partial loss of CD19 after CART1 and CART2
    ("P03", "dim", "dim"),       # Fig. 2E: partial loss of CD19 after CART1 and CART2
    ("P10", "dim", "negative"),  # Fig. 2F: diminished CD22 after CART1, CD22 negative after CART2
])
def test_antigen_modulation_in_named_patients(patient: str, after_cart1: str,
                                              after_cart2: str) -> None:
    assert C1.at[patient, "antigen_after"] == after_cart1
    assert C2.at[patient, "antigen_after"] == after_cart2


def test_patient_3_followed_one_year_after_cart2() -> None:
    # Fig. 2E: "... with disease regaining full expression of CD19 1 year post-CART2".
    assert (C2.at["P03", "last_followup_date"] - C2.at["P03", "date"]).days >= 365
