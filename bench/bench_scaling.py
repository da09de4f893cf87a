"""How monitor's polling cost grows with the number of feeds: 100, 500, 2000, 5000.

For each size, a fresh process and a fresh SQLite store poll that many local feeds
(bench/_feedserver.py, a separate process) through Runtime + Pipeline.poll, as in
bench/bench_polling.py: one cold cycle, then --warm cycles where every feed answers 304.
Prints wall time, process CPU and the cost per feed; a flat per-feed cost means linear
growth. `--reader` measures reader on the same feeds too.

    python bench/bench_scaling.py                       # 5 entries per feed
    python bench/bench_scaling.py --sizes 100,500,2000 --entries 20 --reader

The default of 5 entries per feed keeps the four sizes (7600 cold polls, 7600 new-entry
stores per entry) within five minutes on 2 cores; bench_polling.py uses 20.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LeanFeedServer, machine, median, run_poller


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="100,500,2000,5000")
    p.add_argument("--entries", type=int, default=5, help="entries per feed")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--warm", type=int, default=1, help="all-304 cycles per size (median)")
    p.add_argument("--reader", action="store_true", help="also measure reader")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pollers = ["monitor", "reader"] if args.reader else ["monitor"]
    print(f"machine: {machine()}")
    print(f"sizes {sizes}, {args.entries} entries per feed, concurrency {args.concurrency}, "
          f"{args.warm} all-304 cycles per size")  # fmt: skip
    header = (f"{'poller':8}{'feeds':>7}{'cold wall s':>13}{'cold cpu s':>12}"
              f"{'ms/feed':>9}{'304 wall s':>12}{'304 cpu s':>11}{'ms/feed':>9}"
              f"{'peak MiB':>10}")  # fmt: skip
    print(header)
    started = time.monotonic()
    rows: list[tuple[str, int, dict[str, Any]]] = []
    with LeanFeedServer(max(sizes), args.entries) as server:
        for n in sizes:
            for which in pollers:
                result = run_poller(which, server.urls(n), args.concurrency, args.warm)
                rows.append((which, n, result))
                cold = result["cold"]
                warm = [v for k, v in result.items() if k.startswith("warm")]
                warm_wall = median([w["wall"] for w in warm])
                warm_cpu = median([w["cpu"] for w in warm])
                errors = cold["errors"] + sum(w["errors"] for w in warm)
                print(
                    f"{which:8}{n:>7}{cold['wall']:>13.2f}{cold['cpu']:>12.2f}"
                    f"{cold['wall'] * 1000 / n:>9.2f}{warm_wall:>12.2f}{warm_cpu:>11.2f}"
                    f"{warm_wall * 1000 / n:>9.2f}{result['maxrss_mib']:>10.0f}"
                    + (f"  ({errors} feed errors)" if errors else ""),
                    flush=True,
                )
    print(f"({time.monotonic() - started:.0f} s in all; ms/feed = wall time / feeds)")
    for which in pollers:
        mine = [(n, r) for w, n, r in rows if w == which]
        if len(mine) >= 2:
            (n0, r0), (n1, r1) = mine[0], mine[-1]
            cold = (r1["cold"]["wall"] / n1) / (r0["cold"]["wall"] / n0)
            warm = (r1["warm1"]["wall"] / n1) / (r0["warm1"]["wall"] / n0)
            print(f"{which}: per-feed cost at {n1} feeds / at {n0} feeds: cold {cold:.2f}x, "
                  f"all-304 {warm:.2f}x (1.00x = linear)")  # fmt: skip


if __name__ == "__main__":
    main()
