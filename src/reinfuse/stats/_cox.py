"""Cox proportional-hazards regression: a thin wrapper over lifelines' ``CoxPHFitter``.

What reinfuse adds: input checks with clear errors, missing values dropped and counted, a
documented refusal (or warning) when there are too few events per variable, the global
Wald test (lifelines reports the likelihood-ratio test only), the Schoenfeld-residual
proportional-hazards check reported beside the fit, and a frozen, JSON-ready result with a
methods sentence.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._validate import check_choice, check_confidence_level

LowEPVAction = Literal["refuse", "warn"]
PHTransform = Literal["km", "rank", "identity", "log"]

#: Events per variable below which a Cox model is refused (or flagged): the rule of thumb
#: of P. Peduzzi et al., J Clin Epidemiol 48 (1995) 1503-1510 (bias and poor coverage of
#: the coefficients below 10 events per variable).
MIN_EVENTS_PER_VARIABLE = 10.0

_PH_SCALE = {"km": "one minus the Kaplan-Meier estimate (R cox.zph's default)",
             "rank": "the rank of the event times", "identity": "time", "log": "log time"}


@dataclass(frozen=True)
class CoxTerm(_AsDict):
    """One covariate of a Cox model.

    ``hazard_ratio = exp(coef)`` with its Wald confidence limits ``exp(coef -+ z se)``;
    ``z = coef / se`` and ``pvalue`` its two-sided normal p-value (R's ``Pr(>|z|)``).
    """

    name: str
    coef: float
    se: float
    hazard_ratio: float
    ci_low: float
    ci_high: float
    z: float
    pvalue: float


@dataclass(frozen=True)
class PHCheck(_AsDict):
    """The Schoenfeld-residual test of proportional hazards for one covariate.

    A small ``pvalue`` says the covariate's effect changes over time (hazards not
    proportional).
    """

    name: str
    statistic: float
    pvalue: float


@dataclass(frozen=True)
class CoxResult(_AsDict):
    """Result of :func:`reinfuse.stats.cox_regression`.

    Attributes
    ----------
    statistic, pvalue : float
        The likelihood-ratio chi-squared of the model against the model with no covariate
        (R's "Likelihood ratio test") and its p-value.
    df : int
        Number of coefficients.
    method : str
        A sentence for a methods section.
    n, n_events : int
        Subjects analysed and events among them.
    n_missing : int
        Subjects dropped because the duration, the event, a covariate or a stratum was
        missing.
    terms : tuple of CoxTerm
        One row per covariate: coefficient, standard error, hazard ratio with its
        confidence limits, Wald z and p.
    wald_statistic, wald_pvalue : float
        The global Wald test ``b' V^-1 b`` on ``df`` degrees of freedom.
    score_statistic, score_pvalue : float
        The score test at ``b = 0`` (R's "Score (logrank) test"), Efron's ties.
    log_likelihood : float
        Maximised log partial likelihood.
    concordance : float
        Harrell's concordance index of the linear predictor.
    events_per_variable : float
        ``n_events / df``.
    min_events_per_variable : float
        The threshold used.
    ph_checks : tuple of PHCheck
        Proportional-hazards test per covariate (empty if not requested).
    ph_transform : str or None
        Time transformation of the proportional-hazards test.
    confidence_level : float
        Level of the hazard ratios' intervals.
    strata : tuple of str
        Columns the baseline hazard was stratified by.
    notes : tuple of str
        Warnings for the reader (too few events per variable under ``"warn"``, a
        proportional-hazards test below 0.05, ...).
    """

    statistic: float
    pvalue: float
    df: int
    method: str
    n: int
    n_events: int
    n_missing: int
    terms: tuple[CoxTerm, ...]
    wald_statistic: float
    wald_pvalue: float
    score_statistic: float
    score_pvalue: float
    log_likelihood: float
    concordance: float
    events_per_variable: float
    min_events_per_variable: float
    ph_checks: tuple[PHCheck, ...]
    ph_transform: str | None
    confidence_level: float
    strata: tuple[str, ...]
    notes: tuple[str, ...]

    def term(self, name: str) -> CoxTerm:
        """The row of covariate ``name``."""
        for t in self.terms:
            if t.name == name:
                return t
        raise StatisticsError(
            f"no covariate {name!r} in this model; it has {[t.name for t in self.terms]}.")


def _score_test(time: NDArray[np.float64], event: NDArray[np.bool_],
                x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Score vector and information at b = 0 for one stratum, Efron's handling of ties.

    At an event time with risk set R (n subjects) and d tied events D, Efron's l-th term
    (l = 0..d-1) has mean ``m_l = (S_R - (l/d) S_D) / (n - l)`` of the covariates and
    second moment ``(Q_R - (l/d) Q_D) / (n - l)`` (S sums of x, Q sums of x x'). Then
    ``U = sum_D x - sum m_l`` and ``I = sum [(Q_R - (l/d) Q_D) / (n - l) - m_l m_l']``.
    """
    order = np.argsort(-time, kind="stable")  # descending: risk sets are prefixes
    t, e, xs = time[order], event[order], x[order]
    p = xs.shape[1]
    cum_s = np.cumsum(xs, axis=0)
    cum_q = np.cumsum(xs[:, :, None] * xs[:, None, :], axis=0)
    times = -np.unique(-t)  # distinct times, descending
    # Risk set at time u: everyone with t >= u, i.e. the prefix up to the last row with t == u.
    last = np.searchsorted(-t, -times, side="right") - 1
    n_risk = (last + 1).astype(float)
    s_r, q_r = cum_s[last], cum_q[last]
    dead = e.astype(bool)
    index = np.searchsorted(-times, -t)  # distinct-time index of every row
    d = np.bincount(index[dead], minlength=times.size).astype(float)
    s_d = np.zeros((times.size, p))
    q_d = np.zeros((times.size, p, p))
    np.add.at(s_d, index[dead], xs[dead])
    np.add.at(q_d, index[dead], xs[dead][:, :, None] * xs[dead][:, None, :])
    which = np.repeat(np.arange(times.size), d.astype(int))
    start = np.concatenate([[0], np.cumsum(d.astype(int))[:-1]])
    ell = np.arange(which.size) - start[which]
    frac = ell / d[which]
    den = n_risk[which] - ell
    mean = (s_r[which] - frac[:, None] * s_d[which]) / den[:, None]
    second = (q_r[which] - frac[:, None, None] * q_d[which]) / den[:, None, None]
    score = xs[dead].sum(axis=0) - mean.sum(axis=0)
    information = (second - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    return score, information


def cox_regression(
    data: pd.DataFrame,
    duration: str,
    event: str,
    covariates: Sequence[str] | None = None,
    *,
    strata: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    min_events_per_variable: float = MIN_EVENTS_PER_VARIABLE,
    on_low_epv: LowEPVAction = "refuse",
    ph_test: bool = True,
    ph_transform: PHTransform = "km",
) -> CoxResult:
    """Cox proportional-hazards model with hazard ratios, global tests and a PH check.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (e.g. one per infusion of the analysis frame).
    duration, event : str
        Columns of the time to event or censoring (>= 0) and of the event indicator
        (1/True = event, 0/False = censored).
    covariates : sequence of str, optional
        Numeric or boolean columns to model (default: every other column except
        ``strata``). Code categorical variables as 0/1 indicator columns first, choosing
        the reference level deliberately.
    strata : sequence of str, optional
        Columns whose levels get their own baseline hazard (R's ``strata()``).
    confidence_level : float, default 0.95
        Level of the hazard ratios' Wald intervals.
    min_events_per_variable : float, default 10
        Smallest acceptable number of events per coefficient (Peduzzi et al. 1995).
    on_low_epv : {"refuse", "warn"}, default "refuse"
        Below the threshold: raise a :class:`StatisticsError` (default) or fit anyway and
        say so in ``notes``.
    ph_test : bool, default True
        Whether to test proportional hazards from the scaled Schoenfeld residuals.
    ph_transform : {"km", "rank", "identity", "log"}, default "km"
        Time scale of that test (``"km"``: one minus the Kaplan-Meier estimate, the
        default of R's ``cox.zph``).

    Returns
    -------
    CoxResult

    Raises
    ------
    StatisticsError
        Missing columns, non-numeric covariates, negative durations, events other than
        0/1, no event, too few events per variable (with ``on_low_epv="refuse"``), or a
        fit that does not converge (e.g. complete separation).

    Notes
    -----
    The model ``h(t | x) = h0(t) exp(b'x)`` (D. R. Cox, JRSS B 34 (1972) 187-220) is fitted
    by lifelines' ``CoxPHFitter`` (Newton-Raphson on the partial likelihood with Efron's
    handling of tied event times, as R's ``coxph`` default). Coefficients, standard errors,
    Wald z and p and the likelihood-ratio test are lifelines'; the global Wald test
    ``b' V^-1 b`` is computed here from lifelines' variance matrix, and the score test
    ``U' I^-1 U`` at ``b = 0`` (Efron's handling of ties, as R's ``coxph``), which lifelines
    does not report, from its definition. The proportional-
    hazards check is ``lifelines.statistics.proportional_hazard_test`` (P. Grambsch and
    T. Therneau, Biometrika 81 (1994) 515-526), the per-covariate test of R's
    ``cox.zph`` in survival < 3.0; R >= 3.0 uses a refined score test whose values
    differ somewhat, and no global PH test is reported (lifelines has none).

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> fit = cox_regression(load_rossi(), "week", "arrest", ["fin", "age", "prio"])
    >>> t = fit.term("fin")
    >>> round(t.hazard_ratio, 3), fit.df, fit.n_events
    (0.707, 3, 114)
    """
    check_confidence_level(confidence_level)
    check_choice(on_low_epv, ("refuse", "warn"), "on_low_epv")
    check_choice(ph_transform, ("km", "rank", "identity", "log"), "ph_transform")
    if not isinstance(data, pd.DataFrame):
        raise StatisticsError(
            f"data must be a pandas DataFrame with one row per subject; got "
            f"{type(data).__name__}.")
    strata_cols = tuple(strata or ())
    if covariates is None:
        covariates = [c for c in data.columns if c not in {duration, event, *strata_cols}]
    columns = [duration, event, *covariates, *strata_cols]
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise StatisticsError(
            f"column(s) {absent} not in data; its columns are {list(data.columns)}.")
    if len(set(columns)) != len(columns):
        raise StatisticsError(f"a column is named twice among {columns}.")
    if not covariates:
        raise StatisticsError("at least one covariate is needed for a Cox model.")
    frame = data[columns].copy()
    for c in [duration, event, *covariates]:
        if frame[c].dtype == bool or str(frame[c].dtype) == "boolean":
            frame[c] = frame[c].astype("Float64")
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise StatisticsError(
                f"column {c!r} must be numeric (or boolean); got {frame[c].dtype} "
                f"(e.g. {frame[c].dropna().iloc[:3].tolist()}). Code a categorical "
                "covariate as 0/1 indicator columns, leaving out the reference level "
                "(reinfuse.stats.indicator_columns).")
        frame[c] = frame[c].astype(float)
    missing = frame.isna().any(axis=1)
    frame = frame[~missing].reset_index(drop=True)
    n_missing = int(missing.sum())
    values = frame[[duration, event, *covariates]].to_numpy()
    if np.isinf(values).any():
        raise StatisticsError("data contain infinite values; only finite numbers are allowed.")
    if (frame[duration] < 0).any():
        raise StatisticsError(
            f"{duration!r} must be >= 0; got {int((frame[duration] < 0).sum())} negative "
            "value(s).")
    wrong = sorted(set(frame[event][~frame[event].isin([0.0, 1.0])].tolist()))
    if wrong:
        raise StatisticsError(
            f"{event!r} must be 1 (event) or 0 (censored); got {wrong[:5]}. CDISC ADaM CNSR "
            "is the opposite (1 = censored): pass 1 - CNSR.")
    n_events = int(frame[event].sum())
    if n_events == 0:
        raise StatisticsError(
            f"no event among the {len(frame)} complete subjects; a Cox model needs events.")
    constant = [c for c in covariates if frame[c].nunique() < 2]
    if constant:
        raise StatisticsError(
            f"covariate(s) {constant} take a single value among the complete subjects and "
            "cannot be estimated; drop them.")
    df = len(covariates)
    epv = n_events / df
    notes: list[str] = []
    if epv < min_events_per_variable:
        message = (f"only {n_events} events for {df} coefficient(s): {epv:.1f} events per "
                   f"variable, below the {min_events_per_variable:g} recommended (Peduzzi "
                   "et al. 1995); the estimates may be biased and their intervals too narrow")
        if on_low_epv == "refuse":
            raise StatisticsError(
                f"Cox model refused: {message}. Use fewer covariates, or pass "
                "on_low_epv='warn' to fit it anyway with the warning recorded.")
        notes.append(message + ".")

    # lifelines is imported here, not at module level: it takes about half a second and
    # only Cox models need it.
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning
    from lifelines.statistics import proportional_hazard_test

    fitter = CoxPHFitter(alpha=1.0 - confidence_level)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fitter.fit(frame, duration_col=duration, event_col=event,
                       strata=list(strata_cols) or None)
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as exc:
        raise StatisticsError(
            f"the Cox model did not converge ({str(exc).splitlines()[0][:200]}). This "
            "usually means a covariate separates events from non-events completely, or "
            "covariates are collinear; simplify the model.") from exc
    summary = fitter.summary
    z_crit = float(stats.norm.ppf(0.5 + confidence_level / 2.0))
    terms = tuple(
        CoxTerm(name=str(name), coef=float(row["coef"]), se=float(row["se(coef)"]),
                hazard_ratio=float(math.exp(row["coef"])),
                ci_low=float(math.exp(row["coef"] - z_crit * row["se(coef)"])),
                ci_high=float(math.exp(row["coef"] + z_crit * row["se(coef)"])),
                z=float(row["z"]), pvalue=float(row["p"]))
        for name, row in summary.iterrows())
    beta = summary["coef"].to_numpy()
    covariance = fitter.variance_matrix_.loc[summary.index, summary.index].to_numpy()
    wald = float(beta @ np.linalg.solve(covariance, beta))
    score = np.zeros(df)
    information = np.zeros((df, df))
    blocks = ([np.arange(len(frame))] if not strata_cols else
              list(frame.groupby(list(strata_cols)).indices.values()))
    for block in blocks:
        u, info = _score_test(frame[duration].to_numpy()[block],
                              frame[event].to_numpy()[block] == 1.0,
                              frame[list(covariates)].to_numpy(dtype=float)[block])
        score += u
        information += info
    score_statistic = float(score @ np.linalg.lstsq(information, score, rcond=None)[0])
    lr = fitter.log_likelihood_ratio_test()
    checks: tuple[PHCheck, ...] = ()
    if ph_test:
        ph = proportional_hazard_test(fitter, frame, time_transform=ph_transform).summary
        checks = tuple(PHCheck(name=str(name), statistic=float(ph.loc[name, "test_statistic"]),
                               pvalue=float(ph.loc[name, "p"]))
                       for name in summary.index if name in ph.index)
        flagged = [c.name for c in checks if c.pvalue < 0.05]
        if flagged:
            notes.append(f"proportional hazards doubtful for {flagged} (Schoenfeld-residual "
                         "test p < 0.05); consider stratifying or a time-varying effect.")
    level = f"{100 * confidence_level:g}%"
    method = (f"Cox proportional-hazards regression (Efron's method for tied event times"
              f"{'; stratified by ' + ', '.join(strata_cols) if strata_cols else ''}): hazard "
              f"ratios with {level} Wald confidence intervals and Wald p-values; "
              "likelihood-ratio, global Wald and score tests against the model without covariates")
    if ph_test:
        method += ("; proportional hazards checked per covariate by the scaled Schoenfeld "
                   f"residual test (Grambsch-Therneau) against {_PH_SCALE[ph_transform]}")
    return CoxResult(
        statistic=float(lr.test_statistic), pvalue=float(lr.p_value), df=df, method=method,
        n=len(frame), n_events=n_events, n_missing=n_missing, terms=terms,
        wald_statistic=wald, wald_pvalue=float(stats.chi2.sf(wald, df)),
        score_statistic=score_statistic,
        score_pvalue=float(stats.chi2.sf(score_statistic, df)),
        log_likelihood=float(fitter.log_likelihood_),
        concordance=float(fitter.concordance_index_), events_per_variable=float(epv),
        min_events_per_variable=float(min_events_per_variable), ph_checks=checks,
        ph_transform=ph_transform if ph_test else None,
        confidence_level=float(confidence_level), strata=strata_cols, notes=tuple(notes))


def indicator_columns(data: pd.DataFrame, column: str, reference: object,
                      *, prefix: str | None = None) -> pd.DataFrame:
    """``data`` with ``column`` replaced by 0/1 indicators of its levels but ``reference``.

    For a categorical covariate of :func:`cox_regression` (e.g. lymphodepletion regimen):
    each level except the reference gets a column ``"{prefix}={level}"`` whose hazard
    ratio is then relative to the reference level. A missing value stays missing in every
    indicator (the subject is dropped and counted by the model, never coded 0).

    Raises
    ------
    StatisticsError
        The column is absent, or ``reference`` is not one of its levels.

    Examples
    --------
    >>> frame = pd.DataFrame({"ld": ["flu/cy", "benda", None, "flu/cy"]})
    >>> indicator_columns(frame, "ld", "flu/cy").to_dict("list")
    {'ld=benda': [0.0, 1.0, nan, 0.0]}
    """
    if column not in data.columns:
        raise StatisticsError(
            f"column {column!r} not in data; its columns are {list(data.columns)}.")
    values = data[column]
    levels = sorted(values.dropna().unique().tolist(), key=str)
    if reference not in levels:
        raise StatisticsError(
            f"reference {reference!r} is not a level of {column!r}; its levels are {levels}.")
    name = column if prefix is None else prefix
    out = data.drop(columns=[column])
    missing = values.isna()
    for level in levels:
        if level == reference:
            continue
        out[f"{name}={level}"] = np.where(missing, np.nan, (values == level).astype(float))
    return out
