"""Alembic environment of the reinfuse registry (run by :mod:`reinfuse.registry`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from reinfuse.registry._models import METADATA


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=METADATA,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the connection given by reinfuse, or the URL of the Alembic config."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _under_alembic() -> bool:
    """Whether Alembic is running this file (not, e.g., pytest collecting doctests)."""
    try:
        context.config  # noqa: B018
    except AttributeError:
        return False
    return True


if _under_alembic():
    if context.is_offline_mode():  # pragma: no cover
        raise SystemExit("reinfuse registry migrations run online only (give a URL).")
    run_migrations_online()
