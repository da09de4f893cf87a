"""A small news world for the workbench's tests and screenshots: articles served by a
real local feed server (`monitor.testing.feedserver`), one run of the real pipeline
with the built-in classifier, alerts captured instead of sent.

    with FeedServer() as server:
        config = world_config(tmp_path, server)
        capture = NotifierCapture()
        run_world(config, capture)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.service.runtime import CycleReport, Runtime
from monitor.testing.feedserver import FeedServer, rss
from monitor.testing.kit import NotifierCapture, feed_config, host_with

#: feed -> [(key, title, text, published)]
ARTICLES: dict[str, list[tuple[str, str, str, str]]] = {
    "kcna-watch": [
        (
            "shoigu",
            "Shoigu meets Kim Jong Un in Pyongyang",
            "Russian Security Council Secretary Sergei Shoigu met North Korean leader Kim Jong "
            "Un in Pyongyang on June 4, 2025, the Korean Central News Agency reported. The two "
            "sides discussed cooperation between Moscow and Pyongyang during the visit, which "
            "was not announced in advance.",
            "2025-06-04T15:00:00Z",
        ),
        (
            "weather",
            "Rain expected across the peninsula",
            "Heavy rain is expected across the Korean peninsula this weekend, forecasters "
            "said, with flooding possible in low-lying areas.",
            "2025-06-05T09:00:00Z",
        ),
    ],
    "ria-ru": [
        (
            "shoigu",
            "Шойгу прибыл в Пхеньян и провёл переговоры с Ким Чен Ыном",
            "Секретарь Совета безопасности России Сергей Шойгу прибыл с визитом в Пхеньян и "
            "4 июня 2025 года провёл переговоры с председателем КНДР Ким Чен Ыном, сообщает "
            "ЦТАК.",
            "2025-06-04T16:00:00Z",
        ),
    ],
    "asia-wire": [
        (
            "shoigu",
            "Kim Jong Un receives Russia's Shoigu",
            "North Korean leader Kim Jong Un received Sergei Shoigu, secretary of Russia's "
            "Security Council, in Pyongyang on Wednesday, June 4, 2025, state media said. It "
            "was Shoigu's second trip to the North Korean capital in two weeks.",
            "2025-06-04T18:00:00Z",
        ),
        (
            "drills",
            "<script>alert('x')</script> Russian and North Korean navies hold joint drills",
            "The navies of Russia and North Korea held their first joint military exercise "
            "off Vladivostok on May 12, 2025, the Russian Defence Ministry said. Warships of "
            "the Korean People's Army and Russia's Pacific Fleet practised air defence and "
            "joint manoeuvres, the ministry said.",
            "2025-05-13T07:00:00Z",
        ),
    ],
}

ROUTES = [
    {"name": "analysts", "notifiers": ["inbox"]},
    {"name": "military-desk", "notifiers": ["inbox"], "types": ["military"], "min_score": 0.6},
]


def entry(feed: str, key: str, title: str, text: str, published: str) -> dict[str, str]:
    link = f"https://{feed}.example/{key}"
    return {
        "title": title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        "link": link,
        "guid": link,
        "summary": text,
        "content": text,
        "published": published,
    }


def serve(
    server: FeedServer,
    articles: dict[str, list[tuple[str, str, str, str]]] | None = None,
    only: Iterable[str] | None = None,
) -> dict[str, str]:
    """Route one RSS feed per outlet on `server`; returns feed name -> URL. `only`
    keeps the articles of these keys (the rest come later, with `serve` again)."""
    keep = set(only) if only is not None else None
    urls = {}
    for feed, items in (articles or ARTICLES).items():
        entries = [entry(feed, *a) for a in items if keep is None or a[0] in keep]
        server.route(f"/{feed}.xml", rss(entries, title=feed))
        urls[feed] = server.url(f"/{feed}.xml")
    return urls


def world_config(
    tmp_path: Path, server: FeedServer, only: Iterable[str] | None = None, **sections: Any
) -> Config:
    """A config over the world's feeds on `server` (a store in `tmp_path`, the two
    routes above to a captured "inbox")."""
    urls = serve(server, only=only)
    sections.setdefault("routes", ROUTES)
    return feed_config(tmp_path / "monitor.db", urls, **sections)


def run_world(config: Config, capture: NotifierCapture) -> CycleReport:
    """One full cycle (poll, classify with the built-in plugins, decide, deliver)."""
    host = host_with(config=config, builtins=True, startup=False)
    host.register(capture, "capture", "test")

    async def cycle() -> CycleReport:
        async with Runtime(config, host=host) as runtime:
            return await runtime.cycle(flush_digests=True)

    return asyncio.run(cycle())


class ServedApp:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread (for tests:
    a real HTTP server for httpx or a browser); a context manager."""

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn

        from monitor.web.server import _Server

        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", access_log=False, log_level="warning"
        )
        self.server = _Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = ""

    def __enter__(self) -> ServedApp:
        import time

        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    def url(self, path: str = "/") -> str:
        return self.base + path

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
