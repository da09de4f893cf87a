"""rudprk: the built-in classifier of Russia–DPRK contacts.

`classify(item)` works without pluggy; `monitor_classify` is the same function as a
hook implementation. Knowledge (names, cue words per language) lives in `data/`;
the regexes are compiled once per process on first use.
"""

from __future__ import annotations

import monitor
from monitor.hookspecs import hookimpl
from monitor.models import Classification, Item

from . import engine
from .lexicon import knowledge, reset

__all__ = ["classify", "knowledge", "monitor_classify", "reset"]


def classify(item: Item) -> Classification:
    """Classify one item for Russia–DPRK contacts (deterministic, no network)."""
    return engine.classify(item, monitor.__version__)


@hookimpl
def monitor_classify(item: Item) -> Classification:
    """The `monitor_classify` hook: the built-in classifier's verdict on `item`."""
    return classify(item)
