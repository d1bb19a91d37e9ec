"""Expansion metrics and last detection day on 1,000,000 car_counts rows (aim: a few s).

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
