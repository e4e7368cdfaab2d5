"""Fetch stage: one HTTP GET of one feed, with a deadline, a size cap and a destination policy.

``fetch_feed`` returns a :class:`FetchResult` (200 with a body, or 304) or
raises :class:`FetchError` (or its branches :class:`DestinationDenied`,
:class:`BodyTooLarge`) whose message says what a person can do about it.

Why the request is driven by hand rather than by httpx's defaults:

* httpx's read timeout bounds each socket read, not the exchange: a server
  that sends its headers one byte per second never trips it. The whole
  exchange runs inside ``asyncio.timeout(settings.timeout_s)``.
* httpx's content decoder may inflate a large compressed chunk in one step
  (a gzip bomb of 200 KiB becomes 200 MiB at once). We ask for
  ``gzip, deflate`` ourselves, read the raw stream and inflate with
  ``zlib.decompressobj().decompress(data, max_length)`` so no more than the
  cap is ever produced.
* Redirects are followed here, one hop at a time, so every hop's scheme and
  resolved address pass the same policy as the first URL.
* The policy is checked twice: on ``loop.getaddrinfo`` before each hop (a clear
  error before any connection) and again inside the connection pool on the
  address actually connected to, which closes the DNS-rebinding window
  between the check and the connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import time
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata

import httpcore
import httpx

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
    return settings.deny_private_networks or os.environ.get(DENY_PRIVATE_ENV, "") == "1"


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


def _check_url_shape(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as e:
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
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
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
    deny_private = _deny_private(settings)
    for address in addresses:
        problem = _address_problem(ipaddress.ip_address(address), deny_private)
        if problem is not None:
            raise DestinationDenied(url, _denied(host, address, problem))


class _DeniedAtConnect(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class _PolicyBackend:
    """httpcore network backend that resolves the host itself, checks every
    address against the policy and connects to the checked address (so a DNS
    answer that changes between check and connect cannot slip through)."""

    def __init__(self, inner, settings: Settings):
        self._inner = inner
        self._settings = settings

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise httpcore.ConnectError(f"DNS lookup failed for {host}: {e}") from e
        deny_private = _deny_private(self._settings)
        addresses = []
        for info in infos:
            address = info[4][0]
            bare = address.split("%", 1)[0]
            problem = _address_problem(ipaddress.ip_address(bare), deny_private)
            if problem is not None:
                raise _DeniedAtConnect(_denied(host, bare, problem))
            addresses.append(address)
        last_error: Exception | None = None
        for address in dict.fromkeys(addresses):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except Exception as e:  # noqa: BLE001 - try the next address, re-raise the last
                last_error = e
        assert last_error is not None
        raise last_error

    def __getattr__(self, name):  # connect_unix_socket, sleep
        return getattr(self._inner, name)


class _Redirect(Exception):
    """Raised by a response hook so httpx does not build the redirect request
    itself: it turns ``Location: data:...`` into an InvalidURL (it grafts the
    old host onto host-less absolute URLs) before we can check the scheme."""

    def __init__(self, response: httpx.Response):
        self.response = response
        super().__init__(response.status_code)


async def _stop_at_redirect(response: httpx.Response) -> None:
    if response.has_redirect_location:
        raise _Redirect(response)


# --- client -------------------------------------------------------------------


def make_client(settings: Settings, user_agent: str | None = None) -> httpx.AsyncClient:
    """An AsyncClient for ``fetch_feed``: no automatic redirects or decoding,
    timeouts from ``settings``, up to ``settings.concurrency`` connections."""
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=max(settings.concurrency, 1) * 2,
            max_keepalive_connections=max(settings.concurrency, 1) * 2,
        ),
    )
    # Defence in depth against DNS rebinding; httpcore keeps its backend in a
    # private attribute, so only when it is there (tests cover that it is).
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = _PolicyBackend(pool._network_backend, settings)
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        event_hooks={"response": [_stop_at_redirect]},
        timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
        headers={
            "User-Agent": user_agent or USER_AGENT,
            "Accept": ACCEPT,
            # only what we can inflate under the cap ourselves (no br, zstd)
            "Accept-Encoding": "gzip, deflate",
        },
        # proxies and netrc from the environment would bypass the destination policy
        trust_env=False,
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
    """``e``, its causes and contexts, and the members of exception groups among
    them (anyio reports "All connection attempts failed" with the refusals in a group)."""
    out: list[BaseException] = []
    todo = [e]
    while todo and len(out) < 50:
        current = todo.pop()
        if current in out:
            continue
        out.append(current)
        todo.extend(x for x in (current.__cause__, current.__context__) if x is not None)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return out


def _describe_transport_error(e: httpx.TransportError, settings: Settings) -> str:
    if isinstance(e, httpx.ConnectTimeout):
        return f"connect timed out after {_seconds(settings.connect_timeout_s)} s"
    if isinstance(e, httpx.ReadTimeout):
        return f"read timed out after {_seconds(settings.timeout_s)} s"
    if isinstance(e, httpx.WriteTimeout):
        return f"write timed out after {_seconds(settings.timeout_s)} s"
    if isinstance(e, httpx.PoolTimeout):
        return f"no free connection after {_seconds(settings.timeout_s)} s"
    causes = _causes(e)
    text = str(e) or type(e).__name__
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {cause.verify_message or cause}"
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"DNS lookup failed: {text}"
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset by the server"
    if isinstance(e, httpx.RemoteProtocolError):
        return f"protocol error: {text}"
    if isinstance(e, httpx.ConnectError):
        return f"connection failed: {text}"
    return f"network error: {text}"


def _decoder(url: str, content_encoding: str):
    """A zlib decompressor for the response's Content-Encoding (None for identity)."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        # 32 + 15: accept a gzip or a zlib header; raw deflate is retried below
        return zlib.decompressobj(wbits=47)
    raise FetchError(url, f"unsupported Content-Encoding {content_encoding!r}")


async def _read_body(response: httpx.Response, url: str, max_bytes: int) -> bytes:
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
    async for chunk in response.aiter_raw(_READ_CHUNK):
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


def _error_for_status(response: httpx.Response, url: str) -> FetchError:
    status = response.status_code
    phrase = response.reason_phrase or ""
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
    client: httpx.AsyncClient,
    url: str,
    settings: Settings,
    etag: str | None,
    last_modified: str | None,
    started: float,
) -> FetchResult:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    seen = {str(_check_url_shape(url))}
    for _hop in range(settings.max_redirects + 1):
        await check_destination(current, settings)
        try:
            request = client.build_request("GET", current, headers=headers)
            response = await client.send(request, stream=True)
        except _Redirect as e:
            response = e.response  # headers only; httpx has closed it
        except _DeniedAtConnect as e:
            raise DestinationDenied(url, e.reason) from e
        except httpx.TransportError as e:
            raise FetchError(url, _describe_transport_error(e, settings)) from e
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise FetchError(url, f"request failed: {e}") from e
        try:
            status = response.status_code
            if status in _REDIRECT_STATUSES and "location" in response.headers:
                location = response.headers["location"]
                try:
                    target = str(httpx.URL(current).join(location))
                except (httpx.InvalidURL, ValueError) as e:
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
                # a 304 has no body (h11 enforces it): reading the empty stream lets the
                # connection go back to the keep-alive pool instead of being closed
                await response.aread()
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
            except httpx.TransportError as e:
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
            await response.aclose()
    raise FetchError(url, f"too many redirects (more than {settings.max_redirects})")


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    settings: Settings,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET ``url`` once (following up to ``settings.max_redirects`` redirects).

    Returns 200 with the decoded body or 304 (body None, validators kept);
    raises FetchError with ``status``/``retry_after_s``/``gone`` set as they apply.
    """
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.timeout_s):
            return await _exchange(client, url, settings, etag, last_modified, started)
    except TimeoutError as e:
        raise FetchError(url, f"total deadline of {_seconds(settings.timeout_s)} s exceeded") from e


def fetch_feed_sync(
    url: str,
    *,
    settings: Settings = Settings(),  # noqa: B008 - frozen dataclass, safe as a default
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """``fetch_feed`` with its own client and event loop (the dashboard's "test now").

    Must not be called from a running event loop.
    """

    async def run() -> FetchResult:
        async with make_client(settings) as client:
            return await fetch_feed(
                client, url, settings=settings, etag=etag, last_modified=last_modified
            )

    return run_sync(run)
