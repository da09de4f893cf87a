"""One compiled regex for thousands of terms: a trie turned into a regex.

A plain alternation of 5,000 words makes the regex engine try every word at every
position; factoring shared prefixes into a trie lets it fail after one or two
characters, which is what keeps classification fast. Alternatives are ordered so the
longest term wins ("Corée du Sud" before "Corée"). Terms are normalised text
(see normalize.py); a trailing `*` means "this stem plus any word ending"
(Russian cases, Romance plurals); a term starting with `re:` is a raw regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from plugins.rudprk.normalize import norm_term


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _needs_boundary(ch: str) -> bool:
    """Alphabetic scripts need word boundaries; CJK and Hangul take particles attached."""
    return ch.isalnum() and ch < "\u0530"


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    exact: bool = False
    stem: bool = False


def _gen(node: _Node, last: str) -> str:
    alts = []
    for ch in sorted(node.children, key=lambda c: (-_depth(node.children[c]), c)):
        piece = " +" if ch == " " else re.escape(ch)
        alts.append(piece + _gen(node.children[ch], ch))
    if node.stem:
        alts.append(r"\w*")
    if node.exact:
        alts.append(r"(?!\w)" if _needs_boundary(last) else "")
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"


def _depth(node: _Node) -> int:
    """Longest path below a node: deeper branches first, so longer terms win."""
    if not node.children:
        return 0
    return 1 + max(_depth(c) for c in node.children.values())


@dataclass(frozen=True, slots=True)
class Match:
    """A term found in normalised text, with everything registered under it."""

    start: int
    end: int
    key: str
    payloads: tuple[Any, ...]


class Matcher:
    """Collects (term, payload) pairs, compiles once, then finds all non-overlapping terms."""

    def __init__(self) -> None:
        self._exact: dict[str, list[Any]] = {}
        self._stems: dict[str, list[Any]] = {}
        self._raw: list[tuple[re.Pattern[str], Any]] = []
        self._regex: re.Pattern[str] | None = None
        self._max_stem = 0

    def add(self, term: str, payload: Hashable) -> None:
        """Register `payload` under `term` (normalised here)."""
        term = term.strip()
        if not term:
            return
        if term.startswith("re:"):
            self._raw.append((re.compile(term[3:]), payload))
            return
        stem = term.endswith("*")
        key = norm_term(term.rstrip("*"))
        if not key:
            return
        table = self._stems if stem else self._exact
        bucket = table.setdefault(key, [])
        if payload not in bucket:
            bucket.append(payload)
        if stem:
            self._max_stem = max(self._max_stem, len(key))

    def add_all(self, terms: Iterable[str], payload: Hashable) -> None:
        for term in terms:
            self.add(term, payload)

    def inherit(
        self, inheritable: Callable[[Any], bool], blocks: Callable[[Any], bool]
    ) -> None:
        """Give a multi-word term the inheritable payloads of its single words.

        A term with a blocking payload (a neutral phrase such as "state media") keeps
        only its own meaning: that is why it was listed.
        """
        for key, payloads in self._exact.items():
            if any(blocks(p) for p in payloads):
                continue
            if " " in key:
                parts = key.split()
            elif _CJK.search(key):  # no spaces between words: every substring may be one
                parts = [key[i:j] for i in range(len(key)) for j in range(i + 2, len(key) + 1)
                         if (i, j) != (0, len(key))]
            else:
                continue
            for word in parts:
                for p in self._exact.get(word, []):
                    if inheritable(p) and p not in payloads:
                        payloads.append(p)

    def compile(self) -> None:
        """Build the trie regex; called once, lazily."""
        root = _Node()
        for table, is_stem in ((self._exact, False), (self._stems, True)):
            for key in table:
                node = root
                for ch in key:
                    node = node.children.setdefault(ch, _Node())
                if is_stem:
                    node.stem = True
                else:
                    node.exact = True
        alts = []
        for ch in sorted(root.children, key=lambda c: (-_depth(root.children[c]), c)):
            body = re.escape(ch) + _gen(root.children[ch], ch)
            alts.append((r"(?<!\w)" if _needs_boundary(ch) else "") + body)
        pattern = "|".join(alts) if alts else r"(?!x)x"
        self._regex = re.compile(pattern)

    def _lookup(self, text: str) -> tuple[str, tuple[Any, ...]]:
        key = " ".join(text.split())
        found = self._exact.get(key)
        if found is not None:
            return key, tuple(found)
        for n in range(min(len(key), self._max_stem), 0, -1):
            found = self._stems.get(key[:n])
            if found is not None:
                return key[:n], tuple(found)
        return key, ()

    def find(self, text: str) -> list[Match]:
        """All non-overlapping matches, left to right, longest at each position."""
        if self._regex is None:
            self.compile()
        assert self._regex is not None
        out = []
        for m in self._regex.finditer(text):
            key, payloads = self._lookup(m.group())
            if payloads:
                out.append(Match(m.start(), m.end(), key, payloads))
        if not self._raw:
            return out
        spans: dict[tuple[int, int], list[Any]] = {}
        for x in out:
            spans[(x.start, x.end)] = list(x.payloads)
        for rx, payload in self._raw:
            for m in rx.finditer(text):
                bucket = spans.setdefault((m.start(), m.end()), [])
                if payload not in bucket:
                    bucket.append(payload)
        merged: list[Match] = []
        last_end = -1
        for (start, end), payloads in sorted(spans.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
            if start >= last_end:
                merged.append(Match(start, end, text[start:end], tuple(payloads)))
                last_end = end
        return merged
