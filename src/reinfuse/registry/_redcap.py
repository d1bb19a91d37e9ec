"""The seam to the REDCap package (``reinfuse.redcap``), kept in one place.

``reinfuse.redcap`` provides ``read_export(path, dictionary=None, mapping=None)`` and
``write_export(cohort, path, labels=False)``. Until that package is part of this
installation, the registry says so clearly instead of failing somewhere deeper.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from reinfuse.errors import UsageError


def _redcap() -> ModuleType:
    try:
        return importlib.import_module("reinfuse.redcap")
    except ImportError as exc:
        raise UsageError(
            "REDCap exports need the reinfuse.redcap package, which is not part of this "
            "installation of reinfuse. Import a workbook or a CSV folder instead (or "
            "convert the export with `reinfuse redcap import` where it is available)."
        ) from exc


def is_redcap_export(path: Path) -> bool:
    """A single ``.csv`` file (a cohort in CSV is a folder of them) is a REDCap export."""
    return path.is_file() and path.suffix.lower() == ".csv"


def read_redcap(path: Path, dictionary: str | None = None,
                mapping: str | None = None) -> Any:
    """A REDCap record export as read by ``reinfuse.redcap.read_export`` (a raw or
    validated cohort; the registry validates it either way)."""
    module = _redcap()
    return module.read_export(path, dictionary=dictionary, mapping=mapping)


def write_redcap(cohort: Any, path: Path, labels: bool = False) -> None:
    """A REDCap import CSV of ``cohort``, via ``reinfuse.redcap.write_export``."""
    module = _redcap()
    module.write_export(cohort, path, labels=labels)


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    """A private temporary folder (removed on exit)."""
    return tempfile.TemporaryDirectory(prefix="reinfuse-registry-")
