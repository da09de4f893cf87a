"""The HTTP transport of feed polling: httpx's API over aiohttp's connections.

httpx over httpcore costs ~0.7 ms of CPU per request here, most of an all-304 cycle;
through httpx-aiohttp (aiohttp's C HTTP parser and its keep-alive pool) a request costs
~0.3 ms. Only the Fetcher's feed client uses it, for the hops nobody checks (the
operator's own feed URL); article pages and every checked hop keep httpx on the pinned
network backend. What the Fetcher relies on holds: redirects are not followed, bodies
are not decompressed (its bounded decoder reads the raw stream), connect and read
timeouts apply, connections are kept alive per host. Two things httpx-aiohttp leaves
out are added here: aiohttp's errors as the httpx errors the Fetcher describes (a
refused connection is "cannot connect", not a timeout; nothing aiohttp raises escapes
as its own type), and the peer address the redirect check asks for.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

#: httpcore (h11) takes header lines of up to 16 KiB; aiohttp's default is 8 KiB.
_MAX_LINE = 16 * 1024


class FeedTransport(AiohttpTransport):
    """`AiohttpTransport` with httpx errors and the peer address (`network_stream`).

    Its session keeps no cookies (the httpx client above it keeps them, as before) and
    trusts no proxy settings from the environment."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            max_line_size=_MAX_LINE,
            max_field_size=_MAX_LINE,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _httpx_errors():
            response = await super().handle_async_request(request)
        raw = getattr(response.stream, "_aiohttp_response", None)
        peer = _peer(raw)
        if peer is not None:
            response.extensions["network_stream"] = _PeerInfo(peer)
        response.stream = _Stream(response.stream)
        return response


class _Stream(httpx.AsyncByteStream):
    """The response body, with aiohttp's errors made httpx's while it is read."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._inner.aclose()


class _PeerInfo:
    """What `monitor.ingest.fetch._peer` reads from httpcore's network stream."""

    def __init__(self, address: tuple[Any, ...]) -> None:
        self._address = address

    def get_extra_info(self, name: str) -> Any:
        return self._address if name == "server_addr" else None


def _peer(raw: Any) -> tuple[Any, ...] | None:
    """The (host, port) the response came from, when aiohttp still knows it.

    None (the caller then treats the answer as coming from a public address, the
    cautious side) when the connection is gone."""
    connection = getattr(raw, "connection", None)
    protocol = getattr(connection, "protocol", None) or getattr(raw, "_protocol", None)
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return None
    address = transport.get_extra_info("peername")
    return address if isinstance(address, tuple) and address else None


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = _as_httpx(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def _as_httpx(exc: Exception) -> Exception:
    """The httpx error for what aiohttp raised (httpx-aiohttp maps some of them, some
    wrongly: it calls every lost connection a connect timeout)."""
    if isinstance(exc, httpx.TransportError) and isinstance(exc.__cause__, Exception):
        cause: Exception = exc.__cause__
    else:
        cause = exc
    if not isinstance(cause, aiohttp.ClientError):
        return exc
    message = str(cause) or type(cause).__name__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    if isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return httpx.ReadError(message)
    if isinstance(cause, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.InvalidURL(message)
    return httpx.TransportError(message)
