"""Analysis plans: what to compute, declared in a versioned TOML file."""

from reinfuse.plan._model import (
    AnalysisSpec,
    ColumnSpec,
    ComparisonSpec,
    FigureSpec,
    GroupSpec,
    Level,
    Plan,
    RowSpec,
    Subset,
    TableSpec,
    default_plan,
    default_plan_text,
    load_plan,
    parse_plan,
)

__all__ = [
    "AnalysisSpec",
    "ColumnSpec",
    "ComparisonSpec",
    "FigureSpec",
    "GroupSpec",
    "Level",
    "Plan",
    "RowSpec",
    "Subset",
    "TableSpec",
    "default_plan",
    "default_plan_text",
    "load_plan",
    "parse_plan",
]
