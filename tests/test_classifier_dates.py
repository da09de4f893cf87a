"""The event date (issue 12): background words and old dates that share a sentence with
this week's news, and the dateline's date when the contact sentences name no day."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from monitor.models import Item
from monitor.plugins.rudprk import classify

#: A Thursday.
PUB = datetime(2024, 6, 20, 9, 0)


def event_date(text: str, title: str, lang: str) -> date | None:
    c = classify(
        Item(id="t", title=title, text=title + "\n\n" + text, language=lang, published=PUB)
    )
    assert c.relevant, c.explanation
    return c.event_date


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Russian defence chief in Pyongyang",
            "Russian Defence Minister Andrei Belousov arrived in Pyongyang on Tuesday for talks"
            " with North Korean officials, his second trip since last year's treaty.",
        ),
        (
            "es",
            "El ministro ruso de Defensa, en Pyongyang",
            "El ministro de Defensa ruso, Andréi Beloúsov, llegó el martes a Pyongyang para"
            " conversar con dirigentes norcoreanos, su segundo viaje desde el tratado del año"
            " pasado.",
        ),
    ],
)
def test_a_comparison_with_the_past_keeps_this_weeks_day(lang: str, title: str, text: str) -> None:
    """ "His second trip since last year's treaty" makes the sentence background for the
    types, but its "Tuesday" still dates the visit."""
    assert event_date(text, title, lang) == date(2024, 6, 18)


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "fr",
            "Moscou et Pyongyang signent un accord ferroviaire",
            "La Russie et la Corée du Nord ont signé le 18 juin un accord sur le transport"
            " ferroviaire, après une première série de négociations en octobre 2023.",
        ),
        (
            "de",
            "Moskau und Pjöngjang unterzeichnen Bahnabkommen",
            "Russland und Nordkorea haben am 18. Juni ein Abkommen über den Bahnverkehr"
            " unterzeichnet, nach ersten Verhandlungen im Oktober 2023.",
        ),
    ],
)
def test_a_sentence_dated_now_and_long_ago_is_the_news(lang: str, title: str, text: str) -> None:
    """Only a sentence whose every date lies well before publication is background."""
    c = classify(
        Item(id="t", title=title, text=title + "\n\n" + text, language=lang, published=PUB)
    )
    assert c.event_date == date(2024, 6, 18)
    assert c.types["agreement"] >= 0.5


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "ru",
            "Лавров провел переговоры с Чвэ Сон Хи",
            "ПХЕНЬЯН, 19 июня. /ТАСС/.\n\nМинистр иностранных дел России Сергей Лавров"
            " провел переговоры с министром иностранных дел КНДР Чвэ Сон Хи.",
        ),
        (
            "en",
            "Lavrov holds talks with North Korean counterpart",
            "PYONGYANG, June 19 (Reuters) -\n\nRussian Foreign Minister Sergei Lavrov held"
            " talks with North Korean Foreign Minister Choe Son Hui.",
        ),
    ],
)
def test_the_datelines_day_dates_a_same_day_report(lang: str, title: str, text: str) -> None:
    assert event_date(text, title, lang) == date(2024, 6, 19)


def test_a_dateline_weeks_away_from_publication_is_not_taken() -> None:
    got = event_date(
        "PYONGYANG, March 2 (Reuters) -\n\nRussian Foreign Minister Sergei Lavrov held talks"
        " with North Korean Foreign Minister Choe Son Hui.",
        "Lavrov holds talks with North Korean counterpart",
        "en",
    )
    assert got != date(2024, 3, 2)
