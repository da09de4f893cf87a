"""The explanation: one line per step, what `monitor classify --explain` shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from monitor.models import Item

from .mentions import Analysis
from .scoring import REL_GAIN, TYPE_GAIN
from .sentences import Layout


@dataclass(slots=True)
class Trace:
    """Every value the verdict was reached with, and why (the explanation's input)."""

    item: Item
    language: str
    lay: Layout
    analyses: list[Analysis]
    linked: list[Analysis]
    ref: date | None = None
    ref_source: str = ""
    year: int | None = None
    score: float = 0.0
    focus_note: str = ""
    types: dict[str, float] | None = None
    visit_note: str = ""
    primary: str | None = None
    primary_note: str = ""
    status: str = "reported"
    status_note: str = ""
    direction: str | None = None
    direction_note: str = ""
    event_date: date | None = None
    date_note: str = ""
    actors: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


def explain(t: Trace) -> list[str]:
    """The explanation lines of a verdict."""
    lay = t.lay
    lines = [
        f"language: {t.language}"
        + ("" if t.item.language else " (identified from script and text)"),
        f"text: {len(lay.sentences)} sentences kept ({lay.kept_chars} chars), "
        f"{lay.dropped_lines} navigation lines dropped"
        + (f", cut at offset {lay.cut_at} by {lay.cut_reason}" if lay.cut_at is not None else ""),
        f"reference date: {t.ref} ({t.ref_source}); year for partial dates: {t.year}",
        "actors: " + (", ".join(t.actors) or "none"),
        "organisations: " + (", ".join(t.orgs) or "none"),
        "places: " + (", ".join(t.places) or "none"),
    ]
    for a in t.analyses:
        s = a.sentence
        excerpt = " ".join(s.text.split())[:110]
        if a.linked:
            cues = ", ".join(sorted({f"{c.group}:{c.term}" for c in a.cues if not c.negated}))
            contrib = ", ".join(f"{ty} {v:.2f}" for ty, v in sorted(a.types.items()))
            lines.append(
                f"[{s.index} {s.region} w={s.weight:.2f} link={a.link:.2f}"
                f"{' background' if a.background else ''}] relevance {a.relevance:.2f}; "
                f"{contrib or 'no type'}; cues {cues}"
                + (f"; ranks {a.rank_note}" if a.rank_note else "")
                + (f"; {'; '.join(a.notes)}" if a.notes else "")
                + f" «{excerpt}»"
            )
        elif a.why_not:
            lines.append(f"[{s.index} {s.region}] not counted: {a.why_not} «{excerpt}»")
    lines.append(
        f"relevance score = 1 - prod(1 - {REL_GAIN} x sentence relevance) over {len(t.linked)} "
        f"linked sentences = {t.score:.4f}" + (f" ({t.focus_note})" if t.focus_note else "")
    )
    lines.append(
        "type scores = 1 - prod(1 - "
        f"{TYPE_GAIN} x sentence weight x link x cue), capped by relevance: "
        + ", ".join(f"{ty} {v:.2f}" for ty, v in (t.types or {}).items() if v > 0)
        + (f" ({t.visit_note})" if t.visit_note else "")
    )
    lines.append(f"primary: {t.primary} ({t.primary_note})")
    lines.append(f"status: {t.status} ({t.status_note})")
    lines.append(f"direction: {t.direction} ({t.direction_note})")
    lines.append(f"event date: {t.event_date} ({t.date_note})")
    return lines
