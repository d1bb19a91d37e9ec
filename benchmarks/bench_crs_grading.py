"""ASTCT CRS grading of 10 million observations (issue 4 aim: under 10 s on 2 cores).

Run: .venv/bin/python benchmarks/bench_crs_grading.py
"""
import time

import numpy as np
import pandas as pd

from reinfuse.criteria.crs import OXYGEN_SUPPORT, crs_grade

n = 10_000_000
rng = np.random.default_rng(1)
hyp_labels = np.array(["none", "fluids", "vasopressors"], dtype=object)
h = rng.integers(0, 3, n)
nv = np.where(h == 2, rng.integers(0, 3, n), 0).astype(float)
vp = (h == 2) & ((nv == 0) | (rng.random(n) < 0.3))
ox_labels = np.array([o for o in OXYGEN_SUPPORT], dtype=object)
ox = ox_labels[rng.integers(0, len(ox_labels), n)]
rate = np.where(np.isin(ox, ["room_air"]), np.nan, rng.integers(1, 12, n).astype(float))
temp = np.round(rng.normal(38.0, 1.0, n), 1).clip(34, 42)
temp[rng.random(n) < 0.02] = np.nan
anti = rng.random(n) < 0.3
other = rng.random(n) < 0.05
death = ~other & (rng.random(n) < 0.001)
inputs = dict(temperature_c=temp, anticytokine_or_antipyretic=anti, hypotension=hyp_labels[h],
              vasopressors=nv, vasopressin=vp, oxygen=ox, oxygen_l_min=rate,
              other_cause=other, death_from_crs=death)
for label, kw in [("object-string labels (numpy)", inputs),
                  ("categorical labels (pandas Series)",
                   {k: (pd.Series(v, dtype="category") if k in ("hypotension", "oxygen")
                        else pd.Series(v)) for k, v in inputs.items()})]:
    best = []
    for _ in range(3):
        t = time.perf_counter()
        r = crs_grade(**kw)
        best.append(time.perf_counter() - t)
    runs = ", ".join(f"{b:.2f}" for b in best)
    print(f"{label}: {n:,} rows, best of 3: {min(best):.2f} s (runs: {runs})")
print(pd.Series(r.grade).value_counts(dropna=False).sort_index().to_dict())
