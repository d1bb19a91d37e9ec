"""reinfuse: CAR T-cell therapy cohort studies, with a focus on reinfusion."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
