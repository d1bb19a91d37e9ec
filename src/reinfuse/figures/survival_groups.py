"""Figures of the plan's ``[[analyses]]``: Kaplan-Meier curves by group with pointwise
confidence bands and numbers at risk, and cumulative incidence curves with competing risks.

Both draw the estimates the analyze stage computed (:class:`reinfuse.analyses.
AnalysisResult.estimates`); nothing is estimated here. Greyscale-safe: groups differ by line
style as well as colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from reinfuse.analyses import DAYS_PER_MONTH
from reinfuse.figures._common import SINGLE_COLUMN, SMALL_FONT_SIZE, new_figure, style

if TYPE_CHECKING:
    from reinfuse.analyses import AnalysisResult

__all__ = ["cumulative_incidence_figure", "kaplan_meier_groups_figure"]

_STYLES = ("-", "--", ":", "-.")
_COLOURS = ("#000000", "#555555", "#0072B2", "#D55E00", "#009E73", "#CC79A7")


def _scale(unit: str) -> float:
    return DAYS_PER_MONTH if unit == "months" else 1.0


def _step(ax: Any, x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray,
          index: int, label: str) -> None:
    colour, line = _COLOURS[index % len(_COLOURS)], _STYLES[index % len(_STYLES)]
    ax.step(x, y, where="post", color=colour, linestyle=line, linewidth=1.0, label=label)
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.any():
        ax.fill_between(x, np.where(ok, low, np.nan), np.where(ok, high, np.nan),
                        step="post", color=colour, alpha=0.15, linewidth=0)


def kaplan_meier_groups_figure(result: AnalysisResult) -> tuple[Figure, str]:
    """Kaplan-Meier curve per group with its pointwise CI band and, under the axes, the
    numbers at risk at the analysis's times; returns the figure and its caption."""
    km = result.estimates
    scale = _scale(result.time_unit)
    times = sorted({row.time for row in km.at_risk})
    with style():
        figure = new_figure(SINGLE_COLUMN * 1.4, 2.5 + (0.16 * (len(km.groups) + 1)
                                                      if times else 0))
        if times:  # the curves above, the numbers at risk in a strip under them
            ax, strip = figure.subplots(2, 1, sharex=True, gridspec_kw={
                "height_ratios": [5, 0.55 + 0.32 * len(km.groups)]})
        else:
            ax, strip = figure.add_subplot(), None
        for i, group in enumerate(km.groups):
            curve = km.curves.get(group)
            if curve is None:
                continue
            t = curve.table
            x = np.concatenate([[0.0], t.time / scale])
            y = np.concatenate([[1.0], t.survival])
            low = np.concatenate([[1.0], t.lower])
            high = np.concatenate([[1.0], t.upper])
            _step(ax, x, y, low, high, i, f"{group} (n = {curve.n})")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_ylabel("Probability")
        axis_label = f"{result.time_unit.capitalize()} since the infusion"
        ax.legend(fontsize=SMALL_FONT_SIZE, frameon=False, loc="lower left")
        if strip is None:
            ax.set_xlabel(axis_label)
        else:
            strip.set_ylim(len(km.groups) - 0.5, -1.2)
            strip.set_yticks(range(len(km.groups)), labels=list(km.groups))
            strip.tick_params(axis="y", length=0, labelsize=SMALL_FONT_SIZE)
            for side in ("top", "right", "left"):
                strip.spines[side].set_visible(False)
            strip.text(0.0, -1.0, "At risk", fontsize=SMALL_FONT_SIZE, ha="left",
                       transform=strip.get_yaxis_transform())
            for row in km.at_risk:
                for j, group in enumerate(km.groups):
                    strip.text(row.time / scale, j, str(row.n_at_risk.get(group, 0)),
                               ha="center", va="center", fontsize=SMALL_FONT_SIZE)
            strip.set_xlabel(axis_label)
            ax.tick_params(labelbottom=True)
    caption = (f"Kaplan-Meier estimates by group with pointwise 95% confidence bands "
               f"(shaded); numbers at risk under the axis at the {result.time_unit} shown. "
               f"{result.tests[0].name if result.tests else ''}.").replace(" .", ".")
    return figure, caption


def cumulative_incidence_figure(result: AnalysisResult) -> tuple[Figure, str]:
    """Cumulative incidence of relapse per group, side by side with the competing events'
    incidence, each with its pointwise CI band; returns the figure and its caption."""
    res = result.estimates
    scale = _scale(result.time_unit)
    causes = list(res.causes)
    with style():
        figure = new_figure(SINGLE_COLUMN * 1.4 * min(len(causes), 2), 2.6)
        axes = figure.subplots(1, min(len(causes), 2), sharey=True, squeeze=False)[0]
        panels = [causes[0]] + ([" or ".join(causes[1:])] if len(causes) > 1 else [])
        for ax, panel in zip(axes, panels, strict=True):
            for i, group in enumerate(res.groups):
                curve = res.curves[group]
                x = np.concatenate([[0.0], curve.time / scale])
                parts = [causes[0]] if panel == causes[0] else causes[1:]
                y = np.concatenate([[0.0], sum(curve.incidence[c] for c in parts)])
                if len(parts) == 1:
                    low = np.concatenate([[0.0], curve.lower[parts[0]]])
                    high = np.concatenate([[0.0], curve.upper[parts[0]]])
                else:  # no band for a sum of causes (their covariance is not kept)
                    low = high = np.full_like(y, np.nan)
                label = "All" if group == "all" else str(group)
                _step(ax, x, y, low, high, i, f"{label} (n = {curve.n})")
            ax.set_title(panel.capitalize(), fontsize=SMALL_FONT_SIZE + 0.5)
            ax.set_xlim(left=0)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(f"{result.time_unit.capitalize()} since the infusion")
        axes[0].set_ylabel("Cumulative incidence")
        axes[0].legend(fontsize=SMALL_FONT_SIZE, frameon=False, loc="upper left")
    caption = ("Cumulative incidence (Aalen-Johansen) of relapse"
               + (f" and of the competing events ({', '.join(causes[1:])}), side by side"
                  if len(causes) > 1 else "")
               + ", with pointwise 95% confidence bands for single causes. No test between "
               "groups is drawn (Gray's test is not available).")
    return figure, caption
