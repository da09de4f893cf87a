"""The timeline's chart: contacts per week by type, as shapes for an inline SVG drawn
on the server (no script; the colours come from the stylesheet, one class per type)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from monitor.taxonomy import CONTACT_TYPES

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 170, 28, 22, 8


def weekly_chart(counts: list[tuple[date, str, int]]) -> dict[str, Any] | None:
    """Bars (one per week, stacked by type), axis labels and the legend; None when
    there is nothing to draw."""
    if not counts:
        return None
    weeks: dict[date, dict[str, int]] = defaultdict(dict)
    for monday, kind, n in counts:
        weeks[monday][kind] = n
    mondays = sorted(weeks)
    peak = max(sum(w.values()) for w in weeks.values())
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / len(mondays)
    bar = max(4.0, min(40.0, slot * 0.7))
    order = {t: i for i, t in enumerate(CONTACT_TYPES)}
    rects, labels = [], []
    for i, monday in enumerate(mondays):
        x = LEFT + i * slot + (slot - bar) / 2
        y = float(HEIGHT - BOTTOM)
        for kind, n in sorted(weeks[monday].items(), key=lambda kv: order.get(kv[0], 99)):
            h = plot_h * n / peak
            y -= h
            rects.append(
                {"x": round(x, 1), "y": round(y, 1), "w": round(bar, 1), "h": round(h, 1),
                 "type": kind, "title": f"week of {monday.isoformat()}: {n} {kind}"}
            )  # fmt: skip
        labels.append({"x": round(x + bar / 2, 1), "text": monday.strftime("%d %b")})
    present = {k for _, k, _ in counts}
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "rects": rects,
        "labels": labels,
        "label_y": HEIGHT - 6,
        "peak": peak,
        "peak_y": TOP + 10,
        "base_y": HEIGHT - BOTTOM,
        "left": LEFT,
        "legend": sorted(present, key=lambda k: order.get(k, 99)),
    }
