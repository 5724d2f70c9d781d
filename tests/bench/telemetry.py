"""What hamr's OpenTelemetry instrumentation costs, hamr with telemetry off (OpenTelemetry never imported, as without
the extra; and the API imported with no provider configured) and on (the SDK configured: a span and the histograms
per call), each variant in a fresh interpreter, in rounds with the order rotating, each figure paired within its
round:

- client CPU per event of concurrent paced streams over loopback (the concurrency benchmark's cells, concurrency.py),
  beside raw httpx2;
- CPU per call with nothing else in the way: ``chat`` calls and whole streams served from memory (MockTransport),
  one after another, so the instrumentation's own cost stands out of the noise of a shared machine.

    python -m tests.bench.telemetry --worker '<json>'    (one in-memory run; run.py's section "otel" drives it)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from tests.bench import clients, concurrency
from tests.bench.concurrency import Cell, Sample, Summary
from tests.bench.e2e import loopback_server
from tests.bench.streams import EVENTS, Spec, completion, expected

#: the floor, hamr as before, hamr off with the API imported, hamr on
NAMES = ("raw httpx2", "hamr", "hamr, OTel API imported", "hamr, OTel SDK on")
#: (mode, N): section 6's async cell where a wake-up carries dozens of events (CPU per event is the library's, not
#: the machine's wake-up cost: concurrency.DEEP_N), and its largest threads cell
CELLS = (("async", 64), ("threads", 32))


@dataclass(frozen=True)
class Result:
    cells: dict[Cell, Summary]
    samples: dict[Cell, list[Sample]]
    rounds: int
    seconds: float


def run(spec: Spec, pace: float, rounds: int) -> Result:
    start = time.perf_counter()
    runs: dict[Cell, list[Sample]] = {}
    server_args = ("--ticker", "--max-requests=100000000", "--deadline=7200")
    with loopback_server(spec, pace, server_args) as base_url:
        for i in range(rounds):
            for mode, n in CELLS:
                for protocol in clients.PROTOCOLS:
                    for name in concurrency._order(i, NAMES):
                        cell = Cell(mode, protocol, name, n)
                        runs.setdefault(cell, []).append(concurrency._spawn(cell, base_url, spec, pace))
    summaries = {cell: concurrency.summarize(samples, cell.n) for cell, samples in runs.items()}
    return Result(summaries, runs, rounds, time.perf_counter() - start)


def cells() -> list[tuple[str, str, int]]:
    return [(mode, protocol, n) for mode, n in CELLS for protocol in clients.PROTOCOLS]


def pooled(res: Result, a: str, b: str) -> tuple[float, tuple[float, float]]:
    """``a``'s client CPU per event ÷ ``b``'s over every cell at once: the median of all the per-round ratios and
    its 95% interval (one judgement, where the worst of several cells' medians would miss by chance)."""
    ratios = [
        x.cpu_per_event / y.cpu_per_event
        for mode, protocol, n in cells()
        for x, y in zip(res.samples[Cell(mode, protocol, a, n)], res.samples[Cell(mode, protocol, b, n)], strict=True)
    ]
    return statistics.median(ratios), concurrency.median_interval(ratios)


def ratio(res: Result, mode: str, protocol: str, n: int, a: str, b: str) -> tuple[float, tuple[float, float]]:
    """``a``'s client CPU per event ÷ ``b``'s: the paired median over rounds and its 95% interval."""
    x, y = res.samples[Cell(mode, protocol, a, n)], res.samples[Cell(mode, protocol, b, n)]
    per_event = lambda s: s.cpu_per_event  # noqa: E731
    return concurrency.paired(x, y, per_event), concurrency.paired_interval(x, y, per_event)


# ------------------------------------------------------------------------------------------------------------------
# from memory: CPU per call, nothing else in the way
# ------------------------------------------------------------------------------------------------------------------

#: the hamr variants, as clients.py makes them
VARIANTS = NAMES[1:]
CHATS, STREAMS = 400, 60  # calls per run


def _worker(job: dict[str, Any]) -> dict[str, float]:
    """One run in this process: ``CHATS`` chat calls and ``STREAMS`` streams of ``job``'s variant, served from
    memory, after a warm-up; CPU µs per chat call and per stream event."""
    import httpx2

    protocol, spec = job["protocol"], Spec(*job["spec"])
    events = list(EVENTS[protocol](spec))
    answer = completion(protocol, spec)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(events))
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=answer)

    make, consume, _ = clients.CONSUMERS[job["variant"]]
    client = make(protocol, "http://bench.invalid", httpx2.MockTransport(handler))
    want = expected(spec)
    for _ in range(3):  # warm-up: imports, caches, the tracer and instruments
        client.chat(clients.MESSAGES, max_tokens=clients.MAX_TOKENS)
        consume(client, protocol).check(want.text, want.tool_calls, job["variant"])
    start = time.process_time()
    for _ in range(CHATS):
        client.chat(clients.MESSAGES, max_tokens=clients.MAX_TOKENS)
    chat = (time.process_time() - start) / CHATS
    start = time.process_time()
    for _ in range(STREAMS):
        consume(client, protocol)
    per_event = (time.process_time() - start) / (STREAMS * len(events))
    client.close()
    return {"chat": chat * 1e6, "event": per_event * 1e6}


@dataclass(frozen=True)
class Calls:
    """{(protocol, variant): [runs]}, each run {"chat": µs per call, "event": µs per stream event}."""

    runs: dict[tuple[str, str], list[dict[str, float]]]
    rounds: int
    events: dict[str, int]  # events per stream, per protocol

    def median(self, protocol: str, variant: str, what: str) -> float:
        return statistics.median(r[what] for r in self.runs[protocol, variant])

    def paired(self, protocol: str, variant: str, what: str) -> tuple[float, tuple[float, float]]:
        """``variant`` ÷ hamr without OpenTelemetry: the median of the per-round ratios and its 95% interval."""
        ratios = [
            a[what] / b[what] for a, b in zip(self.runs[protocol, variant], self.runs[protocol, "hamr"], strict=True)
        ]
        return statistics.median(ratios), concurrency.median_interval(ratios)


def calls(spec: Spec, rounds: int) -> Calls:
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for i in range(rounds):
        for protocol in clients.PROTOCOLS:
            for variant in concurrency._order(i, VARIANTS):
                sizes = [spec.text_deltas, spec.tool_calls, spec.fragments_per_call]
                job = {"protocol": protocol, "variant": variant, "spec": sizes}
                command = [sys.executable, "-m", "tests.bench.telemetry", "--worker", json.dumps(job)]
                done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=concurrency.ROOT)
                if done.returncode != 0:
                    raise RuntimeError(f"telemetry worker {job} failed:\n{done.stderr[-3000:]}")
                runs.setdefault((protocol, variant), []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    events = {p: sum(1 for _ in EVENTS[p](spec)) for p in clients.PROTOCOLS}
    return Calls(runs, rounds, events)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(_worker(json.loads(sys.argv[2]))), flush=True)
    else:
        raise SystemExit("run through run.py (--only otel), or as --worker '<json>'")
