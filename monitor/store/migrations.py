"""Forward-only schema migrations, applied at start in one transaction each.

Append a function to MIGRATIONS to change the schema; never edit a released one.
A database whose version is newer than the code's is refused, never altered.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, DefaultClause, Table, func, inspect, select, text

from monitor.errors import SchemaTooNewError, StoreError
from monitor.store import schema

Migration = Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _item_failures(conn: Connection) -> None:
    """Schema 2: per-item processing attempts, retry time and last error."""
    _add_columns(conn, schema.items, ("attempts", "next_attempt_at", "last_error"))


def _add_columns(conn: Connection, table: Table, names: tuple[str, ...]) -> None:
    """ALTER TABLE ADD COLUMN for each column of `table` (as schema.py declares it) that
    the database does not have yet. A database created at this version by `_initial`
    already has them, so each step is a real step for older databases and a no-op for
    new ones."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for name in names:
        if name in have:
            continue
        column = table.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        clause = column.server_default
        default = f" DEFAULT {clause.arg}" if isinstance(clause, DefaultClause) else ""
        null = " NOT NULL" if not column.nullable else ""
        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}{default}{null}"))


def _workbench(conn: Connection) -> None:
    """Schema 3: silences, feedback, and (SQLite) a full-text index of items' titles
    and texts kept in step with the items table by triggers."""
    schema.silences.create(conn, checkfirst=True)
    schema.feedback.create(conn, checkfirst=True)
    if conn.dialect.name == "sqlite":
        from monitor.store.web import create_fts

        create_fts(conn)


def _cluster(conn: Connection) -> None:
    """Cluster schema: feeds carry their configured interval and jitter (any node can
    schedule them), and the nodes of a cluster are listed (monitor.cluster)."""
    _add_columns(conn, schema.feeds, ("poll_interval", "poll_jitter"))
    schema.cluster_nodes.create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [_initial, _item_failures, _workbench, _cluster]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    row = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else 0


def check_version(conn_factory: Callable[[], Connection], where: str) -> int:
    """The schema version of a database opened read-only; an error when this code
    cannot read it (newer, or not yet migrated to what the code expects)."""
    with conn_factory() as conn:
        found = current_version(conn)
    _refuse_newer(found, where)
    if found < SCHEMA_VERSION:
        raise StoreError(
            f"{where}: database schema version {found} is older than this monitor's "
            f"({SCHEMA_VERSION}); start the daemon once to migrate it"
        )
    return found


#: Advisory lock held while migrating a PostgreSQL database: nodes that start together
#: migrate one after the other, and the later ones find nothing left to do.
MIGRATION_LOCK_KEY = 0x6D696772  # "migr"


def migrate(conn_factory: Callable[[], Connection], where: str) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before."""
    with conn_factory() as guard:
        shared = guard.dialect.name == "postgresql"
        if shared:
            guard.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            guard.commit()
        try:
            found = current_version(guard)
            guard.rollback()
            _refuse_newer(found, where)
            for version in range(found, SCHEMA_VERSION):
                with conn_factory() as conn, conn.begin():
                    MIGRATIONS[version](conn)
                    _set_version(conn, version + 1)
        finally:
            if shared:
                guard.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                guard.commit()
    return found


def _refuse_newer(found: int, where: str) -> None:
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{where}: database schema version {found} is newer than this monitor "
            f"understands ({SCHEMA_VERSION}); upgrade monitor or use another database. "
            "The database was not modified."
        )


def _set_version(conn: Connection, version: int) -> None:
    table = schema.meta
    conn.execute(table.delete().where(table.c.key == "schema_version"))
    conn.execute(table.insert().values(key="schema_version", value=str(version)))
