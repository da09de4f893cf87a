"""`make forms`: regenerate data/forms/<code>.json from simplemma's dictionaries.

Run after editing a pack's words (see forms.py for why the forms are stored). Needs
simplemma (a test dependency); the daemon never imports it.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Mapping
from typing import Any

from . import gazetteer as gz
from .forms import DATA_DIR, FORMS_DIR, extract, inflectable, pack_words

#: Pack code → simplemma's code where they differ (Serbian is in its Serbo-Croatian).
SIMPLEMMA_CODE = {"sr": "hbs"}


def simplemma_code(code: str) -> str | None:
    """simplemma's code for a pack, or None when simplemma has no dictionary for it."""
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    lang = SIMPLEMMA_CODE.get(code, code)
    return lang if lang in SUPPORTED_LANGUAGES else None


def gazetteer_words() -> set[str]:
    """The single-word names of the gazetteer (people, organisations, places,
    countries): in a language's text they inflect like its own words ("Kijowie")."""
    names: list[str] = []
    for person in gz.load_people():
        names += person.aliases
    for org in gz.load_organisations():
        names += org.aliases
    for place in gz.load_places():
        names += [place.name, *place.aliases]
    for country in gz.load_countries():
        names += [*country.get("names", []), *country.get("demonyms", [])]
    return {n.strip() for n in names if inflectable(n.strip())}


def generate(code: str, pack: Mapping[str, Any]) -> dict[str, Any] | None:
    """The forms file of one pack and of the gazetteer's names in that language (None
    when simplemma does not cover it)."""
    import simplemma
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    lang = simplemma_code(code)
    if lang is None:
        return None
    dictionary = DefaultDictionaryFactory(cache_max_size=1).get_dictionary(lang)
    return {
        "source": f"simplemma {simplemma.__version__} ({lang})",
        "forms": extract(pack_words(pack) | gazetteer_words(), dictionary),
    }


def main(argv: list[str]) -> int:
    """Regenerate data/forms/<code>.json for the given packs (default: every pack)."""
    FORMS_DIR.mkdir(exist_ok=True)
    paths = sorted((DATA_DIR / "lang").glob("*.toml"))
    for path in paths:
        if argv and path.stem not in argv:
            continue
        with path.open("rb") as fh:
            pack = tomllib.load(fh)
        data = generate(str(pack["code"]), pack)
        if data is None:
            print(f"{path.stem}: simplemma has no dictionary, skipped")
            continue
        out = FORMS_DIR / f"{path.stem}.json"
        out.write_text(dump(data), encoding="utf-8")
        print(f"{path.stem}: {len(data['forms'])} words, {out.name}")
    return 0


def dump(data: Mapping[str, Any]) -> str:
    """The stored form of a forms file: one word per line, so diffs stay readable."""
    lines = ["{", f'  "source": {json.dumps(data["source"])},', '  "forms": {']
    items = list(data["forms"].items())
    for i, (word, forms) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(
            f"    {json.dumps(word, ensure_ascii=False)}: "
            f"{json.dumps(forms, ensure_ascii=False)}{comma}"
        )
    lines += ["  }", "}", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
