"""The gazetteer: people, organisations, places and countries read from data/*.toml.

Knowledge is data so that a user can add a minister or a transliteration without
touching code. Each entry becomes matcher terms whose payloads point back here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .normalize import norm_term

DATA_DIR = Path(__file__).with_name("data")

RANKS = {"leader": 3, "minister": 2, "senior": 2, "official": 1}


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    side: str
    rank: str
    aliases: tuple[str, ...]
    leader_years: tuple[int, int] | None = None

    def rank_in(self, year: int | None) -> int:
        """Numeric rank; a former leader ranks as leader only in their years."""
        if self.leader_years and year is not None:
            lo, hi = self.leader_years
            if lo <= year <= hi:
                return RANKS["leader"]
        return RANKS.get(self.rank, 1)


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    side: str
    kind: str
    aliases: tuple[str, ...]
    venue: str | None = None


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str
    aliases: tuple[str, ...]


def _load(name: str) -> dict[str, Any]:
    with (DATA_DIR / name).open("rb") as fh:
        return tomllib.load(fh)


def _korean_variants(alias: str) -> list[str]:
    """DPRK names in Latin letters also appear with the given name joined: Kim Jongun."""
    words = norm_term(alias).split()
    out = [alias]
    if len(words) == 3 and all(w.isascii() and w.isalpha() for w in words):
        out.append(f"{words[0]} {words[1]}{words[2]}")
    return out


def _apostrophe_variants(alias: str) -> list[str]:
    """Ch'oe is also written Choe: accept both without listing them."""
    if "'" in norm_term(alias):
        return [alias, norm_term(alias).replace("'", "")]
    return [alias]


def load_people() -> list[Person]:
    people = []
    for row in _load("people.toml").get("person", []):
        aliases: list[str] = []
        for alias in [row["name"], *row.get("aliases", [])]:
            for a in _apostrophe_variants(alias):
                aliases.extend(_korean_variants(a) if row["side"] == "kp" else [a])
        years = row.get("leader_years")
        people.append(
            Person(
                name=row["name"],
                side=row["side"],
                rank=row.get("rank", "official"),
                aliases=tuple(dict.fromkeys(aliases)),
                leader_years=(int(years[0]), int(years[1])) if years else None,
            )
        )
    return people


def load_organisations() -> list[Organisation]:
    return [
        Organisation(
            name=row["name"],
            side=row["side"],
            kind=row.get("kind", "government"),
            aliases=tuple([row["name"], *row.get("aliases", [])]),
            venue=row.get("venue"),
        )
        for row in _load("organisations.toml").get("organisation", [])
    ]


def load_places() -> list[Place]:
    return [
        Place(name=row["name"], country=row["country"], aliases=tuple(row.get("aliases", [])))
        for row in _load("places.toml").get("place", [])
    ]


def load_countries() -> list[dict[str, Any]]:
    return list(_load("countries.toml").get("country", []))


def load_given_names() -> dict[str, str]:
    """Spelling of a Russian given name -> canonical English given name."""
    out: dict[str, str] = {}
    for canonical, spellings in _load("given_names.toml").get("ru", {}).items():
        for s in [canonical, *spellings]:
            out[s] = canonical
    return out
