"""The analysis plan: a declarative, versioned TOML file that says what to compute.

A plan names the population, the tables (columns = subsets of infusions, rows = summaries
of analysis-frame variables), the comparisons (a variable in two groups, with a test) and
the figures. Nothing is guessed from the data: every grouping, denominator and test is
written in the plan and recorded in the results.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from reinfuse.errors import PlanError
from reinfuse.options import DeriveOptions, Prefer

PLAN_FORMAT_VERSION = 1

RowStat = Literal["header", "n", "median", "median_range", "median_iqr", "count", "levels",
                  "km_median"]
TestName = Literal["wilcoxon", "mann_whitney", "fisher", "mcnemar", "none"]
Population = Literal["reinfused", "all"]
MissingDisplay = Literal["row", "denominator"]

_ROW_STATS = ("header", "n", "median", "median_range", "median_iqr", "count", "levels",
              "km_median")
_CI_METHODS = ("", "clopper-pearson", "wilson", "distribution-free")
_TESTS = ("wilcoxon", "mann_whitney", "fisher", "mcnemar", "none")
_MISSING = ("row", "denominator")


@dataclass(frozen=True)
class Level:
    """One category of a ``levels`` row: values to match, or a numeric interval."""

    label: str
    values: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Subset:
    """Which infusions a table column, row or comparison group covers."""

    infusion: int | None = None
    where: Mapping[str, tuple[Any, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ColumnSpec:
    """A table column."""

    id: str
    label: str
    subset: Subset


@dataclass(frozen=True)
class RowSpec:
    """A table row (``levels`` rows expand to one line per level)."""

    label: str
    stat: RowStat
    variable: str | None = None
    levels: tuple[Level, ...] = ()
    subset: Subset = Subset()
    columns: tuple[str, ...] = ()
    decimals: int | None = None
    denominator: Literal["column", "non_missing"] = "non_missing"
    show_missing: bool = True
    hide_empty: bool = False
    indent: int = 0
    ci: str = ""
    event: str = ""
    footnote: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A summary table."""

    id: str
    title: str
    columns: tuple[ColumnSpec, ...]
    rows: tuple[RowSpec, ...]
    footnotes: tuple[str, ...] = ()
    section: str = ""
    #: Add a p-value column comparing ``p_columns`` (default: every column), as
    #: gtsummary's ``add_p()`` does (docs/analysis-plan.md).
    p_value: bool = False
    p_columns: tuple[str, ...] = ()
    #: Tables printed side by side in this one, as gtsummary's ``tbl_merge()``: their ids
    #: and a spanning label per table (default their titles).
    merge: tuple[str, ...] = ()
    spanners: tuple[str, ...] = ()
    #: False: computed (results.json, tables/) but not printed in the report, e.g. the
    #: parts of a merged table.
    show: bool = True


@dataclass(frozen=True)
class GroupSpec:
    """One side of a comparison."""

    label: str
    subset: Subset


@dataclass(frozen=True)
class ComparisonSpec:
    """A variable compared between two groups (paired by patient or unpaired)."""

    id: str
    title: str
    variable: str
    groups: tuple[GroupSpec, ...]
    paired: bool
    test: TestName
    method: str = "auto"
    zero_method: str = "wilcox"
    unit: str = ""
    decimals: int | None = None
    section: str = ""
    note: str = ""


@dataclass(frozen=True)
class FigureSpec:
    """A figure: its kind names a function in :mod:`reinfuse.figures`."""

    id: str
    kind: str
    title: str
    caption: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    section: str = ""


AnalysisKind = Literal["survival_by_group", "cox", "cumulative_incidence", "group_test",
                       "kinetics"]
_ANALYSIS_KINDS = ("survival_by_group", "cox", "cumulative_incidence", "group_test",
                   "kinetics")
_ANALYSIS_ENDPOINTS = ("remission", "efs", "os")
_GROUP_TESTS = ("kruskal_wallis", "jonckheere_terpstra", "chi_square", "fisher")
_ADJUSTMENTS = ("holm", "bonferroni", "bh")
_COMPETING = ("death", "hsct", "next_infusion")
_ANALYSIS_KEYS: Mapping[str, tuple[str, ...]] = {
    "survival_by_group": ("endpoint", "group", "strata", "order", "times", "landmark_day",
                          "time_unit", "figure"),
    "cox": ("endpoint", "covariates", "reference", "strata", "landmark_day", "low_epv"),
    "cumulative_incidence": ("endpoint", "group", "order", "competing", "times", "time_unit",
                             "figure"),
    "group_test": ("variable", "group", "test", "order", "adjustment", "decimals"),
    "kinetics": ("compartment", "unit", "lod", "window", "first", "second", "fit", "figure",
                 "max_patients"),
}


@dataclass(frozen=True)
class AnalysisSpec:
    """An analysis of the plan's ``[[analyses]]``: survival by group, Cox model, cumulative
    incidence with competing risks, or a test across several groups (docs/analysis-plan.md).

    Attributes
    ----------
    kind
        ``survival_by_group`` (Kaplan-Meier per group, log-rank or stratified log-rank),
        ``cox`` (proportional-hazards model), ``cumulative_incidence`` (Aalen-Johansen,
        relapse with competing events), ``group_test`` (Kruskal-Wallis with Dunn,
        Jonckheere-Terpstra, chi-square or Fisher-Freeman-Halton, with effect sizes).
    subset
        Which infusions (``infusion`` and ``where``, as a table column).
    endpoint
        ``remission``, ``efs`` or ``os`` (reinfuse.variables.ENDPOINTS).
    group, strata, variable, covariates, reference
        Analysis-frame columns; ``reference`` maps a categorical covariate to its
        reference level.
    order
        Group order (and the ordering of ``jonckheere_terpstra``).
    times
        Days at which numbers at risk or cumulative incidences are printed.
    landmark_day
        Keep infusions followed past this day and measure time from it.
    competing
        Censorings of remission counted as competing events (``death``, ``hsct``,
        ``next_infusion``); the others stay censorings.
    compartment, unit, lod, window, first, second, fit, max_patients
        ``kinetics``: the ``car_counts`` rows analysed (blood, cells per uL), the limit of
        detection, the NCA window (days 0-28), the infusions compared paired (1 and 2),
        whether the Stein model is fitted per curve (default true), and the patients
        drawn in the figure (12).
    low_epv
        A Cox model with fewer than 10 events per variable (Peduzzi et al., J Clin
        Epidemiol 1995;48:1503-1510) is refused (``"refuse"``, default, the reason
        printed) or fitted with the warning printed (``"warn"``).
    """

    id: str
    kind: AnalysisKind
    title: str
    subset: Subset = Subset()
    endpoint: str = ""
    group: str = ""
    strata: str = ""
    variable: str = ""
    covariates: tuple[str, ...] = ()
    reference: Mapping[str, Any] = field(default_factory=dict, hash=False)
    test: str = ""
    order: tuple[Any, ...] = ()
    adjustment: str = "holm"
    times: tuple[float, ...] = ()
    landmark_day: float | None = None
    competing: tuple[str, ...] = ("death", "hsct")
    time_unit: str = "days"
    figure: bool = False
    decimals: int | None = None
    low_epv: str = "refuse"
    compartment: str = "blood"
    unit: str = "cells_per_ul"
    lod: float | None = None
    window: tuple[float, float] = (0.0, 28.0)
    first: int = 1
    second: int = 2
    fit: bool = True
    max_patients: int = 12
    section: str = ""
    note: str = ""

    def variables(self) -> tuple[str, ...]:
        """The analysis-frame columns it reads (for ``plan --check``)."""
        named = [self.group, self.strata, self.variable, *self.covariates,
                 *self.subset.where]
        return tuple(n for n in named if n)


@dataclass(frozen=True)
class Plan:
    """A whole analysis plan, with the text it was read from and its SHA-256."""

    id: str
    version: str
    title: str
    population: Population
    infusion_labels: Mapping[int, str]
    alpha: float
    style: str
    source_population: int | None
    derive: Mapping[str, Any]
    tables: tuple[TableSpec, ...]
    comparisons: tuple[ComparisonSpec, ...]
    figures: tuple[FigureSpec, ...]
    abbreviations: Mapping[str, str]
    text: str
    sha256: str
    source: str
    missing: MissingDisplay = "row"
    analyses: tuple[AnalysisSpec, ...] = ()

    def derive_options(self, *, prefer: Prefer | None = None) -> DeriveOptions:
        """The plan's ``[plan.derive]`` definitions as :class:`DeriveOptions`.

        ``prefer`` (the command line's ``--prefer``) overrides the plan's ``prefer``.

        Raises
        ------
        PlanError
            Every unknown option or wrong value at once.
        """
        values = dict(self.derive)
        if prefer is not None:
            values["prefer"] = prefer
        return DeriveOptions.from_mapping(values, where=f"{self.source}: plan.derive")

    def label(self, infusion: int) -> str:
        """Display name of an infusion number (``CART2``), or ``infusion N``."""
        return self.infusion_labels.get(infusion, f"infusion {infusion}")


# --- parsing -------------------------------------------------------------------------------

class _Reader:
    """Reads one TOML table, collecting the path of each key for error messages."""

    def __init__(self, data: Mapping[str, Any], where: str, source: str) -> None:
        self.data = data
        self.where = where
        self.source = source
        if not isinstance(data, Mapping):
            self.fail(f"expected a table, got {type(data).__name__}")

    def fail(self, message: str) -> None:
        raise PlanError(f"{self.source}: {self.where}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                self.fail(f"'{key}' is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(
                k.__name__ for k in kind)
            self.fail(f"'{key}' must be {names}, got {value!r}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> Any:
        value = self.get(key, str, default)
        if value not in allowed and not (default is not ... and value == default):
            self.fail(f"'{key}' is {value!r}; allowed: {', '.join(allowed)}")
        return value

    def only(self, *allowed: str) -> None:
        """Refuse keys the format does not know (a typo would otherwise be ignored)."""
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")

    def child(self, value: Any, where: str) -> _Reader:
        return _Reader(value, f"{self.where}.{where}", self.source)


def _subset(reader: _Reader) -> Subset:
    where = reader.get("where", dict, {})
    clean: dict[str, tuple[Any, ...]] = {}
    for column, values in where.items():
        if not isinstance(values, list):
            values = [values]
        clean[column] = tuple(values)
    infusion = reader.get("infusion", int, None)
    return Subset(infusion=infusion, where=clean)


def _levels(reader: _Reader) -> tuple[Level, ...]:
    out = []
    for i, item in enumerate(reader.get("levels", list, [])):
        sub = reader.child(item, f"levels[{i}]")
        sub.only("label", "values", "min", "max")
        values = sub.get("values", list, [])
        out.append(Level(label=sub.get("label", str), values=tuple(values),
                         minimum=sub.get("min", (int, float), None),
                         maximum=sub.get("max", (int, float), None)))
    return tuple(out)


def _row(reader: _Reader) -> RowSpec:
    reader.only("label", "stat", "variable", "levels", "infusion", "where", "columns",
                "decimals", "denominator", "show_missing", "hide_empty", "indent", "ci",
                "event", "footnote")
    stat = reader.choice("stat", _ROW_STATS)
    variable = reader.get("variable", str, None)
    if stat not in ("header", "n") and variable is None:
        reader.fail(f"a '{stat}' row needs a 'variable'")
    levels = _levels(reader)
    if stat == "levels" and not levels:
        reader.fail("a 'levels' row needs 'levels'")
    if stat == "km_median" and not reader.data.get("event"):
        reader.fail("a 'km_median' row needs 'event' (the yes/no event column)")
    return RowSpec(
        label=reader.get("label", str), stat=stat, variable=variable, levels=levels,
        subset=_subset(reader), columns=tuple(reader.get("columns", list, [])),
        decimals=reader.get("decimals", int, None),
        denominator=reader.choice("denominator", ("column", "non_missing"), "non_missing"),
        show_missing=reader.get("show_missing", bool, True),
        hide_empty=reader.get("hide_empty", bool, False),
        indent=reader.get("indent", int, 0),
        ci=reader.choice("ci", _CI_METHODS, ""),
        event=reader.get("event", str, ""),
        footnote=reader.get("footnote", str, ""),
    )


def _merged_table(reader: _Reader) -> TableSpec:
    reader.only("id", "title", "merge", "spanners", "footnotes", "section", "show")
    merge = reader.get("merge", list)
    if len(merge) < 2 or not all(isinstance(m, str) for m in merge):
        reader.fail(f"'merge' must list at least two table ids, got {merge!r}")
    spanners = reader.get("spanners", list, [])
    if spanners and len(spanners) != len(merge):
        reader.fail(f"'spanners' must give one label per merged table ({len(merge)}), got "
                    f"{len(spanners)}")
    return TableSpec(id=reader.get("id", str), title=reader.get("title", str), columns=(),
                     rows=(), footnotes=tuple(reader.get("footnotes", list, [])),
                     section=reader.get("section", str, ""), merge=tuple(merge),
                     spanners=tuple(str(x) for x in spanners),
                     show=reader.get("show", bool, True))


def _table(reader: _Reader) -> TableSpec:
    if "merge" in reader.data:
        return _merged_table(reader)
    reader.only("id", "title", "columns", "rows", "footnotes", "section", "p_value",
                "p_columns", "show")
    columns = []
    for i, item in enumerate(reader.get("columns", list)):
        sub = reader.child(item, f"columns[{i}]")
        sub.only("id", "label", "infusion", "where")
        columns.append(ColumnSpec(id=sub.get("id", str), label=sub.get("label", str),
                                  subset=_subset(sub)))
    ids = [c.id for c in columns]
    rows = []
    for i, item in enumerate(reader.get("rows", list)):
        row = _row(reader.child(item, f"rows[{i}]"))
        unknown = [c for c in row.columns if c not in ids]
        if unknown:
            reader.fail(f"rows[{i}] names unknown column(s) {unknown}; columns are {ids}")
        rows.append(row)
    p_columns = tuple(reader.get("p_columns", list, []))
    unknown = [c for c in p_columns if c not in ids]
    if unknown:
        reader.fail(f"'p_columns' names unknown column(s) {unknown}; columns are {ids}")
    p_value = reader.get("p_value", bool, False)
    if p_value and len(p_columns or ids) < 2:
        reader.fail("'p_value' needs at least two columns to compare")
    return TableSpec(id=reader.get("id", str), title=reader.get("title", str),
                     columns=tuple(columns), rows=tuple(rows),
                     footnotes=tuple(reader.get("footnotes", list, [])),
                     section=reader.get("section", str, ""), p_value=p_value,
                     p_columns=p_columns, show=reader.get("show", bool, True))


def _comparison(reader: _Reader) -> ComparisonSpec:
    reader.only("id", "title", "variable", "groups", "paired", "test", "method", "zero_method",
                "unit", "decimals", "section", "note")
    groups = reader.get("groups", list)
    test = reader.choice("test", _TESTS)
    if len(groups) != 2 and not (test == "fisher" and len(groups) > 2):
        reader.fail(f"'groups' must list exactly two groups (more only for test = 'fisher'), "
                    f"got {len(groups)}")
    specs = []
    for i, item in enumerate(groups):
        sub = reader.child(item, f"groups[{i}]")
        sub.only("label", "infusion", "where")
        specs.append(GroupSpec(label=sub.get("label", str), subset=_subset(sub)))
    return ComparisonSpec(
        id=reader.get("id", str), title=reader.get("title", str),
        variable=reader.get("variable", str), groups=tuple(specs),
        paired=reader.get("paired", bool), test=test,
        method=reader.get("method", str, "auto"),
        zero_method=reader.choice("zero_method", ("wilcox", "pratt"), "wilcox"),
        unit=reader.get("unit", str, ""), decimals=reader.get("decimals", int, None),
        section=reader.get("section", str, ""), note=reader.get("note", str, ""),
    )


def _numbers(reader: _Reader, key: str) -> tuple[float, ...]:
    values = reader.get(key, list, [])
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
               for v in values):
        reader.fail(f"'{key}' must be a list of numbers >= 0 (days), got {values!r}")
    return tuple(float(v) for v in values)


def _window(reader: _Reader) -> tuple[float, float]:
    window = _numbers(reader, "window") or (0.0, 28.0)
    if len(window) != 2 or window[0] > window[1]:
        reader.fail(f"'window' must be [first day, last day], got {list(window)!r}")
    return window[0], window[1]


def _analysis(reader: _Reader) -> AnalysisSpec:
    kind = reader.choice("kind", _ANALYSIS_KINDS)
    reader.only("id", "kind", "title", "section", "note", "infusion", "where",
                *_ANALYSIS_KEYS[kind])
    endpoint = ""
    if kind not in ("group_test", "kinetics"):
        endpoint = reader.choice("endpoint", _ANALYSIS_ENDPOINTS,
                                 "remission" if kind == "cumulative_incidence" else ...)
        if kind == "cumulative_incidence" and endpoint != "remission":
            reader.fail("a 'cumulative_incidence' analysis is of relapse during remission: "
                        "'endpoint' must be 'remission' (death and transplant compete)")
    group = reader.get("group", str, "")
    if kind in ("survival_by_group", "group_test") and not group:
        reader.fail(f"a '{kind}' analysis needs 'group' (the column whose values are the "
                    "groups)")
    covariates = tuple(reader.get("covariates", list, []))
    if kind == "cox" and (not covariates or not all(isinstance(c, str) for c in covariates)):
        reader.fail("a 'cox' analysis needs 'covariates': a list of column names")
    test = ""
    if kind == "group_test":
        test = reader.choice("test", _GROUP_TESTS)
        if not reader.get("variable", str, ""):
            reader.fail("a 'group_test' analysis needs 'variable'")
    order = tuple(reader.get("order", list, []))
    if test == "jonckheere_terpstra" and len(order) < 2:
        reader.fail("'jonckheere_terpstra' needs 'order': the groups from lowest to highest")
    competing = tuple(reader.get("competing", list, ["death", "hsct"]))
    unknown = [c for c in competing if c not in _COMPETING]
    if unknown:
        reader.fail(f"'competing' has {unknown}; allowed: {', '.join(_COMPETING)}")
    landmark_day = reader.get("landmark_day", (int, float), None)
    if landmark_day is not None and (isinstance(landmark_day, bool) or landmark_day < 0):
        reader.fail(f"'landmark_day' must be a day >= 0, got {landmark_day!r}")
    reference = reader.get("reference", dict, {})
    extra = sorted(set(reference) - set(covariates))
    if extra:
        reader.fail(f"'reference' names {extra}, which are not among 'covariates'")
    return AnalysisSpec(
        id=reader.get("id", str), kind=kind, title=reader.get("title", str),
        subset=_subset(reader), endpoint=endpoint, group=group,
        strata=reader.get("strata", str, ""), variable=reader.get("variable", str, ""),
        covariates=covariates, reference=reference, test=test, order=order,
        adjustment=reader.choice("adjustment", _ADJUSTMENTS, "holm"),
        times=_numbers(reader, "times"),
        landmark_day=None if landmark_day is None else float(landmark_day),
        competing=competing, time_unit=reader.choice("time_unit", ("days", "months"), "days"),
        figure=reader.get("figure", bool, False), decimals=reader.get("decimals", int, None),
        low_epv=reader.choice("low_epv", ("refuse", "warn"), "refuse"),
        compartment=reader.choice("compartment", ("blood", "csf", "marrow"), "blood"),
        unit=reader.choice("unit", ("cells_per_ul", "percent_of_t_cells", "percent_of_cells"),
                           "cells_per_ul"),
        lod=None if reader.get("lod", (int, float), None) is None
        else float(reader.data["lod"]),
        window=_window(reader), first=reader.get("first", int, 1),
        second=reader.get("second", int, 2), fit=reader.get("fit", bool, True),
        max_patients=reader.get("max_patients", int, 12),
        section=reader.get("section", str, ""), note=reader.get("note", str, ""))


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Parse and check a plan's TOML text.

    Raises
    ------
    PlanError
        With the file, the key path (``tables[0].rows[3]``) and what is wrong.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: not valid TOML ({exc}).") from exc
    top = _Reader(data, "plan", source)
    top.only("plan", "tables", "comparisons", "figures", "analyses", "abbreviations")
    head = top.child(top.get("plan", dict), "plan") if "plan" in data else top.child({}, "plan")
    head.only("format", "id", "version", "title", "population", "alpha", "style",
              "source_population", "infusion_labels", "derive", "missing")
    fmt = head.get("format", int, PLAN_FORMAT_VERSION)
    if fmt != PLAN_FORMAT_VERSION:
        head.fail(f"format {fmt} is not supported (this reinfuse reads format "
                  f"{PLAN_FORMAT_VERSION})")
    labels_raw = head.get("infusion_labels", dict, {})
    labels: dict[int, str] = {}
    for key, value in labels_raw.items():
        if not str(key).isdigit() or not isinstance(value, str):
            head.fail(f"infusion_labels must map infusion numbers to names, got {key!r}")
        labels[int(key)] = value
    tables = tuple(_table(top.child(t, f"tables[{i}]"))
                   for i, t in enumerate(top.get("tables", list, [])))
    comparisons = tuple(_comparison(top.child(c, f"comparisons[{i}]"))
                        for i, c in enumerate(top.get("comparisons", list, [])))
    figures = []
    for i, item in enumerate(top.get("figures", list, [])):
        sub = top.child(item, f"figures[{i}]")
        params = {k: v for k, v in item.items()
                  if k not in ("id", "kind", "title", "caption", "section")}
        figures.append(FigureSpec(id=sub.get("id", str), kind=sub.get("kind", str),
                                  title=sub.get("title", str), caption=sub.get("caption", str),
                                  params=params, section=sub.get("section", str, "")))
    plain_ids = {t.id for t in tables if not t.merge}
    for i, t in enumerate(tables):
        unknown = [m for m in t.merge if m not in plain_ids]
        if unknown:
            top.child({}, f"tables[{i}]").fail(
                f"'merge' names {unknown}, which are not tables of the plan (a merged table "
                f"cannot be merged again); tables are {sorted(plain_ids)}")
    analyses = tuple(_analysis(top.child(a, f"analyses[{i}]"))
                     for i, a in enumerate(top.get("analyses", list, [])))
    ids = ([t.id for t in tables] + [c.id for c in comparisons] + [f.id for f in figures]
           + [a.id for a in analyses])
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        top.fail(f"ids must be unique; repeated: {', '.join(dupes)}")
    return Plan(
        id=head.get("id", str, "custom"), version=str(head.get("version", (str, int), "1")),
        title=head.get("title", str, "CAR T-cell reinfusion analysis"),
        population=head.choice("population", ("reinfused", "all"), "reinfused"),
        infusion_labels=labels, alpha=float(head.get("alpha", (int, float), 0.05)),
        style=head.get("style", str, "seed"),
        source_population=head.get("source_population", int, None),
        derive=head.get("derive", dict, {}),
        tables=tables, comparisons=comparisons, figures=tuple(figures),
        abbreviations=top.get("abbreviations", dict, {}),
        text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), source=source,
        missing=head.choice("missing", _MISSING, "row"), analyses=analyses,
    )


def default_plan_text() -> str:
    """The text of the default plan (the seed study's analysis)."""
    return (files("reinfuse.plan") / "seed_study.toml").read_text(encoding="utf-8")


def default_plan() -> Plan:
    """The default plan: the seed reinfusion study."""
    return parse_plan(default_plan_text(), source="default plan (seed_study.toml)")


def load_plan(path: str | Path | None = None) -> Plan:
    """Read a plan file, or the default plan when ``path`` is None."""
    if path is None:
        return default_plan()
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"{path}: no such plan file. Write the default one with "
                        "`reinfuse plan --default > plan.toml` and edit it.")
    return parse_plan(path.read_text(encoding="utf-8"), source=str(path))
