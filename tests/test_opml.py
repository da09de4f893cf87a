"""`monitor feeds import` / `export`: OPML in and out with listparser and ElementTree."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import FeedConfig, load_config
from monitor.web.opml import read_opml, slug, write_opml

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Korea">
      <outline text="Inner">
        <outline type="rss" text="NK News &amp; Analysis" title="NK News &amp; Analysis"
                 xmlUrl="https://www.nknews.org/feed/" htmlUrl="https://www.nknews.org"/>
      </outline>
      <outline type="rss" text="KCNA &quot;Watch&quot;" xmlUrl="https://kcnawatch.org/feed/"/>
    </outline>
    <outline type="rss" text="Again" xmlUrl="https://kcnawatch.org/feed/"/>
    <outline type="rss" text="Local" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="Script" xmlUrl="javascript:alert(1)"/>
    <outline type="rss" text="TASS" xmlUrl="https://tass.com/rss/v2.xml"/>
    <outline type="rss" text="Новости" xmlUrl="https://ria.ru/export/rss2/index.xml"/>
  </body>
</opml>
""".encode()

CONFIG = """# my monitor: keep this comment
[store]
path = "var/m.db"

[[feeds]]
name = "tass"
url = "https://tass.com/rss/v2.xml"
"""


def test_read_opml_keeps_http_feeds_once_with_titles_and_folders() -> None:
    feeds, warnings = read_opml(OPML)
    assert [f.url for f in feeds] == [
        "https://www.nknews.org/feed/",
        "https://kcnawatch.org/feed/",
        "https://tass.com/rss/v2.xml",
        "https://ria.ru/export/rss2/index.xml",
    ]
    assert feeds[0].title == "NK News & Analysis" and feeds[0].category == "Korea/Inner"
    assert feeds[1].title == 'KCNA "Watch"'
    assert len(warnings) == 2 and all("not an http(s) URL" in w for w in warnings)
    assert slug("Новости") == "feed" and slug("NK News & Analysis") == "nk-news-analysis"


def test_import_prints_then_appends_new_feeds_keeping_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "list.opml").write_bytes(OPML)
    config = tmp_path / "monitor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    args = ["feeds", "import", str(tmp_path / "list.opml"), "-c", str(config)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert '[[feeds]]\nname = "nk-news-analysis"\nurl = "https://www.nknews.org/feed/"' in out
    assert 'title = "KCNA \\"Watch\\""' in out
    assert "4 feed(s)" in err and "3 new, 1 already configured" in err
    assert config.read_text(encoding="utf-8") == CONFIG  # printing changes nothing

    assert main([*args, "--append"]) == 0
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG) and "# imported from list.opml" in text
    loaded = load_config(config, secrets=False)
    assert [f.name for f in loaded.feeds] == ["tass", "nk-news-analysis", "kcna-watch", "feed"]
    assert loaded.feeds[2].title == 'KCNA "Watch"'
    assert main([*args, "--append"]) == 0  # again: nothing new, nothing appended
    assert config.read_text(encoding="utf-8") == text


def test_export_writes_opml_that_imports_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = [
        FeedConfig(name="kcna", url="https://kcnawatch.org/feed/?a=1&b=2", title="KCNA <Watch>"),
        FeedConfig(name="tass", url="https://tass.com/rss/v2.xml"),
    ]
    data = write_opml(feeds)
    assert b"&amp;b=2" in data and b"KCNA &lt;Watch&gt;" in data
    back, warnings = read_opml(data)
    assert [(f.url, f.title) for f in back] == [
        ("https://kcnawatch.org/feed/?a=1&b=2", "KCNA <Watch>"),
        ("https://tass.com/rss/v2.xml", "tass"),
    ]
    assert warnings == []
    config = tmp_path / "monitor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "out.opml"
    assert main(["feeds", "export", "-c", str(config), "-o", str(out)]) == 0
    assert [f.url for f in read_opml(out.read_bytes())[0]] == ["https://tass.com/rss/v2.xml"]


def test_import_refuses_what_is_not_opml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "bad.opml").write_bytes(b"<html><body>not a list")
    assert main(["feeds", "import", str(tmp_path / "bad.opml"), "-c", str(config)]) == 2
    assert "not an OPML subscription list" in capsys.readouterr().err
    assert main(["feeds", "import", str(tmp_path / "missing.opml"), "-c", str(config)]) == 2
