"""How the classifier types a visit (issue 12): one story has one visit type, set by the
highest rank of its parties; a deputy ranks below the title he deputises for; a session
of the intergovernmental commission is a meeting of its co-chairs; a timeline reports
every visit it lists; a visiting troupe or team is a delegation. Short texts written
for each rule, in several languages."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.models import Classification, Item
from monitor.plugins.rudprk import classify
from monitor.taxonomy import DEFAULT_TYPE_THRESHOLD

PUB = datetime(2025, 3, 18, 9, 0)
VISITS = {"summit", "high_level_visit", "delegation"}


def run(title: str, text: str, lang: str) -> Classification:
    body = f"{title}\n\n{text}"
    return classify(Item(id="t", title=title, text=body, language=lang, published=PUB))


def reports(lang: str, title: str, text: str, has: str, lacks: str) -> None:
    """The item is reported with type `has` and without type `lacks`."""
    got = run(title, text, lang)
    assert has in got.reported_types(), got.explanation
    assert lacks not in got.reported_types(), got.explanation


def visit_types(got: Classification) -> set[str]:
    assert got.relevant, got.explanation
    return set(got.reported_types()) & VISITS


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Russian Foreign Minister Lavrov arrives in Pyongyang",
            "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Tuesday for "
            "talks with North Korean Foreign Minister Choe Son Hui. "
            "His delegation includes Primorye Governor Oleg Kozhemyako, who held talks "
            "with North Korean officials on Wednesday.",
        ),
        (
            "ru",
            "Лавров прибыл в Пхеньян",
            "Министр иностранных дел России Сергей Лавров прибыл во вторник в Пхеньян "
            "для переговоров с министром иностранных дел КНДР Чвэ Сон Хи. "
            "В состав делегации вошел губернатор Приморья Олег Кожемяко, который провел "
            "переговоры с представителями КНДР.",
        ),
    ],
)
def test_a_ministers_visit_is_not_also_a_delegation(lang: str, title: str, text: str) -> None:
    got = run(title, text, lang)
    assert visit_types(got) == {"high_level_visit"}, got.explanation
    # the outranked type keeps a score, below the threshold
    assert 0 < got.types["delegation"] < DEFAULT_TYPE_THRESHOLD


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "North Korean military delegation arrives in Moscow",
            "A North Korean military delegation led by the deputy chief of the General "
            "Staff of the Korean People's Army arrived in Moscow on Tuesday for talks at "
            "the Russian Defence Ministry.",
        ),
        (
            "ru",
            "Военная делегация КНДР прибыла в Москву",
            "Военная делегация КНДР во главе с заместителем начальника Генерального штаба "
            "Корейской народной армии прибыла во вторник в Москву для переговоров в "
            "Министерстве обороны России.",
        ),
        (
            "ja",
            "北朝鮮軍の代表団がモスクワ到着",
            "朝鮮人民軍の副総参謀長を団長とする北朝鮮軍の代表団が18日、モスクワに到着し、"
            "ロシア国防省と会談した。",
        ),
    ],
)
def test_a_deputy_leads_a_delegation_not_a_high_level_visit(
    lang: str, title: str, text: str
) -> None:
    assert visit_types(run(title, text, lang)) == {"delegation"}


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "fr",
            "La commission intergouvernementale russo-nord-coréenne réunie à Moscou",
            "La commission intergouvernementale russo-nord-coréenne s'est réunie mardi à "
            "Moscou sous la coprésidence du ministre russe des Ressources naturelles, "
            "Alexandre Kozlov, et du ministre nord-coréen des Relations économiques "
            "extérieures, Yun Jong Ho.",
        ),
        (
            "ru",
            "В Москве прошло заседание межправкомиссии России и КНДР",
            "Во вторник в Москве прошло заседание межправительственной комиссии России и "
            "КНДР под председательством министра природных ресурсов России Александра "
            "Козлова и министра внешнеэкономических связей КНДР Юн Чжон Хо.",
        ),
    ],
)
def test_a_commission_session_is_a_meeting_of_its_co_chairs(
    lang: str, title: str, text: str
) -> None:
    got = run(title, text, lang)
    assert {"economic", "high_level_visit"} <= set(got.reported_types()), got.explanation


def test_a_timeline_reports_every_visit_it_lists() -> None:
    # the leaders' meetings come last, far below the lead, as in a long timeline
    got = run(
        "Timeline: how Russia and North Korea drew closer",
        "Russia and North Korea have drawn closer since 2023. "
        "JULY 2023 - Russian Defence Minister Sergei Shoigu visits Pyongyang. "
        "NOVEMBER 2023 - North Korean Foreign Minister Choe Son Hui visits Moscow. "
        "JANUARY 2024 - Choe Son Hui visits Moscow again. "
        "MARCH 2024 - Russian intelligence chief Sergei Naryshkin visits Pyongyang. "
        "MAY 2024 - Russian Natural Resources Minister Alexander Kozlov visits Pyongyang. "
        "JUNE 2024 - Putin visits Pyongyang. "
        "SEPTEMBER 2025 - Putin receives Kim Jong Un in Beijing.",
        "en",
    )
    assert got.status == "retrospective"
    assert visit_types(got) == {"summit", "high_level_visit"}, got.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "de",
            "Russische Juniorenauswahl spielt in Pjöngjang",
            "Eine russische Juniorenauswahl im Eishockey ist am Dienstag in Pjöngjang "
            "eingetroffen und trägt dort zwei Freundschaftsspiele gegen nordkoreanische "
            "Mannschaften aus.",
        ),
        (
            "ko",
            "북한 예술단, 모스크바서 공연",
            "북한 예술단이 18일 모스크바에 도착해 러시아 문화부가 마련한 무대에서 첫 공연을 했다.",
        ),
    ],
)
def test_a_visiting_troupe_or_team_is_a_delegation(lang: str, title: str, text: str) -> None:
    got = run(title, text, lang)
    assert visit_types(got) == {"delegation"}
    # the performance or the match is the news: its domain is primary
    assert got.primary == "media_culture", got.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Kim Jong Un receives Russian Defence Minister Belousov in Pyongyang",
            "North Korean leader Kim Jong Un received Russian Defence Minister Andrei "
            "Belousov in Pyongyang on Tuesday. "
            "Kim said the two countries would honour their obligations under the treaty.",
        ),
        (
            "zh",
            "金正恩会见俄罗斯国防部长别洛乌索夫",
            "朝鲜最高领导人金正恩18日在平壤会见了俄罗斯国防部长别洛乌索夫。"
            "金正恩表示，朝方将履行两国条约规定的义务。",
        ),
    ],
)
def test_a_treaty_named_as_a_basis_is_no_agreement_news(lang: str, title: str, text: str) -> None:
    reports(lang, title, text, has="high_level_visit", lacks="agreement")


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "North Korea sends more artillery shells to Russia",
            "North Korea has shipped another million artillery shells to Russia since "
            "the summer, according to South Korea's intelligence service.",
        ),
        (
            "it",
            "La Corea del Nord invia altri proiettili alla Russia",
            "La Corea del Nord ha inviato alla Russia un altro milione di proiettili di "
            "artiglieria dall'estate, secondo l'intelligence di Seul.",
        ),
        (
            "tr",
            "Kuzey Kore Rusya'ya yeni top mermisi gönderdi",
            "Güney Kore istihbaratına göre Kuzey Kore, yazdan bu yana Rusya'ya bir milyon "
            "top mermisi daha gönderdi.",
        ),
    ],
)
def test_a_third_countrys_intelligence_is_a_source_not_a_security_contact(
    lang: str, title: str, text: str
) -> None:
    reports(lang, title, text, has="military", lacks="security")


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "zh",
            "朝鲜劳动党代表团抵达莫斯科 深化俄朝全面战略伙伴关系",
            "朝鲜劳动党代表团18日抵达莫斯科，将出席统一俄罗斯党代表大会。"
            "俄方表示，两党交流是两国全面战略伙伴关系的重要组成部分。",
        ),
        (
            "en",
            "North Korean party delegation in Moscow to deepen comprehensive strategic partnership",
            "A delegation of the Workers' Party of Korea arrived in Moscow on Tuesday for "
            "the congress of United Russia. Party exchanges are an important part of the "
            "comprehensive strategic partnership between Russia and North Korea, the "
            "Russian side said.",
        ),
    ],
)
def test_a_partnership_named_as_the_relationship_is_no_document(
    lang: str, title: str, text: str
) -> None:
    reports(lang, title, text, has="delegation", lacks="agreement")


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Kim Jong Un receives Medvedev in Pyongyang",
            "North Korean leader Kim Jong Un received Dmitry Medvedev, deputy chairman of "
            "Russia's Security Council, in Pyongyang on Thursday. "
            "Medvedev conveyed warm greetings from President Vladimir Putin to Kim. "
            "Kim asked Medvedev to pass his greetings to Putin.",
        ),
        (
            "ko",
            "김정은, 메드베데프 접견",
            "김정은 국무위원장이 9일 평양에서 드미트리 메드베데프 러시아 국가안보회의 부의장을 "
            "접견했다. 메드베데프 부의장은 푸틴 대통령의 따뜻한 인사를 전했다. "
            "김 위원장도 푸틴 대통령에게 안부를 전해달라고 말했다.",
        ),
    ],
)
def test_greetings_conveyed_at_a_meeting_are_part_of_it(lang: str, title: str, text: str) -> None:
    reports(lang, title, text, has="high_level_visit", lacks="message")


def test_a_message_in_the_title_of_a_visit_is_reported() -> None:
    reports(
        "en",
        "Shoigu hands Kim Jong Un a personal message from Putin",
        "Russian Security Council Secretary Sergei Shoigu handed North Korean leader Kim "
        "Jong Un a personal message from President Vladimir Putin during talks in "
        "Pyongyang on Tuesday.",
        has="message",
        lacks="delegation",
    )


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Russian Defence Minister Belousov arrives in Pyongyang for talks",
            "Russian Defence Minister Andrei Belousov arrived in Pyongyang on Tuesday for "
            "talks with North Korean Defence Minister No Kwang Chol. "
            "Putin and Kim Jong Un signed a comprehensive strategic partnership treaty in "
            "Pyongyang in June 2024. "
            "The treaty, signed in June 2024, obliges each side to help the other if it is "
            "attacked.",
        ),
        (
            "es",
            "El ministro ruso de Defensa Beloúsov llega a Pyongyang",
            "El ministro ruso de Defensa, Andréi Beloúsov, llegó el martes a Pyongyang para "
            "conversar con su homólogo norcoreano, No Kwang Chol. "
            "Putin y Kim Jong-un firmaron un tratado de asociación estratégica integral en "
            "Pyongyang en junio de 2024. "
            "El tratado, firmado en junio de 2024, obliga a cada parte a ayudar a la otra "
            "si es atacada.",
        ),
    ],
)
def test_a_treaty_signed_long_before_is_recalled_not_reported(
    lang: str, title: str, text: str
) -> None:
    reports(lang, title, text, has="high_level_visit", lacks="agreement")


def test_a_ministry_is_no_minister() -> None:
    # German compounds: "-ministerium" is the ministry, "-minister(in)" the minister
    ministry = run(
        "Delegation des nordkoreanischen Staatssicherheitsministeriums in Moskau",
        "Eine Delegation des nordkoreanischen Staatssicherheitsministeriums ist am Dienstag "
        "zu Gesprächen mit dem russischen Inlandsgeheimdienst FSB in Moskau eingetroffen.",
        "de",
    )
    assert visit_types(ministry) == {"delegation"}, ministry.explanation
    minister = run(
        "Nordkoreas Außenministerin in Moskau eingetroffen",
        "Die nordkoreanische Außenministerin Choe Son Hui ist am Dienstag zu Gesprächen "
        "mit dem russischen Außenminister Sergej Lawrow in Moskau eingetroffen.",
        "de",
    )
    assert visit_types(minister) == {"high_level_visit"}, minister.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Putin and Kim Jong Un hold talks in Pyongyang",
            "Russian President Vladimir Putin and North Korean leader Kim Jong Un held "
            "talks in Pyongyang on Wednesday. The talks lasted about three hours. "
            "Afterwards the leaders signed a treaty on comprehensive strategic partnership.",
        ),
        (
            "ru",
            "Путин и Ким Чен Ын провели переговоры в Пхеньяне",
            "Президент России Владимир Путин и лидер КНДР Ким Чен Ын провели в среду "
            "переговоры в Пхеньяне. Переговоры продолжались около трех часов. "
            "После переговоров лидеры подписали договор о всеобъемлющем стратегическом "
            "партнерстве.",
        ),
    ],
)
def test_the_leaders_are_the_parties_last_named(lang: str, title: str, text: str) -> None:
    reports(lang, title, text, has="agreement", lacks="delegation")


def test_a_domain_named_beside_a_visit_is_its_context() -> None:
    # a visit in the title, a broad domain only in sentences that report no contact:
    # the item's news is the visit
    got = run(
        "Kim Jong Un receives Lavrov in Wonsan",
        "North Korean leader Kim Jong Un received Russian Foreign Minister Sergei Lavrov "
        "in Wonsan on Saturday. Russian state television showed Lavrov and Kim walking "
        "along the beach. Russian television also aired an interview with Kim. "
        "State television in Pyongyang broadcast the meeting in the evening.",
        "en",
    )
    assert set(got.reported_types()) == {"high_level_visit"}, got.explanation
