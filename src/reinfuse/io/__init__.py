"""Reading and writing cohorts and outputs.

Other packages write outputs through :func:`atomic_path` and :func:`write_atomically`
(atomic, locked, never over a user's file), after :func:`check_output`.
"""

from __future__ import annotations

from reinfuse.io._atomic import atomic_path, check_output, write_atomically

__all__ = ["atomic_path", "check_output", "write_atomically"]
