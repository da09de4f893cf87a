"""Logging set-up: readable lines on a terminal, JSON lines for log collectors.

Context travels as `extra=` fields (`log.info(..., extra={"feed": name})`): the text
format appends them as `key=value`, the JSON format makes them keys of their own, so a
collector can filter on `feed` or `notifier` without parsing messages.

Every line is inert: messages and context values often carry text from feeds (titles,
errors quoting a server), so control characters, ESC sequences, bidi overrides and
line breaks in them are written as escapes (`\\x1b`, `\\n`). A traceback keeps its own
lines; what it quotes is made inert line by line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.textsafe import inert, inert_line

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
            "event": inert_line(_message(record)),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value if isinstance(value, int | float) else inert_line(str(value))
        if record.exc_info:
            doc["exception"] = inert(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False, default=str)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # a bad format string must not lose the line
        return f"{record.msg!r} (unformattable: {type(exc).__name__}: {exc})"


class TextFormatter(logging.Formatter):
    """`2026-01-01 12:00:00 INFO  monitor.service.pipeline  message  feed=kcna`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        # Format a copy whose message is already inert; the caller's record is untouched
        # (other handlers may format it their own way).
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = inert_line(_message(record)), None
        safe.exc_text = None
        line = super().format(safe)
        context = [
            f"{n}={inert_line(str(getattr(record, n)))}"
            for n in CONTEXT_FIELDS
            if getattr(record, n, None) is not None
        ]
        return f"{line}  {' '.join(context)}" if context else line

    def formatException(self, ei: Any) -> str:
        return inert(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return inert(super().formatStack(stack_info))


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
