"""Competing risks: Aalen-Johansen cumulative incidence, and landmark data sets.

After CAR T reinfusion, relapse competes with death in remission and with consolidative
transplant: a patient who dies or is transplanted can no longer relapse as the study
defines it, and the Kaplan-Meier complement (censoring those patients) overstates the
probability of relapse. The cumulative incidence function (CIF) of each cause is the
Aalen-Johansen estimate.

lifelines' ``AalenJohansenFitter`` computes the same estimate but randomly *jitters* tied
event times of different causes (with a warning), so its result changes with the seed on
data recorded in whole days, where ties are the rule. The estimate is therefore computed
here from its definition, which handles ties exactly (events of every cause at a time
leave the risk set together), and checked against lifelines on untied data. Gray's
k-sample test of equal cumulative incidence is **not** provided: no maintained Python
library implements it (R: ``cmprsk::cuminc``), and the result says so.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from reinfuse.errors import StatisticsError
from reinfuse.stats._results import _AsDict
from reinfuse.stats._survival_groups import _labels, _natural
from reinfuse.stats._validate import as_float_vector, check_confidence_level

GRAY_TEST_NOTE = (
    "Gray's test of equal cumulative incidence between groups is not reported: no maintained "
    "Python library provides it (R's cmprsk::cuminc does); compare groups in R, or by a "
    "Fine-Gray model, if a test is needed.")


@dataclass(frozen=True, eq=False)
class CumulativeIncidenceCurve(_AsDict):
    """The Aalen-Johansen estimate for one group, one entry per distinct observed time.

    Attributes
    ----------
    time : ndarray
        Distinct observed times (events of any cause, or censorings).
    n_at_risk : ndarray
        Subjects under observation just before each time (duration >= time).
    n_events : dict of str to ndarray
        Events of each cause at each time.
    n_censored : ndarray
        Censorings at each time.
    incidence : dict of str to ndarray
        Cumulative incidence of each cause just after each time.
    lower, upper : dict of str to ndarray
        Pointwise confidence limits of each cause's incidence (NaN where the incidence is
        0 or 1, where the log(-log) limits are undefined).
    event_free : ndarray
        Overall Kaplan-Meier probability of being free of every cause; at each time
        ``event_free + sum(incidence) = 1``.
    n : int
        Subjects in this group.
    """

    time: NDArray[np.float64]
    n_at_risk: NDArray[np.int64]
    n_events: dict[str, NDArray[np.int64]]
    n_censored: NDArray[np.int64]
    incidence: dict[str, NDArray[np.float64]]
    lower: dict[str, NDArray[np.float64]]
    upper: dict[str, NDArray[np.float64]]
    event_free: NDArray[np.float64]
    n: int

    def at(self, cause: str, times: float | Iterable[float]) -> tuple[float, ...]:
        """Cumulative incidence of ``cause`` at each of ``times`` (right-continuous steps).

        NaN after the last observed time unless the curve can no longer change (everyone
        has had an event by then).
        """
        wanted, values = self._steps(self.incidence, cause, times)
        open_end = self.event_free.size > 0 and self.event_free[-1] > 0
        if open_end:
            values = np.where(wanted > self.time[-1], np.nan, values)
        return tuple(float(v) for v in values)

    def limits_at(self, cause: str, times: float | Iterable[float]
                  ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The pointwise confidence limits of ``cause`` at each of ``times`` (lower,
        upper), read off the same steps as :meth:`at` (its NaN past follow-up aside)."""
        _, low = self._steps(self.lower, cause, times)
        _, high = self._steps(self.upper, cause, times)
        return tuple(float(v) for v in low), tuple(float(v) for v in high)

    def _steps(self, curves: dict[str, NDArray[np.float64]], cause: str,
               times: float | Iterable[float]) -> tuple[NDArray[np.float64],
                                                        NDArray[np.float64]]:
        """The requested times and a right-continuous step curve's values there (0
        before the first step)."""
        if cause not in curves:
            raise StatisticsError(f"no cause {cause!r}; the causes are {sorted(curves)}.")
        wanted = as_float_vector(list(times) if isinstance(times, Iterable) else [times],
                                 "times")
        if np.isnan(wanted).any() or (wanted < 0).any():
            raise StatisticsError(f"times must be numbers >= 0; got {wanted.tolist()}.")
        rows = np.searchsorted(self.time, wanted, side="right") - 1
        curve = curves[cause]
        return wanted, np.where(rows < 0, 0.0, curve[np.maximum(rows, 0)])


@dataclass(frozen=True)
class CumulativeIncidenceResult(_AsDict):
    """Result of :func:`reinfuse.stats.cumulative_incidence`.

    Attributes
    ----------
    causes : tuple of str
        Names of the competing causes (the event of interest first).
    event_of_interest : str
        The cause of interest (e.g. ``"relapse"``).
    groups : tuple of str
        Group labels (``("all",)`` without groups).
    curves : dict of str to CumulativeIncidenceCurve
        One Aalen-Johansen estimate per group.
    estimates : dict of str to dict of str to float or None
        Incidence of the event of interest per group at each requested time (keys are
        the times as text), None past the end of follow-up.
    gray_test : None
        Always None: see ``gray_test_note``.
    gray_test_note : str
        Why no test between groups is reported.
    n, n_missing : int
        Subjects analysed and dropped (missing duration, cause or group).
    confidence_level : float
        Level of the pointwise intervals.
    method : str
        A sentence for a methods section.
    """

    causes: tuple[str, ...]
    event_of_interest: str
    groups: tuple[str, ...]
    curves: dict[str, CumulativeIncidenceCurve]
    estimates: dict[str, dict[str, float | None]]
    gray_test: None
    gray_test_note: str
    n: int
    n_missing: int
    confidence_level: float
    method: str


def _aalen_johansen(time: NDArray[np.float64], cause: NDArray[np.int64], k: int, z: float,
                    names: tuple[str, ...]) -> CumulativeIncidenceCurve:
    order = np.argsort(time, kind="stable")
    times, _first, counts = np.unique(time[order], return_index=True, return_counts=True)
    position = np.repeat(np.arange(times.size), counts)
    sorted_cause = cause[order]
    events = np.zeros((times.size, k), dtype=np.int64)
    hit = sorted_cause > 0
    np.add.at(events, (position[hit], sorted_cause[hit] - 1), 1)
    at_risk = time.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    n = at_risk.astype(float)
    d_all = events.sum(axis=1).astype(float)
    survival = np.cumprod(1.0 - d_all / n)
    lagged = np.concatenate([[1.0], survival[:-1]])
    hazard = events / n[:, None]
    incidence = np.cumsum(lagged[:, None] * hazard, axis=0)
    # Delta-method variance (D. Collett, Modelling Survival Data in Medical Research, 3rd
    # ed., section 12.2; SAS PROC LIFETEST): for F = F_j(t),
    # Var F = sum_{t_i <= t} (F - F_i)^2 d_i / (n_i (n_i - d_i))
    #         + S_{i-1}^2 d_ij (n_i - d_ij) / n_i^3 - 2 (F - F_i) S_{i-1} d_ij / n_i^2.
    # Where d_i = n_i the curve stops changing, so (F - F_i) = 0 there and the term is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(d_all < n, d_all / (n * (n - d_all)), 0.0)
    lower_d, upper_d, curves_d = {}, {}, {}
    events_d = {}
    for j, name in enumerate(names):
        f_i = incidence[:, j]
        d_j = events[:, j].astype(float)
        b = lagged**2 * d_j * (n - d_j) / n**3
        c = lagged * d_j / n**2
        s_a, s_af, s_aff = np.cumsum(a), np.cumsum(a * f_i), np.cumsum(a * f_i**2)
        s_b, s_c, s_cf = np.cumsum(b), np.cumsum(c), np.cumsum(c * f_i)
        variance = (f_i**2 * s_a - 2 * f_i * s_af + s_aff + s_b
                    - 2 * (f_i * s_c - s_cf))
        variance = np.maximum(variance, 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            theta_se = np.sqrt(variance) / (f_i * np.abs(np.log(f_i)))
            low = f_i ** np.exp(z * theta_se)
            high = f_i ** np.exp(-z * theta_se)
        undefined = (f_i <= 0) | (f_i >= 1)
        lower_d[name] = np.where(undefined, np.nan, low)
        upper_d[name] = np.where(undefined, np.nan, high)
        curves_d[name] = f_i
        events_d[name] = events[:, j]
    return CumulativeIncidenceCurve(
        time=times.astype(float), n_at_risk=at_risk.astype(np.int64), n_events=events_d,
        n_censored=(counts - events.sum(axis=1)).astype(np.int64), incidence=curves_d,
        lower=lower_d, upper=upper_d, event_free=survival, n=int(time.size))


def cumulative_incidence(
    durations: Any,
    events: Any,
    *,
    causes: Mapping[int, str],
    event_of_interest: int,
    groups: Any = None,
    times: Iterable[float] | None = None,
    confidence_level: float = 0.95,
) -> CumulativeIncidenceResult:
    """Cumulative incidence of each cause in the presence of competing risks.

    Parameters
    ----------
    durations : array_like
        Time from the origin (e.g. remission after CART2) to the first event of any cause
        or to censoring, >= 0.
    events : array_like
        0 for censored, otherwise the code of the cause that occurred first (e.g. 1
        relapse, 2 death in remission, 3 consolidative transplant). Subjects with a
        missing duration or code are dropped and counted.
    causes : mapping of int to str
        Every cause code and its name, e.g. ``{1: "relapse", 2: "death in remission",
        3: "transplant"}``. A code in the data that is not listed is an error (never
        silently treated as censoring).
    event_of_interest : int
        The code whose incidence is reported in ``estimates`` (all causes are estimated).
    groups : array_like, optional
        Group label per subject; one curve per group.
    times : iterable of float, optional
        Times at which to report the incidence of the event of interest.
    confidence_level : float, default 0.95
        Level of the pointwise intervals.

    Returns
    -------
    CumulativeIncidenceResult

    Raises
    ------
    StatisticsError
        Negative durations, unknown cause codes, lengths that differ, no subject.

    Notes
    -----
    With ``S`` the Kaplan-Meier probability of being free of every cause, ``n_i`` at risk
    and ``d_ij`` events of cause j at time ``t_i``, the Aalen-Johansen estimate is
    ``F_j(t) = sum_{t_i <= t} S(t_{i-1}) d_ij / n_i`` (O. O. Aalen and S. Johansen,
    Scand J Stat 5 (1978) 141-150; J. P. Klein and M. L. Moeschberger, *Survival
    Analysis*, section 2.7), the estimate of R's ``cmprsk::cuminc`` and of lifelines'
    ``AalenJohansenFitter`` (which jitters tied times; see the module notes). Pointwise
    limits use the delta-method variance of Collett (3rd ed., section 12.2, as SAS
    PROC LIFETEST and lifelines) on the log(-log) scale, so they stay within 0 and 1.
    Gray's test between groups is not computed (``gray_test_note``).

    Examples
    --------
    >>> r = cumulative_incidence([1, 2, 2, 3, 4], [1, 2, 1, 0, 1],
    ...                          causes={1: "relapse", 2: "death"}, event_of_interest=1,
    ...                          times=[2, 4])
    >>> r.estimates["all"]
    {'2': 0.4, '4': 0.8}
    """
    check_confidence_level(confidence_level)
    if not isinstance(causes, Mapping) or not causes:
        raise StatisticsError(
            "causes must map each cause code to its name, e.g. {1: 'relapse', "
            f"2: 'death in remission'}}; got {causes!r}.")
    codes = sorted(int(c) for c in causes)
    if any(c <= 0 for c in codes):
        raise StatisticsError(f"cause codes must be positive integers (0 = censored); got {codes}.")
    if event_of_interest not in causes:
        raise StatisticsError(
            f"event_of_interest={event_of_interest!r} is not one of the causes {codes}.")
    codes = [int(event_of_interest)] + [c for c in codes if c != event_of_interest]
    names = tuple(str(causes[c]) for c in codes)
    time = as_float_vector(durations, "durations")
    code = as_float_vector(events, "events")
    if time.size != code.size:
        raise StatisticsError(
            f"durations and events must have the same length; got {time.size} and {code.size}.")
    missing = np.isnan(time) | np.isnan(code)
    labels = np.array(["all"] * time.size, dtype=object)
    if groups is not None:
        labels, group_missing = _labels(groups, "groups", time.size)
        missing |= group_missing
    keep = ~missing
    time, code, labels = time[keep], code[keep], labels[keep]
    unknown = sorted(set(code.tolist()) - {0.0, *map(float, codes)})
    if unknown:
        raise StatisticsError(
            f"events contain code(s) {unknown[:5]} that are neither 0 (censored) nor a listed "
            f"cause {codes}; list every cause in causes.")
    if (time < 0).any():
        raise StatisticsError(
            f"durations must be >= 0; got {int((time < 0).sum())} negative value(s).")
    if time.size == 0:
        needed = "a duration, an event code" + (" and a group" if groups is not None else "")
        raise StatisticsError(
            f"no subject has {needed} ({int(missing.sum())} incomplete).")
    position = {c: i + 1 for i, c in enumerate(codes)}
    cause_index = np.array([position.get(int(c), 0) for c in code.tolist()], dtype=np.int64)
    group_names = tuple(sorted(set(labels.tolist()), key=_natural))
    z = float(stats.norm.ppf(0.5 + confidence_level / 2.0))
    curves = {g: _aalen_johansen(time[labels == g], cause_index[labels == g], len(codes), z,
                                 names) for g in group_names}
    wanted = [] if times is None else list(times)
    estimates: dict[str, dict[str, float | None]] = {}
    for g, curve in curves.items():
        values = curve.at(names[0], wanted) if wanted else ()
        estimates[g] = {f"{float(t):g}": (None if np.isnan(v) else v)
                        for t, v in zip(wanted, values, strict=True)}
    level = f"{100 * confidence_level:g}%"
    competing = ", ".join(names[1:]) or "none"
    return CumulativeIncidenceResult(
        causes=names, event_of_interest=names[0], groups=group_names, curves=curves,
        estimates=estimates, gray_test=None, gray_test_note=GRAY_TEST_NOTE,
        n=int(time.size), n_missing=int(missing.sum()), confidence_level=float(confidence_level),
        method=(f"cumulative incidence of {names[0]} with {competing} as competing "
                f"event(s), Aalen-Johansen estimator; {level} pointwise confidence intervals "
                "from the delta-method variance on the log(-log) scale; no test between "
                "groups (Gray's test is not available in a maintained Python library)"))


@dataclass(frozen=True, eq=False)
class LandmarkData(_AsDict):
    """Result of :func:`reinfuse.stats.landmark`: the subjects still at risk at the landmark.

    Attributes
    ----------
    landmark : float
        The landmark time ``L`` (in the unit of the durations).
    index : ndarray of int
        Positions, in the input, of the subjects kept.
    durations : ndarray
        Their time from the landmark: ``duration - L``.
    events : ndarray
        Their event codes, unchanged.
    n : int
        Subjects kept (duration > L).
    n_event_before, n_censored_before : int
        Subjects excluded because their event, or their censoring, occurred at or before
        ``L``.
    n_missing : int
        Subjects dropped for a missing duration or event.
    method : str
        A sentence for a methods section.
    """

    landmark: float
    index: NDArray[np.int64]
    durations: NDArray[np.float64]
    events: NDArray[np.float64]
    n: int
    n_event_before: int
    n_censored_before: int
    n_missing: int
    method: str


def landmark(durations: Any, events: Any, at: float, *, unit: str = "days") -> LandmarkData:
    """Subjects still event-free and under follow-up at a landmark, with time reset to it.

    Parameters
    ----------
    durations : array_like
        Time from the origin (e.g. CART2 infusion) to the first event or censoring.
    events : array_like
        0 = censored, any other number = an event (a cause code or 1).
    at : float
        The landmark ``L`` (e.g. day 28, when response is assessed): covariates measured
        by then may be compared without guarantee-time bias.
    unit : str, default "days"
        Unit of the durations, for the methods sentence.

    Returns
    -------
    LandmarkData
        Positions of the kept subjects (to select their covariates), durations from the
        landmark, events, and the counts excluded.

    Raises
    ------
    StatisticsError
        An invalid landmark, negative durations, lengths that differ.

    Notes
    -----
    The landmark method (J. H. Anderson, K. C. Cain and R. D. Gelber, J Clin Oncol 1 (1983)
    710-719; S. Dafni, Circ Cardiovasc Qual Outcomes 4 (2011) 363-371) keeps the subjects
    with ``duration > L`` (event-free and still followed just after ``L``) and analyses
    ``duration - L``. Subjects whose event or censoring is at or before ``L`` are excluded
    and counted.

    Examples
    --------
    >>> lm = landmark([10, 30, 45, 20, 60], [1, 0, 1, 0, 2], at=28)
    >>> lm.index.tolist(), lm.durations.tolist(), lm.n_event_before, lm.n_censored_before
    ([1, 2, 4], [2.0, 17.0, 32.0], 1, 1)
    """
    if isinstance(at, bool) or not isinstance(at, numbers.Real) or not np.isfinite(at) or at < 0:
        raise StatisticsError(f"the landmark must be a finite number >= 0; got {at!r}.")
    time = as_float_vector(durations, "durations")
    code = as_float_vector(events, "events")
    if time.size != code.size:
        raise StatisticsError(
            f"durations and events must have the same length; got {time.size} and {code.size}.")
    missing = np.isnan(time) | np.isnan(code)
    if (time[~missing] < 0).any():
        raise StatisticsError("durations must be >= 0; got negative value(s).")
    before = ~missing & (time <= at)
    kept = ~missing & (time > at)
    index = np.flatnonzero(kept).astype(np.int64)
    return LandmarkData(
        landmark=float(at), index=index, durations=time[kept] - float(at), events=code[kept],
        n=int(kept.sum()), n_event_before=int((before & (code != 0)).sum()),
        n_censored_before=int((before & (code == 0)).sum()), n_missing=int(missing.sum()),
        method=(f"landmark analysis at {float(at):g} {unit}: subjects event-free and under "
                f"follow-up beyond {float(at):g} {unit}, with time measured from the landmark"))
