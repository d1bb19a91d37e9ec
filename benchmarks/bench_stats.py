"""Statistics against their peers, in the same run (issue 9's registry-scale table).

Each row times reinfuse and the library a biostatistician would otherwise use, on the same
data, best of three, and prints the ratio (reinfuse / peer; below 1 is faster).

Run: .venv/bin/python benchmarks/bench_stats.py
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np
import scipy.stats
from lifelines import KaplanMeierFitter

from reinfuse.stats import fisher_exact, kaplan_meier, mann_whitney_u


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(label: str, ours: float, peer: float, peer_name: str) -> None:
    print(f"| {label} | {ours:.3f} s | {peer:.3f} s ({peer_name}) | {ours / peer:.2f} |")


def main() -> None:
    rng = np.random.default_rng(2026)
    print(f"Machine: {platform.machine()}, {platform.python_version()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}")
    print("| work | reinfuse | peer | ratio |\n|---|---|---|---|")

    n = 1_000_000
    durations = rng.exponential(100, n) + rng.random(n)  # distinct times
    events = rng.random(n) < 0.7
    row("Kaplan-Meier, 1,000,000 distinct times",
        best_of(lambda: kaplan_meier(durations, events)),
        best_of(lambda: KaplanMeierFitter().fit(durations, events)), "lifelines")

    x, y = rng.normal(size=100), rng.normal(0.3, size=100)
    row("exact Mann-Whitney, n = 200, no ties",
        best_of(lambda: mann_whitney_u(x, y, method="exact")),
        best_of(lambda: scipy.stats.mannwhitneyu(x, y, method="exact")), "scipy")

    big = np.array([[50_000, 20_000], [30_000, 13_000], [20_100, 9_900]])
    ours = best_of(lambda: fisher_exact(big), runs=1)
    chi = best_of(lambda: scipy.stats.chi2_contingency(big))
    row("Fisher 3x2, 143,000 patients (auto: Monte Carlo after the work guard)", ours, chi,
        "scipy chi-square")


if __name__ == "__main__":
    main()
