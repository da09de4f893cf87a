"""The plugin host: the pluggy manager and every call into plugins, each in isolation.

pluggy stops a hook call at the first exception, so for every per-item hook the host
calls each implementation itself: it times it, enforces a budget (`isolation`),
validates and bounds the result (`validate`), logs failures with the plugin's name,
counts them and carries on with the others. `loader.build_host` fills a host in the
fixed order.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from monitor import hookspecs
from monitor.classify.combine import combine
from monitor.config import Config
from monitor.errors import PluginError
from monitor.host.isolation import CallHealth, Workers
from monitor.host.validate import (
    apply_enrichment,
    bound_classification,
    bound_item,
    validate_classification,
)
from monitor.models import Classification, Item

log = logging.getLogger("monitor.plugins")


ALLOW_ENV = "MONITOR_PLUGINS"
DISABLE_ENV = "MONITOR_DISABLE_PLUGINS"
#: Per-item hooks: called through the worker threads, timed, validated.
ITEM_HOOKS = ("monitor_enrich", "monitor_classify")


@dataclass
class PluginInfo:
    """What `monitor plugins` shows of one plugin.

    `status` is "loaded", "failed" (with the reason in `error`), "disabled" (config or
    environment) or "suspended" (timed out too often; retried after a pause).
    """

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

    #: Time-outs in a row after which a plugin is suspended.
    suspend_after = 3
    #: Seconds a suspended plugin is left out before it is tried again.
    suspend_for = 300.0
    #: Calls of one plugin still running past their budget; beyond this it is skipped.
    max_stuck = 2

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.pm = pluggy.PluginManager("monitor")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.on_error: Callable[[str, str], None] | None = None
        self._health: dict[str, CallHealth] = {}
        self._lock = threading.Lock()
        self._workers: Workers | None = None

    # --- loading -----------------------------------------------------------------

    def register(self, module: object, name: str, origin: str, version: str = "") -> None:
        """Register a plugin object (module or instance) under `name`."""
        if not self._wanted(name):
            self.infos[name] = PluginInfo(name, origin, version, status="disabled")
            return
        taken = self.infos.get(name)
        if taken is not None and taken.status != "disabled":
            # Never let a second plugin replace (or hide) the one already holding the
            # name, a built-in above all; the newcomer is listed under its own origin.
            reason = (
                f"refused: the name {name!r} is already taken by the {taken.origin} plugin; "
                "give this plugin another name"
            )
            log.error("plugin %s (%s) %s", name, origin, reason, extra={"plugin": name})
            self.errors[name] += 1
            self.infos[f"{name} ({origin})"] = PluginInfo(
                name, origin, version, status="failed", error=reason
            )
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

    def problems(self) -> list[str]:
        """What the daemon would run without: plugins that failed to load or start,
        `required` classifiers that are not there, options for plugins that are not."""
        found = [f"plugins: {info.name} ({info.origin}): {info.error}"
                 for info in self.infos.values() if info.status == "failed"]  # fmt: skip
        classifiers = sorted(
            i.name for i in self.infos.values()
            if i.status == "loaded" and "monitor_classify" in i.hooks
        )  # fmt: skip
        for i, name in enumerate(self.config.classifier.required):
            if name not in classifiers:
                found.append(
                    f"classifier.required[{i}]: no classifier plugin named {name!r} is loaded; "
                    f"loaded: {classifiers}"
                )
        sources = {"feed", *self.source_kinds()}
        for i, feed in enumerate(self.config.feeds):
            if feed.kind not in sources:
                found.append(
                    f"feeds[{i}].kind: no source kind {feed.kind!r}; known: {sorted(sources)}"
                )
        known = {i.name for i in self.infos.values()}
        for name in self.config.plugins.options:
            if name not in known:
                found.append(
                    f"plugins.options.{name}: no plugin named {name!r}; known: {sorted(known)}"
                )
        return found

    # --- lifecycle hooks ---------------------------------------------------------

    def startup(self) -> None:
        """Call every `monitor_startup`; a plugin that raises is marked failed and
        unregistered (its other hooks are no longer called), the others still start."""
        for impl in self._impls("monitor_startup"):
            try:
                _call(impl, {"config": self.config})
            except Exception as exc:
                name = impl.plugin_name
                reason = f"monitor_startup raised {type(exc).__name__}: {exc}"
                self._plugin_error(name, reason)
                info = self.infos.get(name)
                plugin = self.pm.get_plugin(name)
                if plugin is not None:
                    self.pm.unregister(plugin)
                if info is not None:
                    info.status, info.error = "failed", reason

    def shutdown(self) -> None:
        self._call_all("monitor_shutdown")
        if self._workers is not None:
            self._workers.shutdown()
            self._workers = None

    def _call_all(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        results = []
        for impl in self._impls(hook):
            try:
                results.append((impl.plugin_name, _call(impl, kwargs)))
            except Exception as exc:
                self._plugin_error(impl.plugin_name, f"{hook} raised {type(exc).__name__}: {exc}")
        return results

    def _impls(self, hook: str) -> list[Any]:
        """A hook's implementations in pluggy's call order: `tryfirst` ones first, `trylast`
        ones last, otherwise the last registered first."""
        return list(getattr(self.pm.hook, hook).get_hookimpls()[::-1])

    # --- per item ------------------------------------------------------------------

    def enrich(self, item: Item) -> Item:
        """Run every enricher in order, each on the item as the previous left it."""
        item = self._bounded(item, "the feed")
        for impl in self._impls("monitor_enrich"):
            result = self._timed(impl, {"item": item}, "monitor_enrich")
            if result is None:
                continue
            try:
                enriched = apply_enrichment(item, result)
            except ValueError as exc:
                self._plugin_error(impl.plugin_name, f"monitor_enrich: {exc}")
                continue
            item = self._bounded(enriched, f"plugin {impl.plugin_name}")
        return item

    def _bounded(self, item: Item, source: str) -> Item:
        """`item` with every field within the boundary's bounds (see the module doc)."""
        item, notes = bound_item(item)
        for note in notes:
            log.warning("item %s from %s: %s", item.id, source, note, extra={"item": item.id})
        return item

    def classifications(self, item: Item) -> list[Classification]:
        """Every classifier's valid result for `item`; failures are logged and skipped."""
        results = []
        item = self._bounded(item, "the pipeline")
        for impl in self._impls("monitor_classify"):
            result = self._timed(impl, {"item": item}, "monitor_classify")
            if result is None:
                continue
            problem = validate_classification(result)
            if problem:
                self._plugin_error(impl.plugin_name, f"malformed classification: {problem}")
                continue
            result, notes, errors = bound_classification(result)
            for note in notes:
                log.warning(
                    "plugin %s: %s", impl.plugin_name, note, extra={"plugin": impl.plugin_name}
                )
            for error in errors:
                self._plugin_error(impl.plugin_name, f"classification: {error}")
            if not result.plugin:
                result = dataclasses.replace(result, plugin=impl.plugin_name)
            results.append(result)
        return results

    def classify(self, item: Item) -> Classification | None:
        """The combined classification of every classifier, or None when none answered."""
        return combine(self.classifications(item), self.config.classifier)

    def _timed(self, impl: Any, kwargs: dict[str, Any], hook: str) -> Any:
        """Call one implementation in a worker thread within the budget; None on failure."""
        name = impl.plugin_name
        if not self._available(name, hook):
            return None
        budget = self.config.classifier.timeout
        started = time.perf_counter()
        future = self._pool().submit(_call, impl, kwargs)
        try:
            result = future.result(timeout=budget)
        except BaseException as exc:
            if not future.done():  # the budget ran out (or we were interrupted)
                if not isinstance(exc, TimeoutError):
                    raise
                self._timed_out(name, hook, budget, future)
                return None
            if not isinstance(exc, Exception):
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            self._plugin_error(name, f"{hook} raised {type(exc).__name__}: {exc}")
            self._health_of(name).timeouts_in_a_row = 0
            return None
        self._health_of(name).timeouts_in_a_row = 0
        elapsed = time.perf_counter() - started
        if elapsed > budget / 2:
            log.warning(
                "plugin %s: slow %s (%.2f s of a %g s budget)",
                name,
                hook,
                elapsed,
                budget,
                extra={"plugin": name},
            )
        return result

    def _available(self, name: str, hook: str) -> bool:
        """False while `name` is suspended or has too many calls still running."""
        health = self._health.get(name)
        if health is None:
            return True
        if health.suspended_until:
            if time.monotonic() < health.suspended_until:
                self.skipped[name] += 1
                return False
            health.suspended_until = 0.0
            health.timeouts_in_a_row = self.suspend_after - 1  # one more time-out: again
            info = self.infos.get(name)
            if info is not None and info.status == "suspended":
                info.status, info.error = "loaded", None
            log.warning("plugin %s: suspension over, trying it again", name)
        if health.stuck >= self.max_stuck:
            self.skipped[name] += 1
            self._plugin_error(
                name, f"{hook} skipped: {health.stuck} earlier call(s) still running"
            )
            return False
        return True

    def _timed_out(self, name: str, hook: str, budget: float, future: Any) -> None:
        health = self._health_of(name)
        with self._lock:
            health.stuck += 1
            health.timeouts_in_a_row += 1
        future.add_done_callback(lambda _: self._unstick(health))
        self._plugin_error(name, f"{hook} exceeded its {budget:g} s budget")
        if health.timeouts_in_a_row >= self.suspend_after and not health.suspended_until:
            health.suspended_until = time.monotonic() + self.suspend_for
            reason = (
                f"suspended for {self.suspend_for:g} s after "
                f"{health.timeouts_in_a_row} time-outs in a row"
            )
            log.error("plugin %s: %s", name, reason, extra={"plugin": name})
            info = self.infos.get(name)
            if info is not None:
                info.status, info.error = "suspended", reason

    def _unstick(self, health: CallHealth) -> None:
        with self._lock:
            health.stuck -= 1

    def _health_of(self, name: str) -> CallHealth:
        return self._health.setdefault(name, CallHealth())

    def _pool(self) -> Workers:
        """The workers, sized so that every plugin's stuck calls still leave room."""
        plugins = {impl.plugin_name for hook in ITEM_HOOKS for impl in self._impls(hook)}
        size = max(4, (self.max_stuck + 1) * len(plugins))
        if self._workers is None:
            self._workers = Workers(size)
        self._workers.size = max(self._workers.size, size)
        return self._workers

    def _plugin_error(self, name: str, message: str) -> None:
        log.error("plugin %s: %s", name, message, extra={"plugin": name})
        self.errors[name] += 1
        if self.on_error:
            self.on_error(name, message)

    # --- notifiers -----------------------------------------------------------------

    def notifier_kinds(self) -> dict[str, hookspecs.NotifierFactory]:
        return self._kinds("monitor_notifier_kinds", "notifier")

    def source_kinds(self) -> dict[str, hookspecs.SourceParser]:
        """Parsers of the source kinds plugins add (`[[feeds]] kind`), by kind."""
        kinds = self._kinds("monitor_source_kinds", "source")
        if "feed" in kinds:
            raise PluginError("?", 'source kind "feed" is the built-in RSS/Atom kind')
        return kinds

    def _kinds(self, hook: str, what: str) -> dict[str, Any]:
        """The merged `{kind: factory}` mappings of every plugin; a kind twice is an error."""
        kinds: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for name, provided in self._call_all(hook):
            if provided is None:
                continue
            if not isinstance(provided, Mapping):
                self._plugin_error(name, f"{hook} must return a mapping")
                continue
            for kind, factory in provided.items():
                if kind in kinds:
                    raise PluginError(
                        name, f"{what} kind {kind!r} is also defined by {owners[kind]!r}"
                    )
                kinds[kind], owners[kind] = factory, name
        return kinds


def _names(value: str) -> set[str]:
    return {n.strip() for n in value.split(",") if n.strip()}


def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
    return impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
