"""The render stage: HTML (self-contained), Word, PDF, results.json, figures and tables.

:func:`render` writes the report of :class:`reinfuse.analyze.Results`; it derives and
analyses nothing itself (``reinfuse.pipeline`` runs the stages before it).
"""

from reinfuse.report._build import (
    FORMATS,
    ReportFormat,
    ReportFormatError,
    ReportOutput,
    check_report_folder,
    package_versions,
    parse_formats,
    render,
)

__all__ = ["FORMATS", "ReportFormat", "ReportFormatError", "ReportOutput",
           "check_report_folder", "package_versions", "parse_formats", "render"]
