"""Notifier kind "console": alerts as readable blocks on standard output.

The default destination, and the one to try a configuration with. Feed text is reduced
to single lines without control characters, so a hostile title cannot forge lines or
send terminal escape sequences.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from monitor.errors import DeliveryError
from monitor.hookspecs import NotifierFactory, hookimpl
from monitor.models import Alert, Delivery
from monitor.notify import parse_options
from monitor.notify.render import AlertView, stories, truncate, type_label, view

QUOTE_LIMIT = 400


class ConsoleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(100, ge=40, le=1000, description="Rule width of the digest header.")


class ConsoleNotifier:
    """Prints alerts; `sys.stdout` is looked up at each send so redirection and capture work."""

    def __init__(self, name: str, options: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.options = parse_options(ConsoleOptions, name, options or {})

    def __repr__(self) -> str:
        return f"ConsoleNotifier(name={self.name!r})"

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        if not alerts:
            return Delivery(detail="nothing to send")
        text = self._digest(alerts) if digest else "\n".join(block(view(a)) for a in alerts)
        try:
            out = sys.stdout
            out.write(text + "\n")
            out.flush()
        except (BrokenPipeError, ValueError) as exc:  # closed stream or reader gone: for good
            raise DeliveryError(f"console: stdout is closed ({exc})", permanent=True) from None
        except OSError as exc:
            raise DeliveryError(f"console: cannot write to stdout ({exc})") from None
        return Delivery(detail="printed")

    def close(self) -> None:
        """Nothing to release: stdout belongs to the process."""

    def _digest(self, alerts: Sequence[Alert]) -> str:
        grouped = stories(alerts)
        title = f" monitor digest: {len(grouped)} stories, {len(alerts)} reports "
        lines = [title.center(self.options.width, "=")]
        for lead, followups in grouped:
            lines.append(block(lead, followups))
        return "\n".join(lines)


def block(v: AlertView, followups: Sequence[AlertView] = ()) -> str:
    """One alert as an indented block: headline line, then labelled detail lines."""
    if v.kind == "followup" and not followups:
        lines = [f"[{v.kind_label}] Also reported by {v.outlets_text}: {v.headline}"]
        if v.url:
            lines.append(f"    {v.url}")
        return "\n".join(lines) + "\n"
    lines = [f"[{v.kind_label}] {v.headline}"]
    if v.url:
        lines.append(f"    {v.url}")
    lines += [f"    {label.lower()}: {value}" for label, value in v.details()]
    if v.quote:
        quote = truncate(v.quote.text, QUOTE_LIMIT)
        lines.append(f"    evidence ({type_label(v.quote.type)}): “{quote}”")
    for f in followups:
        lines.append(f"    also reported by {f.outlets_text}: {f.headline}")
        if f.url:
            lines.append(f"        {f.url}")
    return "\n".join(lines) + "\n"


@hookimpl
def monitor_notifier_kinds() -> dict[str, NotifierFactory]:
    return {"console": ConsoleNotifier}
