"""Verdict mechanisms (issue 12, points 4 and 7), each on short texts written for it in
several languages: the venue of a visit (direction), the rank of the party nearest the
visit word, recalled visits and month-dated background, page furniture, the stopword
vote of the language guess, and `monitor eval`'s per-language, attribute and confusion
figures."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.classify.evaluate import LabelledItem, render_report, score_corpus
from monitor.models import Item
from monitor.plugins.rudprk import classify, langid
from monitor.plugins.rudprk.lexicon import knowledge
from monitor.plugins.rudprk.sentences import layout

PUB = datetime(2025, 6, 20, 9, 0)


def item(text: str, title: str = "", lang: str | None = None) -> Item:
    return Item(id="t", title=title, text=text, language=lang, published=PUB)


# --- direction: where the visit or meeting took place ---------------------------------


@pytest.mark.parametrize(
    ("title", "text", "lang", "want"),
    [
        (
            "Russian foreign minister holds talks in Pyongyang",
            "Russian Foreign Minister Sergei Lavrov held talks with Choe Son Hui in "
            "Pyongyang on Thursday, Moscow said.",
            "en",
            "ru_to_kp",
        ),
        (
            "Глава МИД КНДР провела переговоры в Москве",
            "Министр иностранных дел КНДР Чхве Сон Хи провела переговоры с Сергеем "
            "Лавровым в Москве.",
            "ru",
            "kp_to_ru",
        ),
        (
            "Lavrov et Choe Son-hui se rencontrent à Pékin",
            "Le ministre russe des Affaires étrangères Sergueï Lavrov a rencontré son "
            "homologue nord-coréenne Choe Son-hui à Pékin en marge d'une conférence.",
            "fr",
            "third",
        ),
    ],
)
def test_direction_follows_the_venue_named_with_a_preposition(
    title: str, text: str, lang: str, want: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert c.relevant and c.direction == want, c.explanation


def test_a_country_named_as_subject_does_not_outvote_the_venue() -> None:
    # "Russia" and "North Korea" as subjects; the venue is the place after "in"
    c = classify(
        item(
            "Russia and North Korea held talks in Pyongyang. Russian Deputy Prime Minister "
            "Alexander Kozlov met North Korean officials in Pyongyang.",
            title="Russia, North Korea hold talks in Pyongyang",
            lang="en",
        )
    )
    assert c.direction == "ru_to_kp", c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Russia delivered 50,000 tonnes of wheat to North Korea on Monday.", "en"),
        ("La Russie a livré 50 000 tonnes de blé à la Corée du Nord lundi.", "fr"),
    ],
)
def test_shipments_have_no_direction(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert c.relevant and c.primary == "economic" and c.direction is None, c.explanation


def test_a_document_gets_a_direction_only_with_a_venue() -> None:
    where = classify(
        item(
            "Russia and North Korea signed a health cooperation agreement in Pyongyang on Tuesday.",
            title="Russia, North Korea sign health agreement in Pyongyang",
            lang="en",
        )
    )
    assert where.primary == "agreement" and where.direction == "ru_to_kp", where.explanation
    nowhere = classify(
        item(
            "The treaty between Russia and North Korea entered into force on Wednesday.",
            title="Russia-North Korea treaty enters into force",
            lang="en",
        )
    )
    assert nowhere.relevant and nowhere.direction is None, nowhere.explanation


# --- rank: the party nearest the visit word --------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Sergei Shoigu met Kim Jong Un in Pyongyang on Putin's instructions.", "en"),
        ("Сергей Шойгу по поручению Путина встретился с Ким Чен Ыном в Пхеньяне.", "ru"),
        ("Shoigu ha incontrato Kim Jong-un a Pyongyang su incarico di Putin.", "it"),
    ],
)
def test_the_leader_who_sends_an_envoy_is_not_a_party(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    reported = c.reported_types()
    assert c.relevant and "high_level_visit" in reported, c.explanation
    assert "summit" not in reported, c.explanation


def test_a_visit_recalled_in_the_body_is_no_summit() -> None:
    text = (
        "Russia and North Korea began building a road bridge across the Tumen River on "
        "Wednesday. Workers on both banks started pouring the foundations. The crossing "
        "is due to open next year. Officials expect freight traffic to grow. "
        "The bridge agreement was signed during Putin's visit to Pyongyang in June 2024."
    )
    c = classify(item(text, title="Russia and North Korea start building bridge", lang="en"))
    assert c.relevant and c.primary == "economic", c.explanation
    assert "summit" not in c.reported_types(), c.explanation


def test_a_sentence_dated_by_month_and_year_long_ago_is_background() -> None:
    c = classify(
        item(
            "Lavrov and Choe Son Hui held talks in Pyongyang in October 2024.",
            title="",
            lang="en",
        )
    )
    assert any("background: dated 2024-10-31" in line for line in c.explanation), c.explanation


# --- page furniture ----------------------------------------------------------------------


def test_menus_and_time_stamps_are_not_the_lead() -> None:
    text = (
        "Home | News | Politics | World | Economy\n"
        "Wednesday, 3 September 2025, 11:48\n"
        "Updated: 3 September 2025, 14:05\n"
        "Putin and Kim Jong Un held talks in Beijing.\n"
    )
    lay = layout(knowledge("en"), text)
    assert [s.text for s in lay.sentences] == ["Putin and Kim Jong Un held talks in Beijing."]
    assert lay.sentences[0].region == "head"


# --- language guess ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Putin met Kim Jong Un in Pyongyang for talks with the leader.", "en"),
        ("Poutine a rencontré Kim Jong-un à Pyongyang pour des entretiens.", "fr"),
        ("Putin traf Kim Jong Un in Pjöngjang zu Gesprächen mit dem Machthaber.", "de"),
    ],
)
def test_stopwords_settle_short_texts_full_of_names(text: str, want: str) -> None:
    assert langid.guess(text) == want


# --- monitor eval: per language, attributes, confusion ----------------------------------


def _labelled(text: str, lang: str, relevant: bool, **gold: object) -> LabelledItem:
    types = tuple(str(t) for t in gold.pop("types", ()))  # type: ignore[union-attr]
    primary = gold.pop("primary", None)
    return LabelledItem(
        item(text, lang=lang), relevant, types, primary if primary else None, lang, gold
    )


def test_eval_reports_accuracy_where_f1_is_undefined_and_attributes() -> None:
    records = [
        _labelled(
            "Russian Foreign Minister Sergei Lavrov held talks with Choe Son Hui in Pyongyang.",
            "en",
            True,
            types=["high_level_visit"],
            primary="high_level_visit",
            direction="ru_to_kp",
            status="reported",
        ),
        _labelled("Markets were calm in Tokyo on Monday.", "en", False),
        _labelled("Les marchés étaient calmes à Tokyo lundi.", "fr", False),
        _labelled(
            "Le ministre russe Sergueï Lavrov a rencontré Choe Son-hui à Pyongyang.",
            "fr",
            False,
        ),
    ]
    report = score_corpus(classify, records)
    data = report.to_json()
    en = data["per_language"]["en"]
    assert en["f1_defined"] and en["accuracy"] == 1.0 and en["score"] == en["relevance"]["f1"]
    assert data["attributes"]["direction"] == {"accuracy": 1.0, "correct": 1, "total": 1}
    assert data["attributes"]["primary"]["total"] == 1
    assert data["attributes"]["event_date"]["total"] == 0  # not labelled: not compared
    fr = data["per_language"]["fr"]
    assert fr["f1_defined"]  # a false positive: F1 is defined (0.0)
    assert fr["accuracy"] == 0.5
    kinds = {c["kind"] for c in data["confusion"]}
    assert "false positive (irrelevant item called relevant)" in kinds
    text = render_report(report)
    assert "direction accuracy" in text and "most frequent errors" in text


def test_eval_all_true_negatives_prints_accuracy() -> None:
    report = score_corpus(classify, [_labelled("Markets were calm in Tokyo.", "en", False)])
    en = report.to_json()["per_language"]["en"]
    assert not en["f1_defined"] and en["score"] == 1.0 == en["accuracy"]
    assert "F1 undefined" in render_report(report)


# --- precision: reactions, opinion, stance remarks, invitations, host ------------------


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Japan protests to Russian ambassador over military ties with North Korea",
            "Japan's foreign ministry summoned the Russian ambassador on Monday and "
            "protested over Moscow's military cooperation with Pyongyang, which it said "
            "violates UN resolutions.",
            "en",
        ),
        (
            "Seúl convoca al embajador ruso por la cooperación militar con Corea del Norte",
            "El Ministerio de Exteriores surcoreano convocó al embajador de Rusia y protestó "
            "por el envío de soldados norcoreanos a Rusia.",
            "es",
        ),
        (
            "한국 정부, 러시아 대사 초치…북러 군사협력 항의",
            "외교부는 주한 러시아대사를 초치해 북한군 파병 등 북러 군사협력에 항의했다.",
            "ko",
        ),
    ],
)
def test_a_headline_reaction_by_a_third_party_is_no_contact(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert not c.relevant, c.explanation


def test_sanctions_evaded_by_a_contact_are_still_the_contact() -> None:
    c = classify(
        item(
            "Thousands of North Korean workers arrived in Russia this year to work on "
            "construction sites, officials said.",
            title="North Korean workers sent to Russia despite sanctions",
            lang="en",
        )
    )
    assert c.relevant, c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Analysis: how far can the Moscow–Pyongyang partnership go?",
            "The partnership between Russia and North Korea may bring economic benefits "
            "to both, but trade between the two countries remains small.",
            "en",
        ),
        (
            "Kommentar: Was Moskau von Pjöngjang will",
            "Die Partnerschaft zwischen Russland und Nordkorea könnte beiden wirtschaftliche "
            "Vorteile bringen, doch der Handel bleibt gering.",
            "de",
        ),
    ],
)
def test_an_opinion_piece_without_an_event_is_not_relevant(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Kremlin spokesman Dmitry Peskov said North Korea had a sovereign right to test "
            "ballistic missiles.",
            "en",
        ),
        (
            "Официальный представитель МИД России Мария Захарова на брифинге заявила, что "
            "КНДР имеет суверенное право на испытания баллистических ракет.",
            "ru",
        ),
        (
            "Le porte-parole du Kremlin Dmitri Peskov a déclaré que la Corée du Nord avait "
            "le droit souverain de tester des missiles balistiques.",
            "fr",
        ),
        (
            "Mluvčí Kremlu Dmitrij Peskov řekl, že KLDR má suverénní právo zkoušet "
            "balistické rakety.",
            "cs",
        ),
        (
            "Kremlin Sözcüsü Dmitriy Peskov, Kuzey Kore'nin balistik füze denemesi "
            "yapmasının egemenlik hakkı olduğunu söyledi.",
            "tr",
        ),
        (
            "Juru bicara Kremlin Dmitry Peskov mengatakan Korea Utara memiliki hak "
            "berdaulat untuk menguji rudal balistik.",
            "id",
        ),
        (
            "قال المتحدث باسم الكرملين دميتري بيسكوف إن من حق كوريا الشمالية اختبار "
            "الصواريخ الباليستية.",
            "ar",
        ),
        (
            "प्रेस वार्ता में क्रेमलिन के प्रवक्ता दिमित्री पेसकोव ने कहा कि उत्तर कोरिया को "
            "बैलिस्टिक मिसाइलों के परीक्षण का संप्रभु अधिकार है।",
            "hi",
        ),
        (
            "Purtătorul de cuvânt al Kremlinului, Dmitri Peskov, a declarat că Coreea de "
            "Nord are dreptul suveran să testeze rachete balistice.",
            "ro",
        ),
        (
            "Woordvoerder van het Kremlin Dmitri Peskov zei dat Noord-Korea het soevereine "
            "recht heeft om ballistische raketten te testen.",
            "nl",
        ),
        (
            "Речник кремля Дмитро Пєсков заявив, що КНДР має суверенне право "
            "випробовувати балістичні ракети.",
            "uk",
        ),
        (
            "Russia's UN envoy told a briefing that Washington and Seoul provoke "
            "Pyongyang, whose missile tests answer US drills.",
            "en",
        ),
    ],
)
def test_a_russian_stance_remark_on_a_missile_test_is_no_contact(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert not c.relevant, c.explanation


@pytest.mark.parametrize(
    "text",
    [
        "Pentagon spokesman Pat Ryder said North Korea has sent about 10,000 soldiers to "
        "Russia for training near Kursk.",
        "A Pentagon spokesman said Russia has received artillery shells from North Korea.",
    ],
)
def test_a_third_party_spokesman_reporting_a_contact_is_a_source(text: str) -> None:
    # the party named nearest before the remark word is the speaker: no Russian stance
    c = classify(item(text, lang="en"))
    assert c.relevant and c.primary == "military", c.explanation


def test_an_invitation_below_the_headline_is_background() -> None:
    text = (
        "Putin and Kim Jong Un held talks in Beijing on Wednesday after a military "
        "parade. Putin invited Kim to visit Russia."
    )
    c = classify(item(text, title="Putin and Kim Jong Un hold talks in Beijing", lang="en"))
    # the visit to Russia offered is no venue: the summit took place in Beijing
    assert c.primary == "summit" and c.direction == "third", c.explanation


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        ("Kim Jong Un hosted Russian Defence Minister Andrei Belousov.", "en", "ru_to_kp"),
        (
            "Владимир Путин принял министра иностранных дел КНДР Чхве Сон Хи.",
            "ru",
            "kp_to_ru",
        ),
        ("김정은 국무위원장이 러시아 국방장관 벨로우소프를 접견했다.", "ko", "ru_to_kp"),
    ],
)
def test_the_host_who_receives_gives_the_venue(text: str, lang: str, want: str) -> None:
    c = classify(item(text, lang=lang))
    assert c.relevant and c.primary == "high_level_visit", c.explanation
    assert c.direction == want, c.explanation


def test_arabic_script_terms_start_a_word() -> None:
    from monitor.plugins.rudprk.matcher import Matcher

    m = Matcher()
    m.add("نامه", ("cue", "message", 1.0))
    m.compile()
    assert not m.find("برنامه هسته‌ای")  # a programme is no letter
    assert m.find("نامه پوتین")
    m2 = Matcher()
    m2.add("رسالة", ("cue", "message", 1.0))
    m2.compile()
    assert m2.find("برسالة من بوتين")  # after the proclitic ب


def test_a_numbered_list_of_other_headlines_ends_the_article() -> None:
    body = "\n".join(
        ["Markets were calm on Monday as investors awaited the central bank decision."] * 6
    )
    tail = "\n".join(
        [
            "① Putin visits Pyongyang, holds summit with Kim",
            "② Russian defence minister arrives in Pyongyang",
            "③ Shoigu meets Kim Jong Un",
        ]
    )
    lay = layout(knowledge("en"), body + "\n" + tail + "\n")
    assert lay.cut_at is not None and all("Putin" not in s.text for s in lay.sentences)


# --- types and status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Russian tourists arrived at Kim Jong Un's new beach resort in Wonsan.", "en"),
        ("Des touristes russes sont arrivés à la station balnéaire de Kim Jong-un à Wonsan.", "fr"),
        ("Putin received North Korean Foreign Minister Choe Son Hui in the Kremlin.", "en"),
    ],
)
def test_a_leader_at_home_or_as_an_owner_is_no_summit(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert "summit" not in c.reported_types(), c.explanation


def test_a_leader_abroad_with_no_named_counterpart_is_a_summit() -> None:
    c = classify(item("Putin arrived in Pyongyang on Tuesday.", lang="en"))
    assert c.primary == "summit" and c.direction == "ru_to_kp", c.explanation


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Russian and North Korean officials met in Moscow, where a cooperation protocol "
            "was signed.",
            "en",
        ),
        ("ロシアと北朝鮮は、科学技術協力に関する政府間の議定書に署名した。", "ja"),
    ],
)
def test_a_document_before_its_signing_verb_is_the_event(text: str, lang: str) -> None:
    c = classify(item(text, lang=lang))
    assert "agreement" in c.reported_types(), c.explanation


def test_status_follows_the_title_not_a_future_remark_in_the_lead() -> None:
    c = classify(
        item(
            "Workers completed the main span of the road bridge over the Tumen River on "
            "Monday. The bridge will open to traffic next year, officials said, and trade "
            "is expected to grow.",
            title="Russia and North Korea completed the main span of their road bridge",
            lang="en",
        )
    )
    assert c.relevant and c.status == "reported", c.explanation
    planned = classify(
        item(
            "The Russian foreign minister will travel to Pyongyang next week for talks with "
            "Choe Son Hui.",
            title="Lavrov to visit Pyongyang next week",
            lang="en",
        )
    )
    assert planned.status == "announced", planned.explanation


# --- third-country frame ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Lavrov receives new South Korean ambassador, talks touch on Pyongyang",
            "Russian Foreign Minister Sergei Lavrov received the new South Korean ambassador "
            "in Moscow. Their talks also touched on Pyongyang and its missile programme.",
            "en",
        ),
        (
            "Лавров принял нового посла Южной Кореи и обсудил ситуацию вокруг Пхеньяна",
            "Министр иностранных дел России Сергей Лавров принял в Москве нового посла "
            "Южной Кореи. Стороны обсудили и ситуацию вокруг Пхеньяна.",
            "ru",
        ),
    ],
)
def test_the_dprk_named_by_its_capital_in_a_third_country_frame_is_a_topic(
    title: str, text: str, lang: str
) -> None:
    c = classify(item(text, title=title, lang=lang))
    assert not c.relevant, c.explanation


def test_a_news_agency_in_the_headline_is_no_third_party() -> None:
    c = classify(
        item(
            "Xinhua reported that Russian President Vladimir Putin arrived in Pyongyang "
            "for a state visit to North Korea.",
            title="Xinhua: Putin arrives in Pyongyang for a state visit",
            lang="en",
        )
    )
    assert c.relevant and c.primary == "summit", c.explanation


@pytest.mark.parametrize(
    ("title", "text", "lang"),
    [
        (
            "Kim felicita Putin e chama-lhe o seu camarada mais próximo",
            "O líder norte-coreano Kim Jong-un enviou uma mensagem de felicitações ao "
            "Presidente russo Vladimir Putin, a quem chamou o seu camarada mais próximo.",
            "pt",
        ),
        (
            "金正恩与普京在北京会晤",
            "朝鲜最高领导人金正恩与俄罗斯总统普京星期三在北京举行会谈，持续约两个小时。",
            "zh",
        ),
        (
            "रूस और उत्तर कोरिया के बीच सड़क पुल का निर्माण शुरू",
            "रूस और उत्तर कोरिया के बीच तुमेन नदी पर सड़क पुल का निर्माण बुधवार को शुरू हो गया।",
            "hi",
        ),
        (
            "First direct Moscow-Pyongyang flight takes off",
            "The first regular passenger flight between Moscow and Pyongyang took off on "
            "Wednesday and is scheduled to run twice a month.",
            "en",
        ),
    ],
)
def test_a_held_event_is_reported_not_announced(title: str, text: str, lang: str) -> None:
    # "mais próximo" (closest) is no "next"; 举行, शुरू हो गया, "took off" are past events
    c = classify(item(text, title=title, lang=lang))
    assert c.relevant and c.status == "reported", c.explanation


@pytest.mark.parametrize(
    ("lang", "title", "text", "status"),
    [
        (
            "en",
            "A year on, how the treaty changed Russia and North Korea",
            "Russia and North Korea signed their partnership treaty in Pyongyang in June "
            "2024. Since then Russian Defence Minister Andrei Belousov has visited "
            "Pyongyang, and North Korean Foreign Minister Choe Son Hui has held talks with "
            "Sergei Lavrov in Moscow.",
            "retrospective",
        ),
        (
            "pt",
            "Um ano depois, o tratado entre Moscovo e Pyongyang mudou a relação",
            "A Rússia e a Coreia do Norte assinaram o tratado de parceria em Pyongyang em "
            "junho de 2024. Desde então, o ministro russo da Defesa, Andrei Belousov, "
            "visitou Pyongyang e a ministra norte-coreana dos Negócios Estrangeiros, Choe "
            "Son-hui, reuniu-se com Serguei Lavrov em Moscovo.",
            "retrospective",
        ),
        (
            "en",
            "Shoigu visits Pyongyang again, a year after the treaty",
            "Russian Security Council Secretary Sergei Shoigu arrived in Pyongyang on "
            "Friday for talks with Kim Jong Un.",
            "reported",
        ),
    ],
)
def test_a_year_on_recounts_a_year_after_does_not(
    lang: str, title: str, text: str, status: str
) -> None:
    got = classify(item(f"{title}\n\n{text}", title=title, lang=lang))
    assert got.relevant and got.status == status, got.explanation
