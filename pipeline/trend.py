"""The risk index per theatre: threats vs acts, de-escalation, baselines, z-scores.

In the spirit of the Caldara–Iacoviello GPR index, a point is the **share** of
the news that carries escalation, not a count, so adding feeds does not add
risk; it is then normalised against the theatre's own trailing baseline.

For a theatre T and a time bucket b (a UTC day or hour):

* every scored article with signals contributes an *intensity*
  ``e = 1 - exp(-Σ escalation weights / score_scale)`` in [0, 1) — the same
  saturating map as the article score, so one article with ten signals does not
  count as ten articles; ``e`` splits into threats and acts in proportion to
  their weights; de-escalation has its own intensity ``d`` the same way;
* near-duplicate articles (the same wire story in many outlets) form one
  *story*; a story counts once, at the intensity of its strongest article, in
  the bucket where it first appeared;
* ``share(T, b) = Σ story intensities / all articles stored in b`` (every
  theatre, every source: the volume of news that *could* have carried risk),
  counting only articles in a language the taxonomy reads (an unscored
  article never lowers anyone's risk) and leaving out a language that never
  reports on T while others do (a Russian feed moves no theatre that only
  English news covers); ``language_series`` keeps the same sums per language,
  so each language's coverage has an index of its own;
* ``index(T, b) = 100 · share(T, b) / baseline(T)``, where the baseline is the
  mean daily share of T over the previous ``BASELINE_DAYS`` days (during the
  first ``BASELINE_MIN_DAYS`` days of data: the mean of those days; never below
  ``BASELINE_FLOOR``);
  threats + acts = index; de-escalation is normalised by its own baseline;
* ``zscore`` compares the index with its mean and standard deviation over the
  previous ``ZSCORE_WINDOW`` buckets; ``index_ewma`` smooths with span
  ``EWMA_SPAN``;
* a bucket with fewer than ``MIN_VOLUME`` articles overall, or fewer than
  ``REL_MIN_VOLUME`` of the median volume of the buckets before it, has no index
  (None), so a data gap is never mistaken for calm and a day that has just begun
  is not mistaken for a spike; its article count is reported.

The numbers are maintained incrementally as articles are stored (see
``pipeline/store/aggregates.py``); this module only reads the per-bucket sums
and does the arithmetic, so a trend query never scans articles.

Owns: the formula (this docstring, :func:`compute_series`, the baselines), the
index read through the store (:func:`index_series`, :func:`kpis`) and what
drives it. Must not touch: SQL (store verbs only), the scorer. Near-duplicate
stories are in :mod:`pipeline.stories`, the per-language series keys in
:mod:`pipeline.trend_languages`; both are re-exported here.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .signals import load_lexicon, load_watchlist

# re-exported: the store, the poller and the tests use them as trend.<name>
from .stories import (
    STORY_MAX_DISTANCE,
    STORY_WINDOW,
    _WORD,
    band_keys,
    hamming,
    simhash,
    story_text,
    to_signed64,
    to_unsigned64,
)
from .trend_languages import (
    ALL,
    BASE_LANGUAGE,
    LANGUAGE_SEP,
    _language_keys,
    _silent_languages,
    _trend_rows,
    _volume,
    _with_base_volume,
    language_series,
    stored_language,
)

#: trailing window of the index baseline (days)
BASELINE_DAYS = 365
#: history needed before the trailing baseline is used (burn-in, see _baseline)
BASELINE_MIN_DAYS = 7
#: smallest baseline share (0.1 % of articles): a silent theatre's first story is big, not infinite
BASELINE_FLOOR = 0.001
#: trailing window of the z-score (buckets: days for daily, hours for hourly)
ZSCORE_WINDOW = {"day": 28, "hour": 7 * 24}
#: fewer buckets of history than this: no z-score yet
ZSCORE_MIN = {"day": 7, "hour": 24}
EWMA_SPAN = {"day": 7, "hour": 24}
#: below this many articles in a bucket (all sources) the index is not computed
MIN_VOLUME = {"day": 5, "hour": 2}
#: ... or fewer than this share of the median volume of the previous buckets (z-score window):
#: a day that has just begun, or a feed outage, is not read as calm or as a spike
REL_MIN_VOLUME = 0.25
GRANULARITIES = ("day", "hour")


@dataclass(frozen=True, slots=True)
class TrendPoint:
    theatre: str
    bucket_start: datetime
    granularity: str
    index: float | None
    threats: float | None
    acts: float | None
    deescalation: float | None
    index_ewma: float | None
    zscore: float | None
    #: all articles stored in the bucket (every theatre): the volume behind the point
    articles: int
    #: stories of this theatre that first appeared in the bucket
    stories: int
    #: articles of this theatre in the bucket
    theatre_articles: int = 0


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one scored article adds to its theatre's buckets."""

    intensity: float
    threats: float
    acts: float
    deescalation: float
    #: signal category -> (count, weight) of the signals that count
    categories: dict[str, tuple[int, float]]

    @property
    def carries_signal(self) -> bool:
        return self.intensity > 0 or self.deescalation > 0


def contribution(signals: Iterable[tuple[str, str, str, float]], score_scale: float | None = None) -> Contribution:
    """Intensity of one article from its signals ``(signal, direction, kind, weight)``.

    Negated and denied signals carry weight 0 and add nothing.
    """
    scale = score_scale or load_lexicon().score_scale
    threat_w = act_w = deesc_w = 0.0
    cats: dict[str, tuple[int, float]] = {}
    for signal, direction, kind, weight in signals:
        w = abs(weight)
        if w == 0:
            continue
        if direction == "escalation" and weight > 0:
            if kind == "threat":
                threat_w += w
            else:
                act_w += w
        elif direction == "de-escalation":
            deesc_w += w
        else:
            continue
        n, total = cats.get(signal, (0, 0.0))
        cats[signal] = (n + 1, total + w)
    esc_w = threat_w + act_w
    e = 1.0 - math.exp(-esc_w / scale) if esc_w > 0 else 0.0
    d = 1.0 - math.exp(-deesc_w / scale) if deesc_w > 0 else 0.0
    threats = e * threat_w / esc_w if esc_w else 0.0
    return Contribution(e, threats, e - threats, d, cats)


# -- buckets ---------------------------------------------------------------------


def bucket_start(when: datetime, granularity: str) -> datetime:
    when = when.astimezone(timezone.utc)
    if granularity == "day":
        return when.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")


_bucket_of = bucket_start  # for functions whose parameter is called bucket_start


def _step(granularity: str) -> timedelta:
    return timedelta(days=1) if granularity == "day" else timedelta(hours=1)


# -- the index arithmetic (pure) --------------------------------------------------



def compute_series(
    theatre: str,
    granularity: str,
    rows: Sequence[dict[str, Any]],
    volume: dict[datetime, int],
    *,
    baseline_rows: Sequence[dict[str, Any]] | None = None,
    baseline_volume: dict[datetime, int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    base_period: tuple[datetime, datetime] | None = None,
) -> list[TrendPoint]:
    """Index points from per-bucket sums.

    ``base_period``: normalise against the mean daily share of that fixed period
    (GPR's way: a crisis that lasts stays high) instead of the trailing 365 days
    (a crisis that lasts becomes its own baseline).

    ``rows``: per bucket of this theatre ``{bucket_start, articles, stories,
    escalation, threats, acts, deescalation}``; ``volume``: all articles per
    bucket. The baseline comes from the daily sums (``baseline_rows`` /
    ``baseline_volume``; for a daily series the rows themselves). Every bucket
    with volume in [since, until] gets a point, also when the theatre had
    nothing in it (a calm day is 0, not missing).
    """
    by_bucket = {r["bucket_start"]: r for r in rows}
    if baseline_rows is None:
        baseline_rows, baseline_volume = rows, volume
    assert baseline_volume is not None
    daily_shares = _daily_shares(baseline_rows, baseline_volume)
    baseline: _Baseline | _FixedBaseline
    baseline = _Baseline(daily_shares) if base_period is None else _FixedBaseline(daily_shares, base_period)
    buckets = sorted(b for b in volume if (since is None or b >= since) and (until is None or b <= until))
    # history before `since` still feeds the z-score and EWMA
    history = sorted(b for b in volume if since is not None and b < since)
    lookback = history[-ZSCORE_WINDOW[granularity] :]
    points: list[TrendPoint] = []
    smoothing = _Smoothing(granularity)
    recent_volumes: list[int] = []
    for b in lookback + buckets:
        vol = volume.get(b, 0)
        r = by_bucket.get(b)
        base_esc, base_de = baseline.at(bucket_start(b, "day"))
        # thin buckets (a gap in the data, a day that has just begun) have no index
        min_vol = _min_volume(granularity, recent_volumes)
        if vol > 0:
            recent_volumes.append(vol)
        if vol < min_vol or base_esc is None:
            index = threats = acts = deesc = z = None
        else:
            index, threats, acts, deesc = _bucket_index(r, vol, base_esc, base_de)
            z = smoothing.add(index)
        if b in lookback:
            continue
        points.append(
            TrendPoint(
                theatre=theatre,
                bucket_start=b,
                granularity=granularity,
                index=_round(index),
                threats=_round(threats),
                acts=_round(acts),
                deescalation=_round(deesc),
                index_ewma=_round(smoothing.ewma) if index is not None else None,
                zscore=_round(z, 3),
                articles=vol,
                stories=int(r["stories"]) if r else 0,
                theatre_articles=int(r["articles"]) if r else 0,
            )
        )
    return points


def _min_volume(granularity: str, recent_volumes: list[int]) -> float:
    """The fewest articles a bucket needs for an index: ``MIN_VOLUME``, or ``REL_MIN_VOLUME``
    of the median of the non-empty buckets before it (over the z-score window)."""
    window = recent_volumes[-ZSCORE_WINDOW[granularity] :]
    return max(MIN_VOLUME[granularity], REL_MIN_VOLUME * statistics.median(window) if window else 0)


def _bucket_index(
    r: dict[str, Any] | None, vol: int, base_esc: float, base_de: float | None
) -> tuple[float, float, float, float]:
    """(index, threats, acts, de-escalation) of one bucket of ``vol`` articles with the
    theatre's sums ``r`` (None: nothing on the theatre, a calm bucket)."""
    esc = (r["escalation"] if r else 0.0) / vol
    index = 100.0 * esc / base_esc
    if r and r["escalation"] > 0:
        threats = index * r["threats"] / r["escalation"]
        acts = index - threats
    else:
        threats, acts = 0.0, 0.0
    de = (r["deescalation"] if r else 0.0) / vol
    deesc = 100.0 * de / base_de
    return index, threats, acts, deesc


class _Smoothing:
    """The z-score and EWMA of one series, fed its index bucket by bucket (oldest first)."""

    def __init__(self, granularity: str):
        self.window = ZSCORE_WINDOW[granularity]
        self.min_history = ZSCORE_MIN[granularity]
        self.alpha = 2.0 / (EWMA_SPAN[granularity] + 1)
        self.history: list[float] = []
        self.ewma: float | None = None

    def add(self, index: float) -> float | None:
        """Take the next index; its z-score against the window before it (None: too little history)."""
        z = None
        window = self.history[-self.window :]
        if len(window) >= self.min_history:
            mean = sum(window) / len(window)
            sd = math.sqrt(sum((x - mean) ** 2 for x in window) / (len(window) - 1))
            z = (index - mean) / sd if sd > 1e-9 else 0.0
        self.ewma = index if self.ewma is None else self.alpha * index + (1 - self.alpha) * self.ewma
        self.history.append(index)
        return z


def _round(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def _daily_shares(rows: Sequence[dict[str, Any]], volume: dict[datetime, int]) -> list[tuple[datetime, float, float]]:
    by_day = {r["bucket_start"]: r for r in rows}
    out = []
    for day in sorted(volume):
        vol = volume[day]
        if vol < MIN_VOLUME["day"]:
            continue  # a gap says nothing about the normal level
        r = by_day.get(day)
        out.append((day, (r["escalation"] if r else 0.0) / vol, (r["deescalation"] if r else 0.0) / vol))
    return out


class _Baseline:
    """Mean daily shares over the BASELINE_DAYS before a day, from prefix sums (O(log n) a day).

    While fewer than BASELINE_MIN_DAYS days of history exist, the baseline is the
    mean of the first BASELINE_MIN_DAYS days with data (a burn-in: one quiet or
    loud first day must not set the scale for everything after it). The floor
    keeps a theatre that was silent for a year from dividing by zero.
    """

    def __init__(self, daily: list[tuple[datetime, float, float]]):
        self.days = [t for t, _, _ in daily]
        self.esc = [0.0]
        self.de = [0.0]
        for _, e, d in daily:
            self.esc.append(self.esc[-1] + e)
            self.de.append(self.de[-1] + d)

    def at(self, day: datetime) -> tuple[float | None, float | None]:
        if not self.days:
            return None, None
        lo = bisect_left(self.days, day - timedelta(days=BASELINE_DAYS))
        hi = bisect_left(self.days, day)  # days before `day`
        if hi - lo < BASELINE_MIN_DAYS:
            lo, hi = 0, min(BASELINE_MIN_DAYS, len(self.days))
        n = hi - lo
        esc = (self.esc[hi] - self.esc[lo]) / n
        de = (self.de[hi] - self.de[lo]) / n
        return max(esc, BASELINE_FLOOR), max(de, BASELINE_FLOOR)


class _FixedBaseline:
    """The mean daily shares of one fixed period, the same for every day (floored)."""

    def __init__(self, daily: list[tuple[datetime, float, float]], period: tuple[datetime, datetime]):
        lo, hi = period
        inside = [(e, d) for t, e, d in daily if lo <= t <= hi]
        if inside:
            self.value: tuple[float | None, float | None] = (
                max(sum(e for e, _ in inside) / len(inside), BASELINE_FLOOR),
                max(sum(d for _, d in inside) / len(inside), BASELINE_FLOOR),
            )
        else:
            self.value = (None, None)  # no data in the base period: no index, never a made-up scale

    def at(self, day: datetime) -> tuple[float | None, float | None]:
        return self.value


# -- reading through the store ------------------------------------------------------


@functools.cache
def _watchlist() -> dict[str, Any]:
    # the watchlist file alone: readers (the dashboard) need not compile the whole lexicon
    return load_watchlist()


def watched_theatres() -> list[dict[str, str]]:
    """The watchlist theatres in display order, then "other"."""
    wl = _watchlist()
    out = [{"id": t.id, "label": t.name} for t in wl["theatres"]]
    out.append({"id": wl["default"], "label": "Other"})
    return out


def index_series(
    store,
    *,
    theatre: str | None = None,
    granularity: str = "day",
    since: datetime | None = None,
    until: datetime | None = None,
    base_period: tuple[datetime, datetime] | None = None,
    language: str | None = None,
) -> list[TrendPoint]:
    """The index of one theatre (or every watched theatre when None), oldest first.

    ``base_period``: a fixed base (see :func:`compute_series`); None is the trailing one.
    ``language``: the index of the articles in that language alone, against their own
    volume and baseline (points keep the theatre's id)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    theatres = [theatre] if theatre else [t["id"] for t in watched_theatres()]
    if language is not None:
        keyed = {language_series(t, language): t for t in theatres}
        points = _index_series(store, list(keyed), language_series(ALL, language), granularity, since, until,
                               base_period)  # fmt: skip
        return [dataclasses.replace(p, theatre=keyed[p.theatre]) for p in points]
    return _index_series(store, theatres, ALL, granularity, since, until, base_period)


def _index_series(
    store, theatres: list[str], all_key: str, granularity: str, since: datetime | None, until: datetime | None,
    base_period: tuple[datetime, datetime] | None,
) -> list[TrendPoint]:
    """:func:`index_series` over trend_buckets keys: ``theatres`` and the volume row ``all_key``.

    Over all languages (``all_key`` is ALL) a theatre's volume leaves out the
    languages that never report on it while others do (:func:`_silent_languages`):
    a Russian feed added beside English ones moves no theatre that only English
    news covers."""
    by_language = all_key == ALL
    lang_keys = _language_keys(theatres) if by_language else []
    # baseline and z-score need history before `since`
    hist_since = None if since is None else since - timedelta(days=BASELINE_DAYS)
    if base_period is not None and hist_since is not None:
        hist_since = min(hist_since, base_period[0])
    daily = _trend_rows(store, "day", theatres + [all_key] + lang_keys, hist_since, until)
    silent = {t: _silent_languages(daily, t) for t in theatres} if by_language else {}
    _with_base_volume(daily, silent.values())
    day_volume = {r["bucket_start"]: r["articles"] for r in daily.get(all_key, [])}
    out: list[TrendPoint] = []
    if granularity == "day":
        for t in theatres:
            out += compute_series(t, "day", daily.get(t, []), _volume(day_volume, daily, silent.get(t)),
                                  since=since, until=until, base_period=base_period)  # fmt: skip
        return out
    hour_since = None if since is None else since - timedelta(hours=ZSCORE_WINDOW["hour"])
    silent_keys = sorted({language_series(ALL, lang) for langs in silent.values() for lang in langs})
    hourly = _trend_rows(store, "hour", theatres + [all_key] + silent_keys, hour_since, until)
    hour_volume = {r["bucket_start"]: r["articles"] for r in hourly.get(all_key, [])}
    for t in theatres:
        out += compute_series(
            t, "hour", hourly.get(t, []), _volume(hour_volume, hourly, silent.get(t)),
            baseline_rows=daily.get(t, []), baseline_volume=_volume(day_volume, daily, silent.get(t)),
            since=since, until=until, base_period=base_period,
        )  # fmt: skip
    return out



def explain_point(
    store, *, theatre: str, bucket_start: datetime, granularity: str = "day", limit: int = 20
) -> list[dict[str, Any]]:
    """The articles and signals behind one point: strongest first, one article per story."""
    start = _bucket_of(bucket_start, granularity)
    return store.explain_bucket(theatre, start, start + _step(granularity), limit=limit)


#: "Driving now" looks at the stories that first appeared in this many hours before now
DRIVING_HOURS = 24


def strongest_signal(signals: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The escalation signal that weighs most (weight 0: negated, denied or judged not
    geopolitical, never counts); de-escalation only when there is no escalation."""
    counted = [s for s in signals if (s.get("weight") or 0) > 0]
    esc = [s for s in counted if s.get("direction") == "escalation"]
    pool = esc or counted
    return max(pool, key=lambda s: (s["weight"], -(s.get("span_start") or 0))) if pool else None


def driving_now(
    store, *, now: datetime, theatre: str | None = None, limit: int = 5, hours: int = DRIVING_HOURS
) -> list[dict[str, Any]]:
    """The stories of the last ``hours`` that add most to the index, one row per story (a
    syndicated story is one row, with its ``outlets``), each with its ``strongest`` signal."""
    theatres = [theatre] if theatre else [t["id"] for t in watched_theatres()]
    rows = store.driving_stories(theatres, now - timedelta(hours=hours), now, limit=limit)
    for r in rows:
        r["strongest"] = strongest_signal(r["signals"])
    return rows


def signal_changes(
    store, *, now: datetime, theatre: str | None = None, hours: int = DRIVING_HOURS
) -> tuple[list[str], list[str]]:
    """(signals seen in the last ``hours`` but not in the ``hours`` before, signals seen then
    but not now), strongest first, from the hourly category aggregates."""
    at = bucket_start(now, "hour")
    lo = at - timedelta(hours=2 * hours - 1)
    cut = at - timedelta(hours=hours - 1)
    now_w: dict[str, float] = defaultdict(float)
    before_w: dict[str, float] = defaultdict(float)
    for r in store.category_rows("hour", theatre=theatre, since=lo):
        if r["bucket_start"] > at or not (r["weight"] or 0) > 0:
            continue
        (now_w if r["bucket_start"] >= cut else before_w)[r["signal"]] += r["weight"]
    new = sorted((s for s in now_w if s not in before_w), key=lambda s: -now_w[s])
    stopped = sorted((s for s in before_w if s not in now_w), key=lambda s: -before_w[s])
    return new, stopped


def category_series(
    store, *, theatre: str | None = None, granularity: str = "day", since: datetime | None = None
) -> list[dict[str, Any]]:
    return store.category_rows(granularity, theatre=theatre, since=since)


def source_volume(
    store, *, granularity: str = "day", since: datetime | None = None, top: int | None = None
) -> list[dict[str, Any]]:
    """Articles per source and day (``top``: the biggest sources by name, the rest as one)."""
    return store.source_volume_rows(since=since, top=top)


def rolling_index(
    hourly: dict[str, list[dict[str, Any]]], theatre: str, baseline: _Baseline, at: datetime, hours: int = 24,
    silent: Sequence[str] = (),
) -> tuple[float | None, int]:
    """The index over the ``hours`` before ``at`` (hourly sums), against the daily baseline.

    A calendar day that has just begun holds a handful of articles and swings
    wildly; a trailing 24-hour window always holds a day's worth of news.
    ``silent``: languages left out of the volume (see :func:`_silent_languages`).
    """
    lo = at - timedelta(hours=hours)
    vol = sum(r["articles"] for r in hourly.get(ALL, ()) if lo < r["bucket_start"] <= at)
    for lang in silent:
        vol -= sum(r["articles"] for r in hourly.get(language_series(ALL, lang), ()) if lo < r["bucket_start"] <= at)
    esc = sum(r["escalation"] for r in hourly.get(theatre, ()) if lo < r["bucket_start"] <= at)
    base, _ = baseline.at(bucket_start(at, "day"))
    if vol < MIN_VOLUME["day"] or base is None:
        return None, vol
    return round(100.0 * esc / vol / base, 2), vol


def kpis(store, *, now: datetime) -> list[dict[str, Any]]:
    """Per watched theatre: the index over the last 24 hours, its change against the 24 hours
    before and a week before, its z-score against the previous 28 days, and the alert state."""
    at = bucket_start(now, "hour")
    theatres = [t["id"] for t in watched_theatres()]
    keys = theatres + [ALL] + _language_keys(theatres)
    daily = _trend_rows(store, "day", keys, at - timedelta(days=BASELINE_DAYS + 30), at)
    all_volume = {r["bucket_start"]: r["articles"] for r in daily.get(ALL, [])}
    hourly = _trend_rows(store, "hour", keys, at - timedelta(days=8, hours=1), at)
    alerts = {a["theatre"]: a for a in store.recent_alerts(since=now - timedelta(hours=24))}
    silences = {t: _silent_languages(daily, t) for t in theatres}
    _with_base_volume(daily, silences.values())
    _with_base_volume(hourly, silences.values())
    out = []
    for t in watched_theatres():
        silent = silences[t["id"]]
        day_volume = _volume(all_volume, daily, silent)
        baseline = _Baseline(_daily_shares(daily.get(t["id"], []), day_volume))
        cur, vol = rolling_index(hourly, t["id"], baseline, at, silent=silent)
        day_before, _ = rolling_index(hourly, t["id"], baseline, at - timedelta(hours=24), silent=silent)
        week_before, _ = rolling_index(hourly, t["id"], baseline, at - timedelta(days=7), silent=silent)
        history = [
            p.index
            for p in compute_series(t["id"], "day", daily.get(t["id"], []), day_volume,
                                    since=at - timedelta(days=ZSCORE_WINDOW["day"] + 1), until=at - timedelta(days=1))
            if p.index is not None
        ]  # fmt: skip
        z = None
        if cur is not None and len(history) >= ZSCORE_MIN["day"]:
            mean = sum(history) / len(history)
            sd = math.sqrt(sum((x - mean) ** 2 for x in history) / (len(history) - 1))
            z = round((cur - mean) / sd, 3) if sd > 1e-9 else 0.0
        alert = alerts.get(t["id"])
        out.append(
            {
                "theatre": t["id"],
                "label": t["label"],
                "index": cur,
                "zscore": z,
                "as_of": at,
                "articles_24h": vol,
                "change_24h": None if cur is None or day_before is None else round(cur - day_before, 2),
                "change_7d": None if cur is None or week_before is None else round(cur - week_before, 2),
                "alert": alert["message"] if alert else None,
            }
        )
    return out
