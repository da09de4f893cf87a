"""`monitor status`: feeds' health, pending and dead-lettered alerts, recent alerts.

It only reads: secrets need not be in the environment, the database is opened
read-only (and a missing one is reported, not created), and whether a daemon holds the
database's lock is shown. `--retry-dead` is the one action; it writes to the outbox.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.config import Config
from monitor.errors import StoreError
from monitor.service.lock import database_path, holder, lock_path
from monitor.store import Store, open_store
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="feeds' health and the alert outbox", description=__doc__)
    add_config_option(p)
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.add_argument(
        "--retry-dead",
        nargs="*",
        type=int,
        metavar="ID",
        help="send dead-lettered deliveries again (all, or these ids); the daemon picks them up",
    )
    p.add_argument(
        "--retry-failed",
        nargs="*",
        type=int,
        metavar="ID",
        help="process items set aside after repeated failures again (all, or these ids)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config, secrets=False)
    if args.retry_dead is not None or args.retry_failed is not None:
        return _retry(config, args.retry_dead, args.retry_failed)
    daemon = _daemon(config)
    store: Store | None = None
    note: str | None = None
    try:
        store = open_store(config.store, readonly=True)
    except StoreError as exc:
        note = str(exc)
    try:
        doc = collect(config, store, datetime.now(UTC))
        if store is not None:
            doc.update(cluster_status(config, store, datetime.now(UTC)))
    finally:
        if store is not None:
            store.close()
    doc["daemon"] = daemon
    doc["store"] = {"url": _where(config), "readable": store is not None, "note": note}
    print(json.dumps(doc, indent=2, default=str) if args.json else render(doc))
    return 0


def _retry(config: Config, dead: list[int] | None, failed: list[int] | None) -> int:
    """The two actions: dead letters and failed items queued again (the daemon, or the
    next `monitor once`, picks them up)."""
    try:
        store = open_store(config.store)
    except StoreError as exc:
        fail(str(exc))
        return 1
    try:
        if dead is not None:
            revived = store.retry_dead_letters(datetime.now(UTC), dead or None)
            print(f"{revived} dead-lettered delivery(ies) queued again")
        if failed is not None:
            requeued = store.retry_failed_items(failed or None)
            print(f"{requeued} failed item(s) queued for processing again")
    finally:
        store.close()
    return 0


def _daemon(config: Config) -> dict[str, Any]:
    """Whether a process holds the database's lock (tried, so a stale pid never shows)."""
    path = lock_path(config)
    if path is None:
        return {"running": None, "pid": None}
    pid = holder(path)
    return {"running": pid is not None, "pid": pid if pid and pid > 0 else None}


def _where(config: Config) -> str:
    db = database_path(config)
    return str(db) if db is not None else "(server database)"


def collect(config: Config, store: Store | None, now: datetime) -> dict[str, Any]:
    """Every configured feed (never polled when the store has no row for it yet), and
    the outbox; the store's counts are empty when it cannot be read."""
    rows = {row.name: row for row in store.feeds()} if store is not None else {}
    feeds = []
    for feed in config.feeds:
        row = rows.get(feed.name)
        if row is None:
            feeds.append({**_NEVER, "name": feed.name, "url": feed.url, "enabled": feed.enabled})
            continue
        failing_for = (now - row.failing_since).total_seconds() if row.failing_since else 0.0
        feeds.append(
            {
                "name": row.name,
                "url": row.url,
                "enabled": row.enabled,
                "disabled_reason": row.disabled_reason,
                "last_success": row.last_success_at,
                "last_error": row.last_error,
                "last_error_at": row.last_error_at,
                "consecutive_failures": row.consecutive_failures,
                "next_poll": row.next_poll_at,
                "items_seen": row.items_seen,
                "flagged": bool(row.failing_since) and failing_for > config.daemon.failing_after,
            }
        )
    if store is None:
        empty = {"pending": 0, "sending": 0, "sent": 0, "dead": 0}
        return {"feeds": feeds, "items": 0, "item_states": {}, "failed_items": [],
                "deliveries": empty, "dead_letters": [], "recent_alerts": []}  # fmt: skip
    return {
        "feeds": feeds,
        "items": store.item_count(),
        "item_states": store.item_state_counts(),
        "failed_items": store.failed_items(),
        "deliveries": store.delivery_counts(),
        "dead_letters": store.dead_letters(),
        "recent_alerts": store.recent_alerts(10),
    }


def cluster_status(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """{"cluster": nodes with their heartbeats, the queue's depth by task, stalled jobs}
    when the store is a cluster's PostgreSQL database; {} otherwise."""
    try:
        queue = store.cluster_queue(config.cluster.stall_timeout)
    except Exception as exc:  # the queue's tables unreadable: say so, show the rest
        return {"cluster": {"error": f"{type(exc).__name__}: {exc}"}}
    if not queue:
        return {}
    workers = queue.pop("workers")
    nodes = []
    for node in store.cluster_nodes():
        beat = workers.get(node["worker_id"])
        nodes.append(
            {
                "name": node["name"],
                "host": node["host"],
                "pid": node["pid"],
                "version": node["version"],
                "state": node["state"],
                "started": node["started_at"],
                "heartbeat": beat,
                "heartbeat_age": (now - beat).total_seconds() if beat else None,
            }
        )
    return {"cluster": {"nodes": nodes, **queue}}


_NEVER: dict[str, Any] = {
    "disabled_reason": None,
    "last_success": None,
    "last_error": None,
    "last_error_at": None,
    "consecutive_failures": 0,
    "next_poll": None,
    "items_seen": 0,
    "flagged": False,
}


def render(doc: dict[str, Any]) -> str:
    """The status as text; every value that came from a feed or a server is made inert
    (control and escape characters shown as escapes), so it cannot drive the terminal."""
    return "\n".join(inert(line) for line in _lines(doc))


def _lines(doc: dict[str, Any]) -> list[str]:
    lines = [_daemon_line(doc["daemon"]), _store_line(doc["store"])]
    lines.append(f"Feeds ({len(doc['feeds'])}), items stored: {doc['items']}")
    for f in doc["feeds"]:
        if not f["enabled"]:
            state = f"DISABLED ({f['disabled_reason']})"
        elif f["consecutive_failures"]:
            flag = " FLAGGED" if f["flagged"] else ""
            state = f"FAILING x{f['consecutive_failures']}{flag}: {f['last_error']}"
        elif f["last_success"] is None:
            state = "not polled yet"
        else:
            state = "ok"
        lines.append(f"  {f['name']}: {state}")
        lines.append(
            f"      last success {_when(f['last_success'])}, next poll {_when(f['next_poll'])}, "
            f"items seen {f['items_seen']}"
        )
    states = doc["item_states"]
    if states:
        lines.append(
            f"Items: {states.get('new', 0)} pending, {states.get('done', 0)} processed, "
            f"{states.get('failed', 0)} failed"
        )
    if doc["failed_items"]:
        lines.append("Failed items (monitor status --retry-failed queues them again):")
        for row in doc["failed_items"]:
            lines.append(f"  #{row['id']} after {row['attempts']} attempt(s): {row['last_error']}")
            lines.append(f"      {row['title'] or row['url']}")
    d = doc["deliveries"]
    lines.append(
        f"Deliveries: {d['pending']} pending, {d['sending']} in flight, "
        f"{d['sent']} sent, {d['dead']} dead-lettered"
    )
    if doc["dead_letters"]:
        lines.append("Dead letters:")
        for row in doc["dead_letters"]:
            lines.append(
                f"  #{row['id']} {row['notifier']} route={row['route']} "
                f"after {row['attempts']} attempt(s): {row['last_error']}"
            )
            lines.append(f"      {row['title']}")
    lines += _cluster_lines(doc.get("cluster"))
    if doc["recent_alerts"]:
        lines.append("Recent alerts:")
        for row in doc["recent_alerts"]:
            lines.append(
                f"  #{row['id']} [{row['status']}] {row['kind']} "
                f"via {row['notifier']}: {row['title']}"
            )
    return lines


def _cluster_lines(cluster: dict[str, Any] | None) -> list[str]:
    if not cluster:
        return []
    if "error" in cluster:
        return [f"Cluster: cannot read the queue: {cluster['error']}"]
    lines = [f"Cluster nodes ({len(cluster['nodes'])} running):"]
    for n in cluster["nodes"]:
        age = n["heartbeat_age"]
        beat = f"heartbeat {age:.0f} s ago" if age is not None else "no heartbeat"
        lines.append(
            f"  {n['name']} [{n['state']}] pid {n['pid']} on {n['host']}, {beat}, "
            f"up since {_when(n['started'])}"
        )
    by_task = ", ".join(
        f"{task} {c.get('todo', 0)}/{c.get('doing', 0)}"
        for task, c in sorted(cluster["by_task"].items())
    )
    lines.append(
        f"Queue: {cluster['todo']} waiting, {cluster['doing']} running"
        + (f" (waiting/running: {by_task})" if by_task else "")
    )
    stalled = cluster["stalled"]
    if stalled:
        lines.append(f"Stalled jobs ({len(stalled)}; the reaper fails them, their work is redone):")
        for job in stalled:
            lines.append(f"  #{job['id']} {job['task_name']} {job['lock'] or ''} "
                         f"(worker {job['worker_id']})")  # fmt: skip
    return lines


def _daemon_line(daemon: dict[str, Any]) -> str:
    if daemon["running"] is None:
        return "Daemon: not known (the store is a server database; see its nodes)"
    if daemon["running"]:
        return f"Daemon: running (pid {daemon['pid'] or '?'} holds the database lock)"
    return "Daemon: not running (nobody holds the database lock)"


def _store_line(store: dict[str, Any]) -> str:
    if store["readable"]:
        return f"Store: {store['url']} (read-only view)"
    return f"Store: {store['note']}; feeds below are as configured, never polled"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"
