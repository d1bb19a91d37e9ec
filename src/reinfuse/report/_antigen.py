"""The report's antigen density section: per-sample QC table and overlaid histograms.

Drawn from what the measurement step computed (:class:`reinfuse.flow.measure.
AntigenMeasurement`, carried by the analysis frame); nothing is re-measured here. Like the
seed study's Figure 2D-F, each histogram overlays one patient's samples of one antigen
(before the first infusion, before the reinfusion, after it).
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import pandas as pd

from reinfuse.figures import FigureResult, save_figure
from reinfuse.flow.batch import HIST_EDGES, SampleResult, qc_table
from reinfuse.flow.figures import antigen_histograms, sample_label
from reinfuse.flow.measure import AntigenMeasurement

__all__ = ["HISTOGRAM_PATIENTS_MAX", "QC_ROWS_MAX", "SECTION", "antigen_payload",
           "antigen_section"]

SECTION = "Antigen density from flow cytometry files"
#: At most this many patients get histograms in the report (those with the most measured
#: samples of one antigen first, then by id); results.json carries every sample's histogram.
HISTOGRAM_PATIENTS_MAX = 24
#: At most this many samples are printed in the QC table (failed and flagged first);
#: tables/antigen_qc.csv lists every one.
QC_ROWS_MAX = 200

_COLUMNS = ("Status", "Blasts, n", "ABC", "Negative, %", "Dim, %", "Bead R²", "Bead slope")
#: Flag and failure notes printed under the QC table (the rest: tables/antigen_qc.csv).
NOTES_MAX = 50


def _number(value: float, digits: int = 0, scale: float = 1.0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * scale:,.{digits}f}"


def _label(s: SampleResult) -> str:
    return f"{s.patient_id} {s.antigen}, {sample_label(s)}"


def _row(s: SampleResult) -> dict[str, Any]:
    """One sample's line; a flagged or failed sample is marked * and explained in a note."""
    if s.status != "ok":
        cells = ["failed*", "—", "—", "—", "—", "—", "—"]
    else:
        mark = "*" if s.flags else ""
        cells = [(s.antigen_status or "—") + mark, f"{s.n_blasts:,}", _number(s.abc),
                 _number(s.fraction_negative, 1, 100), _number(s.fraction_dim, 1, 100),
                 _number(s.bead_r2, 3), _number(s.bead_slope, 2)]
    return {"label": _label(s), "indent": 0, "header": False, "cells": cells}


def _sample_notes(shown: list[SampleResult]) -> list[str]:
    marked = [s for s in shown if s.status != "ok" or s.flags]
    notes = [f"* {_label(s)}: " + (f"failed: {s.error}" if s.status != "ok" else s.flags)
             + "." for s in marked[:NOTES_MAX]]
    if len(marked) > NOTES_MAX:
        notes.append(f"... and {len(marked) - NOTES_MAX} more flagged or failed samples "
                     "(tables/antigen_qc.csv).")
    return notes


def _shown(samples: tuple[SampleResult, ...]) -> list[SampleResult]:
    """Failed and flagged samples first, then the rest, in sheet-row order, up to the cap."""
    ordered = sorted(samples, key=lambda s: (s.status == "ok" and not s.flags, s.row))
    return sorted(ordered[:QC_ROWS_MAX], key=lambda s: s.row)


def _histogram_panels(samples: tuple[SampleResult, ...]) -> list[tuple[str, str]]:
    """(patient, antigen) panels to draw: those with a measured sample, most samples first."""
    ok = pd.DataFrame([(s.patient_id, s.antigen) for s in samples if s.status == "ok"],
                      columns=["patient_id", "antigen"])
    if ok.empty:
        return []
    counts = ok.value_counts().rename("n").reset_index()
    most = counts.groupby("patient_id")["n"].max().sort_index(kind="stable")
    patients = most.sort_values(ascending=False, kind="stable").index[:HISTOGRAM_PATIENTS_MAX]
    keep = counts[counts["patient_id"].isin(patients)]
    return sorted(zip(keep["patient_id"], keep["antigen"], strict=True))


def antigen_section(measurement: AntigenMeasurement, folder: Path
                    ) -> tuple[list[dict[str, Any]], pd.DataFrame, list[FigureResult]]:
    """The section's report items, the full QC table and the histogram figures.

    Histograms are written into ``folder`` (PNG and SVG, no creation date) as
    ``antigen-<antigen>-<n>.png``, ``n`` numbering the patients drawn in sorted order.
    """
    samples = measurement.samples
    items: list[dict[str, Any]] = []
    shown = _shown(samples)
    n_failed = sum(s.status != "ok" for s in samples)
    n_flagged = sum(s.status == "ok" and bool(s.flags) for s in samples)
    o = measurement.options
    notes = [
        f"{len(samples)} sample(s): {len(samples) - n_failed} measured ({n_flagged} "
        f"flagged), {n_failed} failed. ABC, antigen binding capacity (molecules per cell; "
        f"{o.antigen_statistic.replace('_', ' ')} of the gated blasts through the sample's "
        f"QuantiBRITE fit). Negative: blasts below {o.antigen_negative_below:,.0f}; dim: "
        f"{o.antigen_negative_below:,.0f} to {o.antigen_dim_below:,.0f} (denominator: all "
        "gated blasts). Status: negative when at least "
        f"{o.antigen_negative_majority:.0%} of blasts are negative, dim when the ABC is "
        f"below {o.antigen_dim_below:,.0f}. Flags: fewer than {o.antigen_min_blasts} blasts, "
        "fluorescence outside the bead range, bead fit R² below 0.98 or slope outside "
        "0.8-1.2; * flagged or failed, explained below. —, not measured."]
    notes += _sample_notes(shown)
    if len(shown) < len(samples):
        notes.append(f"{len(shown)} of {len(samples)} samples printed (failed and flagged "
                     "first); tables/antigen_qc.csv lists all of them.")
    items.append({"kind": "table", "id": "antigen_qc",
                  "title": "Antigen density: quality control of each flow cytometry sample",
                  "columns": _COLUMNS, "row_header": "Sample",
                  "rows": [_row(s) for s in shown], "notes": notes})

    figures: list[FigureResult] = []
    panels = _histogram_panels(samples)
    patients = sorted({p for p, _ in panels})
    number = {p: i + 1 for i, p in enumerate(patients)}
    for patient, antigen in panels:
        figure = antigen_histograms(samples, patient, antigen)
        result = FigureResult(
            id=f"antigen-{antigen}-{number[patient]:03d}",
            title=f"{antigen} antigen density of the blasts of patient {patient}",
            caption=("Per-blast ABC of each sample, as the fraction of the sample's blasts "
                     "per bin of log10 ABC (bins of 0.05 decade); legend: sample, its ABC and "
                     "the number of blasts with positive fluorescence."),
            figure=figure, data={"patient_id": patient, "antigen": antigen})
        save_figure(result, folder)
        png = (folder / f"{result.id}.png").read_bytes()
        items.append({"kind": "figure", "id": result.id, "title": result.title,
                      "caption": result.caption,
                      "png": base64.b64encode(png).decode("ascii")})
        figures.append(result)
    n_patients = len({s.patient_id for s in samples if s.status == "ok"})
    if n_patients > len(patients):
        items.append({"kind": "omitted", "of": "figure", "id": "antigen-histograms",
                      "title": "Antigen density histograms",
                      "text": f"Histograms of {len(patients)} of {n_patients} patients with a "
                              "measured sample are shown (most samples first); results.json "
                              "holds every sample's histogram."})
    return items, qc_table(samples), figures


def antigen_payload(measurement: AntigenMeasurement) -> dict[str, Any]:
    """results.json's ``antigen_samples``: every sample's numbers, QC and histogram counts
    (bins of log10 ABC with the edges given), and the definitions used."""
    o = measurement.options
    return {"histogram_bins_log10": [float(x) for x in HIST_EDGES],
            "definitions": {k: v for k, v in o.to_dict().items() if k.startswith("antigen_")},
            "samples": measurement.to_records()}
