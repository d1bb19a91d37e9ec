"""Kaplan-Meier estimates for the plan's ``kaplan_meier`` figures, made in the analyze stage.

The analyze stage fits the curves (``Results.figure_estimates``) and the figure draws them
(:func:`reinfuse.figures.kaplan_meier.draw_kaplan_meier`), so a figure never estimates
again what the analysis estimated, and analyze needs nothing from the figures package.
The estimates are those of :func:`reinfuse.stats.kaplan_meier` (log(-log) confidence
limits; the median where the curve reaches 0.5, the middle of a segment flat at exactly
0.5, as R's survival package). A few parameter checks shared with every figure kind live
here too (``reinfuse.figures._common`` re-exports them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from reinfuse._match import matches
from reinfuse._plain import to_plain
from reinfuse.errors import PlanError

if TYPE_CHECKING:  # reinfuse.stats (SciPy) loads when a curve is fitted: import stays light
    from reinfuse.stats import KaplanMeierResult

__all__ = ["ALL_PATIENTS", "KM_PARAMETERS", "TIME_ORIGINS", "KaplanMeierCurves",
           "check_infusion", "kaplan_meier_curves", "kaplan_meier_figure_estimates",
           "label", "require_columns"]

#: The day a duration column counts from, when it is not the infusion itself
#: (``{label}`` is the infusion's name). ``reinfuse.derive`` measures ``remission_days``
#: from the response date; ``followup_days`` counts from the infusion.
TIME_ORIGINS: dict[str, str] = {"remission_days": "CR after {label}"}

#: The label of the one curve without groups.
ALL_PATIENTS = "All patients"


@dataclass(frozen=True)
class KaplanMeierCurves:
    """The Kaplan-Meier estimates a figure draws: one fit per group, and who was left out.

    Made by :func:`kaplan_meier_curves` in the analyze stage (``Results.figure_estimates``)
    and drawn by :func:`draw_kaplan_meier`, which estimates nothing (as lifelines' plots
    take a fitted model).

    Attributes
    ----------
    curves
        ``(label, group value, fit)`` per curve, in order.
    data
        The figure's plain data without the drawing: parameters, skipped rows, the x label.
    empty
        Why there is no curve (no patient with a duration and an event), or ``""``.
    """

    curves: tuple[tuple[str, Any, KaplanMeierResult], ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    empty: str = ""


def label(labels: Mapping[int, str], infusion: int) -> str:
    """Display name of an infusion number (``CART2``), or ``infusion N``."""
    return labels.get(infusion, f"infusion {infusion}")


def require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise :class:`PlanError` naming the columns a figure needs that the frame lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanError(f"the analysis frame has no column(s) {', '.join(missing)}; build it "
                        "with reinfuse.derive.derive() (see docs/derived-variables.md).")


def check_infusion(name: str, value: Any) -> None:
    """Raise :class:`PlanError` unless ``value`` is an infusion number (integer >= 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PlanError(f"parameter '{name}' is {value!r}; it must be an infusion number "
                        "(an integer >= 1, e.g. 2 for the first reinfusion).")


def kaplan_meier_curves(frame: pd.DataFrame, labels: Mapping[int, str], *,
                        time: str = "remission_days", event: str = "remission_event",
                        infusion: int = 2, where: Mapping[str, Sequence[Any]] | None = None,
                        group: str | None = None) -> KaplanMeierCurves:
    """Estimate the curves :func:`kaplan_meier` draws (parameters as there).

    Returns
    -------
    KaplanMeierCurves
        One :func:`reinfuse.stats.kaplan_meier` fit per group, with the rows left out.
    """
    from reinfuse.stats import kaplan_meier as estimate

    check_infusion("infusion", infusion)
    for name, value in (("time", time), ("event", event)):
        if not isinstance(value, str) or not value:
            raise PlanError(f"parameter '{name}' is {value!r}; it must be a column name.")
    if group is not None and (not isinstance(group, str) or not group):
        raise PlanError(f"parameter 'group' is {group!r}; it must be a column name.")
    filters = _filters(where)
    require_columns(frame, ["patient_id", "infusion", time, event, *filters,
                            *([group] if group else [])])
    name = label(labels, infusion)
    origin = TIME_ORIGINS.get(time, "{label}").format(label=name)

    rows = frame.loc[frame["infusion"].eq(infusion)].drop_duplicates("patient_id")
    before = len(rows)
    for column, allowed in filters.items():
        rows = rows.loc[matches(rows[column], list(allowed))]
    durations = _days(rows[time])
    events = rows[event]
    skipped = {"missing_time": int(durations.isna().sum()),
               "missing_event": int((durations.notna() & events.isna()).sum()),
               "missing_group": 0}
    complete = durations.notna() & events.notna()
    if group:
        skipped["missing_group"] = int((complete & rows[group].isna()).sum())
        complete &= rows[group].notna()
        values = _ordered(rows.loc[complete, group].unique())
    else:
        values = [None]

    curves: list[tuple[str, Any, KaplanMeierResult]] = []
    for value in values:
        keep = complete if value is None else complete & rows[group].eq(value).fillna(False)
        if keep.any():
            fit = estimate(durations[keep], events[keep])
            curves.append((ALL_PATIENTS if value is None else str(value), value, fit))

    data: dict[str, Any] = {
        "infusion": infusion, "time": time, "event": event, "where": to_plain(dict(filters)),
        "group": group, "time_origin": origin, "x_label": f"Days since {origin}",
        "n_patients": sum(fit.n for _, _, fit in curves), "skipped": skipped,
        "excluded_by_where": before - len(rows)}
    reason = ""
    if not curves:
        subset = " matching the filter" if filters else ""
        reason = f"No patient{subset} at {name} has both {time} and {event} recorded."
    return KaplanMeierCurves(curves=tuple(curves), data=data, empty=reason)


def _filters(where: Any) -> dict[str, list[Any]]:
    if where is None:
        return {}
    example = "e.g. where = {indication = [\"relapse\"]}"
    if not isinstance(where, Mapping):
        raise PlanError(f"parameter 'where' is {where!r}; it must map column names to lists "
                        f"of the values to keep, {example}.")
    filters: dict[str, list[Any]] = {}
    for column, allowed in where.items():
        if not isinstance(allowed, list | tuple) or not allowed:
            raise PlanError(f"parameter 'where' has {column} = {allowed!r}; each column needs "
                            f"a non-empty list of the values to keep, {example}.")
        filters[str(column)] = list(allowed)
    return filters


def _days(values: pd.Series) -> pd.Series:
    """Durations as float days (timedeltas converted), missing as NaN."""
    if pd.api.types.is_timedelta64_dtype(values):
        return values.dt.total_seconds() / 86400.0
    return pd.to_numeric(values, errors="coerce").astype(float)


def _ordered(values: Any) -> list[Any]:
    """Distinct group values in a stable order: natural order if comparable, else as text."""
    unique = list(values)
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


#: Parameters of a ``kaplan_meier`` figure entry (``median_line`` is the drawing's own).
KM_PARAMETERS = ("time", "event", "infusion", "where", "group", "median_line")


def kaplan_meier_figure_estimates(frame: pd.DataFrame, figure_id: str,
                                  params: Mapping[str, Any], labels: Mapping[int, str]
                                  ) -> KaplanMeierCurves:
    """The curves a plan's ``kaplan_meier`` figure draws, from its parameters.

    Raises
    ------
    PlanError
        An unknown or wrong parameter, or a column missing, naming the figure.
    """
    unknown = sorted(p for p in params if p not in KM_PARAMETERS)
    where = f"figure '{figure_id}' (kind 'kaplan_meier')"
    if unknown:
        raise PlanError(f"{where}: unknown parameter(s) {', '.join(unknown)}; parameters of "
                        f"this kind: {', '.join(KM_PARAMETERS)}.")
    wanted = {k: v for k, v in params.items() if k != "median_line"}
    try:
        return kaplan_meier_curves(frame, labels, **wanted)
    except PlanError as exc:
        raise PlanError(f"{where}: {exc}") from exc
