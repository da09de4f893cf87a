"""Feedback that becomes tests: what analysts said about stored items, as a labelled
JSONL corpus that `monitor eval FILE.jsonl` scores (the format of
`monitor.classify.evaluate.load_corpus`).

The latest word on an item wins: "not relevant" labels it irrelevant with no type;
"wrong type: X" labels it relevant with X as its type and primary; "relevant" labels
it relevant with the types the classifier reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.store.web import ItemRecord

VERDICTS = ("not_relevant", "wrong_type", "relevant")


def corpus_lines(
    rows: Iterable[tuple[dict[str, Any], ItemRecord]], type_threshold: float
) -> list[dict[str, Any]]:
    """One labelled object per item that has feedback, oldest item first."""
    latest: dict[int, tuple[dict[str, Any], ItemRecord]] = {}
    for feedback, record in rows:
        latest[record.id] = (feedback, record)
    out = []
    for item_id in sorted(latest):
        feedback, record = latest[item_id]
        item, c = record.item, record.classification
        verdict = feedback["verdict"]
        if verdict == "not_relevant":
            relevant, types, primary = False, [], None
        elif verdict == "wrong_type":
            relevant, types, primary = True, [feedback["type"]], feedback["type"]
        else:
            relevant = True
            types = list(c.reported_types(type_threshold)) if c else []
            primary = c.primary if c else None
        published = item.published.isoformat() if item.published else None
        out.append(
            {
                "id": item.url or item.id,
                "title": item.title,
                "text": item.text,
                "url": item.url,
                "lang": (c.language if c else None) or item.language,
                "published": published,
                "relevant": relevant,
                "types": types,
                "primary": primary,
                "feedback": verdict,
                "comment": feedback.get("comment") or "",
                "item": record.id,
                "classified_as": {
                    "relevant": c.relevant,
                    "score": round(c.score, 4),
                    "types": list(c.reported_types(type_threshold)),
                }
                if c
                else None,
            }
        )
    return out
