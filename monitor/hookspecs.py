"""The plugin contract: every hook a plugin may implement, grouped by lifecycle.

Implement a hook with `@hookimpl` (`from monitor.hookspecs import hookimpl`) on a
function of the same name in a module (or object) registered as a plugin: built-in
(`plugins` package), installed (entry point group `monitor.plugins`) or named in the
config (`[plugins] modules`).

Invariants for every implementation: deterministic for the same input, never mutates
its arguments (they are frozen), bounded time (the host enforces a budget), and no
network in `monitor_classify` or `monitor_enrich` (the host fetches; plugins compute).
Hooks take keyword arguments; an implementation may accept any subset of them, so new
arguments can be added later without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    from monitor.config import Config
    from monitor.ingest.parse import ParsedFeed
    from monitor.models import Alert, Classification, Delivery, Item

hookspec = pluggy.HookspecMarker("monitor")
hookimpl = pluggy.HookimplMarker("monitor")


class Notifier(Protocol):
    """What a notifier kind's factory returns: one configured destination."""

    name: str

    def send(self, alerts: Sequence[Alert], *, digest: bool = False) -> Delivery:
        """Deliver `alerts` (one alert, or several as one digest message).

        Return a `Delivery` receipt once the service accepted the message. Raise
        `monitor.errors.DeliveryError` on failure (`permanent=True` when retrying cannot
        help, `retry_after=` when the service said when to come back); any other
        exception counts as a temporary failure.
        """
        ...

    def close(self) -> None:
        """Release connections; called once at shutdown or when the config drops it."""
        ...


#: Builds a notifier from its config section: `factory(name, options)`. Raise
#: `monitor.errors.ConfigError` naming the bad keys when `options` are invalid.
NotifierFactory = Callable[[str, Mapping[str, Any]], Notifier]


#: Turns one fetched body into entries: `parse(body, headers, url, fetched_at)`.
#: Raise `monitor.ingest.parse.ParseError(url, reason)` when the body is unusable; any
#: other exception is caught by the host and counts as a failed poll too.
SourceParser = Callable[[bytes, Mapping[str, str], str, "datetime"], "ParsedFeed"]


# --- lifecycle -------------------------------------------------------------------


@hookspec
def monitor_startup(config: Config) -> None:
    """Called once when the daemon (or a one-shot command) starts, after the store is
    open and every plugin is registered, and again after a config reload.

    Every implementation runs; an exception is logged with the plugin's name and the
    plugin is marked failed, the others still start. Return value ignored.
    """


@hookspec
def monitor_shutdown() -> None:
    """Called once when the process stops, after in-flight work is drained.

    Every implementation runs; exceptions are logged. Return value ignored.
    """


# --- per item ----------------------------------------------------------------------


@hookspec
def monitor_enrich(item: Item) -> Mapping[str, Any] | None:
    """Called for each new or changed item before classification, one implementation
    after another, each seeing the item as enriched by the ones before.

    Return a mapping of `Item` fields to replace (e.g. `{"text": ..., "language": ...}`;
    `meta` keys are merged), or None to leave the item as it is. `item.html` holds the
    article page when the host fetched it. Every implementation runs; an exception,
    a time-out or an unknown field is logged, counted and that plugin's result dropped.
    """


@hookspec
def monitor_classify(item: Item) -> Classification | None:
    """Score one item for Russia–DPRK contact types.

    Called for every enriched item, every implementation (not first-result). Return a
    `Classification` with `score` and every per-type score in 0..1 and only taxonomy
    types, or None to abstain. The host validates, times and combines the results of
    all classifiers (see `[classifier] combine` in the config).
    """


# --- delivery ----------------------------------------------------------------------


@hookspec
def monitor_notifier_kinds() -> Mapping[str, NotifierFactory] | None:
    """Name the notifier kinds this plugin provides, e.g. `{"slack": SlackNotifier}`.

    Called once at start and on reload; the config's `[notifiers.NAME] kind = "..."`
    picks one. Results of all plugins are merged; a kind defined twice is an error
    naming both plugins.
    """


# --- ingestion ---------------------------------------------------------------------


@hookspec
def monitor_source_kinds() -> Mapping[str, SourceParser] | None:
    """Name the source kinds this plugin can parse, e.g. `{"jsonfeed": parse_json_feed}`.

    A feed with `kind = "jsonfeed"` in its `[[feeds]]` table is fetched as any feed
    (conditional GET, size cap, redirects checked) and its body handed to that parser,
    which returns a `monitor.ingest.parse.ParsedFeed` of `Entry` values (build keys with
    `monitor.ingest.identity`). The built-in kind `feed` (RSS and Atom) needs no plugin.
    Called once at start and on reload; a kind defined twice is an error naming both
    plugins.
    """
