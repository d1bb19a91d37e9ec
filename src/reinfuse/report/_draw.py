"""Draw and save the plan's figures, several at once where the machine allows.

Drawing and saving (300-dpi PNG and SVG) is most of a report's time at registry scale
(about 5.6 of 6.8 s of rendering for 100,000 patients) and each figure is independent of
the others, so they are drawn in forked worker processes: a fork sees the analysis frame
without copying or pickling it, and only the figure's plain numbers come back. The files
are the same bytes either way (a test compares one worker with two).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reinfuse.errors import UsageError
from reinfuse.figures import FigureResult, make_figure, save_figure
from reinfuse.plan import FigureSpec
from reinfuse.progress import advance

#: Most worker processes used by default (more rarely pays: the longest figure sets the
#: pace). ``REINFUSE_JOBS`` or ``jobs=`` choose another number; 1 draws in this process.
MAX_DEFAULT_JOBS = 4


@dataclass(frozen=True)
class DrawnFigure:
    """A figure once saved: what the report prints and results.json holds (the
    matplotlib figure itself stays in the process that drew it)."""

    id: str
    title: str
    caption: str
    data: dict[str, Any]
    empty: str = ""

    @classmethod
    def of(cls, result: FigureResult) -> DrawnFigure:
        return cls(result.id, result.title, result.caption, result.data, result.empty)


def figure_jobs(count: int, jobs: int | None = None) -> int:
    """How many processes draw ``count`` figures.

    ``jobs`` (else the ``REINFUSE_JOBS`` environment variable, else the cores this
    process may use, at most :data:`MAX_DEFAULT_JOBS`), never more than the figures, and
    1 where processes are not forked: off Linux (Windows cannot fork; macOS's libraries
    are not safe to fork) and inside a daemonic process (a pool worker).
    """
    if jobs is None:
        setting = os.environ.get("REINFUSE_JOBS", "").strip()
        if setting:
            try:
                jobs = int(setting)
            except ValueError:
                raise UsageError(f"REINFUSE_JOBS is {setting!r}; give a whole number of "
                                 "processes (1 draws the figures in this process).") from None
        else:
            jobs = min(MAX_DEFAULT_JOBS, len(os.sched_getaffinity(0))
                       if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if jobs < 1:
        raise UsageError(f"jobs is {jobs}; give 1 or more processes.")
    # Forking is safe where it is the long-standing default (Linux); macOS offers it but
    # its system libraries are not fork-safe. A daemonic process (a multiprocessing.Pool
    # or Celery worker) may not have children. A report drawing inside another's figure
    # job draws in its own process.
    if not sys.platform.startswith("linux") or multiprocessing.current_process().daemon \
            or _JOB is not None:
        return 1
    return max(1, min(jobs, count))


#: Figure kinds that take longest at registry scale (a lane or mark per patient).
_SLOW = frozenset({"swimmer_course", "swimmer", "paired_expansion"})

# What forked workers draw from: set just before the pool forks them, cleared after.
_JOB: tuple[pd.DataFrame, Sequence[FigureSpec], Mapping[int, str], Mapping[str, Any],
            Path] | None = None


def _draw(index: int) -> tuple[DrawnFigure, dict[str, str]]:
    """Draw and save figure ``index`` of the forked job (:data:`_JOB`)."""
    assert _JOB is not None, "figure drawn outside a job"
    return _draw_one(*_JOB, index)


def _quiet_worker() -> None:
    """Start a worker with the process's own standard streams: the parent's may be a
    progress display's proxy, whose lock a fork can copy held."""
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _draw_one(population: pd.DataFrame, specs: Sequence[FigureSpec],
              labels: Mapping[int, str], estimates: Mapping[str, Any], folder: Path,
              index: int) -> tuple[DrawnFigure, dict[str, str]]:
    """Draw and save figure ``index``; the files' names, relative to the report folder
    (none for an empty figure, which the report leaves out)."""
    spec = specs[index]
    result = make_figure(population, spec, labels, estimates.get(spec.id))
    files: dict[str, str] = {}
    if not result.empty:
        save_figure(result, folder)
        files = figure_files(result.id)
    return DrawnFigure.of(result), files


def figure_files(figure_id: str) -> dict[str, str]:
    """The files :func:`reinfuse.figures.save_figure` writes for a figure saved in the
    report's ``figures/`` folder, relative to the report folder."""
    return {kind: f"figures/{figure_id}.{kind}" for kind in ("png", "svg")}


def _freeze_for_fork() -> Callable[[], None]:
    """Freeze the garbage collector's view of this process's objects until the returned
    function is called (once or more).

    Frozen, the objects that exist when the workers are forked are left out of the
    workers' garbage collections, which would otherwise write to every page holding one
    and so copy it into the worker (Python's advice for forking, ``gc.freeze``): at
    1,000,000 patients a collection in a worker copied about 44 MB of the analysis. A
    process that froze its objects already (a server preparing its own forks) is left as
    it is.
    """
    if gc.get_freeze_count():
        return lambda: None
    gc.freeze()
    thawed = False

    def thaw() -> None:
        nonlocal thawed
        if not thawed:
            thawed = True
            gc.unfreeze()

    return thaw


def draw_figures(population: pd.DataFrame, specs: Sequence[FigureSpec],
                 labels: Mapping[int, str], estimates: Mapping[str, Any], folder: Path,
                 jobs: int | None = None) -> list[tuple[DrawnFigure, dict[str, str]]]:
    """Draw every figure of ``specs`` and save the non-empty ones into ``folder``.

    Returns, in the plan's order, each figure and its files (``{"png": "figures/x.png",
    "svg": ...}``). One progress step per figure finished. An error in any figure (a
    plan parameter, a missing column) is raised here as it was raised in the worker; the
    figures not yet started are then cancelled, and the call returns once the running
    ones have stopped (so no worker writes into the folder afterwards). With several
    processes the error raised is that of the first figure to fail, which need not be
    the first in the plan.
    """
    global _JOB
    workers = figure_jobs(len(specs), jobs)
    if workers == 1:
        done = []
        for index in range(len(specs)):
            done.append(_draw_one(population, specs, labels, estimates, folder, index))
            advance()
        return done
    drawn: dict[int, tuple[DrawnFigure, dict[str, str]]] = {}
    _JOB = (population, specs, labels, estimates, folder)
    thaw = _freeze_for_fork()
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_quiet_worker,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            # The slowest kinds first, so that no worker is left with one at the end.
            order = sorted(range(len(specs)), key=lambda i: specs[i].kind not in _SLOW)
            futures = {pool.submit(_draw, index): index for index in order}
            thaw()  # every worker has been forked (all at the first submit)
            try:
                for future in as_completed(futures):
                    drawn[futures[future]] = future.result()
                    advance()
            except BaseException:  # an error, or Ctrl-C: no new figure, then wait
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        thaw()
        _JOB = None
    return [drawn[index] for index in range(len(specs))]
