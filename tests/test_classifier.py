"""Unit tests of the built-in classifier's mechanisms, on short texts written for them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

import monitor
from monitor.classify.evaluate import (
    LabelledItem,
    render_checks_table,
    render_report,
    score_corpus,
)
from monitor.models import Item
from monitor.plugins.rudprk import classify, monitor_classify
from monitor.plugins.rudprk.normalize import norm_term, normalize
from monitor.taxonomy import CONTACT_TYPES

PUB = datetime(2024, 6, 20, 9, 0)


def item(
    text: str, title: str = "", lang: str | None = None, published: datetime | None = None
) -> Item:
    return Item(id="t", title=title, text=text, language=lang, published=published)


# --- normalisation and names ---------------------------------------------------------


def test_normalize_keeps_offsets() -> None:
    text = "Choïgou à Pyongyang — Straße"
    n = normalize(text)
    assert "choigou a pyongyang" in n.text
    pos = n.text.index("pyongyang")
    assert text[n.to_original(pos) : n.to_original(pos + 9)] == "Pyongyang"
    assert norm_term("Ch’oe Sŏn-hŭi") == "ch'oe son hui"


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("Shoigu", "Sergei Shoigu"),
        ("Choïgou", "Sergei Shoigu"),
        ("Schoigu", "Sergei Shoigu"),
        ("Shoygu", "Sergei Shoigu"),
        ("Шойгу", "Sergei Shoigu"),
        ("쇼이구", "Sergei Shoigu"),
        ("ショイグ", "Sergei Shoigu"),
        ("绍伊古", "Sergei Shoigu"),
        ("Choe Son Hui", "Choe Son Hui"),
        ("Choe Son-hui", "Choe Son Hui"),
        ("Ch'oe Sŏn-hŭi", "Choe Son Hui"),
        ("Чхве Сон Хи", "Choe Son Hui"),
        ("최선희", "Choe Son Hui"),
        ("Narychkine", "Sergei Naryshkin"),
        ("Belooussov", "Andrei Belousov"),
        ("Путина", "Vladimir Putin"),
        ("Kim Jongun", "Kim Jong Un"),
    ],
)
def test_transliterations_resolve(spelling: str, name: str) -> None:
    c = classify(item(f"{spelling} met Russian and North Korean officials in Pyongyang."))
    assert name in c.actors


def test_unknown_russian_official_is_recognised() -> None:
    c = classify(item("A Russian delegation led by Pavel Sorokin arrived in Pyongyang."))
    assert "Pavel Sorokin" in c.actors


# --- linking, rank line, traps --------------------------------------------------------


def test_summit_needs_both_leaders_and_minister_makes_high_level_visit() -> None:
    summit = classify(item("Putin met Kim Jong Un in Pyongyang for talks.", published=PUB))
    assert summit.relevant and summit.primary == "summit"
    visit = classify(
        item(
            "Kim Jong Un received Russian Foreign Minister Sergei Lavrov in Pyongyang.",
            published=PUB,
        )
    )
    assert visit.primary == "high_level_visit"
    assert "summit" not in visit.reported_types()


def test_below_minister_is_delegation() -> None:
    c = classify(
        item(
            "Eine Delegation russischer Abgeordneter traf in Pjöngjang ein und "
            "führte Gespräche mit nordkoreanischen Vertretern."
        )
    )
    assert c.relevant and c.primary == "delegation"


def test_third_party_summit_is_not_a_contact() -> None:
    c = classify(
        item(
            "Xi Jinping and Lee Jae-myung held a summit in Beijing on North Korea. "
            "South Korea and Russia discussed North Korea's nuclear programme."
        )
    )
    assert not c.relevant
    assert "summit" not in c.reported_types()


def test_passing_mention_is_not_relevant() -> None:
    c = classify(
        item(
            "Vietnam and Japan expand trade ties",
            title="",
            lang="en",
        )
    )
    assert not c.relevant
    c = classify(
        item(
            "Russia vetoed the resolution on sanctions against North Korea at the "
            "United Nations, diplomats said."
        )
    )
    assert not c.relevant


def test_negation_and_denial() -> None:
    c = classify(item("Le Kremlin a démenti toute visite de Poutine en Corée du Nord."))
    assert not c.relevant
    c = classify(item("Putin has no plans to visit North Korea, the Kremlin said."))
    assert "summit" not in c.reported_types()


def test_boilerplate_tail_is_cut() -> None:
    body = (
        "Sergei Lavrov arrived in Pyongyang and met Choe Son Hui for talks. "
        "The two ministers discussed bilateral relations. "
        "They also spoke about regional issues."
    )
    tail = (
        "\n\nRelated articles\n\nPutin and Kim Jong Un hold summit in Moscow and sign "
        "a treaty on military cooperation.\n"
    )
    c = classify(item(body + tail, published=PUB))
    assert c.primary == "high_level_visit"
    assert "summit" not in c.reported_types()
    assert "agreement" not in c.reported_types()


def test_headline_weighs_more_than_tail() -> None:
    filler = " ".join(["The weather in Seoul was mild and markets were calm."] * 12)
    late = classify(item(filler + " Earlier, Russia sent munitions to North Korea."))
    early = classify(item("Russia sent munitions to North Korea. " + filler))
    assert early.score > late.score


# --- languages, dates, direction, status ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "primary"),
    [
        ("Путин провел переговоры с Ким Чен Ыном в Пхеньяне.", "ru", "summit"),
        (
            "김정은 국무위원장이 쇼이구 러시아 국방장관을 평양에서 접견했다.",
            "ko",
            "high_level_visit",
        ),
        ("ラブロフ外相が平壌を訪問し、崔善姫外相と会談した。", "ja", "high_level_visit"),
        ("俄罗斯外长拉夫罗夫抵达平壤，与朝鲜外相崔善姬举行会谈。", "zh", "high_level_visit"),
        ("Putin empfing Kim Jong Un zu Gesprächen im Kreml.", "de", "summit"),
        (
            "Lavrov se reunió en Pyongyang con la canciller norcoreana Choe Son Hui.",
            "es",
            "high_level_visit",
        ),
        ("Una delegazione di deputati russi è arrivata a Pyongyang.", "it", "delegation"),
        (
            "O ministro russo Lavrov visitou Pyongyang e reuniu-se com Choe Son Hui.",
            "pt",
            "high_level_visit",
        ),
    ],
)
def test_languages(text: str, lang: str, primary: str) -> None:
    c = classify(item(text))
    assert c.language == lang
    assert c.relevant
    assert c.primary == primary


def test_date_resolution_against_publication() -> None:
    pub = datetime(2024, 6, 20, 8, 0)  # a Thursday
    c = classify(item("Sergei Lavrov met Choe Son Hui in Pyongyang on Tuesday.", published=pub))
    assert c.event_date == date(2024, 6, 18)
    c = classify(
        item("Lavrov arrived in Pyongyang yesterday for talks with Choe Son Hui.", published=pub)
    )
    assert c.event_date == date(2024, 6, 19)
    c = classify(
        item("쇼이구 러시아 국방장관이 지난 18일 평양에서 김정은 위원장을 만났다.", published=pub)
    )
    assert c.event_date == date(2024, 6, 18)


def test_date_without_publication_uses_text_year() -> None:
    c = classify(
        item(
            "Lavrov se rendra à Pyongyang le 18 juin pour rencontrer Choe Son Hui. "
            "Sa dernière visite remonte à octobre 2023, avant la crise de juin 2024."
        )
    )
    assert c.event_date == date(2024, 6, 18)


def test_direction_and_status() -> None:
    c = classify(
        item(
            "North Korean Foreign Minister Choe Son Hui arrived in Moscow for talks "
            "with Sergei Lavrov.",
            published=PUB,
        )
    )
    assert c.direction == "kp_to_ru"
    assert c.status == "reported"
    c = classify(
        item("Putin will visit Pyongyang next week for a summit with Kim Jong Un.", published=PUB)
    )
    assert c.direction == "ru_to_kp"
    assert c.status == "announced"
    c = classify(
        item(
            "Russia delivered artillery shells to North Korea's army, officials said.",
            published=PUB,
        )
    )
    assert c.direction is None


def test_message_and_domain() -> None:
    c = classify(item("Kim Jong Un sent a letter of greetings to Vladimir Putin.", published=PUB))
    assert c.primary == "message"
    c = classify(item("North Korean troops were deployed to Russia's Kursk region.", published=PUB))
    assert c.relevant and c.primary == "military"


# --- contract ----------------------------------------------------------------------------


def test_classification_contract() -> None:
    text = "Sergei Lavrov met Choe Son Hui in Pyongyang and signed an agreement."
    c = monitor_classify(item=item(text, published=PUB))
    assert c.plugin == "rudprk" and c.plugin_version == monitor.__version__
    assert set(c.types) == set(CONTACT_TYPES)
    assert all(0.0 <= v <= 1.0 for v in c.types.values()) and 0.0 <= c.score <= 1.0
    full = item(text).full_text
    for ev in c.evidence:
        assert full[ev.start : ev.end] == ev.text
    assert any("relevance score" in line for line in c.explanation)


def test_evaluate_helpers_render() -> None:
    records = [
        LabelledItem(
            item("Lavrov met Choe Son Hui in Pyongyang.", lang="en"),
            True,
            ("high_level_visit",),
            "high_level_visit",
            "en",
        ),
        LabelledItem(item("Markets were calm in Tokyo.", lang="en"), False, (), None, "en"),
    ]
    report = score_corpus(classify, records)
    assert report.relevance.f1 == 1.0
    assert "relevance" in render_report(report)
    assert report.to_json()["per_language"]["en"]["n"] == 2
    assert "checks pass" in render_checks_table([])


# --- mechanisms: inflection, sources, reactions, page furniture, fast path -----------


def test_wildcard_inside_a_term_matches_inflected_words() -> None:
    from monitor.plugins.rudprk.lexicon import knowledge

    k = knowledge("ru")
    found = {
        m.key: m.payloads
        for m in k.matcher.find(
            normalize("Заместителю министра обороны поручено военное сотрудничество").text
        )
    }
    assert ("role", "official") in found["заместителю министра"]
    assert ("cue", "military", 1.0) in found["военное сотрудничество"]


def test_exact_status_word_keeps_the_cue_of_its_stem() -> None:
    c = classify(item("Сергей Шойгу встретился в Пхеньяне с лидером КНДР Ким Чен Ыном.", lang="ru"))
    assert c.relevant
    assert "high_level_visit" in c.reported_types()


@pytest.mark.parametrize(
    "text, lang",
    [
        (
            "SEOUL, Nov. 3 (Yonhap) -- North Korea has sent thousands of troops to Russia, the "
            "spy agency told lawmakers.",
            "en",
        ),
        ("Seúl: Rusia entregó misiles antiaéreos a Corea del Norte a cambio de soldados.", "es"),
        ("韓国国防省は、ロシアが北朝鮮に弾道ミサイルの技術を提供していると明らかにした。", "ja"),
    ],
)
def test_third_country_as_source_is_no_party(text: str, lang: str) -> None:
    assert classify(item(text, lang=lang)).relevant


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Japan protested to Moscow over its growing military cooperation with Pyongyang.", "en"),
        ("韩方对俄朝军事合作表示关切。", "zh"),
        ("Berlin verurteilt die militärische Zusammenarbeit zwischen Moskau und Pjöngjang.", "de"),
    ],
)
def test_third_party_reaction_is_not_a_contact(text: str, lang: str) -> None:
    assert not classify(item(text, lang=lang)).relevant


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Песков заявил, что вопрос о встрече Путина и Ким Чен Ына сейчас не стоит.", "ru"),
        ("크렘린궁은 김정은 위원장의 러시아 방문에 대해 구체적인 계획이 없다고 밝혔다.", "ko"),
        ("The Kremlin said a Putin visit to Pyongyang was not on the agenda.", "en"),
    ],
)
def test_plans_denied(text: str, lang: str) -> None:
    assert not classify(item(text, lang=lang)).relevant


def test_teaser_lines_and_headline_lists_do_not_count() -> None:
    body = (
        "Le gouvernement a présenté son budget mardi. Les députés en débattront la "
        "semaine prochaine. Le ministre a défendu la hausse des dépenses.\n"
        "Lire aussi : Poutine et Kim Jong-un signent un traité à Pyongyang\n"
        "La session doit durer trois semaines. L'opposition a déposé des amendements.\n"
    )
    assert not classify(item(body, lang="fr")).relevant
    page = (
        "Heavy rain flooded several towns on Monday. Farmers reported damage to crops. "
        "The weather service expects more storms this week.\n"
        * 3
        + "• Putin meets Kim Jong Un in Pyongyang\n"
        + "• Lavrov arrives in Wonsan for talks with Choe Son Hui\n"
    )
    assert not classify(item(page, lang="en")).relevant


def test_domain_only_in_the_body_counts_less() -> None:
    lead = (
        "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Friday and held "
        "talks with North Korean Foreign Minister Choe Son Hui. "
    )
    filler = "The two ministers discussed the international situation. " * 6
    tail = "Russia and North Korea built a railway bridge across the river years ago."
    c = classify(item(lead + filler + tail, lang="en"))
    assert c.primary == "high_level_visit"
    assert "economic" not in c.reported_types()


def test_ordinary_news_takes_the_fast_path() -> None:
    c = classify(
        item(
            "The city council approved a new budget on Tuesday. The mayor said "
            "three bus lines will be added.",
            lang="en",
        )
    )
    assert not c.relevant and c.actors == () and c.language == "en"
    one_side = classify(item("Vladimir Putin visited a factory in Tula on Tuesday.", lang="en"))
    assert not one_side.relevant
    assert one_side.actors == ("Vladimir Putin",)
