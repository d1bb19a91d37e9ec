"""reinfuse: CAR T-cell therapy cohort studies, with a focus on reinfusion.

The public API is the pipeline's stages and their result types (docs/architecture.md)::

    import reinfuse
    raw = reinfuse.read("cohort.xlsx")                    # -> RawCohort
    checked = reinfuse.validate(raw)                      # -> ValidationReport (.cohort)
    analysis = reinfuse.derive(checked.cohort)            # -> AnalysisFrame
    results = reinfuse.analyze(analysis, plan)            # -> Results (numbers)
    results.table("table1").to_frame()                    # tidy DataFrame, one row per cell
    reinfuse.render(results, "report", style="jama")      # -> ReportOutput
    reinfuse.Study("cohort.xlsx", plan).report("report")  # all stages in order

The names are imported on first use, so ``import reinfuse`` (and the command line) stays
quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reinfuse._version import __version__

# The stages are bound here, after their modules were imported: ``reinfuse.validate``,
# ``reinfuse.derive`` and ``reinfuse.analyze`` name the stage functions, not the modules of
# the same name (import those with ``from reinfuse.validate import ...``, or
# ``importlib.import_module("reinfuse.validate")``).
from reinfuse.analyze import Cell, ComparisonResult, GroupResult, Results, TableResult
from reinfuse.cohort import Cohort
from reinfuse.derive import AnalysisFrame
from reinfuse.findings import Finding
from reinfuse.io.read import RawCohort
from reinfuse.pipeline import Study, analyze, build_report, derive, read, render, validate
from reinfuse.plan import Plan, default_plan, load_plan
from reinfuse.validate import ValidationReport

if TYPE_CHECKING:
    from reinfuse.report import ReportOutput


def __getattr__(name: str) -> Any:
    """``ReportOutput``, imported on first use (the render stage is imported when used)."""
    if name == "ReportOutput":
        from reinfuse.report import ReportOutput

        return ReportOutput
    raise AttributeError(f"module 'reinfuse' has no attribute {name!r}")


__all__ = [
    "AnalysisFrame",
    "Cell",
    "Cohort",
    "ComparisonResult",
    "Finding",
    "GroupResult",
    "Plan",
    "RawCohort",
    "ReportOutput",
    "Results",
    "Study",
    "TableResult",
    "ValidationReport",
    "__version__",
    "analyze",
    "build_report",
    "default_plan",
    "derive",
    "load_plan",
    "read",
    "render",
    "validate",
]
