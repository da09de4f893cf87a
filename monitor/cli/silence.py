"""`monitor silence`: mute the alerts of a story, an actor or a contact type for a while.

`monitor silence add --story N | --actor NAME | --type T [--route R] --for 48h
--comment "..."` mutes them on every route, or on route R; silenced alerts are recorded
(the outbox and silences pages show them) and not sent. Once the silence ends, the
story's next report alerts as new. `list` shows the silences, `expire ID` ends one now.
The daemon reads the silences at every decision: no reload is needed.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from monitor.cli.common import add_config_option, fail
from monitor.config import Config, load_config, parse_duration
from monitor.errors import ConfigError, StoreError
from monitor.store import SqlStore, open_store
from monitor.taxonomy import CONTACT_TYPES
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "silence",
        help="mute a story, an actor or a type for a while",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(dest="silence_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="add a silence")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--story", type=int, metavar="N", help="silence story N")
    which.add_argument("--actor", metavar="NAME", help="silence stories naming this actor")
    which.add_argument("--type", choices=CONTACT_TYPES, help="silence contacts of this type")
    add.add_argument("--route", metavar="R", help="only on this route (default: every route)")
    add.add_argument(
        "--for", dest="duration", default="48h", metavar="DURATION",
        help='how long, e.g. "48h", "7d" (default: 48h)',
    )  # fmt: skip
    add.add_argument("--comment", default="", help="why, for whoever reads the list")
    add_config_option(add)
    add.set_defaults(handler=handle_add)
    lst = commands.add_parser("list", help="the silences in force (--all: ended ones too)")
    lst.add_argument("--all", action="store_true", help="include expired and ended silences")
    lst.add_argument("--json", action="store_true", help="print them as JSON")
    add_config_option(lst)
    lst.set_defaults(handler=handle_list)
    expire = commands.add_parser("expire", help="end a silence now")
    expire.add_argument("id", type=int, metavar="ID", help="the silence's number")
    add_config_option(expire)
    expire.set_defaults(handler=handle_expire)


def _open(path: str, *, readonly: bool) -> tuple[Config, SqlStore] | None:
    try:
        config = load_config(path, secrets=False)
        return config, open_store(config.store, readonly=readonly)
    except (ConfigError, StoreError) as exc:
        fail(str(exc))
        return None


def handle_add(args: argparse.Namespace) -> int:
    try:
        seconds = parse_duration(args.duration)
    except ValueError as exc:
        fail(f"--for: {exc}")
        return 2
    opened = _open(args.config, readonly=False)
    if opened is None:
        return 1
    config, store = opened
    if args.route and args.route not in {r.name for r in config.effective_routes()}:
        fail(f"--route: no route named {args.route!r} in {config.source}")
        store.close()
        return 2
    now = datetime.now(UTC)
    try:
        n = store.add_silence(
            until=now + timedelta(seconds=seconds), now=now, story_id=args.story,
            actor=args.actor, type=args.type, route=args.route, comment=args.comment,
        )  # fmt: skip
        (silence,) = [s for s in store.silences(now) if s.id == n]
    finally:
        store.close()
    print(inert(silence.describe()))
    return 0


def handle_list(args: argparse.Namespace) -> int:
    opened = _open(args.config, readonly=True)
    if opened is None:
        return 1
    _, store = opened
    now = datetime.now(UTC)
    try:
        silences = store.silences(now, include_expired=args.all)
    finally:
        store.close()
    if args.json:
        docs = [
            {"id": s.id, "story": s.story_id, "actor": s.actor, "type": s.type,
             "route": s.route, "until": s.until.isoformat(), "comment": s.comment,
             "active": s.active(now)}
            for s in silences
        ]  # fmt: skip
        print(json.dumps(docs, ensure_ascii=False, indent=2))
        return 0
    if not silences:
        print("no silence in force" if not args.all else "no silence")
    for s in silences:
        state = "" if s.active(now) else (" (expired)" if s.expired_at else " (ended)")
        comment = f" — {s.comment}" if s.comment else ""
        print(inert(f"{s.describe()}{state}{comment}"))
    return 0


def handle_expire(args: argparse.Namespace) -> int:
    opened = _open(args.config, readonly=False)
    if opened is None:
        return 1
    _, store = opened
    try:
        done = store.expire_silence(args.id, datetime.now(UTC))
    finally:
        store.close()
    if not done:
        fail(f"no silence #{args.id} in force")
        return 1
    print(f"silence #{args.id} expired")
    return 0
