"""Kinetics on 1,000,000 car_counts rows (aim: a few s), and the Stein model fits.

Expansion metrics, last detection day and the PKNCA-style NCA (reinfuse.kinetics.nca)
on random tables; then the NCA and the Stein et al. 2019 model fit on simulated
kinetic curves (100,000 patients, 2 infusions each for the NCA; 1,000 curves for the
fits, which run one curve after another).

100,000 infusions (50,000 patients x 2) x 10 measurements: blood (cells/uL and percent of
T cells), marrow and CSF (percent of cells), days -7 to 180, some values missing, some
zero. Labels as plain Python strings (object columns, the slowest case) and as pandas
categoricals.

Run: .venv/bin/python benchmarks/bench_kinetics.py
"""

import time

import numpy as np
import pandas as pd

from reinfuse.kinetics import SEED_STUDY_MARROW_LOD, expansion_metrics, last_detection_day
from reinfuse.kinetics.model import STEIN_2019_TYPICAL, fit_stein_table
from reinfuse.kinetics.nca import nca

n_infusions = 100_000
per_infusion = 10
n = n_infusions * per_infusion
rng = np.random.default_rng(4)

curve = np.repeat(np.arange(n_infusions), per_infusion)
patient = np.char.add("P", (curve // 2).astype(str)).astype(object)
infusion = curve % 2 + 1
day = np.round(rng.uniform(-7, 180, n), 1)
kind = rng.choice(4, n, p=[0.55, 0.15, 0.2, 0.1])
compartment = np.array(["blood", "blood", "marrow", "csf"], dtype=object)[kind]
unit = np.array(["cells_per_ul", "percent_of_t_cells", "percent_of_cells",
                 "percent_of_cells"], dtype=object)[kind]
value = np.round(rng.lognormal(2.0, 2.0, n), 2)
value[rng.random(n) < 0.15] = 0.0
value[rng.random(n) < 0.02] = np.nan
car_counts = pd.DataFrame({"patient_id": patient, "infusion": infusion, "day": day,
                           "compartment": compartment, "value": value, "unit": unit})
infusions = pd.DataFrame({
    "patient_id": np.char.add("P", (np.arange(n_infusions) // 2).astype(str)).astype(object),
    "infusion": np.arange(n_infusions) % 2 + 1,
    "target": rng.choice(np.array(["CD19", "CD22"], dtype=object), n_infusions)})
categorical = car_counts.astype({"patient_id": "category", "compartment": "category",
                                 "unit": "category"})

jobs = {
    "expansion_metrics (blood, cells/uL, days 0-28)":
        lambda t: expansion_metrics(t, duplicates="mean"),
    "expansion_metrics (marrow %, LOD per target)":
        lambda t: expansion_metrics(t, infusions, compartment="marrow",
                                    unit="percent_of_cells", lod=SEED_STUDY_MARROW_LOD,
                                    duplicates="mean"),
    "last_detection_day (all compartments, marrow LOD per target)":
        lambda t: last_detection_day(t, infusions, lod={"marrow": SEED_STUDY_MARROW_LOD}),
    "nca (blood, cells/uL, days 0-28, PKNCA rules)":
        lambda t: nca(t, duplicates="mean").table,
}
print(f"{n:,} rows, {n_infusions:,} infusions")
for table_label, table in [("object labels", car_counts), ("categorical labels", categorical)]:
    for job_label, job in jobs.items():
        best = []
        for _ in range(3):
            start = time.perf_counter()
            result = job(table)
            best.append(time.perf_counter() - start)
        runs = ", ".join(f"{b:.2f}" for b in best)
        print(f"{table_label}, {job_label}: best of 3 {min(best):.2f} s (runs: {runs}); "
              f"{len(result):,} output rows")


# Simulated kinetic curves: 100,000 patients x 2 infusions, 12 samples each (days 0-28),
# Stein typical parameters with log-normal between-patient variation, noise SD 0.3 on
# the log scale and a limit of detection of 1.
grid = np.array([0, 1, 2, 4, 7, 9, 11, 14, 17, 21, 24, 28.0])
n_curves = 200_000
typical = STEIN_2019_TYPICAL


def simulate(n: int, days: np.ndarray) -> pd.DataFrame:
    spread = np.exp(rng.normal(0, 0.3, (n, 5)))
    cmax, tmax = typical.cmax * spread[:, 0], typical.tmax * spread[:, 1]
    rho, alpha, beta = typical.rho * spread[:, 2], typical.alpha * spread[:, 3], typical.beta
    fb = typical.fb * spread[:, 4]
    t = np.tile(days, n).reshape(n, -1)
    s = t - tmax[:, None]
    level = np.where(s < 0, cmax[:, None] * np.exp(rho[:, None] * np.minimum(s, 0)),
                     cmax[:, None] * ((1 - fb[:, None]) * np.exp(-alpha[:, None] * s)
                                      + fb[:, None] * np.exp(-beta * s)))
    level *= np.exp(rng.normal(0, 0.3, level.shape))
    level = np.where(level <= 1, 0.0, np.round(level, 2))
    curve_id = np.repeat(np.arange(n), days.size)
    return pd.DataFrame({
        "patient_id": np.char.add("P", (curve_id // 2).astype(str)).astype(object),
        "infusion": curve_id % 2 + 1, "day": t.reshape(-1), "compartment": "blood",
        "value": level.reshape(-1), "unit": "cells_per_ul"})


curves = simulate(n_curves, grid)
best = []
for _ in range(3):
    start = time.perf_counter()
    result = nca(curves, lod=1.0).table
    best.append(time.perf_counter() - start)
print(f"nca, simulated Stein curves ({len(curves):,} rows, {n_curves:,} infusions): best of 3 "
      f"{min(best):.2f} s (runs: {', '.join(f'{b:.2f}' for b in best)}); "
      f"half-life found for {int(result['half_life'].notna().sum()):,} infusions")

# Stein fits: 1,000 curves sampled to day 365
long_grid = np.array([1, 2, 4, 7, 9, 11, 14, 17, 21, 28, 42, 60, 90, 180, 270, 365.0])
n_fit = 2000
sample = simulate(n_fit, long_grid)
start, cpu = time.perf_counter(), time.process_time()
fits = fit_stein_table(sample, lod=1.0).table
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(f"fit_stein_table, {n_fit:,} curves x {long_grid.size} samples: {elapsed:.2f} s wall, "
      f"{cpu:.2f} s CPU ({1000 * cpu / n_fit:.1f} ms CPU per curve; 100,000 curves about "
      f"{cpu * 100_000 / n_fit / 60:.0f} min of CPU); status: "
      f"{fits['status'].value_counts().to_dict()}")

