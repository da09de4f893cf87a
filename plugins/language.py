"""Language identification of items, restricted to the configured languages.

Restricting lingua to the languages the project cares about makes it faster, smaller
and more accurate than detecting among all 75. Low-accuracy mode (trigram models only)
is used: measured resident memory with the ten default languages and all models
preloaded, on CPython 3.11 / lingua-language-detector 2.1.1:

    low accuracy:  +18 MiB RSS, build 0.14 s, ~9 ms per 6 KB article
    high accuracy: +225 MiB RSS, build 1.4 s, ~9 ms per 6 KB article

(`/proc/self/status` VmRSS before and after `build()` with preloaded models.) High
accuracy only helps texts under ~120 characters, where lingua uses 1- to 5-grams; for
those the feed's declared language is used as a hint instead, at no memory cost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from monitor.config import DEFAULT_LANGUAGES
from monitor.hookspecs import hookimpl
from monitor.models import Item

if TYPE_CHECKING:
    from monitor.config import Config

#: Below this many letters the detector guesses; the feed's declared language wins.
MIN_LETTERS = 40
#: Below this confidence (0..1) the detector is "unsure" and a declared language wins.
MIN_CONFIDENCE = 0.5
#: Detection reads at most this much text: enough for certainty, bounded cost.
MAX_CHARS = 5000


class LanguageIdentifier:
    """A lingua detector for a fixed set of ISO 639-1 codes, built on first use."""

    def __init__(self, codes: Iterable[str] = DEFAULT_LANGUAGES) -> None:
        self.codes = _supported(codes)
        self._detector: LanguageDetector | None = None
        self._lock = threading.Lock()

    def _get(self) -> LanguageDetector:
        with self._lock:
            if self._detector is None:
                isos = [getattr(IsoCode639_1, code.upper()) for code in self.codes]
                self._detector = (
                    LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
                    .with_low_accuracy_mode()
                    .build()
                )
            return self._detector

    def identify(self, text: str, hint: str | None = None) -> str | None:
        """ISO 639-1 code of `text`; `hint` (a declared language) decides when the text
        is too short or the detector unsure, if it is one of the configured codes."""
        hint = hint.lower().split("-", 1)[0] if hint else None
        if hint not in self.codes:
            hint = None
        sample = text[:MAX_CHARS]
        if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
            return hint or self._best(sample, min_confidence=0.9)
        return self._best(sample, min_confidence=MIN_CONFIDENCE) or hint or self._best(sample)

    def _best(self, text: str, min_confidence: float = 0.0) -> str | None:
        if not text.strip() or len(self.codes) == 0:
            return None
        values = self._get().compute_language_confidence_values(text)
        if not values or values[0].value <= 0 or values[0].value < min_confidence:
            return None
        return _code(values[0].language)


def _code(language: Language) -> str:
    return str(language.iso_code_639_1.name).lower()


def _supported(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes lingua knows, lower-cased, in order, without duplicates (at least two:
    lingua needs a choice)."""
    known: list[str] = []
    for code in codes:
        lowered = code.strip().lower()
        if hasattr(IsoCode639_1, lowered.upper()) and lowered not in known:
            known.append(lowered)
    if len(known) < 2:
        known += [c for c in DEFAULT_LANGUAGES if c not in known][: 2 - len(known)]
    return tuple(known)


_identifier = LanguageIdentifier()


@hookimpl
def monitor_startup(config: Config) -> None:
    """Restrict detection to `config.languages`; the detector is rebuilt lazily."""
    global _identifier
    codes: Sequence[str] = config.languages or DEFAULT_LANGUAGES
    if _supported(codes) != _identifier.codes:
        _identifier = LanguageIdentifier(codes)


@hookimpl(trylast=True)
def monitor_enrich(item: Item) -> Mapping[str, Any] | None:
    """Set `language` from the item's text (title + best text)."""
    hint = item.meta.get("feed_language") or item.language
    text = item.full_text or item.summary
    code = _identifier.identify(text, hint if isinstance(hint, str) else None)
    return {"language": code} if code else None
