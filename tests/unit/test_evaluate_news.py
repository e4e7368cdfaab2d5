"""evaluate --dataset news: grouped folds, a gate per fold, and the report (real data when ../shared is present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.relevance_train import grouped_folds, own_split

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT.parent / "shared" / "data" / "news_tuning" / "labelled.csv"


def test_near_duplicates_share_a_fold_and_the_split_does_not_depend_on_order():
    rows = [
        {"id": "a1", "title": "Two car bombs kill 10 Iraqis in Baghdad", "summary": ""},
        {"id": "a2", "title": "Car bombs kill 11 in Baghdad", "summary": ""},
        {"id": "b1", "title": "Striker scores twice in cup final", "summary": ""},
        {"id": "c1", "title": "Talks resume in Geneva", "summary": "Diplomats from both sides met on Monday in Geneva."},
        {"id": "c2", "title": "Geneva meeting", "summary": "Diplomats from both sides met on Monday in Geneva."},
    ] + [{"id": f"z{i}", "title": f"unrelated story number {i} about {w}", "summary": ""}
         for i, w in enumerate("weather markets films tennis farming schools rivers trains".split())]
    folds = grouped_folds(rows)
    by_id = dict(zip((r["id"] for r in rows), folds))
    assert by_id["a1"] == by_id["a2"]  # titles share most words
    assert by_id["c1"] == by_id["c2"]  # summaries share most words
    again = dict(zip((r["id"] for r in rows[::-1]), grouped_folds(rows[::-1])))
    assert again == by_id
    assert len(set(folds)) > 1


def test_own_sentences_hold_out_every_third_row():
    assert own_split({"id": "own-0003"}) == "test" and own_split({"id": "own-0004"}) == "train"


@pytest.mark.shared
@pytest.mark.timeout(280)
def test_news_report_out_of_fold_beats_the_regex_and_keeps_false_alarms_low():
    if not LABELLED.is_file():
        pytest.skip(f"{LABELLED} not present (../shared/data is optional)")
    pytest.importorskip("sklearn")
    from pipeline.evaluate import evaluate, format_report

    r = evaluate("news", LABELLED)
    a = r["all"]
    assert r["rows"] == 1500 and r["folds"] == 5
    assert a["ours"]["f1"] >= a["baseline"]["f1"] + 0.10  # the margin over the GPR-style regex
    assert a["off_topic_false_alarm"]["ours"] <= 0.05
    assert a["ours"]["precision"] > a["rules_without_gate"]["precision"]
    assert r["rules_holdout"]["n"] < r["rows"]
    text = format_report(r)
    assert "out of fold" in text and "GPR keyword baseline" in text
