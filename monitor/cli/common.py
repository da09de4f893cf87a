"""Helpers shared by commands: the config option, loading it, printing errors."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from monitor.config import DEFAULT_CONFIG, Config, load_config
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.host.manager import PluginHost


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=str(DEFAULT_CONFIG),
        metavar="FILE",
        help=f"configuration file (default: {DEFAULT_CONFIG})",
    )


def add_optional_config_option(parser: argparse.ArgumentParser) -> None:
    """For commands that also work without a config (classify, eval, plugins)."""
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help=f"configuration file (default: {DEFAULT_CONFIG} when it exists)",
    )


def optional_config(path: str | None) -> Config:
    """The named config; else the default file when present; else built-in defaults."""
    if path:
        return load_config(path)
    if DEFAULT_CONFIG.exists():
        return load_config(DEFAULT_CONFIG)
    return Config()


def started_host(path: str | None) -> tuple[Config, PluginHost]:
    """The optional config and a plugin host with every plugin loaded and started;
    prints every config problem and exits 1 when the config is invalid."""
    from monitor.host.loader import build_host

    try:
        config = optional_config(path)
    except ConfigError as exc:
        fail(str(exc))
        raise SystemExit(1) from exc
    host = build_host(config)
    host.startup()
    return config, host


def config_or_exit(path: str, *, secrets: bool = True) -> Config:
    """Load the config, or print every problem and exit 1."""
    config = config_or_report(path, secrets=secrets)
    if config is None:
        raise SystemExit(1)
    return config


def config_or_report(path: str, *, secrets: bool = True) -> Config | None:
    """The config, or None once every problem is printed. `secrets=False` for commands
    that only read the store: an unset `${NAME}` is then no problem."""
    try:
        return load_config(path, secrets=secrets)
    except ConfigError as exc:
        fail(str(exc))
        return None


def fail(message: str) -> None:
    print(f"monitor: {message}", file=sys.stderr)
