"""Backtest: classification and routing run again over stored items, sending nothing.

Every stored item (since a date) goes, oldest first, through the current plugins and
the real decision (stories, per-route rules, dedupe) against a scratch store, with the
clock set to when the item was first processed. The alerts that replay would write
are then compared, per item and route, with the alerts the store holds: alerts that
would now fire, alerts that would no longer fire, alerts of another kind, and items
whose relevance or types changed. Nothing is written to the real store.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerts.decide import decide
from monitor.alerts.inhibit import INHIBITED
from monitor.alerts.silences import SILENCED
from monitor.alerts.stories import event_window
from monitor.config import Config
from monitor.models import Classification, Item
from monitor.store.base import EntryRecord
from monitor.store.sql import SqlStore
from monitor.store.web import ItemRecord
from monitor.web.explain import differences

Classifier = Callable[[Item], Classification | None]


@dataclass
class Change:
    item: int
    title: str
    kind: str  # the alert's kind ("new", "update", "followup", "inhibited by inhibit[N]"),
    # or "old -> new"

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "title": self.title, "kind": self.kind}


@dataclass
class RouteChanges:
    fire: list[Change] = field(default_factory=list)  # would alert now, did not
    stop: list[Change] = field(default_factory=list)  # alerted, would not now
    kind: list[Change] = field(default_factory=list)  # alerts of another kind
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.fire or self.stop or self.kind)


@dataclass
class ReplayReport:
    items: int = 0
    since: datetime | None = None
    routes: dict[str, RouteChanges] = field(default_factory=dict)
    #: (item id, title, what changed) for items whose classification differs
    classification: list[tuple[int, str, list[str]]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.classification) or any(not r.empty for r in self.routes.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "since": self.since.isoformat() if self.since else None,
            "routes": {
                name: {
                    "would_fire": [c.to_json() for c in r.fire],
                    "would_not_fire": [c.to_json() for c in r.stop],
                    "kind_changed": [c.to_json() for c in r.kind],
                    "unchanged": r.unchanged,
                }
                for name, r in self.routes.items()
            },
            "classification_changes": [
                {"item": i, "title": title, "changes": what}
                for i, title, what in self.classification
            ],
        }

    def render(self) -> list[str]:
        since = f" since {self.since:%Y-%m-%d %H:%M} UTC" if self.since else ""
        fires = sum(len(r.fire) for r in self.routes.values())
        stops = sum(len(r.stop) for r in self.routes.values())
        lines = [
            f"replayed {self.items} stored item(s){since}: {fires} alert(s) would fire that "
            f"did not, {stops} that fired would not, {len(self.classification)} "
            "classification change(s); nothing was sent"
        ]
        for name, r in self.routes.items():
            lines.append(
                f"route {name}: +{len(r.fire)} would fire, -{len(r.stop)} would not fire, "
                f"~{len(r.kind)} of another kind, {r.unchanged} unchanged"
            )
            lines += [f"  + item #{c.item} [{c.kind}] {c.title}" for c in r.fire]
            lines += [f"  - item #{c.item} [{c.kind}] {c.title}" for c in r.stop]
            lines += [f"  ~ item #{c.item} [{c.kind}] {c.title}" for c in r.kind]
        if self.classification:
            lines.append("classification changes:")
            for item_id, title, what in self.classification:
                lines.append(f"  item #{item_id} {title}: {'; '.join(what)}")
        return lines


def replay(
    records: Iterable[ItemRecord],
    config: Config,
    classify: Classifier,
    since: datetime | None = None,
) -> ReplayReport:
    """Run `records` (oldest first) through `classify` and `config`'s routes against a
    scratch store; compare with what the records say happened."""
    report = ReplayReport(since=since)
    threshold = config.classifier.type_threshold
    window = timedelta(seconds=config.stories.window)
    routes = [r.name for r in config.effective_routes()]
    report.routes = {name: RouteChanges() for name in routes}
    with tempfile.TemporaryDirectory(prefix="monitor-replay-") as tmp:
        scratch = SqlStore(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            feeds: dict[str, int] = {}
            for record in records:
                if record.state != "done":  # not decided yet: nothing to compare with
                    continue
                report.items += 1
                item = record.item
                feed = item.feed or "(unknown feed)"
                if feed not in feeds:
                    rows = scratch.sync_feeds([(feed, f"http://replay.invalid/{len(feeds)}")])
                    feeds[feed] = rows[feed].id
                now = record.classified_at or record.fetched_at or item.fetched or item.published
                assert now is not None, "a stored item always has a fetch time"
                entry = EntryRecord(
                    key=item.id,
                    canonical_url=item.meta.get("canonical_url"),
                    url=item.url,
                    title=item.title,
                    summary=item.summary,
                    text=item.text,
                    published=item.published or now,
                    content_hash=hashlib.sha256(item.text.encode()).hexdigest(),
                    language_hint=item.meta.get("feed_language"),
                )
                ((scratch_id, _),), _ = scratch.store_entries(feeds[feed], [entry], now)
                c = classify(item)
                if c is not None and c.relevant:
                    context = scratch.story_context(
                        scratch_id,
                        item.meta.get("canonical_url"),
                        now - window - timedelta(days=30),
                        event_window(c, window),
                        type_threshold=threshold,
                    )
                    decision = decide(scratch_id, item, c, context, config, now)
                    scratch.commit_classification(
                        scratch_id, item, c, decision.story, list(decision.alerts), now,
                        type_threshold=threshold,
                    )  # fmt: skip
                    replayed = scratch.item_record(scratch_id)
                    after = _kinds(replayed.alerts if replayed else [])
                else:
                    scratch.commit_classification(
                        scratch_id, item, c, None, [], now, type_threshold=threshold
                    )
                    after = {}
                before = _kinds(record.alerts)
                title = item.title[:120]
                for name in routes:
                    changes = report.routes[name]
                    old, new = before.get(name), after.get(name)
                    if old == new:
                        changes.unchanged += old is not None
                    elif old is None:
                        changes.fire.append(Change(record.id, title, str(new)))
                    elif new is None:
                        changes.stop.append(Change(record.id, title, old))
                    else:
                        changes.kind.append(Change(record.id, title, f"{old} -> {new}"))
                what = differences(record.classification, c, threshold)
                if what:
                    report.classification.append((record.id, title, what))
        finally:
            scratch.close()
    return report


def _kinds(alerts: Iterable[Any]) -> dict[str, str]:
    """Route -> the kind of the (first) alert this item owes on it; a silenced alert
    counts as the kind it would have had (replay ignores silences), an inhibited one as
    "inhibited by inhibit[N]" (rules are config: replay applies them)."""
    found: dict[str, str] = {}
    for a in alerts:
        if a.kind == SILENCED:
            kind = a.meta.get("silenced_kind", a.kind)
        elif a.kind == INHIBITED:
            kind = f"inhibited by inhibit[{a.meta.get('inhibited_by')}]"
        else:
            kind = a.kind
        found.setdefault(a.route, kind)
    return found
