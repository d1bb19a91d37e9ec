"""Difference of two independent proportions with a confidence interval."""

from __future__ import annotations

from dataclasses import dataclass

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._validate import check_confidence_level, whole_number


@dataclass(frozen=True)
class ProportionDifference(_AsDict):
    """``k1/n1 - k2/n2`` with its confidence interval and the method in words."""

    difference: float
    ci_low: float
    ci_high: float
    confidence_level: float
    k1: int
    n1: int
    k2: int
    n2: int
    method: str


def proportion_difference(k1: int, n1: int, k2: int, n2: int, *,
                          confidence_level: float = 0.95) -> ProportionDifference:
    """Difference of two independent proportions, Newcombe's hybrid score interval.

    Raises
    ------
    StatisticsError
        Counts that are not whole numbers, negative, ``k > n`` or ``n = 0``, or a
        confidence level outside (0, 1).

    Notes
    -----
    Newcombe (Stat Med 1998;17:873-890), method 10: the Wilson score intervals of each
    proportion combined; recommended over the Wald interval for small samples. Computed by
    ``statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")``.

    Examples
    --------
    Newcombe's worked example (1998, Table II): 56/70 vs 48/80 gives a difference of 0.2000
    with 95% CI 0.0524 to 0.3339.

    >>> r = proportion_difference(56, 70, 48, 80)
    >>> round(r.difference, 4), round(r.ci_low, 4), round(r.ci_high, 4)
    (0.2, 0.0524, 0.3339)
    """
    check_confidence_level(confidence_level)
    k1, n1, k2, n2 = (whole_number(v, name) for name, v in
                      (("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2)))
    for name, value in (("k1", k1), ("n1", n1), ("k2", k2), ("n2", n2)):
        if value < 0:
            raise StatisticsError(f"{name} must not be negative; got {value}.")
    if n1 == 0 or n2 == 0 or k1 > n1 or k2 > n2:
        raise StatisticsError(f"proportions need 0 <= k <= n and n > 0; got {k1}/{n1} and "
                              f"{k2}/{n2}.")
    from statsmodels.stats.proportion import confint_proportions_2indep  # lazy import

    low, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff",
                                           alpha=1 - confidence_level)
    return ProportionDifference(
        difference=k1 / n1 - k2 / n2, ci_low=float(low), ci_high=float(high),
        confidence_level=confidence_level, k1=k1, n1=n1, k2=k2, n2=n2,
        method=f"difference in proportions with a {confidence_level * 100:g}% Newcombe hybrid "
               "score confidence interval")
