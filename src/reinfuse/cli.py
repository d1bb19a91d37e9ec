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

from reinfuse import __version__
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
    from reinfuse.io.read import read_raw
    from reinfuse.progress import show_progress, stage, wanted
    from reinfuse.validate import validate

    _, options = _plan_options(args.plan, args.prefer)
    with show_progress(wanted(args.quiet)):
        stage("Reading")
        raw = read_raw(args.path)
        stage("Validating")
        report = validate(raw, allow_identifiers=args.allow_identifiers, options=options)
    if args.format == "json":
        json.dump([f.to_dict() for f in report.findings], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_findings(report.findings, args.path)
    return EXIT_OK if report.ok else EXIT_INVALID


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


def _run_report(source: Path | str, plan_path: str | None, out: str, overwrite: bool,
                allow_identifiers: bool, label: str,
                formats: Sequence[str] = ("html",), style: str | None = None,
                prefer: Prefer | None = None, source_population: int | None = None,
                quiet: bool = False) -> int:
    from dataclasses import replace

    from reinfuse.io.read import read_raw
    from reinfuse.report import build_report, parse_formats
    from reinfuse.style import get_style
    from reinfuse.validate import validate

    plan, options = _plan_options(plan_path, prefer)
    if source_population is not None:
        plan = replace(plan, source_population=source_population)
    if style:
        plan = replace(plan, style=get_style(style).name)
    from reinfuse.progress import show_progress, stage, wanted

    with show_progress(wanted(quiet)):
        stage("Reading")
        raw = read_raw(source)
        stage("Validating")
        report = validate(raw, allow_identifiers=allow_identifiers, options=options)
        if report.ok:
            output = build_report(report.cohort, plan, out, overwrite=overwrite,
                                  formats=parse_formats(formats), options=options)
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
    return _run_report(args.path, args.plan, args.out, args.overwrite, args.allow_identifiers,
                       args.path, formats=args.format, style=args.style, prefer=args.prefer,
                       quiet=args.quiet)


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
        from reinfuse.cohort import Cohort
        from reinfuse.derive import derive
        from reinfuse.synth import synth_cohort

        plan = load_plan(args.check)
        plan.derive_options()  # every unknown or wrong [plan.derive] option, at once
        # The variables the plan may name are the analysis frame's columns; a small
        # synthetic cohort gives them without needing the user's data.
        tables = synth_cohort(30, seed=1)
        tables["infusions"]["source_row"] = range(2, len(tables["infusions"]) + 2)
        tables["patients"]["source_row"] = range(2, len(tables["patients"]) + 2)
        columns = derive(Cohort(tables=tables)).columns
        problems = plan_problems(plan, columns)
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
    graded = reconcile(report.cohort.tables, options=options).graded
    if not graded:
        print(f"{args.what}: no crs_observations or icans_observations to grade.")
        return EXIT_OK
    console = _console()
    for sheet, frame in graded.items():
        table = RichTable(title=f"{sheet}: maximum grade per infusion")
        for header in ("patient_id", "infusion", "observations", "max grade", "decided by"):
            table.add_column(header)
        worst = frame.sort_values(["patient_id", "infusion", "grade", "day"],
                                  ascending=[True, True, False, True], na_position="last")
        counts = frame.groupby(["patient_id", "infusion"]).size()
        for (pid, number), row in worst.groupby(["patient_id", "infusion"]).head(1).set_index(
                ["patient_id", "infusion"]).iterrows():
            grade = "not gradable" if pd.isna(row["grade"]) else str(int(row["grade"]))
            table.add_row(escape(str(pid)), str(number), str(counts[(pid, number)]), grade,
                          escape(f"day {row['day']:g}: {row['rule']}"))
        console.print(table)
    disagreements = [f for f in report.findings if f.rule == "derived-differs-from-recorded"]
    if disagreements:
        print_findings(disagreements, "recorded vs derived")
    if args.out:
        out = {name: frame.drop(columns=["source_row"]) for name, frame in graded.items()}
        path = write_cohort(out, args.out, overwrite=args.overwrite, protect=[args.what])
        print(f"Graded observations written to {path}")
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
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(to_markdown(result), end="")
    return EXIT_OK


def _report_formats(value: str) -> tuple[str, ...]:
    """``--format html,docx,pdf`` as a checked tuple (argparse prints the error)."""
    from reinfuse.report import ReportFormatError, parse_formats

    try:
        return parse_formats(value)
    except ReportFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    p.add_argument("path", help="an .xlsx workbook or a folder of .csv files")
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
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("plan", help="print the default analysis plan, or check one")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="print the default plan (TOML)")
    group.add_argument("--check", metavar="FILE", help="check that a plan file is well formed")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("demo", help="run the study report on the bundled demo cohort")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.set_defaults(func=_cmd_demo)
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
        d.add_argument("--format", choices=("text", "json"), default="text",
                       help="text: a Markdown table (default); json: every number")
        d.epilog, d.formatter_class = EXIT_CODES_HELP, _Formatter
    p.set_defaults(func=_cmd_design)
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
