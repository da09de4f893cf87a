"""Article identity: canonical URLs and entry keys that agree across feeds."""

from __future__ import annotations

import pytest

from monitor.ingest.identity import canonical_url, entry_key, is_web_url


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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # IDN hosts: lower-cased, neither punycoded nor decoded
        ("https://Bücher.Example/a", "https://bücher.example/a"),
        ("https://XN--bcher-kva.example/a", "https://xn--bcher-kva.example/a"),
        # ports: the default one dropped, others kept, an invalid one leaves the value alone
        ("http://example.com:8080", "http://example.com:8080/"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("http://example.com:/a", "http://example.com/a"),
        ("http://example.com:99999/a", "http://example.com:99999/a"),
        ("http://example.com:x/a", "http://example.com:x/a"),
        # userinfo kept as written, host after it lower-cased
        ("http://User:Pw@Example.com/a", "http://User:Pw@example.com/a"),
        ("http://@example.com/a", "http://example.com/a"),
        # trailing dots, IPv6, empty and odd hosts
        ("http://example.com./a/", "http://example.com/a"),
        ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
        ("http://[::1/a", "http://[::1/a"),
        ("http://./a", "http:///a"),
        ("http:///a", "http:///a"),
        ("http:example.com/a", "http:example.com/a"),
        # fragments, empty queries, params, repeated and tracking parameters
        ("https://example.com/a#", "https://example.com/a"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com/a?#x", "https://example.com/a"),
        ("https://example.com/a;p=1?b=1", "https://example.com/a;p=1?b=1"),
        ("https://example.com/a?b=2&b=1&utm_source=x", "https://example.com/a?b=1&b=2"),
        ("https://example.com/a?utm_source=x", "https://example.com/a"),
        ("https://example.com/a?UTM_Medium=x&Ref=y&id=1", "https://example.com/a?id=1"),
        ("https://example.com/a?x", "https://example.com/a?x="),
        ("https://example.com/a?a=%7e&b=c d", "https://example.com/a?a=~&b=c%20d"),
        # paths: slashes collapsed, escapes normalised, unsafe characters quoted
        ("https://example.com//a///b//", "https://example.com/a/b"),
        ("https://example.com/a/./b/../c", "https://example.com/a/./b/../c"),
        ("https://example.com/a%2f%41%zz", "https://example.com/a%2FA%zz"),
        ("https://example.com/a b|c<d>", "https://example.com/a%20b%7Cc%3Cd%3E"),
        ("https://example.com/a[1]", "https://example.com/a%5B1%5D"),
        # relative links and other schemes: stripped, otherwise as they are
        ("/a/b/", "/a/b/"),
        ("//example.com/a", "//example.com/a"),
        ("ftp://Example.com/a", "ftp://Example.com/a"),
        ("mailto:Desk@Example.com", "mailto:Desk@Example.com"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        # whitespace: stripped at the ends; tabs and newlines inside are dropped by urlsplit
        ("\n\thttps://example.com/a\u00a0", "https://example.com/a"),
        ("https://exa\tmple.com/a\nb", "https://example.com/ab"),
        ("https://example.com/a b", "https://example.com/a%20b"),
    ],
)
def test_canonical_url_odd_values(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com", True),
        ("HTTP://Example.com/a", True),
        ("  http://example.com/a?b#c  ", True),
        ("https://bücher.example/", True),
        ("http://user@example.com", True),
        ("http://example.com:99999", True),  # the port is not looked at
        ("http://.", True),
        ("http://[::1]/a", True),
        ("http:///a", False),
        ("http://@/a", False),
        ("http:example.com", False),
        ("//example.com/a", False),
        ("/a/b", False),
        ("ftp://example.com/a", False),
        ("mailto:desk@example.com", False),
        ("", False),
    ],
)
def test_is_web_url(value: str, expected: bool) -> None:
    assert is_web_url(value) is expected


def test_a_url_urlsplit_cannot_read_is_no_web_url() -> None:
    """It used to raise, and one such guid failed its whole feed."""
    assert is_web_url("http://[::1/a") is False
    assert is_web_url("https://[bad/guid-1") is False
