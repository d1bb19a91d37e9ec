"""Overlaid per-cell ABC histograms of one patient's samples (like the seed study's
Figure 2D-F: before the first infusion, before the reinfusion, after it)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from reinfuse.errors import FlowError
from reinfuse.flow.batch import HIST_EDGES, SampleResult

__all__ = ["antigen_histograms", "sample_label"]

_ORDER = {"pre": 0, "post": 1}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade(value: float, _position: int) -> str:
    """``10³`` for 1000 (Unicode superscripts, no mathtext)."""
    if value <= 0:
        return ""
    return "10" + str(round(np.log10(value))).translate(_SUPERSCRIPT)


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
    fig = Figure(figsize=(5.2, 2.4), layout="constrained")
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
    # Decades as plain text (10¹ ... 10⁶): reports draw every string literally, without
    # mathtext, so the default log labels ($10^{1}$) would print as code.
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(_decade))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{antigen} ABC (molecules per blast)")
    ax.set_ylabel("fraction of blasts")
    ax.set_title(f"Patient {patient_id}", parse_math=False, fontsize=9)
    leg = ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    for text in leg.get_texts():
        text.set_parse_math(False)
    return fig
