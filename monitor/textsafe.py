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


# Everything `_CONTROL` matches plus tab, newline and carriage return, and the Unicode
# line and paragraph separators: for text that must stay on one line (a log message).
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def inert_line(text: str) -> str:
    """`text` made inert and kept on one line: newlines and tabs are escaped too, so a
    feed title cannot forge a second log line."""
    return _LINE_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
