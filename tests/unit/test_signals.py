"""pipeline.signals: data files load, validate, compile; scan finds whole words."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.score import score_text
from pipeline.signals import (
    TAXONOMY_PATH,
    compile_lexicon,
    expand,
    load_lexicon,
    load_taxonomy,
    normalise,
    pattern_parts,
)

LEX = load_lexicon()
REQUIRED = {
    "troop_buildup", "military_exercises", "threat_of_force", "ultimatum_demand", "alliance_deployment",
    "sanctions_threat", "sanctions_imposed", "arms_deliveries", "diplomatic_expulsion", "cyberattack",
    "border_incident", "strike_attack", "invasion_offensive", "nuclear_posture", "mobilisation_martial_law",
    "blockade", "hostile_rhetoric", "talks_summit", "ceasefire_truce", "troop_withdrawal", "agreement_deal",
}
EXAMPLES = [
    (cat.id, kind, sentence)
    for cat in LEX.categories.values()
    for kind, sentences in (("positive", cat.positives), ("negative", cat.negatives))
    for sentence in sentences
]


def test_taxonomy_has_the_required_categories_and_a_version():
    assert LEX.taxonomy_version
    assert len(LEX.categories) >= 19
    assert REQUIRED <= set(LEX.categories)
    directions = {c.direction for c in LEX.categories.values()}
    assert directions == {"escalation", "de-escalation"}
    assert {c.kind for c in LEX.categories.values()} == {"threat", "act"}
    for c in LEX.categories.values():
        assert c.positives and c.negatives, c.id
    assert LEX.categories["hostile_rhetoric"].weight < LEX.categories["invasion_offensive"].weight


def _counting(sentence: str, category: str) -> list:
    # the examples check the rules (patterns, modality, context needs); gate=False keeps
    # the learned relevance gate out: its own tests use real-news-like text
    return [g for g in score_text(sentence, gate=False).signals
            if g.signal == category and g.weight != 0]


@pytest.mark.parametrize(("category", "kind", "sentence"), EXAMPLES, ids=[f"{c}-{k}-{i}" for i, (c, k, _) in enumerate(EXAMPLES)])
def test_taxonomy_examples(category, kind, sentence):
    found = _counting(sentence, category)
    if kind == "positive":
        assert found, f"{category} not found in {sentence!r}: {score_text(sentence, gate=False).signals}"
    else:
        assert not found, f"{category} wrongly found in {sentence!r}: {found}"


def test_expand_alternatives_and_optional_groups():
    assert sorted(expand("(a|b) (c |)d")) == ["a c d", "a d", "b c d", "b d"]
    assert pattern_parts("(impose|imposed) .. sanctions") == [["imposed", "impose"], ["sanctions"]] or \
        pattern_parts("(impose|imposed) .. sanctions") == [["impose", "imposed"], ["sanctions"]]


def test_normalise_keeps_offsets():
    text = "Kyiv’s “air-defence” — İstanbul!"
    norm = normalise(text)
    assert len(norm) == len(text)
    assert norm.startswith("kyiv s  air defence")


def test_scan_matches_whole_words_only():
    sc = LEX.scan("The attackers fled. Counterattack? No. An attack.")
    words = {sc.text[s:e] for s, e, _, _ in sc.parts}
    assert "attackers" in words and "attack" in words
    assert "Counterattack" not in words
    # no trigger inside another word
    assert not [1 for s, e, _, _ in sc.parts if sc.text[s:e].lower() == "attack" and s == 22]


def test_prefix_patterns_cover_inflections():
    for word in ("mobilised", "mobilization", "mobilizing"):
        assert _counting(f"Belarus {word} its army.", "mobilisation_martial_law"), word


def test_exact_case_actors():
    sc = LEX.scan("Let us see what the US and the U.K. do, said May in May.")
    codes = [a[2] for a in sc.actors]
    assert codes.count("USA") == 1
    assert "GBR" in codes
    sc = LEX.scan("the kremlin said")  # metonyms need their capital
    assert not sc.actors


def test_gazetteer_metonyms_and_demonyms():
    sc = LEX.scan("The Kremlin, the White House, Kyiv and Beijing; Russian and Ukrainian officials.")
    assert [a[2] for a in sorted(sc.actors)] == ["RUS", "USA", "UKR", "CHN", "RUS", "UKR"]


def test_watchlist_has_required_theatres():
    ids = {t.id for t in LEX.theatres}
    assert {"RUS-UKR", "RUS-NATO", "CHN-TWN", "ISR-IRN", "IND-PAK", "KOR-PRK"} <= ids
    assert LEX.default_theatre == "other"


def test_automaton_is_compiled_once():
    assert load_lexicon() is LEX


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "taxonomy.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_invalid_taxonomy_lists_every_problem_with_lines(tmp_path):
    good = TAXONOMY_PATH.read_text(encoding="utf-8")
    bad = good.replace("    direction: escalation\n    kind: act\n    weight: 5\n",
                       "    direction: upwards\n    kind: act\n    wieght: 5\n", 1)
    bad = bad.replace('version: "2026', 'versoin: "2026', 1)
    with pytest.raises(ConfigError) as e:
        load_taxonomy(_write(tmp_path, bad))
    msg = str(e.value)
    assert "direction: must be one of escalation, de-escalation (got 'upwards')" in msg
    assert "did you mean 'weight'?" in msg
    assert "version: required" in msg
    assert all(p.line is not None for p in e.value.problems)
    lines = [p.line for p in e.value.problems]
    assert lines == sorted(lines)


def test_unknown_reference_and_bad_pattern(tmp_path):
    good = TAXONOMY_PATH.read_text(encoding="utf-8")
    bad = good.replace("threat_variant: threat_of_force", "threat_variant: threat_of_forse", 1)
    bad = bad.replace('"(troop|troops|military|force|forces) (buildup', '"(troop|troops|military|force|forces (buildup', 1)
    with pytest.raises(ConfigError) as e:
        load_taxonomy(_write(tmp_path, bad))
    msg = str(e.value)
    assert "unknown category 'threat_of_forse' (did you mean 'threat_of_force'?)" in msg
    assert "unbalanced or nested parentheses" in msg


def test_invalid_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"taxonomy.yaml:\d+: invalid YAML"):
        compile_lexicon(taxonomy_path=_write(tmp_path, "version: [unclosed\n"))


def test_a_gap_in_a_modality_cue_is_a_config_error(tmp_path):
    good = TAXONOMY_PATH.read_text(encoding="utf-8")
    bad = good.replace('    - "(requested|requesting)"\n', '    - "(asked|asks) .. for"\n', 1)
    assert bad != good
    with pytest.raises(ConfigError, match=r"modality_cues.request\[\d+\]: a cue is one phrase"):
        load_taxonomy(_write(tmp_path, bad))


def test_allies_blocs_are_validated_and_compiled(tmp_path):
    from pipeline.signals import WATCHLIST_PATH

    assert any({"USA", "UKR"} <= b for b in LEX.blocs)
    assert "talks_summit" in LEX.allied_categories
    bad = WATCHLIST_PATH.read_text(encoding="utf-8").replace("    - [RUS, BLR, PRK, IRN, SYR]", "    - [RUS, BLRR]", 1)
    p = tmp_path / "watchlist.yaml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"allies.blocs\[1\]: unknown actor code 'BLRR'"):
        compile_lexicon(watchlist_path=p)
