"""What the analyst's workbench reads (timeline, story, item, feeds, outbox pages;
`monitor explain` and `monitor replay`) and the little it writes: silences and feedback.

Full-text search uses SQLite FTS5 (`items_fts`, an external-content index of the titles
and texts of processed items, kept in step by triggers: schemas 3 and 6); other
databases fall back to a case-insensitive substring match until they get their own
index.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
    text,
    update,
)

from monitor.alerts.inhibit import INHIBITED
from monitor.alerts.silences import SILENCED, Silence
from monitor.models import Classification, Item
from monitor.store import schema as t
from monitor.store.outbox import deliveries_where
from monitor.store.rows import classification_row, item_row, new_id

FTS_TABLE = "items_fts"
#: Alerts recorded but never sent (a silence, an inhibition rule muted them).
MUTED_KINDS = (SILENCED, INHIBITED)


def create_fts(conn: Connection) -> None:
    """The FTS5 index over items (title, text) and the triggers that keep it current."""
    statements = [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(title, text, "
        "content='items', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON items BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text); END",
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON items BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
        "VALUES ('delete', old.id, old.title, old.text); END",
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF title, text ON items "
        f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
        "VALUES ('delete', old.id, old.title, old.text); "
        f"INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text); END",
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
    ]
    for statement in statements:
        conn.execute(text(statement))


def index_processed_only(conn: Connection) -> None:
    """Schema 6: the full-text index holds processed items only (state other than
    "new"). An item is indexed once, with its final text, when processing ends, where
    it used to be indexed when polled and again when processing rewrote its text; and
    polling, which stores thousands of entries at a cold start, tokenizes nothing.
    Search only ever showed processed items (the timeline's stories)."""
    drop = [f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{suffix}" for suffix in ("ai", "ad", "au")]
    indexed = "state <> 'new'"
    statements = [
        *drop,
        # what the old triggers indexed of the items still pending, taken out
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
        f"SELECT 'delete', id, title, text FROM items WHERE NOT ({indexed})",
        f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON items WHEN new.{indexed} BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text); END",
        f"CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON items WHEN old.{indexed} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
        "VALUES ('delete', old.id, old.title, old.text); END",
        f"CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF title, text, state ON items BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text) "
        f"SELECT 'delete', old.id, old.title, old.text WHERE old.{indexed}; "
        f"INSERT INTO {FTS_TABLE}(rowid, title, text) "
        f"SELECT new.id, new.title, new.text WHERE new.{indexed}; END",
    ]
    for statement in statements:
        conn.execute(text(statement))


def fts_query(words: str) -> str:
    """A user's search words as an FTS5 query: every word must occur (each quoted, so
    FTS5 operators and punctuation in the input are plain text)."""
    tokens = [w.replace('"', '""') for w in words.split() if w.strip('"')]
    return " ".join(f'"{w}"' for w in tokens)


@dataclass(frozen=True)
class TimelineFilter:
    """The timeline's filters; empty values do not filter."""

    type: str | None = None
    actor: str | None = None
    language: str | None = None
    feed: str | None = None
    since: date | None = None
    until: date | None = None
    min_score: float | None = None
    q: str | None = None

    @property
    def active(self) -> bool:
        return any(v not in (None, "") for v in dataclasses.astuple(self))


@dataclass
class AlertRecord:
    id: int
    story_id: int
    route: str
    kind: str
    item_id: int
    created_at: datetime
    meta: dict[str, Any]
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def silenced(self) -> bool:
        return "silenced_by" in self.meta

    @property
    def inhibited(self) -> bool:
        return "inhibited_by" in self.meta

    @property
    def muted(self) -> bool:
        """Recorded, never sent: a silence or an inhibition rule muted it."""
        return self.silenced or self.inhibited


@dataclass
class ItemRecord:
    """A stored item with everything the item page and `monitor explain` show."""

    id: int
    item: Item
    state: str
    fetched_at: datetime | None
    sources: list[str]
    classification: Classification | None
    story_id: int | None
    classified_at: datetime | None
    last_error: str | None = None
    alerts: list[AlertRecord] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)


class WebStore:
    engine: Engine

    # --- items ---------------------------------------------------------------------

    def find_item(self, ref: str) -> int | None:
        """An item by id, URL, canonical URL or key."""
        i = t.items
        with self.engine.connect() as conn:
            if ref.isdigit():
                found = conn.execute(select(i.c.id).where(i.c.id == int(ref))).scalar()
                if found is not None:
                    return int(found)
            query = (
                select(i.c.id)
                .where(or_(i.c.url == ref, i.c.canonical_url == ref, i.c.key == ref))
                .order_by(i.c.id)
                .limit(1)
            )
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def item_record(self, item_id: int) -> ItemRecord | None:
        with self.engine.connect() as conn:
            found = self._item_records(conn, [item_id])
        return found[0] if found else None

    def _item_records(self, conn: Connection, ids: Sequence[int]) -> list[ItemRecord]:
        if not ids:
            return []
        i, c = t.items, t.classifications
        query = (
            select(
                i,
                t.feeds.c.name.label("feed_name"),
                c.c.item_id.label("c_item"),
                *[col.label(f"c_{col.name}") for col in c.c if col.name != "item_id"],
            )
            .select_from(
                i.outerjoin(t.feeds, i.c.feed_id == t.feeds.c.id).outerjoin(
                    c, c.c.item_id == i.c.id
                )
            )
            .where(i.c.id.in_(list(ids)))
        )
        records: dict[int, ItemRecord] = {}
        for r in conn.execute(query):
            classification = None
            if r.c_item is not None:
                classification = classification_row(_Prefixed(r, "c_"))
            records[r.id] = ItemRecord(
                id=r.id,
                item=item_row(r),
                state=r.state,
                fetched_at=r.fetched_at,
                sources=[],
                classification=classification,
                story_id=r.c_story_id,
                classified_at=r.c_classified_at,
                last_error=r.last_error,
            )
        sources = (
            select(t.item_sources.c.item_id, t.feeds.c.name)
            .select_from(t.item_sources.join(t.feeds, t.item_sources.c.feed_id == t.feeds.c.id))
            .where(t.item_sources.c.item_id.in_(list(records)))
            .order_by(t.item_sources.c.first_seen_at)
        )
        for item_id, name in conn.execute(sources):
            records[item_id].sources.append(name)
        for alert in self._alerts(conn, t.alerts.c.item_id.in_(list(records))):
            records[alert.item_id].alerts.append(alert)
        fb = select(t.feedback).where(t.feedback.c.item_id.in_(list(records)))
        for row in conn.execute(fb.order_by(t.feedback.c.id)):
            records[row.item_id].feedback.append(dict(row._mapping))
        return [records[n] for n in ids if n in records]

    def _alerts(self, conn: Connection, cond: Any) -> list[AlertRecord]:
        a, d = t.alerts, t.deliveries
        found: dict[int, AlertRecord] = {}
        for r in conn.execute(select(a).where(cond).order_by(a.c.id)):
            found[r.id] = AlertRecord(
                r.id, r.story_id, r.route, r.kind, r.item_id, r.created_at, dict(r.meta or {})
            )
        if found:
            query = select(d).where(d.c.alert_id.in_(list(found))).order_by(d.c.id)
            threads = {
                (r.story_id, r.route, r.notifier): r.external_id
                for r in conn.execute(select(t.threads))
            }
            for r in conn.execute(query):
                alert = found[r.alert_id]
                row = dict(r._mapping)
                row["thread"] = threads.get((alert.story_id, alert.route, r.notifier))
                alert.deliveries.append(row)
        return list(found.values())

    def items_since(self, since: datetime | None) -> Iterator[ItemRecord]:
        """Every stored item fetched at or after `since` (all: None), in the order they
        were decided (classified; else fetched), with their classifications and alerts:
        what `monitor replay` runs again."""
        i, c = t.items, t.classifications
        query = (
            select(i.c.id)
            .select_from(i.outerjoin(c, c.c.item_id == i.c.id))
            .order_by(func.coalesce(c.c.classified_at, i.c.fetched_at), i.c.id)
        )
        if since is not None:
            query = query.where(t.items.c.fetched_at >= since)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
            for start in range(0, len(ids), 200):
                yield from self._item_records(conn, ids[start : start + 200])

    # --- stories -------------------------------------------------------------------

    def story_record(self, story_id: int) -> dict[str, Any] | None:
        """A story, its reports (ItemRecords, oldest first) and every alert sent for it."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.stories).where(t.stories.c.id == story_id)).first()
            if row is None:
                return None
            ids = list(
                conn.execute(
                    select(t.story_items.c.item_id)
                    .where(t.story_items.c.story_id == story_id)
                    .order_by(t.story_items.c.item_id)
                ).scalars()
            )
            reports = self._item_records(conn, ids)
            alerts = self._alerts(conn, t.alerts.c.story_id == story_id)
        return {"story": dict(row._mapping), "reports": reports, "alerts": alerts}

    def story_routes_alerted(self, story_id: int) -> dict[str, int]:
        """Route -> the item whose first ("new") alert the story has on that route."""
        a = t.alerts
        query = select(a.c.route, a.c.item_id).where(a.c.story_id == story_id, a.c.kind == "new")
        with self.engine.connect() as conn:
            return {route: int(item) for route, item in conn.execute(query)}

    def _story_conditions(self, f: TimelineFilter) -> list[Any]:
        s, i, c = t.stories, t.items, t.classifications
        conds: list[Any] = []
        if f.type:
            conds.append(
                or_(s.c.primary_type == f.type, cast(s.c.types, Text).like(f'%"{f.type}"%'))
            )
        if f.actor:
            needle = f.actor.strip().lower().replace('"', "")
            conds.append(func.lower(cast(s.c.actors, Text)).like(f"%{needle}%"))
        if f.since:
            start = datetime.combine(f.since, datetime.min.time(), UTC)
            conds.append(
                or_(
                    s.c.event_date >= f.since,
                    and_(s.c.event_date.is_(None), s.c.created_at >= start),
                )
            )
        if f.until:
            end = datetime.combine(f.until + timedelta(days=1), datetime.min.time(), UTC)
            conds.append(
                or_(
                    s.c.event_date <= f.until,
                    and_(s.c.event_date.is_(None), s.c.created_at < end),
                )
            )
        member: list[Any] = []
        if f.language:
            member.append(or_(c.c.language == f.language, i.c.language == f.language))
        if f.min_score is not None:
            member.append(c.c.score >= f.min_score)
        if f.feed:
            member.append(
                exists(
                    select(t.item_sources.c.item_id)
                    .select_from(
                        t.item_sources.join(t.feeds, t.item_sources.c.feed_id == t.feeds.c.id)
                    )
                    .where(t.item_sources.c.item_id == i.c.id, t.feeds.c.name == f.feed)
                )
            )
        if f.q and f.q.strip():
            member.append(i.c.id.in_(self._search_ids(f.q)))
        if member:
            conds.append(
                exists(
                    select(t.story_items.c.item_id)
                    .select_from(
                        t.story_items.join(i, i.c.id == t.story_items.c.item_id).outerjoin(
                            c, c.c.item_id == i.c.id
                        )
                    )
                    .where(t.story_items.c.story_id == s.c.id, *member)
                )
            )
        return conds

    def _search_ids(self, words: str) -> Any:
        """A subquery of the ids of items whose title or text holds every word."""
        if self.engine.dialect.name == "sqlite":
            return (
                select(text("rowid"))
                .select_from(text(FTS_TABLE))
                .where(text(f"{FTS_TABLE} MATCH :fts"))
                .params(fts=fts_query(words) or '""')
            )
        i = t.items
        conds = [
            or_(func.lower(i.c.title).contains(w.lower()), func.lower(i.c.text).contains(w.lower()))
            for w in words.split()
        ]
        return select(i.c.id).where(*conds)

    def search_items(self, words: str, limit: int = 50) -> list[ItemRecord]:
        """Processed items, relevant or not, whose title or text holds every word."""
        query = (
            select(t.items.c.id)
            .where(t.items.c.id.in_(self._search_ids(words)))
            .order_by(t.items.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
            return self._item_records(conn, ids)

    def timeline(
        self, f: TimelineFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Stories newest first, each with its reports' outlets, languages, best score,
        direction and status; and how many stories match in all."""
        s = t.stories
        conds = self._story_conditions(f)
        query = (
            select(s)
            .where(*conds)
            .order_by(s.c.created_at.desc(), s.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            total = int(
                conn.execute(select(func.count()).select_from(s).where(*conds)).scalar_one()
            )
            stories = [dict(r._mapping) for r in conn.execute(query)]
            self._summarise(conn, stories)
        return stories, total

    def _summarise(self, conn: Connection, stories: list[dict[str, Any]]) -> None:
        ids = [s["id"] for s in stories]
        if not ids:
            return
        i, c, si = t.items, t.classifications, t.story_items
        query = (
            select(
                si.c.story_id,
                i.c.id,
                i.c.title,
                i.c.language,
                i.c.published_at,
                c.c.language.label("c_language"),
                c.c.score,
                c.c.direction,
                c.c.status,
            )
            .select_from(si.join(i, i.c.id == si.c.item_id).outerjoin(c, c.c.item_id == i.c.id))
            .where(si.c.story_id.in_(ids))
            .order_by(i.c.id)
        )
        members: dict[int, list[Any]] = defaultdict(list)
        for r in conn.execute(query):
            members[r.story_id].append(r)
        feeds: dict[int, set[str]] = defaultdict(set)
        fq = (
            select(si.c.story_id, t.feeds.c.name)
            .select_from(
                si.join(t.item_sources, t.item_sources.c.item_id == si.c.item_id).join(
                    t.feeds, t.feeds.c.id == t.item_sources.c.feed_id
                )
            )
            .where(si.c.story_id.in_(ids))
        )
        for story_id, name in conn.execute(fq):
            feeds[story_id].add(name)
        alerts: dict[int, int] = defaultdict(int)
        aq = (
            select(t.alerts.c.story_id, func.count())
            .where(t.alerts.c.story_id.in_(ids), t.alerts.c.kind.not_in(MUTED_KINDS))
            .group_by(t.alerts.c.story_id)
        )
        for story_id, n in conn.execute(aq):
            alerts[story_id] = int(n)
        for story in stories:
            rows = members.get(story["id"], [])
            first = next(
                (r for r in rows if r.id == story["first_item_id"]), rows[0] if rows else None
            )
            story["title"] = first.title if first else ""
            story["published"] = first.published_at if first else None
            story["reports"] = len(rows)
            story["languages"] = sorted({r.c_language or r.language for r in rows} - {None})
            story["feeds"] = sorted(feeds.get(story["id"], set()))
            story["score"] = max((r.score or 0.0 for r in rows), default=0.0)
            story["direction"] = next((r.direction for r in rows if r.direction), None)
            story["status"] = next((r.status for r in rows if r.status), None)
            story["alerts"] = alerts.get(story["id"], 0)
            story["date"] = (
                story["event_date"] or (story["published"] or story["created_at"]).date()
            )

    def weekly_counts(self, f: TimelineFilter, weeks: int = 12) -> list[tuple[date, str, int]]:
        """Contacts (stories) per ISO week (its Monday) and primary type, the last
        `weeks` weeks that have any, for the timeline's chart."""
        s = t.stories
        query = select(s.c.event_date, s.c.created_at, s.c.primary_type).where(
            *self._story_conditions(f)
        )
        counts: dict[tuple[date, str], int] = defaultdict(int)
        with self.engine.connect() as conn:
            for event_date, created_at, primary in conn.execute(query):
                day = event_date or created_at.date()
                monday = day - timedelta(days=day.weekday())
                counts[(monday, primary or "other")] += 1
        mondays = sorted({m for m, _ in counts})[-weeks:]
        return sorted((m, ty, n) for (m, ty), n in counts.items() if m in mondays)

    # --- feeds and outbox ----------------------------------------------------------

    def items_per_feed(self, since: datetime) -> dict[str, int]:
        """Items first seen from each feed since `since`."""
        query = (
            select(t.feeds.c.name, func.count())
            .select_from(t.item_sources.join(t.feeds, t.feeds.c.id == t.item_sources.c.feed_id))
            .where(t.item_sources.c.first_seen_at >= since)
            .group_by(t.feeds.c.name)
        )
        with self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}

    def outbox(self, statuses: Sequence[str], limit: int = 100) -> list[dict[str, Any]]:
        """Deliveries in these statuses, newest first, with their alert and item (a
        feed-health alert: its summary as the title, the feed's URL, no item)."""
        d, a = t.deliveries, t.alerts
        return deliveries_where(
            self.engine, d.c.status.in_(list(statuses)), limit, d.c.digest, a.c.item_id
        )

    def silenced_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Alerts recorded but not sent because a silence muted them, newest first."""
        a, i = t.alerts, t.items
        query = (
            select(a, i.c.title)
            .select_from(a.join(i, a.c.item_id == i.c.id))
            .where(a.c.kind == "silenced")
            .order_by(a.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # --- silences ------------------------------------------------------------------

    def add_silence(
        self,
        *,
        until: datetime,
        now: datetime,
        story_id: int | None = None,
        actor: str | None = None,
        type: str | None = None,
        route: str | None = None,
        comment: str = "",
    ) -> int:
        if sum(x is not None and x != "" for x in (story_id, actor, type)) != 1:
            raise ValueError("a silence names exactly one of a story, an actor or a type")
        with self.engine.begin() as conn:
            return new_id(
                conn.execute(
                    t.silences.insert().values(
                        story_id=story_id, actor=actor or None, type=type or None,
                        route=route or None, until=until, comment=comment, created_at=now,
                    )
                )
            )  # fmt: skip

    def silences(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        s = t.silences
        query = select(s).order_by(s.c.id.desc())
        if not include_expired:
            query = query.where(s.c.expired_at.is_(None), s.c.until > now)
        with self.engine.connect() as conn:
            return [_silence(r) for r in conn.execute(query)]

    def active_silences(self, now: datetime) -> list[Silence]:
        """The silences in force at `now` (what the decision consults)."""
        return self.silences(now)

    def expire_silence(self, silence_id: int, now: datetime) -> bool:
        s = t.silences
        with self.engine.begin() as conn:
            done = conn.execute(
                update(s)
                .where(s.c.id == silence_id, s.c.expired_at.is_(None))
                .values(expired_at=now)
            )
            return bool(done.rowcount)

    # --- feedback ------------------------------------------------------------------

    def add_feedback(
        self, item_id: int, verdict: str, now: datetime, *, type: str | None = None,
        comment: str = "",
    ) -> int:  # fmt: skip
        with self.engine.begin() as conn:
            return new_id(
                conn.execute(
                    t.feedback.insert().values(
                        item_id=item_id, verdict=verdict, type=type, comment=comment,
                        created_at=now,
                    )
                )
            )  # fmt: skip

    def feedback_records(self) -> list[tuple[dict[str, Any], ItemRecord]]:
        """Every feedback row with its item (ItemRecord), oldest first."""
        with self.engine.connect() as conn:
            rows = [
                dict(r._mapping) for r in conn.execute(select(t.feedback).order_by(t.feedback.c.id))
            ]
            items = {
                r.id: r for r in self._item_records(conn, sorted({r["item_id"] for r in rows}))
            }
        return [(row, items[row["item_id"]]) for row in rows if row["item_id"] in items]


def _silence(r: Any) -> Silence:
    return Silence(
        id=r.id, until=r.until, story_id=r.story_id, actor=r.actor, type=r.type,
        route=r.route, comment=r.comment or "", created_at=r.created_at,
        expired_at=r.expired_at,
    )  # fmt: skip


class _Prefixed:
    """Attribute access to a row's `prefix`-named columns without the prefix."""

    def __init__(self, row: Any, prefix: str) -> None:
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)
