"""Alert rules: validation with lines, firing with evidence, cool-down, webhook delivery
with retries against real local HTTP receivers (one that recovers, one that keeps failing),
and notifications through Apprise to a local JSON receiver and a local SMTP server, beside
a destination that fails."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline import alerts as alerts_mod
from pipeline import notify
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
        self.raw: list[tuple[str, dict[str, str], bytes]] = []  # path, headers, body
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers["Content-Length"])
                raw = self.rfile.read(n)
                outer.raw.append((self.path, dict(self.headers), raw))
                outer.bodies.append(json.loads(raw))
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    """A local SMTP server (aiosmtpd) keeping every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                outer.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                outer.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def url(self, to: str = "analyst@example.org") -> str:
        # mailto:// (not mailtos://) speaks plain SMTP: the local server has no TLS
        return f"mailto://127.0.0.1:{self.port}?from=alerts@example.org&to={to}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(alerts_mod, "WEBHOOK_BACKOFF_S", 0.01)
    monkeypatch.setattr(alerts_mod, "WEBHOOK_TIMEOUT_S", 2.0)
    monkeypatch.delenv(notify.ENV_WEBHOOK_SECRET, raising=False)


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


def test_alert_keeps_the_scorers_evidence(store):
    """The signals an alert stores (and its message quotes) carry the scorer's own matched
    words and sentence, though the store keeps only their offsets (issue 17)."""
    from pipeline.score import score_article

    fired = alerts_mod.evaluate(store, AlertConfig((RULE,)), now=LAST)
    assert len(fired) == 1
    for got in (fired[0]["evidence"], store.list_alerts()[0]["evidence"]):
        assert got
        for e in got:
            scored = score_article(e["title"], "", hint=None)  # history.import_csv: no summary, no language
            assert scored.signals
            assert sorted((s["signal"], s["evidence"], s["sentence"]) for s in e["signals"]) == sorted(
                (g.signal, g.evidence.text, g.evidence.sentence) for g in scored.signals
            )
    _, message = alerts_mod.render(fired[0])
    assert f"> {fired[0]['evidence'][0]['signals'][0]['sentence']}" in message


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


SECRET = "s3cret-webhook-key"


def test_fired_alert_reaches_smtp_json_and_signed_webhook_beside_a_failing_one(store, monkeypatch):
    monkeypatch.setenv(notify.ENV_WEBHOOK_SECRET, SECRET)
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"  # refused at once, on every attempt
    with Receiver([200]) as hook, Receiver([200]) as js, Smtp() as smtp:
        rule = AlertRule("ukraine spike", "RUS-UKR", above=200, min_articles=5,
                         notify=(dead, smtp.url(), f"json://127.0.0.1:{js.httpd.server_address[1]}/alerts"))  # fmt: skip
        cfg = AlertConfig((rule,), hook.url, base_url="https://watch.example.org/")
        fired = check_and_notify(store, cfg, now=LAST)
    assert len(fired) == 1
    # the webhook: signed, and the signature checks out on the raw body (and fails on a changed one)
    (path, headers, raw), = hook.raw
    assert headers[notify.SIGNATURE_HEADER].startswith("sha256=")
    assert notify.verify_signature(raw, headers, SECRET)
    assert not notify.verify_signature(raw.replace(b"RUS-UKR", b"CHN-TWN"), headers, SECRET)
    assert not notify.verify_signature(raw, headers, "another key")
    body = json.loads(raw)
    assert body["dashboard_url"] == ("https://watch.example.org/?theatre=RUS-UKR&period=custom&from=2021-12-30"
                                     "&to=2022-01-12&drill=RUS-UKR%402022-01-12")  # fmt: skip
    # the JSON receiver: Apprise's JSON POST with the message
    (path, _, raw), = js.raw
    msg = json.loads(raw)
    assert path == "/alerts" and msg["title"].startswith("ukraine spike: Russia")
    text = msg["message"]
    assert "value **" in text and "change " in text and "z-score" in text
    assert "Strongest stories:" in text and "shell" in text and "drill=RUS-UKR%402022-01-12" in text
    assert text.count("\n1. ") == 1 and text.count("\n2. ") == 1 and "\n3. " not in text
    # the e-mail
    assert smtp.envelopes == [("alerts@example.org", ["analyst@example.org"])]
    mail = smtp.messages[0]
    assert mail["Subject"].startswith("ukraine spike: Russia")
    assert "shell" in mail.get_body(("plain",)).get_content()
    # outcomes: one row per destination, masked; the dead one failed after its retries
    a = store.list_alerts()[0]
    rows = store.alert_deliveries(a["id"])
    assert [r["destination"] for r in rows] == [
        notify.mask_url(hook.url), notify.mask_url(dead), notify.mask_url(smtp.url()),
        f"json://127.0.0.1:{js.httpd.server_address[1]}/alerts",
    ]  # fmt: skip
    ok = [r["error"] is None and r["delivered_at"] is not None for r in rows]
    assert ok == [True, False, True, True]
    assert rows[1]["attempts"] == alerts_mod.WEBHOOK_ATTEMPTS and "Connection error" in rows[1]["error"]
    assert a["delivered_at"] is None and "nobody-listens" in a["delivery_error"]


def test_alerts_cli_shows_each_destinations_outcome(store, capsys):
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    with Receiver([200]) as js:
        ok = f"json://127.0.0.1:{js.httpd.server_address[1]}/alerts"
        rule = AlertRule("ukraine spike", "RUS-UKR", above=200, min_articles=5, notify=(ok, dead))
        check_and_notify(store, AlertConfig((rule,)), now=LAST)
    assert main(["alerts", "--db", store.url]) == 0
    out = capsys.readouterr().out
    assert f"-> {ok}: delivered" in out
    assert f"-> {dead}: failed after 3 attempts: A Connection error" in out


def test_unsigned_without_a_secret(store):
    with Receiver([200]) as hook:
        check_and_notify(store, AlertConfig((RULE,), hook.url), now=LAST)
    assert notify.SIGNATURE_HEADER not in hook.raw[0][1]


class Everything(logging.Handler):
    """Every record that reaches the root logger: what any log handler of ours would see."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.name} {record.getMessage()} {record.__dict__}")


def test_secrets_never_in_list_logs_or_store(tmp_path, store, capsys, monkeypatch):
    token = "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
    monkeypatch.setenv("TEST_BOT_TOKEN", token)
    port = free_port()
    p = tmp_path / "alerts.yaml"
    p.write_text(
        "webhook: https://hooks.example.org/services/T000/B000/XXXXSECRETXXXX\n"
        "rules:\n  - name: ukraine spike\n    theatre: RUS-UKR\n    above: 200\n    min_articles: 5\n"
        "    notify:\n      - tgram://${TEST_BOT_TOKEN}/12345\n"
        f"      - mailto://bob:hunter2pw@127.0.0.1:{port}?from=a@example.org&to=b@example.org\n"
    )
    root = logging.getLogger()
    everything = Everything()
    root.addHandler(everything)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        assert main(["alerts", "--alerts", str(p), "--db", store.url]) == 0
        out = capsys.readouterr().out
        assert "rule 'ukraine spike' (RUS-UKR index) -> https://hooks.example.org/services/****, tgram://1...8/12345" in out
        assert "mailto://bob:****@127.0.0.1" in out
        # a test message, with debug logs on: every destination fails here (no network, nobody
        # on the port), and neither the output nor any log line holds a secret
        assert main(["--debug", "alerts", "--test", "ukraine spike", "--alerts", str(p), "--db", store.url]) == 1
        # and a fired alert: its stored outcomes hold masked destinations and scrubbed errors
        check_and_notify(store, load_rules(p), now=LAST)
    finally:
        root.removeHandler(everything)
        root.setLevel(level)
    cap = capsys.readouterr()
    assert cap.out.count("FAILED") == 3 and "notification failed" in cap.err
    stored = json.dumps([store.list_alerts(), store.alert_deliveries(store.list_alerts()[0]["id"])], default=str)
    assert "tgram://1...8/12345" in stored
    logs = "\n".join(everything.lines)
    for secret in ("ABCdefGHIjklMNOpqrSTUvwxYZ012345678", "hunter2pw", "XXXXSECRETXXXX"):
        for where, text in (("stdout", cap.out), ("stderr", cap.err), ("logs", logs), ("store", stored)):
            assert secret not in text, where


def test_test_message_reaches_the_rules_destinations(tmp_path, store, capsys):
    with Receiver([200]) as js, Smtp() as smtp:
        p = tmp_path / "alerts.yaml"
        p.write_text(f"rules:\n  - name: spike\n    theatre: RUS-UKR\n    above: 99999\n    notify:\n"
                     f"      - json://127.0.0.1:{js.httpd.server_address[1]}/t\n      - {smtp.url()}\n")  # fmt: skip
        assert main(["alerts", "--test", "spike", "--alerts", str(p), "--db", store.url]) == 0
        assert main(["alerts", "--test", "nope", "--alerts", str(p), "--db", store.url]) == 2
    assert capsys.readouterr().out.count("sent  ") == 2
    assert js.bodies[0]["title"].startswith("[test] spike")
    assert smtp.messages[0]["Subject"].startswith("[test] spike")
    assert store.list_alerts() == []  # a test is not an alert


def test_bad_destinations_are_config_errors_with_lines(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    p = tmp_path / "alerts.yaml"
    p.write_text(
        "base_url: watch.example.org\n"
        "rules:\n  - name: a\n    theatre: RUS-UKR\n    above: 5\n"
        "    notify: [nosuch://x, 'tgram://${NOT_SET_ANYWHERE}/1', 'https://x.example/hook']\n"
        "brief:\n  at: '25:00'\n  timezone: Mars/Olympus\n"
    )
    with pytest.raises(ConfigError) as e:
        load_rules(p)
    msg = str(e.value)
    assert "alerts.yaml:1:1: base_url" in msg
    assert "alerts.yaml:6:5: rules[0].notify[0]: not a notification URL Apprise knows (scheme 'nosuch'" in msg
    assert "rules[0].notify[1]: environment variable $NOT_SET_ANYWHERE is not set" in msg
    assert "rules[0].notify[2]: an http(s) URL is a webhook" in msg
    assert "alerts.yaml:8:3: brief.at" in msg and "brief.timezone: unknown time zone" in msg
    assert "brief.notify: required" in msg


def test_rules_file_with_destinations_and_brief_loads(tmp_path):
    p = tmp_path / "alerts.yaml"
    p.write_text(
        "base_url: https://watch.example.org/\n"
        "brief:\n  at: '07:30'\n  timezone: Europe/Berlin\n  notify: [json://127.0.0.1:9/b]\n  format: html\n"
        "rules:\n  - name: spike\n    theatre: CHN-TWN\n    zscore: 3\n    notify: ntfy://ntfy.sh/topic\n"
    )
    cfg = load_rules(p)
    assert cfg.base_url == "https://watch.example.org"
    assert cfg.rules[0].notify == ("ntfy://ntfy.sh/topic",)
    assert cfg.brief.at.hour == 7 and cfg.brief.at.minute == 30 and cfg.brief.timezone == "Europe/Berlin"
    assert cfg.brief.notify == ("json://127.0.0.1:9/b",) and cfg.brief.format == "html"


def test_readme_alerts_example_loads(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("# alerts.yaml, beside")
    p = tmp_path / "alerts.yaml"
    p.write_text(readme[start : readme.index("```", start)])
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ012345678")
    monkeypatch.setenv("SLACK_TOKENS", "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ")
    monkeypatch.setenv("SMTP_USER", "desk")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    cfg = load_rules(p)
    assert len(cfg.rules[0].notify) == 2 and cfg.webhook and cfg.base_url
    assert cfg.brief.timezone == "Europe/Berlin" and len(cfg.brief.notify) == 2
