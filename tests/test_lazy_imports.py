"""The polling path imports only what polling needs: modules that only rare paths use
(the charset detector, the PostgreSQL dialect) are imported where those paths run.
Each one left at import time costs every daemon megabytes of resident memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Imported only by the paths that need them, never by polling a UTF-8 feed into SQLite.
NOT_FOR_POLLING = ("charset_normalizer", "sqlalchemy.dialects.postgresql")

_POLL = """
import json, sys
from datetime import UTC, datetime
from monitor.config import StoreConfig
from monitor.ingest.parse import parse_feed
from monitor.service.runtime import Runtime  # the daemon's whole polling path
from monitor.store import open_store
from monitor.store.base import EntryRecord

body = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t'
        b'</title><item><title>One</title><link>https://example.com/1</link>'
        b'<description>caf\\xc3\\xa9</description></item></channel></rss>')
now = datetime.now(UTC)
feed = parse_feed(body, {"content-type": "application/rss+xml"}, "https://example.com/f", now)
store = open_store(StoreConfig(path=sys.argv[1]))
row = store.sync_feeds([("f", "https://example.com/f")], {"f": None})["f"]
records = [
    EntryRecord(key=e.key, canonical_url=e.canonical_url, url=e.link, title=e.title,
                summary=e.summary, text=e.content or e.summary, published=e.published,
                content_hash=e.content_hash, language_hint=e.language)
    for e in feed.entries
]
changes, _ = store.store_entries(row.id, records, now, 100)
store.close()
print(json.dumps({"stored": len(changes), "modules": sorted(sys.modules)}))
"""


def test_polling_into_sqlite_imports_no_rare_path_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _POLL, str(tmp_path / "m.db")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stored"] == 1
    loaded = [m for m in NOT_FOR_POLLING if m in result["modules"]]
    assert loaded == []


def test_a_legacy_body_still_finds_the_detector() -> None:
    """The detector, imported where it is used, still decodes a body declared wrongly."""
    from datetime import UTC, datetime

    from monitor.ingest.parse import parse_feed

    title = "Привет, мир: новости дня"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://example.com/1</link></item>"
        "</channel></rss>"
    ).encode("cp1251")
    feed = parse_feed(
        body, {"content-type": "application/rss+xml"}, "https://e.com/f", datetime.now(UTC)
    )
    assert feed.entries[0].title == title
