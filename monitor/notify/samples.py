"""Realistic sample alerts: what `monitor test-alert NAME` sends, and what tests render.

The stories are real Russia–DPRK contacts, so a test message looks like the real thing
to the people who receive it; every sample says it is a test in its feed name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType

from monitor.models import Alert, Classification, Evidence, Item

SAMPLE_FEED = "TASS (sample)"


@dataclass(frozen=True)
class _Story:
    title: str
    text: str
    url: str
    feed: str
    types: dict[str, float]
    primary: str
    actors: tuple[str, ...]
    places: tuple[str, ...]
    event_date: date
    direction: str | None
    status: str
    evidence: tuple[tuple[str, str], ...]  # (type, sentence found in the text)


_SUMMIT = _Story(
    title="Putin and Kim Jong Un hold talks at the Vostochny Cosmodrome",
    text=(
        "Russian President Vladimir Putin and North Korean leader Kim Jong Un held talks "
        "at the Vostochny Cosmodrome in the Amur Region on Wednesday. "
        "The two leaders toured the launch facilities before sitting down for negotiations "
        "that lasted more than four hours. "
        "Putin said Russia would help North Korea build satellites, and Kim invited him "
        "to visit Pyongyang. Defence Minister Sergei Shoigu took part in the talks."
    ),
    url="https://tass.com/politics/1673581",
    feed=SAMPLE_FEED,
    types={"summit": 0.96, "high_level_visit": 0.41, "military": 0.62, "message": 0.08},
    primary="summit",
    actors=("Vladimir Putin", "Kim Jong Un", "Sergei Shoigu"),
    places=("Vostochny Cosmodrome", "Amur Region"),
    event_date=date(2023, 9, 13),
    direction="kp_to_ru",
    status="reported",
    evidence=(
        (
            "summit",
            "Russian President Vladimir Putin and North Korean leader Kim Jong Un held talks "
            "at the Vostochny Cosmodrome in the Amur Region on Wednesday.",
        ),
        ("military", "Putin said Russia would help North Korea build satellites"),
    ),
)

_MORE = (
    _Story(
        title="Russia and North Korea sign comprehensive strategic partnership treaty",
        text=(
            "Vladimir Putin and Kim Jong Un signed a treaty on comprehensive strategic "
            "partnership in Pyongyang on Wednesday. The treaty provides for mutual assistance "
            "in case of aggression against either party."
        ),
        url="https://tass.com/politics/1805321",
        feed="KCNA Watch (sample)",
        types={"summit": 0.93, "agreement": 0.97, "military": 0.55},
        primary="agreement",
        actors=("Vladimir Putin", "Kim Jong Un"),
        places=("Pyongyang",),
        event_date=date(2024, 6, 19),
        direction="ru_to_kp",
        status="reported",
        evidence=(
            (
                "agreement",
                "Vladimir Putin and Kim Jong Un signed a treaty on comprehensive strategic "
                "partnership in Pyongyang on Wednesday.",
            ),
        ),
    ),
    _Story(
        title="Shoigu arrives in Pyongyang for talks with Kim Jong Un",
        text=(
            "Security Council Secretary Sergei Shoigu arrived in Pyongyang and was received "
            "by Kim Jong Un, the Russian Security Council said."
        ),
        url="https://www.reuters.com/world/asia-pacific/shoigu-pyongyang-2025-06-04/",
        feed="Reuters (sample)",
        types={"high_level_visit": 0.91, "security": 0.58},
        primary="high_level_visit",
        actors=("Sergei Shoigu", "Kim Jong Un"),
        places=("Pyongyang",),
        event_date=date(2025, 6, 4),
        direction="ru_to_kp",
        status="reported",
        evidence=(
            (
                "high_level_visit",
                "Security Council Secretary Sergei Shoigu arrived in Pyongyang and was "
                "received by Kim Jong Un",
            ),
        ),
    ),
    _Story(
        title="Construction of the Tumen River road bridge begins",
        text=(
            "Russia and North Korea started building a road bridge across the Tumen River, "
            "Prime Minister Mikhail Mishustin said in a video link with Pak Thae Song."
        ),
        url="https://www.yna.co.kr/view/AEN20250430000000315",
        feed="Yonhap (sample)",
        types={"economic": 0.94, "high_level_visit": 0.22},
        primary="economic",
        actors=("Mikhail Mishustin", "Pak Thae Song"),
        places=("Tumen River", "Khasan"),
        event_date=date(2025, 4, 30),
        direction=None,
        status="reported",
        evidence=(
            (
                "economic",
                "Russia and North Korea started building a road bridge across the Tumen River",
            ),
        ),
    ),
)

_FOLLOWUP_TITLE = "Kim Jong Un meets Putin at Russian space centre"
_FOLLOWUP_URL = "https://www.yna.co.kr/view/AEN20230913006351315"
_FOLLOWUP_FEED = "Yonhap (sample)"


def _classification(story: _Story, text: str, types: dict[str, float]) -> Classification:
    evidence = []
    for type_, sentence in story.evidence:
        start = text.find(sentence)
        if start >= 0:
            evidence.append(Evidence(type_, sentence, start, start + len(sentence)))
    return Classification(
        relevant=True,
        score=max(types.values()),
        types=MappingProxyType(dict(types)),
        primary=story.primary,
        actors=story.actors,
        places=story.places,
        event_date=story.event_date,
        direction=story.direction,
        status=story.status,
        language="en",
        evidence=tuple(evidence),
        plugin="sample",
        plugin_version="1",
    )


def _alert(
    story: _Story,
    kind: str,
    *,
    alert_id: int,
    story_id: int,
    route: str,
    title: str | None,
    url: str | None,
    feed: str | None,
    thread_ref: str | None,
) -> Alert:
    types = dict(story.types)
    meta: dict[str, object] = {}
    sources: tuple[str, ...] = ()
    item_title, item_url, item_feed = story.title, story.url, story.feed
    if kind == "update":
        previous = sorted(t for t, s in types.items() if s >= 0.5 and t != "military")
        types["military"] = max(types.get("military", 0.0), 0.81)
        meta["previous_types"] = previous
    elif kind == "followup":
        item_title, item_url, item_feed = _FOLLOWUP_TITLE, _FOLLOWUP_URL, _FOLLOWUP_FEED
        sources = (story.feed, _FOLLOWUP_FEED)
    item_title = title if title is not None else item_title
    item_feed = feed if feed is not None else item_feed
    item = Item(
        id=f"sample-{alert_id}",
        title=item_title,
        text=story.text,
        summary=story.text[:160],
        url=url if url is not None else item_url,
        language="en",
        published=datetime.combine(story.event_date, datetime.min.time(), UTC).replace(hour=9),
        fetched=datetime(2025, 1, 1, tzinfo=UTC),
        feed=item_feed,
        meta=MappingProxyType(meta),
    )
    item_text = item.full_text
    return Alert(
        id=alert_id,
        story_id=story_id,
        route=route,
        kind=kind,
        item=item,
        classification=_classification(story, item_text, types),
        created=datetime(2025, 1, 1, 12, 0, tzinfo=UTC),
        thread_ref=thread_ref if kind != "new" else None,
        sources=sources,
    )


def sample_alert(
    kind: str = "new",
    *,
    title: str | None = None,
    url: str | None = None,
    feed: str | None = None,
    thread_ref: str | None = None,
    alert_id: int = 1,
    story_id: int = 1,
    route: str = "default",
) -> Alert:
    """The Putin–Kim summit at Vostochny as a "new", "update" (military cooperation
    added) or "followup" (Yonhap reports it too) alert; override any visible field."""
    if kind not in ("new", "update", "followup"):
        raise ValueError(f"expected kind 'new', 'update' or 'followup', got {kind!r}")
    return _alert(
        _SUMMIT,
        kind,
        alert_id=alert_id,
        story_id=story_id,
        route=route,
        title=title,
        url=url,
        feed=feed,
        thread_ref=thread_ref,
    )


def sample_alerts(n: int = 3, *, route: str = "default") -> list[Alert]:
    """`n` alerts for a digest: distinct stories, with a follow-up after the summit."""
    out: list[Alert] = []
    stories = [_SUMMIT, *_MORE]
    for i in range(n):
        alert_id = i + 1
        if i == 1:  # the summit, reported by another outlet
            out.append(
                _alert(
                    _SUMMIT,
                    "followup",
                    alert_id=alert_id,
                    story_id=1,
                    route=route,
                    title=None,
                    url=None,
                    feed=None,
                    thread_ref=None,
                )
            )
            continue
        index = 0 if i == 0 else i - 1
        story = stories[index % len(stories)]
        cycle = index // len(stories)
        title = f"{story.title} ({cycle + 1})" if cycle else None
        out.append(
            _alert(
                story,
                "new",
                alert_id=alert_id,
                story_id=index + 1,
                route=route,
                title=title,
                url=None,
                feed=None,
                thread_ref=None,
            )
        )
    return out
