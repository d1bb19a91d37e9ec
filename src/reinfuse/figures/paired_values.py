"""A value measured before the first infusion and before the reinfusion, paired by patient.

The seed study's Figure 2B/C: CD19 or CD22 antigen binding capacity (ABC) of the leukemic
blasts before each infusion, one line per patient with both measurements, medians marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from reinfuse.figures._common import (
    MAX_PAIRS,
    SAMPLE_SEED,
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
    check_choice,
    check_count,
    empty_figure,
    label,
    new_figure,
    paired,
    require_columns,
    sample_note,
    sample_pairs,
    spread,
    summary,
    thousands,
)
from reinfuse.stats import median_iqr

PairedVariable = Literal["abc_cd19_pre", "abc_cd22_pre"]
#: Axis label and unit per variable.
VARIABLES: dict[str, tuple[str, str]] = {
    "abc_cd19_pre": ("CD19 antigen binding capacity", "molecules/cell"),
    "abc_cd22_pre": ("CD22 antigen binding capacity", "molecules/cell"),
}
_ANTIGENS = ("abc_cd19_pre", "abc_cd22_pre")

#: Marker shape per CAR target of the reinfused product.
TARGET_MARKERS: dict[str, str] = {"CD19": "o", "CD22": "s", "CD19/CD22": "^", "other": "D"}
_TARGET_MISSING = "P"


def paired_values(frame: pd.DataFrame, labels: Mapping[int, str], *,
                  variable: PairedVariable, max_pairs: int = MAX_PAIRS
                  ) -> tuple[Figure, dict[str, Any]]:
    """Paired ``variable`` before infusion 1 and before infusion 2, medians marked.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion).
    labels
        Infusion display names.
    variable
        ``abc_cd19_pre`` or ``abc_cd22_pre``.
    max_pairs
        Most pairs drawn (default 300). Above it, lines and markers are a seeded random
        sample of ``max_pairs`` pairs, the medians and interquartile ranges (bars) are of
        all pairs, and the caption says so (``data["sample"]``).

    Returns
    -------
    figure, data
        ``data["pairs"]`` lists each drawn patient's two values, the change, the CAR target
        and whether both CD19 and CD22 were quantified at both time points; ``n_pairs``,
        ``summary`` (n, median, range per infusion) and ``skipped`` (patients with a value
        missing, or without both infusions).

    Notes
    -----
    Only patients with both values are drawn (a paired comparison); markers with nearly
    equal values are set side by side (the horizontal position carries no data). Marker
    shape is the CAR target of the reinfused product; a filled marker flags a patient
    with both CD19 and CD22 quantified before both infusions, as the seed study's
    Figure 2C indicates.
    """
    check_choice("variable", variable, list(VARIABLES))
    check_count("max_pairs", max_pairs)
    require_columns(frame, ["patient_id", "infusion", "target", *_ANTIGENS])
    first, second = label(labels, 1), label(labels, 2)
    wide, n_without = paired(frame, ["target", *_ANTIGENS])
    v1 = pd.to_numeric(wide[f"{variable}_1"], errors="coerce")
    v2 = pd.to_numeric(wide[f"{variable}_2"], errors="coerce")
    skipped = {"missing_first": int((v1.isna() & v2.notna()).sum()),
               "missing_second": int((v1.notna() & v2.isna()).sum()),
               "missing_both": int((v1.isna() & v2.isna()).sum()),
               "not_paired": n_without}
    keep = v1.notna() & v2.notna()
    both = wide[[f"{a}_{k}" for a in _ANTIGENS for k in (1, 2)]].notna().all(axis=1)
    pairs = pd.DataFrame({
        "patient_id": wide.index[keep], "before_1": v1[keep].to_numpy(float),
        "before_2": v2[keep].to_numpy(float),
        "change": (v2 - v1)[keep].to_numpy(float),
        "target": wide.loc[keep, "target_2"].astype("string").to_numpy(object),
        "both_antigens": both[keep].to_numpy(bool)})
    name, unit = VARIABLES[variable]
    data: dict[str, Any] = {
        "variable": variable, "unit": unit, "n_pairs": len(pairs),
        "summary": {first: summary(pairs["before_1"]), second: summary(pairs["before_2"])},
        "n_increased": int((pairs["change"] > 0).sum()),
        "n_decreased": int((pairs["change"] < 0).sum()),
        "skipped": skipped, "pairs": pairs.to_dict("records"),
    }
    if pairs.empty:
        reason = f"No patient has {name} recorded before both {first} and {second}."
        return empty_figure(reason), data
    shown = sample_pairs(len(pairs), max_pairs)
    if len(shown) < len(pairs):
        data["sample"] = {"shown": len(shown), "seed": SAMPLE_SEED,
                          "caption_note": sample_note(len(shown), len(pairs))}
    return _draw(pairs, first, second, f"{name}\n({unit})", shown), data


def _draw(pairs: pd.DataFrame, first: str, second: str, axis_label: str,
          shown: np.ndarray) -> Figure:
    figure = new_figure(SINGLE_COLUMN, 2.7)
    ax = figure.add_subplot()
    all1, all2 = pairs["before_1"].to_numpy(float), pairs["before_2"].to_numpy(float)
    n = len(pairs)
    top = max(float(np.max(all1)), float(np.max(all2)), 1.0)
    sampled = len(shown) < n
    pairs = pairs.iloc[shown].reset_index(drop=True)
    y1, y2 = pairs["before_1"].to_numpy(float), pairs["before_2"].to_numpy(float)
    close = top * 0.025
    x1, x2 = spread(y1, bin_width=close, step=0.05), 1 + spread(y2, bin_width=close, step=0.05)
    # One collection for all pairs: one Line2D per patient is slow at registry scale.
    segments = np.stack([np.column_stack([x1, y1]), np.column_stack([x2, y2])], axis=1)
    ax.add_collection(LineCollection(list(segments), colors="0.45", linewidths=0.6,
                                     zorder=1))
    target = pairs["target"].fillna("__missing__")
    fills = np.where(pairs["both_antigens"].to_numpy(bool), "black", "white")
    handles: list[Any] = []
    for key in [*TARGET_MARKERS, *sorted(set(target) - {*TARGET_MARKERS, "__missing__"}),
                "__missing__"]:
        where = target.eq(key).to_numpy(bool)
        if not where.any():
            continue
        shape = TARGET_MARKERS.get(key, "D" if key != "__missing__" else _TARGET_MISSING)
        ax.scatter(np.concatenate([x1[where], x2[where]]),
                   np.concatenate([y1[where], y2[where]]), marker=shape, s=16,
                   c=np.concatenate([fills[where], fills[where]]), edgecolors="black",
                   linewidths=0.6, zorder=3, clip_on=False)
        handles.append(Line2D([], [], marker=shape, linestyle="none", markersize=4.5,
                              markerfacecolor="white", markeredgecolor="black",
                              label=f"{key} CAR" if key != "__missing__"
                              else "Target not recorded"))
    if pairs["both_antigens"].any():
        handles.append(Line2D([], [], marker="o", linestyle="none", markersize=4.5,
                              markerfacecolor="black", markeredgecolor="black",
                              label="CD19 and CD22\nboth quantified"))
    medians = [float(np.median(all1)), float(np.median(all2))]
    ax.hlines(medians, [-0.22, 0.78], [0.22, 1.22], colors="black", linewidths=1.8,
              zorder=2)
    ax.text(-0.26, medians[0], thousands(round(medians[0])), ha="right", va="center",
            fontsize=SMALL_FONT_SIZE)
    ax.text(1.26, medians[1], thousands(round(medians[1])), ha="left", va="center",
            fontsize=SMALL_FONT_SIZE)
    if sampled:  # the quartiles of all pairs, as bars beside the columns
        q = [median_iqr(all1), median_iqr(all2)]
        ax.vlines([-0.24, 1.24], [q[0].q1, q[1].q1], [q[0].q3, q[1].q3], colors="black",
                  linewidths=1.8, zorder=2)
        handles.append(Line2D([], [], color="black", linewidth=1.8,
                              label=f"Median, IQR\n(all {thousands(n)} pairs)"))
    else:
        handles.append(Line2D([], [], color="black", linewidth=1.8, label="Median"))

    ax.set_xticks([0, 1], [f"Pre-{first}\nn = {n}", f"Pre-{second}\nn = {n}"])
    ax.set_xlim(-0.7, 1.7)
    ax.set_ylim(0, top * 1.08)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: thousands(v)))
    ax.set_ylabel(axis_label)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.02),
              handlelength=1.2, handletextpad=0.5)
    return figure
