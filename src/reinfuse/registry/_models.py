"""SQLAlchemy tables of the registry, generated from the cohort format.

One table per sheet of :data:`reinfuse.schema.COHORT_V1` (typed columns, the sheet's key as
primary key, foreign keys to ``patients`` and ``infusions``, a ``row_version`` counter for
optimistic concurrency), and the registry's own tables: ``audit`` (append-only),
``locks`` and ``lock_tables`` (immutable data locks).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reinfuse.schema import COHORT_V1, CohortFormat, Column, Table

#: Name of the per-row version counter (incremented by every update of the row).
ROW_VERSION = "row_version"

_TYPES: dict[str, type[sa.types.TypeEngine[Any]]] = {
    "text": sa.Text, "code": sa.Text, "codelist": sa.Text, "integer": sa.BigInteger,
    "number": sa.Double, "yesno": sa.Boolean, "date": sa.Date,
}


def sql_type(column: Column) -> sa.types.TypeEngine[Any]:
    """The SQL type that stores a column of the cohort format without loss.

    ``code`` and ``codelist`` columns hold the canonical codes as text (a codelist as its
    ``;``-separated canonical form); ``number`` is a double (what pandas holds).
    """
    return _TYPES[column.kind]()


def _foreign_keys(table: Table, names: set[str]) -> list[sa.ForeignKeyConstraint]:
    if table.name == "patients":
        return []
    if table.name == "infusions" or "infusion" not in table.key:
        return [sa.ForeignKeyConstraint(["patient_id"], ["patients.patient_id"],
                                        name=f"fk_{table.name}_patient")]
    if "infusions" not in names:
        return []
    return [sa.ForeignKeyConstraint(["patient_id", "infusion"],
                                    ["infusions.patient_id", "infusions.infusion"],
                                    name=f"fk_{table.name}_infusion")]


def build_metadata(cohort_format: CohortFormat = COHORT_V1) -> sa.MetaData:
    """Tables for ``cohort_format`` plus the audit and lock tables."""
    metadata = sa.MetaData()
    names = {t.name for t in cohort_format.tables}
    for table in cohort_format.tables:
        columns = [sa.Column(col.name, sql_type(col), primary_key=col.name in table.key,
                             nullable=col.name not in table.key)
                   for col in table.columns]
        sa.Table(table.name, metadata, *columns,
                 sa.Column(ROW_VERSION, sa.BigInteger, nullable=False, server_default="1"),
                 *_foreign_keys(table, names))
    sa.Table(
        "audit", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),  # ISO 8601, UTC
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("source_label", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),  # insert / update / delete / lock
        sa.Column("table_name", sa.Text, nullable=False),
        sa.Column("patient_id", sa.Text),
        sa.Column("row_key", sa.Text),
        sa.Column("column_name", sa.Text),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Index("ix_audit_patient", "patient_id"),
    )
    sa.Table(
        "locks", metadata,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("format_version", sa.Text, nullable=False),
        sa.Column("patients", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "lock_tables", metadata,
        sa.Column("lock_name", sa.Text, primary_key=True),
        sa.Column("table_name", sa.Text, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("csv_gzip", sa.LargeBinary, nullable=False),
    )
    return metadata


#: The registry's tables for the current cohort format.
METADATA = build_metadata()
