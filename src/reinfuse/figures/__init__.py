"""Figures of a reinfusion study, one function per figure kind.

An analysis plan's ``[[figures]]`` entry names a ``kind`` (a key of :data:`FIGURE_KINDS`)
and its parameters; :func:`make_figure` draws it from the analysis frame and returns the
figure with the numbers it plots (:class:`FigureResult`), and :func:`save_figure` writes
it as PNG (300 dpi) and SVG.

Every kind is a function ``kind(frame, labels, **params) -> (Figure, data)``; its
keyword-only parameters are the plan parameters it accepts, and those without a default
are required. Figures use matplotlib's object API on an Agg canvas (no pyplot), journal
sizes (3.5 in single column, 7 in double column), 7 pt text and greyscale-safe encodings.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from reinfuse.errors import PlanError
from reinfuse.figures._common import empty_reason, plain, style
from reinfuse.figures.grade_distribution import grade_distribution
from reinfuse.figures.kaplan_meier import (
    KaplanMeierCurves,
    draw_kaplan_meier,
    kaplan_meier,
    kaplan_meier_curves,
)
from reinfuse.figures.paired_expansion import paired_expansion
from reinfuse.figures.paired_values import paired_values
from reinfuse.figures.response_by_infusion import response_by_infusion
from reinfuse.figures.swimmer import swimmer
from reinfuse.figures.swimmer_course import swimmer_course
from reinfuse.plan import FigureSpec

__all__ = ["DPI", "FIGURE_KINDS", "FigureResult", "KaplanMeierCurves", "figure_estimates",
           "fill_placeholders", "kind_parameters", "make_figure", "save_figure"]

#: Resolution of the PNG files.
DPI = 300

#: Figure kinds by name: ``kind(frame, labels, **params) -> (Figure, data)``.
FIGURE_KINDS: dict[str, Callable[..., tuple[Figure, dict[str, Any]]]] = {
    "response_by_infusion": response_by_infusion,
    "grade_distribution": grade_distribution,
    "swimmer": swimmer,
    "swimmer_course": swimmer_course,
    "paired_expansion": paired_expansion,
    "paired_values": paired_values,
    "kaplan_meier": kaplan_meier,
}


@dataclass(frozen=True)
class FigureResult:
    """A drawn figure with the numbers behind it.

    Attributes
    ----------
    id, title, caption
        From the plan, with ``{label1}``-style placeholders filled.
    figure
        The matplotlib figure (Agg canvas).
    data
        JSON-ready plain Python: the plotted numbers, per patient where a mark stands for a
        patient, the counts of skipped (missing) values and the denominators.
    empty
        Why there is nothing to plot (no patient has the data), or ``""``: a report leaves
        the figure out and prints this reason instead.
    """

    id: str
    title: str
    caption: str
    figure: Figure
    data: dict[str, Any]
    empty: str = ""


def kind_parameters(kind: str) -> tuple[dict[str, Any], list[str]]:
    """The plan parameters a kind accepts (name -> default) and those it requires.

    Examples
    --------
    >>> kind_parameters("swimmer")
    ({'infusion': 2, 'sort': 'remission', 'max_lanes': 40}, [])
    >>> kind_parameters("swimmer_course")  # doctest: +NORMALIZE_WHITESPACE
    ({'origin': 'first', 'infusion': 2, 'sort': 'followup', 'stratify': None,
      'max_lanes': 40, 'severe_crs': 3, 'time_unit': 'days'}, [])
    >>> kind_parameters("paired_values")[1]
    ['variable']
    """
    signature = inspect.signature(FIGURE_KINDS[kind])
    accepted = {name: p.default for name, p in signature.parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    required = [name for name, default in accepted.items() if default is inspect.Parameter.empty]
    return {k: v for k, v in accepted.items() if k not in required}, required


def fill_placeholders(text: str, labels: Mapping[int, str]) -> str:
    """Replace ``{label1}``, ``{label2}``... by infusion names; others stay as written.

    An infusion without a name becomes ``infusion N``.

    Examples
    --------
    >>> fill_placeholders("{label1} vs {label2} ({label3}, {other})", {1: "CART1", 2: "CART2"})
    'CART1 vs CART2 (infusion 3, {other})'
    """
    return re.sub(r"\{label(\d+)\}",
                  lambda m: labels.get(int(m.group(1)), f"infusion {m.group(1)}"), text)


def _checked_params(spec: FigureSpec) -> dict[str, Any]:
    """The plan parameters of a figure entry, checked against its kind."""
    where = f"figure '{spec.id}' (kind '{spec.kind}')"
    if spec.kind not in FIGURE_KINDS:
        raise PlanError(f"figure '{spec.id}': unknown kind '{spec.kind}'; allowed kinds: "
                        f"{', '.join(FIGURE_KINDS)}.")
    optional, required = kind_parameters(spec.kind)
    allowed = [*required, *optional]
    described = ", ".join([*(f"{p} (required)" for p in required),
                           *(f"{p} (default {v!r})" for p, v in optional.items())]) or "none"
    params = dict(spec.params)
    missing = [p for p in required if p not in params]
    if missing:
        raise PlanError(f"{where}: missing parameter(s) {', '.join(missing)}; parameters of "
                        f"this kind: {described}.")
    unknown = sorted(p for p in params if p not in allowed)
    if unknown:
        raise PlanError(f"{where}: unknown parameter(s) {', '.join(unknown)}; parameters of "
                        f"this kind: {described}.")
    return params


def figure_estimates(frame: pd.DataFrame, spec: FigureSpec, labels: Mapping[int, str]
                     ) -> KaplanMeierCurves | None:
    """The estimates a figure draws, for the kinds that draw estimates (``kaplan_meier``).

    The analyze stage computes them (``Results.figure_estimates``) and :func:`make_figure`
    draws them, so a figure never estimates again what the analysis estimated. None for
    the kinds that draw the patients' own values (swimmer lanes, paired lines, bars).

    Raises
    ------
    PlanError
        As :func:`make_figure`.
    """
    if spec.kind != "kaplan_meier":
        return None
    params = _checked_params(spec)
    params.pop("median_line", None)
    try:
        return kaplan_meier_curves(frame, labels, **params)
    except PlanError as exc:
        raise PlanError(f"figure '{spec.id}' (kind '{spec.kind}'): {exc}") from exc


def make_figure(frame: pd.DataFrame, spec: FigureSpec, labels: Mapping[int, str],
                estimates: KaplanMeierCurves | None = None) -> FigureResult:
    """Draw the figure a plan entry describes.

    Parameters
    ----------
    frame
        The analysis frame of the plan's population (``reinfuse.derive.derive``), one row
        per infusion.
    spec
        The plan's figure entry: ``kind`` picks the function, ``params`` its arguments.
    labels
        Infusion display names (``{1: "CART1", 2: "CART2"}``).
    estimates
        The estimates the analysis made for this figure (:func:`figure_estimates`): they
        are drawn as they are, not estimated again.

    Returns
    -------
    FigureResult

    Raises
    ------
    PlanError
        Unknown kind, missing or unknown parameter, a parameter value not allowed, or a
        column the figure needs missing from the frame; the message names the figure id,
        the kind and what is allowed.
    """
    where = f"figure '{spec.id}' (kind '{spec.kind}')"
    params = _checked_params(spec)
    try:
        with style():
            if estimates is not None:
                median_line = params.get("median_line", False)
                if not isinstance(median_line, bool):
                    raise PlanError(f"parameter 'median_line' is {median_line!r}; use true "
                                    "or false.")
                figure, data = draw_kaplan_meier(estimates, median_line=median_line)
            else:
                figure, data = FIGURE_KINDS[spec.kind](frame, labels, **params)
    except PlanError as exc:
        raise PlanError(f"{where}: {exc}") from exc
    caption = fill_placeholders(spec.caption, labels)
    sample = data.get("sample")
    if isinstance(sample, dict) and sample.get("caption_note"):  # a figure drawn from a sample
        caption = f"{caption} {sample['caption_note']}".strip()
    return FigureResult(id=spec.id, title=fill_placeholders(spec.title, labels),
                        caption=caption, figure=figure,
                        data={"kind": spec.kind, "params": plain(params), **plain(data)},
                        empty=empty_reason(figure))


def save_figure(result: FigureResult, folder: Path) -> dict[str, Path]:
    """Write ``<id>.png`` (300 dpi) and ``<id>.svg`` into ``folder`` (created if needed).

    The files carry no creation date, so the same figure gives the same bytes.

    Returns
    -------
    dict
        ``{"png": path, "svg": path}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"png": folder / f"{result.id}.png", "svg": folder / f"{result.id}.svg"}
    with style():
        result.figure.savefig(paths["png"], format="png", dpi=DPI, facecolor="white",
                              metadata={"Software": None})
        # The layout was settled by the first save: freeze it, so the SVG has the same
        # geometry as the PNG and the (slow) constrained layout does not run twice. No
        # engine at all (not "none", a placeholder engine): with one, matplotlib draws the
        # whole figure once more before saving, to lay it out.
        engine = result.figure.get_layout_engine()
        result.figure.set_layout_engine(None)
        try:
            result.figure.savefig(paths["svg"], format="svg", facecolor="white",
                                  metadata={"Date": None, "Creator": None})
        finally:
            result.figure.set_layout_engine(engine)
    return paths
