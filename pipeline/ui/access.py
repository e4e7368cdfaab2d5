"""Who may do what on this dashboard (issue 13): exposure, roles, what a viewer sees.

Roles. A *viewer* reads every page; an *editor* may also change the feeds and run
"test now". Editing needs a sign-in:

1. Streamlit's ``st.login`` (OpenID Connect) when ``.streamlit/secrets.toml`` has
   an ``[auth]`` section; the editors are the signed-in users whose email is in
   ``$ESCALATION_WATCH_EDITORS`` (comma-separated). Any account of the identity
   provider can sign in (with Google: anyone), so the list is required.
2. Else a shared token, ``$ESCALATION_WATCH_EDITOR_TOKEN`` (16 characters at
   least), typed into the Sources page, compared in constant time; after
   :data:`MAX_FAILURES` wrong tokens within :data:`LOCKOUT_S` every token sign-in
   of this server is refused until the oldest failure is that old. The count is
   per server, not per visitor: behind a proxy every visitor has the proxy's
   address, and a per-session count is reset by opening a new tab. A stranger can
   therefore delay the editor's sign-in, never guess the token.
3. With neither configured, the dashboard is editable only when it is not
   exposed (bound to loopback, and the request did not come through a proxy);
   exposed it is read-only and says how to enable editing.

``--read-only`` (``$ESCALATION_WATCH_READ_ONLY=1``) makes every session a viewer.

Viewers never get the editing widgets: Streamlit acts only on widgets the script
drew, so a control that is not drawn cannot be triggered. The edit functions check
the role again (:func:`require_editor`).

Exposed (bound beyond loopback, :mod:`pipeline.deployment`, or reached through a
reverse proxy), the Sources page's "test now" follows the same network policy as
the poller of ``run``, and a viewer sees a feed's last error as a short category
("HTTP 503", "timed out"), never its detail: a fetch error can name an internal
address (a redirect into 10.x, a refused private destination) or quote the start
of a response body.

Must not touch: SQL and scoring (pages read through pipeline.ui.data).
"""

from __future__ import annotations

import hmac
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from pipeline.deployment import is_exposed, network_settings
from pipeline.types import Settings

ENV_EDITOR_TOKEN = "ESCALATION_WATCH_EDITOR_TOKEN"
ENV_EDITORS = "ESCALATION_WATCH_EDITORS"
ENV_READ_ONLY = "ESCALATION_WATCH_READ_ONLY"
#: a shared token shorter than this is refused: it could be guessed between lock-outs
MIN_TOKEN_CHARS = 16
#: wrong tokens allowed within LOCKOUT_S before token sign-in is refused
MAX_FAILURES = 5
LOCKOUT_S = 300.0
#: request headers a reverse proxy adds: such a request reached us from elsewhere
_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host")
_SESSION_KEY = "editor_token_name"

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


def _proxied() -> bool:
    try:
        headers = st.context.headers
    except Exception:  # noqa: BLE001 - no request context (AppTest, a thread): not proxied
        return False
    return any(headers.get(h) for h in _PROXY_HEADERS)


def exposed() -> bool:
    """Other machines can reach this session's dashboard: bound beyond loopback, or the
    request came through a reverse proxy (a proxy on this machine reaches a loopback
    bind; a forged header only makes the session stricter)."""
    return is_exposed(server_address()) or _proxied()


def fetch_settings(settings: Settings) -> Settings:
    """feeds.yaml's settings with the network policy of where this dashboard listens."""
    return network_settings(settings, exposed=exposed())


# -- roles ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    can_edit: bool
    #: who edits, for the audit log ("alice@example.org", "token: Alice", "local")
    who: str | None
    #: how this session signs in: "oidc", "token" or None (nothing to sign in to)
    sign_in: str | None
    #: why this session cannot edit, and how to enable editing (viewers only)
    reason: str | None = None


class Lockout:
    """Failed token sign-ins of this server: at most ``max_failures`` within ``window_s``."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = LOCKOUT_S,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._failures and now - self._failures[0] >= self.window_s:
            self._failures.popleft()

    def locked_for_s(self) -> float:
        """Seconds until a sign-in is accepted again (0: not locked)."""
        with self._lock:
            now = self.clock()
            self._trim(now)
            if len(self._failures) < self.max_failures:
                return 0.0
            return self.window_s - (now - self._failures[0])

    def failed(self) -> None:
        with self._lock:
            now = self.clock()
            self._trim(now)
            self._failures.append(now)


@st.cache_resource(show_spinner=False)
def lockout() -> Lockout:
    """One per server process, shared by every session."""
    return Lockout()


def editor_token() -> str | None:
    return os.environ.get(ENV_EDITOR_TOKEN) or None


def oidc_configured() -> bool:
    try:
        return st.secrets.load_if_toml_exists() and "auth" in st.secrets
    except Exception:  # noqa: BLE001 - an unreadable secrets file is "not configured"
        return False


def oidc_editors() -> frozenset[str]:
    return frozenset(e.strip().casefold() for e in os.environ.get(ENV_EDITORS, "").split(",") if e.strip())


def read_only_forced() -> bool:
    return os.environ.get(ENV_READ_ONLY, "") == "1"


_HOW_TO_EDIT = (
    f"To enable editing, set a shared editor token in ${ENV_EDITOR_TOKEN} "
    "(or configure `st.login` in .streamlit/secrets.toml), or serve the dashboard on 127.0.0.1 only. "
    "See docs/deployment.md."
)


def current() -> Access:
    """This session's role."""
    if read_only_forced():
        return Access(False, None, None, "This dashboard was started with --read-only.")
    if oidc_configured():
        user = st.user
        if not user.is_logged_in:
            return Access(False, None, "oidc", "Sign in to edit the feeds.")
        email = str(user.get("email") or "")
        if email.casefold() in oidc_editors():
            return Access(True, email, "oidc")
        who = email or "this account"
        return Access(False, None, "oidc", f"{who} is not an editor: editors are listed in ${ENV_EDITORS}.")
    token = editor_token()
    if token is not None:
        if len(token) < MIN_TOKEN_CHARS:
            return Access(False, None, None,
                          f"Read-only: ${ENV_EDITOR_TOKEN} is shorter than {MIN_TOKEN_CHARS} characters, "
                          "too easy to guess; set a longer one (e.g. `openssl rand -hex 16`).")  # fmt: skip
        name = st.session_state.get(_SESSION_KEY)
        if name:
            return Access(True, f"token: {name}", "token")
        return Access(False, None, "token", "Sign in with the editor token to edit the feeds.")
    if not exposed():
        return Access(True, "local", None)
    return Access(False, None, None,
                  "Read-only: this dashboard is reachable from other machines and no sign-in is configured. "
                  + _HOW_TO_EDIT)  # fmt: skip


def sign_in_with_token(name: str, given: str) -> str | None:
    """Check the token; None when signed in, else why not."""
    token = editor_token()
    if token is None or len(token) < MIN_TOKEN_CHARS:
        return "Token sign-in is not configured."
    guard = lockout()
    wait = guard.locked_for_s()
    if wait > 0:
        return f"Too many wrong tokens: sign-in is locked for {wait:.0f} s more."
    if not name.strip():
        return "Enter your name: the audit log records who changed what."
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        guard.failed()
        return "Wrong token."
    st.session_state[_SESSION_KEY] = " ".join(name.split())[:80]
    return None


def sign_out() -> None:
    st.session_state.pop(_SESSION_KEY, None)


class NotAnEditor(Exception):
    """An edit was attempted by a session that may not edit (a bug, or a forged rerun)."""


def require_editor() -> Access:
    a = current()
    if not a.can_edit:
        raise NotAnEditor(a.reason or "not an editor")
    return a
