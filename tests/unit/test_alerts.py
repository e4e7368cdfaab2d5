"""Alert rules: validation with lines, firing with evidence, cool-down, webhook delivery
with retries against real local HTTP receivers (one that recovers, one that keeps failing)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline import alerts as alerts_mod
from pipeline.alerts import AlertConfig, AlertRule, check_and_notify, load_rules
from pipeline.cli import main
from pipeline.errors import ConfigError
from pipeline.history import import_csv
from pipeline.store import Store

DAY0 = datetime(2022, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Receiver:
    """A webhook receiver on 127.0.0.1 answering with the given statuses in turn."""

    def __init__(self, statuses: list[int]):
        self.statuses = statuses
        self.bodies: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(n)))
                status = outer.statuses[min(len(outer.bodies), len(outer.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(alerts_mod, "WEBHOOK_BACKOFF_S", 0.01)
    monkeypatch.setattr(alerts_mod, "WEBHOOK_TIMEOUT_S", 2.0)


@pytest.fixture
def store(tmp_path, db_url):
    rows = ["published_utc,source,title,url"]
    i = 0
    for day in range(12):
        for k in range(8):
            rows.append(f"{(DAY0 + timedelta(days=day, hours=k)).isoformat()},calm,Farmers market opens {day}-{k},")
            i += 1
        n_esc = 1 if day < 11 else 6  # the last day: a burst of escalation
        for k in range(n_esc):
            rows.append(
                f"{(DAY0 + timedelta(days=day, hours=9 + k)).isoformat()},wire{k},"
                f"Russian troops shell Ukrainian town on day {day} report {k} from the front,"
            )
    p = tmp_path / "h.csv"
    p.write_text("\n".join(rows) + "\n")
    s = Store.open(db_url)
    import_csv(s, p, now=NOW)
    yield s
    s.close()


LAST = DAY0 + timedelta(days=11, hours=20)
RULE = AlertRule("ukraine spike", "RUS-UKR", above=200, min_articles=5, cooldown_s=3600)


def test_fires_with_evidence_and_respects_cooldown(store):
    with Receiver([200]) as rx:
        fired = check_and_notify(store, AlertConfig((RULE,), rx.url), now=LAST)
        assert len(fired) == 1
        assert len(rx.bodies) == 1
    body = rx.bodies[0]
    assert body["rule"] == "ukraine spike" and body["theatre"] == "RUS-UKR" and body["value"] >= 200
    assert body["evidence"] and "shell" in body["evidence"][0]["title"]
    assert body["evidence"][0]["signals"][0]["signal"]
    stored = store.list_alerts()
    assert stored[0]["delivered_at"] is not None and stored[0]["delivery_attempts"] == 1
    # within the cool-down: nothing new
    assert check_and_notify(store, AlertConfig((RULE,), None), now=LAST + timedelta(minutes=30)) == []
    # after it: fires again
    assert len(check_and_notify(store, AlertConfig((RULE,), None), now=LAST + timedelta(hours=2))) == 1


def test_quiet_rule_does_not_fire(store):
    quiet = AlertRule("never", "RUS-UKR", above=10_000, min_articles=5)
    thin = AlertRule("thin data", "RUS-UKR", above=1, min_articles=1000)
    assert check_and_notify(store, AlertConfig((quiet, thin), None), now=LAST) == []
    assert store.list_alerts() == []


def test_webhook_retries_until_success(store):
    with Receiver([503, 500, 200]) as rx:
        check_and_notify(store, AlertConfig((RULE,), rx.url), now=LAST)
    assert len(rx.bodies) == 3
    a = store.list_alerts()[0]
    assert a["delivery_attempts"] == 3 and a["delivered_at"] is not None and a["delivery_error"] is None


def test_failing_webhook_is_recorded_not_raised(store):
    with Receiver([500]) as rx:
        fired = check_and_notify(store, AlertConfig((RULE,), rx.url), now=LAST)
    assert len(fired) == 1 and len(rx.bodies) == 3
    a = store.list_alerts()[0]
    assert a["delivered_at"] is None and a["delivery_error"] == "HTTP 500" and a["delivery_attempts"] == 3


def test_refused_webhook_is_not_retried(store):
    with Receiver([400]) as rx:
        check_and_notify(store, AlertConfig((RULE,), rx.url), now=LAST)
    assert len(rx.bodies) == 1
    assert store.list_alerts()[0]["delivery_error"] == "HTTP 400"


def test_rules_file_errors_have_lines(tmp_path):
    p = tmp_path / "alerts.yaml"
    p.write_text(
        "webhook: ftp://x\n"
        "rules:\n"
        "  - name: a\n"
        "    theatre: NARNIA\n"
        "    above: 5\n"
        "  - name: b\n"
        "    theatre: RUS-UKR\n"
        "    sries: index\n"
        "    cooldown: soon\n"
    )
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    msg = str(e.value)
    assert "alerts.yaml:1:1: webhook" in msg
    assert "alerts.yaml:4:5: rules[0].theatre" in msg
    assert "alerts.yaml:8:5: rules[1].sries: unknown key" in msg
    assert "rules[1].cooldown" in msg and "rules[1]: needs `above` or `zscore`" in msg


def test_rules_file_loads(tmp_path):
    p = tmp_path / "alerts.yaml"
    p.write_text("rules:\n  - name: spike\n    theatre: CHN-TWN\n    zscore: 3\n    cooldown: 6h\n")
    cfg = load_rules(p)
    assert cfg.rules == (AlertRule("spike", "CHN-TWN", zscore=3, cooldown_s=6 * 3600),)


def test_alerts_cli_lists_and_checks(tmp_path, store, capsys):
    url = store.url
    assert main(["alerts", "--db", url]) == 0
    assert "no alerts fired" in capsys.readouterr().out
    check_and_notify(store, AlertConfig((RULE,), None), now=LAST)
    assert main(["alerts", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "ukraine spike: RUS-UKR index" in out and "shell" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: 5\n")
    assert main(["alerts", "--check", "--alerts", str(bad), "--db", url]) == 2
