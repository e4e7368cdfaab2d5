"""Fetch stage: one HTTP GET of one feed, with a deadline, a size cap and a destination policy.

``fetch_feed`` returns a :class:`FetchResult` (200 with a body, or 304) or
raises :class:`FetchError` (or its branches :class:`DestinationDenied`,
:class:`BodyTooLarge`) whose message says what a person can do about it.

The HTTP client is aiohttp: on 1,000 kept-alive conditional GETs against the
local feed server it took 0.12 s where httpx's AsyncClient took 1.2 s
(httpx's async pool is a known bottleneck, encode/httpx#3215), and the warm
cycle is almost nothing but such requests. Why the request is driven by hand
rather than by the client's defaults:

* A socket read timeout bounds each read, not the exchange: a server that
  sends its headers one byte per second never trips it. The whole exchange
  runs inside ``asyncio.timeout(settings.timeout_s)``.
* Automatic decompression may inflate a large compressed chunk in one step
  (a gzip bomb of 200 KiB becomes 200 MiB at once). We ask for
  ``gzip, deflate`` ourselves, read the raw stream (``auto_decompress=False``)
  and inflate with ``zlib.decompressobj().decompress(data, max_length)`` so no
  more than the cap is ever produced.
* Redirects are followed here, one hop at a time, so every hop's scheme and
  resolved address pass the same policy as the first URL.
* The policy is checked twice: on ``loop.getaddrinfo`` before each hop (a clear
  error before any connection) and again in the connector, on every address it
  resolves and on the address of every socket it opens, which closes the
  DNS-rebinding window between the check and the connect.
* No cookie jar (one feed's cookies never reach another) and no proxy or
  netrc from the environment (they would bypass the destination policy).

Must not touch: parsing, the store.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import socket
import ssl
import time
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from ._aio import run_sync
from .errors import BodyTooLarge, DestinationDenied, FetchError
from .types import FetchResult, Settings

__all__ = ["USER_AGENT", "make_client", "fetch_feed", "fetch_feed_sync", "check_destination"]


def _version() -> str:
    try:
        return metadata.version("escalation-watch")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0"


USER_AGENT = (
    f"EscalationWatch/{_version()} "
    "(+https://github.com/escalation-watch/escalation-watch; feed poller)"
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
#: set to 1 to deny private and loopback destinations whatever feeds.yaml says
DENY_PRIVATE_ENV = "ESCALATION_WATCH_DENY_PRIVATE"
#: a Retry-After further away than this is treated as this (a typo'd year must
#: not park a feed for a decade)
MAX_RETRY_AFTER_S = 7 * 24 * 3600
_READ_CHUNK = 64 * 1024

# Cloud instance-metadata endpoints hand out credentials; refused always.
# 169.254.169.254: AWS, GCP, Azure, OpenStack; 169.254.170.2: AWS ECS tasks;
# fd00:ec2::254: AWS IPv6 (a ULA, so not caught by the link-local rule);
# 100.100.100.200: Alibaba Cloud.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# --- destination policy -------------------------------------------------------


def _deny_private(settings: Settings) -> bool:
    # unset (None) allows: deciding it from where the dashboard listens is the caller's
    # job (pipeline.deployment.network_settings), as this module cannot know
    return settings.deny_private_networks is True or os.environ.get(DENY_PRIVATE_ENV, "") == "1"


def _address_problem(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, deny_private: bool
) -> str | None:
    """What kind of refused address ``ip`` is ("a link-local address"), or None if allowed."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if deny_private and (ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_reserved):
        return "a private network address (private destinations are denied)"
    return None


def _denied(host: str, address: str, problem: str) -> str:
    if host.strip("[]") == address:
        return f"destination denied: {address} is {problem}"
    return f"destination denied: {host} resolves to {address}, {problem}"


def _refusal(host: str, address: str, settings: Settings) -> str | None:
    """Why the policy refuses ``address`` (what ``host`` resolved to), or None if allowed.
    The one check behind the pre-check, the connector's resolver and its socket factory."""
    bare = address.split("%", 1)[0]  # an IPv6 zone index is not part of the address
    problem = _address_problem(ipaddress.ip_address(bare), _deny_private(settings))
    return None if problem is None else _denied(host, bare, problem)


def _check_url_shape(url: str) -> URL:
    try:
        parsed = URL(url)
        parsed.host  # noqa: B018 - a bad host or port raises here, not later in the connector
        parsed.port  # noqa: B018
    except (ValueError, TypeError) as e:
        raise FetchError(url, f"invalid URL: {e}") from e
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "(none)"
        raise DestinationDenied(url, f"scheme {scheme!r} is not allowed (only http and https)")
    if not parsed.host:
        raise FetchError(url, "invalid URL: no host")
    return parsed


async def check_destination(url: str, settings: Settings) -> None:
    """Raise DestinationDenied unless ``url`` is http(s) and every address its host
    resolves to is allowed; FetchError if the host does not resolve."""
    parsed = _check_url_shape(url)
    host = parsed.host.rstrip(".").lower()
    if host in _METADATA_HOSTS:
        raise DestinationDenied(url, f"{host} is a cloud metadata host")
    port = parsed.port
    try:
        # an address literal needs no lookup (saves a thread-pool hop per fetch)
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise FetchError(url, f"DNS lookup failed for {host}: {e.strerror or e}") from e
        addresses = [info[4][0].split("%", 1)[0] for info in infos]
    for address in addresses:
        refused = _refusal(host, address, settings)
        if refused is not None:
            raise DestinationDenied(url, refused)


class _DeniedAtConnect(OSError):
    """Raised inside the connector (an OSError, so it travels as the connection error's cause)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class _PolicyResolver(AbstractResolver):
    """The connector's resolver: every address a host resolves to must pass the policy."""

    def __init__(self, settings: Settings):
        self._settings = settings

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG)
        out: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = sockaddr[0]
            refused = _refusal(host, address, self._settings)
            if refused is not None:
                raise _DeniedAtConnect(refused)
            out.append(ResolveResult(hostname=host, host=address, port=sockaddr[1], family=fam, proto=proto,
                                     flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV))  # fmt: skip
        return out

    async def close(self) -> None:
        return None


def _policy_socket_factory(settings: Settings):
    """Opens each connection's socket after checking the address it will connect to
    (address literals never reach the resolver; this sees them too)."""

    def factory(addr_info) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        refused = _refusal(address.split("%", 1)[0], address, settings)
        if refused is not None:
            raise _DeniedAtConnect(refused)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


# --- client -------------------------------------------------------------------


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once per process (loading the bundle takes milliseconds; every cycle opens a client)."""
    return ssl.create_default_context(cafile=certifi.where())


def make_client(settings: Settings, user_agent: str | None = None) -> aiohttp.ClientSession:
    """A client session for ``fetch_feed`` (create it inside the event loop that uses it):
    no automatic redirects or decoding, timeouts from ``settings``, up to twice
    ``settings.concurrency`` kept-alive connections, the destination policy in the connector."""
    connector = aiohttp.TCPConnector(
        # certifi's CA bundle, as httpx used: the same trust on every platform, whatever the
        # system store holds (some Python builds ship without one)
        ssl=_tls_context(),
        limit=max(settings.concurrency, 1) * 2,
        resolver=_PolicyResolver(settings),
        socket_factory=_policy_socket_factory(settings),
        # checked addresses are cached for 10 s; the policy itself is applied before caching
        ttl_dns_cache=10,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        # the whole exchange is bounded by fetch_feed's own deadline; these bound each step
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s, sock_read=settings.timeout_s),
        headers={
            "User-Agent": user_agent or USER_AGENT,
            "Accept": ACCEPT,
            # only what we can inflate under the cap ourselves (no br, zstd)
            "Accept-Encoding": "gzip, deflate",
        },
    )


# --- helpers ------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:g}"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date), capped to 7 days; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), float(MAX_RETRY_AFTER_S))


def _causes(e: BaseException) -> list[BaseException]:
    """``e``, its causes and contexts, the OS errors aiohttp wraps, and the members
    of exception groups among them."""
    out: list[BaseException] = []
    todo = [e]
    while todo and len(out) < 50:
        current = todo.pop()
        if current in out:
            continue
        out.append(current)
        todo.extend(x for x in (current.__cause__, current.__context__) if x is not None)
        for attr in ("os_error", "certificate_error"):  # what aiohttp's connector errors wrap
            wrapped = getattr(current, attr, None)
            if isinstance(wrapped, BaseException):
                todo.append(wrapped)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return out


def _describe_transport_error(e: aiohttp.ClientError, settings: Settings) -> str:
    if isinstance(e, aiohttp.ConnectionTimeoutError):
        return f"connect timed out after {_seconds(settings.connect_timeout_s)} s"
    if isinstance(e, aiohttp.ServerTimeoutError):
        return f"read timed out after {_seconds(settings.timeout_s)} s"
    causes = _causes(e)
    # ClientConnectorError wraps an OSError, its certificate variant an SSL error instead
    wrapped = getattr(e, "os_error", None) or getattr(e, "certificate_error", None)
    text = (str(wrapped) or type(wrapped).__name__) if wrapped is not None else (str(e) or type(e).__name__)
    for cause in causes:
        # aiohttp's own certificate error subclasses ssl.CertificateError without its fields
        if isinstance(cause, ssl.SSLCertVerificationError) and not isinstance(cause, aiohttp.ClientError):
            return f"TLS certificate verification failed: {cause.verify_message or cause}"
    for cause in causes:
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, aiohttp.ClientError):
            return f"TLS error: {cause}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "Connection refused" in text:
        return "connection refused"
    if isinstance(e, aiohttp.ClientConnectorDNSError) or any(isinstance(c, socket.gaierror) for c in causes):
        return f"DNS lookup failed: {text}"
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset by the server"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"connection failed: {text}"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "protocol error: the server closed the connection without a response"
    if isinstance(e, aiohttp.ClientResponseError):
        # a malformed status line, header or chunk (aiohttp's parser is strict); its message
        # quotes the offending bytes over several lines: keep the reason, on one line
        return f"protocol error: {_one_line(e.message.split(chr(10) * 2)[0])}"
    if isinstance(e, aiohttp.ClientPayloadError):
        return f"protocol error: {_one_line(text)}"
    return f"network error: {text}"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).rstrip(":")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _denied_at_connect(e: BaseException) -> _DeniedAtConnect | None:
    return next((c for c in _causes(e) if isinstance(c, _DeniedAtConnect)), None)


def _decoder(url: str, content_encoding: str):
    """A zlib decompressor for the response's Content-Encoding (None for identity)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + 15: accept a gzip or a zlib header; raw deflate is retried below
        return zlib.decompressobj(wbits=47)
    raise FetchError(url, f"unsupported Content-Encoding {content_encoding!r}")


async def _read_body(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    """Read the body, inflating gzip/deflate, raising BodyTooLarge past ``max_bytes``
    of decoded bytes; never holds more than ``max_bytes`` + one step."""
    too_large = f"body larger than the {max_bytes:,}-byte limit"
    length = response.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise BodyTooLarge(url, f"{too_large} (Content-Length: {int(length):,})")
    encoding = response.headers.get("content-encoding", "")
    decoder = _decoder(url, encoding)
    out = bytearray()
    first = True
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        if decoder is None:
            out += chunk
            if len(out) > max_bytes:
                raise BodyTooLarge(url, too_large)
            continue
        data = chunk
        while data and not decoder.eof:
            try:
                # max_length: inflate at most one byte past the cap per step
                piece = decoder.decompress(data, max_bytes - len(out) + 1)
            except zlib.error as e:
                if first and encoding.strip().lower() == "deflate":
                    # some servers send raw deflate (RFC 1951) for "deflate"
                    decoder = zlib.decompressobj(wbits=-15)
                    first = False
                    continue
                raise FetchError(url, f"corrupt {encoding} body: {e}") from e
            first = False
            out += piece
            if len(out) > max_bytes:
                raise BodyTooLarge(url, f"{too_large} after {encoding} decoding")
            data = decoder.unconsumed_tail
    if decoder is not None:
        if not decoder.eof and (out or not first):
            raise FetchError(url, f"truncated {encoding} body")
        out += decoder.flush()
        if len(out) > max_bytes:
            raise BodyTooLarge(url, f"{too_large} after {encoding} decoding")
    return bytes(out)


def _error_for_status(response: aiohttp.ClientResponse, url: str) -> FetchError:
    status = response.status
    phrase = response.reason or ""
    label = f"HTTP {status} {phrase}".rstrip()
    if status in (429, 503):
        retry_after_s = parse_retry_after(response.headers.get("retry-after"))
        reason = label if retry_after_s is None else f"{label}, retry after {_seconds(retry_after_s)} s"
        return FetchError(url, reason, status=status, retry_after_s=retry_after_s)
    if status == 410:
        return FetchError(url, f"{label}: the feed was removed; disable it", status=status, gone=True)
    return FetchError(url, label, status=status)


# --- the stage ----------------------------------------------------------------


async def _exchange(
    client: aiohttp.ClientSession,
    url: str,
    settings: Settings,
    etag: str | None,
    last_modified: str | None,
    started: float,
    user_agent: str | None = None,
) -> FetchResult:
    headers = {}
    if user_agent:
        headers["User-Agent"] = user_agent
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    seen = {str(_check_url_shape(url))}
    for _hop in range(settings.max_redirects + 1):
        await check_destination(current, settings)
        try:
            response = await client.get(current, headers=headers, allow_redirects=False)
        except aiohttp.ClientError as e:
            denied = _denied_at_connect(e)
            if denied is not None:
                raise DestinationDenied(url, denied.reason) from e
            if isinstance(e, aiohttp.InvalidURL):
                raise FetchError(url, f"invalid URL: {e}") from e
            raise FetchError(url, _describe_transport_error(e, settings)) from e
        try:
            status = response.status
            if status in _REDIRECT_STATUSES and "location" in response.headers:
                location = response.headers["location"]
                try:
                    target = str(URL(current).join(URL(location)))
                except (ValueError, TypeError) as e:
                    raise FetchError(url, f"invalid redirect Location {location!r}") from e
                try:
                    _check_url_shape(target)
                except DestinationDenied as e:
                    raise DestinationDenied(url, f"redirect to {target} denied: {e.reason}") from e
                if target in seen:
                    raise FetchError(url, f"redirect loop at {target}", status=status)
                seen.add(target)
                current = target
                continue
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if status == 304:
                return FetchResult(
                    url=url,
                    final_url=current,
                    status=304,
                    body=None,
                    headers=response_headers,
                    etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified,
                    elapsed_s=time.monotonic() - started,
                )
            if not 200 <= status < 300:
                raise _error_for_status(response, url)
            try:
                body = await _read_body(response, url, settings.max_bytes)
            except aiohttp.ClientError as e:
                raise FetchError(url, _describe_transport_error(e, settings)) from e
            return FetchResult(
                url=url,
                final_url=current,
                status=status,
                body=body,
                headers=response_headers,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                elapsed_s=time.monotonic() - started,
            )
        finally:
            # a fully read response (a 304, a read body) goes back to the keep-alive pool;
            # one left unread (an error status, a cap hit) has its connection closed
            response.release()
    raise FetchError(url, f"too many redirects (more than {settings.max_redirects})")


async def fetch_feed(
    client: aiohttp.ClientSession,
    url: str,
    *,
    settings: Settings,
    etag: str | None = None,
    last_modified: str | None = None,
    user_agent: str | None = None,
) -> FetchResult:
    """GET ``url`` once (following up to ``settings.max_redirects`` redirects).

    Returns 200 with the decoded body or 304 (body None, validators kept);
    raises FetchError with ``status``/``retry_after_s``/``gone`` set as they apply.
    ``user_agent``: this feed's own User-Agent (feeds.yaml ``user_agent``), for the
    sites that refuse the default client; None sends the client's.
    """
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.timeout_s):
            return await _exchange(client, url, settings, etag, last_modified, started, user_agent)
    except TimeoutError as e:
        raise FetchError(url, f"total deadline of {_seconds(settings.timeout_s)} s exceeded") from e


def fetch_feed_sync(
    url: str,
    *,
    settings: Settings = Settings(),  # noqa: B008 - frozen dataclass, safe as a default
    etag: str | None = None,
    last_modified: str | None = None,
    user_agent: str | None = None,
) -> FetchResult:
    """``fetch_feed`` with its own client and event loop (the dashboard's "test now").

    Must not be called from a running event loop.
    """

    async def run() -> FetchResult:
        async with make_client(settings) as client:
            return await fetch_feed(
                client, url, settings=settings, etag=etag, last_modified=last_modified, user_agent=user_agent
            )

    return run_sync(run)
