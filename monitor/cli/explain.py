"""`monitor explain URL|ITEM_ID`: why a stored item alerted, or did not, on each route.

Prints the stored classification (score, types, actors, evidence), then per route the
alert it owes or why not ("score 0.42 < 0.6", "type military not in route", "story
already alerted", quiet hours), then the classifier's step-by-step explanation from the
current plugins run again on the stored text. The item page of the web UI shows the same.
"""

from __future__ import annotations

import argparse
import json

from monitor.cli.common import add_config_option, fail
from monitor.config import load_config
from monitor.errors import ConfigError, StoreError
from monitor.models import Classification, Item
from monitor.store import open_store
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain",
        help="why a stored item alerted or not, per route",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ref", metavar="URL|ITEM_ID", help="the item's id, URL or canonical URL")
    add_config_option(p)
    p.add_argument("--json", action="store_true", help="print the explanation as JSON")
    p.add_argument(
        "--stored",
        action="store_true",
        help="only what is stored: do not run the classifier again for its explanation",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from monitor.web.explain import explain_item, render

    try:
        config = load_config(args.config, secrets=False)
        store = open_store(config.store, readonly=True)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
        return 1
    try:
        item_id = store.find_item(args.ref)
        record = store.item_record(item_id) if item_id is not None else None
        if record is None:
            fail(f"no stored item with id or URL {args.ref!r}")
            return 1
        host = None
        if not args.stored:
            from monitor.host.loader import build_host

            host = build_host(config)
            host.startup()

        def classify(item: Item) -> Classification | None:
            assert host is not None
            return host.classify(host.enrich(item))

        try:
            explanation = explain_item(store, record, config, classify if host else None)
        finally:
            if host is not None:
                host.shutdown()
    finally:
        store.close()
    if args.json:
        print(json.dumps(explanation.to_json(), ensure_ascii=False, indent=2, default=str))
    else:
        print("\n".join(inert(line) for line in render(explanation)))
    return 0
