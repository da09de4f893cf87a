"""Inhibition rules: Alertmanager's inhibition for news stories. Once a story has an
alert of a source type on a route (a summit), later alerts on that story and route
whose types are all target types (its delegations, its visits) add nothing: they are
recorded as "inhibited" with no delivery, and pages show which rule and which alert
muted them.

An alert's types are its report's contact types (reported, plus the primary); for an
update, the types the story gains. An alert of a source type is never a target: a
summit report that also mentions a delegation is the summit alert. One decision owes
each route one alert, so the alert that inhibits is always an earlier one; inhibited
alerts never inhibit. Unlike a silence, a rule is configuration, so `monitor replay`
applies it too.

Pure: the story's alerts come from the store (`StoryContext.reports`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitor.config import InhibitConfig
from monitor.models import Classification

if TYPE_CHECKING:  # the store imports this module
    from monitor.store.base import AlertedReport, NewAlert

INHIBITED = "inhibited"


def alert_types(alert: NewAlert, c: Classification, type_threshold: float) -> frozenset[str]:
    """What an alert is about: the types an update gains, else the report's types."""
    if alert.kind == "update" and alert.meta.get("gained_types"):
        return frozenset(alert.meta["gained_types"])
    types = set(c.reported_types(type_threshold))
    if c.primary:
        types.add(c.primary)
    return frozenset(types)


def source_alert(
    rule: InhibitConfig, route: str, reports: Sequence[AlertedReport]
) -> AlertedReport | None:
    """The story's first alert on `route` that is of one of the rule's source types."""
    sources = set(rule.source_types)
    return next((r for r in reports if r.route == route and r.types & sources), None)


def inhibitor(
    rules: Sequence[InhibitConfig],
    route: str,
    types: frozenset[str],
    reports: Sequence[AlertedReport],
) -> tuple[int, AlertedReport] | None:
    """(rule index, source alert) of the first rule that mutes an alert of `types` on
    `route`, given the story's alerts; None when none does."""
    for index, rule in enumerate(rules):
        if rule.routes and route not in rule.routes:
            continue
        if not types or not types <= set(rule.target_types) or types & set(rule.source_types):
            continue
        found = source_alert(rule, route, reports)
        if found is not None:
            return index, found
    return None


def describe(index: int, rule: InhibitConfig, source: AlertedReport, types: frozenset[str]) -> str:
    """ "inhibit[0]: summit alert #12 on this story mutes delegation"."""
    of = ", ".join(sorted(source.types & set(rule.source_types)))
    return f"inhibit[{index}]: {of} alert #{source.alert_id} on this story mutes " + ", ".join(
        sorted(types)
    )


def apply_inhibitions(
    alerts: Sequence[NewAlert],
    rules: Sequence[InhibitConfig],
    reports: Sequence[AlertedReport],
    c: Classification,
    type_threshold: float,
) -> tuple[NewAlert, ...]:
    """`alerts` with each one a rule mutes turned into a recorded, undelivered
    "inhibited" alert (no notifiers; meta: inhibited_by, inhibited_kind, inhibition,
    source_alert)."""
    if not rules:
        return tuple(alerts)
    out: list[NewAlert] = []
    for alert in alerts:
        types = alert_types(alert, c, type_threshold)
        found = inhibitor(rules, alert.route, types, reports)
        if found is None:
            out.append(alert)
            continue
        index, source = found
        meta = {
            **alert.meta,
            "inhibited_by": index,
            "inhibited_kind": alert.kind,
            "inhibition": describe(index, rules[index], source, types),
            "source_alert": source.alert_id,
        }
        out.append(dataclasses.replace(alert, kind=INHIBITED, notifiers=(), meta=meta))
    return tuple(out)
