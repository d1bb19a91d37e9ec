"""Import a validated cohort into the registry: diff with pandas, then bulk writes + audit.

One import is one database transaction: the current content of every table is read, the
difference with the incoming cohort is computed column by column (vectorised), and the
inserts, updates, deletes and audit rows are sent as bulk statements (``executemany``),
then committed together. A process killed before the commit leaves the registry as it
was (the database's own atomicity; tested with SIGKILL).

Concurrency: an update applies only to the row version it was computed from
(``WHERE row_version = :seen``), and the transaction runs on one snapshot (SQLite WAL with
an explicit ``BEGIN``; PostgreSQL SERIALIZABLE). When another import committed in between,
the database refuses the write and the whole import is rolled back with
:class:`~reinfuse.errors.RegistryConflictError`: run it again (it then compares with the
other import's result, and the audit trail keeps both changes).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reinfuse.cohort import SOURCE_ROW, Cohort
from reinfuse.errors import RegistryConflictError, RegistryError
from reinfuse.registry._canon import canonical_frame, python_values
from reinfuse.registry._engine import check_revision
from reinfuse.registry._models import METADATA, ROW_VERSION
from reinfuse.schema import COHORT_V1, Table

#: Rule of the validation warning for a blank recorded value filled by a derived one.
_FILLED = "derived-fills-blank"
#: Value of ``audit.column_name`` for a whole row inserted or deleted (values as JSON).
WHOLE_ROW = "*"


@dataclass(frozen=True)
class Source:
    """Where an import came from, without identifiers: a neutral label and a SHA-256."""

    label: str
    sha256: str

    @classmethod
    def of(cls, data: Cohort) -> Source:
        """From a cohort's input hashes (their names already neutral: see validation).

        A CSV folder's hash is the SHA-256 of its files' ``name digest`` lines, sorted.
        """
        items = sorted(data.sha256.items())
        if len(items) == 1:
            return cls(label=items[0][0], sha256=items[0][1])
        lines = "".join(f"{name} {digest}\n" for name, digest in items)
        return cls(label=f"CSV folder ({len(items)} files)",
                      sha256=hashlib.sha256(lines.encode()).hexdigest())


@dataclass(frozen=True)
class ImportResult:
    """What an import changed (or, for a diff, would change).

    Attributes
    ----------
    inserted, updated, deleted
        Table name -> number of rows.
    audit
        The audit rows written (or that would be written): one per inserted or deleted
        row (``column_name`` ``*``, the row's values as JSON) and one per changed cell.
    applied
        False for a diff (nothing was written).
    """

    inserted: Mapping[str, int]
    updated: Mapping[str, int]
    deleted: Mapping[str, int]
    audit: pd.DataFrame = field(repr=False)
    applied: bool = True

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(sum(self.inserted.values()) + sum(self.updated.values())
                    + sum(self.deleted.values()))


def registry_frames(cohort: Cohort) -> dict[str, pd.DataFrame]:
    """The schema tables of a validated cohort as canonical text, recorded values only.

    Validation may fill a blank recorded value from the raw observations (warning
    ``derived-fills-blank``); the registry keeps what was recorded, so those cells are
    blank again here (the derived value is recomputed whenever the cohort is analysed).
    """
    frames: dict[str, pd.DataFrame] = {}
    filled = pd.DataFrame([(f.row, f.column) for f in cohort.findings
                           if f.rule == _FILLED and f.sheet == "infusions"],
                          columns=["row", "column"])
    for table in COHORT_V1.tables:
        if table.name not in cohort.tables:
            continue
        frame = cohort.tables[table.name]
        if table.name == "infusions" and not filled.empty and SOURCE_ROW in frame.columns:
            frame = frame.copy()
            for column, rows in filled.groupby("column")["row"]:
                frame[column] = frame[column].mask(frame[SOURCE_ROW].isin(rows.to_numpy()))
        frames[table.name] = canonical_frame(frame, table).reset_index(drop=True)
    return frames


def _key_text(frame: pd.DataFrame, table: Table) -> pd.Series:
    """``patient_id=P01, infusion=2`` for each row."""
    text = pd.Series("", index=frame.index, dtype=object)
    for i, name in enumerate(table.key):
        text = text + ("" if i == 0 else ", ") + name + "=" + frame[name].astype(str)
    return text


def _read_current(conn: sa.Connection, table: Table) -> pd.DataFrame:
    """The table's rows as canonical text, plus ``row_version``.

    Read through the driver without SQLAlchemy's per-value processing (SQLite gives dates
    as ISO text and booleans as 1/0, which :func:`canonical_frame` reads as well).
    """
    names = [*table.names, ROW_VERSION]
    quote = conn.dialect.identifier_preparer.quote
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(table.name)}"
    ).cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    current = pd.DataFrame({n: np.array(c, dtype=object) for n, c in zip(names, columns,
                                                                      strict=True)})
    canon = canonical_frame(current, table)
    canon[ROW_VERSION] = current[ROW_VERSION].to_numpy()
    return canon


def _json_text(text: pd.Series) -> pd.Series:
    """Canonical text as the body of a JSON string (backslash, quote, control characters)."""
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
                          ("\t", "\\t")):
        text = text.str.replace(char, escaped, regex=False)
    return text


def _row_json(frame: pd.DataFrame, table: Table) -> pd.Series:
    """Each row's non-missing values as a JSON object of text, built column-wise."""
    out = pd.Series("{", index=frame.index, dtype=object)
    started = np.zeros(len(frame), dtype=bool)
    for col in table.columns:
        values = frame[col.name]
        present = values.notna().to_numpy(dtype=bool)
        if not present.any():
            continue
        text = values.where(present, "").astype(str)
        if col.kind in ("text", "code", "codelist"):
            text = _json_text(text)
        piece = np.where(started, ", ", "") + f'"{col.name}": "' + text.to_numpy(dtype=object) + '"'
        out = out + np.where(present, piece, "")
        started |= present
    return out + "}"


@dataclass(frozen=True)
class _Changes:
    inserts: pd.DataFrame
    updates: pd.DataFrame  # incoming values and the row_version they were computed from
    deletes: pd.DataFrame  # key values (canonical) and row_version
    audit: pd.DataFrame


def _diff(current: pd.DataFrame, incoming: pd.DataFrame, table: Table,
          delete_missing: bool) -> _Changes:
    """Rows to insert, update and delete, and the audit rows, computed column-wise."""
    key = list(table.key)
    values = [n for n in table.names if n not in key]
    merged = incoming.merge(current, on=key, how="outer", suffixes=("", "__db"),
                            indicator=True)
    new = merged[merged["_merge"] == "left_only"]
    gone = merged[merged["_merge"] == "right_only"] if delete_missing else merged.iloc[:0]
    both = merged[merged["_merge"] == "both"]
    audit_parts: list[pd.DataFrame] = []
    # One 2-D comparison for the whole table; missing (None) equals only missing.
    new_a = both[values].to_numpy(dtype=object)
    old_a = both[[v + "__db" for v in values]].to_numpy(dtype=object)
    new_missing, old_missing = pd.isna(new_a), pd.isna(old_a)
    differs = (new_missing != old_missing) | (~new_missing & ~old_missing & (new_a != old_a))
    changed_any = differs.any(axis=1)
    changed, changed_cells = both[changed_any], differs[changed_any]
    keys = _key_text(changed, table)
    for j, name in enumerate(values):
        mask = changed_cells[:, j]
        if mask.any():
            audit_parts.append(pd.DataFrame({
                "action": "update", "patient_id": changed["patient_id"][mask],
                "row_key": keys[mask], "column_name": name,
                "old_value": changed[name + "__db"][mask],
                "new_value": changed[name][mask]}))
    updates = changed
    if len(new):
        audit_parts.append(pd.DataFrame({
            "action": "insert", "patient_id": new["patient_id"],
            "row_key": _key_text(new, table), "column_name": WHOLE_ROW,
            "old_value": None, "new_value": _row_json(new, table)}))
    if len(gone):
        old = gone[key].join(gone[[v + "__db" for v in values]].rename(
            columns=lambda c: c.removesuffix("__db")))
        audit_parts.append(pd.DataFrame({
            "action": "delete", "patient_id": gone["patient_id"],
            "row_key": _key_text(gone, table), "column_name": WHOLE_ROW,
            "old_value": _row_json(old, table), "new_value": None}))
    columns = ["action", "patient_id", "row_key", "column_name", "old_value", "new_value"]
    audit = (pd.concat(audit_parts, ignore_index=True) if audit_parts
             else pd.DataFrame(columns=columns))
    audit.insert(0, "table_name", table.name)
    return _Changes(inserts=new[list(table.names)], updates=updates,
                    deletes=gone[[*key, ROW_VERSION]], audit=audit)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True))
            for row in frame.itertuples(index=False, name=None)]


def bulk_insert(conn: sa.Connection, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` (driver values, ``None`` = NULL) into ``table`` in bulk, inside the
    connection's transaction: PostgreSQL ``COPY``, SQLite ``executemany``.

    SQLAlchemy's per-row parameter processing is bypassed (it dominated the time of a
    100,000-patient import); values are already what the driver expects (SQLite: dates
    as ISO text, the form SQLAlchemy itself stores).
    """
    if not len(frame):
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(str(c)) for c in frame.columns)
    rows = frame.itertuples(index=False, name=None)
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(frame.columns))
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _key_params(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Key columns as driver values, renamed ``k_<column>`` for bound parameters."""
    padded = frame.reindex(columns=list(table.names))
    typed = python_values(padded.astype(object).where(padded.notna(), None), table)
    return typed[list(table.key)].rename(columns=lambda c: f"k_{c}")


def _write(conn: sa.Connection, table: Table, changes: _Changes) -> None:
    sql = METADATA.tables[table.name]
    key = list(table.key)
    where = sa.and_(*(sql.c[k] == sa.bindparam(f"k_{k}") for k in key),
                    sql.c[ROW_VERSION] == sa.bindparam("k_version"))
    if len(changes.updates):
        values = python_values(changes.updates[list(table.names)], table)
        params = values.drop(columns=key).rename(columns=lambda c: f"v_{c}")
        params = params.join(_key_params(changes.updates, table))
        params["k_version"] = changes.updates[ROW_VERSION].astype(object).to_numpy()
        statement = sql.update().where(where).values(
            {c: sa.bindparam(f"v_{c}") for c in table.names if c not in key}
            | {ROW_VERSION: sql.c[ROW_VERSION] + 1})
        result = conn.execute(statement, _records(params))
        if result.rowcount != len(params):
            raise RegistryConflictError(_CONFLICT)
    if len(changes.inserts):
        bulk_insert(conn, table.name, python_values(
            changes.inserts, table, dates_as_text=conn.dialect.name == "sqlite"))


def _delete(conn: sa.Connection, table: Table, changes: _Changes) -> None:
    if not len(changes.deletes):
        return
    sql = METADATA.tables[table.name]
    params = _key_params(changes.deletes, table)
    params["k_version"] = changes.deletes[ROW_VERSION].astype(object).to_numpy()
    where = sa.and_(*(sql.c[k] == sa.bindparam(f"k_{k}") for k in table.key),
                    sql.c[ROW_VERSION] == sa.bindparam("k_version"))
    result = conn.execute(sql.delete().where(where), _records(params))
    if result.rowcount != len(params):
        raise RegistryConflictError(_CONFLICT)


_CONFLICT = ("another import changed the registry while this one was running; nothing of "
             "this import was written. Run it again: it will compare the file with the "
             "registry as the other import left it (both changes stay in the audit trail).")


def is_conflict(exc: BaseException) -> bool:
    """Whether a database error means "another transaction got there first"."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01", "23505"):  # serialization, deadlock, unique key
        return True
    name = getattr(orig, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    text = str(orig or exc)
    return "database is locked" in text or "UNIQUE constraint failed" in text


def _foreign_key_violation(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return (getattr(orig, "sqlstate", None) == "23503"
            or "FOREIGN KEY constraint failed" in str(orig or exc))


def import_frames(engine: Engine, frames: Mapping[str, pd.DataFrame], source: Source, *,
                  user: str | None = None, delete_missing: bool = False,
                  dry_run: bool = False,
                  pause: Callable[[str], None] | None = None) -> ImportResult:
    """Bring the registry to ``frames`` (canonical text, :func:`registry_frames`).

    Parameters
    ----------
    engine
        The registry (:func:`reinfuse.registry.connect`).
    frames
        Table name -> canonical frame; tables absent here are left alone.
    source
        Neutral label and SHA-256 of the input, for the audit trail.
    user
        Who imports (default: the operating-system user).
    delete_missing
        Delete registry rows of the given tables that the input does not have (off:
        nothing is ever deleted by default).
    dry_run
        Compute the changes and write nothing (``reinfuse registry diff``).
    pause
        Called with ``"diffed"`` (changes computed, nothing written) and ``"written"``
        (everything sent, not committed): for fault-injection tests.

    Raises
    ------
    RegistryConflictError
        Another import committed meanwhile; nothing was written (run again).
    """
    check_revision(engine)
    user = user or getpass.getuser()
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    tables = [t for t in COHORT_V1.tables if t.name in frames]
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            changes = {t.name: _diff(_read_current(conn, t), frames[t.name], t,
                                     delete_missing) for t in tables}
            audit = pd.concat([c.audit for c in changes.values()], ignore_index=True)
            audit.insert(0, "source_sha256", source.sha256)
            audit.insert(0, "source_label", source.label)
            audit.insert(0, "user_name", user)
            audit.insert(0, "at", at)
            audit = audit.astype(object).where(audit.notna(), None)
            if pause:
                pause("diffed")
            if not dry_run:
                for table in tables:  # parents first
                    _write(conn, table, changes[table.name])
                for table in reversed(tables):  # children first
                    _delete(conn, table, changes[table.name])
                if len(audit):
                    bulk_insert(conn, "audit", audit)
                if pause:
                    pause("written")
            else:
                transaction.rollback()
    except sa.exc.DBAPIError as exc:
        if is_conflict(exc):
            raise RegistryConflictError(_CONFLICT) from exc
        if _foreign_key_violation(exc):
            raise RegistryError(
                "nothing was imported: --delete-missing would delete rows that rows of "
                "another table still refer to (an infusion with observations, a patient "
                "with infusions). Include every sheet that holds such rows in the input, "
                "or import without --delete-missing.") from exc
        raise

    def count(attr: str) -> dict[str, int]:
        return {name: len(getattr(c, attr)) for name, c in changes.items()}

    return ImportResult(inserted=count("inserts"), updated=count("updates"),
                        deleted=count("deletes"), audit=audit, applied=not dry_run)
