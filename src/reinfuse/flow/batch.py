"""Antigen density for every row of an ``antigen_samples`` sheet, in parallel on Dask.

Each row names a sample FCS file and a QuantiBRITE bead file (paths relative to the
workbook's folder; a path leading outside it is refused), the bead lot, the PE channel
and the blast gate of a gate file (:mod:`reinfuse.flow.gates`). A sample is processed
independently of every other (read, compensate with its own spill matrix, gate, fit its
beads, compute the ABC), so results are identical whatever the parallelism; a sample that
fails is reported with its message and the batch goes on.

Outputs carry no identifiers: file names and TEXT keywords never leave this module (a
failure message names the sheet row, not the file), only the workbook's ``patient_id``
(screened by validation like every other sheet) and study coordinates.

Antigen status of a sample (used for ``antigen_after``): ``negative`` when at least
:attr:`StatusRule.negative_majority` (default 0.5) of its blasts are antigen-negative,
else ``dim`` when the population ABC is below the dim threshold, else ``positive``
(thresholds: :class:`~reinfuse.flow.quantibrite.AbcSettings`). No standard definition
exists (clinical-definitions.md): both are parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reinfuse.errors import FlowError, ReinfuseError
from reinfuse.flow.compensate import compensate
from reinfuse.flow.fcs import read_fcs
from reinfuse.flow.gates import GateSet, gate_sample
from reinfuse.flow.quantibrite import (
    AbcSettings,
    BeadSettings,
    blast_abc,
    fit_beads,
    parse_bead_lot,
)

__all__ = ["HIST_EDGES", "SampleResult", "SampleSpec", "StatusRule", "antigen_fill",
           "compare_recorded", "process_sample", "qc_table", "results_frame", "run_antigen",
           "sample_specs", "write_antigen_outputs"]

#: Bin edges (log10 molecules per cell) of the per-cell ABC histograms kept per sample.
HIST_EDGES = np.linspace(0.0, 6.0, 121)


@dataclass(frozen=True)
class StatusRule:
    """How a sample's antigen status is called (module docstring)."""

    negative_majority: float = 0.5


@dataclass(frozen=True)
class SampleSpec:
    """One row of ``antigen_samples``, with its paths resolved and checked."""

    row: int
    patient_id: str
    infusion: int
    timepoint: str
    antigen: str
    fcs_path: Path
    bead_path: Path
    bead_lot: str
    channel: str
    blast_gate: str


@dataclass(frozen=True)
class SampleResult:
    """The outcome for one sample (a failure has ``status == "failed"`` and ``error``)."""

    row: int
    patient_id: str
    infusion: int
    timepoint: str
    antigen: str
    status: str
    error: str = ""
    abc: float = math.nan
    statistic: str = ""
    fluorescence: float = math.nan
    n_blasts: int = 0
    n_nonpositive: int = 0
    fraction_negative: float = math.nan
    fraction_dim: float = math.nan
    antigen_status: str = ""
    bead_slope: float = math.nan
    bead_intercept: float = math.nan
    bead_r2: float = math.nan
    bead_max_residual: float = math.nan
    bead_singlets: int = 0
    flags: str = ""
    warnings: str = ""
    histogram: tuple[int, ...] = field(default=(), repr=False)


def _inside(base: Path, rel: str, row: int, column: str) -> tuple[Path | None, str]:
    text = str(rel).strip()
    path = (base / text).resolve()
    if Path(text).is_absolute() or base.resolve() not in path.parents:
        return None, (f"antigen_samples row {row}, column {column}: the path leads outside "
                      "the workbook's folder; give a path relative to that folder, inside it")
    return path, ""


def sample_specs(table: pd.DataFrame, workbook: str | Path) -> list[SampleSpec]:
    """Rows of a typed ``antigen_samples`` table as :class:`SampleSpec`.

    Raises
    ------
    FlowError
        Listing every row whose ``fcs_file`` or ``bead_file`` leads outside the workbook's
        folder (checked before any file is opened).
    """
    base = Path(workbook).resolve()
    base = base if base.is_dir() else base.parent
    specs, problems = [], []
    rows = table.get("source_row", pd.Series(range(2, len(table) + 2), index=table.index))
    for (_, rec), row in zip(table.iterrows(), rows, strict=True):
        fcs, p1 = _inside(base, rec["fcs_file"], int(row), "fcs_file")
        beads, p2 = _inside(base, rec["bead_file"], int(row), "bead_file")
        problems += [p for p in (p1, p2) if p]
        if fcs is not None and beads is not None:
            specs.append(SampleSpec(int(row), str(rec["patient_id"]), int(rec["infusion"]),
                                    str(rec["timepoint"]), str(rec["antigen"]), fcs, beads,
                                    str(rec["bead_lot"]), str(rec["channel"]),
                                    str(rec["blast_gate"])))
    if problems:
        raise FlowError(f"{len(problems)} problem(s) in antigen_samples:\n" +
                        "\n".join(f"  - {p}" for p in problems))
    return specs


def process_sample(spec: SampleSpec, gates: GateSet, beads: BeadSettings | None = None,
                   abc: AbcSettings | None = None, rule: StatusRule | None = None,
                   ) -> SampleResult:
    """Read, compensate, gate and calibrate one sample; never raises for a bad input.

    A :class:`~reinfuse.errors.ReinfuseError` (or an unexpected error) becomes a failed
    result whose message names the sheet row instead of the file.
    """
    abc = abc or AbcSettings()
    rule = rule or StatusRule()
    keys: dict[str, Any] = {"row": spec.row, "patient_id": spec.patient_id,
                            "infusion": spec.infusion, "timepoint": spec.timepoint,
                            "antigen": spec.antigen}
    try:
        lot = parse_bead_lot(spec.bead_lot, f"antigen_samples row {spec.row}, bead_lot")
        if spec.blast_gate not in gates.gates:
            raise FlowError(f"antigen_samples row {spec.row}: blast_gate {spec.blast_gate!r} "
                            f"is not in the gate file; gates are {', '.join(gates.gates)}")
        bead = read_fcs(spec.bead_path)
        pe_beads = compensate(bead, channels=[spec.channel])[:, 0]  # its own spill, if any
        fit = fit_beads(bead, spec.channel, lot, beads, fluorescence=pe_beads)
        sample = gate_sample(read_fcs(spec.fcs_path), gates, channels=[spec.channel])
        pe = sample.linear(spec.channel)[sample.masks[spec.blast_gate]]
        res = blast_abc(pe, fit, abc)
    except Exception as exc:  # per-sample isolation: report, never stop the batch
        msg = str(exc) if isinstance(exc, ReinfuseError) else f"unexpected error: {exc!r}"
        for path, label in ((spec.fcs_path, "fcs_file"), (spec.bead_path, "bead_file")):
            msg = msg.replace(str(path), f"{label} of antigen_samples row {spec.row}")
        return SampleResult(**keys, status="failed", error=msg)
    logs = np.log10(res.per_cell[np.isfinite(res.per_cell)])
    hist = np.histogram(np.clip(logs, HIST_EDGES[0], HIST_EDGES[-1]), bins=HIST_EDGES)[0]
    if res.fraction_negative >= rule.negative_majority:
        status = "negative"
    elif np.isfinite(res.abc) and res.abc < abc.dim_below:
        status = "dim"
    elif np.isfinite(res.abc):
        status = "positive"
    else:
        status = ""
    return SampleResult(
        **keys, status="ok", abc=res.abc, statistic=res.statistic,
        fluorescence=res.fluorescence, n_blasts=res.n_events, n_nonpositive=res.n_nonpositive,
        fraction_negative=res.fraction_negative, fraction_dim=res.fraction_dim,
        antigen_status=status, bead_slope=fit.slope, bead_intercept=fit.intercept,
        bead_r2=fit.r2, bead_max_residual=float(np.max(np.abs(fit.residuals))),
        bead_singlets=fit.singlets, flags="; ".join(res.flags),
        warnings="; ".join(w for w in sample.fcs.warnings),
        histogram=tuple(int(h) for h in hist))


def run_antigen(specs: Sequence[SampleSpec], gates: GateSet, *, scheduler: Any = None,
                workers: int | None = None, progress: bool = False,
                beads: BeadSettings | None = None, abc: AbcSettings | None = None,
                rule: StatusRule | None = None) -> list[SampleResult]:
    """Process every sample with Dask; results in sheet-row order.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        ``None``: Dask's local threaded scheduler (``workers`` threads); an address
        (``tcp://host:8786``) or a ``distributed.Client``: that cluster.
    progress : bool
        Show a progress bar (Dask's diagnostics bar locally, ``distributed.progress`` on
        a cluster).
    """
    import dask

    tasks = [dask.delayed(process_sample, pure=True)(s, gates, beads, abc, rule)
             for s in specs]
    if scheduler is None:
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar():
                out = dask.compute(*tasks, scheduler="threads", num_workers=workers)
        else:
            out = dask.compute(*tasks, scheduler="threads", num_workers=workers)
        results = list(out)
    else:
        from distributed import Client

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = client.compute(tasks)
            if progress:
                from distributed import progress as dprogress

                dprogress(futures)
            results = client.gather(futures)
        finally:
            if client is not scheduler:
                client.close()
    return sorted(results, key=lambda r: r.row)


def results_frame(results: Iterable[SampleResult]) -> pd.DataFrame:
    """One tidy row per sample (no histogram), sorted by sheet row."""
    rows = []
    for r in results:
        d = asdict(r)
        d.pop("histogram")
        rows.append(d)
    cols = [f for f in SampleResult.__dataclass_fields__ if f != "histogram"]
    return pd.DataFrame(rows, columns=cols).sort_values("row", kind="stable").reset_index(
        drop=True)


def qc_table(results: Iterable[SampleResult]) -> pd.DataFrame:
    """The per-sample QC table: bead fit, blast count, flags, failure messages."""
    frame = results_frame(results)
    return frame[["row", "patient_id", "infusion", "timepoint", "antigen", "status",
                  "bead_slope", "bead_r2", "bead_max_residual", "bead_singlets", "n_blasts",
                  "n_nonpositive", "abc", "flags", "warnings", "error"]]


def antigen_fill(results: Iterable[SampleResult]) -> pd.DataFrame:
    """Values for the ``infusions`` sheet, one row per (patient_id, infusion).

    ``abc_cd19_pre``/``abc_cd22_pre`` from the ``pre`` samples, ``antigen_after_cd19``/
    ``antigen_after_cd22`` from the ``post`` samples (which antigen ``antigen_after``
    refers to depends on the infusion's target: left to the caller). Failed samples give
    blanks (unknown), never zeros.
    """
    frame = results_frame(results)
    ok = frame[frame["status"] == "ok"]
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(
        frame[["patient_id", "infusion"]].drop_duplicates()))
    for ag in ("CD19", "CD22"):
        pre = ok[(ok["timepoint"] == "pre") & (ok["antigen"] == ag)]
        post = ok[(ok["timepoint"] == "post") & (ok["antigen"] == ag)]
        out[f"abc_{ag.lower()}_pre"] = pre.set_index(["patient_id", "infusion"])["abc"]
        out[f"antigen_after_{ag.lower()}"] = post.set_index(
            ["patient_id", "infusion"])["antigen_status"]
    return out.sort_index()


def compare_recorded(infusions: pd.DataFrame, fill: pd.DataFrame,
                     rel_tol: float = 0.10) -> list[str]:
    """Disagreements between recorded ``abc_*_pre`` and the computed values (warnings).

    Recorded values are kept; an ABC differing by more than ``rel_tol`` (default 10 %)
    is reported. Blanks on either side are not compared.
    """
    rec = infusions.set_index(["patient_id", "infusion"])
    out = []
    for col in ("abc_cd19_pre", "abc_cd22_pre"):
        if col not in rec or col not in fill:
            continue
        both = pd.concat([pd.to_numeric(rec[col], errors="coerce").rename("recorded"),
                          fill[col].rename("computed")], axis=1, join="inner").dropna()
        off = both[(both["computed"] - both["recorded"]).abs() > rel_tol * both["recorded"]]
        for (pid, inf), r in off.iterrows():
            out.append(f"infusions {col} of patient {pid}, infusion {inf}: recorded "
                       f"{r['recorded']:g}, computed from the FCS files {r['computed']:.0f} "
                       f"(differ by more than {rel_tol:.0%}); the recorded value is kept")
    return out


def write_antigen_outputs(results: Sequence[SampleResult], out: str | Path, *,
                          overwrite: bool = False, protect: Iterable[str | Path] = (),
                          ) -> Path:
    """Write the results folder atomically.

    ``antigen_results.csv`` (:func:`results_frame`), ``antigen_qc.csv`` (:func:`qc_table`),
    ``antigen_fill.csv`` (:func:`antigen_fill`) and one overlaid histogram per patient and
    antigen, ``figures/antigen-<antigen>-<n>.png`` (``n`` numbers the patients in sorted
    order; the ``figure`` column of ``antigen_results.csv`` maps them). No file name or
    TEXT keyword of an FCS file is written.
    """
    from reinfuse.flow.figures import antigen_histograms
    from reinfuse.io import atomic_path

    frame = results_frame(results)
    patients = sorted(frame["patient_id"].unique())
    number = {p: i + 1 for i, p in enumerate(patients)}
    frame["figure"] = [f"figures/antigen-{a}-{number[p]:03d}.png"
                       for p, a in zip(frame["patient_id"], frame["antigen"], strict=True)]
    with atomic_path(Path(out), overwrite, kind="folder", protect=protect) as tmp:
        (tmp / "figures").mkdir(parents=True)
        frame.to_csv(tmp / "antigen_results.csv", index=False)
        qc_table(results).to_csv(tmp / "antigen_qc.csv", index=False)
        antigen_fill(results).to_csv(tmp / "antigen_fill.csv")
        for path in sorted(set(frame["figure"])):
            sub = frame[frame["figure"] == path].iloc[0]
            fig = antigen_histograms(results, sub["patient_id"], sub["antigen"])
            fig.savefig(tmp / path, dpi=150, metadata={"Software": None})
    return Path(out)
