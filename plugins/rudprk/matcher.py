"""One compiled regex for thousands of terms: a trie turned into a regex.

A plain alternation of 5,000 words makes the regex engine try every word at every
position; factoring shared prefixes into a trie lets it fail after one or two
characters, which is what keeps classification fast. Alternatives are ordered so the
longest term wins ("Corée du Sud" before "Corée"). Terms are normalised text
(see normalize.py); a trailing `*` means "this stem plus any word ending"
(Russian cases, Romance plurals); a leading `~` means "any word containing this"
(German compounds: ~besuch finds Russlandbesuch); a `*` inside a term is "any word
ending" for that word only ("военн* сотрудничеств*": военное сотрудничество, военного
сотрудничества); a term starting with `re:` is a raw regex (kept for the rare case
nothing else fits: it is slower).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple

import ahocorasick

from .normalize import norm_term

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _needs_boundary(ch: str) -> bool:
    """Alphabetic scripts need word boundaries; CJK and Hangul take particles attached."""
    return ch.isalnum() and ch < "\u0530"


_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
#: Arabic-script and Devanagari terms must start a word (Persian "برنامه", a programme,
#: holds "نامه", a letter), but their endings vary (suffixed pronouns, case endings), so
#: they need no boundary at the end; an Arabic word may also start after a proclitic
#: (و ف ب ل ك, the article ال and their combinations: "والعلاقات", "برسالة").
_PROCLITICS = ("و", "ف", "ب", "ل", "ك", "ال", "وال", "بال", "فال", "كال", "لل", "وب", "ول")
#: Every proclitic ends in one of these letters: one lookbehind on them spares the
#: per-proclitic lookbehinds at almost every Arabic-script position.
_PROCLITIC_ENDS = "[" + "".join(sorted({p[-1] for p in _PROCLITICS})) + "]"
_WORD_START = (
    r"(?:(?<!\w)|(?<="
    + _PROCLITIC_ENDS
    + ")(?:"
    + "|".join(rf"(?<=(?<!\w){re.escape(p)})" for p in _PROCLITICS)
    + "))"
)


def _starts_word(ch: str) -> bool:
    """Whether a term starting with `ch` must start a word (Arabic script, Devanagari)."""
    return bool(_ARABIC_SCRIPT.match(ch) or _DEVANAGARI.match(ch))


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    exact: bool = False
    stem: bool = False
    depth: int = -1


def _gen(node: _Node, last: str) -> str:
    alts = []
    for ch in sorted(node.children, key=lambda c: (-_depth(node.children[c]), c)):
        piece = " +" if ch == " " else r"\w*" if ch == "*" else re.escape(ch)
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
    if node.depth < 0:
        node.depth = 1 + max((_depth(c) for c in node.children.values()), default=-1)
    return node.depth


def trie_pattern(root: _Node) -> str:
    """The regex of a trie of alphabetic terms: one boundary check, then the branches.

    A single leading `(?<!\\w)` (rather than one per branch) lets the engine reject a
    mid-word position with one test; that is most of the speed.
    """
    alts = []
    for ch in sorted(root.children, key=lambda c: (-_depth(root.children[c]), c)):
        alts.append(re.escape(ch) + _gen(root.children[ch], ch))
    if not alts:
        return r"(?!x)x"
    bounded = [a for a in alts if _needs_boundary(a.lstrip("\\")[:1])]
    starts = [a for a in alts if _starts_word(a.lstrip("\\")[:1])]
    free = [
        a
        for a in alts
        if not (_needs_boundary(a.lstrip("\\")[:1]) or _starts_word(a.lstrip("\\")[:1]))
    ]
    parts = []
    if bounded:
        parts.append(r"(?<!\w)(?:" + "|".join(bounded) + ")")
    if starts:
        # the cheap first-character test first: the lookbehinds run only where an
        # Arabic-script or Devanagari term can begin
        parts.append(
            r"(?=[\u0600-\u06ff\u0750-\u077f\u0900-\u097f])"
            + _WORD_START
            + "(?:"
            + "|".join(starts)
            + ")"
        )
    if free:
        parts.append("(?:" + "|".join(free) + ")")
    return "|".join(parts)


def words_trie(keys: Iterable[str]) -> _Node:
    """A trie of exact keys (for small vocabularies such as month names)."""
    root = _Node()
    for key in keys:
        node = root
        for ch in key:
            node = node.children.setdefault(ch, _Node())
        node.exact = True
    return root


class Match(NamedTuple):
    """A term found in normalised text, with everything registered under it (a named
    tuple: hundreds are made per article, and it is cheaper to make than a dataclass)."""

    start: int
    end: int
    key: str
    payloads: tuple[Any, ...]


#: A match before it becomes a `Match`: start, end, key, the registered payloads.
_Hit = tuple[int, int, str, Sequence[Any]]


#: Matched texts whose lookup a matcher remembers (then it starts afresh). Each costs
#: ~150 bytes and there are two matchers per language pack (48): 4096 bounds them all
#: to ~30 MB in a daemon that runs for months, where the hot words of a language fit.
LOOKUP_CACHE = 4096


class Matcher:
    """Collects (term, payload) pairs, compiles once, then finds all non-overlapping terms."""

    def __init__(self) -> None:
        self._exact: dict[str, list[Any]] = {}
        self._stems: dict[str, list[Any]] = {}
        self._raw: list[tuple[re.Pattern[str], Any]] = []
        self._regex: re.Pattern[str] | None = None
        self._max_stem = 0
        self._cjk_lengths: dict[str, list[int]] = {}
        self._infix: dict[str, list[Any]] = {}
        self._infix_rx: re.Pattern[str] | None = None
        # terms with a `*` inside: (literal prefix before the first `*`) -> [(regex, payloads)]
        self._wild: dict[str, list[tuple[re.Pattern[str], list[Any]]]] = {}
        self._wild_terms: dict[str, list[Any]] = {}
        self._max_wild = 0
        self._cjk_auto: Any = None
        #: `_lookup` by matched text: the same words recur on every page
        self._looked_up: dict[str, tuple[str, Sequence[Any]]] = {}

    def add(self, term: str, payload: Hashable) -> None:
        """Register `payload` under `term` (normalised here)."""
        self._looked_up.clear()
        term = term.strip()
        if not term:
            return
        if term.startswith("re:"):
            self._raw.append((re.compile(term[3:]), payload))
            return
        if term.startswith("~"):
            bucket = self._infix.setdefault(norm_term(term[1:]), [])
            if payload not in bucket:
                bucket.append(payload)
            return
        stem = term.endswith("*")
        key = norm_term(term.rstrip("*"))
        if not key:
            return
        if "*" in key:  # a wildcard inside: any ending of that word
            bucket = self._wild_terms.setdefault(key + ("*" if stem else ""), [])
            if payload not in bucket:
                bucket.append(payload)
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

    def inherit(self, inheritable: Callable[[Any], bool], blocks: Callable[[Any], bool]) -> None:
        """Give a multi-word term the inheritable payloads of its single words.

        A term with a blocking payload (a neutral phrase such as "state media") keeps
        only its own meaning: that is why it was listed. A whole word listed exactly
        (a status word such as "встретился") also keeps the meanings of the longest
        stem that covers it (встрети*: a visit), for the kinds of payload it lacks:
        otherwise an exact entry would hide every stem of the same word.
        """
        self._looked_up.clear()
        for key, payloads in self._exact.items():
            if any(blocks(p) for p in payloads):
                continue
            if not _CJK.match(key):
                for n in range(len(key) - 1, 0, -1):
                    stem = self._stems.get(key[:n])
                    if stem is not None:
                        tags = {p[0] if isinstance(p, tuple) else p for p in payloads}
                        for p in stem:
                            tag = p[0] if isinstance(p, tuple) else p
                            if tag not in tags and p not in payloads and not blocks(p):
                                payloads.append(p)
                        break
            if " " in key:
                parts = key.split()
            elif _CJK.search(key):  # no spaces between words: every substring may be one
                parts = [
                    key[i:j]
                    for i in range(len(key))
                    for j in range(i + 2, len(key) + 1)
                    if (i, j) != (0, len(key))
                ]
            else:
                continue
            for word in parts:
                for p in self._exact.get(word, []):
                    if inheritable(p) and p not in payloads:
                        payloads.append(p)

    def compile(self) -> None:
        """Build the trie regex for alphabetic terms and the CJK lookup; once, lazily."""
        self._looked_up.clear()
        root = _Node()
        wild = {k.rstrip("*"): k.endswith("*") for k in self._wild_terms}
        self._wild = {}
        for key, payloads in self._wild_terms.items():
            body = key.rstrip("*")
            rx = "".join(
                r"\w*" if ch == "*" else " +" if ch == " " else re.escape(ch) for ch in body
            )
            rx += r"\w*" if key.endswith("*") else ""
            self._wild.setdefault(body.split("*", 1)[0], []).append((re.compile(rx), payloads))
        for lst in self._wild.values():
            lst.sort(key=lambda x: -len(x[0].pattern))
        self._max_wild = max((len(k) for k in self._wild), default=0)
        entries = [(k, False) for k in self._exact] + [(k, True) for k in self._stems]
        entries += list(wild.items())
        for key, is_stem in entries:
            if _CJK.match(key):
                continue
            node = root
            for ch in key:
                node = node.children.setdefault(ch, _Node())
            if is_stem:
                node.stem = True
            else:
                node.exact = True
        self._regex = re.compile(trie_pattern(root))
        lengths: dict[str, set[int]] = {}
        for key in self._exact:
            if _CJK.match(key):
                lengths.setdefault(key[0], set()).add(len(key))
        self._cjk_lengths = {ch: sorted(ls, reverse=True) for ch, ls in lengths.items()}
        self._cjk_auto = None
        if lengths:
            auto = ahocorasick.Automaton()
            for key in self._exact:
                if _CJK.match(key):
                    auto.add_word(key, len(key))
            auto.make_automaton()
            self._cjk_auto = auto
        if self._infix:
            inner = trie_pattern(words_trie(self._infix)).replace(r"(?<!\w)", "")
            self._infix_rx = re.compile(inner.replace(r"(?!\w)", ""))

    def _find_cjk(self, text: str) -> list[_Hit]:
        """Longest dictionary terms at each CJK/Hangul position (no word boundaries there),
        left to right: one Aho–Corasick pass finds every term, then the longest at each
        start that is not inside an earlier match is kept."""
        auto = self._cjk_auto
        if auto is not None:
            longest: dict[int, int] = {}
            for end, n in auto.iter(text):
                start = end - n + 1
                if n > longest.get(start, 0):
                    longest[start] = n
            found_at: list[_Hit] = []
            covered = 0
            for start in sorted(longest):
                if start < covered:
                    continue
                n = longest[start]
                key = text[start : start + n]
                found_at.append((start, start + n, key, self._exact[key]))
                covered = start + n
            return found_at
        out: list[_Hit] = []
        covered = 0
        exact = self._exact
        for m in _CJK.finditer(text):
            i = m.start()
            if i < covered:
                continue
            for n in self._cjk_lengths.get(text[i], ()):
                key = text[i : i + n]
                found = exact.get(key)
                if found is not None:
                    out.append((i, i + n, key, found))
                    covered = i + n
                    break
        return out

    def _lookup(self, text: str) -> tuple[str, Sequence[Any]]:
        """The key and payloads of a regex match (the registered list itself: not to be
        changed by the caller), remembered per matched text."""
        got = self._looked_up.get(text)
        if got is None:
            if len(self._looked_up) >= LOOKUP_CACHE:
                self._looked_up.clear()
            got = self._looked_up[text] = self._lookup_anew(text)
        return got

    def _lookup_anew(self, text: str) -> tuple[str, Sequence[Any]]:
        key = " ".join(text.split())
        found = self._exact.get(key)
        if found is not None:
            return key, found
        if self._wild and "*" not in key:
            for n in range(min(len(key), self._max_wild), 0, -1):
                for rx, payloads in self._wild.get(key[:n], ()):
                    if rx.fullmatch(key):
                        return key, payloads
        for n in range(min(len(key), self._max_stem), 0, -1):
            found = self._stems.get(key[:n])
            if found is not None:
                return key[:n], found
        return key, ()

    def find(self, text: str) -> list[Match]:
        """All non-overlapping matches, left to right, longest at each position."""
        if self._regex is None:
            self.compile()
        assert self._regex is not None
        # plain tuples until the end: most hits are rebuilt by the merge below anyway
        out: list[_Hit] = []
        for m in self._regex.finditer(text):
            key, payloads = self._lookup(m.group())
            if payloads:
                out.append((m.start(), m.end(), key, payloads))
        if self._cjk_lengths and _CJK.search(text):
            out.extend(self._find_cjk(text))
            out.sort(key=lambda x: x[0])
        extra: list[tuple[int, int, list[Any]]] = []
        if self._infix_rx is not None:
            best: dict[tuple[int, int], tuple[int, list[Any]]] = {}
            for m in self._infix_rx.finditer(text):
                s, e = m.start(), m.end()
                while s > 0 and text[s - 1].isalnum():
                    s -= 1
                while e < len(text) and text[e].isalnum():
                    e += 1
                size = m.end() - m.start()
                if (s, e) not in best or best[(s, e)][0] < size:
                    best[(s, e)] = (size, self._infix[m.group()])
            extra = [(s, e, p) for (s, e), (_, p) in best.items()]
        if not self._raw and not extra:
            return [Match(s, e, key, tuple(p)) for s, e, key, p in out]
        raw = [(rx, payload, list(rx.finditer(text))) for rx, payload in self._raw]
        if (
            not extra
            and not any(found for _rx, _p, found in raw)
            and all(a[1] <= b[0] for a, b in pairwise(out))
        ):
            # ordered and disjoint (as the regex's matches always are): the merge below
            # would keep every one as it is, under its text as the key
            return [Match(s, e, text[s:e], tuple(p)) for s, e, _key, p in out]
        # keyed by (start, -end): sorted as plain tuples, longest first at each start
        spans: dict[tuple[int, int], list[Any]] = {}
        for s, e, _key, p in out:
            spans[(s, -e)] = list(p)
        for s, e, extra_payloads in extra:
            bucket = spans.setdefault((s, -e), [])
            bucket.extend(p for p in extra_payloads if p not in bucket)
        for _rx, payload, found_raw in raw:
            for m in found_raw:
                bucket = spans.setdefault((m.start(), -m.end()), [])
                if payload not in bucket:
                    bucket.append(payload)
        merged: list[Match] = []
        last_end = -1
        for (start, neg_end), found in sorted(spans.items()):
            end = -neg_end
            if start >= last_end:
                merged.append(Match(start, end, text[start:end], tuple(found)))
                last_end = end
        return merged
