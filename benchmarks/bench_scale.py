"""Issue 9's registry-scale table: whole commands and statistics beside their peers.

Every row runs in a fresh process (start-up and imports included where a user would pay
them). Peak memory is the largest resident set of that process or of a figure worker it
waited for (``os.wait4``), and, on Linux, the largest sum of the proportional set sizes
of the process and its workers while they ran together (sampled every 0.1 s).
The statistics rows time reinfuse and its peer in the same process, best of three, and
the ratio is reinfuse / peer (below 1 is faster).

Rows:

- ``reinfuse report`` on the bundled demo workbook, HTML, whole process;
- ``reinfuse report`` on synthetic 100,000- and 1,000,000-patient CSV cohorts, HTML;
- read + validate of the 1,000,000-patient cohort;
- Table 1 of the seed plan on 100,000 first infusions, two columns (reinfused or not) with
  the plan's own p column (``p_value = true``: Mann-Whitney for the continuous rows,
  chi-square, or Fisher's test for small expected counts, for the categorical ones),
  beside tableone (same variables, ``pval=True``) and a pandas + SciPy floor;
- Kaplan-Meier with 1,000,000 distinct times beside lifelines;
- exact Mann-Whitney, n = 200 without ties, beside SciPy.

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_scale.py --json after.json
    PYTHONPATH=/path/to/old/src .venv/bin/python benchmarks/bench_scale.py --json before.json
    .venv/bin/python benchmarks/write_performance.py before.json after.json

The synthetic cohorts (``reinfuse synth --seed 2026``) are written once under
``benchmarks/_data`` (or ``--data``). ``--skip-1m-report`` leaves out the longest row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "_data"

_VALIDATE = """
import json, sys, time
t0 = time.perf_counter()
from reinfuse.io.read import read_raw
from reinfuse.validate import validate
t1 = time.perf_counter()
raw = read_raw(sys.argv[1])
t2 = time.perf_counter()
report = validate(raw)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "validate_s": t3 - t2,
                  "errors": len(report.errors)}))
"""

_STATS = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd, scipy.stats

def best_of(fn, runs=3):
    out = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return min(out)

result = {}
rng = np.random.default_rng(2026)

# --- Kaplan-Meier, 1,000,000 distinct times ---
from lifelines import KaplanMeierFitter
from reinfuse.stats import kaplan_meier, mann_whitney_u
n = 1_000_000
durations = rng.exponential(100, n) + rng.random(n)
events = rng.random(n) < 0.7
result["km"] = {"ours": best_of(lambda: kaplan_meier(durations, events)),
                "peer": best_of(lambda: KaplanMeierFitter().fit(durations, events)),
                "peer_name": "lifelines"}

# --- exact Mann-Whitney, n = 200, no ties ---
x, y = rng.normal(size=100), rng.normal(0.3, size=100)
result["mw"] = {"ours": best_of(lambda: mann_whitney_u(x, y, method="exact")),
                "peer": best_of(lambda: scipy.stats.mannwhitneyu(x, y, method="exact")),
                "peer_name": "scipy"}

# --- Table 1 on 100,000 first infusions, with p-values ---
from dataclasses import replace
from reinfuse.io.read import read_raw
from reinfuse.validate import validate
from reinfuse.derive import derive
from reinfuse.analyze import compute_table
from reinfuse.report._format import cell_text
from reinfuse.plan import ColumnSpec, Subset, default_plan
from reinfuse.style import get_style
from tableone import TableOne

report = validate(read_raw(sys.argv[1]))
frame = derive(report.cohort)
first = frame[frame["infusion"] == 1].reset_index(drop=True)
first = first.assign(reinfused=np.where(first["n_infusions"] >= 2, "yes", "no"))
plan = default_plan()
spec = next(t for t in plan.tables if t.id == "table1")
rows = tuple(r for r in spec.rows if r.subset.infusion in (None, 1))
spec = replace(spec, rows=rows, columns=(
    ColumnSpec("no", "Infused once (n={n})", Subset(infusion=1, where={"reinfused": ("no",)})),
    ColumnSpec("yes", "Reinfused (n={n})", Subset(infusion=1, where={"reinfused": ("yes",)})),
))
continuous = sorted({r.variable for r in rows if r.stat.startswith("median")})
categorical = sorted({r.variable for r in rows if r.stat in ("levels", "count")} - set(continuous))
style = get_style("seed")
fill = {"label1": "first infusion", "label2": "second infusion", "summary": "median (IQR)"}
group = first["reinfused"].to_numpy() == "yes"

spec_p = replace(spec, p_value=True)  # gtsummary's add_p(): the plan's own p column


def ours():
    # The numbers and p-values (analyze), then the cells as printed (render), as tableone
    # gives both.
    return [cell_text(c, style) for r in compute_table(first, spec_p, fill).rows
            for c in r.cells if c is not None]

def floor():
    g = first.groupby("reinfused", observed=True)
    out = {}
    for v in continuous:
        values = pd.to_numeric(first[v], errors="coerce")
        out[v] = values.groupby(first["reinfused"]).quantile([0.25, 0.5, 0.75])
        a, b = values[~group].dropna(), values[group].dropna()
        out[v + "_p"] = scipy.stats.mannwhitneyu(a, b).pvalue
    for v in categorical:
        counts = pd.crosstab(first[v], first["reinfused"])
        out[v] = counts / counts.sum()
        out[v + "_p"] = scipy.stats.chi2_contingency(counts.to_numpy())[1]
    return g, out

t1 = first[continuous + categorical + ["reinfused"]].copy()
for v in categorical:
    t1[v] = t1[v].astype(object).where(t1[v].notna(), None)

def peer():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableOne(t1, columns=continuous + categorical, categorical=categorical,
                        nonnormal=continuous, groupby="reinfused", pval=True)

result["table1"] = {"ours": best_of(ours), "floor": best_of(floor),
                    "peer": best_of(peer, runs=1), "peer_name": "tableone",
                    "rows": len(first), "variables": continuous + categorical}
print(json.dumps(result))
"""


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``; the children of every thread)."""
    kids: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids += [int(k) for k in listing.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return [pid, *(p for kid in kids for p in _tree(kid))]


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` (kB): shared pages split among their users, so
    that a forked worker's copy-on-write pages count once across the processes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _watch_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Sample the summed PSS of ``pid``'s process tree every 0.1 s; keep the largest."""
    while not done.wait(0.1):
        peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(pid)))


def _run(command: list[str]) -> dict[str, Any]:
    """Run ``command`` in a fresh process: wall and CPU time, peak memory (MB), stdout.

    CPU time (user + system) is reported beside wall time because a shared machine's
    load stretches wall time but barely moves CPU time; it includes the process's
    figure workers. ``peak_mb`` is the largest resident set of the process or of any
    worker it waited for (``os.wait4``); ``tree_peak_mb`` (Linux) is the largest sum of
    the proportional set sizes of the process and its workers while they ran together,
    sampled every 0.1 s: the memory the command really held at once.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        done, peak = threading.Event(), [0]
        watcher = threading.Thread(target=_watch_tree, args=(proc.pid, done, peak))
        if os.path.exists("/proc/self/smaps_rollup"):
            watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)  # reaps the child: its own rusage
        done.set()
        if watcher.is_alive():
            watcher.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{errors[-2000:]}")
    measured = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024, "stdout": text}
    if peak[0]:
        measured["tree_peak_mb"] = peak[0] / 1024
    return measured


def ensure_cohort(data: Path, patients: int) -> Path:
    """The synthetic CSV cohort of ``patients`` (seed 2026), written once."""
    path = data / f"synth_{patients}"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "reinfuse.cli", "synth", str(path), "--patients",
              str(patients), "--seed", "2026"])
    return path


def report_row(source: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        m = _run([sys.executable, "-m", "reinfuse.cli", "report", str(source), "--out",
                  str(Path(tmp) / "report"), "--format", "html"])
    m.pop("stdout")
    return m


def machine() -> str:
    import numpy
    import pandas
    import scipy

    cpus = os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        ram = f", {mem:.0f} GB RAM"
    except (ValueError, OSError):
        ram = ""
    return (f"{platform.system()} {platform.machine()}, {cpus} cores{ram}, Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, pandas "
            f"{pandas.__version__}, scipy {scipy.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--skip-1m-report", action="store_true")
    parser.add_argument("--only", nargs="*", default=None,
                        help="rows: demo import report100k report1m validate1m stats")
    args = parser.parse_args()
    only = set(args.only or ["demo", "import", "report100k", "report1m", "validate1m",
                             "stats"])
    if args.skip_1m_report:
        only.discard("report1m")
    from reinfuse.demo import demo_path

    results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    if "import" in only:
        results["import"] = _run([sys.executable, "-c", "import reinfuse.cli"])
        results["import"].pop("stdout")
    if "demo" in only:
        results["demo"] = report_row(Path(demo_path()))
    if "report100k" in only:
        results["report100k"] = report_row(ensure_cohort(args.data, 100_000))
    if "validate1m" in only:
        m = _run([sys.executable, "-c", _VALIDATE, str(ensure_cohort(args.data, 1_000_000))])
        results["validate1m"] = {**json.loads(m.pop("stdout")), **m}
    if "stats" in only:
        m = _run([sys.executable, "-c", _STATS, str(ensure_cohort(args.data, 100_000))])
        results.update(json.loads(m["stdout"]))
    if "report1m" in only:
        results["report1m"] = report_row(ensure_cohort(args.data, 1_000_000))
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
