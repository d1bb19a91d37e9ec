"""Antigen density of a cohort's ``antigen_samples``, measured for the derive stage.

The report pipeline calls :func:`measure_antigen` between validation and derivation
(:func:`reinfuse.pipeline.build_report`). It runs the batch of :mod:`reinfuse.flow.batch`
under the centre's definitions (``DeriveOptions.antigen_*``) and returns the per-sample
results with their findings; reconciliation (:mod:`reinfuse.reconcile`) then compares the
values with the recorded ``abc_cd19_pre``, ``abc_cd22_pre`` and ``antigen_after`` of the
``infusions`` sheet, keeps the recorded ones (``prefer``), fills blanks and warns where they
disagree, as for every other raw observation sheet.

Failed and flagged samples become warnings located at their ``antigen_samples`` row; like
every output of :mod:`reinfuse.flow`, no FCS file name or TEXT keyword is quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reinfuse.cohort import Cohort
from reinfuse.errors import FlowError, UsageError
from reinfuse.findings import Finding
from reinfuse.flow.batch import (
    SampleResult,
    StatusRule,
    results_frame,
    run_antigen,
    sample_specs,
)
from reinfuse.flow.gates import load_gates
from reinfuse.flow.quantibrite import AbcSettings
from reinfuse.options import DeriveOptions
from reinfuse.reconcile import ANTIGEN_MEASURED

__all__ = ["MEASURED_TABLE", "AntigenMeasurement", "abc_settings", "antigen_method_sentence",
           "measure_antigen"]

#: Key of the measured samples among the tables reconciliation reads (not a sheet a user
#: writes: it is made from ``antigen_samples`` by :func:`measure_antigen`).
MEASURED_TABLE = ANTIGEN_MEASURED


@dataclass(frozen=True)
class AntigenMeasurement:
    """Every sample of ``antigen_samples`` measured, and what went wrong.

    Attributes
    ----------
    samples
        One :class:`~reinfuse.flow.batch.SampleResult` per sheet row, in row order
        (failed samples have ``status == "failed"`` and an ``error``).
    findings
        A warning per failed or flagged sample, at its ``antigen_samples`` row; or one
        warning saying why nothing was measured.
    options
        The definitions used (``DeriveOptions.antigen_*``).
    """

    samples: tuple[SampleResult, ...]
    findings: tuple[Finding, ...]
    options: DeriveOptions

    def frame(self) -> pd.DataFrame:
        """One tidy row per sample (:func:`reinfuse.flow.batch.results_frame`)."""
        return results_frame(self.samples)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready samples for results.json: numbers, QC and the per-cell histogram
        (counts per bin of log10 ABC; the bin edges are :data:`HIST_EDGES`)."""
        frame = self.frame()
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        for record, sample in zip(records, self.samples, strict=True):
            record["histogram"] = list(sample.histogram)
        return records


def abc_settings(options: DeriveOptions) -> tuple[AbcSettings, StatusRule]:
    """The flow package's settings from the centre's definitions."""
    return (AbcSettings(statistic=options.antigen_statistic,
                        min_events=options.antigen_min_blasts,
                        negative_below=options.antigen_negative_below,
                        dim_below=options.antigen_dim_below),
            StatusRule(negative_majority=options.antigen_negative_majority))


def _folder(source: str) -> Path | None:
    path = Path(source) if source else None
    if path is None or not path.exists():
        return None
    return path if path.is_dir() else path.parent


def measure_antigen(cohort: Cohort, options: DeriveOptions | None = None, *,
                    scheduler: Any = None, workers: int | None = None,
                    progress: bool = False) -> AntigenMeasurement | None:
    """Measure every row of the cohort's ``antigen_samples`` sheet from its FCS files.

    Parameters
    ----------
    cohort
        A validated cohort read from a workbook or a CSV folder (sample paths are relative
        to that folder).
    options
        The centre's definitions: ``antigen_measure``, ``antigen_gates`` (relative to the
        cohort's folder unless absolute) and the thresholds (default: the documented
        defaults).
    scheduler, workers, progress
        As :func:`reinfuse.flow.batch.run_antigen` (default: Dask's local threads).

    Returns
    -------
    AntigenMeasurement or None
        None when there is nothing to measure (no ``antigen_samples`` rows, or
        ``antigen_measure = "no"``). A cohort not read from a folder (a registry's data
        lock) gives no samples and one warning saying the values could not be measured.

    Raises
    ------
    UsageError
        The gate file is missing or has problems (every one listed), or a sample path
        leads outside the cohort's folder.
    """
    options = options or DeriveOptions()
    table = cohort.tables.get("antigen_samples")
    if table is None or table.empty or options.antigen_measure == "no":
        return None
    folder = _folder(cohort.source)
    if folder is None:
        return AntigenMeasurement((), (Finding(
            severity="warning", sheet="antigen_samples", row=None, column=None, value=None,
            expected="a cohort read from a workbook or a folder of CSV files",
            message=f"the {len(table)} antigen_samples row(s) were not measured: the cohort "
                    "was not read from a folder, so their FCS files cannot be found; the "
                    "recorded antigen values are used.",
            fix="Run the report on the workbook or CSV folder beside the FCS files, or set "
                "antigen_measure = \"no\" in the plan's [plan.derive].",
            rule="antigen-not-measured"),), options)
    gates_path = Path(options.antigen_gates)
    gates_path = gates_path if gates_path.is_absolute() else folder / gates_path
    if not gates_path.is_file():
        raise UsageError(
            f"the cohort lists {len(table)} antigen_samples row(s) but there is no gate file "
            f"at {gates_path}: add it (docs/antigen-density.md), name another with "
            "antigen_gates in the plan's [plan.derive], or set antigen_measure = \"no\" to "
            "use the recorded antigen values alone")
    try:  # a bad gate file, or sample paths outside the folder (every one listed)
        gates = load_gates(gates_path)
        specs = sample_specs(table, folder)
    except FlowError as exc:
        raise UsageError(str(exc)) from None
    abc, rule = abc_settings(options)
    samples = run_antigen(specs, gates, scheduler=scheduler, workers=workers,
                          progress=progress, abc=abc, rule=rule)
    return AntigenMeasurement(tuple(samples), tuple(_sample_findings(samples, options)),
                              options)


def _sample_findings(samples: Sequence[SampleResult], options: DeriveOptions
                     ) -> list[Finding]:
    out = []
    for s in samples:
        where = f"{s.antigen} {s.timepoint} infusion {s.infusion} of '{s.patient_id}'"
        if s.status == "failed":
            out.append(Finding(
                severity="warning", sheet="antigen_samples", row=s.row, column=None,
                value=None, expected="a readable sample and bead file",
                message=f"antigen density of {where} could not be computed: {s.error}; the "
                        "sample is left out (its values stay unknown).",
                fix="Check the sample's FCS and bead files, its channel, gate and bead lot.",
                rule="antigen-sample-failed"))
        elif s.flags:
            out.append(Finding(
                severity="warning", sheet="antigen_samples", row=s.row, column=None,
                value=None, expected=f"at least {options.antigen_min_blasts} gated blasts "
                "inside the bead range, a good bead fit",
                message=f"antigen density of {where} is flagged: {s.flags}; the value is "
                        "used and the flag is shown in the quality-control table.",
                fix="Review the gating and the bead file of this sample.",
                rule="antigen-sample-flagged"))
    return out


def antigen_method_sentence(measurement: AntigenMeasurement) -> str:
    """The methods paragraph of the measurement, from the definitions it used."""
    o = measurement.options
    n = len(measurement.samples)
    ok = sum(s.status == "ok" for s in measurement.samples)
    stat = "geometric mean" if o.antigen_statistic == "geometric_mean" else "median"
    return (
        f"Blast antigen density was computed from the flow cytometry files of {n} "
        f"sample(s) ({ok} measured). Each sample was compensated with its own spillover "
        "matrix and gated as declared in the gate file; QuantiBRITE PE beads acquired at the "
        "same settings gave the calibration log10(fluorescence) = m log10(PE molecules per "
        "bead) + c from the geometric means of their four populations. The antigen binding "
        f"capacity (ABC) of a sample is the {stat} blast fluorescence through that line; "
        f"blasts below {o.antigen_negative_below:,.0f} molecules per cell were counted as "
        f"antigen-negative and below {o.antigen_dim_below:,.0f} as dim; a sample was "
        f"antigen-negative when at least {o.antigen_negative_majority:.0%} of its blasts "
        f"were, otherwise dim when its ABC was below {o.antigen_dim_below:,.0f}. Samples "
        f"with fewer than {o.antigen_min_blasts} gated blasts, fluorescence outside the bead "
        "range or a poor bead fit are flagged. A recorded ABC is kept unless the plan "
        "prefers derived values; it and the computed value disagree when they differ by "
        f"more than {o.antigen_agreement:.0%} of the recorded value. For a CD19/CD22 "
        "product the antigen status after the infusion is the lower of the two antigens'.")
