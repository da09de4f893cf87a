"""Watch-list classifier: flags articles that name people on a list.

A monitor plugin. When an article names someone on the list, it returns a relevant
Classification whose `actors` are the people found; otherwise it abstains (None), so it
never lowers what other classifiers found. Configure it in monitor's config file:

    [plugins.options.watchlist]
    names = ["Kim Yo Jong", "Sergei Shoigu"]          # canonical names to flag
    aliases = { "Sergei Shoigu" = ["Choïgou"] }       # other spellings (optional)
    score = 0.6                                       # 0..1: the score of a hit

Matching ignores case, accents, hyphens and spacing, on whole words: "Choe Son-hui"
matches "Choe Son Hui". Names in `KNOWN_ALIASES` bring their usual spellings along.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.hookspecs import hookimpl
from monitor.models import Classification, Item

NAME = "watchlist"

#: People whose names appear almost only in Russia–DPRK news: a list that alerts on
#: contacts without flooding (Putin or Kim Jong Un alone would flag every Kremlin story).
DEFAULT_NAMES = (
    "Choe Son Hui",
    "Sergei Shoigu",
    "Sergei Lavrov",
    "Kim Yo Jong",
    "Alexander Kozlov",
    "Alexander Matsegora",
    "Sin Hong Chol",
)

#: Usual spellings (English, French, Russian, Korean) of some names.
KNOWN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "Choe Son Hui": ("Choe Son Hui", "Choe Son-hui", "Chwe Son Hui", "Цой Сон Хи", "최선희"),
    "Sergei Shoigu": ("Sergei Shoigu", "Shoigu", "Choïgou", "Шойгу", "쇼이구"),
    "Sergei Lavrov": ("Sergei Lavrov", "Lavrov", "Sergueï Lavrov", "Лавров", "라브로프"),
    "Kim Yo Jong": ("Kim Yo Jong", "Kim Yo-jong", "Ким Ё Чжон", "김여정"),
    "Alexander Kozlov": ("Alexander Kozlov", "Aleksandr Kozlov", "Alexandre Kozlov"),
    "Alexander Matsegora": ("Alexander Matsegora", "Matsegora", "Мацегора"),
    "Sin Hong Chol": ("Sin Hong Chol", "Sin Hong-chol", "Син Хон Чхоль"),
    "Vladimir Putin": ("Vladimir Putin", "Putin", "Poutine", "Путин"),
    "Kim Jong Un": ("Kim Jong Un", "Kim Jong-un", "Ким Чен Ын", "김정은"),
}
DEFAULT_SCORE = 0.6
OPTIONS = {"names", "aliases", "score"}

# Set by monitor_startup: (canonical name, compiled pattern) pairs, and the score.
_patterns: list[tuple[str, re.Pattern[str]]] = []
_score: list[float] = []


def normalise(text: str) -> str:
    """Lower case, no accents, hyphens and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s\-‐-―]+", " ", plain).strip()


def compile_list(
    names: list[str], aliases: Mapping[str, list[str]]
) -> list[tuple[str, re.Pattern[str]]]:
    """One whole-word pattern per name, covering its aliases."""
    patterns = []
    for name in names:
        spellings = {name, *KNOWN_ALIASES.get(name, ()), *aliases.get(name, ())}
        forms = sorted({normalise(s) for s in spellings}, key=len, reverse=True)
        alternatives = "|".join(re.escape(f) for f in forms if f)
        patterns.append((name, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")))
    return patterns


def read_options(options: Mapping[str, Any], source: str) -> tuple[list[str], dict, float]:
    """Checked options; ConfigError naming every bad key."""
    where = f"plugins.options.{NAME}"
    problems = [f"{where}.{key}: unknown key" for key in sorted(set(options) - OPTIONS)]
    names = options.get("names", list(DEFAULT_NAMES))
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        problems.append(f"{where}.names: expected a list of names")
    aliases = options.get("aliases", {})
    if not isinstance(aliases, Mapping) or not all(
        isinstance(v, list) and all(isinstance(a, str) for a in v) for v in aliases.values()
    ):
        problems.append(f'{where}.aliases: expected a table like {{ "Name" = ["Alias"] }}')
    score = options.get("score", DEFAULT_SCORE)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        problems.append(f"{where}.score: expected a number from 0 to 1, got {score!r}")
    if problems:
        raise ConfigError(source, problems)
    return names, dict(aliases), float(score)


@hookimpl
def monitor_startup(config: Config) -> None:
    """Read `[plugins.options.watchlist]` (or the defaults) and compile the list.

    Called once at start and after each config reload; a ConfigError here marks the
    plugin failed with the reason (see `monitor plugins`), other plugins still run.
    """
    names, aliases, score = read_options(config.plugins.options.get(NAME, {}), config.source)
    _patterns[:] = compile_list(names, aliases)
    _score[:] = [score]


@hookimpl
def monitor_classify(item: Item) -> Classification | None:
    """Flag `item` when it names someone on the list; None (abstain) otherwise.

    Pure computation on the item's text: deterministic, no network, `item` unchanged.
    """
    if not _patterns:  # used without monitor_startup: the default list
        monitor_startup(Config())
    text = normalise(item.full_text)
    found = [(m.start(), name) for name, p in _patterns if (m := p.search(text))]
    if not found:
        return None
    found.sort()
    return Classification(
        relevant=True,
        score=_score[0],
        actors=tuple(name for _, name in found),
        explanation=tuple(f"watch-list: {name}" for _, name in found),
    )


@hookimpl
def monitor_shutdown() -> None:
    _patterns.clear()
    _score.clear()
