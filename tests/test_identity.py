"""Article identity: canonical URLs and entry keys that agree across feeds."""

from __future__ import annotations

import pytest

from monitor.ingest.identity import canonical_url, entry_key


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a/b", "http://example.com/a/b"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/%7euser/a%2fb", "https://example.com/~user/a%2Fb"),
        ("https://example.com/corée", "https://example.com/cor%C3%A9e"),
        ("https://example.com/a?q=a+b", "https://example.com/a?q=a%20b"),
        ("urn:uuid:1234-5678", "urn:uuid:1234-5678"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "param",
    [
        "utm_source=rss",
        "utm_medium=feed",
        "utm_campaign=x",
        "fbclid=abc",
        "gclid=abc",
        "mc_cid=1",
        "mc_eid=2",
        "yclid=3",
        "igshid=4",
        "_ga=5",
        "ref=home",
        "ref_src=twsrc",
        "xtor=RSS-3208",
    ],
)
def test_tracking_parameters_are_stripped(param: str) -> None:
    url = f"https://news.example/2025/11/kim-putin?id=7&{param}"
    assert canonical_url(url) == "https://news.example/2025/11/kim-putin?id=7"


def test_canonical_url_is_idempotent() -> None:
    url = "HTTPS://News.Example:443/a/b/?utm_source=x&z=1&a=%7e#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_plain_guid_is_the_key() -> None:
    assert entry_key("tag:news.example,2025:article-4711", None, "t", "s") == (
        "tag:news.example,2025:article-4711"
    )


def test_url_guid_is_canonicalised_so_feeds_agree() -> None:
    a = entry_key("https://news.example/a?utm_source=feed-a", None, "Title", "A")
    b = entry_key(None, "https://NEWS.example/a/?utm_source=feed-b#top", "Title", "B")
    assert a == b == "url:https://news.example/a"


@pytest.mark.parametrize("guid", [None, "", "   ", "1", "12345678", "null", "#"])
def test_weak_guids_fall_back_to_the_link(guid: str | None) -> None:
    key = entry_key(guid, "https://news.example/a?fbclid=1", "t", "s")
    assert key == "url:https://news.example/a"


def test_without_guid_or_link_the_key_hashes_title_and_summary() -> None:
    key = entry_key(None, None, "Kim meets  Putin", "In Vladivostok.")
    assert key.startswith("hash:") and len(key) == len("hash:") + 64
    assert entry_key(None, "", " kim MEETS putin ", "in  vladivostok.") == key
    assert entry_key(None, None, "Kim meets Putin", "In Moscow.") != key


def test_non_web_link_is_not_an_identity() -> None:
    assert entry_key(None, "mailto:desk@news.example", "t", "s").startswith("hash:")


def test_huge_guid_is_hashed() -> None:
    key = entry_key("x" * 10_000, None, "t", "s")
    assert key.startswith("guid-sha256:") and len(key) < 100
