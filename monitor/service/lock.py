"""One daemon per database: an OS-level lock on a file beside it, plus the pid file.

`fcntl.flock` is released by the kernel when the process dies, however it dies, so a
crash never leaves a stale lock behind. The lock file itself is never removed: deleting
a locked file lets a third process lock a fresh inode while a second still waits on the
old one. The pid file is only for operators and `monitor reload`; the lock decides.

The lock belongs to the database file, not to the path that names it: the lock file sits
beside the *resolved* database path (symlinks, `..` and relative paths all lead to the
same lock), and once the database exists the daemon also holds a `flock` on the database
file itself, so even a hard link or a bind mount under another name finds it taken.
(`flock` and SQLite's own POSIX record locks do not interact on local file systems.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from monitor.config import Config
from monitor.errors import AlreadyRunningError


def database_path(config: Config) -> Path | None:
    """The SQLite file the store uses, or None for other databases and `:memory:`."""
    url = config.store.sqlalchemy_url()
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def real_database_path(config: Config) -> Path | None:
    """The database path with every symlink resolved (the file it really is)."""
    db = database_path(config)
    return db.resolve() if db is not None else None


def lock_path(config: Config) -> Path | None:
    db = real_database_path(config)
    return db.with_name(db.name + ".lock") if db is not None else None


def pid_path(config: Config) -> Path:
    """`daemon.pid_file`, by default beside the database (`var/monitor.db` -> `var/monitor.pid`)."""
    if config.daemon.pid_file:
        return Path(config.daemon.pid_file)
    db = database_path(config)
    return db.with_suffix(".pid") if db is not None else Path("monitor.pid")


def database_lock(config: Config) -> DatabaseLock | ServerLock | None:
    """The single-daemon lock for the configured store: a file lock beside a SQLite
    database, an advisory lock on PostgreSQL (nodes of a cluster take none: they share
    the database by design), None for `:memory:` and other servers."""
    url = config.store.sqlalchemy_url()
    if url.startswith("postgresql"):
        return ServerLock(url)
    path, db = lock_path(config), real_database_path(config)
    if path is None or db is None:
        return None
    return DatabaseLock(path, db)


#: The advisory lock a single-node daemon holds on a PostgreSQL store.
SERVER_LOCK_KEY = 0x6D6F6E64  # "mond"


class ServerLock:
    """One single-node daemon per PostgreSQL database: a session advisory lock held on
    a connection of its own for the daemon's lifetime (the server releases it when the
    connection or the process dies, so a crash leaves no stale lock)."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: What logs name as the lock.
        where = make_url(url).render_as_string(hide_password=True)
        self.path = f"advisory lock {SERVER_LOCK_KEY} on {where}"
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def acquire(self) -> None:
        engine = create_engine(self.url, poolclass=NullPool)
        conn = engine.connect()
        got = conn.execute(select(func.pg_try_advisory_lock(SERVER_LOCK_KEY))).scalar_one()
        conn.commit()
        if not got:
            conn.close()
            engine.dispose()
            raise AlreadyRunningError(
                f"another monitor daemon holds the {self.path}; "
                "several nodes on one database need [cluster] enabled = true"
            )
        self._engine, self._conn = engine, conn

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing the session releases it anyway
                self._conn.execute(select(func.pg_advisory_unlock(SERVER_LOCK_KEY)))
                self._conn.commit()
            self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> ServerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_database_file(database: Path) -> int | None:
    """An exclusive flock on the database file itself (its inode, whatever its name),
    created empty when missing (SQLite takes an empty file as an empty database), or None
    when it cannot be opened (the lock file beside it then decides alone).
    BlockingIOError when another process holds it."""
    try:
        fd = os.open(database, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    except OSError:  # a file system without flock: the lock file still decides
        os.close(fd)
        return None
    return fd


class DatabaseLock:
    """Held for the daemon's lifetime; `acquire()` raises AlreadyRunningError if taken."""

    def __init__(self, path: Path, database: Path) -> None:
        self.path = path
        self.database = database
        self._fd: int | None = None
        self._db_fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read_pid(fd)
            os.close(fd)
            raise self._taken(other, self.path) from None
        try:
            self._db_fd = _lock_database_file(self.database)
        except BlockingIOError:
            os.close(fd)
            raise self._taken(None, self.database) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _taken(self, other: int | None, held: Path) -> AlreadyRunningError:
        who = f"pid {other}" if other else "another process"
        return AlreadyRunningError(
            f"another monitor process ({who}) is already using the database "
            f"{self.database} (lock {held} is held)"
        )

    def release(self) -> None:
        if self._db_fd is not None:
            os.close(self._db_fd)
            self._db_fd = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(path: Path) -> int | None:
    """The pid holding the lock at `path`, or None when nobody holds it (checked by
    trying the lock, so a stale pid left by a crash is never reported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def write_pid_file(path: Path) -> None:
    """Write our pid atomically (rename), so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
    tmp.replace(path)


def remove_pid_file(path: Path) -> None:
    """Remove the pid file if it is still ours."""
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text(encoding="ascii").strip()) == os.getpid():
            path.unlink()


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode("ascii").strip())
    except (OSError, ValueError):
        return None
