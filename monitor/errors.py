"""One base error for the project; subclasses carry where the problem came from.

Exit codes are chosen only at the CLI edge (`monitor.cli`).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid. `problems` holds every problem, one line each."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s)\n{lines}")


class StoreError(MonitorError):
    """The store cannot be opened or used."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer version of monitor; it is left untouched."""


class PluginError(MonitorError):
    """A plugin failed to load, raised, timed out or returned malformed output."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")


class DeliveryError(MonitorError):
    """A notifier could not deliver. Temporary unless `permanent`; retry no sooner than
    `retry_after` seconds when the service said so (Slack 429, SMTP 4xx)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)


class AlreadyRunningError(MonitorError):
    """Another daemon holds the lock on this database."""
