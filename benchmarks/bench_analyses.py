"""The plan's [[analyses]] at registry scale: docs/examples/analyses.toml on a synthetic
cohort of 100,000 patients, each analysis timed alone through the analyze stage's code.

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_analyses.py [--patients 100000]
        [--data DIR]

The cohort is ``reinfuse synth --seed 2026`` (written once under ``--data``). The Cox model
of the example (age and product target) is fitted here with ``low_epv`` irrelevant: a
registry has events enough.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "_data")
    args = parser.parse_args()
    folder = args.data / f"synth_{args.patients}"
    if not folder.exists():
        subprocess.run([sys.executable, "-m", "reinfuse.cli", "synth", "--patients",
                        str(args.patients), "--seed", "2026", str(folder)], check=True)

    from reinfuse.analyses import compute_analysis
    from reinfuse.analyze import population_frame, select
    from reinfuse.pipeline import derive, read, validate
    from reinfuse.plan import default_plan_text, parse_plan

    checked = validate(read(folder))
    analysis = derive(checked.cohort)
    example = (ROOT / "docs" / "examples" / "analyses.toml").read_text(encoding="utf-8")
    plan = parse_plan(default_plan_text() + example, "example")
    population = population_frame(analysis.frame, plan)
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.patients:,} patients, "
          f"{len(population):,} infusions in the plan's population; load average "
          f"{os.getloadavg()[0]:.1f}")
    print("| analysis | kind | n analysed | CPU s | wall s | result |")
    print("|---|---|---|---|---|---|")
    for spec in plan.analyses:
        rows = select(population, spec.subset, where=spec.id)
        cpu, wall = time.process_time(), time.perf_counter()
        result = compute_analysis(rows, spec, plan.infusion_labels)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        outcome = "refused: " + result.refused[:60] if result.refused else "computed"
        print(f"| {spec.id} | {spec.kind} | {result.n:,} | {cpu:.2f} | {wall:.2f} | "
              f"{outcome} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
