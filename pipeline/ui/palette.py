"""One palette for the whole dashboard: a theatre or a signal has the same colour on every chart.

Colours are mid-tone (roughly Tailwind's 500/600 steps) so they read on both
the light and the dark Streamlit theme; charts use ``theme="streamlit"`` for
backgrounds, fonts and grid lines. Escalation categories are warm (reds,
oranges, purples), de-escalation categories cool (greens, teals, blues), so a
stacked area reads at a glance. No streamlit import here: plain data.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import hashlib
from functools import cache

THEATRE_COLOURS: dict[str, str] = {
    "RUS-UKR": "#2563EB",  # blue
    "RUS-NATO": "#7C3AED",  # violet
    "CHN-TWN": "#DC2626",  # red
    "ISR-IRN": "#EA580C",  # orange
    "ISR-PSE": "#CA8A04",  # amber
    "IND-PAK": "#059669",  # green
    "KOR-PRK": "#DB2777",  # pink
    "other": "#6B7280",  # grey
}

SIGNAL_COLOURS: dict[str, str] = {
    # escalation: acts
    "strike_attack": "#B91C1C",
    "invasion_offensive": "#7F1D1D",
    "troop_buildup": "#DC2626",
    "mobilisation_martial_law": "#E11D48",
    "military_exercises": "#F97316",
    "alliance_deployment": "#C2410C",
    "arms_deliveries": "#EA580C",
    "border_incident": "#F43F5E",
    "blockade": "#BE185D",
    "cyberattack": "#9333EA",
    "sanctions_imposed": "#A855F7",
    "diplomatic_expulsion": "#C026D3",
    "diplomatic_breakdown": "#DB2777",
    "protest_unrest": "#D97706",
    "coercion_repression": "#92400E",
    # escalation: threats
    "threat_of_force": "#F59E0B",
    "ultimatum_demand": "#EAB308",
    "nuclear_posture": "#FACC15",
    "sanctions_threat": "#D946EF",
    "hostile_rhetoric": "#FB923C",
    # de-escalation
    "talks_summit": "#0EA5E9",
    "ceasefire_truce": "#10B981",
    "troop_withdrawal": "#14B8A6",
    "agreement_deal": "#22C55E",
    "relief_concession": "#3B82F6",
}

#: the parts of the risk index (GPR-style threat/act split)
THREATS = "#F59E0B"
ACTS = "#DC2626"
DEESCALATION = "#14B8A6"
ALERT = "#B91C1C"
NEUTRAL = "#6B7280"

# for ids nobody listed: stable across runs (hash of the id, not Python's salted hash)
_FALLBACK = ["#0891B2", "#65A30D", "#9333EA", "#E11D48", "#0284C7", "#A16207", "#4F46E5", "#15803D"]

#: continuous scale of the theatre x day heatmap: pale at 0, deep red at the top
HEATMAP_SCALE = [[0.0, "#FEF3C7"], [0.35, "#FBBF24"], [0.7, "#EA580C"], [1.0, "#7F1D1D"]]

MODALITY_LABELS = {
    "action": "reported action",
    "threat": "threat",
    "conditional": "conditional",
    "hedged": "hedged",
    "negated": "negated",
    "denied": "denied",
}

#: Streamlit markdown colour names for badges, per modality
MODALITY_BADGE = {
    "action": "red",
    "threat": "orange",
    "conditional": "violet",
    "hedged": "gray",
    "negated": "green",
    "denied": "green",
}


def _fallback(key: str) -> str:
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return _FALLBACK[digest[0] % len(_FALLBACK)]


def theatre_colour(theatre: str | None) -> str:
    return THEATRE_COLOURS.get(theatre or "other") or _fallback(theatre or "")


def signal_colour(signal: str) -> str:
    return SIGNAL_COLOURS.get(signal) or _fallback(signal)


@cache
def signal_labels() -> dict[str, str]:
    """Category id -> label from the taxonomy (the scorer's own list)."""
    from pipeline.signals import category_labels

    return dict(category_labels())


def signal_label(signal: str) -> str:
    return signal_labels().get(signal) or signal.replace("_", " ")
