"""`monitor check-config`: validate the config (and every notifier's options).

Exit 0 when it is valid; exit 1 with every problem named by file and key path.
"""

from __future__ import annotations

import argparse

from monitor.cli.common import add_config_option, fail
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.plugin_manager import build_host
from monitor.runtime import build_notifiers


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-config", help="validate the configuration", description=__doc__)
    add_config_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        host = build_host(config)
        for notifier in build_notifiers(config, host).values():
            notifier.close()
    except ConfigError as exc:
        fail(str(exc))
        return 1
    failed = [i for i in host.infos.values() if i.status == "failed"]
    for info in failed:
        fail(f"warning: plugin {info.name} failed to load: {info.error}")
    routes = config.effective_routes()
    print(
        f"{config.source}: OK — {len(config.feeds)} feed(s), {len(config.notifiers)} notifier(s), "
        f"{len(routes)} route(s)"
    )
    return 0
