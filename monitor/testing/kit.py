"""The testing kit's helpers, usable with or without pytest.

The pytest fixtures of `monitor.testing` wrap these; import them directly when a fixture
does not fit (a script, a benchmark, a session-scoped fixture of your own):

    from monitor.testing.kit import host_with, make_item, run_seeds

    host = host_with(my_plugin, options={"names": ["Kim Yo Jong"]})
    result = host.classify(make_item("Kim Yo Jong said ..."))
    report = run_seeds(host.classify)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from monitor.config import Config, NotifierConfig
from monitor.errors import DeliveryError
from monitor.hookspecs import hookimpl
from monitor.host.loader import build_host
from monitor.host.manager import PluginHost
from monitor.models import Alert, Classification, Delivery, Item

#: The environment variable naming a seed directory (with expected.toml) to use.
SEEDS_ENV = "MONITOR_SEEDS"
CAPTURE_KIND = "capture"

_ids = itertools.count(1)


# --- items -------------------------------------------------------------------------


def make_item(text: str = "", *, title: str = "", id: str | None = None, **fields: Any) -> Item:
    """An `Item` as the host hands it to plugins: `text` and `title` plus any other field
    (`language`, `url`, `feed`, `published`, `meta`, ...); ids are unique when omitted."""
    if "meta" in fields:
        fields["meta"] = MappingProxyType(dict(fields["meta"]))
    return Item(id=id or f"item-{next(_ids)}", title=title, text=text, **fields)


# --- a host with your plugin -------------------------------------------------------


def host_with(
    *plugins: object,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
    config: Config | None = None,
    builtins: bool = False,
    startup: bool = True,
) -> PluginHost:
    """A fresh PluginHost with `plugins` registered (and `monitor_startup` called).

    Nothing else is loaded unless `builtins` (the built-in plugins; never entry points,
    so what is installed on the machine cannot change the test). `options` become
    `[plugins.options.NAME]` of the first plugin; `name` defaults to the plugin's
    `__name__` (a module) or its class name, lower-cased.
    """
    names = [name or plugin_name(p) if i == 0 else plugin_name(p) for i, p in enumerate(plugins)]
    config = config or Config()
    if options is not None:
        if not names:
            raise ValueError("options need a plugin to go to")
        merged = {**config.plugins.options, names[0]: dict(options)}
        plugins_section = config.plugins.model_copy(update={"options": merged})
        config = config.model_copy(update={"plugins": plugins_section})
    host = build_host(config, builtins=True, entry_points=False) if builtins else PluginHost(config)
    for plugin, plugin_id in zip(plugins, names, strict=True):
        host.register(plugin, plugin_id, "test")
    if startup:
        host.startup()
    return host


def plugin_name(plugin: object) -> str:
    """The name a test registers `plugin` under: a module's last dotted part, or its
    class name lower-cased."""
    module_name = getattr(plugin, "__name__", None)
    if isinstance(module_name, str) and hasattr(plugin, "__file__"):
        return module_name.rsplit(".", 1)[-1]
    return type(plugin).__name__.lower()


# --- what notifiers would send -----------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One `send` call a captured notifier received."""

    notifier: str
    alerts: tuple[Alert, ...]
    digest: bool


class NotifierCapture:
    """A fake notifier kind ("capture") that records every alert instead of sending it.

    Register `capture` (it is a plugin) on a host and name the kind in the config
    (`[notifiers.inbox] kind = "capture"`, see `config()`), or build a notifier directly
    with `capture.notifier("inbox")`. `fail_next()` makes the next sends fail.
    """

    kind = CAPTURE_KIND

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.closed: list[str] = []
        self._failures: list[BaseException] = []
        self._lock = threading.Lock()

    @hookimpl
    def monitor_notifier_kinds(self) -> dict[str, Any]:
        return {self.kind: self.notifier}

    def notifier(self, name: str, options: Mapping[str, Any] | None = None) -> _Captured:
        return _Captured(name, self)

    def fail_next(self, error: BaseException | None = None, times: int = 1) -> None:
        """The next `times` sends raise `error` (default: a temporary DeliveryError)."""
        with self._lock:
            self._failures.extend([error or DeliveryError("capture: told to fail")] * times)

    @property
    def alerts(self) -> list[Alert]:
        """Every alert sent so far, in order."""
        return [a for s in self.sent for a in s.alerts]

    def titles(self) -> list[str]:
        return [a.item.title for a in self.alerts]

    def config(self, name: str = "inbox") -> dict[str, NotifierConfig]:
        """The `notifiers` section that routes everything to this capture."""
        return {name: NotifierConfig(kind=self.kind)}

    def _send(self, name: str, alerts: Sequence[Alert], digest: bool) -> Delivery:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self.sent.append(Sent(name, tuple(alerts), digest))
            number = len(self.sent)
        return Delivery(external_id=f"capture-{number}", detail=f"captured {len(alerts)}")


class _Captured:
    """One configured destination of a NotifierCapture (the Notifier protocol)."""

    def __init__(self, name: str, capture: NotifierCapture) -> None:
        self.name = name
        self._capture = capture

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        return self._capture._send(self.name, alerts, digest)

    def close(self) -> None:
        self._capture.closed.append(self.name)


# --- one cycle over live feeds -----------------------------------------------------


def feed_config(
    store: str | os.PathLike[str],
    feeds: Mapping[str, str] | Iterable[str],
    **sections: Any,
) -> Config:
    """A Config for tests: a SQLite store at `store`, the given feeds (name -> URL, or
    URLs) polled without article fetches and allowed on 127.0.0.1, every alert to a
    notifier "inbox" of kind "capture"; `sections` override any top-level key."""
    named = dict(feeds) if isinstance(feeds, Mapping) else {
        f"feed-{i}": url for i, url in enumerate(feeds, 1)
    }  # fmt: skip
    data: dict[str, Any] = {
        "store": {"path": str(store)},
        "feeds": [
            {"name": n, "url": u, "fulltext": False, "allow_private": True}
            for n, u in named.items()
        ],
        "notifiers": {"inbox": {"kind": CAPTURE_KIND}},
    }
    data.update(sections)
    return Config.model_validate(data)


def run_once(
    config: Config,
    *plugins: object,
    capture: NotifierCapture | None = None,
    builtins: bool = False,
) -> Any:
    """One full cycle (`monitor once`): poll, enrich, classify, decide, deliver.

    The host holds `plugins` (and the built-ins when asked) and the `capture` notifier
    kind; returns the runtime's CycleReport (`polls`, `processed`, `delivery`).
    """
    from monitor.service.runtime import Runtime

    capture = capture or NotifierCapture()
    host = host_with(*plugins, config=config, builtins=builtins, startup=False)
    host.register(capture, "capture", "test")

    async def cycle() -> Any:
        async with Runtime(config, host=host) as runtime:
            return await runtime.cycle(flush_digests=True)

    return asyncio.run(cycle())


# --- the seeds ---------------------------------------------------------------------


def describe_checks(checks: Iterable[Any]) -> list[str]:
    """One line per check: `seed check: expected E, got G` (the checks' own words)."""
    return [f"{c.seed} {c.check}: expected {c.expected}, got {c.got}" for c in checks]


class Verdict:
    """What `SeedReport.met` answers: true when every selected check passed; otherwise
    false, and its text (what `assert` prints) names each failing check with what was
    expected and what came."""

    __slots__ = ("checks", "label")

    def __init__(self, label: str, checks: Sequence[Any]) -> None:
        self.label = label
        self.checks = tuple(checks)

    @property
    def failed(self) -> list[Any]:
        return [c for c in self.checks if not c.passed]

    def __bool__(self) -> bool:
        return not self.failed

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return bool(self) is other
        if isinstance(other, Verdict):
            return (self.label, self.checks) == (other.label, other.checks)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(bool(self))

    def __repr__(self) -> str:
        if self:
            return f"<met: {self.label}, {len(self.checks)} check(s) passed>"
        failed = self.failed
        return (
            f"<not met: {self.label}, {len(failed)} of {len(self.checks)} check(s) failed: "
            + "; ".join(f"{c.check}: expected {c.expected}, got {c.got}" for c in failed)
            + ">"
        )

    __str__ = __repr__


@dataclass(repr=False)
class SeedReport:
    """Which expectations of the seeds a classifier meets: the checks of
    `monitor eval seeds/` (`monitor.classify.evaluate.Check`: seed, check, expected, got, passed).

    A check is named after the key of expected.toml, with the value for list keys:
    "relevant", "primary", "actors-Kim Jong Un", "must_include-summit". Select checks by
    the full name or by the key alone ("actors" selects every "actors-..." check).

    `assert report.met(seed, "actors")` fails naming each failing check with what was
    expected and what came; `str(report)` lists every failing check the same way.
    """

    checks: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    def select(self, check: str | None = None, seed: str | None = None) -> list[Any]:
        return [
            c
            for c in self.checks
            if (check is None or c.check == check or c.check.startswith(f"{check}-"))
            and seed in (None, c.seed)
        ]

    def passed(self, check: str | None = None) -> list[Any]:
        return [c for c in self.select(check) if c.passed]

    def failed(self, check: str | None = None) -> list[Any]:
        return [c for c in self.select(check) if not c.passed]

    def met(self, seed: str, check: str) -> Verdict:
        """Whether every check `check` of `seed` passed (e.g. "actors", "relevant"): a
        Verdict, true or false like a bool, that names the failing checks when printed."""
        found = self.select(check, seed)
        if not found:
            known = sorted({c.check.split("-", 1)[0] for c in self.select(seed=seed)})
            raise KeyError(f"no check {check!r} for seed {seed!r}; its checks: {known or 'none'}")
        return Verdict(f"seed {seed}, check {check!r}", found)

    def explain(self, check: str | None = None, seed: str | None = None) -> str:
        """The failing checks of the selection, one line each with what was expected and
        what came, then a count; "N of N checks pass" when none fails."""
        selected = self.select(check, seed)
        failed = [c for c in selected if not c.passed]
        summary = f"{len(selected) - len(failed)} of {len(selected)} checks pass"
        if not failed:
            return summary
        lines = [f"{summary}, {len(failed)} fail:"]
        lines += [f"  {line}" for line in describe_checks(failed)]
        return "\n".join(lines)

    @property
    def seeds(self) -> list[str]:
        return list(dict.fromkeys(c.seed for c in self.checks))

    def table(self) -> str:
        """Every check as `monitor eval seeds/` prints it (seed, check, expected, got, result)."""
        from monitor.classify.evaluate import render_checks_table

        return render_checks_table(self.checks)

    def __str__(self) -> str:
        return self.explain()

    def __repr__(self) -> str:
        failed = sum(1 for c in self.checks if not c.passed)
        return f"<SeedReport: {len(self.checks) - failed} of {len(self.checks)} checks pass>"


def find_seeds() -> Path | None:
    """The seed directory: $MONITOR_SEEDS, else `seeds/` of a source checkout of monitor,
    else `seeds/` in the working directory; None when there is none."""
    import monitor

    candidates = [
        Path(os.environ[SEEDS_ENV]) if os.environ.get(SEEDS_ENV) else None,
        Path(monitor.__file__).resolve().parent.parent / "seeds",
        Path.cwd() / "seeds",
    ]
    return next((c for c in candidates if c and (c / "expected.toml").is_file()), None)


def run_seeds(
    classify: Callable[[Item], Classification | None],
    seeds: str | os.PathLike[str] | None = None,
) -> SeedReport:
    """Run `classify` over every seed article and check it against expected.toml, as
    `monitor eval seeds/` does.

    `classify` takes an Item and returns a Classification or None (abstain): a plugin's
    `monitor_classify`, or `host.classify` for the combined result of a host's plugins.
    """
    from monitor.classify import evaluate

    directory = Path(seeds) if seeds is not None else find_seeds()
    if directory is None:
        raise FileNotFoundError(f"no seed directory found; set {SEEDS_ENV}")
    empty = Classification(relevant=False, score=0.0)

    def answer(item: Item) -> Classification:
        return classify(item) or empty

    return SeedReport(evaluate.check_seeds(answer, evaluate.load_seed_cases(directory)))
