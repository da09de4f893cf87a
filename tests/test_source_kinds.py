"""A plugin adds a source kind (here JSON Feed): its feeds are fetched like any other,
parsed by the plugin, and their items alert; a broken parser is one failed poll."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import types
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.hookspecs import SourceParser, hookimpl
from monitor.host.manager import PluginHost
from monitor.ingest.identity import canonical_url, entry_key
from monitor.ingest.parse import Entry, ParsedFeed
from monitor.models import Classification, Item
from monitor.service.pipeline import PollOutcome, Processed
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer


def parse_json_feed(
    body: bytes, headers: Mapping[str, str], url: str, fetched_at: datetime
) -> ParsedFeed:
    doc = json.loads(body)
    entries = []
    for raw in doc["items"]:
        link = raw.get("url")
        text = raw.get("content_text", "")
        entries.append(
            Entry(
                key=entry_key(raw.get("id"), link, raw.get("title", ""), text),
                guid=raw.get("id"),
                link=link,
                canonical_url=canonical_url(link) if link else None,
                title=raw.get("title", ""),
                summary=text,
                content=text,
                published=fetched_at,
                published_from_feed=False,
                content_hash=hashlib.sha256(f"{raw.get('title')}\n{text}".encode()).hexdigest(),
                language=None,
            )
        )
    return ParsedFeed(entries=tuple(entries), title=doc.get("title", ""), language=None)


def exploding(body: bytes, headers: Mapping[str, str], url: str, at: datetime) -> ParsedFeed:
    raise KeyError("items")


@hookimpl
def monitor_source_kinds() -> Mapping[str, SourceParser]:
    return {"jsonfeed": parse_json_feed, "broken": exploding}


@hookimpl
def monitor_classify(item: Item) -> Classification:
    return Classification(relevant="Lavrov" in item.title, score=0.9, types={"summit": 0.9})


def test_a_plugin_source_kind_is_polled_parsed_and_alerts(
    tmp_path: Path, server: FeedServer
) -> None:
    items = [
        {"id": "1", "url": "https://news.example/lavrov", "title": "Lavrov in Wonsan",
         "content_text": "Lavrov met Choe Son Hui in Wonsan."},
        {"id": "2", "url": "https://news.example/weather", "title": "Weather",
         "content_text": "Rain."},
    ]  # fmt: skip
    server.route("/feed.json", json.dumps({"title": "J", "items": items}).encode())
    server.route("/bad.json", b"{}")
    config = Config.model_validate(
        {
            "store": {"path": str(tmp_path / "m.db")},
            "routes": [{"name": "desk", "notifiers": ["console"]}],
            "feeds": [
                {"name": "json", "url": server.url("/feed.json"), "kind": "jsonfeed",
                 "fulltext": False},
                {"name": "bad", "url": server.url("/bad.json"), "kind": "broken",
                 "fulltext": False},
            ],
        }
    )  # fmt: skip
    host = PluginHost(config)
    host.register(sys.modules[__name__], "jsonfeed", "test")
    assert host.problems() == []
    runtime = Runtime(config, host=host, notifiers={})

    async def run() -> tuple[dict[str, PollOutcome], list[Processed]]:
        async with runtime:
            report = await runtime.cycle()
        return {p.feed: p for p in report.polls}, report.processed

    polls, processed = asyncio.run(run())
    assert polls["json"].new_items == 2 and polls["json"].error is None
    assert "broken parser raised KeyError" in (polls["bad"].error or "")
    relevant = [p.item.title for p in processed if p.classification and p.classification.relevant]
    assert relevant == ["Lavrov in Wonsan"]


def test_an_unknown_source_kind_is_a_config_problem() -> None:
    config = Config.model_validate(
        {"feeds": [{"name": "x", "url": "https://x.example/f", "kind": "gopher"}]}
    )
    host = PluginHost(config)
    host.register(types.ModuleType("empty"), "empty", "test")
    assert host.problems() == ["feeds[0].kind: no source kind 'gopher'; known: ['feed']"]


def test_the_built_in_kind_cannot_be_taken() -> None:
    plugin = types.SimpleNamespace(monitor_source_kinds=hookimpl(lambda: {"feed": exploding}))
    host = PluginHost(Config())
    host.register(plugin, "thief", "test")
    with pytest.raises(Exception, match="built-in RSS/Atom kind"):
        host.source_kinds()
