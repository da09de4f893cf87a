"""Many-row INSERTs without SQLAlchemy's per-execution overhead.

A poll's batch is an executemany of ~20 rows; SQLAlchemy spends more on it (statement
cache lookup, parameter construction, a bind processor call per value through several
layers) than SQLite does on the rows. `insert_many` compiles the INSERT once per table,
columns and dialect, converts each value with the column type's own bind processor
(the same conversion SQLAlchemy applies, so the stored values are the same), and hands
the tuples to the driver's executemany.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

_Processor = Callable[[Any], Any] | None
_Plan = tuple[str, tuple[str, ...], tuple[_Processor, ...]]
_plans: dict[tuple[str, tuple[str, ...], str], _Plan] = {}
_lock = threading.Lock()


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (all with the same keys) into `table` in one executemany.

    On a dialect other than SQLite, or when a column left out has a Python-side default
    (which only SQLAlchemy's execution would fill in), it is a plain `conn.execute`."""
    if not rows:
        return
    columns = tuple(rows[0])
    plan = _plan(conn, table, columns) if conn.dialect.name == "sqlite" else None
    if plan is None:
        conn.execute(table.insert(), list(rows))
        return
    sql, order, processors = plan
    columns_values = [
        _converted([row[name] for row in rows], process)
        for name, process in zip(order, processors, strict=True)
    ]
    conn.exec_driver_sql(sql, list(zip(*columns_values, strict=True)))


def _converted(values: list[Any], process: _Processor) -> list[Any]:
    """One column's values through its bind processor, each distinct value once: a
    poll's rows share their times (fetched, updated, first seen)."""
    if process is None:
        return values
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        if isinstance(value, dict | list):  # JSON documents: unhashable
            out.append(process(value))
            continue
        key = (type(value), value)  # 1, 1.0 and True are equal, not the same value
        try:
            out.append(done[key])
        except KeyError:
            out.append(done.setdefault(key, process(value)))
    return out


def chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    """`values` in runs of `size`: the values bound in one `IN (...)` stay well under
    SQLite's limit on bound variables."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _plan(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Plan | None:
    key = (table.name, columns, conn.dialect.name)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    if any(c.default is not None and c.name not in columns for c in table.c):
        return None
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        return None
    processors = tuple(table.c[name].type._cached_bind_processor(conn.dialect) for name in order)
    plan = (str(compiled), order, processors)
    with _lock:
        _plans[key] = plan
    return plan
