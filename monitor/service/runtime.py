"""Assembly: from a Config to a running set of parts (store, plugins, notifiers,
fetcher, pipeline, deliverer), one full cycle over every feed, and a config reload.

A reload swaps everything that depends on the config and keeps the store open: it is
prepared first (new notifiers built, options validated) so that an invalid config is
rejected before anything running is touched, then applied in one step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType

from monitor.alerts.outbox import Deliverer, DeliveryReport
from monitor.config import Config, NotifierConfig
from monitor.errors import ConfigError
from monitor.hookspecs import Notifier
from monitor.host.loader import build_host
from monitor.host.manager import PluginHost
from monitor.ingest.fetch import Fetcher
from monitor.service.pipeline import Clock, Pipeline, PollOutcome, Processed, utcnow
from monitor.store import Store, open_store

log = logging.getLogger("monitor.service.runtime")


def build_notifiers(config: Config, host: PluginHost) -> dict[str, Notifier]:
    """One notifier per `[notifiers.NAME]`; every option problem reported at once."""
    return _build(config.notifiers, host, config.source)


def notifier_problems(specs: Mapping[str, NotifierConfig], host: PluginHost) -> list[str]:
    """Every problem building these notifiers would raise (each built one is closed)."""
    try:
        _close_all(_build(specs, host, "").values())
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _build(
    specs: Mapping[str, NotifierConfig], host: PluginHost, source: str
) -> dict[str, Notifier]:
    kinds = host.notifier_kinds()
    notifiers: dict[str, Notifier] = {}
    problems: list[str] = []
    for name, spec in specs.items():
        factory = kinds.get(spec.kind)
        if factory is None:
            problems.append(
                f"notifiers.{name}.kind: unknown notifier kind {spec.kind!r}; "
                f"expected one of {sorted(kinds)}"
            )
            continue
        try:
            notifiers[name] = factory(name, spec.options)
        except ConfigError as exc:
            problems.extend(exc.problems)
        except Exception as exc:
            problems.append(f"notifiers.{name}: {spec.kind} notifier failed to start: {exc}")
    if problems:
        _close_all(notifiers.values())
        raise ConfigError(source, problems)
    return notifiers


def _close_all(notifiers: Iterable[Notifier]) -> None:
    for notifier in notifiers:
        try:
            notifier.close()
        except Exception:
            log.exception("closing notifier %s", getattr(notifier, "name", "?"))


def feed_rows(config: Config) -> tuple[list[tuple[str, str]], dict[str, str | None]]:
    """What the store keeps of the configured feeds: (name, url) pairs, and each
    feed's title (alerts name a feed by it)."""
    return [(f.name, f.url) for f in config.feeds], {f.name: f.title for f in config.feeds}


@dataclass
class CycleReport:
    polls: list[PollOutcome] = field(default_factory=list)
    processed: list[Processed] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


@dataclass
class ReloadPlan:
    """A validated new config and the parts built for it, not yet in use."""

    config: Config
    host: PluginHost | None  # a new plugin host, or None to keep the running one
    notifiers: dict[str, Notifier]  # the complete new set (kept ones included)
    built: list[str]  # notifiers created for this plan (closed if it is dropped)
    restart_needed: list[str]  # sections that only a restart applies

    def discard(self) -> None:
        _close_all(self.notifiers[n] for n in self.built)


@dataclass
class ReloadSummary:
    feeds_added: list[str]
    feeds_removed: list[str]
    feeds_changed: list[str]
    notifiers_added: list[str]
    notifiers_removed: list[str]
    notifiers_changed: list[str]
    plugins_reloaded: bool

    def describe(self) -> str:
        parts = []
        for what, added, removed, changed in (
            ("feed", self.feeds_added, self.feeds_removed, self.feeds_changed),
            ("notifier", self.notifiers_added, self.notifiers_removed, self.notifiers_changed),
        ):
            for sign, names in (("+", added), ("-", removed), ("~", changed)):
                parts += [f"{sign}{what} {n}" for n in names]
        if self.plugins_reloaded:
            parts.append("plugins reloaded")
        return ", ".join(parts) or "no change to feeds, notifiers or plugins"


class Runtime(AbstractAsyncContextManager["Runtime"]):
    """Everything `monitor run` and `monitor once` need, opened and closed together."""

    def __init__(
        self,
        config: Config,
        *,
        host: PluginHost | None = None,
        store: Store | None = None,
        notifiers: Mapping[str, Notifier] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.clock = clock
        self.host = host or build_host(config)
        missing = [p for p in self.host.problems() if p.startswith("classifier.required")]
        if missing:  # a typo there would silently stop every alert
            raise ConfigError(config.source, missing)
        self.notifiers = (
            dict(notifiers) if notifiers is not None else build_notifiers(config, self.host)
        )
        try:
            self.store = store or open_store(config.store)
        except BaseException:
            _close_all(self.notifiers.values())
            raise
        self.fetcher = Fetcher(config.fetch)
        self.pipeline = Pipeline(config, self.store, self.host, self.fetcher, clock)
        self.deliverer = Deliverer(self.store, self.notifiers, config.delivery, clock)

    async def __aenter__(self) -> Runtime:
        await self.fetcher.__aenter__()
        self.store.sync_feeds(*feed_rows(self.config))
        recovered = self.store.recover_inflight()
        if recovered:
            log.warning(
                "%d delivery(ies) were in flight at the last stop; sending again", recovered
            )
        self.host.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.pipeline.close()
        except Exception:
            log.exception("could not write the last buffered poll records")
        await self.fetcher.__aexit__(exc_type, exc, tb)
        self.host.shutdown()
        _close_all(self.notifiers.values())
        self.store.close()

    # --- the passes: the daemon schedules them, `monitor once` runs each once ----------

    async def poll(self, name: str) -> PollOutcome | None:
        """Poll one configured feed (None when it is unknown or disabled)."""
        feed = self.config.feed(name)
        if feed is None or not feed.enabled:
            return None
        return await self.pipeline.poll(feed)

    async def process(self, halted: Callable[[], bool] = lambda: False) -> list[Processed]:
        """Enrich, classify and decide the stored items still pending."""
        return await self.pipeline.process_pending(halted=halted)

    async def deliver(self, *, flush_digests: bool = False) -> DeliveryReport:
        """Send what the outbox holds that is due, digests included once their schedule
        has come (with `flush_digests`, the digests still waiting too)."""
        return await self.deliverer.run_once(flush_digests=flush_digests)

    async def cycle(self, *, flush_digests: bool = False) -> CycleReport:
        """One pass of everything the daemon schedules: poll every enabled feed,
        process what is new, deliver what is due."""
        report = CycleReport()
        names = [f.name for f in self.config.feeds if f.enabled]
        polls = await asyncio.gather(*(self.poll(n) for n in names))
        report.polls = [p for p in polls if p is not None]
        await self.pipeline.flush_polls()
        report.processed = await self.process()
        report.delivery = await self.deliver(flush_digests=flush_digests)
        return report

    # --- reload ----------------------------------------------------------------------

    def prepare_reload(self, new: Config) -> ReloadPlan:
        """Build what `new` needs beside the running parts; raise ConfigError (with every
        problem) and leave the running parts untouched when it cannot be used."""
        old = self.config
        plugins_changed = (new.plugins, new.classifier, new.languages) != (
            old.plugins,
            old.classifier,
            old.languages,
        )
        host = build_host(new) if plugins_changed else None
        keep = {
            name: self.notifiers[name]
            for name, spec in new.notifiers.items()
            if not plugins_changed and old.notifiers.get(name) == spec and name in self.notifiers
        }
        fresh = {name: spec for name, spec in new.notifiers.items() if name not in keep}
        built = _build(fresh, host or self.host, new.source)
        restart = ["store"] if new.store != old.store else []
        restart += ["web.enabled"] if new.web.enabled != old.web.enabled else []
        restart += [
            f"daemon.{key}"
            for key in ("http", "pid_file", "log_format")
            if getattr(new.daemon, key) != getattr(old.daemon, key)
        ]
        return ReloadPlan(new, host, {**keep, **built}, sorted(built), restart)

    async def apply_reload(self, plan: ReloadPlan) -> ReloadSummary:
        """Swap in the prepared parts. Call with no poll, processing or delivery running."""
        old, new = self.config, plan.config
        old_notifiers = self.notifiers
        if plan.host is not None:
            plan.host.on_error = self.host.on_error
            self.host.shutdown()
            self.host = plan.host
        else:
            self.host.config = new
        if new.fetch != old.fetch:
            fetcher = Fetcher(new.fetch)
            await fetcher.__aenter__()
            old_fetcher, self.fetcher = self.fetcher, fetcher
            await old_fetcher.__aexit__(None, None, None)
        await self.pipeline.flush_polls()
        await asyncio.to_thread(self.store.sync_feeds, *feed_rows(new))
        pipeline_observers = list(self.pipeline.observers)
        delivery_observers = list(self.deliverer.observers)
        self.config = new
        self.notifiers = plan.notifiers
        self.pipeline = Pipeline(
            new, self.store, self.host, self.fetcher, self.clock, writer=self.pipeline.writer
        )
        self.pipeline.observers.extend(pipeline_observers)
        if new.delivery == old.delivery:
            self.deliverer.notifiers = self.notifiers  # keeps its per-notifier retry pauses
        else:
            self.deliverer = Deliverer(self.store, self.notifiers, new.delivery, self.clock)
            self.deliverer.observers.extend(delivery_observers)
        kept = {id(n) for n in plan.notifiers.values()}
        _close_all(n for n in old_notifiers.values() if id(n) not in kept)
        self.host.startup()
        old_feeds = {f.name: f for f in old.feeds}
        new_feeds = {f.name: f for f in new.feeds}
        return ReloadSummary(
            feeds_added=sorted(set(new_feeds) - set(old_feeds)),
            feeds_removed=sorted(set(old_feeds) - set(new_feeds)),
            feeds_changed=sorted(
                n for n in set(old_feeds) & set(new_feeds) if old_feeds[n] != new_feeds[n]
            ),
            notifiers_added=sorted(set(new.notifiers) - set(old.notifiers)),
            notifiers_removed=sorted(set(old.notifiers) - set(new.notifiers)),
            notifiers_changed=sorted(
                n for n in plan.built if n in old.notifiers and n in new.notifiers
            ),
            plugins_reloaded=plan.host is not None,
        )
