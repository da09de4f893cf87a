"""`monitor check-config`: validate the config as the daemon will use it.

One pass reports every problem at once: the file's own keys and types, then what only
the plugins can judge (plugins that fail to load or start with their options, unknown
`[classifier] required` names, every notifier's options). Exit 0 when the daemon would
accept the file as it is; exit 1 with every problem named by file and key path.
"""

from __future__ import annotations

import argparse

from monitor.cli.common import add_config_option, fail
from monitor.config import NotifierConfig, plugin_sections, read_config
from monitor.errors import ConfigError
from monitor.host.loader import build_host
from monitor.service.runtime import notifier_problems


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate the configuration", description=__doc__)
    add_config_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        config, data, problems = read_config(args.config)
    except ConfigError as exc:  # not readable at all: nothing more to check
        fail(str(exc))
        return 1
    source = str(args.config)
    host = build_host(config or plugin_sections(data, source))
    host.startup()
    try:
        problems += host.problems()
        problems += notifier_problems(_notifier_specs(data), host)
    finally:
        host.shutdown()
    if problems:
        fail(str(ConfigError(source, problems)))
        return 1
    assert config is not None
    print(
        f"{config.source}: OK — {len(config.feeds)} feed(s), {len(config.notifiers)} notifier(s), "
        f"{len(config.effective_routes())} route(s)"
    )
    return 0


def _notifier_specs(data: dict[str, object]) -> dict[str, NotifierConfig]:
    """The notifier tables that are well-formed enough to hand to their plugin (the
    others were already reported with the file's problems)."""
    raw = data.get("notifiers", {"console": {"kind": "console"}})
    if not isinstance(raw, dict):
        return {}
    specs: dict[str, NotifierConfig] = {}
    for name, table in raw.items():
        try:
            specs[name] = NotifierConfig.model_validate(table)
        except ValueError:
            continue
    return specs
