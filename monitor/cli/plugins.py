"""`monitor plugins`: list plugins with their origin, version, hooks and status.

`monitor plugins new NAME --kind classifier|notifier` writes a ready plugin package
(pyproject with the entry point, module, README, tests) to start from.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from monitor.cli.common import add_optional_config_option, fail, started_host

if TYPE_CHECKING:
    from monitor.host.manager import PluginInfo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plugins",
        help="list plugins: name, origin, version, hooks, status; `new` writes one",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_optional_config_option(p)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(handler=handle)
    actions = p.add_subparsers(dest="plugins_command", metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="write a new plugin package from a template",
        description="Write monitor-NAME/ (pyproject with the `monitor.plugins` entry point, "
        "the module with documented hook implementations, a README and passing tests). "
        "Then: pip install -e monitor-NAME && monitor plugins",
    )
    new.add_argument("name", metavar="NAME", help="plugin name, e.g. watchlist")
    new.add_argument(
        "--kind",
        choices=["classifier", "notifier"],
        default="classifier",
        help="what the plugin provides (default: classifier)",
    )
    new.add_argument(
        "--dir", default=".", metavar="DIR", help="where to create monitor-NAME/ (default: .)"
    )
    new.set_defaults(handler=handle_new)


def handle(args: argparse.Namespace) -> int:
    _, host = started_host(args.config)  # a plugin whose startup fails is shown as failed
    host.shutdown()
    infos = list(host.infos.values())
    if args.json:
        print(json.dumps([i.as_json() for i in infos], indent=2))
        return 0
    rows = [("NAME", "ORIGIN", "VERSION", "STATUS", "HOOKS")]
    for i in infos:
        rows.append((i.name, i.origin, i.version or "-", status_cell(i), ", ".join(i.hooks) or "-"))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
        )
    if any(i.error and status_cell(i) != f"{i.status}: {i.error}" for i in infos):
        print("(reasons shortened; `monitor plugins --json` shows them in full)")
    return 0


#: The widest STATUS cell of the table; the full reason is in `--json`.
STATUS_WIDTH = 60


def status_cell(info: PluginInfo) -> str:
    """The STATUS column: the status, and for a failure its reason on one line, cut at
    STATUS_WIDTH characters (a reason can span lines or quote a whole object)."""
    if not info.error:
        return info.status
    text = " ".join(f"{info.status}: {info.error}".split())
    return text if len(text) <= STATUS_WIDTH else text[: STATUS_WIDTH - 1].rstrip() + "…"


def handle_new(args: argparse.Namespace) -> int:
    from monitor.scaffold import ScaffoldError, create, normalise

    try:
        path = create(args.name, args.kind, args.dir)
    except (ScaffoldError, OSError) as exc:
        fail(str(exc))
        return 1
    name = normalise(args.name)
    print(f"created {path} ({args.kind} plugin {name!r})")
    print("next:")
    print(f"  pip install -e '{path}[test]'")
    print("  monitor plugins")
    print(f"  cd {path} && pytest")
    return 0
