"""`monitor once`: one full cycle (poll every feed, classify, deliver), then exit."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.config import Config
from monitor.errors import AlreadyRunningError, ConfigError, StoreError
from monitor.service.daemon import ExitCode
from monitor.service.lock import database_lock
from monitor.service.logs import setup_logging
from monitor.service.runtime import CycleReport, Runtime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "once", help="poll every feed once, classify, deliver, exit", description=__doc__
    )
    add_config_option(p)
    p.add_argument(
        "--log-format", choices=["text", "json"], help="log line format (default: config)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress too")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config)
    # Each failure is told once, by its log line (a feed's warning, a dead letter's
    # error); the summary at the end only counts. --verbose adds progress lines.
    setup_logging(
        args.log_format or config.daemon.log_format, "INFO" if args.verbose else "WARNING"
    )
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
    return int(outcome(report))


def outcome(report: CycleReport) -> ExitCode:
    """OK, or UNAVAILABLE when the run reached none of its feeds or dead-lettered a
    delivery: a scheduler (cron, systemd timer, CI) then sees the failure."""
    if report.polls and all(p.error for p in report.polls):
        return ExitCode.UNAVAILABLE
    if report.delivery.dead:
        return ExitCode.UNAVAILABLE
    return ExitCode.OK
