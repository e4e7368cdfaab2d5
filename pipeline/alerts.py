"""Alert rules on the risk index: load, evaluate, store, deliver to a webhook.

Rules live in ``alerts.yaml`` (next to feeds.yaml; ``--alerts FILE`` or
$ESCALATION_WATCH_ALERTS)::

    webhook: https://hooks.example.org/escalation   # optional: POST each alert as JSON
    rules:
      - name: Russia–Ukraine spike
        theatre: RUS-UKR
        series: index          # index | threats | acts | deescalation | index_ewma
        granularity: day       # day | hour
        above: 250             # fire when the series is at or above this ...
        zscore: 3              # ... or its z-score is at or above this (either may be left out)
        min_articles: 20       # not on thin data: all articles in the bucket
        cooldown: 12h          # at most one alert per rule in this time

A fired alert is stored with the evidence that triggered it (the point and its
top articles and signals), then POSTed; delivery is retried with back-off and
its outcome stored, and a failing receiver never stops the poller.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from . import trend
from .config import parse_interval
from .errors import ConfigError, ConfigProblem

log = logging.getLogger("escalation_watch.alerts")

SERIES = ("index", "threats", "acts", "deescalation", "index_ewma")
RULE_KEYS = {"name", "theatre", "series", "granularity", "above", "zscore", "min_articles", "cooldown"}
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


@dataclass(frozen=True, slots=True)
class AlertConfig:
    rules: tuple[AlertRule, ...]
    webhook: str | None = None


def load_rules(path: str | Path) -> AlertConfig:
    """Rules from a YAML file; one ConfigError listing every problem with its line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}", path=name) from e
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigProblem(name, line, None, "", f"YAML syntax error: {getattr(e, 'problem', e)}")]) from e
    problems: list[ConfigProblem] = []

    def bad(node: Any, key: str | None, field: str, msg: str) -> None:
        line = col = None
        try:
            if key is not None:
                line, col = node.lc.key(key)
            else:
                line, col = node.lc.line, node.lc.col
            line, col = line + 1, col + 1
        except Exception:
            pass
        problems.append(ConfigProblem(name, line, col, field, msg))

    if doc is None:
        return AlertConfig(())
    if not isinstance(doc, dict):
        raise ConfigError([ConfigProblem(name, 1, 1, "", "must be a mapping with `rules:` (and optionally `webhook:`)")])
    for key in doc:
        if key not in ("rules", "webhook"):
            bad(doc, key, str(key), "unknown key (expected rules, webhook)")
    webhook = doc.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
        bad(doc, "webhook", "webhook", "must be an http(s) URL")
    theatres = {t["id"] for t in trend.watched_theatres()}
    rules: list[AlertRule] = []
    nodes = doc.get("rules") or []
    if not isinstance(nodes, list):
        bad(doc, "rules", "rules", "must be a list")
        nodes = []
    for i, node in enumerate(nodes):
        where = f"rules[{i}]"
        if not isinstance(node, dict):
            bad(nodes, None, where, "must be a mapping")
            continue
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
        if ok:
            rules.append(AlertRule(rname.strip(), theatre, series, gran, above, z, min_articles, cooldown))
    names = [r.name for r in rules]
    for i, r in enumerate(rules):
        if names.index(r.name) != i:
            bad(nodes[i], "name", f"rules[{i}].name", f"duplicate rule name {r.name!r}")
    if problems:
        raise ConfigError(problems, path=name)
    return AlertConfig(tuple(rules), webhook)


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
        why = _triggered(rule, p)
        if why is None:
            continue
        last = store.last_alert_time(rule.name)
        if last is not None and (now - last).total_seconds() < rule.cooldown_s:
            continue
        evidence = trend.explain_point(
            store, theatre=rule.theatre, bucket_start=p.bucket_start, granularity=rule.granularity, limit=5
        )
        alert = {
            "rule": rule.name,
            "theatre": rule.theatre,
            "series": rule.series,
            "granularity": rule.granularity,
            "bucket_start": p.bucket_start,
            "value": getattr(p, rule.series),
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
                    "signals": [
                        {k: s[k] for k in ("signal", "kind", "modality", "source", "target", "evidence")}
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


def deliver(store, url: str, alert: dict[str, Any], *, attempts: int | None = None,
            backoff_s: float | None = None, timeout_s: float | None = None) -> bool:  # fmt: skip
    """POST one alert as JSON, retrying 5xx, 429 and network errors with exponential back-off."""
    attempts = attempts or WEBHOOK_ATTEMPTS
    backoff_s = WEBHOOK_BACKOFF_S if backoff_s is None else backoff_s
    timeout_s = timeout_s or WEBHOOK_TIMEOUT_S
    body = json.dumps(payload(alert), ensure_ascii=False, default=str).encode()
    error = None
    for attempt in range(1, attempts + 1):
        try:
            r = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=timeout_s,
                           follow_redirects=False)  # fmt: skip
            if 200 <= r.status_code < 300:
                store.mark_alert_delivered(alert["id"], attempts=attempt, error=None)
                return True
            error = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                break  # the receiver refuses this payload: retrying will not help
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    log.warning("alert webhook failed", extra={"url": url, "error": error, "alert": alert["rule"]})
    store.mark_alert_delivered(alert["id"], attempts=attempts, error=error)
    return False


def check_and_notify(store, config: AlertConfig, *, now: datetime) -> list[dict[str, Any]]:
    fired = evaluate(store, config, now=now)
    for alert in fired:
        log.warning("alert fired", extra={"rule": alert["rule"], "alert": alert["message"]})
        if config.webhook:
            deliver(store, config.webhook, alert)
    return fired
