"""Inference after a completed Simon two-stage trial: Koyama-Chen p-value and CI, UMVUE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import comb
from scipy.stats import beta as beta_dist
from scipy.stats import binom

from reinfuse.errors import StatisticsError
from reinfuse.stats import AsDict, check_confidence_level, whole_number


@dataclass(frozen=True)
class TwoStageInference(AsDict):
    """Result of :func:`two_stage_inference`.

    Attributes
    ----------
    statistic : int
        Total number of responses observed.
    pvalue : float
        Koyama-Chen one-sided p-value for H0: p <= p0.
    estimate : float
        UMVUE of the response rate (Jung & Kim 2004).
    mle : float
        Naive proportion (responses / patients treated), biased after a two-stage trial.
    ci_low, ci_high : float
        Koyama-Chen confidence interval (inverted p-value function).
    confidence_level : float
    n : int
        Patients treated (``n1`` if stopped at stage 1, ``n1 + m2`` otherwise).
    stage : int
        1 if the trial stopped after stage 1, else 2.
    method : str
        A sentence for a methods section.
    """

    statistic: int
    pvalue: float
    estimate: float
    mle: float
    ci_low: float
    ci_high: float
    confidence_level: float
    n: int
    stage: int
    p0: float
    r1: int
    n1: int
    r: int
    n_planned: int
    x1: int
    x2: int | None
    m2: int | None
    method: str


def _pvalue_function(p: float, r1: int, n1: int, r: int, n: int, x1: int,
                     x2: int | None, m2: int) -> float:
    """Koyama-Chen P(outcome at least as extreme | p) under the stage-wise ordering."""
    if x2 is None:  # stopped at stage 1: P(X1 >= x1) (every stage-2 outcome is beyond)
        return float(binom.sf(x1 - 1, n1, p))
    n2 = n - n1
    xs = np.arange(r1 + 1, n1 + 1)
    if m2 == n2:  # as planned: stage-2 outcomes ordered by total responses s
        s = x1 + x2
        return float(np.sum(binom.pmf(xs, n1, p) * binom.sf(s - xs - 1, n2, p)))
    # Stage-2 size changed: the conditional p-value of the stage-2 data is mapped to the
    # rate pi* at which the planned stage 2 has the same conditional error.
    r2 = r + 1 - x1  # responses the planned stage 2 needed to reject H0
    cond = float(binom.sf(x2 - 1, m2, p))
    # r2 <= 0: rejection already certain (pi* = 0); r2 > n2: impossible (pi* = 1).
    pi_star = (0.0 if r2 <= 0 else 1.0 if r2 > n2
               else float(beta_dist.ppf(cond, r2, n2 - r2 + 1)))
    return float(np.sum(binom.pmf(xs, n1, p) * binom.sf(r - xs, n2, pi_star)))


def umvue(r1: int, n1: int, x1: int, n2: int | None = None, x2: int | None = None) -> float:
    """UMVUE of the response rate after a Simon two-stage trial (Jung & Kim 2004).

    Notes
    -----
    Jung SH, Kim KM. On the estimation of the binomial probability in multistage clinical
    trials. Stat Med 2004;23:881-896. Stopped at stage 1: ``x1 / n1``. Otherwise, with
    total ``s = x1 + x2``::

        sum_{k=r1+1}^{min(s, n1)} C(n1-1, k-1) C(n2, s-k)
        -------------------------------------------------
        sum_{k=r1+1}^{min(s, n1)} C(n1, k)     C(n2, s-k)

    Examples
    --------
    >>> umvue(1, 3, 2, 2, 1)   # (C(2,1)C(2,1) + C(2,2)C(2,0)) / (C(3,2)C(2,1) + C(3,3)C(2,0))
    0.7142857142857143
    """
    if x2 is None or n2 is None:
        return x1 / n1
    s = x1 + x2
    k = np.arange(r1 + 1, min(s, n1) + 1)
    num = np.sum(comb(n1 - 1, k - 1) * comb(n2, s - k))
    den = np.sum(comb(n1, k) * comb(n2, s - k))
    return float(num / den)


def two_stage_inference(r1: int, n1: int, r: int, n: int, x1: int, x2: int | None = None,
                        *, p0: float, m2: int | None = None,
                        confidence_level: float = 0.90) -> TwoStageInference:
    """P-value, confidence interval and unbiased estimate after a Simon two-stage trial.

    Parameters
    ----------
    r1, n1, r, n : int
        The design: stop after ``n1`` patients if at most ``r1`` respond; declare the
        treatment promising if more than ``r`` of ``n`` respond.
    x1 : int
        Responses among the first ``n1`` patients.
    x2 : int or None
        Responses in stage 2 (None if the trial stopped at stage 1).
    p0 : float
        Response rate under the null hypothesis (H0: p <= p0).
    m2 : int or None
        Patients actually treated in stage 2 (default: as planned, ``n - n1``).
    confidence_level : float
        Two-sided level of the interval (default 0.90, the level of a one-sided 5% test).

    Returns
    -------
    TwoStageInference

    Notes
    -----
    Koyama T, Chen H. Proper inference from Simon's two-stage designs. Stat Med
    2008;27:3145-3154, stage-wise ordering (every outcome that reaches stage 2 is more
    extreme than any stage-1 stop). Stopped at stage 1: p = P(X1 >= x1 | p0). After the
    planned stage 2, with s = x1 + x2 responses in all:
    p = sum_{k > r1} b(k; n1, p0) P(X2 >= s - k), as clinfun's ``twostage.inference``.
    If the stage-2 size ``m2`` differed from the plan, Koyama and Chen's conditional
    error mapping is used: the stage-2 conditional p-value P(Bin(m2, p0) >= x2) is
    mapped to the rate pi* at which P(Bin(n2, pi*) >= r + 1 - x1) equals it, and
    p = sum_{k > r1} b(k; n1, p0) P(Bin(n2, pi*) >= r + 1 - k). The interval's limits are
    the rates at which this p-value function equals (1 - level)/2 and 1 - (1 - level)/2
    (root finding with scipy's brentq), as in Koyama and Chen's program; with no
    response at stage 1 that function is 1 everywhere and the upper limit is the
    Clopper-Pearson one, 1 - tail^(1/n1); when every patient responded the upper limit
    is 1 (as Clopper-Pearson), not the root of the p-value function. The estimate is
    the UMVUE (:func:`umvue`); with ``m2`` different from the plan the UMVUE is not
    defined and the naive proportion is reported instead (said in ``method``).

    Examples
    --------
    >>> res = two_stage_inference(3, 17, 10, 37, x1=5, x2=7, p0=0.2)
    >>> res.stage, res.statistic, round(res.mle, 3)
    (2, 12, 0.324)
    """
    ints = {name: whole_number(v, name) for name, v in
            (("r1", r1), ("n1", n1), ("r", r), ("n", n), ("x1", x1))}
    r1, n1, r, n, x1 = ints["r1"], ints["n1"], ints["r"], ints["n"], ints["x1"]
    check_confidence_level(confidence_level)
    if isinstance(p0, bool) or not isinstance(p0, int | float) or not 0 < p0 < 1:
        raise StatisticsError(f"p0 must be strictly between 0 and 1; got {p0!r}.")
    if not (1 <= n1 < n and 0 <= r1 < n1 and r1 <= r < n):
        raise StatisticsError(
            f"design r1/n1={r1}/{n1}, r/n={r}/{n} is not a two-stage design; need "
            "1 <= n1 < n, 0 <= r1 < n1 and r1 <= r < n.")
    if not 0 <= x1 <= n1:
        raise StatisticsError(f"x1 must be between 0 and n1={n1}; got {x1}.")
    n2 = n - n1
    if x2 is None:
        if x1 > r1:
            raise StatisticsError(
                f"x1={x1} > r1={r1}: the trial continues to stage 2; give x2 (the stage-2 "
                "responses).")
        mm2, stage, treated, total = n2, 1, n1, x1
    else:
        x2 = whole_number(x2, "x2")
        if x1 <= r1:
            raise StatisticsError(
                f"x1={x1} <= r1={r1}: the design stops after stage 1, so x2 cannot be "
                "given; omit it.")
        mm2 = n2 if m2 is None else whole_number(m2, "m2")
        if mm2 < 1 or not 0 <= x2 <= mm2:
            raise StatisticsError(f"x2 must be between 0 and m2={mm2} (m2 >= 1); got {x2}.")
        stage, treated, total = 2, n1 + mm2, x1 + x2

    def pv(p: float) -> float:
        return _pvalue_function(p, r1, n1, r, n, x1, x2, mm2)

    pvalue = pv(float(p0))
    tail = (1 - confidence_level) / 2
    eps = 1e-12
    low = 0.0 if pv(eps) >= tail else float(brentq(lambda p: pv(p) - tail, eps, 1 - eps))
    if stage == 1 and x1 == 0:  # P(X1 >= 0) = 1 for every p: Clopper-Pearson upper limit
        high = float(1 - tail ** (1 / n1))
    elif stage == 2 and total == treated:  # every patient responded: no larger outcome
        high = 1.0
    else:
        high = 1.0 if pv(1 - eps) <= 1 - tail else float(
            brentq(lambda p: pv(p) - (1 - tail), eps, 1 - eps))
    planned = x2 is None or mm2 == n2
    estimate = umvue(r1, n1, x1, n2, x2) if planned else total / treated
    method = (
        f"After a Simon two-stage trial (r1/n1 = {r1}/{n1}, r/n = {r}/{n}), the p-value for "
        f"H0: p <= {p0:g} and the {confidence_level:.0%} confidence interval follow Koyama "
        "and Chen (2008)" + (
            "; the response rate is estimated by the UMVUE (Jung and Kim 2004)." if planned
            else "; the stage-2 size differed from the plan, so the naive proportion is "
            "reported (the UMVUE assumes the planned size)."))
    return TwoStageInference(total, pvalue, estimate, total / treated, low, high,
                             float(confidence_level), treated, stage, float(p0), r1, n1, r,
                             n, x1, x2, None if x2 is None else mm2, method)
