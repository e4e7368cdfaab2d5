"""Exports: scored articles, signals with evidence, and the daily index as CSV, Parquet or Excel.

The dashboard's Downloads page and the ``escalation-watch export`` command both
call :func:`export_table` / :func:`write_export`, with the filters of
:mod:`pipeline.store.reads` (theatre, signal, modality, source, min_score,
max_score, since, until, text, actor, pair, kind, tag, language, exclude_tag), so a download holds exactly the rows the
Articles page lists.

Tables
    ``articles``  one row per article: id, published_at, source, tags (the feed's,
                  ``;``-separated), language (the one it was read in), theatre,
                  score, signals (its categories, ``;``-separated), title, url, summary
    ``signals``   one row per signal, with the evidence and its sentence
    ``index``     one row per theatre and day from :func:`pipeline.trend.index_series`
                  (only ``theatre``, ``since`` and ``until`` apply)
    ``audit``     one row per feed edit made from the dashboard, newest first: at, who,
                  action, feed_name, feed_url, changes (JSON); only ``since`` applies

Formula injection: a CSV or Excel cell holding feed text that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a formula
when opened in a spreadsheet (OWASP "CSV injection"); such text cells get a
leading apostrophe. Numbers are left alone. Parquet is not opened by
spreadsheets and keeps the exact text.

Times are UTC. Excel has no time zones, so its cells hold naive UTC times.

Must not touch: SQL (it reads through pipeline.store.reads).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMATS", "TABLES", "export_frame", "export_table", "write_export", "neutralise"]

TABLES = ("articles", "signals", "index", "audit")
FORMATS = ("csv", "parquet", "xlsx")

MIME = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_ARTICLE_COLUMNS = [
    "id", "published_at", "source", "tags", "language", "theatre", "score", "signals", "title", "url", "summary",
]  # fmt: skip
_SIGNAL_COLUMNS = [
    "article_id", "published_at", "feed", "language", "title", "url", "article_score", "signal", "direction", "kind",
    "modality", "source", "target", "theatre", "weight", "evidence", "sentence", "span_start", "span_end",
]  # fmt: skip
_INDEX_COLUMNS = ["theatre", "day", "index", "threats", "acts", "deescalation", "zscore", "articles"]
_AUDIT_COLUMNS = ["at", "who", "action", "feed_name", "feed_url", "changes"]


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made literal with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _check(table: str, fmt: str | None = None) -> None:
    if table not in TABLES:
        raise ValueError(f"unknown export table {table!r}: choose one of {', '.join(TABLES)}")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")


def export_frame(
    store: Any, table: str, *, theatre: str | None = None, since: datetime | None = None, **filters: Any
) -> pd.DataFrame:
    """The rows of one export table as a DataFrame (exact text, aware UTC times)."""
    _check(table)
    from .store import reads

    if table == "articles":
        rows = reads.search_articles(store, theatre=theatre, since=since, limit=None, **filters)
        for r in rows:
            r["signals"] = ";".join(dict.fromkeys(s["signal"] for s in r["signals"]))
            r["tags"] = ";".join(r["tags"])  # the feed's tags (feeds.yaml), as the signals column
        df = pd.DataFrame(rows, columns=_ARTICLE_COLUMNS)
    elif table == "audit":
        import json

        rows = [
            dict(at=e.at, who=e.who, action=e.action, feed_name=e.feed_name, feed_url=e.feed_url,
                 changes=json.dumps(e.changes, ensure_ascii=False, sort_keys=True, default=str))
            for e in store.audit_log(limit=None, since=since)
        ]  # fmt: skip
        df = pd.DataFrame(rows, columns=_AUDIT_COLUMNS)
        df["at"] = pd.to_datetime(df["at"], utc=True)
    elif table == "signals":
        rows = reads.signals_table(store, theatre=theatre, since=since, **filters)
        df = pd.DataFrame(rows, columns=_SIGNAL_COLUMNS)
    else:
        from . import trend

        points = trend.index_series(
            store, theatre=theatre, granularity="day", since=since, until=filters.get("until")
        )
        df = pd.DataFrame(
            [
                dict(
                    theatre=p.theatre,
                    day=p.bucket_start.date(),
                    index=p.index,
                    threats=p.threats,
                    acts=p.acts,
                    deescalation=p.deescalation,
                    zscore=p.zscore,
                    articles=p.articles,
                )
                for p in points
            ],
            columns=_INDEX_COLUMNS,
        )
        df = df.sort_values(["theatre", "day"], kind="stable").reset_index(drop=True)
    if "published_at" in df:
        df["published_at"] = pd.to_datetime(df["published_at"], utc=True)
    return df


def _for_spreadsheet(df: pd.DataFrame, *, excel: bool) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
            if excel:
                from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

                # control characters make openpyxl refuse the whole workbook
                out[col] = out[col].map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
        elif excel and isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _serialise(df: pd.DataFrame, table: str, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "csv":
        buf.write(_for_spreadsheet(df, excel=False).to_csv(index=False).encode("utf-8"))
    elif fmt == "parquet":
        df.to_parquet(buf, index=False, engine="pyarrow")
    else:
        with pd.ExcelWriter(buf, engine="openpyxl") as writer:
            _for_spreadsheet(df, excel=True).to_excel(writer, sheet_name=table, index=False)
    return buf.getvalue()


def export_table(
    store: Any,
    table: str,
    fmt: str,
    *,
    theatre: str | None = None,
    since: datetime | None = None,
    **filters: Any,
) -> bytes:
    """One export table, filtered, as the bytes of a CSV, Parquet or Excel file."""
    _check(table, fmt)
    return _serialise(export_frame(store, table, theatre=theatre, since=since, **filters), table, fmt)


def write_export(
    store: Any,
    table: str,
    fmt: str,
    out: Path,
    *,
    theatre: str | None = None,
    since: datetime | None = None,
    **filters: Any,
) -> int:
    """Write one export table to ``out`` (replaced atomically); return the number of rows."""
    _check(table, fmt)
    df = export_frame(store, table, theatre=theatre, since=since, **filters)
    data = _serialise(df, table, fmt)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return len(df)
