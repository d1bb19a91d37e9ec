"""Time to event: the Kaplan-Meier estimator and the two-sample log-rank test.

The product-limit estimate is computed here with NumPy (sort, count per distinct time,
cumulative product), which at registry scale is several times faster than ``lifelines``'
``KaplanMeierFitter`` (1,000,000 distinct times: benchmarks/bench_survival.py); the tests
check it against lifelines and against R's ``survfit`` outputs. The log-rank statistic is
``lifelines.statistics.logrank_test``. What ``reinfuse`` adds, and why, is said where it
happens:

* pointwise confidence limits are computed here from Greenwood's variance (the log(-log)
  limits are the same numbers as lifelines' ``confidence_interval_``), so that the
  ``"log"`` and ``"plain"`` limits other programs print are available too, and so that the
  limits are *undefined* (NaN) once the estimate has dropped to 0, as in R, instead of the
  zero-width interval ``[0, 0]`` lifelines reports there;
* the median and its confidence limits are read off the curves with a tolerance of
  ``sqrt(machine epsilon)`` (as R's ``survival`` does). Floating-point products such as
  lifelines' ``exp(sum(log(1 - d/n)))`` can land a hair above 0.5 (e.g. 0.5000000000000001 for
  six subjects after three events), and ``KaplanMeierFitter.median_survival_time_`` then
  skips to the next event time: 90 instead of 77 days for the remission durations 54, 60,
  77, 90, 120 and 292 days, all relapses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._validate import as_float_vector, check_choice, check_confidence_level

CIMethod = Literal["log-log", "log", "plain"]
MedianRule = Literal["smallest", "midpoint"]

CI_METHODS: tuple[str, ...] = ("log-log", "log", "plain")
MEDIAN_RULES: tuple[str, ...] = ("smallest", "midpoint")

#: Two survival values closer than this are equal when the median is read off a curve
#: (R's ``quantile.survfit`` uses the same ``sqrt(.Machine$double.eps)``).
TOLERANCE = math.sqrt(np.finfo(float).eps)

_CI_SENTENCE = {
    "log-log": "Greenwood's variance with the log(-log) transformation (Kalbfleisch-Prentice)",
    "log": "Greenwood's variance with the log transformation",
    "plain": "Greenwood's variance, untransformed (linear; limits clipped to 0 and 1)",
}
_MEDIAN_SENTENCE = {
    "smallest": "the smallest time at which the estimate is 0.5 or below",
    "midpoint": (
        "the smallest time at which the estimate is 0.5 or below, or the midpoint of the "
        "segment where the curve is exactly 0.5 (as R's survival package)"
    ),
}


def _percent(level: float) -> str:
    return f"{100 * level:g}%"


def _number(value: float, digits: int | None) -> str:
    return f"{value:g}" if digits is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class KaplanMeierStep(_AsDict):
    """One row of a Kaplan-Meier table: a distinct observed time.

    Attributes
    ----------
    time : float
        A time at which at least one subject had the event or was censored.
    n_at_risk : int
        Subjects still under observation just before ``time`` (duration >= ``time``).
    n_events, n_censored : int
        Events and censorings at ``time`` (censorings at an event time count as still at
        risk at that time, the usual convention).
    survival : float
        The product-limit estimate just after ``time``.
    lower, upper : float
        Pointwise confidence limits of ``survival``; NaN (None in ``to_dict``) where they
        are undefined, i.e. once the estimate has dropped to 0.
    """

    time: float
    n_at_risk: int
    n_events: int
    n_censored: int
    survival: float
    lower: float
    upper: float


@dataclass(frozen=True, eq=False)
class KaplanMeierTable(_AsDict):
    """The Kaplan-Meier table as arrays, one entry per distinct observed time.

    The same columns as :class:`KaplanMeierStep`, held as NumPy arrays so that a curve of
    a million distinct times costs arrays, not a million objects.
    """

    time: NDArray[np.float64]
    n_at_risk: NDArray[np.int64]
    n_events: NDArray[np.int64]
    n_censored: NDArray[np.int64]
    survival: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.time.size)


@dataclass(frozen=True)
class SurvivalEstimate(_AsDict):
    """The Kaplan-Meier estimate at a chosen time (:meth:`KaplanMeierResult.survival_at`).

    ``survival``, ``lower`` and ``upper`` are NaN (None in ``to_dict``) when ``time`` is
    after the last observed time and the estimate has not reached 0 by then (the curve is
    not defined beyond the longest follow-up), and the limits are NaN where the estimate
    is 0. ``n_at_risk`` counts the subjects whose duration is at least ``time``.
    """

    time: float
    survival: float
    lower: float
    upper: float
    n_at_risk: int


@dataclass(frozen=True)
class KaplanMeierResult(_AsDict):
    """Result of :func:`reinfuse.stats.kaplan_meier`.

    Attributes
    ----------
    n : int
        Subjects analysed (duration and event both present).
    n_events, n_censored : int
        Subjects with the event observed, and censored subjects (``n_events + n_censored
        = n``).
    n_missing : int
        Subjects dropped because the duration or the event indicator was missing.
    table : KaplanMeierTable
        The Kaplan-Meier table as arrays, one entry per distinct observed time, in time
        order. Before the first entry the estimate is 1. ``steps`` gives the same rows as
        :class:`KaplanMeierStep` objects.
    median : float or None
        Median time to event; None when the estimate never falls to 0.5 ("not reached").
    median_reached : bool
        Whether the median was reached (``median is not None``).
    median_ci_low, median_ci_high : float or None
        Confidence limits of the median, read off the lower and upper pointwise limits;
        None when that limit never falls to 0.5 ("not reached") or is undefined where it
        would (the pointwise limits are undefined once the estimate is 0, so a curve that
        falls from above 0.5 straight to 0 has no lower limit: "not estimable"). The lower
        limit may exist when the median itself is not reached.
    confidence_level : float
        Two-sided level of the pointwise intervals and of the median's interval.
    ci_method, median_rule : str
        The options used.
    method : str
        A sentence for a methods section.
    """

    n: int
    n_events: int
    n_censored: int
    n_missing: int
    table: KaplanMeierTable
    median: float | None
    median_reached: bool
    median_ci_low: float | None
    median_ci_high: float | None
    confidence_level: float
    ci_method: str
    median_rule: str
    method: str

    @cached_property
    def steps(self) -> tuple[KaplanMeierStep, ...]:
        """The Kaplan-Meier table as one :class:`KaplanMeierStep` per distinct time."""
        t = self.table
        return tuple(
            KaplanMeierStep(time=float(a), n_at_risk=int(b), n_events=int(c),
                            n_censored=int(d), survival=float(e), lower=float(f),
                            upper=float(g))
            for a, b, c, d, e, f, g in zip(t.time, t.n_at_risk, t.n_events, t.n_censored,
                                           t.survival, t.lower, t.upper, strict=True))

    def to_frame(self) -> pd.DataFrame:
        """The Kaplan-Meier table as a DataFrame (one row per distinct observed time)."""
        t = self.table
        return pd.DataFrame({"time": t.time, "n_at_risk": t.n_at_risk,
                             "n_events": t.n_events, "n_censored": t.n_censored,
                             "survival": t.survival, "lower": t.lower, "upper": t.upper})

    def survival_at(self, times: float | Iterable[float]) -> tuple[SurvivalEstimate, ...]:
        """The estimate, its confidence limits and the number at risk at each of ``times``.

        The Kaplan-Meier curve is a right-continuous step function: at an event time it
        already has its value after the drop. Before the first observed time it is 1.

        Parameters
        ----------
        times : float or iterable of float
            Non-negative, finite times in the unit of the durations.

        Raises
        ------
        StatisticsError
            A time is missing, negative or not a number.
        """
        wanted = as_float_vector(list(times) if isinstance(times, Iterable) else [times],
                                 "times")
        if np.isnan(wanted).any() or (wanted < 0).any():
            raise StatisticsError(
                f"times must be numbers >= 0 with no missing value; got {wanted.tolist()}."
            )
        table = self.table
        grid = table.time
        at_risk = table.n_at_risk
        # After the last observed time the curve is only known if it has reached 0.
        open_end = bool(len(table)) and float(table.survival[-1]) > 0.0
        out = []
        for t in wanted.tolist():
            row = int(np.searchsorted(grid, t, side="right")) - 1
            later = int(np.searchsorted(grid, t, side="left"))
            n_risk = int(at_risk[later]) if later < len(grid) else 0
            if row < 0:
                survival, lower, upper = 1.0, 1.0, 1.0
            elif t > grid[-1] and open_end:
                survival = lower = upper = math.nan
            else:
                survival, lower, upper = (float(table.survival[row]), float(table.lower[row]),
                                          float(table.upper[row]))
            out.append(SurvivalEstimate(time=float(t), survival=survival, lower=lower,
                                        upper=upper, n_at_risk=n_risk))
        return tuple(out)

    def median_text(self, unit: str = "", digits: int | None = None) -> str:
        """The median with its confidence interval as plain text.

        Parameters
        ----------
        unit : str, default ""
            Written after the median (``"days"``).
        digits : int or None, default None
            Decimals; None writes numbers in the shortest form (``77``, ``83.5``).

        Examples
        --------
        >>> kaplan_meier([54, 60, 77, 90, 120, 292], [1, 1, 1, 1, 1, 1]).median_text("days")
        '83.5 days (95% CI 54 to not reached)'
        """

        def show(value: float | None, missing: str = "not reached") -> str:
            return missing if value is None else _number(value, digits)

        head = show(self.median)
        if unit and self.median is not None:
            head = f"{head} {unit}"
        # The lower limit lies below the curve, so it reaches 0.5 no later than the curve
        # does; if the median is reached and the lower limit is not, the limit was
        # undefined there (the curve fell from above 0.5 straight to 0).
        low = show(self.median_ci_low,
                   "not estimable" if self.median is not None else "not reached")
        return (f"{head} ({_percent(self.confidence_level)} CI {low} "
                f"to {show(self.median_ci_high)})")


@dataclass(frozen=True)
class LogRankResult(_AsDict):
    """Result of :func:`reinfuse.stats.logrank_test`.

    Attributes
    ----------
    statistic : float
        The log-rank chi-squared statistic ``(O_a - E_a)^2 / V`` (1 degree of freedom).
    pvalue : float
        Two-sided p-value, upper tail of the chi-squared distribution with 1 df.
    method : str
        A sentence for a methods section.
    n : int
        Subjects analysed in both groups together.
    df : int
        Degrees of freedom (1).
    n_a, n_b : int
        Subjects analysed per group.
    observed_a, observed_b : int
        Events observed per group.
    expected_a, expected_b : float
        Events expected per group under the null hypothesis: at each distinct event time,
        the events of both groups shared in proportion to the numbers at risk (R's
        ``survdiff`` "Expected").
    variance : float
        ``V``, the hypergeometric variance of ``O_a - E_a`` summed over event times.
    n_missing_a, n_missing_b : int
        Subjects dropped per group because the duration or the event was missing.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    df: int
    n_a: int
    n_b: int
    observed_a: int
    observed_b: int
    expected_a: float
    expected_b: float
    variance: float
    n_missing_a: int
    n_missing_b: int


def _clean(durations: Any, events: Any, label: str = ""
           ) -> tuple[NDArray[np.float64], NDArray[np.bool_], int]:
    """Durations and event flags of the complete subjects, and how many were incomplete."""
    suffix = f" of {label}" if label else ""
    time = as_float_vector(durations, f"durations{suffix}")
    flag = as_float_vector(events, f"events{suffix}")
    if time.size != flag.size:
        raise StatisticsError(
            f"durations{suffix} and events{suffix} must have the same length (one duration "
            f"and one event indicator per subject); got {time.size} and {flag.size}."
        )
    missing = np.isnan(time) | np.isnan(flag)
    time, flag = time[~missing], flag[~missing]
    wrong = sorted(set(flag[(flag != 0) & (flag != 1)].tolist()))
    if wrong:
        raise StatisticsError(
            f"events{suffix} must be 1/True (event observed) or 0/False (censored); got "
            f"{wrong[:5]}. CDISC ADaM CNSR is the opposite (1 = censored): pass 1 - CNSR."
        )
    negative = time[time < 0]
    if negative.size:
        raise StatisticsError(
            f"durations{suffix} must be >= 0; got {negative.size} negative value(s) "
            f"({negative[:5].tolist()}). Check the dates the durations were computed from."
        )
    if time.size == 0:
        raise StatisticsError(
            f"no subject{suffix} has both a duration and an event indicator "
            f"({int(missing.sum())} incomplete); at least one is needed."
        )
    return time, flag.astype(bool), int(missing.sum())


def _greenwood(at_risk: NDArray[np.float64], deaths: NDArray[np.float64]
               ) -> NDArray[np.float64]:
    """Cumulative Greenwood sum ``sum d / (n (n - d))``; infinite once ``d = n``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0)
    return np.cumsum(terms)


def _limits(survival: NDArray[np.float64], variance: NDArray[np.float64], z: float,
            ci_method: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits; [1, 1] where the estimate is 1, NaN where it is 0."""
    se = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if ci_method == "log-log":
            # theta = log(-log S), se(theta) = sqrt(V) / |log S|; S^exp(+-z se).
            log_s = np.log(survival)
            factor = np.exp(z * se / np.abs(log_s))
            lower, upper = survival**factor, survival ** (1.0 / factor)
        elif ci_method == "log":
            lower = survival * np.exp(-z * se)
            upper = np.minimum(survival * np.exp(z * se), 1.0)
        else:
            lower = np.maximum(survival - z * survival * se, 0.0)
            upper = np.minimum(survival + z * survival * se, 1.0)
    one = survival >= 1.0
    zero = survival <= 0.0
    lower = np.where(one, 1.0, np.where(zero, np.nan, lower))
    upper = np.where(one, 1.0, np.where(zero, np.nan, upper))
    return lower, upper


def _cross_half(times: NDArray[np.float64], curve: NDArray[np.float64],
                rule: str) -> float | None:
    """Where a decreasing step curve first falls to 0.5 or below (None if it never does)."""
    hits = np.flatnonzero(curve <= 0.5 + TOLERANCE)  # NaN compares False
    if hits.size == 0:
        return None
    first = int(hits[0])
    if rule == "midpoint" and abs(curve[first] - 0.5) <= TOLERANCE:
        drops = np.flatnonzero(curve[first:] < curve[first] - TOLERANCE)
        end = times[first + int(drops[0])] if drops.size else times[-1]
        return float((times[first] + end) / 2.0)
    return float(times[first])


def kaplan_meier(
    durations: Any,
    events: Any,
    *,
    confidence_level: float = 0.95,
    ci_method: CIMethod = "log-log",
    median_rule: MedianRule = "midpoint",
) -> KaplanMeierResult:
    """Kaplan-Meier (product-limit) estimate of a survival curve, with its median.

    Parameters
    ----------
    durations : array_like
        Time from the origin (e.g. CR after CART2) to the event or to censoring, >= 0, in
        any unit (days in reinfuse's analysis frame).
    events : array_like
        1/True when the event (e.g. relapse) was observed at that time, 0/False when the
        subject was censored (the convention of lifelines and R's ``Surv``). CDISC ADaM
        ``CNSR`` is the opposite (1 = censored): pass ``1 - CNSR``. Subjects with a
        missing duration or event are dropped and counted in ``n_missing``.
    confidence_level : float, default 0.95
        Two-sided level of the pointwise intervals and of the median's interval.
    ci_method : {"log-log", "log", "plain"}, default "log-log"
        Pointwise interval for ``S(t)`` from Greenwood's variance
        ``V(t) = sum_{t_i <= t} d_i / (n_i (n_i - d_i))`` of ``log S(t)``:

        * ``"log-log"``: ``S^exp(+-z sqrt(V) / |log S|)``, symmetric on the
          ``log(-log S)`` scale (Kalbfleisch and Prentice); always within 0 and 1. The
          limits lifelines reports, and SAS PROC LIFETEST's default.
        * ``"log"``: ``S exp(+-z sqrt(V))``, upper limit capped at 1; R ``survfit``'s
          default (``conf.type = "log"``).
        * ``"plain"``: ``S +- z S sqrt(V)``, clipped to 0 and 1.
    median_rule : {"smallest", "midpoint"}, default "midpoint"
        Where the curve is exactly 0.5 over an interval (e.g. 3 events among 6 subjects
        with no censoring): ``"smallest"`` takes the start of that interval (the smallest
        ``t`` with ``S(t) <= 0.5``, the textbook definition and lifelines'); ``"midpoint"``
        takes the middle of the flat segment, as R's ``survival`` package (>= 2.36)
        does, mirroring the usual sample median (the default, so that reinfuse agrees
        with R and SAS). Both rules apply to the median's confidence limits too.

    Returns
    -------
    KaplanMeierResult
        Counts, the Kaplan-Meier table (``steps``), the median with its confidence limits
        (None when "not reached"), :meth:`~KaplanMeierResult.survival_at` and
        :meth:`~KaplanMeierResult.median_text`.

    Raises
    ------
    StatisticsError
        Negative durations, events other than 0/1, lengths that differ, no complete
        subject, an invalid confidence level or option.

    Notes
    -----
    The estimate is ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)`` over the distinct event
    times ``t_i`` with ``d_i`` events among ``n_i`` subjects at risk (E. L. Kaplan and
    P. Meier, JASA 53 (1958) 457-481), fitted by ``lifelines.KaplanMeierFitter``. The
    median's confidence interval is read off the pointwise limits: from the first time the
    lower limit is 0.5 or below to the first time the upper limit is (the construction of
    R. Brookmeyer and J. Crowley, Biometrics 38 (1982) 29-41, carried out with the chosen
    transformation, as R's ``survfit`` and ``lifelines.utils.median_survival_times``
    applied to ``confidence_interval_`` do). The limits are undefined once ``S`` is 0
    (Greenwood's term ``d / (n (n - d))`` is infinite when all subjects at risk have the
    event), so a median interval is never closed by a curve dropping to 0.

    Examples
    --------
    Remission durations (days) of six patients, all relapsing:

    >>> km = kaplan_meier([54, 77, 292, 60, 90, 120], [1, 1, 1, 1, 1, 1])
    >>> km.median, km.median_reached, [round(s.survival, 3) for s in km.steps][:3]
    (83.5, True, [0.833, 0.667, 0.5])
    >>> kaplan_meier([54, 77, 292, 60, 90, 120], [1] * 6, median_rule="smallest").median
    77.0
    """
    check_choice(ci_method, CI_METHODS, "ci_method")
    check_choice(median_rule, MEDIAN_RULES, "median_rule")
    check_confidence_level(confidence_level)
    time, observed, n_missing = _clean(durations, events)

    # Product-limit estimate: at each distinct time t_i with n_i at risk (duration >= t_i)
    # and d_i events, S(t_i) = prod_{j <= i} (1 - d_j / n_j).
    order = np.argsort(time, kind="stable")
    times, first, counts = np.unique(time[order], return_index=True, return_counts=True)
    deaths_int = np.add.reduceat(observed[order].astype(np.int64), first) if time.size else \
        np.zeros(0, dtype=np.int64)
    at_risk_int = time.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    at_risk, deaths = at_risk_int.astype(float), deaths_int.astype(float)
    survival = np.cumprod(1.0 - deaths / at_risk)
    z = float(stats.norm.ppf(0.5 + confidence_level / 2.0))
    lower, upper = _limits(survival, _greenwood(at_risk, deaths), z, ci_method)
    table = KaplanMeierTable(time=times.astype(float), n_at_risk=at_risk_int.astype(np.int64),
                             n_events=deaths_int, n_censored=(counts - deaths_int),
                             survival=survival, lower=lower, upper=upper)
    median = _cross_half(times, survival, median_rule)
    n_events = int(observed.sum())
    level = _percent(confidence_level)
    return KaplanMeierResult(
        n=int(time.size),
        n_events=n_events,
        n_censored=int(time.size - n_events),
        n_missing=n_missing,
        table=table,
        median=median,
        median_reached=median is not None,
        median_ci_low=_cross_half(times, lower, median_rule),
        median_ci_high=_cross_half(times, upper, median_rule),
        confidence_level=float(confidence_level),
        ci_method=ci_method,
        median_rule=median_rule,
        method=(
            f"Kaplan-Meier estimator; {level} pointwise confidence intervals from "
            f"{_CI_SENTENCE[ci_method]}; median as {_MEDIAN_SENTENCE[median_rule]}, with "
            f"its {level} confidence interval read off the pointwise confidence limits "
            "(from the first time the lower limit is 0.5 or below to the first time the "
            "upper limit is; Brookmeyer-Crowley construction)"
        ),
    )


def logrank_test(durations_a: Any, events_a: Any, durations_b: Any, events_b: Any
                 ) -> LogRankResult:
    """Log-rank (Mantel-Cox) test comparing the survival curves of two groups.

    Parameters
    ----------
    durations_a, events_a : array_like
        Group a: times to event or censoring (>= 0) and event indicators (1/True = event
        observed, 0/False = censored; CDISC ADaM ``CNSR`` is the opposite).
    durations_b, events_b : array_like
        Group b, likewise. Subjects with a missing duration or event are dropped and
        counted per group.

    Returns
    -------
    LogRankResult
        ``statistic`` (chi-squared, 1 df), ``pvalue``, observed and expected events per
        group, ``variance``.

    Raises
    ------
    StatisticsError
        Invalid input in either group (see :func:`kaplan_meier`), no event at all (the
        test compares event rates and has nothing to compare), or a variance of 0 (the
        statistic is 0/0: not computable, rather than p = 1).

    Notes
    -----
    At each distinct event time ``t`` of the pooled sample, with ``n`` subjects at risk
    (``n_a`` in group a) and ``d`` events, group a expects ``d n_a / n`` events, with
    hypergeometric variance ``d (n_a / n) (1 - n_a / n) (n - d) / (n - 1)``; the statistic
    is ``(O_a - E_a)^2 / V`` summed over event times, referred to chi-squared with 1 df
    (N. Mantel, Cancer Chemother. Rep. 50 (1966) 163-170; R. Peto and J. Peto, JRSS A 135
    (1972) 185-207). The statistic and p-value are lifelines'
    ``lifelines.statistics.logrank_test``; the expected counts (which lifelines does not
    return) are computed here from the same definition. This is the test of R's
    ``survdiff(rho = 0)``.

    Examples
    --------
    >>> r = logrank_test([6, 7, 10, 15], [1, 1, 0, 1], [1, 2, 3, 4], [1, 1, 1, 1])
    >>> r.observed_a, r.observed_b, round(r.expected_a, 3), round(r.pvalue, 4)
    (3, 4, 5.538, 0.0067)
    """
    time_a, event_a, missing_a = _clean(durations_a, events_a, "group a")
    time_b, event_b, missing_b = _clean(durations_b, events_b, "group b")
    if not (event_a.any() or event_b.any()):
        raise StatisticsError(
            "neither group has an observed event (all subjects censored); the log-rank test "
            "compares event rates and needs at least one event."
        )
    from lifelines.statistics import logrank_test as _lifelines_logrank  # lazy: slow import

    result = _lifelines_logrank(time_a, time_b, event_observed_A=event_a,
                                event_observed_B=event_b)

    pooled_time = np.concatenate([time_a, time_b])
    pooled_event = np.concatenate([event_a, event_b])
    expected_a = variance = 0.0
    for t in np.unique(pooled_time[pooled_event]):
        n_a = float((time_a >= t).sum())
        n = n_a + float((time_b >= t).sum())
        d = float((pooled_event & (pooled_time == t)).sum())
        expected_a += d * n_a / n
        if n > 1:
            variance += d * (n_a / n) * (1.0 - n_a / n) * (n - d) / (n - 1.0)
    if variance <= 0:
        # Every event fell where one group alone was at risk, or all at risk had the event:
        # O - E has no variance and the statistic 0/0 is undefined (lifelines and R's
        # survdiff print p = 1, which a reader would take for "no difference").
        raise StatisticsError(
            "the log-rank test is not computable: the variance of observed minus expected "
            "events is 0 (every event occurred when only one group was at risk, or when "
            "everyone at risk had the event), so the groups cannot be compared by it.")
    observed_a, observed_b = int(event_a.sum()), int(event_b.sum())
    return LogRankResult(
        statistic=float(result.test_statistic),
        pvalue=float(result.p_value),
        method=(
            "log-rank (Mantel-Cox) test comparing two Kaplan-Meier curves: observed against "
            "expected events at each distinct event time, chi-squared with 1 degree of "
            "freedom (two-sided)"
        ),
        n=int(time_a.size + time_b.size),
        df=1,
        n_a=int(time_a.size),
        n_b=int(time_b.size),
        observed_a=observed_a,
        observed_b=observed_b,
        expected_a=expected_a,
        expected_b=float(observed_a + observed_b - expected_a),
        variance=variance,
        n_missing_a=missing_a,
        n_missing_b=missing_b,
    )
