"""Exact p-value of Fisher's test for an r x c table (Freeman-Halton extension).

The p-value is the total null probability of every table with the observed margins whose
probability does not exceed that of the observed table (R's ``fisher.test`` rule, with
the same relative tolerance of 1e-7 so that tables equal in exact arithmetic count).

Under independence with fixed margins a table has probability
``prod(R_i!) prod(C_j!) / (N! prod(n_ij!))``. Tables are built column by column; a
partial table is summarised by the row totals still to fill (sorted, since rows are
exchangeable for the remaining columns) and by the product of ``1/n_ij!`` so far. For a
node, bounds on the best and worst completion decide at once whether *all* its
completions count (their total mass has a closed form, a multinomial identity) or
*none* does; only undecided nodes are expanded. This is the idea of Mehta and Patel's
network algorithm (JASA 78 (1983) 427-434) with simple relaxation bounds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from reinfuse.errors import StatisticsError

#: Stop (rather than run for hours) beyond this much work: partial tables extended plus
#: completions of the last two columns enumerated and searched: at most about 3 s here;
#: :func:`reinfuse.stats.fisher_exact` then falls back to Monte Carlo when asked to.
MAX_WORK = 2_000_000


class EnumerationTooLargeError(StatisticsError):
    """The exact enumeration would exceed :data:`MAX_WORK` units of work."""


_REL_TOL = 1e-7


def fisher_rxc_pvalue(table: NDArray[np.int64], *, max_work: int = MAX_WORK
                      ) -> tuple[float, float]:
    """Return ``(probability of the observed table, exact two-sided p-value)``.

    Raises
    ------
    EnumerationTooLargeError
        As soon as the enumeration has done, or is certain to do, more than ``max_work``
        units of work (a partial table extended by one column, or one completion of the
        last two columns enumerated or searched), so time and memory stay bounded
        whatever the table. The work of the last two columns is counted before it starts
        (a closed form per node), so a table far beyond the limit is refused early.
    """
    counts = np.asarray(table, dtype=np.int64)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return 1.0, 1.0  # only one possible table
    if counts.shape[0] > counts.shape[1]:
        counts = counts.T  # the state vector runs over the shorter dimension
    rows = tuple(int(r) for r in counts.sum(axis=1))
    cols = tuple(sorted((int(c) for c in counts.sum(axis=0)), reverse=True))
    n_total = int(counts.sum())
    log_fact = gammaln(np.arange(n_total + 2, dtype=float) + 1.0)

    def lf(k: int) -> float:
        return float(log_fact[k])

    constant = sum(lf(r) for r in rows) + sum(lf(c) for c in cols) - lf(n_total)
    log_p_obs = constant - float(sum(lf(int(v)) for v in counts.ravel()))
    threshold = log_p_obs + math.log1p(_REL_TOL)

    @cache
    def bounds(stage: int, state: tuple[int, ...]) -> tuple[float, float, float]:
        """(lowest, highest) sum of -log n_ij! over completions, and log total mass."""
        # Two relaxations (columns filled independently within the row caps, and rows
        # filled independently within the column caps); each bounds the completions, so
        # the tighter of the two is kept.
        remaining_cols = cols[stage:]
        high_by_col = -sum(_even_fill_log(state, c, log_fact) for c in remaining_cols)
        high_by_row = -sum(_even_fill_log(remaining_cols, r, log_fact) for r in state)
        low_by_col = -sum(_greedy_fill_log(state, c, log_fact) for c in remaining_cols)
        low_by_row = -sum(_greedy_fill_log(remaining_cols, r, log_fact) for r in state)
        high = min(high_by_col, high_by_row)
        low = max(low_by_col, low_by_row)
        remaining = sum(state)
        mass = lf(remaining) - sum(lf(r) for r in state) - sum(lf(c) for c in cols[stage:])
        return low, high, mass

    @cache
    def last_two(
        state: tuple[int, ...],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """Completions of the last two columns: sorted weights and cumulative masses."""
        vectors = np.array([v for v, _ in _columns(state, cols[-2], log_fact)], dtype=np.int64)
        rest = np.asarray(state, dtype=np.int64) - vectors
        weights = -(log_fact[vectors].sum(axis=1) + log_fact[rest].sum(axis=1))
        weights.sort()
        top = float(weights[-1])
        return weights, np.cumsum(np.exp(weights - top)), top

    @cache
    def children(stage: int, state: tuple[int, ...]) -> list[tuple[tuple[int, ...], float]]:
        """Every way to fill column ``stage``: (remaining rows, sorted; -sum log n!)."""
        return [
            (tuple(sorted(r - n for r, n in zip(state, column, strict=True))), weight)
            for column, weight in _columns(state, cols[stage], log_fact)
        ]

    pvalue = 0.0
    work = 0

    def spend(units: int) -> None:
        nonlocal work
        work += units
        if work > max_work:
            raise EnumerationTooLargeError(
                f"the exact r x c Fisher test on a {counts.shape} table with {n_total} "
                f"subjects needs more than {max_work:,} steps of enumeration; use the "
                "Monte Carlo p-value (method='monte-carlo'), chi_square() if expected "
                "counts allow, or merge sparse categories.")

    # state -> (distinct partial log-weights, number of partial tables with that weight)
    nodes: dict[tuple[int, ...], tuple[NDArray[np.float64], NDArray[np.float64]]] = {
        tuple(sorted(rows)): (np.zeros(1), np.ones(1))
    }
    for stage in range(len(cols) - 2):
        pending: dict[tuple[int, ...], list[tuple[NDArray[np.float64], NDArray[np.float64]]]]
        pending = defaultdict(list)
        for state, (values, multiplicities) in nodes.items():
            low, high, mass = bounds(stage, state)
            every = constant + values + high <= threshold
            if every.any():
                pvalue += float(
                    (multiplicities[every] * np.exp(constant + values[every] + mass)).sum()
                )
            undecided = ~every & (constant + values + low <= threshold)
            if not undecided.any():
                continue
            values = values[undecided]
            multiplicities = multiplicities[undecided]
            spend(_count_columns(state, cols[stage]) * (1 + int(values.size)))
            for child, weight in children(stage, state):
                pending[child].append((values + weight, multiplicities))
        nodes = {state: _merge(parts) for state, parts in pending.items()}
    # Last two columns: the second-to-last column fixes the last one; count every
    # completion at or below the threshold with one sorted search per node. Nothing is
    # pruned here, so the work is known before it starts: a table beyond the limit is
    # refused now instead of after enumerating up to the limit.
    spend(sum(_count_columns(state, cols[-2]) + int(values.size)
              for state, (values, _) in nodes.items()))
    for state, (values, multiplicities) in nodes.items():
        weights, cumulative, top = last_two(state)
        index = np.searchsorted(weights, threshold - constant - values, side="right")
        counted = index > 0
        if counted.any():
            masses = cumulative[index[counted] - 1]
            logs = constant + values[counted] + top
            pvalue += float((multiplicities[counted] * masses * np.exp(logs)).sum())
    p_obs = math.exp(log_p_obs)
    return p_obs, min(1.0, pvalue)


def _merge(
    parts: list[tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pool partial tables whose log-weights agree to 1e-9 (adding their counts)."""
    values = np.concatenate([v for v, _ in parts])
    multiplicities = np.concatenate([m for _, m in parts])
    keys, inverse = np.unique(np.round(values, 9), return_inverse=True)
    counts = np.bincount(inverse, weights=multiplicities).astype(float)
    return keys.astype(float), counts


def _columns(
    caps: tuple[int, ...], total: int, log_fact: NDArray[np.float64]
) -> Iterator[tuple[tuple[int, ...], float]]:
    """Every column ``n`` with ``sum(n) == total`` and ``0 <= n_i <= caps_i``.

    Yields the column and ``-sum(log n_i!)``.
    """
    suffix = [0] * (len(caps) + 1)
    for i in range(len(caps) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + caps[i]

    def rec(
        i: int, left: int, prefix: tuple[int, ...], weight: float
    ) -> Iterator[tuple[tuple[int, ...], float]]:
        if i == len(caps) - 1:
            yield (*prefix, left), weight - float(log_fact[left])
            return
        lo = max(0, left - suffix[i + 1])
        hi = min(caps[i], left)
        for n in range(lo, hi + 1):
            yield from rec(i + 1, left - n, (*prefix, n), weight - float(log_fact[n]))

    yield from rec(0, total, (), 0.0)


def _count_columns(caps: tuple[int, ...], total: int) -> int:
    """How many columns :func:`_columns` yields, counted without enumerating them.

    The number of ``n`` with ``sum(n) == total`` and ``0 <= n_i <= caps_i``, by dynamic
    programming over the rows (capped, so that an enormous count stays cheap to get).
    """
    if len(caps) == 2:  # n_1 runs from max(0, total - cap_2) to min(cap_1, total)
        return max(0, min(caps[0], total) - max(0, total - caps[1]) + 1)
    ways = np.zeros(total + 1, dtype=float)
    ways[0] = 1.0
    for cap in caps:
        cumulative = np.cumsum(ways)
        shifted = np.concatenate([np.zeros(cap + 1), cumulative[: total - cap]])
        ways = np.minimum(cumulative - shifted[: total + 1], 1e18)
    return int(min(ways[total], 1e18))


def _even_fill_log(caps: tuple[int, ...], total: int, log_fact: NDArray[np.float64]) -> float:
    """Minimum of ``sum(log n_i!)`` with ``sum(n) == total``, ``n_i <= caps_i``.

    ``log n!`` has increasing increments, so spreading the total as evenly as the caps
    allow (water-filling) is optimal.
    """
    ordered = sorted(caps)
    left = total
    result = 0.0
    for index, cap in enumerate(ordered):
        slots = len(ordered) - index
        share = left // slots
        if cap <= share:
            result += float(log_fact[cap])
            left -= cap
            continue
        base, extra = divmod(left, slots)
        result += extra * float(log_fact[base + 1]) + (slots - extra) * float(log_fact[base])
        return result
    return result


def _greedy_fill_log(caps: tuple[int, ...], total: int, log_fact: NDArray[np.float64]) -> float:
    """Maximum of ``sum(log n_i!)`` with ``sum(n) == total``, ``n_i <= caps_i``.

    Filling the largest caps first is optimal for a sum of convex functions (an exchange
    argument: moving a unit toward the fuller row never lowers the sum).
    """
    left = total
    result = 0.0
    for cap in sorted(caps, reverse=True):
        take = min(cap, left)
        result += float(log_fact[take])
        left -= take
        if left == 0:
            break
    return result
