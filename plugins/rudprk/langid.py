"""A cheap language guess: script first, then stopwords for Latin-script languages.

Feeds usually say the language; plain text files and some feeds do not. Counting
scripts and a few frequent function words per language is enough to pick one of the
supported languages and costs far less than a statistical detector.
"""

from __future__ import annotations

import re
from collections import Counter

from .lexicon import Knowledge

_HANGUL = re.compile(r"[\uac00-\ud7af]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_CYR = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_WORD = re.compile(r"[a-zà-ÿ']+")


def guess(k: Knowledge, text: str) -> str:
    """ISO 639-1 code of the dominant language of `text` (default "en")."""
    sample = text[:4000]
    letters = len(_LETTER.findall(sample)) or 1
    hangul = len(_HANGUL.findall(sample))
    kana = len(_KANA.findall(sample))
    han = len(_HAN.findall(sample))
    cyr = len(_CYR.findall(sample))
    if hangul / letters > 0.15:
        return "ko"
    if kana / letters > 0.05:
        return "ja"
    if han / letters > 0.15:
        return "zh"
    if cyr / letters > 0.3:
        return "ru"
    words = Counter(_LATIN_WORD.findall(sample.lower()))
    best, best_score = "en", 0
    for code, lang in k.languages.items():
        score = sum(n for w, n in words.items() if w in lang.stopwords)
        if score > best_score:
            best, best_score = code, score
    return best
