"""`monitor run`: the daemon, in the foreground.

Exit codes (see monitor.service.daemon.ExitCode and docs/operations.md): 0 stopped cleanly,
1 crashed, 75 another daemon holds the database, 78 invalid config or unusable
database (do not restart), 130 forced stop by a second signal.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

import monitor
from monitor.cli.common import add_config_option, fail
from monitor.config import Config, load_config
from monitor.errors import AlreadyRunningError, ConfigError, StoreError
from monitor.service import logs
from monitor.service.daemon import Daemon, ExitCode
from monitor.service.health import parse_address
from monitor.service.lock import (
    DatabaseLock,
    ServerLock,
    database_lock,
    pid_path,
    remove_pid_file,
    write_pid_file,
)
from monitor.service.logs import setup_logging
from monitor.service.runtime import Runtime
from monitor.store.migrations import SCHEMA_VERSION

log = logging.getLogger("monitor.service.daemon")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the daemon in the foreground",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(p)
    p.add_argument(
        "--log-format", choices=["text", "json"], help="log line format (default: config)"
    )
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="run as a node of a cluster on the PostgreSQL store (as [cluster] enabled = true)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    # A SIGHUP that arrives before the daemon's own handler is installed must not kill
    # it (the default action would): `monitor reload` may race a start.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        fail(str(exc))
        return ExitCode.CONFIG
    setup_logging(
        args.log_format or config.daemon.log_format, args.log_level or config.daemon.log_level
    )
    if getattr(args, "cluster", False) or config.cluster.enabled:
        return run_cluster(config)
    return run(config)


def run_cluster(config: Config) -> int:
    """A cluster node's whole life (monitor.cluster): no file lock, the database and
    the queue arbitrate between nodes; returns the exit code."""
    log.info("starting monitor %s (pid %d) as a cluster node with %s", monitor.__version__,
             os.getpid(), config.source, extra={"phase": "start"})  # fmt: skip
    if make_url(config.store.sqlalchemy_url()).get_backend_name() != "postgresql":
        log.error("%s: a cluster needs [store] url = \"postgresql+psycopg://...\"", config.source,
                  extra={"phase": "start"})  # fmt: skip
        return ExitCode.CONFIG
    try:
        parse_address(config.daemon.http)
        from monitor.cluster import run_node
    except ValueError as exc:
        log.error("%s: %s", config.source, exc, extra={"phase": "start"})
        return ExitCode.CONFIG
    except ImportError as exc:
        log.error("a cluster node needs the cluster extra (pip install 'monitor[cluster]'): %s",
                  exc, extra={"phase": "start"})  # fmt: skip
        return ExitCode.CONFIG
    pid_file = Path(config.daemon.pid_file) if config.daemon.pid_file else None
    loop = asyncio.new_event_loop()
    try:
        ready = (lambda: write_pid_file(pid_file)) if pid_file else None
        code = loop.run_until_complete(run_node(config, on_ready=ready))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except (ConfigError, StoreError) as exc:
        log.error("%s", exc, extra={"phase": "start"})
        return ExitCode.CONFIG
    except Exception:
        log.critical("crashed", exc_info=True, extra={"phase": "stop"})
        return ExitCode.CRASH
    finally:
        loop.close()
        if pid_file is not None:
            remove_pid_file(pid_file)
    log.info("stopped", extra={"phase": "stop"})
    if _busy_threads(grace=1.0):
        logs.flush()
        os._exit(code)
    return code


def run(config: Config) -> int:
    """The daemon's whole life: lock, open, start, run, stop; returns the exit code."""
    log.info("starting monitor %s (pid %d) with %s", monitor.__version__, os.getpid(),
             config.source, extra={"phase": "start"})  # fmt: skip
    lock = _lock(config)
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunningError as exc:
        log.error("%s; not starting", exc, extra={"phase": "start"})
        return ExitCode.TEMPFAIL
    except OSError as exc:
        log.error("cannot take the database lock %s: %s", lock.path if lock else "", exc)
        return ExitCode.CONFIG
    if lock is not None:
        log.info("lock taken: %s", lock.path, extra={"phase": "start"})
    pid_file = pid_path(config)
    try:
        return _run_locked(config, pid_file)
    finally:
        remove_pid_file(pid_file)
        if lock is not None:
            lock.release()


def _run_locked(config: Config, pid_file: Path) -> int:
    try:
        parse_address(config.daemon.http)
    except ValueError as exc:
        log.error("%s: %s", config.source, exc, extra={"phase": "start"})
        return ExitCode.CONFIG
    try:
        runtime = Runtime(config)  # opens and migrates the store, loads plugins, notifiers
    except ConfigError as exc:
        log.error("%s", exc, extra={"phase": "start"})
        return ExitCode.CONFIG
    except StoreError as exc:
        log.error("cannot open the store: %s", exc, extra={"phase": "start"})
        return ExitCode.CONFIG
    _log_parts(runtime)

    async def main() -> int:
        async with runtime:  # startup hooks, in-flight deliveries recovered
            log.info("startup hooks done", extra={"phase": "start"})
            return await Daemon(runtime).run(on_ready=lambda: write_pid_file(pid_file))

    # Not asyncio.run(): it waits without limit for worker threads, and a thread stuck
    # in a send or a plugin call must not hold the exit beyond the drain bound.
    loop = asyncio.new_event_loop()
    try:
        code = loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:
        log.critical("crashed", exc_info=True, extra={"phase": "stop"})
        return ExitCode.CRASH
    finally:
        loop.close()
    stuck = _busy_threads(grace=1.0)
    log.info("stopped", extra={"phase": "stop"})
    if stuck:
        # Whatever they were doing is recovered at the next start, as after a crash.
        log.warning("%d worker thread(s) still busy; not waiting for them", len(stuck),
                    extra={"phase": "stop"})  # fmt: skip
        remove_pid_file(pid_file)
        logs.flush()
        os._exit(code)
    return code


def _busy_threads(grace: float) -> list[threading.Thread]:
    """Worker threads still alive after `grace` seconds (idle pool workers exit at once)."""
    deadline = time.monotonic() + grace
    others = [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in others if t.is_alive()]


def _lock(config: Config) -> DatabaseLock | ServerLock | None:
    lock = database_lock(config)
    if lock is None:
        log.info("store is neither a SQLite file nor PostgreSQL: no single-daemon lock taken")
    return lock


def _log_parts(runtime: Runtime) -> None:
    where = make_url(runtime.store.where).render_as_string(hide_password=True)
    log.info("store open: %s (schema version %d)", where, SCHEMA_VERSION,
             extra={"phase": "start"})  # fmt: skip
    infos = runtime.host.infos.values()
    loaded = sorted(i.name for i in infos if i.status == "loaded")
    failed = sorted(i.name for i in infos if i.status == "failed")
    log.info("plugins loaded: %s%s", ", ".join(loaded) or "none",
             f"; failed: {', '.join(failed)}" if failed else "",
             extra={"phase": "start"})  # fmt: skip
    log.info("notifiers: %s", ", ".join(sorted(runtime.notifiers)) or "none",
             extra={"phase": "start"})  # fmt: skip
