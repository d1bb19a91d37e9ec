"""Write outputs all at once or not at all, and never overwrite a user's file silently.

Folders that reinfuse writes (reports, CSV cohorts) carry a marker file; ``--overwrite``
replaces a folder only when it carries that marker, so it can never delete a folder of the
user's own, and it never replaces the input being read.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from reinfuse.errors import OutputExistsError

#: Name of the marker file inside every folder reinfuse writes.
OUTPUT_MARKER = ".reinfuse-output"

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


@contextmanager
def atomic_path(path: Path, overwrite: bool = False, kind: OutputKind = "file",
                protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Works for a file or a folder (``kind``): whatever the block writes at the yielded path
    replaces ``path`` in one rename, so a failure half-way leaves nothing behind. A folder
    gets the reinfuse marker file.
    """
    path = Path(path).resolve()
    refuse_overwrite(path, overwrite, kind, protect)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmp_dir / path.name
    try:
        yield tmp
        if kind == "folder":
            (tmp / OUTPUT_MARKER).write_text(
                "Written by reinfuse; `--overwrite` may replace this folder.\n",
                encoding="utf-8")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_atomically(path: Path, writer: Callable[[Path], None], overwrite: bool = False,
                     kind: OutputKind = "file", protect: Iterable[str | Path] = ()) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` only when it succeeded."""
    with atomic_path(path, overwrite, kind, protect) as tmp:
        writer(tmp)
    return Path(path)
