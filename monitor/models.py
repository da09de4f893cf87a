"""The domain model: frozen values handed from stage to stage and to plugins.

Plugins receive these and must not mutate them; stages derive new values with
`dataclasses.replace`. Sequences are tuples so that a value is safe to share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from monitor.taxonomy import CONTACT_TYPES, DEFAULT_TYPE_THRESHOLD

EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return EMPTY


@dataclass(frozen=True, slots=True)
class Item:
    """One article. `id` is its stable identity (entry guid, canonical URL or content hash).

    `text` is the best text known (extracted article, else the feed's summary); `html`
    is the fetched article page, present only while enrichers run and never stored.
    """

    id: str
    title: str = ""
    text: str = ""
    summary: str = ""
    url: str | None = None
    language: str | None = None
    published: datetime | None = None
    fetched: datetime | None = None
    feed: str | None = None
    html: str | None = None
    meta: Mapping[str, Any] = field(default_factory=_empty)

    @property
    def full_text(self) -> str:
        """Title and body as one text: what classifiers read; offsets refer to it."""
        if self.title and not self.text.startswith(self.title):
            return f"{self.title}\n\n{self.text}"
        return self.text


@dataclass(frozen=True, slots=True)
class Evidence:
    """A sentence supporting one type; `start`/`end` are offsets into `Item.full_text`."""

    type: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Classification:
    """What a classifier found in one item. `types` scores all nine contact types (0..1)."""

    relevant: bool
    score: float
    types: Mapping[str, float] = field(default_factory=_empty)
    primary: str | None = None
    actors: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    event_date: date | None = None
    direction: str | None = None
    status: str | None = None
    language: str | None = None
    evidence: tuple[Evidence, ...] = ()
    plugin: str = ""
    plugin_version: str = ""
    explanation: tuple[str, ...] = ()

    def reported_types(self, threshold: float = DEFAULT_TYPE_THRESHOLD) -> dict[str, float]:
        """Types at or above `threshold`, strongest first, in taxonomy order on ties."""
        order = {t: i for i, t in enumerate(CONTACT_TYPES)}
        kept = [(t, s) for t, s in self.types.items() if s >= threshold]
        kept.sort(key=lambda ts: (-ts[1], order.get(ts[0], 99)))
        return dict(kept)

    def to_contract(
        self, item_id: str, threshold: float = DEFAULT_TYPE_THRESHOLD
    ) -> dict[str, Any]:
        """The JSON object of the `monitor classify` contract (DESIGN.md)."""
        types = self.reported_types(threshold)
        return {
            "id": item_id,
            "relevant": self.relevant,
            "score": round(self.score, 4),
            "primary": self.primary,
            "types": {t: round(s, 4) for t, s in types.items()},
            "actors": list(self.actors),
            "places": list(self.places),
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "direction": self.direction,
            "status": self.status,
            "language": self.language,
            "evidence": [
                {"type": e.type, "text": e.text, "start": e.start, "end": e.end}
                for e in self.evidence
                if e.type in types
            ],
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One delivery owed to one route's notifiers.

    `kind` is "new" (first report of a story), "update" (the story gained a type) or
    "followup" (another outlet reported it: a thread reply, a digest line).
    `thread_ref` is what the notifier returned for the story's first message on this
    route (Slack `ts`, email Message-ID), so replies can thread under it.
    """

    id: int
    story_id: int
    route: str
    kind: str
    item: Item
    classification: Classification
    created: datetime
    thread_ref: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notifier's receipt: the service accepted the message.

    `external_id` lets later alerts of the same story thread under it (Slack `ts`,
    email Message-ID); `detail` is the service's answer, shown by `monitor test-alert`.
    """

    external_id: str | None = None
    detail: str = ""
