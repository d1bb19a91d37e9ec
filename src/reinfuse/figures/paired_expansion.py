"""Peak CAR T-cell expansion after the first infusion and the reinfusion (seed Figure 2A).

Each patient is a line from the peak after infusion 1 to the peak after infusion 2 on a
logarithmic axis. A peak of zero (no detectable CAR T cells) has no logarithm: such values
are drawn on a separate band labelled "0 (not detected)" below a break in the axis, never
dropped and never replaced by a small number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reinfuse.figures._common import (
    MAX_PAIRS,
    SAMPLE_SEED,
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
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

#: Marker shape per lymphodepletion class before the reinfusion (``ld_class``).
LD_MARKERS: dict[str, tuple[str, str]] = {
    "standard": ("o", "Standard"),
    "intensified": ("s", "Intensified"),
    "flag": ("^", "FLAG"),
    "none": ("D", "None"),
    "other": ("v", "Other"),
}
_LD_MISSING = ("P", "Not recorded")

#: Marker fill per objective response to the reinfusion (True / False / missing).
RESPONSE_FILLS: dict[str, tuple[str, str]] = {
    "yes": ("black", "Objective response"),
    "no": ("white", "No objective response"),
    "missing": ("0.6", "Response not recorded"),
}

ZERO_LABEL = "0 (not\ndetected)"
_COLUMNS = ("peak_car_per_ul", "objective_response", "ld_class")


def zero_band(values: pd.Series) -> tuple[int, int, float]:
    """Decades of the log axis and the position of the zero band, in log10 units.

    Returns ``(low, high, zero_y)``: the axis spans ``10**low`` to ``10**high`` (whole
    decades around the positive values) and zeros are drawn at ``zero_y = low - 0.8``,
    below a break.

    Examples
    --------
    >>> zero_band(pd.Series([0.0, 0.35, 13653.0]))
    (-1, 5, -1.8)
    >>> zero_band(pd.Series([0.0, 0.0]))
    (-1, 1, -1.8)
    """
    positive = values[values > 0]
    if positive.empty:
        low, high = -1, 1
    else:
        low = math.floor(math.log10(float(positive.min())))
        high = math.ceil(math.log10(float(positive.max())))
        high = max(high, low + 1)
    return low, high, round(low - 0.8, 6)


def paired_expansion(frame: pd.DataFrame, labels: Mapping[int, str], *,
                     max_pairs: int = MAX_PAIRS) -> tuple[Figure, dict[str, Any]]:
    """Paired peak CAR T cells per uL after infusion 1 and 2, log axis with a zero band.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion).
    labels
        Infusion display names.
    max_pairs
        Most pairs drawn (default 300). Above it, lines and markers are a seeded random
        sample of ``max_pairs`` pairs, the medians and interquartile ranges (bars) and the
        counts of zeros are of all pairs, and the caption says so (``data["sample"]``).

    Returns
    -------
    figure, data
        ``data["patients"]`` lists each drawn patient's two peaks (cells/uL), objective
        response to the reinfusion and lymphodepletion class before it; ``n_pairs``,
        ``n_per_infusion``, ``zeros`` (peaks of 0 per infusion), ``summary`` (n, median,
        range per infusion) and ``skipped`` (patients with a missing peak, or without both
        infusions).

    Notes
    -----
    Only patients with a peak recorded at both infusions are drawn. Markers with nearly
    equal values, zeros above all, are set side by side so that they stay countable (the
    horizontal position carries no data). Marker fill and
    shape describe the reinfusion, and are repeated at both ends of a patient's line.
    """
    check_count("max_pairs", max_pairs)
    require_columns(frame, ["patient_id", "infusion", *_COLUMNS])
    first, second = label(labels, 1), label(labels, 2)
    wide, n_without = paired(frame, _COLUMNS)
    v1 = pd.to_numeric(wide["peak_car_per_ul_1"], errors="coerce")
    v2 = pd.to_numeric(wide["peak_car_per_ul_2"], errors="coerce")
    skipped = {"missing_first": int((v1.isna() & v2.notna()).sum()),
               "missing_second": int((v1.notna() & v2.isna()).sum()),
               "missing_both": int((v1.isna() & v2.isna()).sum()),
               "not_paired": n_without}
    keep = v1.notna() & v2.notna()
    pairs = pd.DataFrame({
        "patient_id": wide.index[keep], "peak_1": v1[keep].to_numpy(float),
        "peak_2": v2[keep].to_numpy(float),
        "objective_response_2": wide.loc[keep, "objective_response_2"].astype("boolean")
        .to_numpy(object),
        "ld_class_2": wide.loc[keep, "ld_class_2"].astype("string").to_numpy(object)})
    pairs = pairs.sort_values("patient_id", kind="stable").reset_index(drop=True)
    n = len(pairs)

    zeros = {first: int(pairs["peak_1"].eq(0).sum()), second: int(pairs["peak_2"].eq(0).sum())}
    data: dict[str, Any] = {
        "unit": "CAR T cells per uL of blood",
        "n_pairs": n, "n_per_infusion": {first: n, second: n}, "zeros": zeros,
        "summary": {first: summary(pairs["peak_1"]), second: summary(pairs["peak_2"])},
        "skipped": skipped,
        "n_missing_response": int(pd.isna(pairs["objective_response_2"]).sum()),
        "n_missing_ld_class": int(pd.isna(pairs["ld_class_2"]).sum()),
        "axis": "log10; peaks of 0 drawn on a separate band below an axis break",
        "patients": pairs.to_dict("records"),
    }
    if n == 0:
        reason = f"No patient has a peak CAR T-cell count after both {first} and {second}."
        return empty_figure(reason), data
    shown = sample_pairs(n, max_pairs)
    if len(shown) < n:
        data["sample"] = {"shown": len(shown), "seed": SAMPLE_SEED,
                          "caption_note": sample_note(len(shown), n)}
    return _draw(pairs, first, second, shown), data


def _draw(pairs: pd.DataFrame, first: str, second: str, shown: np.ndarray) -> Figure:
    # The scale also covers a median between 0 and the smallest peak (half the values
    # zero), so its bar is drawn on the axis rather than in the break.
    medians_so_far = pd.Series([pairs["peak_1"].median(), pairs["peak_2"].median()])
    low, high, zero_y = zero_band(pd.concat([pairs["peak_1"], pairs["peak_2"],
                                             medians_so_far.dropna()]))

    def to_y(values: pd.Series) -> np.ndarray:
        v = values.to_numpy(float)
        return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), zero_y)

    figure = new_figure(SINGLE_COLUMN, 2.9)
    ax = figure.add_subplot()
    everyone = pairs
    sampled = len(shown) < len(pairs)
    pairs = pairs.iloc[shown].reset_index(drop=True)
    y1, y2 = to_y(pairs["peak_1"]), to_y(pairs["peak_2"])
    x1, x2 = 0 + spread(y1, bin_width=0.12), 1 + spread(y2, bin_width=0.12)
    ax.add_collection(LineCollection(list(np.stack([np.column_stack([x1, y1]),
                                                    np.column_stack([x2, y2])], axis=1)),
                                     colors="0.55", linewidths=0.6, zorder=1))
    medians = [everyone["peak_1"].median(), everyone["peak_2"].median()]
    ax.hlines(to_y(pd.Series(medians)), [-0.3, 0.7], [0.3, 1.3], colors="black",
              linewidths=1.8, zorder=0.5)
    if sampled:  # the quartiles of all pairs, as bars beside the columns
        q = [median_iqr(everyone[c].to_numpy(float)) for c in ("peak_1", "peak_2")]
        ax.vlines([-0.36, 1.36], to_y(pd.Series([q[0].q1, q[1].q1])),
                  to_y(pd.Series([q[0].q3, q[1].q3])), colors="black", linewidths=1.8,
                  zorder=0.5)

    response = pairs["objective_response_2"].map({True: "yes", False: "no"}).fillna("missing")
    ld = pairs["ld_class_2"].fillna("__missing__")
    headers = [f"Lymphodepletion\nbefore {second}", f"Response to {second}"]
    handles: list[Any] = [Line2D([], [], linestyle="none", label=headers[0])]
    for key, (shape, text) in [*LD_MARKERS.items(), ("__missing__", _LD_MISSING)]:
        where = ld.eq(key).to_numpy(bool)
        if not where.any():
            continue
        fills = response[where].map({k: v[0] for k, v in RESPONSE_FILLS.items()}).to_list()
        ax.scatter(np.concatenate([x1[where], x2[where]]),
                   np.concatenate([y1[where], y2[where]]), marker=shape, s=16,
                   c=fills + fills, edgecolors="black", linewidths=0.6, zorder=3,
                   clip_on=False)
        handles.append(Line2D([], [], marker=shape, linestyle="none", markersize=4.5,
                              markerfacecolor="white", markeredgecolor="black", label=text))
    unknown_ld = sorted(set(ld) - {*LD_MARKERS, "__missing__"})
    if unknown_ld:  # classes outside the schema's list still get drawn, as "other"
        where = ld.isin(unknown_ld).to_numpy(bool)
        fills = response[where].map({k: v[0] for k, v in RESPONSE_FILLS.items()}).to_list()
        ax.scatter(np.concatenate([x1[where], x2[where]]),
                   np.concatenate([y1[where], y2[where]]), marker="v", s=16,
                   c=fills + fills, edgecolors="black", linewidths=0.6, zorder=3)
    handles.append(Line2D([], [], linestyle="none", label=headers[1]))
    for key, (fill, text) in RESPONSE_FILLS.items():
        if response.eq(key).any():
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=4.5,
                                  markerfacecolor=fill, markeredgecolor="black", label=text))
    handles.append(Line2D([], [], color="black", linewidth=1.8,
                          label=f"Median, IQR\n(all {thousands(len(everyone))} pairs)"
                          if sampled else "Median"))

    for k, (x, column) in enumerate(((x1, "peak_1"), (x2, "peak_2"))):
        zero = pairs[column].eq(0).to_numpy(bool)
        n_zero = int(everyone[column].eq(0).sum())  # all pairs, drawn or not
        if n_zero:
            right = float(x[zero].max()) if zero.any() else k
            ax.text(max(right, k + 0.3) + 0.08, zero_y, f"n = {n_zero}",
                    ha="left", va="center", fontsize=SMALL_FONT_SIZE)
    if not (everyone[["peak_1", "peak_2"]] > 0).any().any():
        ax.text(0.5, 0.5, "No detectable expansion after either infusion",
                ha="center", va="center", transform=ax.transAxes, fontsize=SMALL_FONT_SIZE)

    _log_axis(ax, low, high, zero_y)
    n = len(everyone)
    ax.set_xticks([0, 1], [f"{first}\nn = {n}", f"{second}\nn = {n}"])
    ax.set_xlim(-0.5, 1.7)
    ax.set_ylabel("Peak CAR T cells per µL blood")
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.02),
                       handlelength=1.2, handletextpad=0.5)
    for entry in legend.get_texts():
        if entry.get_text() in headers:
            entry.set_fontweight("bold")
    return figure


def _log_axis(ax: Any, low: int, high: int, zero_y: float) -> None:
    """Decade ticks from ``10**low`` to ``10**high``, the zero band and the break marks."""
    top = high + 0.08
    ax.set_ylim(zero_y - 0.35, top)
    decades = np.arange(low, high + 1)
    ax.set_yticks([zero_y, *decades], [ZERO_LABEL, *(thousands(10.0 ** int(d)) for d in decades)])
    minor = np.log10(np.outer(10.0 ** decades[:-1], np.arange(2, 10)).ravel())
    ax.set_yticks(minor, minor=True)
    ax.spines["left"].set_bounds(low, top)
    axis = ax.get_yaxis_transform()
    ax.plot([0, 0], [zero_y - 0.2, zero_y + 0.2], transform=axis, color="black",
            linewidth=0.6, clip_on=False)
    ax.plot([0, 0], [zero_y + 0.2, low], transform=axis, linestyle="none",
            marker=[(-1, -0.5), (1, 0.5)], markersize=6, color="black", markeredgewidth=0.7,
            clip_on=False)
    ax.axhline(zero_y + (low - zero_y) / 2, color="0.8", linewidth=0.5, linestyle=(0, (2, 2)),
               zorder=0)
