"""Inflected forms of the packs' words, from simplemma's dictionaries.

A pack author writes a word once, in its dictionary form ("wizyta", "Rosja", "визит",
"Besuch"); the inflected forms the text will hold ("wizycie", "Rosją", "визитом",
"Besuches") come from simplemma's form → lemma dictionaries, not from hand-written
endings. Loading those dictionaries costs about 1 GB and seconds per language, far
too much for a daemon, so the forms of the packs' words are extracted once, by
`make forms` (build_forms.py), into data/forms/<code>.json, and read at start-up like
the rest of the data. A test regenerates some of them and compares.

Only single words that are themselves a dictionary lemma are inflected: "talks" is
not the lemma of "talk", so it does not bring "talking"; a stem with `*`, an infix
`~` or a raw regex is already a pattern.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from .normalize import norm_term

DATA_DIR = Path(__file__).parent / "data"
FORMS_DIR = DATA_DIR / "forms"
#: Pack tables whose words are inflected. Status, negation and date words are not:
#: there the written form is the point ("werden" marks a future, its "geworden" a past).
TABLES = ("cues", "weak", "signed", "venue", "roles", "attribution", "names")
#: A lemma with more forms than this is skipped: a Polish adjective has about 40; more
#: is a homograph's noise.
MAX_FORMS = 60


def pack_words(pack: Mapping[str, Any]) -> set[str]:
    """The single words of a pack's inflected tables, as written."""
    out: set[str] = set()

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from walk(v)

    for table in TABLES:
        for term in walk(pack.get(table, {})):
            term = term.strip()
            if term and inflectable(term):
                out.add(term)
    return out


def inflectable(term: str) -> bool:
    """A single plain word: letters and their marks only (no space, pattern syntax,
    abbreviation dot or digit); Devanagari vowel signs and the Persian zero-width
    non-joiner belong to the word."""
    return bool(term) and all(
        ch.isalpha() or unicodedata.category(ch) in ("Mn", "Mc", "Cf") for ch in term
    )


def extract(words: Iterable[str], dictionary: Mapping[str, str]) -> dict[str, list[str]]:
    """word → its other forms, for each word that is a lemma of `dictionary`."""
    wanted = {w for w in words if dictionary.get(w, w) == w}
    found: dict[str, set[str]] = {}
    for form, lemma in dictionary.items():
        if lemma in wanted and form != lemma and inflectable(form):
            found.setdefault(lemma, set()).add(form)
    return {w: sorted(fs) for w, fs in sorted(found.items()) if len(fs) <= MAX_FORMS}


@cache
def load(code: str) -> Mapping[str, tuple[str, ...]]:
    """Normalised word → forms for one pack ({} when it has no forms file).

    Keys go through the matcher's normalisation, so a term matches the forms of every
    spelling that normalises alike ("empfang" and "Empfang", "Pekín" and "Pekin").
    """
    path = FORMS_DIR / f"{code}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    out: dict[str, set[str]] = {}
    for word, inflected in data["forms"].items():
        out.setdefault(norm_term(word), set()).update(inflected)
    return {w: tuple(sorted(fs)) for w, fs in out.items()}


def with_forms(terms: Iterable[str], forms: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The terms followed by the inflected forms of those that are lemmas."""
    out: list[str] = []
    for t in terms:
        out.append(t)
        if forms and inflectable(t.strip()):
            out.extend(forms.get(norm_term(t), ()))
    return out
