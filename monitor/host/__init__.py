"""The plugin host: loading plugins in a fixed order and calling each one in isolation."""

from monitor.host.loader import build_host
from monitor.host.manager import PluginHost, PluginInfo
from monitor.host.validate import validate_classification

__all__ = ["PluginHost", "PluginInfo", "build_host", "validate_classification"]
