"""The hostile feed server: route builders for feeds that attack the poller.

Plain stdlib on top of :class:`tests.feedserver.FeedServer`, no pytest import,
so a benchmark or a manual run can use it too::

    with FeedServer() as srv:
        urls = install_hostile_routes(srv)      # {case name: URL}
        ...  # poll them, then compare with CASES

Every case in :data:`CASES` says what the feed does and what the poller must do
about it (the feed's stored status and an error substring, or how many articles
it stores). ``docs/hostile-input.md`` is the human-readable table of the same
cases; a test checks the two list the same names.

Handlers that hang wait on ``srv.stopping`` (never ``time.sleep``), so closing the
server releases them at once.
"""

from __future__ import annotations

import functools
import json
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.feedgen import make_atom, make_rss
from tests.feedserver import FeedRequestHandler, FeedServer

__all__ = [
    "CASES",
    "GOOD_FEEDS",
    "HostileCase",
    "install_hostile_routes",
    "gzip_bomb",
    "trickle_handler",
    "never_answer_handler",
    "endless_body_handler",
    "entity_bomb_body",
    "xxe_body",
    "fixture_body",
    "fixture_expectation",
    "Measured",
    "run_cli_measured",
    "write_feeds_yaml",
]

FEEDS_DIR = Path(__file__).parent / "data" / "feeds"

MIB = 1 << 20


# --- bodies -------------------------------------------------------------------


def fixture_body(name: str) -> bytes:
    """A file of tests/data/feeds (the parse fixtures), served as it is."""
    return (FEEDS_DIR / f"{name}.xml").read_bytes()


def fixture_expectation(name: str) -> dict:
    """What tests/unit/test_parse.py expects parse_feed to return for that file."""
    return json.loads((FEEDS_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))


@functools.cache
def gzip_bomb(inflated_bytes: int = 1 << 30) -> bytes:
    """A valid gzip member that inflates to ``inflated_bytes`` zeros (1 GiB -> ~1 MB).

    Built in ~0.3 s without compressing 1 GiB: after a full flush, deflating
    the same 1 MiB of zeros again gives the same bytes, so the block is repeated;
    the CRC is computed over the real 1 GiB so ``gzip -t`` accepts it.
    """
    assert inflated_bytes % MIB == 0
    blocks = inflated_bytes // MIB
    zeros = bytes(MIB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, mtime 0
    trailer = struct.pack("<II", crc, inflated_bytes & 0xFFFFFFFF)
    return header + first + again * (blocks - 1) + end + trailer


def entity_bomb_body() -> bytes:
    """Billion laughs plus the quadratic blow-up (a 50 KB entity used 20,000 times).

    Expanded, the title alone would be 1 GB; the poller must store the
    references as literal text."""
    laughs = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else f"lol{i - 1}"
        laughs.append(f'<!ENTITY lol{i} "{("&" + prev + ";") * 10}">')
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [\n'
        + "\n".join(laughs).encode()
        + b'\n<!ENTITY big "' + b"B" * 50_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>Bomb &lol9;</title><link>https://bomb.example/</link>'
        b"<description>d</description>"
        b"<item><title>Laughs &lol9;</title><link>https://bomb.example/1</link><guid>bomb-1</guid>"
        b"<description>" + b"&big;" * 20_000 + b"</description></item>"
        b"</channel></rss>"
    )


def xxe_body(dtd_url: str) -> bytes:
    """External general and parameter entities: a local file and a URL on our own server."""
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss [\n'
        b'<!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
        b'<!ENTITY remote SYSTEM "' + dtd_url.encode() + b'">\n'
        b'<!ENTITY % pe SYSTEM "' + dtd_url.encode() + b'?pe">\n%pe;\n'
        b']>\n<rss version="2.0"><channel><title>XXE &xxe;</title><link>https://xxe.example/</link>'
        b"<description>d</description>"
        b"<item><title>Leak: &xxe;</title><link>https://xxe.example/1</link><guid>xxe-1</guid>"
        b"<pubDate>Sat, 01 Jun 2024 08:00:00 GMT</pubDate><description>Remote: &remote; end</description></item>"
        b"</channel></rss>"
    )


def random_bytes(n: int = 64 * 1024, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


# --- handlers (they own the socket) ---------------------------------------------


def trickle_handler(srv: FeedServer, interval_s: float = 1.0):
    """A valid-looking response sent one byte per ``interval_s`` (1 byte/s): no
    read ever times out, only a whole-exchange deadline stops it."""
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 200000\r\n\r\n"
        + make_rss("trickle", 100)[:200_000]
    )

    def handler(h: FeedRequestHandler) -> None:
        for byte in response:
            if srv.stopping.wait(interval_s):
                return
            try:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            except OSError:
                return

    return handler


def never_answer_handler(srv: FeedServer):
    """Accepts the connection, reads the request, never sends a byte."""

    def handler(h: FeedRequestHandler) -> None:
        srv.stopping.wait(600)

    return handler


def endless_body_handler(total_bytes: int, *, declare_length: bool):
    """A 200 whose body is ``total_bytes`` long, streamed 64 KiB at a time until
    the client hangs up. Without ``declare_length`` it is chunked, so only a
    cap enforced while streaming stops it."""
    prefix = b'<?xml version="1.0"?><rss version="2.0"><channel>'
    chunk = b"<item><title>x</title></item>" + b" " * (64 * 1024 - 29)

    def handler(h: FeedRequestHandler) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        head += f"Content-Length: {total_bytes}\r\n" if declare_length else "Transfer-Encoding: chunked\r\n"
        try:
            h.wfile.write(head.encode() + b"\r\n")
            sent = 0
            while sent < total_bytes:
                data = (prefix if sent == 0 else b"") + chunk
                data = data[: total_bytes - sent]
                h.wfile.write(data if declare_length else b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
            if not declare_length:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:
            return

    return handler


# --- the cases ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostileCase:
    name: str
    #: what the server does (the first column of docs/hostile-input.md)
    attack: str
    #: the feed's status in the store after one poll: "error", "gone" or "ok"
    status: str
    #: a regular expression searched in the feed's stored last_error (None: no error expected)
    error: str | None = None
    #: how many articles the feed stores (None: not checked here)
    articles: int | None = None
    #: ok, but flagged as ill-formed (entries kept)
    ill_formed: bool = False


CASES: tuple[HostileCase, ...] = (
    HostileCase("slow_trickle", "sends its response at 1 byte/s", "error", "total deadline of"),
    HostileCase("never_answers", "accepts the connection and never answers", "error", r"read timed out after \d+ s|total deadline of"),
    HostileCase("huge_body_streamed", "streams a 100 MB chunked body", "error", "-byte limit"),
    HostileCase("huge_body_declared", "declares and sends a 100 MB body", "error", r"\(Content-Length: 104,857,600\)"),
    HostileCase("gzip_bomb", "1 MB of gzip that inflates to 1 GiB", "error", "after gzip decoding"),
    HostileCase("entity_bomb", "billion laughs + quadratic entity expansion", "ok", None, 1, ill_formed=True),
    HostileCase("xxe", "external entities: file:///etc/passwd and a URL", "ok", None, 1, ill_formed=True),
    HostileCase("redirect_file", "redirects to file:///etc/passwd", "error", "scheme 'file' is not allowed"),
    HostileCase("redirect_loop", "redirects A -> B -> A", "error", "redirect loop at http://"),
    HostileCase("redirect_chain", "redirects 7 times", "error", "too many redirects"),
    HostileCase("redirect_ftp", "redirects to ftp://", "error", "scheme 'ftp' is not allowed"),
    HostileCase("redirect_data", "redirects to a data: URL", "error", "scheme 'data' is not allowed"),
    HostileCase("redirect_metadata", "redirects to http://169.254.169.254/", "error", "cloud metadata address"),
    HostileCase("redirect_link_local", "redirects to http://169.254.1.1/", "error", "link-local address"),
    HostileCase("http_429", "429 with Retry-After: 3600", "error", "HTTP 429 Too Many Requests, retry after 3600 s$"),
    HostileCase("http_500", "500 Internal Server Error", "error", "HTTP 500"),
    HostileCase("http_410", "410 Gone", "gone", "HTTP 410"),
    HostileCase("html_page", "an HTML page", "error", "looks like an HTML page"),
    HostileCase("random_bytes", "64 KiB of random bytes", "error", "binary data, not a feed"),
    HostileCase("wrong_encoding", "declares utf-8, sends windows-1252", "ok", None, 1, ill_formed=True),
    HostileCase("ill_formed", "ill-formed XML that still has items", "ok", None, 2, ill_formed=True),
    HostileCase("empty_200", "200 with an empty body", "error", "empty body"),
    HostileCase("json", "JSON instead of XML", "error", "looks like JSON"),
    HostileCase("duplicate_guids", "one GUID twice with different content", "ok", None, 2),
    HostileCase("no_guid_no_link", "items with neither GUID nor link", "ok", None, 2),
    HostileCase("no_dates", "no dates and unparseable dates", "ok", None, 2),
    HostileCase("far_future_date", "dates in 2099 and 1970", "ok", None, 3),
    HostileCase("unicode", "right-to-left, emoji, combining characters", "ok", None, 3),
    HostileCase("long_title", "a 200 KB title", "ok", None, 1),
)

#: well-behaved feeds polled alongside the hostile ones: name -> articles they must store
GOOD_FEEDS: dict[str, int] = {"good_rss": 20, "good_atom": 15, "good_gzip": 10}


def install_hostile_routes(srv: FeedServer) -> dict[str, str]:
    """Add every case of :data:`CASES` and :data:`GOOD_FEEDS` to ``srv``; return name -> URL."""
    urls: dict[str, str] = {}

    def add(name: str, path: str, **kwargs) -> None:
        urls[name] = srv.route(path, **kwargs)

    add("good_rss", "/good.xml", body=make_rss("good", GOOD_FEEDS["good_rss"]))
    add("good_atom", "/good.atom", body=make_atom("atom", GOOD_FEEDS["good_atom"]), content_type="application/atom+xml")
    add("good_gzip", "/good-gz.xml", body=make_rss("gz", GOOD_FEEDS["good_gzip"]), gzip=True)

    add("slow_trickle", "/trickle.xml", handler=trickle_handler(srv))
    add("never_answers", "/never.xml", handler=never_answer_handler(srv))
    add("huge_body_streamed", "/huge-chunked.xml", handler=endless_body_handler(100 * MIB, declare_length=False))
    add("huge_body_declared", "/huge-declared.xml", handler=endless_body_handler(100 * MIB, declare_length=True))
    add("gzip_bomb", "/bomb.xml", body=gzip_bomb(), headers={"Content-Encoding": "gzip"})
    add("entity_bomb", "/entities.xml", body=entity_bomb_body())
    add("xxe", "/xxe.xml", body=xxe_body(srv.url("/evil.dtd")))
    srv.route("/evil.dtd", body=b'<!ENTITY leak "LEAKED-DTD">', content_type="application/xml-dtd")

    add("redirect_file", "/to-file.xml", status=302, headers={"Location": "file:///etc/passwd"})
    add("redirect_loop", "/loop-a.xml", status=301, headers={"Location": "/loop-b.xml"})
    srv.route("/loop-b.xml", status=302, headers={"Location": "/loop-a.xml"})
    add("redirect_chain", "/hop0.xml", status=302, headers={"Location": "/hop1.xml"})
    for i in range(1, 8):
        srv.route(f"/hop{i}.xml", status=302, headers={"Location": f"/hop{i + 1}.xml"})
    srv.route("/hop8.xml", body=make_rss("hop", 1))
    add("redirect_ftp", "/to-ftp.xml", status=301, headers={"Location": "ftp://127.0.0.1/feed.xml"})
    add("redirect_data", "/to-data.xml", status=307,
        headers={"Location": "data:application/rss+xml;base64,PHJzcz48L3Jzcz4="})  # fmt: skip
    add("redirect_metadata", "/to-metadata.xml", status=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"})  # fmt: skip
    add("redirect_link_local", "/to-link-local.xml", status=308, headers={"Location": "http://169.254.1.1/rss"})

    add("http_429", "/busy.xml", body=b"slow down", status=429, headers={"Retry-After": "3600"},
        content_type="text/plain")  # fmt: skip
    add("http_500", "/error.xml", body=b"<h1>oops</h1>", status=500, content_type="text/html")
    add("http_410", "/gone.xml", body=b"gone", status=410, content_type="text/plain")
    add("html_page", "/page.xml", body=fixture_body("html_page"), content_type="text/html; charset=utf-8")
    add("random_bytes", "/random.xml", body=random_bytes())
    add("wrong_encoding", "/encoding.xml", body=fixture_body("wrong_encoding"))
    add("ill_formed", "/ill.xml", body=fixture_body("ill_formed"))
    add("empty_200", "/empty.xml", body=b"")
    add("json", "/feed.json", body=fixture_body("json"), content_type="application/json")
    for name in ("duplicate_guids", "no_guid_no_link", "no_dates", "far_future_date", "unicode", "long_title"):
        add(name, f"/{name}.xml", body=fixture_body(name))
    missing = {c.name for c in CASES} - set(urls)
    assert not missing, f"no route for {sorted(missing)}"
    return urls


# --- running the real CLI, measured -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    #: peak resident set size of that one process (VmHWM), from wait4()
    max_rss_bytes: int
    killed_at_timeout: bool


#: runs between the test process and the CLI: Linux carries the old address space's
#: high-water mark into a process that execs (vfork or fork from a large pytest
#: worker), so the CLI's own peak is only measurable in a grandchild forked from
#: this small launcher, which reaps it with wait4 and reports its ru_maxrss
_LAUNCHER = r"""
import json, os, subprocess, sys, threading
out_fd, timeout_s, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
proc = subprocess.Popen(cmd)
timed_out = threading.Event()
def kill():
    timed_out.set()
    proc.kill()
timer = threading.Timer(timeout_s, kill)
timer.start()
_, status, usage = os.wait4(proc.pid, 0)
timer.cancel()
os.write(out_fd, json.dumps({"status": status, "maxrss_kib": usage.ru_maxrss,
                             "timed_out": timed_out.is_set()}).encode())
"""


def run_cli_measured(
    args: list[str],
    *,
    timeout_s: float,
    env: dict[str, str] | None = None,
    preexec_fn=None,
    cwd: str | None = None,
) -> Measured:
    """``python -m pipeline ARGS`` in a subprocess, with that process's own peak
    RSS. It runs as the grandchild of a small launcher (`_LAUNCHER`): measured
    as a direct child of this test process it would report at least this
    process's own peak. ``preexec_fn`` runs in the launcher; rlimits, signal
    dispositions and the capability bounding set it changes are inherited."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(write_fd), str(timeout_s),
                 sys.executable, "-m", "pipeline", *args],
                stdout=out, stderr=err, env=env, preexec_fn=preexec_fn, cwd=cwd,
                pass_fds=(write_fd,),
            )  # fmt: skip
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as report:
            try:
                # the launcher's own timer kills the CLI; this one is the backstop
                proc.wait(timeout=timeout_s + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            wall_s = time.monotonic() - started
            raw = report.read()
        if not raw:
            raise RuntimeError(f"measuring launcher failed (exit {proc.returncode})")
        measured = json.loads(raw)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=os.waitstatus_to_exitcode(measured["status"]),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            wall_s=wall_s,
            max_rss_bytes=measured["maxrss_kib"] * 1024,  # Linux reports KiB
            killed_at_timeout=measured["timed_out"],
        )


def write_feeds_yaml(path: Path, feeds: dict[str, str], settings: dict[str, object] | None = None) -> Path:
    """feeds.yaml with one entry per (name, url) and an optional settings section."""
    lines = ["# written by tests/hostile.py", "feeds:"]
    for name, url in feeds.items():
        lines += [f"  - name: {name}", f"    url: {json.dumps(url)}"]
    if settings:
        lines.append("settings:")
        lines += [f"  {k}: {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
