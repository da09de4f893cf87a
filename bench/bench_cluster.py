"""Cluster throughput: polls per second and CPU per poll for 1, 2 and 3 nodes.

A real PostgreSQL server (the machine's binaries, as the tests start it), the lean
feed server (bench/_feedserver.py, its own process: not counted), and N `monitor run
--cluster` processes on one database. The feeds are due faster than the nodes can poll
them (interval 1 s), so the figure is the cluster's capacity on this machine; most
polls are 304s (ETags), as they are in life. Each node runs `--concurrency` jobs at a
time. After a warm-up, polls are counted from the store's poll records over
`--seconds`, and CPU is read from /proc: the nodes (with their parser processes) and
every PostgreSQL backend.

    python bench/bench_cluster.py                   # 1, 2, 3 nodes, 400 feeds
    python bench/bench_cluster.py --nodes 1 3 --feeds 1000 --seconds 30

The 100k-feeds estimate: 100,000 feeds every 10 minutes is 167 polls/s; nodes needed
= 167 / (polls/s of one node), rounded up, plus one spare to take over a dead one.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LeanFeedServer, machine
from sqlalchemy import create_engine, text

from monitor.testing.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
TARGET = 100_000 / 600  # polls/s: 100k feeds every 10 minutes


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return found


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def postmaster(server: PostgresServer) -> int:
    return int((server.data / "postmaster.pid").read_text().split()[0])


def write_config(tmp: Path, db: str, feeds: LeanFeedServer, count: int, conc: int) -> Path:
    tables = "".join(
        f'[[feeds]]\nname = "f{i}"\nurl = "{feeds.url(i)}"\ninterval = 1\njitter = 0\n'
        "fulltext = false\n"
        for i in range(count)
    )
    config = tmp / "bench-cluster.toml"
    config.write_text(
        f"""
languages = ["en"]
[store]
url = "{db}"
[daemon]
http = ""
drain_timeout = 5
log_level = "WARNING"
[cluster]
tick = 1
heartbeat = 5
stall_timeout = 30
concurrency = {conc}
[fetch]
concurrency = {conc}
per_host = {conc}
[plugins]
disabled = ["rudprk", "fulltext", "language"]
[notifiers.console]
kind = "console"
{tables}""",
        encoding="utf-8",
    )
    return config


def measure(
    server: PostgresServer, feeds: LeanFeedServer, nodes: int, args: argparse.Namespace
) -> dict[str, float]:
    db = server.new_database()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    config = write_config(tmp, db, feeds, args.feeds, args.concurrency)
    engine = create_engine(db)
    procs = []
    for n in range(nodes):
        with (tmp / f"node{n}.log").open("w") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "monitor", "run", "-c", str(config), "--cluster"],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )

    def polls() -> int:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('polls')")).scalar() is None:
                return 0  # the first node is still migrating
            return int(conn.execute(text("SELECT count(*) FROM polls")).scalar_one())

    try:
        deadline = time.monotonic() + 60
        while polls() < args.feeds:  # every feed polled once: warm, ETags stored
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"nodes did not start; see {tmp}")
            time.sleep(0.5)
        time.sleep(args.warmup)
        pg = postmaster(server)
        cpu0 = [tree_cpu(p.pid) for p in procs]
        pg0 = tree_cpu(pg)
        n0, t0 = polls(), time.monotonic()
        time.sleep(args.seconds)
        n1, t1 = polls(), time.monotonic()
        cpu1 = [tree_cpu(p.pid) for p in procs]
        pg1 = tree_cpu(pg)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
    done = n1 - n0
    elapsed = t1 - t0
    node_cpu = sum(b - a for a, b in zip(cpu0, cpu1, strict=True))
    return {
        "nodes": nodes,
        "polls_per_s": done / elapsed,
        "cpu_ms_per_poll": 1000 * node_cpu / max(1, done),
        "pg_ms_per_poll": 1000 * (pg1 - pg0) / max(1, done),
        "cpu_share": (node_cpu + pg1 - pg0) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{args.feeds} feeds due every second, {args.concurrency} jobs per node, "
          f"{args.seconds:g} s measured after {args.warmup:g} s warm-up")  # fmt: skip
    print(f"{'nodes':>5} {'polls/s':>8} {'CPU ms/poll':>12} {'PG ms/poll':>11} {'cores busy':>11}")
    results = []
    with PostgresServer() as server, LeanFeedServer(args.feeds, entries=20) as feeds:
        for n in args.nodes:
            r = measure(server, feeds, n, args)
            results.append(r)
            print(f"{n:>5} {r['polls_per_s']:>8.1f} {r['cpu_ms_per_poll']:>12.2f} "
                  f"{r['pg_ms_per_poll']:>11.2f} {r['cpu_share']:>11.2f}")  # fmt: skip
    one = results[0]
    per_node = one["polls_per_s"] / one["nodes"]
    cost = (one["cpu_ms_per_poll"] + one["pg_ms_per_poll"]) / 1000
    need = math.ceil(TARGET / per_node)
    print(
        f"100k feeds every 10 min = {TARGET:.0f} polls/s: at {per_node:.0f} polls/s per node "
        f"(this machine), {need} node(s) + 1 spare; CPU {cost * 1000:.1f} ms per poll "
        f"(node + PostgreSQL) = {TARGET * cost:.1f} cores in all"
    )


if __name__ == "__main__":
    main()
