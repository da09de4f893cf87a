"""`Store` on SQLAlchemy Core: one class made of one part per area (feeds, items,
stories, outbox), over SQLite by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    create_engine,
    event,
)
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import StoreConfig
from monitor.errors import StoreError
from monitor.store import schema as t
from monitor.store.cluster import ClusterStore
from monitor.store.feeds import FeedsStore
from monitor.store.health import HealthStore
from monitor.store.items import ItemsStore
from monitor.store.migrations import check_version, migrate
from monitor.store.outbox import OutboxStore
from monitor.store.stories import StoriesStore
from monitor.store.web import WebStore


def open_store(config: StoreConfig, *, readonly: bool = False) -> SqlStore:
    """Open (creating and migrating as needed) the configured store; `readonly` opens
    an existing one for reading only, and never creates or migrates it."""
    return SqlStore(config.sqlalchemy_url(), readonly=readonly)


class SqlStore(
    FeedsStore, ItemsStore, StoriesStore, OutboxStore, HealthStore, WebStore, ClusterStore
):
    """`monitor.store.base.Store` on SQLAlchemy Core."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.where = url
        self.engine = _readonly_engine(url) if readonly else _engine(url)
        try:
            if readonly:
                check_version(self.engine.connect, url)
            else:
                migrate(self.engine.connect, url)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"{url}: cannot open the store: {exc}") from exc
        except Exception:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def is_writable(self) -> bool:
        """A cheap write that proves the database accepts writes (for /healthz)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(t.meta.delete().where(t.meta.c.key == "healthcheck"))
                conn.execute(t.meta.insert().values(key="healthcheck", value="ok"))
            return True
        except SQLAlchemyError:
            return False


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{url}: cannot create directory {path.parent}: {exc}") from exc
    try:
        engine = create_engine(url, connect_args=_connect_args(url))
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"{url}: cannot open the store: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _readonly_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with mode=ro (a missing file is an
    error, not a new empty database); other servers rely on the caller only reading."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///")).resolve()
        if not path.exists():
            raise StoreError(f"{url}: the database does not exist yet")
        ro = f"sqlite:///file:{path}?mode=ro&uri=true"
        return create_engine(ro, connect_args={"check_same_thread": False, "timeout": 30})
    return _engine(url)


def _connect_args(url: str) -> dict[str, Any]:
    return {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
