"""The bundled demo cohort: 18 synthetic patients that reproduce the seed study's figures."""

from __future__ import annotations

from dataclasses import replace
from importlib.resources import files
from pathlib import Path

from reinfuse.plan import Plan, default_plan


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


__all__ = ["DEMO_SOURCE_POPULATION", "demo_path", "demo_plan"]
