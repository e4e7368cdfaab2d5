"""Shared fixtures: a local feed server on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running FeedServer; closed (and any hanging handler released) after the test."""
    with FeedServer() as srv:
        yield srv
