"""Inflected forms by library: the packs' lemmas bring simplemma's forms of them."""

from __future__ import annotations

import json
import tomllib

import pytest

from monitor.plugins.rudprk import build_forms, forms, lexicon
from monitor.plugins.rudprk.normalize import normalize

#: Languages simplemma covers whose dictionaries load in well under a second.
QUICK = ("bg", "uk", "ro")


def _pack(code: str) -> dict[str, object]:
    with (forms.DATA_DIR / "lang" / f"{code}.toml").open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("code", QUICK)
def test_stored_forms_are_what_simplemma_gives(code: str) -> None:
    """data/forms is generated, never edited: regenerating it changes nothing."""
    stored = json.loads((forms.FORMS_DIR / f"{code}.json").read_text(encoding="utf-8"))
    fresh = build_forms.generate(code, _pack(code))
    assert fresh is not None
    assert json.loads(build_forms.dump(fresh))["forms"] == stored["forms"]


def test_every_language_simplemma_covers_has_forms() -> None:
    codes = {p.stem for p in (forms.DATA_DIR / "lang").glob("*.toml")}
    covered = {c for c in codes if build_forms.simplemma_code(c)}
    assert covered >= {"ru", "uk", "pl", "cs", "sk", "bg", "sr", "ro", "tr", "de", "nl", "fa"}
    assert covered == {p.stem for p in forms.FORMS_DIR.glob("*.json")}


@pytest.mark.parametrize("code", ["pl", "uk", "cs", "de", "tr", "hi", "ru", "ro", "fa", "sr"])
def test_an_inflected_form_matches_like_its_lemma(code: str) -> None:
    """Each form of a pack or gazetteer word is found with that word's meaning (its
    cue, name or role), whether or not anything lists the form."""
    k = lexicon.knowledge(code)
    stored = json.loads((forms.FORMS_DIR / f"{code}.json").read_text(encoding="utf-8"))
    checked = 0
    for word, inflected in stored["forms"].items():
        lemma = k.matcher.find(normalize(f" {word} ").text)
        if len(lemma) != 1 or lemma[0].end - lemma[0].start != len(normalize(word).text):
            continue  # the word is part of a longer term, or itself a longer one's stem
        for form in inflected:
            found = k.matcher.find(normalize(f" {form} ").text)
            assert found, (code, word, form)
            # the form means what the word means ("empfang" is also a form of the
            # verb "empfangen", so the noun's other forms need not share all of it)
            assert set(lemma[0].payloads) & set(found[0].payloads), (code, word, form)
            checked += 1
    assert checked > 20


def test_only_lemmas_are_inflected() -> None:
    """ "talks" is not the dictionary form of "talk": listing it brings no "talking"."""
    dictionary = {"talks": "talk", "talking": "talk", "visits": "visit", "visited": "visit"}
    got = forms.extract(["talks", "visit"], dictionary)
    assert got == {"visit": ["visited", "visits"]}


def test_patterns_and_phrases_are_not_inflected() -> None:
    assert not forms.inflectable("визит*")
    assert not forms.inflectable("~besuch")
    assert not forms.inflectable("held talks")
    assert not forms.inflectable("re:foo")
    assert not forms.inflectable("KN-23")
    assert forms.inflectable("यात्रा")  # Devanagari vowel signs are part of the word
    assert forms.inflectable("می\u200cکند")  # so is the Persian zero-width non-joiner


def test_status_words_keep_their_tense() -> None:
    """German "werden" and "planen" mark a future; their forms ("geworden", "geplant")
    must not, so status words are never inflected."""
    status = _pack("de")["status"]
    assert isinstance(status, dict)
    assert {"werden", "planen"} <= {w for terms in status.values() for w in terms}
    assert "werden" not in forms.load("de")
    assert "planen" not in forms.load("de")
