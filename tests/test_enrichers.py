"""Built-in enrichers: full-text extraction and language identification."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from pathlib import Path

import pytest

import monitor.plugins.language as language_plugin
from monitor.config import Config, FetchConfig
from monitor.ingest.fetch import Fetcher
from monitor.models import Item
from monitor.plugins import fulltext
from monitor.plugins.language import LanguageIdentifier
from monitor.testing.feedserver import FeedServer

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
BOILERPLATE = (
    "Acceptez-vous nos traceurs publicitaires",  # cookie banner
    "Rubrique Économie",  # navigation
    "Partager sur Facebook",  # share buttons
    "Lee et Xi se rencontrent à Gyeongju",  # related articles
    "Tous droits réservés",  # footer
)


def article_page(text: str) -> str:
    """The seed text wrapped in the furniture of a real news page."""
    title, _, body = text.partition("\n")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in body.split("\n") if p.strip())
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{html.escape(title[:90])}</title></head><body>
<div id="cookie-banner" class="cookie-consent" role="dialog"><p>Acceptez-vous nos traceurs
publicitaires ? <button>Tout accepter</button> <button>Refuser</button></p></div>
<header><nav class="menu"><ul><li><a href="/">Accueil</a></li><li><a href="/monde">Monde</a></li>
<li><a href="/eco">Rubrique Économie</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>{html.escape(title[:90])}</h1>
<div class="share-buttons"><a href="#">Partager sur Facebook</a> <a href="#">Partager sur X</a>
<a href="#">Envoyer par courriel</a></div>
{paragraphs}</article>
<aside class="related-articles"><h2>Articles liés</h2><ul>
<li><a href="/a1">Sommet de l'APEC : Lee et Xi se rencontrent à Gyeongju</a></li>
<li><a href="/a2">La Corée du Sud et la Russie tiennent une réunion à Moscou</a></li>
<li><a href="/a3">Choe Son Hui attendue à Moscou la semaine prochaine</a></li></ul></aside></main>
<footer><p>© 2025 Journal Exemple. Tous droits réservés. Mentions légales · Contact</p></footer>
</body></html>"""


@pytest.fixture(autouse=True)
def default_languages() -> None:
    """Other tests start the plugin with narrower configs; these tests assume the default."""
    language_plugin.monitor_startup(config=Config())


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


# --- fulltext ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_fulltext_keeps_the_article_and_drops_the_furniture(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    summary = text.split("\n")[0]
    item = Item(id="x", title="t", text=summary, summary=summary, html=article_page(text))
    result = fulltext.monitor_enrich(item=item)
    assert result is not None and result["meta"] == {"text_source": "extracted"}
    extracted = result["text"]
    article_words = set(text.split())
    assert len(article_words & set(extracted.split())) / len(article_words) > 0.95
    for furniture in BOILERPLATE:
        assert furniture not in extracted


def test_fulltext_through_a_real_fetch(server: FeedServer) -> None:
    text = SEEDS[0].read_text(encoding="utf-8")
    server.route(
        "/article",
        article_page(text).encode("utf-8"),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )

    async def fetch() -> str | None:
        async with Fetcher(FetchConfig()) as f:
            return (await f.fetch_article(server.url("/article"), allow_private=True)).text

    page = asyncio.run(fetch())
    item = Item(id="x", title="t", text="court résumé", url=server.url("/article"), html=page)
    result = fulltext.monitor_enrich(item=item)
    assert result is not None and "Kochetkov" in result["text"]


def test_fulltext_without_html_does_nothing() -> None:
    assert fulltext.monitor_enrich(item=Item(id="x", text="summary")) is None


def test_fulltext_keeps_the_summary_when_the_page_has_no_article() -> None:
    page = "<html><body><nav><a href='/'>Accueil</a></nav><p>Connexion</p></body></html>"
    result = fulltext.monitor_enrich(item=Item(id="x", text="A summary.", html=page))
    assert result is not None and "text" not in result
    assert result["meta"]["text_source"] == "summary"
    assert result["meta"]["extraction_error"]


def test_fulltext_keeps_a_longer_feed_text() -> None:
    text = SEEDS[1].read_text(encoding="utf-8")
    page = article_page(text[:400])
    result = fulltext.monitor_enrich(item=Item(id="x", text=text, html=page))
    assert result is not None and "text" not in result
    assert "not longer" in result["meta"]["extraction_error"]


def test_fulltext_survives_garbage_html() -> None:
    page = "<html><body>" + "<div>" * 5000 + "\x00\ufffd<<<>>>" + "</p>" * 100
    result = fulltext.monitor_enrich(item=Item(id="x", text="kept", html=page))
    assert result is not None and result["meta"]["text_source"] == "summary"


def test_hook_order_markers() -> None:
    assert fulltext.monitor_enrich.monitor_impl["tryfirst"] is True  # type: ignore[attr-defined]
    impl = language_plugin.monitor_enrich.monitor_impl  # type: ignore[attr-defined]
    assert impl["trylast"] is True


# --- language ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_articles_are_french(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    item = Item(id="x", title=text.split("\n")[0], text=text)
    assert language_plugin.monitor_enrich(item=item) == {"language": "fr"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kim Jong Un arrived in Moscow on Tuesday for talks with Vladimir Putin.", "en"),
        ("Ким Чен Ын прибыл в Москву во вторник для переговоров с Владимиром Путиным.", "ru"),
        ("김정은 국무위원장이 화요일 모스크바에 도착해 블라디미르 푸틴 대통령과 회담했다.", "ko"),
        (
            "Kim Jong Un ist am Dienstag zu Gesprächen mit Wladimir Putin in Moskau eingetroffen.",
            "de",
        ),
    ],
)
def test_languages_are_identified(text: str, code: str) -> None:
    assert language_plugin.monitor_enrich(item=Item(id="x", text=text)) == {"language": code}


def test_declared_language_decides_for_short_text() -> None:
    item = Item(id="x", title="Kim–Poutine", meta={"feed_language": "fr"})
    assert language_plugin.monitor_enrich(item=item) == {"language": "fr"}


def test_declared_language_does_not_override_a_clear_text() -> None:
    text = SEEDS[0].read_text(encoding="utf-8")
    item = Item(id="x", text=text, meta={"feed_language": "en"})
    assert language_plugin.monitor_enrich(item=item) == {"language": "fr"}


def test_short_text_without_hint_gives_no_guess() -> None:
    assert language_plugin.monitor_enrich(item=Item(id="x", title="Kim")) is None


def test_startup_restricts_the_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language_plugin, "_identifier", language_plugin._identifier)
    language_plugin.monitor_startup(config=Config(languages=["en", "de"]))
    assert language_plugin._identifier.codes == ("en", "de")
    text = SEEDS[0].read_text(encoding="utf-8")
    assert language_plugin.monitor_enrich(item=Item(id="x", text=text)) in (
        {"language": "en"},
        {"language": "de"},
    )


def test_identifier_ignores_unknown_codes_and_keeps_two() -> None:
    assert LanguageIdentifier(["fr", "xx", "FR"]).codes == ("fr", "en")
