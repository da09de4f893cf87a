"""Kept for plugins written against 0.1: the plugin host now lives in `monitor.host`."""

from monitor.host import PluginHost, PluginInfo, build_host, validate_classification

__all__ = ["PluginHost", "PluginInfo", "build_host", "validate_classification"]
