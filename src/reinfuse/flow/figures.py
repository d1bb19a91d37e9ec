"""Overlaid per-cell ABC histograms of one patient's samples (like the seed study's
Figure 2D-F: before the first infusion, before the reinfusion, after it)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.figure import Figure

from reinfuse.errors import FlowError
from reinfuse.flow.batch import HIST_EDGES, SampleResult

__all__ = ["antigen_histograms", "sample_label"]

_ORDER = {"pre": 0, "post": 1}


def sample_label(result: SampleResult) -> str:
    """``pre CART1``, ``after CART2``... for a sample."""
    when = "pre" if result.timepoint == "pre" else "after"
    return f"{when} CART{result.infusion}"


def antigen_histograms(results: Iterable[SampleResult], patient_id: str, antigen: str,
                       ) -> Figure:
    """One panel: the patient's ``antigen`` samples as overlaid histograms of per-cell ABC.

    Each curve is the fraction of the sample's blasts per bin of log10 ABC (denominator:
    its gated blasts with positive fluorescence, stated in the legend with the population
    ABC). Failed samples are left out and named in the legend as not available.

    Raises
    ------
    FlowError
        The patient has no sample of that antigen.
    """
    mine = sorted((r for r in results if r.patient_id == patient_id and r.antigen == antigen),
                  key=lambda r: (r.infusion, _ORDER.get(r.timepoint, 2)))
    if not mine:
        raise FlowError(f"no {antigen} samples for patient {patient_id!r}")
    fig = Figure(figsize=(3.5, 2.4), layout="constrained")
    ax = fig.add_subplot()
    centers = 10 ** ((HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2)
    for r in mine:
        if r.status != "ok" or not r.histogram:
            ax.plot([], [], ls="none", label=f"{sample_label(r)}: not available")
            continue
        h = np.asarray(r.histogram, dtype=float)
        total = h.sum()
        y = h / total if total else h
        ax.step(centers, y, where="mid",
                label=f"{sample_label(r)}: ABC {r.abc:,.0f} (n = {int(total):,})")
    ax.set_xscale("log")
    ax.set_xlim(10, 10 ** 6)
    ax.set_xlabel(f"{antigen} ABC (molecules per blast)")
    ax.set_ylabel("fraction of blasts")
    ax.set_title(f"Patient {patient_id}", parse_math=False, fontsize=9)
    leg = ax.legend(fontsize=6, frameon=False)
    for text in leg.get_texts():
        text.set_parse_math(False)
    return fig
