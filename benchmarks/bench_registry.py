"""Import the synthetic 100,000-patient cohort into a registry, then re-import it with 1%
of the rows changed: SQLite and PostgreSQL.

Run with ``python benchmarks/bench_registry.py [--patients N] [--pg URL]``. Without
``--pg`` a throwaway PostgreSQL cluster is started as the tests do
(tests/registry/conftest.py; Debian's ``postgresql`` binaries). Each import runs in a
fresh process (``reinfuse registry import``: read, validate, diff, bulk writes and audit,
one transaction) and is timed from outside; results are printed as a Markdown table for
docs/performance.md.

The re-import changes 1% of the rows of each table, one value each: ``dose_per_kg`` of 1%
of the infusions (x 1.5) and ``prior_lines`` of 1% of the patients (+ 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "_data"


def ensure_data(patients: int) -> tuple[Path, Path]:
    """The synthetic cohort (seed 2026) as a CSV folder, and the 1%-changed copy."""
    import pandas as pd

    from reinfuse.io.write import write_cohort
    from reinfuse.synth import synth_cohort

    base, changed = DATA / f"synth_{patients}", DATA / f"synth_{patients}_changed"
    if not base.exists():
        write_cohort(synth_cohort(patients, seed=2026), base)
    if not changed.exists():
        rng = np.random.default_rng(7)
        tmp = Path(tempfile.mkdtemp(dir=DATA))
        for name, column, change in (("infusions", "dose_per_kg", lambda v: v * 1.5),
                                     ("patients", "prior_lines", lambda v: v + 1)):
            frame = pd.read_csv(base / f"{name}.csv", dtype=str, keep_default_na=False)
            rows = rng.choice(len(frame), size=len(frame) // 100, replace=False)
            values = pd.to_numeric(frame.loc[rows, column])
            frame.loc[rows, column] = change(values).astype(str).to_numpy()
            frame.to_csv(tmp / f"{name}.csv", index=False)
        tmp.rename(changed)
    return base, changed


def _import(db: str, path: Path) -> str:
    """Wall-clock seconds, and the importing process's CPU seconds in brackets (on a busy
    machine the CPU time is what a quiet one would take; PostgreSQL's own server work is
    not in it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reinfuse.cli", "registry", "import", str(path),
                    "--db", db, "--user", "bench"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return f"{wall:.1f} ({cpu:.1f})"


def _cluster() -> object:
    spec = importlib.util.spec_from_file_location(
        "registry_conftest", ROOT / "tests" / "registry" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cluster = module.Cluster(Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]))
    cluster.start()
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--pg", help="an empty PostgreSQL database URL (default: a "
                                     "throwaway cluster)")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from reinfuse import registry

    DATA.mkdir(exist_ok=True)
    base, changed = ensure_data(args.patients)
    work = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    targets = {"SQLite": str(work / "registry.db")}
    cluster = None
    if not args.skip_pg:
        if args.pg:
            targets["PostgreSQL"] = args.pg
        else:
            cluster = _cluster()
            targets["PostgreSQL"] = cluster.new_database()  # type: ignore[attr-defined]
    print(f"| registry ({args.patients:,} patients, CSV) | first import, s (CPU s) | "
          "re-import, 1% changed | same file again |")
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("|---|---|---|---|")
    try:
        for name, db in targets.items():
            registry.init(db)
            first = _import(db, base)
            again = _import(db, changed)
            same = _import(db, changed)
            print(f"| {name} | {first} | {again} | {same} |", flush=True)
    finally:
        if cluster is not None:
            cluster.remove()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
