"""`monitor reload`: make the running daemon re-read its configuration (SIGHUP).

The config is validated here first, so mistakes are shown at once; the daemon checks
it again and keeps its running configuration if it is invalid. The daemon is found by
its pid file (`daemon.pid_file`, by default beside the database) and confirmed by the
database lock. Exit 0 when the signal was sent; 1 when the config is invalid or no
daemon is running.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from monitor.cli.common import add_config_option, fail
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.service.lock import holder, lock_path, pid_path, read_pid_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "reload",
        help="make the running daemon re-read its configuration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        fail(str(exc))
        fail("not reloading: the daemon would reject this configuration")
        return 1
    pid_file = pid_path(config)
    pid = read_pid_file(pid_file)
    lock = lock_path(config)
    if lock is not None:
        locked_by = holder(lock)
        if locked_by is None:
            fail(f"no daemon is running on {config.store.sqlalchemy_url()} (lock {lock} is free)")
            return 1
        if locked_by > 0:
            pid = locked_by  # the lock is the authority; the pid file is a convenience
    if pid is None:
        fail(f"no daemon found: cannot read the pid file {pid_file}")
        return 1
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        fail(f"no process {pid} (stale pid file {pid_file})")
        return 1
    except PermissionError:
        fail(f"not allowed to signal pid {pid}: run as the daemon's user")
        return 1
    print(
        f"monitor: asked pid {pid} to reload {config.source}; "
        "its log says whether the new configuration was applied",
        file=sys.stderr,
    )
    return 0
