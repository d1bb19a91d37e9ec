"""``reinfuse report`` killed (SIGKILL) at moments spread over its run, into a folder
that holds a previous report: the folder is afterwards that previous report, byte for
byte, or a complete new one, or absent; never partial. The next run cleans up and works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import reinfuse
from reinfuse.demo import demo_path
from reinfuse.io._atomic import TMP_INFIX

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

SRC = str(Path(reinfuse.__file__).resolve().parents[1])
#: Kill moments, as fractions of a full run's duration (the last ones fall in the writing).
FRACTIONS = (0.5, 0.95)


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "reinfuse.cli", "report", str(demo_path()), "--out", str(out),
            "--overwrite"]


def _env(epoch: int) -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": str(epoch),
            "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sigkill_during_report_leaves_previous_report_or_none(tmp_path: Path) -> None:
    out = tmp_path / "report"
    # The shorter of two full runs: the first pays for cold caches (compiled modules, the
    # page cache), and a kill timed from it could fall after a warm run has finished.
    durations = []
    for _ in range(2):
        start = time.monotonic()
        subprocess.run(_command(out), env=_env(1_700_000_000), check=True,
                       capture_output=True, timeout=300)
        durations.append(time.monotonic() - start)
    duration = min(durations)
    previous = _snapshot(out)
    assert "results.json" in previous and "report.html" in previous

    outcomes = []
    for i, fraction in enumerate(FRACTIONS, start=1):
        epoch = 1_700_000_000 + i  # a new report differs from the previous in its time only
        child = subprocess.Popen(_command(out), env=_env(epoch), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        if not out.exists():
            outcomes.append("none")
            continue
        now = _snapshot(out)
        if now == previous:
            outcomes.append("previous")
            continue
        # Else the run had finished: a complete report, with the new time.
        assert sorted(now) == sorted(previous), "partial report"
        stamp = json.loads(now["results.json"])["stamp"]["generated_at"]
        assert stamp.startswith("2023-11-14T22:13:2"), stamp
        previous = now
        outcomes.append("new")
    assert outcomes.count("new") < len(FRACTIONS), f"no kill hit a running report: {outcomes}"
    print("outcomes of the kills:", outcomes)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "report"]
    assert all(n.startswith(f".report{TMP_INFIX}") or n == ".report.reinfuse-lock"
               for n in leftovers), leftovers

    # The next run removes the killed runs' temporary folders and stale lock.
    subprocess.run(_command(out), env=_env(1_700_000_100), check=True, capture_output=True,
                   timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert sorted(_snapshot(out)) == sorted(previous)
