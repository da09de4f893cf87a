"""What every notifier shows: one view of an alert, and text helpers.

Console, Slack, email and webhook all build from `view()` so that they say the same
things about an alert; each then only decides how to mark it up. Nothing here does I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from monitor.models import Alert, Evidence
from monitor.notify import feedhealth
from monitor.taxonomy import CONTACT_TYPES, DEFAULT_TYPE_THRESHOLD

ELLIPSIS = "…"

TYPE_LABELS: Mapping[str, str] = {
    "summit": "summit",
    "high_level_visit": "high-level visit",
    "delegation": "delegation",
    "military": "military cooperation",
    "security": "security cooperation",
    "agreement": "agreement",
    "message": "message",
    "economic": "economic cooperation",
    "media_culture": "media & culture",
}
DIRECTION_LABELS: Mapping[str, str] = {
    "ru_to_kp": "Russia → DPRK",
    "kp_to_ru": "DPRK → Russia",
    "third": "third country",
}
KIND_LABELS: Mapping[str, str] = {
    "new": "New",
    "update": "Update",
    "followup": "Follow-up",
    **feedhealth.LABELS,
}

# Characters that could end a line or steer a terminal: C0/C1 controls and the Unicode
# line/paragraph separators. Format characters (Cf) stay: scripts and emoji need them.
_BREAKING = {"Cc", "Zl", "Zp"}
_SPACES = re.compile(r"\s+")


# --- text helpers ------------------------------------------------------------------


def clean_line(text: str | None) -> str:
    """One line of feed text: control characters and line breaks become single spaces,
    so that feed text can neither add lines (headers, log records) nor send escapes."""
    if not text:
        return ""
    out = "".join(" " if unicodedata.category(c) in _BREAKING else c for c in text)
    return _SPACES.sub(" ", out).strip()


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut on a word boundary with "…"."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit == 1:
        return ELLIPSIS
    head = text[: limit - 1]
    cut = head.rstrip()
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit // 2:  # cut on a word unless that throws most of the text away
        cut = cut[:space]
    return cut.rstrip(" \n,;:–—-") + ELLIPSIS


def slack_escape(text: str) -> str:
    """Escape Slack's control characters so feed text cannot mention, ping or link.

    With &, < and > escaped, `<!channel>`, `<@U123>` and `<https://x|y>` show as text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """Truncate, then escape, so that the escaped text fits `limit` and no entity is cut."""
    cut = limit
    while True:
        out = escape(truncate(text, cut))
        if len(out) <= limit:
            return out
        cut -= max(1, len(out) - limit)


def is_web_url(url: str | None) -> bool:
    """Only http(s) links are rendered as links: no javascript:, data: or mailto: from feeds."""
    return bool(url) and re.match(r"^https?://[^\s<>\"]+$", url or "", re.I) is not None


def type_label(slug: str) -> str:
    """Human label of a contact type: "high_level_visit" -> "high-level visit"."""
    return TYPE_LABELS.get(slug, slug.replace("_", " "))


def join(parts: Iterable[str | None], sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


# --- the view ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """The strongest evidence: the sentence supporting the best-scored reported type."""

    type: str
    text: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """What a notifier shows of one alert, as clean single-line plain text (not escaped)."""

    kind: str
    headline: str
    url: str | None
    feed: str
    language: str
    published: datetime | None
    score: float
    types: tuple[tuple[str, float], ...]
    new_types: tuple[str, ...]
    primary: str | None
    actors: tuple[str, ...]
    places: tuple[str, ...]
    event_date: date | None
    direction: str | None
    status: str | None
    quote: Quote | None
    sources: tuple[str, ...]
    story_id: int
    thread_ref: str | None
    #: Labelled lines that replace the contact details (a feed-health alert's).
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def is_feed_health(self) -> bool:
        """A feed's health, not a contact: "feed down" or "feed recovered"."""
        return self.kind in feedhealth.LABELS

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind.capitalize())

    @property
    def types_text(self) -> str:
        """ "summit 0.94 · military cooperation 0.78" (scores as 0..1, two decimals)."""
        return join(f"{type_label(t)} {s:.2f}" for t, s in self.types)

    @property
    def new_types_text(self) -> str:
        return ", ".join(type_label(t) for t in self.new_types)

    @property
    def actors_text(self) -> str:
        return ", ".join(self.actors)

    @property
    def where_when_text(self) -> str:
        """ "Pyongyang · 2024-06-19" (places, then the event date)."""
        date_text = self.event_date.isoformat() if self.event_date else None
        return join([", ".join(self.places), date_text])

    @property
    def direction_text(self) -> str:
        return DIRECTION_LABELS.get(self.direction or "", self.direction or "")

    @property
    def source_text(self) -> str:
        """ "TASS · en · 2024-06-19 08:30 UTC"."""
        published = self.published.strftime("%Y-%m-%d %H:%M UTC") if self.published else None
        return join([self.feed, self.language, published])

    @property
    def outlets_text(self) -> str:
        """Who (also) reported it: the item's feed, else the outlets the host listed."""
        return self.feed or ", ".join(self.sources) or "another outlet"

    def details(self) -> list[tuple[str, str]]:
        """Labelled lines every rich notifier shows, in order; empty ones left out."""
        if self.notes:
            return [(label, value) for label, value in self.notes if value]
        rows = [
            ("New types", self.new_types_text if self.kind == "update" else ""),
            ("Types", self.types_text),
            ("Actors", self.actors_text),
            ("Where / when", self.where_when_text),
            ("Direction", self.direction_text),
            ("Status", self.status or ""),
            ("Source", self.source_text),
        ]
        return [(label, value) for label, value in rows if value]


def view(alert: Alert, threshold: float = DEFAULT_TYPE_THRESHOLD) -> AlertView:
    """Build the shared view of `alert`: reported types strongest first, the new ones of
    an update (against `item.meta["previous_types"]`), and the strongest evidence.
    Feeds are named by their configured title where they have one (the store puts them
    in `item.meta["feed_titles"]`); a feed-health alert gets its own labelled lines."""
    item, cls = alert.item, alert.classification
    titles = feed_titles(alert)
    types = tuple(cls.reported_types(threshold).items())
    previous = item.meta.get("previous_types") or ()
    new_types = tuple(t for t, _ in types if t not in previous) if alert.kind == "update" else ()
    return AlertView(
        kind=alert.kind,
        headline=clean_line(item.title) or clean_line(item.summary)[:200] or "(untitled)",
        url=item.url if is_web_url(item.url) else None,
        feed=clean_line(titles.get(item.feed or "") or item.feed),
        language=clean_line(cls.language or item.language),
        published=item.published,
        score=cls.score if math.isfinite(cls.score) else 0.0,
        types=types,
        new_types=new_types,
        primary=cls.primary,
        actors=tuple(a for a in map(clean_line, cls.actors) if a),
        places=tuple(p for p in map(clean_line, cls.places) if p),
        event_date=cls.event_date,
        direction=cls.direction,
        status=cls.status,
        quote=_strongest(cls.evidence, [t for t, _ in types]),
        sources=tuple(s for s in (clean_line(titles.get(x) or x) for x in alert.sources) if s),
        story_id=alert.story_id,
        thread_ref=alert.thread_ref,
        notes=_health_notes(alert, titles),
    )


def feed_titles(alert: Alert) -> Mapping[str, str]:
    """Feed name -> configured title, for the feeds of this alert that have one."""
    found = alert.item.meta.get("feed_titles")
    if not isinstance(found, Mapping):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str) and v}


def _health_notes(alert: Alert, titles: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A feed-health alert's lines, one clean line each; () for any other alert."""
    details = alert.item.meta.get("feed_health")
    if alert.kind not in feedhealth.LABELS or not isinstance(details, Mapping):
        return ()
    name = alert.item.feed or str(details.get("feed") or "")
    rows = feedhealth.notes(alert.kind, name, titles.get(name), details)
    return tuple((label, clean_line(value)) for label, value in rows)


def _strongest(evidence: Sequence[Evidence], ranked: Sequence[str]) -> Quote | None:
    """Evidence for the best-ranked reported type; any evidence when none supports one."""
    rank = {t: i for i, t in enumerate([*ranked, *CONTACT_TYPES])}
    usable = [e for e in evidence if clean_line(e.text)]
    if not usable:
        return None
    best = min(usable, key=lambda e: rank.get(e.type, len(rank)))
    return Quote(type=best.type, text=clean_line(best.text))


def stories(alerts: Sequence[Alert]) -> list[tuple[AlertView, list[AlertView]]]:
    """Group a digest by story, in first-seen order: (lead report, its follow-ups).

    The lead is the story's first non-followup alert, else its first alert.
    """
    groups: dict[int, list[AlertView]] = {}
    for alert in alerts:
        groups.setdefault(alert.story_id, []).append(view(alert))
    out = []
    for views in groups.values():
        lead = next((v for v in views if v.kind != "followup"), views[0])
        out.append((lead, [v for v in views if v is not lead]))
    return out
