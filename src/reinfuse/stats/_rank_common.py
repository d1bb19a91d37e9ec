"""Pieces shared by the two rank tests: normal approximation, wording of the method."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from reinfuse.stats._exact import doubled_ranks, tail_probabilities


def normal_pvalue(
    deviation: float, variance: float, alternative: str, correction: bool
) -> tuple[float, float]:
    """Return ``(z, p)`` for a statistic ``deviation`` away from its null mean.

    The continuity correction moves the statistic 0.5 toward the null mean: for a
    two-sided test ``|deviation|`` shrinks by 0.5 (never below zero, so a statistic within
    0.5 of its mean gets p = 1); for ``"greater"`` 0.5 is subtracted, for ``"less"`` it is
    added. This is the correction of R's ``wilcox.test`` and of GraphPad Prism
    (``Z = (|T - mean| - 0.5) / sigma``).
    """
    sd = math.sqrt(variance)
    if alternative == "two-sided":
        distance = abs(deviation)
        if correction:
            distance = max(distance - 0.5, 0.0)
        z = math.copysign(distance / sd, deviation) if deviation != 0 else 0.0
        return z, float(min(1.0, 2.0 * stats.norm.sf(distance / sd)))
    if alternative == "greater":
        z = (deviation - (0.5 if correction else 0.0)) / sd
        return z, float(stats.norm.sf(z))
    z = (deviation + (0.5 if correction else 0.0)) / sd
    return z, float(stats.norm.cdf(z))


def exact_pvalue(
    dist: NDArray[np.float64], observed_sum: float, total_doubled: int, alternative: str
) -> float:
    """p-value of a (doubled-integer) rank sum against its exact null distribution.

    ``total_doubled`` is twice the null mean of the doubled sum, i.e. the integer
    ``2 * E[2 S]``; ``alternative`` refers to large values of the sum ("greater").
    """
    observed = int(doubled_ranks(np.asarray([observed_sum]))[0])
    p_le, p_ge, p_two = tail_probabilities(dist, observed, total_doubled)
    if alternative == "greater":
        return p_ge
    if alternative == "less":
        return p_le
    return p_two


def normal_phrase(has_ties: bool, correction: bool) -> str:
    """Wording of the normal approximation actually used."""
    parts = []
    if has_ties:
        parts.append("tie correction")
    if correction:
        parts.append("continuity correction")
    if not parts:
        return "normal approximation without continuity correction"
    phrase = "normal approximation with " + " and ".join(parts)
    if not correction:
        phrase += ", without continuity correction"
    return phrase


def round_significant(values: NDArray[np.float64], digits: int = 12) -> NDArray[np.float64]:
    """Round to ``digits`` significant digits (removes floating-point subtraction noise).

    Each distinct value is rounded once (decimal formatting, exact), then mapped back: a
    large sample repeats few values (ages, counts).

    Examples
    --------
    >>> round_significant(np.array([0.1 + 0.2, 0.3, 2.0]), digits=12).tolist()
    [0.3, 0.3, 2.0]
    """
    flat = np.asarray(values, dtype=float).ravel()
    distinct, where = np.unique(flat, return_inverse=True)
    rounded = np.array([float(f"{v:.{digits}g}") for v in distinct.tolist()], dtype=float)
    return rounded[where].reshape(np.shape(values))
