"""`monitor eval`: check the seeds against expected.toml, or score a labelled JSONL corpus.

With a directory (default: seeds/): a table of every check (seed, check, expected, got,
result); exit 1 on any failure. With FILE.jsonl: precision, recall and F1 for relevance,
per type (micro and macro) and per language.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from monitor.cli.common import add_optional_config_option, fail, started_host
from monitor.errors import MonitorError
from monitor.models import Classification, Item


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "eval",
        help="check the seeds, or score a labelled corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        nargs="?",
        default="seeds",
        metavar="DIR|FILE.jsonl",
        help="seed directory with expected.toml, or a labelled .jsonl corpus (default: seeds)",
    )
    add_optional_config_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from monitor.classify import evaluate

    _, host = started_host(args.config)
    empty = Classification(relevant=False, score=0.0)

    def classify(item: Item) -> Classification:
        return host.classify(host.enrich(item)) or empty

    target = Path(args.target)
    try:
        if target.is_dir():
            checks = evaluate.check_seeds(classify, evaluate.load_seed_cases(target))
            if args.json:
                print(
                    json.dumps(
                        [c.__dict__ for c in checks], ensure_ascii=False, indent=2, default=str
                    )
                )
            else:
                print(evaluate.render_checks_table(checks))
            return 0 if all(c.passed for c in checks) else 1
        report = evaluate.score_corpus(classify, evaluate.load_corpus(target))
    except (OSError, MonitorError, ValueError) as exc:
        fail(f"{target}: {exc}")
        return 2
    finally:
        host.shutdown()
    print(json.dumps(report.to_json(), indent=2) if args.json else evaluate.render_report(report))
    return 0
