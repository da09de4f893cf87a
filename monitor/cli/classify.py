"""`monitor classify`: classify articles without a daemon; one JSON object per item.

Input: `.txt` files (one article each; the id is the file name without extension),
`.jsonl` files or `-` (stdin) with {"id", "title", "text", "url", "lang", "published"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from monitor.cli.common import add_optional_config_option, fail, started_host
from monitor.errors import MonitorError
from monitor.models import Classification, Item


class InputError(MonitorError):
    """An input file or line cannot be read."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "classify",
        help="classify articles from files or stdin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="*",
        default=["-"],
        metavar="PATH",
        help=".txt or .jsonl files, or - for JSONL on stdin (default: -)",
    )
    add_optional_config_option(p)
    p.add_argument(
        "--explain",
        action="store_true",
        help="also print, on stderr, the actors, cues and sentences behind each score",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config, host = started_host(args.config)
    threshold = config.classifier.type_threshold
    try:
        for item in read_items(args.paths):
            enriched = host.enrich(item)
            result = host.classify(enriched)
            if result is None:  # no classifier answered: nothing found
                result = Classification(relevant=False, score=0.0, language=enriched.language)
            doc = result.to_contract(item.id, threshold)
            print(json.dumps(doc, ensure_ascii=False), flush=True)
            if args.explain:
                explain(item.id, result)
    except InputError as exc:
        fail(str(exc))
        return 2
    finally:
        host.shutdown()
    return 0


def explain(item_id: str, result: object) -> None:
    lines = getattr(result, "explanation", ()) or ("no classifier explained its result",)
    print(f"# {item_id}", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)


def read_items(paths: list[str]) -> Iterator[Item]:
    for path in paths:
        if path == "-":
            yield from _jsonl(sys.stdin, "<stdin>")
            continue
        file = Path(path)
        try:
            if file.suffix == ".jsonl":
                with file.open(encoding="utf-8") as fh:
                    yield from _jsonl(fh, path)
            else:
                yield Item(id=file.stem, text=file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from exc


def _jsonl(lines: Iterable[str], where: str) -> Iterator[Item]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}:{n}: invalid JSON: {exc.msg}") from exc
        if not isinstance(doc, dict) or "id" not in doc or "text" not in doc:
            raise InputError(f'{where}:{n}: expected an object with at least "id" and "text"')
        yield item_from_json(doc, f"{where}:{n}")


def item_from_json(doc: dict, where: str) -> Item:  # type: ignore[type-arg]
    """An Item from the classify/eval JSONL shape."""
    published = None
    if doc.get("published"):
        try:
            published = datetime.fromisoformat(str(doc["published"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                f"{where}: published: expected an ISO 8601 date, got {doc['published']!r}"
            ) from exc
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    return Item(
        id=str(doc["id"]),
        title=str(doc.get("title") or ""),
        text=str(doc["text"]),
        url=doc.get("url"),
        language=doc.get("lang") or None,
        published=published,
    )
