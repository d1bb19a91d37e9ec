"""Time the trial-design computations at realistic sizes.

    PYTHONPATH=src python benchmarks/bench_design.py
"""

from __future__ import annotations

import time

from reinfuse.design import predictive_monitoring, simon_two_stage, two_stage_inference


def _time(label: str, func: object) -> None:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    print(f"{label:<60} {time.perf_counter() - start:7.2f} s")


if __name__ == "__main__":
    _time("simon_two_stage(0.2, 0.4, 0.05, 0.2, nmax=100)",
          lambda: simon_two_stage(0.2, 0.4, 0.05, 0.2, nmax=100))
    _time("simon_two_stage(0.05, 0.15, 0.05, 0.2, nmax=150)",
          lambda: simon_two_stage(0.05, 0.15, 0.05, 0.2, nmax=150))
    _time("two_stage_inference(4/19, 15/54, x = 21)",
          lambda: two_stage_inference(4, 19, 15, 54, x1=8, x2=13, p0=0.2))
    _time("predictive_monitoring(nmax=100, every patient)",
          lambda: predictive_monitoring(0.2, 0.4, 100, a0=0.2, b0=0.8))
