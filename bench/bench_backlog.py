"""A daemon under more feeds than it can keep up with: are new relevant items alerted?

`monitor run` (a subprocess, all plugins) polls --feeds local feeds every --interval
seconds (bench/_feedserver.py: strong ETags, so unchanged feeds answer 304) and posts
alerts to a local Slack look-alike. After the first cycle has been stored, --items
relevant items are added, one at a time at random moments, each to a random feed; the
script records when each one reaches Slack, and samples the daemon's /metrics (backlog
size and the age of the oldest unprocessed item) and /healthz every few seconds.

    python bench/bench_backlog.py                     # 5000 feeds every 10 s, 80 items
    python bench/bench_backlog.py --feeds 1000 --duration 120

It prints how many relevant items were alerted within the run, their latency, the
largest backlog and backlog age seen, and what /healthz said meanwhile.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, LeanFeedServer, machine, median, percentile, write_monitor_toml
from bench_latency import holds, item, wait_until

from monitor.testing.slackserver import SlackServer


def scrape(port: int) -> tuple[dict[str, float], int]:
    """The backlog gauges from /metrics and the /healthz status code."""
    values: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(("monitor_backlog_items ", "monitor_backlog_age_seconds ")):
                    name, value = line.split()
                    values[name] = float(value)
    except (OSError, ValueError):
        pass
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return values, status


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=5000)
    p.add_argument("--entries", type=int, default=2, help="entries per feed at the start")
    p.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    p.add_argument("--items", type=int, default=80, help="relevant items added during the run")
    p.add_argument("--duration", type=float, default=180.0, help="seconds to add items over")
    p.add_argument("--grace", type=float, default=60.0, help="seconds to wait after the last")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    print(f"{args.feeds} feeds x {args.entries} entries every {args.interval:g} s; "
          f"{args.items} relevant items over {args.duration:g} s")  # fmt: skip
    added: dict[str, float] = {}
    alerted: dict[str, float] = {}
    samples: list[tuple[float, dict[str, float], int]] = []
    with (
        tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp,
        LeanFeedServer(args.feeds, entries=args.entries) as feeds,
        SlackServer() as slack,
    ):
        extra = (
            '[daemon]\nhttp = "127.0.0.1:0"\n[delivery]\ninterval = "1s"\n'
            f'[notifiers.slack]\nkind = "slack"\ntoken = "{slack.token}"\n'
            f'channel = "{slack.channel}"\napi_url = "{slack.api_url}"\n'
        )
        config = write_monitor_toml(
            Path(tmp) / "monitor.toml", feeds.urls(), db=Path(tmp) / "monitor.db",
            interval=args.interval, extra=extra,
        )  # fmt: skip
        config.write_text(config.read_text().replace('[daemon]\nhttp = ""\n', ""))
        log_path = Path(tmp) / "daemon.log"
        log = log_path.open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-level", "INFO"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            if not wait_until(lambda: "http endpoint listening on" in log_path.read_text(), 120):
                raise SystemExit("the daemon did not start")
            port = int(log_path.read_text().split("http endpoint listening on ")[1].split()[0]
                       .rsplit(":", 1)[1])  # fmt: skip
            t_start = time.monotonic()
            if not wait_until(lambda: feeds.stats().get("200", 0) >= args.feeds, 600, 0.5):
                raise SystemExit("the first cycle did not finish")
            print(f"first cycle fetched in {time.monotonic() - t_start:.0f} s")
            gaps = sorted(rng.uniform(0, args.duration) for _ in range(args.items))
            t0 = time.monotonic()
            next_sample = t0
            for n, at in enumerate(gaps):
                while time.monotonic() - t0 < at:
                    if time.monotonic() >= next_sample:
                        values, status = scrape(port)
                        samples.append((time.monotonic() - t0, values, status))
                        next_sample += 5
                    time.sleep(0.05)
                marker, entry = item(10_000 + n, feeds.base)
                feeds.add(rng.randrange(args.feeds), entry)
                added[marker] = time.monotonic()
                if proc.poll() is not None:
                    raise SystemExit(f"the daemon exited with {proc.returncode}")
            deadline = time.monotonic() + args.grace
            while time.monotonic() < deadline and len(alerted) < len(added):
                for marker in added.keys() - alerted.keys():
                    if holds(slack, marker, 0):
                        alerted[marker] = time.monotonic()
                if time.monotonic() >= next_sample:
                    values, status = scrape(port)
                    samples.append((time.monotonic() - t0, values, status))
                    next_sample += 5
                time.sleep(0.2)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    latencies = [alerted[m] - added[m] for m in alerted]
    print(f"relevant items alerted: {len(alerted)} of {len(added)}")
    if latencies:
        print(f"latency, item added -> Slack: median {median(latencies):.1f} s, "
              f"p95 {percentile(latencies, 95):.1f} s, max {max(latencies):.1f} s")  # fmt: skip
    ages = [v.get("monitor_backlog_age_seconds", 0.0) for _, v, _ in samples]
    sizes = [v.get("monitor_backlog_items", 0.0) for _, v, _ in samples]
    unhealthy = sum(1 for _, _, s in samples if s != 200)
    if samples:
        print(
            f"backlog: at most {max(sizes):.0f} items, oldest waiting at most "
            f"{max(ages):.0f} s (median {median(ages):.0f} s) over {len(samples)} samples"
        )
        print(f"/healthz: {len(samples) - unhealthy} x 200, {unhealthy} x not 200")
    print(json.dumps({"alerted": len(alerted), "added": len(added),
                      "max_backlog_age": max(ages, default=0.0)}))  # fmt: skip


if __name__ == "__main__":
    main()
