"""Malformed feeds.yaml through the real CLI: line-precise messages, exit 2, the file untouched;
and concurrent edits (the edit API + a text editor's save) never leave a half-written file.

tests/unit/test_config.py covers the validator and the edit API on their own;
these are the end-to-end proofs through `escalation-watch validate` and `poll`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline import config
from pipeline.errors import ConfigError
from tests.feedgen import make_rss

pytestmark = pytest.mark.timeout(90)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=timeout)


def check_refused(path: Path, tmp_path: Path, *expected: str, commands=("validate", "poll")) -> str:
    """`validate` and `poll --once` both exit 2 with every expected `file:line:col: field: message`
    line, no traceback; the file is byte-identical and not even re-saved; no database is created."""
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    db = tmp_path / "never.db"
    every = {"validate": ["validate"], "poll": ["poll", "--once", "--db", f"sqlite:///{db}"]}
    for args in (every[c] for c in commands):
        r = cli(*args, "--config", str(path))
        assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""
        for line in expected:
            assert line in r.stderr, f"{line!r} not in:\n{r.stderr}"
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert not db.exists()
    return r.stderr


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: A\n    url: https://a.example/rss\n  - name: [B\n    url: https://b.example/\n")
    err = check_refused(path, tmp_path, "feeds.yaml:")
    assert re.search(r"feeds\.yaml:[45]:\d+: ", err), err


def test_wrong_types_are_each_reported_on_their_line(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - name: A\n"
        "    url: https://a.example/rss\n"
        "    interval: soon\n"  # 4
        "    enabled: maybe\n"  # 5
        "  - name: B\n"
        "    url: 42\n"  # 7
        "    tags: 5\n"  # 8
        "settings:\n"
        "  timeout_s: fast\n"  # 10
        "  max_bytes: -1\n"  # 11
    )
    err = check_refused(
        path, tmp_path,
        "feeds.yaml:4:15: feeds[0].interval:",
        "feeds.yaml:5:14: feeds[0].enabled:",
        "feeds.yaml:7:10: feeds[1].url:",
        "feeds.yaml:8:11: feeds[1].tags:",
        "feeds.yaml:10:14: settings.timeout_s:",
        "feeds.yaml:11:14: settings.max_bytes:",
    )  # fmt: skip
    lines = [int(m) for m in re.findall(r"feeds\.yaml:(\d+):", err)]
    assert lines == sorted(lines), "problems are listed in file order"


def test_unknown_keys_get_a_suggestion(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: A\n    url: https://a.example/rss\n    intervl: 300\nsetings:\n  timeout_s: 5\n")
    check_refused(path, tmp_path, "feeds.yaml:4:5: feeds[0].intervl:", "interval", "feeds.yaml:5:1: setings:", "settings")


def test_duplicate_feeds_name_both_lines(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - name: A\n    url: https://a.example/rss\n"
        "  - name: B\n    url: https://b.example/\n"
        "  - name: A again\n    url: HTTPS://A.example:443/rss\n"  # the same feed, spelled differently
    )
    err = check_refused(path, tmp_path, "feeds.yaml:7:10: feeds[2].url:")
    assert re.search(r"line 3|feeds\[0\]", err), err


def _many_feeds(n: int, bad_at: int | None = None) -> str:
    lines = ["# ten thousand feeds", "feeds:"]
    for i in range(n):
        lines += [f"  - name: Feed {i}", f"    url: https://n{i}.example/rss"]
        lines.append(f"    interval: {'5' if i == bad_at else '15m'}")
    return "\n".join(lines) + "\n"


def test_ten_thousand_feeds_validate_quickly_and_an_error_deep_inside_is_line_precise(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(_many_feeds(10_000))
    started = time.monotonic()
    r = cli("validate", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert "10000 feeds" in r.stdout.replace(",", "")
    assert time.monotonic() - started < 15
    bad = 9_876
    path.write_text(_many_feeds(10_000, bad_at=bad))
    line = 2 + bad * 3 + 3  # comment, "feeds:", three lines per earlier feed, then name/url/interval
    check_refused(
        path, tmp_path, f"feeds.yaml:{line}:15: feeds[{bad}].interval: must be at least 60 seconds (got 5)",
        commands=("validate",),
    )


@pytest.mark.timeout(120)
def test_concurrent_edit_api_and_editor_saves_never_leave_a_half_written_file(tmp_path, feed_server):
    """The edit API (the dashboard's) and a text editor's atomic save race on one
    file while the poller runs and a reader loads it in a loop: every read is a
    whole, valid file; the poller never sees a broken one."""
    url = feed_server.route("/a.xml", make_rss("a", 3))
    path = tmp_path / "feeds.yaml"
    # a big file makes a torn write likely to be seen, if there is one
    filler = "".join(f"  - name: Filler {i}\n    url: https://f{i}.example/rss\n    enabled: false\n" for i in range(300))
    path.write_text(f"# comments stay\nfeeds:\n  - name: A\n    url: {url}\n{filler}")
    db = tmp_path / "ew.db"
    poller = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "poll", "--config", str(path), "--db", f"sqlite:///{db}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    err_lines: list[str] = []
    err_reader = threading.Thread(target=lambda: err_lines.extend(iter(poller.stderr.readline, "")), daemon=True)
    err_reader.start()
    stop = threading.Event()
    torn: list[str] = []
    loads = [0]
    api_errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                config.load(path)
                loads[0] += 1
            except ConfigError as e:
                torn.append(str(e)[:300])

    def api() -> None:
        for i in range(10):
            try:
                config.add_feed(path, {"name": f"API {i}", "url": f"https://api{i}.example/rss"})
            except ConfigError as e:  # "changed on disk while being edited" is the documented outcome
                if "changed on disk" not in str(e):
                    api_errors.append(e)
            except BaseException as e:  # pragma: no cover - reported below
                api_errors.append(e)

    def editor() -> None:
        # a text editor's save: write the whole buffer to a temp file, rename it over
        for i in range(10):
            text = path.read_text(encoding="utf-8")
            text += f"  - name: Editor {i}\n    url: https://editor{i}.example/rss\n"
            tmp = path.with_name(f".feeds.yaml.swp{i}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            time.sleep(0.02)

    threads = [threading.Thread(target=reader)]
    workers = [threading.Thread(target=api), threading.Thread(target=editor)]
    try:
        for t in threads + workers:
            t.start()
        for t in workers:
            t.join(60)
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        time.sleep(6)  # one more poller tick (5 s): it reloads the final file
        # ... or a few more on a loaded machine: wait for its log line, not for the clock
        deadline = time.monotonic() + 30
        while not any("feeds.yaml reloaded" in line for line in err_lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        poller.send_signal(signal.SIGTERM)
        poller.wait(timeout=30)
        err_reader.join(10)
        err = "".join(err_lines)
    assert api_errors == [], api_errors
    assert torn == [], torn[:3]
    assert loads[0] > 20
    final = config.load(path)
    assert any(f.name.startswith("Editor") for f in final.feeds)
    assert not list(tmp_path.glob(".feeds.yaml.*.tmp")), "the edit API left a temp file"
    assert poller.returncode == 0, err[-2000:]
    assert "feeds.yaml has errors" not in err
    assert "feeds.yaml reloaded" in err
