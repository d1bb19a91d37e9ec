"""Print the plan's ``[[analyses]]`` in a journal style, and draw their figures.

The numbers come from :mod:`reinfuse.analyses` (the analyze stage); here each becomes a
report table (HTML, Word and PDF share the item), its tests printed under it with their
statistic, degrees of freedom and p-value, and, when the plan asks, a figure drawn from
the analysis's own estimates (never re-estimated).
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

from reinfuse.analyses import AnalysisCell, AnalysisResult, TestLine
from reinfuse.figures import FigureResult, save_figure
from reinfuse.style import Style

__all__ = ["analysis_figure", "analysis_item", "cell_text", "test_text"]


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _interval(style: Style, low: float | None, high: float | None, *, percent: bool = False,
              decimals: int | None = None) -> str:
    def one(v: float | None) -> str:
        if _missing(v):
            return "NE"
        assert v is not None
        return style.percent(v).rstrip("%") if percent else style.number(v, decimals)

    return style.limits(one(low), one(high))


def cell_text(cell: AnalysisCell, style: Style) -> str:
    """The printed text of one cell (NE: a limit not estimable)."""
    kind = cell.kind
    if kind == "text":
        return cell.text
    if kind != "n_percent" and _missing(cell.value):
        return style.missing
    if kind == "count":
        return f"{int(cell.value):,}"
    if kind == "number":
        return style.number(cell.value, cell.decimals)
    if kind == "p":
        return style.pvalue(cell.value)
    if kind == "n_percent":
        return style.n_percent(int(cell.value), int(cell.n or 0))
    if kind == "median_range":
        return style.median_range(cell.value, cell.low, cell.high,  # type: ignore[arg-type]
                                  cell.decimals)
    if kind == "percent_ci":
        return (f"{style.percent(cell.value)} "
                f"({_interval(style, cell.low, cell.high, percent=True)})")
    if kind == "estimate_ci":
        return (f"{style.number(cell.value, cell.decimals)} "
                f"({_interval(style, cell.low, cell.high, decimals=cell.decimals)})")
    raise ValueError(f"unknown analysis cell kind {kind!r}")


def test_text(test: TestLine, style: Style) -> str:
    """``Log-rank test: chi-square 5.06, df 2, p = 0.08.`` (or why it was not computed)."""
    if test.text:
        return f"{test.name}: {test.text}."
    parts = []
    if not _missing(test.statistic):
        parts.append(f"{test.symbol} {style.number(test.statistic, 2)}")
    if not _missing(test.df):
        parts.append(f"df {style.number(test.df)}")
    p = style.pvalue(test.pvalue)
    parts.append(f"p {p}" if p[:1] in "<>=" else f"p = {p}")
    if test.effect and not _missing(test.effect_value):
        parts.append(f"{test.effect} {style.number(test.effect_value, 2)}")
    return f"{test.name}: " + ", ".join(parts) + "."


def analysis_item(result: AnalysisResult, style: Style) -> dict[str, Any]:
    """The report item of one analysis: a table with its tests and notes, or one line
    saying why it was not computed."""
    if result.refused:
        return {"kind": "omitted", "of": "analysis", "id": result.id, "title": result.title,
                "text": f"Analysis not shown ({result.title}): "
                        f"{result.refused[0].lower()}{result.refused[1:]}"}
    rows = [{"label": row.label, "indent": row.indent, "header": False,
             "cells": [cell_text(c, style) for c in row.cells]} for row in result.rows]
    notes = [test_text(t, style) for t in result.tests]
    notes += list(result.notes)
    notes.append(f"Method: {result.method[0].upper()}{result.method[1:]}."
                 if result.method else "")
    return {"kind": "table", "id": result.id, "title": result.title,
            "columns": result.columns, "row_header": "Group" if result.kind != "cox"
            else "Covariate", "rows": rows, "notes": [n for n in notes if n]}


def analysis_figure(result: AnalysisResult, folder: Path) -> tuple[dict[str, Any],
                                                                   FigureResult] | None:
    """The figure of a survival-by-group or cumulative-incidence analysis, saved in
    ``folder``; None for other kinds or a refused analysis."""
    if result.refused or result.estimates is None:
        return None
    if result.kind == "survival_by_group":
        from reinfuse.figures.survival_groups import kaplan_meier_groups_figure

        figure, caption = kaplan_meier_groups_figure(result)
    elif result.kind == "cumulative_incidence":
        from reinfuse.figures.survival_groups import cumulative_incidence_figure

        figure, caption = cumulative_incidence_figure(result)
    elif result.kind == "kinetics":
        from reinfuse.figures.kinetics import kinetics_figure

        spec = result.estimates["spec"]
        drawn_kinetics = kinetics_figure(
            result.estimates["car_counts"], result.estimates["fits"],
            result.estimates["labels"],
            compartment=spec.compartment, lod=spec.lod, first=spec.first,
            second=spec.second, max_patients=spec.max_patients, id=f"{result.id}_figure",
            title=result.title)
        figure, caption = drawn_kinetics.figure, drawn_kinetics.caption
    else:
        return None
    drawn = FigureResult(id=f"{result.id}_figure", title=result.title, caption=caption,
                         figure=figure, data={"analysis": result.id})
    save_figure(drawn, folder)
    png = (folder / f"{drawn.id}.png").read_bytes()
    return ({"kind": "figure", "id": drawn.id, "title": drawn.title, "caption": caption,
             "png": base64.b64encode(png).decode("ascii")}, drawn)
