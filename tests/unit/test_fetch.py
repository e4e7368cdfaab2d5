"""fetch_feed against a real local server (tests.feedserver), no mocks of the stage."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from pipeline import fetch as fetch_module
from pipeline.errors import BodyTooLarge, DestinationDenied, FetchError
from pipeline.fetch import USER_AGENT, fetch_feed, fetch_feed_sync, make_client, parse_retry_after
from pipeline.types import FetchResult, Settings
from tests.feedgen import make_rss

pytestmark = pytest.mark.timeout(30)

# connect to 127.0.0.1 is instant on a quiet machine; 10 s leaves room for a loaded one (CI saw 2 s trip)
FAST = Settings(timeout_s=5.0, connect_timeout_s=10.0)


def fetch(url: str, settings: Settings = FAST, **kwargs) -> FetchResult:
    return fetch_feed_sync(url, settings=settings, **kwargs)


def raw_response(status_line: str, headers: dict[str, str], body: bytes = b""):
    """A handler writing one response exactly as given."""

    def handler(h):
        lines = [status_line] + [f"{k}: {v}" for k, v in headers.items()]
        h.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    return handler


# --- success ------------------------------------------------------------------


def test_200_returns_body_validators_and_sends_identifying_headers(feed_server):
    body = make_rss("a", 5)
    url = feed_server.route("/rss", body=body, etag='"v1"', last_modified="Mon, 03 Jun 2024 10:00:00 GMT")
    result = fetch(url)
    assert result.status == 200 and result.body == body
    assert result.url == url and result.final_url == url
    assert result.etag == '"v1"' and result.last_modified == "Mon, 03 Jun 2024 10:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.elapsed_s > 0
    sent = feed_server.last_headers("/rss")
    assert sent["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("EscalationWatch/") and "feed poller" in USER_AGENT
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_body_is_decoded(feed_server, encoding):
    body = make_rss("gz", 20)
    url = feed_server.route("/rss", body=body, gzip=encoding)
    result = fetch(url)
    assert result.body == body
    assert result.headers["content-encoding"] == encoding


def test_raw_deflate_without_zlib_header_is_decoded(feed_server):
    # some servers send RFC 1951 raw deflate for "Content-Encoding: deflate"
    body = make_rss("raw", 10)
    compressor = zlib.compressobj(wbits=-15)
    wire = compressor.compress(body) + compressor.flush()
    url = feed_server.route("/rss", body=wire, headers={"Content-Encoding": "deflate"})
    assert fetch(url).body == body


def test_corrupt_gzip_is_a_fetch_error(feed_server):
    url = feed_server.route("/rss", body=b"definitely not gzip", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="corrupt gzip body"):
        fetch(url)


def test_truncated_gzip_is_a_fetch_error(feed_server):
    wire = gzip.compress(make_rss("t", 20))[:-200]
    url = feed_server.route("/rss", body=wire, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="truncated gzip body"):
        fetch(url)


def test_304_with_etag(feed_server):
    url = feed_server.route("/rss", body=make_rss("e", 3), etag='"abc"')
    result = fetch(url, etag='"abc"')
    assert result.status == 304 and result.not_modified and result.body is None
    assert result.etag == '"abc"'
    assert feed_server.last_headers("/rss")["if-none-match"] == '"abc"'
    # a different validator gets the full body
    assert fetch(url, etag='"old"').status == 200


def test_304_with_last_modified(feed_server):
    stamp = "Mon, 03 Jun 2024 10:00:00 GMT"
    url = feed_server.route("/rss", body=make_rss("lm", 3), last_modified=stamp)
    result = fetch(url, last_modified=stamp)
    assert result.status == 304 and result.body is None
    assert result.last_modified == stamp
    assert feed_server.last_headers("/rss")["if-modified-since"] == stamp


def test_304_without_validators_keeps_the_old_ones(feed_server):
    url = feed_server.route("/rss", handler=raw_response("HTTP/1.1 304 Not Modified", {"Content-Length": "0"}))
    result = fetch(url, etag='"kept"', last_modified="Sun, 02 Jun 2024 00:00:00 GMT")
    assert result.status == 304
    assert result.etag == '"kept"' and result.last_modified == "Sun, 02 Jun 2024 00:00:00 GMT"


# --- HTTP errors --------------------------------------------------------------


def test_429_with_retry_after_seconds(feed_server):
    url = feed_server.route("/rss", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.status == 429 and info.value.retry_after_s == 120
    assert str(info.value).startswith(f"fetch failed: {url}: HTTP 429")


def test_429_with_retry_after_http_date(feed_server):
    when = datetime.now(UTC) + timedelta(seconds=300)
    url = feed_server.route("/rss", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert 290 <= info.value.retry_after_s <= 301


def test_retry_after_parsing_edges():
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_retry_after("0", now=now) == 0
    assert parse_retry_after("99999999", now=now) == 7 * 24 * 3600  # capped
    assert parse_retry_after("Sat, 01 Jun 2024 00:01:00 GMT", now=now) == 60
    assert parse_retry_after("Fri, 31 May 2024 00:00:00 GMT", now=now) == 0  # in the past
    assert parse_retry_after("Wed, 01 Jun 2044 00:00:00 GMT", now=now) == 7 * 24 * 3600
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None


def test_503_without_retry_after(feed_server):
    url = feed_server.route("/rss", status=503)
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.status == 503 and info.value.retry_after_s is None and not info.value.gone


def test_503_with_retry_after(feed_server):
    url = feed_server.route("/rss", status=503, headers={"Retry-After": "30"})
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.retry_after_s == 30


def test_410_gone(feed_server):
    url = feed_server.route("/rss", status=410)
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.gone and info.value.status == 410


@pytest.mark.parametrize("status", [500, 404, 403])
def test_other_errors_carry_the_status(feed_server, status):
    url = feed_server.route("/rss", status=status)
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert info.value.status == status and not info.value.gone
    assert f"HTTP {status}" in str(info.value) and url in str(info.value)


# --- redirects ----------------------------------------------------------------


def redirect(location: str, status: int = 302):
    return raw_response(f"HTTP/1.1 {status} Found", {"Location": location, "Content-Length": "0"})


def test_redirect_chain_is_followed(feed_server):
    body = make_rss("r", 2)
    feed_server.route("/a", handler=redirect("/b", 301))
    feed_server.route("/b", handler=redirect(feed_server.url("/c"), 307))
    feed_server.route("/c", handler=redirect("d?x=1", 308))
    final = feed_server.route("/d", body=body)
    result = fetch(feed_server.url("/a"))
    assert result.body == body and result.final_url == final + "?x=1"
    assert result.url == feed_server.url("/a")


@pytest.mark.parametrize(
    "target",
    ["file:///etc/passwd", "ftp://example.com/feed", "data:text/plain,hi", "javascript:alert(1)", "gopher://x/"],
)
def test_redirect_to_other_schemes_is_denied(feed_server, target):
    feed_server.route("/a", handler=redirect(target))
    with pytest.raises(DestinationDenied, match="only http and https"):
        fetch(feed_server.url("/a"))


def test_redirect_loop_is_detected(feed_server):
    feed_server.route("/a", handler=redirect("/b"))
    feed_server.route("/b", handler=redirect("/a"))
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(feed_server.url("/a"))
    assert feed_server.count("/a") == 1 and feed_server.count("/b") == 1


def test_more_than_max_redirects_fails(feed_server):
    for i in range(7):
        feed_server.route(f"/r{i}", handler=redirect(f"/r{i + 1}"))
    feed_server.route("/r7", body=b"<rss/>")
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        fetch(feed_server.url("/r0"))
    assert feed_server.count("/r5") == 1 and feed_server.count("/r6") == 0
    # exactly max_redirects hops is fine
    assert fetch(feed_server.url("/r2")).body == b"<rss/>"


def test_redirect_to_metadata_address_is_denied(feed_server):
    feed_server.route("/a", handler=redirect("http://169.254.169.254/latest/meta-data/"))
    with pytest.raises(DestinationDenied, match="cloud metadata"):
        fetch(feed_server.url("/a"))


# --- size caps ----------------------------------------------------------------


def test_content_length_over_the_cap_is_rejected_early(feed_server):
    url = feed_server.route("/big", body=b"x" * 50_000)
    with pytest.raises(BodyTooLarge, match="Content-Length: 50,000"):
        fetch(url, Settings(timeout_s=5, max_bytes=10_000))


def test_chunked_stream_over_the_cap_is_cut(feed_server):
    sent = []

    def endless_chunks(h):
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"<item>" + b"x" * 65_530
        try:
            for _ in range(2_000):  # 128 MB if nobody stops reading
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent.append(len(chunk))
        except OSError:
            pass

    url = feed_server.route("/chunked", handler=endless_chunks)
    started = time.monotonic()
    with pytest.raises(BodyTooLarge, match="100,000-byte limit"):
        fetch(url, Settings(timeout_s=10, max_bytes=100_000))
    assert time.monotonic() - started < 5


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """200 MB of zeros, gzipped once (~200 KB), without holding the 200 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(200)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_gzip_bomb_stops_at_the_cap_without_inflating_it(feed_server, gzip_bomb):
    assert len(gzip_bomb) < 1_000_000
    url = feed_server.route("/bomb", body=gzip_bomb, headers={"Content-Encoding": "gzip"})
    settings = Settings(timeout_s=10, max_bytes=1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="after gzip decoding"):
            fetch(url, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the cap is 1 MiB; a client's automatic decoder would have built 200 MB
    assert peak < 8 * (1 << 20), f"peak {peak:,} bytes"


def test_deflate_bomb_is_also_capped(feed_server):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)
    wire = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(20)) + compressor.flush()
    url = feed_server.route("/bomb", body=wire, headers={"Content-Encoding": "deflate"})
    with pytest.raises(BodyTooLarge):
        fetch(url, Settings(timeout_s=10, max_bytes=1 << 20))


def test_body_exactly_at_the_cap_is_accepted(feed_server):
    url = feed_server.route("/exact", body=b"y" * 4096, gzip=True)
    assert len(fetch(url, Settings(timeout_s=5, max_bytes=4096)).body) == 4096


# --- timeouts and network failures --------------------------------------------


@pytest.mark.timeout(15)
def test_header_trickle_is_bounded_by_the_total_deadline(feed_server):
    # one byte every 0.5 s never trips a 1.5 s read timeout; only the deadline stops it
    def trickle(h):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Slow: " + b"z" * 100:
            if feed_server.stopping.wait(0.5):
                return
            try:
                h.wfile.write(bytes([byte]))
            except OSError:
                return

    url = feed_server.route("/slow", handler=trickle)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"total deadline of 1.5 s exceeded"):
        fetch(url, Settings(timeout_s=1.5, connect_timeout_s=1.0))
    elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 2.5, elapsed


@pytest.mark.timeout(15)
def test_server_that_never_answers_times_out(feed_server):
    url = feed_server.route("/never", handler=lambda h: feed_server.stopping.wait(30))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"(read timed out after 1.5 s|total deadline of 1.5 s exceeded)"):
        fetch(url, Settings(timeout_s=1.5, connect_timeout_s=1.0))
    assert time.monotonic() - started < 2.5


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rss"
    with pytest.raises(FetchError) as info:
        fetch(url)
    assert str(info.value) == f"fetch failed: {url}: connection refused"
    assert info.value.status is None


def test_server_closing_mid_body_is_a_fetch_error(feed_server):
    url = feed_server.route(
        "/cut", handler=raw_response("HTTP/1.1 200 OK", {"Content-Length": "1000"}, b"<rss>short")
    )
    with pytest.raises(FetchError, match="protocol error|network error"):
        fetch(url)


def test_tls_failure_is_a_fetch_error(feed_server):
    # https:// to a plain-HTTP port: the handshake fails
    url = feed_server.route("/rss", body=b"<rss/>").replace("http://", "https://")
    with pytest.raises(FetchError, match="TLS error: .*WRONG_VERSION_NUMBER"):
        fetch(url)


def test_dns_failure_is_a_fetch_error():
    with pytest.raises(FetchError, match="DNS lookup failed for feed.invalid"):
        fetch("http://feed.invalid/rss")


# --- destination policy -------------------------------------------------------


def test_deny_private_networks_denies_loopback(feed_server):
    url = feed_server.route("/rss", body=b"<rss/>")
    with pytest.raises(DestinationDenied, match="127.0.0.1 is a private network address"):
        fetch(url, Settings(timeout_s=5, deny_private_networks=True))
    assert feed_server.count("/rss") == 0


def test_deny_private_from_environment(feed_server, monkeypatch):
    url = feed_server.route("/rss", body=b"<rss/>")
    monkeypatch.setenv("ESCALATION_WATCH_DENY_PRIVATE", "1")
    with pytest.raises(DestinationDenied):
        fetch(url)
    monkeypatch.setenv("ESCALATION_WATCH_DENY_PRIVATE", "0")
    assert fetch(url).body == b"<rss/>"


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.10.1/feed", "link-local"),
        ("http://[fe80::1]/feed", "link-local"),
        ("http://[fd00:ec2::254]/latest", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"),
        ("http://METADATA.google.internal./", "cloud metadata host"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/rss", "only http and https"),
    ],
)
def test_always_denied_destinations(url, reason):
    # denied whatever deny_private_networks says, before any connection
    with pytest.raises(DestinationDenied, match=reason):
        fetch(url, Settings(timeout_s=2, deny_private_networks=False))


def test_policy_is_enforced_again_at_connect_time(feed_server, monkeypatch):
    """DNS rebinding: the pre-check saw a public address, the connect sees a private one."""
    url = feed_server.route("/rss", body=b"<rss/>")

    async def passes(url, settings):
        return None

    monkeypatch.setattr(fetch_module, "check_destination", passes)
    with pytest.raises(DestinationDenied, match="127.0.0.1 is a private network address"):
        fetch(url, Settings(timeout_s=5, deny_private_networks=True))
    assert feed_server.count("/rss") == 0


def test_policy_is_enforced_again_when_the_connector_resolves_a_name(feed_server, monkeypatch):
    """The same, for a host name: the connector's own lookup is checked too."""
    url = feed_server.route("/rss", body=b"<rss/>").replace("127.0.0.1", "localhost")

    async def passes(url, settings):
        return None

    monkeypatch.setattr(fetch_module, "check_destination", passes)
    with pytest.raises(DestinationDenied, match=r"localhost resolves to (127\.0\.0\.1|::1), a private network"):
        fetch(url, Settings(timeout_s=5, deny_private_networks=True))
    assert feed_server.count("/rss") == 0


def test_cookies_never_travel_between_feeds(feed_server):
    # by name: a cookie jar would refuse cookies from an address literal anyway
    a = feed_server.route("/a", body=b"<rss/>", headers={"Set-Cookie": "session=secret; Path=/"})
    a = a.replace("127.0.0.1", "localhost")
    b = feed_server.route("/b", body=b"<rss/>").replace("127.0.0.1", "localhost")

    async def run():
        settings = Settings(timeout_s=5)
        async with make_client(settings) as client:
            await fetch_feed(client, a, settings=settings)
            await fetch_feed(client, b, settings=settings)
            await fetch_feed(client, a, settings=settings)

    asyncio.run(run())
    assert "cookie" not in feed_server.last_headers("/b")
    assert "cookie" not in feed_server.last_headers("/a")


# --- async use ----------------------------------------------------------------


def test_async_fetches_share_one_client(feed_server):
    for i in range(40):
        feed_server.route(f"/f{i}", body=make_rss(f"f{i}", 2), etag=f'"e{i}"')

    async def run():
        settings = Settings(timeout_s=5)
        async with make_client(settings, user_agent="custom-agent/1") as client:
            return await asyncio.gather(
                *(fetch_feed(client, feed_server.url(f"/f{i}"), settings=settings, etag=f'"e{i}"' if i % 2 else None) for i in range(40))
            )

    results = asyncio.run(run())
    assert [r.status for r in results] == [200 if i % 2 == 0 else 304 for i in range(40)]
    assert feed_server.last_headers("/f0")["user-agent"] == "custom-agent/1"


def test_fetch_feed_maps_client_errors_only_at_the_edge(feed_server):
    # nothing from aiohttp leaks out: every failure above is a FetchError
    assert issubclass(BodyTooLarge, FetchError) and issubclass(DestinationDenied, FetchError)
    with pytest.raises(FetchError, match="invalid URL"):
        fetch("http://[::1/")
    with pytest.raises(FetchError, match="invalid URL: no host"):
        fetch("http:///rss")
    assert not issubclass(FetchError, aiohttp.ClientError)


def test_untrusted_certificate_is_a_clear_tls_error(tmp_path):
    """A TLS server whose certificate no CA in the bundle signed: refused, with the reason."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=127.0.0.1", "-days", "1"], check=True, capture_output=True)  # fmt: skip
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(FetchError, match="TLS certificate verification failed: self.signed certificate"):
            fetch(f"https://127.0.0.1:{httpd.server_address[1]}/rss")
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "wire, reason",
    [
        (b"\x00\x01\x02 not http at all\r\n\r\n", "protocol error: Bad status line"),
        (b"<rss></rss>", "protocol error: Bad status line"),  # HTTP/0.9-style, no status line
        (b"HTTP/1.1 abc OK\r\n\r\n", "protocol error: Bad status line: Invalid status code"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", "protocol error: Got more than 8190 bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n", "Invalid character in chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "Duplicate Content-Length"),
        (b"", "closed the connection without a response"),
    ],
)
def test_malformed_responses_are_one_line_protocol_errors(feed_server, wire, reason):
    url = feed_server.route("/bad", handler=lambda h: h.wfile.write(wire))
    with pytest.raises(FetchError) as info:
        fetch(url)
    message = str(info.value)
    assert reason in message and "\n" not in message and len(message) < 300, message
