"""`run` bound beyond loopback: its poller refuses private destinations unless feeds.yaml
explicitly allows them (issue 13). A real `run` polls a feed served on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.errors import StoreError
from pipeline.store import Store
from tests.feedgen import make_rss
from tests.feedserver import FeedServer
from tests.integration.test_shutdown import free_port

pytestmark = [pytest.mark.xdist_group("shutdown"), pytest.mark.timeout(120)]


def poll_outcome(tmp_path, host: str, settings: str) -> tuple[int, str | None]:
    """Start `run --host HOST`, wait for its first poll of a loopback feed; (requests, error)."""
    with FeedServer() as srv:
        url = srv.route("/a.xml", make_rss("a", 3))
        cfg = tmp_path / "feeds.yaml"
        cfg.write_text(f"feeds:\n  - name: Local\n    url: {url}\n{settings}")
        db = f"sqlite:///{tmp_path}/ew.db"
        log = tmp_path / "run.log"
        args = [sys.executable, "-m", "pipeline", "run", "--config", str(cfg), "--db", db,
                "--host", host, "--port", str(free_port())]  # fmt: skip
        proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()
                try:
                    with Store.open(db, readonly=True) as s:
                        health = [h for h in s.feed_health() if h["url"] == url]
                except StoreError:  # not created, or not migrated yet
                    health = []
                if health and (health[0]["last_success_at"] or health[0]["last_error"]):
                    return srv.count("/a.xml"), health[0]["last_error"]
                time.sleep(0.3)
            raise AssertionError(f"no poll within 60 s:\n{log.read_text()}")
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def test_exposed_run_refuses_a_loopback_feed_by_default(tmp_path):
    requests, error = poll_outcome(tmp_path, "0.0.0.0", "")
    assert requests == 0
    assert error is not None and "destination denied" in error and "private" in error


def test_exposed_run_fetches_it_when_feeds_yaml_says_false(tmp_path):
    requests, error = poll_outcome(tmp_path, "0.0.0.0", "settings:\n  deny_private_networks: false\n")
    assert (requests, error) == (1, None)


def test_run_on_loopback_fetches_it_as_before(tmp_path):
    requests, error = poll_outcome(tmp_path, "127.0.0.1", "")
    assert (requests, error) == (1, None)
