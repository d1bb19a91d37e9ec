"""Simon two-stage designs for a single-arm phase II trial (optimal, minimax, admissible)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
from scipy.stats import binom

from reinfuse.errors import StatisticsError
from reinfuse.stats import AsDict, whole_number

Criterion = Literal["minimax", "optimal", "admissible"]


@dataclass(frozen=True)
class SimonStage(AsDict):
    """One Simon two-stage design and its exact operating characteristics.

    Attributes
    ----------
    kind : str
        ``"minimax"``, ``"optimal"`` or ``"admissible"``.
    r1, n1 : int
        Stop for futility after ``n1`` patients if at most ``r1`` respond.
    r, n : int
        Declare the treatment not promising if at most ``r`` of ``n`` respond.
    en0 : float
        Expected sample size under ``p0``.
    pet0 : float
        Probability of early termination under ``p0``.
    alpha, power : float
        Exact type I error (at ``p0``) and power (at ``p1``).
    q_low, q_high : float or None
        For admissible designs, the range of weights ``q`` for which this design minimises
        ``q * n + (1 - q) * EN0`` (Jung et al. 2004); None otherwise.
    """

    kind: str
    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float
    q_low: float | None = None
    q_high: float | None = None


@dataclass(frozen=True)
class SimonDesign(AsDict):
    """Result of :func:`simon_two_stage`.

    Attributes
    ----------
    p0, p1, alpha, beta : float
        The uninteresting and target response rates and the error bounds asked for.
    nmax : int
        Largest total sample size searched.
    minimax, optimal : SimonStage
        The design with the smallest maximum sample size (ties broken by EN0) and the one
        with the smallest EN0.
    admissible : tuple of SimonStage
        Designs minimising ``q n + (1 - q) EN0`` for some ``q`` in [0, 1], from the minimax
        (q = 1) to the optimal (q = 0) design.
    n : int
        Maximum sample size of the minimax design (the smallest trial that can meet the
        error bounds).
    method : str
        A sentence for a methods section.
    """

    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    minimax: SimonStage
    optimal: SimonStage
    admissible: tuple[SimonStage, ...]
    n: int
    method: str


def _check_rates(p0: float, p1: float, alpha: float, beta: float) -> None:
    for name, value in (("p0", p0), ("p1", p1), ("alpha", alpha), ("beta", beta)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise StatisticsError(f"{name} must be a number strictly between 0 and 1; "
                                  f"got {value!r}.")
    if not p1 > p0:
        raise StatisticsError(f"p1 (target response rate) must exceed p0; got p0={p0}, "
                              f"p1={p1}. Give the uninteresting rate as p0.")


def reject_probability(r1: int, n1: int, r: int, n: int, p: float) -> float:
    """Probability that a Simon design continues past stage 1 and ends with more than r
    responses: ``sum_{x1 > r1} b(x1; n1, p) * P(X2 > r - x1)``, X2 ~ Bin(n - n1, p)."""
    x1 = np.arange(r1 + 1, n1 + 1)
    return float(np.sum(binom.pmf(x1, n1, p) * binom.sf(r - x1, n - n1, p)))


def _search(p0: float, p1: float, alpha: float, beta: float, nmax: int
            ) -> list[tuple[int, int, int, int, float, float, float, float]]:
    """For each total n, the feasible design with the smallest EN0 (first n1 on ties).

    Returns (r1, n1, r, n, en0, pet0, alpha, power) per n that has a feasible design."""
    best: list[tuple[int, int, int, int, float, float, float, float]] = []
    # Tables reused for every (n, n1): pmf[m][x] = b(x; m, p) and sf[m][k + 1] = P(Bin(m, p)
    # > k) for k = -1..m (k < -1 is clipped to -1, k > m to m where the tail is 0).
    pmf = {q: [binom.pmf(np.arange(m + 1), m, q) for m in range(nmax + 1)] for q in (p0, p1)}
    sf = {q: [np.append(binom.sf(np.arange(-1, m + 1), m, q), 0.0) for m in range(nmax + 1)]
          for q in (p0, p1)}
    for n in range(2, nmax + 1):
        candidate: tuple[int, int, int, int, float, float, float, float] | None = None
        rr = np.arange(n + 1)
        for n1 in range(1, n):
            n2 = n - n1
            x1 = np.arange(n1 + 1)
            k = np.clip(rr[None, :] - x1[:, None], -1, n2 + 1) + 1
            # m[x1, r] = b(x1; n1, p) * P(X2 > r - x1); rej[r1, r] = sum_{x1 > r1} m[x1, r]
            m0 = sf[p0][n2][k] * pmf[p0][n1][:, None]
            m1 = sf[p1][n2][k] * pmf[p1][n1][:, None]
            rej0 = np.cumsum(m0[::-1], axis=0)[::-1][1:]
            rej1 = np.cumsum(m1[::-1], axis=0)[::-1][1:]
            ok = (rej0 <= alpha) & (rej1 >= 1 - beta)
            if not ok.any():
                continue
            r1s, rs = np.nonzero(ok)
            pet = np.cumsum(pmf[p0][n1])[r1s]
            en0 = n1 + (1 - pet) * n2
            # smallest EN0; among equal EN0 (same r1), the largest feasible r is kept
            # (smallest alpha), matching clinfun::ph2simon's printed designs.
            order = np.lexsort((-rs, en0))
            i = int(order[0])
            cand = (int(r1s[i]), n1, int(rs[i]), n, float(en0[i]), float(pet[i]),
                    float(rej0[r1s[i], rs[i]]), float(rej1[r1s[i], rs[i]]))
            if candidate is None or cand[4] < candidate[4] - 1e-12:
                candidate = cand
        if candidate is not None:
            best.append(candidate)
    return best


def _stage(kind: str, t: tuple[int, int, int, int, float, float, float, float],
           q: tuple[float, float] | None = None) -> SimonStage:
    r1, n1, r, n, en0, pet0, a, pw = t
    return SimonStage(kind, r1, n1, r, n, en0, pet0, a, pw,
                      None if q is None else q[0], None if q is None else q[1])


def simon_two_stage(p0: float, p1: float, alpha: float = 0.05, beta: float = 0.2,
                    nmax: int = 100) -> SimonDesign:
    """Simon's optimal and minimax two-stage designs and the admissible designs between.

    Parameters
    ----------
    p0, p1 : float
        Response rate not worth pursuing (H0: p <= p0) and the target rate (H1: p = p1).
    alpha, beta : float
        Largest type I error at ``p0`` and type II error at ``p1`` allowed.
    nmax : int
        Largest total sample size searched (the search is exhaustive up to it).

    Returns
    -------
    SimonDesign

    Raises
    ------
    StatisticsError
        If the rates are not in (0, 1), ``p1 <= p0``, or no design with ``n <= nmax``
        meets the error bounds (raise ``nmax``).

    Notes
    -----
    Exact binomial enumeration of every (n1, r1, r) for each n <= nmax (Simon R. Optimal
    two-stage designs for phase II clinical trials. Control Clin Trials 1989;10:1-10).
    The treatment is rejected at stage 1 if X1 <= r1, otherwise n - n1 more are enrolled
    and it is declared promising if X1 + X2 > r. PET0 = P(X1 <= r1 | p0);
    EN0 = n1 + (1 - PET0)(n - n1). For a given (n, n1) every (r1, r) pair is evaluated at
    once as a reversed cumulative sum of ``b(x1; n1, p) P(X2 > r - x1)`` (NumPy/SciPy).
    Among designs of equal EN0 the largest feasible r is kept, as clinfun's ``ph2simon``
    prints. Admissible designs (Jung SH, Lee T, Kim K, George SL. Admissible two-stage
    designs for phase II cancer clinical trials. Stat Med 2004;23:561-569) are the
    per-n EN0-minimising designs on the lower convex hull of (n, EN0), with the weight
    range [q_low, q_high] for which each minimises q n + (1 - q) EN0.

    Examples
    --------
    >>> d = simon_two_stage(0.2, 0.4, alpha=0.1, beta=0.1, nmax=45)
    >>> (d.minimax.r1, d.minimax.n1, d.minimax.r, d.minimax.n)
    (3, 19, 10, 36)
    >>> (d.optimal.r1, d.optimal.n1, d.optimal.r, d.optimal.n, round(d.optimal.en0, 2))
    (3, 17, 10, 37, 26.02)
    """
    _check_rates(p0, p1, alpha, beta)
    nmax = whole_number(nmax, "nmax")
    if not 2 <= nmax <= 500:
        raise StatisticsError(f"nmax must be between 2 and 500; got {nmax}.")
    best = _search(float(p0), float(p1), float(alpha), float(beta), nmax)
    if not best:
        raise StatisticsError(
            f"no two-stage design with at most nmax={nmax} patients has type I error <= "
            f"{alpha} at p0={p0} and power >= {1 - beta} at p1={p1}; raise --nmax or relax "
            "alpha/beta.")
    minimax = best[0]
    opt_index = min(range(len(best)), key=lambda i: best[i][4])
    optimal = best[opt_index]
    # Lower convex hull of (n, EN0) from the minimax to the optimal design.
    pts = best[: opt_index + 1]
    hull: list[int] = []
    for i in range(len(pts)):
        while len(hull) >= 2:
            a, b = pts[hull[-2]], pts[hull[-1]]
            c = pts[i]
            cross = (b[3] - a[3]) * (c[4] - a[4]) - (b[4] - a[4]) * (c[3] - a[3])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    # q n + (1 - q) EN0; between consecutive hull points the switch weight q solves
    # q (n_b - n_a) + (1 - q)(e_b - e_a) = 0.
    switches = []
    for a_i, b_i in pairwise(hull):
        dn = pts[b_i][3] - pts[a_i][3]
        de = pts[b_i][4] - pts[a_i][4]
        switches.append(-de / (dn - de))
    bounds = [1.0, *switches, 0.0]
    admissible = tuple(
        _stage("admissible", pts[h], (bounds[k + 1], bounds[k])) for k, h in enumerate(hull))
    method = (
        f"Simon two-stage designs (Simon 1989) for H0: p <= {p0:g} versus H1: p = {p1:g} with "
        f"type I error <= {alpha:g} and power >= {1 - beta:g}, found by exact binomial "
        f"enumeration of all designs with n <= {nmax}; admissible designs as defined by "
        "Jung et al. (2004).")
    return SimonDesign(float(p0), float(p1), float(alpha), float(beta), nmax,
                       _stage("minimax", minimax), _stage("optimal", optimal), admissible,
                       minimax[3], method)
