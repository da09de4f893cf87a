"""Logging set-up: readable lines on a terminal, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: Extra fields a record may carry (`log.info(..., extra={"feed": name})`).
CONTEXT_FIELDS = ("feed", "plugin", "notifier", "route", "story", "item")


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
    """`2026-01-01 12:00:00 INFO  monitor.pipeline  message  feed=kcna`."""

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
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
