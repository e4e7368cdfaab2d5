"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def bound():
    """Set Streamlit's server.address as `--host` does, for one AppTest test
    (unset, Streamlit listens on every interface: the dashboard counts as exposed)."""
    from streamlit import config as st_config

    before = st_config.get_option("server.address")

    def bind(host: str | None) -> None:
        st_config.set_option("server.address", host)

    yield bind
    st_config.set_option("server.address", before)
