"""Is this text about geopolitics at all? A small learned gate in front of the rules.

The rule scorer finds escalation *phrases*; on real news most false alarms are
phrases in the wrong world: "attack" in a match report, "strike" by workers,
"sanctions" on a footballer, "killed" in a plane crash. This module answers the
question the phrases cannot: is the article about states, armed forces,
governments, alliances or armed groups? A signal counts only when the answer
is yes (:mod:`pipeline.score` asks once per article that has a signal or an
actor).

The model is a binary logistic regression over the same word features the
automaton sees (:func:`pipeline.signals.normalise`, unigrams and bigrams, each
occurrence worth ``1 / sqrt(n)``), trained by :mod:`pipeline.relevance_train`
(``scripts/train_relevance.py``) on the tuning data only and shipped as
``pipeline/data/relevance.npz``. Inference is a dict lookup per feature and a
sum: no numpy on the hot path, no scikit-learn, no download.

Owns: the weights file's format, the features, the decision and its
explanation. Must not touch: the rules, the store, anything with a clock.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError
from .signals import DATA_DIR, normalise

__all__ = ["RELEVANCE_PATH", "RULE_GATE", "Gate", "Judgement", "RuleGate", "features", "lexicon_features", "load_gate"]

RELEVANCE_PATH = DATA_DIR / "relevance.npz"


def features(text: str) -> list[str]:
    """Word features of ``text``, one per occurrence: every token and every pair of
    neighbouring tokens (``"troops massed"``). Tokens are the automaton's (lower
    case, punctuation blanked), so a word feature never holds punctuation or ``@``.
    Each occurrence is worth ``1 / sqrt(n)`` (a length-normalised bag)."""
    toks = normalise(text).split()
    return toks + [a + " " + b for a, b in zip(toks, toks[1:])]


def lexicon_features(scan: Any) -> list[str]:
    """What the automaton found, as presence features worth 1 each (not length-
    normalised: a state named in a six-word headline is as much a state as in a
    long summary): ``@actor`` (a state, alliance or armed group from the
    gazetteer), ``@actors2`` (two different ones) and ``@ctx:<name>`` per context
    found (military, political, sport, business ...). They carry the gazetteer and
    the topic lexicon into the learned decision, so a state named in no training
    text still counts as a state."""
    out = []
    codes = {a[2] for a in scan.actors}
    if codes:
        out.append("@actor")
        if len(codes) > 1:
            out.append("@actors2")
    out += sorted({"@ctx:" + c[3] for c in scan.cues if c[2] == "context"})
    return out


_SPACE_JOIN = " ".join


def _zeros(n: int) -> Any:
    return itertools.repeat(0.0, n)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The gate's answer for one text."""

    probability: float
    relevant: bool
    #: the features that pushed hardest towards the answer, strongest first
    because: tuple[str, ...] = ()
    #: decided by a rule (:class:`RuleGate`), not by the learned weights
    by_rule: bool = False

    def explain(self) -> str:
        words = ", ".join(repr(w) for w in self.because)
        verdict = "geopolitical" if self.relevant else "not geopolitical"
        if self.by_rule:
            return f"{verdict} by rule ({words or 'no state, armed force or political context named'})"
        return f"{verdict} (p={self.probability:.2f}{'; ' + words if words else ''})"


@dataclass(frozen=True)
class RuleGate:
    """The gate for languages the learned one never read (Russian, Ukrainian): a text is
    geopolitical when it names a state, alliance or armed group from the gazetteer, or
    has a military or political context phrase (GPR's rule: a threat or act word
    counts only beside a topic word). Same interface as :class:`Gate`."""

    #: a named state, alliance or armed group is enough
    actor: str = "@actor"
    #: a topic phrase is enough when no off-topic context stands beside it ("наступление
    #: на рынок смартфонов" is a company's, "атака" in a match report a striker's)
    topics: frozenset[str] = frozenset({"@ctx:military", "@ctx:political"})
    off_topics: frozenset[str] = frozenset({"@ctx:sport", "@ctx:business", "@ctx:crime", "@ctx:accident"})

    def decide(self, text: str, extra: Sequence[str], norm: str | None = None) -> Judgement:
        if self.actor in extra:
            return Judgement(1.0, True, (self.actor,), by_rule=True)
        topics = tuple(f for f in extra if f in self.topics)
        off = tuple(f for f in extra if f in self.off_topics)
        if topics and not off:
            return Judgement(1.0, True, topics, by_rule=True)
        return Judgement(0.0, False, off, by_rule=True)


RULE_GATE = RuleGate()


@dataclass(frozen=True)
class Gate:
    """A shipped gate: feature weights, bias, threshold and the training record."""

    weights: dict[str, float]
    bias: float
    threshold: float
    meta: dict[str, Any]

    def logit(self, text: str, extra: Sequence[str] = (), norm: str | None = None) -> float:
        """``norm``: :func:`~pipeline.signals.normalise` of ``text`` when the caller has it."""
        toks = (normalise(text) if norm is None else norm).split()
        get = self.weights.get
        z = self.bias
        if toks:
            # features() without building the list: tokens, then neighbouring pairs
            n = len(toks)
            s = sum(map(get, toks, _zeros(n)))
            if n > 1:
                # "word word" strings made by str.join in C, not by a Python function per pair
                s += sum(map(get, map(_SPACE_JOIN, zip(toks, itertools.islice(toks, 1, None))), _zeros(n - 1)))
            z += s / math.sqrt(2 * n - 1)
        for f in extra:
            z += get(f, 0.0)
        return z

    def decide(self, text: str, extra: Sequence[str], norm: str | None = None) -> Judgement:
        """The decision alone (no explaining features): the scorer's hot path."""
        z = self.logit(text, extra, norm)
        p = 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0
        return Judgement(round(p, 4), p >= self.threshold)

    def judge(self, text: str, explain: int = 3, extra: Sequence[str] | None = None) -> Judgement:
        """The decision with the ``explain`` features that weighed most towards it.

        ``extra``: the text's :func:`lexicon_features`; None scans the text for them
        (the scorer passes the scan it already has)."""
        if extra is None:
            from .signals import load_lexicon

            extra = lexicon_features(load_lexicon().scan(text))
        decision = self.decide(text, extra)
        if not explain:
            return decision
        # each feature's share of the logit, to name the ones that weighed most
        feats = features(text)
        get = self.weights.get
        scale = 1.0 / math.sqrt(len(feats)) if feats else 0.0
        contrib: dict[str, float] = {}
        for f, share in [(f, scale) for f in feats] + [(f, 1.0) for f in extra]:
            w = get(f)
            if w is not None:
                contrib[f] = contrib.get(f, 0.0) + w * share
        sign = 1.0 if decision.relevant else -1.0
        top = sorted((f for f in contrib if sign * contrib[f] > 0), key=lambda f: -sign * contrib[f])[:explain]
        return Judgement(decision.probability, decision.relevant, tuple(top))



def save_gate(path: str | Path, weights: dict[str, float], bias: float, threshold: float, meta: dict[str, Any]) -> None:
    """Write the weights file (used by the training script)."""
    import numpy as np

    names = sorted(weights)
    meta = {**meta, "threshold": threshold, "bias": bias, "n_features": len(names)}
    with open(path, "wb") as f:
        np.savez_compressed(
            f,
            vocab=np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8),
            weights=np.asarray([weights[n] for n in names], dtype=np.float32),
            meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        )


def read_gate(path: str | Path) -> Gate:
    import numpy as np

    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ConfigError("bad relevance weights file: not an .npz (zip) archive", str(path))
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            names = bytes(z["vocab"]).decode("utf-8").split("\n")
            values = z["weights"].astype(float).tolist()
    except FileNotFoundError:
        raise ConfigError("relevance weights file missing (run scripts/train_relevance.py)", str(path)) from None
    except (KeyError, ValueError, OSError) as e:
        raise ConfigError(f"bad relevance weights file: {e}", str(path)) from None
    if len(names) != len(values):
        raise ConfigError("bad relevance weights file: vocabulary and weights differ in length", str(path))
    return Gate(dict(zip(names, values)), float(meta["bias"]), float(meta["threshold"]), meta)


@functools.cache
def load_gate() -> Gate:
    """The shipped gate, read once per process."""
    return read_gate(RELEVANCE_PATH)


def gate_from_arrays(names: Sequence[str], coef: Sequence[float], bias: float, threshold: float,
                     meta: dict[str, Any] | None = None) -> Gate:
    """A gate from a fitted model's arrays (training and cross-validation use this)."""
    return Gate({n: float(c) for n, c in zip(names, coef) if c != 0.0}, float(bias), float(threshold), meta or {})
