"""The soak's short version (``nox -s soak`` runs the long one and writes RELIABILITY.md): a few hundred seeded
requests with every fault, through both clients, both protocols, chat and stream, against the fault server on
127.0.0.1. Every check of the long run must hold here too."""

from __future__ import annotations

from collections import Counter

import pytest
import soak
from soak_server import FAULTS

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])


def test_a_short_soak_ends_every_request_as_its_fault_says_and_leaks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    report = soak.run(requests=160, concurrency=64, seed=12, hostile=False)

    assert report.problems == []
    assert set(Counter(o.job.fault for o in report.outcomes)) == set(FAULTS)
    assert {(o.job.kind, o.job.mode, o.job.protocol) for o in report.outcomes} == {
        (k, m, p) for k in ("sync", "async") for m in ("chat", "stream") for p in ("openai", "anthropic")
    }
    assert report.lost_partials == report.repeated_text == 0
    assert report.fds[0] == report.fds[1] and len(set(report.sockets)) == 1
