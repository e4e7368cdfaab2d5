"""Integration fixtures: the hostile feed server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.feedserver import FeedServer
from tests.hostile import install_hostile_routes


@dataclass
class HostileServer:
    srv: FeedServer
    #: case name (tests.hostile.CASES, GOOD_FEEDS) -> URL
    urls: dict[str, str]


@pytest.fixture
def hostile_server() -> Iterator[HostileServer]:
    """A FeedServer on 127.0.0.1:0 serving every hostile case and a few good feeds;
    closing it releases the handlers that hang (trickle, never-answer)."""
    with FeedServer() as srv:
        yield HostileServer(srv, install_hostile_routes(srv))
