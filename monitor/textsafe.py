"""Text from feeds made inert before it reaches an operator's terminal or log file.

A feed controls its titles: an ESC sequence in one could move the cursor, rewrite
earlier lines or set the terminal's title. Every CLI line and log message that carries
such text goes through `inert`, which shows control characters as escapes.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown;
# tab and newline are kept only where the caller splits lines itself.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
