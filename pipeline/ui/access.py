"""Who may do what on this dashboard (issue 13): exposure, roles, what a viewer sees.

Exposed (bound beyond loopback, :mod:`pipeline.deployment`), the Sources page's
"test now" follows the same network policy as the poller of ``run``, and a
viewer sees a feed's last error as a short category ("HTTP 503", "timed out"),
never its detail: a fetch error can name an internal address (a redirect into
10.x, a refused private destination) or quote the start of a response body.
"""

from __future__ import annotations

import re

import streamlit as st

from pipeline.deployment import is_exposed, network_settings
from pipeline.types import Settings

#: (pattern on the stored error, what a viewer sees); the first match wins, and
#: nothing of the stored text is passed through except an HTTP status number
_PUBLIC_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), label)
    for p, label in (
        (r"destination denied|denied: |not allowed \(only http|cloud metadata host", "refused by the network policy"),
        (r"timed out|deadline", "timed out"),
        (r"^DNS lookup failed", "DNS lookup failed"),
        (r"^connection refused", "connection refused"),
        (r"^connection (reset|failed)|^network error", "connection failed"),
        (r"^TLS", "TLS error"),
        (r"larger than the .*-byte limit", "response too large"),
        (r"^protocol error|^invalid redirect|redirect loop|too many redirects", "protocol error"),
        (r"Content-Encoding|corrupt .* body|truncated .* body", "bad response encoding"),
        (r"^invalid URL", "invalid URL"),
        (r"^ill-formed feed", "ill-formed feed (entries kept)"),
        (r"not a feed|not XML|HTML page|JSON|binary data|empty body|not an RSS|undecodable|feedparser",
         "not a feed"),
    )
)  # fmt: skip
_HTTP_STATUS = re.compile(r"^HTTP (\d{3})\b")
_GENERIC_ERROR = "failed (an editor sees the detail)"


def public_error(error: object) -> str | None:
    """A stored fetch or parse error as a viewer may see it: its kind, no detail."""
    if error is None or (isinstance(error, float) and error != error):  # None or NaN from pandas
        return None
    text = str(error).strip()
    if not text:
        return None
    if m := _HTTP_STATUS.match(text):
        return f"HTTP {m[1]}"
    for pattern, label in _PUBLIC_ERRORS:
        if pattern.search(text):
            return label
    return _GENERIC_ERROR


def server_address() -> str | None:
    """The address Streamlit listens on (None: every interface)."""
    return st.get_option("server.address") or None


def exposed() -> bool:
    return is_exposed(server_address())


def fetch_settings(settings: Settings) -> Settings:
    """feeds.yaml's settings with the network policy of where this dashboard listens."""
    return network_settings(settings, exposed=exposed())
