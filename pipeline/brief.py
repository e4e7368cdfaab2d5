"""The daily brief: per watched theatre, what moved, the stories behind it, and the data under it.

``build`` reads the store into a :class:`Brief` (plain data); ``to_markdown`` and
``to_html`` render it. The Markdown reads in a terminal and in chat; the HTML is
one self-contained page (inline CSS, an inline SVG trend per theatre, no fonts,
scripts or images fetched) so it renders offline and in mail clients.

Every brief says how much data it stands on (articles, sources, failing feeds),
and says so loudly when that is little: a quiet brief must mean a quiet world,
not a poller that stopped.

``run_scheduled`` sends the brief of alerts.yaml's ``brief:`` once per local day:
the first worker to insert the day's ``schedule_runs`` row sends it; every other
worker, and the same worker after a restart, finds the row and does nothing.

Must not touch: scoring, SQL of its own (it reads through the store).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import notify, trend

log = logging.getLogger("escalation_watch.brief")

JOB = "brief"
STORIES = 3
CHART_DAYS = 14
#: fewer articles than this in the period and the brief warns that it stands on thin data
THIN_ARTICLES = 50


@dataclass(frozen=True, slots=True)
class TheatreBrief:
    theatre: str
    label: str
    #: the index over the 24 hours before ``now`` and the same 24 hours one day and one week before
    index: float | None
    before_24h: float | None
    before_7d: float | None
    zscore: float | None
    #: the period's escalation split into threats and acts (shares of the index, summing to it)
    threats: float | None
    acts: float | None
    articles: int  # of this theatre in the period
    stories: tuple[dict[str, Any], ...]  # strongest first, one per story, with its outlets
    alerts: tuple[dict[str, Any], ...]
    chart: tuple[tuple[datetime, float | None], ...]  # daily index, oldest first


@dataclass(frozen=True, slots=True)
class Brief:
    now: datetime
    since: datetime
    theatres: tuple[TheatreBrief, ...]
    articles: int  # every theatre, published in the period
    sources: int  # feeds those came from
    newest: datetime | None
    feeds_total: int
    feeds_failing: tuple[tuple[str, str], ...] = field(default=())  # (name, last error)

    @property
    def warnings(self) -> list[str]:
        """What makes this brief stand on thin ice, worded so nobody reads it as calm."""
        out = []
        hours = (self.now - self.since).total_seconds() / 3600
        if self.articles == 0:
            out.append(f"No articles at all in the last {hours:g} h: the feeds or the poller are down. "
                       "This is a gap in the data, not calm.")  # fmt: skip
        elif self.articles < THIN_ARTICLES:
            out.append(f"Only {self.articles} articles in the last {hours:g} h: thin data, read changes with care.")
        if self.newest is not None and self.now - self.newest > timedelta(hours=6):
            out.append(f"The newest article is {(self.now - self.newest).total_seconds() / 3600:.0f} h old.")
        if self.feeds_failing:
            out.append(f"{len(self.feeds_failing)} of {self.feeds_total} feeds are failing.")
        return out


def build(store, *, now: datetime, since_s: int = 24 * 3600, theatres: tuple[str, ...] | list[str] = (),
          stories: int = STORIES) -> Brief:  # fmt: skip
    since = now - timedelta(seconds=since_s)
    kpis = {k["theatre"]: k for k in trend.kpis(store, now=now)}
    wanted = [t for t in trend.watched_theatres() if not theatres or t["id"] in theatres]
    ids = [t["id"] for t in wanted]
    hourly = store.trend_rows("hour", ids, since=since, until=now)
    alerts = store.list_alerts(limit=200, since=since)
    chart_since = trend.bucket_start(now, "day") - timedelta(days=CHART_DAYS - 1)
    series = trend.index_series(store, granularity="day", since=chart_since, until=now)
    out = []
    for t in wanted:
        k = kpis.get(t["id"], {})
        rows = [r for r in hourly.get(t["id"], []) if r["bucket_start"] >= since]
        esc = sum(r["escalation"] for r in rows)
        index = k.get("index")
        threats = acts = None
        if index is not None:
            share = sum(r["threats"] for r in rows) / esc if esc > 0 else 0.0
            threats, acts = round(index * share, 1), round(index * (1 - share), 1)
        top = store.explain_bucket(t["id"], since, now, limit=stories)
        outlets = store.story_sources([s["story_id"] for s in top if s.get("story_id") is not None])
        top = tuple(s | {"sources": outlets.get(s.get("story_id"), [s["source"]])} for s in top)

        def before(change: float | None) -> float | None:
            return None if index is None or change is None else round(index - change, 2)

        out.append(
            TheatreBrief(
                theatre=t["id"], label=t["label"], index=index, before_24h=before(k.get("change_24h")),
                before_7d=before(k.get("change_7d")), zscore=k.get("zscore"), threats=threats, acts=acts,
                articles=sum(r["articles"] for r in rows), stories=top,
                alerts=tuple(a for a in alerts if a["theatre"] == t["id"]),
                chart=tuple((p.bucket_start, p.index) for p in series if p.theatre == t["id"]),
            )  # fmt: skip
        )
    vol = store.window_volume(since, now)
    health = store.feed_health()
    failing = tuple(
        (h["name"], h["last_error"] or h["status"]) for h in health if h["enabled"] and h["status"] not in ("ok", "new")
    )
    return Brief(now, since, tuple(out), vol["articles"], vol["sources"], vol["newest"], len(health), failing)


# -- Markdown ----------------------------------------------------------------------


def _num(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"


def _delta(now: float | None, then: float | None) -> str:
    if now is None or then is None:
        return "n/a"
    return f"{then:.1f} (change {now - then:+.1f})"


def _evidence(story: dict[str, Any]) -> str | None:
    for s in story.get("signals", []):
        text = (s.get("sentence") or s.get("evidence") or "").strip()
        if text:
            return text[:300]
    return None


def _outlets(story: dict[str, Any]) -> str:
    names = story.get("sources") or [story["source"]]
    shown = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    return f"{len(names)} outlets: {shown}" if len(names) > 1 else shown


def _md_text(text: str) -> str:
    """A headline as link text: brackets would end the link early."""
    return text.replace("[", "(").replace("]", ")")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def title(b: Brief) -> str:
    return f"Escalation Watch brief, {b.now:%Y-%m-%d %H:%M} UTC"


def to_markdown(b: Brief) -> str:
    hours = (b.now - b.since).total_seconds() / 3600
    lines = [f"# {title(b)}", f"Period: the last {hours:g} h (since {b.since:%Y-%m-%d %H:%M} UTC)", ""]
    for w in b.warnings:
        lines.append(f"> **Warning:** {w}")
    if b.warnings:
        lines.append("")
    for t in b.theatres:
        lines.append(f"## {t.label} ({t.theatre})")
        if t.index is None:
            lines.append("- **Index: n/a** (too few articles in the last 24 h for an index: a gap, not calm)")
        else:
            z = "" if t.zscore is None else f", z-score {t.zscore:+.2f}"
            lines.append(f"- **Index {t.index:.1f}**{z}; 24 h ago {_delta(t.index, t.before_24h)}; "
                         f"7 days ago {_delta(t.index, t.before_7d)}")  # fmt: skip
            lines.append(f"- Threats {_num(t.threats)} vs acts {_num(t.acts)}")
        lines.append(f"- {_n(t.articles, 'article')} about this theatre in the period")
        if t.stories:
            lines.append("- Top stories (each counted once, however many outlets ran it):")
        for i, s in enumerate(t.stories, 1):
            head = f"[{_md_text(s['title'])}]({s['url']})" if s.get("url") else s["title"]
            lines.append(f"  {i}. {head} (score {s['score']:.0f}; {_outlets(s)})")
            ev = _evidence(s)
            if ev:
                lines.append(f"     > {ev}")
        for a in t.alerts:
            lines.append(f"- Alert {a['fired_at']:%Y-%m-%d %H:%M} UTC: {a['message']}")
        lines.append("")
    lines.append("## Data behind this brief")
    newest = f"{b.newest:%Y-%m-%d %H:%M} UTC" if b.newest else "none"
    lines.append(f"- {_n(b.articles, 'article')} from {_n(b.sources, 'source')} in the period; newest article {newest}")
    lines.append(f"- Feeds polled: {b.feeds_total} configured, {len(b.feeds_failing)} failing")
    for name, err in b.feeds_failing[:10]:
        lines.append(f"  - {name}: {err}")
    return "\n".join(lines).rstrip() + "\n"


# -- HTML ----------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:760px;margin:0 auto;padding:20px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:0 0 6px}
.muted{color:#59636e} .warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px;margin:10px 0}
section{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:14px 16px;margin:14px 0}
.kpi{display:flex;gap:18px;flex-wrap:wrap;align-items:flex-start;margin-bottom:8px}
.kpi div{min-width:90px} .kpi b{display:block;font-size:20px} .up{color:#cf222e} .down{color:#1a7f37}
ol{padding-left:20px;margin:6px 0} li{margin:6px 0} blockquote{margin:3px 0 0;color:#59636e;border-left:3px solid #d1d9e0;padding-left:8px}
a{color:#0969da} .alert{color:#cf222e;margin:4px 0} svg{display:block}
"""


def svg_chart(points: tuple[tuple[datetime, float | None], ...], *, width: int = 300, height: int = 70) -> str:
    """A small line of the daily index; a day without an index breaks the line (a gap, drawn as one)."""
    vals = [v for _, v in points if v is not None]
    if not points or not vals:
        return (f'<svg width="{width}" height="{height}" role="img" aria-label="no index in this period">'
                f'<text x="4" y="{height // 2}" font-size="12" fill="#59636e">no index in these days</text></svg>')  # fmt: skip
    top = max(max(vals), 100.0) * 1.1
    n = len(points)
    step = (width - 8) / max(n - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{4 + i * step:.1f},{height - 14 - (height - 20) * v / top:.1f}"

    runs: list[list[str]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(xy(i, v))
    base_y = height - 14 - (height - 20) * 100 / top
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="daily index, last {n} days">',
             f'<line x1="4" x2="{width - 4}" y1="{base_y:.1f}" y2="{base_y:.1f}" stroke="#d1d9e0" stroke-dasharray="3 3"/>',
             f'<text x="{width - 4}" y="{base_y - 3:.1f}" font-size="9" fill="#59636e" text-anchor="end">100 = normal</text>']  # fmt: skip
    for run in runs:
        if len(run) == 1:
            x, y = run[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="#cf222e"/>')
        elif run:
            parts.append(f'<polyline fill="none" stroke="#cf222e" stroke-width="2" points="{" ".join(run)}"/>')
    parts.append(f'<text x="4" y="{height - 2}" font-size="9" fill="#59636e">{points[0][0]:%d %b}</text>')
    parts.append(f'<text x="{width - 4}" y="{height - 2}" font-size="9" fill="#59636e" text-anchor="end">'
                 f'{points[-1][0]:%d %b}</text></svg>')  # fmt: skip
    return "".join(parts)


def _kpi(label: str, value: float | None, now: float | None = None) -> str:
    e = html.escape
    if value is None:
        return f"<div><span class=muted>{e(label)}</span><b>n/a</b></div>"
    cls = ""
    change = ""
    if now is not None:
        d = now - value
        cls = "up" if d > 0 else "down" if d < 0 else ""
        change = f'<span class="{cls}">change {d:+.1f}</span>'
    return f"<div><span class=muted>{e(label)}</span><b>{value:.1f}</b>{change}</div>"


def to_html(b: Brief) -> str:
    e = html.escape
    hours = (b.now - b.since).total_seconds() / 3600
    out = ["<!doctype html><html lang=en><head><meta charset=utf-8>",
           '<meta name=viewport content="width=device-width,initial-scale=1">',
           f"<title>{e(title(b))}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>{e(title(b))}</h1><div class=muted>The last {hours:g} h, since {b.since:%Y-%m-%d %H:%M} UTC</div>"]  # fmt: skip
    for w in b.warnings:
        out.append(f'<div class=warn data-testid=warning><b>Warning:</b> {e(w)}</div>')
    for t in b.theatres:
        out.append(f'<section data-testid="theatre-{e(t.theatre)}"><h2>{e(t.label)} <span class=muted>({e(t.theatre)})</span></h2>')
        out.append('<div class=kpi>')
        out.append(_kpi("Index, last 24 h", t.index))
        if t.index is None:
            out.append("<div class=muted>too few articles for an index:<br>a gap in the data, not calm</div>")
        else:
            out.append(_kpi("24 h ago", t.before_24h, t.index) + _kpi("7 days ago", t.before_7d, t.index))
            z = "n/a" if t.zscore is None else f"{t.zscore:+.2f}"
            out.append(f"<div><span class=muted>z-score</span><b>{z}</b></div>")
            out.append(f"<div><span class=muted>threats / acts</span><b>{_num(t.threats)} / {_num(t.acts)}</b></div>")
        out.append("</div>")
        out.append(svg_chart(t.chart))
        out.append(f"<div class=muted>{_n(t.articles, 'article')} about this theatre in the period</div>")
        if t.stories:
            out.append("<div>Top stories, each counted once however many outlets ran it:</div><ol>")
        for s in t.stories:
            head = f'<a href="{e(s["url"])}">{e(s["title"])}</a>' if s.get("url") else e(s["title"])
            ev = _evidence(s)
            out.append(f"<li>{head} <span class=muted>score {s['score']:.0f}; {e(_outlets(s))}</span>"
                       + (f"<blockquote>{e(ev)}</blockquote>" if ev else "") + "</li>")  # fmt: skip
        if t.stories:
            out.append("</ol>")
        for a in t.alerts:
            out.append(f"<div class=alert>Alert {a['fired_at']:%Y-%m-%d %H:%M} UTC: {e(a['message'])}</div>")
        out.append("</section>")
    newest = f"{b.newest:%Y-%m-%d %H:%M} UTC" if b.newest else "none"
    out.append(f'<section data-testid=data><h2>Data behind this brief</h2><div>{b.articles} articles from '
               f"{b.sources} sources in the period; newest article {newest}.</div>"
               f"<div>Feeds polled: {b.feeds_total} configured, {len(b.feeds_failing)} failing.</div>")  # fmt: skip
    if b.feeds_failing:
        out.append("<ul>" + "".join(f"<li>{e(n)}: {e(err)}</li>" for n, err in b.feeds_failing[:10]) + "</ul>")
    out.append("</section></main></body></html>")
    return "\n".join(out) + "\n"


def render(b: Brief, fmt: str = "md") -> str:
    return to_html(b) if fmt == "html" else to_markdown(b)


def send(b: Brief, urls: tuple[str, ...] | list[str], fmt: str = "md") -> list[notify.Outcome]:
    """Send the brief to each destination (Apprise URLs; an http(s) URL gets it as JSON, signed)."""
    body = render(b, fmt)
    out = []
    for url in urls:
        if notify.is_webhook(url):
            out.append(notify.post_webhook(url, {"title": title(b), "format": fmt, "body": body}))
        else:
            out.append(notify.send(url, title=title(b), body=body, body_format="html" if fmt == "html" else "markdown"))
    return out


# -- schedule ------------------------------------------------------------------------


def due_period(schedule, now: datetime) -> str | None:
    """The local day whose brief is due at ``now`` (its time of day has passed), else None."""
    local = now.astimezone(ZoneInfo(schedule.timezone))
    return local.date().isoformat() if local.time() >= schedule.at else None


def run_scheduled(store, config, *, now: datetime, worker: str) -> list[notify.Outcome] | None:
    """Send the day's brief if it is due and nobody has claimed it; None when not sent here.

    At most once per period: the claim is committed before sending, so a crash
    mid-send loses that day's brief rather than sending it twice."""
    schedule = getattr(config, "brief", None)
    if schedule is None:
        return None
    period = due_period(schedule, now)
    if period is None or not store.claim_run(JOB, period, worker=worker, now=now):
        return None
    log.info("sending the daily brief", extra={"period": period, "worker": worker})
    error = None
    try:
        b = build(store, now=now, since_s=schedule.since_s, theatres=schedule.theatres)
        outcomes = send(b, schedule.notify, schedule.format)
        failed = [o for o in outcomes if not o.ok]
        error = "; ".join(f"{o.destination}: {o.error}" for o in failed) or None
        return outcomes
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
        raise
    finally:
        store.finish_run(JOB, period, error=error, now=now)


__all__ = ["Brief", "TheatreBrief", "build", "due_period", "render", "run_scheduled", "send", "to_html", "to_markdown"]
