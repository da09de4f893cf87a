"""Prometheus metrics, fed by the observer hooks of the pipeline, deliverer and plugin host.

A dedicated CollectorRegistry (not the process-global one), so several daemons in one
test process, or a library user's own metrics, never collide. Queue sizes (pending,
sending, dead deliveries) are read from the store at scrape time: they are state, not
events, and must be right after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import monitor
from monitor.store.base import Store

log = logging.getLogger("monitor.service.metrics")

LATENCY_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200)
CLASSIFY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric the daemon exports; `observe_*` methods are the observer callables."""

    def __init__(self, store_fn: Callable[[], Store] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        Gauge("monitor_build_info", "Version of monitor.", ["version"], registry=r).labels(
            monitor.__version__
        ).set(1)
        self.polls = Counter("monitor_polls", "Feed polls.", ["feed"], registry=r)
        self.poll_errors = Counter(
            "monitor_poll_errors", "Feed polls that failed.", ["feed"], registry=r
        )
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds", "Time to fetch, parse and store one feed.",
            ["feed"], buckets=POLL_BUCKETS, registry=r,
        )  # fmt: skip
        self.items = Counter(
            "monitor_items_stored", "New items stored, per feed.", ["feed"], registry=r
        )
        self.classifications = Counter(
            "monitor_classifications", "Items classified.", ["relevant"], registry=r
        )
        self.classify_seconds = Histogram(
            "monitor_classify_duration_seconds", "Time to classify one item (all classifiers).",
            buckets=CLASSIFY_BUCKETS, registry=r,
        )  # fmt: skip
        self.sent = Counter("monitor_alerts_sent", "Alerts delivered.", ["notifier"], registry=r)
        self.failed = Counter(
            "monitor_alerts_failed", "Failed delivery attempts.", ["notifier"], registry=r
        )
        self.dead = Counter(
            "monitor_alerts_dead", "Deliveries dead-lettered.", ["notifier"], registry=r
        )
        self.latency = Histogram(
            "monitor_delivery_latency_seconds", "From alert creation to delivery.",
            ["notifier"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.plugin_errors = Counter(
            "monitor_plugin_errors", "Plugin failures (raised, timed out, malformed).",
            ["plugin"], registry=r,
        )  # fmt: skip
        self.job_errors = Counter(
            "monitor_job_errors", "Scheduled jobs that raised.", ["job"], registry=r
        )
        self.reloads = Counter("monitor_config_reloads", "Config reloads.", ["result"], registry=r)
        self.up = Gauge("monitor_scheduler_running", "1 while the scheduler runs.", registry=r)
        if store_fn is not None:
            r.register(_OutboxCollector(store_fn))

    # --- observers ------------------------------------------------------------------

    def observe_pipeline(self, event: str, fields: dict[str, Any]) -> None:
        if event == "poll":
            feed = str(fields.get("feed"))
            self.polls.labels(feed).inc()
            if fields.get("error"):
                self.poll_errors.labels(feed).inc()
            self.poll_seconds.labels(feed).observe(float(fields.get("duration") or 0.0))
            new = int(fields.get("new") or 0)
            if new:
                self.items.labels(feed).inc(new)
        elif event == "classify":
            relevant = "true" if fields.get("relevant") else "false"
            self.classifications.labels(relevant).inc()
            self.classify_seconds.observe(float(fields.get("duration") or 0.0))

    def observe_delivery(self, event: str, fields: dict[str, Any]) -> None:
        notifier = str(fields.get("notifier"))
        if event == "delivered":
            self.sent.labels(notifier).inc()
            self.latency.labels(notifier).observe(max(0.0, float(fields.get("latency") or 0.0)))
        elif event == "failed":
            self.failed.labels(notifier).inc()
            if fields.get("dead"):
                self.dead.labels(notifier).inc()

    def observe_plugin_error(self, plugin: str, _message: str) -> None:
        self.plugin_errors.labels(plugin).inc()

    # --- exposition -----------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type (blocking: queries the store)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _OutboxCollector(Collector):
    """State read from the store at scrape time: `monitor_deliveries{status,notifier}`,
    `monitor_items{state}` (failed items among them), the processing backlog and the age
    of its oldest item, and each notifier's queue (due now, age of the oldest due)."""

    def __init__(self, store_fn: Callable[[], Store]) -> None:
        self.store_fn = store_fn

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "monitor_deliveries",
            "Deliveries in the outbox by status (pending, sending, sent, dead).",
            labels=["status", "notifier"],
        )
        store = self.store_fn()
        try:
            for (status, notifier), n in sorted(store.delivery_counts_by_notifier().items()):
                family.add_metric([status, notifier], n)
        except Exception as exc:  # a scrape must not fail because the store is busy
            log.warning("metrics: cannot read the outbox: %s", exc)
        yield family
        yield from self._pipeline(store)

    def _pipeline(self, store: Store) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        items = GaugeMetricFamily(
            "monitor_items", "Items in the store by state (new, classified, failed, ...).",
            labels=["state"],
        )  # fmt: skip
        failed = GaugeMetricFamily(
            "monitor_items_failed", "Items set aside after their processing failed."
        )
        backlog = GaugeMetricFamily("monitor_backlog_items", "Items waiting to be processed.")
        age = GaugeMetricFamily(
            "monitor_backlog_age_seconds",
            "How long the oldest item waiting to be processed has waited (0 when none).",
        )
        queue = GaugeMetricFamily(
            "monitor_notifier_queue_depth", "Deliveries due now, per notifier.",
            labels=["notifier"],
        )  # fmt: skip
        queue_age = GaugeMetricFamily(
            "monitor_notifier_queue_age_seconds",
            "How long the oldest delivery due has been due, per notifier (0 when none).",
            labels=["notifier"],
        )
        try:
            states = store.item_states()
            for state, n in sorted(states.items()):
                items.add_metric([state], n)
            failed.add_metric([], states.get("failed", 0))
            waiting, oldest = store.item_backlog()
            backlog.add_metric([], waiting)
            age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
            for notifier, q in sorted(store.notifier_queues(now).items()):
                queue.add_metric([notifier], q["due"])
                since = q["oldest_due"]
                queue_age.add_metric(
                    [notifier], max(0.0, (now - since).total_seconds()) if since else 0.0
                )
        except Exception as exc:
            log.warning("metrics: cannot read the pipeline state: %s", exc)
        yield from (items, failed, backlog, age, queue, queue_age)
