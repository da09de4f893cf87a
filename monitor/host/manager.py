"""The plugin host: builds the pluggy manager in a fixed order and calls plugins in isolation.

Load order: built-ins (the `plugins` package), installed entry points (group
`monitor.plugins`), then modules named in the config. pluggy stops a hook call at the
first exception, so for every per-item hook the host calls each implementation itself:
it times it, enforces a budget, validates the result, logs failures with the plugin's
name, counts them and carries on with the others.

A call that exceeds its budget keeps running in its worker thread (Python cannot kill a
thread), so the host bounds the damage: a plugin with `max_stuck` calls still running
is skipped until one returns, a plugin that times out `suspend_after` times in a row is
suspended for `suspend_for` seconds, and the workers are daemon threads, so a call that
never returns cannot keep the process alive at exit.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib
import logging
import math
import os
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
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
    "email",
    "webhook",
)
ENRICHABLE = {"title", "text", "summary", "language", "published", "meta"}
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


@dataclass
class _Health:
    """How one plugin's per-item calls have been going."""

    timeouts_in_a_row: int = 0
    stuck: int = 0
    suspended_until: float = 0.0


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
        self._health: dict[str, _Health] = {}
        self._lock = threading.Lock()
        self._workers: _Workers | None = None

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
        for impl in self._impls("monitor_enrich"):
            result = self._timed(impl, {"item": item}, "monitor_enrich")
            if result is None:
                continue
            try:
                item = _apply_enrichment(item, result)
            except ValueError as exc:
                self._plugin_error(impl.plugin_name, f"monitor_enrich: {exc}")
        return item

    def classifications(self, item: Item) -> list[Classification]:
        """Every classifier's valid result for `item`; failures are logged and skipped."""
        results = []
        for impl in self._impls("monitor_classify"):
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

    def _unstick(self, health: _Health) -> None:
        with self._lock:
            health.stuck -= 1

    def _health_of(self, name: str) -> _Health:
        return self._health.setdefault(name, _Health())

    def _pool(self) -> _Workers:
        """The workers, sized so that every plugin's stuck calls still leave room."""
        plugins = {impl.plugin_name for hook in ITEM_HOOKS for impl in self._impls(hook)}
        size = max(4, (self.max_stuck + 1) * len(plugins))
        if self._workers is None:
            self._workers = _Workers(size)
        self._workers.size = max(self._workers.size, size)
        return self._workers

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


class _Workers:
    """A pool of daemon threads that grows up to `size`: unlike ThreadPoolExecutor's
    workers, a plugin call that never returns does not block the interpreter's exit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._tasks.put((future, fn, args))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if len(self._threads) < self.size:
                    thread = threading.Thread(
                        target=self._work, name=f"plugin-{len(self._threads)}", daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()
        return future

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            del task, future
            self._idle.release()

    def shutdown(self) -> None:
        """Let idle workers end; a worker stuck in a call ends when (if) the call does."""
        with self._lock:
            for _ in self._threads:
                self._tasks.put(None)
            self._threads = []


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


def _names(value: str) -> set[str]:
    return {n.strip() for n in value.split(",") if n.strip()}


def _call(impl: Any, kwargs: dict[str, Any]) -> Any:
    return impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})


def _apply_enrichment(item: Item, changes: Any) -> Item:
    """`item` with `changes` applied; ValueError says why they are not acceptable."""
    if not isinstance(changes, Mapping):
        raise ValueError(f"expected a mapping of fields, got {type(changes).__name__}")
    unknown = set(changes) - ENRICHABLE
    if unknown:
        raise ValueError(
            f"unknown field(s) {sorted(unknown)}; expected some of {sorted(ENRICHABLE)}"
        )
    updates = dict(changes)
    if "meta" in updates:
        if not isinstance(updates["meta"], Mapping):
            raise ValueError("meta must be a mapping")
        updates["meta"] = MappingProxyType({**item.meta, **updates["meta"]})
    for key in ("title", "text", "summary"):
        if key in updates and not isinstance(updates[key], str):
            raise ValueError(f"{key} must be a string, got {type(updates[key]).__name__}")
    if updates.get("language") is not None and not isinstance(updates["language"], str):
        raise ValueError("language must be a string or None")
    if updates.get("published") is not None and not isinstance(updates["published"], datetime):
        raise ValueError("published must be a datetime or None")
    return dataclasses.replace(item, **updates)


def validate_classification(c: Any) -> str | None:
    """Why `c` is not a well-formed Classification, or None when it is."""
    if not isinstance(c, Classification):
        return f"expected a Classification, got {type(c).__name__}"
    if not isinstance(c.relevant, bool):
        return f"relevant must be True or False, got {c.relevant!r}"
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
    if isinstance(c.evidence, str) or not all(isinstance(e, Evidence) for e in c.evidence):
        return "evidence must hold Evidence values"
    for attribute in ("actors", "places", "organisations", "explanation"):
        values = getattr(c, attribute)
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            return f"{attribute} must be a tuple of strings"
    if c.event_date is not None and not isinstance(c.event_date, date):
        return f"event_date must be a date, got {type(c.event_date).__name__}"
    return None


def _unit(x: Any) -> bool:
    return (
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and 0 <= x <= 1
    )


def combine(results: list[Classification], settings: ClassifierConfig) -> Classification | None:
    """One Classification from several classifiers' results.

    - per-type scores and the overall score merge by `settings.combine`: "max", "mean",
      or "weighted_mean" with `settings.weights` (plugin name -> weight, default 1.0);
      a classifier that abstained (returned None) takes no part;
    - relevant: the merged score reaches `relevance_threshold` and every plugin named in
      `required` answered and found the item relevant;
    - primary: the strongest result's primary if it is still reported, else the
      highest merged type at or above `type_threshold`;
    - actors, organisations, places, evidence and explanation: the union, in order;
    - event_date, direction, status, language: from the strongest result that gives one.
    """
    if not results:
        return None
    if len(results) == 1 and not settings.required:
        only = results[0]
        relevant = only.relevant and only.score >= settings.relevance_threshold
        return dataclasses.replace(only, relevant=relevant)
    weights = [max(0.0, settings.weights.get(r.plugin, 1.0)) for r in results]

    def merge(values: list[float]) -> float:
        if settings.combine == "max":
            return max(values)
        if settings.combine == "mean":
            return sum(values) / len(values)
        total = sum(weights)
        if not total:
            return 0.0
        return sum(v * w for v, w in zip(values, weights, strict=True)) / total

    types = {t: merge([r.types.get(t, 0.0) for r in results]) for t in CONTACT_TYPES}
    score = merge([r.score for r in results])
    by_plugin = {r.plugin: r for r in results}
    required_ok = all(
        by_plugin.get(p) is not None and by_plugin[p].relevant for p in settings.required
    )
    relevant = required_ok and score >= settings.relevance_threshold
    ranked = sorted(results, key=lambda r: r.score, reverse=True)
    best = ranked[0]
    reported = {t: s for t, s in types.items() if s >= settings.type_threshold}
    primary = (
        best.primary
        if best.primary in reported
        else (max(reported, key=lambda k: reported[k]) if reported else None)
    )

    def first(attribute: str) -> Any:
        return next((v for r in ranked if (v := getattr(r, attribute)) is not None), None)

    return dataclasses.replace(
        best,
        relevant=relevant,
        score=score,
        types=types,
        primary=primary,
        actors=tuple(dict.fromkeys(a for r in results for a in r.actors)),
        places=tuple(dict.fromkeys(p for r in results for p in r.places)),
        organisations=tuple(dict.fromkeys(o for r in results for o in r.organisations)),
        event_date=first("event_date"),
        direction=first("direction"),
        status=first("status"),
        language=first("language"),
        evidence=tuple(e for r in results for e in r.evidence),
        explanation=tuple(line for r in results for line in r.explanation),
        plugin="+".join(r.plugin for r in results),
        plugin_version="",
    )
