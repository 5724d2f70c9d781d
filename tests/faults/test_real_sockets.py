"""A subset of the fault matrix through REAL sockets: hamr's own httpx2 clients, and a caller's plain httpx2 and httpx
clients passed as ``http_client``, against a misbehaving server on 127.0.0.1 that resets, stalls and truncates. Proves
that the timeouts hamr sets reach each library (they fire well before the server would give up; mock transports
ignore timeouts), that each library's transport errors become hamr's typed errors and are retried, and that partial
output survives outside mocks. Network access stays blocked except for loopback."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

import hamr
from tests.faults.faultkit import TEXT, config, drive
from tests.faults.loopback import HOLD, MisbehavingServer

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

IDLE = 0.25  # read_timeout and stream_idle_timeout, in seconds
FAST = {"connect_timeout": 2, "read_timeout": IDLE, "stream_idle_timeout": IDLE, "max_retries": 1}


@dataclass(frozen=True)
class Expect:
    error: type[hamr.HamrError] | None
    attempts: int
    text: str = ""
    timeout: str | None = None


EXPECTED = {
    ("ok", "chat"): Expect(None, 1, TEXT),
    ("ok", "stream"): Expect(None, 1, TEXT),
    ("reset", "chat"): Expect(hamr.ConnectionError, 2),
    ("reset", "stream"): Expect(hamr.ConnectionError, 2),
    ("stall", "chat"): Expect(hamr.TimeoutError, 2, timeout="read_timeout"),
    ("stall", "stream"): Expect(hamr.TimeoutError, 2, timeout="stream_idle_timeout"),
    ("stall-body", "chat"): Expect(hamr.TimeoutError, 1, timeout="read_timeout"),
    ("stall-body", "stream"): Expect(hamr.StreamTimeoutError, 1, TEXT, timeout="stream_idle_timeout"),
    ("truncate", "chat"): Expect(hamr.ConnectionError, 1),
    ("truncate", "stream"): Expect(hamr.StreamError, 1, TEXT),
}


@pytest.mark.parametrize("mode", ["chat", "stream"])
@pytest.mark.parametrize("client_kind", ["sync", "async"])
@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
@pytest.mark.parametrize("behaviour", ["ok", "reset", "stall", "stall-body", "truncate"])
@pytest.mark.parametrize("http_client", ["hamr's own", "httpx2", "httpx"])
def test_a_misbehaving_server_ends_in_the_documented_outcome(
    server: MisbehavingServer, http_client: str, behaviour: str, protocol: str, client_kind: str, mode: str
) -> None:
    expected = EXPECTED[behaviour, mode]
    library = None if http_client == "hamr's own" else http_client
    started = time.monotonic()
    cfg = config(protocol, base_url=server.url(behaviour, protocol), **FAST)
    result = drive(cfg, client_kind, mode, library=library)
    elapsed = time.monotonic() - started

    assert server.hits[behaviour] == expected.attempts
    assert elapsed < HOLD / 2, "a timeout fired long before the server would have given up"
    if expected.error is None:
        assert result.error is None and result.completion is not None
        assert result.completion.text == expected.text
        return
    error = result.error
    assert type(error) is expected.error, repr(error)
    if expected.timeout is not None:
        assert isinstance(error, hamr.TimeoutError) and error.timeout == expected.timeout
        assert elapsed >= IDLE * expected.attempts
    if isinstance(error, hamr.StreamError):
        assert error.partial.text == result.delivered == expected.text
    else:
        assert result.delivered == ""
