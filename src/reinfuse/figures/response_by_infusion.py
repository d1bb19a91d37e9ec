"""Best response to the first infusion and to the reinfusion, patient by patient.

The seed study's Figure 1B/C as a tile chart: one row per reinfused patient, one tile for
each infusion's best marrow response, and the indication for the reinfusion written beside.
Rows are sorted by the response to the reinfusion, then to the first infusion (CR first).

A registry-sized cohort has too many patients for one row each: above ``max_patients``
the figure becomes a grid of counts instead, the response to the first infusion (rows) by
the response to the reinfusion (columns), each cell the number of patients and their
share of all patients, shaded by count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reinfuse.figures._common import (
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
    check_count,
    empty_figure,
    label,
    new_figure,
    paired,
    require_columns,
    thousands,
)
from reinfuse.vocabulary import RESPONSE_CODES

#: Response codes from best to worst (the order rows are sorted in).
RESPONSES = RESPONSE_CODES

#: Tile look per response: fill (grey level), hatch, text colour. The fill darkens with a
#: better response and the hatching tells the middle greys apart in black and white.
TILES: dict[str, tuple[str, str, str]] = {
    "CR": ("0.05", "", "white"),
    "CRi": ("0.35", "", "white"),
    "PR": ("0.62", "////", "black"),
    "SD": ("0.84", "....", "black"),
    "PD": ("white", "xxxx", "black"),
    "NE": ("white", "", "black"),
}
_MISSING_TILE = ("0.93", "", "0.4")  # light grey: told apart from NE (white)
MISSING_CODE = "–"

#: How each reinfusion indication is written in the figure.
INDICATIONS = {"persistent_disease": "Persistent", "relapse": "Relapse",
               "relapse_prevention": "Prevention"}

_COLUMNS = ("best_response", "complete_response", "indication")

#: Size (inches) of the aggregated chart, whatever the number of patients.
AGGREGATE_SIZE = (SINGLE_COLUMN, 3.4)

#: Grey ramp of the aggregated chart: white for no patient to near black for the most.
_SHADES = LinearSegmentedColormap.from_list("reinfuse_counts", ["white", "0.12"])


def response_by_infusion(frame: pd.DataFrame, labels: Mapping[int, str], *,
                         max_patients: int = 60) -> tuple[Figure, dict[str, Any]]:
    """Best response to infusion 1 and 2: per patient, or aggregated for a large cohort.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion). Patients without both infusion 1 and
        infusion 2 are left out and counted (``n_not_paired``).
    labels
        Infusion display names (``{1: "CART1", 2: "CART2"}``).
    max_patients
        The most patients drawn one row each (60 by default, about a page). With more,
        the figure is the aggregated grid of counts (``data["mode"] == "aggregate"``).

    Returns
    -------
    figure, data
        ``data["mode"]`` is ``"patients"`` or ``"aggregate"``. Both modes hold the counts
        of each response per infusion (missing ones as ``"missing"``), the indications for
        infusion 2, and the CR groups of Figure 1C (CR with both infusions, with the first
        or the second only, with neither; ``unknown`` when a response is missing).
        ``"patients"`` adds the patients in drawing order (top to bottom) with both
        responses and the indication; ``"aggregate"`` adds ``matrix``: the response
        categories of the rows (infusion 1) and columns (infusion 2) and the count and
        percentage (of all ``n_patients``) of each cell, ``counts[i][j]`` being the
        patients with ``rows[i]`` after infusion 1 and ``columns[j]`` after infusion 2.

    Notes
    -----
    Tiles encode the response three ways (grey level, hatching, text code) so the chart
    reads in greyscale; a missing response is an empty tile with a dash, not a gap. The
    aggregated grid lists the six response codes in order on both axes (so the diagonal
    is "same response twice"), then any other code found and ``missing`` if a response is
    missing; the "All" row and column are the totals per infusion.
    """
    check_count("max_patients", max_patients)
    require_columns(frame, ["patient_id", "infusion", *_COLUMNS])
    wide, n_without = paired(frame, _COLUMNS)
    first, second = label(labels, 1), label(labels, 2)
    aggregate = len(wide) > max_patients
    base: dict[str, Any] = {"mode": "aggregate" if aggregate else "patients",
                            "max_patients": max_patients, "n_patients": len(wide),
                            "n_not_paired": n_without, "responses": list(RESPONSES)}
    if wide.empty:
        reason = f"No patient in this population has both {first} and {second}."
        return empty_figure(reason), {**base, "patients": [], "order": [], "counts": {},
                                      "cr_groups": {}, "n_missing": {first: 0, second: 0},
                                      "indications": {}}

    r1 = wide["best_response_1"].astype("string")
    r2 = wide["best_response_2"].astype("string")
    indication = wide["indication_2"].astype("string")
    groups = _cr_groups(wide["complete_response_1"].astype("boolean"),
                        wide["complete_response_2"].astype("boolean"))
    summary = {
        "counts": {first: _counts(r1), second: _counts(r2)},
        "cr_groups": {g: int(groups.eq(g).sum()) for g in
                      ("both", "first_only", "second_only", "neither", "unknown")},
        "n_missing": {first: int(r1.isna().sum()), second: int(r2.isna().sum())},
        "n_indication_missing": int(indication.isna().sum()),
        "indications": _indications(indication),
    }

    if aggregate:
        rows, columns, counts = _transitions(r1, r2)
        total = len(wide)
        percent = np.round(100 * counts / total, 1)
        figure = _draw_matrix(rows, columns, counts, first, second)
        return figure, {**base, **summary, "matrix": {
            "rows": rows, "columns": columns, "row_infusion": first, "column_infusion": second,
            "counts": counts.tolist(), "percent": percent.tolist()}}

    rank = {code: i for i, code in enumerate(RESPONSES)}
    keys = pd.DataFrame({"r2": r2.map(rank).astype("float"), "r1": r1.map(rank).astype("float"),
                         "patient": wide.index}, index=wide.index)
    order = keys.sort_values(["r2", "r1", "patient"], na_position="last", kind="stable").index
    r1, r2 = r1.loc[order], r2.loc[order]
    indication, groups = indication.loc[order], groups.loc[order]
    figure = _draw(order.to_list(), r1, r2, indication, first, second)
    data = {
        **base,
        "order": order.to_list(),
        "patients": pd.DataFrame({
            "patient_id": order, "best_response_1": r1.to_numpy(),
            "best_response_2": r2.to_numpy(), "indication": indication.to_numpy(),
            "cr_group": groups.to_numpy()}).to_dict("records"),
        **summary,
    }
    return figure, data


def _cr_groups(cr1: pd.Series, cr2: pd.Series) -> pd.Series:
    """CR group of each patient: both, first_only, second_only, neither or unknown."""
    return pd.Series(np.select(
        [(cr1.isna() | cr2.isna()).to_numpy(bool), (cr1 & cr2).fillna(False).to_numpy(bool),
         (cr1 & ~cr2).fillna(False).to_numpy(bool), (~cr1 & cr2).fillna(False).to_numpy(bool)],
        ["unknown", "both", "first_only", "second_only"], default="neither"), index=cr1.index)


def _indications(indication: pd.Series) -> dict[str, int]:
    counts = indication.fillna("missing").value_counts()
    order = [*INDICATIONS, *sorted(set(counts.index) - {*INDICATIONS, "missing"}), "missing"]
    return {key: int(counts.get(key, 0)) for key in order if key in counts.index}


def _transitions(r1: pd.Series, r2: pd.Series) -> tuple[list[str], list[str], np.ndarray]:
    """Response categories of the rows (``r1``) and columns (``r2``) and the count matrix.

    Both axes list the six codes of :data:`RESPONSES`, then any other code seen at either
    infusion, then ``missing`` if a response is missing at that infusion.
    """
    extras = sorted((set(r1.dropna().unique()) | set(r2.dropna().unique())) - set(RESPONSES))
    codes = [*RESPONSES, *extras]
    rows = [*codes, *(["missing"] if r1.isna().any() else [])]
    columns = [*codes, *(["missing"] if r2.isna().any() else [])]
    i = pd.Categorical(r1.fillna("missing"), categories=rows).codes.astype(np.int64)
    j = pd.Categorical(r2.fillna("missing"), categories=columns).codes.astype(np.int64)
    counts = np.bincount(i * len(columns) + j, minlength=len(rows) * len(columns))
    return rows, columns, counts.reshape(len(rows), len(columns))


def _share(n: int, total: int) -> str:
    """``n`` of ``total`` as a percentage for a cell (``12.3%``, ``<0.1%``)."""
    percent = 100 * n / total
    return "<0.1%" if 0 < percent < 0.05 else f"{percent:.1f}%"


def _draw_matrix(rows: list[str], columns: list[str], counts: np.ndarray, first: str,
                 second: str) -> Figure:
    total = int(counts.sum())
    n_rows, n_columns = counts.shape
    figure = new_figure(*AGGREGATE_SIZE)
    ax = figure.add_subplot()
    peak = max(int(counts.max()), 1)
    ax.pcolormesh(np.arange(n_columns + 1) - 0.5, np.arange(n_rows + 1) - 0.5, counts,
                  cmap=_SHADES, vmin=0, vmax=peak, edgecolors="0.55", linewidth=0.4)
    # Totals per infusion: an unshaded "All" column and row.
    row_totals, column_totals = counts.sum(axis=1), counts.sum(axis=0)
    cells = [(float(j), float(i), int(counts[i, j]), _SHADES(counts[i, j] / peak)[0])
             for i in range(n_rows) for j in range(n_columns)]
    cells += [(float(n_columns), float(i), int(n), 1.0) for i, n in enumerate(row_totals)]
    cells += [(float(j), float(n_rows), int(n), 1.0) for j, n in enumerate(column_totals)]
    cells.append((float(n_columns), float(n_rows), total, 1.0))
    for x, y, n, shade in cells:
        text = f"{thousands(n)}\n({_share(n, total)})" if n else "0"
        colour = "white" if shade < 0.5 else ("black" if n else "0.55")
        ax.text(x, y, text, ha="center", va="center", color=colour, fontsize=SMALL_FONT_SIZE,
                linespacing=1.05)
    ax.axvline(n_columns - 0.5, color="black", linewidth=0.6)
    ax.axhline(n_rows - 0.5, color="black", linewidth=0.6)
    ax.set_xlim(-0.5, n_columns + 0.5)
    ax.set_ylim(n_rows + 0.5, -0.5)
    ax.set_xticks(np.arange(n_columns + 1), [*columns, "All"])
    ax.set_yticks(np.arange(n_rows + 1), [*rows, "All"])
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(f"Best response to {second}")
    ax.set_ylabel(f"Best response to {first}")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"Aggregated over {thousands(total)} patients (too many to show one by "
                 f"one)\ncell: patients (% of all {thousands(total)})", loc="left",
                 fontsize=SMALL_FONT_SIZE, pad=4)
    return figure


def _counts(responses: pd.Series) -> dict[str, int]:
    counts = responses.fillna("missing").value_counts()
    order = [*RESPONSES, *sorted(set(counts.index) - {*RESPONSES, "missing"}), "missing"]
    return {code: int(counts.get(code, 0)) for code in order if code in counts.index}


def _draw(patients: list[str], r1: pd.Series, r2: pd.Series, indication: pd.Series,
          first: str, second: str) -> Figure:
    n = len(patients)
    figure = new_figure(SINGLE_COLUMN, max(1.7, 0.16 * n + 0.75))
    ax = figure.add_subplot()
    rows = np.arange(n)
    present: set[str] = set()
    for column, responses in enumerate((r1, r2)):
        codes = responses.fillna(MISSING_CODE).to_numpy(dtype=object)
        for code in pd.unique(codes):
            where = codes == code
            fill, hatch, text_colour = (_MISSING_TILE if code == MISSING_CODE
                                        else TILES.get(code, ("white", "", "black")))
            present.add(code)
            ax.bar(np.full(where.sum(), column), 0.84, width=0.88, bottom=rows[where] - 0.42,
                   color=fill, hatch=hatch or None, edgecolor="black", linewidth=0.5,
                   hatchcolor="0.35" if fill == "white" else "black")
            box = ({"boxstyle": "square,pad=0.15", "facecolor": fill, "edgecolor": "none"}
                   if hatch else None)
            for row in rows[where]:
                ax.text(column, float(row), code, ha="center", va="center", color=text_colour,
                        fontsize=SMALL_FONT_SIZE, bbox=box)
    words = indication.map(INDICATIONS).fillna(indication).fillna(MISSING_CODE)
    for row, word in zip(rows, words, strict=True):
        ax.text(2.25, float(row), word, ha="center", va="center", fontsize=SMALL_FONT_SIZE)

    ax.set_xlim(-0.5, 2.95)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xticks([0, 1, 2.25], [first, second, f"Indication\nfor {second}"])
    ax.xaxis.tick_top()
    ax.set_yticks(rows, patients)
    ax.set_ylabel("Patient")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    handles = []
    for code in [*RESPONSES, *sorted(present - {*RESPONSES, MISSING_CODE}), MISSING_CODE]:
        if code not in present:
            continue
        fill, hatch, _ = (_MISSING_TILE if code == MISSING_CODE
                          else TILES.get(code, ("white", "", "black")))
        handles.append(Patch(facecolor=fill, hatch=hatch or None, edgecolor="black",
                             linewidth=0.5, label="missing" if code == MISSING_CODE else code))
    ax.legend(handles=handles, title="Best response", loc="upper left",
              bbox_to_anchor=(1.0, 1.0), handlelength=1.6, handleheight=1.2)
    return figure
