"""The labels of seeds/TAXONOMY.md, as constants every stage shares."""

from typing import Final

CONTACT_TYPES: Final = (
    "summit",
    "high_level_visit",
    "delegation",
    "military",
    "security",
    "agreement",
    "message",
    "economic",
    "media_culture",
)
#: The visit types, highest rank first (convention 3, the rank line): one visit at
#: different ranks, so a story has one of them.
VISIT_TYPES: Final[tuple[str, ...]] = ("summit", "high_level_visit", "delegation")
DIRECTIONS: Final = ("ru_to_kp", "kp_to_ru", "third")
STATUSES: Final = ("announced", "reported", "retrospective")

#: A type is *reported* (appears in `types` of the JSON contract) at or above this score.
DEFAULT_TYPE_THRESHOLD: Final = 0.5
#: An item is relevant at or above this score unless the config says otherwise.
DEFAULT_RELEVANCE_THRESHOLD: Final = 0.5
