"""Throughput of the built-in classifier: articles per second on one core, peak memory.

Builds ~3 KB articles in several languages from the dev corpus texts (each text
repeated and joined with others until it reaches the size), classifies the whole set
for a fixed number of rounds, and prints the median rate over the runs. The compiled
regexes are built before timing starts, as in the daemon.

    python bench/bench_classify.py [--runs 5] [--articles 300]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.models import Item  # noqa: E402
from plugins.rudprk import classify  # noqa: E402
from plugins.rudprk.lexicon import knowledge  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "dev_corpus.jsonl"
FALLBACK = [
    ("en", "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang for talks with "
           "Choe Son Hui. The ministers discussed military and economic cooperation. "),
    ("fr", "Le ministre russe de la Défense a rencontré Kim Jong-un à Pyongyang. "),
    ("ru", "Делегация Госдумы прибыла в Пхеньян для переговоров о сотрудничестве. "),
    ("ko", "김정은 국무위원장이 러시아 대표단을 평양에서 접견했다. "),
    ("ja", "ラブロフ外相が平壌を訪問し、崔善姫外相と会談した。"),
    ("zh", "俄罗斯外长拉夫罗夫抵达平壤，与朝鲜外相举行会谈。"),
]


def build_articles(n: int, size: int = 3000) -> list[Item]:
    """`n` articles of about `size` characters, cycling through languages."""
    texts: list[tuple[str, str]] = []
    if CORPUS.exists():
        for line in CORPUS.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                texts.append((obj.get("lang") or "?", obj["text"]))
    texts = texts or FALLBACK
    items = []
    for i in range(n):
        _lang, text = texts[i % len(texts)]
        parts = [text]
        j = i
        while sum(len(p) for p in parts) < size:
            j += 7
            parts.append(texts[j % len(texts)][1])
        body = "\n\n".join(parts)[:size]
        items.append(Item(id=f"bench-{i}", title=text[:80], text=body, language=None))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the set per run")
    args = parser.parse_args()
    t0 = time.perf_counter()
    knowledge()
    build_s = time.perf_counter() - t0
    items = build_articles(args.articles)
    mean_len = statistics.mean(len(i.full_text) for i in items)
    rates = []
    for _ in range(args.runs):
        start = time.process_time()
        for _ in range(args.rounds):
            for it in items:
                classify(it)
        elapsed = time.process_time() - start
        rates.append(len(items) * args.rounds / elapsed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"articles: {len(items)} x {args.rounds} rounds, mean {mean_len:.0f} chars")
    print(f"knowledge build: {build_s * 1000:.0f} ms (once per process)")
    print(f"throughput: median {statistics.median(rates):.0f} articles/s over {args.runs} runs "
          f"(min {min(rates):.0f}, max {max(rates):.0f}), one core, CPU time")
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
