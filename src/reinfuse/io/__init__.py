"""Reading and writing cohorts; outputs are written atomically (``atomic_path``)."""

from __future__ import annotations

from reinfuse.io._atomic import atomic_path, check_output

__all__ = ["atomic_path", "check_output"]
