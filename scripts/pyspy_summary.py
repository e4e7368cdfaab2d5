"""Where a profiled cold poll spends its time, by stage and by function, from py-spy's raw output.

    .venv/bin/pip install py-spy
    .venv/bin/py-spy record --subprocesses --threads -r 100 -f raw -o dense.raw -- \\
        .venv/bin/python benchmarks/poll.py --feeds 200 --items 50 --corpus dense
    .venv/bin/python scripts/pyspy_summary.py dense.raw

Samples whose innermost frame is a blocking wait (a socket read, a selector, a pipe, a
condition) are idle and left out; the rest are shared out by stage (the innermost frame
that names one) and by innermost function. py-spy counts a thread that waits for a core or
for the GIL as busy, so the shares are of busy wall time, not of CPU (benchmarks/stages.py
gives CPU per stage, benchmarks/writer_wait.py the writer's waits). Issue 17.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

#: innermost frames of a thread that is blocked, not working
IDLE = re.compile(
    r"^(SocketIO\.readinto|_PollLikeSelector\.select|EpollSelector\.select|Connection\._recv |"
    r"_ConnectionBase\.recv|Connection\._send |wait |Condition\.wait|Event\.wait|SimpleQueue\.get|Queue\.get)"
)
#: (stage, pattern over one frame); frames are searched innermost first, the first stage found wins
STAGES = [
    ("writer: index aggregates (apply_articles, story deltas)", r"apply_articles|_upsert_add|_Deltas"),
    ("writer: stories (_assign_story)", r"_assign_story"),
    ("writer: signal rows (_insert_signals)", r"_insert_signals"),
    ("writer: article rows + FTS5 (_insert_articles)", r"_insert_articles"),
    ("writer: commit (SQLite writes the pages to the WAL)", r"do_commit|Store\._transact"),
    ("writer: other", r"record_updates|_flush_writes"),
    ("parse process: score_article", r"score_article"),
    ("parse process: parse_feed", r"parse_feed"),
    ("parse process: simhash", r"simhash"),
    ("parse process: pickle results (dataclass __getstate__)", r"_dataclass_getstate|ForkingPickler|_sendback_result"),
    ("poller process: unpickle results (dataclass __setstate__)",
     r"_dataclass_setstate|wait_result_broken_or_wakeup|_ExecutorManagerThread"),
    ("feed server threads (http.server)", r"FeedRequestHandler|socketserver|serve_forever"),
    ("event loop: fetch (aiohttp) and tasks", r"aiohttp|fetch_feed|asyncio|_run_once"),
    ("benchmark setup (generate feeds)", r"dense_texts|make_rss|make_atom"),
    ("imports, start-up", r"_find_and_load|alembic|Store\.open"),
]  # fmt: skip


def summarise(lines) -> dict:
    stages: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    scoring: collections.Counter[str] = collections.Counter()
    total = busy = 0
    for line in lines:
        stack, _, n_text = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        n = int(n_text)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or IDLE.match(frames[-1]):
            continue
        busy += n
        leaves[frames[-1]] += n
        stage = next((name for f in reversed(frames) for name, pat in STAGES if re.search(pat, f)), "other")
        stages[stage] += n
        names = [f.split(" (")[0] for f in frames]
        if "score_text" in names:
            i = names.index("score_text")
            scoring[names[i + 1] if i + 1 < len(names) else "score_text (itself)"] += n
    return dict(total=total, busy=busy, stages=stages, leaves=leaves, scoring=scoring)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("raw", help="py-spy record -f raw output")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args(argv)
    with open(args.raw) as f:
        r = summarise(f)
    busy = r["busy"] or 1
    print(f"{r['total']} samples, {r['busy']} busy (not blocked)")
    print("\nstage | share of busy samples")
    for k, n in r["stages"].most_common():
        print(f"{k} | {100 * n / busy:.1f} %")
    print(f"\ntop {args.top} innermost functions | share of busy samples")
    for k, n in r["leaves"].most_common(args.top):
        print(f"{k} | {100 * n / busy:.1f} %")
    scored = sum(r["scoring"].values()) or 1
    print("\nin score_text, by callee | share of scoring samples")
    for k, n in r["scoring"].most_common(8):
        print(f"{k} | {100 * n / scored:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
