"""Best response to the first infusion and to the reinfusion, patient by patient.

The seed study's Figure 1B/C as a tile chart: one row per reinfused patient, one tile for
each infusion's best marrow response, and the indication for the reinfusion written beside.
Rows are sorted by the response to the reinfusion, then to the first infusion (CR first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reinfuse.figures._common import (
    SINGLE_COLUMN,
    SMALL_FONT_SIZE,
    empty_figure,
    label,
    new_figure,
    paired,
    require_columns,
)

#: Response codes from best to worst (the order rows are sorted in).
RESPONSES = ("CR", "CRi", "PR", "SD", "PD", "NE")

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
_MISSING_TILE = ("white", "", "0.4")
MISSING_CODE = "–"

#: How each reinfusion indication is written in the figure.
INDICATIONS = {"persistent_disease": "Persistent", "relapse": "Relapse",
               "relapse_prevention": "Prevention"}

_COLUMNS = ("best_response", "complete_response", "indication")


def response_by_infusion(frame: pd.DataFrame, labels: Mapping[int, str]
                         ) -> tuple[Figure, dict[str, Any]]:
    """Tile chart of the best response to infusion 1 and 2 of each reinfused patient.

    Parameters
    ----------
    frame
        The analysis frame (one row per infusion). Patients without both infusion 1 and
        infusion 2 are left out and counted (``n_not_paired``).
    labels
        Infusion display names (``{1: "CART1", 2: "CART2"}``).

    Returns
    -------
    figure, data
        ``data`` holds the patients in drawing order (top to bottom) with both responses
        and the indication, the counts of each response per infusion (missing ones as
        ``"missing"``), and the CR groups of Figure 1C (CR with both infusions, with the
        first or the second only, with neither; ``unknown`` when a response is missing).

    Notes
    -----
    Tiles encode the response three ways (grey level, hatching, text code) so the chart
    reads in greyscale; a missing response is an empty tile with a dash, not a gap.
    """
    require_columns(frame, ["patient_id", "infusion", *_COLUMNS])
    wide, n_without = paired(frame, _COLUMNS)
    first, second = label(labels, 1), label(labels, 2)
    base: dict[str, Any] = {"n_patients": len(wide), "n_not_paired": n_without,
                            "responses": list(RESPONSES)}
    if wide.empty:
        reason = f"No patient in this population has both {first} and {second}."
        return empty_figure(reason), {**base, "patients": [], "order": [], "counts": {},
                                      "cr_groups": {}, "n_missing": {first: 0, second: 0}}

    rank = {code: i for i, code in enumerate(RESPONSES)}
    r1 = wide["best_response_1"].astype("string")
    r2 = wide["best_response_2"].astype("string")
    keys = pd.DataFrame({"r2": r2.map(rank).astype("float"), "r1": r1.map(rank).astype("float"),
                         "patient": wide.index}, index=wide.index)
    keys = keys.sort_values(["r2", "r1", "patient"], na_position="last", kind="stable")
    wide = wide.loc[keys.index]
    r1, r2 = r1.loc[keys.index], r2.loc[keys.index]
    indication = wide["indication_2"].astype("string")

    figure = _draw(wide.index.to_list(), r1, r2, indication, first, second)

    cr1 = wide["complete_response_1"].astype("boolean")
    cr2 = wide["complete_response_2"].astype("boolean")
    groups = pd.Series(np.select(
        [(cr1.isna() | cr2.isna()).to_numpy(bool), (cr1 & cr2).fillna(False).to_numpy(bool),
         (cr1 & ~cr2).fillna(False).to_numpy(bool), (~cr1 & cr2).fillna(False).to_numpy(bool)],
        ["unknown", "both", "first_only", "second_only"], default="neither"), index=wide.index)
    data = {
        **base,
        "order": wide.index.to_list(),
        "patients": pd.DataFrame({
            "patient_id": wide.index, "best_response_1": r1.to_numpy(),
            "best_response_2": r2.to_numpy(), "indication": indication.to_numpy(),
            "cr_group": groups.to_numpy()}).to_dict("records"),
        "counts": {first: _counts(r1), second: _counts(r2)},
        "cr_groups": {g: int(groups.eq(g).sum()) for g in
                      ("both", "first_only", "second_only", "neither", "unknown")},
        "n_missing": {first: int(r1.isna().sum()), second: int(r2.isna().sum())},
        "n_indication_missing": int(indication.isna().sum()),
    }
    return figure, data


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
