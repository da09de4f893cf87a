"""The path from a feed to the outbox: poll, store, enrich, classify, decide.

Each stage is a plain call on plain data; the store and the fetcher are at the edges.
Items are stored before they are processed (state "new"), and processing ends in one
transaction that writes the classification, its story and its alerts: a crash at any
point leaves the item pending, to be processed again at the next cycle.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from monitor.alerts.decide import decide
from monitor.alerts.feedhealth import owed as feed_health_alert
from monitor.alerts.reasons import trace
from monitor.alerts.silences import apply_silences
from monitor.alerts.stories import event_window
from monitor.config import Config, FeedConfig
from monitor.hookspecs import SourceParser
from monitor.host.manager import PluginHost
from monitor.ingest.backoff import backoff_delay
from monitor.ingest.fetch import Fetcher, FetchResult, Validators
from monitor.ingest.parse import Entry, ParsedFeed, ParseError, parse_feed, parse_feed_bounded
from monitor.models import Classification, Item
from monitor.store.base import (
    EntryRecord,
    FeedRow,
    ItemChange,
    NewAlert,
    PollRecord,
    Store,
    StoryContext,
    StoryRow,
)

log = logging.getLogger("monitor.service.pipeline")

Clock = Callable[[], datetime]
T = TypeVar("T")
#: Records of plain successful polls written together once this many wait (or sooner:
#: the end of a cycle, the daemon's flush job, a stop).
POLL_BUFFER = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed: str
    status: int | None
    new_items: int
    changed_items: int
    error: str | None
    next_poll_at: datetime | None
    parsed: bool


@dataclass(frozen=True, slots=True)
class Processed:
    item_id: int
    item: Item
    classification: Classification | None
    alerts: list[int]


class Pipeline:
    """Feeds in, classified items and outbox rows out."""

    def __init__(
        self,
        config: Config,
        store: Store,
        host: PluginHost,
        fetcher: Fetcher,
        clock: Clock = utcnow,
        writer: concurrent.futures.ThreadPoolExecutor | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.host = host
        self.fetcher = fetcher
        self.clock = clock
        self.observers: list[Callable[[str, dict[str, object]], None]] = []
        self._rows: dict[str, FeedRow] = {}
        self._wanted: dict[str, asyncio.Future[FeedRow | None]] = {}  # rows to read
        self._reading: asyncio.Future[None] | None = None
        self._sources: dict[str, SourceParser] | None = None
        self._buffered: list[tuple[int, PollRecord]] = []
        # the pipeline's writes in one thread (polls' parse and store, processing's
        # commits): SQLite takes one writer at a time, so our own threads never wait
        # for its lock, and one connection's cache instead of one per worker thread; a
        # reload's new pipeline takes over the old one's, so work in flight keeps it
        self.writer = writer or concurrent.futures.ThreadPoolExecutor(1, "monitor-store")

    async def _write(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in the pipeline's store thread (as `asyncio.to_thread` would)."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self.writer, call)

    def _emit(self, event: str, **fields: object) -> None:
        for observer in self.observers:
            observer(event, fields)

    # --- poll ----------------------------------------------------------------------

    async def poll(self, feed: FeedConfig) -> PollOutcome:
        """Fetch one feed conditionally, parse it off the loop, store new entries.
        Never raises: a failure is logged and recorded against this feed only."""
        try:
            return await self._poll(feed)
        except Exception as exc:
            log.exception("feed %s: poll failed", feed.name, extra={"feed": feed.name})
            error = f"internal error: {type(exc).__name__}: {exc}"
            self._emit(
                "poll", feed=feed.name, status=None, error=error, new=0, duration=0.0, nbytes=0
            )
            return PollOutcome(feed.name, None, 0, 0, error, None, False)

    def _parser(self, feed: FeedConfig) -> SourceParser:
        """RSS/Atom for kind "feed"; else the parser a plugin provides for the kind, any
        exception of it made a ParseError naming the kind (a failed poll, backed off)."""
        if feed.kind == "feed":
            return parse_feed_bounded if self.config.fetch.parse_workers else parse_feed
        if self._sources is None:
            self._sources = self.host.source_kinds()
        plugin_parse = self._sources.get(feed.kind)
        if plugin_parse is None:
            raise ParseError(feed.url, f"no plugin provides source kind {feed.kind!r}")

        def parse(body: bytes, headers: Mapping[str, str], url: str, now: datetime) -> ParsedFeed:
            try:
                parsed = plugin_parse(body, headers, url, now)
            except ParseError:
                raise
            except Exception as exc:
                raise ParseError(
                    url, f"{feed.kind} parser raised {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(parsed, ParsedFeed):
                raise ParseError(
                    url, f"{feed.kind} parser returned {type(parsed).__name__}, not ParsedFeed"
                )
            return parsed

        return parse

    async def _feed_row(self, feed: FeedConfig) -> FeedRow:
        """The feed's stored state, from the cache when this pipeline wrote it last (the
        store stays the source of truth: any poll that changes more than the schedule
        drops the cached row, and a reload builds a new pipeline). A row missing, or
        with another title than the config's (what alerts show), is synced first."""
        row = self._rows.get(feed.name)
        if row is not None:
            return row
        row = await self._stored_row(feed.name)
        if row is None or row.title != feed.title:
            rows = await self._write(
                self.store.sync_feeds, [(feed.name, feed.url)], {feed.name: feed.title}
            )
            row = rows[feed.name]
        self._rows[feed.name] = row
        return row

    async def _stored_row(self, name: str) -> FeedRow | None:
        """The feed's row as the store has it. The reads of polls that start together
        (every feed due at a cycle's start) are one store call: one job queued on the
        store thread per waiting poll cost ~4 KB each, held until the thread got to it."""
        wanted = self._wanted.get(name)
        if wanted is None:
            wanted = self._wanted[name] = asyncio.get_running_loop().create_future()
            if self._reading is None:
                # runs after the first steps of the polls already scheduled: it reads
                # the rows of all of them
                self._reading = asyncio.ensure_future(self._read_wanted())
        return await asyncio.shield(wanted)

    async def _read_wanted(self) -> None:
        try:
            while self._wanted:
                batch, self._wanted = self._wanted, {}
                try:
                    rows = await self._write(self.store.feeds_named, list(batch))
                except Exception as exc:  # each poll fails with it, as its own read would
                    for future in batch.values():
                        future.set_exception(exc)
                    continue
                for name, future in batch.items():
                    future.set_result(rows.get(name))
        finally:
            self._reading = None

    async def flush_polls(self) -> int:
        """Write the buffered records of plain successful polls in one transaction."""
        if not self._buffered:
            return 0
        batch, self._buffered = self._buffered, []
        await self._write(self.store.record_polls, batch)
        return len(batch)

    async def close(self) -> None:
        """Write what is buffered, then let the store thread go: an idle pool thread
        left alive would count as busy work at the daemon's exit."""
        try:
            await self.flush_polls()
        finally:
            self.writer.shutdown(wait=False)

    async def _record(self, row: FeedRow, record: PollRecord) -> None:
        """A plain successful poll (a 304, or entries stored without an alert, a move or
        a disabling) is buffered and written with others; any other poll is written at
        once. Until the buffer is written, this pipeline's cached row carries the state
        the poll left (its validators included). A crash before that write loses only
        the record: the next poll sends the stored validators, gets the whole feed and
        finds its entries stored."""
        if not record.plain_success:
            self._rows.pop(row.name, None)
            await self._write(self.store.record_poll, row.id, record)
            return
        keep = record.keeps_validators
        self._rows[row.name] = dataclasses.replace(
            row,
            etag=row.etag if keep else record.etag,
            last_modified=row.last_modified if keep else record.last_modified,
            next_poll_at=record.next_poll_at,
            last_success_at=record.started_at,
            consecutive_failures=0,
            failing_since=None,
            down_since=None,
            items_seen=row.items_seen + record.new_items,
        )
        self._buffered.append((row.id, record))
        if len(self._buffered) >= POLL_BUFFER:
            await self.flush_polls()

    async def _poll(self, feed: FeedConfig) -> PollOutcome:
        row = await self._feed_row(feed)
        if not row.enabled:
            return PollOutcome(feed.name, None, 0, 0, row.disabled_reason, None, False)
        started = self.clock()
        t0 = time.perf_counter()
        # the body is parsed and stored within the fetch's slot: bodies are fetched no
        # faster than they are processed (at most `[fetch] concurrency` in memory)
        async with self.fetcher.polling(
            row.url, Validators(row.etag, row.last_modified), allow_private=feed.allow_private
        ) as result:
            new, changed, capped, parsed, error = await self._take(feed, row, result, started)
        next_poll = self._next_poll(feed, row, result, error, started)
        feed_alert = feed_health_alert(
            row,
            error=error,
            at=started,
            failing_after=self.config.daemon.failing_after,
            notifiers=self.config.health.notifiers,
        )
        if feed_alert is not None:
            log.warning(
                "feed %s: %s; alerting %s", feed.name, feed_alert.meta["summary"],
                ", ".join(feed_alert.notifiers), extra={"feed": feed.name},
            )  # fmt: skip
        record = PollRecord(
            started_at=started,
            duration=time.perf_counter() - t0,
            status=result.status,
            nbytes=result.nbytes,
            new_items=new,
            error=error,
            # Validators unsaved while entries remain: the next poll gets the whole
            # feed again (not a 304) and stores the entries this one left.
            etag=None if capped else result.etag,
            last_modified=None if capped else result.last_modified,
            moved_to=result.moved_to,
            disable_reason=f"HTTP 410 Gone at {row.url}" if result.gone else None,
            next_poll_at=next_poll,
            feed_alert=feed_alert,
        )
        await self._record(row, record)
        if result.moved_to:
            log.warning(
                "feed %s moved permanently to %s",
                feed.name,
                result.moved_to,
                extra={"feed": feed.name},
            )
        if result.gone:
            log.error("feed %s is gone (HTTP 410); disabled", feed.name, extra={"feed": feed.name})
        if error:
            log.warning("feed %s: %s", feed.name, error, extra={"feed": feed.name})
        outcome = PollOutcome(feed.name, result.status, new, changed, error, next_poll, parsed)
        self._emit(
            "poll",
            feed=feed.name,
            status=result.status,
            error=error,
            new=new,
            duration=record.duration,
            nbytes=result.nbytes,
        )
        return outcome

    async def _take(
        self, feed: FeedConfig, row: FeedRow, result: FetchResult, started: datetime
    ) -> tuple[int, int, bool, bool, str | None]:
        """Parse and store a fetched body: (new, changed, capped, parsed, error)."""
        new = changed = 0
        error = result.error
        parsed = capped = False
        if not (result.ok and not result.not_modified and result.body is not None):
            return new, changed, capped, parsed, error
        try:
            # `parse_workers`: in two worker processes with a deadline (both cores
            # parse; no body holds a CPU past the deadline); else in a thread, bounded
            # by the pre-parse check on element and attribute counts
            parse = self._parser(feed)
            body, headers, url = result.body, result.headers, result.final_url
            if self.config.fetch.parse_workers:
                feed_doc = await asyncio.to_thread(parse, body, headers, url, started)
                stored = await self._write(
                    self._store_entries, row, feed_doc.entries, started, feed.language
                )
            else:  # one hand-off to the store thread for both (each one wakes the loop)
                feed_doc, stored = await self._write(
                    self._parse_and_store, parse, body, headers, url, row, started, feed.language
                )
            parsed = True
            if feed_doc.warning:
                log.warning("feed %s: %s", feed.name, feed_doc.warning, extra={"feed": feed.name})
            new, changed, capped = stored
            if capped:
                cap = self.config.fetch.max_entries_per_poll
                log.warning(
                    "feed %s: more than %d new entries; the rest are stored at the next polls",
                    feed.name, cap, extra={"feed": feed.name},
                )  # fmt: skip
        except ParseError as exc:
            error = str(exc)
        return new, changed, capped, parsed, error

    def _parse_and_store(
        self,
        parse: SourceParser,
        body: bytes,
        headers: Mapping[str, str],
        url: str,
        row: FeedRow,
        fetched_at: datetime,
        language: str | None,
    ) -> tuple[ParsedFeed, tuple[int, int, bool]]:
        feed_doc = parse(body, headers, url, fetched_at)
        return feed_doc, self._store_entries(row, feed_doc.entries, fetched_at, language)

    def _store_entries(
        self,
        row: FeedRow,
        entries: tuple[Entry, ...],
        fetched_at: datetime,
        language: str | None,
    ) -> tuple[int, int, bool]:
        """Store entries, at most `[fetch] max_entries_per_poll` new or changed ones
        (True as the third value when some were left for the next poll). The feed's
        configured `language`, when set, overrides what the feed document declares."""
        records = [
            EntryRecord(
                key=entry.key,
                canonical_url=entry.canonical_url,
                url=entry.link,
                title=entry.title,
                summary=entry.summary,
                text=entry.content or entry.summary,
                published=entry.published,
                content_hash=entry.content_hash,
                language_hint=language or entry.language,
            )
            for entry in entries
        ]
        changes, capped = self.store.store_entries(
            row.id, records, fetched_at, self.config.fetch.max_entries_per_poll
        )
        new = sum(change is ItemChange.NEW for _, change in changes)
        changed = sum(change is ItemChange.CHANGED for _, change in changes)
        return new, changed, capped

    def _next_poll(
        self, feed: FeedConfig, row: FeedRow, result: FetchResult, error: str | None, now: datetime
    ) -> datetime:
        """Success: the interval. Failure: exponential backoff with jitter, capped,
        and never sooner than the server's Retry-After."""
        delay = feed.interval
        if error:
            settings = self.config.fetch
            delay = max(
                delay,
                backoff_delay(
                    row.consecutive_failures + 1, settings.backoff_base, settings.backoff_cap
                ),
            )
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        return now + timedelta(seconds=delay)

    # --- process -------------------------------------------------------------------

    async def process_pending(
        self, limit: int | None = None, halted: Callable[[], bool] = lambda: False
    ) -> list[Processed]:
        """Enrich, classify and decide every stored item not yet processed, in batches
        of `limit`, checking `halted` between items (a stopping daemon ends early and
        leaves the rest pending)."""
        limit = limit or self.config.processing.batch
        done: list[Processed] = []
        while not halted():
            batch = await asyncio.to_thread(self.store.pending_items, limit, self.clock())
            for item_id, item in batch:
                if halted():
                    break
                processed = await self.process_isolated(item_id, item)
                if processed is not None:
                    done.append(processed)
            if len(batch) < limit:
                break
        return done

    async def process_isolated(self, item_id: int, item: Item) -> Processed | None:
        """`process`, with a failure kept to this item: it is retried with backoff and,
        after `[processing] max_attempts`, set aside as failed with its error (shown by
        `monitor status`, queued again by `monitor status --retry-failed`). Returns None
        when it failed."""
        try:
            return await self.process(item_id, item)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            settings = self.config.processing
            attempts = await asyncio.to_thread(self.store.item_attempts, item_id) + 1
            now = self.clock()
            retry_at = None
            if attempts < settings.max_attempts:
                delay = backoff_delay(attempts, settings.backoff_base, settings.backoff_cap)
                retry_at = now + timedelta(seconds=delay)
            await self._write(
                functools.partial(self.store.record_item_failure, retry_at=retry_at),
                item_id, error, now,
            )  # fmt: skip
            log.error(
                "item %d (%s): processing failed (attempt %d of %d): %s; %s",
                item_id, item.url or item.title[:80], attempts, settings.max_attempts, error,
                f"retry at {retry_at.isoformat(timespec='seconds')}" if retry_at else "set aside",
                exc_info=True, extra={"item": item_id, "feed": item.feed},
            )  # fmt: skip
            self._emit("item_failed", item=item_id, final=retry_at is None)
            return None

    async def process(self, item_id: int, item: Item) -> Processed:
        item = await self._fetch_article(item)
        item = await asyncio.to_thread(self.host.enrich, item)
        item = dataclasses.replace(item, html=None)
        t0 = time.perf_counter()
        classification = await asyncio.to_thread(self.host.classify, item)
        self._emit(
            "classify",
            duration=time.perf_counter() - t0,
            relevant=bool(classification and classification.relevant),
        )
        alerts = await self._write(self._decide_and_commit, item_id, item, classification)
        return Processed(item_id, item, classification, alerts)

    async def _fetch_article(self, item: Item) -> Item:
        feed = self.config.feed(item.feed) if item.feed else None
        if feed is None or not feed.fulltext or not item.url:
            return item
        if len(item.text) >= self.config.fetch.fulltext_min_chars:
            return item
        result = await self.fetcher.fetch_article(item.url, allow_private=feed.allow_private)
        if result.ok and result.body:
            return dataclasses.replace(item, html=result.text)
        return dataclasses.replace(
            item, meta={**item.meta, "extraction_error": result.error or "empty page"}
        )

    def _decide_and_commit(self, item_id: int, item: Item, c: Classification | None) -> list[int]:
        """Read what the decision needs, decide (a pure function), write once: the
        classification, its story and its alerts in one transaction (the outbox)."""
        now = self.clock()
        threshold = self.config.classifier.type_threshold
        if c is None or not c.relevant:
            trace(item_id, item, c, None, (), self.config)
            return self.store.commit_classification(
                item_id, item, c, None, [], now, type_threshold=threshold
            )
        window = timedelta(seconds=self.config.stories.window)
        silences = self.store.active_silences(now)

        def decided(context: StoryContext) -> tuple[StoryRow | None, tuple[NewAlert, ...]]:
            decision = decide(item_id, item, c, context, self.config, now)
            alerts = apply_silences(decision.alerts, silences, decision.story, c, threshold, now)
            trace(item_id, item, c, decision.story, alerts, self.config)
            return decision.story, alerts

        return self.store.decide_and_commit(
            item_id,
            item,
            c,
            now,
            since=now - window - timedelta(days=30),
            event_dates=event_window(c, window),
            decide=decided,
            type_threshold=threshold,
        )
