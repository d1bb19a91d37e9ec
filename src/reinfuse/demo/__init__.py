"""The bundled demo cohort: 18 synthetic patients that reproduce the seed study's figures."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def demo_path(kind: str = "xlsx") -> Path:
    """Path of the bundled demo cohort: the workbook (``"xlsx"``) or the CSV folder (``"csv"``)."""
    data = Path(str(files("reinfuse.demo") / "data"))
    return data / ("demo_cohort.xlsx" if kind == "xlsx" else "demo_cohort")


__all__ = ["demo_path"]
