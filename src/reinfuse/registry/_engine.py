"""Connecting to a registry database, and its migrations (Alembic)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from reinfuse.errors import RegistryError

#: The registry used when no ``--db`` is given (a SQLite file in the working folder).
DEFAULT_DB = "reinfuse.db"
#: Environment variable naming the registry when no ``--db`` is given.
DB_ENV = "REINFUSE_DB"
#: Seconds a SQLite writer waits for another writer before giving up (then: retry).
SQLITE_BUSY_SECONDS = 60

_MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(db: str | None = None) -> str:
    """The SQLAlchemy URL of a registry: ``db`` (a URL or a SQLite file path), else
    ``$REINFUSE_DB``, else ``reinfuse.db`` in the working folder.

    Examples
    --------
    >>> database_url("cohort.db")
    'sqlite:///cohort.db'
    >>> database_url("postgresql+psycopg://u@localhost/reg")
    'postgresql+psycopg://u@localhost/reg'
    """
    db = db or os.environ.get(DB_ENV) or DEFAULT_DB
    if "://" in db:
        return db
    return f"sqlite:///{db}"


def _sqlite_setup(engine: Engine) -> None:
    """Real transactions on SQLite: the driver's own transaction handling is switched off
    and every transaction starts with ``BEGIN``, so what an import reads and what it writes
    belong to one snapshot (WAL mode: a writer whose snapshot is stale gets SQLITE_BUSY
    and the import is reported as a conflict to retry)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def connect(db: str | None = None, *, must_exist: bool = True) -> Engine:
    """An engine for the registry ``db`` (see :func:`database_url`).

    SQLite registries use WAL journaling and explicit transactions; PostgreSQL ones run
    every transaction SERIALIZABLE, so two concurrent imports cannot both commit changes
    computed from the same state.

    Raises
    ------
    RegistryError
        ``must_exist`` and the SQLite file does not exist (``reinfuse registry init``
        makes it).
    """
    url = sa.make_url(database_url(db))
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if must_exist and (not path or path == ":memory:" or not Path(path).exists()):
            raise RegistryError(
                f"no registry at {path or url}: make it with `reinfuse registry init"
                + (f" --db {db}`" if db else "`") + ", or name it with --db.")
        engine = sa.create_engine(url)
        _sqlite_setup(engine)
        return engine
    if url.get_backend_name() != "postgresql":
        raise RegistryError(f"unsupported registry database {url.get_backend_name()!r}: use a "
                            "SQLite file or postgresql+psycopg://USER@HOST/DATABASE.")
    try:
        return sa.create_engine(url, isolation_level="SERIALIZABLE")
    except ModuleNotFoundError as exc:
        raise RegistryError(f"a PostgreSQL registry needs the psycopg driver ({exc}): "
                            "pip install 'reinfuse[postgresql]'.") from exc


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration of this version of reinfuse."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration a registry is at (``None``: not a registry yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create the registry, or bring it to this version's newest revision.

    Returns
    -------
    tuple
        The revision before (``None`` for a new registry) and after.
    """
    from alembic import command

    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    return before, head_revision()


def check_revision(engine: Engine) -> None:
    """Refuse a database that is not a registry of this version's revision.

    Raises
    ------
    RegistryError
        Not a registry, or made by another version (with what to do).
    """
    have, want = current_revision(engine), head_revision()
    if have == want:
        return
    if have is None:
        raise RegistryError(f"{engine.url.render_as_string(hide_password=True)} is not a "
                            "reinfuse registry: make it with `reinfuse registry init`.")
    raise RegistryError(f"the registry is at revision {have}, this version of reinfuse needs "
                        f"{want}: upgrade it with `reinfuse registry init` (it migrates an "
                        "existing registry) after a backup.")
