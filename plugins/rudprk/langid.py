"""Language identification for the 25 languages of the packs: script first, then lingua.

The script settles most of it at no cost: Hangul is Korean, kana Japanese, Han without
kana Chinese, Devanagari Hindi; in Arabic script the letters پ چ ژ گ and the Persian
forms of kāf and yā (ک ی) against ك ي ة tell Persian from Arabic; in Cyrillic, ђ ћ џ љ
њ ј are Serbian and ї є ґ і Ukrainian. Only what remains (Latin-script languages,
Russian against Bulgarian) goes to lingua, built for that script's candidates only and
in low-accuracy mode (trigram models): measured VmRSS +14 MiB for the 14 Latin-script
languages and Russian/Bulgarian/Ukrainian/Serbian together (CPython 3.11, lingua 2.1.1).
lingua reads at most `SAMPLE` characters: enough for a clear answer, bounded cost.

On a short text (under SHORT characters: a headline full of names, where trigram models
guess "vi" for "Putin met Kim Jong Un in Pyongyang for talks") the packs' `stopwords`
check lingua's answer: when one language's function words clearly dominate (at least
STOP_MIN lowercase hits, STOP_RATIO times the runner-up), they win. Otherwise lingua
decides: on real text it is more reliable than the packs' short stopword lists.

Serbian in Latin letters, which lingua (its Serbian model is Cyrillic) calls Czech,
Slovak or Polish, is told by đ and ć outnumbering the letters only those write.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

#: Every language with a pack (or planned pack), by script.
LATIN = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sk", "ro", "tr", "id", "vi")
CYRILLIC = ("ru", "uk", "bg", "sr")
ARABIC = ("ar", "fa")
SUPPORTED = (*LATIN, *CYRILLIC, *ARABIC, "hi", "ko", "ja", "zh")
#: lingua reads at most this many characters.
SAMPLE = 1500
#: Stopword vote: the winner needs this many hits and this ratio over the runner-up.
STOP_MIN, STOP_RATIO = 2, 2.0
#: Below this many characters the stopwords may overrule lingua (see the docstring).
SHORT = 120
_WORDS = re.compile(r"[^\W\d_]+")

_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_CYR = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LETTER = re.compile(r"[^\W\d_]")
_PERSIAN = re.compile(r"[پچژگکی]")
_ARABIC_ONLY = re.compile(r"[كية]")
_SERBIAN = re.compile(r"[ђћџљњјЂЋЏЉЊЈ]")
_UKRAINIAN = re.compile(r"[їєґіЇЄҐІ]")
_RUSSIAN = re.compile(r"[ыэЫЭ]")
#: Serbian in Latin letters: đ and ć against the letters only Czech, Slovak or Polish
#: write (lingua's Serbian model is Cyrillic, so it answers cs/sk for Latin Serbian).
_SERBIAN_LATIN = re.compile(r"[đćĐĆ]")
_WEST_SLAVIC = re.compile(r"[ěřůýáéíúäľĺŕôóťďňłąęśźżĚŘŮÝÁÉÍÚÄĽĹŔÔÓŤĎŇŁĄĘŚŹŻ]")

_DETECTORS: dict[tuple[str, ...], LanguageDetector] = {}
_LOCK = threading.Lock()


def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    with _LOCK:
        det = _DETECTORS.get(codes)
        if det is None:
            isos = [getattr(IsoCode639_1, c.upper()) for c in codes]
            det = (
                LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_low_accuracy_mode().build()
            )
            _DETECTORS[codes] = det
        return det


_STOPWORDS: dict[str, frozenset[str]] | None = None


def _stopwords() -> dict[str, frozenset[str]]:
    global _STOPWORDS
    if _STOPWORDS is None:
        from .lexicon import shared_data  # the packs' stopwords (read once)

        _STOPWORDS = {c: lang.stopwords for c, lang in shared_data().languages.items()}
    return _STOPWORDS


def stopword_counts(text: str, codes: tuple[str, ...]) -> dict[str, int]:
    """Hits of each candidate's pack stopwords in `text` (candidates with a pack only)."""
    from .normalize import norm_term

    table = _stopwords()
    sets = [(c, table[c]) for c in codes if table.get(c)]
    counts = dict.fromkeys((c for c, _ in sets), 0)
    # capitalised words are mostly names ("Kim Jong Un" is no Romanian "un")
    lower = " ".join(w for w in _WORDS.findall(text) if not w[0].isupper())
    for word in _WORDS.findall(norm_term(lower)):
        for c, words in sets:
            if word in words:
                counts[c] += 1
    return counts


def by_stopwords(text: str, codes: tuple[str, ...]) -> str | None:
    """The candidate whose pack's stopwords clearly dominate `text`, else None."""
    counts = stopword_counts(text, codes)
    if len(counts) < 2:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    (best, n1), (_, n2) = ranked[0], ranked[1]
    if n1 >= STOP_MIN and n1 >= STOP_RATIO * n2:
        return best
    return None


def _lingua(text: str, codes: tuple[str, ...]) -> str | None:
    if len(codes) == 1:
        return codes[0]
    if not codes:
        return None
    table = _stopwords()
    complete = all(table.get(c) for c in codes)
    lang = _detector(codes).detect_language_of(text)
    found = str(lang.iso_code_639_1.name).lower() if lang is not None else None
    if complete and len(text) < SHORT and found is not None:
        # a short text full of names, where trigrams guess "vi" for "Putin met Kim Jong
        # Un in Pyongyang for talks": a clear majority of function words overrules them
        voted = by_stopwords(text, codes)
        if voted is not None and voted != found:
            return voted
    return found


def script_decision(sample: str) -> tuple[str, str | None]:
    """(script, language or None when the script leaves a choice) of a text sample."""
    letters = len(_LETTER.findall(sample)) or 1
    hangul = len(_HANGUL.findall(sample))
    kana = len(_KANA.findall(sample))
    han = len(_HAN.findall(sample))
    if hangul / letters > 0.15:
        return "hangul", "ko"
    if kana / letters > 0.05:
        return "kana", "ja"
    if han / letters > 0.15:
        return "han", "zh"
    if len(_ARABIC.findall(sample)) / letters > 0.3:
        fa, ar = len(_PERSIAN.findall(sample)), len(_ARABIC_ONLY.findall(sample))
        return "arabic", "fa" if fa > ar else "ar"
    if len(_DEVANAGARI.findall(sample)) / letters > 0.3:
        return "devanagari", "hi"
    cyr = len(_CYR.findall(sample))
    if cyr / letters > 0.3:
        if len(_SERBIAN.findall(sample)) / cyr > 0.004:
            return "cyrillic", "sr"
        uk, ru = len(_UKRAINIAN.findall(sample)), len(_RUSSIAN.findall(sample))
        if uk / cyr > 0.01 and uk > ru:
            return "cyrillic", "uk"
        if ru / cyr > 0.01:
            return "cyrillic", "ru"
        return "cyrillic", None
    return "latin", None


def identify(text: str, candidates: Iterable[str] | None = None) -> str | None:
    """ISO 639-1 code of the dominant language of `text` among `candidates` (default:
    the 25 supported), or None when no candidate fits the script."""
    allowed = tuple(candidates) if candidates is not None else SUPPORTED
    sample = text[: SAMPLE * 2]
    script, code = script_decision(sample)
    if code is not None:
        if code in allowed:
            return code
        if script == "cyrillic":  # Serbian/Ukrainian letters, but not configured
            code = None
        else:
            return None
    pool = LATIN if script == "latin" else CYRILLIC
    codes = tuple(c for c in pool if c in allowed)
    found = _lingua(sample[:SAMPLE], codes)
    serbian = script == "latin" and found in ("cs", "sk", "pl") and "sr" in allowed
    if serbian and serbian_latin(sample[:SAMPLE]):
        return "sr"
    return found


def serbian_latin(text: str) -> bool:
    """Whether a Latin-script text is Serbian (or its Croatian/Bosnian neighbours): at
    least two of đ ć and more than three times as many as the letters only Czech,
    Slovak or Polish write (ě ř ů ý á ľ ł ą ś ż ...); or, with none of those letters,
    Serbian function words clearly ahead of theirs."""
    sr = len(_SERBIAN_LATIN.findall(text))
    west = len(_WEST_SLAVIC.findall(text))
    if sr >= 2 and sr > 3 * west:
        return True
    if west:
        return False
    return by_stopwords(text, ("sr", "cs", "sk", "pl")) == "sr"


def guess(text: str) -> str:
    """The language of `text` among the supported ones (default "en")."""
    return identify(text) or "en"
