"""The loopback fault server the real-socket tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.loopback import MisbehavingServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MisbehavingServer]:
    """A misbehaving server on 127.0.0.1, reached directly (no proxy from the environment)."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    with MisbehavingServer() as running:
        yield running
