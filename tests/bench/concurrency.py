"""Many streams at once on loopback: N concurrent streams on ONE client (asyncio tasks on one async client, or threads
sharing one sync client), from the bench server's ticker (server.py ``--ticker``: every open stream gets its next
event every ``pace`` seconds, as models generate), both protocols, each consumer of clients.py (raw httpx2 and raw
httpx with hamr's pool limits, hamr, the official SDK's ``create(stream=True)``).

Each (mode, protocol, consumer, N) cell runs in a fresh interpreter (``python concurrency.py --worker '<json>'``),
so its peak RSS is its own and the process imports only its own library. The worker imports, makes the client,
runs one unpaced warm-up stream (checked), then measures N paced streams started together:

- aggregate events/s: N × the stream's SSE events ÷ wall time from the start of the first request to the end of
  the last stream (the same denominator for every consumer: events on the wire);
- client CPU per event: ``time.process_time()`` (all threads) over the streams ÷ the events on the wire;
- time to first token per stream: from that stream's request start to its first text delta; p50 and p99 over the
  N streams;
- gaps: between successive pieces of the answer as the consumer gets them (text deltas and tool-call pieces: see
  clients.py's ``stamp``), every gap of every stream, p99;
- memory: the peak RSS of the process during the streams (Linux: peak reset through ``/proc/self/clear_refs``
  just before), and per open stream: (that peak − RSS just before the streams) ÷ N;
- the server's CPU seconds over the same interval (from its ``/stats``), so a reader can see it kept up.

Every stream's text and tool call are checked against the stream's known content before the cell counts. The
parent repeats every cell in rounds (consumers in an order rotating per round; raw httpx and the SDKs, not judged
against, in fewer rounds; the judged pair in more rounds at small N, see ``DEEP_N``) and keeps the best, the median
and, for hamr against raw httpx2, the paired ratio with its 95% interval.

At the largest async N, the raw consumers and hamr also run with a cold pool (the server drops the warm-up's
kept-alive connection before the streams): httpx's pool (httpcore 1.0.9) handles a burst of requests much worse
when it holds an idle connection (encode/httpcore#822), httpx2's (httpcore2) should not.

Connection reuse is checked in the parent: 100 sequential non-streaming calls on one client (each library, sync and
async), counted as connections by the server.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import http.client
import itertools
import json
import math
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.bench import clients
from tests.bench.e2e import loopback_server
from tests.bench.streams import EVENTS, Spec, expected

#: the judged pair first (``NAMES[:2]`` run every round), then raw httpx and the SDK (``sdk_rounds`` rounds)
#: the repository root: workers run as ``python -m tests.bench.concurrency`` from it
ROOT = Path(__file__).resolve().parents[2]
NAMES = ("raw httpx2", "hamr", "raw httpx", "sdk")
RAW = ("raw httpx2", "raw httpx")
MODES = ("async", "threads")
SDK_NAMES = {"openai": "openai.AsyncOpenAI / OpenAI", "anthropic": "anthropic.AsyncAnthropic / Anthropic"}
REUSE_CALLS = 100
WORKER_TIMEOUT = 300.0  # seconds: one cell never takes this long; a hung cell fails the run instead of stalling it


# ------------------------------------------------------------------------------------------------------------------
# the bench server's control endpoints
# ------------------------------------------------------------------------------------------------------------------


def server_get(base_url: str, path: str) -> dict[str, Any]:
    """GET /stats or /pace/<s> on the bench server (a plain http.client connection, not counted as an API one)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", path)
        data = conn.getresponse().read()
    finally:
        conn.close()
    return json.loads(data) if data else {}


# ------------------------------------------------------------------------------------------------------------------
# worker: one cell in this process
# ------------------------------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux), 0 elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _maxrss() -> int:
    """Where VmHWM is not to be had: getrusage's peak (which Linux carries over an exec from the parent's)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux ``clear_refs`` 5); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Stamps:
    """perf_counter() of every item each stream's consumer sees, in one array allocated before the baseline (so
    recording them allocates nothing while memory is measured): stream i owns slots [i*width, (i+1)*width)."""

    def __init__(self, streams: int, width: int) -> None:
        self.width = width
        self.buf = array("d", bytes(8 * streams * width))
        self.used = [0] * streams

    def stamper(self, i: int) -> Callable[[], None]:
        buf, used, clock = self.buf, self.used, time.perf_counter
        base, end = i * self.width, (i + 1) * self.width

        def stamp() -> None:
            pos = base + used[i]
            if pos < end:
                buf[pos] = clock()
                used[i] += 1

        return stamp

    def gaps(self) -> list[float]:
        out: list[float] = []
        for i, n in enumerate(self.used):
            row = self.buf[i * self.width : i * self.width + n]
            out += [b - a for a, b in itertools.pairwise(row)]
        return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): a value that occurred, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Sample:
    """One run of one cell, as the worker measured it."""

    events: int  # SSE events on the wire, all streams
    wall: float  # seconds
    cpu: float  # client CPU seconds, all threads
    ttft_p50: float
    ttft_p99: float
    gap_p99: float
    rss_before: int  # bytes, just before the streams
    peak: int  # bytes, peak RSS during the streams (0: not measurable here)
    maxrss: int  # bytes, the process's peak RSS over its whole life (imports, client, warm-up, streams)
    server_cpu: float  # the bench server's CPU seconds over the streams
    connections: int  # connections the server saw carry API requests during the streams
    skipped: int  # ticks skipped because a client had not read the previous events
    late: int  # ticks the server itself was late for

    @property
    def eps(self) -> float:
        return self.events / self.wall

    @property
    def cpu_per_event(self) -> float:
        return self.cpu / self.events

    def per_stream(self, n: int) -> float:
        return (self.peak - self.rss_before) / n if self.peak else math.nan


class _Measure:
    """Baseline before the streams and the deltas after: wall, CPU, RSS peak, server stats; with ``profile`` (a
    path), the streams alone run under cProfile (in every thread that runs one, timed by that thread's CPU time,
    so a blocking read costs what it costs the CPU, not its wait) and the stats are dumped there."""

    def __init__(self, base_url: str, profile: str | None = None) -> None:
        self.base_url = base_url
        self.profile = profile
        self.profilers: list[cProfile.Profile] = []

    def profiled(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, under a profiler of its own when profiling (cProfile follows one thread)."""
        if not self.profile:
            return fn()
        profiler = cProfile.Profile(time.thread_time)
        self.profilers.append(profiler)
        return profiler.runcall(fn)

    def dump(self) -> None:
        if self.profile and self.profilers:
            stats = pstats.Stats(self.profilers[0])
            for more in self.profilers[1:]:
                stats.add(more)
            stats.dump_stats(self.profile)

    def start(self) -> None:
        gc.collect()
        self.server = server_get(self.base_url, "/stats")
        self.hwm = _status_kib("VmHWM") * 1024  # the peak so far: imports, client, warm-up
        self.resettable = _reset_peak()
        self.rss = _status_kib("VmRSS") * 1024
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def stop(self, events: int, ttfts: list[float], stamps: _Stamps) -> Sample:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        peak = _status_kib("VmHWM") * 1024 if self.resettable else 0
        server = server_get(self.base_url, "/stats")
        gaps = stamps.gaps()
        return Sample(
            events=events,
            wall=wall,
            cpu=cpu,
            ttft_p50=percentile(ttfts, 0.50),
            ttft_p99=percentile(ttfts, 0.99),
            gap_p99=percentile(gaps, 0.99) if gaps else math.nan,
            rss_before=self.rss,
            peak=peak,
            maxrss=max(self.hwm, peak) if self.resettable else _maxrss(),
            server_cpu=server["cpu"] - self.server["cpu"],
            connections=server["connections"] - self.server["connections"],
            skipped=server["skipped"] - self.server["skipped"],
            late=server["late"] - self.server["late"],
        )


def _after_warm_up(job: dict[str, Any]) -> None:
    """Pace the streams from now on; for a cold pool, have the server close the warm-up's kept-alive connection."""
    server_get(job["base_url"], f"/pace/{job['pace']}")
    if job["pool"] == "cold":
        server_get(job["base_url"], "/drop")
        time.sleep(0.05)  # the FIN reaches this process's socket before the streams start


def _options(job: dict[str, Any]) -> dict[str, Any]:
    """The raw consumers get hamr's pool limits from the parent, so this process need not import hamr to read
    them."""
    return {"limits": job["limits"]} if job["consumer"] in RAW else {}


def _check(results: list[clients.Result], spec: Spec, who: str) -> None:
    want = expected(spec)
    for result in results:
        result.check(want.text, want.tool_calls, who)


async def _async_cell(job: dict[str, Any], spec: Spec, per_stream: int) -> Sample:
    protocol, name, n, base_url = job["protocol"], job["consumer"], job["n"], job["base_url"]
    make, _, consume = clients.CONSUMERS[name]
    client = make(protocol, base_url, aio=True, **_options(job))
    try:
        server_get(base_url, "/pace/0")  # warm-up unpaced: imports, caches, the pool's first connection
        _check([await consume(client, protocol)], spec, name)
        _after_warm_up(job)
        stamps = _Stamps(n, per_stream + 16)
        starts = [0.0] * n
        measure = _Measure(base_url, job.get("profile"))

        async def one(i: int) -> clients.Result:
            starts[i] = time.perf_counter()
            result: clients.Result = await consume(client, protocol, stamps.stamper(i))
            return result

        async def all_streams() -> list[clients.Result]:
            return await asyncio.gather(*(one(i) for i in range(n)))

        measure.start()
        if measure.profile:  # the event loop runs in this thread: one profiler sees every task
            profiler = cProfile.Profile(time.thread_time)
            measure.profilers.append(profiler)
            profiler.enable()
            try:
                results = await all_streams()
            finally:
                profiler.disable()
        else:
            results = await all_streams()
        measure.dump()
        sample = measure.stop(n * per_stream, [r.first - s for r, s in zip(results, starts, strict=True)], stamps)
    finally:
        await clients.aclose(client)
    _check(results, spec, name)
    return sample


def _threads_cell(job: dict[str, Any], spec: Spec, per_stream: int) -> Sample:
    protocol, name, n, base_url = job["protocol"], job["consumer"], job["n"], job["base_url"]
    make, consume, _ = clients.CONSUMERS[name]
    client = make(protocol, base_url, **_options(job))
    try:
        server_get(base_url, "/pace/0")
        _check([consume(client, protocol)], spec, name)
        _after_warm_up(job)
        stamps = _Stamps(n, per_stream + 16)
        starts = [0.0] * n
        results: list[clients.Result | BaseException | None] = [None] * n

        measure = _Measure(base_url, job.get("profile"))

        def one(i: int) -> None:
            starts[i] = time.perf_counter()
            try:
                results[i] = measure.profiled(lambda: consume(client, protocol, stamps.stamper(i)))
            except BaseException as exc:  # reported in the main thread
                results[i] = exc

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        measure.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        measure.dump()
        done = [r for r in results if isinstance(r, clients.Result)]
        if len(done) != n:
            raise RuntimeError(
                f"{name}: a stream failed: {next(r for r in results if not isinstance(r, clients.Result))!r}"
            )
        sample = measure.stop(n * per_stream, [r.first - s for r, s in zip(done, starts, strict=True)], stamps)
    finally:
        client.close()
    _check(done, spec, name)
    return sample


def worker(job: dict[str, Any]) -> dict[str, Any]:
    spec = Spec(*job["spec"])
    per_stream = sum(1 for _ in EVENTS[job["protocol"]](spec))
    if job["mode"] == "async":
        sample = asyncio.run(_async_cell(job, spec, per_stream))
    else:
        sample = _threads_cell(job, spec, per_stream)
    return asdict(sample)


# ------------------------------------------------------------------------------------------------------------------
# parent: cells in rounds, and the connection-reuse check
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    mode: str
    protocol: str
    consumer: str
    n: int
    #: "warm": the pool keeps the warm-up's connection alive; "cold": the server closed it before the streams
    pool: str = "warm"


def _spawn(cell: Cell, base_url: str, spec: Spec, pace: float, profile: str | None = None) -> Sample:
    from hamr._client import POOL_LIMITS  # here: a worker must not load hamr unless it times hamr

    job = {**asdict(cell), "base_url": base_url, "spec": [spec.text_deltas, spec.tool_calls, spec.fragments_per_call]}
    job["pace"] = pace
    job["limits"] = POOL_LIMITS
    command = [sys.executable, "-m", "tests.bench.concurrency", "--worker", json.dumps(job)]
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"concurrency worker {cell} failed:\n{done.stderr[-3000:]}")
    return Sample(**json.loads(done.stdout.strip().splitlines()[-1]))


def _order(i: int, names: tuple[str, ...] = NAMES) -> tuple[str, ...]:
    k = i % len(names)
    return names[k:] + names[:k]


@dataclass(frozen=True)
class Figure:
    """One measure of one cell over its runs: the best run's value and the median."""

    best: float
    median: float


@dataclass(frozen=True)
class Summary:
    """One cell over its runs. Best = the run the machine disturbed least: the highest events/s, the lowest CPU
    per event, time to first token, gap, memory."""

    eps: Figure
    cpu_per_event: Figure
    ttft_p50: Figure
    ttft_p99: Figure
    gap_p99: Figure
    per_stream: Figure  # bytes
    maxrss: Figure  # bytes
    server_share: Figure  # the server's CPU seconds ÷ the cell's wall seconds
    connections: int  # most new connections any run opened
    skipped: int  # over all runs
    late: int  # over all runs
    runs: int


def _figure(values: list[float], higher_is_better: bool = False) -> Figure:
    kept = [v for v in values if not math.isnan(v)] or [math.nan]
    return Figure(max(kept) if higher_is_better else min(kept), statistics.median(kept))


def paired(a: list[Sample], b: list[Sample], measure: Callable[[Sample], float]) -> float:
    """The median over rounds of a's measure ÷ b's in the same round (adjacent runs share the machine's state)."""
    return statistics.median(_round_ratios(a, b, measure))


def _round_ratios(a: list[Sample], b: list[Sample], measure: Callable[[Sample], float]) -> list[float]:
    return [measure(x) / measure(y) for x, y in zip(a, b, strict=False)]


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median (order statistics: the median lies between the k-th
    smallest and the k-th largest of n values with probability 1 − 2·P(Binomial(n, ½) < k)); (nan, nan) when n is too
    small for ``level``."""
    ordered, n = sorted(values), len(values)
    k, tail = 0, 0.0  # the largest k with P(Binomial(n, 1/2) < k) ≤ (1 − level) / 2
    while k < n // 2:
        tail += math.comb(n, k) / 2**n
        if tail > (1 - level) / 2:
            break
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else (math.nan, math.nan)


def paired_interval(a: list[Sample], b: list[Sample], measure: Callable[[Sample], float]) -> tuple[float, float]:
    """The 95% interval of the paired median (``median_interval`` of the per-round ratios)."""
    return median_interval(_round_ratios(a, b, measure))


def paired_quartiles(a: list[Sample], b: list[Sample], measure: Callable[[Sample], float]) -> tuple[float, float]:
    """The first and third quartiles of the same per-round ratios: how far one round's ratio strays (the noise a
    single run's ratio carries)."""
    ratios = _round_ratios(a, b, measure)
    if len(ratios) < 2:  # --quick: one round
        return math.nan, math.nan
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return q1, q3


def summarize(samples: list[Sample], n: int) -> Summary:
    return Summary(
        eps=_figure([s.eps for s in samples], higher_is_better=True),
        cpu_per_event=_figure([s.cpu_per_event for s in samples]),
        ttft_p50=_figure([s.ttft_p50 for s in samples]),
        ttft_p99=_figure([s.ttft_p99 for s in samples]),
        gap_p99=_figure([s.gap_p99 for s in samples]),
        per_stream=_figure([s.per_stream(n) for s in samples]),
        maxrss=_figure([float(s.maxrss) for s in samples]),
        server_share=_figure([s.server_cpu / s.wall for s in samples]),
        connections=max(s.connections for s in samples),
        skipped=sum(s.skipped for s in samples),
        late=sum(s.late for s in samples),
        runs=len(samples),
    )


# ------------------------------------------------------------------------------------------------------------------
# connection reuse: sequential non-streaming calls on one client
# ------------------------------------------------------------------------------------------------------------------


def _raw_chat_body(protocol: str) -> tuple[str, dict[str, Any]]:
    if protocol == "openai":
        return "/v1/chat/completions", {"model": clients.MODEL, "messages": clients.MESSAGES}
    return "/v1/messages", {"model": clients.MODEL, "messages": clients.MESSAGES, "max_tokens": clients.MAX_TOKENS}


def _raw_result(protocol: str, data: dict[str, Any]) -> clients.Result:
    if protocol == "openai":
        message = data["choices"][0]["message"]
        calls = [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls", ())]
        return clients.Result(message["content"] or "", calls)
    text = "".join(b["text"] for b in data["content"] if b["type"] == "text")
    return clients.Result(text, [(b["id"], b["name"], b["input"]) for b in data["content"] if b["type"] == "tool_use"])


def _hamr_result(completion: Any) -> clients.Result:
    return clients.Result(completion.text, [(c.id, c.name, c.raw_arguments) for c in completion.tool_calls])


def _sdk_result(protocol: str, answer: Any) -> clients.Result:
    if protocol == "openai":
        message = answer.choices[0].message
        calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()]
        return clients.Result(message.content or "", calls)
    text = "".join(b.text for b in answer.content if b.type == "text")
    return clients.Result(text, [(b.id, b.name, b.input) for b in answer.content if b.type == "tool_use"])


def _chat_sync(name: str, client: Any, protocol: str) -> clients.Result:
    if name in RAW:
        path, body = _raw_chat_body(protocol)
        response = client.post(path, json=body)
        response.raise_for_status()
        return _raw_result(protocol, response.json())
    if name == "hamr":
        return _hamr_result(client.chat(clients.MESSAGES, max_tokens=clients.MAX_TOKENS))
    if protocol == "openai":
        return _sdk_result(protocol, client.chat.completions.create(model=clients.MODEL, messages=clients.MESSAGES))
    answer = client.messages.create(model=clients.MODEL, messages=clients.MESSAGES, max_tokens=clients.MAX_TOKENS)
    return _sdk_result(protocol, answer)


async def _chat_async(name: str, client: Any, protocol: str) -> clients.Result:
    if name in RAW:
        path, body = _raw_chat_body(protocol)
        response = await client.post(path, json=body)
        response.raise_for_status()
        return _raw_result(protocol, response.json())
    if name == "hamr":
        return _hamr_result(await client.chat(clients.MESSAGES, max_tokens=clients.MAX_TOKENS))
    if protocol == "openai":
        answer = await client.chat.completions.create(model=clients.MODEL, messages=clients.MESSAGES)
        return _sdk_result(protocol, answer)
    answer = await client.messages.create(model=clients.MODEL, messages=clients.MESSAGES, max_tokens=clients.MAX_TOKENS)
    return _sdk_result(protocol, answer)


def reuse(base_url: str, spec: Spec) -> dict[tuple[str, str, str], tuple[int, int]]:
    """{(protocol, "sync" | "async", consumer): (API requests, connections opened)} for REUSE_CALLS sequential
    non-streaming calls on one fresh client, each answer checked."""
    want = expected(spec)
    out: dict[tuple[str, str, str], tuple[int, int]] = {}

    async def run_async(name: str, protocol: str) -> None:
        client = clients.CONSUMERS[name][0](protocol, base_url, aio=True)
        try:
            for _ in range(REUSE_CALLS):
                (await _chat_async(name, client, protocol)).check(want.text, want.tool_calls, name)
        finally:
            await clients.aclose(client)

    for protocol in clients.PROTOCOLS:
        for mode in ("sync", "async"):
            for name in NAMES:
                before = server_get(base_url, "/stats")
                if mode == "sync":
                    client = clients.CONSUMERS[name][0](protocol, base_url)
                    try:
                        for _ in range(REUSE_CALLS):
                            _chat_sync(name, client, protocol).check(want.text, want.tool_calls, name)
                    finally:
                        client.close()
                else:
                    asyncio.run(run_async(name, protocol))
                after = server_get(base_url, "/stats")
                out[protocol, mode, name] = (
                    after["requests"] - before["requests"],
                    after["connections"] - before["connections"],
                )
    return out


# ------------------------------------------------------------------------------------------------------------------
# the whole section
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    cells: dict[Cell, Summary]
    samples: dict[Cell, list[Sample]]  # every run, in round order
    reuse: dict[tuple[str, str, str], tuple[int, int]]
    per_stream: dict[str, int]  # SSE events per stream, per protocol
    seconds: float
    wake: tuple[float, float]  # CPU seconds per idle wake-up: asyncio, time.sleep (``wake_cost``)


#: the cells also run with a cold pool (the warm-up's connection closed by the server): at the largest async N, raw
#: httpx2 and hamr (every round) and raw httpx (``sdk_rounds`` rounds), each right beside its warm-pool run; it shows
#: what a kept-alive connection costs each pool when many streams start together
COLD_NAMES = ("raw httpx2", "hamr", "raw httpx")
COLD_PROTOCOL = "openai"

#: cells with at most this many streams run the judged pair in ``deep_rounds`` rounds: there one wake-up of the client
#: carries a few events, so CPU per event is mostly the cost of waking up, which this VM's host makes vary by 2-3×
#: from one second to the next (one round's ratio spreads ±10-20%); at N ≥ 64 a wake-up carries dozens of events and
#: 15 rounds pin the ratio to ±2%
DEEP_N = 32


def cells(ns: dict[str, tuple[int, ...]]) -> Iterator[tuple[str, str, int]]:
    for mode in MODES:
        for protocol in clients.PROTOCOLS:
            for n in ns[mode]:
                yield mode, protocol, n


def run(
    spec: Spec, pace: float, rounds: int, sdk_rounds: int, ns: dict[str, tuple[int, ...]], deep_rounds: int = 0
) -> Result:
    """Every cell ``rounds`` times (the SDK's ``sdk_rounds``; the judged pair at N ≤ DEEP_N ``deep_rounds`` times,
    when more), consumers in a rotating order; then the reuse check."""
    start = time.perf_counter()
    server_args = ("--ticker", "--max-requests=100000000", "--deadline=7200")
    runs: dict[Cell, list[Sample]] = {}
    top = max(ns["async"])
    every = max(rounds, deep_rounds)
    with loopback_server(spec, pace, server_args) as base_url:
        for i in range(every):
            for mode, protocol, n in cells(ns):
                if i >= (every if n <= DEEP_N else rounds):
                    continue
                for name in _order(i, NAMES if i < sdk_rounds else NAMES[:2]):
                    # the cold-pool twin right beside its warm run (warm first in even rounds, cold first in odd):
                    # their ratio is paired, so the two runs share the machine's state
                    twin = name in COLD_NAMES and (mode, protocol, n) == ("async", COLD_PROTOCOL, top)
                    pools = ("warm", "cold") if twin else ("warm",)
                    for pool in pools[:: 1 if i % 2 == 0 else -1]:
                        cell = Cell(mode, protocol, name, n, pool)
                        runs.setdefault(cell, []).append(_spawn(cell, base_url, spec, pace))
        reused = reuse(base_url, spec)
    wake = wake_cost(pace)
    per_stream = {p: sum(1 for _ in EVENTS[p](spec)) for p in clients.PROTOCOLS}
    summaries = {cell: summarize(rs, cell.n) for cell, rs in runs.items()}
    return Result(summaries, runs, reused, per_stream, time.perf_counter() - start, wake)


def wake_cost(pace: float, wakes: int = 200, runs: int = 3) -> tuple[float, float]:
    """CPU seconds one idle wake-up costs this machine, the median of ``runs``: (an ``asyncio.sleep(pace)`` in an
    event loop, a ``time.sleep(pace)``), the floor under a paced client's CPU per event at small N."""

    async def loop() -> float:
        start = time.process_time()
        for _ in range(wakes):
            await asyncio.sleep(pace)
        return (time.process_time() - start) / wakes

    def plain() -> float:
        start = time.process_time()
        for _ in range(wakes):
            time.sleep(pace)
        return (time.process_time() - start) / wakes

    return (
        statistics.median(asyncio.run(loop()) for _ in range(runs)),
        statistics.median(plain() for _ in range(runs)),
    )


def profile_cell(cell: Cell, spec: Spec, pace: float, path: str) -> Sample:
    """One more run of ``cell`` under cProfile (its own server), the stats dumped at ``path``: what a missed target
    is reported with."""
    server_args = ("--ticker", "--max-requests=100000", "--deadline=600")
    with loopback_server(spec, pace, server_args) as base_url:
        return _spawn(cell, base_url, spec, pace, profile=path)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--worker":
        job = json.loads(sys.argv[2])
        if len(sys.argv) >= 5 and sys.argv[3] == "--profile":
            job["profile"] = sys.argv[4]  # the streams alone, not the imports and the warm-up
        out = worker(job)
        print(json.dumps(out), flush=True)
        return
    raise SystemExit("run through run.py (--only concurrency), or as --worker '<json>' [--profile PATH]")


if __name__ == "__main__":
    main()
