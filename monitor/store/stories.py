"""Stories in the store: finding an item's story, and committing its classification,
story and alerts in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    func,
    or_,
    select,
    update,
)

from monitor.alerts.inhibit import INHIBITED
from monitor.models import Classification, Item
from monitor.store import schema as t
from monitor.store.base import (
    AlertedReport,
    NewAlert,
    StoryContext,
    StoryRow,
)
from monitor.store.bulk import chunks
from monitor.store.rows import (
    classification_values,
    dedupe_key,
    jsonable,
    new_id,
    stories_query,
    story_row,
)
from monitor.taxonomy import DEFAULT_TYPE_THRESHOLD


class StoriesStore:
    engine: Engine

    def story_candidates(
        self, canonical_url: str | None, since: datetime, event_dates: tuple[date, date] | None
    ) -> list[StoryRow]:
        """Stories this item may belong to: same canonical URL, or recent stories whose
        event date falls in the window (the caller compares types and actors)."""
        with self.engine.connect() as conn:
            return _candidates(conn, canonical_url, since, event_dates)

    def item_story(self, item_id: int) -> StoryRow | None:
        """The story an item already belongs to: an item processed again (its text was
        edited) stays in its story instead of being matched, and maybe alerting, anew."""
        with self.engine.connect() as conn:
            return _own_story(conn, item_id)

    def story_context(
        self,
        item_id: int,
        canonical_url: str | None,
        since: datetime,
        event_dates: tuple[date, date] | None,
        *,
        type_threshold: float = DEFAULT_TYPE_THRESHOLD,
    ) -> StoryContext:
        """Everything deciding about one item needs, read together: the story it is
        already in, else the candidates, and each one's items, alerted routes and
        alerts (with their reports' types, at `type_threshold`)."""
        with self.engine.connect() as conn:
            return _context(conn, item_id, canonical_url, since, event_dates, type_threshold)

    def decide_and_commit(
        self,
        item_id: int,
        item: Item,
        classification: Classification,
        now: datetime,
        *,
        since: datetime,
        event_dates: tuple[date, date] | None,
        decide: Callable[[StoryContext], tuple[StoryRow | None, Sequence[NewAlert]]],
        type_threshold: float = DEFAULT_TYPE_THRESHOLD,
    ) -> list[int]:
        """Read the item's story context, `decide` (a pure function of it), write the
        result. On PostgreSQL all three happen in one transaction holding an advisory
        lock on the story key space, so two processes never open two stories (and two
        alerts) for one event. SQLite has one writing process (the database lock), so
        there the read runs first and the write after, as `commit_classification`."""
        if self.engine.dialect.name != "postgresql":
            context = self.story_context(
                item_id,
                item.meta.get("canonical_url"),
                since,
                event_dates,
                type_threshold=type_threshold,
            )
            story, alerts = decide(context)
            return self.commit_classification(
                item_id, item, classification, story, alerts, now, type_threshold=type_threshold
            )
        with self.engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(STORY_LOCK_KEY)))
            context = _context(
                conn, item_id, item.meta.get("canonical_url"), since, event_dates, type_threshold
            )
            story, alerts = decide(context)
            return self._commit(conn, item_id, item, classification, story, alerts, now,
                                type_threshold)  # fmt: skip

    def commit_classification(
        self,
        item_id: int,
        item: Item,
        classification: Classification | None,
        story: StoryRow | None,
        alerts: Sequence[NewAlert],
        now: datetime,
        *,
        type_threshold: float = DEFAULT_TYPE_THRESHOLD,
    ) -> list[int]:
        """In ONE transaction: the enriched item, its classification, its story and the
        alerts it owes (the outbox). Alerts whose dedupe key exists are skipped.
        Returns the ids of the alerts written."""
        with self.engine.begin() as conn:
            return self._commit(
                conn, item_id, item, classification, story, alerts, now, type_threshold
            )

    def _commit(
        self,
        conn: Connection,
        item_id: int,
        item: Item,
        classification: Classification | None,
        story: StoryRow | None,
        alerts: Sequence[NewAlert],
        now: datetime,
        type_threshold: float,
    ) -> list[int]:
        written: list[int] = []
        conn.execute(
            update(t.items)
            .where(t.items.c.id == item_id)
            .values(
                text=item.text,
                language=item.language,
                state="done",
                meta={k: v for k, v in item.meta.items() if jsonable(v)},
            )
        )
        if classification is None:
            conn.execute(t.classifications.delete().where(t.classifications.c.item_id == item_id))
            return written
        story_id = None
        if classification.relevant:
            story_id = self._attach_story(
                conn, item_id, item, classification, story, now, type_threshold
            )
        values = classification_values(classification) | {
            "story_id": story_id,
            "classified_at": now,
        }
        if conn.execute(
            select(t.classifications.c.item_id).where(t.classifications.c.item_id == item_id)
        ).first():
            conn.execute(
                update(t.classifications)
                .where(t.classifications.c.item_id == item_id)
                .values(**values)
            )
        else:
            conn.execute(t.classifications.insert().values(item_id=item_id, **values))
        if story_id is None:
            return written
        for alert in alerts:
            key = dedupe_key(story_id, item_id, alert)
            if conn.execute(select(t.alerts.c.id).where(t.alerts.c.dedupe_key == key)).first():
                continue
            alert_id = new_id(
                conn.execute(
                    t.alerts.insert().values(
                        story_id=story_id,
                        route=alert.route,
                        item_id=item_id,
                        kind=alert.kind,
                        dedupe_key=key,
                        created_at=now,
                        meta=alert.meta,
                    )
                )
            )
            for notifier in alert.notifiers:
                conn.execute(
                    t.deliveries.insert().values(
                        alert_id=alert_id,
                        notifier=notifier,
                        digest=alert.digest,
                        status="pending",
                        attempts=0,
                        next_attempt_at=alert.due_at,
                    )
                )
            written.append(alert_id)
        return written

    @staticmethod
    def _attach_story(
        conn: Connection,
        item_id: int,
        item: Item,
        classification: Classification,
        story: StoryRow | None,
        now: datetime,
        type_threshold: float,
    ) -> int:
        types = sorted(classification.reported_types(type_threshold))
        if story is None:
            story_id = new_id(
                conn.execute(
                    t.stories.insert().values(
                        first_item_id=item_id,
                        canonical_url=item.meta.get("canonical_url"),
                        primary_type=classification.primary,
                        types=types,
                        actors=list(classification.actors),
                        event_date=classification.event_date,
                        created_at=now,
                        updated_at=now,
                    )
                )
            )
        else:
            story_id = story.id
            conn.execute(
                update(t.stories)
                .where(t.stories.c.id == story_id)
                .values(
                    primary_type=story.primary_type or classification.primary,
                    types=sorted(set(story.types) | set(types)),
                    actors=sorted(set(story.actors) | set(classification.actors)),
                    event_date=story.event_date or classification.event_date,
                    updated_at=now,
                )
            )
        if not conn.execute(
            select(t.story_items.c.item_id).where(
                t.story_items.c.story_id == story_id, t.story_items.c.item_id == item_id
            )
        ).first():
            conn.execute(t.story_items.insert().values(story_id=story_id, item_id=item_id))
        return int(story_id)


#: The key of the advisory lock that serialises story matching across processes
#: (PostgreSQL); any constant works as long as every node uses the same one.
STORY_LOCK_KEY = 0x6D6F6E69  # "moni"


def _candidates(
    conn: Connection,
    canonical_url: str | None,
    since: datetime,
    event_dates: tuple[date, date] | None,
) -> list[StoryRow]:
    conds = [t.stories.c.created_at >= since]
    if event_dates:
        lo, hi = event_dates
        conds.append(or_(t.stories.c.event_date.is_(None), t.stories.c.event_date.between(lo, hi)))
    recent = and_(*conds)
    where = or_(t.stories.c.canonical_url == canonical_url, recent) if canonical_url else recent
    # The newest 500, oldest first: a busy month must not crowd out recent stories.
    query = stories_query().where(where).order_by(t.stories.c.id.desc()).limit(500)
    return [story_row(r) for r in conn.execute(query)][::-1]


def _own_story(conn: Connection, item_id: int) -> StoryRow | None:
    own = (
        select(t.story_items.c.story_id)
        .where(t.story_items.c.item_id == item_id)
        .order_by(t.story_items.c.story_id)
        .limit(1)
        .scalar_subquery()
    )
    row = conn.execute(stories_query().where(t.stories.c.id == own)).first()
    return story_row(row) if row else None


def _context(
    conn: Connection,
    item_id: int,
    canonical_url: str | None,
    since: datetime,
    event_dates: tuple[date, date] | None,
    type_threshold: float = DEFAULT_TYPE_THRESHOLD,
) -> StoryContext:
    own = _own_story(conn, item_id)
    candidates = [] if own else _candidates(conn, canonical_url, since, event_dates)
    ids = [s.id for s in ([own] if own else candidates)]
    members: dict[int, set[int]] = {i: set() for i in ids}
    alerted: dict[int, set[str]] = {i: set() for i in ids}
    reports: dict[int, list[AlertedReport]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        in_stories = select(t.story_items.c.story_id, t.story_items.c.item_id).where(
            t.story_items.c.story_id.in_(chunk)
        )
        for story_id, member in conn.execute(in_stories):
            members[story_id].add(member)
        first_alerts = select(t.alerts.c.story_id, t.alerts.c.route).where(
            t.alerts.c.story_id.in_(chunk), t.alerts.c.kind == "new"
        )
        for story_id, route in conn.execute(first_alerts):
            alerted[story_id].add(route)
        for story_id, report in _reports(conn, chunk, type_threshold):
            reports[story_id].append(report)
    return StoryContext(
        own=own,
        candidates=tuple(candidates),
        members={k: frozenset(v) for k, v in members.items()},
        alerted={k: frozenset(v) for k, v in alerted.items()},
        reports={k: tuple(v) for k, v in reports.items()},
    )


def _reports(
    conn: Connection, story_ids: list[int], type_threshold: float
) -> list[tuple[int, AlertedReport]]:
    """The alerts of these stories (inhibited ones left out: they muted nothing), each
    with its report's contact types: reported at `type_threshold`, plus the primary."""
    a, c = t.alerts, t.classifications
    query = (
        select(a.c.id, a.c.story_id, a.c.route, a.c.kind, c.c.types, c.c.primary_type)
        .select_from(a.outerjoin(c, c.c.item_id == a.c.item_id))
        .where(a.c.story_id.in_(story_ids), a.c.kind != INHIBITED)
        .order_by(a.c.id)
    )
    found = []
    for r in conn.execute(query):
        types = {k for k, v in (r.types or {}).items() if float(v) >= type_threshold}
        if r.primary_type:
            types.add(r.primary_type)
        found.append((r.story_id, AlertedReport(r.id, r.route, r.kind, frozenset(types))))
    return found
