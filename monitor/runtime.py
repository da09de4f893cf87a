"""Assembly: from a Config to a running set of parts (store, plugins, notifiers,
fetcher, pipeline, deliverer), and one full cycle over every feed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType

from monitor.config import Config
from monitor.deliver import Deliverer, DeliveryReport
from monitor.errors import ConfigError
from monitor.fetch import Fetcher
from monitor.hookspecs import Notifier
from monitor.pipeline import Clock, Pipeline, PollOutcome, Processed, utcnow
from monitor.plugin_manager import PluginHost, build_host
from monitor.store import Store, open_store

log = logging.getLogger("monitor.runtime")


def build_notifiers(config: Config, host: PluginHost) -> dict[str, Notifier]:
    """One notifier per `[notifiers.NAME]`; every option problem reported at once."""
    kinds = host.notifier_kinds()
    notifiers: dict[str, Notifier] = {}
    problems: list[str] = []
    for name, spec in config.notifiers.items():
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
        for n in notifiers.values():
            n.close()
        raise ConfigError(config.source, problems)
    return notifiers


@dataclass
class CycleReport:
    polls: list[PollOutcome] = field(default_factory=list)
    processed: list[Processed] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


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
        self.notifiers = (
            dict(notifiers) if notifiers is not None else build_notifiers(config, self.host)
        )
        self.store = store or open_store(config.store)
        self.fetcher = Fetcher(config.fetch)
        self.pipeline = Pipeline(config, self.store, self.host, self.fetcher, clock)
        self.deliverer = Deliverer(self.store, self.notifiers, config.delivery, clock)

    async def __aenter__(self) -> Runtime:
        await self.fetcher.__aenter__()
        self.store.sync_feeds((f.name, f.url) for f in self.config.feeds)
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
        await self.fetcher.__aexit__(exc_type, exc, tb)
        self.host.shutdown()
        for notifier in self.notifiers.values():
            try:
                notifier.close()
            except Exception:
                log.exception("closing notifier %s", getattr(notifier, "name", "?"))
        self.store.close()

    async def cycle(self, *, flush_digests: bool = False) -> CycleReport:
        """Poll every enabled feed, process what is new, deliver what is due
        (and, with `flush_digests`, the digests still waiting)."""
        report = CycleReport()
        feeds = [f for f in self.config.feeds if f.enabled]
        report.polls = list(await asyncio.gather(*(self.pipeline.poll(f) for f in feeds)))
        report.processed = await self.pipeline.process_pending()
        report.delivery = await self.deliverer.run_once(flush_digests=flush_digests)
        return report
