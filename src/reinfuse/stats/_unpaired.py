"""Mann-Whitney U test (Wilcoxon rank-sum test) for two independent samples."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._describe import summarize_group
from reinfuse.stats._exact import doubled_ranks, rank_sum_distribution, untied_u_pvalue
from reinfuse.stats._rank_common import (
    exact_pvalue,
    normal_phrase,
    normal_pvalue,
    round_significant,
)
from reinfuse.stats._results import MannWhitneyResult
from reinfuse.stats._validate import as_float_vector, check_alternative, check_choice

RankSumMethod = Literal["auto", "exact", "permutation", "normal"]
Alternative = Literal["two-sided", "less", "greater"]

#: "auto" is exact when the smaller group has at most this many values (GraphPad Prism 6+:
#: "It computes an exact P value when the size of the smallest sample is less than or
#: equal to 100").
EXACT_SMALLER_GROUP_LIMIT = 100
#: ... and the two groups together have at most this many values (a speed guard of this
#: implementation: the exact computation for 100 + 150 values takes about a second).
EXACT_TOTAL_LIMIT = 250


def mann_whitney_u(
    x: Any,
    y: Any,
    *,
    method: RankSumMethod = "auto",
    correction: bool = True,
    alternative: Alternative = "two-sided",
) -> MannWhitneyResult:
    """Mann-Whitney U test (Wilcoxon rank-sum test) comparing two independent groups.

    All values are ranked together (ties get their mean rank, the "midrank").
    ``U_x = R_x - n_x (n_x + 1) / 2`` where ``R_x`` is the rank sum of ``x``; it counts
    the (x, y) pairs with ``x > y``, a tie counting 1/2. ``U_y = n_x n_y - U_x``.

    Parameters
    ----------
    x, y : array_like
        The two groups (e.g. CART2 expansion with intensified vs standard
        lymphodepletion). Missing values (None/NaN/``pd.NA``) are dropped and counted.
    method : {"auto", "exact", "permutation", "normal"}, default "auto"
        How the p-value is computed:

        * ``"exact"``: the exact null distribution of the rank sum without ties (every
          one of the ``C(n_x + n_y, n_x)`` assignments of ranks to groups equally
          likely). Refused (StatisticsError) when the pooled sample has ties.
        * ``"permutation"``: the exact conditional distribution of the rank sum given
          the observed midranks (ties included), counted by a generating-function
          recursion over tie groups (all ``C(N, n_x)`` splits, none sampled). Without
          ties it equals ``"exact"``.
        * ``"normal"``: normal approximation, mean ``n_x n_y / 2`` and variance
          ``n_x n_y / 12 * ((N + 1) - sum(t**3 - t) / (N (N - 1)))`` over tie groups of
          size ``t`` (``N = n_x + n_y``), continuity correction per ``correction``.
        * ``"auto"`` (the default) follows GraphPad Prism 6 and later: when the smaller
          group has at most 100 values, ``"exact"`` without ties and ``"permutation"``
          with ties; otherwise ``"normal"``. One extra guard of this implementation: if
          the two groups total more than 250 values, ``"normal"`` is used (the exact
          computation grows like ``N**2 m**2``; at that size the approximation agrees
          to about three decimals).

    correction : bool, default True
        Continuity correction (0.5 toward the mean) in the normal approximation.
        Ignored by the exact computations.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: values of ``x`` tend to be larger than values of ``y``.

    Returns
    -------
    MannWhitneyResult
        ``statistic`` is ``U_x`` (R's ``W`` for ``wilcox.test(x, y)``); ``u_x``, ``u_y``,
        ``u_min`` (the "U" Prism prints), rank sums and mean ranks, ``pvalue``,
        ``method`` (a sentence), ``distribution`` (the computation used), group sizes,
        missing counts and the median/range of each group.

    Raises
    ------
    StatisticsError
        A group has no non-missing value; every value in both groups is identical;
        non-numeric or infinite values; an option is not recognised;
        ``method="exact"`` with ties; an exact computation too large to hold in memory.

    Notes
    -----
    *Why "auto" is exact even with ties.* GraphPad Prism's guide ("How the Mann-Whitney
    test works", Prism 7-10): "In most cases (including when ties are present), Prism
    calculates an exact P value ... It computes an exact P value when the size of the
    smallest sample is less than or equal to 100, and otherwise computes an approximate
    one"; and ("Why the results of Mann-Whitney test can differ from prior versions of
    Prism"): "Prism 6 and later, unlike most programs, computes an exact P value even in
    the presence of ties. Prism 5 and earlier versions always computed an approximate P
    value". The seed study used Prism; this default reproduces its p-values. R's
    ``wilcox.test`` uses the normal approximation whenever there are ties (or a group
    has 50 or more values), SciPy 1.17's ``"auto"`` whenever there are ties or both groups
    exceed 8 values: choose ``method="normal"`` to match them.

    *Two-sided p-value.* The probability of a rank sum at least as far from its null mean
    as the observed one, in either direction: Prism's "chance that random sampling would
    result in the mean ranks being as far apart (or more so) as observed", also the rule
    of StatXact and of R's ``coin`` package. Without ties the null distribution is
    symmetric and this equals ``min(1, 2 * one-sided p)`` (R's ``wilcox.test``). With
    ties the conditional distribution can be asymmetric and the two rules can differ in
    the third decimal; doubling the one-sided p (SciPy's ``permutation_test``) is not used.

    *Ties from floating point.* Values are rounded to 12 significant digits before
    ranking, so values equal on paper but computed differently (0.1 + 0.2 and 0.3) tie.

    References: H. B. Mann and D. R. Whitney, Ann. Math. Statist. 18 (1947) 50-60;
    F. Wilcoxon, Biometrics Bulletin 1 (1945) 80-83; E. L. Lehmann, *Nonparametrics*
    (1975), ch. 1 (tie correction of the variance).

    Examples
    --------
    R's ``wilcox.test`` documentation example (permeability constants):

    >>> x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> y = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> r = mann_whitney_u(x, y)
    >>> r.statistic, round(r.pvalue, 4), r.distribution
    (35.0, 0.2544, 'exact')
    >>> round(mann_whitney_u(x, y, alternative="greater").pvalue, 4)
    0.1272
    """
    check_choice(method, ("auto", "exact", "permutation", "normal"), "method")
    check_alternative(alternative)
    xa = as_float_vector(x, "x")
    ya = as_float_vector(y, "y")
    x_missing = np.isnan(xa)
    y_missing = np.isnan(ya)
    xv = xa[~x_missing]
    yv = ya[~y_missing]
    for name, values, missing in (("x", xv, x_missing), ("y", yv, y_missing)):
        if values.size == 0:
            raise StatisticsError(
                f"group {name} has no non-missing value ({missing.size} value(s) given, "
                f"{int(missing.sum())} missing); each group needs at least one value."
            )
    n_x, n_y = int(xv.size), int(yv.size)
    n_total = n_x + n_y
    pooled = round_significant(np.concatenate([xv, yv]))
    n_distinct = int(np.unique(pooled).size)
    if n_distinct == 1:
        raise StatisticsError(
            f"every one of the {n_total} values equals {pooled[0]!r}, so the groups cannot "
            "be ordered; the Mann-Whitney test is undefined (report the groups as identical)."
        )
    has_ties = n_distinct < n_total
    ranks = stats.rankdata(pooled)
    rank_sum_x = float(ranks[:n_x].sum())
    rank_sum_y = float(ranks[n_x:].sum())
    u_x = rank_sum_x - n_x * (n_x + 1) / 2.0
    u_y = n_x * n_y - u_x

    auto_normal = False
    if method == "auto":
        if min(n_x, n_y) <= EXACT_SMALLER_GROUP_LIMIT and n_total <= EXACT_TOTAL_LIMIT:
            distribution = "permutation" if has_ties else "exact"
        else:
            distribution = "normal"
            auto_normal = True
    elif method == "exact" and has_ties:
        raise StatisticsError(
            f"method='exact' needs untied values, but the pooled sample has ties "
            f"({n_total} values, {n_distinct} distinct); use method='permutation' (exact "
            "conditional distribution) or method='normal'."
        )
    else:
        distribution = method

    z: float | None = None
    if distribution == "normal":
        deviation = u_x - n_x * n_y / 2.0
        variance = n_x * n_y * float(((ranks - ranks.mean()) ** 2).sum())
        variance /= n_total * (n_total - 1)
        z, pvalue = normal_pvalue(deviation, variance, alternative, correction)
    elif distribution == "exact":
        # Without ties the null distribution is the classical one (a q-binomial
        # coefficient, cached per pair of group sizes), far faster than the general table
        # below. Its two-sided p doubles the smaller tail, which equals this module's
        # "at least as far from the centre" rule because the untied distribution is
        # symmetric (checked against the table and SciPy in tests/stats).
        pvalue = untied_u_pvalue(u_x, n_x, n_y, alternative)
    else:
        # Work with the smaller group's rank sum (a smaller table); "greater" for x means
        # a large rank sum of x, i.e. a small rank sum of y.
        use_x = n_x <= n_y
        m = n_x if use_x else n_y
        doubled = doubled_ranks(ranks)
        dist = rank_sum_distribution(doubled, m)
        observed = rank_sum_x if use_x else rank_sum_y
        tail = alternative
        if not use_x and alternative != "two-sided":
            tail = "less" if alternative == "greater" else "greater"
        pvalue = exact_pvalue(dist, observed, 2 * m * (n_total + 1), tail)

    return MannWhitneyResult(
        statistic=u_x,
        pvalue=float(pvalue),
        method=_method_sentence(distribution, alternative, has_ties, correction, auto_normal),
        n=n_total,
        distribution=distribution,
        u_x=u_x,
        u_y=u_y,
        u_min=min(u_x, u_y),
        rank_sum_x=rank_sum_x,
        rank_sum_y=rank_sum_y,
        mean_rank_x=rank_sum_x / n_x,
        mean_rank_y=rank_sum_y / n_y,
        z=z,
        n_x=n_x,
        n_y=n_y,
        n_missing_x=int(x_missing.sum()),
        n_missing_y=int(y_missing.sum()),
        has_ties=has_ties,
        alternative=alternative,
        x_summary=summarize_group(xv),
        y_summary=summarize_group(yv),
    )


def _method_sentence(
    distribution: str, alternative: str, has_ties: bool, correction: bool, auto_normal: bool
) -> str:
    if alternative == "two-sided":
        sided = "two-sided"
    else:
        sided = f"one-sided (alternative: x {'>' if alternative == 'greater' else '<'} y)"
    if distribution == "exact":
        how = "exact distribution"
    elif distribution == "permutation":
        how = "exact conditional distribution (permutation)"
        if has_ties:
            how += " because of ties"
    else:
        how = normal_phrase(has_ties, correction)
        if auto_normal:
            how += (
                f" (smaller group over {EXACT_SMALLER_GROUP_LIMIT} values or more than "
                f"{EXACT_TOTAL_LIMIT} values in all)"
            )
    return f"{sided} Mann-Whitney U test (Wilcoxon rank-sum test), {how}"
