"""Write outputs all at once or not at all, and never overwrite a user's file silently."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reinfuse.errors import OutputExistsError


def refuse_overwrite(path: Path, overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is false."""
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; reinfuse never overwrites a file silently. "
            "Choose another name, delete it first, or pass --overwrite."
        )


@contextmanager
def atomic_path(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Works for a file or a folder: whatever the block writes at the yielded path replaces
    ``path`` in one rename, so a failure half-way leaves nothing behind.
    """
    path = Path(path)
    refuse_overwrite(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmp_dir / path.name
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_atomically(path: Path, writer: Callable[[Path], None], overwrite: bool = False) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` only when it succeeded."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)
