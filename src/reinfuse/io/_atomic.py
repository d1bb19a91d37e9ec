"""Write outputs all at once or not at all, one writer at a time, never over a user's file.

Folders that reinfuse writes (reports, CSV cohorts) carry a marker file; ``--overwrite``
replaces a folder only when it carries that marker, so it can never delete a folder of the
user's own, and it never replaces the input being read.

Faults. Everything is written in a temporary folder beside the output, named
``.<name>.reinfuse-tmp-<pid>-<random>``, and moved into place by renames only: the previous
output is first renamed into that temporary folder, then the new one is renamed to its
name. A process killed at any moment (even by SIGKILL, which runs no clean-up) therefore
leaves the output either as it was before, absent (between the two renames), or complete:
never a mix. Temporary folders left by a killed run are removed by the next run that
writes the same output.

Concurrency. While it writes, a process holds an exclusive lock on the file
``.<name>.reinfuse-lock`` beside the output (``flock``; ``msvcrt.locking`` on Windows).
A second writer of the same output is refused at once with :class:`OutputLockedError`,
which names the process holding the lock. The operating system releases the lock when
its process ends, however it ends, so a lock file left by a killed process is stale by
construction (its process id no longer runs) and is simply taken over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from reinfuse.errors import OutputExistsError, OutputLockedError

#: Name of the marker file inside every folder reinfuse writes.
OUTPUT_MARKER = ".reinfuse-output"
#: ``.<name>`` + these: the temporary folder and the lock file beside an output ``<name>``.
TMP_INFIX, LOCK_SUFFIX = ".reinfuse-tmp-", ".reinfuse-lock"

OutputKind = Literal["file", "folder"]


def refuse_overwrite(path: Path, overwrite: bool, kind: OutputKind = "file",
                     protect: Iterable[str | Path] = ()) -> None:
    """Raise :class:`OutputExistsError` unless writing ``path`` is safe.

    Refused: an existing path without ``overwrite``; any path that is, or contains, one of
    ``protect`` (the inputs); a folder not written by reinfuse (no marker); a file where a
    folder is to be written, or the reverse.
    """
    path = Path(path)
    target = path.resolve()
    for item in protect:
        guarded = Path(item).resolve()
        if guarded == target or target in guarded.parents:
            raise OutputExistsError(
                f"{path} is (or contains) the input {item}; reinfuse never writes over its "
                "input. Choose another output name.")
    if not path.exists():
        return
    if not overwrite:
        raise OutputExistsError(
            f"{path} already exists; reinfuse never overwrites a file silently. "
            "Choose another name, delete it first, or pass --overwrite.")
    if path.is_dir() and kind == "file":
        raise OutputExistsError(f"{path} is a folder; give a file name for this output.")
    if path.is_file() and kind == "folder":
        raise OutputExistsError(f"{path} is a file; give a folder name for this output.")
    if path.is_dir() and not (path / OUTPUT_MARKER).exists():
        raise OutputExistsError(
            f"{path} is a folder reinfuse did not write (it has no {OUTPUT_MARKER} marker), so "
            "--overwrite will not replace it: its contents would be lost. Choose a new folder "
            "name.")


# --- lock ------------------------------------------------------------------------------------

def lock_path(path: Path) -> Path:
    """The lock file of output ``path``: ``.<name>.reinfuse-lock`` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


def _pid_running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (``False`` if unsure it does)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - not run on the Linux CI
        return True  # no cheap check; the lock itself is authoritative
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; ``False`` if another holds it."""
    if sys.platform == "win32":  # pragma: no cover - not run on the Linux CI
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        # A file system without locks (some network shares): writing goes on unlocked,
        # still atomically; concurrent writers are then not detected.
        return True
    return True


def _holder(lock: Path) -> dict[str, Any]:
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _locked_message(path: Path, lock: Path, holder: dict[str, Any]) -> str:
    who = "another reinfuse process"
    if isinstance(holder.get("pid"), int):
        who += f" (process {holder['pid']}"
        if holder.get("host") and holder["host"] != socket.gethostname():
            who += f" on {holder['host']}"
        started = holder.get("started")
        if isinstance(started, str):
            try:
                since = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
                seconds = int((dt.datetime.now(dt.UTC) - since).total_seconds())
                who += f", started {started}, {seconds} s ago"
            except ValueError:
                pass
        who += ")"
    return (f"{path} is being written by {who}; two runs writing the same output would mix "
            f"their files. Wait for it to finish, or choose another output name. (The lock "
            f"is {lock}; it is released when that process ends, even if it is killed.)")


@contextmanager
def output_lock(path: Path) -> Iterator[Path]:
    """Hold the exclusive lock of output ``path`` for the block.

    Raises
    ------
    OutputLockedError
        If another process holds it (the message names that process and its start time).
    """
    path = Path(path)
    lock = lock_path(path)
    for _ in range(10):  # retried only if the lock file was replaced while it was opened
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                raise OutputLockedError(_locked_message(path, lock, _holder(lock)))
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder removed it after we opened it: try again
                os.close(fd)
                continue
        except BaseException:
            os.close(fd)
            raise
        break
    else:  # pragma: no cover - ten replacements in a row
        raise OutputLockedError(_locked_message(path, lock, _holder(lock)))
    try:
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now(dt.UTC).replace(microsecond=0)
                  .isoformat().replace("+00:00", "Z"), "output": str(path)}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))
        yield lock
    finally:
        try:
            if sys.platform == "win32":  # pragma: no cover - a locked file cannot be removed
                os.close(fd)
                lock.unlink(missing_ok=True)
            else:  # removed while still held, so no one can lock the old file meanwhile
                lock.unlink(missing_ok=True)
                os.close(fd)
        except OSError:  # pragma: no cover - the lock is released with the descriptor
            pass


# --- temporary folders -----------------------------------------------------------------------

#: Seconds after which a temporary folder is stale even if its process id runs.
STALE_AFTER = 24 * 3600


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def check_output(path: Path, overwrite: bool = False, kind: OutputKind = "file",
                 protect: Iterable[str | Path] = ()) -> None:
    """Refuse early, before long work, an output that :func:`atomic_path` would refuse.

    Raises :class:`OutputExistsError` as :func:`refuse_overwrite` does, or
    :class:`OutputLockedError` if another process is writing ``path`` now. A hint only:
    :func:`atomic_path` checks again when it writes.
    """
    path = Path(path).resolve()
    refuse_overwrite(path, overwrite, kind, protect)
    if lock_path(path).exists():
        with output_lock(path):
            pass


def _tmp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(name)}{re.escape(TMP_INFIX)}(\d+)-[a-z0-9_]{{8}}")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporary folders of output ``path`` left by runs that were killed.

    Only folders named ``.<name>.reinfuse-tmp-<pid>-<random>`` are removed, when their
    process no longer runs or they are older than a day (the process id was reused by
    another program); call it while holding :func:`output_lock`. Returns those removed.
    """
    path = Path(path)
    pattern = _tmp_pattern(path.name)
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and (
                int(match[1]) == os.getpid() or not _pid_running(int(match[1]))
                or _age(entry) > STALE_AFTER):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def atomic_path(path: Path, overwrite: bool = False, kind: OutputKind = "file",
                protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Works for a file or a folder (``kind``): whatever the block writes at the yielded path
    replaces ``path`` by renames, so a failure or a kill half-way leaves the previous
    ``path`` or none, never a partial one. A folder gets the reinfuse marker file. The
    output's lock is held throughout (:func:`output_lock`).
    """
    path = Path(path).resolve()
    refuse_overwrite(path, overwrite, kind, protect)  # before creating anything
    path.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(path):
        refuse_overwrite(path, overwrite, kind, protect)  # again, now that it is ours
        remove_stale_temporaries(path)
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}{TMP_INFIX}{os.getpid()}-",
                                        dir=path.parent))
        tmp = tmp_dir / path.name
        try:
            yield tmp
            if kind == "folder":
                (tmp / OUTPUT_MARKER).write_text(
                    "Written by reinfuse; `--overwrite` may replace this folder.\n",
                    encoding="utf-8")
            if path.is_dir() and not path.is_symlink():
                # Out of the way in one rename (deleted with the temporary folder): a kill
                # now leaves no output, never a half-deleted one.
                os.rename(path, tmp_dir / ".previous")
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def write_atomically(path: Path, writer: Callable[[Path], None], overwrite: bool = False,
                     kind: OutputKind = "file", protect: Iterable[str | Path] = ()) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` only when it succeeded."""
    with atomic_path(path, overwrite, kind, protect) as tmp:
        writer(tmp)
    return Path(path)
