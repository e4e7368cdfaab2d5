"""The user's filters as one frozen record, to and from the URL's query parameters.

Plain Python (no streamlit): pages keep a :class:`Filters` in
``st.session_state`` and mirror it into ``st.query_params`` so any view is a
shareable link. Unknown or malformed parameters fall back to the defaults
instead of failing: a link edited by hand still opens.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

#: period choices: label and length (None: everything; "custom": the from/to dates)
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
    "365d": ("Last 12 months", timedelta(days=365)),
    "all": ("All time", None),
    "custom": ("Custom dates", None),
}
DEFAULT_PERIOD = "30d"
SCORE_MAX = 100.0

# query parameter name for each field
_PARAMS = {
    "theatre": "theatre",
    "period": "period",
    "start": "from",
    "end": "to",
    "signal": "signal",
    "modality": "modality",
    "source": "source",
    "min_score": "min",
    "max_score": "max",
    "text": "q",
    "drill": "drill",
    "actor": "actor",
    "pair": "pair",
    "kind": "kind",
    "tag": "tag",
    "language": "lang",
    "state_media": "state",
    "base_start": "base_from",
    "base_end": "base_to",
}
#: the tag of state-controlled outlets (feeds.yaml), and what the filter does with them
STATE_MEDIA_TAG = "state-media"
STATE_MEDIA = ("hide", "only")
#: the kinds of escalation (as in the GPR index): the "who threatens whom" split
KINDS = ("threat", "act")


@dataclass(frozen=True)
class Filters:
    theatre: str | None = None
    period: str = DEFAULT_PERIOD
    start: date | None = None  # custom period, inclusive
    end: date | None = None  # custom period, inclusive
    signal: str | None = None
    modality: str | None = None
    source: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    text: str = ""
    #: the Overview's drill-down: "THEATRE@YYYY-MM-DD" (a day bucket)
    drill: str | None = None
    #: an actor code (the map's country): a counted escalation signal from or against it
    actor: str | None = None
    #: "SRC>TGT" (a cell of who threatens whom): a counted escalation signal from SRC to TGT
    pair: str | None = None
    #: threat | act: with ``actor`` or ``pair``, that kind of escalation
    kind: str | None = None
    #: a feed tag (feeds.yaml ``tags``)
    tag: str | None = None
    #: the language an article was read in (``ru``), or ``unscored``
    language: str | None = None
    #: a fixed base period for the risk index (inclusive days); unset: the trailing 365 days
    base_start: date | None = None
    base_end: date | None = None
    #: hide | only: the articles of state media (feeds tagged ``state-media``)
    state_media: str | None = None

    def replace(self, **changes: Any) -> Filters:
        return dataclasses.replace(self, **changes)

    # -- time window ---------------------------------------------------------

    def window(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(since, until) in UTC. Relative periods start on the hour, so cached
        reads keep their key for an hour instead of a second."""
        if self.period == "custom":
            since = datetime.combine(self.start, time(), timezone.utc) if self.start else None
            until = datetime.combine(self.end + timedelta(days=1), time(), timezone.utc) if self.end else None
            return since, until
        length = PERIODS.get(self.period, PERIODS[DEFAULT_PERIOD])[1]
        if length is None:
            return None, None
        floor = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        return floor - length, None

    def reads_kwargs(self, now: datetime) -> dict[str, Any]:
        """Keyword arguments for pipeline.store.reads and pipeline.export."""
        since, until = self.window(now)
        return dict(
            theatre=self.theatre,
            signal=self.signal,
            modality=self.modality,
            source=self.source,
            min_score=self.min_score,
            max_score=self.max_score,
            since=since,
            until=until,
            text=self.text.strip() or None,
            actor=self.actor,
            pair=self.pair,
            kind=self.kind,
            tag=self._tags(),
            language=self.language,
            exclude_tag=STATE_MEDIA_TAG if self.state_media == "hide" else None,
        )

    def _tags(self) -> str | tuple[str, ...] | None:
        if self.state_media != "only":
            return self.tag
        return tuple(dict.fromkeys(t for t in (self.tag, STATE_MEDIA_TAG) if t))

    def drill_point(self) -> tuple[str, datetime] | None:
        if not self.drill or "@" not in self.drill:
            return None
        theatre, _, day = self.drill.rpartition("@")
        try:
            d = date.fromisoformat(day)
        except ValueError:
            return None
        return theatre, datetime.combine(d, time(), timezone.utc)

    # -- query parameters ----------------------------------------------------

    def to_query(self) -> dict[str, str]:
        """Only what differs from the defaults, as strings."""
        out: dict[str, str] = {}
        default = Filters()
        for field, param in _PARAMS.items():
            value = getattr(self, field)
            if value == getattr(default, field) or value is None or value == "":
                continue
            if isinstance(value, float):
                out[param] = f"{value:g}"
            elif isinstance(value, date):
                out[param] = value.isoformat()
            else:
                out[param] = str(value)
        return out

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> Filters:
        def get(field: str) -> str | None:
            v = params.get(_PARAMS[field])
            if isinstance(v, list):
                v = v[-1] if v else None
            v = None if v is None else str(v).strip()
            return v or None

        def number(field: str) -> float | None:
            v = get(field)
            try:
                x = float(v) if v is not None else None
            except ValueError:
                return None
            return x if x is not None and 0 <= x <= SCORE_MAX else None

        def day(field: str) -> date | None:
            v = get(field)
            try:
                return date.fromisoformat(v) if v else None
            except ValueError:
                return None

        period = get("period") or DEFAULT_PERIOD
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        return cls(
            theatre=get("theatre"),
            period=period,
            start=day("start"),
            end=day("end"),
            signal=get("signal"),
            modality=get("modality"),
            source=get("source"),
            min_score=number("min_score"),
            max_score=number("max_score"),
            text=(get("text") or "")[:200],
            drill=get("drill"),
            actor=_code(get("actor")),
            pair=get("pair") if get("pair") and ">" in get("pair") else None,
            kind=get("kind") if get("kind") in KINDS else None,
            tag=(get("tag") or "")[:64] or None,
            language=_language(get("language")),
            state_media=get("state_media") if get("state_media") in STATE_MEDIA else None,
            **_base(day("base_start"), day("base_end")),
        )

    def base_period(self) -> tuple[datetime, datetime] | None:
        """The fixed base of the index as UTC datetimes (first day 00:00 to last day 00:00,
        the day buckets it holds), or None for the trailing base."""
        if self.base_start is None or self.base_end is None or self.base_start > self.base_end:
            return None
        return (datetime.combine(self.base_start, time(), timezone.utc),
                datetime.combine(self.base_end, time(), timezone.utc))

    def describe(self, theatre_labels: Mapping[str, str] | None = None) -> list[str]:
        """Human-readable lines for the active filters (Downloads shows them)."""
        labels = theatre_labels or {}
        out = []
        if self.theatre:
            out.append(f"Theatre: {labels.get(self.theatre, self.theatre)}")
        if self.period == "custom":
            out.append(f"Dates: {self.start or '…'} to {self.end or '…'}")
        else:
            out.append(f"Period: {PERIODS.get(self.period, PERIODS[DEFAULT_PERIOD])[0]}")
        if self.base_period() is not None:
            out.append(f"Index base: {self.base_start} to {self.base_end}")
        if self.signal:
            out.append(f"Signal: {self.signal}")
        if self.modality:
            out.append(f"Modality: {self.modality}")
        if self.source:
            out.append(f"Source: {self.source}")
        if self.min_score is not None or self.max_score is not None:
            out.append(f"Score: {self.min_score or 0:g} to {self.max_score if self.max_score is not None else SCORE_MAX:g}")
        if self.text.strip():
            out.append(f"Search: {self.text.strip()}")
        if self.actor:
            out.append(f"Actor: {self.actor}")
        if self.pair:
            out.append(f"Who → whom: {self.pair.replace('>', ' → ')}")
        if self.kind:
            out.append(f"Kind: {self.kind}")
        if self.tag:
            out.append(f"Tag: {self.tag}")
        if self.language:
            out.append("Language: not scored" if self.language == "unscored" else f"Language: {self.language}")
        if self.state_media:
            out.append("State media: hidden" if self.state_media == "hide" else "State media only")
        return out


def _language(v: str | None) -> str | None:
    """A language code from a link (``ru``, ``zh-hant``) or ``unscored``."""
    if not v:
        return None
    v = v.lower()
    return v if v == "unscored" or (len(v) <= 16 and v.replace("-", "").isalpha()) else None


def _code(v: str | None) -> str | None:
    """An actor code from a link: letters only, at most 16 (the signals column's width)."""
    return v.upper() if v and v.isalpha() and len(v) <= 16 else None


def _base(start: date | None, end: date | None) -> dict[str, date | None]:
    """A fixed base needs both days in order; anything else from a hand-edited link is the
    trailing base."""
    if start is None or end is None or start > end:
        return {"base_start": None, "base_end": None}
    return {"base_start": start, "base_end": end}
