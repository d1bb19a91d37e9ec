"""The ``reinfuse`` command: a thin shell over the pipeline (nothing clinical lives here)."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from reinfuse._version import __version__
from reinfuse.errors import (
    CohortReadError,
    CriteriaError,
    OutputExistsError,
    PlanError,
    ReinfuseError,
    UsageError,
)
from reinfuse.findings import Finding

if TYPE_CHECKING:  # pragma: no cover
    from reinfuse.io.read import RawCohort
    from reinfuse.options import DeriveOptions, Prefer
    from reinfuse.plan import Plan

#: Exit codes, one per kind of outcome, so scripts and pipelines can tell them apart.
EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_BAD_OPTIONS, EXIT_OUTPUT_REFUSED = 0, 1, 2, 3, 4

EXIT_CODES_HELP = """exit codes:
  0  done (warnings alone do not fail)
  1  the cohort has errors (every one is listed)
  2  an input cannot be read at all (not a workbook, a sheet or file missing...)
  3  bad analysis plan or command-line options
  4  output refused: it exists and was not written by reinfuse, --overwrite is missing, or
     another reinfuse run is writing it"""


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but prints the exit-code list line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("exit codes:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse with the project's exit code for bad options (3, not argparse's 2,
    which here means an unreadable input)."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_OPTIONS, f"{self.prog}: error: {message}\n")

PREFER_HELP = ("where raw observations and recorded summaries disagree, which to use "
               "(default: the plan's derive.prefer, itself 'recorded'); 'derived' applies a "
               "lower grade or peak, or a different response, only where the observations "
               "cover the recorded value")


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160  # files and pipes get a readable fixed width
    return Console(stderr=stderr, highlight=False, width=width)


def print_findings(findings: Sequence[Finding], source: str) -> None:
    """Print findings as a table a coordinator can work through, errors first."""
    console = _console()
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if not findings:
        console.print(f"[green]{source}: no problems found.[/green]")
        return
    table = RichTable(title=f"{source}: {errors} error(s), {warnings} warning(s)",
                      show_lines=False, expand=False)
    for header in ("severity", "sheet", "row", "column", "value", "problem", "how to fix"):
        table.add_column(header, overflow="fold")
    for f in findings:
        style = "red" if f.severity == "error" else "yellow"
        table.add_row(f"[{style}]{f.severity}[/{style}]", escape(f.sheet),
                      "" if f.row is None else str(f.row), escape(f.column_label()),
                      escape(f.value or ""), escape(f.message), escape(f.fix))
    console.print(table)


def _plan_options(plan_path: str | None, prefer: Prefer | None) -> tuple[Plan, DeriveOptions]:
    """The plan (default: the seed study's) and its derive options, ``--prefer`` applied."""
    from reinfuse.plan import load_plan

    plan = load_plan(plan_path)
    return plan, plan.derive_options(prefer=prefer)


def _cmd_validate(args: argparse.Namespace) -> int:
    from reinfuse.pipeline import Study
    from reinfuse.progress import show_progress, stage, wanted

    plan, options = _plan_options(args.plan, args.prefer)
    with show_progress(wanted(args.quiet)):
        stage("Reading and validating")
        report = Study(args.path, plan, options, args.allow_identifiers).validate()
    if args.format == "json":
        json.dump([f.to_dict() for f in report.findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_findings(report.findings, args.path)
    return EXIT_OK if report.ok else EXIT_INVALID


def _cmd_antigen(args: argparse.Namespace) -> int:
    from reinfuse.flow.batch import qc_table, run_antigen, sample_specs, write_antigen_outputs
    from reinfuse.flow.gates import GateError, load_gates
    from reinfuse.validate import load_cohort

    cohort = load_cohort(args.path, allow_identifiers=args.allow_identifiers)
    table = cohort.tables.get("antigen_samples")
    if table is None or table.empty:
        raise UsageError(f"{args.path} has no antigen_samples rows; add the sheet "
                         "(docs/antigen-density.md)")
    base = Path(args.path).resolve()
    gates_path = Path(args.gates) if args.gates else (
        base if base.is_dir() else base.parent) / "gates.toml"
    try:
        gates = load_gates(gates_path)
    except GateError as exc:
        raise UsageError(str(exc)) from None
    specs = sample_specs(table, args.path)
    # The centre's definitions (thresholds, statistic) from the plan, as the report uses
    # them; --statistic overrides the plan's antigen_statistic.
    from dataclasses import replace as _replace

    from reinfuse.flow.measure import abc_settings

    _plan, options = _plan_options(args.plan, None)
    if args.statistic:
        options = _replace(options, antigen_statistic=args.statistic)
    abc, rule = abc_settings(options)
    try:
        results = run_antigen(specs, gates, scheduler=args.scheduler, workers=args.workers,
                              progress=not args.quiet, abc=abc, rule=rule)
    except (OSError, TimeoutError) as exc:  # the --scheduler address cannot be reached
        raise UsageError(f"cannot use the Dask scheduler {args.scheduler}: {exc}") from None
    qc = qc_table(results)
    table_out = RichTable(title="antigen samples: QC")
    for col in ("row", "patient_id", "infusion", "timepoint", "antigen", "status", "bead_r2",
                "n_blasts", "abc", "flags", "error"):
        table_out.add_column(col)
    for rec in qc.itertuples(index=False):
        table_out.add_row(*(escape("" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float)
                                   else str(v))
                            for v in (rec.row, rec.patient_id, rec.infusion, rec.timepoint,
                                      rec.antigen, rec.status, rec.bead_r2, rec.n_blasts,
                                      rec.abc, rec.flags, rec.error)))
    _console().print(table_out)
    if args.out:
        out = write_antigen_outputs(results, args.out, overwrite=args.overwrite,
                                    protect=[args.path])
        print(f"Antigen results written to {out}")
    failed = int((qc["status"] == "failed").sum())
    return EXIT_INVALID if failed else EXIT_OK


def _cmd_template(args: argparse.Namespace) -> int:
    from reinfuse.io.template import write_template

    path = write_template(args.out, overwrite=args.overwrite)
    print(f"Template written to {path}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from reinfuse.io.template import format_markdown

    sys.stdout.write(format_markdown() + "\n")
    return EXIT_OK


def _cmd_summary(args: argparse.Namespace) -> int:
    from reinfuse.summary import cohort_summary
    from reinfuse.validate import load_cohort

    cohort = load_cohort(args.path, allow_identifiers=args.allow_identifiers)
    sys.stdout.write(cohort_summary(cohort) + "\n")
    return EXIT_OK


def _cmd_synth(args: argparse.Namespace) -> int:
    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort

    tables = synth_cohort(args.patients, seed=args.seed)
    path = write_cohort(tables, args.out, overwrite=args.overwrite)
    n_inf = len(tables["infusions"])
    print(f"Synthetic cohort of {args.patients} patients ({n_inf} infusions) written to {path}")
    return EXIT_OK


def _run_report(source: Path | str | RawCohort, plan_path: str | None, out: str, overwrite: bool,
                allow_identifiers: bool, label: str,
                formats: Sequence[str] = ("html",), style: str | None = None,
                prefer: Prefer | None = None, source_population: int | None = None,
                quiet: bool = False, jobs: int | None = None) -> int:
    from dataclasses import replace

    from reinfuse.pipeline import Study
    from reinfuse.report import parse_formats
    from reinfuse.style import get_style

    plan, options = _plan_options(plan_path, prefer)
    if source_population is not None:
        plan = replace(plan, source_population=source_population)
    if style:
        plan = replace(plan, style=get_style(style).name)
    from reinfuse.progress import show_progress, stage, wanted

    study = Study(source, plan, options, allow_identifiers)
    with show_progress(wanted(quiet)):
        stage("Reading and validating")
        report = study.validate()
        if report.ok:
            output = study.report(out, checked=report, overwrite=overwrite,
                                  formats=parse_formats(formats), jobs=jobs)
    if not report.ok:
        print_findings(report.findings, label)
        _console(stderr=True).print(
            "[red]The cohort has errors; fix them and run the report again.[/red]")
        return EXIT_INVALID
    if report.findings:
        print(f"{label}: {len(report.warnings)} warning(s); they are listed in the report.")
    for name, path in (("Report", output.html), ("Word", output.docx), ("PDF", output.pdf)):
        if path is not None:
            print(f"{name}: {path.resolve()}")
    print(f"Results: {output.results_json.resolve()}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    source: Path | str | RawCohort = args.path
    if args.registry or args.lock:  # a data lock of a registry instead of a file
        if not (args.registry and args.lock) or args.path:
            raise UsageError("give either a cohort PATH, or --registry URL with --lock NAME.")
        from reinfuse.registry import lock_source

        source = lock_source(args.registry, args.lock)
    elif not args.path:
        raise UsageError("give a cohort PATH (or --registry URL --lock NAME).")
    return _run_report(source, args.plan, args.out, args.overwrite, args.allow_identifiers,
                       args.path or f"registry lock {args.lock}", formats=args.format,
                       style=args.style, prefer=args.prefer, quiet=args.quiet,
                       jobs=args.jobs)


def _cmd_demo(args: argparse.Namespace) -> int:
    from reinfuse.demo import DEMO_SOURCE_POPULATION, demo_path

    # The demo's output folder is the demo's own: it is regenerated on every run.
    return _run_report(demo_path(), None, args.out, True, False, "demo cohort",
                       formats=("html", "docx", "pdf"), source_population=DEMO_SOURCE_POPULATION,
                       quiet=args.quiet)


def _cmd_plan(args: argparse.Namespace) -> int:
    from reinfuse.plan import default_plan_text, load_plan

    if args.check:
        from reinfuse.analyze import plan_problems
        from reinfuse.variables import frame_names

        plan = load_plan(args.check)
        plan.derive_options()  # every unknown or wrong [plan.derive] option, at once
        # The variables the plan may name: the analysis frame's columns, as the variable
        # registry declares them (inputs, reconciliation pairs, derived variables).
        problems = plan_problems(plan, frame_names())
        if problems:
            for problem in problems:
                print(f"{args.check}: {problem}", file=sys.stderr)
            return EXIT_BAD_OPTIONS
        print(f"{args.check}: plan '{plan.id}' v{plan.version} is well formed "
              f"({len(plan.tables)} tables, {len(plan.comparisons)} comparisons, "
              f"{len(plan.figures)} figures).")
        return EXIT_OK
    sys.stdout.write(default_plan_text())
    return EXIT_OK


def _cmd_grade(args: argparse.Namespace) -> int:
    if args.what in ("crs", "icans") and args.out:
        raise UsageError("--out writes the graded observations of a cohort file; with "
                            f"'grade {args.what}' the grade is printed. Give a cohort file, "
                            "or drop --out.")
    if args.what == "crs":
        from reinfuse.criteria.crs import crs_grade

        _, options = _plan_options(args.plan, None)
        # A flow without a device means a nasal cannula, graded by its rate (ASTCT).
        oxygen = args.oxygen or ("nasal_cannula" if args.oxygen_l_min else "room_air")
        therapy = ("for_crs" if args.anticytokine else
                   "premedication" if args.premedication else "no")
        result = crs_grade(args.temperature, therapy, args.hypotension,
                           args.vasopressors, args.vasopressin, oxygen, args.oxygen_l_min,
                           args.other_cause, args.death, fever_c=options.fever_c,
                           low_flow_max_l_min=options.low_flow_max_l_min,
                           hfnc_at_low_rate=options.hfnc_at_low_rate)
        grade, rule = result.item()
        print(f"CRS grade {grade if grade is not None else 'not gradable'} (ASTCT consensus, "
              f"Lee et al. 2019): {rule}")
        return EXIT_OK
    if args.what == "icans":
        from reinfuse.criteria.icans import icans_grade

        if (args.capd is not None and args.ice is None and args.age is None
                and args.tool is None):
            raise UsageError("CAPD replaces ICE only below an age (12 years by default) "
                             "or for patients who cannot do the ICE: give --age or "
                             "--tool capd with --capd.")

        _, options = _plan_options(args.plan, None)
        result = icans_grade(args.ice, args.capd, args.age, args.consciousness, args.sedated,
                             args.seizure, args.motor_weakness, args.cerebral_edema,
                             args.raised_icp, args.other_cause, args.death, args.tool,
                             capd_age_below=options.capd_age_below,
                             sedation_excludes_scores=options.sedation_excludes_scores)
        grade, rule = result.item()
        print(f"ICANS grade {grade if grade is not None else 'not gradable'} (ASTCT "
              f"consensus, Lee et al. 2019): {rule}")
        return EXIT_OK
    return _grade_cohort(args)


def _grade_cohort(args: argparse.Namespace) -> int:
    from reinfuse.io.read import read_raw
    from reinfuse.io.write import write_cohort
    from reinfuse.reconcile import reconcile
    from reinfuse.validate import validate

    _, options = _plan_options(args.plan, None)
    report = validate(read_raw(args.what), options=options)
    if not report.ok:
        print_findings(report.findings, args.what)
        return EXIT_INVALID
    reconciled = reconcile(report.cohort.tables, options=options)
    graded = reconciled.graded
    if not graded:
        print(f"{args.what}: no crs_observations or icans_observations to grade.")
        return EXIT_OK
    console = _console()
    key = ["patient_id", "infusion"]
    # The maximum is derive's own (reconcile, criteria.max_grade_per_infusion): only the
    # observation window counts, and an ungradable observation leaves it not gradable.
    derived = reconciled.infusions.set_index(key)
    for sheet, frame in graded.items():
        column = "crs_grade" if sheet == "crs_observations" else "neurotox_grade"
        table = RichTable(title=f"{sheet}: maximum grade per infusion")
        for header in ("patient_id", "infusion", "observations", "max grade", "decided by"):
            table.add_column(header)
        counts = frame.groupby(key).size()
        ungraded = frame[frame["grade"].isna()].sort_values([*key, "day"]).groupby(key).head(1)
        why_not = ("day " + ungraded["day"].map("{:g}".format).astype(str) + ": "
                   + ungraded["rule"].astype(str)).set_axis(
            pd.MultiIndex.from_frame(ungraded[key]))
        for pid, number in counts.index:
            grade = derived[f"{column}_derived"].get((pid, number), pd.NA)
            if pd.isna(grade):
                shown = "not gradable"
                because = why_not.get((pid, number), "no observation in the observation "
                                      "window")
            else:
                shown = str(int(grade))
                because = str(derived[f"{column}_derived_from"].get((pid, number), ""))
            table.add_row(escape(str(pid)), str(number), str(counts[(pid, number)]), shown,
                          escape(because))
        console.print(table)
    disagreements = [f for f in report.findings if f.rule == "derived-differs-from-recorded"]
    if disagreements:
        print_findings(disagreements, "recorded vs derived")
    if args.out:
        out = {name: frame.drop(columns=["source_row"]) for name, frame in graded.items()}
        path = write_cohort(out, args.out, overwrite=args.overwrite, protect=[args.what])
        print(f"Graded observations written to {path}")
    return EXIT_OK


#: Exit code of a registry import that lost a race with another import (nothing written).
EXIT_CONFLICT = 5

REGISTRY_EXIT_HELP = EXIT_CODES_HELP + """
  5  registry import: another import changed the registry meanwhile; nothing was written,
     run the same command again
  (registry: 2 also when the registry cannot be opened; 3 for a lock name that exists
  or does not exist)"""


def _cmd_registry(args: argparse.Namespace) -> int:
    from reinfuse.errors import LockError, RegistryConflictError, RegistryError

    try:
        return _registry_action(args)
    except RegistryConflictError as exc:
        return _fail(str(exc), EXIT_CONFLICT, "conflict", as_json=False, kind="conflict")
    except LockError as exc:
        return _fail(str(exc), EXIT_BAD_OPTIONS, "error", as_json=False, kind="bad-options")
    except RegistryError as exc:
        return _fail(str(exc), EXIT_UNREADABLE, "cannot open the registry", as_json=False,
                     kind="unreadable")


def _registry_action(args: argparse.Namespace) -> int:
    from reinfuse import registry
    from reinfuse.errors import CohortValidationError

    action, db = args.registry_command, args.db
    if action == "init":
        before, after = registry.init(db)
        where = registry.database_url(db)
        print(f"Registry {where}: " + ("created" if before is None else
                                       "already current" if before == after else
                                       f"migrated from {before}") + f" (revision {after}).")
        return EXIT_OK
    if action in ("import", "diff"):
        try:
            result, report = registry.import_cohort(
                db, args.path, user=getattr(args, "user", None),
                delete_missing=args.delete_missing, dry_run=action == "diff",
                allow_identifiers=args.allow_identifiers, dictionary=args.dictionary,
                mapping=args.mapping)
        except CohortValidationError as exc:
            print_findings(exc.findings, args.path)
            _console(stderr=True).print("[red]The cohort has errors; nothing was imported."
                                        "[/red]")
            return EXIT_INVALID
        if report.warnings:
            print(f"{args.path}: {len(report.warnings)} warning(s) (see `reinfuse validate`).")
        verb = "Imported" if result.applied else "Would change (nothing written)"
        for name in result.inserted:
            counts = (result.inserted[name], result.updated[name], result.deleted[name])
            if any(counts):
                print(f"{verb}: {name}: {counts[0]} new, {counts[1]} changed, "
                      f"{counts[2]} deleted row(s)")
        if not result.changed:
            print("No changes: the registry already holds this cohort.")
        if action == "diff" and len(result.audit):
            shown = result.audit[["table_name", "row_key", "column_name", "old_value",
                                  "new_value"]]
            print(shown.to_string(index=False, max_rows=args.max_rows))
        return EXIT_OK
    engine = registry.connect(db)
    try:
        if action == "history":
            rows = registry.history(engine, args.patient_id)
            if rows.empty:
                print(f"No audit entries for {args.patient_id}.")
            else:
                print(rows.drop(columns=["id", "patient_id"]).to_string(index=False))
        elif action == "lock":
            info = registry.create_lock(engine, args.name, user=args.user)
            print(f"Data lock {info.name}: {info.patients} patients, content SHA-256 "
                  f"{info.content_sha256}.")
        elif action == "locks":
            for info in registry.list_locks(engine):
                print(f"{info.name}\t{info.created_at}\t{info.user_name}\t{info.patients} "
                      f"patients\t{info.content_sha256}")
    finally:
        engine.dispose()
    if action == "export":
        path = registry.export(db, args.out, lock=args.lock, overwrite=args.overwrite,
                               labels=args.labels)
        print(f"Exported {'lock ' + args.lock if args.lock else 'the registry'} to {path}")
    return EXIT_OK


def _cmd_design(args: argparse.Namespace) -> int:
    """`reinfuse design simon|analyze|bayes`: trial designs as a Markdown table or JSON."""
    from reinfuse import design
    from reinfuse.design.text import to_markdown
    from reinfuse.errors import StatisticsError

    result: design.SimonDesign | design.TwoStageInference | design.PredictiveMonitoring
    try:
        if args.design_command == "simon":
            result = design.simon_two_stage(args.p0, args.p1, args.alpha, args.beta, args.nmax)
        elif args.design_command == "analyze":
            result = design.two_stage_inference(
                args.r1, args.n1, args.r, args.n, args.x1, args.x2, p0=args.p0, m2=args.m2,
                confidence_level=args.level)
        else:
            if (args.prior_rate is None) != (args.prior_ess is None):
                raise UsageError("--prior-rate and --prior-ess go together; give both or "
                                 "neither.")
            a0, b0 = (design.prior_from_rate(args.prior_rate, args.prior_ess)
                      if args.prior_rate is not None else (args.a0, args.b0))
            result = design.predictive_monitoring(
                args.p0, args.p1, args.nmax, a0=a0, b0=b0, theta_t=args.theta_t,
                theta_l=args.theta_l, looks=args.looks)
    except StatisticsError as exc:  # numbers typed on the command line: a usage error (3)
        raise UsageError(str(exc)) from exc
    if args.out is not None:  # the design report (reinfuse.report.design); docs/trial-design.md
        from reinfuse.report.design import write_design_report

        if args.format in ("text", "json"):
            raise UsageError("with --out, --format lists the documents to write (html, docx, "
                             "pdf; default html); design.json is always written.")
        given = {k: v for k, v in vars(args).items()
                 if k not in ("func", "command", "out", "overwrite", "format")}
        written = write_design_report(result, args.out, formats=args.format or "html",
                                      style=args.style, inputs=given, overwrite=args.overwrite)
        print(f"Design report written to {written.folder}")
        return EXIT_OK
    if args.format not in (None, "text", "json"):
        raise UsageError(f"--format {args.format} writes a document: give the output folder "
                         "with --out (without --out, --format is text or json).")
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(to_markdown(result), end="")
    return EXIT_OK


def _cmd_redcap(args: argparse.Namespace) -> int:
    """``reinfuse redcap dictionary|import|export|map`` (docs/redcap.md)."""
    from reinfuse import redcap
    from reinfuse.io.write import write_cohort, write_text

    if args.redcap_command == "dictionary":
        path = write_text(redcap.dictionary_csv(), args.out, overwrite=args.overwrite)
        print(f"REDCap data dictionary written to {path}; make these instruments repeating: "
              + ", ".join(redcap.repeating_forms()) + ".")
        return EXIT_OK
    if args.redcap_command == "map":
        starter = redcap.starter_mapping(redcap.read_dictionary(args.dictionary))
        path = write_text(starter.text, args.out, overwrite=args.overwrite)
        print(f"Starter mapping written to {path}: {len(starter.matched)} field(s) matched; "
              "check every line.")
        if starter.unmatched:
            print(f"No close match for {len(starter.unmatched)} field(s): "
                  + ", ".join(starter.unmatched))
        return EXIT_OK
    if args.redcap_command == "export":
        from reinfuse.validate import load_cohort

        cohort = load_cohort(args.cohort, allow_identifiers=args.allow_identifiers)
        path = redcap.write_export(cohort, args.out, labels=args.labels,
                                   overwrite=args.overwrite)
        print(f"REDCap record file written to {path}")
        return EXIT_OK
    from reinfuse.validate import validate

    export = redcap.read_export(args.export, args.dictionary, args.mapping)
    report = validate(export, allow_identifiers=args.allow_identifiers)
    findings = redcap.locate(tuple(export.notes) + report.findings, export, report.cohort)
    if args.format == "json":
        json.dump([f.to_dict() for f in findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_findings(findings, args.export)
    if not report.ok:
        return EXIT_INVALID
    if args.out:
        tables = {name: sheet.frame.set_axis(list(sheet.headers), axis=1)
                  for name, sheet in export.sheets.items()}
        path = write_cohort(tables, args.out, overwrite=args.overwrite,
                            protect=[args.export])
        if args.format != "json":
            print(f"Cohort written to {path}")
    return EXIT_OK


def _report_formats(value: str) -> tuple[str, ...]:
    """``--format html,docx,pdf`` as a checked tuple (argparse prints the error)."""
    from reinfuse.report import ReportFormatError, parse_formats

    try:
        return parse_formats(value)
    except ReportFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _design_format(value: str) -> str:
    """``--format`` of ``reinfuse design``: text, json, or a list of report documents."""
    if value in ("text", "json"):
        return value
    return ",".join(_report_formats(value))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    parser = _Parser(
        prog="reinfuse", epilog=EXIT_CODES_HELP, formatter_class=_Formatter,
        description="CAR T-cell cohort studies with a focus on reinfusion.")
    parser.add_argument("--version", action="version", version=f"reinfuse {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check a cohort workbook or CSV folder")
    p.add_argument("path", help="an .xlsx workbook or a folder of .csv files")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--allow-identifiers", action="store_true",
                   help="report identifier-like columns as warnings instead of errors")
    p.add_argument("--plan", help="analysis plan (TOML) whose [plan.derive] definitions "
                                  "apply; default: the seed study's plan")
    p.add_argument("--prefer", choices=("derived", "recorded"), default=None,
                   help=PREFER_HELP)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "grade", help="grade CRS or ICANS from findings, or every observation in a cohort",
        description="`reinfuse grade crs --temperature 38.6 --hypotension vasopressors "
                    "--vasopressors 1` grades one set of findings and explains the rule; "
                    "`reinfuse grade COHORT` grades every row of crs_observations and "
                    "icans_observations.")
    p.add_argument("what", help="crs, icans, or a cohort workbook / CSV folder")
    p.add_argument("--plan", help="analysis plan (TOML) whose [plan.derive] definitions "
                                  "apply (grading thresholds; for a cohort also "
                                  "reconciliation); default: the seed study's plan")
    crs_group = p.add_argument_group("CRS findings (ASTCT)")
    crs_group.add_argument("--temperature", type=float, help="highest temperature, °C")
    crs_group.add_argument("--anticytokine", action="store_true",
                           help="tocilizumab, corticosteroids or antipyretics already given "
                                "for CRS (fever then no longer required)")
    crs_group.add_argument("--premedication", action="store_true",
                           help="antipyretics or corticosteroids given only as premedication "
                                "before CRS began (fever still required)")
    crs_group.add_argument("--hypotension", default="none",
                           choices=("none", "fluids", "vasopressors"))
    crs_group.add_argument("--vasopressors", type=int, default=0,
                           help="number of vasopressors, excluding vasopressin")
    crs_group.add_argument("--vasopressin", action="store_true")
    crs_group.add_argument("--oxygen", help="oxygen support: room_air (default), blow_by, "
                           "low_flow_nasal_cannula, high_flow_nasal_cannula, nasal_cannula "
                           "(graded by --oxygen-l-min), facemask, non_rebreather, venturi, "
                           "cpap, bipap, mechanical_ventilation")
    crs_group.add_argument("--oxygen-l-min", type=float, help="oxygen flow, L/min")
    icans_group = p.add_argument_group("ICANS findings (ASTCT)")
    icans_group.add_argument("--ice", type=int, help="ICE score 0-10")
    icans_group.add_argument("--capd", type=int, help="CAPD score 0-32 (children)")
    icans_group.add_argument("--age", type=float, help="age in years (CAPD below 12)")
    icans_group.add_argument("--tool", choices=("ice", "capd"),
                             help="the tool used, when not chosen by age (CAPD for a patient "
                                  "who cannot do the ICE, e.g. developmental delay)")
    icans_group.add_argument("--consciousness", default="alert",
                             help="alert, awakens_spontaneously, awakens_to_voice, "
                                  "awakens_to_touch, unarousable")
    icans_group.add_argument("--sedated", action="store_true",
                             help="consciousness depressed by sedating medication (e.g. "
                                  "propofol, RASS -4/-5): it and the ICE/CAPD score are not "
                                  "counted")
    icans_group.add_argument("--seizure", default="none", help="none, rapidly_resolving, "
                             "eeg_nonconvulsive_resolved, prolonged, repetitive")
    icans_group.add_argument("--motor-weakness", action="store_true")
    icans_group.add_argument("--cerebral-edema", default="none", choices=("none", "focal",
                                                                           "diffuse"))
    icans_group.add_argument("--raised-icp", action="store_true")
    both = p.add_argument_group("both")
    both.add_argument("--other-cause", action="store_true",
                      help="findings attributable to another cause")
    both.add_argument("--death", action="store_true", help="death due to the syndrome")
    both.add_argument("--out", help="with a cohort: write every graded observation to this "
                                    ".xlsx file or CSV folder")
    both.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("template", help="write an empty cohort workbook with a dictionary")
    p.add_argument("out", help="destination .xlsx file")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_template)

    p = sub.add_parser("schema", help="print the cohort format as Markdown")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("summary", help="validate a cohort and print a short summary")
    p.add_argument("path")
    p.add_argument("--allow-identifiers", action="store_true")
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("synth", help="write a random, plausible synthetic cohort")
    p.add_argument("out", help="destination .xlsx file or folder for .csv files")
    p.add_argument("--patients", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("report", help="validate a cohort and write the study report")
    p.add_argument("path", nargs="?", help="an .xlsx workbook or a folder of .csv files")
    p.add_argument("--registry", metavar="URL", help="read the cohort from this registry "
                   "(SQLite file or postgresql+psycopg:// URL), with --lock")
    p.add_argument("--lock", metavar="NAME", help="the registry's data lock to report on")
    p.add_argument("--plan", help="analysis plan (TOML); default: the seed study's plan")
    p.add_argument("--out", default="reinfuse-report", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--allow-identifiers", action="store_true")
    p.add_argument("--format", type=_report_formats, default=("html",), metavar="LIST",
                   help="documents to write, a comma list of html, docx, pdf (default html); "
                        "results.json, figures and tables are always written")
    p.add_argument("--style", choices=("seed", "jama", "nejm", "lancet"),
                   help="journal number style (default: the plan's)")
    p.add_argument("--prefer", choices=("derived", "recorded"), default=None,
                   help=PREFER_HELP)
    p.add_argument("--jobs", type=int, metavar="N",
                   help="processes drawing the figures at once (default: the REINFUSE_JOBS "
                        "environment variable, else the cores available, at most 4; 1 "
                        "draws them in this process); the files are the same either way")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("plan", help="print the default analysis plan, or check one")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="print the default plan (TOML)")
    group.add_argument("--check", metavar="FILE", help="check that a plan file is well formed")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("antigen", help="blast antigen density (ABC) from FCS files, on Dask",
                       description="Compute QuantiBRITE-calibrated antigen density for every "
                       "row of the antigen_samples sheet; a sample that fails is listed and "
                       "the others go on (exit 1 if any failed).")
    p.add_argument("path", help="an .xlsx workbook or a folder of .csv files")
    p.add_argument("--gates", metavar="FILE",
                   help="gate file (TOML); default gates.toml beside the workbook")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a dask.distributed scheduler (tcp://host:8786); default: local threads")
    p.add_argument("--workers", type=int, default=None, help="local threads (default: cores)")
    p.add_argument("--statistic", choices=("geometric_mean", "median"), default=None,
                   help="blast fluorescence statistic (default: the plan's "
                   "antigen_statistic, geometric_mean)")
    p.add_argument("--plan", metavar="FILE", help="analysis plan whose [plan.derive] "
                   "antigen_* definitions apply (default: the documented defaults)")
    p.add_argument("--out", help="output folder for CSV tables and histograms")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--allow-identifiers", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_antigen)

    p = sub.add_parser("demo", help="run the study report on the bundled demo cohort")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("registry", help="the cohort in a database: import, audit, locks",
                       description="A registry (SQLite file, or PostgreSQL) holding the "
                                   "cohort, with an audit trail and immutable data locks. "
                                   "See docs/registry.md.")
    rsub = p.add_subparsers(dest="registry_command", required=True, parser_class=_Parser)
    r = rsub.add_parser("init", help="create the registry, or migrate it to this version")
    r = rsub.add_parser("import", help="validate a cohort and import it (one transaction)")
    r.add_argument("path", help="an .xlsx workbook, a folder of .csv files, or a REDCap "
                                "export (.csv)")
    r.add_argument("--user", help="who imports, for the audit trail (default: the OS user)")
    r2 = rsub.add_parser("diff", help="show what an import would change; change nothing")
    r2.add_argument("path")
    r2.add_argument("--max-rows", type=int, default=200, help="changed cells shown")
    for r in (rsub.choices["import"], r2):
        r.add_argument("--delete-missing", action="store_true",
                       help="delete registry rows the input does not have (default: never)")
        r.add_argument("--allow-identifiers", action="store_true")
        r.add_argument("--dictionary", help="REDCap data dictionary of the export")
        r.add_argument("--mapping", help="REDCap field mapping of the export")
    r = rsub.add_parser("history", help="the audit trail of one patient")
    r.add_argument("patient_id")
    r = rsub.add_parser("lock", help="make a named, immutable data lock of the registry")
    r.add_argument("name")
    r.add_argument("--user", help="who locks (default: the OS user)")
    rsub.add_parser("locks", help="list the data locks")
    r = rsub.add_parser("export", help="write the registry (or a lock) in the cohort format")
    r.add_argument("out", help=".xlsx workbook, folder of .csv files, or REDCap import .csv")
    r.add_argument("--lock", help="export this data lock instead of the current content")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument("--labels", action="store_true", help="REDCap: labels instead of codes")
    for r in rsub.choices.values():
        r.add_argument("--db", help="registry: a SQLite file or postgresql+psycopg://... URL "
                                    "(default: $REINFUSE_DB, else reinfuse.db)")
        r.epilog, r.formatter_class = REGISTRY_EXIT_HELP, _Formatter
    p.set_defaults(func=_cmd_registry)

    p = sub.add_parser("design", help="single-arm trial design: Simon, after-trial, Bayesian")
    dsub = p.add_subparsers(dest="design_command", required=True, parser_class=_Parser)
    d = dsub.add_parser("simon", help="Simon two-stage designs (minimax, optimal, admissible)")
    d.add_argument("--p0", type=float, required=True, help="uninteresting response rate")
    d.add_argument("--p1", type=float, required=True, help="target response rate")
    d.add_argument("--alpha", type=float, default=0.05, help="type I error (default 0.05)")
    d.add_argument("--beta", type=float, default=0.2, help="type II error (default 0.2)")
    d.add_argument("--nmax", type=int, default=100, help="largest n searched (default 100)")
    d = dsub.add_parser("analyze", help="p-value, CI and UMVUE after a Simon two-stage trial")
    for flag in ("--r1", "--n1", "--r", "--n", "--x1"):
        d.add_argument(flag, type=int, required=True)
    d.add_argument("--x2", type=int, help="stage-2 responses (omit if stopped at stage 1)")
    d.add_argument("--m2", type=int, help="stage-2 patients if not as planned")
    d.add_argument("--p0", type=float, required=True, help="null response rate")
    d.add_argument("--level", type=float, default=0.90, help="CI level (default 0.90)")
    d = dsub.add_parser("bayes", help="Bayesian predictive-probability monitoring")
    d.add_argument("--p0", type=float, required=True)
    d.add_argument("--p1", type=float, required=True)
    d.add_argument("--nmax", type=int, required=True, help="maximum number of patients")
    d.add_argument("--a0", type=float, default=0.5, help="Beta prior a (default 0.5)")
    d.add_argument("--b0", type=float, default=0.5, help="Beta prior b (default 0.5)")
    d.add_argument("--prior-rate", type=float, help="prior mean, e.g. a cohort's response rate")
    d.add_argument("--prior-ess", type=float, help="prior effective sample size (patients)")
    d.add_argument("--theta-t", type=float, default=0.9, help="efficacy threshold")
    d.add_argument("--theta-l", type=float, default=0.05, help="futility threshold on PP")
    d.add_argument("--looks", type=int, nargs="+", help="interim sample sizes (default all)")
    for d in dsub.choices.values():
        d.add_argument("--format", metavar="FORMAT", type=_design_format,
                       help="without --out: text (a Markdown table, default) or json (every "
                            "number); with --out: the documents, a comma list of html, docx, "
                            "pdf (default html)")
        d.add_argument("--out", help="write a design report folder (design.json and the "
                                     "--format documents) instead of printing")
        d.add_argument("--overwrite", action="store_true",
                       help="replace an existing report folder written by reinfuse")
        d.add_argument("--style", choices=("seed", "jama", "nejm", "lancet"), default="seed",
                       help="journal number style of the report (default seed)")
        d.epilog, d.formatter_class = EXIT_CODES_HELP, _Formatter
    p.set_defaults(func=_cmd_design)

    p = sub.add_parser("redcap", help="REDCap: data dictionary, import an export, mapping")
    rsub = p.add_subparsers(dest="redcap_command", required=True, parser_class=_Parser)
    r = rsub.add_parser("dictionary", help="write the REDCap data dictionary of the format")
    r.add_argument("out", help="destination .csv file (upload it in REDCap's Data "
                               "Dictionary page)")
    r.add_argument("--overwrite", action="store_true")
    r = rsub.add_parser("import", help="read a REDCap record export (raw or labels), "
                                       "validate it, and write it as a cohort")
    r.add_argument("export", help="the record export, a .csv file")
    r.add_argument("--dictionary", help="the project's data dictionary (.csv); default: "
                                        "reinfuse's own")
    r.add_argument("--mapping", help="mapping TOML for a centre's own project "
                                     "(see `reinfuse redcap map`)")
    r.add_argument("--out", help="write the cohort to this .xlsx file or CSV folder "
                                 "(only when it has no errors)")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument("--allow-identifiers", action="store_true")
    r.add_argument("--format", choices=("text", "json"), default="text")
    r = rsub.add_parser("export", help="write a cohort as a REDCap record import file")
    r.add_argument("cohort", help="an .xlsx workbook or a folder of .csv files")
    r.add_argument("out", help="destination .csv file")
    r.add_argument("--labels", action="store_true",
                   help="labels and Yes/No instead of raw codes (REDCap's import needs raw)")
    r.add_argument("--overwrite", action="store_true")
    r.add_argument("--allow-identifiers", action="store_true")
    r = rsub.add_parser("map", help="write a starter mapping from a centre's dictionary")
    r.add_argument("--dictionary", required=True, help="their data dictionary (.csv)")
    r.add_argument("--out", default="redcap-mapping.toml",
                   help="destination TOML file (default redcap-mapping.toml)")
    r.add_argument("--overwrite", action="store_true")
    for r in rsub.choices.values():
        r.epilog, r.formatter_class = EXIT_CODES_HELP, _Formatter
    p.set_defaults(func=_cmd_redcap)
    for name in ("validate", "report", "demo"):  # the commands that can take a while
        sub.choices[name].add_argument(
            "--quiet", action="store_true",
            help="no progress display (it is shown only when stderr is a terminal)")
    for command in sub.choices.values():  # every command's --help lists the exit codes
        command.epilog, command.formatter_class = EXIT_CODES_HELP, _Formatter
    return parser


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for JSON output (looked at before parsing succeeds)."""
    words = list(argv)
    return "--format=json" in words or any(
        a == "--format" and b == "json" for a, b in itertools.pairwise(words))


def _fail(message: str, code: int, label: str, *, as_json: bool,
          kind: str = "error") -> int:
    """Report an error: a JSON object on stdout with ``--format json``, else on stderr."""
    if as_json:
        json.dump({"error": {"kind": kind, "exit_code": code, "message": message}},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _console(stderr=True).print(f"[red]{label}:[/red] {escape(message)}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reinfuse`` command; returns the exit code.

    No exception reaches the user as a traceback: reinfuse's own errors map to the exit
    codes above, and anything else is reported in one line as an internal error (exit 2;
    ``REINFUSE_DEBUG=1`` shows the traceback). With ``--format json`` the output is
    always one JSON document: the findings, or ``{"error": {...}}``.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(words)
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exc:  # --help, --version, or bad options (exit 3)
        status = exc.code if isinstance(exc.code, int) else EXIT_BAD_OPTIONS
        if as_json and status != EXIT_OK:
            return _fail("bad command-line options (the usage is printed on standard error).",
                         status, "error", as_json=True, kind="bad-options")
        raise
    try:
        code: int = args.func(args)
    except CohortReadError as exc:
        return _fail(str(exc), EXIT_UNREADABLE, "cannot read", as_json=as_json,
                     kind="unreadable")
    except (PlanError, UsageError, CriteriaError) as exc:
        # CriteriaError reaches here only from findings typed on the command line (`grade
        # crs ...`): a cohort's values are checked by validate and reported as findings.
        return _fail(str(exc), EXIT_BAD_OPTIONS, "error", as_json=as_json,
                     kind="bad-options")
    except OutputExistsError as exc:
        return _fail(str(exc), EXIT_OUTPUT_REFUSED, "output refused", as_json=as_json,
                     kind="output-refused")
    except ReinfuseError as exc:
        return _fail(str(exc), EXIT_INVALID, "error", as_json=as_json, kind="invalid")
    except KeyboardInterrupt:
        return _fail("interrupted.", 130, "interrupted", as_json=as_json,
                     kind="interrupted")
    except Exception as exc:  # a bug: say so in one line, never a traceback
        if os.environ.get("REINFUSE_DEBUG"):
            raise
        return _fail(
            f"reinfuse could not process this input: an internal error ({type(exc).__name__}:"
            f" {str(exc)[:300]}). This is a bug in reinfuse; please report it with the "
            "command line (not the data). Set REINFUSE_DEBUG=1 to see the traceback.",
            EXIT_UNREADABLE, "internal error", as_json=as_json, kind="internal")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
