"""Wilcoxon signed-rank test for paired samples (or one sample against zero)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._describe import summarize_group
from reinfuse.stats._exact import doubled_ranks, signed_rank_distribution
from reinfuse.stats._rank_common import (
    exact_pvalue,
    normal_phrase,
    normal_pvalue,
    round_significant,
)
from reinfuse.stats._results import WilcoxonResult
from reinfuse.stats._validate import as_float_vector, check_alternative, check_choice

ZeroMethod = Literal["wilcox", "pratt"]
SignedRankMethod = Literal["auto", "exact", "permutation", "normal"]
Alternative = Literal["two-sided", "less", "greater"]

#: "auto" computes the p-value exactly when fewer than this many differences are ranked
#: (GraphPad Prism: "If there are fewer than 200 pairs, Prism calculates an exact P value").
EXACT_PAIRS_LIMIT = 200


def wilcoxon_signed_rank(
    x: Any,
    y: Any = None,
    *,
    zero_method: ZeroMethod = "wilcox",
    method: SignedRankMethod = "auto",
    correction: bool = True,
    alternative: Alternative = "two-sided",
) -> WilcoxonResult:
    """Wilcoxon signed-rank test of paired samples ``x``, ``y`` (or of ``x`` against 0).

    The differences ``d = x - y`` are ranked by absolute value (tied absolute values get
    their mean rank, the "midrank"); ``W+`` is the sum of the ranks of positive
    differences and ``W-`` that of negative ones. Under the null hypothesis (differences
    symmetric about zero) every difference is equally likely to be positive or negative.

    Parameters
    ----------
    x, y : array_like
        Paired measurements of equal length (e.g. CART1 and CART2 expansion per patient).
        If ``y`` is None, ``x`` holds the differences themselves. A pair with a missing
        value (None/NaN/``pd.NA``) in either position is dropped and counted in
        ``n_missing``.
    zero_method : {"wilcox", "pratt"}, default "wilcox"
        Zero differences. ``"wilcox"``: dropped before ranking (Wilcoxon's reduced-sample
        method; the only method in GraphPad Prism <= 5, an option later). ``"pratt"``:
        ranked together with the others, then left out of ``W+`` and ``W-`` (Pratt 1959).
    method : {"auto", "exact", "permutation", "normal"}, default "auto"
        How the p-value is computed:

        * ``"exact"``: the exact null distribution of ``W+`` for untied ranks 1..n. Refused
          (StatisticsError) when absolute differences are tied or when Pratt's method
          ranks zero differences, because the classical table does not apply.
        * ``"permutation"``: the exact conditional distribution of ``W+`` given the
          observed (mid)ranks: all ``2**n`` equally likely sign assignments, counted by a
          generating-function recursion rather than enumerated, so it is exact and fast
          for any ``n`` up to 2,000. Without ties it equals ``"exact"``.
        * ``"normal"``: normal approximation, ``z = (W+ - mean) / sd`` with
          ``mean = sum(r) / 2`` and ``var = sum(r**2) / 4`` over the signed ranks ``r``;
          without ties this is ``n(n+1)/4`` and ``n(n+1)(2n+1)/24``, and ties reduce the
          variance by ``sum(t**3 - t) / 48`` over tie groups of size ``t``. Continuity
          correction per ``correction``.
        * ``"auto"`` (the default) follows GraphPad Prism 6 and later: with fewer than
          200 non-zero differences (``n < 200``, zero differences not counted),
          ``"exact"`` when the absolute differences are untied (and Pratt's method has
          no zeros to rank), otherwise ``"permutation"``; with ``n >= 200``,
          ``"normal"``. (Prism's text says "fewer than 200 pairs"; whether it counts
          pairs before or after dropping zeros is not documented, and the two readings
          differ only for 200+ pairs with zeros.)

    correction : bool, default True
        Apply the continuity correction (0.5 toward the mean) in the normal approximation.
        Ignored by the exact computations.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: ``x`` tends to be larger than ``y`` (differences shifted above 0).

    Returns
    -------
    WilcoxonResult
        ``statistic`` is ``W+`` (R's ``V``); ``w_plus``, ``w_minus``, ``w_signed``
        (``W+ - W-``, what Prism prints as "sum of signed ranks (W)"); ``pvalue``;
        ``method`` (a sentence); ``distribution`` (the computation used); ``n`` (ranked,
        non-zero differences); ``n_pairs``, ``n_zero``, ``n_missing``; median and range
        of ``x`` and ``y`` and the median difference.

    Raises
    ------
    StatisticsError
        Lengths differ; no complete pair; every difference is zero; non-numeric or
        infinite values; an option is not recognised; ``method="exact"`` with ties or
        Pratt-ranked zeros.

    Notes
    -----
    *Why "auto" is exact even with ties.* GraphPad Prism's guide ("How the Wilcoxon
    matched pairs test works", Prism 7-10): "If there are fewer than 200 pairs, Prism
    calculates an exact P value ... Prism 6 and later can do this even if there are ties.
    With more than 200 pairs, it calculates the P value from a Gaussian approximation."
    Prism's guide cites Klotz (1963) for the exact computation with ties, i.e. the exact
    conditional (permutation) distribution given the midranks, which ``"permutation"``
    computes. The seed study used Prism, so this default reproduces its p-values. Other
    software differs: Prism 5 and earlier and R's ``wilcox.test`` use the normal
    approximation whenever there are ties or zeros (``method="normal"`` matches R);
    SciPy 1.17's ``"auto"`` enumerates sign patterns only up to 13 pairs with ties and
    by default applies no continuity correction.

    *Two-sided p-value.* The probability of a ``W+`` at least as far from its null mean
    as the observed one, in either direction. Because the null distribution is symmetric
    this equals ``min(1, 2 * min(P(W+ <= w), P(W+ >= w)))`` (R's and SciPy's rule).

    *Prism's worked example.* Before = 11, 15, 36, 23, 37, 16, 19, 7 and after = 12, 14,
    45, 35, 22, 24, 29, 11 give ``W+ = 26.5`` and ``W- = 9.5`` (for after - before) and
    an exact conditional two-sided p of 68/256 = 0.265625. GraphPad's knowledge base
    prints 0.2565 for this example: a transposition typo of 0.2656 (the test suite
    enumerates all 256 sign patterns to confirm 68/256).

    *Ties from floating point.* Differences are rounded to 12 significant digits before
    ranking so that decimal inputs whose differences are equal on paper (1.3 - 1.29 and
    2.3 - 2.29) tie as they would by hand.

    References: F. Wilcoxon, Biometrics Bulletin 1 (1945) 80-83; J. W. Pratt, JASA 54
    (1959) 655-667; J. Klotz, Ann. Math. Statist. 34 (1963) 624-632; GraphPad knowledge
    base article #332 (zero differences dropped, continuity correction 0.5).

    Examples
    --------
    >>> before = [11, 15, 36, 23, 37, 16, 19, 7]
    >>> after = [12, 14, 45, 35, 22, 24, 29, 11]
    >>> r = wilcoxon_signed_rank(after, before)
    >>> r.w_plus, r.w_minus, r.pvalue
    (26.5, 9.5, 0.265625)
    >>> print(r.method)  # doctest: +NORMALIZE_WHITESPACE
    two-sided Wilcoxon signed-rank test, exact conditional distribution (permutation)
    because of ties; zero differences dropped (Wilcoxon's method)
    """
    check_choice(zero_method, ("wilcox", "pratt"), "zero_method")
    check_choice(method, ("auto", "exact", "permutation", "normal"), "method")
    check_alternative(alternative)

    xa = as_float_vector(x, "x")
    if y is None:
        keep = ~np.isnan(xa)
        diffs = xa[keep]
        x_complete = diffs
        y_complete = None
    else:
        ya = as_float_vector(y, "y")
        if xa.size != ya.size:
            raise StatisticsError(
                f"x and y must be paired (same length); got {xa.size} and {ya.size} values. "
                "Put both measurements of a subject at the same position."
            )
        keep = ~np.isnan(xa) & ~np.isnan(ya)
        x_complete = xa[keep]
        y_complete = ya[keep]
        diffs = x_complete - y_complete
    n_missing = int((~keep).sum())
    n_pairs = int(diffs.size)
    if n_pairs == 0:
        raise StatisticsError(
            f"no complete pair to test ({n_missing} pair(s), every one with a missing "
            "value); the signed-rank test needs at least one pair with both values."
        )
    diffs = round_significant(diffs)
    zero = diffs == 0
    n_zero = int(zero.sum())
    if n_zero == n_pairs:
        raise StatisticsError(
            f"all {n_pairs} difference(s) are zero, so there is nothing to rank; the "
            "signed-rank test is undefined (report that the paired values are identical)."
        )

    if zero_method == "wilcox":
        signed = diffs[~zero]
        ranks = stats.rankdata(np.abs(signed))
    else:
        all_ranks = stats.rankdata(np.abs(diffs))
        signed = diffs[~zero]
        ranks = all_ranks[~zero]
    n = int(signed.size)
    w_plus = float(ranks[signed > 0].sum())
    w_minus = float(ranks[signed < 0].sum())
    has_ties = bool(np.unique(np.abs(signed)).size < n)
    pratt_zeros = zero_method == "pratt" and n_zero > 0
    untied = not has_ties and not pratt_zeros

    auto_normal = False
    if method == "auto":
        if n < EXACT_PAIRS_LIMIT:
            distribution = "exact" if untied else "permutation"
        else:
            distribution = "normal"
            auto_normal = True
    elif method == "exact" and not untied:
        reason = "tied absolute differences" if has_ties else "zero differences ranked by Pratt"
        raise StatisticsError(
            f"method='exact' needs untied ranks 1..n, but the data have {reason}; use "
            "method='permutation' (exact conditional distribution) or method='normal'."
        )
    else:
        distribution = method

    z: float | None = None
    if distribution == "normal":
        deviation = w_plus - float(ranks.sum()) / 2.0
        variance = float((ranks**2).sum()) / 4.0
        z, pvalue = normal_pvalue(deviation, variance, alternative, correction)
    else:
        doubled = doubled_ranks(ranks)
        dist = signed_rank_distribution(doubled)
        pvalue = exact_pvalue(dist, w_plus, int(doubled.sum()), alternative)

    sentence = _method_sentence(
        distribution=distribution,
        alternative=alternative,
        one_sample=y is None,
        has_ties=has_ties,
        pratt_zeros=pratt_zeros,
        zero_method=zero_method,
        correction=correction,
        auto_normal=auto_normal,
    )
    return WilcoxonResult(
        statistic=w_plus,
        pvalue=float(pvalue),
        method=sentence,
        n=n,
        distribution=distribution,
        w_plus=w_plus,
        w_minus=w_minus,
        w_signed=w_plus - w_minus,
        z=z,
        n_pairs=n_pairs,
        n_zero=n_zero,
        n_missing=n_missing,
        has_ties=has_ties,
        alternative=alternative,
        zero_method=zero_method,
        median_difference=float(np.median(diffs)),
        x_summary=summarize_group(x_complete),
        y_summary=None if y_complete is None else summarize_group(y_complete),
    )


def _method_sentence(
    *,
    distribution: str,
    alternative: str,
    one_sample: bool,
    has_ties: bool,
    pratt_zeros: bool,
    zero_method: str,
    correction: bool,
    auto_normal: bool,
) -> str:
    if alternative == "two-sided":
        sided = "two-sided"
    else:
        sign = ">" if alternative == "greater" else "<"
        target = f"median {sign} 0" if one_sample else f"x {sign} y"
        sided = f"one-sided (alternative: {target})"
    if distribution == "exact":
        how = "exact distribution"
    elif distribution == "permutation":
        reasons = [r for r, on in (("ties", has_ties), ("zero differences", pratt_zeros)) if on]
        how = "exact conditional distribution (permutation)"
        if reasons:
            how += " because of " + " and ".join(reasons)
    else:
        how = normal_phrase(has_ties, correction)
        if auto_normal:
            how += f" ({EXACT_PAIRS_LIMIT} or more pairs)"
    if zero_method == "wilcox":
        zeros = "zero differences dropped (Wilcoxon's method)"
    else:
        zeros = "zero differences ranked, then left out of the signed-rank sums (Pratt's method)"
    return f"{sided} Wilcoxon signed-rank test, {how}; {zeros}"
