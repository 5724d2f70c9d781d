"""End to end on loopback: the bench server (server.py, its own process) streams N tokens; each consumer in
clients.py reads them through its library's real HTTP stack, sync and async. Time to first token and total time,
medians over interleaved repetitions (the order rotates every round so load drift hits every consumer alike);
ratios are to raw httpx2 (raw httpx beside it). The client's CPU time is measured too: the server pushes as fast as
the client reads, so the client is CPU-bound, and its CPU time is what other processes on a shared machine cannot
inflate."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench import clients
from tests.bench.streams import Spec, expected

NAMES = ("raw httpx2", "hamr", "raw httpx", "sdk")

#: the repository root: the bench server runs as ``python -m tests.bench.server`` from it
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sample:
    ttft: float
    total: float
    cpu: float  # the client process's CPU seconds for the whole request


@dataclass(frozen=True)
class Timing:
    """One consumer's runs summed up. On this shared 2-core VM a run's time is bimodal (the same work takes about
    1.5× as long in some stretches, whichever consumer runs then), so one estimator is not enough: the median,
    the best run (timeit's rule: interference only ever adds, so the best run is the cost) and, against raw httpx2,
    the median of the ratios within each round (adjacent runs share most of the machine's state)."""

    ttft: float  # median
    total: float  # median
    best: float  # the best run's total
    cpu: float  # the best run's client CPU
    paired: float  # median over rounds of total / raw httpx2's total in the same round (1.0 for raw httpx2)


@contextmanager
def loopback_server(spec: Spec, pace: float = 0.0, extra: Sequence[str] = ()) -> Iterator[str]:
    """The bench server on 127.0.0.1:<ephemeral>; closing its stdin stops it. ``extra``: more server.py options."""
    command = [
        sys.executable,
        "-m",
        "tests.bench.server",
        f"--text-deltas={spec.text_deltas}",
        f"--tool-calls={spec.tool_calls}",
        f"--fragments={spec.fragments_per_call}",
        f"--pace={pace}",
        *extra,
    ]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"bench server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rounds(reps: int) -> Iterator[tuple[str, ...]]:
    for i in range(reps):
        k = i % len(NAMES)
        yield NAMES[k:] + NAMES[:k]


def _summary(samples: dict[str, list[Sample]]) -> dict[str, Timing]:
    raw = samples["raw httpx2"]
    return {
        name: Timing(
            ttft=statistics.median(t.ttft for t in ts),
            total=statistics.median(t.total for t in ts),
            best=min(t.total for t in ts),
            cpu=min(t.cpu for t in ts),
            paired=statistics.median(t.total / r.total for t, r in zip(ts, raw, strict=True)),
        )
        for name, ts in samples.items()
    }


def run_sync(protocol: str, base_url: str, spec: Spec, reps: int) -> dict[str, Timing]:
    want = expected(spec)
    made = {name: clients.CONSUMERS[name][0](protocol, base_url) for name in NAMES}
    samples: dict[str, list[Sample]] = {name: [] for name in NAMES}
    try:
        for name in NAMES:  # warm-up: connection pool, lazy imports, first-call caches
            clients.CONSUMERS[name][1](made[name], protocol).check(want.text, want.tool_calls, name)
        for order in _rounds(reps):
            for name in order:
                cpu, start = time.process_time(), time.perf_counter()
                result = clients.CONSUMERS[name][1](made[name], protocol)
                end, cpu_end = time.perf_counter(), time.process_time()
                result.check(want.text, want.tool_calls, name)
                samples[name].append(Sample(result.first - start, end - start, cpu_end - cpu))
    finally:
        for client in made.values():
            client.close()
    return _summary(samples)


async def _run_async(protocol: str, base_url: str, spec: Spec, reps: int) -> dict[str, Timing]:
    want = expected(spec)
    made: dict[str, Any] = {name: clients.CONSUMERS[name][0](protocol, base_url, aio=True) for name in NAMES}
    samples: dict[str, list[Sample]] = {name: [] for name in NAMES}
    try:
        for name in NAMES:
            (await clients.CONSUMERS[name][2](made[name], protocol)).check(want.text, want.tool_calls, name)
        for order in _rounds(reps):
            for name in order:
                cpu, start = time.process_time(), time.perf_counter()
                result = await clients.CONSUMERS[name][2](made[name], protocol)
                end, cpu_end = time.perf_counter(), time.process_time()
                result.check(want.text, want.tool_calls, name)
                samples[name].append(Sample(result.first - start, end - start, cpu_end - cpu))
    finally:
        for client in made.values():
            await clients.aclose(client)
    return _summary(samples)


def run(spec: Spec, reps: int, pace: float = 0.0) -> dict[tuple[str, str], dict[str, Timing]]:
    """{(protocol, "sync" | "async"): {consumer: median Timing}}"""
    out: dict[tuple[str, str], dict[str, Timing]] = {}
    with loopback_server(spec, pace) as base_url:
        for protocol in clients.PROTOCOLS:
            out[protocol, "sync"] = run_sync(protocol, base_url, spec, reps)
            out[protocol, "async"] = asyncio.run(_run_async(protocol, base_url, spec, reps))
    return out
