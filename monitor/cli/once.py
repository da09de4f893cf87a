"""`monitor once`: one full cycle (poll every feed, classify, deliver), then exit."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.config import Config
from monitor.daemon import ExitCode
from monitor.errors import AlreadyRunningError, ConfigError, StoreError
from monitor.lock import database_lock
from monitor.logs import setup_logging
from monitor.runtime import CycleReport, Runtime


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "once", help="poll every feed once, classify, deliver, exit", description=__doc__
    )
    add_config_option(p)
    p.add_argument(
        "--log-format", choices=["text", "json"], help="log line format (default: config)"
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config)
    setup_logging(args.log_format or config.daemon.log_format, "WARNING")
    # Like the daemon, one cycle owns the outbox while it runs: it resends deliveries
    # left in flight, which must not be another live process's.
    lock = database_lock(config)
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunningError as exc:
        fail(str(exc))
        return int(ExitCode.TEMPFAIL)
    try:
        return _once(config)
    finally:
        if lock is not None:
            lock.release()


def _once(config: Config) -> int:
    try:
        runtime = Runtime(config)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
        return 1

    async def main() -> CycleReport:
        async with runtime:
            return await runtime.cycle(flush_digests=True)

    report = asyncio.run(main())
    failed = [p for p in report.polls if p.error]
    relevant = sum(1 for p in report.processed if p.classification and p.classification.relevant)
    print(
        f"monitor once: {len(report.polls)} feed(s) polled ({len(failed)} failed), "
        f"{sum(p.new_items for p in report.polls)} new item(s), {relevant} relevant, "
        f"{report.delivery.sent} delivery(ies) sent, {report.delivery.retried} to retry, "
        f"{report.delivery.dead} dead-lettered",
        file=sys.stderr,
    )
    for poll in failed:
        print(f"  feed {poll.feed}: {poll.error}", file=sys.stderr)
    return 0
