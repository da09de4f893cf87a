"""Helpers shared by commands: the config option, loading it, printing errors."""

from __future__ import annotations

import argparse
import sys

from monitor.config import DEFAULT_CONFIG, Config, load_config
from monitor.errors import ConfigError, MonitorError


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=str(DEFAULT_CONFIG),
        metavar="FILE",
        help=f"configuration file (default: {DEFAULT_CONFIG})",
    )


def config_or_exit(path: str) -> Config:
    """Load the config, or print every problem and exit 1."""
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
        raise SystemExit(1) from exc


def fail(message: str) -> None:
    print(f"monitor: {message}", file=sys.stderr)


def error_exit(exc: MonitorError, code: int = 1) -> int:
    fail(str(exc))
    return code
