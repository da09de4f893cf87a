"""`monitor status`: feeds' health, pending and dead-lettered alerts, recent alerts."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from monitor.cli.common import add_config_option, config_or_exit, fail
from monitor.config import Config
from monitor.errors import StoreError
from monitor.store import Store, open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_or_exit(args.config)
    try:
        store = open_store(config.store)
    except StoreError as exc:
        fail(str(exc))
        return 1
    try:
        if args.retry_dead is not None:
            revived = store.retry_dead_letters(datetime.now(UTC), args.retry_dead or None)
            print(f"{revived} dead-lettered delivery(ies) queued again")
            return 0
        doc = collect(config, store, datetime.now(UTC))
    finally:
        store.close()
    print(json.dumps(doc, indent=2, default=str) if args.json else render(doc))
    return 0


def collect(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    configured = {f.name for f in config.feeds}
    feeds = []
    for row in store.feeds():
        if row.name not in configured:
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
    return {
        "feeds": feeds,
        "items": store.item_count(),
        "deliveries": store.delivery_counts(),
        "dead_letters": store.dead_letters(),
        "recent_alerts": store.recent_alerts(10),
    }


def render(doc: dict[str, Any]) -> str:
    lines = [f"Feeds ({len(doc['feeds'])}), items stored: {doc['items']}"]
    for f in doc["feeds"]:
        if not f["enabled"]:
            state = f"DISABLED ({f['disabled_reason']})"
        elif f["consecutive_failures"]:
            flag = " FLAGGED" if f["flagged"] else ""
            state = f"FAILING x{f['consecutive_failures']}{flag}: {f['last_error']}"
        else:
            state = "ok"
        lines.append(f"  {f['name']}: {state}")
        lines.append(
            f"      last success {_when(f['last_success'])}, next poll {_when(f['next_poll'])}, "
            f"items seen {f['items_seen']}"
        )
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
    if doc["recent_alerts"]:
        lines.append("Recent alerts:")
        for row in doc["recent_alerts"]:
            lines.append(
                f"  #{row['id']} [{row['status']}] {row['kind']} "
                f"via {row['notifier']}: {row['title']}"
            )
    return "\n".join(lines)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"
