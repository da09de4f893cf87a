"""Forward-only schema migrations, applied at start in one transaction each.

Append a function to MIGRATIONS to change the schema; never edit a released one.
A database whose version is newer than the code's is refused, never altered.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select

from monitor.errors import SchemaTooNewError
from monitor.store import schema

Migration = Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


MIGRATIONS: list[Migration] = [_initial]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    row = conn.execute(
        select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else 0


def migrate(conn_factory: Callable[[], Connection], where: str) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before."""
    with conn_factory() as conn:
        found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"{where}: database schema version {found} is newer than this monitor "
            f"understands ({SCHEMA_VERSION}); upgrade monitor or use another database. "
            "The database was not modified."
        )
    for version in range(found, SCHEMA_VERSION):
        with conn_factory() as conn, conn.begin():
            MIGRATIONS[version](conn)
            _set_version(conn, version + 1)
    return found


def _set_version(conn: Connection, version: int) -> None:
    table = schema.meta
    conn.execute(table.delete().where(table.c.key == "schema_version"))
    conn.execute(table.insert().values(key="schema_version", value=str(version)))
