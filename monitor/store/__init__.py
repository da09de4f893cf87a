"""Durable state: feeds' fetch state, items, classifications, stories, the alert outbox.

`open_store(config)` returns a `Store`; the SQLAlchemy implementation serves SQLite
today and is written so that PostgreSQL can follow (no SQLite-only SQL in queries).
"""

from monitor.store.base import (
    DeliveryRow,
    FeedRow,
    ItemChange,
    NewAlert,
    PollRecord,
    Store,
)
from monitor.store.sql import SqlStore, open_store

__all__ = [
    "DeliveryRow",
    "FeedRow",
    "ItemChange",
    "NewAlert",
    "PollRecord",
    "SqlStore",
    "Store",
    "open_store",
]
