"""The registry: the cohort in a database (SQLite by default, PostgreSQL for teams).

Tables generated from the cohort format (:mod:`reinfuse.registry._models`), Alembic
migrations, imports that validate first and land in one transaction with an append-only
audit trail, immutable data locks that reproduce a report byte for byte, and exports back
to the cohort format. See ``docs/registry.md``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reinfuse.cohort import Cohort
from reinfuse.errors import CohortValidationError, RegistryConflictError, RegistryError
from reinfuse.io import write_atomically
from reinfuse.io.read import RawCohort, read_raw, sha256_of
from reinfuse.io.write import write_cohort
from reinfuse.registry._engine import (
    DB_ENV,
    DEFAULT_DB,
    check_revision,
    connect,
    current_revision,
    database_url,
    head_revision,
    upgrade,
)
from reinfuse.registry._locks import (
    LockInfo,
    create_lock,
    current_tables,
    frames_of,
    list_locks,
    lock_info,
    read_lock,
)
from reinfuse.registry._models import METADATA, build_metadata
from reinfuse.registry._redcap import is_redcap_export, read_redcap, scratch_folder, write_redcap
from reinfuse.registry._sync import (
    WHOLE_ROW,
    ImportResult,
    Source,
    import_frames,
    registry_frames,
)
from reinfuse.schema import COHORT_V1
from reinfuse.validate import ValidationReport, validate

__all__ = [
    "DB_ENV",
    "DEFAULT_DB",
    "METADATA",
    "WHOLE_ROW",
    "ImportResult",
    "LockInfo",
    "RegistryConflictError",
    "RegistryError",
    "Source",
    "build_metadata",
    "check_revision",
    "connect",
    "create_lock",
    "current_revision",
    "database_url",
    "export",
    "head_revision",
    "history",
    "import_cohort",
    "import_frames",
    "init",
    "list_locks",
    "lock_info",
    "lock_source",
    "read_lock",
    "read_source",
    "registry_frames",
    "upgrade",
]


def init(db: str | None = None) -> tuple[str | None, str]:
    """Create the registry ``db`` (a SQLite file or a PostgreSQL URL), or migrate it to
    this version. Returns the revision before (``None``: new) and after."""
    engine = connect(db, must_exist=False)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def _write_tables(tables: dict[str, bytes], folder: Path) -> None:
    for name, data in tables.items():
        (folder / f"{name}.csv").write_bytes(data)


def _validated(raw: RawCohort, allow_identifiers: bool) -> ValidationReport:
    report = validate(raw, allow_identifiers=allow_identifiers, prefer="recorded")
    if not report.ok:
        raise CohortValidationError(report.findings, source=raw.source)
    return report


def read_source(path: str | Path, *, allow_identifiers: bool = False,
                dictionary: str | None = None, mapping: str | None = None
                ) -> tuple[ValidationReport, Source]:
    """Read and validate a workbook, a CSV folder or a REDCap export (a single ``.csv``).

    Raises
    ------
    CohortReadError
        The source cannot be read (corrupt, truncated, a sheet missing...).
    CohortValidationError
        The cohort has errors (all listed); nothing may be imported from it.
    """
    path = Path(path)
    if not is_redcap_export(path):
        report = _validated(read_raw(path), allow_identifiers)
        return report, Source.of(report.cohort)
    source = Source(label="REDCap export", sha256=sha256_of(path))
    read = read_redcap(path, dictionary=dictionary, mapping=mapping)
    if isinstance(read, Cohort):  # a typed cohort: validated again, like any other input
        with scratch_folder() as tmp:
            columns = {t.name: list(t.names) for t in COHORT_V1.tables}
            write_cohort({n: f.reindex(columns=columns.get(n, list(f.columns)))
                          for n, f in read.tables.items()}, Path(tmp) / "cohort")
            raw = read_raw(Path(tmp) / "cohort")
    else:
        raw = read
    raw = dataclasses.replace(raw, source="REDCap export", sha256={"REDCap export":
                                                                   source.sha256})
    return _validated(raw, allow_identifiers), source


def import_cohort(db: str | None, path: str | Path, *, user: str | None = None,
                  delete_missing: bool = False, dry_run: bool = False,
                  allow_identifiers: bool = False, dictionary: str | None = None,
                  mapping: str | None = None) -> tuple[ImportResult, ValidationReport]:
    """Validate ``path`` and import it into the registry ``db`` (or, ``dry_run``, only
    say what would change). See :func:`reinfuse.registry.import_frames`."""
    engine = connect(db)
    try:
        check_revision(engine)  # before reading: a wrong --db fails at once
        report, source = read_source(path, allow_identifiers=allow_identifiers,
                                     dictionary=dictionary, mapping=mapping)
        result = import_frames(engine, registry_frames(report.cohort), source, user=user,
                               delete_missing=delete_missing, dry_run=dry_run)
    finally:
        engine.dispose()
    return result, report


def history(engine: Engine, patient_id: str) -> pd.DataFrame:
    """Every audit row about ``patient_id``, oldest first."""
    check_revision(engine)
    audit = METADATA.tables["audit"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit).where(audit.c.patient_id == patient_id)
                            .order_by(audit.c.id))
        return pd.DataFrame(rows.all(), columns=list(audit.c.keys()))


def lock_source(db: str | None, name: str) -> RawCohort:
    """The cohort locked as ``name``, read as any cohort source is (for ``reinfuse report
    --registry URL --lock NAME``); its input stamp is the lock's content hash.

    Raises
    ------
    LockError
        No such lock, or its content does not match its hash.
    """
    engine = connect(db)
    try:
        info, tables = read_lock(engine, name)
    finally:
        engine.dispose()
    with scratch_folder() as tmp:
        _write_tables(tables, Path(tmp))
        raw = read_raw(tmp)
    label = f"registry lock {name}"
    return dataclasses.replace(raw, source=label, sha256={label: info.content_sha256})


def _typed(tables: dict[str, bytes]) -> Cohort:
    """Canonical tables as a typed cohort, values exactly as stored (no validation step:
    it would fill blanks from the raw observations, and the registry holds recorded
    values only)."""
    frames = {}
    for name, frame in frames_of(tables).items():
        table = COHORT_V1.table(name)
        typed = {}
        for col in table.columns:
            text = frame[col.name] if col.name in frame.columns else pd.Series(
                None, index=frame.index, dtype=object)
            if col.kind == "integer":
                typed[col.name] = pd.to_numeric(text).astype("Int64")
            elif col.kind == "number":
                typed[col.name] = pd.to_numeric(text).astype("float64")
            elif col.kind == "yesno":
                typed[col.name] = text.map({"yes": True, "no": False}).astype("boolean")
            elif col.kind == "date":
                typed[col.name] = pd.to_datetime(text, format="%Y-%m-%d")
            else:
                typed[col.name] = text.astype("string")
        frames[name] = pd.DataFrame(typed)
    return Cohort(tables=frames, source="registry", format_version=COHORT_V1.version)


def export(db: str | None, out: str | Path, *, lock: str | None = None,
           overwrite: bool = False, labels: bool = False) -> Path:
    """Write the registry (or the lock ``lock``) in the cohort format.

    ``out`` ending in ``.xlsx`` gives a workbook, in ``.csv`` a REDCap import file (via
    ``reinfuse.redcap``), anything else a folder of CSV files (the exact bytes a lock
    hashes). Never overwrites unless ``overwrite``.
    """
    out = Path(out)
    engine = connect(db)
    try:
        tables = read_lock(engine, lock)[1] if lock else current_tables(engine)
    finally:
        engine.dispose()
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        return write_cohort(_typed(tables).tables, out, overwrite=overwrite)
    if suffix == ".csv":
        cohort = _typed(tables)
        return write_atomically(out, lambda tmp: write_redcap(cohort, tmp, labels=labels),
                                overwrite=overwrite)

    def writer(tmp: Path) -> None:
        tmp.mkdir()
        _write_tables(tables, tmp)

    return write_atomically(out, writer, overwrite=overwrite, kind="folder")

