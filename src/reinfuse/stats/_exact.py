"""Exact null distributions of rank statistics, ties included.

Both distributions are computed by dynamic programming over *doubled* midranks, which are
always integers (a midrank is a whole number or a whole number plus one half). Working on
integers makes every comparison with the observed statistic exact, so no floating-point
tolerance decides whether a boundary outcome counts toward the p-value.

* :func:`signed_rank_distribution` is the distribution of the sum of the ranks that carry a
  positive sign when each sign is + or - with probability 1/2 independently (the
  permutation distribution of the Wilcoxon signed-rank statistic, conditional on the
  observed ranks). With untied ranks 1..n it is the classical exact distribution; with
  midranks it is the exact conditional distribution (Klotz's approach, which GraphPad Prism
  documents for its exact p-values with ties).
* :func:`rank_sum_distribution` is the distribution of the rank sum of a group of ``m``
  values drawn without replacement from the pooled (mid)ranks, every subset equally likely
  (the permutation distribution of the Wilcoxon-Mann-Whitney statistic, conditional on the
  observed ties).

Both are the generating-function ("shift") algorithm: one convolution per rank or per tie
group, so the cost is polynomial (not 2**n or C(N, m) enumerations).
"""

from __future__ import annotations

from functools import cache
from math import comb

import numpy as np
from numpy.typing import NDArray

from reinfuse.errors import StatisticsError

#: Refuse a rank-sum table with more cells than this (about 160 MB of float64).
MAX_RANK_SUM_CELLS = 20_000_000
#: Above this many ranks the signed-rank distribution is not computed exactly on request.
MAX_SIGNED_RANK_N = 2_000


def doubled_ranks(ranks: NDArray[np.float64]) -> NDArray[np.int64]:
    """Return ``2 * ranks`` as exact integers (midranks are multiples of 1/2)."""
    doubled = np.rint(2.0 * np.asarray(ranks, dtype=float)).astype(np.int64)
    return doubled


def signed_rank_distribution(doubled: NDArray[np.int64]) -> NDArray[np.float64]:
    """Null distribution of the doubled positive-rank sum under random signs.

    Parameters
    ----------
    doubled : ndarray of int
        Twice the (mid)ranks that carry a sign (zero differences excluded).

    Returns
    -------
    ndarray of float
        ``p[s]`` is the probability that twice the positive-rank sum equals ``s``, for
        ``s = 0 .. doubled.sum()``.
    """
    if doubled.size > MAX_SIGNED_RANK_N:
        raise StatisticsError(
            f"an exact signed-rank distribution was asked for {doubled.size} pairs; the "
            f"limit is {MAX_SIGNED_RANK_N}. Use method='normal' for samples this large."
        )
    total = int(doubled.sum())
    dist = np.zeros(total + 1, dtype=float)
    dist[0] = 1.0
    top = 0
    for a in np.sort(doubled):
        a = int(a)
        # Each rank is positive or negative with probability 1/2.
        shifted = dist[: top + 1].copy()
        dist[: top + 1] *= 0.5
        dist[a : a + top + 1] += 0.5 * shifted
        top += a
    return dist


def rank_sum_distribution(doubled: NDArray[np.int64], m: int) -> NDArray[np.float64]:
    """Null distribution of twice the rank sum of ``m`` values drawn from ``doubled / 2``.

    Parameters
    ----------
    doubled : ndarray of int
        Twice the midranks of the whole pooled sample (length ``N``).
    m : int
        Size of the group whose rank sum is the statistic (``1 <= m < N``).

    Returns
    -------
    ndarray of float
        ``p[s]`` is the probability that twice the rank sum of a random subset of size
        ``m`` equals ``s`` (every one of the ``C(N, m)`` subsets equally likely).
    """
    values, counts = np.unique(doubled, return_counts=True)
    n_total = int(counts.sum())
    # Largest possible doubled sum of m values: the m largest.
    top_m = int(np.sort(doubled)[n_total - m :].sum())
    cells = (m + 1) * (top_m + 1)
    if cells > MAX_RANK_SUM_CELLS:
        raise StatisticsError(
            f"the exact rank-sum distribution for groups of {m} and {n_total - m} values "
            f"needs a table of {cells:,} cells (limit {MAX_RANK_SUM_CELLS:,}). Use "
            "method='normal' for samples this large."
        )
    # table[k, s]: number of ways to choose k of the values seen so far with doubled sum s.
    table = np.zeros((m + 1, top_m + 1), dtype=float)
    table[0, 0] = 1.0
    seen = 0  # number of pooled values processed so far
    reach = 0  # largest doubled sum reachable so far
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        value = int(value)
        k_hi = min(m, seen)
        width = min(reach, top_m) + 1
        old = table[: k_hi + 1, :width].copy()
        for j in range(1, min(count, m) + 1):
            shift = j * value
            if shift > top_m:
                break
            rows = min(k_hi, m - j) + 1
            cols = min(width, top_m + 1 - shift)
            table[j : j + rows, shift : shift + cols] += comb(count, j) * old[:rows, :cols]
        seen += count
        reach += count * value
    row = table[m]
    total = row.sum()
    if not np.isfinite(total) or total <= 0:  # pragma: no cover - guarded by the cell cap
        raise StatisticsError("the exact rank-sum distribution overflowed; use method='normal'.")
    result: NDArray[np.float64] = row / total
    return result


def tail_probabilities(
    dist: NDArray[np.float64], observed: int, centre2: int
) -> tuple[float, float, float]:
    """Return ``P(S <= obs)``, ``P(S >= obs)`` and ``P(|2S - c| >= |2obs - c|)``.

    ``centre2`` is twice the mean of ``S`` (an integer because ``S`` is a doubled sum),
    so the two-sided p-value counts every outcome at least as far from the centre as the
    observed one, in either direction, with exact integer comparisons.
    """
    support = np.arange(dist.size)
    p_le = float(dist[: observed + 1].sum())
    p_ge = float(dist[observed:].sum())
    far = np.abs(2 * support - centre2) >= abs(2 * observed - centre2)
    p_two = float(dist[far].sum())
    return min(p_le, 1.0), min(p_ge, 1.0), min(p_two, 1.0)


@cache
def untied_u_lower_half(m: int, n: int) -> NDArray[np.float64]:
    """``P(U = u)`` for ``u = 0 .. m*n // 2``: the lower half of the exact null
    distribution of the Mann-Whitney U of groups of ``m`` and ``n`` untied values.

    The number of arrangements with ``U = u`` is the coefficient of ``q**u`` in the
    Gaussian binomial coefficient ``[m + n choose m]_q`` (Mann and Whitney, Ann. Math.
    Statist. 18 (1947) 50-60), the product of ``(1 - q**(n + i)) / (1 - q**i)`` for
    ``i = 1 .. m``. Each factor is one shifted subtraction and one strided cumulative sum
    over the coefficients, and the result is scaled to probabilities as it grows (so no
    count overflows). Both operations only carry mass from lower to higher powers, so the
    lower half is computed without the upper one; the distribution is symmetric about
    ``m*n / 2``, so the upper half is its mirror. Cached: the array is read-only.
    """
    m, n = min(m, n), max(m, n)
    half = m * n // 2
    poly = np.zeros(half + 1, dtype=float)
    poly[0] = 1.0
    for i in range(1, m + 1):
        shift = n + i
        if shift <= half:  # times (1 - q**(n + i))
            poly[shift:] -= poly[: half + 1 - shift].copy()
        # divided by (1 - q**i): a running sum along every i-th coefficient
        padded = np.zeros(-(-(half + 1) // i) * i)
        padded[: half + 1] = poly
        poly = np.cumsum(padded.reshape(-1, i), axis=0).ravel()[: half + 1]
        poly *= i / (n + i)  # C(n + i, i) / C(n + i - 1, i - 1): keep it a probability
    poly.setflags(write=False)
    return poly


@cache
def _untied_u_lower_cdf(m: int, n: int) -> NDArray[np.float64]:
    """``P(U <= u)`` over the lower half (:func:`untied_u_lower_half`), cached too."""
    cdf = np.cumsum(untied_u_lower_half(m, n))
    cdf.setflags(write=False)
    return cdf


def untied_u_pvalue(u: float, m: int, n: int, alternative: str) -> float:
    """Exact p-value of the Mann-Whitney ``U`` of the first group (``m`` values) against
    the second (``n``), without ties: ``"less"`` is ``P(U <= u)``, ``"greater"`` is
    ``P(U >= u)``, ``"two-sided"`` twice the smaller of the two (at most 1; the
    distribution is symmetric, so this is also every outcome at least as far from the
    centre)."""
    total = m * n
    cdf = _untied_u_lower_cdf(m, n)

    def at_most(k: int) -> float:  # P(U <= k), the upper half by symmetry
        if k < 0:
            return 0.0
        if k >= total:
            return 1.0
        if k < cdf.size:
            return float(cdf[k])
        return 1.0 - float(cdf[total - k - 1])

    k = round(u)
    less = at_most(k)
    greater = at_most(total - k)  # P(U >= k) = P(U <= total - k)
    if alternative == "less":
        return less
    if alternative == "greater":
        return greater
    return min(1.0, 2.0 * min(less, greater))
