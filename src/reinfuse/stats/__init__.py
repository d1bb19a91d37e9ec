"""Statistics for small cohort studies, as the seed study computed them (GraphPad Prism).

Thin, documented wrappers over SciPy and statsmodels. Every test returns a frozen
dataclass with ``statistic``, ``pvalue``, ``method`` (a sentence for a methods section
that says exactly how the p-value was obtained), ``n`` and ``to_dict()``; every function
raises :class:`reinfuse.errors.StatisticsError` with a clear message on unusable input.

Paired and unpaired rank tests
    :func:`wilcoxon_signed_rank`, :func:`mann_whitney_u`. Their ``method="auto"``
    reproduces GraphPad Prism 6 and later: exact p-values for small samples *including
    when there are ties* (exact conditional distribution), normal approximation only for
    large samples. See each docstring for the precise rule.
Contingency tables
    :func:`fisher_exact` (2x2 and r x c), :func:`chi_square` (flags expected counts
    below 5), :func:`mcnemar` (paired binary outcomes).
Descriptive statistics and intervals
    :func:`median_range`, :func:`median_iqr` (quartile definition selectable; Prism uses
    Hyndman-Fan type 6), :func:`proportion` (Clopper-Pearson or Wilson interval),
    :func:`median_ci` (distribution-free interval for the median).
Time to event by group, Cox regression, competing risks
    :func:`kaplan_meier_by_group` (curves and numbers at risk per group),
    :func:`logrank_test_groups` (k >= 2 groups, optionally stratified),
    :func:`cox_regression` (hazard ratios, likelihood-ratio and Wald tests, Schoenfeld
    proportional-hazards check, refusal below 10 events per variable),
    :func:`cumulative_incidence` (Aalen-Johansen, every competing cause; Gray's test is
    not available and the result says so), :func:`landmark`.
Several groups and effect sizes
    :func:`kruskal_wallis` (exact, Monte Carlo or chi-squared; epsilon-squared),
    :func:`dunn_test` (Holm, Bonferroni or Benjamini-Hochberg), :func:`jonckheere_terpstra`
    (ordered groups), :func:`cliffs_delta`, :func:`rank_biserial`, :func:`cramers_v`.

Reference values used by the tests, with their provenance, are listed in
``tests/reference/stats_reference.md``, ``survival_groups_reference.md`` and
``groups_reference.md``.
"""

from __future__ import annotations

from reinfuse.stats._categorical import chi_square, fisher_exact, mcnemar
from reinfuse.stats._competing import (
    CumulativeIncidenceCurve,
    CumulativeIncidenceResult,
    LandmarkData,
    cumulative_incidence,
    landmark,
)
from reinfuse.stats._cox import (
    CoxResult,
    CoxTerm,
    PHCheck,
    cox_regression,
    indicator_columns,
)
from reinfuse.stats._describe import median_iqr, median_range
from reinfuse.stats._difference import ProportionDifference, proportion_difference
from reinfuse.stats._effect import (
    CramersVResult,
    RankEffectSize,
    cliffs_delta,
    cramers_v,
    rank_biserial,
)
from reinfuse.stats._groups import (
    DunnComparison,
    DunnResult,
    JonckheereResult,
    KruskalWallisResult,
    dunn_test,
    jonckheere_terpstra,
    kruskal_wallis,
)
from reinfuse.stats._intervals import median_ci, proportion
from reinfuse.stats._paired import wilcoxon_signed_rank
from reinfuse.stats._results import (
    AsDict,
    ChiSquareResult,
    FisherResult,
    GroupSummary,
    MannWhitneyResult,
    McNemarResult,
    MedianCIResult,
    MedianIQR,
    MedianRange,
    ProportionResult,
    WilcoxonResult,
)
from reinfuse.stats._survival import (
    KaplanMeierResult,
    KaplanMeierStep,
    KaplanMeierTable,
    LogRankResult,
    SurvivalEstimate,
    kaplan_meier,
    logrank_test,
)
from reinfuse.stats._survival_groups import (
    AtRiskRow,
    GroupedKaplanMeier,
    GroupLogRankResult,
    kaplan_meier_by_group,
    logrank_test_groups,
)
from reinfuse.stats._unpaired import mann_whitney_u
from reinfuse.stats._validate import check_confidence_level, whole_number

__all__ = [
    "AsDict",
    "AtRiskRow",
    "ChiSquareResult",
    "CoxResult",
    "CoxTerm",
    "CramersVResult",
    "CumulativeIncidenceCurve",
    "CumulativeIncidenceResult",
    "DunnComparison",
    "DunnResult",
    "FisherResult",
    "GroupLogRankResult",
    "GroupSummary",
    "GroupedKaplanMeier",
    "JonckheereResult",
    "KaplanMeierResult",
    "KaplanMeierStep",
    "KaplanMeierTable",
    "KruskalWallisResult",
    "LandmarkData",
    "LogRankResult",
    "MannWhitneyResult",
    "McNemarResult",
    "MedianCIResult",
    "MedianIQR",
    "MedianRange",
    "PHCheck",
    "ProportionDifference",
    "ProportionResult",
    "RankEffectSize",
    "SurvivalEstimate",
    "WilcoxonResult",
    "check_confidence_level",
    "chi_square",
    "cliffs_delta",
    "cox_regression",
    "cramers_v",
    "cumulative_incidence",
    "dunn_test",
    "fisher_exact",
    "indicator_columns",
    "jonckheere_terpstra",
    "kaplan_meier",
    "kaplan_meier_by_group",
    "kruskal_wallis",
    "landmark",
    "logrank_test",
    "logrank_test_groups",
    "mann_whitney_u",
    "mcnemar",
    "median_ci",
    "median_iqr",
    "median_range",
    "proportion",
    "proportion_difference",
    "rank_biserial",
    "whole_number",
    "wilcoxon_signed_rank",
]
