"""Forward-only schema migrations, applied at start in one transaction each.

Append a function to MIGRATIONS to change the schema; never edit a released one.
A database whose version is newer than the code's is refused, never altered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, DefaultClause, MetaData, Table, func, inspect, select, text

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


def _feed_health(conn: Connection) -> None:
    """Schema 5: alerts about a feed's health (feed_id; no story, no item), the feed
    state that keeps them once per failure (down_since), and feeds' titles."""
    _add_columns(conn, schema.feeds, ("title", "down_since"))
    if conn.dialect.name == "sqlite":
        if not _nullable(conn, schema.alerts, "story_id"):
            _rebuild_sqlite(conn, schema.alerts)
        return
    conn.execute(
        text(
            "ALTER TABLE alerts ADD COLUMN IF NOT EXISTS feed_id INTEGER "
            "REFERENCES feeds (id) ON DELETE CASCADE"
        )
    )
    conn.execute(text("ALTER TABLE alerts ALTER COLUMN story_id DROP NOT NULL"))
    conn.execute(text("ALTER TABLE alerts ALTER COLUMN item_id DROP NOT NULL"))


def _nullable(conn: Connection, table: Table, name: str) -> bool:
    columns = {c["name"]: c for c in inspect(conn).get_columns(table.name)}
    return bool(columns[name]["nullable"])


def _rebuild_sqlite(conn: Connection, table: Table) -> None:
    """SQLite's way to change a table's columns (it cannot drop a NOT NULL): create
    the table as schema.py declares it under another name, copy the rows the old one
    has, drop the old one and rename. Run with foreign keys off (`migrate` sees to
    it), or dropping the old table would delete the rows referencing it."""
    copy_md = MetaData()
    for other in schema.metadata.sorted_tables:
        if other is not table:
            other.to_metadata(copy_md)
    scratch = f"{table.name}_rebuild"
    rebuilt = table.to_metadata(copy_md, name=scratch)
    rebuilt.indexes.clear()  # their names are the old table's: made after the rename
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    columns = ", ".join(c.name for c in table.columns if c.name in have)
    conn.execute(text(f"DROP TABLE IF EXISTS {scratch}"))
    rebuilt.create(conn)
    conn.execute(text(f"INSERT INTO {scratch} ({columns}) SELECT {columns} FROM {table.name}"))
    conn.execute(text(f"DROP TABLE {table.name}"))
    conn.execute(text(f"ALTER TABLE {scratch} RENAME TO {table.name}"))
    for index in table.indexes:
        index.create(conn, checkfirst=True)


def _search_processed(conn: Connection) -> None:
    """Schema 6 (SQLite): the full-text index holds processed items only."""
    if conn.dialect.name == "sqlite":
        from monitor.store.web import index_processed_only

        index_processed_only(conn)


MIGRATIONS: list[Migration] = [
    _initial, _item_failures, _workbench, _cluster, _feed_health, _search_processed,
]  # fmt: skip
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
                with conn_factory() as conn, _foreign_keys_off(conn, where), conn.begin():
                    MIGRATIONS[version](conn)
                    _check_foreign_keys(conn, where)
                    _set_version(conn, version + 1)
        finally:
            if shared:
                guard.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                guard.commit()
    return found


@contextmanager
def _foreign_keys_off(conn: Connection, where: str) -> Iterator[None]:
    """SQLite: foreign keys off while a migration runs (a table rebuilt must not
    cascade into the tables referencing it), checked before commit, on again after.
    The pragma only takes effect outside a transaction: it is verified, never assumed."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
    conn.commit()
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        conn.rollback()
        raise StoreError(f"{where}: cannot turn foreign keys off to migrate; nothing changed")
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


def _check_foreign_keys(conn: Connection, where: str) -> None:
    """SQLite: a migration that left a dangling reference is rolled back."""
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise StoreError(f"{where}: a migration left broken references {broken[:5]}; rolled back")


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
