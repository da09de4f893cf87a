"""Per-language cue lexicons (data/lang/*.toml) compiled with the gazetteer into matchers.

Everything the classifier looks for in running text goes into ONE trie regex, so a
longer term consumes the words inside it: "Corée du Sud" is never "Corée du Nord",
"sans précédent" is no negation, "Conseil de sécurité de l'ONU" gives no security cue.
Line-level boilerplate markers get a second, small matcher. Built once per process.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gazetteer as gz
from .forms import load as load_forms
from .forms import with_forms
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
#: [status] lists: announced/reported/retrospective/background set the status and
#: background; invitation, opinion and remark frame a sentence or the whole item.
STATUS_KINDS = (
    "announced",
    "reported",
    "retrospective",
    "background",
    "invitation",
    "opinion",
    "remark",
)
ROLE_GROUPS = ("leader", "minister", "senior", "official", "generic", "counterpart", "deputy")
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
    code: str = "en"
    month_of: dict[str, int] = field(default_factory=dict)
    weekday_of: dict[str, int] = field(default_factory=dict)
    month_rx: str = ""
    weekday_rx: str = ""
    #: The language writes ordinals with a dot ("18. Juni"): no sentence ends there.
    ordinal_dot: bool = False
    loc_before: re.Pattern[str] = re.compile(r"(?!x)x")
    loc_after: re.Pattern[str] = re.compile(r"(?!x)x")
    loc_from: re.Pattern[str] = re.compile(r"(?!x)x")


def _load_lang(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _inheritable(payload: tuple[Any, ...]) -> bool:
    """Payloads a longer term takes from the words inside it: cues and venue words
    ("접견했다" still hosts like "접견", "방북했다" is still a visit to the North)."""
    return payload[0] in ("cue", "venue")


def _blocks(payload: tuple[Any, ...]) -> bool:
    return payload[0] in ("neutral", "attr", "person", "org", "place", "country")


def _add_lang(m: Matcher, data: dict[str, Any], forms: Mapping[str, tuple[str, ...]]) -> None:
    """A pack's tables into the matcher, each word with its inflected forms (forms.py)."""

    def add(terms: Iterable[str], payload: tuple[Any, ...]) -> None:
        m.add_all(with_forms(terms, forms), payload)

    for group in CUE_GROUPS:
        add(data.get("cues", {}).get(group, []), ("cue", group, STRONG))
        add(data.get("weak", {}).get(group, []), ("cue", group, WEAK))
    # an intergovernmental commission's session is trade talks and a meeting of its
    # co-chairs (ministers, as a rule): economic, and a visit whose rank its people set
    commission = data.get("cues", {}).get("commission", [])
    add(commission, ("cue", "economic", STRONG))
    add(commission, ("cue", "visit", STRONG))
    # a visiting group (an art troupe, a team, doctors): a delegation when it is abroad,
    # and a cultural, sports or health exchange
    troupes = data.get("cues", {}).get("group", [])
    add(troupes, ("cue", "delegation", STRONG, "group"))
    add(troupes, ("cue", "media_culture", STRONG))
    add(data.get("signed", {}).get("terms", []), ("signed",))
    for side, terms in data.get("venue", {}).items():
        add(terms, ("venue", side))
    for rank in ROLE_GROUPS:
        add(data.get("roles", {}).get(rank, []), ("role", rank))
    neg = data.get("negation", {})
    add(neg.get("terms", []), ("neg",))
    add(neg.get("denial", []), ("denial",))
    add(neg.get("neutral", []), ("neutral",))
    add(neg.get("reaction", []), ("reaction",))
    for status in STATUS_KINDS:
        add(data.get("status", {}).get(status, []), ("status", status))
    add(data.get("attribution", {}).get("terms", []), ("attr",))
    dates = data.get("dates", {})
    for key, days in RELATIVE.items():
        add(dates.get(key, []), ("reldate", days))
    for i, names in enumerate(dates.get("weekdays", [])):
        add(names, ("weekday", i))
    add(dates.get("dateline", []), ("dateline",))


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


#: [names.other] keys: (canonical name, side). Unlisted keys are third parties too.
OTHER_NAMES = {
    "kr": ("South Korea", "other"),
    "cn": ("China", "other"),
    "us": ("United States", "other"),
    "jp": ("Japan", "other"),
    "by": ("Belarus", "other"),
    "ir": ("Iran", "other"),
    "ua": ("Ukraine", "context"),
    "neutral": ("Korean Peninsula", "neutral"),
}
SIDE_NAMES = {"ru": "Russia", "kp": "North Korea", "pair": "Russia–North Korea"}
CAPITALS = {"ru_capital": "Moscow", "kp_capital": "Pyongyang"}
#: Boilerplate (page furniture) of these packs is recognised in every language's pages.
FURNITURE_LANGS = ("en",)


@dataclass
class Shared:
    """What every language shares: the gazetteer and the parsed packs (read once)."""

    people: list[gz.Person]
    orgs: list[gz.Organisation]
    places: list[gz.Place]
    countries: list[dict[str, Any]]
    given_names: dict[str, str]
    packs: dict[str, dict[str, Any]]
    errors: dict[str, str]
    languages: dict[str, Language]


def _read_packs() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every data/lang/*.toml that parses; the others are reported, never fatal."""
    packs: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for path in sorted(LANG_DIR.glob("*.toml")):
        try:
            data = _load_lang(path)
            code = str(data["code"])
        except (tomllib.TOMLDecodeError, KeyError, OSError, UnicodeDecodeError) as exc:
            errors[path.name] = f"{type(exc).__name__}: {exc}"
            continue
        packs[code] = data
    return packs, errors


def load_shared() -> Shared:
    packs, errors = _read_packs()
    languages = {}
    for code, data in packs.items():
        dates = data.get("dates", {})
        languages[code] = Language(
            code=code,
            name=data.get("name", code),
            stopwords=frozenset(norm_term(w) for w in data.get("stopwords", [])),
            months=dates.get("months", []),
            weekdays=dates.get("weekdays", []),
        )
    return Shared(
        people=gz.load_people(),
        orgs=gz.load_organisations(),
        places=gz.load_places(),
        countries=gz.load_countries(),
        given_names=gz.load_given_names(),
        packs=packs,
        errors=errors,
        languages=languages,
    )


def name_payloads(data: dict[str, Any], places: list[gz.Place]) -> list[tuple[str, Any]]:
    """(term, payload) for a pack's [names] and [names.other] tables."""
    out: list[tuple[str, Any]] = []
    names = data.get("names", {})
    place_index = {p.name: i for i, p in enumerate(places)}
    for side in ("ru", "kp", "pair"):
        out += [(t, ("country", side, SIDE_NAMES[side], True)) for t in names.get(side, [])]
    for side in ("ru", "kp"):
        dem = names.get(f"{side}_demonym", [])
        out += [(t, ("country", side, SIDE_NAMES[side], False)) for t in dem]
    for key, canonical in CAPITALS.items():
        i = place_index.get(canonical)
        side = key.split("_", 1)[0]
        payload: Any = ("place", i) if i is not None else ("country", side, canonical, True)
        out += [(t, payload) for t in names.get(key, [])]
    out += [(t, ("two_sides",)) for t in names.get("two_sides", [])]
    for key, terms in names.get("other", {}).items():
        canonical, side = OTHER_NAMES.get(key, (key.upper(), "other"))
        for t in terms:
            first = t.lstrip("~")[:1]
            is_name = not (first.isalpha() and first.islower())
            out.append((t, ("country", side, canonical, is_name)))
    return out


def build(code: str = "en", shared: Shared | None = None) -> Knowledge:
    """Compile the matchers of one language: its pack plus the script-level gazetteer."""
    sh = shared or shared_data()
    if code not in sh.packs:
        code = "en" if "en" in sh.packs else next(iter(sh.packs))
    data = sh.packs[code]
    m = Matcher()
    boiler = Matcher()
    forms = load_forms(code)
    for i, p in enumerate(sh.people):
        m.add_all(with_forms(p.aliases, forms), ("person", i))
    for i, o in enumerate(sh.orgs):
        m.add_all(with_forms(o.aliases, forms), ("org", i))
    for i, pl in enumerate(sh.places):
        m.add_all(with_forms([pl.name, *pl.aliases], forms), ("place", i))
    for c in sh.countries:
        m.add_all(with_forms(c.get("names", []), forms), ("country", c["side"], c["name"], True))
        dem = with_forms(c.get("demonyms", []), forms)
        m.add_all(dem, ("country", c["side"], c["name"], False))
    for term, payload in name_payloads(data, sh.places):
        for form in with_forms([term], forms):
            m.add(form, payload)
    _add_lang(m, data, forms)
    for extra in (code, *FURNITURE_LANGS):
        bp = sh.packs.get(extra, {}).get("boilerplate", {})
        for kind in ("tail", "cookie", "nav"):
            boiler.add_all(bp.get(kind, []), kind)
    loc = {
        where: list(data.get("location", {}).get(where, []))
        for where in ("before", "after", "from")
    }
    dates = data.get("dates", {})
    month_of: dict[str, int] = {}
    weekday_of: dict[str, int] = {}
    for i, names in enumerate(dates.get("months", [])):
        for n in names:
            month_of[norm_term(n)] = i + 1
    for i, names in enumerate(dates.get("weekdays", [])):
        for n in names:
            weekday_of[norm_term(n)] = i
    m.inherit(_inheritable, _blocks)
    m.compile()
    boiler.compile()
    month_rx = "|".join(re.escape(k) for k in sorted(month_of, key=len, reverse=True))
    weekday_rx = "|".join(re.escape(k) for k in sorted(weekday_of, key=len, reverse=True))
    return Knowledge(
        matcher=m,
        boiler=boiler,
        people=sh.people,
        orgs=sh.orgs,
        places=sh.places,
        languages=sh.languages,
        given_names=sh.given_names,
        code=code,
        month_of=month_of,
        weekday_of=weekday_of,
        ordinal_dot=bool(data.get("ordinal_dot", False)),
        month_rx=month_rx or r"(?!x)x",
        weekday_rx=weekday_rx or r"(?!x)x",
        loc_before=_edge_rx(loc["before"], at_end=True),
        loc_after=_edge_rx(loc["after"], at_end=False),
        loc_from=_edge_rx(loc["from"], at_end=True),
    )


_SHARED: Shared | None = None
_KNOWLEDGE: dict[str, Knowledge] = {}
_LOCK = threading.Lock()


def shared_data() -> Shared:
    """The gazetteer and parsed packs, read on first use."""
    global _SHARED
    if _SHARED is None:
        _SHARED = load_shared()
    return _SHARED


def knowledge(code: str | None = None) -> Knowledge:
    """The compiled knowledge of one language (default English), built on first use.

    A language without a pack gets the English pack (names still match: the gazetteer
    is script-level)."""
    sh = shared_data()
    key = code if code in sh.packs else "en"
    k = _KNOWLEDGE.get(key)
    if k is None:
        with _LOCK:
            k = _KNOWLEDGE.get(key)
            if k is None:
                k = _KNOWLEDGE[key] = build(key, sh)
    return k


def reset() -> None:
    """Forget the compiled knowledge (after editing data files in a running process)."""
    global _SHARED
    with _LOCK:
        _SHARED = None
        _KNOWLEDGE.clear()
