"""REDCap record export of 100,000 records imported (issue 10 aim: <= 30 s on 2 cores).

The export is written by reinfuse from the 100,000-patient synthetic cohort (raw codes,
repeating ``infusions`` instrument, ``prior_car`` and ``relapse_sites`` checkboxes), then
read back with ``read_export`` and validated; both steps are timed.

Run: .venv/bin/python benchmarks/bench_redcap_import.py [N_RECORDS]
"""
import os
import sys
import tempfile
import time
from pathlib import Path

from reinfuse.redcap import read_export, write_export
from reinfuse.synth import synth_cohort
from reinfuse.validate import validate

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
with tempfile.TemporaryDirectory() as folder:
    tables = synth_cohort(n, seed=1)
    t = time.perf_counter()
    path = write_export(tables, Path(folder) / "export.csv")
    written = time.perf_counter() - t
    rows = sum(1 for _ in path.open()) - 1
    size = path.stat().st_size / 1e6
    t, c = time.perf_counter(), time.process_time()
    export = read_export(path)
    read, read_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    report = validate(export)
    checked, checked_cpu = time.perf_counter() - t, time.process_time() - c
print(f"{n:,} records, {rows:,} export rows ({size:.0f} MB): written in {written:.1f} s")
print(f"read_export {read:.1f} s + validate {checked:.1f} s = import {read + checked:.1f} s "
      f"(aim <= 30 s); errors: {len(report.errors)}")
print(f"CPU time (what a loaded machine does not inflate as much): read_export "
      f"{read_cpu:.1f} s + validate {checked_cpu:.1f} s = {read_cpu + checked_cpu:.1f} s; "
      f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
