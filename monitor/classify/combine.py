"""Several classifiers' results for one item combined into one Classification
(`[classifier] combine`: max, mean or weighted_mean; `required` plugins must agree)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from monitor.config import ClassifierConfig
from monitor.models import Classification
from monitor.taxonomy import CONTACT_TYPES

log = logging.getLogger("monitor.plugins")


def combine(results: list[Classification], settings: ClassifierConfig) -> Classification | None:
    """One Classification from several classifiers' results.

    - per-type scores and the overall score merge by `settings.combine`: "max", "mean",
      or "weighted_mean" with `settings.weights` (plugin name -> weight, default 1.0);
      a classifier that abstained (returned None) takes no part;
    - relevant: the merged score reaches `relevance_threshold` and every plugin named in
      `required` answered and found the item relevant;
    - primary: the strongest result's primary if it is still reported, else the
      highest merged type at or above `type_threshold`;
    - actors, organisations, places, evidence and explanation: the union, in order;
    - event_date, direction, status, language: from the strongest result that gives one.
    """
    if not results:
        return None
    if len(results) == 1 and not settings.required:
        only = results[0]
        relevant = only.relevant and only.score >= settings.relevance_threshold
        return dataclasses.replace(only, relevant=relevant)
    weights = [max(0.0, settings.weights.get(r.plugin, 1.0)) for r in results]

    def merge(values: list[float]) -> float:
        if settings.combine == "max":
            return max(values)
        if settings.combine == "mean":
            return sum(values) / len(values)
        total = sum(weights)
        if not total:
            return 0.0
        return sum(v * w for v, w in zip(values, weights, strict=True)) / total

    types = {t: merge([r.types.get(t, 0.0) for r in results]) for t in CONTACT_TYPES}
    score = merge([r.score for r in results])
    by_plugin = {r.plugin: r for r in results}
    required_ok = all(
        by_plugin.get(p) is not None and by_plugin[p].relevant for p in settings.required
    )
    relevant = required_ok and score >= settings.relevance_threshold
    ranked = sorted(results, key=lambda r: r.score, reverse=True)
    best = ranked[0]
    reported = {t: s for t, s in types.items() if s >= settings.type_threshold}
    primary = (
        best.primary
        if best.primary in reported
        else (max(reported, key=lambda k: reported[k]) if reported else None)
    )

    def first(attribute: str) -> Any:
        return next((v for r in ranked if (v := getattr(r, attribute)) is not None), None)

    return dataclasses.replace(
        best,
        relevant=relevant,
        score=score,
        types=types,
        primary=primary,
        actors=tuple(dict.fromkeys(a for r in results for a in r.actors)),
        places=tuple(dict.fromkeys(p for r in results for p in r.places)),
        organisations=tuple(dict.fromkeys(o for r in results for o in r.organisations)),
        event_date=first("event_date"),
        direction=first("direction"),
        status=first("status"),
        language=first("language"),
        evidence=tuple(e for r in results for e in r.evidence),
        explanation=tuple(line for r in results for line in r.explanation),
        plugin="+".join(r.plugin for r in results),
        plugin_version="",
    )
