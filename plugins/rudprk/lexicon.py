"""Per-language cue lexicons (data/lang/*.toml) compiled with the gazetteer into matchers.

Everything the classifier looks for in running text goes into ONE trie regex, so a
longer term consumes the words inside it: "Corée du Sud" is never "Corée du Nord",
"sans précédent" is no negation, "Conseil de sécurité de l'ONU" gives no security cue.
Line-level boilerplate markers get a second, small matcher. Built once per process.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gazetteer as gz
from .matcher import Matcher
from .normalize import norm_term

LANG_DIR = gz.DATA_DIR / "lang"

#: Cue groups of a language file that are contact types or contact signals.
CUE_GROUPS = (
    "visit",
    "receive",
    "summit",
    "delegation",
    "military",
    "security",
    "agreement",
    "message",
    "phone",
    "economic",
    "media_culture",
    "cooperation",
)
STRONG, WEAK = 1.0, 0.5
ROLE_GROUPS = ("leader", "minister", "senior", "official", "generic", "counterpart")
RELATIVE = {
    "yesterday": -1,
    "today": 0,
    "tomorrow": 1,
    "day_before": -1,
    "last_week": -7,
    "next_week": 7,
}


@dataclass
class Language:
    """What the classifier needs of one language besides its cue terms."""

    code: str
    name: str
    stopwords: frozenset[str]
    months: list[list[str]]
    weekdays: list[list[str]]


@dataclass
class Knowledge:
    """Everything compiled: the text matcher, the boilerplate matcher, entity tables."""

    matcher: Matcher
    boiler: Matcher
    people: list[gz.Person]
    orgs: list[gz.Organisation]
    places: list[gz.Place]
    languages: dict[str, Language]
    given_names: dict[str, str]
    month_of: dict[str, int] = field(default_factory=dict)
    weekday_of: dict[str, int] = field(default_factory=dict)
    month_rx: str = ""
    weekday_rx: str = ""
    loc_before: re.Pattern[str] = re.compile(r"(?!x)x")
    loc_after: re.Pattern[str] = re.compile(r"(?!x)x")
    loc_from: re.Pattern[str] = re.compile(r"(?!x)x")


def _load_lang(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _inheritable(payload: tuple[Any, ...]) -> bool:
    return bool(payload[0] == "cue")


def _blocks(payload: tuple[Any, ...]) -> bool:
    return payload[0] in ("neutral", "attr", "person", "org", "place", "country")


def _add_lang(m: Matcher, data: dict[str, Any]) -> None:
    for group in CUE_GROUPS:
        m.add_all(data.get("cues", {}).get(group, []), ("cue", group, STRONG))
        m.add_all(data.get("weak", {}).get(group, []), ("cue", group, WEAK))
    m.add_all(data.get("signed", {}).get("terms", []), ("signed",))
    for side, terms in data.get("venue", {}).items():
        m.add_all(terms, ("venue", side))
    for rank in ROLE_GROUPS:
        m.add_all(data.get("roles", {}).get(rank, []), ("role", rank))
    neg = data.get("negation", {})
    m.add_all(neg.get("terms", []), ("neg",))
    m.add_all(neg.get("denial", []), ("denial",))
    m.add_all(neg.get("neutral", []), ("neutral",))
    m.add_all(neg.get("reaction", []), ("reaction",))
    for status in ("announced", "reported", "retrospective", "background"):
        m.add_all(data.get("status", {}).get(status, []), ("status", status))
    m.add_all(data.get("attribution", {}).get("terms", []), ("attr",))
    dates = data.get("dates", {})
    for key, days in RELATIVE.items():
        m.add_all(dates.get(key, []), ("reldate", days))
    for i, names in enumerate(dates.get("weekdays", [])):
        m.add_all(names, ("weekday", i))
    m.add_all(dates.get("dateline", []), ("dateline",))


def _edge_rx(terms: list[str], at_end: bool) -> re.Pattern[str]:
    """A regex telling whether a window ends (or starts) with one of `terms`."""
    alts = []
    for t in sorted({norm_term(t) for t in terms if t.strip()}, key=len, reverse=True):
        body = re.escape(t).replace(r"\ ", r"\s+")
        alpha = t[0].isalnum() and t[0] < "\u0530"
        if at_end:
            alts.append((r"(?<!\w)" if alpha else "") + body)
        else:
            alts.append(body + (r"(?!\w)" if t[-1].isalnum() and t[-1] < "\u0530" else ""))
    if not alts:
        return re.compile(r"(?!x)x")
    group = "(?:" + "|".join(alts) + ")"
    return re.compile(group + r"[\s\"'(]*$" if at_end else r"^[\s\"')]*" + group)


def build() -> Knowledge:
    """Read every data file and compile the matchers (about 0.2 s, once per process)."""
    m = Matcher()
    boiler = Matcher()
    people = gz.load_people()
    orgs = gz.load_organisations()
    places = gz.load_places()
    for i, p in enumerate(people):
        m.add_all(p.aliases, ("person", i))
    for i, o in enumerate(orgs):
        m.add_all(o.aliases, ("org", i))
    for i, pl in enumerate(places):
        m.add_all([pl.name, *pl.aliases], ("place", i))
    for c in gz.load_countries():
        m.add_all(c.get("names", []), ("country", c["side"], c["name"], True))
        m.add_all(c.get("demonyms", []), ("country", c["side"], c["name"], False))
    languages: dict[str, Language] = {}
    month_of: dict[str, int] = {}
    weekday_of: dict[str, int] = {}
    loc: dict[str, list[str]] = {"before": [], "after": [], "from": []}
    for path in sorted(LANG_DIR.glob("*.toml")):
        data = _load_lang(path)
        _add_lang(m, data)
        for where, terms in loc.items():
            terms.extend(data.get("location", {}).get(where, []))
        bp = data.get("boilerplate", {})
        for kind in ("tail", "cookie", "nav"):
            boiler.add_all(bp.get(kind, []), kind)
        dates = data.get("dates", {})
        for i, names in enumerate(dates.get("months", [])):
            for n in names:
                month_of[norm_term(n)] = i + 1
        for i, names in enumerate(dates.get("weekdays", [])):
            for n in names:
                weekday_of[norm_term(n)] = i
        languages[data["code"]] = Language(
            code=data["code"],
            name=data.get("name", data["code"]),
            stopwords=frozenset(norm_term(w) for w in data.get("stopwords", [])),
            months=dates.get("months", []),
            weekdays=dates.get("weekdays", []),
        )
    m.inherit(_inheritable, _blocks)
    m.compile()
    boiler.compile()
    month_rx = "|".join(re.escape(k) for k in sorted(month_of, key=len, reverse=True))
    weekday_rx = "|".join(re.escape(k) for k in sorted(weekday_of, key=len, reverse=True))
    return Knowledge(
        matcher=m,
        boiler=boiler,
        people=people,
        orgs=orgs,
        places=places,
        languages=languages,
        given_names=gz.load_given_names(),
        month_of=month_of,
        weekday_of=weekday_of,
        month_rx=month_rx,
        weekday_rx=weekday_rx,
        loc_before=_edge_rx(loc["before"], at_end=True),
        loc_after=_edge_rx(loc["after"], at_end=False),
        loc_from=_edge_rx(loc["from"], at_end=True),
    )


_KNOWLEDGE: Knowledge | None = None


def knowledge() -> Knowledge:
    """The process-wide compiled knowledge, built on first use."""
    global _KNOWLEDGE
    if _KNOWLEDGE is None:
        _KNOWLEDGE = build()
    return _KNOWLEDGE


def reset() -> None:
    """Forget the compiled knowledge (after editing data files in a running process)."""
    global _KNOWLEDGE
    _KNOWLEDGE = None
