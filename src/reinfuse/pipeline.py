"""The pipeline: read -> validate -> derive -> analyze -> render, one stage at a time.

Each stage takes the previous stage's frozen output and returns its own:

- ``read``: a workbook or a folder of CSV files -> :class:`~reinfuse.io.read.RawCohort`.
- ``validate`` (coercion and rules only): RawCohort ->
  :class:`~reinfuse.validate.ValidationReport`, the typed :class:`~reinfuse.cohort.Cohort`
  and every finding.
- ``measure_antigen`` (only when the cohort lists flow cytometry samples in
  ``antigen_samples``): Cohort -> :class:`~reinfuse.flow.measure.AntigenMeasurement`
  (blast antigen density computed from the FCS files), which derive reconciles.
- ``derive``: Cohort and :class:`~reinfuse.options.DeriveOptions` ->
  :class:`~reinfuse.derive.AnalysisFrame` (the raw observations reconciled with the
  recorded summaries, then every derived variable; the reconciliation's findings).
- ``analyze``: AnalysisFrame and :class:`~reinfuse.plan.Plan` ->
  :class:`~reinfuse.analyze.Results` (numbers: estimates, counts, denominators, CIs,
  p-values, method sentences).
- ``render``: Results, a journal style and formats -> :class:`~reinfuse.report.ReportOutput`
  (HTML, Word, PDF, results.json, CSV tables, figures).

:class:`Study` runs them in order for a cohort source and a plan; ``reinfuse validate``,
``reinfuse report`` and ``reinfuse demo`` go through it (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reinfuse.analyze import Results
from reinfuse.analyze import analyze as _analyze
from reinfuse.cohort import Cohort
from reinfuse.derive import AnalysisFrame, analysis_frame
from reinfuse.errors import CohortValidationError, ReinfuseError
from reinfuse.io.read import RawCohort, read_raw
from reinfuse.options import DeriveOptions, Prefer
from reinfuse.plan import Plan, default_plan
from reinfuse.style import get_style
from reinfuse.validate import Reconciliation, ValidationReport
from reinfuse.validate import validate as _validate

if TYPE_CHECKING:  # the render stage (figures, templates) is imported when it runs
    from reinfuse.flow.measure import AntigenMeasurement
    from reinfuse.report import ReportFormat, ReportOutput

__all__ = ["AnalysisFrame", "Study", "analyze", "build_report", "derive", "measure_antigen",
           "read", "render", "validate"]


def read(path: str | Path) -> RawCohort:
    """Read a cohort source as it is: every cell as text, nothing checked yet.

    Parameters
    ----------
    path
        An ``.xlsx`` workbook or a folder of ``.csv`` files (one per table).

    Returns
    -------
    RawCohort
        The sheets as read, with the SHA-256 of each file.

    Raises
    ------
    CohortReadError
        The source cannot be read at all (missing, not a workbook, too large).

    See Also
    --------
    validate : the next stage.

    Examples
    --------
    >>> from reinfuse.demo import demo_path
    >>> raw = read(demo_path("csv"))
    >>> sorted(raw.sheets)[:3]
    ['car_counts', 'crs_observations', 'disease_assessments']
    """
    return read_raw(path)


def validate(raw: RawCohort, *, options: DeriveOptions | None = None,
             allow_identifiers: bool = False) -> ValidationReport:
    """Type every sheet and check it against the cohort format and the clinical rules.

    Coercion and rules only: the cohort returned holds the recorded values. The
    disagreements between raw observation sheets and recorded summaries are listed among
    the findings (the derive stage makes the same reconciliation and uses its values).

    Parameters
    ----------
    raw
        The :func:`read` stage's output.
    options
        The centre's definitions (the rules and the reconciliation use them); default the
        documented defaults.
    allow_identifiers
        Report identifier-like columns and values as warnings instead of errors.

    Returns
    -------
    ValidationReport
        ``.cohort`` (typed) and ``.findings`` (every error and warning, all at once);
        ``.ok`` is False when any finding is an error.

    See Also
    --------
    read : the stage before.
    derive : the next stage.
    reinfuse.validate.validate : the same check, with more options (format, age range).

    Examples
    --------
    >>> from reinfuse.demo import demo_path
    >>> checked = validate(read(demo_path("csv")))
    >>> checked.ok, len(checked.cohort.patients)
    (True, 18)
    """
    return _validate(raw, allow_identifiers=allow_identifiers, options=options)


def derive(cohort: Cohort, options: DeriveOptions | None = None, *,
           antigen: AntigenMeasurement | None = None,
           reconciliation: Reconciliation | None = None) -> AnalysisFrame:
    """Reconcile the raw observations, then derive every variable: the analysis frame.

    Parameters
    ----------
    cohort
        A valid cohort (``validate(...).cohort``); it is not changed.
    options
        The centre's definitions (default: the documented defaults with the cohort's
        ``prefer``).
    antigen
        Antigen density measured from the FCS files of the cohort's ``antigen_samples``
        (:func:`measure_antigen`); reconciled with the recorded values like the other raw
        observation sheets (recorded values kept by default, blanks filled, every
        disagreement a warning).
    reconciliation
        ``validate(...).reconciliation``: validation reconciled ``cohort`` already to list
        its findings, and that work is taken over when ``options`` are the ones it was
        made under and no antigen was measured (same values, same findings; a cohort with
        raw observation sheets derives in about half the time). Otherwise, or when None,
        the cohort is reconciled here.

    Returns
    -------
    AnalysisFrame
        ``.frame`` (one row per infusion; docs/derived-variables.md), ``.options`` and
        ``.findings`` (the reconciliation's).

    Raises
    ------
    CohortValidationError
        A duration would be negative (dates out of order).

    See Also
    --------
    validate : the stage before.
    analyze : the next stage.
    reinfuse.validate.reconcile_cohort : the reconciliation step.

    Examples
    --------
    >>> from reinfuse.demo import demo_cohort
    >>> analysis = derive(demo_cohort())
    >>> len(analysis.frame), analysis.options.prefer
    (36, 'recorded')
    """
    return analysis_frame(cohort, options, antigen=antigen, reconciliation=reconciliation)


def measure_antigen(cohort: Cohort, options: DeriveOptions | None = None, *,
                    progress: bool = False) -> AntigenMeasurement | None:
    """Blast antigen density of the cohort's ``antigen_samples`` from their FCS files.

    The step between validation and derivation when the cohort lists flow cytometry
    samples (docs/antigen-density.md): each sample is read, compensated, gated and
    calibrated with its QuantiBRITE beads, in parallel on Dask's local threads.

    Returns
    -------
    AntigenMeasurement or None
        None when there is nothing to measure (no rows, or ``antigen_measure = "no"``);
        see :func:`reinfuse.flow.measure.measure_antigen`.

    Raises
    ------
    UsageError
        The gate file is missing or wrong, or a sample path leads outside the folder.
    """
    table = cohort.tables.get("antigen_samples")
    options = options or DeriveOptions(prefer=cohort.prefer)  # type: ignore[arg-type]
    if table is None or table.empty or options.antigen_measure == "no":
        return None  # the flow package is not even imported
    from reinfuse.flow.measure import measure_antigen as measure

    return measure(cohort, options, progress=progress)


def analyze(analysis: AnalysisFrame, plan: Plan | None = None, *,
            style: str | None = None) -> Results:
    """Compute every table and comparison of the plan: numbers, not text.

    Parameters
    ----------
    analysis
        The :func:`derive` stage's output.
    plan
        The analysis plan (default: the seed study's, ``reinfuse.plan.default_plan``).
    style
        The journal style the report will print in (default: the plan's), recorded in
        ``Results.options``; it changes nothing that is computed, only how the render
        stage prints it.

    Returns
    -------
    Results
        One :class:`~reinfuse.analyze.TableResult` per table (``results.table(id)``, and
        ``.to_frame()`` for a tidy DataFrame) and one comparison per test.

    Raises
    ------
    PlanError
        The plan names a variable the analysis frame does not have (all of them listed).

    See Also
    --------
    derive : the stage before.
    render : the next stage.

    Examples
    --------
    >>> from reinfuse.demo import demo_analysis, demo_plan
    >>> results = analyze(demo_analysis(), demo_plan())
    >>> results.n_patients, round(results.comparison("expansion_by_infusion").pvalue, 4)
    (18, 0.0304)
    """
    plan = plan if plan is not None else default_plan()
    if style is not None:
        plan = replace(plan, style=get_style(style).name)
    return _analyze(analysis, plan)


def render(results: Results, out: str | Path, *, style: str | None = None,
           formats: str | Sequence[ReportFormat] = ("html",), overwrite: bool = False,
           now: dt.datetime | None = None, jobs: int | None = None) -> ReportOutput:
    """Write the report of ``results``: HTML / Word / PDF, results.json, CSVs, figures.

    Parameters
    ----------
    results
        The :func:`analyze` stage's output.
    out
        The report folder (written whole or not at all).
    style
        A journal style (``seed``, ``jama``, ``nejm``, ``lancet``); default the style the
        results were analysed for.
    formats
        ``"html"``, ``"docx"``, ``"pdf"`` or a comma-separated list of them.
    overwrite
        Replace an existing report folder (never a folder reinfuse did not write).
    now
        When the report was made, for the stamp (default ``SOURCE_DATE_EPOCH`` or the
        clock).
    jobs
        Processes drawing the figures at once (default: ``REINFUSE_JOBS``, else the
        cores available, at most 4; 1 draws them in this process). Same files either way.

    Returns
    -------
    ReportOutput
        The paths written.

    See Also
    --------
    analyze : the stage before.
    Study : all stages in order.

    Examples
    --------
    >>> import tempfile
    >>> from dataclasses import replace
    >>> from reinfuse.demo import demo_analysis, demo_plan
    >>> plan = replace(demo_plan(), figures=(), comparisons=())  # a short report
    >>> results = analyze(demo_analysis(), plan)
    >>> output = render(results, Path(tempfile.mkdtemp()) / "report")
    >>> sorted(p.name for p in output.folder.iterdir())[-2:]
    ['results.json', 'tables']
    """
    from reinfuse.report import render as render_report

    return render_report(results, out, style=style, formats=formats, overwrite=overwrite,
                         now=now, jobs=jobs)


def build_report(cohort: Cohort, plan: Plan, out: str | Path, *, overwrite: bool = False,
                 now: dt.datetime | None = None,
                 formats: str | Sequence[ReportFormat] = ("html",),
                 options: DeriveOptions | None = None,
                 style: str | None = None, jobs: int | None = None,
                 reconciliation: Reconciliation | None = None) -> ReportOutput:
    """Derive, analyse and render the report of a validated ``cohort`` under ``plan``.

    Parameters
    ----------
    cohort
        A valid cohort.
    plan
        The analysis plan.
    out
        The report folder.
    overwrite, now, formats, style, jobs
        As :func:`render`.
    options
        The derive options (default: the plan's, with the cohort's ``prefer``).
    reconciliation
        Validation's reconciliation of ``cohort``, as :func:`derive`.

    Returns
    -------
    ReportOutput
        The paths written.

    Raises
    ------
    ReinfuseError
        The cohort has no infusions (nothing to report).

    See Also
    --------
    Study.report : the same from a cohort source.
    """
    from reinfuse.report import check_report_folder

    check_report_folder(out, overwrite, [cohort.source] if cohort.source else [])
    if cohort.infusions.empty:
        raise ReinfuseError(f"{cohort.source or 'the cohort'} has no infusions: there is "
                            "nothing to report. Enter one row per infusion in the infusions "
                            "sheet (reinfuse validate checks it).")
    if options is None:
        options = plan.derive_options(prefer=cohort.prefer)  # type: ignore[arg-type]
    from reinfuse.progress import stage

    antigen = None
    if "antigen_samples" in cohort.tables and not cohort.tables["antigen_samples"].empty:
        stage("Measuring antigen density from the FCS files")
        antigen = measure_antigen(cohort, options)
    stage("Deriving")
    analysis = derive(cohort, options, antigen=antigen, reconciliation=reconciliation)
    stage("Analysing")
    results = analyze(analysis, plan)
    return render(results, out, style=style, formats=formats, overwrite=overwrite, now=now,
                  jobs=jobs)


@dataclass(frozen=True)
class Study:
    """A cohort source and an analysis plan: the stages run in order.

    Attributes
    ----------
    source
        An ``.xlsx`` workbook or a folder of ``.csv`` files, or a cohort already read
        (a registry's data lock, a REDCap export).
    plan
        The analysis plan (default: the seed study's).
    options
        The derive options (default: the plan's ``[plan.derive]``).
    allow_identifiers
        Identifier-like columns and values are warnings instead of errors.

    Examples
    --------
    >>> from reinfuse.demo import demo_path, demo_plan
    >>> study = Study(demo_path(), demo_plan()).with_prefer("derived")
    >>> study.chosen_options.prefer, study.chosen_plan.source_population
    ('derived', 136)
    """

    source: str | Path | RawCohort
    plan: Plan | None = None
    options: DeriveOptions | None = None
    allow_identifiers: bool = False

    @property
    def chosen_plan(self) -> Plan:
        """The plan analysed."""
        return self.plan if self.plan is not None else default_plan()

    @property
    def chosen_options(self) -> DeriveOptions:
        """The derive options used by every stage."""
        return (self.options if self.options is not None
                else self.chosen_plan.derive_options())

    def with_prefer(self, prefer: Prefer | None) -> Study:
        """The same study with ``prefer`` (recorded or derived values) set, if given."""
        if prefer is None:
            return self
        return replace(self, options=replace(self.chosen_options, prefer=prefer))

    def validate(self) -> ValidationReport:
        """Read and validate the source (``reinfuse validate``)."""
        raw = self.source if isinstance(self.source, RawCohort) else read(self.source)
        return validate(raw, options=self.chosen_options,
                        allow_identifiers=self.allow_identifiers)

    def report(self, out: str | Path, *, checked: ValidationReport | None = None,
               style: str | None = None, formats: str | Sequence[ReportFormat] = ("html",),
               overwrite: bool = False, now: dt.datetime | None = None,
               jobs: int | None = None) -> ReportOutput:
        """Every stage: read, validate, derive, analyze, render (``reinfuse report``).

        ``checked`` is this study's :meth:`validate` result when the caller has it already.

        Raises
        ------
        CohortValidationError
            The cohort has errors (``.findings`` lists all of them).
        """
        checked = checked if checked is not None else self.validate()
        if not checked.ok:
            source = (self.source.source if isinstance(self.source, RawCohort)
                      else str(self.source))
            raise CohortValidationError(checked.findings, source=source)
        return build_report(checked.cohort, self.chosen_plan, out, overwrite=overwrite,
                            now=now, formats=formats, options=self.chosen_options,
                            style=style, jobs=jobs, reconciliation=checked.reconciliation)
