"""Print the numbers of :class:`~reinfuse.analyze.Results` in a journal style.

The analyze stage computes numbers only; this module, part of the render stage, turns each
cell, group summary and p-value into the text a table prints (``Cell.text``,
``GroupResult.text``, ``ComparisonResult.p_text``), under the style's rules
(:mod:`reinfuse.style`, docs/styles.md). The style decides only how numbers are printed:
a ``median`` row prints the range or the IQR (both were computed), and ``{summary}`` in
labels becomes ``median (range)`` or ``median (IQR)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reinfuse.analyze import (
    NOT_ESTIMABLE,
    Cell,
    ComparisonResult,
    GroupResult,
    Results,
    TableResult,
    TableRow,
)
from reinfuse.style import Style


def _with_n(text: str, n: int | None, n_missing: int | None, display: str) -> str:
    """A summary that rests on fewer values than the column: ``"18.5 (7–30); n=7"`` under
    the ``"denominator"`` display (the ``"row"`` display has a "Not recorded, n" line)."""
    return f"{text}; n={n}" if n_missing and display == "denominator" else text


def _median_stat(stat: str, style: Style) -> str:
    if stat != "median":
        return stat
    return "median_range" if style.continuous == "range" else "median_iqr"


def cell_text(cell: Cell, style: Style) -> str:
    """The text a table prints for ``cell``.

    Examples
    --------
    The printed forms are docs/styles.md's table (7/18 = 38.9%; Lancet: whole percent):

    >>> from reinfuse.style import get_style
    >>> cell = Cell("t", "r", "c", "", "count", value=7 / 18, numerator=7, denominator=18,
    ...             n=18, n_missing=0)
    >>> cell_text(cell, get_style("seed")), cell_text(cell, get_style("lancet"))
    ('7 (38.9)', '7 (39%)')
    >>> median = Cell("t", "r", "c", "", "median", value=18.5, n=18, n_missing=0,
    ...               minimum=7, maximum=30, q1=12, q3=24)
    >>> cell_text(median, get_style("seed")), cell_text(median, get_style("jama"))
    ('18.5 (7–30)', '18.5 (12-24)')
    """
    if cell.stat == "p":  # a table's p column (plan p_value)
        return style.pvalue(cell.value) if cell.value is not None else "—"
    if cell.stat == "n":
        return str(cell.n)
    if cell.stat == "missing" and cell.denominator is None:  # a "Not recorded, n" count
        return str(cell.numerator)
    if cell.empty == "not_recorded":
        return style.not_recorded
    if cell.empty == "none":
        return style.missing
    if cell.stat in ("count", "level", "missing"):
        k, n = int(cell.numerator or 0), int(cell.denominator or 0)
        text = (style.count_of(k, n) if cell.n_missing and cell.display == "denominator"
                else style.n_percent(k, n))
        if cell.ci_method and cell.n and cell.ci_low is not None and cell.ci_high is not None:
            level = cell.ci_level if cell.ci_level is not None else 0.95
            text += f" [{style.ci(cell.ci_low, cell.ci_high, level, percent=True)}]"
        return text
    if cell.stat in ("median", "median_range", "median_iqr"):
        assert cell.value is not None
        if _median_stat(cell.stat, style) == "median_range":
            text = style.median_range(cell.value, _num(cell.minimum), _num(cell.maximum),
                                      cell.decimals)
        else:
            text = style.median_iqr(cell.value, _num(cell.q1), _num(cell.q3), cell.decimals)
        text = _with_n(text, cell.n, cell.n_missing, cell.display)
        if cell.ci_method == NOT_ESTIMABLE:
            return f"{text} [95% CI not estimable, n={cell.n}]"
        if cell.ci_method and cell.ci_low is not None and cell.ci_high is not None:
            return f"{text} [{style.ci(cell.ci_low, cell.ci_high, decimals=cell.decimals)}]"
        return text
    if cell.stat == "km_median":
        return _km_text(cell, style)
    raise ValueError(f"{cell.table}: no printed form for a cell of kind {cell.stat!r}")


def _num(value: float | None) -> float:
    assert value is not None
    return value


def _km_text(cell: Cell, style: Style) -> str:
    """A Kaplan-Meier median with its CI: "not reached" and "not estimable" as the fit says."""
    d = cell.decimals
    median = style.number(cell.value, d) if cell.reached else "not reached"
    level = f"{(cell.ci_level if cell.ci_level is not None else 0.95) * 100:g}% CI"
    if cell.ci_low is None and cell.ci_high is None and cell.reached:
        # Too few patients for the pointwise limits to cross 0.5 at all.
        text = f"{median} [{level} not estimable]"
    else:
        low = (style.number(cell.ci_low, d) if cell.ci_low is not None
               else "not reached" if not cell.reached else "not estimable")
        # An upper limit is "not reached" while patients remain at risk; once the curve has
        # fallen to 0 it is undefined instead.
        high = (style.number(cell.ci_high, d) if cell.ci_high is not None
                else "not estimable" if cell.curve_at_zero else "not reached")
        text = f"{median} [{level} {low}{style.ci_separator}{high}]"
    return _with_n(text, cell.n, cell.n_missing, cell.display)


def group_text(group: GroupResult, comparison: ComparisonResult, style: Style) -> str:
    """The summary a comparison prints for one group."""
    if not group.n:
        return style.not_recorded if group.n_missing else style.missing
    if comparison.test in ("fisher", "mcnemar"):
        k = int(group.count or 0)
        return (style.count_of(k, group.n)
                if group.n_missing and comparison.display == "denominator"
                else style.n_percent(k, group.n))
    assert group.median is not None
    if style.continuous == "range":
        text = style.median_range(group.median, _num(group.minimum), _num(group.maximum),
                                  comparison.decimals)
    else:
        text = style.median_iqr(group.median, _num(group.q1), _num(group.q3),
                                comparison.decimals)
    return _with_n(text, group.n, group.n_missing, comparison.display)


def _labels(text: str, style: Style) -> str:
    return text.replace("{summary}", style.summary_words)


def _format_table(table: TableResult, style: Style) -> TableResult:
    def one(cell: Cell | None) -> Cell | None:
        if cell is None:
            return None
        return replace(cell, text=cell_text(cell, style), stat=_median_stat(cell.stat, style),
                       row=_labels(cell.row, style), column=_labels(cell.column, style))

    rows = tuple(TableRow(label=_labels(r.label, style), indent=r.indent, header=r.header,
                          cells=tuple(one(c) for c in r.cells)) for r in table.rows)
    return replace(table, title=_labels(table.title, style), rows=rows,
                   columns=tuple(_labels(c, style) for c in table.columns),
                   footnotes=tuple(_labels(f, style) for f in table.footnotes))


def _format_comparison(comparison: ComparisonResult, style: Style) -> ComparisonResult:
    groups = tuple(replace(g, label=_labels(g.label, style),
                           text=group_text(g, comparison, style)) for g in comparison.groups)
    sentences = [comparison.note]
    difference: Any = comparison.detail.get("difference")
    if difference:
        sentences.append(
            f"Difference {style.number(100 * difference['difference'], 1)} percentage points "
            f"({style.ci(difference['ci_low'], difference['ci_high'], percent=True)}; "
            "Newcombe hybrid score interval).")
    sentences.append(comparison.missing_note)
    return replace(comparison, title=_labels(comparison.title, style), groups=groups,
                   p_text=style.pvalue(comparison.pvalue) if comparison.pvalue is not None
                   else "", summary=_labels(comparison.summary, style),
                   note=" ".join(s for s in sentences if s))


def format_results(results: Results, style: Style) -> Results:
    """``results`` with every printed text filled in ``style`` (numbers unchanged).

    Parameters
    ----------
    results
        The analyze stage's output (numbers only).
    style
        The journal style (``reinfuse.style.get_style``).

    Returns
    -------
    Results
        The same numbers, with ``Cell.text``, ``GroupResult.text``, ``p_text``, the notes
        and the labels printed in ``style``; ``options["style"]`` names it.
    """
    return replace(results,
                   tables=tuple(_format_table(t, style) for t in results.tables),
                   comparisons=tuple(_format_comparison(c, style)
                                     for c in results.comparisons),
                   options={**results.options, "style": style.name})
