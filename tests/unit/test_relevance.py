"""The scorer on real-news-like text: the failure classes of the real-news issue.

Every sentence here was written for these tests (none is from an evaluation set).
Each class: relevance (crime, business, sport, tech and accidents score 0 and get
theatre "none"), modality from clause structure, and the theatre of the dyad the
article is about. The shipped relevance gate is used, as the product uses it.
"""

from __future__ import annotations

import pytest

from pipeline.relevance import RELEVANCE_PATH, features, load_gate, read_gate
from pipeline.score import score_text


def counted(text: str) -> list:
    return [g for g in score_text(text).signals if g.weight != 0]


def escalation(text: str) -> list:
    return [g for g in counted(text) if g.direction == "escalation"]


# --- 1. relevance ------------------------------------------------------------------

NOT_GEOPOLITICS = [
    "Teenagers attack commuters on a train in south London",
    "Tech giant sues spyware maker over hacked phones",
    "Oil major's CEO defends buybacks as Shell profits soar",
    "Police raid a campaign manager's home in fraud inquiry",
    "Hackers target parcel deliveries with fake text messages",
    "Striker's late attack sinks Chelsea as United storm to victory",
    "England bowlers blitz Pakistan to win the first Test",
    "Flooding kills nine people in the capital after days of rain",
    "Plane crash kills 54 as airliner hits frozen lake",
    "Supermarkets launch price war as inflation bites",
    "Bid battle for brewer heats up as rival launches hostile offer",
    "Drug targets cancer cells without harming healthy tissue",
]


@pytest.mark.parametrize("text", NOT_GEOPOLITICS)
def test_non_geopolitical_text_scores_zero_with_no_theatre(text):
    s = score_text(text)
    assert s.score == 0.0, s.signals
    assert s.theatre == "none"
    assert not counted(text)
    for g in s.signals:  # what the rules found is kept, with the reason it did not count
        assert g.why.startswith("not counted"), g


GEOPOLITICS = [
    ("Russia masses tens of thousands of troops near Ukraine's border", "troop_buildup"),
    ("Chinese warplanes enter Taiwan's air defence zone for the third day", "border_incident"),
    ("North Korea fires ballistic missile into the sea off Japan", "nuclear_posture"),
    ("Israeli airstrikes hit Hamas positions in Gaza overnight", "strike_attack"),
    ("EU imposes sanctions on Belarusian officials over border crisis", "sanctions_imposed"),
    ("Russian hackers knock Ukrainian government websites offline", "cyberattack"),
]


@pytest.mark.parametrize(("text", "category"), GEOPOLITICS)
def test_geopolitical_escalation_counts_and_says_why(text, category):
    found = [g for g in escalation(text) if g.signal == category]
    assert found, score_text(text).signals
    assert found[0].why.startswith("counted:")
    assert score_text(text).theatre != "none"


def test_accident_context_vetoes_a_killing_but_not_shelling():
    assert not escalation("A gas explosion killed eight people in an apartment block.")
    assert escalation("Shelling killed eight people in an apartment block in Kharkiv, Ukrainian officials said.")


def test_domestic_crime_arrests_do_not_count_political_ones_do():
    assert not escalation("Police arrested three teenagers after a stabbing at a shopping centre.")
    assert escalation("Belarus arrested dozens of opposition activists and journalists after the protest.")


# --- 2. modality from clause structure ----------------------------------------------


def test_any_x_would_is_a_hypothesis_not_an_act():
    (g,) = escalation("Any invasion would be very tough for Russia, the minister said.")
    assert g.modality == "conditional" and g.kind == "threat"


def test_met_with_not_only_but_also_makes_both_conditional_threats():
    text = ("A Russian attack on Ukraine would be met with not only harsh sanctions "
            "but also a buildup of US troops in Eastern Europe.")
    sigs = {g.signal: g for g in escalation(text)}
    assert sigs["sanctions_threat"].modality == "conditional"  # "not only" is not a negation
    assert any(g.modality == "conditional" and "troops" in g.evidence.text for g in sigs.values())
    # the attack is the condition of the threat, not an attack that happened
    assert "strike_attack" not in sigs
    assert not any(g.signal == "talks_summit" for g in score_text(text).signals)  # "met with" is no meeting


def test_a_topic_of_talks_is_not_a_threat():
    s = score_text("Talks in Geneva will range from strategic and nuclear threats to trade.")
    nuclear = [g for g in s.signals if g.signal == "nuclear_posture"]
    assert nuclear and nuclear[0].weight == 0 and "topic" in nuclear[0].why
    assert any(g.signal == "talks_summit" and g.weight < 0 for g in s.signals)


def test_a_warning_about_a_war_is_a_threat():
    (g,) = escalation("The US warns a conflict with Russia would be horrific.")
    assert g.signal == "threat_of_force" and g.modality == "threat"


def test_readiness_is_a_threat():
    gs = escalation("The UK is ready to commit extra forces to Estonia.")
    assert gs and all(g.modality == "threat" for g in gs)


def test_a_condition_placed_on_something_else_is_not_negated():
    # "won't open if Russia invades": the negation belongs to the pipeline, not the invasion
    (g,) = escalation("Germany says the Nord Stream 2 pipeline won't open if Russia invades Ukraine.")
    assert g.modality == "conditional" and g.kind == "threat"


def test_stopped_short_of_is_a_negation():
    assert not escalation("Biden stopped short of threatening military action against Russia.")


def test_movement_without_a_taxonomy_verb():
    (g,) = escalation("Six Russian landing ships have entered the Mediterranean on their way to the Black Sea.")
    assert g.signal == "troop_buildup"


# --- 3. actors and theatre ------------------------------------------------------------


def test_third_party_over_a_dyads_crisis_keeps_its_theatre():
    text = ("Russian troops massed on Ukraine's border. Washington promised a buildup of US soldiers "
            "in Eastern Europe and Poland if Russia moves.")
    assert score_text(text).theatre == "RUS-UKR"


def test_western_sanctions_over_ukraine_are_the_ukraine_crisis():
    assert score_text("The US imposed sanctions on Russia over its troop buildup near Ukraine.").theatre == "RUS-UKR"


def test_nato_posture_and_security_demands_are_rus_nato():
    assert score_text("NATO is sending jets and warships to its eastern flank as Russia masses troops "
                      "near Ukraine.").theatre == "RUS-NATO"
    assert score_text("Moscow demanded security guarantees including no NATO membership for "
                      "Ukraine.").theatre == "RUS-NATO"


# --- the gate itself --------------------------------------------------------------------


def test_gate_file_records_its_training_and_threshold():
    g = load_gate()
    assert 0 < g.threshold < 1
    assert g.meta["trained_on"]["labelled.csv"]
    assert len(g.weights) > 1000
    assert read_gate(RELEVANCE_PATH).weights == g.weights


def test_gate_explains_its_decision():
    j = load_gate().judge("Striker scores twice as Chelsea beat United in the league")
    assert not j.relevant and j.because and j.explain().startswith("not geopolitical")
    j = load_gate().judge("Russian troops mass on the border as the Kremlin warns NATO")
    assert j.relevant


def test_gate_features_are_words_and_pairs():
    assert features("Troops massed, officials said") == [
        "troops", "massed", "officials", "said", "troops massed", "massed officials", "officials said"]


def test_bad_gate_file_is_a_clear_error(tmp_path):
    from pipeline.errors import ConfigError

    bad = tmp_path / "relevance.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not an .npz"):
        read_gate(bad)
    with pytest.raises(ConfigError, match="missing"):
        read_gate(tmp_path / "absent.npz")


def test_score_text_explains_relevance_modality_cue_and_actors():
    text = ("Thousands of Russian troops have massed near Ukraine's border; Washington warned of severe "
            "sanctions if Russia invades, but an official stopped short of suggesting US military intervention")
    sigs = {g.signal: g for g in score_text(text).signals}
    assert sigs["troop_buildup"].why.startswith("counted: action; actors RUS -> UKR; geopolitical (p=")
    assert "conditional (cue 'if')" in sigs["sanctions_threat"].why and "USA -> RUS" in sigs["sanctions_threat"].why
    assert sigs["invasion_offensive"].why == "not counted: negated (cue 'stopped short of')"


def test_russia_alone_is_rus_nato_only_for_the_signals_it_stands_for():
    assert score_text("A suicide bomber killed 12 people at a Moscow metro station.").theatre == "other"
    assert score_text("Russia holds snap nuclear drills as the Kremlin warns the West.").theatre == "RUS-NATO"


def test_kashmir_anchors_india_pakistan():
    assert score_text("Militants attacked an army camp in Kashmir, killing four soldiers.").theatre == "IND-PAK"


def test_who_warns_whom():
    (g,) = escalation("Kremlin warns Kyiv of a military response over NATO ties")
    assert (g.source, g.target) == ("RUS", "UKR")


def test_a_security_demand_over_ukraine_is_rus_nato():
    assert score_text("Moscow demands guarantees that Ukraine never joins NATO").theatre == "RUS-NATO"


def test_a_demand_to_stop_is_a_demand_not_a_negation():
    gs = escalation("Obama gave Putin a stern warning to stop its activities.")
    assert gs and all(g.modality != "negated" for g in gs)
