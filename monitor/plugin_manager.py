"""The plugin host: builds the pluggy manager in a fixed order and calls plugins in isolation.

Load order: built-ins (the `plugins` package), installed entry points (group
`monitor.plugins`), then modules named in the config. pluggy stops a hook call at the
first exception, so for every per-item hook the host calls each implementation itself:
it times it, enforces a budget, validates the result, logs failures with the plugin's
name, counts them and carries on with the others.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

import monitor
from monitor import hookspecs
from monitor.config import ClassifierConfig, Config
from monitor.errors import PluginError
from monitor.models import Classification, Evidence, Item
from monitor.taxonomy import CONTACT_TYPES, DIRECTIONS, STATUSES

log = logging.getLogger("monitor.plugins")

ENTRY_POINT_GROUP = "monitor.plugins"
ALLOW_ENV = "MONITOR_PLUGINS"
DISABLE_ENV = "MONITOR_DISABLE_PLUGINS"
BUILTINS = (
    "rudprk",
    "fulltext",
    "language",
    "console",
    "slack",
    "smtp",
    "webhook",
)
ENRICHABLE = {"title", "text", "summary", "language", "published", "meta"}


@dataclass
class PluginInfo:
    """What `monitor plugins` shows of one plugin."""

    name: str
    origin: str
    version: str
    hooks: list[str] = field(default_factory=list)
    status: str = "loaded"
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class PluginHost:
    """The pluggy manager plus isolation, validation and combination of results."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.pm = pluggy.PluginManager("monitor")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: Counter[str] = Counter()
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="plugin")
        self.on_error: Callable[[str, str], None] | None = None

    # --- loading -----------------------------------------------------------------

    def register(self, module: object, name: str, origin: str, version: str = "") -> None:
        """Register a plugin object (module or instance) under `name`."""
        if not self._wanted(name):
            self.infos[name] = PluginInfo(name, origin, version, status="disabled")
            return
        try:
            self.pm.register(module, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            self._failed(name, origin, version, f"cannot register: {exc}")
            return
        hooks = sorted(h.name for h in self.pm.get_hookcallers(module) or [])
        self.infos[name] = PluginInfo(name, origin, version, hooks)

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.infos.pop(name, None)

    def load_module(self, dotted: str, name: str, origin: str, version: str = "") -> None:
        if not self._wanted(name):
            self.infos[name] = PluginInfo(name, origin, version, status="disabled")
            return
        try:
            module = importlib.import_module(dotted)
        except Exception as exc:
            self._failed(name, origin, version, f"import failed: {type(exc).__name__}: {exc}")
            return
        self.register(module, name, origin, version)

    def _failed(self, name: str, origin: str, version: str, reason: str) -> None:
        log.error("plugin %s failed to load: %s", name, reason, extra={"plugin": name})
        self.errors[name] += 1
        self.infos[name] = PluginInfo(name, origin, version, status="failed", error=reason)

    def _wanted(self, name: str) -> bool:
        allow = os.environ.get(ALLOW_ENV)
        if allow is not None and name not in _names(allow):
            return False
        if name in _names(os.environ.get(DISABLE_ENV, "")):
            return False
        return name not in self.config.plugins.disabled

    # --- lifecycle hooks ---------------------------------------------------------

    def startup(self) -> None:
        self._call_all("monitor_startup", config=self.config)

    def shutdown(self) -> None:
        self._call_all("monitor_shutdown")
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _call_all(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        results = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls()[::-1]:
            try:
                results.append((impl.plugin_name, _call(impl, kwargs)))
            except Exception as exc:
                self._plugin_error(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {exc}")
        return results

    # --- per item ------------------------------------------------------------------

    def enrich(self, item: Item) -> Item:
        """Run every enricher in order, each on the item as the previous left it."""
        for impl in self.pm.hook.monitor_enrich.get_hookimpls()[::-1]:
            result = self._timed(impl, {"item": item}, "monitor_enrich")
            if result is None:
                continue
            try:
                item = _apply_enrichment(item, result)
            except PluginError as exc:
                self._plugin_error(impl.plugin_name, str(exc))
        return item

    def classifications(self, item: Item) -> list[Classification]:
        """Every classifier's valid result for `item`; failures are logged and skipped."""
        results = []
        for impl in self.pm.hook.monitor_classify.get_hookimpls()[::-1]:
            result = self._timed(impl, {"item": item}, "monitor_classify")
            if result is None:
                continue
            problem = validate_classification(result)
            if problem:
                self._plugin_error(impl.plugin_name, f"malformed classification: {problem}")
                continue
            if not result.plugin:
                result = dataclasses.replace(result, plugin=impl.plugin_name)
            results.append(result)
        return results

    def classify(self, item: Item) -> Classification | None:
        """The combined classification of every classifier, or None when none answered."""
        return combine(self.classifications(item), self.config.classifier)

    def _timed(self, impl: Any, kwargs: dict[str, Any], hook: str) -> Any:
        budget = self.config.classifier.timeout
        started = time.perf_counter()
        future = self._pool.submit(_call, impl, kwargs)
        try:
            result = future.result(timeout=budget)
        except concurrent.futures.TimeoutError:
            self._plugin_error(impl.plugin_name, f"{hook} exceeded its {budget:g} s budget")
            return None
        except Exception as exc:
            self._plugin_error(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - started
        if elapsed > budget / 2:
            log.warning(
                "plugin %s: slow %s (%.2f s)",
                impl.plugin_name,
                hook,
                elapsed,
                extra={"plugin": impl.plugin_name},
            )
        return result

    def _plugin_error(self, name: str, message: str) -> None:
        log.error("plugin %s: %s", name, message, extra={"plugin": name})
        self.errors[name] += 1
        if self.on_error:
            self.on_error(name, message)

    # --- notifiers -----------------------------------------------------------------

    def notifier_kinds(self) -> dict[str, hookspecs.NotifierFactory]:
        kinds: dict[str, hookspecs.NotifierFactory] = {}
        owners: dict[str, str] = {}
        for name, provided in self._call_all("monitor_notifier_kinds"):
            if not isinstance(provided, Mapping):
                self._plugin_error(name, "monitor_notifier_kinds must return a mapping")
                continue
            for kind, factory in provided.items():
                if kind in kinds:
                    raise PluginError(
                        name, f"notifier kind {kind!r} is also defined by {owners[kind]!r}"
                    )
                kinds[kind], owners[kind] = factory, name
        return kinds


def build_host(
    config: Config | None = None, *, builtins: bool = True, entry_points: bool = True
) -> PluginHost:
    """The plugin host with every plugin loaded in the fixed order."""
    host = PluginHost(config)
    version = monitor.__version__
    if builtins:
        for name in BUILTINS:
            host.load_module(f"plugins.{name}", name, "built-in", version)
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
    for dotted in host.config.plugins.modules:
        host.load_module(dotted, dotted, "config", _module_version(dotted))
    return host


def _module_version(dotted: str) -> str:
    try:
        return metadata.version(dotted.split(".")[0])
    except metadata.PackageNotFoundError:
        return ""


def _names(value: str) -> set[str]:
    return {n.strip() for n in value.split(",") if n.strip()}


def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
    return impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})


def _apply_enrichment(item: Item, changes: Any) -> Item:
    if not isinstance(changes, Mapping):
        raise PluginError("", f"monitor_enrich must return a mapping, got {type(changes).__name__}")
    unknown = set(changes) - ENRICHABLE
    if unknown:
        raise PluginError("", f"monitor_enrich returned unknown field(s) {sorted(unknown)}")
    updates = dict(changes)
    if "meta" in updates:
        if not isinstance(updates["meta"], Mapping):
            raise PluginError("", "monitor_enrich meta must be a mapping")
        updates["meta"] = {**item.meta, **updates["meta"]}
    for key in ("title", "text", "summary"):
        if key in updates and not isinstance(updates[key], str):
            raise PluginError("", f"monitor_enrich {key} must be a string")
    return dataclasses.replace(item, **updates)


def validate_classification(c: Any) -> str | None:
    """Why `c` is not a well-formed Classification, or None when it is."""
    if not isinstance(c, Classification):
        return f"expected a Classification, got {type(c).__name__}"
    if not _unit(c.score):
        return f"score {c.score!r} is outside 0..1"
    if not isinstance(c.types, Mapping):
        return "types must be a mapping of type to score"
    for name, score in c.types.items():
        if name not in CONTACT_TYPES:
            return f"unknown contact type {name!r}"
        if not _unit(score):
            return f"score of {name} {score!r} is outside 0..1"
    if c.primary is not None and c.primary not in CONTACT_TYPES:
        return f"unknown primary type {c.primary!r}"
    if c.direction is not None and c.direction not in DIRECTIONS:
        return f"unknown direction {c.direction!r}"
    if c.status is not None and c.status not in STATUSES:
        return f"unknown status {c.status!r}"
    if not all(isinstance(e, Evidence) for e in c.evidence):
        return "evidence must hold Evidence values"
    if not all(isinstance(a, str) for a in (*c.actors, *c.places, *c.organisations)):
        return "actors, places and organisations must be strings"
    return None


def _unit(x: Any) -> bool:
    return (
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and 0 <= x <= 1
    )


def combine(results: list[Classification], settings: ClassifierConfig) -> Classification | None:
    """One Classification from several: per-type and overall scores by `combine`
    (max, mean or weighted_mean with `weights`), relevance also requiring every plugin
    in `required` to find the item relevant; descriptive fields from the strongest."""
    if not results:
        return None
    if len(results) == 1 and not settings.required:
        only = results[0]
        relevant = only.relevant and only.score >= settings.relevance_threshold
        return dataclasses.replace(only, relevant=relevant)
    weights = [settings.weights.get(r.plugin, 1.0) for r in results]

    def merge(values: list[float]) -> float:
        if settings.combine == "max":
            return max(values)
        if settings.combine == "mean":
            return sum(values) / len(values)
        total = sum(weights) or 1.0
        return sum(v * w for v, w in zip(values, weights, strict=True)) / total

    types = {t: merge([r.types.get(t, 0.0) for r in results]) for t in CONTACT_TYPES}
    score = merge([r.score for r in results])
    by_plugin = {r.plugin: r for r in results}
    required_ok = all(
        by_plugin.get(p) is not None and by_plugin[p].relevant for p in settings.required
    )
    relevant = required_ok and score >= settings.relevance_threshold
    best = max(results, key=lambda r: r.score)
    reported = {t: s for t, s in types.items() if s >= settings.type_threshold}
    primary = (
        best.primary
        if best.primary in reported
        else (max(reported, key=lambda k: reported[k]) if reported else None)
    )
    return dataclasses.replace(
        best,
        relevant=relevant,
        score=score,
        types=types,
        primary=primary,
        actors=tuple(dict.fromkeys(a for r in results for a in r.actors)),
        places=tuple(dict.fromkeys(p for r in results for p in r.places)),
        organisations=tuple(dict.fromkeys(o for r in results for o in r.organisations)),
        evidence=tuple(e for r in results for e in r.evidence),
        plugin="+".join(r.plugin for r in results),
        plugin_version="",
    )
