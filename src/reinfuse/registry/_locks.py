"""Data locks: a named, immutable snapshot of the registry with a content hash.

A lock stores the locked content itself (each table as the cohort format's CSV, sorted by
key, gzip-compressed) rather than versioning every row. Why: a report from a lock then
reads exactly the bytes that were hashed, whatever happened to the live tables since
(updates, deletes, later schema migrations), with no history queries to get right; the
price is storage (about 6 MB per lock for 100,000 patients) which a registry can afford
for the handful of locks a study makes. The database refuses to update or delete a lock
(triggers; see the initial migration), and every read checks the content hash again.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reinfuse.errors import LockError
from reinfuse.registry._canon import compress, content_hash, csv_bytes, decompress
from reinfuse.registry._engine import check_revision
from reinfuse.registry._models import METADATA
from reinfuse.registry._sync import _read_current
from reinfuse.schema import COHORT_V1

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class LockInfo:
    """A data lock's record."""

    name: str
    created_at: str
    user_name: str
    content_sha256: str
    format_version: str
    patients: int


def snapshot(conn: sa.Connection) -> dict[str, bytes]:
    """Every table of the registry as sorted canonical CSV (the bytes a lock hashes).

    Tables without rows are left out, except ``patients`` and ``infusions``.
    """
    out: dict[str, bytes] = {}
    for table in COHORT_V1.tables:
        canon = _read_current(conn, table)[list(table.names)]
        if len(canon) or table.required_table:
            out[table.name] = csv_bytes(canon, table)
    return out


def create_lock(engine: Engine, name: str, *, user: str | None = None) -> LockInfo:
    """Lock the registry's current content under ``name``.

    Raises
    ------
    LockError
        ``name`` is not a plain name, or a lock of that name exists (locks are never
        replaced).
    """
    check_revision(engine)
    if not _NAME.fullmatch(name):
        raise LockError(f"lock name {name!r} is not allowed: use letters, digits, '.', '_' "
                        "and '-' (e.g. primary-analysis-2026-12), at most 100 characters.")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with engine.begin() as conn:
        exists = conn.execute(sa.select(METADATA.tables["locks"].c.name)
                              .where(METADATA.tables["locks"].c.name == name)).first()
        if exists:
            raise LockError(f"a data lock named {name!r} exists already; locks are "
                            "immutable and are never replaced: choose another name.")
        tables = snapshot(conn)
        digest = content_hash(tables)
        patients = conn.execute(sa.select(sa.func.count())
                                .select_from(METADATA.tables["patients"])).scalar_one()
        conn.execute(METADATA.tables["lock_tables"].insert(), [
            {"lock_name": name, "table_name": t, "position": i, "csv_gzip": compress(data)}
            for i, (t, data) in enumerate(tables.items())])
        info = LockInfo(name=name, created_at=at, user_name=user or getpass.getuser(),
                        content_sha256=digest, format_version=COHORT_V1.version,
                        patients=patients)
        conn.execute(METADATA.tables["locks"].insert(), [info.__dict__])
    return info


def lock_info(engine: Engine, name: str) -> LockInfo:
    """The record of the lock ``name``.

    Raises
    ------
    LockError
        No such lock (the message lists the existing ones).
    """
    locks = METADATA.tables["locks"]
    with engine.connect() as conn:
        row = conn.execute(sa.select(locks).where(locks.c.name == name)).mappings().first()
        if row is None:
            names = conn.execute(sa.select(locks.c.name).order_by(locks.c.name)).scalars()
            have = ", ".join(names) or "none yet"
            raise LockError(f"no data lock named {name!r} in the registry (locks: {have}).")
    return LockInfo(**dict(row))


def list_locks(engine: Engine) -> list[LockInfo]:
    """Every lock, oldest first."""
    locks = METADATA.tables["locks"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(locks).order_by(locks.c.created_at, locks.c.name))
        return [LockInfo(**dict(r)) for r in rows.mappings()]


def read_lock(engine: Engine, name: str) -> tuple[LockInfo, dict[str, bytes]]:
    """The locked tables (canonical CSV bytes, in their order), content hash checked.

    Raises
    ------
    LockError
        No such lock, or its stored content no longer matches its hash.
    """
    check_revision(engine)
    info = lock_info(engine, name)
    parts = METADATA.tables["lock_tables"]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(parts.c.table_name, parts.c.csv_gzip)
                            .where(parts.c.lock_name == name).order_by(parts.c.position))
        tables = {t: decompress(data) for t, data in rows}
    if content_hash(tables) != info.content_sha256:
        raise LockError(f"data lock {name!r} is damaged: its content does not match its "
                        f"SHA-256 {info.content_sha256}. Restore the registry from a backup.")
    return info, tables


def current_tables(engine: Engine) -> dict[str, bytes]:
    """The live tables, as a lock would store them now."""
    check_revision(engine)
    with engine.connect() as conn, conn.begin():
        return snapshot(conn)


def frames_of(tables: Mapping[str, bytes]) -> dict[str, pd.DataFrame]:
    """Canonical CSV bytes -> frames of text (missing cells ``None``)."""
    import io

    out = {}
    for name, data in tables.items():
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                            na_values=[""])
        out[name] = frame.astype(object).where(frame.notna(), None)
    return out
