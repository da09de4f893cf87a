"""Polling side by side with `reader` (lemon24/reader): N local feeds, a cold cycle and
all-304 cycles, wall time and process CPU (every thread), and monitor's speed-up.

Both pollers fetch the same feeds from one lean local server (bench/_feedserver.py, a
separate process: its CPU is not counted) and store into a fresh temporary SQLite file:

  monitor  Runtime + Pipeline.poll for every feed at once (asyncio.gather), as
           Runtime.cycle does before classification; classification is not run.
           fetch.concurrency = fetch.per_host = --concurrency (all feeds share one host).
  reader   make_reader(tmp db), add_feed() for each, update_feeds(workers=--concurrency,
           scheduled=False); reader sends its stored ETag, so the warm cycles are 304s.

Each poller runs in a fresh subprocess; a run is monitor then reader (reader first in
odd runs), so each run gives a ratio measured under the same machine load. The script
stops starting runs when the next one would not fit in --budget seconds.

    python bench/bench_polling.py                    # 2000 feeds x 20 entries
    python bench/bench_polling.py --feeds 500 --runs 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LeanFeedServer, machine, median, run_poller, spread

GOAL_COLD = 2.0  # monitor at least this many times faster than reader, cold
GOAL_WARM = 5.0  # ... and on an all-304 cycle
GOAL_WARM_SECONDS = 2.0  # a 2000-feed all-304 cycle on 2 cores


def one_run(server: LeanFeedServer, args: argparse.Namespace, order: list[str]) -> dict[str, Any]:
    urls = server.urls()
    out: dict[str, Any] = {}
    for which in order:
        server.reset()
        cpu0 = server.cpu()
        result = run_poller(which, urls, args.concurrency, args.warm)
        result["server_cpu"] = server.cpu() - cpu0
        result["served"] = server.stats()
        expected_304 = args.feeds * args.warm
        if result["served"]["200"] != args.feeds or result["served"]["304"] != expected_304:
            print(f"  warning: {which}: server answered {result['served']} "
                  f"(expected {args.feeds} x 200 and {expected_304} x 304)")  # fmt: skip
        for phase in ("cold", "warm1"):
            if result[phase]["errors"]:
                print(f"  warning: {which} {phase}: {result[phase]['errors']} feed error(s), "
                      f"e.g. {result[phase]['first_error']}")  # fmt: skip
        out[which] = result
    return out


def warm_values(result: dict[str, Any], key: str) -> list[float]:
    return [v[key] for k, v in result.items() if k.startswith("warm") and isinstance(v, dict)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--entries", type=int, default=20, help="entries per feed")
    p.add_argument("--concurrency", type=int, default=32,
                   help="monitor's fetch.concurrency and reader's workers")  # fmt: skip
    p.add_argument("--runs", type=int, default=3, help="at most this many runs")
    p.add_argument("--warm", type=int, default=3, help="all-304 cycles per run and poller")
    p.add_argument("--budget", type=float, default=270.0,
                   help="start no run that would end after this many seconds")  # fmt: skip
    p.add_argument("--profile", action="store_true",
                   help="print monitor's CPU per stage: parse, store, HTTP")  # fmt: skip
    args = p.parse_args()
    if args.profile:
        os.environ["MONITOR_BENCH_PROFILE"] = "1"  # read by the monitor poller subprocess
    sniffio = importlib.util.find_spec("sniffio") is not None
    print(f"machine: {machine()}")
    print(f"feeds: {args.feeds} x {args.entries} entries, concurrency/workers "
          f"{args.concurrency}, up to {args.runs} run(s), {args.warm} all-304 cycles each; "
          f"sniffio installed: {'yes' if sniffio else 'no'}")  # fmt: skip
    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    with LeanFeedServer(args.feeds, args.entries) as server:
        print(f"feed server: pid {server.pid}, {server.base}")
        while len(runs) < args.runs:
            t0 = time.monotonic()
            order = ["monitor", "reader"] if len(runs) % 2 == 0 else ["reader", "monitor"]
            run = one_run(server, args, order)
            runs.append(run)
            m, r = run["monitor"], run["reader"]
            print(
                f"run {len(runs)}: cold wall monitor {m['cold']['wall']:.2f} s, reader "
                f"{r['cold']['wall']:.2f} s; all-304 wall (median) monitor "
                f"{median(warm_values(m, 'wall')):.2f} s, reader "
                f"{median(warm_values(r, 'wall')):.2f} s; server CPU {m['server_cpu']:.1f} s "
                f"/ {r['server_cpu']:.1f} s  [{time.monotonic() - t0:.0f} s]",
                flush=True,
            )
            spent = time.monotonic() - started
            if spent + (time.monotonic() - t0) > args.budget:
                break
    report(runs, args, time.monotonic() - started)


def report(runs: list[dict[str, Any]], args: argparse.Namespace, elapsed: float) -> None:
    n = args.feeds
    print(f"\n{len(runs)} run(s) in {elapsed:.0f} s; medians over runs (min-max); "
          "speed-up = reader time / monitor time, per run, then the median")  # fmt: skip
    print(f"{'':24}{'monitor':>22}{'reader':>22}{'speed-up':>22}")
    rows = [("cold", "wall"), ("cold", "cpu"), ("all-304", "wall"), ("all-304", "cpu")]
    speedups: dict[tuple[str, str], list[float]] = {}
    for phase, key in rows:
        if phase == "cold":
            mon = [r["monitor"]["cold"][key] for r in runs]
            rdr = [r["reader"]["cold"][key] for r in runs]
        else:
            mon = [median(warm_values(r["monitor"], key)) for r in runs]
            rdr = [median(warm_values(r["reader"], key)) for r in runs]
        ratio = [b / a for a, b in zip(mon, rdr, strict=True)]
        speedups[(phase, key)] = ratio
        label = f"{phase} {key} s"
        print(f"{label:24}{spread(mon):>22}{spread(rdr):>22}{spread(ratio):>22}")
        per_feed = "  per feed, ms"
        print(f"{per_feed:24}{median(mon) * 1000 / n:>22.2f}{median(rdr) * 1000 / n:>22.2f}")
    memory = [r["monitor"]["maxrss_mib"] for r in runs], [r["reader"]["maxrss_mib"] for r in runs]
    print(f"{'peak RSS MiB':24}{spread(memory[0], '{:.0f}'):>22}{spread(memory[1], '{:.0f}'):>22}")
    if args.profile:
        print_profile(runs)
    items = runs[-1]["monitor"]["items"], runs[-1]["reader"]["items"]
    print(f"{'items stored':24}{items[0]:>22}{items[1]:>22}")
    cold = median(speedups[("cold", "wall")])
    warm = median(speedups[("all-304", "wall")])
    warm_s = median([median(warm_values(r["monitor"], "wall")) for r in runs])
    print("\ngoals:")
    print(_goal(f"cold cycle: monitor >= {GOAL_COLD:g}x faster than reader", cold, GOAL_COLD))
    print(_goal(f"all-304 cycle: monitor >= {GOAL_WARM:g}x faster than reader", warm, GOAL_WARM))
    if n == 2000:
        verdict = "met" if warm_s < GOAL_WARM_SECONDS else "MISSED"
        print(f"  all-304 cycle of 2000 feeds under {GOAL_WARM_SECONDS:g} s: {warm_s:.2f} s "
              f"-> {verdict}")  # fmt: skip
    else:
        print(f"  all-304 cycle of 2000 feeds under {GOAL_WARM_SECONDS:g} s: not measured "
              f"({n} feeds: {warm_s:.2f} s)")  # fmt: skip


def print_profile(runs: list[dict[str, Any]]) -> None:
    """monitor's CPU per stage, medians over runs, as a share of the cycle's CPU."""
    print("\nmonitor CPU by stage (thread CPU; medians over runs)")
    for phase in ("cold", "warm1"):
        per_stage: dict[str, list[float]] = {}
        for run in runs:
            for stage, spent in run["monitor"][phase].get("stages", {}).items():
                per_stage.setdefault(stage, []).append(spent)
        total = sum(median(v) for v in per_stage.values()) or 1.0
        label = "cold" if phase == "cold" else "all-304"
        for stage, values in per_stage.items():
            share = median(values) / total * 100
            print(f"  {label:8} {stage:28} {median(values):7.2f} s  {share:4.0f} %")


def _goal(text: str, value: float, goal: float) -> str:
    if value >= goal:
        return f"  {text}: {value:.2f}x -> met"
    return f"  {text}: {value:.2f}x -> MISSED (needs {goal / value:.1f}x more speed)"


if __name__ == "__main__":
    main()
