"""The web UI: one ASGI app (Starlette, Jinja2 templates rendered on the server) with the
timeline, story, item, feeds, outbox and silences pages, `/healthz` and `/metrics`.

Everything that came from a feed is escaped (autoescape on; no page runs a script),
every answer carries a strict Content-Security-Policy, and the pages only read unless
the browser holds the token of `[web] token` (given once on /login, kept in an
HttpOnly, SameSite=Strict cookie; scripts may send `Authorization: Bearer TOKEN`):
retrying a dead letter, silencing and feedback need it. With no token configured the
UI is read-only for everyone. Feedback clicked in Slack (`/slack/actions`) carries
Slack's signature instead (`slack_actions.py`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import Config, parse_duration
from monitor.models import Classification, Evidence, Item
from monitor.service.health import Health
from monitor.store.base import Store
from monitor.store.web import TimelineFilter
from monitor.taxonomy import CONTACT_TYPES
from monitor.web.chart import weekly_chart
from monitor.web.explain import explain_item
from monitor.web.slack_actions import slack_actions

log = logging.getLogger("monitor.web")

COOKIE = "monitor_token"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
PAGE = 50

HealthFn = Callable[[], Awaitable[Health]]
MetricsFn = Callable[[], tuple[bytes, str]]
Classifier = Callable[[Item], Classification | None]
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class SecurityHeaders:
    """Adds the CSP and its companions to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class Context:
    """What the pages need, shared by the daemon and `monitor web`."""

    store: Store
    config: Callable[[], Config]
    health: HealthFn | None
    metrics: MetricsFn | None
    classifier: Classifier | None
    clock: Clock


def build_app(
    store: Store,
    config: Config | Callable[[], Config],
    *,
    health: HealthFn | None = None,
    metrics: MetricsFn | None = None,
    classifier: Classifier | None = None,
    clock: Clock = _now,
    pages: bool = True,
) -> ASGIApp:
    """The ASGI app over `store`. `config` may be a callable (the daemon's current
    config, which a reload swaps); `health` and `metrics` serve /healthz and /metrics
    (404 when None); `classifier` gives the item page the classifier's explanation;
    `pages=False` serves only /healthz and /metrics."""
    get_config = config if callable(config) else (lambda: config)
    ctx = Context(store, get_config, health, metrics, classifier, clock)
    routes: list[Route | Mount] = [
        Route("/healthz", _healthz, methods=["GET", "HEAD"]),
        Route("/metrics", _metrics, methods=["GET", "HEAD"]),
    ]
    if pages:
        routes += [
            Route("/", _timeline),
            Route("/story/{story_id:int}", _story),
            Route("/item/{item_id:int}", _item),
            Route("/item/{item_id:int}/feedback", _feedback, methods=["POST"]),
            Route("/feeds", _feeds),
            Route("/outbox", _outbox),
            Route("/outbox/retry", _retry, methods=["POST"]),
            Route("/silences", _silences, methods=["GET", "POST"]),
            Route("/silences/{silence_id:int}/expire", _expire, methods=["POST"]),
            Route("/login", _login, methods=["GET", "POST"]),
            Route("/logout", _logout, methods=["POST"]),
            Route("/slack/actions", slack_actions, methods=["POST"]),  # Slack signs it
            Mount("/static", StaticFiles(packages=[("monitor.web", "static")]), name="static"),
        ]
    app = Starlette(routes=routes)
    app.state.ctx = ctx
    return SecurityHeaders(app)


# --- helpers -------------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def authorised(request: Request) -> bool:
    """Whether this request carries the configured token (never, when none is set)."""
    token = _ctx(request).config().web.token
    if not token:
        return False
    given = request.cookies.get(COOKIE) or ""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    return hmac.compare_digest(given.encode(), token.encode())


def _same_origin(request: Request) -> bool:
    """A form posted from another site is refused (the cookie is SameSite=Strict too)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _refuse(request: Request) -> Response | None:
    if not _same_origin(request):
        return PlainTextResponse("cross-site request refused\n", status_code=403)
    if not authorised(request):
        return PlainTextResponse(
            "this action needs the token of [web] token: log in at /login\n", status_code=403
        )
    return None


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    ctx = _ctx(request)
    config = ctx.config()
    context.update(
        request=request,
        can_act=authorised(request),
        has_token=bool(config.web.token),
        types=CONTACT_TYPES,
        fmt_dt=fmt_dt,
        quote=lambda **kw: urlencode({k: v for k, v in kw.items() if v not in (None, "")}),
    )
    return templates.TemplateResponse(request, name, context, status_code=status)


def fmt_dt(value: datetime | date | None) -> str:
    if value is None:
        return "never"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _back(request: Request, default: str) -> RedirectResponse:
    """Back to the page the form was on (same site only), else `default`."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    target = default
    if referer and parts.netloc == request.headers.get("host", ""):
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return RedirectResponse(target, status_code=303)


def highlight(text: str, evidence: tuple[Evidence, ...], types: set[str]) -> list[tuple[str, str]]:
    """`text` cut into (piece, evidence type or "") so the template marks evidence
    sentences; overlapping spans merge into the first one's type."""
    spans = sorted(
        (e.start, e.end, e.type)
        for e in evidence
        if e.type in types and 0 <= e.start < e.end <= len(text)
    )
    pieces: list[tuple[str, str]] = []
    at = 0
    for start, end, kind in spans:
        if end <= at:
            continue
        start = max(start, at)
        if start > at:
            pieces.append((text[at:start], ""))
        pieces.append((text[start:end], kind))
        at = end
    if at < len(text):
        pieces.append((text[at:], ""))
    return pieces


def _filters(request: Request) -> TimelineFilter:
    q = request.query_params

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(q.get(name, "")) if q.get(name) else None
        except ValueError:
            return None

    try:
        score = float(q["min_score"]) if q.get("min_score") else None
    except ValueError:
        score = None
    return TimelineFilter(
        type=q.get("type") or None,
        actor=q.get("actor") or None,
        language=q.get("language") or None,
        feed=q.get("feed") or None,
        since=day("since"),
        until=day("until"),
        min_score=score,
        q=q.get("q") or None,
    )


# --- pages ---------------------------------------------------------------------------


async def _healthz(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.health is None:
        return PlainTextResponse("not found\n", status_code=404)
    health = await ctx.health()
    return Response(
        health.body(),
        status_code=200 if health.ok else 503,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


async def _metrics(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.metrics is None:
        return PlainTextResponse("not found\n", status_code=404)
    body, ctype = await run_in_threadpool(ctx.metrics)
    return Response(body, headers={"content-type": ctype, "cache-control": "no-store"})


def _timeline(request: Request) -> Response:
    ctx = _ctx(request)
    f = _filters(request)
    try:
        page = max(0, int(request.query_params.get("page", "0")))
    except ValueError:
        page = 0
    stories, total = ctx.store.timeline(f, PAGE, page * PAGE)
    chart = weekly_chart(ctx.store.weekly_counts(f))
    config = ctx.config()
    feeds = sorted({feed.name for feed in config.feeds} | {r.name for r in ctx.store.feeds()})
    return render(
        request, "timeline.html", stories=stories, total=total, page=page, pages=PAGE,
        f=f, chart=chart, feeds=feeds, languages=config.languages,
    )  # fmt: skip


def _story(request: Request) -> Response:
    ctx = _ctx(request)
    found = ctx.store.story_record(request.path_params["story_id"])
    if found is None:
        return render(request, "missing.html", 404, what="story")
    threshold = ctx.config().classifier.type_threshold
    reports = []
    for r in found["reports"]:
        c = r.classification
        types = set(c.reported_types(threshold)) if c else set()
        reports.append(
            {
                "record": r,
                "types": c.reported_types(threshold) if c else {},
                "pieces": highlight(r.item.full_text, c.evidence if c else (), types),
            }
        )
    return render(
        request, "story.html", story=found["story"], reports=reports, alerts=found["alerts"],
        routes=[r.name for r in ctx.config().effective_routes()],
    )  # fmt: skip


def _item(request: Request) -> Response:
    ctx = _ctx(request)
    record = ctx.store.item_record(request.path_params["item_id"])
    if record is None:
        return render(request, "missing.html", 404, what="item")
    config = ctx.config()
    explanation = explain_item(ctx.store, record, config, ctx.classifier, ctx.clock())
    c = record.classification
    threshold = config.classifier.type_threshold
    types = set(c.reported_types(threshold)) if c else set()
    pieces = highlight(record.item.full_text, c.evidence if c else (), types)
    return render(
        request, "item.html", record=record, e=explanation, pieces=pieces,
        reported=c.reported_types(threshold) if c else {},
    )  # fmt: skip


async def _feedback(request: Request) -> Response:
    refused = _refuse(request)
    if refused:
        return refused
    ctx = _ctx(request)
    item_id = request.path_params["item_id"]
    form = await request.form()
    verdict = str(form.get("verdict", ""))
    kind = str(form.get("type", "")) or None
    comment = str(form.get("comment", ""))[:2000]
    if verdict not in ("not_relevant", "wrong_type", "relevant"):
        return PlainTextResponse("verdict: not_relevant, wrong_type or relevant\n", 400)
    if verdict == "wrong_type" and kind not in CONTACT_TYPES:
        return PlainTextResponse(f"type: one of {', '.join(CONTACT_TYPES)}\n", 400)
    if await run_in_threadpool(ctx.store.item_record, item_id) is None:
        return PlainTextResponse("no such item\n", 404)
    await run_in_threadpool(
        lambda: ctx.store.add_feedback(
            item_id, verdict, ctx.clock(), type=kind if verdict == "wrong_type" else None,
            comment=comment,
        )
    )  # fmt: skip
    return RedirectResponse(f"/item/{item_id}#feedback", status_code=303)


def _feeds(request: Request) -> Response:
    ctx = _ctx(request)
    config = ctx.config()
    now = ctx.clock()
    rows = {r.name: r for r in ctx.store.feeds()}
    per_week = ctx.store.items_per_feed(now - timedelta(days=7))
    feeds = []
    for feed in config.feeds:
        row = rows.get(feed.name)
        failing = (now - row.failing_since).total_seconds() if row and row.failing_since else 0.0
        feeds.append(
            {
                "name": feed.name,
                "title": feed.title,
                "url": row.url if row else feed.url,
                "enabled": feed.enabled and (row.enabled if row else True),
                "disabled_reason": row.disabled_reason if row else None,
                "row": row,
                "per_day": per_week.get(feed.name, 0) / 7,
                "flagged": failing > config.daemon.failing_after,
                "backoff": bool(row and row.consecutive_failures),
            }
        )
    return render(request, "feeds.html", feeds=feeds)


def _outbox(request: Request) -> Response:
    store = _ctx(request).store
    return render(
        request, "outbox.html", pending=store.outbox(["pending"]),
        sending=store.outbox(["sending"]), dead=store.outbox(["dead"]),
        sent=store.outbox(["sent"], 20), silenced=store.silenced_alerts(20),
        counts=store.delivery_counts(),
    )  # fmt: skip


async def _retry(request: Request) -> Response:
    refused = _refuse(request)
    if refused:
        return refused
    ctx = _ctx(request)
    form = await request.form()
    ids = [int(str(v)) for v in form.getlist("id") if str(v).isdigit()]
    await run_in_threadpool(ctx.store.retry_dead_letters, ctx.clock(), ids or None)
    return RedirectResponse("/outbox", status_code=303)


async def _silences(request: Request) -> Response:
    ctx = _ctx(request)
    if request.method == "POST":
        refused = _refuse(request)
        if refused:
            return refused
        form = await request.form()
        what = str(form.get("what", ""))
        value = str(form.get("value", "")).strip()
        route = str(form.get("route", "")).strip() or None
        comment = str(form.get("comment", ""))[:2000]
        try:
            seconds = parse_duration(str(form.get("for", "48h")) or "48h")
            story_id = int(value) if what == "story" else None
            if what not in ("story", "actor", "type") or not value:
                raise ValueError("say what to silence: a story, an actor or a type")
            if what == "type" and value not in CONTACT_TYPES:
                raise ValueError(f"type: one of {', '.join(CONTACT_TYPES)}")
        except ValueError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        now = ctx.clock()
        await run_in_threadpool(
            lambda: ctx.store.add_silence(
                until=now + timedelta(seconds=seconds), now=now, story_id=story_id,
                actor=value if what == "actor" else None, type=value if what == "type" else None,
                route=route, comment=comment,
            )
        )  # fmt: skip
        return _back(request, "/silences")
    now = ctx.clock()
    return render(
        request, "silences.html", silences=ctx.store.silences(now, include_expired=True),
        now=now, routes=[r.name for r in ctx.config().effective_routes()],
        silenced=ctx.store.silenced_alerts(50),
    )  # fmt: skip


async def _expire(request: Request) -> Response:
    refused = _refuse(request)
    if refused:
        return refused
    ctx = _ctx(request)
    await run_in_threadpool(
        ctx.store.expire_silence, request.path_params["silence_id"], ctx.clock()
    )
    return RedirectResponse("/silences", status_code=303)


async def _login(request: Request) -> Response:
    ctx = _ctx(request)
    token = ctx.config().web.token
    if request.method == "GET":
        return render(request, "login.html", failed=False)
    if not _same_origin(request):
        return PlainTextResponse("cross-site request refused\n", status_code=403)
    form = await request.form()
    given = str(form.get("token", ""))
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return render(request, "login.html", 403, failed=True)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE, given, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


async def _logout(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
