"""Is the dashboard reachable from other machines, and the defaults that follow (issue 13).

Bound to a loopback address (the default, ``--host 127.0.0.1``) only this
machine's users reach the dashboard. Bound anywhere else it is *exposed*:
Streamlit with no address at all listens on every interface, so that counts as
exposed too. A host name other than ``localhost`` is treated as exposed without
resolving it: a wrong guess must err on the safe side.

Exposed, an unset ``deny_private_networks`` means *deny*: the poller of ``run``
and the Sources page's "test now" refuse private, loopback and link-local
destinations (a visitor must not turn the server into a probe of its own
network). An explicit ``deny_private_networks: false`` in feeds.yaml still allows
them, for a team that polls an intranet feed on purpose.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from .types import FeedsConfig, Settings

__all__ = ["is_loopback", "is_exposed", "network_settings", "network_config"]


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback address literals (127.0.0.0/8, ::1)."""
    if not host:
        return False  # Streamlit binds every interface when given no address
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_exposed(host: str | None) -> bool:
    return not is_loopback(host)


def network_settings(settings: Settings, *, exposed: bool) -> Settings:
    """``settings`` with ``deny_private_networks`` decided: an explicit true or false
    from feeds.yaml stands; unset, private destinations are denied when exposed."""
    if settings.deny_private_networks is not None:
        return settings
    return dataclasses.replace(settings, deny_private_networks=exposed)


def network_config(config: FeedsConfig, *, exposed: bool) -> FeedsConfig:
    return dataclasses.replace(config, settings=network_settings(config.settings, exposed=exposed))
