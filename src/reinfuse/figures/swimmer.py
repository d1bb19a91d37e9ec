"""Swimmer plot: the course of each patient in CR after a reinfusion (seed Figure 1F).

One lane per patient in morphologic CR after the chosen infusion, from that infusion
(day 0) to the end of follow-up: a thin open bar until the CR, a black bar in remission, a
hatched grey bar after relapse. Markers show the CR, the relapse (shape = relapse
phenotype, text = site), a later infusion, death (cross); an arrow marks a patient alive
at last follow-up. Time is in days since the infusion, never calendar dates.

A large cohort gets at most ``max_lanes`` lanes, the first ones in the chosen order, and
the figure says how many of how many patients it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from reinfuse.figures._common import (
    DOUBLE_COLUMN,
    FONT_SIZE,
    SMALL_FONT_SIZE,
    check_choice,
    check_count,
    check_infusion,
    empty_figure,
    label,
    new_figure,
    require_columns,
    thousands,
)

SwimmerSort = Literal["remission", "followup", "patient_id"]
SORTS = ("remission", "followup", "patient_id")

#: How the note on a capped figure names each order.
SORT_WORDS = {"remission": "longest remission first", "followup": "longest follow-up first",
              "patient_id": "in order of patient ID"}

#: Height (inches) of one lane and of everything else (axis, legend), and the most a
#: figure may take: a journal page. Lanes get thinner rather than the figure taller.
LANE_HEIGHT = 0.24
FRAME_HEIGHT = 1.45
NOTE_HEIGHT = 0.15
MAX_HEIGHT = 9.0

#: Relapse marker per relapse phenotype (derive's ``relapse_phenotype``).
PHENOTYPE_MARKERS: dict[str, tuple[str, str]] = {
    "antigen escape, CAR persistent": ("v", "antigen escape, CAR T cells persistent"),
    "CAR loss, antigen preserved": ("D", "CAR T-cell loss, antigen preserved"),
    "other": ("s", "other / not classifiable"),
}

#: Text written beside a relapse marker per relapse site group, as the seed study marks
#: CNS relapse with ^ and combined marrow and non-CNS extramedullary relapse with &.
SITE_CODES: dict[str, str] = {"CNS": "^", "marrow and EMD": "&", "EMD only": "EMD",
                              "marrow only": "", "unknown": "?"}

# Follow-up, first relapse and remission are derive's columns (reinfuse.derive.follow_up,
# the one definition), never recomputed here.
_COLUMNS = ("patient_id", "infusion", "date", "complete_response", "response_date",
            "first_relapse_date", "relapse_phenotype", "relapse_site_group", "hsct_after",
            "followup_days", "death_event", "remission_days")


def swimmer(frame: pd.DataFrame, labels: Mapping[int, str], *, infusion: int = 2,
            sort: SwimmerSort = "remission", max_lanes: int = 40
            ) -> tuple[Figure, dict[str, Any]]:
    """Swimmer plot of the patients in CR after ``infusion``.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion).
    labels
        Infusion display names.
    infusion
        The infusion whose date is day 0 and whose complete responders get a lane (2, the
        first reinfusion, by default).
    sort
        Lane order from the top: ``remission`` (longest remission first, the default),
        ``followup`` (longest lane first) or ``patient_id``. Ties go by patient_id.
    max_lanes
        The most lanes drawn (40 by default). With more eligible patients, the first
        ``max_lanes`` in ``sort`` order are drawn and a note above the plot says so
        ("Showing 40 of 2,345 patients in CR after CART2, longest remission first").

    Returns
    -------
    figure, data
        ``data["lanes"]`` lists the lanes drawn, from top to bottom, with every day drawn
        (CR, relapse, end of lane, death, next infusion), the remission duration, whether
        the patient was alive at the end, the relapse phenotype and site code.
        ``data["eligible"]`` (also ``n_patients``) counts the patients with a lane to draw,
        ``data["shown"]`` those drawn, and ``n_relapsed``, ``n_died`` and
        ``median_remission_days`` are over all eligible patients, drawn or not. Patients
        in CR whose response date or end of follow-up is missing are skipped and counted
        in ``data["skipped"]``.

    Notes
    -----
    The lane ends at the end of follow-up and the remission is the one of the analysis
    frame, both from :func:`reinfuse.derive.follow_up` (``followup_days``,
    ``death_event``, ``first_relapse_date``, ``remission_days``): the end of follow-up is
    the patient's death, else the latest last contact; remission lasts from the CR to the
    first relapse or, censored, to the end of follow-up (or the next infusion or a
    transplant, as the plan's derive options say). A consolidative HSCT is
    flagged after the patient ID ("HSCT", with "dN" when ``hsct_date`` gives its day).
    """
    check_infusion("infusion", infusion)
    check_choice("sort", sort, SORTS)
    check_count("max_lanes", max_lanes)
    require_columns(frame, _COLUMNS)
    name = label(labels, infusion)
    next_name = labels.get(infusion + 1, "Next infusion")

    rows = frame.loc[frame["infusion"].eq(infusion)
                     & frame["complete_response"].fillna(False).astype(bool)]
    rows = rows.drop_duplicates("patient_id").set_index("patient_id")
    followup = rows["followup_days"].astype("Float64")
    later = frame.loc[frame["infusion"].eq(infusion + 1)].drop_duplicates("patient_id")
    next_date = later.set_index("patient_id")["date"].reindex(rows.index)

    def days(dates: pd.Series) -> pd.Series:
        return (pd.to_datetime(dates) - rows["date"]).dt.days.astype("Float64")

    lanes = pd.DataFrame({
        "cr_day": days(rows["response_date"]),
        # The first relapse on this or a later row (derive), so a relapse recorded with a
        # later infusion still ends the lane's remission.
        "relapse_day": days(rows["first_relapse_date"]),
        "hsct_day": days(rows["hsct_date"]) if "hsct_date" in rows
        else pd.Series(pd.NA, index=rows.index, dtype="Float64"),
        "followup_end_day": followup,
        "death_day": followup.where(rows["death_event"].astype("boolean").fillna(False)),
        "next_infusion_day": days(next_date),
        "relapse_phenotype": rows["relapse_phenotype"].astype("string"),
        "relapse_site_group": rows["relapse_site_group"].astype("string"),
        "hsct_after": rows["hsct_after"].astype("boolean"),
    }, index=rows.index)
    skipped = {"missing_response_date": int(lanes["cr_day"].isna().sum()),
               "missing_end_of_followup": int((lanes["cr_day"].notna()
                                               & lanes["followup_end_day"].isna()).sum())}
    lanes = lanes.dropna(subset=["cr_day", "followup_end_day"])
    # A lane reaches the last date known for the patient, even if follow-up was recorded
    # before a relapse (an inconsistency validation reports).
    lanes["end_day"] = lanes[["followup_end_day", "relapse_day", "cr_day"]].max(axis=1)
    lanes["alive"] = lanes["death_day"].isna()
    lanes["relapsed"] = lanes["relapse_day"].notna()
    # derive's remission (censored at a later infusion or transplant), so the lanes'
    # statistics agree with the tables and the Kaplan-Meier figure.
    lanes["remission_days"] = rows["remission_days"].reindex(lanes.index).astype("Float64")
    lanes["site_code"] = lanes["relapse_site_group"].map(SITE_CODES).astype("string")
    lanes = lanes.reset_index()
    key = {"remission": "remission_days", "followup": "end_day", "patient_id": None}[sort]
    if key is None:
        lanes = lanes.sort_values("patient_id", kind="stable")
    else:
        lanes = lanes.sort_values([key, "patient_id"], ascending=[False, True], kind="stable")
    eligible = len(lanes)
    shown = lanes.iloc[:max_lanes].reset_index(drop=True)
    shown.insert(1, "lane", np.arange(len(shown)))

    keep = ["patient_id", "lane", "cr_day", "relapse_day", "end_day", "death_day", "alive",
            "remission_days", "relapsed", "relapse_phenotype", "relapse_site_group",
            "site_code", "hsct_after", "next_infusion_day"]
    note = (f"Showing {thousands(len(shown))} of {thousands(eligible)} patients in CR after "
            f"{name}, {SORT_WORDS[sort]}" if eligible > len(shown) else None)
    data: dict[str, Any] = {
        "infusion": infusion, "sort": sort, "max_lanes": max_lanes, "n_patients": eligible,
        "eligible": eligible, "shown": len(shown), "note": note, "skipped": skipped,
        "day_zero": f"date of {name}", "site_codes": dict(SITE_CODES),
        "lanes": shown[keep].astype(object).where(shown[keep].notna(), None).to_dict("records"),
        "n_relapsed": int(lanes["relapsed"].sum()), "n_died": int((~lanes["alive"]).sum()),
        "median_remission_days": (float(lanes["remission_days"].median())
                                  if eligible else None),
    }
    if shown.empty:
        return empty_figure(f"No patient was in CR after {name}.", width=DOUBLE_COLUMN), data
    return _draw(shown, name, next_name, note), data


def _draw(lanes: pd.DataFrame, name: str, next_name: str, note: str | None) -> Figure:
    n = len(lanes)
    extra = NOTE_HEIGHT if note else 0.0
    figure = new_figure(DOUBLE_COLUMN,
                        min(LANE_HEIGHT * n + FRAME_HEIGHT, MAX_HEIGHT - extra) + extra)
    ax = figure.add_subplot()
    if note:
        ax.set_title(note, loc="left", fontsize=FONT_SIZE, fontweight="bold", pad=6)
    y = lanes["lane"].to_numpy(float)
    cr = lanes["cr_day"].to_numpy(float)
    end = lanes["end_day"].to_numpy(float)
    relapse = lanes["relapse_day"].to_numpy(float, na_value=np.nan)
    stop = np.where(np.isnan(relapse), end, relapse)
    relapsed = ~np.isnan(relapse)
    span = float(end.max()) if end.max() > 0 else 1.0

    ax.barh(y, cr, left=0, height=0.34, color="white", edgecolor="black", linewidth=0.5)
    ax.barh(y, stop - cr, left=cr, height=0.56, color="black", edgecolor="black",
            linewidth=0.5)
    ax.barh(y[relapsed], end[relapsed] - relapse[relapsed], left=relapse[relapsed],
            height=0.56, color="0.72", hatch="////", edgecolor="black", linewidth=0.5)
    handles: list[Any] = [
        Patch(facecolor="white", edgecolor="black", linewidth=0.5, label=f"{name} to CR"),
        Patch(facecolor="black", edgecolor="black", label="In remission"),
        Patch(facecolor="0.72", hatch="////", edgecolor="black", linewidth=0.5,
              label="After relapse"),
    ]
    marker: dict[str, Any] = {"linestyle": "none", "markeredgecolor": "black",
                              "markeredgewidth": 0.7}
    ax.plot(cr, y, marker="o", markersize=3.5, markerfacecolor="white", **marker)
    handles.append(Line2D([], [], marker="o", markersize=4, markerfacecolor="white",
                          label="CR", **marker))
    phenotype = lanes["relapse_phenotype"].fillna("other")
    for key, (shape, text) in PHENOTYPE_MARKERS.items():
        where = relapsed & phenotype.eq(key).to_numpy(bool)
        if where.any():
            ax.plot(relapse[where], y[where], marker=shape, markersize=5,
                    markerfacecolor="white", zorder=3, **marker)
            handles.append(Line2D([], [], marker=shape, markersize=5, markerfacecolor="white",
                                  label=f"Relapse: {text}", **marker))
    codes = lanes["site_code"].fillna("").to_numpy(object)
    for xi, yi, code in zip(relapse[relapsed], y[relapsed], codes[relapsed], strict=True):
        if code:
            ax.text(xi + 0.012 * span, yi, code, ha="left", va="center", zorder=4,
                    fontsize=SMALL_FONT_SIZE + 0.5, fontweight="bold",
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                          "edgecolor": "none"})
    later = lanes["next_infusion_day"].to_numpy(float, na_value=np.nan)
    if (~np.isnan(later)).any():
        # A black bar haloed in white, visible on the black remission segment too.
        halo = [patheffects.withStroke(linewidth=3.2, foreground="white")]
        ax.plot(later, y, marker="|", markersize=10, markeredgewidth=1.4, linestyle="none",
                color="black", zorder=3, path_effects=halo)
        handles.append(Line2D([], [], marker="|", markersize=10, markeredgewidth=1.4,
                              linestyle="none", color="black", label=next_name,
                              path_effects=halo))
    dead = ~lanes["alive"].to_numpy(bool)
    if dead.any():
        ax.plot(end[dead], y[dead], marker="X", markersize=6, markerfacecolor="black",
                markeredgecolor="white", markeredgewidth=0.4, linestyle="none", zorder=4)
        handles.append(Line2D([], [], marker="X", markersize=6, markerfacecolor="black",
                              markeredgecolor="white", linestyle="none", label="Death"))
    arrow = 0.035 * span
    for xi, yi in zip(end[~dead], y[~dead], strict=True):
        ax.annotate("", xy=(xi + arrow, yi), xytext=(xi, yi),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 6})
    if (~dead).any():
        handles.append(Line2D([], [], marker=r"$\rightarrow$", markersize=9, color="black",
                              linestyle="none", label="Alive at last follow-up"))

    hsct = lanes["hsct_after"].fillna(False).to_numpy(bool)
    hsct_days = lanes["hsct_day"] if "hsct_day" in lanes else pd.Series(pd.NA, index=lanes.index)
    ticks = [(f"{pid} HSCT d{int(d)}" if pd.notna(d) else f"{pid} HSCT") if h else str(pid)
             for pid, h, d in zip(lanes["patient_id"], hsct, hsct_days, strict=True)]
    ax.set_yticks(y, ticks)
    ax.set_ylim(n - 0.5, -0.6)
    ax.set_xlim(0, span * 1.08)
    ax.set_xlabel(f"Days since {name}")
    ax.set_ylabel("Patient")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    notes = [f"{code} {group}" for group, code in SITE_CODES.items()
             if code and group in set(lanes["relapse_site_group"].dropna())]
    if hsct.any():
        dated = bool(pd.notna(hsct_days[hsct]).all())
        notes.append(f"HSCT: consolidative transplant after {name}"
                     + (" (dN: on day N)" if dated else " (dN: on day N, where the date is "
                        "recorded)"))
    figure.legend(handles=handles, loc="outside lower left", ncols=3, handlelength=1.8,
                  columnspacing=1.2, title="; ".join(notes) if notes else None,
                  alignment="left")
    return figure
