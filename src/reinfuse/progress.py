"""Stage-by-stage progress on the terminal, for the commands that take seconds or more.

The library announces its stages (:func:`stage`, :func:`advance`) whether or not anyone
listens: without an active :func:`show_progress` they cost a context-variable lookup and
print nothing, so tests, notebooks and pipes never see a progress bar. The command line
turns the display on for a terminal (``sys.stderr.isatty()``) unless ``--quiet`` is given;
the display goes to standard error and is removed when the command ends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["advance", "show_progress", "stage", "wanted"]


@dataclass(frozen=True)
class _Listener:
    start: Callable[[str, int | None], None]
    step: Callable[[], None]


_LISTENER: ContextVar[_Listener | None] = ContextVar("reinfuse_progress", default=None)


def stage(name: str, total: int | None = None) -> None:
    """Announce that the stage ``name`` starts (``total`` steps, or None: one piece).

    The previous stage, if any, is marked done. Does nothing unless a progress display is
    active (:func:`show_progress`).

    Examples
    --------
    >>> stage("Deriving")  # no display active: nothing happens
    """
    listener = _LISTENER.get()
    if listener is not None:
        listener.start(name, total)


def advance() -> None:
    """One step of the current stage done (a figure drawn, say); no-op without a display."""
    listener = _LISTENER.get()
    if listener is not None:
        listener.step()


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether to show progress: not ``quiet`` and ``stream`` (stderr) is a terminal.

    Examples
    --------
    >>> import io
    >>> wanted(False, io.StringIO()), wanted(True, io.StringIO())
    (False, False)
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not quiet and callable(isatty) and bool(isatty())


@contextmanager
def show_progress(enabled: bool, console: Any = None) -> Iterator[None]:
    """Show the stages announced inside the ``with`` block, one line each with its time.

    Parameters
    ----------
    enabled
        False: nothing is shown (and rich's display is not even imported).
    console
        A ``rich.console.Console`` to draw on; default a console on standard error.
    """
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    console = console if console is not None else Console(stderr=True)
    columns = (SpinnerColumn(finished_text="[green]done"), TextColumn("{task.description}"),
               BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        current: list[TaskID] = []

        def finish() -> None:
            if current:
                task = current.pop()
                total = bar.tasks[task].total or 1
                bar.update(task, completed=total, total=total)
                bar.stop_task(task)

        def start(name: str, total: int | None) -> None:
            finish()
            current.append(bar.add_task(name, total=total))

        def step() -> None:
            if current:
                bar.advance(current[-1])

        token = _LISTENER.set(_Listener(start=start, step=step))
        try:
            yield
            finish()
        finally:
            _LISTENER.reset(token)
