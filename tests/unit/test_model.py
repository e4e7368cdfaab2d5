"""pipeline.model: the shipped weights, numpy-only inference, and the training script."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import ConfigError
from pipeline.model import (
    CLASSES,
    MODEL_PATH,
    FeatureConfig,
    is_escalation,
    load_model,
    predict_proba,
    rule_features,
    text_features,
)
from pipeline.score import score_text

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT.parent / "shared" / "data" / "conflibert_cameo" / "train.csv"
SCRIPT = ROOT / "scripts" / "train_model.py"

# written for these tests (not from any dataset)
CONFLICT = "Russian forces shelled Kharkiv overnight, killing six civilians."
COOPERATION = "The two governments signed an agreement to expand trade and cultural exchanges."


def test_shipped_weights_load_and_are_small():
    assert MODEL_PATH.is_file()
    assert MODEL_PATH.stat().st_size < 2 * 1024 * 1024
    b = load_model()
    assert load_model() is b  # loaded once
    for name in ("model", "hybrid"):
        m = b.system(name)
        assert m.weights.shape == (len(m.vocab), len(CLASSES)) and m.weights.dtype == np.float32
        assert m.bias.shape == (len(CLASSES),)
        assert 0.0 < m.threshold < 1.0
    assert not b.model.config.rules and b.hybrid.config.rules
    assert any(f.startswith("r:") for f in b.hybrid.vocab)
    meta = b.meta
    assert meta["trained_on"] == "conflibert_cameo/train.csv" and len(meta["train_sha256"]) == 64
    assert set(meta["chosen"]) == {"model", "hybrid"}
    assert 0.5 < meta["chosen"]["model"]["cv_at_threshold"]["f1"] <= 1.0
    with pytest.raises(ValueError, match="unknown model system"):
        b.system("bert")


def test_predictions_are_deterministic_and_paths_agree():
    texts = [CONFLICT, COOPERATION, "", "Local team wins the cup final"]
    for system in ("model", "hybrid"):
        p1 = predict_proba(texts, system=system)
        p2 = predict_proba(texts, system=system)
        assert p1.shape == (4, 5)
        assert np.array_equal(p1, p2)
        assert np.allclose(p1.sum(axis=1), 1.0)
        m = load_model().system(system)
        one = [m.escalation_proba_one(t) for t in texts]
        assert np.allclose(one, p1[:, 3] + p1[:, 4], atol=1e-5)
        # batch of one == batch of many
        assert np.allclose(m.predict_proba([texts[1]])[0], p1[1])


def test_hybrid_reuses_a_given_score():
    m = load_model().hybrid
    s = score_text(CONFLICT)
    assert m.escalation_proba_one(CONFLICT, s) == pytest.approx(m.escalation_proba_one(CONFLICT))
    assert np.allclose(m.predict_proba([CONFLICT], [s]), m.predict_proba([CONFLICT]))


def test_clear_sentences():
    for system in ("model", "hybrid"):
        assert is_escalation(CONFLICT, system=system)
        assert not is_escalation(COOPERATION, system=system)


def test_features():
    cfg = FeatureConfig(bigrams=True, prefix=5)
    f = text_features("Russia imposed sanctions, sanctions!", cfg)
    assert f == ["russia", "imposed", "sanctions", "sanctions", "russia imposed", "imposed sanctions",
                 "sanctions sanctions", "russi*", "impos*", "sanct*", "sanct*"]
    assert text_features("", cfg) == []
    assert text_features("Troops", FeatureConfig(bigrams=False, prefix=0)) == ["troops"]
    r = rule_features(score_text("Russia massed troops near the border while holding talks with Ukraine."))
    assert r["r:cat:troop_buildup"] == 1.0 and r["r:esc"] == 1.0 and r["r:deesc"] == 1.0
    assert r["r:max_esc"] == pytest.approx(0.5) and 0 < r["r:score"] < 1
    assert rule_features(score_text("Local team wins")) == {"r:none": 1.0}
    neg = rule_features(score_text("NATO ruled out sending troops to Ukraine."))
    assert "r:esc" not in neg


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="bad model weights"):
        load_model(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_model(tmp_path / "none.npz")


def test_inference_does_not_import_scikit_learn():
    code = ("import sys, pipeline.model as m; m.predict_proba(['Russia shelled Kharkiv']); "
            "print('sklearn' in sys.modules, 'scipy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


# --- training ---------------------------------------------------------------------------------

_TEMPLATES = {
    0: ["{a} said it would study the report on {b}.", "{a} spokesman commented on the {b} election."],
    1: ["{a} praised {b} for the constructive dialogue.", "{a} and {b} agreed to hold talks next month."],
    2: ["{a} sent food aid to {b}.", "{a} released {b} prisoners under the ceasefire deal."],
    3: ["{a} condemned {b} and threatened sanctions.", "{a} demanded that {b} withdraw its ambassador."],
    4: ["{a} troops attacked {b} positions.", "{a} shelled {b} villages, killing civilians."],
}
_ACTORS = ["Russia", "Ukraine", "China", "Japan", "Iran", "Israel", "India", "Pakistan"]


@pytest.mark.timeout(300)
def test_training_smoke(tmp_path):
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("train_model", SCRIPT)
    tm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tm)
    tm.WORD_GRID = [{"bigrams": True, "prefix": 5, "min_df": 1}]
    tm.C_GRID = (10.0,)
    tm.RULE_SCALES = (1.0,)
    train = tmp_path / "train.csv"
    with train.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label", "label_name"])
        n = 0
        for label, temps in _TEMPLATES.items():
            for t in temps:
                for i, a in enumerate(_ACTORS):
                    n += 1
                    w.writerow([f"s{n}", t.format(a=a, b=_ACTORS[(i + 3) % len(_ACTORS)]), label, CLASSES[label]])
    out = tmp_path / "model.npz"
    assert tm.main(["--train", str(train), "--out", str(out), "--folds", "2", "--repeats", "1"]) == 0
    b = load_model(out)
    assert b.meta["train_sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert b.meta["train_rows"] == 80
    p = b.hybrid.predict_proba(["Japan troops attacked Iran positions."])
    assert p.argmax() == 4
    # same data, same seed: same weights
    out2 = tmp_path / "model2.npz"
    assert tm.main(["--train", str(train), "--out", str(out2), "--folds", "2", "--repeats", "1"]) == 0
    b2 = load_model(out2)
    assert np.array_equal(b.hybrid.weights, b2.hybrid.weights) and b.hybrid.vocab == b2.hybrid.vocab


@pytest.mark.shared
def test_shipped_weights_were_trained_on_train_csv():
    if not TRAIN.is_file():
        pytest.skip(f"{TRAIN} not present (../shared/data is optional)")
    meta = load_model().meta
    assert meta["train_sha256"] == hashlib.sha256(TRAIN.read_bytes()).hexdigest()
    assert meta["train_rows"] == 1349
