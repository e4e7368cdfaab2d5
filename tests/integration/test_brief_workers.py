"""The daily brief goes out once per period when several workers on one PostgreSQL
database reach it at the same moment: real processes, each with its own store, all
checking the schedule at once and again (as after every poll cycle), and a restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.storedata import build_store
from tests.unit.test_alerts import Receiver

pytestmark = [pytest.mark.postgresql, pytest.mark.timeout(120)]

WORKER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, time as dtime, timedelta, timezone
    from pipeline import brief
    from pipeline.alerts import AlertConfig, BriefSchedule
    from pipeline.store import Store

    db, url, start, name, day = sys.argv[1:6]
    cfg = AlertConfig((), brief=BriefSchedule(dtime(7, 0), "Europe/Berlin", (url,)))
    now = datetime.fromisoformat(day)
    with Store.open(db) as store:
        while time.time() < float(start):  # every worker checks at the same instant
            pass
        sent = 0
        for cycle in range(5):  # and again after each of its next cycles
            sent += brief.run_scheduled(store, cfg, now=now + timedelta(minutes=cycle), worker=name) is not None
    print(sent)
    """
)


def run_workers(db: str, url: str, day: str, n: int, tmp_path: Path) -> list[int]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    start = time.time() + 4  # time for every interpreter to import and connect first
    procs = [subprocess.Popen([sys.executable, str(script), db, url, str(start), f"w{i}", day],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
             for i in range(n)]  # fmt: skip
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=90)
        assert p.returncode == 0, stderr
        out.append(int(stdout.strip().splitlines()[-1]))
    return out


def test_two_workers_send_the_days_brief_once(pg_url, tmp_path):
    build_store(pg_url)
    with Receiver([200]) as js:
        url = f"json://127.0.0.1:{js.httpd.server_address[1]}/brief"
        # 07:30 Berlin on 10 June (summer time): due
        sent = run_workers(pg_url, url, "2024-06-10T05:30:00+00:00", 2, tmp_path)
        assert sorted(sent) == [0, 1] and len(js.bodies) == 1
        # both restart later the same day: nothing more
        assert run_workers(pg_url, url, "2024-06-10T15:00:00+00:00", 2, tmp_path) == [0, 0]
        assert len(js.bodies) == 1
        # the next day: once again
        assert sorted(run_workers(pg_url, url, "2024-06-11T05:30:00+00:00", 2, tmp_path)) == [0, 1]
        assert len(js.bodies) == 2
    with Store.open(pg_url) as s:
        runs = s.schedule_runs("brief")
    assert [r["period"] for r in runs] == ["2024-06-10", "2024-06-11"]
    assert all(r["claimed_by"] in ("w0", "w1") and r["error"] is None for r in runs)
