"""Run an analysis plan over the analysis frame and return :class:`Results`.

Every number that reaches a report is a :class:`Cell` (table, row and column labels,
numerator, denominator, value, unknowns, CI) or a comparison (groups, n, statistic,
p-value, method), so ``results.json`` can trace each printed figure to its inputs. The
analysis computes numbers only; the render stage prints them in a journal style
(``reinfuse.report``; docs/architecture.md), filling ``text`` and ``p_text``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from reinfuse._match import matches
from reinfuse._plain import to_plain
from reinfuse.analyses import AnalysisResult
from reinfuse.derive import AnalysisFrame
from reinfuse.errors import PlanError, StatisticsError
from reinfuse.options import DeriveOptions
from reinfuse.plan import ComparisonSpec, Level, Plan, RowSpec, Subset, TableSpec
from reinfuse.style import get_style
from reinfuse.survival_curves import kaplan_meier_figure_estimates
from reinfuse.variables import ENDPOINTS


def _stats() -> ModuleType:
    """:mod:`reinfuse.stats`, imported on first use: SciPy and statsmodels load when an
    analysis runs, not when ``import reinfuse`` (or ``reinfuse validate``) starts."""
    return importlib.import_module("reinfuse.stats")


@dataclass(frozen=True)
class Cell:
    """One table cell: its numbers, and (once rendered) the text printed."""

    table: str
    row: str
    column: str
    text: str
    stat: str
    value: float | None = None
    numerator: int | None = None
    denominator: int | None = None
    n: int | None = None
    n_missing: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    q1: float | None = None
    q3: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str = ""
    #: How the render stage prints the cell (numbers are formatted there, by the style):
    #: ``empty`` is "not_recorded" (every value unknown) or "none" (nobody to count);
    #: ``display`` the plan's display of unknown values ("row" or "denominator");
    #: ``decimals`` the plan's decimals; ``ci_level`` the confidence level of the CI;
    #: ``reached`` whether a Kaplan-Meier median was reached and ``curve_at_zero``
    #: whether the curve fell to 0 (an upper limit is then "not estimable").
    empty: str = ""
    display: str = "row"
    decimals: int | None = None
    ci_level: float | None = None
    reached: bool | None = None
    curve_at_zero: bool | None = None


@dataclass(frozen=True)
class TableRow:
    """A printed row: its label, indent level and one cell per column."""

    label: str
    indent: int
    cells: tuple[Cell | None, ...]
    header: bool = False


@dataclass(frozen=True)
class TableResult:
    """A computed table."""

    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[TableRow, ...]
    footnotes: tuple[str, ...]
    section: str = ""
    #: The plan variables of this table with at least one known value in a printed cell;
    #: empty when nothing in the table was recorded (the report then leaves it out).
    recorded: tuple[str, ...] = ()
    #: Every variable the table's rows summarise (recorded or not).
    variables: tuple[str, ...] = ()
    #: Printed in the report (the plan's ``show``); always in results.json and tables/.
    shown: bool = True

    def to_frame(self) -> pd.DataFrame:
        """The table as a tidy DataFrame: one row per cell (for notebooks and R).

        Returns
        -------
        pandas.DataFrame
            Columns ``table``, ``row`` (the row label; a level's ``"Row / Level"``),
            ``column``, ``stat``, ``estimate`` (a proportion 0-1, a median, a count),
            ``numerator``, ``denominator``, ``n``, ``n_missing``, ``ci_low``, ``ci_high``,
            ``p`` (table cells carry none: missing), ``ci_method`` and ``text`` (the
            printed text; empty until the render stage prints it). Header lines have no
            cell and no row here.

        See Also
        --------
        Results.to_frame : every table at once.

        Examples
        --------
        >>> cell = Cell("t1", "Male", "All", "", "level", value=16 / 18, numerator=16,
        ...             denominator=18, n=18, n_missing=0)
        >>> table = TableResult("t1", "Sex", ("All",), (TableRow("Male", 1, (cell,)),), ())
        >>> table.to_frame()[["row", "numerator", "denominator", "n_missing"]]
            row  numerator  denominator  n_missing
        0  Male         16           18          0
        """
        cells = [c for line in self.rows for c in line.cells if c is not None]
        return pd.DataFrame({
            "table": pd.Series([c.table for c in cells], dtype="string"),
            "row": pd.Series([c.row for c in cells], dtype="string"),
            "column": pd.Series([c.column for c in cells], dtype="string"),
            "stat": pd.Series([c.stat for c in cells], dtype="string"),
            "estimate": pd.Series([c.value for c in cells], dtype="Float64"),
            "numerator": pd.Series([c.numerator for c in cells], dtype="Int64"),
            "denominator": pd.Series([c.denominator for c in cells], dtype="Int64"),
            "n": pd.Series([c.n for c in cells], dtype="Int64"),
            "n_missing": pd.Series([c.n_missing for c in cells], dtype="Int64"),
            "ci_low": pd.Series([c.ci_low for c in cells], dtype="Float64"),
            "ci_high": pd.Series([c.ci_high for c in cells], dtype="Float64"),
            "p": pd.Series([c.value if c.stat == "p" else None for c in cells],
                           dtype="Float64"),
            "ci_method": pd.Series([c.ci_method for c in cells], dtype="string"),
            "text": pd.Series([c.text for c in cells], dtype="string"),
        })

    def cell(self, row: str, column: str) -> Cell:
        """The cell at the row and column labels (for tests and templates)."""
        index = self.columns.index(column)
        for line in self.rows:
            if line.label == row and line.cells[index] is not None:
                return line.cells[index]  # type: ignore[return-value]
        raise KeyError(f"{self.id}: no cell at row {row!r}, column {column!r}")


@dataclass(frozen=True)
class GroupResult:
    """One group of a comparison: who is in it and its summary."""

    label: str
    n: int
    n_missing: int
    median: float | None
    minimum: float | None
    maximum: float | None
    text: str = ""
    patients: tuple[str, ...] = ()
    #: Yes/no comparisons: patients with "yes" among the ``n`` known.
    count: int | None = None
    q1: float | None = None
    q3: float | None = None


@dataclass(frozen=True)
class ComparisonResult:
    """A comparison: the two groups and the test."""

    id: str
    title: str
    variable: str
    paired: bool
    groups: tuple[GroupResult, ...]
    test: str
    statistic: float | None
    pvalue: float | None
    p_text: str
    method: str
    n: int | None
    detail: dict[str, Any] = field(default_factory=dict)
    unit: str = ""
    section: str = ""
    note: str = ""
    summary: str = "median (range)"
    #: The sentence on unknown values left out (the render stage adds it to ``note``).
    missing_note: str = ""
    decimals: int | None = None
    display: str = "row"


@dataclass(frozen=True)
class Results:
    """Everything an analysis produced, before rendering."""

    plan_id: str
    plan_version: str
    plan_sha256: str
    population: str
    n_patients: int
    tables: tuple[TableResult, ...]
    comparisons: tuple[ComparisonResult, ...]
    options: dict[str, Any]
    n_cohort_patients: int = 0
    #: The plan analysed and the derive stage's output: what the render stage and the
    #: figures need beside the numbers (not written to results.json).
    plan: Plan | None = field(default=None, repr=False, compare=False)
    source: AnalysisFrame | None = field(default=None, repr=False, compare=False)
    #: Figure id -> the estimates its figure draws (Kaplan-Meier fits per group,
    #: ``reinfuse.survival_curves.KaplanMeierCurves``): the figures draw them, never
    #: re-estimate.
    #: results.json carries them in the figure's ``data`` (curves, steps, numbers at risk).
    figure_estimates: Mapping[str, Any] = field(default_factory=dict, repr=False,
                                                compare=False)
    #: The plan's ``[[analyses]]`` (survival by group, Cox, competing risks, several
    #: groups): :mod:`reinfuse.analyses`.
    analyses: tuple[AnalysisResult, ...] = ()

    def table(self, table_id: str) -> TableResult:
        """The table with this id."""
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(table_id)

    def to_frame(self) -> pd.DataFrame:
        """Every table's cells as one tidy DataFrame (:meth:`TableResult.to_frame`)."""
        frames = [t.to_frame() for t in self.tables]
        return (pd.concat(frames, ignore_index=True) if frames
                else TableResult("", "", (), (), ()).to_frame())

    def comparison(self, comparison_id: str) -> ComparisonResult:
        """The comparison with this id."""
        for comparison in self.comparisons:
            if comparison.id == comparison_id:
                return comparison
        raise KeyError(comparison_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready values (non-finite numbers become None)."""
        out = {f.name: to_plain(getattr(self, f.name)) for f in fields(self)
               if f.name not in ("plan", "source", "figure_estimates", "analyses")}
        out["analyses"] = [a.to_dict() for a in self.analyses]
        return out

    def analysis(self, analysis_id: str) -> AnalysisResult:
        """The analysis with this id."""
        for item in self.analyses:
            if item.id == analysis_id:
                return item
        raise KeyError(analysis_id)


#: ``Cell.ci_method`` of a median whose distribution-free CI needs more values.
NOT_ESTIMABLE = "distribution-free: not estimable (too few values)"


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_labels(text: str, fill: dict[str, str]) -> str:
    """Replace ``{label1}``-style placeholders; unknown placeholders stay as written."""
    return text.format_map(_Fill(fill))


def censoring_phrase(options: DeriveOptions, endpoint: str = "remission") -> str:
    """Where an endpoint is censored, written from the declaration ``derive`` computes it by.

    ``endpoint`` is a name of :data:`reinfuse.variables.ENDPOINTS` (``remission``, ``efs``,
    ``os``). Follow-up ends at death or the last contact, then (options
    ``censor_at_hsct`` and ``censor_at_next_infusion``) at a consolidative HSCT and at the
    patient's next infusion, whichever comes first. Death censors remission (it is not a
    relapse); it is an event of event-free survival.

    Examples
    --------
    >>> censoring_phrase(DeriveOptions())
    ... # doctest: +NORMALIZE_WHITESPACE
    'death, last follow-up, a consolidative HSCT (when its date is recorded) or the next
    infusion, whichever came first'
    >>> censoring_phrase(DeriveOptions(censor_at_hsct=False, censor_at_next_infusion=False),
    ...                  "efs")
    'last follow-up'
    """
    return ENDPOINTS[endpoint].censoring_phrase(options)


# --- selecting rows ---------------------------------------------------------------------

def population_frame(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The infusions of the plan's population (``reinfused``: patients with >= 2 infusions)."""
    if plan.population == "reinfused":
        return frame[frame["n_infusions"] >= 2]
    return frame


def _check_variable(frame: pd.DataFrame, variable: str, where: str) -> None:
    if variable not in frame.columns:
        near = [c for c in frame.columns if variable.split("_")[0] in c][:5]
        raise PlanError(f"{where}: unknown variable '{variable}'. "
                        f"Variables of the analysis frame include: {', '.join(near) or '...'}"
                        " (see docs/derived-variables.md).")


def select(frame: pd.DataFrame, *subsets: Subset, where: str = "",
           columns: Sequence[str] | None = None,
           masks: dict[tuple[Any, ...], np.ndarray] | None = None) -> pd.DataFrame:
    """Rows matching every subset (infusion number and ``where`` filters).

    ``columns`` keeps only those columns (in that order, duplicates once): at registry
    scale a table row needs two or three of the frame's hundred columns, and copying the
    rest for every row was most of a table's time. ``masks`` (a dict the caller keeps for
    one frame) remembers each filter's rows, so a table's rows share their columns' work.
    """
    mask = np.ones(len(frame), dtype=bool)
    for subset in subsets:
        if subset.infusion is not None:
            mask &= (frame["infusion"] == subset.infusion).to_numpy(dtype=bool)
        for column, values in subset.where.items():
            _check_variable(frame, column, where)
            key = (column, *values)
            if masks is None or key not in masks:
                # Same matching as table levels: "yes"/true, "1"/1 and ';'-lists all work.
                found = _level_mask(frame[column], Level(label=column, values=values))
                if masks is None:
                    mask &= found.to_numpy(dtype=bool)
                    continue
                masks[key] = found.to_numpy(dtype=bool)
            mask &= masks[key]
    if columns is None:
        return frame[mask]
    return frame.loc[mask, list(dict.fromkeys(columns))]


def _level_mask(values: pd.Series, level: Level) -> pd.Series:
    if level.minimum is not None or level.maximum is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        mask = numbers.notna()
        if level.minimum is not None:
            mask &= numbers >= level.minimum
        if level.maximum is not None:
            mask &= numbers <= level.maximum
        return mask.fillna(False).astype(bool)
    return matches(values, level.values)


def _count_true(values: pd.Series) -> int:
    """How many values are "yes": true booleans, or numbers above 0 (a count such as
    prior_hsct); missing values are not counted."""
    if pd.api.types.is_bool_dtype(values) or values.dtype == object:
        return int(values.astype("boolean").fillna(False).sum())
    return int(pd.to_numeric(values, errors="coerce").gt(0).sum())


# --- cells -----------------------------------------------------------------------------------

def _count_cell(table: str, row: str, column: str, k: int, n: int, n_missing: int,
                stat: str = "count", ci: str = "", *, total: int | None = None,
                missing: str = "row") -> Cell:
    """A ``k`` of ``n`` cell (printed ``k (p)``, or ``k/n (p)`` when values are unknown and
    the plan's ``missing`` display is ``"denominator"``); "not recorded" when every one of
    ``total`` values is unknown (never ``0 (0.0)``), "none" when ``total`` is 0 (nobody to
    count)."""
    if total and n_missing >= total:
        return Cell(table=table, row=row, column=column, text="", stat=stat,
                    denominator=0, n=0, n_missing=n_missing, empty="not_recorded",
                    display=missing)
    if total == 0:  # nobody in the column (or the row's filter): nothing to count
        return Cell(table=table, row=row, column=column, text="", stat=stat,
                    numerator=0, denominator=0, n=0, n_missing=0, empty="none",
                    display=missing)
    low = high = level = None
    if ci and n:
        interval = _stats().proportion(k, n, method=ci)
        low, high, level = interval.ci_low, interval.ci_high, interval.confidence_level
    return Cell(table=table, row=row, column=column, text="", stat=stat,
                value=(k / n if n else None), numerator=k, denominator=n, n=n,
                n_missing=n_missing, ci_low=low, ci_high=high, ci_method=ci if n else "",
                display=missing, ci_level=level)


def _not_recorded_line(spec: TableSpec, row: RowSpec, subsets: list[pd.DataFrame],
                       column_labels: list[str], active: list[bool], *,
                       percent: bool) -> TableRow | None:
    """The "Not recorded" line under a row: unknown values per column.

    ``percent`` prints ``k (p)`` of the column (a levels row whose levels are percentages
    of the whole column, so that the lines add up to 100%); otherwise the count alone.
    None when no value is unknown, or when every value is (the cells say "not recorded").
    """
    assert row.variable is not None
    totals = [len(s) for s in subsets]
    counts = [int(s[row.variable].isna().sum()) if on else 0
              for s, on in zip(subsets, active, strict=True)]
    if not any(counts) or all(c >= t for c, t, on in zip(counts, totals, active, strict=True)
                              if on):
        return None
    label = "Not recorded" if percent else "Not recorded, n"
    cells: list[Cell | None] = []
    for count, total, column, on in zip(counts, totals, column_labels, active, strict=True):
        if not on:
            cells.append(None)
            continue
        where = f"{row.label} / Not recorded"
        if percent:
            cells.append(_count_cell(spec.id, where, column, count, total, 0,
                                     stat="missing"))
        else:
            cells.append(Cell(spec.id, where, column, "", "missing", value=count,
                              numerator=count, n_missing=count))
    return TableRow(label=label, indent=row.indent + 1, cells=tuple(cells))


def _row_cells(spec: TableSpec, row: RowSpec, subsets: list[pd.DataFrame],
               column_labels: list[str], missing_display: str = "row"
               ) -> list[TableRow]:
    """The printed lines of one plan row.

    Unknown values are never counted as "no": percentages are of the known values unless
    the row says ``denominator = "column"``, a cell whose values are all unknown prints
    "not recorded", and the number unknown is shown as the plan's ``missing`` option says
    (``"row"``: a "Not recorded, n" line; ``"denominator"``: ``k/n (p)`` and ``; n=7``).
    """
    lines: list[TableRow] = []
    active = [not row.columns or c.id in row.columns for c in spec.columns]
    by_row = missing_display == "row"

    def each(make: Any) -> tuple[Cell | None, ...]:
        return tuple(make(sub, label) if on else None
                     for sub, label, on in zip(subsets, column_labels, active, strict=True))

    def with_unknown(line: TableRow) -> list[TableRow]:
        extra = (_not_recorded_line(spec, row, subsets, column_labels, active,
                                    percent=False) if by_row and row.show_missing else None)
        return [line] if extra is None else [line, extra]

    if row.stat == "header":
        lines.append(TableRow(label=row.label, indent=row.indent,
                              cells=(None,) * len(subsets), header=True))
        return lines
    if row.stat == "n":
        lines.append(TableRow(label=row.label, indent=row.indent, cells=each(
            lambda sub, col: Cell(spec.id, row.label, col, "", "n",
                                  value=len(sub), n=len(sub)))))
        return lines

    assert row.variable is not None  # guaranteed by the plan parser
    # "median": the style picks range or IQR at render time, so both are computed.
    if row.stat in ("median", "median_range", "median_iqr"):
        def summary(sub: pd.DataFrame, col: str) -> Cell:
            cell = _summary(sub, col)
            if row.ci != "distribution-free" or not cell.n:
                return cell
            values = pd.to_numeric(sub[row.variable], errors="coerce").dropna().to_numpy()
            try:
                interval = _stats().median_ci(values)
            except StatisticsError:  # too few values for a 95% interval: say so
                return replace(cell, ci_method=NOT_ESTIMABLE)
            return replace(cell, ci_low=interval.ci_low, ci_high=interval.ci_high,
                           ci_method="distribution-free (order statistics)")

        def _summary(sub: pd.DataFrame, col: str) -> Cell:
            values = pd.to_numeric(sub[row.variable], errors="coerce")
            present = values.dropna()
            missing = int(values.isna().sum())
            if present.empty:
                return Cell(spec.id, row.label, col, "", row.stat, n=0, n_missing=missing,
                            empty="not_recorded" if missing else "none",
                            display=missing_display, decimals=row.decimals)
            shared = {"n_missing": missing, "display": missing_display,
                      "decimals": row.decimals}
            r = q = None
            if row.stat in ("median", "median_range"):
                r = _stats().median_range(present.to_numpy())
            if row.stat in ("median", "median_iqr"):
                q = _stats().median_iqr(present.to_numpy())
            first = r if r is not None else q
            assert first is not None
            return Cell(spec.id, row.label, col, "", row.stat, value=first.median,
                        n=first.n, minimum=r.minimum if r else None,
                        maximum=r.maximum if r else None, q1=q.q1 if q else None,
                        q3=q.q3 if q else None, **shared)  # type: ignore[arg-type]

        return with_unknown(TableRow(label=row.label, indent=row.indent, cells=each(summary)))

    if row.stat == "km_median":
        _check_variable(subsets[0], row.event, f"table '{spec.id}', row '{row.label}'")

        def km(sub: pd.DataFrame, col: str) -> Cell:
            times = pd.to_numeric(sub[row.variable], errors="coerce")
            events = sub[row.event].astype("boolean")
            keep = times.notna() & events.notna()
            if not keep.any():
                return Cell(spec.id, row.label, col, "", row.stat, n=0,
                            n_missing=int((~keep).sum()),
                            empty="not_recorded" if len(sub) else "none",
                            display=missing_display, decimals=row.decimals)
            # The midpoint rule (R's survival, SAS) where the curve is flat at exactly 0.5,
            # the default of reinfuse.stats.kaplan_meier, as the KM figures use it too.
            fit = _stats().kaplan_meier(times[keep].to_numpy(),
                                        events[keep].astype(int).to_numpy())
            curve_reaches_zero = bool(len(fit.table)) and fit.table.survival[-1] == 0
            n_missing = int((~keep).sum())
            return Cell(spec.id, row.label, col, "", row.stat,
                        value=fit.median, n=fit.n, n_missing=n_missing,
                        numerator=fit.n_events, ci_low=fit.median_ci_low,
                        ci_high=fit.median_ci_high, ci_method=fit.method,
                        display=missing_display, decimals=row.decimals,
                        ci_level=fit.confidence_level, reached=bool(fit.median_reached),
                        curve_at_zero=curve_reaches_zero)

        line = TableRow(label=row.label, indent=row.indent, cells=each(km))
        if not (by_row and row.show_missing):
            return [line]
        # Unknown here means the time or the event is unknown.
        time = str(row.variable)
        unknown = [sub.assign(**{time: pd.to_numeric(sub[time], errors="coerce").where(
                   sub[row.event].notna())}) for sub in subsets]
        extra = _not_recorded_line(spec, row, unknown, column_labels, active,
                                   percent=False)
        return [line] if extra is None else [line, extra]

    if row.stat == "count":
        def count(sub: pd.DataFrame, col: str) -> Cell:
            values = sub[row.variable]
            missing = int(values.isna().sum())
            k = _count_true(values)
            n = len(sub) - (missing if row.denominator == "non_missing" else 0)
            return _count_cell(spec.id, row.label, col, k, n, missing, ci=row.ci,
                               total=len(sub), missing=missing_display)

        return with_unknown(TableRow(label=row.label, indent=row.indent, cells=each(count)))

    # levels: a header line with the row label, then one line per level; one line saying
    # "not recorded" when no value of the row's variable is known in any column.
    unknown_everywhere = [len(sub) > 0 and bool(sub[row.variable].isna().all())
                          for sub, on in zip(subsets, active, strict=True) if on]
    if unknown_everywhere and all(unknown_everywhere):
        lines.append(TableRow(label=row.label, indent=row.indent, cells=each(
            lambda sub, col: Cell(spec.id, row.label, col, "", "level",
                                  denominator=0, n=0, n_missing=len(sub),
                                  empty="not_recorded", display=missing_display))))
        return lines
    lines.append(TableRow(label=row.label, indent=row.indent, cells=(None,) * len(subsets),
                          header=True))
    # A large text column is matched level after level: as a categorical, each match looks
    # at its few distinct values only (the same matches, see reinfuse._match).
    by_range = any(lv.minimum is not None or lv.maximum is not None for lv in row.levels)
    prepared = {id(sub): sub[row.variable].astype("category")
                for sub in subsets if len(sub) > 1_000 and not by_range
                and (sub[row.variable].dtype == object
                     or isinstance(sub[row.variable].dtype, pd.StringDtype))}
    for level in row.levels:
        def level_cell(sub: pd.DataFrame, col: str, level: Level = level) -> Cell:
            values = prepared.get(id(sub), sub[row.variable])
            missing = int(values.isna().sum())
            k = int(_level_mask(values, level).sum())
            n = len(sub) - (missing if row.denominator == "non_missing" else 0)
            return _count_cell(spec.id, f"{row.label} / {level.label}", col, k, n, missing,
                               stat="level", ci=row.ci, total=len(sub),
                               missing=missing_display)

        cells = each(level_cell)
        if row.hide_empty and all(c is None or not c.numerator for c in cells):
            continue
        lines.append(TableRow(label=level.label, indent=row.indent + 1, cells=cells))
    # Unknown values: a line of their own when the levels are shares of the whole column
    # (so the lines add to 100%), or when the plan shows unknowns on their own line.
    column_share = row.denominator == "column"
    if row.show_missing and (column_share or by_row):
        extra = _not_recorded_line(spec, row, subsets, column_labels, active,
                                   percent=column_share)
        if extra is not None:
            lines.append(extra)
    return lines


def _known(cell: Cell | None) -> bool:
    """Whether a printed cell rests on at least one known value."""
    return (cell is not None and cell.stat not in ("n", "missing")
            and cell.empty != "not_recorded" and bool(cell.n))


def _combine(column: Subset, row: Subset) -> Subset:
    """A row's infusion replaces its column's; the row's filters are applied on top of the
    column's (both must hold), by the caller."""
    return Subset(infusion=row.infusion if row.infusion is not None else column.infusion,
                  where=column.where)


def compute_table(frame: pd.DataFrame, spec: TableSpec,
                  fill: dict[str, str], missing: str = "row") -> TableResult:
    """Compute one table of the plan over the population frame.

    ``missing`` is the plan's display of unknown values (``Plan.missing``): ``"row"`` or
    ``"denominator"`` (docs/analysis-plan.md).
    """
    where = f"table '{spec.id}'"
    masks: dict[tuple[Any, ...], np.ndarray] = {}  # each filter's rows, computed once
    subsets = [select(frame, column.subset, where=where, columns=["patient_id"], masks=masks)
               for column in spec.columns]  # for the column sizes
    labels = [fill_labels(column.label, {**fill, "n": str(len(sub))})
              for column, sub in zip(spec.columns, subsets, strict=True)]
    rows: list[TableRow] = []
    recorded: list[str] = []
    variables: list[str] = []
    notes: list[str] = []  # row footnotes, of the rows with a recorded value
    shared: dict[Any, bool] = {}  # whether the compared columns share patients, per filter
    for row in spec.rows:
        row = replace(row, label=fill_labels(row.label, fill), levels=tuple(
            replace(level, label=fill_labels(level.label, fill)) for level in row.levels))
        if row.variable is not None:
            _check_variable(frame, row.variable, f"{where}, row '{row.label}'")
        needed = ["patient_id", "infusion", *(n for n in (row.variable, row.event) if n),
                  *(c for c in row.subset.where if c in frame.columns)]
        row_subsets = [select(frame, _combine(column.subset, row.subset),
                              Subset(where=row.subset.where), where=where,
                              columns=[c for c in needed if c in frame.columns], masks=masks)
                       for column in spec.columns]
        lines = _row_cells(spec, row, row_subsets, labels, missing)
        if spec.p_value:
            lines = _with_p(spec, row, lines, row_subsets, shared)
        rows += lines
        names = [n for n in (row.variable, row.event) if n]
        variables += [n for n in names if n not in variables]
        known = any(_known(cell) for line in lines for cell in line.cells)
        if known:
            recorded += [n for n in names if n not in recorded]
        if row.footnote and (known or not names):
            notes.append(row.footnote)
    if spec.p_value:
        labels.append("p")
        used = sorted({c.ci_method for line in rows for c in line.cells
                       if c is not None and c.stat == "p" and c.ci_method})
        if used:
            compared = ", ".join(labels[i] for i in _p_indexes(spec))
            notes.append(f"p compares {compared}: " + "; ".join(used) + ".")
    footnotes = tuple(fill_labels(note, fill) for note in (*spec.footnotes, *notes))
    return TableResult(id=spec.id, title=fill_labels(spec.title, fill), columns=tuple(labels),
                       rows=tuple(rows), footnotes=footnotes, section=spec.section,
                       recorded=tuple(recorded), variables=tuple(variables),
                       shown=spec.show)


def merge_tables(spec: TableSpec, parts: Sequence[TableResult], fill: dict[str, str]
                 ) -> TableResult:
    """Tables side by side, as gtsummary's ``tbl_merge()``: each part's columns under its
    spanner (``"CART1: Median"``), rows matched by label and indent in the order of the
    first part (rows only in a later part follow); a row a part lacks is blank there.
    """
    spanners = spec.spanners or tuple(p.title for p in parts)
    columns = tuple(f"{fill_labels(span, fill)}: {c}" for span, part in
                    zip(spanners, parts, strict=True) for c in part.columns)
    keys: list[tuple[str, int, bool]] = []
    by_part: list[dict[tuple[str, int, bool], TableRow]] = []
    for part in parts:
        found: dict[tuple[str, int, bool], TableRow] = {}
        for line in part.rows:
            key = (line.label, line.indent, line.header)
            found.setdefault(key, line)
            if key not in keys:
                keys.append(key)
        by_part.append(found)
    rows = []
    for key in keys:
        cells: list[Cell | None] = []
        for part, found in zip(parts, by_part, strict=True):
            match = found.get(key)
            cells += list(match.cells) if match is not None else [None] * len(part.columns)
        rows.append(TableRow(label=key[0], indent=key[1], cells=tuple(cells),
                             header=key[2]))
    footnotes = tuple(dict.fromkeys([*(fill_labels(n, fill) for n in spec.footnotes),
                                     *(n for p in parts for n in p.footnotes)]))
    return TableResult(id=spec.id, title=fill_labels(spec.title, fill), columns=columns,
                       rows=tuple(rows), footnotes=footnotes, section=spec.section,
                       recorded=tuple(dict.fromkeys(v for p in parts for v in p.recorded)),
                       variables=tuple(dict.fromkeys(v for p in parts for v in p.variables)),
                       shown=spec.show)


def _p_indexes(spec: TableSpec) -> list[int]:
    ids = [c.id for c in spec.columns]
    return [ids.index(c) for c in spec.p_columns] if spec.p_columns else list(range(len(ids)))


#: How a table's p column tests each kind of row (gtsummary's add_p() defaults: Wilcoxon
#: rank-sum or Kruskal-Wallis for continuous rows; chi-square without continuity correction,
#: or Fisher's exact test when an expected count is below 5, for categorical rows).
P_TESTS = {"continuous2": "Mann-Whitney U test", "continuous": "Kruskal-Wallis test",
           "chi": "chi-square test without continuity correction",
           "fisher": "Fisher's exact test (an expected count below 5)"}


def _with_p(spec: TableSpec, row: RowSpec, lines: list[TableRow],
            subsets: list[pd.DataFrame], shared: dict[Any, bool]) -> list[TableRow]:
    """The row's lines with a p cell on its first line (None on the others)."""
    cell = _row_p(spec, row, lines, subsets, shared)
    out = [replace(line, cells=(*line.cells, cell if i == 0 else None))
           for i, line in enumerate(lines)]
    return out


def _row_p(spec: TableSpec, row: RowSpec, lines: list[TableRow],
           subsets: list[pd.DataFrame], shared: dict[Any, bool]) -> Cell | None:
    """A test across the compared columns for one plan row (None: no test applies).

    ``shared`` remembers, per row filter, whether the compared columns share patients
    (the rows of a table mostly share one filter; the check hashes every patient id).
    """
    if row.stat in ("header", "n", "km_median") or row.variable is None or not lines:
        return None
    chosen = _p_indexes(spec)
    parts = [subsets[i] for i in chosen]
    key = (row.subset.infusion, tuple(sorted((k, tuple(v))
                                             for k, v in row.subset.where.items())))
    if key not in shared:
        patients = pd.concat([p["patient_id"].drop_duplicates() for p in parts])
        shared[key] = bool(patients.duplicated().any())
    make = partial(Cell, spec.id, row.label, "p", "", "p")
    if shared[key]:  # independent-group tests need different patients
        return make(ci_method="not computed: the compared columns share patients (compare "
                              "the same patients' infusions with a paired [[comparisons]])")
    stats = _stats()
    try:
        if row.stat in ("median", "median_range", "median_iqr"):
            samples = [pd.to_numeric(p[row.variable], errors="coerce").dropna().to_numpy()
                       for p in parts]
            samples = [x for x in samples if x.size]
            if len(samples) < 2:
                return None
            if len(samples) == 2:
                result = stats.mann_whitney_u(samples[0], samples[1])
                return make(value=result.pvalue, ci_method=P_TESTS["continuous2"])
            result = stats.kruskal_wallis(np.concatenate(samples), np.repeat(
                np.arange(len(samples)), [x.size for x in samples]))
            return make(value=result.pvalue, ci_method=P_TESTS["continuous"])
        if row.stat == "count":
            cells = [lines[0].cells[i] for i in chosen]
            counts = [[c.numerator or 0, (c.denominator or 0) - (c.numerator or 0)]
                      for c in cells if c is not None]
            table = np.array(counts).T
        else:  # levels: one line per level, plus the known values in no listed level
            level_lines = [line for line in lines[1:] if any(
                c is not None and c.stat == "level" for c in line.cells)]
            table = np.array([[line.cells[i].numerator or 0 for i in chosen]  # type: ignore[union-attr]
                              for line in level_lines])
            known = np.array([p[row.variable].notna().sum() for p in parts])
            other = known - table.sum(axis=0)
            if (other > 0).any():
                table = np.vstack([table, other])
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        if table.ndim != 2 or min(table.shape) < 2:
            return None
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        if (expected < 5).any():
            return make(value=stats.fisher_exact(table).pvalue, ci_method=P_TESTS["fisher"])
        return make(value=stats.chi_square(table, correction=False).pvalue,
                    ci_method=P_TESTS["chi"])
    except StatisticsError as exc:
        return make(ci_method=f"not computed: {exc}")


# --- comparisons -----------------------------------------------------------------------------

def _binary(values: pd.Series) -> pd.Series:
    """A yes/no variable as 1.0 / 0.0 / NaN (missing stays missing)."""
    return pd.to_numeric(values.astype("boolean").astype("Float64"), errors="coerce")


def compute_comparison(frame: pd.DataFrame, spec: ComparisonSpec,
                       fill: dict[str, str], missing: str = "row") -> ComparisonResult:
    """Compute one comparison: group summaries and the test the plan names.

    A test that cannot be computed on these data (e.g. every value identical) does not stop
    the report: the comparison says why in its method text and has no p-value. A group's
    ``n`` counts the patients with a known value (in a paired comparison, a known value in
    both groups); its ``n_missing`` the patients of the group whose value is unknown, and
    the note says how many were left out, so no unknown counts as "no". A group with no
    known value prints "not recorded". ``missing`` is the plan's display option: under
    ``"denominator"`` a count prints ``k/n (p)`` and a median ``; n=7`` when values are
    unknown.
    """
    spec = replace(spec, title=fill_labels(spec.title, fill), groups=tuple(
        replace(g, label=fill_labels(g.label, fill)) for g in spec.groups))
    where = f"comparison '{spec.id}'"
    _check_variable(frame, spec.variable, where)
    binary = spec.test in ("fisher", "mcnemar")
    sides = [select(frame, g.subset, where=where, columns=["patient_id", spec.variable])
             for g in spec.groups]
    convert = _binary if binary else (lambda v: pd.to_numeric(v, errors="coerce"))
    series = [convert(s.set_index("patient_id")[spec.variable]) for s in sides]
    unknown = [int(v.isna().sum()) for v in series]
    if spec.paired:
        a, b = series
        both = a.index.intersection(b.index)
        complete = a.loc[both].notna() & b.loc[both].notna()
        series = [a.loc[both][complete], b.loc[both][complete]]

    groups = []
    for group, values, n_missing in zip(spec.groups, series, unknown, strict=True):
        present = values.dropna()
        q1 = q3 = None
        med = lo = hi = None
        k: int | None = None
        if present.empty:
            pass
        elif binary:
            k = int(present.sum())
        else:  # both range and IQR: the style picks which to print
            r = _stats().median_range(present.to_numpy())
            med, lo, hi = r.median, r.minimum, r.maximum
            q = _stats().median_iqr(present.to_numpy())
            q1, q3 = q.q1, q.q3
        groups.append(GroupResult(label=group.label, n=len(present),
                                  n_missing=n_missing, median=med, minimum=lo,
                                  maximum=hi, count=k, q1=q1, q3=q3,
                                  patients=tuple(map(str, present.index.tolist()))))

    statistic = pvalue = None
    method, detail, n, note = "", {}, None, spec.note
    arrays = [s.to_numpy(dtype=float) for s in series]
    try:
        result: Any = None
        if spec.test == "wilcoxon":
            result = _stats().wilcoxon_signed_rank(arrays[0], arrays[1], method=spec.method,
                                                   zero_method=spec.zero_method)
        elif spec.test == "mann_whitney":
            result = _stats().mann_whitney_u(arrays[0], arrays[1], method=spec.method)
        elif spec.test == "fisher":
            present = [a[~np.isnan(a)] for a in arrays]
            if sum(len(a) > 0 for a in present) < 2:
                raise StatisticsError("fewer than two groups have patients with a known value")
            table = [[int(a.sum()), int(len(a) - a.sum())] for a in present]
            result = _stats().fisher_exact(table)
            if len(table) == 2:
                diff = _stats().proportion_difference(table[0][0], len(present[0]), table[1][0],
                                             len(present[1]))
                detail_diff = diff.to_dict()  # printed under the comparison by render
        elif spec.test == "mcnemar":
            result = _stats().mcnemar(arrays[0], arrays[1])
    except StatisticsError as exc:
        method = f"not computed: {exc}"
        result = None
    if result is not None:
        statistic, pvalue, method = result.statistic, result.pvalue, result.method
        n, detail = result.n, result.to_dict()
        if spec.test == "fisher" and len(series) == 2:
            detail["difference"] = detail_diff
    missing_note = ""
    if any(unknown):
        left = ", ".join(f"{g.label} {g.n_missing}" for g in groups)
        pairs = (" Only patients with a known value in both groups are compared."
                 if spec.paired else "")
        missing_note = f"Not recorded (left out; n counts known values): {left}.{pairs}"
    return ComparisonResult(
        id=spec.id, title=spec.title, variable=spec.variable, paired=spec.paired,
        groups=tuple(groups), test=spec.test, statistic=statistic, pvalue=pvalue,
        p_text="", method=method, n=n, detail=detail, unit=spec.unit, section=spec.section,
        note=note, summary="n (%)" if binary else "{summary}", missing_note=missing_note,
        decimals=spec.decimals, display=missing)


def plan_problems(plan: Plan, columns: Iterable[str]) -> list[str]:
    """Every variable the plan names that the analysis frame does not have, with its place."""
    known = set(columns)
    problems = []

    def check(name: str, where: str) -> None:
        if name and name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            problems.append(f"{where}: unknown variable '{name}'{hint}")

    for table in plan.tables:
        for column in table.columns:
            for name in column.subset.where:
                check(name, f"table '{table.id}', column '{column.id}' where")
        for row in table.rows:
            check(row.variable or "", f"table '{table.id}', row '{row.label}'")
            check(row.event, f"table '{table.id}', row '{row.label}' event")
            for name in row.subset.where:
                check(name, f"table '{table.id}', row '{row.label}' where")
    for comparison in plan.comparisons:
        check(comparison.variable, f"comparison '{comparison.id}'")
        for group in comparison.groups:
            for name in group.subset.where:
                check(name, f"comparison '{comparison.id}', group '{group.label}' where")
    for figure in plan.figures:
        for key in ("variable", "time", "event", "stratify", "group"):
            value = figure.params.get(key)
            if isinstance(value, str):
                check(value, f"figure '{figure.id}' {key}")
    for analysis in plan.analyses:
        for name in analysis.variables():
            check(name, f"analysis '{analysis.id}'")
    return problems


def analyze(frame: AnalysisFrame | pd.DataFrame, plan: Plan, *, style: str | None = None,
            options: DeriveOptions | None = None) -> Results:
    """Run every table and comparison of ``plan`` over the analysis ``frame``.

    ``frame`` is the derive stage's :class:`~reinfuse.derive.AnalysisFrame` (its options
    are then the default of ``options``; the Results keep it, for the render stage) or a
    bare analysis frame.

    The Results hold numbers (estimates, counts, denominators, unknowns, CIs, p-values,
    method sentences), not printed text: the render stage prints them in a journal style
    (``style``, default the plan's: ``seed``, ``jama``, ``nejm``, ``lancet``; recorded in
    ``Results.options``). A ``median`` row computes both the range and the IQR; the style
    picks which to print, and ``{summary}`` in labels is filled at render time.
    ``options`` are the derivation options the frame was made with (by default the plan's
    ``[plan.derive]``); labels and footnotes may quote them: ``{remission_censoring}`` and
    ``{efs_censoring}`` (:func:`censoring_phrase`), ``{neurotox_severe}`` (severe
    neurotoxicity by scale).
    """
    source = frame if isinstance(frame, AnalysisFrame) else None
    if isinstance(frame, AnalysisFrame):
        options = options if options is not None else frame.options
        frame = frame.frame
    chosen = get_style(style or plan.style)
    problems = plan_problems(plan, frame.columns)
    if problems:  # all of them at once, not one per run
        raise PlanError(f"{plan.source}: " + "; ".join(problems) + ". The variables are the "
                        "columns of the analysis frame (docs/derived-variables.md).")
    population = population_frame(frame, plan)
    n_patients = int(population["patient_id"].nunique())
    fill = {f"label{k}": v for k, v in plan.infusion_labels.items()}
    fill["n_patients"] = str(n_patients)
    chosen_options = options if options is not None else plan.derive_options()
    fill["remission_censoring"] = censoring_phrase(chosen_options, "remission")
    fill["efs_censoring"] = censoring_phrase(chosen_options, "efs")
    fill["neurotox_severe"] = (
        f"grade {chosen_options.severe_neurotox_min_grade_ctcae} or above by CTCAE, "
        f"{chosen_options.severe_neurotox_min_grade_icans} or above by ICANS")
    computed = {spec.id: compute_table(population, spec, fill, plan.missing)
                for spec in plan.tables if not spec.merge}
    tables = tuple(merge_tables(spec, [computed[m] for m in spec.merge], fill)
                   if spec.merge else computed[spec.id] for spec in plan.tables)
    comparisons = tuple(compute_comparison(population, spec, fill, plan.missing)
                        for spec in plan.comparisons)
    # The Kaplan-Meier fits that kaplan_meier figures draw (the figures never re-estimate).
    estimates: dict[str, Any] = {
        spec.id: kaplan_meier_figure_estimates(population, spec.id, spec.params,
                                               plan.infusion_labels)
        for spec in plan.figures if spec.kind == "kaplan_meier"}
    analyses: tuple[AnalysisResult, ...] = ()
    if plan.analyses:
        from reinfuse.analyses import compute_analysis

        sheets = source.cohort.tables if source is not None and source.cohort else {}
        analyses = tuple(compute_analysis(select(population, spec.subset,
                                                 where=f"analysis '{spec.id}'"), spec,
                                          plan.infusion_labels, sheets)
                         for spec in plan.analyses)
    return Results(plan_id=plan.id, plan_version=plan.version, plan_sha256=plan.sha256,
                   population=plan.population, n_patients=n_patients, tables=tables,
                   comparisons=comparisons, options={"alpha": plan.alpha, "style": chosen.name,
                            "missing": plan.missing},
                   n_cohort_patients=int(frame["patient_id"].nunique()),
                   plan=plan, source=source, figure_estimates=estimates, analyses=analyses)
