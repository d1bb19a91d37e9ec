"""Kaplan-Meier curves of a time to event after an infusion, with the numbers at risk.

By default the duration of remission after the first reinfusion: from the CR to relapse
(event) or to the end of follow-up (censored), the ``remission_days`` and
``remission_event`` columns of ``reinfuse.derive``. One step curve per group (line style
and grey level differ), censored patients marked with a ``+``, and the number of patients
still at risk under the plot at each x tick. The estimates are those of
:func:`reinfuse.stats.kaplan_meier` (log(-log) confidence limits; the median where the
curve reaches 0.5, the middle of a segment flat at exactly 0.5, as R's survival package).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reinfuse.errors import PlanError
from reinfuse.figures._common import (
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
    empty_figure,
    new_figure,
    plain,
)
from reinfuse.stats import KaplanMeierResult
from reinfuse.survival_curves import (
    KaplanMeierCurves,
    kaplan_meier_curves,
)

#: Line style and grey per curve, in order (cycled beyond four curves).
CURVE_STYLES: list[tuple[Any, str]] = [("-", "black"), ((0, (4, 1.6)), "0.45"),
                                       ((0, (1, 1.2)), "black"),
                                       ((0, (5, 1.5, 1, 1.5)), "0.45")]

def kaplan_meier(frame: pd.DataFrame, labels: Mapping[int, str], *,
                 time: str = "remission_days", event: str = "remission_event",
                 infusion: int = 2, where: Mapping[str, Sequence[Any]] | None = None,
                 group: str | None = None, median_line: bool = False
                 ) -> tuple[Figure, dict[str, Any]]:
    """Kaplan-Meier curves of ``time`` / ``event`` for the rows of one infusion.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion).
    labels
        Infusion display names.
    time
        Column with the durations in days (>= 0), ``remission_days`` by default.
    event
        Column with the event indicator (True = event observed, False = censored),
        ``remission_event`` by default.
    infusion
        Use the rows of this infusion (2, the first reinfusion, by default).
    where
        Optional filter: column name -> list of the values to keep, e.g.
        ``{"indication": ["relapse"]}``; rows must match every entry.
    group
        Optional column to stratify by: one curve per distinct value (rows where it is
        missing are left out and counted).
    median_line
        Draw dotted lines from 0.5 on the y axis to each median that is reached.

    Returns
    -------
    figure, data
        ``data["curves"]`` lists each curve with ``n``, ``n_events``, ``n_censored``, the
        median (None if not reached) and its confidence limits, ``median_text``, the
        Kaplan-Meier table (``steps``) and ``at_risk``, the numbers printed under the plot
        at ``data["ticks"]`` (days). ``skipped`` counts the rows left out for a missing
        duration, event or group value; ``excluded_by_where`` the rows the filter removed.

    Raises
    ------
    PlanError
        A parameter of the wrong type, or a column missing from the frame.
    reinfuse.errors.StatisticsError
        A negative duration or an event indicator other than true/false.

    Notes
    -----
    The x axis is labelled "Days since" the origin of the durations: the infusion, or for
    ``remission_days`` the CR after it (see :data:`TIME_ORIGINS`); durations of other
    columns are assumed to count from the infusion. The number at risk at day ``t`` is the
    number of patients whose duration is at least ``t`` (still in follow-up and without
    the event just before ``t``).
    """
    if not isinstance(median_line, bool):
        raise PlanError(f"parameter 'median_line' is {median_line!r}; use true or false.")
    estimates = kaplan_meier_curves(frame, labels, time=time, event=event, infusion=infusion,
                                    where=where, group=group)
    return draw_kaplan_meier(estimates, median_line=median_line)


def draw_kaplan_meier(estimates: KaplanMeierCurves, *, median_line: bool = False
                      ) -> tuple[Figure, dict[str, Any]]:
    """Draw the curves of ``estimates`` (no estimation here) and return the figure's data.

    Parameters
    ----------
    estimates
        The fits, from :func:`kaplan_meier_curves` (``Results.figure_estimates``).
    median_line
        Draw dotted lines from 0.5 on the y axis to each median that is reached.

    Returns
    -------
    figure, data
        As :func:`kaplan_meier`.
    """
    curves = list(estimates.curves)
    ticks = _ticks([step.time for _, _, fit in curves for step in fit.steps]) if curves else []
    data: dict[str, Any] = {
        **estimates.data, "ticks": ticks,
        "curves": [_curve_data(text, value, fit, ticks) for text, value, fit in curves],
        "method": curves[0][2].method if curves else None,
    }
    if not curves:
        return empty_figure(estimates.empty), data
    return _draw(curves, data, estimates.data["group"], median_line), data


def _ticks(times: list[float]) -> list[float]:
    """Regular x ticks from 0 to the first tick at or after the longest duration."""
    longest = max(times, default=0.0)
    if longest <= 0:
        return [0.0, 1.0]
    locator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], integer=True)
    ticks = [float(t) for t in locator.tick_values(0.0, longest) if t >= 0]
    return [t for t in ticks if t < longest] + [min(t for t in ticks if t >= longest)]


def _curve_data(text: str, value: Any, fit: KaplanMeierResult,
                ticks: list[float]) -> dict[str, Any]:
    return {
        "label": text, "value": plain(value), "n": fit.n, "n_events": fit.n_events,
        "n_censored": fit.n_censored, "median": fit.median,
        "median_reached": fit.median_reached, "median_ci_low": fit.median_ci_low,
        "median_ci_high": fit.median_ci_high, "confidence_level": fit.confidence_level,
        "median_text": fit.median_text("days"),
        "at_risk": [e.n_at_risk for e in fit.survival_at(ticks)],
        "steps": [step.to_dict() for step in fit.steps],
    }


def _draw(curves: list[tuple[str, Any, KaplanMeierResult]], data: dict[str, Any],
          group: str | None, median_line: bool) -> Figure:
    n_rows = len(curves)
    table_height = 0.32 + 0.13 * n_rows
    figure = new_figure(SINGLE_COLUMN, 2.35 + table_height)
    ax, risk = figure.subplots(2, 1, sharex=True,
                               gridspec_kw={"height_ratios": [2.35, table_height]})
    ticks = data["ticks"]
    handles: list[Any] = []
    for index, ((text, _value, fit), curve) in enumerate(zip(curves, data["curves"],
                                                             strict=True)):
        style, grey = CURVE_STYLES[index % len(CURVE_STYLES)]
        times = np.array([0.0, *(s.time for s in fit.steps)])
        survival = np.array([1.0, *(s.survival for s in fit.steps)])
        ax.step(times, survival, where="post", color=grey, linestyle=style, linewidth=1.0,
                zorder=3 - 0.1 * index)
        censored = [s for s in fit.steps if s.n_censored > 0]
        ax.plot([s.time for s in censored], [s.survival for s in censored], marker="+",
                markersize=5, markeredgewidth=0.8, linestyle="none", color=grey, zorder=4)
        if median_line and fit.median is not None:
            ax.plot([0, fit.median, fit.median], [0.5, 0.5, 0.0], color="0.55",
                    linestyle=(0, (1, 1.5)), linewidth=0.6, zorder=1)
        handles.append(Line2D([], [], color=grey, linestyle=style, linewidth=1.0,
                              label=f"{text} (n = {fit.n})"))
        for tick, count in zip(ticks, curve["at_risk"], strict=True):
            risk.text(tick, index, str(count), ha="center", va="center",
                      fontsize=SMALL_FONT_SIZE, color="black")
    if any(s.n_censored for _, _, fit in curves for s in fit.steps):
        handles.append(Line2D([], [], marker="+", markersize=5, markeredgewidth=0.8,
                              linestyle="none", color="black", label="Censored"))

    ax.set_xlim(0, ticks[-1] * 1.02)
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(lambda value, _pos: f"{value:g}")
    ax.tick_params(labelbottom=True)
    ax.set_ylim(0, 1.03)
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0], ["0", "0.25", "0.50", "0.75", "1.00"])
    ax.set_xlabel(data["x_label"])
    ax.set_ylabel("Probability")
    ax.legend(handles=handles, loc="best", title=group, handlelength=2.4,
              alignment="left")

    risk.set_ylim(n_rows - 0.5, -0.5)
    risk.set_yticks(range(n_rows), [text for text, _, _ in curves])
    risk.tick_params(axis="both", length=0, labelbottom=False, labelsize=SMALL_FONT_SIZE)
    risk.tick_params(axis="y", pad=9)
    for spine in risk.spines.values():
        spine.set_visible(False)
    risk.set_title("Number at risk", loc="left", fontsize=SMALL_FONT_SIZE, pad=2)
    return figure
