"""CAR T-cell counts after each infusion with the fitted Stein et al. 2019 curves.

One panel per patient, the first and the second infusion overlaid (days from each
infusion on the x axis, counts on a log scale): measured values as markers, values at or
below the limit of detection drawn distinctly (open downward triangles at the limit, or at
the axis floor when the limit is 0), and the curve of the model of Stein et al. (CPT
Pharmacometrics Syst Pharmacol 2019;8:285-295) fitted to that infusion
(:func:`reinfuse.kinetics.model.fit_stein_table`) as a line. Not yet a plan figure kind
(the plan and report integration comes with the pipeline refactor): call
:func:`kinetics_figure` and :func:`reinfuse.figures.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

from reinfuse.errors import CriteriaError
from reinfuse.figures import FigureResult
from reinfuse.figures._common import (
    DOUBLE_COLUMN,
    SMALL_FONT_SIZE,
    empty_figure,
    empty_reason,
    label,
    new_figure,
    plain,
    style,
    thousands,
)
from reinfuse.kinetics.model import SteinFits, SteinParameters, stein_curve

__all__ = ["UNIT_LABELS", "kinetics_figure"]

#: Axis labels of the ``car_counts`` units.
UNIT_LABELS: dict[str, str] = {"cells_per_ul": "CAR T cells/µL",
                               "percent_of_t_cells": "CAR T cells (% of T cells)",
                               "percent_of_cells": "CAR T cells (% of cells)"}
#: Marker, fill, line style and grey per position (first, second infusion): greyscale-safe.
_LOOK: tuple[tuple[str, str, Literal["-", "--"], str], ...] = (
    ("o", "black", "-", "black"), ("s", "white", "--", "0.35"))
_GRID_POINTS = 200


def _check(car_counts: pd.DataFrame) -> None:
    needed = ["patient_id", "infusion", "day", "value"]
    missing = [c for c in needed if c not in car_counts.columns]
    if missing:
        raise CriteriaError(f"car_counts has no column(s) {', '.join(missing)}; it needs "
                            f"{', '.join(needed)} (and compartment, unit): one row per "
                            "measurement, as in docs/kinetics.md.")


def kinetics_figure(
    car_counts: pd.DataFrame,
    fits: SteinFits | pd.DataFrame | None = None,
    labels: Mapping[int, str] | None = None,
    *,
    compartment: str = "blood",
    lod: float | None = None,
    first: int = 1,
    second: int = 2,
    patients: Sequence[Any] | None = None,
    max_patients: int = 12,
    id: str = "kinetics",
    title: str = "CAR T-cell kinetics after each infusion",
    caption: str = "",
) -> FigureResult:
    """Observed CAR T-cell counts with the fitted Stein curves, infusions overlaid.

    Parameters
    ----------
    car_counts
        One row per measurement: ``patient_id``, ``infusion``, ``day`` (from that
        infusion), ``value``, and optionally ``compartment`` and ``unit``.
    fits
        :func:`reinfuse.kinetics.model.fit_stein_table`'s result (or its ``table``);
        only curves with ``status == "fitted"`` are drawn. None: observations only.
    labels
        Infusion display names (default ``{1: "CART1", 2: "CART2"}``).
    compartment
        Rows of this ``compartment`` are drawn (when the column exists).
    lod
        Limit of detection: a value at or below it is below the limit (default None:
        a value of 0, as in :mod:`reinfuse.kinetics`). Drawn at the limit, or at the axis
        floor (half the smallest value above the limit) when the limit is 0.
    first, second
        The infusions overlaid (default 1 and 2).
    patients
        Patients to draw, in this order; default every patient with a measurement after
        either infusion, sorted, at most ``max_patients`` (the rest are counted in
        ``data["n_patients_not_drawn"]``).
    max_patients
        Most panels drawn.
    id, title, caption
        Of the figure result.

    Returns
    -------
    FigureResult
        ``data`` lists per drawn curve the patient, infusion, measurements above and
        below the limit, unknown (blank) values left out, and whether a fitted curve is
        drawn; ``n_patients`` and ``n_patients_not_drawn``.

    Raises
    ------
    CriteriaError
        ``car_counts`` lacks a needed column, or ``lod`` / ``max_patients`` is invalid.
    """
    _check(car_counts)
    if lod is not None and (isinstance(lod, bool) or not isinstance(lod, int | float)
                            or not math.isfinite(lod) or lod < 0):
        raise CriteriaError(f"lod must be a number >= 0 (or None); received {lod!r}.")
    if isinstance(max_patients, bool) or not isinstance(max_patients, int) or max_patients < 1:
        raise CriteriaError(f"max_patients must be a whole number >= 1; received "
                            f"{max_patients!r}.")
    names = dict(labels or {1: "CART1", 2: "CART2"})
    limit = float(lod or 0.0)
    rows = car_counts
    if "compartment" in rows.columns:
        rows = rows.loc[rows["compartment"].astype("string").str.strip().str.lower()
                        .eq(compartment).fillna(False).to_numpy(bool)]
    rows = rows.loc[rows["infusion"].isin([first, second])]
    frame = pd.DataFrame({
        "patient_id": rows["patient_id"].to_numpy(object),
        "infusion": rows["infusion"].to_numpy(),
        "day": pd.to_numeric(rows["day"], errors="coerce").to_numpy(float),
        "value": pd.to_numeric(rows["value"], errors="coerce").to_numpy(float)})
    frame["unknown"] = frame["day"].isna() | frame["value"].isna()
    frame["below"] = ~frame["unknown"] & (frame["value"] <= limit)
    everyone = sorted(frame["patient_id"].unique(), key=str)
    chosen = list(patients) if patients is not None else everyone
    drawn = chosen[:max_patients]
    fit_table = _fit_table(fits)
    per_curve = (frame.assign(above=~frame["unknown"] & ~frame["below"])
                 .groupby(["patient_id", "infusion"])[["above", "below", "unknown"]].sum())
    curves = []
    for pid in drawn:
        for number in (first, second):
            key = (pid, number)
            counts = per_curve.loc[key] if key in per_curve.index else None
            curves.append({
                "patient_id": pid, "infusion": number, "label": label(names, number),
                "n_above_limit": 0 if counts is None else int(counts["above"]),
                "n_below_limit": 0 if counts is None else int(counts["below"]),
                "n_unknown": 0 if counts is None else int(counts["unknown"]),
                "fitted": key in fit_table.index})
    units = rows["unit"].dropna().astype(str).unique() if "unit" in rows.columns else []
    y_label = UNIT_LABELS.get(units[0], units[0]) if len(units) == 1 else "CAR T cells"
    data: dict[str, Any] = {
        "compartment": compartment, "lod": limit, "n_patients": len(chosen),
        "n_patients_not_drawn": len(chosen) - len(drawn), "curves": curves}
    with style():
        shown = frame.loc[frame["patient_id"].isin(drawn) & ~frame["unknown"]]
        if shown.empty:
            figure = empty_figure(f"No CAR T-cell measurement in the {compartment} after "
                                  f"{label(names, first)} or {label(names, second)}.")
        else:
            figure = _draw(shown, fit_table, drawn, (first, second), names, limit, y_label)
    return FigureResult(id=id, title=title, caption=caption, figure=figure,
                        data=plain(data), empty=empty_reason(figure))


def _fit_table(fits: SteinFits | pd.DataFrame | None) -> pd.DataFrame:
    if fits is None:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []]))
    table = fits if isinstance(fits, pd.DataFrame) else fits.table
    if "status" in table.columns:
        table = table.loc[table["status"].eq("fitted").fillna(False).to_numpy(bool)]
    return table.dropna(subset=["cmax", "tmax", "rho", "alpha", "fb", "beta"])


def _tick(value: float, _position: object) -> str:
    return thousands(value) if value >= 1 else f"{value:g}"


def _draw(shown: pd.DataFrame, fit_table: pd.DataFrame, drawn: Sequence[Any],
          infusions: tuple[int, int], names: Mapping[int, str], limit: float,
          y_label: str) -> Figure:
    above = shown["value"].where(~shown["below"])
    floor = limit if limit > 0 else float(above.min()) / 2 if above.notna().any() else 1.0
    top = max(float(above.max()) if above.notna().any() else floor * 10, floor * 10)
    n_cols = min(4, len(drawn))
    n_rows = math.ceil(len(drawn) / n_cols)
    figure = new_figure(DOUBLE_COLUMN, 0.4 + 1.55 * n_rows)
    axes = figure.subplots(n_rows, n_cols, squeeze=False, sharex=True, sharey=True)
    groups = dict(tuple(shown.groupby(["patient_id", "infusion"])))
    for k, pid in enumerate(drawn):
        ax = axes[k // n_cols][k % n_cols]
        ax.set_yscale("log")
        ax.set_title(f"Patient {pid}", fontsize=SMALL_FONT_SIZE)
        if limit > 0:
            ax.axhline(limit, color="0.6", linewidth=0.5, linestyle=":", zorder=0)
        for position, number in enumerate(infusions):
            marker, fill, line, grey = _LOOK[position]
            points = groups.get((pid, number))
            if points is not None:
                ok = ~points["below"].to_numpy(bool)
                day = points["day"].to_numpy(float)
                ax.scatter(day[ok], points["value"].to_numpy(float)[ok], marker=marker, s=10,
                           c=fill, edgecolors=grey, linewidths=0.6, zorder=3)
                ax.scatter(day[~ok], np.full((~ok).sum(), floor), marker="v", s=12,
                           facecolors="white", edgecolors=grey, linewidths=0.6, zorder=3,
                           clip_on=False)
            if (pid, number) in fit_table.index:
                row = fit_table.loc[(pid, number)]
                end = float(points["day"].max()) if points is not None else 28.0
                params = SteinParameters(*(float(row[c]) for c in
                                           ("cmax", "tmax", "rho", "alpha", "fb", "beta")))
                # the grid includes Tmax, so the peak (a corner of the curve) is drawn
                days = np.linspace(0.0, max(end, 1.0), _GRID_POINTS)
                days = np.union1d(days, [params.tmax]) if params.tmax < days[-1] else days
                ax.plot(days, stein_curve(days, params), color=grey, linestyle=line,
                        linewidth=0.8, zorder=2)
        ax.set_ylim(floor / 1.5, top * 2)
        # Plain tick labels (1, 10, 1,000): the log axis' default labels are mathtext.
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.yaxis.set_minor_formatter(NullFormatter())
    for k in range(len(drawn), n_rows * n_cols):
        axes[k // n_cols][k % n_cols].set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("Days from infusion")
    for row_axes in axes:
        row_axes[0].set_ylabel(y_label)
    handles: list[Any] = []
    for position, number in enumerate(infusions):
        marker, fill, line, grey = _LOOK[position]
        handles.append(Line2D([], [], marker=marker, markerfacecolor=fill, markeredgecolor=grey,
                              color=grey, linestyle=line, markersize=3.5,
                              label=f"{label(names, number)}: measured, fitted curve"))
    below = "below the limit (drawn at the limit)" if limit > 0 else \
        "not detected (drawn at the axis floor)"
    handles.append(Line2D([], [], marker="v", markerfacecolor="white", markeredgecolor="black",
                          linestyle="none", markersize=3.5, label=below))
    figure.legend(handles=handles, loc="outside lower center", ncols=3)
    return figure
