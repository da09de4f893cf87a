"""Full article text from the fetched page, for items whose feed gives only a teaser.

Runs first (`tryfirst`) so language identification and classifiers read the article,
not the summary. Precision over recall: navigation, cookie banners, share buttons and
"related articles" lists mention other stories and would cause false alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trafilatura

from monitor.hookspecs import hookimpl
from monitor.models import Item

#: Pages larger than this are not worth the CPU (and are probably not one article).
MAX_HTML_CHARS = 5_000_000


def extract_text(html: str, url: str | None = None) -> str | None:
    """The main text of an article page, or None when none can be found."""
    text = trafilatura.extract(
        html,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        deduplicate=False,
        with_metadata=False,
    )
    return text.strip() if text else None


@hookimpl(tryfirst=True)
def monitor_enrich(item: Item) -> Mapping[str, Any] | None:
    """Replace `text` by the extracted article when it is longer than what we have."""
    if not item.html:
        return None
    if len(item.html) > MAX_HTML_CHARS:
        return _kept(f"page too large to extract ({len(item.html)} characters)")
    try:
        text = extract_text(item.html, item.url)
    except Exception as exc:  # trafilatura/lxml on hostile markup: keep the summary
        return _kept(f"extraction failed: {type(exc).__name__}: {exc}")
    if not text:
        return _kept("no article text found in the page")
    if len(text) <= len(item.text):
        return _kept(
            f"extracted text ({len(text)} characters) not longer than the feed's "
            f"({len(item.text)} characters)"
        )
    return {"text": text, "meta": {"text_source": "extracted"}}


def _kept(reason: str) -> Mapping[str, Any]:
    return {"meta": {"text_source": "summary", "extraction_error": reason}}
