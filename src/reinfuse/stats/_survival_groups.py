"""Survival by group: Kaplan-Meier per group, numbers at risk, and the k-sample log-rank test.

The two-group functions live in :mod:`reinfuse.stats._survival`; this module handles any
number of groups (``k >= 2``) and the stratified log-rank test. The unstratified statistic
is ``lifelines.statistics.multivariate_logrank_test``; the observed and expected events
per group, their variance matrix and the stratified test (which lifelines does not offer)
are computed here from the definition, vectorised over event times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._survival import CIMethod, KaplanMeierResult, MedianRule, kaplan_meier
from reinfuse.stats._validate import as_float_vector


@dataclass(frozen=True)
class AtRiskRow(_AsDict):
    """Numbers at risk per group at one time (subjects whose duration is >= ``time``)."""

    time: float
    n_at_risk: dict[str, int]


@dataclass(frozen=True)
class GroupedKaplanMeier(_AsDict):
    """Result of :func:`reinfuse.stats.kaplan_meier_by_group`.

    Attributes
    ----------
    groups : tuple of str
        Group labels in the order used everywhere in the result.
    curves : dict of str to KaplanMeierResult
        One Kaplan-Meier estimate per group with subjects (medians, pointwise limits,
        table); a group named in ``order`` without subjects has no curve.
    at_risk : tuple of AtRiskRow
        Numbers at risk per group at each requested time (empty if none was requested).
    n : int
        Subjects analysed (duration, event and group all present).
    n_missing : int
        Subjects dropped because the duration, the event or the group was missing.
    method : str
        A sentence for a methods section.
    """

    groups: tuple[str, ...]
    curves: dict[str, KaplanMeierResult]
    at_risk: tuple[AtRiskRow, ...]
    n: int
    n_missing: int
    method: str


@dataclass(frozen=True)
class GroupLogRankResult(_AsDict):
    """Result of :func:`reinfuse.stats.logrank_test_groups`.

    Attributes
    ----------
    statistic : float
        The log-rank chi-squared ``U' V^- U`` (``U`` = observed minus expected events per
        group, summed over strata; ``V`` its variance matrix; ``V^-`` a generalised
        inverse).
    pvalue : float
        Upper tail of chi-squared with ``df`` degrees of freedom.
    method : str
        A sentence for a methods section.
    n : int
        Subjects analysed.
    df : int
        Degrees of freedom: the rank of ``V`` (``k - 1`` for ``k`` groups with events
        possible in each).
    groups : tuple of str
        Group labels, in the order of the per-group tuples below.
    n_per_group : tuple of int
        Subjects analysed per group.
    observed, expected : tuple
        Events observed and expected per group (R's ``survdiff`` "Observed" and
        "Expected"; summed over strata for a stratified test).
    variance : tuple of tuple of float
        ``V``, the variance matrix of observed minus expected (R's ``survdiff$var``).
    strata : tuple of str or None
        Stratum labels of a stratified test; None for an unstratified test.
    n_missing : int
        Subjects dropped because the duration, the event, the group or the stratum was
        missing.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    df: int
    groups: tuple[str, ...]
    n_per_group: tuple[int, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    variance: tuple[tuple[float, ...], ...]
    strata: tuple[str, ...] | None
    n_missing: int


def _labels(values: Any, name: str, size: int) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """Labels as strings and a mask of missing ones (None, NaN, pd.NA)."""
    if isinstance(values, str | bytes):
        raise StatisticsError(f"{name} must be one label per subject; got the string {values!r}.")
    series = pd.Series(list(values) if not hasattr(values, "to_numpy") else values.to_numpy(),
                       dtype=object)
    if series.size != size:
        raise StatisticsError(
            f"{name} must have one value per subject ({size}); got {series.size}.")
    missing = series.isna().to_numpy()

    def show(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    labels = np.array([None if m else show(v) for v, m in zip(series, missing, strict=True)],
                      dtype=object)
    return labels, missing


def _natural(label: str) -> tuple[int, float, str]:
    """Sort key: numeric labels by value (2 before 10), then the others as text."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _prepare(durations: Any, events: Any, groups: Any, strata: Any = None,
             order: Any = None) -> tuple[NDArray[np.float64], NDArray[np.bool_],
                                         NDArray[np.int64], tuple[str, ...],
                                         NDArray[np.int64] | None, tuple[str, ...] | None, int]:
    time = as_float_vector(durations, "durations")
    flag = as_float_vector(events, "events")
    if time.size != flag.size:
        raise StatisticsError(
            f"durations and events must have the same length (one per subject); got "
            f"{time.size} and {flag.size}.")
    group_labels, group_missing = _labels(groups, "groups", time.size)
    missing = np.isnan(time) | np.isnan(flag) | group_missing
    stratum_labels = None
    if strata is not None:
        stratum_labels, stratum_missing = _labels(strata, "strata", time.size)
        missing |= stratum_missing
    keep = ~missing
    time, flag, group_labels = time[keep], flag[keep], group_labels[keep]
    wrong = sorted(set(flag[(flag != 0) & (flag != 1)].tolist()))
    if wrong:
        raise StatisticsError(
            f"events must be 1/True (event observed) or 0/False (censored); got {wrong[:5]}. "
            "CDISC ADaM CNSR is the opposite (1 = censored): pass 1 - CNSR.")
    if (time < 0).any():
        raise StatisticsError(
            f"durations must be >= 0; got {int((time < 0).sum())} negative value(s) "
            f"({time[time < 0][:5].tolist()}). Check the dates they were computed from.")
    present = sorted(set(group_labels.tolist()), key=_natural)
    if order is None:
        names = tuple(present)
    else:
        names = tuple(str(g) for g in order)
        unknown = sorted(set(present) - set(names))
        if unknown or len(set(names)) != len(names):
            raise StatisticsError(
                f"order must list each group once; the data have groups {present}, "
                f"order is {list(names)}.")
    if len([g for g in names if g in present]) < 2:
        raise StatisticsError(
            f"at least two groups with subjects are needed; got {present} "
            f"({int(missing.sum())} subject(s) dropped for a missing value).")
    index = {g: i for i, g in enumerate(names)}
    codes = np.array([index[g] for g in group_labels.tolist()], dtype=np.int64)
    stratum_codes = stratum_names = None
    if stratum_labels is not None:
        kept = stratum_labels[keep]
        stratum_names = tuple(sorted(set(kept.tolist()), key=_natural))
        where = {s: i for i, s in enumerate(stratum_names)}
        stratum_codes = np.array([where[s] for s in kept.tolist()], dtype=np.int64)
    return (time, flag.astype(bool), codes, names, stratum_codes, stratum_names,
            int(missing.sum()))


def _observed_expected(time: NDArray[np.float64], event: NDArray[np.bool_],
                       codes: NDArray[np.int64], k: int
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                  NDArray[np.float64]]:
    """Observed and expected events per group and the variance matrix of O - E.

    At each distinct event time with ``n`` at risk (``n_g`` per group) and ``d`` events,
    group g expects ``d n_g / n`` and ``Cov(O_g - E_g, O_h - E_h)`` gains
    ``d (n - d) / (n - 1) * (n_g / n) * (delta_gh - n_h / n)`` (hypergeometric).
    """
    event_times = np.unique(time[event])
    observed = np.bincount(codes[event], minlength=k).astype(float)
    if event_times.size == 0:
        return observed, np.zeros(k), np.zeros((k, k))
    at_risk = np.empty((event_times.size, k))
    deaths = np.zeros((event_times.size, k))
    for g in range(k):
        own = np.sort(time[codes == g])
        at_risk[:, g] = own.size - np.searchsorted(own, event_times, side="left")
        hit = event & (codes == g)
        np.add.at(deaths[:, g], np.searchsorted(event_times, time[hit]), 1.0)
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    share = at_risk / n[:, None]
    expected = (d[:, None] * share).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n - 1.0), 0.0)
    weighted = factor[:, None] * share
    variance = np.diag(weighted.sum(axis=0)) - weighted.T @ share
    return observed, expected, variance


def kaplan_meier_by_group(
    durations: Any,
    events: Any,
    groups: Any,
    *,
    at_risk_times: Any = None,
    order: Any = None,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "log-log",
    median_rule: MedianRule = "midpoint",
) -> GroupedKaplanMeier:
    """Kaplan-Meier curves for each group, with the numbers at risk at chosen times.

    Parameters
    ----------
    durations, events : array_like
        Time to event or censoring (>= 0) and event indicator (1/True = event observed,
        0/False = censored), one per subject.
    groups : array_like
        Group label of each subject (e.g. CAR T product, indication). Subjects with a
        missing duration, event or group are dropped and counted in ``n_missing``.
    at_risk_times : iterable of float, optional
        Times at which to count the subjects still at risk in each group (the table
        under a Kaplan-Meier figure), in the unit of ``durations``.
    order : iterable, optional
        Group labels in the order to report them (default: sorted labels). Labels are
        compared as text (``1`` and ``"1"`` are the same group).
    confidence_level, ci_method, median_rule
        As for :func:`reinfuse.stats.kaplan_meier`, applied to every group.

    Returns
    -------
    GroupedKaplanMeier

    Raises
    ------
    StatisticsError
        Invalid durations or events, lengths that differ, fewer than two groups.

    Notes
    -----
    Each curve is :func:`reinfuse.stats.kaplan_meier` on that group's subjects (product-
    limit estimate, Greenwood variance). The number at risk at ``t`` counts subjects whose
    duration is at least ``t`` (those with an event or censoring at ``t`` are still at
    risk at ``t``), the convention of R's ``summary(survfit, times=)`` and of lifelines'
    ``add_at_risk_counts``.

    Examples
    --------
    >>> r = kaplan_meier_by_group([6, 7, 10, 15, 1, 2, 3, 4], [1, 1, 0, 1, 1, 1, 1, 1],
    ...                           ["A"] * 4 + ["B"] * 4, at_risk_times=[0, 5])
    >>> r.groups, r.curves["B"].median, r.at_risk[1].n_at_risk
    (('A', 'B'), 2.5, {'A': 4, 'B': 0})
    """
    time, event, codes, names, _, _, n_missing = _prepare(durations, events, groups,
                                                          order=order)
    curves = {name: kaplan_meier(time[codes == i], event[codes == i],
                                 confidence_level=confidence_level, ci_method=ci_method,
                                 median_rule=median_rule)
              for i, name in enumerate(names) if (codes == i).any()}
    rows: list[AtRiskRow] = []
    if at_risk_times is not None:
        wanted = as_float_vector(list(at_risk_times), "at_risk_times")
        if np.isnan(wanted).any() or (wanted < 0).any():
            raise StatisticsError(
                f"at_risk_times must be numbers >= 0 with no missing value; got "
                f"{wanted.tolist()}.")
        for t in wanted.tolist():
            rows.append(AtRiskRow(time=float(t), n_at_risk={
                name: int((time[codes == i] >= t).sum()) for i, name in enumerate(names)}))
    first = next(iter(curves.values()))
    return GroupedKaplanMeier(
        groups=names, curves=curves, at_risk=tuple(rows), n=int(time.size),
        n_missing=n_missing,
        method=(f"Kaplan-Meier estimator in each of {len(names)} groups; " + first.method[
            len("Kaplan-Meier estimator; "):]
            + "; numbers at risk are the subjects whose time is at least the time shown"),
    )


def logrank_test_groups(
    durations: Any,
    events: Any,
    groups: Any,
    *,
    strata: Any = None,
    order: Any = None,
) -> GroupLogRankResult:
    """Log-rank test comparing the survival of k >= 2 groups, optionally stratified.

    Parameters
    ----------
    durations, events : array_like
        Time to event or censoring (>= 0) and event indicator (1/True = event observed,
        0/False = censored).
    groups : array_like
        Group label of each subject.
    strata : array_like, optional
        Stratum label of each subject (e.g. centre, lymphodepletion regimen). The groups
        are compared within each stratum and the comparisons pooled: the stratified
        log-rank test, R's ``survdiff(Surv(time, status) ~ group + strata(s))``.
    order : iterable, optional
        Group labels in the order to report them (default: sorted labels).

    Returns
    -------
    GroupLogRankResult

    Raises
    ------
    StatisticsError
        Invalid input, fewer than two groups, no event, or a variance matrix of rank 0
        (no event time with two groups at risk: the test is not computable).

    Notes
    -----
    Within each stratum, at each distinct event time with ``n`` subjects at risk (``n_g``
    in group g) and ``d`` events, group g expects ``d n_g / n`` events; ``U = O - E`` has
    the hypergeometric covariance ``sum d (n - d)/(n - 1) (n_g/n)(delta_gh - n_h/n)``.
    ``U`` and ``V`` are summed over strata and the statistic ``U' V^- U`` (``V^-`` the
    Moore-Penrose inverse) is referred to chi-squared with ``rank(V)`` degrees of freedom
    (R. Peto and J. Peto, JRSS A 135 (1972) 185-207; Klein and Moeschberger, *Survival
    Analysis*, section 7.3 and 7.5 for the stratified test). Without strata the statistic
    and p-value are lifelines' ``multivariate_logrank_test`` and this module only adds
    the observed and expected counts and the variance matrix; the stratified test, which
    lifelines does not provide, is computed here. This is R's ``survdiff(rho = 0)``.

    Examples
    --------
    >>> r = logrank_test_groups([6, 7, 10, 15, 1, 2, 3, 4, 5, 8, 9, 12],
    ...                         [1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1],
    ...                         ["A"] * 4 + ["B"] * 4 + ["C"] * 4)
    >>> r.df, r.observed, round(r.statistic, 3)
    (2, (3, 4, 3), 14.152)
    """
    time, event, codes, names, stratum_codes, stratum_names, n_missing = _prepare(
        durations, events, groups, strata, order)
    k = len(names)
    if not event.any():
        raise StatisticsError(
            "no subject has an observed event (all censored); the log-rank test compares "
            "event rates and needs at least one event.")
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    blocks = [np.ones(time.size, dtype=bool)] if stratum_codes is None else [
        stratum_codes == s for s in range(len(stratum_names or ()))]
    for block in blocks:
        o, e, v = _observed_expected(time[block], event[block], codes[block], k)
        observed += o
        expected += e
        variance += v
    difference = observed - expected
    df = int(np.linalg.matrix_rank(variance, tol=1e-10 * max(1.0, float(np.abs(variance).max()))))
    if df == 0:
        raise StatisticsError(
            "the log-rank test is not computable: observed minus expected events has no "
            "variance (every event occurred when only one group was at risk, or when "
            "everyone at risk had the event).")
    statistic = float(difference @ np.linalg.pinv(variance) @ difference)
    sizes = np.bincount(codes, minlength=k)
    if stratum_codes is None and df == int((sizes > 0).sum()) - 1:
        # The usual case: lifelines' statistic (the same number). When a group with
        # subjects contributes no variance (all its times before the first event),
        # lifelines inverts a singular matrix, and the generalised inverse above is kept.
        from lifelines.statistics import multivariate_logrank_test  # lazy: slow import

        statistic = float(multivariate_logrank_test(time, codes, event).test_statistic)
    pvalue = float(stats.chi2.sf(statistic, df))
    if stratum_names is None:
        method = (f"log-rank (Mantel-Cox) test comparing {k} survival curves: observed against "
                  "expected events at each distinct event time, chi-squared with "
                  f"{df} degree{'s' if df != 1 else ''} of freedom")
    else:
        method = (f"stratified log-rank test comparing {k} survival curves within each of "
                  f"{len(stratum_names)} strata (observed minus expected events and their "
                  "variances summed over strata), chi-squared with "
                  f"{df} degree{'s' if df != 1 else ''} of freedom")
    return GroupLogRankResult(
        statistic=statistic, pvalue=pvalue, method=method, n=int(time.size), df=df,
        groups=names, n_per_group=tuple(int(s) for s in sizes),
        observed=tuple(int(o) for o in observed),
        expected=tuple(float(e) for e in expected),
        variance=tuple(tuple(float(x) for x in row) for row in variance),
        strata=stratum_names, n_missing=n_missing)
