"""Assemble the report: HTML with embedded figures, results.json, figure files, table CSVs."""

from __future__ import annotations

import base64
import datetime as dt
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from reinfuse._plain import json_text
from reinfuse._version import __version__
from reinfuse.analyze import (
    ComparisonResult,
    Results,
    TableResult,
    fill_labels,
    population_frame,
)
from reinfuse.cohort import Cohort
from reinfuse.derive import AnalysisFrame
from reinfuse.errors import ReportFormatError, UsageError
from reinfuse.findings import Finding
from reinfuse.io import atomic_path, check_output
from reinfuse.plan import Plan
from reinfuse.progress import stage
from reinfuse.report._draw import DrawnFigure, draw_figures, figure_files
from reinfuse.report._format import format_results
from reinfuse.report._text import methods_paragraphs
from reinfuse.style import fixed, get_style

_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "openpyxl",
             "python-calamine", "jinja2")


# --- output formats (Word and PDF writers: reinfuse.report._docx, reinfuse.report._pdf) ---
ReportFormat = Literal["html", "docx", "pdf"]
FORMATS: tuple[ReportFormat, ...] = ("html", "docx", "pdf")




def parse_formats(value: str | Sequence[str]) -> tuple[ReportFormat, ...]:
    """Output formats from ``"html,docx"`` or a sequence, checked, in the order given.

    >>> parse_formats("pdf, html,pdf")
    ('pdf', 'html')
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    formats: list[ReportFormat] = []
    for name in (n.strip().lower() for n in names):
        if name not in FORMATS:
            raise ReportFormatError(f"unknown report format {name!r}; allowed: "
                                    f"{', '.join(FORMATS)} (a comma-separated list, "
                                    "e.g. html,docx,pdf)")
        if name not in formats:
            formats.append(name)  # a ReportFormat: checked against FORMATS above
    if not formats:
        raise ReportFormatError("no report format given; allowed: " + ", ".join(FORMATS))
    return tuple(formats)
# --- end output formats ------------------------------------------------------------------


#: Keys of results.json (dotted paths) whose values depend on when the report was made;
#: two runs on the same inputs, plan and software differ in these alone.
TIME_DEPENDENT_KEYS = ("stamp.generated_at",)


def report_time(now: dt.datetime | None = None) -> dt.datetime:
    """When the report is made: ``now``, else ``SOURCE_DATE_EPOCH``, else the clock (UTC).

    ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC, the reproducible-builds
    convention) makes every output of two runs identical byte for byte.

    >>> import os; os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    >>> report_time().isoformat()
    '2023-11-14T22:13:20+00:00'
    >>> del os.environ["SOURCE_DATE_EPOCH"]
    """
    if now is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if epoch:
            if not epoch.isdigit() or len(epoch) > 12:
                raise UsageError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since "
                                 f"1970-01-01 UTC (e.g. 1700000000); received {epoch[:40]!r}")
            now = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        else:
            now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class ReportOutput:
    """Where a report was written (``None``: that format was not asked for)."""

    folder: Path
    html: Path | None
    results_json: Path
    docx: Path | None = None
    pdf: Path | None = None


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the numbers and figures."""
    versions = {"python": platform.python_version(), "reinfuse": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            versions[name] = "not installed"
    return versions


def _abbreviations_in(text: str, abbreviations: Mapping[str, str]) -> list[str]:
    found = []
    for key in sorted(abbreviations, key=str.lower):
        # "MRD-negative" uses MRD; "B-ALL" is not "ALL".
        if re.search(rf"(?<![\w-]){re.escape(key)}(?!\w)", text):
            found.append(f"{key}, {abbreviations[key]}")
    return found


def _table_item(table: TableResult, abbreviations: Mapping[str, str]) -> dict[str, Any]:
    rows = [{"label": r.label, "indent": r.indent, "header": r.header,
             "cells": ["" if c is None else c.text for c in r.cells]} for r in table.rows]
    text = " ".join([table.title, *table.columns, *(r.label for r in table.rows),
                     *table.footnotes])
    used = _abbreviations_in(text, abbreviations)
    notes = list(table.footnotes) + (["; ".join(used) + "."] if used else [])
    return {"kind": "table", "id": table.id, "title": table.title, "columns": table.columns,
            "rows": rows, "notes": notes}


def _comparison_item(comparison: ComparisonResult,
                     abbreviations: Mapping[str, str]) -> dict[str, Any]:
    unit = f", {comparison.unit}" if comparison.unit else ""
    header = comparison.summary + ("" if comparison.summary == "n (%)" else unit)
    design = "paired by patient" if comparison.paired else "independent groups"
    method = comparison.method
    n = f"; n = {comparison.n}" if comparison.n is not None else ""
    sentence = f"{method[0].upper()}{method[1:]} ({design}{n})." if method else ""
    text = " ".join([comparison.title, *(g.label for g in comparison.groups), comparison.note,
                     comparison.unit])
    used = _abbreviations_in(text, abbreviations)
    notes = [n for n in [comparison.note, "; ".join(used) + "." if used else ""] if n]
    return {"kind": "comparison", "id": comparison.id, "title": comparison.title,
            "groups": comparison.groups, "p_text": comparison.p_text,
            "summary_header": header, "method": method, "method_sentence": sentence,
            "notes": notes}


def _population_sentence(plan: Plan, frame: pd.DataFrame, results: Results) -> str:
    total = frame["patient_id"].nunique()
    n = results.n_patients
    if plan.population != "reinfused":
        return f"{n} patients, {len(frame)} infusions."
    source = plan.source_population
    if total > n:
        share = fixed(Decimal(100 * n) / total, 1)
        return (f"{n} of {total} patients in the cohort ({share}%) received "
                f"{plan.label(2)}; the analysis describes these {n} patients.")
    if source and source >= n:
        share = fixed(Decimal(100 * n) / source, 1)
        return (f"{n} of {source} patients who received {plan.label(1)} in the source "
                f"population ({share}%) proceeded to {plan.label(2)} with the "
                "same product (the source total is stated in the analysis plan).")
    return f"{n} patients received {plan.label(2)}."


_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _finding_dict(finding: Finding) -> dict[str, Any]:
    """A warning for the report: calendar dates in it are replaced by "[date]".

    Reports show dates only as study days; the coordinator sees the dates themselves in
    ``reinfuse validate``, which is where they are fixed.
    """
    plain = {**finding.to_dict(), "location": finding.location()}
    return {key: _ISO_DATE.sub("[date]", value) if isinstance(value, str) else value
            for key, value in plain.items()}


def check_report_folder(out: str | Path, overwrite: bool = False,
                        protect: Sequence[str | Path] = ()) -> None:
    """Refuse, before the long work, a report folder that :func:`render` would refuse.

    Raises :class:`~reinfuse.errors.OutputExistsError` (it exists and ``overwrite`` is
    False, or reinfuse did not write it) or :class:`~reinfuse.errors.OutputLockedError`
    (another process is writing it); ``protect`` lists inputs it must not replace.
    """
    check_output(Path(out), overwrite, "folder", protect)


def render(results: Results, out: str | Path, *, style: str | None = None,
           formats: str | Sequence[ReportFormat] = ("html",), overwrite: bool = False,
           now: dt.datetime | None = None, patient_ids: bool = False,
           jobs: int | None = None) -> ReportOutput:
    """Write the report of ``results`` into the folder ``out`` (the render stage).

    The folder receives ``report.html`` (self-contained), ``results.json``, ``figures/``
    (PNG and SVG) and ``tables/`` (one CSV per table as printed, and one tidy CSV per table,
    ``<id>.tidy.csv``: one row per cell, :meth:`reinfuse.analyze.TableResult.to_frame`;
    ``cells.parquet`` holds every table's cells, :meth:`reinfuse.analyze.Results.to_frame`).
    ``formats`` chooses the documents among ``html``, ``docx`` (``report.docx``, editable
    tables) and ``pdf`` (``report.pdf``, the HTML paged for print); ``results.json``,
    figures and tables are always written. It is written in a temporary folder and moved
    into place at the end, so a failure leaves nothing half-written; an existing ``out``
    is replaced only with ``overwrite``.

    Parameters
    ----------
    results
        What :func:`reinfuse.analyze.analyze` computed from an
        :class:`~reinfuse.derive.AnalysisFrame` (it carries its plan and the frame the
        figures draw).
    out
        The report folder.
    style
        The journal style the numbers are printed in (default: the plan's,
        ``results.options["style"]``); the numbers themselves do not depend on it.
    formats
        ``"html"``, ``"docx"``, ``"pdf"`` or a comma-separated list of them.
    overwrite
        Replace an existing report folder (never a folder reinfuse did not write).
    now
        When the report was made (default: ``SOURCE_DATE_EPOCH``, else the clock).
    patient_ids
        Write every comparison group's patient ids into results.json; by default only
        groups of at most ``PATIENT_IDS_MAX`` (100) patients list them (``null``
        otherwise: a registry's ids would make the file hundreds of MB).
    jobs
        Processes that draw the figures at once (default: the ``REINFUSE_JOBS``
        environment variable, else the cores available, at most 4); 1 draws them in this
        process. The files are the same either way
        (:func:`reinfuse.report._draw.figure_jobs`).

    Returns
    -------
    ReportOutput
        The paths written.
    """
    formats = parse_formats(formats)
    if results.plan is None or results.source is None:
        raise UsageError("render() needs the Results of analyze() on an AnalysisFrame (from "
                         "reinfuse.pipeline.derive), which carry the plan and the frame.")
    plan, analysis = results.plan, results.source
    # Numbers are printed here, in the style asked for (default: the plan's).
    chosen_style = get_style(style or str(results.options["style"]))
    results = format_results(results, chosen_style)
    cohort = analysis.cohort if analysis.cohort is not None else Cohort(tables={})
    options = analysis.options
    frame = analysis.frame
    protect = [cohort.source] if cohort.source else []
    check_output(Path(out), overwrite, "folder", protect)  # before the long work
    population = population_frame(frame, plan)
    fill = {f"label{k}": v for k, v in plan.infusion_labels.items()}
    versions = package_versions()
    generated = report_time(now)

    with atomic_path(Path(out), overwrite=overwrite, kind="folder", protect=protect) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "figures").mkdir()
        (tmp / "tables").mkdir()
        stage("Drawing figures", total=len(plan.figures))
        # Estimates (Kaplan-Meier fits) come from the analysis and are drawn as they are;
        # an empty figure is left out of the report, with its reason.
        drawn = draw_figures(population, plan.figures, plan.infusion_labels,
                             results.figure_estimates, tmp / "figures", jobs)
        figures = [figure for figure, _ in drawn]
        files_of = {figure.id: files for figure, files in drawn}
        antigen = analysis.antigen if analysis.antigen and analysis.antigen.samples else None
        extra: list[tuple[str, dict[str, Any]]] = []
        extra_figures: list[DrawnFigure] = []
        if antigen is not None:  # measured from FCS files: QC table and histograms
            from reinfuse.report._antigen import SECTION, antigen_payload, antigen_section

            antigen_items, qc, histograms = antigen_section(antigen, tmp / "figures")
            extra_figures = [DrawnFigure.of(h) for h in histograms]
            extra = [(SECTION, item) for item in antigen_items]
            qc.to_csv(tmp / "tables" / "antigen_qc.csv", index=False)
            for figure in extra_figures:
                files_of[figure.id] = figure_files(figure.id)
        if results.analyses:  # the plan's [[analyses]]: tables, tests, figures
            from reinfuse.report._analyses import analysis_figure, analysis_item

            wants_figure = {a.id for a in plan.analyses if a.figure}
            for done in results.analyses:
                item = analysis_item(done, chosen_style)
                extra.append((done.section, item))
                if item["kind"] == "table":
                    pd.DataFrame([[r["label"], *r["cells"]] for r in item["rows"]],
                                 columns=["row", *item["columns"]]).to_csv(
                        tmp / "tables" / f"{done.id}.csv", index=False)
                made = (analysis_figure(done, tmp / "figures")
                        if done.id in wants_figure else None)
                if made is not None:
                    extra.append((done.section, made[0]))
                    extra_figures.append(DrawnFigure.of(made[1]))
                    files_of[made[1].id] = figure_files(made[1].id)
        stage("Writing the report")
        for table in results.tables:
            _table_frame(table).to_csv(tmp / "tables" / f"{table.id}.csv", index=False)
            table.to_frame().to_csv(tmp / "tables" / f"{table.id}.tidy.csv", index=False)
        # Typed (integers stay integers, missing stays missing) for R's arrow::read_parquet.
        results.to_frame().to_parquet(tmp / "tables" / "cells.parquet", index=False)

        sections = _sections(plan, results, figures, tmp / "figures", fill, extra)
        warnings = [_finding_dict(f) for f in _report_findings(cohort, analysis)
                    if f.severity == "warning"]
        stamp = {"generated_at": generated.isoformat().replace("+00:00", "Z"),
                 "reinfuse_version": __version__, "inputs": dict(cohort.sha256),
                 "plan_id": plan.id, "plan_version": plan.version,
                 "plan_sha256": plan.sha256, "packages": versions,
                 "raw_observations": sorted(n for n in cohort.tables
                                            if n not in ("patients", "infusions")),
                 "prefer": options.prefer}
        report_text = " ".join(str(s) for s in sections)
        abbreviations = "; ".join(_abbreviations_in(report_text, plan.abbreviations)) + "."
        subtitle = (f"Analysis plan {plan.id} v{plan.version}; cohort "
                    f"format v{cohort.format_version}")
        population_sentence = _population_sentence(plan, frame, results)
        shown = {str(item["id"]) for section in sections for item in section["items"]
                 if item["kind"] != "omitted"}
        omitted = [{"id": item["id"], "kind": item["of"], "reason": item["text"]}
                   for section in sections for item in section["items"]
                   if item["kind"] == "omitted"]
        methods = methods_paragraphs(plan, results, options, versions, shown)
        computed = [a for a in results.analyses if not a.refused and a.method]
        if computed:
            methods.insert(max(len(methods) - 1, 0), " ".join(
                f"{a.title}: {a.method[0].lower()}{a.method[1:]}." for a in computed))
        if antigen is not None:
            from reinfuse.flow.measure import antigen_method_sentence

            methods.insert(max(len(methods) - 1, 0), antigen_method_sentence(antigen))
        html = _environment().get_template("report.html.j2").render(
            title=plan.title, subtitle=subtitle, population_sentence=population_sentence,
            warnings=warnings, sections=sections, methods=methods,
            abbreviations=abbreviations, stamp=stamp)
        if "html" in formats:
            (tmp / "report.html").write_text(html, encoding="utf-8")

        payload = {
            "reinfuse_version": __version__,
            "stamp": stamp,
            "plan": {"id": plan.id, "version": plan.version, "sha256": plan.sha256,
                     "text": plan.text},
            "derive_options": options.to_dict(),
            "population": {"definition": plan.population, "n_patients": results.n_patients,
                           "source_population": plan.source_population},
            **_results_payload(results, patient_ids),
            "figures": [{"id": f.id, "title": f.title, "caption": f.caption,
                         "files": files_of[f.id], "data": f.data}
                        for f in [*figures, *extra_figures]],
            **({"antigen_samples": antigen_payload(antigen)} if antigen is not None else {}),
            "omitted": omitted,
            "warnings": warnings,
        }
        (tmp / "results.json").write_text(json_text(payload), encoding="utf-8")
        # --- Word and PDF, inside the temporary folder (whole or nothing) ---
        if "docx" in formats:
            from reinfuse.report._docx import write_docx

            write_docx(tmp / "report.docx", results=results, title=plan.title,
                       subtitle=subtitle, population_sentence=population_sentence,
                       n_warnings=len(warnings), sections=sections, methods=methods,
                       abbreviations=abbreviations, stamp=stamp)
        if "pdf" in formats:
            from reinfuse.report._pdf import write_pdf

            write_pdf(html, tmp / "report.pdf", epoch=int(generated.timestamp()))
        # --- end Word and PDF ---
    folder = Path(out)
    return ReportOutput(
        folder=folder, html=folder / "report.html" if "html" in formats else None,
        results_json=folder / "results.json",
        docx=folder / "report.docx" if "docx" in formats else None,
        pdf=folder / "report.pdf" if "pdf" in formats else None)


#: A comparison group's patient ids go into results.json when it has at most this many
#: patients (or when ``render(patient_ids=True)``); larger groups give their counts only.
PATIENT_IDS_MAX = 100


def _results_payload(results: Results, patient_ids: bool) -> dict[str, Any]:
    """The tables and comparisons of results.json: numbers and the printed text; each
    group's patient ids only when small (``PATIENT_IDS_MAX``) or asked for."""
    plain = results.to_dict()
    for comparison in plain["comparisons"]:
        for group in comparison["groups"]:
            if not patient_ids and len(group["patients"]) > PATIENT_IDS_MAX:
                group["patients"] = None
    return {"tables": plain["tables"], "comparisons": plain["comparisons"],
            "analyses": plain["analyses"]}


def _report_findings(cohort: Cohort, analysis: AnalysisFrame) -> list[Finding]:
    """The cohort's findings, then the derive stage's reconciliation findings that
    validation did not already list (it lists them when it found no error)."""
    seen = {(f.rule, f.sheet, f.row, f.column) for f in cohort.findings}
    return [*cohort.findings, *(f for f in analysis.findings
                                if (f.rule, f.sheet, f.row, f.column) not in seen)]


def _environment() -> Environment:
    return Environment(loader=PackageLoader("reinfuse.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=False)


def _table_frame(table: TableResult) -> pd.DataFrame:
    records = []
    for row in table.rows:
        record = {"row": "  " * row.indent + row.label}
        for column, cell in zip(table.columns, row.cells, strict=True):
            record[column] = "" if cell is None else cell.text
        records.append(record)
    return pd.DataFrame(records, columns=["row", *table.columns])


def _sections(plan: Plan, results: Results, figures: Sequence[DrawnFigure], folder: Path,
              fill: dict[str, str], extra: Sequence[tuple[str, dict[str, Any]]] = (),
              ) -> list[dict[str, Any]]:
    order: list[str] = []
    items: dict[str, list[dict[str, Any]]] = {}

    def add(section: str, item: dict[str, Any]) -> None:
        name = section or "Results"
        if name not in items:
            order.append(name)
            items[name] = []
        items[name].append(item)

    for table in results.tables:
        if not table.shown:  # computed for results.json and tables/, not printed
            continue
        if table.variables and not table.recorded:
            names = ", ".join(table.variables)
            unknown = any(c is not None and c.n_missing for r in table.rows for c in r.cells)
            reason = (f"no value of {names} was recorded for any patient in its columns"
                      if unknown else
                      f"no patient is in its columns ({', '.join(table.columns)})")
            add(table.section, _omitted("table", table.id, table.title, reason))
            continue
        add(table.section, _table_item(table, plan.abbreviations))
    for comparison in results.comparisons:
        if not any(g.n for g in comparison.groups) and any(
                g.n_missing for g in comparison.groups):
            add(comparison.section, _omitted(
                "comparison", comparison.id, comparison.title,
                f"{comparison.variable} was not recorded for any patient in its groups"))
            continue
        add(comparison.section, _comparison_item(comparison, plan.abbreviations))
    for spec, figure in zip(plan.figures, figures, strict=True):
        if figure.empty:
            add(spec.section, _omitted("figure", figure.id, fill_labels(figure.title, fill),
                                       figure.empty))
            continue
        png = (folder / f"{figure.id}.png").read_bytes()
        add(spec.section, {"kind": "figure", "id": figure.id,
                           "title": fill_labels(figure.title, fill),
                           "caption": fill_labels(figure.caption, fill),
                           "png": base64.b64encode(png).decode("ascii")})
    for name, entry in extra:  # sections the plan does not declare (antigen density)
        add(name, entry)
    sections: list[dict[str, Any]] = [{"name": name, "items": items[name]} for name in order]
    # One numbering for every output (HTML, PDF, Word): tables and comparisons as Tables,
    # figures as Figures, in reading order; a number the plan wrote itself is kept.
    counts = {"Table": 0, "Figure": 0}
    for section in sections:
        for item in section["items"]:
            if item["kind"] == "omitted":
                continue  # not numbered: the numbers run over what is printed
            kind = "Figure" if item["kind"] == "figure" else "Table"
            counts[kind], item["title"] = number_title(kind, str(item["title"]), counts[kind])
    return sections


def _omitted(of: str, item_id: str, title: str, reason: str) -> dict[str, Any]:
    """The one line printed instead of a table, comparison or figure with no data."""
    name = {"table": "Table", "comparison": "Comparison", "figure": "Figure",
            "analysis": "Analysis"}[of]
    bare = _NUMBERED.sub("", title).rstrip(".")
    reason = reason.rstrip(".")
    return {"kind": "omitted", "of": of, "id": item_id, "title": bare,
            "text": f"{name} not shown ({bare}): {reason[0].lower()}{reason[1:]}."}


_NUMBERED = re.compile(r"^(Table|Figure)\s+(\d+)\.\s*")


def number_title(kind: str, title: str, count: int) -> tuple[int, str]:
    """Number a title in order (``"Table 3. ..."``), keeping a number the plan wrote.

    Examples
    --------
    >>> number_title("Table", "Response rates", 2)
    (3, 'Table 3. Response rates')
    >>> number_title("Table", "Table 1. Demographics", 0)
    (1, 'Table 1. Demographics')
    """
    match = _NUMBERED.match(title)
    if match and match[1] == kind:
        return int(match[2]), title
    return count + 1, f"{kind} {count + 1}. {title}"
