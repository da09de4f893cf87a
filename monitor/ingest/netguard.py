"""Refuse URLs that point into private networks (SSRF guard).

Article links come from feeds, i.e. from strangers; without this guard a feed could
make the daemon request cloud metadata endpoints or services on the local network.

What is checked (`monitor.ingest.fetch` applies it):
- article pages: every hop (the link and each redirect target), unless the feed has
  `allow_private = true`;
- feeds: the configured URL is the operator's and is not checked (intranet feeds work),
  but a redirect may not take a feed from a public address to a non-public one, unless
  the feed has `allow_private = true`.

A check resolves the host once and the connection goes to the addresses that were
checked (`resolve_public` returns them; the fetcher pins them for the connection), so
a DNS answer that changes between the check and the connection (rebinding) cannot
steer the request to a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def address_problem(ip: IPAddress) -> str | None:
    """Why connecting to `ip` is refused, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return address_problem(mapped)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


async def check_public(url: str) -> str | None:
    """The reason to refuse fetching `url`, or None when every address of its host is public."""
    return (await resolve_public(url))[1]


async def resolve_public(url: str) -> tuple[tuple[IPAddress, ...], str | None]:
    """The addresses of `url`'s host and None when every one is public, else () and the
    reason to refuse it.

    All resolved addresses must be public: a host resolving to one public and one private
    address could be steered to the private one. The caller connects to these addresses
    only (never resolves the name again).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return (), f"invalid URL {url!r}: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return (), f"refused {url}: only http and https URLs are fetched"
    host = parts.hostname
    if not host:
        return (), f"refused {url}: no host"
    literal = _literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port or _DEFAULT_PORTS[scheme], type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            return (), f"refused {url}: cannot resolve host {host!r}: {exc}"
        addresses = []
        for info in infos:
            ip = _literal(str(info[4][0]))
            if ip is not None and ip not in addresses:
                addresses.append(ip)
        if not addresses:
            return (), f"refused {url}: host {host!r} has no usable address"
    verb = "is" if literal is not None else "resolves to"
    for ip in addresses:
        problem = address_problem(ip)
        if problem is not None:
            return (), f"refused {url}: host {host!r} {verb} {problem} ({ip})"
    return tuple(addresses), None


def is_public(address: str) -> bool:
    """True for a public IP address (as text); False for anything else, or garbage."""
    ip = _literal(address)
    return ip is not None and address_problem(ip) is None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
