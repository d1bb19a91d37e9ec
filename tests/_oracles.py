"""Brute-force reference distributions, written once from the definitions (issue 9).

Each function enumerates every equally likely outcome under the null hypothesis and
counts, with no code from ``reinfuse.stats``: the exact references the statistics tests and
the demo contract compare against. Counting is done on integers (doubled midranks), so the
probabilities are exact fractions.

- :func:`signed_rank_p`: Wilcoxon signed-rank, all ``2**n`` sign patterns of the ranks.
- :func:`rank_sum_null`, :func:`rank_sum_p`: Wilcoxon-Mann-Whitney rank sum, all
  ``C(N, m)`` splits of the pooled midranks (the exact conditional null given the ties).
- :func:`mann_whitney_normal_p`: the rank-sum normal approximation with tie and
  continuity correction, from the textbook formula.
- :func:`tables_with_margins`, :func:`fisher_p`: every r x c table with the observed
  margins and the Fisher exact p (tables no more probable than the observed one).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

Alternative = str  # "two-sided", "greater" or "less"


def _doubled(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Twice the values as exact integers (midranks are multiples of 1/2)."""
    doubled = np.rint(2 * np.asarray(values, dtype=float)).astype(np.int64)
    assert np.allclose(doubled, 2 * np.asarray(values, dtype=float)), "not half-integers"
    return doubled


def _count(sums: np.ndarray, observed: int, centre2: int, alternative: Alternative) -> int:
    """How many ``sums`` are at least as extreme as ``observed`` (all doubled).

    ``centre2`` is twice the doubled null mean, so two-sided distances compare integers.
    """
    if alternative == "greater":
        return int(np.count_nonzero(sums >= observed))
    if alternative == "less":
        return int(np.count_nonzero(sums <= observed))
    assert alternative == "two-sided", alternative
    return int(np.count_nonzero(np.abs(2 * sums - centre2) >= abs(2 * observed - centre2)))


def signed_rank_p(ranks: Sequence[float], w_plus: float,
                  alternative: Alternative = "two-sided") -> Fraction:
    """p of the signed-rank statistic ``w_plus`` over all ``2**n`` sign patterns of ``ranks``.

    ``ranks`` are the (mid)ranks of the absolute differences; each is counted positive or
    negative with probability 1/2. Two-sided: ``|W+ - total / 2|`` at least the observed.
    """
    doubled = _doubled(ranks)
    n = len(doubled)
    observed = int(_doubled([w_plus])[0])
    hits = 0
    # chunks of 2**16 patterns keep the 0/1 matrix small for n up to ~24
    for start in range(0, 2**n, 2**16):
        codes = np.arange(start, min(start + 2**16, 2**n), dtype=np.int64)
        signs = (codes[:, None] >> np.arange(n)) & 1
        hits += _count(signs @ doubled, observed, int(doubled.sum()), alternative)
    return Fraction(hits, 2**n)


def paired_signed_rank_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided exact signed-rank p of ``x - y``: twice the smaller tail (at most 1).

    Requires no zero and no tied absolute difference (asserted), so the ranks are 1..n.
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    assert np.all(d != 0) and len(np.unique(np.abs(d))) == len(d)
    ranks = np.argsort(np.argsort(np.abs(d))) + 1
    t_plus = float(ranks[d > 0].sum())
    tails = (signed_rank_p(ranks.tolist(), t_plus, "less"),
             signed_rank_p(ranks.tolist(), t_plus, "greater"))
    return float(min(Fraction(1), 2 * min(tails)))


@functools.cache
def _splits(total: int, m: int) -> np.ndarray:
    """Every way to choose the ``m`` members of the first group among ``total`` positions."""
    return np.array(list(itertools.combinations(range(total), m)), dtype=np.int64)


def _doubled_midranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return _doubled(pd.Series(np.asarray(values, dtype=float)).rank(method="average"))


def rank_sum_null(values: Sequence[float] | np.ndarray, m: int) -> np.ndarray:
    """Doubled rank sums of the first ``m`` positions' group over all ``C(N, m)`` equally
    likely splits of the pooled midranks of ``values``: the exact conditional null."""
    return _doubled_midranks(values)[_splits(len(values), m)].sum(axis=1)


def rank_sum_p(x: Sequence[float], y: Sequence[float], alternative: Alternative = "two-sided",
               null: np.ndarray | None = None) -> tuple[float, Fraction]:
    """(U of ``x``, p) from the exact conditional null of the rank sum of ``x``.

    Two-sided: a rank sum at least as far from its null mean ``m (N + 1) / 2`` as the
    observed one, in either direction (GraphPad Prism 6+'s exact p with ties). ``null``
    may pass :func:`rank_sum_null` of the same pooled values.
    """
    values = np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    m, total = len(x), len(values)
    observed = int(_doubled_midranks(values)[:m].sum())
    sums = rank_sum_null(values, m) if null is None else null
    hits = _count(sums, observed, 2 * m * (total + 1), alternative)
    return observed / 2 - m * (m + 1) / 2, Fraction(hits, len(sums))


def mann_whitney_normal_p(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(U of ``a``, two-sided p) by the normal approximation with tie and continuity
    correction, written out from the textbook formula."""
    values = np.concatenate([np.asarray(a, dtype=float), np.asarray(b, dtype=float)])
    ranks = pd.Series(values).rank(method="average").to_numpy()
    n1, n2 = len(a), len(b)
    total = n1 + n2
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    ties = pd.Series(values).value_counts().to_numpy()
    tie_term = float(np.sum(ties**3 - ties)) / (total * (total - 1))
    sigma = math.sqrt(n1 * n2 / 12 * ((total + 1) - tie_term))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sigma
    return float(u), math.erfc(z / math.sqrt(2))


def tables_with_margins(rows: list[int], cols: list[int]) -> list[np.ndarray]:
    """Every non-negative integer table with the given margins (brute force)."""
    found = []
    r, c = len(rows), len(cols)
    for cells in itertools.product(
        *(range(min(rows[i], cols[j]) + 1) for i in range(r - 1) for j in range(c - 1))
    ):
        t = np.zeros((r, c), dtype=int)
        t[: r - 1, : c - 1] = np.array(cells).reshape(r - 1, c - 1)
        t[: r - 1, c - 1] = np.array(rows[: r - 1]) - t[: r - 1, : c - 1].sum(axis=1)
        t[r - 1, :] = np.array(cols) - t[: r - 1, :].sum(axis=0)
        if (t >= 0).all() and t[r - 1].sum() == rows[r - 1]:
            found.append(t)
    return found


def fisher_p(table: np.ndarray) -> float:
    """Fisher exact p: the total probability of the tables with the observed margins that
    are no more probable than the observed one (multivariate hypergeometric)."""
    rows, cols = table.sum(axis=1).tolist(), table.sum(axis=0).tolist()
    n = int(table.sum())

    def prob(t: np.ndarray) -> Fraction:
        num = math.prod(math.factorial(v) for v in rows + cols)
        den = math.factorial(n) * math.prod(math.factorial(int(v)) for v in t.ravel())
        return Fraction(num, den)

    p_obs = prob(table)
    return float(sum(p for t in tables_with_margins(rows, cols) if (p := prob(t)) <= p_obs))
