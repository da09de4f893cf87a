"""Stable identities for articles, so the same story is stored (and alerted) once.

Keys are global, not per feed: the same article reached through two feeds must get the
same key, and two different articles in two feeds must not. Hence URL-shaped guids are
canonicalised like links, and weak guids ("1", "42") fall back to the link.
"""

from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "_hs")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "yclid",
        "igshid",
        "igsh",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "xtor",
        "cmpid",
        "ocid",
        "icid",
        "ito",
        "twclid",
        "ttclid",
        "li_fat_id",
        "s_cid",
        "wt_mc",
        "wt.mc_id",
        "ns_campaign",
        "ns_mchannel",
        "ns_source",
        "ns_medium",
        "ns_linkname",
        "ns_fee",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "__twitter_impression",
        "from_rss",
    }
)
_PLACEHOLDER_GUIDS = frozenset({"null", "none", "undefined", "nil", "n/a", "guid", "#", "-"})
_MIN_GUID_CHARS = 8
_MAX_GUID_CHARS = 512
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: An absolute http(s) URL that urlsplit, urljoin and urlunsplit give back as it is: a
#: lower-case scheme, a plain host and optional port, printable ASCII only, no params
#: (";" in the path), no empty query or fragment. Most feed links have this shape.
PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]+)(:[0-9]*)?"
    r"(/[\x21\x22\x24-\x3a\x3c-\x3e\x40-\x7e]*)?(\?[\x21\x22\x24-\x7e]+)?(#[\x21-\x7e]+)?\Z"
)
#: A path quote() leaves as it is and with no escapes to normalise.
_QUOTED_PATH = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=._~-]*\Z")


def _normalise_escape(m: re.Match[str]) -> str:
    """%7e -> ~ (unreserved characters need no escape); other escapes upper-cased."""
    char = chr(int(m.group(1), 16))
    return char if char in _UNRESERVED else "%" + m.group(1).upper()


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING or lowered.startswith(_TRACKING_PREFIXES)


def is_web_url(value: str) -> bool:
    """True for absolute http(s) URLs with a host; False for what urlsplit cannot read
    (a broken IPv6 host): such a guid is a plain guid, such a link no link."""
    value = value.strip()
    if PLAIN_URL.match(value):
        return True
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def canonical_url(url: str) -> str:
    """One spelling per web address, for identity (never for fetching).

    Lower-cased scheme and host, default port and fragment dropped, tracking parameters
    removed, remaining parameters sorted, percent-escapes normalised, and a trailing
    slash removed from any path but the root. Values that are not http(s) URLs are
    returned stripped but otherwise untouched.
    """
    raw = url.strip()
    plain = PLAIN_URL.match(raw)
    if plain is not None and plain.group(3) is None:
        scheme, host, path, query = plain.group(1, 2, 4, 5)
        path = path or "/"
        if _QUOTED_PATH.match(path):  # else quote() and the escapes as below
            if "//" in path:
                path = re.sub(r"/{2,}", "/", path)
            if len(path) > 1:
                path = path.rstrip("/") or "/"
            host = host.lower().rstrip(".")
            if query is None:
                return f"{scheme}://{host}{path}"
            return f"{scheme}://{host}{path}" + _query(query[1:])
    return _canonical_url(raw)


def _canonical_url(raw: str) -> str:
    """`canonical_url` of a stripped value of any shape."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return raw
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    path = quote(_PERCENT.sub(_normalise_escape, parts.path), safe=_SAFE_PATH) or "/"
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, _query(parts.query)[1:], ""))


def _query(query: str) -> str:
    """The canonical query with its "?", or "" when no parameter is left."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
    pairs.sort()
    encoded = urlencode(pairs, quote_via=quote)
    return "?" + encoded if encoded else ""


def _strong_guid(guid: str | None) -> str | None:
    """The guid if it can identify an article across all feeds, else None."""
    if not guid:
        return None
    value = guid.strip()
    if (
        len(value) < _MIN_GUID_CHARS
        or value.lower() in _PLACEHOLDER_GUIDS
        or value.isdigit()  # a per-feed counter: "12345" in two feeds is two articles
    ):
        return None
    return value


def _normalise_text(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def entry_key(guid: str | None, link: str | None, title: str | None, summary: str | None) -> str:
    """The identity of one feed entry.

    A strong guid is the key as is, unless it is a URL: then `url:` + its canonical
    form, so a feed that only gives the link agrees. Otherwise `url:` + the canonical
    link; otherwise `hash:` + sha256 of the normalised title and summary.
    """
    strong = _strong_guid(guid)
    if strong is not None:
        if is_web_url(strong):
            return "url:" + canonical_url(strong)
        if len(strong) > _MAX_GUID_CHARS:
            return "guid-sha256:" + hashlib.sha256(strong.encode("utf-8")).hexdigest()
        return strong
    if link and is_web_url(link):
        return "url:" + canonical_url(link)
    digest = hashlib.sha256(
        f"{_normalise_text(title)}\n{_normalise_text(summary)}".encode()
    ).hexdigest()
    return "hash:" + digest
