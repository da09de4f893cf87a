"""Alert latency: from an item appearing in a feed to Slack receiving its alert.

`monitor run` (a subprocess, all plugins) polls one local feed every second (--interval)
and posts alerts to a local Slack look-alike (monitor.testing.slackserver, bot-token mode
through its `api_url` option), with `[delivery] interval = 0.2s`. Items are added to the
feed one at a time, each a distinct contact (its own actor, date and URL, so none is
grouped into an earlier story), at a random moment within the poll period. The latency
of one item: from just before it is added to the moment the Slack server holds the
message that names it (watched every 5 ms).

    python bench/bench_latency.py [--items 100] [--interval 1]

Goal: p95 <= interval + 1 s.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, LeanFeedServer, machine, median, percentile, write_monitor_toml

from monitor.testing.slackserver import SlackServer

ACTORS = (
    "Sergei Shoigu", "Andrei Belousov", "Sergei Lavrov", "Alexander Kozlov",
    "Valentina Matviyenko", "Vyacheslav Volodin", "Denis Manturov", "Alexander Bortnikov",
    "Sergei Naryshkin", "Dmitry Medvedev", "Mikhail Mishustin", "Vladimir Kolokoltsev",
)  # fmt: skip
ROLES = (
    "Russian Defence Minister {actor} met Kim Jong Un in Pyongyang on {day}",
    "Russian official {actor} held talks with North Korean leader Kim Jong Un in "
    "Pyongyang on {day}",
    "Kim Jong Un received a Russian delegation led by {actor} in Pyongyang on {day}",
)
BODY = (
    "{lead}, discussing military cooperation between Russia and the DPRK, KCNA reported. "
    "The visit ({marker}) followed an agreement on defence ties between Moscow and "
    "Pyongyang."
)


def item(n: int, base: str) -> tuple[str, dict[str, str]]:
    """A relevant, distinct item: its own actor, an event date weeks from the others."""
    day = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=21 * n)
    actor = ACTORS[n % len(ACTORS)]
    lead = ROLES[n % len(ROLES)].format(actor=actor, day=day.strftime("%d %B %Y"))
    marker = f"latency-{n:04d}"
    return marker, {
        "title": lead,
        "link": f"{base}/news/{marker}.html",
        "summary": BODY.format(lead=lead, marker=marker),
        "published": format_datetime(datetime.now(UTC)),
    }


def holds(slack: SlackServer, marker: str, seen: int) -> bool:
    return any(marker in json.dumps(m.payload) for m in slack.messages[seen:])


def wait_until(cond: object, timeout: float, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(step)
    return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--items", type=int, default=100)
    p.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    p.add_argument("--delivery", default="0.2s", help="[delivery] interval")
    p.add_argument("--timeout", type=float, default=20.0, help="per item, seconds")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    print(f"{args.items} items, poll interval {args.interval:g} s, delivery interval "
          f"{args.delivery}")  # fmt: skip
    latencies: list[float] = []
    missed: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp,
        LeanFeedServer(1, entries=20) as feeds,
        SlackServer() as slack,
    ):
        extra = (
            f'[delivery]\ninterval = "{args.delivery}"\n'
            f'[notifiers.slack]\nkind = "slack"\ntoken = "{slack.token}"\n'
            f'channel = "{slack.channel}"\napi_url = "{slack.api_url}"\n'
        )
        config = write_monitor_toml(
            Path(tmp) / "monitor.toml", feeds.urls(), db=Path(tmp) / "monitor.db",
            interval=args.interval, extra=extra,
        )  # fmt: skip
        log = (Path(tmp) / "daemon.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-level", "WARNING"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            # Ready once it has polled twice (the first poll stores and classifies the
            # feed's 20 initial, irrelevant items; the classifier's tables get built).
            if not wait_until(lambda: sum(feeds.stats().values()) >= 3, 120, 0.1):
                raise SystemExit("the daemon never polled the feed")
            time.sleep(2 * args.interval)
            t_start = time.monotonic()
            for n in range(args.items):
                time.sleep(rng.uniform(0, args.interval))  # a random phase of the poll period
                seen = len(slack.messages)
                marker, entry = item(n, feeds.base)
                t0 = time.monotonic()
                feeds.add(0, entry)
                if wait_until(lambda m=marker, s=seen: holds(slack, m, s), args.timeout):
                    latencies.append(time.monotonic() - t0)
                else:
                    missed.append(marker)
                if proc.poll() is not None:
                    raise SystemExit(f"the daemon exited with {proc.returncode}")
            elapsed = time.monotonic() - t_start
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        tail = (Path(tmp) / "daemon.log").read_text()[-1500:]
    print(
        f"{len(latencies)} alerts received in {elapsed:.0f} s; {len(missed)} item(s) got "
        f"no alert within {args.timeout:g} s{': ' + ', '.join(missed[:5]) if missed else ''}"
    )
    if missed and tail:
        print(f"daemon log (tail):\n{tail}")
    if not latencies:
        return
    p95 = percentile(latencies, 95)
    print(
        f"latency, item added -> Slack message: median {median(latencies):.3f} s, "
        f"p95 {p95:.3f} s, min {min(latencies):.3f} s, max {max(latencies):.3f} s"
    )
    goal = args.interval + 1.0
    verdict = "met" if p95 <= goal and not missed else "MISSED"
    print(f"goal: p95 <= interval + 1 s = {goal:g} s -> {verdict}")


if __name__ == "__main__":
    main()
