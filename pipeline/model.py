"""A small linear sentence classifier next to the rule scorer (numpy only).

Two multinomial logistic-regression models over the five ConfliBERT/CAMEO quad
classes (0 neutral, 1 verbal cooperation, 2 material cooperation, 3 verbal
conflict, 4 material conflict), trained by ``scripts/train_model.py`` on
``conflibert_cameo/train.csv`` only and shipped as ``pipeline/data/model.npz``:

* ``model``: word features only (unigrams, bigrams, word prefixes);
* ``hybrid``: the same word features plus the rule scorer's own output
  (:func:`pipeline.score.score_text`: counting categories, directions, kinds,
  modalities, strongest weights, score), i.e. a stacked hybrid.

A text "is escalation" when P(class 3) + P(class 4) reaches the model's
threshold (chosen by cross-validation on train, stored in the weights file).

Features are built here and nowhere else, so training and inference cannot
drift apart: the training script calls :func:`text_features` and
:func:`rule_features`. Every occurrence of a word feature adds the same value,
``1 / sqrt(number of word-feature occurrences in the text)`` (a length-normalised
bag; no de-duplication, which would cost more than the rest of the lookup);
rule features keep their own values times ``rule_scale``.

Inference is a dictionary lookup per feature and a sum of weight rows: no
scikit-learn, no download. Pure: no clock, network or database.

Must not touch: the hot scoring path (the rules and the relevance gate decide what counts), the store.
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import ConfigError
from .signals import DATA_DIR, normalise

__all__ = [
    "CLASSES",
    "MODEL_PATH",
    "FeatureConfig",
    "LinearModel",
    "ModelBundle",
    "is_escalation",
    "load_model",
    "predict_proba",
    "rule_features",
    "text_features",
]

MODEL_PATH = DATA_DIR / "model.npz"
CLASSES = ("neutral", "verbal_cooperation", "material_cooperation", "verbal_conflict", "material_conflict")
ESCALATION_CLASSES = (3, 4)
SYSTEMS = ("model", "hybrid")
_NOT_COUNTING = ("negated", "denied")


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Which word features a model uses (stored with its weights)."""

    bigrams: bool = True
    #: also emit the first ``prefix`` characters of longer words ("sanct", "withd"); 0 = off
    prefix: int = 0
    #: add the rule scorer's features (the hybrid)
    rules: bool = False
    #: multiplier of the rule features against the L2-normalised word bag
    rule_scale: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"bigrams": self.bigrams, "prefix": self.prefix, "rules": self.rules, "rule_scale": self.rule_scale}


def text_features(text: str, cfg: FeatureConfig) -> list[str]:
    """Word features of ``text``, one per occurrence: ``word``, ``word1 word2``
    (bigram), ``prefix*`` (the first ``cfg.prefix`` letters of a longer word).

    Tokens are :func:`pipeline.signals.normalise` (lower case, punctuation
    blanked) split on white space, the same normalisation as the automaton, so a
    token never holds a space, ``*`` or ``:`` and the three kinds (and the rule
    features, ``r:...``) cannot collide. Plain string building: this runs per article.
    """
    toks = normalise(text).split()
    feats = toks + [a + " " + b for a, b in zip(toks, toks[1:])] if cfg.bigrams else toks[:]
    if cfg.prefix:
        n = cfg.prefix
        feats += [t[:n] + "*" for t in toks if len(t) > n]
    return feats


def rule_features(scored: Any) -> dict[str, float]:
    """Features of a :class:`~pipeline.types.ScoredArticle` (values before ``rule_scale``).

    ``r:cat:<id>`` per counting category (modality not negated or denied);
    ``r:esc`` / ``r:deesc`` a counting escalation / de-escalation signal;
    ``r:kind:<kind>`` and ``r:mod:<modality>`` of every signal (``r:mod:negated``
    too: a negated threat is evidence of its own); ``r:none`` no signal at all;
    ``r:max_esc`` / ``r:max_deesc`` the strongest weight of each direction / 10;
    ``r:score`` the 0-100 score / 100.
    """
    out: dict[str, float] = {}
    sigs = scored.signals
    if not sigs:
        out["r:none"] = 1.0
        return out
    max_esc = max_de = 0.0
    for g in sigs:
        out["r:mod:" + g.modality] = 1.0
        if g.modality in _NOT_COUNTING or g.weight == 0:
            continue
        out["r:cat:" + g.signal] = 1.0
        out["r:kind:" + g.kind] = 1.0
        if g.direction == "escalation":
            out["r:esc"] = 1.0
            max_esc = max(max_esc, g.weight)
        else:
            out["r:deesc"] = 1.0
            max_de = max(max_de, -g.weight)
    if max_esc:
        out["r:max_esc"] = max_esc / 10.0
    if max_de:
        out["r:max_deesc"] = max_de / 10.0
    if scored.score:
        out["r:score"] = scored.score / 100.0
    return out


@dataclass(frozen=True)
class LinearModel:
    """One shipped model: vocabulary, weights (features x classes), bias."""

    name: str
    config: FeatureConfig
    vocab: dict[str, int]
    weights: np.ndarray  # float32 (n_features, n_classes)
    bias: np.ndarray  # float32 (n_classes,)
    threshold: float

    def _rules(self, text: str, scored: Any) -> tuple[list[int], list[float]]:
        if scored is None:
            from .score import score_text

            scored = score_text(text)
        get = self.vocab.get
        s = self.config.rule_scale
        idx: list[int] = []
        vals: list[float] = []
        for name, x in rule_features(scored).items():
            i = get(name)
            if i is not None:
                idx.append(i)
                vals.append(x * s)
        return idx, vals

    def logits(self, texts: Sequence[str], scored: Sequence[Any] | None = None) -> np.ndarray:
        """Class logits for a batch: one gather of weight rows, a cumulative sum per
        text, and the rule features (hybrid) added per class."""
        n = len(texts)
        get = self.vocab.get
        cfg = self.config
        flat: list[int] = []
        bounds = [0]
        scale = np.zeros(n)
        r_rows: list[int] = []
        r_idx: list[int] = []
        r_vals: list[float] = []
        for r, text in enumerate(texts):
            feats = text_features(text, cfg)
            if feats:
                scale[r] = 1.0 / math.sqrt(len(feats))
                flat += [i for i in map(get, feats) if i is not None]
            bounds.append(len(flat))
            if cfg.rules:
                i, v = self._rules(text, scored[r] if scored is not None else None)
                r_rows += [r] * len(i)
                r_idx += i
                r_vals += v
        out = np.tile(self.bias.astype(np.float64), (n, 1))
        if flat:
            cum = np.zeros((len(flat) + 1, out.shape[1]))
            np.cumsum(self.weights[np.asarray(flat, dtype=np.intp)], axis=0, dtype=np.float64, out=cum[1:])
            b = np.asarray(bounds, dtype=np.intp)
            out += (cum[b[1:]] - cum[b[:-1]]) * scale[:, None]
        if r_idx:
            contrib = self.weights[np.asarray(r_idx, dtype=np.intp)] * np.asarray(r_vals)[:, None]
            rows = np.asarray(r_rows, dtype=np.intp)
            for k in range(out.shape[1]):
                out[:, k] += np.bincount(rows, weights=contrib[:, k], minlength=n)
        return out

    def predict_proba(self, texts: Sequence[str], scored: Sequence[Any] | None = None) -> np.ndarray:
        """(n, 5) class probabilities; ``scored`` (the texts' ScoredArticles) saves
        re-scoring in the hybrid."""
        z = self.logits(texts, scored)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def escalation_proba(self, texts: Sequence[str], scored: Sequence[Any] | None = None) -> np.ndarray:
        """P(class 3 or 4) for a batch."""
        p = self.predict_proba(texts, scored)
        return p[:, list(ESCALATION_CLASSES)].sum(axis=1)

    def escalation_proba_one(self, text: str, scored: Any = None) -> float:
        """P(class 3 or 4) for one text: the batch path without its batch bookkeeping
        (a gather and a sum of the weight rows; softmax of five numbers in Python)."""
        feats = text_features(text, self.config)
        z = self.bias.astype(np.float64)
        if feats:
            idx = [i for i in map(self.vocab.get, feats) if i is not None]
            if idx:
                z = z + self.weights[idx].sum(axis=0, dtype=np.float64) * (1.0 / math.sqrt(len(feats)))
        if self.config.rules:
            r_idx, r_vals = self._rules(text, scored)
            if r_idx:
                z = z + np.asarray(r_vals) @ self.weights[r_idx]
        zl = z.tolist()
        m = max(zl)
        e = [math.exp(a - m) for a in zl]
        return (e[3] + e[4]) / sum(e)

    def is_escalation(self, text: str, scored: Any = None) -> bool:
        return self.escalation_proba_one(text, scored) >= self.threshold


@dataclass(frozen=True)
class ModelBundle:
    """The shipped weights file: both systems and the training metadata."""

    model: LinearModel
    hybrid: LinearModel
    meta: dict[str, Any]

    def system(self, name: str) -> LinearModel:
        if name not in SYSTEMS:
            raise ValueError(f"unknown model system {name!r} ({', '.join(SYSTEMS)})")
        return getattr(self, name)


def save_model(path: str | Path, models: dict[str, LinearModel], meta: dict[str, Any]) -> None:
    """Write the weights file (used by scripts/train_model.py)."""
    arrays: dict[str, np.ndarray] = {}
    meta = dict(meta)
    meta["systems"] = {}
    for name, m in models.items():
        names = sorted(m.vocab, key=m.vocab.__getitem__)
        arrays[f"{name}.vocab"] = np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8)
        arrays[f"{name}.weights"] = m.weights.astype(np.float32)
        arrays[f"{name}.bias"] = m.bias.astype(np.float32)
        meta["systems"][name] = {"config": m.config.as_dict(), "threshold": m.threshold, "n_features": len(names)}
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _read(path: Path) -> ModelBundle:
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ConfigError("bad model weights file: not an .npz (zip) archive", str(path))
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            models = {}
            for name in SYSTEMS:
                s = meta["systems"][name]
                raw = bytes(z[f"{name}.vocab"]).decode("utf-8")
                names = raw.split("\n") if raw else []
                weights = z[f"{name}.weights"]
                if weights.shape != (len(names), len(CLASSES)):
                    raise ValueError(f"{name}: weights {weights.shape} for {len(names)} features")
                models[name] = LinearModel(
                    name=name,
                    config=FeatureConfig(**s["config"]),
                    vocab={f: i for i, f in enumerate(names)},
                    weights=weights,
                    bias=z[f"{name}.bias"],
                    threshold=float(s["threshold"]),
                )
    except FileNotFoundError:
        raise ConfigError("model weights not found (run scripts/train_model.py)", str(path)) from None
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise ConfigError(f"bad model weights file: {e}", str(path)) from e
    return ModelBundle(models["model"], models["hybrid"], meta)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> ModelBundle:
    return _read(Path(path))


def load_model(path: str | Path | None = None) -> ModelBundle:
    """Load the weights file once per process (``pipeline/data/model.npz`` by default)."""
    return _load_cached(str(Path(path) if path else MODEL_PATH))


def predict_proba(texts: Iterable[str], system: str = "hybrid", scored: Sequence[Any] | None = None) -> np.ndarray:
    """(n, 5) probabilities of the CAMEO quad classes (see :data:`CLASSES`)."""
    texts = list(texts)
    return load_model().system(system).predict_proba(texts, scored)


def is_escalation(text: str, system: str = "hybrid", scored: Any = None) -> bool:
    """True when P(verbal or material conflict) reaches the system's CV-chosen threshold."""
    return load_model().system(system).is_escalation(text, scored)
