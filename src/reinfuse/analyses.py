"""The plan's ``[[analyses]]``: survival by group, Cox models, competing risks, several groups.

Each analysis is computed by the statistics package (:mod:`reinfuse.stats`, checked
against R's survival, cmprsk-style definitions, PMCMRplus/clinfun and pingouin; see its
reference files) on the infusions a subset selects, and returned as an
:class:`AnalysisResult`: numbers only (counts, estimates with limits, test statistics,
p-values, method sentences). The render stage prints them in the report's style
(``reinfuse.report``); figures draw the estimates kept in ``Results.figure_estimates``.

An analysis the data cannot support (one group only, too few events per variable in a Cox
model, no infusion with the endpoint) is not an error: its result carries ``refused``, the
reason in words, and the report prints that sentence instead of numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reinfuse._plain import to_plain
from reinfuse.errors import StatisticsError
from reinfuse.plan import AnalysisSpec
from reinfuse.variables import ENDPOINTS

__all__ = ["DAYS_PER_MONTH", "AnalysisCell", "AnalysisResult", "AnalysisRow", "TestLine",
           "compute_analysis"]

#: Days in a month when times print in months: the mean Gregorian month (365.25 / 12),
#: as on the swimmer figure's months axis; days stay the unit of every stored number.
DAYS_PER_MONTH = 365.25 / 12

#: Cause codes of a cumulative incidence (0 = censored).
_CAUSES = {"relapse": 1, "death": 2, "hsct": 3, "next_infusion": 4}
_CAUSE_NAMES = {"relapse": "relapse", "death": "death in remission",
                "hsct": "consolidative transplant", "next_infusion": "next infusion"}
#: How a censoring source of remission reads in the "Censored:" note.
_CENSORED_NAMES = {"death": "death", "hsct": "consolidative transplant",
                   "next_infusion": "the next infusion"}


@dataclass(frozen=True)
class AnalysisCell:
    """One printed cell's numbers; ``kind`` says how the render stage prints them.

    ``count`` (an integer), ``number`` (with ``decimals``), ``estimate_ci`` (value with
    ``low``-``high``), ``percent_ci`` (a proportion 0-1 with its limits), ``n_percent``
    (``value`` of ``n``), ``p`` (a p-value), ``text`` (words, e.g. "not reached").
    """

    kind: str
    value: Any = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    decimals: int | None = None
    text: str = ""


@dataclass(frozen=True)
class AnalysisRow:
    """A printed row: its label and one cell per column."""

    label: str
    cells: tuple[AnalysisCell, ...]
    indent: int = 0


@dataclass(frozen=True)
class TestLine:
    """A test printed under the table: statistic, degrees of freedom, p and the method."""

    name: str
    statistic: float | None
    df: float | None
    pvalue: float | None
    method: str
    effect: str = ""
    effect_value: float | None = None
    text: str = ""
    symbol: str = "statistic"


@dataclass(frozen=True)
class AnalysisResult:
    """A computed analysis: numbers only (the render stage prints them)."""

    id: str
    kind: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[AnalysisRow, ...]
    tests: tuple[TestLine, ...]
    method: str
    n: int
    n_missing: int
    section: str = ""
    refused: str = ""
    notes: tuple[str, ...] = ()
    time_unit: str = "days"
    #: The estimates the analysis's figure draws (not written to results.json).
    estimates: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for results.json (the figure's estimates left out)."""
        return {k: to_plain(getattr(self, k)) for k in self.__dataclass_fields__
                if k != "estimates"}


def _labels(values: pd.Series, names: Mapping[int, str] | None = None) -> pd.Series:
    """Group values as text labels; missing stays missing (never a group of its own).
    ``names`` prints infusion numbers by the plan's labels (1 -> CART1)."""
    known = values.notna().to_numpy(dtype=bool)
    if names and values.name == "infusion":
        def name(v: Any) -> str:
            return v if isinstance(v, str) else names.get(int(v), f"infusion {v}")
    else:
        def name(v: Any) -> str:
            if isinstance(v, str):
                return v
            if isinstance(v, bool | np.bool_):
                return "yes" if v else "no"
            return f"{v:g}" if isinstance(v, float) else str(v)
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    present = values[known].astype(object)
    mapping = {v: name(v) for v in pd.unique(present)}  # once per distinct value
    out[known] = present.map(mapping).to_numpy()
    return out


def _order(spec: AnalysisSpec, labels: pd.Series) -> list[str] | None:
    if not spec.order:
        return None
    wanted = [str(o) if not isinstance(o, bool) else ("yes" if o else "no")
              for o in spec.order]
    present = set(labels.dropna())
    missing = sorted(present - set(wanted))
    if missing:
        raise StatisticsError(f"'order' does not list the group(s) {missing}; list every "
                              "group of the column")
    return wanted


def _day_label(day: float, unit: str) -> str:
    if unit == "months":
        return f"month {day / DAYS_PER_MONTH:.3g}"
    return f"day {day:g}"


def _refused(spec: AnalysisSpec, reason: str, n: int = 0, n_missing: int = 0,
             method: str = "") -> AnalysisResult:
    return AnalysisResult(id=spec.id, kind=spec.kind, title=spec.title, columns=(),
                          rows=(), tests=(), method=method, n=n, n_missing=n_missing,
                          section=spec.section, refused=reason,
                          notes=(spec.note,) if spec.note else (), time_unit=spec.time_unit)


def _endpoint(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.Series, pd.Series, str]:
    endpoint = ENDPOINTS[spec.endpoint]
    return (frame[endpoint.time].astype("float64"),
            frame[endpoint.event].astype("Float64").astype("float64"), endpoint.title)


def _landmarked(spec: AnalysisSpec, durations: pd.Series, events: pd.Series,
                frame: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.DataFrame, str]:
    """Durations from the landmark for the infusions still followed past it."""
    if spec.landmark_day is None:
        return durations, events, frame, ""
    from reinfuse.stats import landmark

    lm = landmark(durations.to_numpy(), events.to_numpy(), spec.landmark_day)
    kept = frame.iloc[lm.index]
    note = (f"Landmark at day {spec.landmark_day:g}: {lm.n} infusion(s) still followed "
            f"after it are analysed from the landmark; {lm.n_event_before} with an event "
            f"and {lm.n_censored_before} censored by then are left out.")
    return (pd.Series(lm.durations, index=kept.index), pd.Series(lm.events, index=kept.index),
            kept, note)


def _median_cell(curve: Any, unit: str) -> AnalysisCell:
    scale = DAYS_PER_MONTH if unit == "months" else 1.0
    if not curve.median_reached:
        return AnalysisCell("text", text="not reached")
    low = None if curve.median_ci_low is None else curve.median_ci_low / scale
    high = None if curve.median_ci_high is None else curve.median_ci_high / scale
    return AnalysisCell("estimate_ci", value=curve.median / scale, low=low, high=high,
                        decimals=0 if unit == "days" else 1)


def _survival_by_group(frame: pd.DataFrame, spec: AnalysisSpec) -> AnalysisResult:
    from reinfuse.stats import kaplan_meier_by_group, logrank_test_groups

    durations, events, title = _endpoint(frame, spec)
    durations, events, frame, landmark_note = _landmarked(spec, durations, events, frame)
    groups = _labels(frame[spec.group])
    order = _order(spec, groups)
    times = list(spec.times)
    km = kaplan_meier_by_group(durations.to_numpy(), events.to_numpy(), groups.to_numpy(),
                               at_risk_times=times or None, order=order)
    unit = spec.time_unit
    columns = ["n", "Events, n", f"Median, {unit} (95% CI)"]
    columns += [f"At risk, {_day_label(t, unit)}" for t in times]
    rows = []
    for g in km.groups:
        curve = km.curves.get(g)
        if curve is None:
            rows.append(AnalysisRow(g, tuple(AnalysisCell("count", value=0) for _ in columns)))
            continue
        cells = [AnalysisCell("count", value=curve.n), AnalysisCell("count",
                                                                  value=curve.n_events),
                 _median_cell(curve, unit)]
        at_risk = {row.time: row.n_at_risk.get(g, 0) for row in km.at_risk}
        cells += [AnalysisCell("count", value=at_risk.get(t, 0)) for t in times]
        rows.append(AnalysisRow(g, tuple(cells)))
    tests = []
    try:
        strata = (_labels(frame[spec.strata]).to_numpy() if spec.strata else None)
        lr = logrank_test_groups(durations.to_numpy(), events.to_numpy(), groups.to_numpy(),
                                 strata=strata, order=order)
        name = (f"Log-rank test stratified by {spec.strata}" if spec.strata
                else "Log-rank test")
        tests.append(TestLine(name, lr.statistic, lr.df, lr.pvalue, lr.method,
                              symbol="chi-square"))
    except StatisticsError as exc:
        tests.append(TestLine("Log-rank test", None, None, None, "", text=f"not computed: {exc}"))
    notes = [n for n in (landmark_note, spec.note) if n]
    if km.n_missing:
        notes.append(f"{km.n_missing} infusion(s) without a known {title} time, event or "
                     f"{spec.group} are left out (denominator: the {km.n} analysed).")
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=tuple(columns),
        rows=tuple(rows), tests=tuple(tests),
        method=f"{title}: {km.method}; {tests[0].method or 'log-rank test not computed'}",
        n=km.n, n_missing=km.n_missing, section=spec.section, notes=tuple(notes),
        time_unit=unit, estimates=km)


def _cox(frame: pd.DataFrame, spec: AnalysisSpec) -> AnalysisResult:
    from reinfuse.stats import cox_regression, indicator_columns

    durations, events, title = _endpoint(frame, spec)
    durations, events, frame, landmark_note = _landmarked(spec, durations, events, frame)
    data = pd.DataFrame({"_time": durations, "_event": events}, index=frame.index)
    names: list[str] = []
    for covariate in spec.covariates:
        values = frame[covariate]
        numeric = (pd.api.types.is_numeric_dtype(values)
                   and not pd.api.types.is_bool_dtype(values))
        if numeric and covariate not in spec.reference:
            data[covariate] = values.astype("Float64").astype("float64")
            names.append(covariate)
            continue
        labels = _labels(values)
        levels = sorted(labels.dropna().unique().tolist(), key=str)
        if not levels:
            return _refused(spec, f"{covariate} is not recorded for any infusion analysed.")
        reference = spec.reference.get(covariate, "no" if "no" in levels else levels[0])
        reference = ("yes" if reference is True else "no" if reference is False
                     else str(reference))
        coded = indicator_columns(pd.DataFrame({covariate: labels}), covariate, reference)
        for column in coded.columns:
            data[column] = coded[column].to_numpy()
            names.append(column)
    if spec.strata:
        data["_strata"] = _labels(frame[spec.strata])
    try:
        fit = cox_regression(data, "_time", "_event", covariates=names,
                             strata=["_strata"] if spec.strata else None,
                             on_low_epv=spec.low_epv)  # type: ignore[arg-type]
    except StatisticsError as exc:
        complete = int(data.dropna().shape[0])
        reason = str(exc).replace("pass on_low_epv='warn'",
                                  "set low_epv = \"warn\" in the analysis")
        return _refused(spec, f"The Cox model of {title} was not fitted: {reason}",
                        n=complete, n_missing=len(data) - complete)
    ph = {c.name: c.pvalue for c in fit.ph_checks}
    columns = ("HR (95% CI)", "p", "PH test p")
    rows = tuple(AnalysisRow(term.name, (
        AnalysisCell("estimate_ci", value=term.hazard_ratio, low=term.ci_low,
                     high=term.ci_high, decimals=2),
        AnalysisCell("p", value=term.pvalue),
        AnalysisCell("p", value=ph.get(term.name)))) for term in fit.terms)
    tests = (TestLine("Likelihood-ratio test", fit.statistic, fit.df, fit.pvalue, fit.method,
                      symbol="chi-square"),
             TestLine("Wald test", fit.wald_statistic, fit.df, fit.wald_pvalue, "",
                      symbol="chi-square"))
    notes = [n for n in (landmark_note, spec.note) if n]
    notes.append(f"{fit.n} infusion(s) with {fit.n_events} event(s) "
                 f"({fit.events_per_variable:.1f} per variable); {fit.n_missing} with a "
                 "missing time, event or covariate are left out. HR, hazard ratio; PH test, "
                 "proportional-hazards test on the scaled Schoenfeld residuals.")
    notes += list(fit.notes)
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=columns, rows=rows,
        tests=tests, method=f"{title}: {fit.method}", n=fit.n, n_missing=fit.n_missing,
        section=spec.section, notes=tuple(notes), time_unit=spec.time_unit, estimates=fit)


def _cumulative_incidence(frame: pd.DataFrame, spec: AnalysisSpec) -> AnalysisResult:
    from reinfuse.stats import cumulative_incidence

    in_remission = frame["remission_days"].notna().to_numpy()
    n_not_in_cr = int((~in_remission).sum())
    frame = frame[in_remission]
    durations = frame["remission_days"].astype("float64")
    ended = frame["remission_end"].astype("string")
    code = pd.Series(0.0, index=frame.index)  # censored unless a cause ended the remission
    code = code.mask(ended.eq("relapse").fillna(False).to_numpy(), float(_CAUSES["relapse"]))
    for name in spec.competing:
        code = code.mask(ended.eq(name).fillna(False).to_numpy(), float(_CAUSES[name]))
    causes = {_CAUSES["relapse"]: _CAUSE_NAMES["relapse"],
              **{_CAUSES[c]: _CAUSE_NAMES[c] for c in spec.competing}}
    groups = _labels(frame[spec.group]) if spec.group else None
    if frame.empty:
        return _refused(spec, "No infusion led to a complete remission with a known "
                        "duration: there is no remission to follow.")
    times = list(spec.times)
    try:
        res = cumulative_incidence(durations.to_numpy(), code.to_numpy(), causes=causes,
                                   event_of_interest=_CAUSES["relapse"],
                                   groups=None if groups is None else groups.to_numpy(),
                                   times=times or None)
    except StatisticsError as exc:
        return _refused(spec, f"The cumulative incidence was not estimated: {exc}")
    unit = spec.time_unit
    columns = ["n", "Relapses, n", *(f"Relapse by {_day_label(t, unit)} (95% CI)"
                                     for t in times)]
    order = _order(spec, groups) if groups is not None else None
    names = order or list(res.groups)
    rows = []
    for g in names:
        curve = res.curves.get(g)
        if curve is None:
            continue
        relapse = res.causes[0]
        values = curve.at(relapse, times) if times else ()
        lows, highs = curve.limits_at(relapse, times) if times else ((), ())
        cells = [AnalysisCell("count", value=curve.n),
                 AnalysisCell("count", value=int(np.sum(curve.n_events[relapse])))]
        for v, lo, hi in zip(values, lows, highs, strict=True):
            cells.append(AnalysisCell("text", text="beyond follow-up") if np.isnan(v) else
                         AnalysisCell("percent_ci", value=v, low=lo, high=hi))
        rows.append(AnalysisRow(g if groups is not None else "All", tuple(cells)))
    notes = [res.gray_test_note]
    if spec.note:
        notes.append(spec.note)
    censored = sorted(set(_CENSORED_NAMES) - set(spec.competing))
    notes.append("Censored: " + ", ".join(_CENSORED_NAMES[c] for c in censored)
        + ("; " if censored else "") + "last contact. Denominator: the "
        f"{res.n + res.n_missing} infusions followed in complete remission"
        + (f", of which {res.n_missing} without a known {spec.group} are left out"
           if res.n_missing else "")
        + f" ({n_not_in_cr} infusions without a complete remission are not at risk).")
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=tuple(columns),
        rows=tuple(rows), tests=(), method=res.method, n=res.n, n_missing=res.n_missing,
        section=spec.section, notes=tuple(notes), time_unit=unit, estimates=res)


def _group_test(frame: pd.DataFrame, spec: AnalysisSpec) -> AnalysisResult:
    groups = _labels(frame[spec.group])
    if spec.test in ("chi_square", "fisher"):
        return _contingency(frame, spec, groups)
    from reinfuse.stats import dunn_test, jonckheere_terpstra, kruskal_wallis

    values = pd.to_numeric(frame[spec.variable], errors="coerce").astype("float64")
    order = _order(spec, groups)
    known = values.notna() & groups.notna()
    names = order or sorted(groups[known].unique().tolist(), key=str)
    if len([g for g in names if (groups[known] == g).any()]) < 2:
        return _refused(spec, f"{spec.variable} is known in fewer than two groups of "
                        f"{spec.group}: there is nothing to compare.",
                        n=int(known.sum()), n_missing=int((~known).sum()))
    columns = ("n", "Median (range)")
    rows = []
    for g in names:
        v = values[known & groups.eq(g).fillna(False)]
        if v.empty:
            rows.append(AnalysisRow(str(g), (AnalysisCell("count", value=0),
                                             AnalysisCell("text", text="—"))))
            continue
        rows.append(AnalysisRow(str(g), (
            AnalysisCell("count", value=int(v.size)),
            AnalysisCell("median_range", value=float(v.median()), low=float(v.min()),
                         high=float(v.max()), decimals=spec.decimals))))
    sample_v, sample_g = values[known].to_numpy(), groups[known].to_numpy()
    tests: list[TestLine] = []
    if spec.test == "jonckheere_terpstra":
        jt = jonckheere_terpstra(sample_v, sample_g, order=order)
        tests.append(TestLine("Jonckheere-Terpstra test", jt.statistic, None, jt.pvalue,
                              jt.method, symbol="J"))
        method = jt.method
    else:
        kw = kruskal_wallis(sample_v, sample_g, order=order)
        tests.append(TestLine("Kruskal-Wallis test", kw.statistic, float(kw.df), kw.pvalue,
                              kw.method, effect="epsilon²", effect_value=kw.epsilon_squared,
                              symbol="H"))
        method = kw.method
        if len(kw.groups) > 2:
            dunn = dunn_test(sample_v, sample_g, order=order,
                             adjustment=spec.adjustment)  # type: ignore[arg-type]
            method += f"; {dunn.method}"
            for c in dunn.comparisons:
                tests.append(TestLine(f"Dunn: {c.group_a} vs {c.group_b}", c.z, None,
                                      c.pvalue_adjusted, "", symbol="z"))
    notes = [n for n in (spec.note,) if n]
    missing = int((~known).sum())
    if missing:
        notes.append(f"{missing} infusion(s) without a known {spec.variable} or "
                     f"{spec.group} are left out (denominator: {int(known.sum())}).")
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=columns, rows=tuple(rows),
        tests=tuple(tests), method=method, n=int(known.sum()), n_missing=missing,
        section=spec.section, notes=tuple(notes))


def _contingency(frame: pd.DataFrame, spec: AnalysisSpec, groups: pd.Series
                 ) -> AnalysisResult:
    from reinfuse.stats import chi_square, cramers_v, fisher_exact

    values = _labels(frame[spec.variable])
    known = values.notna() & groups.notna()
    table = pd.crosstab(values[known], groups[known])
    order = _order(spec, groups)
    if order:
        table = table.reindex(columns=order, fill_value=0)
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return _refused(spec, f"{spec.variable} by {spec.group} has fewer than two known "
                        "levels or groups: there is nothing to test.",
                        n=int(known.sum()), n_missing=int((~known).sum()))
    totals = table.sum(axis=0)
    columns = tuple(f"{g} (n = {int(totals[g])})" for g in table.columns)
    rows = tuple(AnalysisRow(str(level), tuple(
        AnalysisCell("n_percent", value=int(table.loc[level, g]), n=int(totals[g]))
        for g in table.columns)) for level in table.index)
    counts = table.to_numpy()
    v = cramers_v(counts)
    if spec.test == "fisher":
        fr = fisher_exact(counts)
        test = TestLine("Fisher-Freeman-Halton test" if counts.shape != (2, 2) else
                        "Fisher's exact test", None, None, fr.pvalue, fr.method,
                        effect="Cramér's V", effect_value=v.estimate)
    else:
        cs = chi_square(counts)
        test = TestLine("Chi-square test", cs.statistic, float(cs.df), cs.pvalue, cs.method,
                        effect="Cramér's V", effect_value=v.estimate, symbol="chi-square")
    missing = int((~known).sum())
    notes = ["Column percentages (denominator: the group's infusions with a known "
             f"{spec.variable})."]
    if missing:
        notes.append(f"{missing} infusion(s) without a known {spec.variable} or "
                     f"{spec.group} are left out.")
    if spec.note:
        notes.append(spec.note)
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=columns, rows=rows,
        tests=(test,), method=f"{test.method}; effect size: {v.method}",
        n=int(known.sum()), n_missing=missing, section=spec.section, notes=tuple(notes))


def _kinetics(frame: pd.DataFrame, spec: AnalysisSpec, tables: Mapping[str, pd.DataFrame],
              labels: Mapping[int, str]) -> AnalysisResult:
    """NCA and Stein fits of every curve of the analysed patients, CART1 vs CART2 paired."""
    from reinfuse.kinetics.model import fit_stein_table
    from reinfuse.kinetics.nca import nca
    from reinfuse.kinetics.paired import paired_kinetics

    counts = tables.get("car_counts")
    if counts is None or counts.empty:
        return _refused(spec, "The cohort has no car_counts sheet: there are no CAR T-cell "
                        "counts to analyse.")
    infusions = tables["infusions"]
    patients = set(frame["patient_id"])
    counts = counts[counts["patient_id"].isin(patients)]
    infusions = infusions[infusions["patient_id"].isin(patients)]
    kept = counts[(counts["compartment"] == spec.compartment) & (counts["unit"] == spec.unit)]
    if kept.empty:
        return _refused(spec, f"No {spec.compartment} count in {spec.unit} for the analysed "
                        "patients.")
    options = {"compartment": spec.compartment, "unit": spec.unit, "lod": spec.lod}
    table = nca(counts, infusions, window=spec.window, **options)  # type: ignore[arg-type]
    fits = (fit_stein_table(counts, infusions, **options)  # type: ignore[arg-type]
            if spec.fit else None)
    paired = paired_kinetics(table, fits, first=spec.first, second=spec.second)
    a, b = (labels.get(i, f"infusion {i}") for i in (spec.first, spec.second))
    columns = ("Pairs, n", f"{a}, median (range)", f"{b}, median (range)",
               "Median difference", "p")
    rows = []
    for par in paired.parameters:
        unit = "" if par.unit in ("", "concentration") else f", {par.unit}"
        rows.append(AnalysisRow(f"{par.label}{unit}", (
            AnalysisCell("count", value=par.n_pairs),
            AnalysisCell("median_range", value=par.first_median, low=par.first_min,
                         high=par.first_max),
            AnalysisCell("median_range", value=par.second_median, low=par.second_min,
                         high=par.second_max),
            AnalysisCell("number", value=par.median_difference),
            AnalysisCell("p", value=par.pvalue))))
    notes = [f"{paired.n_patients} patients with both infusions' curves; {paired.n_single} "
             "with only one are not compared. Pairs with a parameter unknown after either "
             "infusion are left out of that parameter (never counted as zero): "
             + ", ".join(f"{p.label} {p.n_unknown}" for p in paired.parameters) + "."]
    notes += [f"{p.label}: {p.note}" for p in paired.parameters if p.note]
    if spec.note:
        notes.append(spec.note)
    method = f"{table.method}; " + (f"{fits.method}; " if fits is not None else "") + \
        paired.method
    return AnalysisResult(
        id=spec.id, kind=spec.kind, title=spec.title, columns=columns, rows=tuple(rows),
        tests=(), method=method, n=paired.n_patients, n_missing=paired.n_single,
        section=spec.section, notes=tuple(notes),
        estimates={"car_counts": counts, "fits": fits, "spec": spec, "labels": labels})


_KINDS = {"survival_by_group": _survival_by_group, "cox": _cox,
          "cumulative_incidence": _cumulative_incidence, "group_test": _group_test}


def compute_analysis(frame: pd.DataFrame, spec: AnalysisSpec,
                     infusion_labels: Mapping[int, str] | None = None,
                     tables: Mapping[str, pd.DataFrame] | None = None) -> AnalysisResult:
    """Compute one analysis on the infusions its subset selected.

    Parameters
    ----------
    frame
        The analysis frame restricted to the analysis's infusions
        (:func:`reinfuse.analyze.select`).
    spec
        The plan's declaration.
    infusion_labels
        Names of infusion numbers (the plan's ``infusion_labels``), for ``group =
        "infusion"``.
    tables
        The cohort's tables, for analyses of raw sheets (``kinetics`` reads
        ``car_counts``).

    Returns
    -------
    AnalysisResult
        Numbers, tests and method sentences, or ``refused`` with the reason when the data
        cannot support the analysis.
    """
    if frame.empty:
        return _refused(spec, "No infusion is in the analysis's subset.")
    try:
        if spec.kind == "kinetics":
            return _kinetics(frame, spec, tables or {},
                             infusion_labels or {1: "CART1", 2: "CART2"})
        if infusion_labels and "infusion" in frame:
            frame = frame.assign(infusion=_labels(frame["infusion"], infusion_labels))
        return _KINDS[spec.kind](frame, spec)
    except StatisticsError as exc:
        return _refused(spec, f"Not computed: {exc}")
