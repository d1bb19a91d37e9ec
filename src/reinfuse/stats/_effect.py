"""Effect sizes to report beside p-values: rank-biserial correlation, Cliff's delta, Cramer's V.

Epsilon-squared for the Kruskal-Wallis test is a field of
:class:`reinfuse.stats.KruskalWallisResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import contingency

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._validate import as_count_table, as_float_vector

#: Thresholds of |delta| for "negligible", "small", "medium", "large" (J. Romano, J. D.
#: Kromrey, J. Coraggio and J. Skowronek, "Appropriate statistics for ordinal level data",
#: Florida AIR 2006), the labels of R's effectsize and of many papers.
CLIFF_THRESHOLDS = (0.147, 0.33, 0.474)


@dataclass(frozen=True)
class RankEffectSize(_AsDict):
    """Result of :func:`reinfuse.stats.cliffs_delta` and :func:`reinfuse.stats.rank_biserial`.

    Attributes
    ----------
    estimate : float
        ``P(X > Y) - P(X < Y)`` over all (x, y) pairs, between -1 and 1; positive when the
        values of ``x`` tend to be larger.
    name : str
        ``"Cliff's delta"`` or ``"rank-biserial correlation"`` (the same number for two
        independent samples).
    method : str
        A sentence for a methods section.
    prob_greater, prob_less, prob_equal : float
        Shares of the ``n_x n_y`` pairs with x > y, x < y and x = y.
    magnitude : str
        ``"negligible"``, ``"small"``, ``"medium"`` or ``"large"`` by Romano et al.'s
        thresholds of |delta| (0.147, 0.33, 0.474).
    n_x, n_y : int
        Values per group; ``n`` their sum.
    n_missing_x, n_missing_y : int
        Missing values dropped.
    """

    estimate: float
    name: str
    method: str
    prob_greater: float
    prob_less: float
    prob_equal: float
    magnitude: str
    n: int
    n_x: int
    n_y: int
    n_missing_x: int
    n_missing_y: int


@dataclass(frozen=True)
class CramersVResult(_AsDict):
    """Result of :func:`reinfuse.stats.cramers_v`.

    ``estimate`` is Cramer's V (bias-corrected when ``bias_corrected``); ``chi_square`` is
    Pearson's statistic without continuity correction; ``n`` the total count.
    """

    estimate: float
    method: str
    n: int
    chi_square: float
    bias_corrected: bool
    rows: int
    columns: int


def _pair_shares(x: Any, y: Any) -> tuple[float, float, float, int, int, int, int]:
    a = as_float_vector(x, "x")
    b = as_float_vector(y, "y")
    miss_a, miss_b = int(np.isnan(a).sum()), int(np.isnan(b).sum())
    a, b = np.sort(a[~np.isnan(a)]), np.sort(b[~np.isnan(b)])
    if a.size == 0 or b.size == 0:
        raise StatisticsError(
            f"each group needs at least one value; got {a.size} in x and {b.size} in y "
            "after dropping missing values.")
    # For each x, the y values below it and equal to it (sorted y, binary search).
    below = np.searchsorted(b, a, side="left")
    not_above = np.searchsorted(b, a, side="right")
    pairs = float(a.size) * float(b.size)
    greater = float(below.sum())
    equal = float((not_above - below).sum())
    less = pairs - greater - equal
    return (greater / pairs, less / pairs, equal / pairs, int(a.size), int(b.size),
            miss_a, miss_b)


def _magnitude(delta: float) -> str:
    size = abs(delta)
    small, medium, large = CLIFF_THRESHOLDS
    if size < small:
        return "negligible"
    if size < medium:
        return "small"
    if size < large:
        return "medium"
    return "large"


def cliffs_delta(x: Any, y: Any) -> RankEffectSize:
    """Cliff's delta: how often values of x exceed values of y, minus the reverse.

    Parameters
    ----------
    x, y : array_like
        Two independent groups; missing values are dropped and counted.

    Returns
    -------
    RankEffectSize

    Notes
    -----
    ``delta = [#(x > y) - #(x < y)] / (n_x n_y)`` over all pairs (N. Cliff, Psychol Bull
    114 (1993) 494-509). It equals the rank-biserial correlation ``2 U_x / (n_x n_y) - 1``
    of the Mann-Whitney test, with ``U_x`` the pairs with x > y, ties counting 1/2 (D. S.
    Kerby, Compr Psychol 3 (2014)). Counted here with a sort and binary searches,
    ``O((n_x + n_y) log n)``.

    Examples
    --------
    >>> d = cliffs_delta([1, 2, 3], [2, 4])
    >>> d.estimate, d.magnitude
    (-0.5, 'large')
    """
    greater, less, equal, n_x, n_y, miss_x, miss_y = _pair_shares(x, y)
    delta = greater - less
    return RankEffectSize(
        estimate=delta, name="Cliff's delta",
        method=("Cliff's delta, the probability that a value of the first group exceeds one "
                "of the second minus the reverse (ties count as neither); magnitude by "
                "Romano et al.'s thresholds 0.147, 0.33, 0.474"),
        prob_greater=greater, prob_less=less, prob_equal=equal, magnitude=_magnitude(delta),
        n=n_x + n_y, n_x=n_x, n_y=n_y, n_missing_x=miss_x, n_missing_y=miss_y)


def rank_biserial(x: Any, y: Any) -> RankEffectSize:
    """Rank-biserial correlation for the Mann-Whitney test of two independent groups.

    Parameters
    ----------
    x, y : array_like
        Two independent groups; missing values are dropped and counted.

    Returns
    -------
    RankEffectSize
        ``estimate = 2 U_x / (n_x n_y) - 1``, positive when x tends to be larger.

    Notes
    -----
    ``U_x`` (the Mann-Whitney statistic of ``x``, :func:`reinfuse.stats.mann_whitney_u`'s
    ``u_x``) counts the pairs with x > y, ties 1/2; the correlation is Glass's (1966) and
    Kerby's (2014) "simple difference formula", numerically equal to Cliff's delta. Sign
    conventions differ between programs (pingouin has reported ``1 - 2 U / (n_x n_y)``
    with U of x in some versions, which flips the sign); here the sign says which group is
    larger.

    Examples
    --------
    >>> rank_biserial([1, 2, 3], [2, 4]).estimate
    -0.5
    """
    greater, less, equal, n_x, n_y, miss_x, miss_y = _pair_shares(x, y)
    u_x = (greater + 0.5 * equal) * n_x * n_y
    estimate = 2.0 * u_x / (n_x * n_y) - 1.0
    return RankEffectSize(
        estimate=estimate, name="rank-biserial correlation",
        method=("rank-biserial correlation 2U/(n1 n2) - 1 of the Mann-Whitney U of the first "
                "group (positive when the first group tends to be larger)"),
        prob_greater=greater, prob_less=less, prob_equal=equal, magnitude=_magnitude(estimate),
        n=n_x + n_y, n_x=n_x, n_y=n_y, n_missing_x=miss_x, n_missing_y=miss_y)


def cramers_v(table: Any, *, bias_correction: bool = False) -> CramersVResult:
    """Cramer's V for an r x c table of counts, optionally bias-corrected.

    Parameters
    ----------
    table : array_like
        Counts, at least 2 x 2 (e.g. response by indication).
    bias_correction : bool, default False
        Bergsma's correction, which removes the upward bias of V in small samples (R's
        ``effectsize::cramers_v(adjust = TRUE)``; pingouin's ``chi2_independence`` reports
        the uncorrected V).

    Returns
    -------
    CramersVResult

    Notes
    -----
    ``V = sqrt(chi2 / (n (min(r, c) - 1)))`` with Pearson's chi-squared without continuity
    correction (H. Cramer, *Mathematical Methods of Statistics*, 1946), computed by
    ``scipy.stats.contingency.association``. Bias-corrected (W. Bergsma, J Korean Stat
    Soc 42 (2013) 323-328): ``phi2 = max(0, chi2/n - (r - 1)(c - 1)/(n - 1))``, ``r~ = r -
    (r - 1)^2/(n - 1)``, ``c~ = c - (c - 1)^2/(n - 1)``, ``V = sqrt(phi2 / min(r~ - 1,
    c~ - 1))``.

    Examples
    --------
    >>> round(cramers_v([[10, 10, 10], [20, 10, 0]]).estimate, 6)
    0.471405
    """
    counts = as_count_table(table)
    if (counts.sum(axis=0) == 0).any() or (counts.sum(axis=1) == 0).any():
        raise StatisticsError(
            "the table has an empty row or column; Cramer's V is undefined. Drop it.")
    n = int(counts.sum())
    r, c = counts.shape
    expected = contingency.expected_freq(counts)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    if not bias_correction:
        estimate = float(contingency.association(counts, method="cramer", correction=False))
        how = "Cramer's V from Pearson's chi-squared without continuity correction"
    else:
        if n < 2:
            raise StatisticsError("the bias-corrected V needs a total count of at least 2.")
        phi2 = max(0.0, chi2 / n - (r - 1) * (c - 1) / (n - 1))
        r_tilde = r - (r - 1) ** 2 / (n - 1)
        c_tilde = c - (c - 1) ** 2 / (n - 1)
        denominator = min(r_tilde - 1, c_tilde - 1)
        estimate = math.sqrt(phi2 / denominator) if denominator > 0 else math.nan
        how = ("bias-corrected Cramer's V (Bergsma 2013) from Pearson's chi-squared without "
               "continuity correction")
    return CramersVResult(estimate=estimate, method=how, n=n, chi_square=chi2,
                          bias_corrected=bias_correction, rows=r, columns=c)
