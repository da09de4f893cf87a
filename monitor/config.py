"""Configuration: TOML read with tomllib, `${NAME}` substituted, validated by pydantic.

Every problem is collected and reported at once, each naming the file, the key path
(`feeds[3].interval`) and what was expected. Values that look secret (tokens, passwords,
webhook URLs, anything substituted from the environment) are masked in reprs and logs.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.taxonomy import (
    CONTACT_TYPES,
    DEFAULT_RELEVANCE_THRESHOLD,
    DEFAULT_TYPE_THRESHOLD,
)

DEFAULT_CONFIG = Path("config/monitor.toml")
#: The route of a config without `[[routes]]`: every relevant item, to every notifier.
DEFAULT_ROUTE = "default"
#: Languages the built-in classifier has packs for (zh covers Simplified and Traditional).
DEFAULT_LANGUAGES = (
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "ru",
    "uk",
    "pl",
    "cs",
    "sk",
    "bg",
    "sr",
    "ro",
    "tr",
    "ar",
    "fa",
    "hi",
    "id",
    "vi",
    "ko",
    "ja",
    "zh",
)
SECRET_KEY_PATTERN = re.compile(r"token|password|secret|webhook|key|url", re.I)
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from 900, 900.0, "900", "15m", "1h", "1.5d"."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like 900, "15m" or "1h"')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f'expected a duration like 900, "15m" or "1h", got {value!r}')
    if seconds < 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
#: A duration that must be more than zero (timeouts, budgets).
Timeout = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


def http_url(value: str) -> str:
    """`value` when it is an absolute http(s) URL with a host and no whitespace."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or re.search(r"\s", value)
        or _bad_port(parts)
    ):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _bad_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return True
    return False


class _Section(BaseModel):
    # strict: TOML has real booleans and numbers, so `fulltext = "yes"` is a mistake to
    # report, not a string to guess at (durations parse strings before this applies).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StoreConfig(_Section):
    """Where durable state lives. `url` takes any SQLAlchemy URL; `path` is the SQLite file."""

    path: str = "var/monitor.db"
    url: str | None = None

    def sqlalchemy_url(self) -> str:
        return self.url or f"sqlite:///{self.path}"


class FetchConfig(_Section):
    """HTTP behaviour shared by every feed and article fetch."""

    connect_timeout: Timeout = 10.0
    read_timeout: Timeout = 30.0
    total_timeout: Timeout = 60.0
    max_redirects: int = Field(5, ge=0, le=20)
    max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    user_agent: str | None = None
    concurrency: int = Field(32, ge=1)
    per_host: int = Field(2, ge=1)
    backoff_base: Duration = 60.0
    backoff_cap: Duration = 6 * 3600.0
    fulltext_min_chars: int = Field(600, ge=0)
    #: New or changed entries stored from one poll; a feed with more keeps its validators
    #: unsaved, so the next poll fetches it in full again and stores the next ones.
    max_entries_per_poll: int = Field(1000, ge=1)
    #: Parse feeds in two worker processes with a 20 s deadline instead of in a thread.
    parse_workers: bool = False


class FeedConfig(_Section):
    """One feed to poll."""

    name: str = Field(min_length=1)
    url: str
    #: "feed" (RSS or Atom, built in) or a kind a plugin adds (`monitor_source_kinds`).
    kind: str = Field("feed", min_length=1)
    interval: Duration = 900.0
    jitter: Duration | None = None
    fulltext: bool = True
    allow_private: bool = False
    language: str | None = None
    enabled: bool = True
    #: A human name for the feed (OPML's title), shown instead of `name` where set.
    title: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("interval")
    @classmethod
    def _sane_interval(cls, value: float) -> float:
        if value < 1:
            raise ValueError(f"expected an interval of at least 1 second, got {value}")
        return value

    @property
    def effective_jitter(self) -> float:
        """Spread polls: by default a tenth of the interval, at most five minutes."""
        return self.jitter if self.jitter is not None else min(self.interval / 10, 300.0)


class NotifierConfig(BaseModel):
    """A named destination: `kind` picks the notifier plugin, the other keys are its options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str = Field(min_length=1)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def __repr_args__(self) -> Any:
        yield "kind", self.kind
        for key, value in self.options.items():
            yield key, mask(key, value)


class RouteConfig(_Section):
    """Which classifications alert, and where they go."""

    name: str = Field(min_length=1)
    notifiers: list[str] = Field(min_length=1)
    min_score: float = Field(DEFAULT_RELEVANCE_THRESHOLD, ge=0, le=1)
    types: list[str] = []
    languages: list[str] = []
    feeds: list[str] = []
    actors: list[str] = []
    exclude_words: list[str] = []
    mode: Literal["immediate", "digest"] = "immediate"
    schedule: str | None = None
    timezone: str = "UTC"
    quiet_hours: str | None = None

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        return known_types(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f'expected an IANA time zone like "Europe/Paris", got {value!r}'
            ) from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hours_range(cls, value: str | None) -> str | None:
        from monitor.schedules import parse_quiet_hours

        if value is not None:
            parse_quiet_hours(value)
        return value

    @model_validator(mode="after")
    def _digest_needs_schedule(self) -> RouteConfig:
        from monitor.schedules import schedule_problem

        if self.mode == "digest" and not self.schedule:
            raise ValueError('a digest route needs a schedule, e.g. "hourly" or "0 8 * * *"')
        if self.schedule and (problem := schedule_problem(self.schedule, self.timezone)):
            raise ValueError(f"schedule: {problem}")
        return self


class InhibitConfig(_Section):
    """An inhibition rule: on a story that already has an alert of a source type on a
    route, later alerts there whose types are all target types are recorded, not sent
    (a summit's delegations and visits add nothing once the summit alerted)."""

    source_types: list[str] = Field(min_length=1)
    target_types: list[str] = Field(min_length=1)
    #: Only on these routes; empty: on every route.
    routes: list[str] = []

    @field_validator("source_types", "target_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        return known_types(value)

    @model_validator(mode="after")
    def _disjoint(self) -> InhibitConfig:
        both = sorted(set(self.source_types) & set(self.target_types))
        if both:
            raise ValueError(
                f"type(s) {both} are both source and target: an alert of a source type "
                "is never inhibited, so the rule would never apply to them"
            )
        return self


def known_types(value: list[str]) -> list[str]:
    """`value` when every entry is a contact type label of the taxonomy."""
    unknown = [t for t in value if t not in CONTACT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown contact type(s) {unknown}; expected some of {list(CONTACT_TYPES)}"
        )
    return value


class ClassifierConfig(_Section):
    """How several classifiers' results combine into one Classification."""

    type_threshold: float = Field(DEFAULT_TYPE_THRESHOLD, ge=0, le=1)
    relevance_threshold: float = Field(DEFAULT_RELEVANCE_THRESHOLD, ge=0, le=1)
    combine: Literal["max", "mean", "weighted_mean"] = "max"
    weights: dict[str, float] = {}
    required: list[str] = []
    timeout: Timeout = 5.0


class PluginsConfig(_Section):
    """Extra plugin modules to load, plugins to disable, and per-plugin options."""

    modules: list[str] = []
    disabled: list[str] = []
    options: dict[str, dict[str, Any]] = {}


class StoriesConfig(_Section):
    """Reports of one contact within this window of event dates form one story."""

    window: Duration = 3 * 86400.0


class ProcessingConfig(_Section):
    """Enrich, classify, decide: batches, and how a failing item is retried and set aside."""

    batch: int = Field(50, ge=1, le=10_000)
    max_attempts: int = Field(5, ge=1)
    backoff_base: Duration = 30.0
    backoff_cap: Duration = 3600.0


class DeliveryConfig(_Section):
    """Outbox worker: how often it looks, how hard it retries."""

    interval: Duration = 5.0
    max_attempts: int = Field(8, ge=1)
    backoff_base: Duration = 30.0
    backoff_cap: Duration = 3600.0
    timeout: Timeout = 30.0


class DaemonConfig(_Section):
    """Process-level behaviour of `monitor run`."""

    http: str = "127.0.0.1:9464"
    drain_timeout: Timeout = 10.0
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    pid_file: str | None = None
    failing_after: Duration = 24 * 3600.0


class HealthConfig(_Section):
    """Feed health as alerts: a feed failing longer than `daemon.failing_after` alerts
    these notifiers once, through the outbox, and once more when it is polled again."""

    #: Names from `[notifiers.*]`; empty: feed health is only shown, never alerted.
    notifiers: list[str] = []


class WebConfig(_Section):
    """The web UI: served by the daemon on `daemon.http`, and by `monitor web`."""

    #: Serve the pages beside /healthz and /metrics on the daemon's address.
    enabled: bool = True
    #: Where `monitor web` listens ("HOST:PORT"); default: `daemon.http`.
    bind: str | None = None
    #: Actions (retry, silence, feedback) need this token; unset, the UI is read-only.
    token: str | None = Field(None, repr=False)
    #: The Slack app's signing secret: POST /slack/actions verifies clicks with it.
    slack_signing_secret: str | None = Field(None, repr=False)


class ClusterConfig(_Section):
    """Several nodes on one PostgreSQL store, scheduled by procrastinate (docs/cluster.md)."""

    #: Run `monitor run` as a cluster node instead of the single-node daemon.
    enabled: bool = False
    #: This node's name in `monitor status` (default: host name and pid).
    node: str | None = None
    #: The dispatcher's period: due feeds are queued this often (whole seconds dividing 60).
    tick: int = Field(1, ge=1, le=60)
    #: Jobs (polls, processing, deliveries) one node runs at the same time.
    concurrency: int = Field(16, ge=1, le=1000)
    #: How often a node tells the others it is alive.
    heartbeat: Timeout = 5.0
    #: A node silent this long is dead: its running jobs are failed and taken over.
    stall_timeout: Timeout = 30.0
    #: Connections of the queue's pool per node (the store has its own: SQLAlchemy's
    #: default of 5, overflowing to 15 under load).
    queue_pool: int = Field(4, ge=2, le=100)

    @field_validator("tick")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(f"expected a tick that divides 60 seconds, got {value}")
        return value

    @model_validator(mode="after")
    def _heartbeat_below_stall(self) -> ClusterConfig:
        if self.heartbeat * 2 > self.stall_timeout:
            raise ValueError(
                f"stall_timeout ({self.stall_timeout:g} s) must be at least twice the "
                f"heartbeat ({self.heartbeat:g} s)"
            )
        return self


class Config(_Section):
    """The whole configuration; `source` is the file it came from."""

    source: str = "<defaults>"
    store: StoreConfig = StoreConfig()
    fetch: FetchConfig = FetchConfig()
    daemon: DaemonConfig = DaemonConfig()
    health: HealthConfig = HealthConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    plugins: PluginsConfig = PluginsConfig()
    stories: StoriesConfig = StoriesConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    processing: ProcessingConfig = ProcessingConfig()
    web: WebConfig = WebConfig()
    cluster: ClusterConfig = ClusterConfig()
    languages: list[str] = list(DEFAULT_LANGUAGES)
    feeds: list[FeedConfig] = []
    notifiers: dict[str, NotifierConfig] = {"console": NotifierConfig(kind="console")}
    routes: list[RouteConfig] = []
    inhibit: list[InhibitConfig] = []

    def effective_routes(self) -> list[RouteConfig]:
        """The configured routes, or the default: every relevant item, now, to every notifier."""
        if self.routes:
            return list(self.routes)
        return [RouteConfig(name=DEFAULT_ROUTE, notifiers=sorted(self.notifiers))]

    def feed(self, name: str) -> FeedConfig | None:
        return self._feeds_by_name.get(name)

    @functools.cached_property
    def _feeds_by_name(self) -> dict[str, FeedConfig]:
        """Every poll looks its feed up by name: a scan of 2000 feeds each was O(n^2)."""
        by_name: dict[str, FeedConfig] = {}
        for feed in self.feeds:
            by_name.setdefault(feed.name, feed)
        return by_name


def mask(key: str, value: Any) -> Any:
    """What a log or repr may show of a config value."""
    if isinstance(value, str) and value and (SECRET_KEY_PATTERN.search(key) or "${" in value):
        return "***"
    return value


def load_config(
    path: str | os.PathLike[str] = DEFAULT_CONFIG,
    env: Mapping[str, str] | None = None,
    *,
    secrets: bool = True,
) -> Config:
    """Read, substitute and validate one config file; raise ConfigError with every problem.

    `secrets=False` is for commands that only read the store (`monitor status`): an
    unset `${NAME}` is then left empty instead of being a problem.
    """
    config, _, problems = read_config(path, env, secrets=secrets)
    if problems or config is None:
        raise ConfigError(str(path), problems)
    return config


def read_config(
    path: str | os.PathLike[str] = DEFAULT_CONFIG,
    env: Mapping[str, str] | None = None,
    *,
    secrets: bool = True,
) -> tuple[Config | None, dict[str, Any], list[str]]:
    """The validated config (None when invalid), the substituted raw data and every
    problem found, for callers that go on checking past the first invalid section."""
    file = Path(path)
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(file), ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), [f"invalid TOML: {exc}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), [f"cannot read: {exc}"]) from exc
    problems: list[str] = []
    data = _substitute(raw, env, "", problems if secrets else [])
    problems.extend(_cross_check(data))
    config = None
    try:
        config = Config.model_validate({**data, "source": str(file)})
    except ValidationError as exc:
        problems.extend(_describe(exc))
    return (None if problems else config), data, problems


def plugin_sections(data: Mapping[str, Any], source: str) -> Config:
    """A config holding only the sections the plugin host needs, each taken from `data`
    when it is valid on its own: plugins can be checked even when a feed is invalid."""
    parts: dict[str, Any] = {"source": source}
    for key in ("plugins", "classifier", "languages"):
        if key not in data:
            continue
        try:
            Config.model_validate({key: data[key]})
        except ValidationError:
            continue
        parts[key] = data[key]
    return Config.model_validate(parts)


def _cross_check(data: dict[str, Any]) -> list[str]:
    """Checks that span sections; run on the raw data so they report beside field errors."""
    problems: list[str] = []
    raw_feeds = data.get("feeds")
    feeds: list[Any] = raw_feeds if isinstance(raw_feeds, list) else []
    notifiers = data.get("notifiers")
    notifier_names = set(notifiers) if isinstance(notifiers, dict) else {"console"}
    seen = _unique_names(feeds, "feeds", problems)
    raw_routes = data.get("routes")
    routes: list[Any] = raw_routes if isinstance(raw_routes, list) else []
    # A route's name is part of each alert's idempotency key: two routes of one name
    # would share their "already alerted" state.
    _unique_names(routes, "routes", problems)
    for i, route in enumerate(routes):
        if not isinstance(route, dict):
            continue
        for j, name in enumerate(route.get("notifiers") or []):
            if isinstance(name, str) and name not in notifier_names:
                problems.append(
                    f"routes[{i}].notifiers[{j}]: no notifier named {name!r}; "
                    f"expected one of {sorted(notifier_names)}"
                )
        for j, name in enumerate(route.get("feeds") or []):
            if isinstance(name, str) and name not in seen:
                problems.append(f"routes[{i}].feeds[{j}]: no feed named {name!r}")
    health = data.get("health")
    raw_health = health.get("notifiers") if isinstance(health, dict) else None
    for j, name in enumerate(raw_health if isinstance(raw_health, list) else []):
        if isinstance(name, str) and name not in notifier_names:
            problems.append(
                f"health.notifiers[{j}]: no notifier named {name!r}; "
                f"expected one of {sorted(notifier_names)}"
            )
    route_names = [r["name"] for r in routes if isinstance(r, dict) and "name" in r]
    problems += _named_routes_exist(data.get("inhibit"), route_names or [DEFAULT_ROUTE])
    return problems


def _named_routes_exist(raw: Any, route_names: list[Any]) -> list[str]:
    """Every `inhibit[N].routes` entry names a route (the default one without routes)."""
    rules: list[Any] = raw if isinstance(raw, list) else []
    problems = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("routes"), list):
            continue
        for j, name in enumerate(rule["routes"]):
            if isinstance(name, str) and name not in route_names:
                problems.append(
                    f"inhibit[{i}].routes[{j}]: no route named {name!r}; "
                    f"expected one of {sorted(str(n) for n in route_names)}"
                )
    return problems


def _unique_names(tables: list[Any], section: str, problems: list[str]) -> dict[str, int]:
    """Index of each `name` in a list of tables; a repeated name is a problem."""
    seen: dict[str, int] = {}
    for i, table in enumerate(tables):
        name = table.get("name") if isinstance(table, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(
                f"{section}[{i}].name: duplicate {section[:-1]} name {name!r} "
                f"(also {section}[{seen[name]}])"
            )
        seen.setdefault(name, i)
    return seen


def _substitute(value: Any, env: Mapping[str, str], where: str, problems: list[str]) -> Any:
    if isinstance(value, str):

        def replace(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                problems.append(f"{where or '<root>'}: environment variable {name} is not set")
                return ""
            return env[name]

        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {
            k: _substitute(v, env, f"{where}.{k}" if where else k, problems)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, env, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    return value


def key_path(loc: tuple[int | str, ...]) -> str:
    """('feeds', 3, 'interval') -> 'feeds[3].interval'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg}, got {err['input']!r}"
        problems.append(f"{key_path(loc)}: {msg}")
    return problems
