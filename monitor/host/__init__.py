"""The plugin host: loading plugins in a fixed order and calling each one in isolation."""

from monitor.host.manager import PluginHost, PluginInfo, build_host, validate_classification

__all__ = ["PluginHost", "PluginInfo", "build_host", "validate_classification"]
