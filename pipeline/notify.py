"""Deliver alerts and briefs: notification URLs through Apprise, and the signed webhook.

Each destination is tried on its own, with retries and back-off, and returns an
:class:`Outcome`; one that fails or hangs until its timeout never stops the others.

Secrets stay out of logs, the store and the dashboard: a destination is only ever
shown as :func:`mask_url` gives it (Apprise's own privacy form, which knows which
part of a ``tgram://`` or ``slack://`` URL is the token), error text is scrubbed
of every part of the URL that masking hides, and Apprise's own log lines (which
at debug level print full request URLs) do not reach ours.

A URL may name environment variables as ``${NAME}``, so alerts.yaml can be
committed without the tokens: ``tgram://${TELEGRAM_BOT_TOKEN}/12345``.

The webhook's POST carries ``X-Escalation-Watch-Timestamp`` (Unix seconds) and
``X-Escalation-Watch-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<timestamp>.<body>`` keyed with $ESCALATION_WATCH_WEBHOOK_SECRET (no signature
when it is unset). A receiver checks it with :func:`verify_signature`.

Must not touch: alert rules or what fires (pipeline.alerts decides), the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


log = logging.getLogger("escalation_watch.notify")

ENV_WEBHOOK_SECRET = "ESCALATION_WATCH_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Escalation-Watch-Signature"
TIMESTAMP_HEADER = "X-Escalation-Watch-Timestamp"
#: a receiver refuses signatures older than this (replayed posts)
SIGNATURE_TOLERANCE_S = 300
ATTEMPTS = 3
BACKOFF_S = 1.0
TIMEOUT_S = 10.0
FORMATS = ("text", "markdown", "html")

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Outcome:
    destination: str  # masked
    ok: bool
    attempts: int
    error: str | None = None


def env_refs(url: str) -> list[str]:
    """The environment variables a URL names as ``${NAME}``."""
    return _ENV_REF.findall(url)


def expand(url: str) -> str:
    """``${NAME}`` replaced by $NAME (unset: left as is, and Apprise refuses the URL)."""
    return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(0)), url)


def is_webhook(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _apprise():
    import apprise

    # Apprise logs full request URLs (tokens included) at debug level: keep them out of ours
    logging.getLogger("apprise").propagate = False
    return apprise


def check_url(url: str) -> str | None:
    """Why ``url`` is not a destination Apprise can send to, or None when it is."""
    if env_refs(url) and _ENV_REF.search(expand(url)):
        missing = [n for n in env_refs(url) if n not in os.environ]
        return f"environment variable {', '.join('$' + n for n in missing)} is not set"
    if is_webhook(url):
        return "an http(s) URL is a webhook: put it under `webhook:` (or use json:// for Apprise's JSON POST)"
    if _apprise().Apprise.instantiate(expand(url)) is None:
        scheme = url.split("://", 1)[0] if "://" in url else url
        return f"not a notification URL Apprise knows (scheme {scheme!r}; see https://github.com/caronc/apprise/wiki)"
    return None


def mask_url(url: str) -> str:
    """The destination without its credentials, for lists, logs and the store."""
    url = expand(url)
    if is_webhook(url):
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = "****@" if parts.username or parts.password else ""
        # webhook paths often are the secret (Slack's /services/T/B/token): show the first segment only
        segs = [s for s in parts.path.split("/") if s]
        path = f"/{segs[0]}" + ("/****" if len(segs) > 1 else "") if segs else ""
        query = "?****" if parts.query else ""
        return f"{parts.scheme}://{user}{host}{port}{path}{query}"
    try:
        plugin = _apprise().Apprise.instantiate(url)
    except Exception:  # pragma: no cover - Apprise refuses rather than raising
        plugin = None
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme}://****"
    # Apprise's privacy form, less the query string of its own defaults (retry=0&wait=0.5...)
    return plugin.url(privacy=True).split("?", 1)[0]


def _secret_parts(url: str) -> list[str]:
    """Parts of the URL that masking hides (tokens, passwords), longest first."""
    shown = set(re.split(r"[/:@?&=#,]+", mask_url(url)))
    parts = {p for p in re.split(r"[/:@?&=#,]+", expand(url)) if len(p) >= 4 and p not in shown}
    return sorted(parts, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for part in _secret_parts(url):
        text = text.replace(part, "****")
    return text


def sign(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    body: bytes, headers: Any, secret: str, *, now: float | None = None, tolerance_s: int = SIGNATURE_TOLERANCE_S
) -> bool:
    """What a webhook receiver does: recompute the HMAC over the raw body, compare in
    constant time, and refuse a timestamp outside the tolerance (a replayed post)."""
    try:
        ts = int(headers[TIMESTAMP_HEADER])
        got = headers[SIGNATURE_HEADER]
    except (KeyError, TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(body, secret, ts), got)


def post_webhook(url: str, payload: dict[str, Any], *, attempts: int | None = None,
                 backoff_s: float | None = None, timeout_s: float | None = None) -> Outcome:  # fmt: skip
    """POST ``payload`` as JSON, signed; retry 5xx, 429 and network errors with back-off."""
    attempts = attempts or ATTEMPTS
    backoff_s = BACKOFF_S if backoff_s is None else backoff_s
    timeout_s = timeout_s or TIMEOUT_S
    import httpx  # only when a webhook fires: ~50 ms of every command's start otherwise

    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    secret = os.environ.get(ENV_WEBHOOK_SECRET)
    error = None
    for attempt in range(1, attempts + 1):
        headers = {"Content-Type": "application/json"}
        if secret:
            ts = int(time.time())  # per attempt: a retry minutes later is still within the tolerance
            headers |= {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(body, secret, ts)}
        try:
            r = httpx.post(url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False)
            if 200 <= r.status_code < 300:
                return Outcome(mask_url(url), True, attempt)
            error = f"HTTP {r.status_code}"
            if r.status_code < 500 and r.status_code != 429:
                return _failed(url, attempt, error)  # the receiver refuses this payload: retrying will not help
        except httpx.HTTPError as e:
            error = scrub(f"{type(e).__name__}: {e}", url)
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return _failed(url, attempts, error)


def send(url: str, *, title: str, body: str, body_format: str = "markdown", attempts: int | None = None,
         backoff_s: float | None = None) -> Outcome:  # fmt: skip
    """One notification to one Apprise URL, retried with back-off; never raises."""
    attempts = attempts or ATTEMPTS
    backoff_s = BACKOFF_S if backoff_s is None else backoff_s
    apprise = _apprise()
    error = None
    for attempt in range(1, attempts + 1):
        sender = apprise.Apprise()
        if not sender.add(expand(url)):
            return _failed(url, attempt, "not a notification URL Apprise knows")
        try:
            with apprise.LogCapture(level=logging.WARNING) as captured:
                ok = sender.notify(body=body, title=title, body_format=body_format)
            if ok:
                return Outcome(mask_url(url), True, attempt)
            lines = [ln.strip() for ln in captured.getvalue().splitlines() if ln.strip()]
            error = scrub(lines[-1].split(" - ", 2)[-1] if lines else "delivery failed", url)
        except Exception as e:  # a plugin bug must not stop the other destinations
            error = scrub(f"{type(e).__name__}: {e}", url)
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return _failed(url, attempts, error)


def _failed(url: str, attempts: int, error: str | None) -> Outcome:
    masked = mask_url(url)
    log.warning("notification failed", extra={"destination": masked, "error": error, "attempts": attempts})
    return Outcome(masked, False, attempts, error)


__all__ = ["Outcome", "check_url", "expand", "mask_url", "post_webhook", "send", "sign", "verify_signature"]
