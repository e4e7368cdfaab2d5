"""The pure scheduling rules of the poller: adaptive interval, back-off, Retry-After, 410."""

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.poller import schedule
from pipeline.store import FeedState
from pipeline.types import FeedUpdate, Settings

NOW = datetime(2021, 12, 3, 12, 0, tzinfo=timezone.utc)
SETTINGS = Settings(max_backoff_s=6 * 3600)


def state(**kw):
    base = dict(
        id=1, url="http://a/rss", name="A", enabled=True, interval_s=900, tags=(), language=None,
        in_config=True, title=None, etag=None, last_modified=None, ttl_s=None, status="ok",
        disabled_reason=None, last_fetch_at=None, last_success_at=NOW - timedelta(hours=1),
        last_error_at=None, last_error=None, error_streak=0, next_due_at=None, retry_after_until=None,
        ill_formed=False, items_total=0, new_items_ewma=None,
    )  # fmt: skip
    base.update(kw)
    return FeedState(**base)


def upd(outcome, **kw):
    return FeedUpdate("http://a/rss", NOW, NOW, outcome, **kw)


def delay(sched):
    return (sched.next_due_at - NOW).total_seconds()


def test_success_uses_configured_interval_without_history():
    s = schedule(state(last_success_at=None), upd("ok"), 50, NOW, SETTINGS, random.Random(1))
    assert delay(s) == 900 and s.status == "ok"
    # the backlog of the first poll is not a posting rate
    assert s.new_items_ewma is None


def test_busy_feed_is_polled_more_often_but_not_below_a_quarter():
    st = state(new_items_ewma=20.0)
    s = schedule(st, upd("ok"), 20, NOW, SETTINGS, random.Random(1))
    assert delay(s) == 900 * 0.25


def test_quiet_feed_is_polled_less_often_up_to_four_times():
    st = state(new_items_ewma=0.01)
    s = schedule(st, upd("not_modified"), 0, NOW, SETTINGS, random.Random(1))
    assert delay(s) == 3600


def test_never_below_feed_ttl():
    st = state(new_items_ewma=20.0)
    s = schedule(st, upd("ok", ttl_s=1800), 20, NOW, SETTINGS, random.Random(1))
    assert delay(s) == 1800


def test_never_below_global_minimum():
    st = state(interval_s=60, new_items_ewma=50.0)
    assert delay(schedule(st, upd("ok"), 50, NOW, SETTINGS, random.Random(1))) == 60


def test_error_backs_off_exponentially_with_jitter_and_cap():
    delays = []
    st = state()
    for streak in range(12):
        s = schedule(replace(st, error_streak=streak), upd("error"), 0, NOW, SETTINGS, random.Random(streak))
        delays.append(delay(s))
        assert s.status == "error"
    assert 120 * 0.8 <= delays[0] <= 120 * 1.2
    assert 240 * 0.8 <= delays[1] <= 240 * 1.2
    assert all(d <= SETTINGS.max_backoff_s for d in delays)
    assert delays[-1] >= SETTINGS.max_backoff_s * 0.8
    # jitter: two feeds failing together do not retry at the same instant
    a = schedule(st, upd("error"), 0, NOW, SETTINGS, random.Random(1))
    b = schedule(st, upd("error"), 0, NOW, SETTINGS, random.Random(2))
    assert a.next_due_at != b.next_due_at


def test_retry_after_is_honoured():
    s = schedule(state(), upd("error", status=429, retry_after_s=3000), 0, NOW, SETTINGS, random.Random(1))
    assert delay(s) == pytest.approx(3000)


def test_gone_disables_with_visible_reason():
    s = schedule(state(), upd("gone", status=410), 0, NOW, SETTINGS, random.Random(1))
    assert s.status == "gone"
    assert "410" in s.disabled_reason and "feeds.yaml" in s.disabled_reason
