"""The multiphasic CAR T-cell kinetic model of Stein et al. 2019, fitted per infusion.

Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular kinetic
analysis of chimeric antigen receptor-T cells. CPT Pharmacometrics Syst Pharmacol
2019;8(5):285-295 (doi:10.1002/psp4.12388), Figure 2 and the supplement's analytical
solution: CAR T cells grow exponentially up to the time of the peak, then decline in two
phases (fast contraction, slow persistence)::

    C(t) = R0 exp(rho t)                                                   t < Tmax
    C(t) = Cmax [(1 - FB) exp(-alpha (t - Tmax)) + FB exp(-beta (t - Tmax))]  t >= Tmax

with R0 = Cmax exp(-rho Tmax) so that the curve is continuous, and alpha > beta.

- :func:`stein_curve`: the model's values at given days.
- :func:`fit_stein`: least-squares fit of one curve on log counts (scipy's
  ``least_squares``), with Wald confidence intervals from the Jacobian and diagnostics.
- :func:`fit_stein_table`: the same for every (patient_id, infusion) of a ``car_counts``
  table, one row each, with a status instead of an error for the curves that cannot be
  fitted.
- :data:`STEIN_2019_TYPICAL`: the typical (population) parameters of the paper.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special, stats

from reinfuse.errors import CriteriaError, StatisticsError
from reinfuse.kinetics import (
    COMPARTMENTS,
    UNITS,
    Compartment,
    Duplicates,
    FloatArray,
    Lod,
    Unit,
    _above,
    _check_one_unit,
    _label,
    _lods,
    _one_value_per_day,
    _option,
    _prepare,
    _window,
)

__all__ = [
    "STEIN_2019_TYPICAL",
    "STEIN_PARAMETERS",
    "SteinFit",
    "SteinFits",
    "SteinParameters",
    "fit_stein",
    "fit_stein_table",
    "stein_curve",
]

BelowLimit = Literal["censored", "drop"]

#: Parameters reported by a fit, in order (``r0`` and ``foldx`` follow from the others).
STEIN_PARAMETERS: tuple[str, ...] = (
    "cmax", "tmax", "rho", "alpha", "fb", "beta", "r0", "foldx")

#: Fewest measurements above the limit: 6 parameters and at least 1 degree of freedom.
MIN_POINTS = 7
#: Fewest measurements above the limit before the observed peak (the rise).
MIN_RISING = 1
#: Fewest measurements above the limit after the observed peak (two decline phases).
MIN_FALLING = 4
#: Condition number of the Jacobian (fitting scale) above which a fit is not identifiable.
MAX_CONDITION = 1e8
_THETA_LIMIT = 40.0


@dataclass(frozen=True)
class SteinParameters:
    """One set of parameters of the Stein et al. 2019 model.

    Attributes
    ----------
    cmax : float
        Peak level (the unit of the data).
    tmax : float
        Day of the peak.
    rho : float
        Expansion rate (1/day); doubling time ln 2 / rho.
    alpha : float
        Contraction rate (1/day), the fast decline after the peak.
    fb : float
        Fraction of the peak in the slow (persistence) phase, 0 < FB < 1.
    beta : float
        Persistence rate (1/day), the slow decline; beta < alpha.
    """

    cmax: float
    tmax: float
    rho: float
    alpha: float
    fb: float
    beta: float

    @property
    def r0(self) -> float:
        """Level at day 0, Cmax exp(-rho Tmax)."""
        return self.cmax * math.exp(-self.rho * self.tmax)

    @property
    def foldx(self) -> float:
        """Fold expansion from day 0 to the peak, exp(rho Tmax) = Cmax / R0."""
        return math.exp(self.rho * self.tmax)

    @classmethod
    def from_fold_expansion(cls, *, foldx: float, tmax: float, cmax: float,
                            alpha: float, fb: float, beta: float) -> SteinParameters:
        """Parameters as the paper reports them (fold expansion instead of rho)."""
        return cls(cmax=cmax, tmax=tmax, rho=math.log(foldx) / tmax, alpha=alpha, fb=fb,
                   beta=beta)


#: Typical values of Stein et al. 2019, Table 1 (pediatric and young adult r/r B-ALL,
#: ELIANA and ENSIGN, transgene copies/ug genomic DNA by qPCR): fold expansion 3,900,
#: Tmax 9.3 d, Cmax 24,000 copies/ug, alpha 0.16 /d, FB 0.0079, beta 0.0032 /d; rho =
#: ln(3,900) / 9.3 = 0.889 /d (doubling time 0.78 d, as the paper's abstract states).
STEIN_2019_TYPICAL = SteinParameters.from_fold_expansion(
    foldx=3900.0, tmax=9.3, cmax=24000.0, alpha=0.16, fb=0.0079, beta=0.0032)


def stein_curve(days: npt.ArrayLike, parameters: SteinParameters) -> FloatArray:
    """Values of the Stein et al. 2019 model at ``days`` (days from the infusion).

    Parameters
    ----------
    days
        Days from the infusion (any shape).
    parameters
        The model's parameters.

    Returns
    -------
    numpy.ndarray
        ``R0 exp(rho t)`` before Tmax, ``Cmax[(1 - FB) exp(-alpha (t - Tmax)) + FB
        exp(-beta (t - Tmax))]`` from Tmax on (Stein et al. 2019, Figure 2).

    Examples
    --------
    >>> round(float(stein_curve(9.3, STEIN_2019_TYPICAL)))
    24000
    >>> round(float(stein_curve(0.0, STEIN_2019_TYPICAL)), 2)  # R0 = 24000 / 3900
    6.15
    """
    t = np.asarray(days, dtype=np.float64)
    return np.exp(_log_model(t, _theta(parameters)))


# --------------------------------------------------------------------------------------
# the model on the fitting scale
# --------------------------------------------------------------------------------------
# theta = (ln Cmax, ln Tmax, ln rho, logit FB, ln(alpha - beta), ln beta): every value of
# theta is a valid curve (positive rates, 0 < FB < 1, alpha > beta).


def _theta(p: SteinParameters) -> FloatArray:
    if not (p.cmax > 0 and p.tmax > 0 and p.rho > 0 and 0 < p.fb < 1
            and 0 < p.beta < p.alpha):
        raise CriteriaError(
            f"Stein parameters need Cmax, Tmax, rho > 0, 0 < FB < 1 and 0 < beta < alpha; "
            f"got {p}.")
    return np.array([math.log(p.cmax), math.log(p.tmax), math.log(p.rho),
                     math.log(p.fb / (1 - p.fb)), math.log(p.alpha - p.beta),
                     math.log(p.beta)])


def _parameters(theta: FloatArray) -> SteinParameters:
    theta = np.clip(theta, -_THETA_LIMIT, _THETA_LIMIT)
    beta = math.exp(theta[5])
    return SteinParameters(
        cmax=math.exp(theta[0]), tmax=math.exp(theta[1]), rho=math.exp(theta[2]),
        alpha=beta + math.exp(theta[4]), fb=float(special.expit(theta[3])), beta=beta)


def _pieces(t: FloatArray, theta: FloatArray) -> tuple[FloatArray, ...]:
    """Log of the declining part and the weights of its fast and slow phases.

    ln[(1 - FB) e^(-alpha s) + FB e^(-beta s)] by log-sum-exp, so that neither phase
    underflows far from the peak; the weights are each phase's share of the sum.
    """
    # far outside any plausible curve, keep the exponentials finite (the optimiser may
    # try such a step; it is then rejected for its large residuals)
    theta = np.clip(theta, -_THETA_LIMIT, _THETA_LIMIT)
    tmax, rho = math.exp(theta[1]), math.exp(theta[2])
    fb = float(special.expit(theta[3]))
    beta = math.exp(theta[5])
    alpha = beta + math.exp(theta[4])
    s = np.maximum(t - tmax, 0.0)
    log_fast = -np.logaddexp(0.0, theta[3]) - alpha * s  # ln(1 - FB) - alpha s
    log_slow = -np.logaddexp(0.0, -theta[3]) - beta * s  # ln FB - beta s
    log_total = np.logaddexp(log_fast, log_slow)
    w_fast = np.exp(log_fast - log_total)
    w_slow = np.exp(log_slow - log_total)
    return (s, log_total, w_fast, w_slow, np.asarray(t < tmax),
            np.array([tmax, rho, fb, alpha, beta]))


def _log_model(t: FloatArray, theta: FloatArray) -> FloatArray:
    _, log_total, _, _, rising, (tmax, rho, *_) = _pieces(t, theta)
    return np.where(rising, theta[0] + rho * (t - tmax), theta[0] + log_total)


def _log_jacobian(t: FloatArray, theta: FloatArray) -> FloatArray:
    """d ln C / d theta, one row per day."""
    s, _, w_fast, w_slow, rising, (tmax, rho, fb, alpha, beta) = _pieces(t, theta)
    jac = np.zeros((t.size, 6))
    jac[:, 0] = 1.0
    # d/d ln Tmax = Tmax x d/dTmax; rising: -rho; falling: -(d/ds) ln(total)
    jac[:, 1] = tmax * np.where(rising, -rho, alpha * w_fast + beta * w_slow)
    jac[:, 2] = np.where(rising, rho * (t - tmax), 0.0)
    # FB = logistic(theta3), dFB/dtheta3 = FB (1 - FB); d ln total / dFB =
    # w_slow / FB - w_fast / (1 - FB)
    jac[:, 3] = np.where(rising, 0.0, w_slow * (1.0 - fb) - w_fast * fb)
    # alpha = beta + exp(theta4), beta = exp(theta5); d ln total / d alpha = -s w_fast
    d_alpha = -s * w_fast
    d_beta = -s * w_slow
    jac[:, 4] = np.where(rising, 0.0, d_alpha * (alpha - beta))
    jac[:, 5] = np.where(rising, 0.0, (d_alpha + d_beta) * beta)
    return jac


# --------------------------------------------------------------------------------------
# fitting one curve
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteinFit:
    """A fit of the Stein et al. 2019 model to one curve.

    Attributes
    ----------
    parameters : SteinParameters
        The estimates.
    estimates : pandas.DataFrame
        Indexed by parameter (:data:`STEIN_PARAMETERS`): ``estimate``, ``ci_low``,
        ``ci_high`` (Wald interval on the log scale, logit for FB, back-transformed) and
        ``se_fit_scale`` (standard error on that scale).
    confidence : float
        Level of the intervals.
    residual_sd : float
        Residual standard deviation on the natural-log scale, sqrt(SSR / (n - 6)).
    n_points : int
        Measurements above the limit used.
    n_censored : int
        Measurements at or below the limit used as censored (0 with ``"drop"``).
    n_dropped : int
        Measurements at or below the limit left out (``"drop"``, or no limit above 0).
    df_residual : int
        n_points - 6.
    converged : bool
        Whether ``least_squares`` met its tolerance (status > 0) rather than its limit of
        evaluations.
    n_evaluations : int
        Model evaluations used by the best start.
    condition_number : float
        Of the Jacobian of the log model on the fitting scale at the estimate (largest
        over smallest singular value); above 1e8 the fit is refused.
    method : str
        A sentence for a Methods section.
    """

    parameters: SteinParameters
    estimates: pd.DataFrame
    confidence: float
    residual_sd: float
    n_points: int
    n_censored: int
    n_dropped: int
    df_residual: int
    converged: bool
    n_evaluations: int
    condition_number: float
    method: str


_METHOD = (
    "The multiphasic model of Stein et al. 2019 (CPT Pharmacometrics Syst Pharmacol "
    "8:285-295; exponential expansion at rate rho to the peak Cmax at Tmax, then "
    "biexponential decline with rates alpha and beta and slow fraction FB) was fitted to "
    "each curve by least squares on natural-log levels (scipy.optimize.least_squares, "
    "Levenberg-Marquardt, analytical Jacobian, five starts){censoring}; "
    "{level:g}% Wald confidence intervals from the Jacobian at the estimate on the log "
    "scale (logit for FB) with a t distribution on n - 6 degrees of freedom, "
    "back-transformed. Curves with fewer than 7 measurements above the limit, fewer than "
    "1 before or 4 after the observed peak, a near-singular Jacobian (condition number "
    "above 1e8) or a fitted peak outside the measured days were not fitted."
)


def _method(below_limit: str, level: float) -> str:
    censoring = (
        "; values at or below the limit of detection were treated as censored (they "
        "count only where the model predicts more than the limit, by the log distance "
        "to it)" if below_limit == "censored" else
        "; values at or below the limit of detection were left out")
    return _METHOD.format(censoring=censoring, level=100 * level)


def _check_level(confidence: float) -> float:
    level = float(confidence)
    if not (0 < level < 1):
        raise CriteriaError(f"confidence must be between 0 and 1; got {confidence!r}.")
    return level


def _starts(t: FloatArray, y: FloatArray) -> list[FloatArray]:
    """A few starting points on the fitting scale, from the shape of the data."""
    k = int(np.argmax(y))
    t_peak = max(float(t[k]), 1e-3)
    before = slice(0, k)
    rise = (y[k] - y[before]) / np.maximum(t_peak - t[before], 1e-9)
    rho = float(np.clip(np.median(rise) if rise.size else 0.5, 0.05, 5.0))
    tt, yy = t[k:], y[k:]
    half = max(tt.size // 2, 2)
    slope_late, inter_late = np.polyfit(tt[-half:], yy[-half:], 1)
    beta = float(np.clip(-slope_late, 1e-4, 1.0))
    fb = float(np.clip(math.exp(inter_late + slope_late * t_peak - y[k]), 1e-4, 0.5))
    slope_early = (yy[1] - yy[0]) / max(tt[1] - tt[0], 1e-9)
    alpha = float(max(-slope_early, 2.0 * beta + 1e-3))
    starts = []
    for f_mult, a_mult in ((1.0, 1.0), (0.1, 1.0), (10.0, 1.0), (1.0, 2.0), (1.0, 0.5)):
        f = float(np.clip(fb * f_mult, 1e-5, 0.9))
        a = max(alpha * a_mult, beta * 1.5 + 1e-4)
        starts.append(np.array([y[k], math.log(t_peak), math.log(rho),
                                math.log(f / (1 - f)), math.log(a - beta), math.log(beta)]))
    return starts


def _fit_arrays(
    day: FloatArray, value: FloatArray, lod: float, below_limit: str, level: float,
    where: str,
) -> SteinFit:
    """Fit one curve (days sorted, values >= 0); raises StatisticsError when refused."""
    quantified = _above(value, np.full(value.size, lod))
    censored = ~quantified & (below_limit == "censored") & (lod > 0)
    n_dropped = int((~quantified & ~censored).sum())
    t, y = day[quantified], np.log(value[quantified])
    tc = day[censored]
    n = int(t.size)
    if n:
        k = int(np.argmax(y))
        n_rising, n_falling = k, n - k - 1
    else:
        n_rising = n_falling = 0
    if n < MIN_POINTS or n_rising < MIN_RISING or n_falling < MIN_FALLING:
        raise StatisticsError(
            f"{where}: too few points for the Stein model ({n} above the limit, {n_rising} "
            f"before and {n_falling} after the observed peak); it needs at least "
            f"{MIN_POINTS}, with {MIN_RISING} before and {MIN_FALLING} after the peak.")
    log_lod = math.log(lod) if lod > 0 else -math.inf

    def residuals(theta: FloatArray) -> FloatArray:
        r = _log_model(t, theta) - y
        if tc.size:
            r = np.r_[r, np.maximum(_log_model(tc, theta) - log_lod, 0.0)]
        return r

    def jacobian(theta: FloatArray) -> FloatArray:
        jac = _log_jacobian(t, theta)
        if tc.size:
            active = (_log_model(tc, theta) > log_lod)[:, None]
            jac = np.vstack([jac, np.where(active, _log_jacobian(tc, theta), 0.0)])
        return jac

    # Levenberg-Marquardt (MINPACK) from several starts; the lowest sum of squares wins.
    best: optimize.OptimizeResult | None = None
    for start in _starts(t, y):
        result = optimize.least_squares(
            residuals, start, jac=jacobian, method="lm", x_scale="jac", xtol=1e-12,
            ftol=1e-12, gtol=1e-12, max_nfev=500)
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    theta = np.asarray(best.x, dtype=np.float64)
    jac = jacobian(theta)
    # On the fitting scale every parameter is a log (logit for FB), so the columns are
    # comparable as they stand: a near-zero singular value is a direction of the
    # parameters that the data do not determine.
    singular = np.linalg.svd(jac, compute_uv=False)
    condition = float(singular[0] / singular[-1]) if singular[-1] > 0 else math.inf
    if not math.isfinite(condition) or condition > MAX_CONDITION:
        raise StatisticsError(
            f"{where}: the Stein model is not identifiable from these points (condition "
            f"number of the Jacobian {condition:.3g}, above {MAX_CONDITION:g}): the data "
            "cannot separate some parameters, e.g. a slow phase with no measurement late "
            "enough to show it, or a peak without a rise.")
    fitted_tmax = math.exp(min(float(theta[1]), _THETA_LIMIT))
    if not (float(t[0]) <= fitted_tmax <= float(t[-1])):
        raise StatisticsError(
            f"{where}: the Stein model is not identifiable from these points: the fitted "
            f"peak (day {fitted_tmax:.3g}) lies outside the days measured above the limit "
            f"({float(t[0]):g} to {float(t[-1]):g}).")
    df = n - 6
    ssr = float(np.sum(best.fun ** 2))
    sd = math.sqrt(ssr / df)
    cov = np.asarray(np.linalg.inv(jac.T @ jac), dtype=np.float64) * sd ** 2
    estimates = _estimates(theta, cov, stats.t.ppf(0.5 + level / 2, df))
    return SteinFit(
        parameters=_parameters(theta),
        estimates=estimates,
        confidence=level,
        residual_sd=sd,
        n_points=n,
        n_censored=int(censored.sum()),
        n_dropped=n_dropped,
        df_residual=df,
        converged=bool(best.status > 0),
        n_evaluations=int(best.nfev),
        condition_number=condition,
        method=_method(below_limit, level),
    )


def _estimates(theta: FloatArray, cov: FloatArray, z: float) -> pd.DataFrame:
    """Estimates with Wald intervals on the fitting scale, back-transformed."""
    p = _parameters(theta)
    # ln(parameter) (logit for FB) as a linear function of theta near the estimate
    grad = np.zeros((len(STEIN_PARAMETERS), 6))
    grad[0, 0] = grad[1, 1] = grad[2, 2] = grad[5, 5] = grad[4, 3] = 1.0
    grad[3, 4] = (p.alpha - p.beta) / p.alpha  # ln alpha = ln(e^theta5 + e^theta4)
    grad[3, 5] = p.beta / p.alpha
    grad[6] = [1.0, -p.rho * p.tmax, -p.rho * p.tmax, 0, 0, 0]  # ln R0 = ln Cmax - rho Tmax
    grad[7] = [0.0, p.rho * p.tmax, p.rho * p.tmax, 0, 0, 0]  # ln foldx = rho Tmax
    centre = np.array([math.log(p.cmax), math.log(p.tmax), math.log(p.rho),
                       math.log(p.alpha), theta[3], math.log(p.beta), math.log(p.r0),
                       p.rho * p.tmax])
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", grad, cov, grad), 0.0))
    low, high = centre - z * se, centre + z * se
    order = [0, 1, 2, 3, 4, 5, 6, 7]  # cmax, tmax, rho, alpha, fb, beta, r0, foldx
    with np.errstate(over="ignore"):  # an interval too wide to state ends at infinity
        back = np.exp(np.r_[low, high])
    back_low, back_high = back[:8], back[8:]
    logistic = 1.0 / (1.0 + np.exp(-np.array([low[4], high[4]])))
    back_low[4], back_high[4] = logistic
    estimate = [p.cmax, p.tmax, p.rho, p.alpha, p.fb, p.beta, p.r0, p.foldx]
    return pd.DataFrame(
        {"estimate": [estimate[i] for i in order], "ci_low": back_low[order],
         "ci_high": back_high[order], "se_fit_scale": se[order]},
        index=pd.Index(["cmax", "tmax", "rho", "alpha", "fb", "beta", "r0", "foldx"],
                       name="parameter"),
    )


def fit_stein(
    days: Sequence[float] | npt.ArrayLike,
    values: Sequence[float] | npt.ArrayLike,
    *,
    lod: float | None = None,
    below_limit: BelowLimit = "censored",
    confidence: float = 0.95,
) -> SteinFit:
    """Fit the Stein et al. 2019 model to one CAR T-cell curve.

    Parameters
    ----------
    days, values
        Days from the infusion and the levels (>= 0), one per day; missing values are
        left out.
    lod
        Limit of detection in the unit of the values: a value at or below it is below
        the limit (the 1e-9 relative tolerance of :mod:`reinfuse.kinetics`). ``None``
        (default): only a value of 0 is.
    below_limit
        ``"censored"`` (default): a value below a limit above 0 adds the log distance
        from the model's prediction down to the limit when the model predicts more than
        the limit, and nothing otherwise (a one-sided, censored residual). ``"drop"``:
        such values are left out. Without a limit above 0, values of 0 cannot be placed
        on the log scale and are always left out.
    confidence
        Level of the Wald intervals (default 0.95).

    Returns
    -------
    SteinFit
        Estimates with intervals and fit diagnostics.

    Raises
    ------
    reinfuse.errors.StatisticsError
        When the curve has too few points (fewer than 7 above the limit, fewer than 1
        before or 4 after the observed peak) or the model is not identifiable from them
        (near-singular Jacobian).
    reinfuse.errors.CriteriaError
        For days or values that are not numbers, negative values, or a repeated day.

    Notes
    -----
    Model (Stein et al. 2019, Figure 2 and the supplement's analytical solution): on the
    log scale ln C = ln Cmax + rho (t - Tmax) before Tmax and ln C = ln Cmax + ln[(1 - FB)
    exp(-alpha s) + FB exp(-beta s)], s = t - Tmax, after. Fitted on the scale (ln Cmax,
    ln Tmax, ln rho, logit FB, ln(alpha - beta), ln beta), so every estimate is a valid
    curve with alpha > beta; a fitted Tmax outside the days measured above the limit is
    refused as not identifiable. The paper fitted the same structure as a mixed-effects
    model (Monolix) with log-normal parameters and an additive error on the log scale;
    here each curve is fitted on its own, with the same error model.

    Examples
    --------
    >>> import numpy as np
    >>> days = np.array([1, 3, 5, 7, 9, 11, 14, 21, 28, 60, 90, 180, 270, 365.0])
    >>> fit = fit_stein(days, stein_curve(days, STEIN_2019_TYPICAL))
    >>> round(fit.parameters.cmax), round(fit.parameters.tmax, 3), fit.converged
    (24000, 9.3, True)
    """
    level = _check_level(confidence)
    _option(below_limit, ("censored", "drop"), "below_limit")
    t = _vector(days, "days")
    v = _vector(values, "values")
    if t.size != v.size:
        raise CriteriaError(
            f"days and values must have the same length; got {t.size} and {v.size}.")
    known = ~np.isnan(t) & ~np.isnan(v)
    t, v = t[known], v[known]
    if (v < 0).any():
        raise CriteriaError(f"values must be >= 0; got {float(v[v < 0][0])!r}.")
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if (np.diff(t) == 0).any():
        raise CriteriaError(
            f"days must differ; day {float(t[1:][np.diff(t) == 0][0]):g} is repeated "
            "(average same-day values first).")
    limit = 0.0 if lod is None else float(lod)
    if not (math.isfinite(limit) and limit >= 0):
        raise CriteriaError(f"lod must be a number >= 0 or None; got {lod!r}.")
    return _fit_arrays(t, v, limit, str(below_limit).strip().lower(), level, "the curve")


def _vector(values: object, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise CriteriaError(f"{name} must be numbers; got {values!r}.") from None
    return array


# --------------------------------------------------------------------------------------
# fitting every curve of a table
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteinFits:
    """Fits of the Stein et al. 2019 model to every infusion of a ``car_counts`` table.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (``patient_id``, ``infusion``): ``status`` (``"fitted"``, ``"too
        few points"``, ``"not identifiable"``, ``"no measurements"``), ``message`` (why
        a curve was not fitted), for each parameter of :data:`STEIN_PARAMETERS` the
        estimate and ``<name>_ci_low`` / ``<name>_ci_high``, and ``residual_sd``,
        ``n_points``, ``n_censored``, ``n_dropped``, ``converged``,
        ``condition_number``, ``lod``, ``unit``.
    method : str
        A sentence for a Methods section.
    confidence : float
        Level of the intervals.
    """

    table: pd.DataFrame
    method: str
    confidence: float


def fit_stein_table(
    car_counts: pd.DataFrame,
    infusions: pd.DataFrame | None = None,
    *,
    compartment: Compartment = "blood",
    unit: Unit | None = "cells_per_ul",
    window: tuple[float, float] = (0.0, math.inf),
    lod: Lod = None,
    below_limit: BelowLimit = "censored",
    duplicates: Duplicates = "error",
    confidence: float = 0.95,
) -> SteinFits:
    """Fit the Stein et al. 2019 model to each (patient_id, infusion) of ``car_counts``.

    Parameters
    ----------
    car_counts, infusions, compartment, unit, lod, duplicates
        As in :func:`reinfuse.kinetics.expansion_metrics`.
    window
        Days from each infusion, both ends included; default ``(0, inf)``: everything
        after the infusion (the slow phase needs the late measurements).
    below_limit, confidence
        As in :func:`fit_stein`.

    Returns
    -------
    SteinFits
        One row per infusion; a curve that cannot be fitted gets its status and message
        and missing estimates instead of stopping the others.

    Raises
    ------
    reinfuse.errors.CriteriaError
        For the input problems of :func:`~reinfuse.kinetics.expansion_metrics`.

    Notes
    -----
    Each curve is its own nonlinear least-squares problem, so the fits run one after the
    other (a few milliseconds each); reading, checking and sorting the table is done
    for all rows at once.
    """
    level = _check_level(confidence)
    _option(below_limit, ("censored", "drop"), "below_limit")
    mode = str(below_limit).strip().lower()
    comp = _option(compartment, COMPARTMENTS, "compartment")
    unit_code = None if unit is None else _option(unit, UNITS, "unit")
    _option(duplicates, ("error", "mean"), "duplicates")
    curves = _prepare(car_counts, infusions, compartments=(comp,), unit=unit_code,
                      window=_window(window))
    if unit_code is None:
        _check_one_unit(curves.index, curves.group, curves.compartment, curves.unit,
                        curves.starts(), "Pass unit='cells_per_ul' (or another unit).")
    g, day, value, unit_of = _one_value_per_day(curves, duplicates, COMPARTMENTS[comp])
    n_groups = curves.n_groups
    has = np.bincount(g, minlength=n_groups) > 0
    lods = _lods(lod, curves, has, "lod")

    columns: dict[str, FloatArray] = {}
    for name in STEIN_PARAMETERS:
        for suffix in ("", "_ci_low", "_ci_high"):
            columns[name + suffix] = np.full(n_groups, np.nan)
    for name in ("residual_sd", "condition_number"):
        columns[name] = np.full(n_groups, np.nan)
    counts = {name: np.zeros(n_groups, dtype=np.int64)
              for name in ("n_points", "n_censored", "n_dropped")}
    status = np.full(n_groups, "no measurements", dtype=object)
    message = np.full(n_groups, None, dtype=object)
    converged = pd.array([pd.NA] * n_groups, dtype="boolean")
    units = np.full(n_groups, None if unit_code is None else UNITS[unit_code], dtype=object)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else g[:0]
    bounds = np.r_[starts, g.size]
    for begin, end in itertools.pairwise(bounds):  # one fit per curve
        row = int(g[begin])
        units[row] = UNITS[unit_of[begin]]
        try:
            fit = _fit_arrays(day[begin:end], value[begin:end], float(lods[row]), mode,
                              level, _label(curves.index, row))
        except StatisticsError as exc:
            text = str(exc)
            status[row] = "too few points" if "too few" in text else "not identifiable"
            message[row] = text
            quantified = _above(value[begin:end], np.full(end - begin, lods[row]))
            counts["n_points"][row] = int(quantified.sum())
            continue
        status[row] = "fitted"
        est = fit.estimates
        for name in STEIN_PARAMETERS:
            columns[name][row] = est.at[name, "estimate"]
            columns[name + "_ci_low"][row] = est.at[name, "ci_low"]
            columns[name + "_ci_high"][row] = est.at[name, "ci_high"]
        columns["residual_sd"][row] = fit.residual_sd
        columns["condition_number"][row] = fit.condition_number
        counts["n_points"][row] = fit.n_points
        counts["n_censored"][row] = fit.n_censored
        counts["n_dropped"][row] = fit.n_dropped
        converged[row] = fit.converged
    table = pd.DataFrame(
        {"status": pd.array(status, dtype="string"),
         "message": pd.array(message, dtype="string"),
         **columns, **counts, "converged": converged, "lod": lods,
         "unit": pd.array(units, dtype="string")},
        index=curves.index,
    )
    return SteinFits(table=table, method=_method(mode, level), confidence=level)
