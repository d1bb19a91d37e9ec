"""The study report: HTML (self-contained), results.json, figures and tables."""

from reinfuse.report._build import ReportOutput, build_report, package_versions

__all__ = ["ReportOutput", "build_report", "package_versions"]
