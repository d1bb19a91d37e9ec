"""The bundled demo cohort: 18 synthetic patients that reproduce the seed study's figures."""

from __future__ import annotations

import functools
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from reinfuse.plan import Plan, default_plan

if TYPE_CHECKING:
    from reinfuse.cohort import Cohort
    from reinfuse.derive import AnalysisFrame


def demo_path(kind: str = "xlsx") -> Path:
    """Path of the bundled demo cohort: the workbook (``"xlsx"``) or the CSV folder (``"csv"``)."""
    data = Path(str(files("reinfuse.demo") / "data"))
    return data / ("demo_cohort.xlsx" if kind == "xlsx" else "demo_cohort")


#: Patients who received a first infusion in the seed study's source population (18 of 136
#: proceeded to a reinfusion). A fact of the demo's source study, not of any cohort.
DEMO_SOURCE_POPULATION = 136


def demo_plan() -> Plan:
    """The default (seed study) plan with the demo's source population filled in."""
    return replace(default_plan(), source_population=DEMO_SOURCE_POPULATION)


@functools.cache
def demo_cohort() -> Cohort:
    """The demo cohort, read and validated once per process (for examples and tests).

    The same object is returned on every call: treat its tables as read-only.

    Examples
    --------
    >>> len(demo_cohort().infusions)
    36
    """
    from reinfuse.validate import load_cohort

    return load_cohort(demo_path())


@functools.cache
def demo_analysis() -> AnalysisFrame:
    """The demo's analysis frame (the derive stage's output), made once per process.

    The same object is returned on every call: treat its frame as read-only.

    Examples
    --------
    >>> demo_analysis().frame["patient_id"].nunique()
    18
    """
    from reinfuse.derive import analysis_frame

    return analysis_frame(demo_cohort())


__all__ = ["DEMO_SOURCE_POPULATION", "demo_analysis", "demo_cohort", "demo_path", "demo_plan"]
