"""`monitor run`: the daemon, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.daemon import EXIT_CONFIG, Daemon
from monitor.errors import ConfigError, StoreError
from monitor.logs import setup_logging
from monitor.runtime import Runtime

log = logging.getLogger("monitor")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run the daemon in the foreground", description=__doc__)
    add_config_option(p)
    p.add_argument(
        "--log-format", choices=["text", "json"], help="log line format (default: config)"
    )
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config)
    setup_logging(
        args.log_format or config.daemon.log_format, args.log_level or config.daemon.log_level
    )
    try:
        runtime = Runtime(config)
    except ConfigError as exc:
        fail(str(exc))
        return EXIT_CONFIG
    except StoreError as exc:
        fail(str(exc))
        return EXIT_CONFIG

    async def main() -> int:
        async with runtime:
            return await Daemon(runtime).run()

    return asyncio.run(main())
