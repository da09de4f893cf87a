"""Language identification of items, restricted to the configured languages.

The same method as the built-in classifier's (`plugins/rudprk/langid.py`), so that the
language an item is enriched with is the one the classifier would have chosen: the
script settles what it can (Hangul, kana, Han, Arabic against Persian letters,
Devanagari, Serbian and Ukrainian Cyrillic letters), then lingua decides among the
remaining configured candidates of that script only, in low-accuracy mode (trigram
models). Measured resident memory: see `plugins/rudprk/langid.py` (VmRSS before and after
detecting one text of each script). High-accuracy mode would cost over 200 MiB and only
helps texts under ~120 characters, where the feed's declared language is used as a hint
instead, at no memory cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lingua import IsoCode639_1

from monitor.config import DEFAULT_LANGUAGES
from monitor.hookspecs import hookimpl
from monitor.models import Item

from .rudprk import langid

if TYPE_CHECKING:
    from monitor.config import Config

#: Below this many letters the declared language (when there is one) wins.
MIN_LETTERS = 40
#: Detection reads at most this much text: enough for certainty, bounded cost.
MAX_CHARS = 5000


class LanguageIdentifier:
    """Script first, then lingua among the configured candidates of that script."""

    def __init__(self, codes: Iterable[str] = DEFAULT_LANGUAGES) -> None:
        self.codes = _supported(codes)

    def identify(self, text: str, hint: str | None = None) -> str | None:
        """ISO 639-1 code of `text`; `hint` (a declared language) decides when the text
        is too short, if it is one of the configured codes."""
        hint = hint.lower().split("-", 1)[0] if hint else None
        if hint not in self.codes:
            hint = None
        sample = text[:MAX_CHARS]
        if not sample.strip():
            return hint
        letters = sum(ch.isalpha() for ch in sample)
        if letters < MIN_LETTERS and (hint or letters < 10):
            return hint
        return langid.identify(sample, self.codes) or hint


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
    """Set `language` from the item's text (title + best text), unless the item already
    has one (a corpus label, a parser that read the page's `lang`): then it is kept."""
    if item.language:
        return None
    hint = item.meta.get("feed_language")
    text = item.full_text or item.summary
    code = _identifier.identify(text, hint if isinstance(hint, str) else None)
    return {"language": code} if code else None
