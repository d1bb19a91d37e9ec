"""Validation: check a raw cohort against the format and clinical plausibility.

:func:`validate` returns every finding at once, never only the first; :func:`load_cohort`
reads, validates and returns a typed :class:`~reinfuse.cohort.Cohort`, raising
:class:`~reinfuse.errors.CohortValidationError` (with all findings) when there are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from reinfuse.cohort import SOURCE_ROW, Cohort
from reinfuse.errors import CohortReadError, CohortValidationError, CriteriaError
from reinfuse.findings import Finding, has_errors
from reinfuse.io.read import RawCohort, RawSheet, header_key, read_raw
from reinfuse.options import DeriveOptions, Prefer
from reinfuse.reconcile import reconcile
from reinfuse.schema import COHORT_V1, CohortFormat, Table
from reinfuse.schema.cohort_v1 import CORE_TABLES
from reinfuse.validate._coerce import coerce_column, empty_column
from reinfuse.validate._rules import (
    check_infusions,
    check_observations,
    check_patients,
    identifier_columns,
)

__all__ = ["Finding", "ValidationReport", "load_cohort", "validate"]


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a cohort source."""

    cohort: Cohort
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not has_errors(list(self.findings))

    @property
    def errors(self) -> list[Finding]:
        """The findings that stop the pipeline."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that go into the report."""
        return [f for f in self.findings if f.severity == "warning"]


def _sheet_finding(sheet: str, column: str | None, message: str, fix: str, rule: str,
                   severity: str = "error", value: str | None = None,
                   expected: str = "") -> Finding:
    return Finding(severity="error" if severity == "error" else "warning", sheet=sheet,
                   row=None, column=column, value=value, expected=expected, message=message,
                   fix=fix, rule=rule)


def _type_table(sheet: RawSheet, table: Table, allow_identifiers: bool
                ) -> tuple[pd.DataFrame, list[Finding]]:
    findings: list[Finding] = []
    raw = sheet.frame
    known = {c.name for c in table.columns}

    for header in identifier_columns(sheet.headers):
        findings.append(_sheet_finding(
            table.name, header,
            f"column '{header}' looks like a direct identifier (name, MRN, date of birth, "
            "address or contact details).",
            "Remove the column before sharing or analysing; keep identifiers in a separate "
            "linkage file. Pass --allow-identifiers only if this data stays inside your "
            "institution and the column is not an identifier.",
            "identifier-column", severity="warning" if allow_identifiers else "error",
            expected="no direct identifiers"))

    identifiers = set(identifier_columns(sheet.headers))
    extras = [h for h in sheet.headers if header_key(h) not in known]
    for header in (h for h in extras if h not in identifiers):
        findings.append(_sheet_finding(
            table.name, header, f"column '{header}' is not part of the cohort format; it is "
            "kept as it is but not checked or analysed.",
            "Check its spelling against the format (docs/cohort-format.md) if it was meant to "
            "be one of the standard columns.", "extra-column", severity="warning"))

    for row, header, text in sheet.error_cells:
        findings.append(Finding(
            severity="error", sheet=table.name, row=row, column=header, value=text,
            expected="a value", message=f"the cell holds the Excel error {text}; reinfuse "
            "would otherwise read it as empty.",
            fix="Fix the formula or type the value; clear the cell if the value is unknown.",
            rule="excel-error-cell"))

    typed: dict[str, pd.Series] = {}
    for col in table.columns:
        if col.name not in raw.columns:
            if col.name in table.key or col.required:
                unnamed = sum(h.lower().startswith("unnamed") for h in sheet.headers)
                hint = (" The headers must be on the first row, with nothing above them "
                        "(notes, merged titles or a units row go elsewhere)."
                        if unnamed >= 2 else "")
                findings.append(_sheet_finding(
                    table.name, col.name, f"required column '{col.name}' is missing.",
                    f"Add a column headed {col.name} ({col.allowed()}).{hint}",
                    "missing-column"))
            elif not col.optional:
                findings.append(_sheet_finding(
                    table.name, col.name,
                    f"column '{col.name}' is missing; it is treated as entirely empty.",
                    f"Add a column headed {col.name} (it may stay empty).",
                    "missing-column", severity="warning"))
            typed[col.name] = empty_column(col, raw.index)
            continue
        values, problems = coerce_column(raw[col.name], col, table.name)
        typed[col.name] = values
        findings += problems

    if raw.empty and table.required_table:
        findings.append(_sheet_finding(
            table.name, None, f"the {table.name} sheet has no data rows.",
            f"Enter one row per {'patient' if table.name == 'patients' else 'infusion'} "
            "below the header.", "empty-sheet", severity="warning"))
    frame = pd.DataFrame(typed, index=raw.index)
    for header in extras:
        frame[header] = raw[header_key(header)]
    frame[SOURCE_ROW] = raw.index.astype("int64")
    return frame.reset_index(drop=True), findings


def _percent_cells(tables: dict[str, pd.DataFrame]) -> list[Finding]:
    """Percent columns holding fractions in a workbook that has percent-formatted cells."""
    out = []
    for name, frame in tables.items():
        for column in (c for c in frame.columns if c.endswith("_pct")):
            values = pd.to_numeric(frame[column], errors="coerce")
            fractions = int(((values > 0) & (values < 1)).sum())
            if fractions:
                out.append(_sheet_finding(
                    name, column, f"the workbook has cells formatted as percent, and {fractions} "
                    f"value(s) of {column} lie between 0 and 1. Excel stores a cell shown as "
                    "'30%' as 0.3, which reinfuse reads as 0.3%.",
                    f"Check {column}: format the column as a plain number and enter percent "
                    "values (30 for 30%). Values that really are below 1% can stay.",
                    "percent-formatted-cells", severity="warning", expected="percent values"))
    return out


def _reconcile(tables: dict[str, pd.DataFrame], options: DeriveOptions,
               found_before: list[Finding]) -> list[Finding]:
    """Reconcile raw observations with `infusions` in place; re-check what changed.

    ``found_before`` are the findings already made on the recorded values, so the rules
    that run again report only what the reconciliation introduced.
    """
    try:
        reconciled = reconcile(tables, options=options)
    except CriteriaError as exc:  # a combination the checks above did not anticipate
        return [_sheet_finding(
            "infusions", None, f"the raw observation sheets could not be graded: {exc}",
            "Check the observation rows named in the message against the format "
            "(docs/cohort-format.md).", "observations-ungradable")]
    found = list(reconciled.findings)
    recorded = list(tables["infusions"].columns)
    changed = not reconciled.infusions[recorded].equals(tables["infusions"])
    # The reconciled table keeps the derived values beside the recorded ones
    # (<column>_derived, <column>_derived_from), whichever is used.
    tables["infusions"] = reconciled.infusions
    if not changed:
        return found
    # Derived values used can contradict recorded ones (a derived PR beside a recorded
    # relapse): the rules run again and report what is new, saying where it came from.
    before = {(f.rule, f.row, f.column) for f in found_before}
    for finding in check_infusions(reconciled.infusions, tables["patients"]):
        if (finding.rule, finding.row, finding.column) not in before:
            found.append(replace(finding, message="after reconciliation with the raw "
                                 "observations: " + finding.message))
    return found


def validate(raw: RawCohort, *, allow_identifiers: bool = False,
             cohort_format: CohortFormat = COHORT_V1,
             prefer: Prefer | None = None,
             options: DeriveOptions | None = None) -> ValidationReport:
    """Check every sheet of ``raw``; return the typed cohort and every finding.

    When raw observation sheets are present and the cohort has no errors, the summary
    values they determine are derived and reconciled with the ``infusions`` sheet
    (:func:`reinfuse.reconcile.reconcile`) under ``options`` (the centre's definitions;
    default :class:`reinfuse.options.DeriveOptions`): ``prefer`` (overriding
    ``options.prefer``; default ``"recorded"``) says which value is used where they
    disagree, every disagreement is a warning, and the derived values are kept beside the
    recorded ones as ``<column>_derived`` in the typed ``infusions`` table.

    Raises
    ------
    CohortReadError
        When a required sheet is missing (the cohort cannot be checked at all).
    """
    missing = [t.name for t in cohort_format.tables
               if t.required_table and t.name not in raw.sheets]
    if missing:
        have = ", ".join(s.name for s in raw.sheets.values()) or "none"
        noun = "sheet" if raw.kind == "xlsx" else "file"
        names = ", ".join(m + (".csv" if raw.kind == "csv" else "") for m in missing)
        raise CohortReadError(
            f"{raw.source}: missing {noun}(s) {names} (found: {have}). A cohort needs one "
            f"{noun} per table: {', '.join(t.name for t in cohort_format.tables)}."
        )

    options = options or DeriveOptions()
    if prefer is not None:
        options = replace(options, prefer=prefer)
    findings: list[Finding] = []
    tables: dict[str, pd.DataFrame] = {}
    for table in cohort_format.tables:
        if table.name not in raw.sheets:
            continue
        frame, problems = _type_table(raw.sheets[table.name], table, allow_identifiers)
        tables[table.name] = frame
        findings += problems
    if raw.percent_styles:
        findings += _percent_cells(tables)
    known_tables = {t.name for t in cohort_format.tables}
    for key, sheet in raw.sheets.items():
        if key not in known_tables and key != "dictionary":
            findings.append(_sheet_finding(
                sheet.name, None, f"sheet '{sheet.name}' is not part of the cohort format and "
                "is ignored.", "Rename it if it was meant to be one of: "
                + ", ".join(sorted(known_tables)) + ".", "extra-sheet", severity="warning"))

    # Cross-row and cross-table rules need the key columns; skip them if a key is absent.
    blocking = {(f.sheet, f.column) for f in findings if f.rule == "missing-column"
                and f.severity == "error"}
    if not blocking:
        findings += check_patients(tables["patients"])
        findings += check_infusions(tables["infusions"], tables["patients"])
        for name, frame in tables.items():
            if name not in CORE_TABLES:
                findings += check_observations(name, frame, tables["infusions"])

    raw_sheets = [name for name in tables if name not in CORE_TABLES and not tables[name].empty]
    if not blocking and not has_errors(findings):
        findings += _reconcile(tables, options, findings)
    elif raw_sheets:
        findings.append(_sheet_finding(
            "infusions", None, "the raw observation sheets (" + ", ".join(raw_sheets) + ") were "
            "not yet compared with the recorded values, because of the errors above.",
            "Fix the errors and validate again: disagreements between the observations and "
            "the recorded values will then be listed too.", "reconciliation-skipped",
            severity="warning"))

    # A cell already reported as unreadable is not also reported as empty.
    unreadable = {(f.sheet, f.row, f.column) for f in findings
                  if f.rule in ("bad-number", "bad-date", "bad-yesno", "unknown-code",
                                "out-of-range")}
    findings = [f for f in findings if not (f.severity == "warning" and f.row is not None
                                            and (f.sheet, f.row, f.column) in unreadable)]

    order = {t.name: i for i, t in enumerate(cohort_format.tables)}
    findings.sort(key=lambda f: (f.severity != "error", order.get(f.sheet, 99),
                                 f.row if f.row is not None else 0, f.column or ""))
    cohort = Cohort(tables=tables, source=raw.source, sha256=raw.sha256,
                    findings=tuple(findings), format_version=cohort_format.version,
                    prefer=options.prefer)
    return ValidationReport(cohort=cohort, findings=tuple(findings))


def load_cohort(path: str | Path, *, allow_identifiers: bool = False,
                prefer: Prefer | None = None, options: DeriveOptions | None = None
                ) -> Cohort:
    """Read and validate a cohort; return it typed, or raise with every error listed.

    Parameters
    ----------
    path
        An ``.xlsx`` workbook or a folder of ``.csv`` files.
    allow_identifiers
        Downgrade identifier-like columns from an error to a warning.
    prefer
        Where raw observations and recorded summaries disagree, use the ``"derived"``
        or the ``"recorded"`` value (default: ``options.prefer``).
    options
        The centre's definitions used to reconcile raw observations.

    Raises
    ------
    CohortReadError
        The source cannot be read at all.
    CohortValidationError
        The source was read but has errors; ``.findings`` lists all of them.
    """
    report = validate(read_raw(path), allow_identifiers=allow_identifiers, prefer=prefer,
                      options=options)
    if not report.ok:
        raise CohortValidationError(report.findings, source=str(path))
    return report.cohort
