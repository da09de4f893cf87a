"""Why a stored item alerted, or did not, on each route: what `monitor explain` prints
and the item page shows.

The classification is the stored one; the classifier's step-by-step explanation is
not stored, so it comes from running the current plugins again on the stored text
when a classifier is given (and a difference from the stored result is pointed out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.alerts.reasons import route_reasons, timing
from monitor.config import Config
from monitor.models import Classification, Item
from monitor.store.base import Store
from monitor.store.web import AlertRecord, ItemRecord

Classifier = Callable[[Item], Classification | None]


@dataclass
class RouteVerdict:
    route: str
    #: "alerted", "silenced", "inhibited", "skipped", "would alert" or "pending"
    status: str
    reasons: list[str] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    note: str | None = None

    def line(self) -> str:
        if self.status in ("alerted", "silenced", "inhibited"):
            parts = []
            for a in self.alerts:
                if a.silenced:
                    parts.append(
                        f"silenced ({a.meta.get('silence') or a.meta.get('silenced_by')}; "
                        f"would have been {a.meta.get('silenced_kind')})"
                    )
                    continue
                if a.inhibited:
                    why = a.meta.get("inhibition") or f"inhibit[{a.meta.get('inhibited_by')}]"
                    parts.append(
                        f"inhibited ({why}; would have been {a.meta.get('inhibited_kind')})"
                    )
                    continue
                sent = ", ".join(f"{d['notifier']} {d['status']}" for d in a.deliveries)
                parts.append(f"{a.kind} alert #{a.id}" + (f" ({sent})" if sent else ""))
            text = "; ".join(parts)
        elif self.status == "skipped":
            text = "no alert: " + "; ".join(self.reasons)
        else:
            text = self.status + (": " + "; ".join(self.reasons) if self.reasons else "")
        return text + (f" [{self.note}]" if self.note else "")


@dataclass
class Explanation:
    record: ItemRecord
    routes: list[RouteVerdict]
    explanation: tuple[str, ...] = ()
    fresh: Classification | None = None
    #: What differs between the stored classification and the current plugins' answer.
    changed: list[str] = field(default_factory=list)
    threshold: float = 0.5

    @property
    def classification(self) -> Classification | None:
        return self.record.classification

    def to_json(self) -> dict[str, Any]:
        r, c = self.record, self.record.classification
        return {
            "item": r.id,
            "title": r.item.title,
            "url": r.item.url,
            "feed": r.item.feed,
            "sources": r.sources,
            "state": r.state,
            "story": r.story_id,
            "classification": c.to_contract(r.item.id, self.threshold) if c else None,
            "explanation": list(self.explanation),
            "changed_since_stored": self.changed,
            "routes": [
                {"route": v.route, "status": v.status, "reasons": v.reasons, "note": v.note,
                 "alerts": [a.id for a in v.alerts], "text": v.line()}
                for v in self.routes
            ],
            "feedback": [
                {"verdict": f["verdict"], "type": f["type"], "comment": f["comment"]}
                for f in r.feedback
            ],
        }  # fmt: skip


def explain_item(
    store: Store,
    record: ItemRecord,
    config: Config,
    classifier: Classifier | None = None,
    now: datetime | None = None,
) -> Explanation:
    threshold = config.classifier.type_threshold
    c = record.classification
    alerted = store.story_routes_alerted(record.story_id) if record.story_id else {}
    when = record.classified_at or now or datetime.now(UTC)
    verdicts = []
    for route in config.effective_routes():
        mine = [a for a in record.alerts if a.route == route.name]
        reasons = route_reasons(route, record.item, c, threshold)
        if mine:
            status = muted_status(mine)
            verdicts.append(RouteVerdict(route.name, status, [], mine, timing(route, when)))
        elif record.state != "done":
            verdicts.append(RouteVerdict(route.name, "pending", [f"item is {record.state}"]))
        elif reasons:
            verdicts.append(RouteVerdict(route.name, "skipped", reasons))
        elif route.name in alerted:
            first = alerted[route.name]
            why = f"story #{record.story_id} already alerted on this route (item #{first})"
            verdicts.append(RouteVerdict(route.name, "skipped", [why]))
        else:
            why = "matches the route now; it did not when the item was processed"
            verdicts.append(RouteVerdict(route.name, "would alert", [why], [], timing(route, when)))
    out = Explanation(record, verdicts, threshold=threshold)
    if classifier is not None:
        fresh = classifier(record.item)
        out.fresh = fresh
        out.explanation = tuple(fresh.explanation) if fresh else ("no classifier answered",)
        out.changed = differences(c, fresh, threshold)
    return out


def muted_status(alerts: list[AlertRecord]) -> str:
    """ "alerted" when any of a route's alerts was delivered; else why none was."""
    if not all(a.muted for a in alerts):
        return "alerted"
    return "silenced" if all(a.silenced for a in alerts) else "inhibited"


def differences(
    old: Classification | None, new: Classification | None, threshold: float
) -> list[str]:
    """What the current plugins answer differently from the stored classification."""
    if old is None and new is None:
        return []
    if old is None or new is None:
        return ["classified now" if old is None else "no classifier answers now"]
    found = []
    if old.relevant != new.relevant:
        found.append(f"relevant {old.relevant} -> {new.relevant}")
    if abs(old.score - new.score) >= 0.01:
        found.append(f"score {old.score:.2f} -> {new.score:.2f}")
    if old.primary != new.primary:
        found.append(f"primary {old.primary} -> {new.primary}")
    before, after = set(old.reported_types(threshold)), set(new.reported_types(threshold))
    if before != after:
        found.append(f"types {','.join(sorted(before)) or '-'} -> {','.join(sorted(after)) or '-'}")
    return found


def render(e: Explanation) -> list[str]:
    """The explanation as text lines (the caller makes them inert for a terminal)."""
    r, c = e.record, e.record.classification
    lines = [f"item #{r.id}: {r.item.title or '(no title)'}"]
    lines.append(f"  url: {r.item.url or '-'}")
    lines.append(f"  feed: {', '.join(r.sources) or r.item.feed or '-'}; state: {r.state}")
    if c is None:
        lines.append("  classification: none (no classifier answered, or not processed yet)")
    else:
        types = ", ".join(f"{t} {s:.2f}" for t, s in c.reported_types(e.threshold).items())
        lines.append(
            f"  classification: {'relevant' if c.relevant else 'not relevant'}, score "
            f"{c.score:.2f}, primary {c.primary or '-'}, types {types or '-'}"
        )
        lines.append(
            f"  actors: {', '.join(c.actors) or '-'}; places: {', '.join(c.places) or '-'}; "
            f"event date: {c.event_date or '-'}; direction: {c.direction or '-'}; "
            f"status: {c.status or '-'}; language: {c.language or r.item.language or '-'}"
        )
        for ev in c.evidence:
            if ev.type in c.reported_types(e.threshold):
                lines.append(f"  evidence ({ev.type}): {ev.text}")
    if r.story_id:
        lines.append(f"  story: #{r.story_id}")
    lines.append("routes:")
    for v in e.routes:
        lines.append(f"  {v.route}: {v.line()}")
    if e.explanation:
        lines.append("classifier explanation (current plugins):")
        lines += [f"  {line}" for line in e.explanation]
    if e.changed:
        lines.append("differs from the stored classification: " + "; ".join(e.changed))
    for f in r.feedback:
        what = f["verdict"] + (f": {f['type']}" if f["type"] else "")
        lines.append(f"feedback: {what} {f['comment']}".rstrip())
    return lines
