"""A local feed server on 127.0.0.1:0 for unit tests, integration tests and benchmarks.

Plain stdlib (``http.server``), no pytest import, so benchmarks can use it too::

    with FeedServer() as srv:
        srv.route("/rss", body=make_rss("a", 50), etag='"v1"')
        fetch_feed_sync(srv.url("/rss"))
        assert srv.count("/rss") == 1

It speaks HTTP/1.1 with keep-alive and Content-Length, disables Nagle (a header
write followed by a body write otherwise waits ~40 ms for a delayed ACK on a
kept-alive connection) and compresses gzip bodies once, when the route is
added, so a thousand feeds are served in well under a second.
"""

from __future__ import annotations

import email.utils
import sys
import gzip as gzip_module
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["FeedServer", "Route", "FeedRequestHandler"]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = "application/rss+xml"
    #: False, True/"gzip" or "deflate": how ``body`` is compressed on the wire
    encoding: str | None = None
    delay_s: float = 0.0
    handler: Callable[[FeedRequestHandler], None] | None = None
    #: the bytes actually sent (body compressed once, when the route is added)
    wire_body: bytes = b""


class FeedRequestHandler(BaseHTTPRequestHandler):
    """One connection. Tests that pass ``handler=`` get this object and may write
    raw bytes to ``self.wfile`` (``self.server.feed_server`` is the FeedServer)."""

    protocol_version = "HTTP/1.1"
    # a header write then a body write on a kept-alive socket otherwise waits
    # for the client's delayed ACK (~40 ms per response)
    disable_nagle_algorithm = True
    # idle kept-alive connections are dropped after this; keeps threads bounded
    timeout = 30
    server_version = "FeedServer/1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: thousands of requests per benchmark

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        srv: FeedServer = self.server.feed_server  # type: ignore[attr-defined]
        srv._record(self.path, {k.lower(): v for k, v in self.headers.items()})
        route = srv._find(self.path)
        if route is None:
            self._send(404, b"not found\n", {"Content-Type": "text/plain"}, head)
            return
        if route.delay_s:
            srv.stopping.wait(route.delay_s)
        if route.handler is not None:
            # the test owns the socket from here; never reuse it afterwards
            self.close_connection = True
            route.handler(self)
            return
        validators = {}
        if route.etag is not None:
            validators["ETag"] = route.etag
        if route.last_modified is not None:
            validators["Last-Modified"] = route.last_modified
        if route.status == 200 and self._not_modified(route):
            self._send(304, b"", validators, head=True)
            return
        headers = dict(validators)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.encoding:
            headers["Content-Encoding"] = route.encoding
            headers["Vary"] = "Accept-Encoding"
        headers.update(route.headers)
        self._send(route.status, route.wire_body, headers, head)

    def _not_modified(self, route: Route) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None and route.etag is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or route.etag.removeprefix("W/") in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is not None and route.last_modified is not None:
            if ims.strip() == route.last_modified:
                return True
            try:
                since = email.utils.parsedate_to_datetime(ims)
                modified = email.utils.parsedate_to_datetime(route.last_modified)
            except (TypeError, ValueError):
                return False
            return modified <= since
        return False

    def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        if not any(k.lower() == "content-length" for k in headers):
            self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head and body and status != 304:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # don't join handler threads on close: a "never answer" handler may still be waiting
    block_on_close = False
    # the default backlog of 5 drops SYNs under a concurrent poller (1 s retransmit)
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        # clients hanging up (a fetch stopped at the size cap, a timeout) are
        # normal here; anything else is a bug in a test handler, so print it
        if isinstance(sys.exception(), OSError):
            return
        super().handle_error(request, client_address)


class FeedServer:
    """Threaded HTTP server on 127.0.0.1 with an ephemeral port; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        #: (path, headers with lower-cased names, time.time()) per request received
        self.requests: list[tuple[str, dict[str, str], float]] = []
        #: set on close; custom handlers that hang should wait on it, not sleep
        self.stopping = threading.Event()
        self._httpd = _Server((host, port), FeedRequestHandler)
        self._httpd.feed_server = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------
    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- addresses -------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- routes ----------------------------------------------------------
    def route(
        self,
        path: str,
        body: bytes = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        content_type: str | None = "application/rss+xml",
        gzip: bool | str = False,
        delay_s: float = 0.0,
        handler: Callable[[FeedRequestHandler], None] | None = None,
    ) -> str:
        """Serve ``body`` at ``path`` (exact path; a route without a query also
        answers that path with any query). Returns the route's full URL.

        ``gzip``: True or "gzip" compresses ``body`` with gzip, "deflate" with
        zlib; to send pre-compressed bytes (a gzip bomb) pass the compressed
        body and ``headers={"Content-Encoding": "gzip"}`` instead.
        ``handler(request_handler)`` replaces the whole response.
        """
        encoding = "gzip" if gzip is True else (gzip or None)
        if encoding == "gzip":
            wire = gzip_module.compress(body, compresslevel=6, mtime=0)
        elif encoding == "deflate":
            wire = zlib.compress(body, 6)
        elif encoding is None:
            wire = body
        else:
            raise ValueError(f"unknown encoding {encoding!r}")
        route = Route(
            body=body,
            status=status,
            headers=dict(headers or {}),
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
            encoding=encoding,
            delay_s=delay_s,
            handler=handler,
            wire_body=wire,
        )
        with self._lock:
            self._routes[path] = route
        return self.url(path)

    def _find(self, path: str) -> Route | None:
        with self._lock:
            route = self._routes.get(path)
            if route is None:
                route = self._routes.get(urlsplit(path).path)
            return route

    # -- request log -----------------------------------------------------
    def _record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers, time.time()))

    def count(self, path: str) -> int:
        """Requests received for ``path`` (compared with and without the query)."""
        with self._lock:
            return sum(1 for p, _, _ in self.requests if p == path or urlsplit(p).path == path)

    def last_headers(self, path: str) -> dict[str, str] | None:
        """Headers of the latest request for ``path``, names lower-cased."""
        with self._lock:
            for p, headers, _ in reversed(self.requests):
                if p == path or urlsplit(p).path == path:
                    return headers
        return None
