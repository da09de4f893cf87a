"""The classifier's general mechanisms (issue 12), each on short texts written for it,
in several languages: language-scoped matching, script folding, the prefilter, and the
precision guards (sources, nationality, third-country frames, "the two sides", generic
ties, dated background and captions, job titles, the object of a signing verb)."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.models import Item
from monitor.plugins.rudprk import classify, langid
from monitor.plugins.rudprk.lexicon import knowledge, shared_data
from monitor.plugins.rudprk.normalize import normalize
from monitor.plugins.rudprk.prefilter import prefilter

PUB = datetime(2024, 6, 20, 9, 0)


def item(
    text: str, title: str = "", lang: str | None = None, published: datetime | None = PUB
) -> Item:
    return Item(id="t", title=title, text=text, language=lang, published=published)


def payload_tags(code: str, text: str) -> set[tuple[object, ...]]:
    return {p for m in knowledge(code).matcher.find(normalize(text).text) for p in m.payloads}


# --- language-scoped matching ------------------------------------------------------------


def test_a_pack_is_matched_only_against_its_own_language() -> None:
    assert ("cue", "visit", 1.0) in payload_tags("fr", "rencontre")
    assert not any(p[0] == "cue" for p in payload_tags("en", "rencontre"))
    assert not any(p[0] == "cue" for p in payload_tags("fr", "talks"))


def test_no_term_spans_a_line_break() -> None:
    # a headline ending in "Russia" and a lead opening with "North Korea" are no
    # "Russia North Korea" pair: the lead keeps its own country name
    text = "North Korea sends more shells to Russia\n\nNorth Korea has shipped more"
    found = knowledge("en").matcher.find(normalize(text).text)
    assert all("\n" not in text[m.start : m.end] for m in found)
    lead = text.index("\n\n") + 2
    assert any(m.start == lead and m.payloads[0][:2] == ("country", "kp") for m in found)


def test_country_names_come_from_the_language_pack() -> None:
    assert ("country", "kp", "North Korea", True) in payload_tags("de", "Nordkorea")
    assert not any(p[0] == "country" for p in payload_tags("en", "Nordkorea"))
    # script-level compounds stay shared by every language of that script
    assert any(p[0] == "country" and p[1] == "pair" for p in payload_tags("ko", "북러"))


def test_every_pack_parses_and_has_the_agreed_tables() -> None:
    sh = shared_data()
    assert not sh.errors, sh.errors
    for code, data in sh.packs.items():
        assert data["code"] == code
        for table in ("cues", "roles", "negation", "status", "dates", "boilerplate"):
            assert table in data, f"{code}: no [{table}]"


def test_an_unknown_language_falls_back_without_crashing() -> None:
    c = classify(item("Vladimir Putin met Kim Jong Un in Pyongyang.", lang="xx"))
    assert c.relevant


# --- language identification ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Der russische Verteidigungsminister ist heute in der Hauptstadt eingetroffen, "
            "wie die Agentur meldet.",
            "de",
        ),
        ("Министр обороны России прибыл сегодня в столицу, сообщило агентство.", "ru"),
        ("Міністр оборони прибув сьогодні до столиці, повідомило інформаційне агентство.", "uk"),
        ("Министърът на отбраната пристигна днес в столицата, съобщи агенцията.", "bg"),
        ("Министар одбране је данас допутовао у главни град, јавља агенција.", "sr"),
        # Serbian in Latin letters (lingua's Serbian model is Cyrillic): đ/ć, or no
        # Czech/Slovak/Polish letters and Serbian function words
        (
            "Ministar spoljnih poslova doputovao je u sredu u glavni grad, gde će se "
            "sastati sa predsednikom, javlja agencija.",
            "sr",
        ),
        (
            "Ruski ministar odbrane je u sredu doputovao u glavni grad, gde se sastao sa "
            "predsednikom. Tokom posete razgovarali su o saradnji, saopštilo je ministarstvo.",
            "sr",
        ),
        (
            "Ministr obrany v pondělí přiletěl do hlavního města, kde jednal s prezidentem "
            "o spolupráci, uvedla agentura.",
            "cs",
        ),
        (
            "Minister obrony przybył w środę do stolicy, gdzie spotkał się z prezydentem.",
            "pl",
        ),
        ("وصل وزير الدفاع اليوم إلى العاصمة في زيارة رسمية، حسبما ذكرت الوكالة.", "ar"),
        ("وزیر دفاع امروز برای یک سفر رسمی به پایتخت رسید، خبرگزاری گزارش داد.", "fa"),
        ("रक्षा मंत्री आज आधिकारिक यात्रा पर राजधानी पहुंचे, समाचार एजेंसी ने बताया।", "hi"),
        ("국방장관이 오늘 공식 방문을 위해 수도에 도착했다고 통신이 전했다.", "ko"),
        ("國防部長今日抵達首都進行正式訪問，通訊社報道。", "zh"),
    ],
)
def test_script_then_lingua_identifies_the_language(text: str, code: str) -> None:
    assert langid.identify(text) == code


def test_a_declared_language_is_kept() -> None:
    c = classify(item("Vladimir Putin met Kim Jong Un in Pyongyang.", lang="en-GB"))
    assert c.language == "en"


# --- normalisation: Traditional Chinese, prefilter ---------------------------------------


def test_traditional_chinese_folds_to_simplified() -> None:
    simp = classify(item("俄罗斯外长拉夫罗夫抵达平壤，与朝鲜外相崔善姬举行会谈。", lang="zh"))
    trad = classify(item("俄羅斯外長拉夫羅夫抵達平壤，與朝鮮外相崔善姬舉行會談。", lang="zh-TW"))
    assert trad.relevant and simp.relevant
    assert trad.types["high_level_visit"] == pytest.approx(simp.types["high_level_visit"])
    assert normalize("會談").text == normalize("会谈").text


def test_prefilter_rejects_items_naming_neither_side() -> None:
    pf = prefilter(shared_data())
    assert pf.sides(normalize("The city council approved a new budget for schools.").text) == set()
    assert pf.sides(normalize("Le Kremlin et la Corée du Nord").text) == {"ru", "kp"}
    assert pf.sides(normalize("Шойгу прибыл").text) == {"ru"}
    # a name inside another word is no name
    assert pf.sides(normalize("The Prussian army").text) == set()
    c = classify(item("The central bank kept its key rate unchanged on Thursday."))
    assert not c.relevant and "prefilter" in c.explanation[-1]


# --- precision guards --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "South Korean Deputy Foreign Minister Ivan Petrovsky met North Korean diplomats in "
            "Pyongyang.",
            "en",
        ),
        (
            "Le vice-ministre sud-coréen Pavel Sorokine a rencontré des diplomates nord-coréens "
            "à Pyongyang.",
            "fr",
        ),
    ],
)
def test_nationality_beats_a_guessed_given_name(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert not c.relevant, c.explanation


def test_a_guessed_russian_without_other_nationality_still_counts() -> None:
    c = classify(
        item("Deputy Minister Ivan Petrovsky met North Korean diplomats in Pyongyang.", lang="en")
    )
    assert "Ivan Petrovsky" in c.actors


@pytest.mark.parametrize(
    ("title", "body", "lang"),
    [
        (
            "Russia and South Korea hold talks in Seoul",
            "Moscow said its military cooperation with North Korea would not change. "
            "Talks between Moscow and North Korea on troops were not on the agenda.",
            "en",
        ),
        (
            "Россия и Южная Корея провели переговоры в Сеуле",
            "Москва заявила, что военное сотрудничество с КНДР не изменится. "
            "Переговоры Москвы и КНДР о войсках не обсуждались.",
            "ru",
        ),
    ],
)
def test_a_third_country_frame_in_the_headline_carries(title: str, body: str, lang: str) -> None:
    c = classify(item(f"{title}\n\n{body}", title=title, lang=lang))
    assert not c.relevant, c.explanation
    assert any("third-country frame" in line for line in c.explanation), c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Vladimir Putin received Kim Jong Un at the Vostochny Cosmodrome on Wednesday.\n\n"
            "The weather was fine.\n\n"
            "The two leaders also discussed artillery shells and troops.",
            "en",
        ),
        (
            "Wladimir Putin empfing Kim Jong Un am Mittwoch im Kosmodrom Wostotschny.\n\n"
            "Das Wetter war gut.\n\n"
            "Die beiden Staatschefs sprachen auch über Munition und Truppen.",
            "de",
        ),
    ],
)
def test_the_two_leaders_resolve_to_the_last_named_parties(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert any("the two sides' resolved" in line for line in c.explanation), c.explanation
    assert c.types["military"] > 0


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Russia and North Korea will keep strengthening their cooperation. Cooperation "
            "between Moscow and Pyongyang keeps developing. Russian and North Korean ties and "
            "cooperation are strong. Moscow values its cooperation with Pyongyang.",
            "en",
        ),
        (
            "La Russie et la Corée du Nord vont renforcer leur coopération. La coopération "
            "entre Moscou et Pyongyang se développe. La coopération russo-nord-coréenne est "
            "solide. Moscou apprécie sa coopération avec Pyongyang.",
            "fr",
        ),
    ],
)
def test_generic_cooperation_words_alone_give_no_relevance(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert not c.relevant, c.explanation
    assert any("only generic cooperation words" in line for line in c.explanation)


def test_a_sentence_dated_long_before_publication_is_background() -> None:
    text = (
        "Exhibition opens in Moscow.\n\nThe show recalls that Vladimir Putin met Kim Jong "
        "Il in Pyongyang on 19 July 2000."
    )
    c = classify(item(text, lang="en"))
    assert any("background: dated 2000-07-19" in line for line in c.explanation)


@pytest.mark.parametrize(
    ("caption", "lang"),
    [
        ("Photo: Vladimir Putin and Kim Jong Un at talks in Pyongyang", "en"),
        ("Фото: Владимир Путин и Ким Чен Ын на переговорах в Пхеньяне", "ru"),
    ],
)
def test_photo_captions_are_background(caption: str, lang: str) -> None:
    c = classify(item(f"Markets closed higher.\n\n{caption}", lang=lang))
    assert any("background: photo caption" in line for line in c.explanation), c.explanation


def test_a_cited_intelligence_service_adds_no_type() -> None:
    cited = classify(
        item(
            "According to the SVR, Russian and North Korean officials held talks in Pyongyang.",
            lang="en",
        )
    )
    party = classify(
        item("SVR officers held talks with North Korean officials in Pyongyang.", lang="en")
    )
    assert cited.types["security"] < 0.5 <= party.types["security"]


def test_a_domain_word_inside_a_job_title_is_weak() -> None:
    for text, lang in [
        (
            "The Secretary of the Security Council, Sergei Shoigu, visited Pyongyang and met "
            "Kim Jong Un.",
            "en",
        ),
        (
            "Le secrétaire du Conseil de sécurité Sergueï Choïgou s'est rendu à Pyongyang et a "
            "rencontré Kim Jong-un.",
            "fr",
        ),
    ]:
        c = classify(item(text, lang=lang))
        assert c.types["high_level_visit"] >= 0.5, c.explanation
        assert c.types["security"] < 0.5 * c.types["high_level_visit"], c.explanation


@pytest.mark.parametrize(
    ("lead", "object_sentence", "lang"),
    [
        (
            "A Russian delegation met North Korean officials in Khabarovsk on Monday.",
            "At the end the two sides signed an agreement on fisheries.",
            "en",
        ),
        (
            "Делегация России встретилась в Хабаровске с представителями КНДР.",
            "По итогам стороны подписали соглашение о рыболовстве.",
            "ru",
        ),
    ],
)
def test_a_document_signed_in_the_body_is_the_event(
    lead: str, object_sentence: str, lang: str
) -> None:
    filler = " ".join(["The weather was mild and the streets were calm."] * 4)
    text = f"{lead}\n\n{filler}\n\n{object_sentence}"
    c = classify(item(text, lang=lang))
    assert c.types["agreement"] >= 0.5, c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The Kremlin denied reports that Vladimir Putin plans to visit North Korea.", "en"),
        ("Le Kremlin a démenti que Vladimir Poutine prévoie de se rendre en Corée du Nord.", "fr"),
    ],
)
def test_denials_cancel(text: str, lang: str) -> None:
    assert not classify(item(text, lang=lang)).relevant


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "UE nałożyła sankcje na północnokoreańskich generałów za pomoc wojskową dla Rosji",
            "Unia Europejska nałożyła w poniedziałek sankcje na kilku generałów Korei "
            "Północnej oskarżonych o dostawy broni do Rosji.",
            "pl",
        ),
        (
            "यूरोपीय संघ ने उत्तर कोरियाई जनरलों पर नए प्रतिबंध लगाए",
            "यूरोपीय संघ ने रूस को हथियार देने के आरोप में उत्तर कोरिया के कई जनरलों पर प्रतिबंध लगाए।",
            "hi",
        ),
        (
            "Rusko vetovalo rezoluci o sankcích proti KLDR",
            "Rusko v Radě bezpečnosti OSN vetovalo prodloužení mandátu expertů, kteří "
            "sledují sankce proti Severní Koreji.",
            "cs",
        ),
        (
            "AB, Kuzey Koreli generallere yaptırım uyguladı",
            "Avrupa Birliği, Rusya'ya silah sağladığı gerekçesiyle Kuzey Koreli generallere "
            "yaptırım kararı aldı.",
            "tr",
        ),
        (
            "Uni Eropa jatuhkan sanksi terhadap jenderal Korea Utara",
            "Uni Eropa menjatuhkan sanksi kepada sejumlah jenderal Korea Utara yang dituduh "
            "memasok senjata ke Rusia.",
            "id",
        ),
    ],
)
def test_a_sanctions_or_veto_headline_is_no_contact(title: str, text: str, lang: str) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Analiza: kako ruska nafta stiže u Severnu Koreju",
            "Ruski tankeri su od marta isporučili Severnoj Koreji više od milion barela nafte.",
            "sr",
        ),
        (
            "Analysis: how Russian oil reaches North Korea",
            "Russian tankers have delivered more than a million barrels of oil to North "
            "Korea since March.",
            "en",
        ),
    ],
)
def test_an_analysis_whose_headline_states_a_contact_is_no_opinion(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert c.relevant and "economic" in c.reported_types(), c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Komentář: Kreml a Pchjongjang, spojenectví z nouze",
            "Vztahy Ruska a Severní Koreje se podle autora opírají spíše o společného "
            "nepřítele než o společné zájmy.",
            "cs",
        ),
        (
            "Analiz: Moskova-Pyongyang ilişkileri nereye gidiyor?",
            "Rusya ile Kuzey Kore arasındaki yakınlaşma, bölgedeki dengeleri etkiliyor.",
            "tr",
        ),
    ],
)
def test_an_opinion_headline_with_only_ties_is_no_contact(title: str, text: str, lang: str) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Putin and Kim hold talks in Pyongyang",
            "Vladimir Putin and Kim Jong Un held talks in Pyongyang on Wednesday.\n\n"
            "After the talks they signed a treaty on comprehensive strategic partnership.",
            "en",
        ),
        (
            "Putin i Kim rozmawiali w Pjongjangu",
            "Władimir Putin i Kim Dzong Un przeprowadzili w środę rozmowy w Pjongjangu.\n\n"
            "Po rozmowach podpisano traktat o wszechstronnym partnerstwie strategicznym.",
            "pl",
        ),
    ],
)
def test_a_signing_that_names_no_party_continues_the_talks(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert c.primary == "summit" and "agreement" in c.reported_types(), c.explanation


@pytest.mark.parametrize(
    ("text", "lang", "economic"),
    [
        ("Kim Jong Un arrived in Vladivostok by armoured train for talks with Putin.", "en", False),
        (
            "Kim Jong Un ist mit seinem Sonderzug zu Gesprächen mit Putin in Wladiwostok "
            "eingetroffen.",
            "de",
            False,
        ),
        ("Ким Чен Ын прибыл во Владивосток на бронепоезде для переговоров с Путиным.", "ru", False),
        (
            "The first direct passenger train between Moscow and Pyongyang since 2020 left "
            "the Russian capital on Thursday, Russian Railways said.",
            "en",
            True,
        ),
    ],
)
def test_the_leaders_train_is_travel_not_a_rail_link(text: str, lang: str, economic: bool) -> None:
    c = classify(item(text, lang=lang))
    assert c.relevant and ("economic" in c.reported_types()) == economic, c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Заместник-министърът на външните работи на Казахстан Олег Петров проведе "
            "консултации с колегите си в Пхенян.",
            "bg",
        ),
        ("هیئت‌هایی از روسیه و ویتنام نیز برای شرکت در جشن سالگرد حزب به پیونگ‌یانگ رفتند.", "fa"),
        (
            "وصل الرئيس الروسي إلى هانوي في زيارة دولة إلى فيتنام قادماً من بيونغ يانغ.",
            "ar",
        ),
    ],
)
def test_vietnam_and_kazakhstan_are_third_parties(text: str, lang: str) -> None:
    # a Kazakh official with a Russian-looking name is no Russian; Vietnam is a third country
    c = classify(item(text, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang", "primary"),
    [
        (
            "",
            "Kim Jong-un heeft president Poetin een felicitatiebrief gestuurd ter "
            "gelegenheid van zijn verjaardag.",
            "nl",
            "message",
        ),
        (
            "Bouw van nieuwe autobrug tussen Rusland en Noord-Korea begonnen",
            "De bouw van de brug over de grensrivier begon woensdag.",
            "nl",
            "economic",
        ),
    ],
)
def test_dutch_compounds_carry_their_cue(title: str, text: str, lang: str, primary: str) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert c.relevant and c.primary == primary, c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Japanese intelligence: thousands of North Korean workers sent to Russia",
            "North Korea has sent thousands of workers to Russian construction sites this year.",
            "en",
        ),
        (
            "Juhokórejská rozviedka: do Ruska prišli tisíce severokórejských robotníkov",
            "Severná Kórea vyslala do Ruska tisíce robotníkov na stavby.",
            "sk",
        ),
    ],
)
def test_a_source_before_the_headline_colon_is_no_party_and_no_cue(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert c.relevant and c.primary == "economic", c.explanation
    assert "security" not in c.reported_types(), c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ministrul nord-coreean de Externe, primit la Minsk de omologul său Ivan Sokolov.", "ro"),
        (
            "North Korea's foreign minister was received in Minsk by her counterpart Ivan Sokolov.",
            "en",
        ),
    ],
)
def test_a_counterpart_takes_the_side_of_the_third_country_person_it_names(
    text: str, lang: str
) -> None:
    # the guessed Russian name is Belarusian after Minsk, and so is the counterpart role
    c = classify(item(text, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "Russian oil keeps reaching North Korea, satellite images show",
            "Satellite images show Russian tankers unloading refined oil at the North "
            "Korean port of Rajin this month. Satellite imagery of the port also shows "
            "Russian coal being loaded for North Korea.",
        ),
        (
            "ja",
            "ロシア産石油、北朝鮮へ　衛星画像で判明",
            "衛星画像の分析で、ロシアのタンカーが北朝鮮の羅津港で石油精製品を荷揚げしていることがわかった。",
        ),
        (
            "pt",
            "Petróleo russo continua a chegar à Coreia do Norte, mostram imagens de satélite",
            "Imagens de satélite mostram petroleiros russos a descarregar produtos "
            "petrolíferos no porto norte-coreano de Rajin.",
        ),
    ],
)
def test_satellite_images_are_evidence_not_military_cooperation(
    lang: str, title: str, text: str
) -> None:
    got = classify(item(f"{title}\n\n{text}", title=title, lang=lang))
    assert "economic" in got.reported_types(), got.explanation
    assert "military" not in got.reported_types(), got.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        (
            "en",
            "South Korea and US leaders vow joint response to Russia-North Korea military ties",
            "South Korean President Lee Jae-myung and US President Donald Trump agreed at "
            "their summit in Washington on Monday to respond jointly to military "
            "cooperation between Russia and North Korea.",
        ),
        (
            "ko",
            "한미 정상회담…북러 군사협력에 공동 대응",
            "이재명 대통령과 도널드 트럼프 미국 대통령은 25일 워싱턴에서 정상회담을 열고 "
            "북러 군사협력에 공동으로 대응하기로 했다.",
        ),
    ],
)
def test_two_third_countries_meeting_about_the_ties_is_no_contact(
    lang: str, title: str, text: str
) -> None:
    got = classify(item(f"{title}\n\n{text}", title=title, lang=lang))
    assert not got.relevant, got.explanation
