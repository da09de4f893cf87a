"""The `monitor` command line. Each command lives in its own module with `register()`;
commands only parse arguments, call the library and choose the exit code."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import monitor

#: Command modules, in the order `monitor --help` lists them.
COMMANDS = (
    "run",
    "reload",
    "once",
    "classify",
    "eval",
    "plugins",
    "check_config",
    "status",
    "send_test_alert",
    # the analyst's workbench (issue 16)
    "explain",
    "replay",
    "web",
    "silence",
    "feedback",
    "feeds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Watch news feeds for Russia–DPRK contacts and alert people.",
    )
    parser.add_argument("--version", action="version", version=f"monitor {monitor.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"monitor.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
