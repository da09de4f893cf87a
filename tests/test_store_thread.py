"""The pipeline's writes run in its one store thread: polls' entries and records, and
processing's commits and failures. SQLite takes one writer at a time, so the daemon's
own threads never queue on its lock (processing used to write from the default
executor's threads while polls wrote from the store thread)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.host.manager import PluginHost
from monitor.models import Classification, Item
from monitor.service.runtime import Runtime
from monitor.testing.feedserver import FeedServer, rss

WRITES = ("store_entries", "record_polls", "commit_classification", "decide_and_commit",
          "record_item_failure")  # fmt: skip


def test_every_write_of_a_cycle_runs_in_the_store_thread(
    tmp_path: Path, server: FeedServer
) -> None:
    feeds = []
    for name in ("calm", "boom"):
        items = [{"title": f"{name} story {k}", "link": f"https://news.example/{name}/{k}",
                  "guid": f"{name}-{k}"} for k in range(2)]  # fmt: skip
        server.route(f"/{name}.xml", rss(items))
        feeds.append({"name": name, "url": server.url(f"/{name}.xml"), "fulltext": False})
    config = Config.model_validate({"store": {"path": str(tmp_path / "m.db")}, "feeds": feeds})
    runtime = Runtime(config, host=PluginHost(config), notifiers={})
    threads: dict[str, set[str]] = {}

    async def cycle() -> Any:
        async with runtime:
            for name in WRITES:
                real = getattr(runtime.store, name)

                def call(*args: Any, _real: Any = real, _name: str = name, **kw: Any) -> Any:
                    threads.setdefault(_name, set()).add(threading.current_thread().name)
                    return _real(*args, **kw)

                setattr(runtime.store, name, call)
            classify = runtime.host.classify

            def failing(item: Item) -> Classification | None:
                if item.title.startswith("boom"):
                    raise RuntimeError("the classifier broke")
                return classify(item)

            runtime.host.classify = failing  # type: ignore[method-assign]
            return await runtime.cycle()

    report = asyncio.run(cycle())
    assert len(report.polls) == 2 and len(report.processed) == 2  # the calm ones
    assert {"store_entries", "record_polls", "record_item_failure"} <= set(threads)
    assert threads.keys() & {"commit_classification", "decide_and_commit"}
    assert set().union(*threads.values()) == {"monitor-store_0"}, threads
