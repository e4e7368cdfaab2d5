"""A feed farm of real text: the saved news feeds of ../shared/data/realfeeds (issue 12),
replicated with fresh identities to any number of feeds.

    from benchmarks.realfeeds import build
    specs, expected = build(srv, 1000)          # 1,000 routes on a tests.feedserver.FeedServer

Feed ``i`` serves file ``i % n_files`` (sorted by name) with every absolute URL's host
prefixed by ``r<i>.``: its guids, links and canonical URLs are its own, so no two feeds
share a story and each stores every article its file parses to, while titles, summaries,
encodings, namespaces and quirks stay as the outlets wrote them. The files are read in
place, never copied into the repository.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline.parse import parse_feed  # noqa: E402
from pipeline.types import FeedSpec  # noqa: E402

#: the corpus beside the repository (optional: absent, the benchmarks say so and stop)
REALFEEDS = ROOT.parent / "shared" / "data" / "realfeeds"
# scheme and host of an absolute URL, in any ASCII-compatible encoding of the file
_URL_HOST = re.compile(rb"(https?://)([A-Za-z0-9][A-Za-z0-9.-]*)")


def load(directory: Path = REALFEEDS) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every feed file, sorted by name; SystemExit when there are none."""
    files = sorted(Path(directory).glob("*.xml"))
    if not files:
        raise SystemExit(f"no feed files in {directory} (the realfeeds corpus is optional and absent)")
    return [(p.name, p.read_bytes()) for p in files]


def replica(body: bytes, i: int) -> bytes:
    """The feed with fresh identities: every absolute URL's host gets the prefix ``r<i>.``."""
    prefix = b"r%d." % i
    return _URL_HOST.sub(lambda m: m.group(1) + prefix + m.group(2), body)


def articles_per_file(files: list[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
    """(entries, articles) that parse_feed finds in each file: what a cold poll must store."""
    now = datetime.now(timezone.utc)
    out = {}
    for name, body in files:
        parsed = parse_feed(body, feed_url=f"https://feeds.example/{name}", now=now)
        out[name] = (parsed.entries, len(parsed.articles))
    return out


def build(srv, n_feeds: int, directory: Path = REALFEEDS) -> tuple[list[FeedSpec], dict[str, int]]:
    """Serve ``n_feeds`` replicas on ``srv`` (ETag or Last-Modified, as benchmarks/poll.py's
    synthetic farm); return their specs and the totals to expect: files, entries, articles."""
    files = load(directory)
    counts = articles_per_file(files)
    specs = []
    expected = dict(files=len(files), entries=0, articles=0)
    for i in range(n_feeds):
        name, body = files[i % len(files)]
        if i % 2:
            url = srv.route(f"/r{i}.xml", replica(body, i), etag=f'"r{i}-v1"', content_type="application/xml")
        else:
            url = srv.route(f"/r{i}.xml", replica(body, i), last_modified="Fri, 03 Dec 2021 10:00:00 GMT",
                            content_type="application/xml")  # fmt: skip
        specs.append(FeedSpec(name=f"{name} #{i}", url=url))
        expected["entries"] += counts[name][0]
        expected["articles"] += counts[name][1]
    return specs, expected
