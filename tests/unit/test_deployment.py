"""pipeline.deployment: which bind addresses are exposed, and the network policy that follows."""

from __future__ import annotations

import pytest

from pipeline import config
from pipeline.deployment import is_exposed, is_loopback, network_settings
from pipeline.types import Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "localhost", "LOCALHOST.", "::1", "[::1]"])
def test_loopback_addresses_are_not_exposed(host):
    assert is_loopback(host) and not is_exposed(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.2", "10.0.0.5", "fd00::2", "myhost", "", None])
def test_every_other_address_is_exposed(host):
    # None/"": Streamlit with no address listens on every interface; a host name is not resolved
    assert is_exposed(host)


def test_unset_denies_private_networks_only_when_exposed():
    unset = Settings()
    assert unset.deny_private_networks is None
    assert network_settings(unset, exposed=True).deny_private_networks is True
    assert network_settings(unset, exposed=False).deny_private_networks is False


@pytest.mark.parametrize("explicit", [True, False])
@pytest.mark.parametrize("exposed", [True, False])
def test_an_explicit_setting_stands_wherever_the_dashboard_listens(explicit, exposed):
    s = Settings(deny_private_networks=explicit)
    assert network_settings(s, exposed=exposed).deny_private_networks is explicit


def test_feeds_yaml_tells_unset_from_explicit_false():
    feeds = "feeds:\n  - name: A\n    url: https://a.example/rss\n"
    assert config.loads(feeds).settings.deny_private_networks is None
    explicit = config.loads(feeds + "settings:\n  deny_private_networks: false\n")
    assert explicit.settings.deny_private_networks is False
    assert network_settings(explicit.settings, exposed=True).deny_private_networks is False
