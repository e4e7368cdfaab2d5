"""Import historical headlines from CSV: validate, score, store — idempotently.

Columns: ``published_utc, source, title`` and optionally ``url, summary``
(other columns are ignored). Every row is checked before anything is written;
bad rows are reported with their line numbers and skipped. Good rows are
stored in batches, each in one transaction, with the same scoring and index
aggregation as polled articles. A row's identity is a hash of its content, so
importing the same file twice adds nothing, and an interrupted import resumes.

Must not touch: the live poller, the network.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import EscalationWatchError
from .parse import canonicalize_url, plain_text
from .score import score_article
from .types import Article

REQUIRED = ("published_utc", "source", "title")
OPTIONAL = ("url", "summary")
#: the pseudo-feed URL of an import source: never polled, never in feeds.yaml
SOURCE_SCHEME = "import:"
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000


class ImportFileError(EscalationWatchError):
    """The file cannot be imported at all (missing, not CSV, missing columns)."""


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.imported} imported, {self.duplicates} already stored, "
            f"{len(self.bad)} bad rows skipped"
        )


def source_url(source: str) -> str:
    slug = re.sub(r"[^a-z0-9.-]+", "-", source.strip().lower()).strip("-") or "unknown"
    return f"{SOURCE_SCHEME}{slug}"


def _parse_time(value: str) -> datetime:
    v = value.strip()
    if not v:
        raise ValueError("published_utc is empty")
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"published_utc is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # the column is UTC by name
    return when.astimezone(timezone.utc)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """(line number, row or None, error or None) for every data row."""
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise ImportFileError(f"cannot read {path}: {e.strerror}") from e
    with fh:
        reader = csv.DictReader(fh)
        try:
            header = reader.fieldnames
        except (csv.Error, UnicodeDecodeError) as e:
            raise ImportFileError(f"{path}: not a UTF-8 CSV file: {e}") from e
        if not header:
            raise ImportFileError(f"{path}: empty file, expected a header row with {', '.join(REQUIRED)}")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ImportFileError(f"{path}:1: missing column(s) {', '.join(missing)} (have: {', '.join(header)})")
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as e:
                yield line, None, f"unreadable CSV: {e}"
                continue
            if None in row:
                yield reader.line_num, None, "more fields than the header"
                continue
            yield reader.line_num, row, None


def row_to_article(row: dict[str, str], now: datetime) -> Article:
    """One CSV row as an Article; ValueError with a readable reason if it is bad."""
    source = (row.get("source") or "").strip()
    if not source:
        raise ValueError("source is empty")
    title = plain_text(row.get("title"), MAX_TITLE_CHARS)
    if not title:
        raise ValueError("title is empty")
    published = _parse_time(row.get("published_utc") or "")
    if published > now:
        raise ValueError(f"published_utc is in the future: {row['published_utc']}")
    url = (row.get("url") or "").strip() or None
    canonical = canonicalize_url(url) if url else None
    if url and canonical is None:
        raise ValueError(f"url is not an http(s) URL: {url[:80]!r}")
    summary = plain_text(row.get("summary"), MAX_SUMMARY_CHARS)
    digest = hashlib.sha256("\x1f".join([published.isoformat(), source, title, url or ""]).encode()).hexdigest()
    return Article(
        feed_url=source_url(source),
        guid=f"import:{digest[:32]}",
        url=url,
        canonical_url=canonical,
        title=title,
        summary=summary,
        published_at=published,
        published_estimated=False,
        language=None,
        author=None,
        content_hash=hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest(),
    )


def import_csv(
    store,
    path: str | Path,
    *,
    now: datetime,
    batch: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    path = Path(path)
    report = ImportReport()
    good: list[Article] = []
    sources: dict[str, str] = {}
    for line, row, err in read_rows(path):
        report.rows += 1
        if err is None:
            try:
                art = row_to_article(row, now)  # type: ignore[arg-type]
            except ValueError as e:
                err = str(e)
            else:
                good.append(art)
                sources.setdefault(art.feed_url, (row or {}).get("source", "").strip())
        if err is not None:
            report.bad.append((line, err))
    # all rows checked: now write, batch by batch (each batch all-or-nothing)
    done = 0
    for i in range(0, len(good), batch):
        chunk = good[i : i + batch]
        by_feed: dict[str, list[Article]] = defaultdict(list)
        for art in chunk:
            by_feed[art.feed_url].append(art)
        scored = {id(a): score_article(a.title, a.summary, hint=a.language) for a in chunk}
        new = store.add_articles(
            [(url, sources[url], arts, [scored[id(a)] for a in arts]) for url, arts in by_feed.items()], now
        )
        report.imported += new
        report.duplicates += len(chunk) - new
        done += len(chunk)
        if on_progress:
            on_progress(done, len(good))
    return report
