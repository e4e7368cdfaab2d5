"""Each step of score_text alone, on our own sentences (the pipeline's order:
match -> assemble -> clauses -> modality -> relevance -> actors and weight -> theatre).

score_text's own tests (test_score.py, test_relevance.py) check the whole; these pin
what each step hands the next, so a change in one step fails here first.
"""

from __future__ import annotations

from pipeline.score.actors import actors_for, dedupe_actors, theatre
from pipeline.score.assemble import assemble
from pipeline.score.modality import Cues, fold, judge
from pipeline.score.text import layout, sentences, words_between
from pipeline.score.weigh import weigh
from pipeline.signals import load_lexicon

LEX = load_lexicon("en")


def steps(text: str):
    sc = LEX.scan(text)
    hits = assemble(LEX, text, sc.parts)
    clause_cues = [c[0] for c in sc.cues if c[2] == "clause" and not text.startswith(LEX.clause_continuations, c[1])]
    lay = layout(text, clause_cues, LEX.comma_clause_words)
    cues = Cues(text, sc.cues, clause_cues)
    return sc, hits, lay, cues


def test_assemble_joins_a_gapped_pattern_and_drops_the_phrase_inside_it():
    text = "The EU imposed new sweeping sanctions on Minsk."
    _, hits, _, _ = steps(text)
    spans = {(text[s:e], cat, gapped) for s, e, cat, gapped in hits}
    assert ("imposed new sweeping sanctions", "sanctions_imposed", True) in spans
    assert not any(t == "sanctions" for t, _, _ in spans)  # inside the gapped hit


def test_sentences_skip_abbreviations_and_clauses_split_at_but():
    text = "U.S. forces arrived on Monday. Gen. Milley spoke, but Moscow was silent."
    assert sentences(text) == [0, text.index("Gen.")]
    _, _, lay, _ = steps(text)
    assert lay.sentences == [0, text.index("Gen.")]
    assert any(text[c:].startswith(("but", ", but")) for c in lay.clauses)
    assert words_between(text, text.index("forces") + 6, text.index("Monday")) == 2  # "arrived on"


def test_modality_reads_only_the_cues_of_its_own_clause():
    text = "Russia denied massing troops, but NATO said tanks were moving towards the border."
    sc, hits, lay, cues = steps(text)
    judged, idiomatic = judge(LEX, text, hits, lay, cues)
    by_span = {text[j.start : j.end]: j for j in judged}
    assert by_span["massing troops"].modality == "denied"
    moving = next(j for k, j in by_span.items() if k.startswith("tanks"))
    assert moving.modality == "action" and moving.cue is None
    assert not idiomatic


def test_fold_puts_a_condition_into_its_threat():
    text = "Washington warned of severe sanctions if Russia invades Ukraine."
    sc, hits, lay, cues = steps(text)
    judged, idiomatic = judge(LEX, text, hits, lay, cues)
    invade = [j for j in judged if text[j.start : j.end].startswith("invade")]
    assert invade and invade[0].in_condition  # the invasion is the condition ...
    final = fold(LEX, judged, idiomatic)
    assert [LEX.categories[j.category].id for j in final] == ["sanctions_threat"]  # ... folded away
    assert final[0].modality == "conditional" and final[0].cue == "if"


def test_actors_for_reads_passives_and_possessives():
    text = "Ukraine was attacked by Russia overnight."
    actors = dedupe_actors(LEX.scan(text).actors)
    s = text.index("attacked")
    assert actors_for(text, actors, s, s + 8, 0, len(text), 0) == ("RUS", "UKR")
    text = "Chinese jets entered Taiwan's air defence zone."
    actors = dedupe_actors(LEX.scan(text).actors)
    s = text.index("air defence zone")
    assert actors_for(text, actors, s, s + 16, 0, len(text), 0) == ("CHN", "TWN")


def test_weigh_explains_a_veto_and_a_count():
    text = "Police arrested three teenagers after a stabbing. Russian forces shelled Kharkiv."
    sc, hits, lay, cues = steps(text)
    final = fold(LEX, *judge(LEX, text, hits, lay, cues))
    weighed = weigh(LEX, text, final, lay, dedupe_actors(sc.actors), cues.context, None)
    why = {w[2].id: (w[6], w[10]) for w in weighed}
    assert why["coercion_repression"][0] == 0 and "crime context" in why["coercion_repression"][1]
    assert why["strike_attack"][0] > 0 and why["strike_attack"][1].startswith("counted: action; actors RUS -> UKR")


def test_theatre_third_parties_keep_the_dyad():
    text = "US sends troops to Poland as Russia masses forces near Ukraine."
    actors = dedupe_actors(LEX.scan(text).actors)
    # the US reinforcement (USA -> POL) weighs half: the dyad is Russia and Ukraine
    pairs = [("USA", "POL", 4.0, "alliance_deployment"), ("RUS", "UKR", 5.0, "troop_buildup")]
    assert theatre(LEX, actors, pairs) == "RUS-UKR"
    assert theatre(LEX, [], []) == LEX.default_theatre
