"""The cluster's gauges, read from the queue at scrape time and added to a node's
`/metrics`: nodes running, jobs waiting and running per task, stalled jobs, and how
many jobs this node's reaper failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("monitor.cluster")


class ClusterCollector(Collector):
    def __init__(self, store_fn: Callable[[], Any], stall_timeout: float,
                 reaped: Callable[[], int]) -> None:  # fmt: skip
        self.store_fn = store_fn
        self.stall_timeout = stall_timeout
        self.reaped = reaped

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        nodes = GaugeMetricFamily("monitor_cluster_nodes", "Cluster nodes running.")
        jobs = GaugeMetricFamily(
            "monitor_cluster_jobs", "Jobs in the queue by task and status (todo, doing).",
            labels=["task", "status"],
        )  # fmt: skip
        stalled = GaugeMetricFamily(
            "monitor_cluster_stalled_jobs", "Running jobs of workers whose heartbeat is stale."
        )
        reaped = CounterMetricFamily(
            "monitor_cluster_reaped_jobs", "Stalled jobs this node's reaper marked failed."
        )
        try:
            store = self.store_fn()
            queue = store.cluster_queue(self.stall_timeout)
            nodes.add_metric([], len(store.cluster_nodes()))
            for task, counts in sorted(queue.get("by_task", {}).items()):
                for status in ("todo", "doing"):
                    jobs.add_metric([task, status], counts.get(status, 0))
            stalled.add_metric([], len(queue.get("stalled", [])))
        except Exception as exc:  # a scrape must not fail because the database is busy
            log.warning("metrics: cannot read the queue: %s", exc)
        reaped.add_metric([], self.reaped())
        yield from (nodes, jobs, stalled, reaped)
