"""Throughput of the built-in classifier: articles per second on one core, peak memory.

Two sets of ~3 KB articles in several languages: *all relevant-looking* (dev corpus
texts, each joined with others until it reaches the size: every article names Russia
and North Korea) and a *mixed feed* in which three articles out of four are ordinary
news about other subjects, as in real feeds. Each set is classified for a fixed number
of rounds and the median rate over the runs is printed, in two conditions:

- *daemon*: every item has its publication date and language (the feed and the
  language enricher set them), as in `monitor run`;
- *classify*: neither is set, as in `monitor classify FILE`: the classifier identifies
  the language itself (script, then lingua) and looks for a date line.

Every language pack is compiled (and lingua built) before timing starts, as in a
long-running daemon; resident memory (VmRSS) is printed after the runs.

    python bench/bench_classify.py [--runs 3] [--articles 300] [--irrelevant 0.75]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.models import Item  # noqa: E402
from monitor.plugins.rudprk import classify, langid  # noqa: E402
from monitor.plugins.rudprk.lexicon import knowledge, shared_data  # noqa: E402
from monitor.plugins.rudprk.prefilter import prefilter  # noqa: E402

DATA = ROOT / "tests" / "data"
#: Every dev corpus file (never the blind set, which lives in a folder of its own).
CORPORA = sorted(DATA.glob("dev_corpus*.jsonl"))
PUBLISHED = datetime(2024, 6, 20, 9, 0)
OTHER_LANGS = ["en", "en", "fr", "de", "es", "it", "ru", "ko", "ja", "zh"]
FALLBACK = [
    (
        "en",
        "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang for talks with "
        "Choe Son Hui. The ministers discussed military and economic cooperation. ",
    ),
    ("fr", "Le ministre russe de la Défense a rencontré Kim Jong-un à Pyongyang. "),
    ("ru", "Делегация Госдумы прибыла в Пхеньян для переговоров о сотрудничестве. "),
    ("ko", "김정은 국무위원장이 러시아 대표단을 평양에서 접견했다. "),
    ("ja", "ラブロフ外相が平壌を訪問し、崔善姫外相と会談した。"),
    ("zh", "俄罗斯外长拉夫罗夫抵达平壤，与朝鲜外相举行会谈。"),
]


#: Ordinary news with no Russia–DPRK content, a few languages (the common case of a feed).
OTHER_NEWS = [
    "The city council approved a new budget on Tuesday that raises spending on schools and "
    "public transport. The mayor said the plan would add three bus lines and repair roads "
    "in the northern districts. Opposition members criticised the tax increase. ",
    "Heavy rain caused flooding in several coastal towns over the weekend, and the weather "
    "service warned of more storms later this week. Farmers reported damage to crops. ",
    "Le gouvernement a présenté mercredi un projet de loi sur les retraites. Les syndicats "
    "appellent à une journée de grève et le débat au Parlement doit commencer en mars. ",
    "Der Bundestag hat am Donnerstag über die Reform des Gesundheitswesens beraten. Die "
    "Krankenkassen warnen vor steigenden Beiträgen, die Länder fordern mehr Geld. ",
    "El banco central mantuvo los tipos de interés sin cambios y prevé que la inflación "
    "se modere en la segunda mitad del año, según el comunicado publicado el jueves. ",
    "La squadra ha vinto la finale di coppa ai rigori davanti a quarantamila spettatori. "
    "L'allenatore ha dedicato la vittoria ai tifosi e al presidente del club. ",
    "Центральный банк сохранил ключевую ставку, сообщила пресс-служба регулятора. "
    "Аналитики ожидают замедления инфляции во втором полугодии. ",
    "서울시는 내년부터 시내버스 노선을 개편한다고 밝혔다. 시민 의견을 반영해 출퇴근 시간 배차 "
    "간격을 줄일 계획이다. ",
    "政府は来年度予算案を閣議決定した。社会保障費が過去最大となり、財政再建が課題となる。",
    "国家统计局发布数据显示，一季度国内生产总值同比增长，消费市场继续恢复。",
]


def build_other(n: int, size: int = 3000) -> list[Item]:
    """`n` ordinary articles of about `size` characters that name neither side."""
    items = []
    for i in range(n):
        parts = []
        j = i
        while sum(len(p) for p in parts) < size:
            parts.append(OTHER_NEWS[j % len(OTHER_NEWS)])
            j += 3
        body = "\n\n".join(parts)[:size]
        lang = OTHER_LANGS[i % len(OTHER_NEWS)]
        items.append(Item(id=f"other-{i}", title=body[:80], text=body, language=lang))
    return items


def build_articles(n: int, size: int = 3000) -> list[Item]:
    """`n` articles of about `size` characters, cycling through languages."""
    texts: list[tuple[str, str]] = []
    for corpus in CORPORA:
        for line in corpus.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                texts.append((obj.get("lang") or "en", obj["text"]))
    texts = texts or FALLBACK
    items = []
    for i in range(n):
        lang, text = texts[i % len(texts)]
        parts = [text]
        j = i
        while sum(len(p) for p in parts) < size:
            j += 7
            if texts[j % len(texts)][0] == lang:  # same language, as on one page
                parts.append(texts[j % len(texts)][1])
            if j > i + 7 * len(texts):
                parts.append(text)
        body = "\n\n".join(parts)[:size]
        items.append(Item(id=f"bench-{i}", title=text[:80], text=body, language=lang))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the set per run")
    parser.add_argument(
        "--irrelevant",
        type=float,
        default=0.75,
        help="share of ordinary (irrelevant) articles in the mixed feed",
    )
    args = parser.parse_args()
    rss0 = vmrss_mb()
    t0 = time.perf_counter()
    sh = shared_data()
    for code in sh.packs:
        knowledge(code)
    prefilter(sh)
    build_s = time.perf_counter() - t0
    for sample in ("The minister said on Tuesday", "Министр заявил во вторник"):
        langid.identify(sample)  # build the lingua detectors
    relevant = build_articles(args.articles)
    n_other = round(args.articles * args.irrelevant)
    others = build_other(n_other)
    mixed = []
    for i in range(args.articles):  # interleaved evenly, as items arrive from feeds
        take_other = int((i + 1) * args.irrelevant) > int(i * args.irrelevant)
        pool = others if take_other and others else relevant
        mixed.append(pool[i % len(pool)])
    print(
        f"knowledge build: {len(sh.packs)} language packs, {build_s * 1000:.0f} ms "
        f"(once per process); VmRSS {rss0:.0f} MB before, {vmrss_mb():.0f} MB after"
    )
    runs = []
    for cond in ("daemon", "classify"):
        for name, items in (("all relevant", relevant), ("mixed feed", mixed)):
            runs.append((f"{cond}, {name}", [as_condition(it, cond) for it in items]))
    for name, items in runs:
        mean_len = statistics.mean(len(i.full_text) for i in items)
        share = sum(1 for i in items if i.id.startswith("other-")) / len(items)
        rates = []
        for _ in range(args.runs):
            start = time.process_time()
            for _ in range(args.rounds):
                for it in items:
                    classify(it)
            elapsed = time.process_time() - start
            rates.append(len(items) * args.rounds / elapsed)
        print(
            f"{name}: {len(items)} articles x {args.rounds} rounds, mean {mean_len:.0f} "
            f"chars, {share:.0%} ordinary news"
        )
        print(
            f"  throughput: median {statistics.median(rates):.0f} articles/s over "
            f"{args.runs} runs (min {min(rates):.0f}, max {max(rates):.0f}), one core, "
            "CPU time"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"resident memory: VmRSS {vmrss_mb():.0f} MB now, peak {peak_mb:.0f} MB")


def as_condition(item: Item, cond: str) -> Item:
    """The item as the daemon sees it (date and language set) or as `monitor classify`."""
    if cond == "daemon":
        return dataclasses.replace(item, published=PUBLISHED)
    return dataclasses.replace(item, published=None, language=None)


def vmrss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
