"""Article URLs: the canonical form that is an article's identity across feeds.

Owns: :func:`canonicalize_url` (scheme, host, port, tracking parameters) and
resolving an entry's link against the feed (``_http_url``). Must not touch: the
feed document, the entries' text. Pure.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that identify the click, not the article. Lower-cased.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "twclid",
        "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi",
        "ref", "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ocid", "icid",
        "xtor", "ito", "smid", "smtyp", "s_cid", "soc_src", "soc_trk", "sr_share",
        "guccounter", "guce_referrer", "guce_referrer_sig", "__twitter_impression",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
        "spm",
    }
)  # fmt: skip
#: utm_* (Google Analytics), at_* (AT Internet, e.g. BBC at_medium), wt.* (Webtrends)
_TRACKING_PREFIXES = ("utm_", "at_", "wt.", "pk_", "mtm_", "hmb_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(key: str) -> bool:
    key = unquote_plus(key).strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str | None) -> str | None:
    """The article's identity across feeds: http(s) only, scheme and host
    lower-cased, default port, credentials, fragment and tracking parameters
    dropped; other parameters kept as written and in order. None if unusable."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = "&".join(
        segment
        for segment in parts.query.split("&")
        if segment and not _is_tracking(segment.split("=", 1)[0])
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _http_url(link: str | None, base_url: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    try:
        link = urljoin(base_url, link.strip())
    except ValueError:  # "https://[not-an-ip]/": a broken link is no link, not a failed feed
        return None
    scheme = link.split(":", 1)[0].lower() if ":" in link else ""
    return link if scheme in _DEFAULT_PORTS else None
