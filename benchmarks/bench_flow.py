"""Time FCS reading, compensation and gating against the raw numpy floor, and a Dask batch.

    PYTHONPATH=src python benchmarks/bench_flow.py [--files 200] [--events 1000000]

1. One 1,000,000-event x 20-channel float32 FCS file (16 fluorescence channels with a
   $SPILLOVER matrix): the floor (read the bytes, convert to float64) against
   reinfuse's read + compensate + gate (rectangle on scatter, two asinh thresholds, a
   boolean), and the same work with flowio (read), flowutils (compensate) and flowutils
   logicle on 4 channels, measured in the same run. Best of three.
2. ``--files`` synthetic samples (20,000 events each, one bead file) through
   ``run_antigen`` with Dask's local scheduler at 1 and 2 threads, and a
   ``distributed.LocalCluster`` of 2 worker processes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from reinfuse.flow.batch import run_antigen, sample_specs
from reinfuse.flow.compensate import compensate, spill_matrix
from reinfuse.flow.fcs import fcs_bytes, read_fcs
from reinfuse.flow.gates import gate_sample, load_gates
from reinfuse.flow.synthetic import BEAD_LOT, GATES_TOML, bead_file, blast_file

GATES = """
[transforms]
default = "linear"
"FL1-A" = "asinh"
"FL2-A" = "asinh"
[gates.cells]
type = "rectangle"
channels = ["FSC-A", "SSC-A"]
min = [20000, 0]
max = [200000, 100000]
[gates.a]
type = "threshold"
channel = "FL1-A"
above = 3.0
[gates.b]
type = "threshold"
channel = "FL2-A"
below = 5.0
[gates.blasts]
type = "boolean"
parent = "cells"
expr = "a and b"
"""


def best(func: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def big_file(folder: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    n_fl = 16
    ev = np.column_stack([rng.uniform(0, 262143, (n, 4)),
                          rng.lognormal(6, 1.5, (n, n_fl))]).astype(np.float32)
    names = ["FSC-A", "FSC-H", "SSC-A", "Time"] + [f"FL{i + 1}-A" for i in range(n_fl)]
    spill = np.eye(n_fl) + np.triu(rng.uniform(0, 0.05, (n_fl, n_fl)), 1)
    kw = {"$SPILLOVER": ",".join([str(n_fl), *names[4:], *(f"{v:.6f}" for v in spill.ravel())])}
    path = folder / "big.fcs"
    path.write_bytes(fcs_bytes(ev, names, datatype="F", byteorder=">", extra=kw))
    return path


def bench_single(folder: Path, n: int) -> None:
    import flowio
    import flowutils

    path = big_file(folder, n)
    gates = load_gates("bench", text=GATES)
    d = read_fcs(path)
    off = d.events.shape[1]
    start = int(d.text["$BEGINDATA"])

    def floor() -> object:
        raw = path.read_bytes()
        return np.frombuffer(raw, dtype=">f4", offset=start, count=n * off).reshape(
            n, off).astype(np.float64)

    def ours() -> object:
        return gate_sample(read_fcs(path), gates).masks["blasts"].sum()

    t_floor = best(floor)
    t_read = best(lambda: read_fcs(path))
    t_comp = best(lambda: compensate(d))
    t_gate = best(lambda: gate_sample(d, gates))
    t_ours = best(ours)
    sp = spill_matrix(d)
    assert sp is not None
    idx = [d.channels.index(c) for c in sp.channels]
    t_fio = best(lambda: flowio.FlowData(str(path)).as_array(), repeat=1)
    t_fuc = best(lambda: flowutils.compensate.compensate(d.events, sp.values, idx), repeat=1)
    t_flog = best(lambda: flowutils.transforms.logicle(d.events, idx[:4]), repeat=1)
    rows = [("floor: read bytes + convert to float64", t_floor),
            ("reinfuse read_fcs", t_read), ("reinfuse compensate (16 channels)", t_comp),
            ("reinfuse gate_sample (4 gates, 2 asinh channels)", t_gate),
            ("reinfuse read + compensate + gate", t_ours),
            ("flowio read", t_fio), ("flowutils compensate", t_fuc),
            ("flowutils logicle, 4 channels", t_flog)]
    print(f"{n:,} events x {off} channels")
    for label, t in rows:
        print(f"  {label:<52} {t:7.3f} s  {t / t_floor:5.1f}x floor")


def bench_batch(folder: Path, n_files: int) -> None:
    from distributed import Client, LocalCluster

    (folder / "fcs").mkdir(exist_ok=True)
    (folder / "fcs" / "beads.fcs").write_bytes(bead_file(seed=1))
    rows = []
    for i in range(n_files):
        name = f"fcs/s{i:04d}.fcs"
        (folder / name).write_bytes(blast_file(1000 + 20 * i, seed=i, n_blasts=15000,
                                               n_other=3000))
        rows.append({"patient_id": f"P{i:04d}", "infusion": 1, "timepoint": "pre",
                     "antigen": "CD19", "fcs_file": name, "bead_file": "fcs/beads.fcs",
                     "bead_lot": ";".join(f"{v:g}" for v in BEAD_LOT), "channel": "PE-A",
                     "blast_gate": "blasts"})
    specs = sample_specs(pd.DataFrame(rows), folder)
    gates = load_gates("g", text=GATES_TOML)
    print(f"{n_files} files through run_antigen")
    ref = None
    for label, kw in (("local threads, 1 worker", {"workers": 1}),
                      ("local threads, 2 workers", {"workers": 2})):
        start = time.perf_counter()
        res = run_antigen(specs, gates, **kw)  # type: ignore[arg-type]
        print(f"  {label:<52} {time.perf_counter() - start:7.2f} s")
        ref = ref or res
        assert res == ref
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        start = time.perf_counter()
        res = run_antigen(specs, gates, scheduler=client)
        print(f"  {'LocalCluster, 2 worker processes':<52} "
              f"{time.perf_counter() - start:7.2f} s")
        assert res == ref


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_single(Path(tmp), args.events)
        bench_batch(Path(tmp), args.files)
