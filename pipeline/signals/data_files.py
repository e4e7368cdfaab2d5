"""The three data files behind the scorer, read and validated with line numbers.

* ``taxonomy.yaml``: signal categories, their phrase patterns, modality cues and
  weights (see the comment at the top of that file for the pattern syntax);
* ``gazetteer.yaml``: actor names (plus every pycountry country name) -> codes;
* ``watchlist.yaml``: the theatres (dyads / regions) the dashboard tracks.

Each ``load_*`` function reads one file with ruamel's round-trip loader (it keeps
every node's line), checks it, and returns plain values and frozen records
(:class:`Category`, :class:`Theatre`) or raises one :class:`ConfigError` listing
every problem with its line. :func:`category_labels` is the fast, unvalidated
read the dashboard uses for names.

Owns: the files' paths, their format and every message about them. Must not
touch: the automaton and the scan (:mod:`pipeline.signals.lexicon` compiles what
these functions return). Pure: reads files, no clock, no network, no database.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ConfigProblem
from .patterns import normalise, pattern_parts

# the package's data directory, one level above this subpackage
DATA_DIR = Path(__file__).parent.parent / "data"
TAXONOMY_PATH = DATA_DIR / "taxonomy.yaml"
GAZETTEER_PATH = DATA_DIR / "gazetteer.yaml"
WATCHLIST_PATH = DATA_DIR / "watchlist.yaml"

DIRECTIONS = ("escalation", "de-escalation")
KINDS = ("threat", "act")
MODALITIES = ("action", "threat", "conditional", "negated", "denied", "hedged")
CUE_TYPES = (
    "negated_before",
    "negated_after",
    "denied_before",
    "denied_after",
    "conditional",
    "hedged",
    "threat",
    "request",
    "background",
    "refusal",
    "consequence",
    "agenda",
    "idiom",
    "aim",
    "prerequisite",
    "demand",
    "denied_predicate",
)
#: cue types a taxonomy may leave out (added after the first version)
OPTIONAL_CUE_TYPES = ("consequence", "agenda", "idiom", "request", "background", "refusal", "aim",
                      "prerequisite", "demand", "denied_predicate")


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    label: str
    direction: str
    kind: str
    weight: float
    threat_variant: str | None
    negated_variant: str | None
    yields_to: frozenset[str]
    patterns: tuple[str, ...]
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    line: int | None = None
    yields_after: frozenset[str] = frozenset()
    #: the hit counts only when its sentence has one of these contexts (a name from the
    #: taxonomy's ``contexts``, or ``actor``: a gazetteer actor, ``two_actors``: a source
    #: and a target); empty = no requirement
    needs: frozenset[str] = frozenset()
    #: the hit does not count when its sentence has one of these contexts and none of the
    #: taxonomy's ``relevance.rescue_contexts`` ("flooding kills nine": an accident)
    vetoed_by: frozenset[str] = frozenset()
    #: the modality of a hit with no cue: "threat" for a category whose words are a
    #: threat ("warned of sanctions"), "action" for one whose words report a deed
    #: that is threat-kind in GPR's split (a nuclear test, an accusation, a demand)
    stated_as: str = "threat"
    #: the category a hit becomes when it is only asked for ("Israel urges sanctions on
    #: Iran" -> sanctions_threat); None: it keeps its own (a call for a no-fly zone is not
    #: a threat of force)
    request_variant: str | None = None
    #: a refusal before the hit confirms it instead of negating it ("Ukraine rejects Russia's
    #: demand to surrender": the demand was made)
    refusal_confirms: bool = False


@dataclass(frozen=True, slots=True)
class Theatre:
    id: str
    name: str
    sides: tuple[frozenset[str], frozenset[str]]
    anchors: frozenset[str]
    #: a wider theatre that gives way to a narrower one present in the article
    #: (RUS-NATO to RUS-UKR: Western sanctions and arms for Ukraine are the Ukraine war)
    defers_to: str | None = None
    #: ... unless the article's heaviest signal is one of these (NATO posture, security demands)
    keeps: frozenset[str] = frozenset()
    #: an anchor alone makes the theatre only with a counted signal of these categories
    #: (Russia alone is RUS-NATO when it threatens or drills, not when a bomb goes off in
    #: Moscow); empty: any signal
    anchor_categories: frozenset[str] = frozenset()
    #: (actors, categories) pairs: one of the actors makes the theatre alone, with no actor of
    #: another theatre or of no theatre in the article, when a counted signal is one of the
    #: categories ("NATO bolsters its eastern flank" is RUS-NATO with no Russian named; "NATO
    #: sends troops to Afghanistan" is not)
    posture: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()
    #: the wider theatre gives way to ``defers_to`` when the heaviest signal is one of these,
    #: even with no actor of the narrower one named (Western sanctions on Russia are the
    #: Ukraine crisis: news_tuning/GUIDE.md)
    hands_over: frozenset[str] = frozenset()


# --- YAML loading with line numbers -----------------------------------------------


def _load_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}", path=str(path)) from e
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            [ConfigProblem(str(path), line, None, "", f"invalid YAML: {getattr(e, 'problem', e)}")],
            path=str(path),
        ) from e


def _line(node: Any, key: Any = None) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return lc.line + 1
        if isinstance(key, int):
            return lc.item(key)[0] + 1
        return lc.key(key)[0] + 1
    except (KeyError, IndexError, TypeError):
        return lc.line + 1


class _Problems:
    def __init__(self, path: Path):
        self.path = str(path)
        self.items: list[ConfigProblem] = []

    def add(self, line: int | None, field: str, message: str) -> None:
        self.items.append(ConfigProblem(self.path, line, None, field, message))

    def unknown_keys(self, node: Any, allowed: tuple[str, ...], where: str) -> None:
        if not isinstance(node, dict):
            return
        for k in node:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(_line(node, k), f"{where}.{k}" if where else str(k), f"unknown key{hint}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items, path=self.path)


_CAT_KEYS = (
    "id", "label", "direction", "kind", "weight", "threat_variant", "request_variant",
    "negated_variant", "yields_to", "yields_after", "patterns", "examples", "needs", "vetoed_by", "stated_as",
    "refusal_confirms",
)
_TAX_KEYS = (
    "version", "max_gap_words", "modality_weights", "score_scale", "repeat_decay",
    "modality_cues", "negation_window_words", "threat_window_words", "categories",
    "contexts", "relevance",
)
#: context names that are not word lists: computed from the actors of the sentence
ACTOR_CONTEXTS = ("actor", "two_actors")
_MODALITY_WEIGHT_KEYS = ("action", "threat", "threat_kind", "conditional", "hedged", "negated", "denied")


def _str_list(node: Any, probs: _Problems, field: str, line: int | None) -> list[str]:
    if not isinstance(node, list) or not node:
        probs.add(line, field, "must be a non-empty list of strings")
        return []
    out = []
    for i, item in enumerate(node):
        if not isinstance(item, str) or not item.strip():
            probs.add(_line(node, i), f"{field}[{i}]", "must be a non-empty string")
        else:
            out.append(str(item))
    return out


def _check_cue(p: str, probs: _Problems, field: str, line: int | None) -> None:
    """A modality cue or context phrase: a pattern matched as one phrase (a `` .. `` gap
    would make each of its parts a cue alone)."""
    _check_pattern(p, probs, field, line)
    if " .. " in p:
        probs.add(line, field, f"a cue is one phrase; `..` gaps are only for category patterns: {p!r}")


def _check_pattern(p: str, probs: _Problems, field: str, line: int | None) -> None:
    depth = 0
    for ch in p:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0 or depth > 1:
            break
    if depth != 0:
        probs.add(line, field, f"unbalanced or nested parentheses in {p!r}")
        return
    for part in pattern_parts(p):
        for lit in part:
            if "*" in lit[:-1]:
                probs.add(line, field, f"'*' only allowed at the end of a part: {p!r}")
                return
            if not normalise(lit.rstrip("*")).strip():
                probs.add(line, field, f"pattern part has no letters: {p!r}")
                return


def load_taxonomy(path: Path = TAXONOMY_PATH) -> dict[str, Any]:
    """Validate taxonomy.yaml; return plain values (raises ConfigError).

    Each step below reads one section and adds what is wrong to one list, so the
    error names every problem of the file, sorted by line, not just the first."""
    doc = _load_yaml(path)
    probs = _Problems(path)
    version = _taxonomy_version(doc, probs)
    numbers = _taxonomy_numbers(doc, probs)
    modality_weights = _modality_weights(doc, probs)
    cues = _modality_cues(doc, probs)
    contexts = _contexts(doc, probs)
    known_ctx = set(contexts) | set(ACTOR_CONTEXTS)
    relevance = _relevance(doc, probs, known_ctx)
    cats = _categories(doc, probs, known_ctx)
    probs.raise_if_any()
    return {
        "version": str(version),
        "categories": cats,
        "cues": cues,
        "contexts": contexts,
        **relevance,
        "modality_weights": modality_weights,
        **numbers,
    }


def _taxonomy_version(doc: Any, probs: _Problems) -> Any:
    """The file's ``version``; a file that is not a mapping stops here (nothing else to read)."""
    if not isinstance(doc, dict):
        probs.add(1, "", "must be a mapping with `version` and `categories`")
        probs.raise_if_any()
    probs.unknown_keys(doc, _TAX_KEYS, "")
    version = doc.get("version")
    if not isinstance(version, str) or not version.strip():
        probs.add(_line(doc, "version") if "version" in doc else 1, "version", "required, a non-empty string")
    return version


def _taxonomy_numbers(doc: Any, probs: _Problems) -> dict[str, Any]:
    """The scorer's windows and scales, each within its range (else its default)."""

    def number(key: str, default: float, lo: float, hi: float) -> float:
        v = doc.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            probs.add(_line(doc, key), key, f"must be a number in [{lo}, {hi}] (got {v!r})")
            return default
        return float(v)

    max_gap = int(number("max_gap_words", 4, 0, 12))
    neg_window = int(number("negation_window_words", 6, 1, 30))
    threat_window = int(number("threat_window_words", 8, 1, 30))
    score_scale = number("score_scale", 10.0, 0.1, 1000)
    repeat_decay = number("repeat_decay", 0.5, 0, 1)
    return {
        "score_scale": score_scale,
        "repeat_decay": repeat_decay,
        "max_gap_words": max_gap,
        "negation_window_words": neg_window,
        "threat_window_words": threat_window,
    }


def _modality_weights(doc: Any, probs: _Problems) -> dict[str, float]:
    """``modality_weights`` over the defaults; each in [0, 1]."""
    mw_node = doc.get("modality_weights") or {}
    probs.unknown_keys(mw_node, _MODALITY_WEIGHT_KEYS, "modality_weights")
    modality_weights = {"action": 1.0, "threat": 0.6, "threat_kind": 1.0, "conditional": 0.5,
                        "hedged": 0.6, "negated": 0.0, "denied": 0.0}
    for k, v in dict(mw_node).items():
        if k in modality_weights:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                probs.add(_line(mw_node, k), f"modality_weights.{k}", f"must be in [0, 1] (got {v!r})")
            else:
                modality_weights[k] = float(v)
    return modality_weights


def _modality_cues(doc: Any, probs: _Problems) -> dict[str, list[str]]:
    """``modality_cues``: cue type -> phrases; every type but the optional ones required."""
    cues: dict[str, list[str]] = {}
    cue_node = doc.get("modality_cues")
    if not isinstance(cue_node, dict):
        probs.add(_line(doc, "modality_cues") if "modality_cues" in doc else 1, "modality_cues", "required mapping")
    else:
        probs.unknown_keys(cue_node, CUE_TYPES, "modality_cues")
        for t in CUE_TYPES:
            if t not in cue_node:
                if t not in OPTIONAL_CUE_TYPES:
                    probs.add(_line(cue_node), f"modality_cues.{t}", "missing")
                continue
            cues[t] = _str_list(cue_node[t], probs, f"modality_cues.{t}", _line(cue_node, t))
            for i, c in enumerate(cues[t]):
                _check_cue(c, probs, f"modality_cues.{t}[{i}]", _line(cue_node[t], i))
    return cues


def _contexts(doc: Any, probs: _Problems) -> dict[str, list[str]]:
    """``contexts``: snake_case name -> phrases (the actor contexts are reserved names)."""
    contexts: dict[str, list[str]] = {}
    ctx_node = doc.get("contexts") or {}
    if not isinstance(ctx_node, dict):
        probs.add(_line(doc, "contexts"), "contexts", "must be a mapping of name -> list of phrases")
        ctx_node = {}
    for name in ctx_node:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)) or name in ACTOR_CONTEXTS:
            probs.add(_line(ctx_node, name), f"contexts.{name}", "must be a snake_case name other than "
                      + " and ".join(ACTOR_CONTEXTS))
            continue
        contexts[str(name)] = _str_list(ctx_node[name], probs, f"contexts.{name}", _line(ctx_node, name))
        for i, c in enumerate(contexts[str(name)]):
            _check_cue(c, probs, f"contexts.{name}[{i}]", _line(ctx_node[name], i))
    return contexts


def _relevance(doc: Any, probs: _Problems, known_ctx: set[str]) -> dict[str, Any]:
    """``relevance``: the gate floor and the contexts that rescue, veto or lift a veto."""
    rel_node = doc.get("relevance") or {}
    probs.unknown_keys(rel_node, ("gate_floor", "rescue_contexts", "veto_lifted_by", "strict_vetoes", "headline_vetoes",
                        "article_vetoes"),
                       "relevance")
    strict: dict[str, frozenset[str]] = {}
    strict_node = (rel_node.get("strict_vetoes") or {}) if isinstance(rel_node, dict) else {}
    if not isinstance(strict_node, dict):
        probs.add(_line(rel_node, "strict_vetoes"), "relevance.strict_vetoes", "must map a context to a list")
        strict_node = {}
    for k, vals in strict_node.items():
        for v in [k, *(vals or [])]:
            if v not in known_ctx:
                probs.add(_line(strict_node, k), f"relevance.strict_vetoes.{k}", f"unknown context {v!r}")
        strict[str(k)] = frozenset(str(v) for v in vals or [])
    gate_floor = rel_node.get("gate_floor", 0.2) if isinstance(rel_node, dict) else 0.2
    if isinstance(gate_floor, bool) or not isinstance(gate_floor, (int, float)) or not 0 <= gate_floor <= 1:
        probs.add(_line(rel_node, "gate_floor"), "relevance.gate_floor", f"must be in [0, 1] (got {gate_floor!r})")
        gate_floor = 0.2
    rescue = rel_node.get("rescue_contexts") or [] if isinstance(rel_node, dict) else []
    lifted = rel_node.get("veto_lifted_by") or [] if isinstance(rel_node, dict) else []
    headline = rel_node.get("headline_vetoes") or [] if isinstance(rel_node, dict) else []
    article = rel_node.get("article_vetoes") or [] if isinstance(rel_node, dict) else []
    for key, vals in (("rescue_contexts", rescue), ("veto_lifted_by", lifted), ("headline_vetoes", headline),
                      ("article_vetoes", article)):
        for r in vals:
            if r not in known_ctx:
                probs.add(_line(rel_node, key), f"relevance.{key}", f"unknown context {r!r}")
    return {
        "gate_floor": float(gate_floor),
        "rescue_contexts": frozenset(str(r) for r in rescue),
        "veto_lifted_by": frozenset(str(r) for r in lifted),
        "strict_vetoes": strict,
        "headline_vetoes": frozenset(str(r) for r in headline),
        "article_vetoes": frozenset(str(r) for r in article),
    }


#: (category id, key, target category id, line): a reference checked once every category is read
_Ref = tuple[str, str, str, int | None]


def _categories(doc: Any, probs: _Problems, known_ctx: set[str]) -> dict[str, Category]:
    """``categories``: each read by :func:`_category`, then the references between them checked."""
    cats: dict[str, Category] = {}
    cat_nodes = doc.get("categories")
    if not isinstance(cat_nodes, list) or not cat_nodes:
        probs.add(_line(doc, "categories") if "categories" in doc else 1, "categories", "required, a non-empty list")
        cat_nodes = []
    refs: list[_Ref] = []
    for i, node in enumerate(cat_nodes):
        cat = _category(node, i, _line(cat_nodes, i), probs, known_ctx, refs, cats)
        if cat is not None:
            cats[cat.id] = cat
    _check_category_refs(refs, cats, probs)
    return cats


def _category(node: Any, i: int, line: int | None, probs: _Problems, known_ctx: set[str],
              refs: list[_Ref], cats: dict[str, Category]) -> Category | None:
    """One category, or None when it has no usable id; its references are appended to ``refs``
    (``cats``, the categories read so far, only to report a duplicate id)."""
    where = f"categories[{i}]"
    if not isinstance(node, dict):
        probs.add(line, where, "must be a mapping")
        return None
    probs.unknown_keys(node, _CAT_KEYS, where)
    cid = node.get("id")
    if not isinstance(cid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", cid or ""):
        probs.add(line, f"{where}.id", f"required, snake_case (got {cid!r})")
        return None
    where = f"categories[{i}] ({cid})"
    if cid in cats:
        probs.add(line, f"{where}.id", "duplicate id")
    direction = node.get("direction")
    if direction not in DIRECTIONS:
        probs.add(_line(node, "direction"), f"{where}.direction", f"must be one of {', '.join(DIRECTIONS)} (got {direction!r})")
    kind = node.get("kind")
    if kind not in KINDS:
        probs.add(_line(node, "kind"), f"{where}.kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")
    weight = node.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 10:
        probs.add(_line(node, "weight"), f"{where}.weight", f"must be a number in (0, 10] (got {weight!r})")
        weight = 1.0
    patterns = _str_list(node.get("patterns"), probs, f"{where}.patterns", _line(node, "patterns") or line)
    for j, p in enumerate(patterns):
        _check_pattern(p, probs, f"{where}.patterns[{j}]", _line(node["patterns"], j))
    pos, neg = _category_examples(node, where, line, probs)
    yields, after = _category_yields(node, cid, where, probs, refs)
    stated_as = str(node.get("stated_as") or ("threat" if kind == "threat" else "action"))
    if stated_as not in ("threat", "action"):
        probs.add(_line(node, "stated_as"), f"{where}.stated_as", f"must be threat or action (got {stated_as!r})")
    ctx_refs = _category_contexts(node, where, probs, known_ctx)
    for key in ("threat_variant", "negated_variant", "request_variant"):
        if node.get(key) is not None:
            refs.append((cid, key, str(node[key]), _line(node, key)))
    for y in yields:
        refs.append((cid, "yields_to", str(y), _line(node, "yields_to")))
    return Category(
        id=cid,
        label=str(node.get("label") or cid),
        direction=str(direction),
        kind=str(kind),
        weight=float(weight),
        threat_variant=node.get("threat_variant"),
        negated_variant=node.get("negated_variant"),
        request_variant=node.get("request_variant"),
        refusal_confirms=bool(node.get("refusal_confirms", False)),
        yields_to=frozenset(str(y) for y in yields),
        yields_after=frozenset(str(y) for y in after),
        needs=frozenset(ctx_refs.get("needs", ())),
        vetoed_by=frozenset(ctx_refs.get("vetoed_by", ())),
        stated_as=stated_as,
        patterns=tuple(patterns),
        positives=tuple(pos),
        negatives=tuple(neg),
        line=line,
    )


def _category_examples(node: dict, where: str, line: int | None, probs: _Problems) -> tuple[list[str], list[str]]:
    """The category's positive and negative example sentences (the tests score them)."""
    ex = node.get("examples")
    pos: list[str] = []
    neg: list[str] = []
    if not isinstance(ex, dict):
        probs.add(_line(node, "examples") or line, f"{where}.examples", "required: positive and negative sentences")
    else:
        probs.unknown_keys(ex, ("positive", "negative"), f"{where}.examples")
        pos = _str_list(ex.get("positive"), probs, f"{where}.examples.positive", _line(ex))
        neg = _str_list(ex.get("negative"), probs, f"{where}.examples.negative", _line(ex))
    return pos, neg


def _category_yields(node: dict, cid: str, where: str, probs: _Problems, refs: list[_Ref]) -> tuple[list, list]:
    """``yields_to`` and ``yields_after`` as lists; the ``yields_after`` references appended
    to ``refs`` here, the ``yields_to`` ones by the caller after the variants (the order
    the problems were always listed in)."""
    yields = node.get("yields_to") or []
    if not isinstance(yields, list):
        probs.add(_line(node, "yields_to"), f"{where}.yields_to", "must be a list of category ids")
        yields = []
    after = node.get("yields_after") or []
    if not isinstance(after, list):
        probs.add(_line(node, "yields_after"), f"{where}.yields_after", "must be a list of category ids")
        after = []
    for y in after:
        refs.append((cid, "yields_after", str(y), _line(node, "yields_after")))
    return yields, after


def _category_contexts(node: dict, where: str, probs: _Problems, known_ctx: set[str]) -> dict[str, list[str]]:
    """``needs`` and ``vetoed_by``: context names, each one the taxonomy defines."""
    ctx_refs: dict[str, list[str]] = {}
    for key in ("needs", "vetoed_by"):
        vals = node.get(key) or []
        if not isinstance(vals, list):
            probs.add(_line(node, key), f"{where}.{key}", "must be a list of context names")
            vals = []
        for v in vals:
            if v not in known_ctx:
                close = difflib.get_close_matches(str(v), sorted(known_ctx), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                probs.add(_line(node, key), f"{where}.{key}", f"unknown context {v!r}{hint}")
        ctx_refs[key] = [str(v) for v in vals]
    return ctx_refs


def _check_category_refs(refs: list[_Ref], cats: dict[str, Category], probs: _Problems) -> None:
    """Every referenced category exists; variants point at escalation categories."""
    for cid, key, target, line in refs:
        if target not in cats:
            close = difflib.get_close_matches(target, list(cats), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            probs.add(line, f"categories ({cid}).{key}", f"unknown category {target!r}{hint}")
        elif key in ("threat_variant", "request_variant") and cats[target].direction != "escalation":
            probs.add(line, f"categories ({cid}).{key}", f"{target!r} must be an escalation category")
        elif key == "negated_variant" and cats[target].direction != "escalation":
            probs.add(line, f"categories ({cid}).{key}", f"{target!r} must be an escalation category")


def load_gazetteer(path: Path = GAZETTEER_PATH) -> dict[str, Any]:
    """Validate gazetteer.yaml and merge pycountry names; returns {surface form: code}."""
    import pycountry

    doc = _load_yaml(path)
    probs = _Problems(path)
    if not isinstance(doc, dict):
        probs.add(1, "", "must be a mapping")
        probs.raise_if_any()
    probs.unknown_keys(doc, ("version", "skip_pycountry_names", "exact_case", "alliances", "groups", "countries"), "")
    iso3 = {c.alpha_3 for c in pycountry.countries} | {"XKX"}  # Kosovo: user-assigned code
    skip = set(doc.get("skip_pycountry_names") or [])
    exact = set(str(x) for x in (doc.get("exact_case") or []))
    forms: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(c, attr, None)
            if name and "," not in name and "(" not in name and name not in skip:
                forms.setdefault(name, c.alpha_3)
    for section in ("alliances", "groups", "countries"):
        node = doc.get(section) or {}
        if not isinstance(node, dict):
            probs.add(_line(doc, section), section, "must be a mapping of code -> list of names")
            continue
        for code, names in node.items():
            if section == "countries" and code not in iso3:
                probs.add(_line(node, code), f"{section}.{code}", "not an ISO 3166-1 alpha-3 code")
            for name in _str_list(names, probs, f"{section}.{code}", _line(node, code)):
                forms[name] = str(code)
    probs.raise_if_any()
    return {"version": str(doc.get("version", "")), "forms": forms, "exact_case": exact}


def load_watchlist(path: Path = WATCHLIST_PATH, actor_codes: frozenset[str] | None = None) -> dict[str, Any]:
    doc = _load_yaml(path)
    probs = _Problems(path)
    if not isinstance(doc, dict):
        probs.add(1, "", "must be a mapping")
        probs.raise_if_any()
    probs.unknown_keys(doc, ("version", "default", "theatres", "allies"), "")
    theatres: list[Theatre] = []
    nodes = doc.get("theatres")
    if not isinstance(nodes, list) or not nodes:
        probs.add(_line(doc), "theatres", "required, a non-empty list")
        nodes = []
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        where = f"theatres[{i}]"
        line = _line(nodes, i)
        if not isinstance(node, dict):
            probs.add(line, where, "must be a mapping")
            continue
        probs.unknown_keys(node, ("id", "name", "sides", "anchors", "defers_to", "keeps", "anchor_categories",
                                  "posture", "hands_over"), where)
        tid = node.get("id")
        if not isinstance(tid, str) or not tid:
            probs.add(line, f"{where}.id", "required")
            continue
        if tid in seen:
            probs.add(line, f"{where}.id", f"duplicate id {tid!r}")
        seen.add(tid)
        sides = node.get("sides")
        if not (isinstance(sides, list) and len(sides) == 2 and all(isinstance(s, list) and s for s in sides)):
            probs.add(_line(node, "sides") or line, f"{where}.sides", "must be two non-empty lists of actor codes")
            continue
        anchors = node.get("anchors") or []
        posture = []
        for j, rule in enumerate(node.get("posture") or []):
            if not (isinstance(rule, dict) and isinstance(rule.get("anchors"), list)
                    and isinstance(rule.get("categories"), list)):
                probs.add(_line(node, "posture"), f"{where}.posture[{j}]", "must be a mapping with `anchors` and "
                          "`categories` (lists)")
                continue
            posture.append((frozenset(map(str, rule["anchors"])), frozenset(map(str, rule["categories"]))))
        for code in [c for s in sides for c in s] + list(anchors) + [c for a, _ in posture for c in a]:
            if actor_codes is not None and code not in actor_codes:
                probs.add(_line(node, "sides"), f"{where}", f"unknown actor code {code!r}")
        keeps = node.get("keeps") or []
        if not isinstance(keeps, list):
            probs.add(_line(node, "keeps"), f"{where}.keeps", "must be a list of category ids")
            keeps = []
        theatres.append(Theatre(tid, str(node.get("name") or tid),
                                (frozenset(map(str, sides[0])), frozenset(map(str, sides[1]))),
                                frozenset(map(str, anchors)),
                                str(node["defers_to"]) if node.get("defers_to") else None,
                                frozenset(map(str, keeps)),
                                frozenset(map(str, node.get("anchor_categories") or [])),
                                tuple(posture),
                                frozenset(map(str, node.get("hands_over") or []))))
    ids = {t.id for t in theatres}
    for i, t in enumerate(theatres):
        if t.defers_to is not None and t.defers_to not in ids:
            probs.add(_line(nodes, i), f"theatres[{i}].defers_to", f"unknown theatre {t.defers_to!r}")
    blocs, allied_categories = _allies(doc, probs, actor_codes)
    probs.raise_if_any()
    return {"version": str(doc.get("version", "")), "theatres": tuple(theatres),
            "default": str(doc.get("default") or "other"), "blocs": blocs, "allied_categories": allied_categories}


def _allies(doc: dict, probs: _Problems, actor_codes: frozenset[str] | None) -> tuple[tuple, frozenset]:
    """``allies``: blocs of actor codes, and the de-escalation categories that do not count
    between two members of one bloc (talks between allies are no de-escalation)."""
    node = doc.get("allies")
    if node is None:
        return (), frozenset()
    line = _line(doc, "allies")
    if not isinstance(node, dict) or not isinstance(node.get("blocs"), list):
        probs.add(line, "allies", "must be a mapping with `blocs` (lists of actor codes) and `categories`")
        return (), frozenset()
    probs.unknown_keys(node, ("blocs", "categories"), "allies")
    blocs = []
    for i, bloc in enumerate(node["blocs"]):
        if not (isinstance(bloc, list) and len(bloc) > 1):
            probs.add(_line(node["blocs"], i), f"allies.blocs[{i}]", "must be a list of two or more actor codes")
            continue
        for code in bloc:
            if actor_codes is not None and code not in actor_codes:
                probs.add(_line(node["blocs"], i), f"allies.blocs[{i}]", f"unknown actor code {code!r}")
        blocs.append(frozenset(map(str, bloc)))
    return tuple(blocs), frozenset(map(str, node.get("categories") or ()))


@functools.lru_cache(maxsize=1)
def category_labels() -> dict[str, str]:
    """Category id -> label, read fast (C loader, no validation) for display: readers such
    as the dashboard need the names, not the compiled lexicon. load_lexicon validates."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(TAXONOMY_PATH.read_text(encoding="utf-8")) or {}
    return {str(c["id"]): str(c.get("label") or c["id"]) for c in doc.get("categories") or () if "id" in c}
