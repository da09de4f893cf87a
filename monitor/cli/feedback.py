"""`monitor feedback`: what analysts said was wrong, recorded and exported as tests.

`monitor feedback add ITEM --not-relevant | --type T` records a verdict (the item page's
"wrong" buttons do the same); `monitor feedback list` shows them; `monitor feedback
export [-o FILE]` writes a labelled JSONL corpus that `monitor eval FILE.jsonl` scores,
so every mistake reported becomes a regression case.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from monitor.cli.common import add_config_option, config_or_report, fail
from monitor.errors import StoreError
from monitor.store import SqlStore, open_store
from monitor.taxonomy import CONTACT_TYPES
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "feedback",
        help="record analysts' corrections; export them as a labelled corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="record that an item was classified wrongly")
    add.add_argument("item", metavar="ITEM", help="the item's id or URL")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--not-relevant", action="store_true", help="it is not a contact")
    which.add_argument("--relevant", action="store_true", help="it is a contact after all")
    which.add_argument("--type", choices=CONTACT_TYPES, help="its right contact type")
    add.add_argument("--comment", default="", help="why")
    add_config_option(add)
    add.set_defaults(handler=handle_add)
    lst = commands.add_parser("list", help="every verdict recorded, oldest first")
    add_config_option(lst)
    lst.add_argument("--json", action="store_true", help="print them as JSON")
    lst.set_defaults(handler=handle_list)
    export = commands.add_parser("export", help="write the labelled JSONL corpus")
    add_config_option(export)
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (default: standard output)"
    )
    export.set_defaults(handler=handle_export)


def handle_add(args: argparse.Namespace) -> int:
    store = _store(args.config, readonly=False)
    if store is None:
        return 1
    try:
        item_id = store.find_item(args.item)
        if item_id is None:
            fail(f"no stored item with id or URL {args.item!r}")
            return 1
        verdict = "not_relevant" if args.not_relevant else "relevant" if args.relevant else (
            "wrong_type"
        )  # fmt: skip
        n = store.add_feedback(
            item_id, verdict, datetime.now(UTC), type=args.type, comment=args.comment
        )
    finally:
        store.close()
    print(f"feedback #{n} recorded for item #{item_id}")
    return 0


def handle_list(args: argparse.Namespace) -> int:
    store = _store(args.config)
    if store is None:
        return 1
    try:
        rows = store.feedback_records()
    finally:
        store.close()
    if args.json:
        docs = [
            {"id": f["id"], "item": r.id, "verdict": f["verdict"], "type": f["type"],
             "comment": f["comment"], "at": f["created_at"].isoformat(), "title": r.item.title}
            for f, r in rows
        ]  # fmt: skip
        print(json.dumps(docs, ensure_ascii=False, indent=2))
        return 0
    for f, r in rows:
        what = f["verdict"].replace("_", " ") + (f": {f['type']}" if f["type"] else "")
        print(inert(f"#{f['id']} item #{r.id} {what} {f['comment']}".rstrip()))
        print(inert(f"    {r.item.title or r.item.url}"))
    return 0


def handle_export(args: argparse.Namespace) -> int:
    from monitor.web.feedback import corpus_lines

    config = config_or_report(args.config, secrets=False)
    if config is None:
        return 1
    store = _store(args.config)
    if store is None:
        return 1
    try:
        lines = corpus_lines(store.feedback_records(), config.classifier.type_threshold)
    finally:
        store.close()
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"{len(lines)} labelled item(s) written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _store(path: str, *, readonly: bool = True) -> SqlStore | None:
    config = config_or_report(path, secrets=False)
    if config is None:
        return None
    try:
        return open_store(config.store, readonly=readonly)
    except StoreError as exc:
        fail(str(exc))
        return None
