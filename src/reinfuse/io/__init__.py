"""Reading and writing cohorts and outputs.

Other packages write outputs through :func:`atomic_path` and :func:`write_atomically`
(atomic, locked, never over a user's file).
"""

from reinfuse.io._atomic import atomic_path, write_atomically

__all__ = ["atomic_path", "write_atomically"]
