"""The classifier's shortcuts give what the plain computation gives.

Offsets are mapped by runs of unchanged characters, a sentence's normalised text is
sliced from the page's, sentence ends are tested at the tail only and three or nine words
are found by one search: each is checked here against the plain way, on texts whose
characters change length when normalised (ligatures, ß, combining marks).
"""

from __future__ import annotations

import random
import re

from monitor.plugins.rudprk import sentences
from monitor.plugins.rudprk.normalize import _TABLE, normalize, span_text

TEXTS = [
    "Ch’oe Sŏn-hŭi met Sergeï Choïgou in Pyongyang.",
    "Straße ﬁnal: Œuvre «Пхеньян» ё e\u0301 ﬀ — 會談 Ⅻ ½",
    "",
    "ß",
    "e\u0301\u0301x",
    "plain ascii only",
]


def _plain_offsets(text: str) -> list[int]:
    out: list[int] = []
    for i, ch in enumerate(text):
        out.extend([i] * len(_TABLE[ord(ch)]))
    return out


def _texts() -> list[str]:
    rng = random.Random(7)
    alphabet = "aZ ß\u0301ﬁœ.ÉÅ,ё日-\n"
    extra = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for _ in range(300)]
    return TEXTS + extra


def test_offset_map_is_the_per_character_one() -> None:
    for text in _texts():
        norm = normalize(text)
        assert norm.text == "".join(_TABLE[ord(ch)] for ch in text)
        if norm.offsets is None:
            assert _plain_offsets(text) == list(range(len(text)))
        else:
            assert list(norm.offsets) == _plain_offsets(text)


def test_span_text_is_the_span_normalised_anew() -> None:
    for text in _texts():
        norm = normalize(text)
        for start in range(len(text) + 1):
            for end in range(start, len(text) + 1):
                assert span_text(norm, text, start, end) == normalize(text[start:end]).text


def test_sentence_end_tests_at_the_tail() -> None:
    word = re.compile(r"\w+")
    rng = random.Random(3)
    pieces = ["Mr", "U.S", "т. е", "Sept", "гг", "12", "1.", "a", " ", ".", "x", "St", "Jan"]
    for _ in range(2000):
        before = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 24))) + "."
        tail = max(len(before) - sentences._TAIL, 0)
        for rx in (sentences._ABBREV, sentences._ORDINAL):
            assert bool(rx.search(before)) == bool(rx.search(before, tail))
        assert (len(word.findall(before)) >= 3) == bool(sentences._THREE_WORDS.search(before))
        assert (len(word.findall(before)) >= 9) == bool(sentences._NINE_WORDS.search(before))


def test_remembered_lookups_follow_new_terms() -> None:
    """A matcher remembers lookups by matched text; a term added later is still found."""
    from monitor.plugins.rudprk.matcher import Matcher

    m = Matcher()
    m.add("visit*", ("cue", "visit", 1.0))
    m.compile()
    assert [x.payloads for x in m.find("visited")] == [(("cue", "visit", 1.0),)]
    m.add("visited", ("status", "past"))
    m.compile()
    assert [x.payloads for x in m.find("visited")] == [(("status", "past"),)]


def test_the_given_name_regex_of_a_freed_pack_is_not_reused() -> None:
    """The regex is cached by the pack's id: a pack built after `reset()` may get the id
    of a freed one, and must then build its own regex, not take the freed pack's."""
    import weakref

    from monitor.plugins.rudprk import mentions
    from monitor.plugins.rudprk.lexicon import knowledge

    en, fr = knowledge("en"), knowledge("fr")
    stale = re.compile("a freed pack's regex")
    mentions._GIVEN_RX[id(en)] = (weakref.ref(fr), stale)  # as if `fr` had had en's id
    fresh = mentions._given_regex(en)
    assert fresh is not stale and fresh.search("Vladimir Putin")
    assert mentions._given_regex(en) is fresh
