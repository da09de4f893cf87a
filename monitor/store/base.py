"""The store interface: what the pipeline, the outbox worker and `monitor status` need.

Plain rows in, plain rows out. Every method is one transaction, so an implementation
on PostgreSQL (several daemons on one database) can satisfy it without new semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from monitor.models import Alert, Classification, Item
from monitor.taxonomy import DEFAULT_TYPE_THRESHOLD

if TYPE_CHECKING:  # the workbench's rows (monitor.store.web imports this module)
    from collections.abc import Iterator

    from monitor.alerts.silences import Silence
    from monitor.store.web import ItemRecord, TimelineFilter


class ItemChange(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    SEEN = "seen"


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    name: str
    configured_url: str
    url: str
    etag: str | None
    last_modified: str | None
    enabled: bool
    disabled_reason: str | None
    next_poll_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    items_seen: int
    #: The configured title, as last synced (what alerts show instead of `name`).
    title: str | None = None
    #: The start of the failing streak a "feed down" alert was written for; None when
    #: no such alert waits for its "feed recovered".
    down_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedAlert:
    """A feed-health alert a poll owes (`monitor.alerts.feedhealth`): "feed_down" for
    the failing streak that began at `since`, or "feed_recovered" when it ended. Written
    with the poll's record, once per (feed, kind, streak), to `notifiers`."""

    kind: str
    since: datetime
    notifiers: tuple[str, ...]
    route: str
    due_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollRecord:
    """One poll of one feed and the fetch state it leaves behind."""

    started_at: datetime
    duration: float
    status: int | None = None
    nbytes: int = 0
    new_items: int = 0
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    disable_reason: str | None = None
    next_poll_at: datetime | None = None
    #: The feed-health alert this poll owes, written in the same transaction.
    feed_alert: FeedAlert | None = None

    @property
    def plain_success(self) -> bool:
        """A successful poll that leaves no alert and moves or disables nothing: the
        pipeline buffers it, and the store writes any number of them as one row shape."""
        return (
            self.feed_alert is None
            and self.error is None
            and self.moved_to is None
            and self.disable_reason is None
        )

    @property
    def keeps_validators(self) -> bool:
        """No validators to save: the feed keeps the ones it has."""
        return self.etag is None and self.last_modified is None


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """What the store keeps of a feed entry (see `monitor.ingest.parse.Entry`)."""

    key: str
    canonical_url: str | None
    url: str | None
    title: str
    summary: str
    text: str
    published: datetime
    content_hash: str
    language_hint: str | None = None


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    first_item_id: int | None
    canonical_url: str | None
    primary_type: str | None
    types: tuple[str, ...]
    actors: tuple[str, ...]
    event_date: date | None
    created_at: datetime
    #: When the story's first item was published: the date to compare reports by
    #: when they give no event date (processing time says nothing about the event).
    first_published: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertedReport:
    """An alert a story already has on one route, with the contact types of the report
    it was for: what inhibition rules look for (`monitor.alerts.inhibit`)."""

    alert_id: int
    route: str
    kind: str
    types: frozenset[str]


@dataclass(frozen=True, slots=True)
class StoryContext:
    """What the decision needs from the store, read in one go before it."""

    #: The story the item already belongs to (it was processed before, then edited).
    own: StoryRow | None = None
    #: Stories it may belong to otherwise (same URL, or close event dates).
    candidates: tuple[StoryRow, ...] = ()
    #: Story id -> ids of the items in it, for `own` and every candidate.
    members: Mapping[int, frozenset[int]] = field(default_factory=dict)
    #: Story id -> routes that already sent that story's first ("new") alert.
    alerted: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: Story id -> the alerts it has on any route (inhibited ones left out), oldest first.
    reports: Mapping[int, tuple[AlertedReport, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to write with a classification: one row per (story, route), one
    delivery per notifier of the route, due at `due_at` (now, or the next digest)."""

    route: str
    kind: str
    notifiers: tuple[str, ...]
    due_at: datetime
    digest: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A pending delivery joined with everything a notifier needs."""

    id: int
    notifier: str
    digest: bool
    attempts: int
    status: str
    alert: Alert


class Store(Protocol):
    """Durable state. Implementations: `SqlStore` (SQLite; PostgreSQL-ready)."""

    where: str

    def close(self) -> None: ...

    # feeds
    def sync_feeds(
        self,
        feeds: Iterable[tuple[str, str]],
        titles: Mapping[str, str | None] | None = None,
    ) -> dict[str, FeedRow]: ...
    def feed(self, name: str) -> FeedRow | None: ...
    def feeds_named(self, names: Collection[str]) -> dict[str, FeedRow]: ...
    def feeds(self) -> list[FeedRow]: ...
    def record_poll(self, feed_id: int, poll: PollRecord) -> None: ...
    def record_polls(self, polls: Sequence[tuple[int, PollRecord]]) -> None: ...
    def recent_polls(self, feed_id: int, limit: int = 10) -> list[dict[str, Any]]: ...
    def prune_polls(self, before: datetime) -> int: ...

    # items
    def upsert_entry(
        self, feed_id: int, entry: EntryRecord, fetched_at: datetime
    ) -> tuple[int, ItemChange]: ...
    def store_entries(
        self,
        feed_id: int,
        entries: Sequence[EntryRecord],
        fetched_at: datetime,
        limit: int | None = None,
    ) -> tuple[list[tuple[int, ItemChange]], bool]: ...
    def pending_items(
        self, limit: int = 100, now: datetime | None = None
    ) -> list[tuple[int, Item]]: ...
    def item_count(self) -> int: ...
    def record_item_failure(
        self, item_id: int, error: str, now: datetime, *, retry_at: datetime | None
    ) -> int: ...
    def item_attempts(self, item_id: int) -> int: ...
    def failed_items(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def retry_failed_items(self, ids: Sequence[int] | None = None) -> int: ...
    def next_item_retry(self) -> datetime | None: ...
    def item_state_counts(self) -> dict[str, int]: ...

    # classification, stories, outbox
    def story_candidates(
        self, canonical_url: str | None, since: datetime, event_dates: tuple[date, date] | None
    ) -> list[StoryRow]: ...
    def item_story(self, item_id: int) -> StoryRow | None: ...
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
    ) -> list[int]: ...
    def story_context(
        self,
        item_id: int,
        canonical_url: str | None,
        since: datetime,
        event_dates: tuple[date, date] | None,
        *,
        type_threshold: float = DEFAULT_TYPE_THRESHOLD,
    ) -> StoryContext: ...
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
    ) -> list[int]: ...

    def due_deliveries(
        self,
        now: datetime,
        limit: int = 100,
        *,
        flush_digests: bool = False,
        exclude: Collection[int] = (),
    ) -> list[DeliveryRow]: ...
    def mark_sending(self, delivery_ids: Sequence[int]) -> None: ...
    def record_delivery(
        self,
        delivery_ids: Sequence[int],
        *,
        ok: bool,
        now: datetime,
        detail: str = "",
        external_id: str | None = None,
        next_attempt_at: datetime | None = None,
        dead: bool = False,
        duration: float = 0.0,
    ) -> None: ...
    def recover_inflight(self) -> int: ...
    def delivery_counts(self) -> dict[str, int]: ...
    def delivery_counts_by_notifier(self) -> dict[tuple[str, str], int]: ...
    def dead_letters(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def retry_dead_letters(self, now: datetime, ids: Sequence[int] | None = None) -> int: ...
    def recent_alerts(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def is_writable(self) -> bool: ...

    # health (read-only; monitor.store.health)
    def item_states(self) -> dict[str, int]: ...
    def item_backlog(self) -> tuple[int, datetime | None]: ...
    def stuck_items(self, before: datetime, limit: int = 5) -> tuple[int, list[dict[str, Any]]]: ...
    def sending_deliveries(self) -> list[tuple[int, str]]: ...
    def due_ids_by_notifier(
        self, now: datetime, *, flush_digests: bool = False
    ) -> dict[str, list[int]]: ...
    def notifier_queues(self, now: datetime) -> dict[str, dict[str, Any]]: ...

    # web (the analyst's workbench: monitor.store.web)
    def find_item(self, ref: str) -> int | None: ...
    def item_record(self, item_id: int) -> ItemRecord | None: ...
    def items_since(self, since: datetime | None) -> Iterator[ItemRecord]: ...
    def story_record(self, story_id: int) -> dict[str, Any] | None: ...
    def story_routes_alerted(self, story_id: int) -> dict[str, int]: ...
    def search_items(self, words: str, limit: int = 50) -> list[ItemRecord]: ...
    def timeline(
        self, f: TimelineFilter, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]: ...
    def weekly_counts(self, f: TimelineFilter, weeks: int = 12) -> list[tuple[date, str, int]]: ...
    def items_per_feed(self, since: datetime) -> dict[str, int]: ...
    def outbox(self, statuses: Sequence[str], limit: int = 100) -> list[dict[str, Any]]: ...
    def silenced_alerts(self, limit: int = 100) -> list[dict[str, Any]]: ...
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
    ) -> int: ...
    def silences(self, now: datetime, *, include_expired: bool = False) -> list[Silence]: ...
    def active_silences(self, now: datetime) -> list[Silence]: ...
    def expire_silence(self, silence_id: int, now: datetime) -> bool: ...
    def add_feedback(
        self, item_id: int, verdict: str, now: datetime, *, type: str | None = None,
        comment: str = "",
    ) -> int: ...  # fmt: skip
    def feedback_records(self) -> list[tuple[dict[str, Any], ItemRecord]]: ...

    # cluster (monitor.store.cluster; the queue's own tables exist on PostgreSQL only)
    def sync_schedule(
        self, feeds: Iterable[tuple[str, float, float]], now: datetime
    ) -> dict[str, int]: ...
    def due_feeds(
        self, now: datetime, limit: int = 10_000, *, skip_queued: bool = True
    ) -> list[tuple[str, datetime | None]]: ...
    def feed_due_at(self, name: str) -> tuple[bool, datetime | None]: ...
    def record_poll_if_due(self, feed_id: int, poll: PollRecord, due: datetime | None) -> bool: ...
    def processable(self, now: datetime) -> bool: ...
    def due_notifiers(self, now: datetime) -> list[str]: ...
    def recover_inflight_for(self, notifier: str) -> int: ...
    def register_node(
        self, *, name: str, host: str, pid: int, version: str, worker_id: int | None,
        now: datetime,
    ) -> int: ...  # fmt: skip
    def node_seen(self, node_id: int, now: datetime, *, state: str | None = None) -> None: ...
    def mark_nodes_dead(self, worker_ids: Iterable[int], now: datetime) -> int: ...
    def mark_silent_nodes_dead(self, before: datetime, now: datetime) -> int: ...
    def cluster_nodes(self, *, include_stopped: bool = False) -> list[dict[str, Any]]: ...
    def cluster_queue(self, stall_timeout: float) -> dict[str, Any]: ...
