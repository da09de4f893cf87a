"""Several nodes on one PostgreSQL database, scheduled by procrastinate.

`monitor run` with `[cluster] enabled = true` (or `--cluster`) starts a node instead of
the single-node APScheduler daemon. Every node runs the same procrastinate worker over
the same jobs; nothing is assigned to a node, so a node started later takes its share
and a node that dies is taken over:

- dispatch (periodic, once per tick cluster-wide): a poll job for every feed due, with
  none waiting or running (queueing lock and lock `poll:<feed>`);
- poll (one feed, `Runtime.poll`), its record applied only for the due time it was
  dispatched for (`Store.record_poll_if_due`);
- process (`Runtime.process`, one at a time cluster-wide: lock `process`);
- deliver (one job per notifier at a time cluster-wide: lock `deliver:<notifier>`),
  queued by processing and by the delivery tick (which also sends digests: they are
  outbox rows due at their cron time);
- maintenance (daily), and in every node a reaper: jobs of workers whose heartbeat is
  stale are marked failed, so the dispatcher queues their feeds again, and the next
  delivery job of a notifier puts back what the dead one left in flight.

docs/cluster.md is the operator's guide. procrastinate is imported only here (the
`cluster` extra); the single-node daemon never needs it.
"""

from __future__ import annotations

from monitor.cluster.node import ClusterNode, run_node

__all__ = ["ClusterNode", "run_node"]
