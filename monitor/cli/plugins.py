"""`monitor plugins`: list plugins with their origin, version, hooks and status."""

from __future__ import annotations

import argparse
import json

from monitor.cli.classify import optional_config
from monitor.cli.common import fail
from monitor.errors import ConfigError
from monitor.plugin_manager import build_host


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "plugins", help="list plugins: name, origin, version, hooks, status", description=__doc__
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="configuration file (default: config/monitor.toml when it exists)",
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        config = optional_config(args.config)
    except ConfigError as exc:
        fail(str(exc))
        return 1
    host = build_host(config)
    infos = list(host.infos.values())
    if args.json:
        print(json.dumps([i.as_json() for i in infos], indent=2))
        return 0
    rows = [("NAME", "ORIGIN", "VERSION", "STATUS", "HOOKS")]
    for i in infos:
        status = i.status if i.status != "failed" else f"failed: {i.error}"
        rows.append((i.name, i.origin, i.version or "-", status, ", ".join(i.hooks) or "-"))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
        )
    return 0
