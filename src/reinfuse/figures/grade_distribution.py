"""Share of patients by maximum toxicity grade after each infusion (seed Figure 1D/E)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reinfuse.figures._common import (
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
    check_choice,
    empty_figure,
    label,
    new_figure,
    require_columns,
)

GradeVariable = Literal["crs_grade", "neurotox_grade"]
VARIABLES: dict[str, str] = {"crs_grade": "CRS grade (ASTCT)",
                             "neurotox_grade": "Neurotoxicity grade"}
GRADES = (0, 1, 2, 3, 4, 5)

#: Fill, hatch and text colour per grade: an ordered grey ramp (white = grade 0, black =
#: grade 5) with hatching on the middle greys so neighbours differ in black and white too.
SHADES: dict[int, tuple[str, str, str]] = {
    0: ("white", "", "black"),
    1: ("0.85", "", "black"),
    2: ("0.66", "////", "black"),
    3: ("0.45", "....", "white"),
    4: ("0.25", "xxxx", "white"),
    5: ("0.0", "", "white"),
}

#: Infusions drawn, as bars from left to right.
INFUSIONS = (1, 2)


def grade_distribution(frame: pd.DataFrame, labels: Mapping[int, str], *,
                       variable: GradeVariable) -> tuple[Figure, dict[str, Any]]:
    """100% stacked bars of the maximum grade of ``variable`` after infusion 1 and 2.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion).
    labels
        Infusion display names.
    variable
        ``crs_grade`` or ``neurotox_grade`` (integer grades 0-5).

    Returns
    -------
    figure, data
        ``data["bars"]`` has, per infusion label, ``n`` (patients with a grade, the
        denominator), ``n_missing`` (skipped), and ``counts``, ``percent`` and
        ``patients`` by grade.

    Notes
    -----
    Denominators are the patients with a recorded grade at that infusion; missing grades
    are left out of the bar and counted. Segment labels are patient counts; the bar's
    ``n`` is printed above it.
    """
    check_choice("variable", variable, list(VARIABLES))
    require_columns(frame, ["patient_id", "infusion", variable])
    rows = frame.loc[frame["infusion"].isin(INFUSIONS), ["patient_id", "infusion", variable]]
    grades = pd.to_numeric(rows[variable], errors="coerce")
    known = rows.assign(grade=grades).dropna(subset=["grade"])
    known = known.assign(grade=known["grade"].astype(int))
    counts = pd.crosstab(known["infusion"], known["grade"]).reindex(
        index=list(INFUSIONS), columns=list(GRADES), fill_value=0)
    n = counts.sum(axis=1)
    share = counts.div(n.where(n > 0), axis=0).fillna(0.0) * 100
    n_missing = grades.isna().groupby(rows["infusion"]).sum().reindex(
        list(INFUSIONS), fill_value=0)
    ids = known.sort_values("patient_id").groupby(["infusion", "grade"])["patient_id"].agg(list)
    names = [label(labels, k) for k in INFUSIONS]

    data: dict[str, Any] = {"variable": variable, "grades": list(GRADES), "bars": {
        name: {"infusion": k, "n": int(n[k]), "n_missing": int(n_missing[k]),
               "counts": {g: int(counts.at[k, g]) for g in GRADES},
               "percent": {g: round(float(share.at[k, g]), 2) for g in GRADES},
               "patients": {g: list(ids.get((k, g), [])) for g in GRADES}}
        for k, name in zip(INFUSIONS, names, strict=True)}}
    if int(n.sum()) == 0:
        reason = f"No {VARIABLES[variable].split(' (')[0]} is recorded at {' or '.join(names)}."
        return empty_figure(reason), data
    return _draw(counts, share, n, n_missing, names, VARIABLES[variable]), data


def _draw(counts: pd.DataFrame, share: pd.DataFrame, n: pd.Series, n_missing: pd.Series,
          names: list[str], title: str) -> Figure:
    figure = new_figure(SINGLE_COLUMN, 2.5)
    ax = figure.add_subplot()
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    present = [g for g in GRADES if counts[g].sum() > 0]
    for grade in GRADES:
        height = share[grade].to_numpy(float)
        if grade not in present:
            continue
        fill, hatch, text_colour = SHADES[grade]
        ax.bar(x, height, bottom=bottom, width=0.6, color=fill, hatch=hatch or None,
               edgecolor="black", linewidth=0.5)
        box = ({"boxstyle": "square,pad=0.2", "facecolor": fill, "edgecolor": "none"}
               if hatch else None)
        for xi, h, b, k in zip(x, height, bottom, counts[grade].to_numpy(), strict=True):
            if k > 0 and h >= 6:
                ax.text(float(xi), b + h / 2, str(k), ha="center", va="center", color=text_colour,
                        fontsize=SMALL_FONT_SIZE, bbox=box)
        bottom += height
    for xi, k, missing in zip(x, n.to_numpy(), n_missing.to_numpy(), strict=True):
        note = f"n = {k}" + (f"\n({missing} missing)" if missing else "")
        ax.text(float(xi), 101.5, note, ha="center", va="bottom", fontsize=SMALL_FONT_SIZE)
    ax.set_xticks(x, names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_ylabel("Patients (%)")
    handles = [Patch(facecolor=SHADES[g][0], hatch=SHADES[g][1] or None, edgecolor="black",
                     linewidth=0.5, label=f"Grade {g}") for g in reversed(present)]
    ax.legend(handles=handles, title=title, loc="center left", bbox_to_anchor=(1.02, 0.5),
              handlelength=1.6, handleheight=1.2)
    return figure
