"""Read and validate a synthetic 100,000-patient cohort, as CSV and as .xlsx.

Run with ``make bench`` (or ``python benchmarks/bench_read_validate.py --patients N``).
Each measurement runs in a fresh process so that peak memory (max RSS) is its own.
Results are printed as a Markdown table to paste into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "_data"

_MEASURE = """
import json, resource, sys, time
t0 = time.perf_counter()
from reinfuse.io.read import read_raw
from reinfuse.validate import validate
t1 = time.perf_counter()
raw = read_raw(sys.argv[1])
t2 = time.perf_counter()
report = validate(raw)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "validate_s": t3 - t2,
                  "errors": len(report.errors),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def ensure_data(patients: int) -> dict[str, Path]:
    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort

    paths = {"csv": DATA / f"synth_{patients}", "xlsx": DATA / f"synth_{patients}.xlsx"}
    if not all(p.exists() for p in paths.values()):
        tables = synth_cohort(patients, seed=2026)
        for kind, path in paths.items():
            if not path.exists():
                t = time.perf_counter()
                write_cohort(tables, path)
                print(f"wrote {kind} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    args = parser.parse_args()
    paths = ensure_data(args.patients)
    print(f"| source ({args.patients:,} patients) | read (s) | validate (s) | "
          "read + validate (s) | peak memory (MB) |")
    print("|---|---|---|---|---|")
    for kind, path in paths.items():
        out = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], check=True,
                             capture_output=True, text=True)
        m = json.loads(out.stdout)
        assert m["errors"] == 0, m
        print(f"| {kind} | {m['read_s']:.1f} | {m['validate_s']:.1f} | "
              f"{m['read_s'] + m['validate_s']:.1f} | {m['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
