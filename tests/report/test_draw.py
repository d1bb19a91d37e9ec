"""Figures drawn in forked worker processes (issue 9): the same files as drawn in this
process, errors raised as they were raised in the worker, and the number of processes.

The reference is the one-process path itself, on the same analysis: the bytes of every
figure file and of results.json must be equal.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import multiprocessing
import sys
import time
from pathlib import Path

import pytest

from reinfuse import pipeline
from reinfuse.demo import demo_analysis, demo_plan
from reinfuse.errors import PlanError, UsageError
from reinfuse.report import _draw

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def results() -> pipeline.Results:
    return pipeline.analyze(demo_analysis(), demo_plan())


def test_two_processes_write_the_same_files_as_one(results: pipeline.Results,
                                                   tmp_path: Path) -> None:
    one = pipeline.render(results, tmp_path / "one", now=NOW, jobs=1).folder
    two = pipeline.render(results, tmp_path / "two", now=NOW, jobs=2).folder
    names = sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(two).as_posix() for p in two.rglob("*")
                           if p.is_file())
    assert any(n.startswith("figures/") and n.endswith(".svg") for n in names)
    _, differ, errors = filecmp.cmpfiles(one, two, names, shallow=False)
    assert (differ, errors) == ([], [])


def test_an_error_in_a_worker_is_raised_here(results: pipeline.Results, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real = _draw.make_figure

    def failing(frame, spec, labels, estimates=None):  # type: ignore[no-untyped-def]
        if spec.id == "fig_crs":
            raise PlanError(f"figure '{spec.id}': parameter 'bins' is not allowed")
        return real(frame, spec, labels, estimates)

    monkeypatch.setattr(_draw, "make_figure", failing)  # the forked workers inherit it
    with pytest.raises(PlanError, match=r"fig_crs.*'bins'"):
        pipeline.render(results, tmp_path / "report", now=NOW, jobs=2)
    assert not (tmp_path / "report").exists()  # nothing half-written
    import gc

    assert gc.get_freeze_count() == 0  # the parent's collector has its objects back


def test_process_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REINFUSE_JOBS", raising=False)
    assert _draw.figure_jobs(10, 3) == 3
    assert _draw.figure_jobs(2, 8) == 2  # never more processes than figures
    assert 1 <= _draw.figure_jobs(10) <= _draw.MAX_DEFAULT_JOBS
    monkeypatch.setenv("REINFUSE_JOBS", "1")
    assert _draw.figure_jobs(10) == 1
    assert _draw.figure_jobs(10, 2) == 2  # an explicit number wins
    monkeypatch.setenv("REINFUSE_JOBS", "two")
    with pytest.raises(UsageError, match="REINFUSE_JOBS is 'two'"):
        _draw.figure_jobs(10)
    with pytest.raises(UsageError, match="jobs is 0"):
        _draw.figure_jobs(10, 0)


def test_one_process_where_forking_is_unsafe_or_not_allowed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")  # macOS: its libraries are not fork-safe
    assert _draw.figure_jobs(10, 4) == 1
    monkeypatch.setattr(sys, "platform", "linux")
    assert _draw.figure_jobs(10, 4) == 4
    # A daemonic process (a multiprocessing.Pool or Celery worker) may not have children.
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert _draw.figure_jobs(10, 4) == 1


def test_an_error_cancels_the_figures_not_yet_started(results: pipeline.Results,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Nine figures take a second each, the first fails at once: with two processes
    the error comes once the figures already running or handed to a worker have ended
    (about 3.6 s measured), not after all nine (about 6 s measured without the
    cancelling)."""
    real = _draw.make_figure

    def slow(frame, spec, labels, estimates=None):  # type: ignore[no-untyped-def]
        if spec.kind == "swimmer_course":  # drawn first (a slow kind)
            raise PlanError("figure 'fig_course': broken on purpose")
        time.sleep(1.0)
        return real(frame, spec, labels, estimates)

    monkeypatch.setattr(_draw, "make_figure", slow)
    start = time.monotonic()
    with pytest.raises(PlanError, match="broken on purpose"):
        pipeline.render(results, tmp_path / "report", now=NOW, jobs=2)
    assert time.monotonic() - start < 4.8


def test_objects_are_frozen_only_while_the_workers_are_forked(results: pipeline.Results,
                                                                tmp_path: Path) -> None:
    import gc

    # gc.freeze keeps the workers' collections off the parent's pages; the parent's own
    # collector is given back its objects once the workers exist (after an error too:
    # test_an_error_in_a_worker_is_raised_here).
    assert gc.get_freeze_count() == 0
    thaw = _draw._freeze_for_fork()
    assert gc.get_freeze_count() > 0
    thaw()
    thaw()  # twice is once
    assert gc.get_freeze_count() == 0
    pipeline.render(results, tmp_path / "report", now=NOW, jobs=2)
    assert gc.get_freeze_count() == 0
    # A process that froze its objects itself keeps them frozen.
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        _draw._freeze_for_fork()()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
