"""The tables, as SQLAlchemy Core metadata. Changes go through `migrations.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.types import TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend stores:
    `timestamptz` on PostgreSQL, naive UTC text on SQLite (which has no time zones)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class Json(TypeDecorator[Any]):
    """JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
    A decorator rather than `with_variant(JSONB())`, so that a SQLite store never
    imports the PostgreSQL dialect (2-3 MiB resident)."""

    impl = JSON
    cache_ok = True
    #: as JSON's own default (`none_as_null=False`): None is stored as JSON null
    should_evaluate_none = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # imported here: only a PostgreSQL store needs the dialect's types
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("configured_url", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("next_poll_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("failing_since", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("items_seen", Integer, nullable=False, default=0),
    # cluster schema: the feed's schedule from the config, so any node can dispatch it
    # (NULL: not scheduled, i.e. no longer configured or disabled in the config)
    Column("poll_interval", Float),
    Column("poll_jitter", Float),
    # schema 5: the configured title (what alerts show), and the start of the failing
    # streak a "feed down" alert was written for (NULL: none outstanding)
    Column("title", Text),
    Column("down_since", UTCDateTime),
)

polls = Table(
    "polls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("status", Integer),
    Column("duration", Float, nullable=False),
    Column("nbytes", Integer, nullable=False, default=0),
    Column("new_items", Integer, nullable=False, default=0),
    Column("error", Text),
    Index("ix_polls_feed_started", "feed_id", "started_at"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),
    Column("canonical_url", Text),
    Column("url", Text),
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("language", String(16)),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL")),
    Column("state", String(16), nullable=False, default="new"),
    Column("meta", Json, nullable=False, default=dict),
    # schema 2: processing failures (an item that fails is retried, then set aside)
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Index("ix_items_canonical_url", "canonical_url"),
    Index("ix_items_state", "state"),
)

item_sources = Table(
    "item_sources",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

classifications = Table(
    "classifications",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("relevant", Boolean, nullable=False),
    Column("score", Float, nullable=False),
    Column("primary_type", String(32)),
    Column("types", Json, nullable=False),
    Column("actors", Json, nullable=False),
    Column("organisations", Json, nullable=False),
    Column("places", Json, nullable=False),
    Column("event_date", Date),
    Column("direction", String(16)),
    Column("status", String(16)),
    Column("language", String(16)),
    Column("evidence", Json, nullable=False),
    Column("plugins", Json, nullable=False),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL")),
    Column("classified_at", UTCDateTime, nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("first_item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Column("canonical_url", Text),
    Column("primary_type", String(32)),
    Column("types", Json, nullable=False),
    Column("actors", Json, nullable=False),
    Column("event_date", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_stories_event_date", "event_date"),
    Index("ix_stories_created", "created_at"),
)

story_items = Table(
    "story_items",
    metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
)

#: An alert is about a story's report (story_id, item_id) or, since schema 5, about a
#: feed's health (feed_id; story_id and item_id NULL).
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE")),
    Column("route", String(200), nullable=False),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("meta", Json, nullable=False, default=dict),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE")),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("notifier", String(200), nullable=False),
    Column("digest", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("external_id", Text),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("alert_id", "notifier", name="uq_delivery_alert_notifier"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text),
    Column("duration", Float, nullable=False, default=0.0),
)

threads = Table(
    "threads",
    metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("route", String(200), primary_key=True),
    Column("notifier", String(200), primary_key=True),
    Column("external_id", Text, nullable=False),
)

# --- schema 3: the analyst's workbench (silences, feedback, full-text search) ---------

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer),
    Column("actor", Text),
    Column("type", String(32)),
    Column("route", String(200)),
    Column("until", UTCDateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expired_at", UTCDateTime),
    Index("ix_silences_until", "until"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    #: "not_relevant", "wrong_type" (then `type` is the right one) or "relevant"
    Column("verdict", String(32), nullable=False),
    Column("type", String(32)),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feedback_item", "item_id"),
)

# --- cluster schema: the nodes of a cluster on PostgreSQL (monitor.cluster) ----------

cluster_nodes = Table(
    "cluster_nodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    #: procrastinate's worker id (procrastinate_workers.id) while the node runs
    Column("worker_id", Integer),
    #: running, draining, stopped, or dead (its heartbeat went stale)
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Index("ix_cluster_nodes_state", "state"),
)
