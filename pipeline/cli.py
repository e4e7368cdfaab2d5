"""The ``escalation-watch`` command line.

Exit codes: 0 success, 2 bad usage or bad config, 1 any other failure. Errors
print one clear line on stderr; ``--debug`` adds the traceback.

Owns: the arguments of every subcommand (``score-text`` and ``evaluate`` are
registered by pipeline.cli_score), turning them into calls of the stages, and
exit codes. Must not touch: business logic (each command calls a stage), the
server process's lifecycle (pipeline.cli_server).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .cli_server import _on_stop_signals, _start_server, _Stop, _stop_child
from .errors import ConfigError, EscalationWatchError, UsageError
from .store import DEFAULT_DB_URL, ENV_DB

log = logging.getLogger("escalation_watch.cli")

ENV_CONFIG = "ESCALATION_WATCH_CONFIG"
ENV_ALERTS = "ESCALATION_WATCH_ALERTS"
#: set by --read-only for the dashboard process (read by pipeline.ui.access)
ENV_READ_ONLY = "ESCALATION_WATCH_READ_ONLY"
DEFAULT_CONFIG = "feeds.yaml"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    g.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    g.add_argument("--log-format", default="logfmt", choices=["logfmt", "json"], help="structured log lines on stderr")
    return p


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help=f"database URL (default: ${ENV_DB} or {DEFAULT_DB_URL}; postgresql://... also works)",
    )


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help=f"feeds file (default: ${ENV_CONFIG} or ./{DEFAULT_CONFIG})",
    )


def _add_alerts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alerts",
        metavar="FILE",
        default=None,
        help=f"alert rules (default: ${ENV_ALERTS} or alerts.yaml beside the feeds file, if present)",
    )


def _add_serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--read-only", action="store_true",
                   help="no feed editing or 'test now' for anyone (see docs/deployment.md for sign-in)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="escalation-watch",
        description="Poll news feeds, score escalation signals, chart the risk trend.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # in this order: it is the order `--help` lists them in
    _add_service_commands(sub, common)
    _add_store_commands(sub, common)
    _add_report_commands(sub, common)

    before = set(sub.choices)
    from . import cli_score

    cli_score.register(sub)
    for name in set(sub.choices) - before:
        _add_common_args(sub.choices[name])
    return parser


def _add_service_commands(sub, common: argparse.ArgumentParser) -> None:
    """poll, dashboard, run: the long-running commands."""
    p = sub.add_parser("poll", parents=[common], help="poll the feeds into the store")
    p.add_argument("--once", action="store_true", help="poll every enabled feed now, due or not, then exit")
    _add_config(p)
    _add_db(p)
    _add_alerts(p)
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("dashboard", parents=[common], help="serve the dashboard (read-only on the store)")
    _add_db(p)
    _add_config(p)
    _add_serve(p)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("run", parents=[common], help="poller and dashboard together (what `make run` calls)")
    _add_config(p)
    _add_db(p)
    _add_alerts(p)
    _add_serve(p)
    p.set_defaults(func=cmd_run)


def _add_store_commands(sub, common: argparse.ArgumentParser) -> None:
    """migrate, validate, score, rescore, import: set up the store and fill it."""
    p = sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    _add_db(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("validate", parents=[common], help="check feeds.yaml and print what it holds")
    _add_config(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("score", parents=[common], help="score stored articles that were never scored")
    _add_db(p)
    p.set_defaults(func=cmd_score, only_unscored=True)

    p = sub.add_parser(
        "rescore", parents=[common], help="re-score every article not scored with the current taxonomy (resumable)"
    )
    _add_db(p)
    p.set_defaults(func=cmd_score, only_unscored=False)

    p = sub.add_parser("import", parents=[common], help="import, score and index historical headlines from CSV")
    p.add_argument("file", metavar="FILE.csv", help="columns published_utc, source, title[, url, summary]")
    _add_db(p)
    p.set_defaults(func=cmd_import)


def _add_report_commands(sub, common: argparse.ArgumentParser) -> None:
    """backtest, export, alerts, brief, health: reports, exports, alerts and feed health."""
    p = sub.add_parser("backtest", parents=[common], help="replay dated headlines and correlate with the GPR index")
    p.add_argument("--headlines", required=True, metavar="FILE", help="CSV: published_utc, source, title[, url, collection]")
    p.add_argument("--gpr", required=True, metavar="FILE", help="gpr_daily.csv (date, GPRD, GPRD_MA7, ...)")
    p.add_argument("--theatre", default="RUS-UKR")
    p.add_argument("--out", default="backtest.html", metavar="FILE", help="Plotly chart (HTML; default backtest.html)")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("export", parents=[common],
                       help="write the articles, signals, daily index or audit table to a file")  # fmt: skip
    p.add_argument("--table", required=True, choices=["articles", "signals", "index", "audit"])
    p.add_argument("--format", dest="fmt", choices=["csv", "parquet", "xlsx"], default=None,
                   help="default: from the --out suffix")  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--theatre", default=None, help="e.g. RUS-UKR")
    p.add_argument("--since", default=None, metavar="DATE", help="YYYY-MM-DD (UTC)")
    _add_db(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("alerts", parents=[common],
                       help="list the rules' destinations and fired alerts (or --check the rules, --test one)")  # fmt: skip
    _add_db(p)
    _add_config(p)
    _add_alerts(p)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--check", action="store_true", help="evaluate the rules now, store and deliver what fires")
    p.add_argument("--test", metavar="RULE", default=None, help="send a test message to that rule's destinations")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("brief", parents=[common], help="what moved per theatre, the stories behind it, the data under it")
    p.add_argument("--since", default="24h", metavar="PERIOD", help="the period (default 24h; e.g. 12h, 2d)")
    p.add_argument("--theatre", action="append", default=None, metavar="T", help="only this theatre (repeatable)")
    p.add_argument("--format", dest="fmt", choices=["md", "html"], default=None,
                   help="default: html for an --out FILE.html, else md")  # fmt: skip
    p.add_argument("--out", default=None, metavar="FILE", help="write to FILE (default: print)")
    p.add_argument("--send", nargs="+", default=None, metavar="URL", help="send it to these Apprise URLs too")
    _add_db(p)
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("health", parents=[common], help="print each feed's health from the store")
    _add_db(p)
    p.set_defaults(func=cmd_health)


def _add_common_args(p: argparse.ArgumentParser) -> None:
    """Give a subcommand registered elsewhere the same --debug/--log-* options."""
    have = {a.dest for a in p._actions}
    for action in _common()._actions:
        if action.dest not in have:
            p._add_action(action)


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def _load_alerts(args: argparse.Namespace):
    """The alert rules, or None when no rules file is given and none sits beside feeds.yaml."""
    from .alerts import load_rules

    explicit = getattr(args, "alerts", None) or os.environ.get(ENV_ALERTS)
    path = Path(explicit) if explicit else config_path(args).parent / "alerts.yaml"
    if not explicit and not path.exists():
        return None
    return load_rules(path)


def _load_config(args: argparse.Namespace):
    from . import config

    return config.load(config_path(args))


# -- commands ---------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from .store import Store, resolve_db_url

    with Store.open(resolve_db_url(args.db)) as store:
        print(f"{store._safe_url()}: schema version {store.schema_version()}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    enabled = sum(f.enabled for f in cfg.feeds)
    print(f"{config_path(args)}: ok, {len(cfg.feeds)} feeds ({enabled} enabled)")
    return EXIT_OK


def cmd_poll(args: argparse.Namespace) -> int:
    from .poller import poll_forever, poll_once
    from .store import Store, resolve_db_url

    cfg = _load_config(args)
    alerts = _load_alerts(args)
    store = Store.open(resolve_db_url(args.db))
    try:
        if not args.once:
            log.info("poller started", extra={"db": store._safe_url(), "feeds": len(cfg.feeds)})
            poll_forever(store, config_path(args), alerts=alerts, parse_pool=True)
            return EXIT_OK
        bar = _progress(len([f for f in cfg.feeds if f.enabled]), "feed")
        stats = poll_once(store, cfg, on_progress=bar, alerts=alerts, parse_pool=True)
        if hasattr(bar, "close"):
            bar.close()
        for url, err in stats.failures:
            print(f"  failed: {url}: {err}", file=sys.stderr)
        print(stats.summary())
        return EXIT_OK
    finally:
        store.close()


def _progress(total: int, unit: str = "item"):
    """A tqdm bar on a terminal; periodic log lines otherwise. Call it with (done, total)."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total or None, unit=unit, file=sys.stderr, leave=False)

        def step(done: int, total_: int) -> None:
            bar.total = total_
            bar.n = done
            bar.refresh()

        step.close = bar.close  # type: ignore[attr-defined]
        return step
    last = [0.0]

    def step(done: int, total_: int) -> None:
        now = time.monotonic()
        if done == total_ or now - last[0] >= 5:
            last[0] = now
            log.info("progress", extra={"done": done, "total": total_})

    return step


def _streamlit_cmd(args: argparse.Namespace, db_url: str) -> tuple[list[str], dict[str, str]]:
    from .deployment import is_exposed

    app = Path(__file__).resolve().parent.parent / "dashboard.py"
    if not app.exists():
        raise EscalationWatchError(f"dashboard app not found at {app}: run from a source checkout")
    cmd = [
        sys.executable, "-m", "pipeline.ui.serve", "run", str(app),
        "--server.port", str(args.port),
        "--server.address", args.host,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    if is_exposed(args.host):
        # an exception's message and traceback can name internal paths and addresses
        cmd += ["--client.showErrorDetails", "none"]
    env = dict(os.environ)
    if args.read_only:
        env[ENV_READ_ONLY] = "1"
    env[ENV_DB] = db_url
    env[ENV_CONFIG] = str(config_path(args).resolve())
    return cmd, env


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .store import resolve_db_url

    cmd, env = _streamlit_cmd(args, resolve_db_url(args.db))
    _on_stop_signals()
    print(f"dashboard on http://{args.host}:{args.port}", file=sys.stderr)
    proc = _start_server(cmd, env)
    try:
        return proc.wait()
    except (KeyboardInterrupt, _Stop):
        _stop_child(proc)
        return EXIT_OK
    finally:
        _stop_child(proc)  # an error above must not leave it running either


def cmd_run(args: argparse.Namespace) -> int:
    from .deployment import is_exposed
    from .poller import poll_forever
    from .store import Store, resolve_db_url

    _on_stop_signals()  # until the poller installs its own (the same three signals)
    _load_config(args)  # a bad file stops here, before anything starts
    alerts = _load_alerts(args)
    db_url = resolve_db_url(args.db)
    store = Store.open(db_url)  # creates and migrates the database before the dashboard reads it
    proc = None
    try:
        cmd, env = _streamlit_cmd(args, db_url)
        proc = _start_server(cmd, env)
        print(f"dashboard on http://{args.host}:{args.port} — Ctrl-C stops poller and dashboard", file=sys.stderr)
        stop = threading.Event()

        def watch_dashboard() -> None:
            proc.wait()
            if not stop.is_set():
                log.error("dashboard exited", extra={"code": proc.returncode})
                os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch_dashboard, daemon=True).start()
        exposed = is_exposed(args.host)
        if exposed:
            log.warning(
                "dashboard exposed beyond this machine: private, loopback and link-local feed "
                "destinations are refused unless feeds.yaml sets deny_private_networks: false",
                extra={"host": args.host},
            )
        try:
            poll_forever(store, config_path(args), alerts=alerts, parse_pool=True, exposed=exposed)
        except (KeyboardInterrupt, _Stop):
            pass  # a signal before the poller's own handlers were in place
        finally:
            stop.set()
    finally:
        if proc is not None:
            _stop_child(proc)
        store.close()
    return EXIT_OK


def cmd_score(args: argparse.Namespace) -> int:
    """Score in batches, each saved in its own transaction: an interrupted run resumes where it stopped."""
    from .score import TAXONOMY_VERSION, score_article
    from .store import Store, resolve_db_url, utcnow

    with Store.open(resolve_db_url(args.db)) as store:
        total = store.count_to_score(TAXONOMY_VERSION, only_unscored=args.only_unscored)
        bar = _progress(total)
        done, after = 0, 0
        while True:
            batch = store.articles_to_score(
                TAXONOMY_VERSION, after_id=after, limit=2000, only_unscored=args.only_unscored
            )
            if not batch:
                break
            # the stored language (read from the text, or the feed's) is the hint again
            pairs = [(r["id"], score_article(r["title"], r["summary"], hint=r["language"])) for r in batch]
            # never-scored articles are added to the index as they go; re-scored ones
            # change what is already counted, so the index is rebuilt once at the end
            store.save_scores(pairs, utcnow(), newly_scored=args.only_unscored)
            after = batch[-1]["id"]
            done += len(batch)
            bar(done, total)
        if hasattr(bar, "close"):
            bar.close()
        if not args.only_unscored:
            # also when nothing was left to score: an interrupted rescore resumes here
            n = store.rebuild_aggregates()
            log.info("index aggregates rebuilt", extra={"articles": n})
    print(f"scored {done} articles with taxonomy {TAXONOMY_VERSION}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from .history import import_csv
    from .store import Store, resolve_db_url, utcnow

    with Store.open(resolve_db_url(args.db)) as store:
        bar = _progress(0, "row")
        report = import_csv(store, args.file, now=utcnow(), on_progress=bar)
        if hasattr(bar, "close"):
            bar.close()
    for line, err in report.bad[:50]:
        print(f"{args.file}:{line}: {err}", file=sys.stderr)
    if len(report.bad) > 50:
        print(f"... and {len(report.bad) - 50} more bad rows", file=sys.stderr)
    print(report.summary())
    return EXIT_OK


def cmd_backtest(args: argparse.Namespace) -> int:
    from .backtest import format_results, run_backtest

    results = run_backtest(args.headlines, args.gpr, theatre=args.theatre, out=args.out)
    print(format_results(results))
    print(f"chart: {args.out}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .export import write_export
    from .store import Store, resolve_db_url

    out = Path(args.out)
    fmt = args.fmt or {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the format from {out.name!r}: give --format csv|parquet|xlsx")
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since: not a date: {args.since!r} (use YYYY-MM-DD)") from None
        since = since.replace(tzinfo=since.tzinfo or timezone.utc)
    if args.theatre is not None:
        from .trend import watched_theatres

        known = [t["id"] for t in watched_theatres()]
        if args.theatre not in known:
            raise UsageError(f"--theatre: unknown theatre {args.theatre!r} (one of {', '.join(known)})")
    with Store.open(resolve_db_url(args.db), readonly=True) as store:
        rows = write_export(store, args.table, fmt, out, theatre=args.theatre, since=since)
    print(f"wrote {rows} rows to {out} ({fmt})")
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    from .alerts import check_and_notify, send_test
    from .notify import mask_url
    from .store import Store, resolve_db_url, utcnow

    if args.check or args.test:
        rules = _load_alerts(args)
        if rules is None:
            raise ConfigError(f"no alert rules: {config_path(args).parent / 'alerts.yaml'} does not exist")
    if args.test:
        with Store.open(resolve_db_url(args.db), readonly=True) as store:
            outcomes = send_test(store, rules, args.test, now=utcnow())
        for o in outcomes:
            print(f"{'sent  ' if o.ok else 'FAILED'} {o.destination}" + (f"  ({o.error})" if o.error else ""))
        return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILURE
    if args.check:
        with Store.open(resolve_db_url(args.db)) as store:
            fired = check_and_notify(store, rules, now=utcnow())
        print(f"{len(fired)} alert(s) fired")
        for a in fired:
            print(f"  {a['message']}")
        return EXIT_OK
    rules = _load_alerts(args)
    if rules is not None:
        # destinations masked: this output ends up in terminals, tickets and chat
        for r in rules.rules:
            dests = ", ".join(mask_url(u) for u in rules.destinations(r)) or "stored only"
            print(f"rule {r.name!r} ({r.theatre} {r.series}) -> {dests}")
        if rules.brief:
            b = rules.brief
            print(f"brief daily at {b.at:%H:%M} {b.timezone} -> {', '.join(mask_url(u) for u in b.notify)}")
    with Store.open(resolve_db_url(args.db), readonly=True) as store:
        rows = store.list_alerts(limit=args.limit)
        deliveries = {a["id"]: store.alert_deliveries(a["id"]) for a in rows}
    if not rows:
        print("no alerts fired")
    for a in rows:
        state = "delivered" if a["delivered_at"] else (f"undelivered: {a['delivery_error']}" if a["delivery_error"] else "")
        print(f"{a['fired_at']:%Y-%m-%d %H:%M} UTC  {a['message']}  {state}".rstrip())
        for e in a["evidence"][:3]:
            print(f"    - {e['title'][:100]} ({e['source']}, score {e['score']})")
        for d in deliveries[a["id"]]:  # destinations as stored: masked
            outcome = "delivered" if d["delivered_at"] else f"failed after {d['attempts']} attempts: {d['error']}"
            print(f"    -> {d['destination']}: {outcome}")
    return EXIT_OK


def cmd_brief(args: argparse.Namespace) -> int:
    from . import brief, notify
    from .config import parse_interval
    from .store import Store, resolve_db_url, utcnow
    from .trend import watched_theatres

    try:
        since_s = parse_interval(args.since)
    except (ValueError, TypeError) as e:
        raise UsageError(f"--since: {e}") from None
    known = [t["id"] for t in watched_theatres()]
    for t in args.theatre or ():
        if t not in known:
            raise UsageError(f"--theatre: unknown theatre {t!r} (one of {', '.join(known)})")
    for url in args.send or ():
        why = None if notify.is_webhook(url) else notify.check_url(url)
        if why:
            raise UsageError(f"--send {notify.mask_url(url)}: {why}")
    fmt = args.fmt or ("html" if args.out and args.out.lower().endswith((".html", ".htm")) else "md")
    with Store.open(resolve_db_url(args.db), readonly=True) as store:
        b = brief.build(store, now=utcnow(), since_s=since_s, theatres=tuple(args.theatre or ()))
    text = brief.render(b, fmt)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote the brief to {args.out} ({fmt})")
    elif not args.send:
        sys.stdout.write(text)
    failed = 0
    for o in brief.send(b, args.send, fmt) if args.send else ():
        failed += not o.ok
        print(f"{'sent  ' if o.ok else 'FAILED'} {o.destination}" + (f"  ({o.error})" if o.error else ""))
    return EXIT_FAILURE if failed else EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    from .store import Store, resolve_db_url

    with Store.open(resolve_db_url(args.db), readonly=True) as store:
        for h in store.feed_health():
            last = h["last_success_at"].strftime("%Y-%m-%d %H:%M") if h["last_success_at"] else "never"
            err = f" — {h['last_error']}" if h["last_error"] else ""
            notes = f" — {h['parse_notes']}" if h["parse_notes"] else ""
            print(f"{h['status']:<6} {h['items_total']:>6} items  last ok {last}  {h['name']}{err}{notes}")
    return EXIT_OK


# -- entry point ------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .log import setup_logging

    debug = getattr(args, "debug", False)
    setup_logging("debug" if debug else getattr(args, "log_level", "info"), getattr(args, "log_format", "logfmt"))
    try:
        return args.func(args)
    except UsageError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as e:
        if debug:
            raise
        print(f"error: invalid configuration:\n{e}", file=sys.stderr)
        return EXIT_USAGE
    except EscalationWatchError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:
        if debug:
            raise
        print(f"error: unexpected {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
