"""Helpers shared by the polling, scaling, latency and memory benchmarks.

- `machine()`: what the figures were taken on (cores, CPU model, Python).
- `LeanFeedServer`: bench/_feedserver.py in a subprocess (its CPU is not ours).
- `monitor_config` / `write_monitor_toml`: a config whose feeds are all on that server.
- `poll_monitor` / `poll_reader`: one cold and one all-304 cycle of each poller, timed
  (wall and process CPU, every thread included), for the polling and scaling benches;
  each runs in a fresh subprocess (`python bench/_common.py monitor|reader ...`) so
  neither poller inherits the other's threads, pools or heap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: The plugins a polling benchmark does not need (classification is not measured).
NOT_POLLING = "rudprk,fulltext,language"


# --- reporting ------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, no interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """The median and the range, as `median (min-max)`."""
    if not values:
        return "-"
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def rss_kib(pid: int | str = "self") -> int:
    return status_kib("VmRSS", pid)


def status_kib(field: str, pid: int | str = "self") -> int:
    """A memory line of /proc/PID/status (VmRSS, VmHWM, ...), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


# --- the feed server ------------------------------------------------------------------


class LeanFeedServer:
    """bench/_feedserver.py in a subprocess; a context manager."""

    def __init__(self, feeds: int, entries: int = 20) -> None:
        self.feeds = feeds
        self.entries = entries
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> LeanFeedServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(BENCH / "_feedserver.py"),
                "--feeds",
                str(self.feeds),
                "--entries",
                str(self.entries),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until it listens (or dies)
        if not line.startswith("PORT "):
            self.__exit__()
            raise RuntimeError(f"feed server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, i: int) -> str:
        return f"{self.base}/feed/{i}.xml"

    def urls(self, count: int | None = None) -> list[str]:
        return [self.url(i) for i in range(self.feeds if count is None else count)]

    def _call(self, path: str, data: bytes | None = None) -> bytes:
        method = "GET" if data is None else "POST"
        request = urllib.request.Request(self.base + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def cpu(self) -> float:
        """CPU seconds the server process has used so far (user + system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, int]:
        return json.loads(self._call("/_stats"))

    def reset(self) -> None:
        self._call("/_reset", b"")

    def add(self, i: int, item: dict[str, str]) -> None:
        self._call(f"/_add/{i}", json.dumps(item).encode())


# --- monitor configuration ------------------------------------------------------------


def write_monitor_toml(
    path: Path,
    urls: Sequence[str],
    *,
    db: Path,
    interval: float = 900,
    concurrency: int = 32,
    jitter: float | None = 0,
    extra: str = "",
) -> Path:
    """A config file for `monitor run`: every feed on the local server. All feeds share
    one host (127.0.0.1:port), where real feeds are on many: `per_host` is raised to
    `concurrency` so the per-host limit does not serialise them. `jitter=None` keeps
    the default jitter (a tenth of the interval)."""
    jitter_line = "" if jitter is None else f"jitter = {jitter}\n"
    tables = "".join(
        f'[[feeds]]\nname = "f{i}"\nurl = "{url}"\ninterval = {interval}\n'
        f"{jitter_line}fulltext = false\n\n"
        for i, url in enumerate(urls)
    )
    path.write_text(
        f'[store]\npath = "{db}"\n[daemon]\nhttp = ""\n'
        f"[fetch]\nconcurrency = {concurrency}\nper_host = {concurrency}\n"
        f"{extra}\n{tables}",
        encoding="utf-8",
    )
    return path


def monitor_config(urls: Sequence[str], db: Path, concurrency: int) -> Any:
    from monitor.config import Config, FeedConfig, FetchConfig, StoreConfig

    return Config(
        store=StoreConfig(path=str(db)),
        fetch=FetchConfig(concurrency=concurrency, per_host=concurrency),
        feeds=[
            FeedConfig(name=f"f{i}", url=url, jitter=0, fulltext=False)
            for i, url in enumerate(urls)
        ],
    )


# --- one poller, two cycles (run in a subprocess) -------------------------------------


def _timed(fn: Any) -> tuple[float, float, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, time.process_time() - c0, value


def children_cpu() -> float:
    """CPU seconds of this process's live children (the parser's worker processes),
    from /proc: a poller's CPU must include the work it hands to other processes."""
    import multiprocessing

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _phases(warm: int) -> list[str]:
    return ["cold"] + [f"warm{n}" for n in range(1, warm + 1)]


class StageClock:
    """CPU seconds of parsing and of the store, counted in the threads they run in
    (`time.thread_time`); with `[fetch] parse_workers`, parsing is the worker processes'
    CPU instead; what is left of the poller's own CPU is HTTP, the event loop and the
    hand-offs between them."""

    STAGES: ClassVar[dict[str, list[tuple[str, str]]]] = {
        "parse": [("monitor.service.pipeline", "parse_feed")],
        "store": [
            ("monitor.store.items.ItemsStore", "store_entries"),
            ("monitor.store.feeds.FeedsStore", "record_poll"),
            ("monitor.store.feeds.FeedsStore", "record_polls"),
            ("monitor.store.feeds.FeedsStore", "feed"),
            ("monitor.store.feeds.FeedsStore", "feeds_named"),
        ],
    }

    def __init__(self) -> None:
        import importlib
        import threading

        self.spent = dict.fromkeys(self.STAGES, 0.0)
        self._lock = threading.Lock()
        for stage, targets in self.STAGES.items():
            for dotted, name in targets:
                owner: Any
                if dotted.startswith("monitor.store"):
                    module, _, cls = dotted.rpartition(".")
                    owner = getattr(importlib.import_module(module), cls)
                else:
                    owner = importlib.import_module(dotted)
                setattr(owner, name, self._wrap(stage, getattr(owner, name)))

    def _wrap(self, stage: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.spent[stage] += time.thread_time() - t0

        return timed

    def take(self) -> dict[str, float]:
        with self._lock:
            out, self.spent = self.spent, dict.fromkeys(self.STAGES, 0.0)
        return out


def poll_monitor(urls: Sequence[str], workdir: Path, concurrency: int, warm: int) -> dict[str, Any]:
    """Runtime.poll for every feed at once, then the write of the buffered poll records
    (what Runtime.cycle does before classification): a cold cycle on an empty store,
    then `warm` cycles where every feed answers 304."""
    os.environ["MONITOR_DISABLE_PLUGINS"] = NOT_POLLING
    from monitor.service.runtime import Runtime

    config = monitor_config(urls, workdir / "monitor.db", concurrency)
    clock = StageClock() if os.environ.get("MONITOR_BENCH_PROFILE") else None

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with Runtime(config) as runtime:
            feeds = [f for f in config.feeds if f.enabled]
            for phase in _phases(warm):
                own0, kids0, t0 = time.process_time(), children_cpu(), time.perf_counter()
                found = await asyncio.gather(*(runtime.poll(f.name) for f in feeds))
                await runtime.pipeline.flush_polls()
                wall = time.perf_counter() - t0
                own, kids = time.process_time() - own0, children_cpu() - kids0
                cpu = own + kids
                polls = [p for p in found if p is not None]
                errors = [p.error for p in polls if p.error]
                out[phase] = {
                    "wall": wall,
                    "cpu": cpu,
                    "new": sum(p.new_items for p in polls),
                    "errors": len(errors),
                    "first_error": errors[0] if errors else None,
                }
                if clock is not None:
                    stages = clock.take()
                    stages["parse"] += kids  # worker processes, with parse_workers
                    threads = stages["store"] + stages["parse"] - kids
                    stages["http, loop and hand-offs"] = max(0.0, own - threads)
                    out[phase]["stages"] = stages
            out["items"] = runtime.store.item_count()
        return out

    return asyncio.run(main())


def poll_reader(urls: Sequence[str], workdir: Path, workers: int, warm: int) -> dict[str, Any]:
    """reader: add the feeds, `update_feeds(workers=N)` cold, then `warm` times again
    (every feed answers 304; `scheduled=False` so that every feed is retrieved)."""
    from reader import make_reader

    reader = make_reader(str(workdir / "reader.sqlite"))
    try:
        for url in urls:
            reader.add_feed(url)
        out: dict[str, Any] = {}
        for phase in _phases(warm):
            wall, cpu, _ = _timed(lambda: reader.update_feeds(workers=workers, scheduled=False))
            broken = [f for f in reader.get_feeds() if f.last_exception is not None]
            out[phase] = {
                "wall": wall,
                "cpu": cpu,
                "errors": len(broken),
                "first_error": str(broken[0].last_exception) if broken else None,
            }
        out["items"] = reader.get_entry_counts().total
    finally:
        reader.close()
    return out


def run_poller(which: str, urls: Sequence[str], concurrency: int, warm: int = 1) -> dict[str, Any]:
    """One poller's two cycles in a fresh subprocess, on a fresh temporary store."""
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        spec = Path(tmp) / "urls.json"
        spec.write_text(json.dumps(list(urls)))
        done = subprocess.run(
            [sys.executable, __file__, which, str(spec), str(concurrency), str(warm)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{which} poller failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _worker() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("which", choices=["monitor", "reader"])
    p.add_argument("urls", type=Path)
    p.add_argument("concurrency", type=int)
    p.add_argument("warm", type=int)
    args = p.parse_args()
    urls = json.loads(args.urls.read_text())
    poll = poll_monitor if args.which == "monitor" else poll_reader
    result = poll(urls, args.urls.parent, args.concurrency, args.warm)
    result["maxrss_mib"] = _maxrss_mib()
    print(json.dumps(result))


def _maxrss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _worker()
