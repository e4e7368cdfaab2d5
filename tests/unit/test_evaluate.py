"""pipeline.evaluate: metrics, baseline, loaders, report, CLI handler."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from pipeline.cli_score import register
from pipeline.evaluate import (
    DatasetError,
    evaluate,
    format_report,
    gpr_baseline,
    load_mapping,
    prf,
)
from pipeline.signals import load_lexicon

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
TRAIN = SHARED / "conflibert_cameo" / "train.csv"


def _run(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.func(args, stdout=out), out.getvalue()


def test_prf():
    m = prf([True, True, False, False, True], [True, False, True, False, True])
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 1, 1)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    assert prf([False], [False]).f1 == 0.0


def test_gpr_baseline_keyword_groups():
    assert gpr_baseline("Fears of war grow as tensions rise")
    assert gpr_baseline("Russia launched an invasion of Ukraine")
    assert gpr_baseline("North Korea conducts a nuclear test")
    assert not gpr_baseline("Local team wins the cup final")


def test_mapping_references_real_categories_and_types():
    m = load_mapping()
    cats = set(load_lexicon().categories)
    assert all(set(v) <= cats for v in m["plover"]["type_categories"].values())
    assert set(m["plover"]["positive_types"]) == {"THREATEN", "MOBILIZE", "SANCTION", "COERCE", "ASSAULT", "FIGHT"}
    assert set(m["plover"]["negative_types"]) >= {"AGREE", "CONSULT", "RETREAT"}


def _csv(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_generic_csv(tmp_path):
    p = _csv(tmp_path, "d.csv", 'text,label\n"Russian forces shelled Kharkiv.",1\n"Talks resumed in Geneva.",0\n'
             '"Russia denied massing troops.",0\n"Fears of war grow.",1\n')
    r = evaluate("csv", p)
    ours = r["escalation"]["ours"]
    assert (ours["tp"], ours["fp"], ours["fn"], ours["tn"]) == (1, 0, 1, 2)
    assert r["escalation"]["baseline"]["tp"] == 1
    text = format_report(r)
    assert "ours" in text and "GPR keyword baseline" in text


def test_plover_format(tmp_path):
    p = _csv(tmp_path, "p.csv",
             "id,text,plover_type\n1,Russian forces shelled Kharkiv.,ASSAULT\n2,The EU imposed sanctions on Iran.,SANCTION\n"
             "3,The leaders held talks in Geneva.,CONSULT\n4,Japan and China agreed to a trade deal.,AGREE\n"
             "5,Iran condemned the decision.,DISAPPROVE\n")
    r = evaluate("plover", p)
    assert r["escalation"]["n"] == 4  # DISAPPROVE is outside the escalation F1
    assert r["escalation"]["ours"]["f1"] == 1.0
    assert r["per_type"]["CONSULT"]["tp"] == 1
    assert "ASSAULT" in r["macro_f1_types"] and 0 < r["macro_f1"] <= 1
    assert r["per_signal"]["strike_attack"]["tp"] == 1
    assert "macro-F1" in format_report(r)


def test_conflibert_format_with_overlap_column(tmp_path):
    p = _csv(tmp_path, "c.csv",
             "id,text,label,label_name,plover_overlap_id\n"
             "a,Russian forces shelled Kharkiv.,4,material_conflict,\n"
             "b,The EU imposed sanctions on Iran.,3,verbal_conflict,p-1\n"
             "c,The leaders held talks in Geneva.,1,verbal_cooperation,\n"
             "d,The minister spoke about the weather.,0,neutral,\n")
    r = evaluate("conflibert", p)
    assert r["conflict"]["n"] == 3 and r["conflict"]["ours"]["f1"] == 1.0
    assert r["non_overlap"]["rows"] == 3 and r["non_overlap"]["n"] == 2
    assert r["conflict"]["neutral_rows"] == 1
    assert "without plover_overlap_id" in format_report(r)


def test_bad_files(tmp_path):
    with pytest.raises(DatasetError, match="missing column"):
        evaluate("csv", _csv(tmp_path, "x.csv", "sentence,label\nx,1\n"))
    with pytest.raises(DatasetError, match="label must be 0 or 1"):
        evaluate("csv", _csv(tmp_path, "y.csv", "text,label\nx,maybe\n"))
    with pytest.raises(FileNotFoundError):
        evaluate("csv", tmp_path / "none.csv")


def test_cli_evaluate_json_and_errors(tmp_path, capsys):
    p = _csv(tmp_path, "d.csv", 'text,label\n"Russian forces shelled Kharkiv.",1\n"Talks resumed.",0\n')
    code, out = _run(["evaluate", "--dataset", "csv", str(p), "--json"])
    assert code == 0 and json.loads(out)["escalation"]["ours"]["f1"] == 1.0
    code, _ = _run(["evaluate", "--dataset", "csv", str(tmp_path / "missing.csv")])
    assert code == 2 and "no such file" in capsys.readouterr().err
    code, _ = _run(["evaluate", "--dataset", "csv", str(_csv(tmp_path, "b.csv", "a,b\n1,2\n"))])
    assert code == 2 and "missing column" in capsys.readouterr().err


@pytest.mark.shared
def test_train_split_beats_the_keyword_baseline():
    # train.csv is the tuning split (data rule); test.csv and plover/ are measured, not tested
    if not TRAIN.is_file():
        pytest.skip(f"{TRAIN} not present (../shared/data is optional)")
    r = evaluate("conflibert", TRAIN)
    ours, base = r["conflict"]["ours"], r["conflict"]["baseline"]
    assert r["rows"] == 1349
    assert ours["f1"] > base["f1"] + 0.2
    assert ours["f1"] >= 0.8


# --- the shipped linear models side by side (pipeline/model.py) ---------------------------------


def test_systems_side_by_side_csv(tmp_path):
    p = _csv(tmp_path, "d.csv", 'text,label\n"Russian forces shelled Kharkiv.",1\n"Talks resumed in Geneva.",0\n'
             '"Russia denied massing troops.",0\n"Fears of war grow.",1\n')
    plain = evaluate("csv", p)
    assert "model" not in plain["escalation"] and "model" not in plain
    r = evaluate("csv", p, systems=("rules", "model", "hybrid"))
    esc = r["escalation"]
    assert esc["ours"] == plain["escalation"]["ours"]  # the rules rows do not change
    for k in ("model", "hybrid"):
        assert esc[k]["tp"] + esc[k]["fp"] + esc[k]["fn"] + esc[k]["tn"] == 4
    assert len(r["model"]["train_sha256"]) == 64 and set(r["model"]["systems"]) == {"model", "hybrid"}
    text = format_report(r)
    assert "model (linear, words)" in text and "hybrid (linear, words+rules)" in text and "models:" in text
    with pytest.raises(DatasetError, match="unknown system"):
        evaluate("csv", p, systems=("rules", "bert"))


def test_systems_conflibert_rates(tmp_path):
    p = _csv(tmp_path, "c.csv",
             "id,text,label,label_name,plover_overlap_id\n"
             "a,Russian forces shelled Kharkiv.,4,material_conflict,\n"
             "b,The EU imposed sanctions on Iran.,3,verbal_conflict,p-1\n"
             "c,The leaders held talks in Geneva.,1,verbal_cooperation,\n"
             "d,The minister spoke about the weather.,0,neutral,\n")
    r = evaluate("conflibert", p, systems=("model", "hybrid"))
    c = r["conflict"]
    assert set(c["neutral_false_alarm_rate"]) == {"ours", "baseline", "model", "hybrid"}
    assert set(c["escalation_rate_by_class"]["4"]) == {"n", "ours", "baseline", "model", "hybrid"}
    assert "hybrid" in r["non_overlap"]
    text = format_report(r)
    assert "escalation rate by class (ours / model / hybrid / baseline)" in text


def test_plover_single_label_line(tmp_path):
    # two signals of different types in one row: the per-type figures count both,
    # the single-label reading only the heavier (troop build-up, weight 5 > talks 2.5)
    p = _csv(tmp_path, "p.csv",
             "id,text,plover_type\n"
             "1,Russia massed troops near the border while holding talks with Ukraine.,MOBILIZE\n"
             "2,The leaders held talks in Geneva.,CONSULT\n")
    r = evaluate("plover", p)
    assert r["per_type"]["CONSULT"]["fp"] == 1
    single = r["single_label"]["rules_strongest"]
    assert single["per_type"]["CONSULT"]["fp"] == 0 and single["per_type"]["MOBILIZE"]["tp"] == 1
    assert single["macro_f1"] == 1.0 > r["macro_f1"]
    assert "single-label rules" in format_report(r)
    r2 = evaluate("plover", p, systems=("rules", "hybrid"))
    assert "hybrid_direction_strongest" in r2["single_label"] and "hybrid" in r2["escalation"]
    assert r2["macro_f1"] == r["macro_f1"]


def test_cli_evaluate_systems(tmp_path, capsys):
    p = _csv(tmp_path, "d.csv", 'text,label\n"Russian forces shelled Kharkiv.",1\n"Talks resumed.",0\n')
    code, out = _run(["evaluate", "--dataset", "csv", str(p), "--systems", "rules,model,hybrid"])
    assert code == 0 and "hybrid (linear, words+rules)" in out
    code, out = _run(["evaluate", "--dataset", "csv", str(p), "--systems", "rules,hybrid", "--json"])
    assert code == 0 and "hybrid" in json.loads(out)["escalation"]
    code, _ = _run(["evaluate", "--dataset", "csv", str(p), "--systems", "svm"])
    assert code == 2 and "unknown system" in capsys.readouterr().err
