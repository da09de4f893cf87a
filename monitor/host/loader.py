"""Building the plugin host: built-ins, then installed entry points (group
`monitor.plugins`), then modules named in the config, always in that order."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import monitor
from monitor.config import Config
from monitor.host.manager import PluginHost, PluginInfo

log = logging.getLogger("monitor.plugins")


ENTRY_POINT_GROUP = "monitor.plugins"
BUILTINS = (
    "rudprk",
    "fulltext",
    "language",
    "console",
    "slack",
    "email",
    "webhook",
)


def build_host(
    config: Config | None = None, *, builtins: bool = True, entry_points: bool = True
) -> PluginHost:
    """The plugin host with every plugin loaded in the fixed order."""
    host = PluginHost(config)
    version = monitor.__version__
    if builtins:
        for name in BUILTINS:
            host.load_module(f"monitor.plugins.{name}", name, "built-in", version)
    if entry_points:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_version = ep.dist.version if ep.dist else ""
            if not host._wanted(ep.name):
                host.infos[ep.name] = PluginInfo(
                    ep.name, "entry point", dist_version, status="disabled"
                )
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                host._failed(
                    ep.name,
                    "entry point",
                    dist_version,
                    f"import failed: {type(exc).__name__}: {exc}",
                )
                continue
            host.register(plugin, ep.name, "entry point", dist_version)
    with _config_folder_on_path(host.config.source):
        for dotted in host.config.plugins.modules:
            host.load_module(dotted, dotted, "config", _module_version(dotted))
    return host


@contextlib.contextmanager
def _config_folder_on_path(source: str) -> Iterator[None]:
    """`[plugins] modules` are found beside the config file first (then on the usual
    path), so a plugin next to its config needs no PYTHONPATH."""
    folder = Path(source).resolve().parent if Path(source).is_file() else None
    if folder is None or str(folder) in sys.path:
        yield
        return
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def _module_version(dotted: str) -> str:
    try:
        return metadata.version(dotted.split(".")[0])
    except metadata.PackageNotFoundError:
        return ""
