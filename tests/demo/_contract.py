"""Shared data and helpers of the demo cohort contract (tests/demo/test_contract_*.py).

The contract checks every figure the seed study publishes, computed from the demo with
pandas / scipy (no reinfuse derivation code); each test cites the sentence, table row or
figure legend it checks (shared reference ``cart2-reinfusion-study.txt``). It is split by
paper section: ``test_contract_population`` (Table 1, Table 2, between the infusions),
``test_contract_response``, ``test_contract_toxicity``, ``test_contract_survival``
(remission, figure 1F), ``test_contract_expansion_antigen`` (figure 2) and
``test_contract_cohort`` (format rules and the shipped files).

The study computed its p-values with GraphPad Prism, and the study report computes them with
the defaults of ``reinfuse.stats``, which follow Prism 6+: the Mann-Whitney test uses the
exact conditional (permutation) distribution when there are ties, and the Wilcoxon
signed-rank test is exact for small n. Each p-value is therefore checked twice: with the
``reinfuse.stats`` defaults and with an independent brute-force computation from the
definition (``tests/_oracles.py``: every one of the ``C(N, m)`` assignments of the pooled
midranks to the groups, or every one of the ``2**n`` sign patterns), plus ``scipy.stats``
where SciPy has the method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tests._oracles import mann_whitney_normal_p, paired_signed_rank_p, rank_sum_null, rank_sum_p

from reinfuse.demo.build import demo_tables

TABLES = demo_tables()
PATIENTS = TABLES["patients"].set_index("patient_id")
INFUSIONS = TABLES["infusions"]
C1 = INFUSIONS[INFUSIONS["infusion"] == 1].set_index("patient_id")
C2 = INFUSIONS[INFUSIONS["infusion"] == 2].set_index("patient_id")
N = 18

RESPONDERS = C2["best_response"].isin(["CR", "CRi", "PR"])  # "objective marrow response"
CR2 = C2["best_response"].isin(["CR", "CRi"])


def pct(count: int, denominator: int = N) -> float:
    """Percentage to one decimal, as the paper prints it."""
    return round(100 * count / denominator, 1)


def marrow_status(rows: pd.DataFrame) -> pd.Series:
    """Table 2 marrow rows: MRD-negative CR (M1, MRD < 0.01%), M1 (< 5% blasts), M2/M3."""
    m1 = rows["pre_marrow_blasts_pct"] < 5
    mrd_negative = m1 & (rows["pre_marrow_mrd_pct"] < 0.01)
    return pd.Series(np.select([mrd_negative, m1], ["MRD-negative CR", "M1"], "M2/M3"),
                     index=rows.index)


def cns_status(rows: pd.DataFrame) -> pd.Series:
    """Table 2 CNS rows (legend: CNS1 no blasts on cytospin; CNS2 WBC < 5 with blasts; CNS3
    WBC >= 5 with blasts), with the study's "CNS1 with flow +disease" split out of CNS1."""
    blasts = rows["pre_csf_blasts"].astype(bool)
    cns3 = (blasts & (rows["pre_csf_wbc_per_ul"] >= 5)) | rows[
        "pre_cns_clinical_signs"].astype(bool)
    flow = rows["pre_csf_flow_positive"].astype(bool)
    return pd.Series(np.select([cns3, blasts, flow], ["CNS3", "CNS2", "CNS1 flow+"], "CNS1"),
                     index=rows.index)


def ld_pair(patient: str) -> tuple[str, str]:
    return (C1.at[patient, "ld_regimen"], C2.at[patient, "ld_regimen"])



# --- independent hand computations of the p-values (tests/_oracles.py) ----------------

exact_signed_rank_p = paired_signed_rank_p
conditional_null = rank_sum_null


def mann_whitney_conditional_p(a: np.ndarray, b: np.ndarray,
                               null: np.ndarray | None = None) -> tuple[float, float]:
    """(U of ``a``, two-sided p) from the exact conditional null distribution given the ties,
    by brute-force enumeration of every split (GraphPad Prism 6+'s exact p with ties)."""
    u, p = rank_sum_p(a, b, null=null)
    return u, float(p)


__all__ = [
    "C1",
    "C2",
    "CR2",
    "INFUSIONS",
    "PATIENTS",
    "RESPONDERS",
    "TABLES",
    "N",
    "cns_status",
    "conditional_null",
    "exact_signed_rank_p",
    "ld_pair",
    "mann_whitney_conditional_p",
    "mann_whitney_normal_p",
    "marrow_status",
    "pct",
]
