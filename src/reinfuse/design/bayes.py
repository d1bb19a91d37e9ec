"""Bayesian predictive-probability monitoring of a single-arm trial (Lee & Liu 2008)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta as beta_dist
from scipy.stats import betabinom, binom

from reinfuse.errors import StatisticsError
from reinfuse.stats import AsDict, whole_number


@dataclass(frozen=True)
class PredictiveMonitoring(AsDict):
    """Result of :func:`predictive_monitoring`.

    Attributes
    ----------
    looks : tuple of int
        Numbers of evaluable patients at which the trial is monitored (the last is nmax).
    stop_at_or_below : tuple of int
        At each interim look, stop for futility if responses are at or below this number
        (-1: never stop there). At the last look, the value is the largest number of
        responses that does NOT declare efficacy.
    a0, b0 : float
        The Beta prior.
    p0, p1, theta_t, theta_l : float
        Null and target rates, the posterior threshold for efficacy and the predictive
        probability below which the trial stops.
    alpha, power : float
        Exact probabilities of declaring efficacy at p0 (type I error) and at p1.
    en0, en1 : float
        Expected numbers of patients at p0 and p1.
    pet0, pet1 : float
        Probabilities of stopping early at p0 and p1.
    n : int
        Maximum sample size.
    method : str
    """

    looks: tuple[int, ...]
    stop_at_or_below: tuple[int, ...]
    a0: float
    b0: float
    p0: float
    p1: float
    theta_t: float
    theta_l: float
    alpha: float
    power: float
    en0: float
    en1: float
    pet0: float
    pet1: float
    n: int
    method: str


def prior_from_rate(rate: float, effective_sample_size: float) -> tuple[float, float]:
    """Beta prior with mean ``rate`` worth ``effective_sample_size`` patients.

    Returns ``(rate * ess, (1 - rate) * ess)`` (Morita, Thall & Mueller's ESS of a beta
    prior is a + b).

    Examples
    --------
    >>> prior_from_rate(0.6, 5)
    (3.0, 2.0)
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < 1:
        raise StatisticsError(f"rate must be strictly between 0 and 1; got {rate!r}.")
    if not isinstance(effective_sample_size, int | float) or not effective_sample_size > 0:
        raise StatisticsError(
            f"effective_sample_size must be a positive number of patients; got "
            f"{effective_sample_size!r}.")
    return float(rate * effective_sample_size), float((1 - rate) * effective_sample_size)


def _success(x: np.ndarray, nmax: int, a0: float, b0: float, p0: float,
             theta_t: float) -> np.ndarray:
    """Whether the posterior P(p > p0 | x of nmax) exceeds theta_t."""
    return np.asarray(beta_dist.sf(p0, a0 + x, b0 + nmax - x) > theta_t)


def predictive_probability(x: int, n: int, nmax: int, a0: float, b0: float, p0: float,
                           theta_t: float) -> float:
    """Predictive probability that the trial ends declaring efficacy, after x of n respond.

    Notes
    -----
    Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials.
    Clin Trials 2008;5:93-106: PP = sum_{y=0}^{m} P(Y = y | x) I[P(p > p0 | x + y) >
    theta_t], where Y ~ BetaBinomial(m = nmax - n, a0 + x, b0 + n - x).

    Examples
    --------
    >>> round(predictive_probability(1, 2, 3, 1, 1, 0.5, 0.6), 4)  # hand: P(Y = 1) = 1/2
    0.5
    """
    m = nmax - n
    y = np.arange(m + 1)
    weights = betabinom.pmf(y, m, a0 + x, b0 + n - x)
    return float(np.sum(weights * _success(x + y, nmax, a0, b0, p0, theta_t)))


def predictive_monitoring(p0: float, p1: float, nmax: int, *, a0: float, b0: float,
                          theta_t: float = 0.9, theta_l: float = 0.05,
                          looks: list[int] | None = None) -> PredictiveMonitoring:
    """Futility boundaries from predictive probabilities and their exact operating
    characteristics.

    Parameters
    ----------
    p0, p1 : float
        Uninteresting and target response rates.
    nmax : int
        Maximum number of patients.
    a0, b0 : float
        Beta prior (see :func:`prior_from_rate` to seed it from a cohort's rate).
    theta_t : float
        Efficacy is declared at the end if P(p > p0 | data) > theta_t.
    theta_l : float
        At an interim look the trial stops if the predictive probability < theta_l.
    looks : list of int, optional
        Interim sample sizes (default: after every patient from 1 to nmax - 1).

    Notes
    -----
    Lee & Liu (2008), see :func:`predictive_probability`. The boundary at each look is
    the largest x with PP < theta_l (PP is non-decreasing in x). Operating
    characteristics are exact: the distribution of responses among patients still on
    trial is propagated look by look with binomial increments (NumPy convolution),
    removing the mass at or below each boundary.

    Examples
    --------
    >>> d = predictive_monitoring(0.2, 0.4, 10, a0=0.2, b0=0.8, theta_t=0.9, theta_l=0.05,
    ...                           looks=[5])
    >>> d.looks, d.stop_at_or_below
    ((5, 10), (0, 3))
    """
    for name, v in (("p0", p0), ("p1", p1), ("theta_t", theta_t), ("theta_l", theta_l)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < 1:
            raise StatisticsError(f"{name} must be strictly between 0 and 1; got {v!r}.")
    if not p1 > p0:
        raise StatisticsError(f"p1 must exceed p0; got p0={p0}, p1={p1}.")
    for name, v in (("a0", a0), ("b0", b0)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise StatisticsError(f"{name} (Beta prior) must be positive; got {v!r}.")
    nmax = whole_number(nmax, "nmax")
    if not 2 <= nmax <= 1000:
        raise StatisticsError(f"nmax must be between 2 and 1000; got {nmax}.")
    interim = list(range(1, nmax)) if looks is None else sorted(
        {whole_number(v, "looks") for v in looks})
    if any(not 1 <= v < nmax for v in interim):
        raise StatisticsError(f"looks must be between 1 and nmax - 1 = {nmax - 1}; got "
                              f"{interim}.")
    all_looks = (*interim, nmax)
    final_ok = _success(np.arange(nmax + 1), nmax, a0, b0, p0, theta_t)
    bounds = []
    for n in interim:  # PP for every x at once: beta-binomial weights times success
        x = np.arange(n + 1)[:, None]
        y = np.arange(nmax - n + 1)[None, :]
        pp = (betabinom.pmf(y, nmax - n, a0 + x, b0 + n - x) * final_ok[x + y]).sum(axis=1)
        below = np.nonzero(pp < theta_l)[0]
        bounds.append(int(below.max()) if below.size else -1)
    bounds.append(int(np.nonzero(~final_ok)[0].max()) if (~final_ok).any() else -1)

    def oc(p: float) -> tuple[float, float, float]:
        dist = np.ones(1)  # P(x responses and still on trial), x = 0..n
        done, expected, stopped = 0, 0.0, 0.0
        for k, (n, b) in enumerate(zip(all_looks, bounds, strict=True)):
            dist = np.convolve(dist, binom.pmf(np.arange(n - done + 1), n - done, p))
            done = n
            if k == len(all_looks) - 1:
                expected += float(dist.sum()) * n
                return float(dist[b + 1:].sum()), expected, stopped
            stop = float(dist[: b + 1].sum()) if b >= 0 else 0.0
            expected += stop * n
            stopped += stop
            dist[: b + 1] = 0.0
        raise AssertionError("unreachable")  # pragma: no cover

    alpha, en0, pet0 = oc(float(p0))
    power, en1, pet1 = oc(float(p1))
    method = (
        f"Bayesian predictive-probability monitoring (Lee and Liu 2008) with a "
        f"Beta({a0:g}, {b0:g}) prior, at most {nmax} patients, stopping for futility when "
        f"the predictive probability of success falls below {theta_l:g} and declaring "
        f"efficacy when P(p > {p0:g} | data) > {theta_t:g}; operating characteristics at "
        f"p0 = {p0:g} and p1 = {p1:g} by exact enumeration.")
    return PredictiveMonitoring(all_looks, tuple(bounds), float(a0), float(b0), float(p0),
                                float(p1), float(theta_t), float(theta_l), alpha, power,
                                en0, en1, pet0, pet1, nmax, method)
