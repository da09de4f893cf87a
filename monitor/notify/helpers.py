"""What every notifier plugin shares besides rendering: option checking, the
Retry-After header, and keeping secrets out of logs and error messages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from monitor.errors import ConfigError
from monitor.ingest.backoff import parse_retry_after

# --- options -----------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def parse_options(
    model: type[M],
    name: str,
    options: Mapping[str, Any],
    checks: Callable[[Mapping[str, Any]], list[str]] | None = None,
) -> M:
    """Validate a notifier's options; raise ConfigError naming every bad key at once.

    Problems read `notifiers.<name>.<key>: <what was expected>`. The offending value is
    never quoted, since it may be a secret. `checks` adds cross-key problems
    ("key: message") computed on the raw options so that they report beside the others.
    """
    problems = list(checks(options)) if checks else []
    try:
        parsed = model.model_validate(dict(options))
    except ValidationError as exc:
        problems = [*_describe(exc), *problems]
    if problems:
        raise ConfigError("", [f"notifiers.{name}.{p}" for p in problems])
    return parsed


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(p) for p in err["loc"]) or "<options>"
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {msg}")
    return problems


def retry_after(value: str | None, default: float | None = None) -> float | None:
    """Seconds from an HTTP Retry-After header (delta seconds or an HTTP date)."""
    seconds = parse_retry_after(value, datetime.now(UTC))
    return default if seconds is None else seconds


# --- secrets -----------------------------------------------------------------------


class RedactFilter(logging.Filter):
    """Masks secret strings in log records of HTTP libraries (httpx logs every request
    URL at INFO, and an incoming-webhook URL is a credential)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may carry a credential: the URL, its path and its query."""
    parts = urlsplit(url)
    return [url, url.rstrip("/"), *(p for p in (parts.path, parts.query) if len(p) > 1)]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by ***, for error messages built from exceptions."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
