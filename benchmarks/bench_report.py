"""Time and peak memory of `reinfuse report` on the demo and on a 100,000-patient cohort.

Run with ``.venv/bin/python benchmarks/bench_report.py`` (after ``make bench`` has written
the synthetic cohort, or it writes it). Each run is a fresh process, start-up included, as a
user would run it; results are printed as a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_read_validate import ensure_data


def run(source: Path | None, label: str, formats: str = "html") -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report"
        if source is None:
            command = [sys.executable, "-m", "reinfuse.cli", "demo", "--out", str(out)]
        else:
            command = [sys.executable, "-m", "reinfuse.cli", "report", str(source), "--out",
                       str(out), "--format", formats]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak_mb = max(peak, before) / 1024
    return f"| {label} | {wall:.1f} | {peak_mb:.0f} |"


def main() -> None:
    paths = ensure_data(100_000)
    print("| cohort | wall time, start-up included (s) | peak memory (MB) |")
    print("|---|---|---|")
    from reinfuse.demo import demo_path

    print(run(demo_path(), "`reinfuse report` demo (18 patients), HTML"))
    print(run(None, "`reinfuse demo` (the same, HTML + Word + PDF)"))
    print(run(paths["csv"], "synthetic 100,000 patients (csv)"))
    print(run(paths["xlsx"], "synthetic 100,000 patients (xlsx)"))


if __name__ == "__main__":
    main()
