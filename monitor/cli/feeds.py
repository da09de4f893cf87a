"""`monitor feeds`: feeds in and out as OPML.

`monitor feeds import list.opml` prints a `[[feeds]]` table for every feed of the list
that the config does not have yet (by URL), named from its title; `--append` adds them
to the config file instead (appended as text: the file's comments stay; the result is
checked and the file left as it was when it would be invalid). `monitor feeds export`
writes the configured feeds as OPML 2.0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.common import add_config_option, config_or_report, fail
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.textsafe import inert


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "feeds",
        help="import feeds from OPML, export them as OPML",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    imp = commands.add_parser("import", help="the feeds of an OPML list as [[feeds]] tables")
    imp.add_argument("opml", metavar="FILE.opml", help="an OPML subscription list")
    add_config_option(imp)
    imp.add_argument(
        "--append", action="store_true", help="append the new feeds to the config file"
    )
    imp.set_defaults(handler=handle_import)
    exp = commands.add_parser("export", help="the configured feeds as OPML 2.0")
    add_config_option(exp)
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    exp.set_defaults(handler=handle_export)


def handle_import(args: argparse.Namespace) -> int:
    from monitor.web.opml import OPMLError, feeds_toml, new_feeds, read_opml

    config = config_or_report(args.config, secrets=False)
    if config is None:
        return 1
    try:
        found, warnings = read_opml(Path(args.opml).read_bytes())
    except OSError as exc:
        fail(f"{args.opml}: cannot read: {exc}")
        return 2
    except OPMLError as exc:
        fail(f"{args.opml}: {exc}")
        return 2
    for warning in warnings:
        fail(inert(f"{args.opml}: {warning}"))
    added, known = new_feeds(found, config.feeds)
    text = feeds_toml(added)
    summary = (
        f"{len(found)} feed(s) in {args.opml}: {len(added)} new, {len(known)} already configured"
    )
    if not args.append:
        if text:
            sys.stdout.write(text)
        print(summary, file=sys.stderr)
        return 0
    if not added:
        print(summary, file=sys.stderr)
        return 0
    target = Path(args.config)
    before = target.read_text(encoding="utf-8")
    joiner = (
        "" if before.endswith("\n\n") or not before else ("\n" if before.endswith("\n") else "\n\n")
    )
    target.write_text(f"{before}{joiner}# imported from {Path(args.opml).name}\n{text}", "utf-8")
    try:
        load_config(target, secrets=False)
    except ConfigError as exc:
        target.write_text(before, encoding="utf-8")
        fail(f"not appended, the config would be invalid: {exc}")
        return 1
    print(f"{summary}; appended to {target}", file=sys.stderr)
    return 0


def handle_export(args: argparse.Namespace) -> int:
    from monitor.web.opml import write_opml

    config = config_or_report(args.config, secrets=False)
    if config is None:
        return 1
    data = write_opml(config.feeds)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{len(config.feeds)} feed(s) written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0
