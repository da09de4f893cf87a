"""`monitor replay`: a backtest. Classification and routing run again over the stored
items with the current config and plugins (or another config's), sending nothing, and
what would change is printed: alerts that would fire and did not, alerts that fired and
would not, alerts of another kind (per route), and items whose relevance or types changed.

The items are read from the store of `--store-from FILE` (default: the replayed
config's own store), which is opened read-only: replay writes nothing to it.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from monitor.cli.common import add_config_option, fail
from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError, StoreError
from monitor.models import Classification, Item
from monitor.store import open_store
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay",
        help="backtest rules and plugins on stored items, sending nothing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(p)
    p.add_argument(
        "--since",
        default="30d",
        metavar="DURATION",
        help='replay items fetched in this past period, e.g. "7d", "12h", or "all" (default: 30d)',
    )
    p.add_argument(
        "--store-from",
        metavar="FILE",
        help="read the stored items from this config's store (default: the --config one)",
    )
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from monitor.host.loader import build_host
    from monitor.web.replay import replay

    try:
        since = _since(args.since)
    except ValueError as exc:
        fail(f"--since: {exc}")
        return 2
    try:
        config = load_config(args.config, secrets=False)
        source = load_config(args.store_from, secrets=False) if args.store_from else config
        store = open_store(source.store, readonly=True)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
        return 1
    host = build_host(config)
    host.startup()

    def classify(item: Item) -> Classification | None:
        return host.classify(host.enrich(item))

    try:
        report = replay(store.items_since(since), config, classify, since)
    finally:
        host.shutdown()
        store.close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(inert(line) for line in report.render()))
    return 0


def _since(value: str) -> datetime | None:
    if value.strip().lower() in ("all", "0", ""):
        return None
    return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
