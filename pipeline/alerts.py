"""Alert rules on the risk index: load, evaluate, store, deliver to people.

Rules live in ``alerts.yaml`` (next to feeds.yaml; ``--alerts FILE`` or
$ESCALATION_WATCH_ALERTS)::

    base_url: https://watch.example.org   # optional: the dashboard, for deep links in messages
    webhook: https://hooks.example.org/escalation   # optional: POST each alert as JSON (signed)
    brief:                     # optional: the daily brief (pipeline.brief), sent by the poller
      at: "07:30"
      timezone: Europe/Berlin
      notify: [mailto://...]
    rules:
      - name: Russia–Ukraine spike
        theatre: RUS-UKR
        series: index          # index | threats | acts | deescalation | index_ewma
        granularity: day       # day | hour
        above: 250             # fire when the series is at or above this ...
        zscore: 3              # ... or its z-score is at or above this (either may be left out)
        min_articles: 20       # not on thin data: all articles in the bucket
        cooldown: 12h          # at most one alert per rule in this time
        notify:                # optional: Apprise URLs (slack://, tgram://, mailto://, ntfy://, json://...)
          - tgram://${TELEGRAM_BOT_TOKEN}/12345

A fired alert is stored with the evidence that triggered it (the point and its
top articles and signals), then sent to the webhook and the rule's destinations
(pipeline.notify); each delivery is retried with back-off and its outcome stored,
one failing destination never blocks the others, and none stops the poller.

Must not touch: scoring, the delivery transport (pipeline.notify).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from . import notify, trend
from .config import parse_interval
from .errors import ConfigError, ConfigProblem

log = logging.getLogger("escalation_watch.alerts")

SERIES = ("index", "threats", "acts", "deescalation", "index_ewma")
RULE_KEYS = {"name", "theatre", "series", "granularity", "above", "zscore", "min_articles", "cooldown", "notify"}
TOP_KEYS = ("base_url", "brief", "rules", "webhook")
BRIEF_KEYS = {"at", "timezone", "notify", "format", "since", "theatres"}
#: stories a message names (the brief lists more)
MESSAGE_STORIES = 2
WEBHOOK_ATTEMPTS = 3
WEBHOOK_TIMEOUT_S = 10.0
WEBHOOK_BACKOFF_S = 1.0


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    theatre: str
    series: str = "index"
    granularity: str = "day"
    above: float | None = None
    zscore: float | None = None
    min_articles: int = 10
    cooldown_s: int = 12 * 3600
    #: Apprise URLs, as written (``${NAME}`` expanded only when sending)
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BriefSchedule:
    """The daily brief: sent once a day at ``at`` local time in ``timezone``."""

    at: dtime
    timezone: str
    notify: tuple[str, ...]
    format: str = "md"  # md | html (html for e-mail; md reads well in chat)
    since_s: int = 24 * 3600
    theatres: tuple[str, ...] = ()  # () = every watched theatre


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: tuple[AlertRule, ...]
    webhook: str | None = None
    base_url: str | None = None
    brief: BriefSchedule | None = None

    def destinations(self, rule: AlertRule) -> tuple[str, ...]:
        """Where an alert of ``rule`` goes: the webhook (every rule), then the rule's own."""
        return ((self.webhook,) if self.webhook else ()) + rule.notify

    def rule(self, name: str) -> AlertRule | None:
        return next((r for r in self.rules if r.name == name), None)


def load_rules(path: str | Path) -> AlertConfig:
    """Rules from a YAML file; one ConfigError listing every problem with its line."""
    path = Path(path)
    name = str(path)
    doc = _read_rules_yaml(path)
    probs = _RuleProblems(name)
    if doc is None:
        return AlertConfig(())
    if not isinstance(doc, dict):
        raise ConfigError([ConfigProblem(name, 1, 1, "", "must be a mapping with `rules:` (and optionally `webhook:`)")])
    for key in doc:
        if key not in TOP_KEYS:
            probs.bad(doc, key, str(key), f"unknown key (expected {', '.join(TOP_KEYS)})")
    webhook = doc.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
        probs.bad(doc, "webhook", "webhook", "must be an http(s) URL")
    base_url = doc.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or not base_url.startswith(("http://", "https://"))):
        probs.bad(doc, "base_url", "base_url", "must be the dashboard's http(s) URL")
        base_url = None
    theatres = {t["id"] for t in trend.watched_theatres()}
    rules: list[AlertRule] = []
    nodes = doc.get("rules") or []
    if not isinstance(nodes, list):
        probs.bad(doc, "rules", "rules", "must be a list")
        nodes = []
    for i, node in enumerate(nodes):
        rule = _load_rule(node, nodes, f"rules[{i}]", theatres, probs)
        if rule is not None:
            rules.append(rule)
    names = [r.name for r in rules]
    for i, r in enumerate(rules):
        if names.index(r.name) != i:
            probs.bad(nodes[i], "name", f"rules[{i}].name", f"duplicate rule name {r.name!r}")
    brief = _load_brief(doc, theatres, probs.bad, probs.destinations)
    if probs.items:
        raise ConfigError(probs.items, path=name)
    return AlertConfig(tuple(rules), webhook, base_url.rstrip("/") if base_url else None, brief)


def _read_rules_yaml(path: Path) -> Any:
    """The file's YAML (ruamel's round-trip loader keeps each node's line and column)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}", path=name) from e
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigProblem(name, line, None, "", f"YAML syntax error: {getattr(e, 'problem', e)}")]) from e


class _RuleProblems:
    """Every problem of one rules file, each with the line and column of its node."""

    def __init__(self, name: str):
        self.name = name
        self.items: list[ConfigProblem] = []

    def bad(self, node: Any, key: str | None, field: str, msg: str) -> None:
        line = col = None
        try:
            if key is not None:
                line, col = node.lc.key(key)
            else:
                line, col = node.lc.line, node.lc.col
            line, col = line + 1, col + 1
        except Exception:
            pass
        self.items.append(ConfigProblem(self.name, line, col, field, msg))

    def destinations(self, node: Any, where: str) -> tuple[str, ...] | None:
        """The node's ``notify`` URLs (() when it has none); None when any is unusable."""
        urls = node.get("notify")
        if urls is None:
            return ()
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            self.bad(node, "notify", f"{where}.notify", "must be a list of notification URLs")
            return None
        ok = True
        for j, u in enumerate(urls):
            why = notify.check_url(u)
            if why:
                # the message never repeats the URL: it may hold a token
                self.bad(node, "notify", f"{where}.notify[{j}]", why)
                ok = False
        return tuple(urls) if ok else None


def _load_rule(node: Any, nodes: list, where: str, theatres: set[str], probs: _RuleProblems) -> AlertRule | None:
    """One entry of ``rules:``; None when anything in it is wrong (the problems say what)."""
    bad = probs.bad
    if not isinstance(node, dict):
        bad(nodes, None, where, "must be a mapping")
        return None
    for key in node:
        if key not in RULE_KEYS:
            bad(node, key, f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(RULE_KEYS))})")
    ok = True
    rname = node.get("name")
    if not isinstance(rname, str) or not rname.strip():
        bad(node, "name" if "name" in node else None, f"{where}.name", "required, a non-empty string")
        ok = False
    theatre = node.get("theatre")
    if theatre not in theatres:
        bad(node, "theatre" if "theatre" in node else None, f"{where}.theatre",
            f"must be one of {', '.join(sorted(theatres))} (got {theatre!r})")  # fmt: skip
        ok = False
    series = node.get("series", "index")
    if series not in SERIES:
        bad(node, "series", f"{where}.series", f"must be one of {', '.join(SERIES)}")
        ok = False
    gran = node.get("granularity", "day")
    if gran not in trend.GRANULARITIES:
        bad(node, "granularity", f"{where}.granularity", "must be day or hour")
        ok = False
    above, z = node.get("above"), node.get("zscore")
    for key, val in (("above", above), ("zscore", z)):
        if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float))):
            bad(node, key, f"{where}.{key}", "must be a number")
            ok = False
    if above is None and z is None:
        bad(node, None, where, "needs `above` or `zscore` (or both)")
        ok = False
    min_articles = node.get("min_articles", 10)
    if isinstance(min_articles, bool) or not isinstance(min_articles, int) or min_articles < 0:
        bad(node, "min_articles", f"{where}.min_articles", "must be a whole number >= 0")
        ok = False
    try:
        cooldown = parse_interval(node.get("cooldown", "12h"))
    except (ValueError, TypeError) as e:
        bad(node, "cooldown", f"{where}.cooldown", str(e))
        ok = False
        cooldown = 0
    urls = probs.destinations(node, where)
    if urls is None:
        ok = False
    return AlertRule(rname.strip(), theatre, series, gran, above, z, min_articles, cooldown, urls) if ok else None


def _load_brief(doc: Any, theatres: set[str], bad, destinations) -> BriefSchedule | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    node = doc.get("brief")
    if node is None:
        return None
    if not isinstance(node, dict):
        bad(doc, "brief", "brief", "must be a mapping (at, timezone, notify)")
        return None
    for key in node:
        if key not in BRIEF_KEYS:
            bad(node, key, f"brief.{key}", f"unknown key (expected one of {', '.join(sorted(BRIEF_KEYS))})")
    ok = True
    at = str(node.get("at", ""))
    try:
        at_t = dtime.fromisoformat(at)
    except ValueError:
        bad(node, "at" if "at" in node else None, "brief.at", f"required, a time of day as HH:MM (got {at!r})")
        ok, at_t = False, dtime()
    tz = node.get("timezone", "UTC")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        bad(node, "timezone", "brief.timezone", f"unknown time zone {tz!r} (e.g. UTC, Europe/Berlin)")
        ok = False
    urls = destinations(node, "brief")
    if urls is None:
        ok = False
    elif not urls:
        bad(node, None, "brief.notify", "required: where to send the brief")
        ok = False
    fmt = node.get("format", "md")
    if fmt not in ("md", "html"):
        bad(node, "format", "brief.format", "must be md or html")
        ok = False
    try:
        since_s = parse_interval(node.get("since", "24h"))
    except (ValueError, TypeError) as e:
        bad(node, "since", "brief.since", str(e))
        ok, since_s = False, 0
    wanted = node.get("theatres") or []
    if not isinstance(wanted, list) or any(t not in theatres for t in wanted):
        bad(node, "theatres", "brief.theatres", f"must be a list of {', '.join(sorted(theatres))}")
        ok = False
    if not ok:
        return None
    return BriefSchedule(at_t, str(tz), urls, fmt, since_s, tuple(wanted))


def _triggered(rule: AlertRule, p: trend.TrendPoint) -> str | None:
    value = getattr(p, rule.series)
    if value is None or p.articles < rule.min_articles:
        return None
    reasons = []
    if rule.above is not None and value >= rule.above:
        reasons.append(f"{rule.series} {value:.1f} >= {rule.above:g}")
    if rule.zscore is not None and p.zscore is not None and p.zscore >= rule.zscore:
        reasons.append(f"z-score {p.zscore:.2f} >= {rule.zscore:g}")
    return " and ".join(reasons) or None


def evaluate(store, config: AlertConfig, *, now: datetime) -> list[dict[str, Any]]:
    """Fire every rule whose latest point crosses its threshold (outside its cool-down);
    store each alert with its evidence and return them (not yet delivered)."""
    fired = []
    for rule in config.rules:
        since = trend.bucket_start(now, rule.granularity) - (
            timedelta(days=1) if rule.granularity == "day" else timedelta(hours=1)
        )
        pts = [p for p in trend.index_series(store, theatre=rule.theatre, granularity=rule.granularity,
                                             since=since, until=now) if p.index is not None]  # fmt: skip
        if not pts:
            continue
        p = pts[-1]
        prev = getattr(pts[-2], rule.series) if len(pts) > 1 else None
        why = _triggered(rule, p)
        if why is None:
            continue
        last = store.last_alert_time(rule.name)
        if last is not None and (now - last).total_seconds() < rule.cooldown_s:
            continue
        evidence = trend.explain_point(
            store, theatre=rule.theatre, bucket_start=p.bucket_start, granularity=rule.granularity, limit=5
        )
        sources = store.story_sources([e["story_id"] for e in evidence if e.get("story_id") is not None])
        value = getattr(p, rule.series)
        alert = {
            "rule": rule.name,
            "theatre": rule.theatre,
            "series": rule.series,
            "granularity": rule.granularity,
            "bucket_start": p.bucket_start,
            "value": value,
            "change": None if prev is None or value is None else round(value - prev, 2),
            "zscore": p.zscore,
            "articles": p.articles,
            "fired_at": now,
            "message": f"{rule.name}: {rule.theatre} {why} ({p.articles} articles, {p.bucket_start:%Y-%m-%d %H:%M} UTC)",
            "evidence": [
                {
                    "title": e["title"],
                    "url": e["url"],
                    "source": e["source"],
                    "score": e["score"],
                    "cluster_size": e["cluster_size"],
                    # the outlets that ran the story: it counts once, however many they are
                    "sources": sources.get(e.get("story_id"), [e["source"]]),
                    "signals": [
                        {k: s.get(k) for k in ("signal", "kind", "modality", "source", "target", "evidence", "sentence")}
                        for s in e["signals"]
                    ],
                }
                for e in evidence
            ],
        }
        alert["id"] = store.save_alert(alert)
        fired.append(alert)
    return fired


def payload(alert: dict[str, Any]) -> dict[str, Any]:
    out = dict(alert)
    for k in ("bucket_start", "fired_at"):
        if isinstance(out.get(k), datetime):
            out[k] = out[k].isoformat()
    return out


def dashboard_link(base_url: str | None, theatre: str, bucket_start: datetime) -> str | None:
    """The Overview at that point: the theatre, two weeks up to the day, its drill-down open
    (the query parameters of pipeline.ui.filters.Filters)."""
    if not base_url:
        return None
    day = bucket_start.date()
    query = {"theatre": theatre, "period": "custom", "from": (day - timedelta(days=13)).isoformat(),
             "to": day.isoformat(), "drill": f"{theatre}@{day.isoformat()}"}  # fmt: skip
    return f"{base_url.rstrip('/')}/?{urlencode(query)}"


def _signed(x: float | None, nd: int = 1) -> str:
    return "n/a" if x is None else f"{x:+.{nd}f}"


def render(alert: dict[str, Any], *, base_url: str | None = None) -> tuple[str, str]:
    """(title, Markdown body) of an alert message: short, and every number with its story."""
    labels = {t["id"]: t["label"] for t in trend.watched_theatres()}
    label = labels.get(alert["theatre"], alert["theatre"])
    value = alert.get("value")
    z = alert.get("zscore")
    title = f"{'[test] ' if alert.get('test') else ''}{alert['rule']}: {label} {alert['series']} " + (
        f"{value:.1f}" if value is not None else "n/a"
    )
    when = alert["bucket_start"]
    when = when.strftime("%Y-%m-%d %H:%M UTC") if isinstance(when, datetime) else str(when)
    lines = [
        f"**{label}** ({alert['theatre']}), {alert['series']} per {alert['granularity']} from {when}",
        f"value **{value:.1f}**" if value is not None else "value n/a",
    ]
    lines[-1] += f", change {_signed(alert.get('change'))}, z-score {'n/a' if z is None else f'{z:.2f}'}, "
    lines[-1] += f"{alert['articles']} articles"
    stories = alert.get("evidence", [])[:MESSAGE_STORIES]
    if stories:
        lines.append("")
        lines.append("Strongest stories:")
    for i, e in enumerate(stories, 1):
        outlets = e.get("sources") or [e["source"]]
        ran = f"{len(outlets)} outlets" if len(outlets) > 1 else outlets[0]
        head = f"[{e['title']}]({e['url']})" if e.get("url") else e["title"]
        lines.append(f"{i}. {head} ({ran}, score {e['score']:.0f})")
        sig = next((s for s in e.get("signals", []) if s.get("sentence") or s.get("evidence")), None)
        if sig:
            lines.append(f"   > {(sig.get('sentence') or sig['evidence']).strip()[:300]}")
    link = dashboard_link(base_url, alert["theatre"], alert["bucket_start"]) if isinstance(
        alert["bucket_start"], datetime) else None  # fmt: skip
    if link:
        lines.append("")
        lines.append(f"Dashboard: {link}")
    return title, "\n".join(lines)


def send_alert(alert: dict[str, Any], destinations: tuple[str, ...], *, base_url: str | None = None,
               attempts: int | None = None, backoff_s: float | None = None) -> list[notify.Outcome]:  # fmt: skip
    """Send one alert to each destination in turn; a failing one never stops the next."""
    title, body = render(alert, base_url=base_url)
    out = []
    for url in destinations:
        if notify.is_webhook(url):
            data = payload(alert) | {"title": title, "text": body,
                                     "dashboard_url": dashboard_link(base_url, alert["theatre"], alert["bucket_start"])}  # fmt: skip
            out.append(notify.post_webhook(url, data, attempts=attempts or WEBHOOK_ATTEMPTS,
                                           backoff_s=WEBHOOK_BACKOFF_S if backoff_s is None else backoff_s,
                                           timeout_s=WEBHOOK_TIMEOUT_S))  # fmt: skip
        else:
            out.append(notify.send(url, title=title, body=body, body_format="markdown", attempts=attempts,
                                   backoff_s=WEBHOOK_BACKOFF_S if backoff_s is None else backoff_s))  # fmt: skip
    return out


def deliver_alert(store, config: AlertConfig, alert: dict[str, Any]) -> list[notify.Outcome]:
    """Send a stored alert to its rule's destinations and store each outcome; the alert
    counts as delivered when every destination got it."""
    rule = config.rule(alert["rule"])
    dests = config.destinations(rule) if rule else ((config.webhook,) if config.webhook else ())
    if not dests:
        return []
    outcomes = send_alert(alert, dests, base_url=config.base_url)
    for o in outcomes:
        store.record_delivery(alert["id"], o.destination, attempts=o.attempts, error=o.error)
    failed = [o for o in outcomes if not o.ok]
    if len(outcomes) == 1:
        error = failed[0].error if failed else None
    else:
        error = "; ".join(f"{o.destination}: {o.error}" for o in failed) or None
    store.mark_alert_delivered(alert["id"], attempts=max(o.attempts for o in outcomes), error=error)
    return outcomes


def deliver(store, url: str, alert: dict[str, Any], *, attempts: int | None = None,
            backoff_s: float | None = None, timeout_s: float | None = None) -> bool:  # fmt: skip
    """POST one stored alert to one webhook and store the outcome (retried with back-off)."""
    o = notify.post_webhook(url, payload(alert), attempts=attempts or WEBHOOK_ATTEMPTS,
                            backoff_s=WEBHOOK_BACKOFF_S if backoff_s is None else backoff_s,
                            timeout_s=timeout_s or WEBHOOK_TIMEOUT_S)  # fmt: skip
    store.record_delivery(alert["id"], o.destination, attempts=o.attempts, error=o.error)
    store.mark_alert_delivered(alert["id"], attempts=o.attempts, error=o.error)
    return o.ok


def send_test(store, config: AlertConfig, rule_name: str, *, now: datetime) -> list[notify.Outcome]:
    """Send a test message to a rule's destinations: its latest point and stories, marked
    [test], stored nowhere."""
    from .errors import UsageError

    rule = config.rule(rule_name)
    if rule is None:
        known = ", ".join(repr(r.name) for r in config.rules) or "none"
        raise UsageError(f"--test: no rule named {rule_name!r} (rules: {known})")
    dests = config.destinations(rule)
    if not dests:
        raise UsageError(f"--test: rule {rule_name!r} has no destinations (add `notify:` or `webhook:`)")
    since = now - timedelta(days=8 if rule.granularity == "day" else 2)
    pts = [p for p in trend.index_series(store, theatre=rule.theatre, granularity=rule.granularity,
                                         since=since, until=now) if p.index is not None]  # fmt: skip
    p = pts[-1] if pts else None
    bucket = p.bucket_start if p else trend.bucket_start(now, rule.granularity)
    evidence = trend.explain_point(store, theatre=rule.theatre, bucket_start=bucket,
                                   granularity=rule.granularity, limit=MESSAGE_STORIES) if p else []  # fmt: skip
    value = getattr(p, rule.series) if p else None
    prev = getattr(pts[-2], rule.series) if len(pts) > 1 else None
    alert = {
        "test": True, "rule": rule.name, "theatre": rule.theatre, "series": rule.series,
        "granularity": rule.granularity, "bucket_start": bucket, "value": value,
        "change": None if prev is None or value is None else round(value - prev, 2),
        "zscore": p.zscore if p else None, "articles": p.articles if p else 0, "fired_at": now,
        "message": f"{rule.name}: test message (not an alert)",
        "evidence": [{"title": e["title"], "url": e["url"], "source": e["source"], "score": e["score"],
                      "cluster_size": e["cluster_size"], "signals": e["signals"]} for e in evidence],
    }  # fmt: skip
    return send_alert(alert, dests, base_url=config.base_url)


def check_and_notify(store, config: AlertConfig, *, now: datetime) -> list[dict[str, Any]]:
    fired = evaluate(store, config, now=now)
    for alert in fired:
        log.warning("alert fired", extra={"rule": alert["rule"], "alert": alert["message"]})
        deliver_alert(store, config, alert)
    return fired
