"""Issue 12's statistics at registry scale (100,000 patients), beside their peers.

Times the grouped survival, Cox, competing-risks and several-group functions on 100,000
simulated patients, best of ``RUNS``, with the bare library call a biostatistician would
otherwise make where there is one (the ratio is reinfuse / peer; reinfuse does more:
input checks, counts, the PH test, variance matrices, JSON-ready results).

Run: .venv/bin/python benchmarks/bench_stats_groups.py
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.stats
from lifelines import AalenJohansenFitter, CoxPHFitter
from lifelines.statistics import multivariate_logrank_test

from reinfuse.stats import (
    cliffs_delta,
    cox_regression,
    cumulative_incidence,
    dunn_test,
    jonckheere_terpstra,
    kaplan_meier_by_group,
    kruskal_wallis,
    logrank_test_groups,
)

N = 100_000
RUNS = 2


def best_of(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(label: str, ours: float, peer: float | None = None, peer_name: str = "") -> None:
    if peer is None:
        print(f"| {label} | {ours:.3f} s | - | - |")
    else:
        print(f"| {label} | {ours:.3f} s | {peer:.3f} s ({peer_name}) | {ours / peer:.2f} |")


def main() -> None:
    rng = np.random.default_rng(2026)
    print(f"Machine: {platform.machine()}, {platform.python_version()}, numpy "
          f"{np.__version__}, scipy {scipy.__version__}; n = {N:,}")
    print("| work | reinfuse | peer | ratio |\n|---|---|---|---|")
    group = rng.integers(0, 4, N)
    stratum = rng.integers(0, 20, N)
    time_days = np.ceil(rng.exponential(400 / (1 + 0.2 * group))).astype(float)
    censor = np.ceil(rng.uniform(30, 1500, N))
    event = (time_days <= censor).astype(int)
    duration = np.minimum(time_days, censor)

    row("Kaplan-Meier by group (4 groups) + numbers at risk",
        best_of(lambda: kaplan_meier_by_group(duration, event, group,
                                              at_risk_times=[0, 90, 180, 365])))
    row("log-rank, 4 groups",
        best_of(lambda: logrank_test_groups(duration, event, group)),
        best_of(lambda: multivariate_logrank_test(duration, group, event)),
        "lifelines multivariate_logrank_test")
    row("stratified log-rank, 4 groups x 20 strata",
        best_of(lambda: logrank_test_groups(duration, event, group, strata=stratum)))

    frame = pd.DataFrame({"t": duration, "e": event, "g1": (group == 1).astype(float),
                          "g2": (group == 2).astype(float), "g3": (group == 3).astype(float),
                          "age": rng.normal(50, 12, N), "ld": rng.integers(0, 2, N)})
    row("Cox, 5 covariates, with PH test",
        best_of(lambda: cox_regression(frame, "t", "e"), runs=1),
        best_of(lambda: CoxPHFitter().fit(frame, "t", "e"), runs=1), "lifelines CoxPHFitter")
    row("Cox, 5 covariates, without PH test",
        best_of(lambda: cox_regression(frame, "t", "e", ph_test=False), runs=1))

    cause = np.where(event == 1, rng.integers(1, 4, N), 0)
    continuous = duration + rng.uniform(0, 0.5, N)  # untied, so lifelines does not jitter
    causes = {1: "relapse", 2: "death in remission", 3: "transplant"}
    row("cumulative incidence, 3 causes, 4 groups (day ties)",
        best_of(lambda: cumulative_incidence(duration, cause, causes=causes,
                                             event_of_interest=1, groups=group)))

    def lifelines_aj() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            AalenJohansenFitter(calculate_variance=True).fit(continuous, cause, 1)

    row("cumulative incidence, 1 group, untied times",
        best_of(lambda: cumulative_incidence(continuous, cause, causes=causes,
                                             event_of_interest=1)),
        best_of(lifelines_aj, runs=1), "lifelines AalenJohansenFitter, 1 cause")

    values = rng.normal(group * 0.05, 1)
    row("Kruskal-Wallis, 4 groups (asymptotic)",
        best_of(lambda: kruskal_wallis(values, group)),
        best_of(lambda: scipy.stats.kruskal(*[values[group == g] for g in range(4)])),
        "scipy.stats.kruskal")
    row("Dunn, 4 groups, Holm", best_of(lambda: dunn_test(values, group)))
    row("Jonckheere-Terpstra, 4 groups (normal)",
        best_of(lambda: jonckheere_terpstra(values, group)))
    row("Cliff's delta, 50,000 x 50,000",
        best_of(lambda: cliffs_delta(values[: N // 2], values[N // 2:])))


if __name__ == "__main__":
    main()
