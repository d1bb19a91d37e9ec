"""Validation: check a raw cohort against the format and clinical plausibility.

:func:`validate` returns every finding at once, never only the first; :func:`load_cohort`
reads, validates and returns a typed :class:`~reinfuse.cohort.Cohort`, raising
:class:`~reinfuse.errors.CohortValidationError` (with all findings) when there are errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from reinfuse.cohort import SOURCE_ROW, Cohort
from reinfuse.errors import CohortReadError, CohortValidationError, CriteriaError
from reinfuse.findings import Finding, has_errors
from reinfuse.io.read import (
    MAX_CELL_CHARS,
    RawCohort,
    RawSheet,
    blank_header,
    column_letter,
    find_header_row,
    header_key,
    read_raw,
    reheader,
)
from reinfuse.options import DeriveOptions, Prefer
from reinfuse.reconcile import reconcile
from reinfuse.schema import COHORT_V1, CohortFormat, Table
from reinfuse.schema.cohort_v1 import CORE_TABLES
from reinfuse.validate._coerce import coerce_column, empty_column, split_context_codes
from reinfuse.validate._identifiers import (
    KINDS,
    free_text_header,
    identifier_header,
    neutral_name,
    redact,
    screen,
    scrub,
)
from reinfuse.validate._rules import (
    AGE_RANGE,
    check_infusions,
    check_observations,
    check_patients,
    check_plausibility,
    identifier_columns,
    negative_duration_findings,
    resolve_context_codes,
)

__all__ = [
    "Finding",
    "Reconciled",
    "Reconciliation",
    "ValidationReport",
    "load_cohort",
    "negative_duration_findings",
    "reconcile_cohort",
    "validate",
]


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a cohort source."""

    cohort: Cohort
    findings: tuple[Finding, ...]
    #: The reconciliation of ``cohort``'s raw observation sheets with its ``infusions``
    #: that validation made to list its findings (None when there was nothing to
    #: reconcile or the cohort has errors). The derive stage takes it over instead of
    #: reconciling again when it derives under the same options
    #: (:func:`reinfuse.pipeline.derive`); the values are the same either way.
    reconciliation: Reconciliation | None = None

    @property
    def reconciled(self) -> Cohort | None:
        """The cohort with its ``infusions`` reconciled, as the derive stage reconciles
        it (None when validation did not reconcile), for inspection."""
        return self.reconciliation.cohort if self.reconciliation is not None else None

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


_HEADERS_ON_ROW_1 = (" The headers must be on the first row, with nothing above them "
                     "(notes, merged titles or a units row go elsewhere).")


def _listed(items: list[str], most: int = 10) -> str:
    """``A, B, C`` or ``A, B, ... and 5 more``."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def _locate_headers(sheet: RawSheet, table: Table) -> tuple[RawSheet, list[Finding]]:
    """Read headers that sit below a title row from where they are, with ONE finding.

    Without this a merged title on row 1 gives one "Unnamed" column per cell and every
    column of the format reported missing.
    """
    row = find_header_row(sheet, {c.name for c in table.columns}, set(table.key))
    if row is None:
        return sheet, []
    above = [h for h in sheet.headers if not blank_header(h)] + [
        str(v) for v in sheet.frame.loc[sheet.frame.index < row].stack().tolist()]
    title = f" (above them: '{_listed(above, 3)}')" if above else ""
    finding = _sheet_finding(
        table.name, None, f"the headers seem to be on row {row}, not row 1{title}; "
        f"reinfuse read them from row {row} and left out the rows above.",
        f"Delete rows 1-{row - 1} (titles, notes, merged cells) so that the headers are "
        "on row 1.", "headers-not-on-first-row", severity="warning",
        expected="headers on row 1")
    return reheader(sheet, row), [finding]


def _with_letters(findings: list[Finding], sheets: dict[str, RawSheet]) -> list[Finding]:
    """Name the Excel column letter beside the column name (workbooks only)."""
    letters = {name: sheet.letters() for name, sheet in sheets.items()}
    out = []
    for f in findings:
        letter = letters.get(f.sheet, {}).get(header_key(f.column)) if f.column else None
        out.append(replace(f, column_letter=letter) if letter else f)
    return out


def _type_table(sheet: RawSheet, table: Table, allow_identifiers: bool
                ) -> tuple[pd.DataFrame, list[Finding]]:
    findings: list[Finding] = []
    raw = sheet.frame
    known = {c.name for c in table.columns}

    extras = [h for h in sheet.headers if header_key(h) not in known]
    identifiers = {h for h in sheet.headers if h in identifier_columns(sheet.headers)
                   or (h in extras and not blank_header(h) and identifier_header(h))}
    for header in (h for h in sheet.headers if h in identifiers):
        shown = redact(header)
        findings.append(_sheet_finding(
            table.name, header,
            f"column '{shown}' looks like a direct identifier (name, MRN, date of birth, "
            "address or contact details).",
            "Remove the column before sharing or analysing; keep identifiers in a separate "
            "linkage file. Pass --allow-identifiers only if this data stays inside your "
            "institution and the column is not an identifier.",
            "identifier-column", severity="warning" if allow_identifiers else "error",
            expected="no direct identifiers"))
    for header in (h for h in extras if h not in identifiers and free_text_header(h)):
        findings.append(_sheet_finding(
            table.name, header, f"column '{header}' holds free text, which may carry names, "
            "dates or record numbers; it is kept but not analysed, and its cells are "
            "screened for identifiers.",
            "Delete free-text columns before sharing the cohort, or keep them in a separate "
            "file.", "free-text-column", severity="warning", expected="no free text"))
    blank = [h for h in extras if blank_header(h)]
    if blank:
        letters = [column_letter(sheet.headers.index(h)) for h in blank]
        findings.append(_sheet_finding(
            table.name, None, f"{len(blank)} column(s) with cells but no header "
            f"(column(s) {_listed(letters)}): their cells are kept but not checked or "
            "analysed.",
            "Give each column a header from the format (docs/cohort-format.md), or delete it."
            + (_HEADERS_ON_ROW_1 if sheet.header_row == 1 else ""),
            "column-without-header", severity="warning"))
    for header in (h for h in extras if h not in identifiers and h not in blank
                   and not free_text_header(h)):
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

    for row, header, length in sheet.long_cells:
        findings.append(Finding(
            severity="error", sheet=table.name, row=row,
            column=header_key(header) if header_key(header) in known else header,
            value=f"{length:,} characters", expected=f"at most {MAX_CELL_CHARS:,} characters",
            message=f"the cell holds {length:,} characters, more than the limit of "
            f"{MAX_CELL_CHARS:,} (Excel's own cell limit); it was not read.",
            fix="Shorten the cell to the value itself; long notes belong in a separate "
            "document, not in the cohort.", rule="cell-too-long"))

    typed: dict[str, pd.Series] = {}
    taken: dict[str, pd.DataFrame] = {}
    for col in table.columns:
        if col.name not in raw.columns:
            if col.name in table.key or col.required:
                unnamed = sum(blank_header(h) for h in sheet.headers)
                hint = _HEADERS_ON_ROW_1 if unnamed >= 2 else ""
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
        column, taken[col.name] = split_context_codes(raw[col.name], col)
        values, problems = coerce_column(column, col, table.name)
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
    findings += resolve_context_codes(frame, taken, table.name)
    return frame.reset_index(drop=True), findings


def _screen_values(frame: pd.DataFrame, table: Table, allow_identifiers: bool
                   ) -> tuple[list[Finding], dict[str, str]]:
    """Screen the format's free-text columns and the extra columns for identifiers.

    Returns one finding per column and kind of identifier (the rows listed, no value
    quoted) and the identifying values found, each with its redacted form. The typed
    ``frame`` keeps the redacted forms in place of the values (so nothing downstream can
    print them).
    """
    findings: list[Finding] = []
    secrets: dict[str, str] = {}
    text_columns = [c.name for c in table.columns if c.kind == "text"]
    extras = [c for c in frame.columns if c != SOURCE_ROW and c not in
              {col.name for col in table.columns} and not str(c).endswith(
                  ("_derived", "_derived_from"))]
    for column in [c for c in text_columns + extras if c in frame.columns]:
        kinds = screen(frame[column])
        hit = kinds.notna().to_numpy(dtype=bool)
        if not hit.any():
            continue
        values = frame.loc[hit, column].astype(str)
        for value in values.unique():
            secrets.setdefault(value, redact(value))
        for kind in (k for k in KINDS if (kinds == k).any()):
            rows = frame.loc[(kinds == kind).to_numpy(dtype=bool), SOURCE_ROW]
            first = frame.loc[rows.index[0], column]
            findings.append(Finding(
                severity="warning" if allow_identifiers else "error", sheet=table.name,
                row=int(rows.iloc[0]), column=column, value=redact(str(first)),
                expected="no direct identifiers",
                message=f"{len(rows)} cell(s) of column '{column}' look like {KINDS[kind]} "
                f"(row(s) {_listed([str(int(r)) for r in rows])}); the values are not "
                "shown.",
                fix="Remove names, record numbers, dates of birth and contact details from "
                "the cohort (keep them in a separate linkage file); use study codes as "
                "patient ids. Pass --allow-identifiers only if the data stays inside your "
                "institution: reports then show the redacted form.",
                rule="identifier-value"))
        if column != "patient_id":
            frame.loc[hit, column] = values.map(secrets)
    return findings, secrets


def _redact_ids(tables: dict[str, pd.DataFrame], secrets: dict[str, str]) -> None:
    """Replace identifying patient ids by their redacted forms, the same in every table
    (made unique with ``#2``, ``#3`` where two redact alike)."""
    if not secrets:
        return
    ids: set[str] = set()
    for frame in tables.values():
        if "patient_id" in frame.columns:
            ids |= set(frame["patient_id"].dropna().astype(str))
    mapping: dict[str, str] = {}
    used = {i for i in ids if i not in secrets}
    for value in sorted(v for v in ids if v in secrets):
        shown, n = secrets[value], 1
        while shown in used:
            n += 1
            shown = f"{secrets[value]} #{n}"
        used.add(shown)
        mapping[value] = shown
        secrets[value] = shown
    if not mapping:
        return
    for frame in tables.values():
        if "patient_id" in frame.columns:
            present = frame["patient_id"].notna()
            frame.loc[present, "patient_id"] = frame.loc[present, "patient_id"].astype(
                str).replace(mapping)


def _scrub_findings(findings: list[Finding], secrets: dict[str, str]) -> list[Finding]:
    """Findings with every identifying value, header and sheet name redacted."""
    if not secrets:
        return findings
    pairs = list(secrets.items())

    def clean(text: str | None) -> str | None:
        return None if text is None else scrub(text, pairs)

    return [replace(f, sheet=scrub(f.sheet, pairs), column=clean(f.column),
                    value=clean(f.value), message=scrub(f.message, pairs),
                    fix=scrub(f.fix, pairs), expected=scrub(f.expected, pairs))
            for f in findings]


def _percent_cells(tables: dict[str, pd.DataFrame], sheets: dict[str, RawSheet]
                   ) -> list[Finding]:
    """Percent columns holding fractions in a workbook that has percent-formatted cells.

    The cells are listed (``J4 (0.3), J7 (0.85)``) so that each can be checked.
    """
    out = []
    for name, frame in tables.items():
        letters = sheets[name].letters() if name in sheets else {}
        for column in (c for c in frame.columns if c.endswith("_pct")):
            values = pd.to_numeric(frame[column], errors="coerce")
            is_fraction = ((values > 0) & (values < 1)).to_numpy(dtype=bool)
            fractions = int(is_fraction.sum())
            if fractions:
                cells = [f"{letters.get(column, '')}{int(r)} ({v:g})" for r, v in zip(
                    frame.loc[is_fraction, SOURCE_ROW], values[is_fraction], strict=True)]
                out.append(_sheet_finding(
                    name, column, f"the workbook has cells formatted as percent, and {fractions} "
                    f"value(s) of {column} lie between 0 and 1: {_listed(cells)}. Excel "
                    "stores a cell shown as '30%' as 0.3, which reinfuse reads as 0.3%.",
                    f"Check {column}: format the column as a plain number and enter percent "
                    "values (30 for 30%). Values that really are below 1% can stay.",
                    "percent-formatted-cells", severity="warning", expected="percent values"))
    return out


def _reconcile(tables: dict[str, pd.DataFrame], options: DeriveOptions
               ) -> tuple[list[Finding], list[Finding]]:
    """Reconcile raw observations with `infusions` in place; re-check what changed.

    Returns the reconciliation's findings (disagreements) and every finding the infusion
    rules make on the values used, if they changed (:func:`_new` keeps those not made
    on the recorded values already).
    """
    try:
        reconciled = reconcile(tables, options=options)
    except CriteriaError as exc:  # a combination the checks above did not anticipate
        return [_sheet_finding(
            "infusions", None, f"the raw observation sheets could not be graded: {exc}",
            "Check the observation rows named in the message against the format "
            "(docs/cohort-format.md).", "observations-ungradable")], []
    recorded = list(tables["infusions"].columns)
    changed = not reconciled.infusions[recorded].equals(tables["infusions"])
    # The reconciled table keeps the derived values beside the recorded ones
    # (<column>_derived, <column>_derived_from), whichever is used.
    tables["infusions"] = reconciled.infusions
    if not changed:
        return list(reconciled.findings), []
    # Derived values used can contradict recorded ones (a derived PR beside a recorded
    # relapse): the rules run again, and what they find says where it came from.
    return list(reconciled.findings), [
        replace(finding, message="after reconciliation with the raw observations: "
                + finding.message)
        for finding in check_infusions(reconciled.infusions, tables["patients"], options)]


def _new(rechecks: Sequence[Finding], before: Sequence[Finding]) -> list[Finding]:
    """The findings of the rules' second run that ``before`` (the findings on the
    recorded values) does not already hold for the same rule, row and column."""
    seen = {(f.rule, f.row, f.column) for f in before}
    return [f for f in rechecks if (f.rule, f.row, f.column) not in seen]


@dataclass(frozen=True)
class Reconciliation:
    """Validation's reconciliation of a cohort, which the derive stage can take over.

    Attributes
    ----------
    cohort
        The reconciled copy of ``of`` (as :attr:`Reconciled.cohort`).
    disagreements
        The reconciliation's own findings (every disagreement between observations and
        recorded values).
    rechecks
        Every finding of the infusion rules run again on the values used (all of them:
        :meth:`findings_after` keeps the new ones).
    options
        The definitions it was made under.
    of
        The validated cohort it was made from (compared by identity, and by the content
        of its tables and of the reconciled ``infusions``: a table changed in place since
        is noticed).
    """

    cohort: Cohort
    disagreements: tuple[Finding, ...]
    rechecks: tuple[Finding, ...]
    options: DeriveOptions
    of: Cohort = field(repr=False, compare=False)
    fingerprint: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def made(cls, cohort: Cohort, of: Cohort, disagreements: Sequence[Finding],
             rechecks: Sequence[Finding], options: DeriveOptions) -> Reconciliation:
        """The reconciliation ``cohort`` of ``of``, with the fingerprint :meth:`serves`
        checks (only where it can serve: a cohort without raw observation sheets is not
        reconciled by the derive stage at all, and hashing a registry's tables costs
        about 2 s per million patients)."""
        return cls(cohort=cohort, disagreements=tuple(disagreements),
                   rechecks=tuple(rechecks), options=options, of=of,
                   fingerprint=_fingerprint(of, cohort) if _has_raw_sheets(of) else ())

    def serves(self, cohort: Cohort, options: DeriveOptions) -> bool:
        """Whether this is what :func:`reconcile_cohort` makes of ``cohort`` under
        ``options`` (which leaves a cohort without raw observation sheets as it is): the
        same cohort, its tables and the reconciled ``infusions`` unchanged since, and the
        same options."""
        return (self.of is cohort and self.options == options and _has_raw_sheets(cohort)
                and bool(self.fingerprint)
                and _fingerprint(cohort, self.cohort) == self.fingerprint)

    def findings_after(self, found_before: Sequence[Finding]) -> tuple[Finding, ...]:
        """The findings :func:`reconcile_cohort` gives with ``found_before``."""
        return (*self.disagreements, *_new(self.rechecks, found_before))


def _has_raw_sheets(cohort: Cohort) -> bool:
    """Whether ``cohort`` has tables beyond the core ones (raw observation sheets), the
    only cohorts :func:`reconcile_cohort` changes."""
    return any(name not in CORE_TABLES for name in cohort.tables)


def _fingerprint(cohort: Cohort, reconciled: Cohort) -> tuple[Any, ...]:
    """What the tables of ``cohort`` and the reconciled ``infusions`` hold: each frame's
    identity, columns, dtypes and a hash of its rows (() when a cell cannot be hashed).

    Tables are read-only by contract, but a DataFrame can be changed in place; this
    notices it (9 ms for the demo, about 0.2 s per 100,000 patients; less than reconciling
    again).
    """
    frames = [*sorted(cohort.tables.items()), ("reconciled", reconciled.infusions)]
    try:
        return tuple((name, id(frame), tuple(map(str, frame.columns)),
                      tuple(map(str, frame.dtypes)),
                      int(pd.util.hash_pandas_object(frame, index=True).to_numpy().sum()))
                     for name, frame in frames)
    except (TypeError, ValueError):
        return ()


@dataclass(frozen=True)
class Reconciled:
    """A cohort whose ``infusions`` were reconciled with its raw observation sheets.

    Attributes
    ----------
    cohort
        A copy of the cohort with the reconciled ``infusions`` table: the value used in
        each summary column (``prefer``), and the derived values beside the recorded ones
        (``<column>_derived``, ``<column>_derived_from``). The cohort it was made from is
        not changed.
    findings
        Every disagreement between observations and recorded values (warnings), and what
        the rules find again on the values used ("after reconciliation with the raw
        observations: ...").
    """

    cohort: Cohort
    findings: tuple[Finding, ...]


def reconcile_cohort(cohort: Cohort, options: DeriveOptions | None = None, *,
                     found_before: Sequence[Finding] = ()) -> Reconciled:
    """Reconcile the raw observation sheets of ``cohort`` with its ``infusions`` sheet.

    The first step of the derive stage (:func:`reinfuse.pipeline.derive`); ``validate``
    runs it too, on a copy, only to list its findings. The grading and the choice between
    recorded and derived values are :func:`reinfuse.reconcile.reconcile`'s; where the values
    used change, the infusion rules run again and report what is new.

    Parameters
    ----------
    cohort
        A validated cohort (its tables are not changed).
    options
        The centre's definitions, including ``prefer`` (default: the documented defaults
        with the cohort's ``prefer``).
    found_before
        Findings already made on the recorded values: the rules that run again report only
        what the reconciliation introduced.

    Returns
    -------
    Reconciled
        The reconciled copy and the findings.

    See Also
    --------
    reinfuse.reconcile.reconcile : the grading and reconciliation of one set of tables.

    Examples
    --------
    >>> from reinfuse.demo import demo_cohort
    >>> cohort = demo_cohort()
    >>> done = reconcile_cohort(cohort)
    >>> "crs_grade_derived" in done.cohort.infusions, "crs_grade_derived" in cohort.infusions
    (True, False)
    """
    if options is None:
        options = DeriveOptions(prefer=cohort.prefer)  # type: ignore[arg-type]
    if not _has_raw_sheets(cohort):
        return Reconciled(cohort=cohort, findings=())
    tables = dict(cohort.tables)
    disagreements, rechecks = _reconcile(tables, options)
    return Reconciled(cohort=replace(cohort, tables=tables),
                      findings=(*disagreements, *_new(rechecks, found_before)))


def validate(raw: RawCohort, *, allow_identifiers: bool = False,
             cohort_format: CohortFormat = COHORT_V1,
             prefer: Prefer | None = None,
             options: DeriveOptions | None = None,
             age_range: tuple[float, float] = AGE_RANGE) -> ValidationReport:
    """Check every sheet of ``raw``; return the typed cohort and every finding.

    ``age_range`` is the cohort's stated population in years (default 1-100): ages at
    infusion outside it are warnings (``age-implausible``).

    When raw observation sheets are present and the cohort has no errors, their findings
    are listed too: the summary values they determine are derived and compared with the
    ``infusions`` sheet (:func:`reconcile_cohort`) under ``options`` (the centre's
    definitions; default :class:`reinfuse.options.DeriveOptions`; ``prefer`` overrides
    ``options.prefer``, default ``"recorded"``), and every disagreement is a warning. The
    cohort returned keeps the recorded values: the derive stage
    (:func:`reinfuse.pipeline.derive`) reconciles them, with the same findings.

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
    sheets: dict[str, RawSheet] = {}
    secrets: dict[str, str] = {}  # identifying values, headers and names -> redacted
    for table in cohort_format.tables:
        if table.name not in raw.sheets:
            continue
        sheet, moved = _locate_headers(raw.sheets[table.name], table)
        sheets[table.name] = sheet
        frame, problems = _type_table(sheet, table, allow_identifiers)
        screened, found = _screen_values(frame, table, allow_identifiers)
        secrets.update(found)
        headers = {h: redact(h) for h in sheet.headers
                   if identifier_header(h) and redact(h) != h}
        secrets.update(headers)
        frame = frame.rename(columns=headers)
        tables[table.name] = frame
        findings += moved + problems + screened
    _redact_ids(tables, secrets)
    if raw.percent_styles:
        findings += _percent_cells(tables, sheets)
    for name in raw.ignored:
        findings.append(_sheet_finding(
            name, None, f"'{name}' in the cohort folder is not a file (a folder?) and is "
            "ignored.", "Move it out of the cohort folder, which should hold only the "
            ".csv files of the tables.", "extra-sheet", severity="warning"))
    known_tables = {t.name for t in cohort_format.tables}
    for key, sheet in raw.sheets.items():
        if key not in known_tables and key != "dictionary":
            if not neutral_name(sheet.name):
                secrets[sheet.name] = redact(sheet.name.replace("_", " "))
                findings.append(_sheet_finding(
                    sheet.name, None, "the name of an extra sheet looks like a direct "
                    "identifier (name, record number or date); it is not shown.",
                    "Rename or delete the sheet.", "identifier-sheet-name",
                    severity="warning" if allow_identifiers else "error",
                    expected="no direct identifiers"))
            findings.append(_sheet_finding(
                sheet.name, None, f"sheet '{sheet.name}' is not part of the cohort format and "
                "is ignored.", "Rename it if it was meant to be one of: "
                + ", ".join(sorted(known_tables)) + ".", "extra-sheet", severity="warning"))

    # Cross-row and cross-table rules need the key columns; skip them if a key is absent.
    blocking = {(f.sheet, f.column) for f in findings if f.rule == "missing-column"
                and f.severity == "error"}
    if not blocking:
        findings += check_patients(tables["patients"])
        findings += check_infusions(tables["infusions"], tables["patients"], options)
        findings += check_plausibility(tables["infusions"], age_range)
        for name, frame in tables.items():
            if name not in CORE_TABLES:
                findings += check_observations(name, frame, tables["infusions"])

    raw_sheets = [name for name in tables if name not in CORE_TABLES and not tables[name].empty]
    reconciled_tables: dict[str, pd.DataFrame] | None = None
    disagreements: list[Finding] = []
    rechecks: list[Finding] = []
    if not blocking and not has_errors(findings):
        # Listed here, on a copy: the tables returned keep the recorded values (the
        # derive stage reconciles them, or takes this reconciliation over).
        reconciled_tables = dict(tables)
        disagreements, rechecks = _reconcile(reconciled_tables, options)
        findings += disagreements + _new(rechecks, findings)
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
                                "out-of-range", "code-belongs-elsewhere")}
    findings = [f for f in findings if not (f.severity == "warning" and f.row is not None
                                            and (f.sheet, f.row, f.column) in unreadable)]
    too_long = {(f.sheet, f.row, f.column) for f in findings if f.rule == "cell-too-long"}
    findings = [f for f in findings if not (f.rule == "missing-required"
                                            and (f.sheet, f.row, f.column) in too_long)]

    if raw.kind == "xlsx":
        findings = _with_letters(findings, sheets)
    order = {t.name: i for i, t in enumerate(cohort_format.tables)}
    findings.sort(key=lambda f: (f.severity != "error", order.get(f.sheet, 99),
                                 f.row if f.row is not None else 0, f.column or ""))
    findings = _scrub_findings(findings, secrets)
    # Input files named with identifiers are stamped by a neutral label and their SHA-256.
    hashes = {name if neutral_name(name) else f"input {i}": digest
              for i, (name, digest) in enumerate(raw.sha256.items(), start=1)}
    cohort = Cohort(tables=tables, source=raw.source, sha256=hashes,
                    findings=tuple(findings), format_version=cohort_format.version,
                    prefer=options.prefer)
    reconciliation = None if reconciled_tables is None else Reconciliation.made(
        replace(cohort, tables=reconciled_tables), of=cohort, disagreements=disagreements,
        rechecks=rechecks, options=options)
    return ValidationReport(cohort=cohort, findings=tuple(findings),
                            reconciliation=reconciliation)


def load_cohort(path: str | Path, *, allow_identifiers: bool = False,
                prefer: Prefer | None = None, options: DeriveOptions | None = None,
                age_range: tuple[float, float] = AGE_RANGE) -> Cohort:
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
    age_range
        The cohort's stated population, years: ages outside it are warnings.

    Raises
    ------
    CohortReadError
        The source cannot be read at all.
    CohortValidationError
        The source was read but has errors; ``.findings`` lists all of them.
    """
    report = validate(read_raw(path), allow_identifiers=allow_identifiers, prefer=prefer,
                      options=options, age_range=age_range)
    if not report.ok:
        raise CohortValidationError(report.findings, source=str(path))
    return report.cohort
