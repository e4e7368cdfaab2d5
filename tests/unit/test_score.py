"""pipeline.score: signals, modality, actors, theatre, spans, score, JSON, CLI."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from pipeline.cli_score import register
from pipeline.score import TAXONOMY_VERSION, article_text, score_article, score_text, scored_to_dict
from pipeline.types import ScoredArticle

DONE_WHEN = (
    "Thousands of Russian troops have massed near Ukraine's border; Washington warned of severe "
    "sanctions if Russia invades, but an official stopped short of suggesting US military intervention"
)


def _by_signal(text: str) -> dict:
    # the rules' own judgement (modality, variants); the relevance gate has its own tests
    return {g.signal: g for g in score_text(text, gate=False).signals}


def test_done_when_example():
    s = score_text(DONE_WHEN)
    sig = {g.signal: g for g in s.signals}
    troops = sig["troop_buildup"]
    assert (troops.kind, troops.modality, troops.source, troops.target) == ("act", "action", "RUS", "UKR")
    assert DONE_WHEN[troops.evidence.start : troops.evidence.end] == troops.evidence.text == "troops have massed"
    sanctions = sig["sanctions_threat"]
    assert (sanctions.kind, sanctions.modality, sanctions.source, sanctions.target) == (
        "threat", "conditional", "USA", "RUS")
    assert DONE_WHEN[sanctions.evidence.start : sanctions.evidence.end] == "warned of severe sanctions"
    negated = [g for g in s.signals if g.modality == "negated"]
    assert len(negated) == 1 and negated[0].evidence.text == "military intervention"
    assert negated[0].weight == 0.0
    # the condition "if Russia invades" is folded into the sanctions threat
    assert not [g for g in s.signals if g.evidence.text == "invades"]
    assert s.theatre == "RUS-UKR"
    assert all(g.theatre == "RUS-UKR" for g in s.signals)
    # the negated intervention adds nothing: same score without that clause
    without = score_text(DONE_WHEN.split(", but")[0])
    assert without.score == s.score
    assert 0 < s.score < 100
    assert troops.evidence.sentence.startswith("Thousands of Russian troops")


@pytest.mark.parametrize(
    ("text", "signal", "modality"),
    [
        ("Russia denies any plans to invade Ukraine.", None, "denied"),
        ("The Kremlin dismissed reports that troops were massing near the border.", "troop_buildup", "denied"),
        ("NATO ruled out sending combat troops to Ukraine.", "troop_buildup", "negated"),
        ("Moscow has no plans to attack Ukraine, Peskov said.", None, "negated"),
        ("If Russia attacks, the markets will fall.", "strike_attack", "conditional"),
        ("Should Moscow invade, the alliance would respond.", "invasion_offensive", "conditional"),
        ("Russia may be preparing an attack.", "strike_attack", "hedged"),
        ("Russian forces reportedly shelled the town.", "strike_attack", "hedged"),
        ("Officials are unsure if the buildup of troops is a bluff.", "troop_buildup", "hedged"),
        ("Iran threatened to close the Strait of Hormuz.", None, "threat"),
        ("Russian forces shelled Kharkiv overnight.", "strike_attack", "action"),
    ],
)
def test_modality(text, signal, modality):
    sigs = score_text(text).signals
    assert sigs, text
    chosen = [g for g in sigs if signal is None or g.signal == signal]
    assert chosen, (text, sigs)
    assert chosen[0].modality == modality, (text, sigs)


def test_negated_and_denied_escalations_add_nothing():
    for text in ("Russia denied massing troops near the border.",
                 "Washington ruled out sending troops to Ukraine."):
        s = score_text(text)
        assert s.signals and all(g.weight == 0 for g in s.signals if g.direction == "escalation")
        assert s.score == 0


def test_conditional_counts_less_than_act():
    act = score_text("Russia invaded Ukraine.")
    cond = score_text("If Russia invades Ukraine, the markets will fall.")
    assert 0 < cond.score < act.score
    assert act.signals[0].weight > cond.signals[0].weight > 0


def test_threatened_act_becomes_threat_variant():
    sig = _by_signal("The EU threatened sanctions against Belarus.")
    assert "sanctions_threat" in sig and "sanctions_imposed" not in sig
    assert sig["sanctions_threat"].kind == "threat"
    sig = _by_signal("The EU imposed sanctions on Belarus.")
    assert sig["sanctions_imposed"].kind == "act" and sig["sanctions_imposed"].target == "BLR"


def test_refusal_to_de_escalate_is_escalation():
    sig = _by_signal("Britain said it will not lift the embargo.")
    assert "diplomatic_breakdown" in sig and sig["diplomatic_breakdown"].weight > 0
    assert "relief_concession" not in sig


def test_de_escalation_lowers_the_score():
    s = score_text("Russia and Ukraine agreed to a ceasefire and held talks in Istanbul.")
    assert s.signals and all(g.direction == "de-escalation" and g.weight < 0 for g in s.signals)
    assert s.score == 0
    mixed = score_text("Russian forces shelled Kharkiv. Later both sides agreed to a ceasefire.")
    alone = score_text("Russian forces shelled Kharkiv.")
    assert mixed.score < alone.score


def test_actors_passive_and_possessive():
    g = _by_signal("Ukraine was attacked by Russia overnight.")["strike_attack"]
    assert (g.source, g.target) == ("RUS", "UKR")
    g = _by_signal("China sent warplanes into Taiwan's air defence zone.")["border_incident"]
    assert (g.source, g.target) == ("CHN", "TWN")


@pytest.mark.parametrize(
    ("text", "theatre"),
    [
        ("Chinese warships staged live-fire drills around Taiwan.", "CHN-TWN"),
        ("North Korea fired a ballistic missile into the sea.", "KOR-PRK"),
        ("Israel struck Iranian targets overnight.", "ISR-IRN"),
        ("Indian troops exchanged fire with Pakistani forces in Kashmir.", "IND-PAK"),
        ("NATO deployed jets to Poland as Russia held exercises.", "RUS-NATO"),
        # "other" is geopolitics off the watchlist; text with nothing geopolitical has none
        ("Protesters clashed with riot police outside the parliament in Lima.", "other"),
        ("Nothing happened today.", "none"),
    ],
)
def test_theatre(text, theatre):
    assert score_text(text).theatre == theatre


def test_spans_are_exact_for_every_signal():
    text = ("Kyiv – Russian artillery shelled Mariupol on Monday. The U.S. imposed new sanctions; "
            "Moscow expelled diplomats, and Beijing called for talks.")
    s = score_text(text)
    assert len(s.signals) >= 4
    for g in s.signals:
        assert text[g.evidence.start : g.evidence.end] == g.evidence.text
        assert text[g.evidence.sentence_start :].startswith(g.evidence.sentence)
        assert g.evidence.sentence_start <= g.evidence.start < g.evidence.end <= g.evidence.sentence_start + len(
            g.evidence.sentence)


def test_word_boundaries_and_month_may():
    assert not score_text("The striker scored in May.").signals
    assert not score_text("Mobile apps attract shoppers.").signals


def test_article_text_and_spans():
    t = article_text("Russia invades Ukraine", "Tanks crossed the border at dawn.")
    assert t == "Russia invades Ukraine. Tanks crossed the border at dawn."
    assert article_text("Alert!", "x") == "Alert! x"
    assert article_text("Only title", "") == "Only title"
    s = score_article("Russia invades Ukraine", "Tanks crossed the border at dawn.")
    for g in s.signals:
        assert t[g.evidence.start : g.evidence.end] == g.evidence.text
    assert isinstance(s, ScoredArticle) and s.taxonomy_version == TAXONOMY_VERSION


def test_empty_and_odd_input():
    for text in ("", "   ", "İİİ attack", "\n\n", "a" * 10000):
        s = score_text(text)
        assert 0 <= s.score <= 100


def test_score_bounds_and_repeat_decay():
    many = " ".join(["Russian forces shelled the city, invaded the region and launched air strikes."] * 20)
    s = score_text(many)
    assert 90 < s.score <= 100
    weights = [g.weight for g in s.signals if g.signal == "strike_attack"]
    assert weights == sorted(weights, reverse=True) and weights[1] < weights[0]


def test_scored_to_dict_contract():
    d = scored_to_dict(score_text(DONE_WHEN))
    assert set(d) >= {"score", "theatre", "signals"}
    json.dumps(d)
    for g in d["signals"]:
        assert set(g) >= {"signal", "direction", "kind", "modality", "source", "target", "evidence", "weight"}
        assert g["direction"] in ("escalation", "de-escalation")
        assert g["kind"] in ("threat", "act")
        assert g["modality"] in ("action", "threat", "conditional", "negated", "denied", "hedged")
        assert set(g["evidence"]) >= {"start", "end", "text"}


# --- CLI handler (pipeline.cli will call register(); tests build their own parser) ---


def _run(argv, stdin=None, monkeypatch=None):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register(sub)
    args = parser.parse_args(argv)
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = args.func(args, stdout=out)
    return code, out.getvalue()


def test_cli_score_text_json():
    code, out = _run(["score-text", DONE_WHEN, "--json"])
    assert code == 0
    d = json.loads(out)
    assert d["theatre"] == "RUS-UKR"
    assert {g["signal"] for g in d["signals"]} >= {"troop_buildup", "sanctions_threat"}


def test_cli_score_text_summary():
    code, out = _run(["score-text", DONE_WHEN])
    assert code == 0
    assert "troop_buildup" in out and "RUS -> UKR" in out and "negated" in out


def test_cli_batch_file_and_stdin(tmp_path, monkeypatch):
    f = tmp_path / "in.txt"
    lines = ["Russia invaded Ukraine.", "", "Talks resumed in Geneva.", DONE_WHEN]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = _run(["score-text", "--batch", str(f), "--json"])
    assert code == 0
    objs = [json.loads(x) for x in out.splitlines()]
    assert len(objs) == 4
    assert objs[0]["score"] > 0 and objs[1]["signals"] == [] and objs[2]["score"] == 0
    code, out2 = _run(["score-text", "--batch", "-", "--json"], stdin="\n".join(lines) + "\n", monkeypatch=monkeypatch)
    assert code == 0 and out2 == out


def test_cli_usage_errors(tmp_path, capsys):
    code, _ = _run(["score-text", "--batch", str(tmp_path / "missing.txt")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.txt" in err
    code, _ = _run(["score-text"])
    assert code == 2
    code, _ = _run(["score-text", "x", "--batch", "-"])
    assert code == 2
