"""The study report: HTML (self-contained), Word, PDF, results.json, figures and tables."""

from reinfuse.report._build import (
    FORMATS,
    ReportFormat,
    ReportFormatError,
    ReportOutput,
    build_report,
    package_versions,
    parse_formats,
)

__all__ = ["FORMATS", "ReportFormat", "ReportFormatError", "ReportOutput", "build_report",
           "package_versions", "parse_formats"]
