"""Logging set-up: readable lines on a terminal, JSON lines for log collectors.

Context travels as `extra=` fields (`log.info(..., extra={"feed": name})`): the text
format appends them as `key=value`, the JSON format makes them keys of their own, so a
collector can filter on `feed` or `notifier` without parsing messages.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: Extra fields a record may carry (`log.info(..., extra={"feed": name})`).
CONTEXT_FIELDS = ("feed", "plugin", "notifier", "route", "story", "item", "job", "phase")
NOISY = ("httpx", "httpcore", "apscheduler", "trafilatura", "asyncio")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, event and context fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-01-01 12:00:00 INFO  monitor.service.pipeline  message  feed=kcna`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [
            f"{n}={getattr(record, n)}"
            for n in CONTEXT_FIELDS
            if getattr(record, n, None) is not None
        ]
        return f"{line}  {' '.join(context)}" if context else line


def setup_logging(fmt: str = "text", level: str = "INFO", stream: Any = None) -> None:
    """Send every `monitor.*` and plugin log to stderr in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)


def set_level(level: str) -> None:
    """Change the level of a running process (a config reload may change it)."""
    logging.getLogger().setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def flush() -> None:
    """Flush every handler: called before an immediate exit skips the usual clean-up."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(OSError, ValueError):
            handler.flush()
