"""``score-text`` and ``evaluate`` subcommands.

``pipeline.cli`` calls :func:`register` with its subparsers; each subcommand
sets ``func`` to a handler ``handler(args) -> int`` (the exit code). Bad usage
or a missing file prints one line on stderr and returns 2.

Must not touch: business logic: it parses arguments and prints what the stages return.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

__all__ = ["register", "score_text_handler", "evaluate_handler"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "score-text",
        help="score a text (or one text per line of a file) for escalation signals",
        description="Score TEXT, or with --batch FILE one text per line ('-' = stdin).",
    )
    p.add_argument("text", nargs="?", help="the text to score")
    p.add_argument("--batch", metavar="FILE", help="score one text per line of FILE ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line with --batch)")
    p.add_argument("--language", metavar="CODE",
                   help="the text's language (en, ru, uk); default: detected from the text")
    p.set_defaults(func=score_text_handler)

    e = subparsers.add_parser(
        "evaluate",
        help="precision/recall/F1 of the scorer next to a GPR-style keyword baseline",
        description="Evaluate on a labelled dataset: plover (plover_sentences.csv), conflibert "
        "(ConfliBERT cameo_class csv, e.g. test.csv), csv (columns text,label; 1 = escalation), news "
        "(../shared/data/news_tuning) or languages (Russian and Ukrainian sentences, e.g. "
        "scripts/data/lang_heldout.csv).",
    )
    e.add_argument("--dataset", required=True, choices=("plover", "conflibert", "csv", "news", "languages"))
    e.add_argument("path", help="CSV file of the dataset")
    e.add_argument("--json", action="store_true", help="print the report as JSON")
    e.add_argument("--systems", default="rules", metavar="LIST",
                   help="comma-separated systems to run side by side: rules (always), model, hybrid "
                   "(the shipped linear models, pipeline/data/model.npz); default: rules")
    e.set_defaults(func=evaluate_handler)


def _usage_error(message: str) -> int:
    print(f"escalation-watch: error: {message}", file=sys.stderr)
    return 2


def _summary(text: str, scored: Any) -> str:
    from .language import SCORED_LANGUAGES

    if scored.language not in SCORED_LANGUAGES:
        return (f"not scored: language {scored.language!r} has no lexicon "
                f"(scored: {', '.join(SCORED_LANGUAGES)}); it counts in no theatre's share")
    lines = [f"score {scored.score:.1f}  theatre {scored.theatre}  language {scored.language}  "
             f"({len(scored.signals)} signals)"]
    if scored.signals and scored.language == "en":
        from .relevance import load_gate

        lines.append(f"  relevance: {load_gate().judge(text).explain()}")
    for g in scored.signals:
        actors = f"{g.source or '?'} -> {g.target or '?'}"
        lines.append(
            f"  {g.weight:+6.2f}  {g.signal:<26} {g.kind:<6} {g.modality:<11} {actors:<13} "
            f"[{g.evidence.start}:{g.evidence.end}] {g.evidence.text!r}"
        )
        if g.why:
            lines.append(f"{'':10}{g.why}")
    return "\n".join(lines)


def score_text_handler(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    from .score import score_text, scored_to_dict

    out = stdout or sys.stdout
    language = getattr(args, "language", None)
    if language is not None:
        from .language import SCORED_LANGUAGES, primary_code

        language = primary_code(language)
        if language not in SCORED_LANGUAGES:
            return _usage_error(f"score-text: --language must be one of {', '.join(SCORED_LANGUAGES)}")
    if args.batch is not None and args.text is not None:
        return _usage_error("score-text: give TEXT or --batch FILE, not both")
    if args.batch is None:
        if args.text is None:
            return _usage_error("score-text: missing TEXT (or --batch FILE)")
        scored = score_text(args.text, language=language)
        if args.json:
            out.write(json.dumps(scored_to_dict(scored), ensure_ascii=False) + "\n")
        else:
            out.write(_summary(args.text, scored) + "\n")
        return 0
    if args.batch == "-":
        stream = sys.stdin
        close = False
    else:
        try:
            stream = open(args.batch, encoding="utf-8", errors="replace", newline="")
        except OSError as e:
            return _usage_error(f"score-text: cannot read {args.batch}: {e.strerror or e}")
        close = True
    try:
        dumps = json.dumps
        write = out.write
        for line in stream:
            text = line.rstrip("\r\n")
            scored = score_text(text, language=language)
            if args.json:
                write(dumps(scored_to_dict(scored), ensure_ascii=False) + "\n")
            else:
                write(_summary(text, scored) + "\n")
    finally:
        if close:
            stream.close()
    return 0


def evaluate_handler(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    from . import evaluate as ev

    out = stdout or sys.stdout
    systems = tuple(x.strip() for x in (getattr(args, "systems", None) or "rules").split(",") if x.strip())
    try:
        report = ev.evaluate(args.dataset, args.path, systems=systems)
    except FileNotFoundError:
        return _usage_error(f"evaluate: no such file: {args.path}")
    except ev.DatasetError as e:
        return _usage_error(f"evaluate: {e}")
    if args.json:
        out.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(ev.format_report(report) + "\n")
    return 0
