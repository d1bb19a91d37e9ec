"""Confidence intervals: a binomial proportion, and the median (distribution-free)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._describe import present_values
from reinfuse.stats._results import MedianCIResult, ProportionResult
from reinfuse.stats._validate import check_choice, check_confidence_level, whole_number

ProportionCI = Literal["clopper-pearson", "wilson"]

_STATSMODELS_METHOD = {"clopper-pearson": "beta", "wilson": "wilson"}
_CI_WORDS = {
    "clopper-pearson": "exact (Clopper-Pearson)",
    "wilson": "Wilson score (without continuity correction)",
}


def _percent(level: float) -> str:
    return f"{100 * level:g}%"


def proportion(
    k: int,
    n: int,
    *,
    confidence_level: float = 0.95,
    method: ProportionCI = "clopper-pearson",
) -> ProportionResult:
    """Proportion ``k/n`` with a confidence interval (e.g. objective response 7/18).

    Parameters
    ----------
    k : int
        Number of subjects with the outcome (``0 <= k <= n``).
    n : int
        Number of subjects (``n >= 1``).
    confidence_level : float, default 0.95
        Two-sided confidence level, strictly between 0 and 1.
    method : {"clopper-pearson", "wilson"}, default "clopper-pearson"
        * ``"clopper-pearson"``: the "exact" interval, bounds
          ``Beta(a/2; k, n - k + 1)`` and ``Beta(1 - a/2; k + 1, n - k)`` quantiles
          (``a = 1 - confidence_level``; 0 when ``k = 0``, 1 when ``k = n``).
          Guarantees at least the nominal coverage; conventional in early-phase
          cell-therapy trials.
        * ``"wilson"``: the score interval
          ``(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with
          ``z`` the normal quantile; shorter, coverage close to nominal on average.

    Returns
    -------
    ProportionResult
        ``estimate = k/n``, ``ci_low``, ``ci_high``, ``confidence_level``, ``ci_method``.

    Raises
    ------
    StatisticsError
        ``k`` or ``n`` not whole numbers, ``n < 1``, ``k`` negative or above ``n``,
        an invalid confidence level or method.

    Notes
    -----
    Thin wrapper over ``statsmodels.stats.proportion.proportion_confint`` (methods
    ``"beta"`` and ``"wilson"``). References: C. J. Clopper and E. S. Pearson,
    Biometrika 26 (1934) 404-413; E. B. Wilson, JASA 22 (1927) 209-212.

    Examples
    --------
    Objective response in 7 of 18 patients (the seed study):

    >>> r = proportion(7, 18)
    >>> round(r.estimate, 3), round(r.ci_low, 3), round(r.ci_high, 3)
    (0.389, 0.173, 0.643)
    >>> w = proportion(7, 18, method="wilson")
    >>> round(w.ci_low, 3), round(w.ci_high, 3)
    (0.203, 0.614)
    """
    check_choice(method, tuple(_STATSMODELS_METHOD), "method")
    check_confidence_level(confidence_level)
    k_int = whole_number(k, "k")
    n_int = whole_number(n, "n")
    if n_int < 1:
        raise StatisticsError(f"n must be at least 1 subject; got n={n_int}.")
    if not 0 <= k_int <= n_int:
        raise StatisticsError(
            f"k must be between 0 and n={n_int}; got k={k_int}. k counts the subjects "
            "with the outcome among the n."
        )
    from statsmodels.stats.proportion import proportion_confint  # lazy: slow import

    low, high = proportion_confint(
        k_int, n_int, alpha=1.0 - confidence_level, method=_STATSMODELS_METHOD[method]
    )
    # Exact bounds at the edges (Clopper-Pearson is 0 at k = 0 and 1 at k = n by definition).
    if k_int == 0:
        low = 0.0
    if k_int == n_int:
        high = 1.0
    return ProportionResult(
        k=k_int,
        n=n_int,
        estimate=k_int / n_int,
        ci_low=float(low),
        ci_high=float(high),
        confidence_level=float(confidence_level),
        ci_method=method,
        method=(
            f"proportion with {_CI_WORDS[method]} {_percent(confidence_level)} confidence interval"
        ),
    )


def median_ci(values: Any, *, confidence_level: float = 0.95) -> MedianCIResult:
    """Median with a distribution-free confidence interval from order statistics.

    Parameters
    ----------
    values : array_like
        Numbers; missing values are dropped and counted.
    confidence_level : float, default 0.95
        Minimum coverage wanted, strictly between 0 and 1.

    Returns
    -------
    MedianCIResult
        ``median``, ``ci_low = x_(k)``, ``ci_high = x_(n-k+1)`` (1-based order
        statistics), ``lower_rank = k``, ``upper_rank``, and ``achieved_confidence``.

    Raises
    ------
    StatisticsError
        No non-missing value, or a sample too small for any interval to reach the
        requested confidence (e.g. n <= 5 at 95%: even [min, max] covers only
        1 - 2/2**n).

    Notes
    -----
    For a continuous distribution the number of observations below the population
    median is Binomial(n, 1/2), so ``[x_(k), x_(n-k+1)]`` covers the median with
    probability ``1 - 2 P(B <= k - 1)``. The largest ``k`` whose coverage is at least
    ``confidence_level`` is used, so the achieved confidence (reported) is usually above
    the nominal one (e.g. n = 18: ranks 5 and 14, 96.9%). This is the binomial method of
    e.g. Conover, *Practical Nonparametric Statistics* (3rd ed., 1999), section 3.2;
    ties in the data make the interval conservative.

    Examples
    --------
    >>> r = median_ci(range(1, 19))
    >>> r.lower_rank, r.upper_rank, r.ci_low, r.ci_high, round(r.achieved_confidence, 4)
    (5, 14, 5.0, 14.0, 0.9691)
    """
    check_confidence_level(confidence_level)
    present, n_missing = present_values(values, "values")
    ordered = np.sort(present)
    n = int(ordered.size)
    alpha = 1.0 - confidence_level
    # coverage(k) = 1 - 2 * P(B <= k - 1), decreasing in k; find the largest k that keeps
    # coverage >= confidence_level.
    ks = np.arange(1, n // 2 + 2)
    tails = stats.binom.cdf(ks - 1, n, 0.5)
    ok = ks[(2.0 * tails <= alpha + 1e-12) & (ks <= n - ks + 1)]
    if ok.size == 0:
        widest = 1.0 - 2.0 * 0.5**n
        raise StatisticsError(
            f"with n={n} value(s) no distribution-free interval reaches "
            f"{_percent(confidence_level)} confidence (even [minimum, maximum] covers "
            f"{100 * widest:.2f}%); lower confidence_level or report the range instead."
        )
    k = int(ok.max())
    achieved = 1.0 - 2.0 * float(stats.binom.cdf(k - 1, n, 0.5))
    return MedianCIResult(
        median=float(np.median(ordered)),
        ci_low=float(ordered[k - 1]),
        ci_high=float(ordered[n - k]),
        confidence_level=float(confidence_level),
        achieved_confidence=achieved,
        lower_rank=k,
        upper_rank=n - k + 1,
        n=n,
        n_missing=n_missing,
        method=(
            f"median with distribution-free {_percent(confidence_level)} confidence interval "
            f"from order statistics (binomial method; actual confidence "
            f"{100 * achieved:.1f}%)"
        ),
    )
