"""``nox -s soak``: a bounded, seeded soak of both clients against the fault server (soak_server.py, run in its
own process on 127.0.0.1). Prints a summary and writes RELIABILITY.md, as ``nox -s bench`` writes BENCHMARKS.md.

    python -m tests.faults.soak [--requests 2000] [--concurrency 64] [--seed N] [--out RELIABILITY.md]

Half the requests go through a Client shared by threads, half through an AsyncClient shared by tasks, each with
one client per protocol; chat and stream; every request draws a fault. Checked for every request: it ends in
success or in the exact error its fault implies; a stream never repeats text; a broken stream's ``partial`` holds
exactly the text the server sent; the attempts never exceed ``max_retries`` + 1 and honour Retry-After; a stream
the caller left is hung up. Checked for the run: sockets and file descriptors return to their starting count,
memory is flat from the first to the last window of requests, no ResourceWarning, nothing raised in a finalizer.
Each request is checked as it ends and leaves only counts behind, in room set aside before the first request, so
the memory windows measure the clients, not the soak's own records.
Then the hostile bodies (an endless line, endless data lines, an endless chunked body): peak memory against the
limits. The run stops by itself; the seed is printed, and ``--seed N`` replays a run's plan exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import itertools
import json
import os
import platform
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
import warnings
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hamr
from tests.faults.faultkit import KEY, config
from tests.faults.soak_server import FAULTS, WAITS, text_of

ROOT = Path(__file__).resolve().parents[2]


def _version(distribution: str) -> str:
    """The installed version of the transport hamr runs on (the report says which one it soaked)."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


IDLE = 1.0  # read_timeout and stream_idle_timeout: a stall costs this much
MAX_RETRIES = 2
SETTINGS = {"read_timeout": IDLE, "stream_idle_timeout": IDLE, "connect_timeout": 5, "max_retries": MAX_RETRIES}
STREAM_ONLY = {"first-event-error", "abandon"}
LEAVE_AFTER = 2  # text events an abandoning caller reads


@dataclass(frozen=True)
class Expect:
    """A fault's documented end: the exact error class (None: a Completion), the attempts, the least wait between
    attempts, and whether a broken stream's partial holds every piece sent."""

    error: type[hamr.HamrError] | None
    attempts: int = 1
    wait: float = 0.0
    partial: bool = False


BACKOFF_LEAST = 0.25  # the first backoff: 0.5 s less up to half of it
SUCCESS_AFTER = {
    "ok": Expect(None),
    "429-retry-after-ms": Expect(None, 2, WAITS["429-retry-after-ms"]),
    "429": Expect(None, 2, BACKOFF_LEAST),
    "503-retry-after": Expect(None, 2, WAITS["503-retry-after"]),
    "529-twice": Expect(None, 3, BACKOFF_LEAST),
    "429-exhausted": Expect(hamr.RateLimitError, 1 + MAX_RETRIES, WAITS["429-exhausted"]),
    "reset-before": Expect(None, 2, BACKOFF_LEAST),
    "drip": Expect(None),
}
CHAT = {
    **SUCCESS_AFTER,
    "reset-mid": Expect(hamr.ConnectionError),
    "truncate": Expect(hamr.ConnectionError),
    "stall": Expect(hamr.TimeoutError),
    "error-event": Expect(hamr.ServerError),
    "garbage": Expect(hamr.InvalidResponseError),
}
STREAM = {
    **SUCCESS_AFTER,
    "reset-mid": Expect(hamr.StreamError, partial=True),
    "truncate": Expect(hamr.StreamError, partial=True),
    "stall": Expect(hamr.StreamTimeoutError, partial=True),
    "error-event": Expect(hamr.StreamError, partial=True),
    "first-event-error": Expect(None, 2, BACKOFF_LEAST),
    "garbage": Expect(hamr.StreamError),
    "abandon": Expect(None),
}
assert set(STREAM) == set(FAULTS) and set(CHAT) == set(FAULTS) - STREAM_ONLY


@dataclass(frozen=True)
class Job:
    rid: int
    kind: str  # sync | async
    protocol: str
    mode: str  # chat | stream
    fault: str
    pieces: int

    @property
    def prompt(self) -> str:
        return f"soak {self.rid} {self.fault} {self.pieces}"

    @property
    def expect(self) -> Expect:
        return (STREAM if self.mode == "stream" else CHAT)[self.fault]


def plan(requests: int, seed: int) -> list[Job]:
    """The run's requests: a seeded mix, one in four a plain success, the rest spread over the faults."""
    rng = random.Random(seed)
    jobs = []
    for rid in range(requests):
        mode = rng.choice(("chat", "stream"))
        faults = FAULTS if mode == "stream" else [f for f in FAULTS if f not in STREAM_ONLY]
        fault = "ok" if rng.random() < 0.25 else rng.choice(faults)
        jobs.append(Job(rid, rng.choice(("sync", "async")), rng.choice(("openai", "anthropic")), mode, fault,
                        rng.randint(1, 8)))  # fmt: skip
    return jobs


@dataclass
class Outcome:
    job: Job
    error: BaseException | None = None
    text: str = ""  # the Completion's text, or a StreamError's partial text
    delivered: str = ""  # text events handed to the caller
    seconds: float = 0.0


# -- the callers ---------------------------------------------------------------------------------------------------


def call_sync(client: hamr.Client, job: Job) -> Outcome:
    out = Outcome(job)
    started = time.perf_counter()
    try:
        if job.mode == "chat":
            out.text = client.chat(job.prompt).text
        elif job.fault == "abandon":
            stream = client.stream(job.prompt)
            for event in stream:  # no `with`: leaving the loop must close it
                out.delivered += event.text
                if out.delivered.count(" ") == LEAVE_AFTER:
                    break
            out.text = stream.partial.text
        else:
            with client.stream(job.prompt) as stream:
                for event in stream:
                    out.delivered += event.text
            out.text = stream.completion.text
    except hamr.HamrError as exc:
        out.error = _bare(exc)
        out.text = exc.partial.text if isinstance(exc, hamr.StreamError) else ""
    out.seconds = time.perf_counter() - started
    return out


async def call_async(client: hamr.AsyncClient, job: Job) -> Outcome:
    out = Outcome(job)
    started = time.perf_counter()
    try:
        if job.mode == "chat":
            out.text = (await client.chat(job.prompt)).text
        elif job.fault == "abandon":
            stream = client.stream(job.prompt)
            enough = asyncio.Event()

            async def read() -> None:
                async for event in stream:
                    out.delivered += event.text
                    if out.delivered.count(" ") >= LEAVE_AFTER:
                        enough.set()

            task = asyncio.create_task(read())  # cancelled while it awaits the next event
            await asyncio.wait([task, asyncio.create_task(enough.wait())], return_when=asyncio.FIRST_COMPLETED)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            out.text = stream.partial.text
        else:
            async with client.stream(job.prompt) as stream:
                async for event in stream:
                    out.delivered += event.text
            out.text = stream.completion.text
    except hamr.HamrError as exc:
        out.error = _bare(exc)
        out.text = exc.partial.text if isinstance(exc, hamr.StreamError) else ""
    out.seconds = time.perf_counter() - started
    return out


def _bare(exc: hamr.HamrError) -> hamr.HamrError:
    """The error without its traceback and chained errors: kept for the checks, it must not keep every frame (and
    the responses in them) alive, or the memory measure would count the soak's own records."""
    exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    return exc


# -- measures of the process -----------------------------------------------------------------------------------


def descriptors() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process."""
    fds = sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return fds, sockets


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def settle(expected: int, seconds: float = 3.0) -> int:
    """Sockets of this process once closing ones are gone (the server side closes a moment later)."""
    deadline = time.monotonic() + seconds
    while (now := descriptors()[1]) > expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return now


# -- the run ---------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """The run's results. Per request it keeps only what the checks after the run need (``jobs``, ``ended_right``)
    and the report's counts, all allocated before the first request, so that the RSS windows measure the clients.
    Keeping every outcome (with its error and partial) and making a task or future per request up front, the soak
    once measured its own records: 225.8 to 260.0 MiB over 100,000 requests, while tracemalloc showed hamr, httpx2
    and httpcore2 flat."""

    seed: int
    requests: int
    concurrency: int
    jobs: list[Job] = field(default_factory=list)
    seconds: float = 0.0
    ends: Counter[tuple[str, str]] = field(default_factory=Counter)  # (fault, how it ended): requests
    lanes: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, mode, protocol): requests
    latencies: array[float] = field(default_factory=lambda: array("d"))  # seconds, by request id
    ended_right: bytearray = field(default_factory=bytearray)  # by request id: 1 if it ended as its fault says
    attempts: dict[int, list[float]] = field(default_factory=dict)
    hangups: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    fds: tuple[int, int] = (0, 0)  # before, after
    sockets: tuple[int, int, int] = (0, 0, 0)  # before, after the requests (clients open), after closing them
    memory: tuple[int, int] = (0, 0)  # RSS after the first window of requests, after the last
    window: int = 0
    peak: tuple[int, int] = (0, 0)  # peak RSS before, after
    warnings: list[str] = field(default_factory=list)
    hostile: list[tuple[str, str, int, int]] = field(default_factory=list)  # shape, outcome, limit, peak
    lost_partials: int = 0
    repeated_text: int = 0


class Server:
    """soak_server.py in its own process: its sockets and memory are not counted as the client's."""

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.soak_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        return self

    def url(self, protocol: str) -> str:
        return f"http://127.0.0.1:{self.port}/{protocol}" + ("/v1" if protocol == "openai" else "")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the server's signal to stop
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run(
    requests: int = 2000, concurrency: int = 64, seed: int | None = None, hostile: bool = True, leak: bool = False
) -> Report:
    """The soak. Its descriptor and warning checks count the whole process: run it in a process of its own (as
    ``nox -s soak`` and the short test do), or garbage that other code left for the collector is counted too.
    ``leak`` plants a leak (a connection to the server left open), for the test that proves the checks catch one."""
    seed = random.randrange(2**31) if seed is None else seed
    report = Report(seed, requests, concurrency, plan(requests, seed))
    report.latencies = array("d", bytes(8 * requests))
    report.ended_right = bytearray(requests)
    report.window = min(500, max(requests // 4, 1))
    caught: list[str] = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: caught.append(f"{u.exc_type.__name__} in {u.object!r}: {u.exc_value}")
    with Server() as server, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        report.peak = (peak_rss(), 0)
        gc.collect()
        fds_before, sockets_before = descriptors()
        planted = [socket.create_connection(("127.0.0.1", server.port))] if leak else []
        env = {"FAULT_KEY": KEY}
        configs = {p: config(p, base_url=server.url(p), **SETTINGS) for p in ("openai", "anthropic")}
        sync_clients = {p: hamr.Client(c, env=env) for p, c in configs.items()}
        done = [0]
        lock = threading.Lock()
        first_window: list[int] = []

        def finished(out: Outcome) -> None:
            with lock:
                check_outcome(report, out)
                done[0] += 1
                if done[0] == report.window:
                    first_window.append(rss())

        # each lane's workers take the next job when they are free: no request waits as a task or a future, so
        # what the lanes hold does not depend on the run's length
        sync_jobs = (j for j in report.jobs if j.kind == "sync")
        async_jobs = (j for j in report.jobs if j.kind == "async")

        def sync_worker() -> None:
            while (job := next_of(sync_jobs, lock)) is not None:
                finished(call_sync(sync_clients[job.protocol], job))

        async def async_lane() -> None:
            clients = {p: hamr.AsyncClient(c, env=env) for p, c in configs.items()}

            async def worker() -> None:
                for job in async_jobs:
                    finished(await call_async(clients[job.protocol], job))

            try:
                await asyncio.gather(*(worker() for _ in range(max(concurrency - concurrency // 2, 1))))
            finally:
                for client in clients.values():
                    await client.aclose()

        started = time.perf_counter()
        threads = max(concurrency // 2, 1)
        with ThreadPoolExecutor(1 + threads) as pool:
            lanes = [pool.submit(asyncio.run, async_lane())] + [pool.submit(sync_worker) for _ in range(threads)]
            for lane in lanes:
                lane.result()
        report.seconds = time.perf_counter() - started
        report.memory = (first_window[0] if first_window else rss(), rss())
        time.sleep(0.5)  # the server notices the last hang-ups
        stats = server.stats()
        sockets_open = settle(sockets_before)
        for client in sync_clients.values():
            client.close()
        gc.collect()
        sockets_closed = settle(sockets_before)
        fds_after, _ = descriptors()
        report.fds = (fds_before, fds_after)
        report.sockets = (sockets_before, sockets_open, sockets_closed)
        report.peak = (report.peak[0], peak_rss())
        if hostile:
            report.hostile = hostile_bodies(server)
        report.warnings = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] + caught
        for sock in planted:
            sock.close()
    sys.unraisablehook = previous_hook
    report.attempts = {int(k): v for k, v in stats["attempts"].items()}
    report.hangups = set(stats["hangups"])
    check(report)
    return report


def next_of(jobs: Iterator[Job], lock: threading.Lock) -> Job | None:
    """The next job for a sync worker (threads share one iterator), or None when none is left."""
    with lock:
        return next(jobs, None)


def digest(report: Report) -> dict[str, Any]:
    """What the short soak's test checks, as JSON (the test runs the soak in a process of its own)."""
    return {
        "problems": report.problems,
        "faults": sorted({fault for fault, _ in report.ends}),
        "lanes": sorted(" ".join(lane) for lane in report.lanes),
        "lost_partials": report.lost_partials,
        "repeated_text": report.repeated_text,
        "fds": report.fds,
        "sockets": report.sockets,
        "outcomes_kept": sum(isinstance(o, Outcome) for o in gc.get_objects()),
    }


def check_outcome(report: Report, out: Outcome) -> None:
    """The checks of one request that need only its outcome, made as it ends; the report keeps its counts."""
    job, expect, problems = out.job, out.job.expect, report.problems
    report.ends[job.fault, _end(out)] += 1
    report.lanes[job.kind, job.mode, job.protocol] += 1
    report.latencies[job.rid] = out.seconds
    name = _request(job)
    sent = text_of(job.rid, job.pieces)
    got = type(out.error) if out.error is not None else None
    if got is not expect.error:
        problems.append(f"{name}: expected {_name(expect.error)}, got {out.error!r}")
        return
    report.ended_right[job.rid] = 1
    if job.mode == "stream" and out.delivered != out.text:
        report.repeated_text += out.delivered.startswith(out.text) and out.delivered != out.text
        problems.append(f"{name}: the caller was handed {out.delivered!r}, the stream holds {out.text!r}")
    if job.fault == "abandon":
        read = out.delivered.count(" ")
        if read < LEAVE_AFTER or out.delivered != text_of(job.rid, read):
            problems.append(f"{name}: left after {out.delivered!r}")
    elif expect.error is None and out.text != sent:
        report.repeated_text += len(out.text) > len(sent)
        problems.append(f"{name}: expected the text {sent!r}, got {out.text!r}")
    elif expect.partial and out.text != sent:
        report.lost_partials += 1
        problems.append(f"{name}: the partial holds {out.text!r}, the server sent {sent!r}")


def _request(job: Job) -> str:
    return f"request {job.rid} ({job.kind} {job.protocol} {job.mode}, {job.fault})"


def check(report: Report) -> None:
    """The checks that need the server's count (attempts, waits, hang-ups) for every request that ended as its
    fault says, then those of the whole run."""
    problems = report.problems
    for job in report.jobs:
        if not report.ended_right[job.rid]:
            continue
        expect, name = job.expect, _request(job)
        if job.fault == "abandon" and job.rid not in report.hangups:
            problems.append(f"{name}: the server never saw the connection closed")
        times = report.attempts.get(job.rid, [])
        if len(times) != expect.attempts or len(times) > MAX_RETRIES + 1:
            problems.append(f"{name}: {len(times)} attempts, expected {expect.attempts}")
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if any(gap < expect.wait - 0.01 for gap in gaps):
            problems.append(f"{name}: waited {min(gaps):.3f} s between attempts, at least {expect.wait} s was due")
    fds_before, fds_after = report.fds
    if fds_after != fds_before:
        problems.append(f"file descriptors: {fds_before} before, {fds_after} after")
    before, open_, closed = report.sockets
    if open_ != before or closed != before:
        problems.append(f"sockets: {before} before, {open_} after the requests, {closed} after closing the clients")
    first, last = report.memory
    if last - first > max(8 << 20, first // 10):
        problems.append(f"memory grew from {_mb(first)} to {_mb(last)}")
    problems.extend(f"warning: {w}" for w in report.warnings)
    for shape, outcome, limit, peak in report.hostile:
        if peak > limit + (4 << 20):
            problems.append(f"{shape}: peak {_mb(peak)} for a limit of {_mb(limit)}")
        if outcome == "no error":
            problems.append(f"{shape}: hamr read it to the end")


# -- hostile bodies: the memory they cost -----------------------------------------------------------------------

EVENT_LIMIT, BODY_LIMIT = 4 << 20, 16 << 20


def hostile_bodies(server: Server) -> list[tuple[str, str, int, int]]:
    """Each endless body once, sync client, traced: what hamr allocated at the peak of the request."""
    rows = []
    shapes: list[tuple[str, str, str, int, Callable[[hamr.Client], object]]] = [
        ("a line without end", "endless-line", "max_event_bytes", EVENT_LIMIT, lambda c: c.stream("x").text()),
        ("two-character data lines without a blank line", "endless-data", "max_event_bytes", EVENT_LIMIT,
         lambda c: c.stream("x").text()),
        ("a chunked body without end", "endless-body", "max_response_bytes", BODY_LIMIT, lambda c: c.chat("x")),
    ]  # fmt: skip
    for shape, path, setting, limit, request in shapes:
        cfg = config("openai", base_url=f"http://127.0.0.1:{server.port}/{path}/v1", max_retries=0,
                     max_event_bytes=EVENT_LIMIT, max_response_bytes=BODY_LIMIT, read_timeout=10,
                     stream_idle_timeout=10)  # fmt: skip
        with hamr.Client(cfg, env={"FAULT_KEY": KEY}) as client:
            gc.collect()
            tracemalloc.start()
            try:
                request(client)
                outcome = "no error"
            except hamr.HamrError as exc:
                outcome = type(exc).__name__ + (f" at {setting}" if setting in str(exc) else f": {exc}")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        rows.append((shape, outcome, limit, peak))
    return rows


# -- the report ------------------------------------------------------------------------------------------------


def _end(out: Outcome) -> str:
    if out.error is not None:
        return type(out.error).__name__
    return "left early" if out.job.fault == "abandon" else "Completion"


def _name(cls: type[BaseException] | None) -> str:
    return "a Completion" if cls is None else cls.__name__


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(head))) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def render(report: Report) -> list[str]:
    latencies = sorted(report.latencies)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    retries = sum(len(t) for t in report.attempts.values()) - len(report.attempts)
    rows = []
    for fault in FAULTS:
        ends = {end: n for (f, end), n in report.ends.items() if f == fault}
        if not ends:
            continue
        attempts = sum(len(report.attempts.get(j.rid, [])) for j in report.jobs if j.fault == fault)
        shown = ", ".join(f"{k} {v}" for k, v in sorted(ends.items()))
        rows.append([f"`{fault}`", str(sum(ends.values())), str(attempts), shown])
    classes: Counter[str] = Counter()
    for (_, end), n in report.ends.items():
        classes[end] += n
    first, last = report.memory
    before, open_, closed = report.sockets
    lanes: Counter[str] = Counter()
    for (kind, mode, _), n in report.lanes.items():
        lanes[f"{kind} {mode}"] += n
    summary = [
        ["requests", f"{lanes.total():,} ({', '.join(f'{k} {v}' for k, v in sorted(lanes.items()))})"],
        ["at most concurrent", str(report.concurrency)],
        ["wall time", f"{report.seconds:.1f} s"],
        ["retries (attempts beyond the first)", f"{retries:,}"],
        ["latency p50 / p99", f"{p50 * 1e3:.0f} ms / {p99 * 1e3:.0f} ms"],
        ["outcomes", ", ".join(f"{k} {v}" for k, v in sorted(classes.items()))],
        ["lost partials", str(report.lost_partials)],
        ["repeated text", str(report.repeated_text)],
        ["file descriptors before / after", f"{report.fds[0]} / {report.fds[1]}"],
        ["sockets before / after the requests / after close", f"{before} / {open_} / {closed}"],
        [f"memory (RSS) after the first / last {report.window} requests", f"{_mb(first)} / {_mb(last)}"],
        ["peak RSS before / after", f"{_mb(report.peak[0])} / {_mb(report.peak[1])}"],
        ["ResourceWarnings and finalizer errors", str(len(report.warnings))],
        ["problems", str(len(report.problems))],
    ]
    lines = [
        "## Soak",
        "",
        f"Seed {report.seed} (`nox -s soak -- --seed {report.seed}` replays the plan). One `Client` per protocol "
        f"shared by {report.concurrency // 2} threads and one `AsyncClient` per protocol shared by "
        f"{report.concurrency - report.concurrency // 2} tasks, against `tests/faults/soak_server.py` in its own "
        f"process; `read_timeout` and `stream_idle_timeout` {IDLE:g} s, `max_retries` {MAX_RETRIES}.",
        "",
        "The memory rows measure the clients: each worker takes its next request when it is free (none waits as a "
        "task or a future), each request is checked as it ends and leaves only counts and its latency behind, in "
        "room set aside before the first request, and the server's attempt counts are read after the last window.",
        "",
        *_table(["measure", "value"], summary),
        "",
        "### Faults",
        "",
        "Attempts as the server counted them. Every request's end is checked against the fault's documented "
        "outcome (tests/faults/soak.py, `CHAT` and `STREAM`).",
        "",
        *_table(["fault", "requests", "attempts", "outcomes"], rows),
    ]
    if report.hostile:
        lines += [
            "",
            "### Hostile bodies",
            "",
            "One request each, sync client, under tracemalloc: the peak of what was allocated during the request "
            "(checked: at most the limit + 4 MiB).",
            "",
            *_table(
                ["body", "outcome", "limit", "peak allocated"],
                [[s, o, _mb(limit), _mb(peak)] for s, o, limit, peak in report.hostile],
            ),
        ]
    if report.problems:
        lines += ["", "### Problems", "", *(f"- {p}" for p in report.problems[:50])]
    return lines


def machine() -> list[str]:
    try:
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return [
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} cores, load {load} at the end; {platform.system()} {platform.release()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}, hamr {hamr.__version__}, on "
        + ", ".join(f"{name} {_version(name)}" for name in ("httpx2", "httpcore2", "h11")),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "RELIABILITY.md"), help="'-' to write nothing")
    args = parser.parse_args(argv)
    seed = random.randrange(2**31) if args.seed is None else args.seed
    print(f"soak: seed {seed}, {args.requests} requests, at most {args.concurrency} at once", flush=True)
    report = run(args.requests, args.concurrency, seed)
    body = render(report)
    print("\n".join(body))
    if args.out != "-":
        text = [
            "# Reliability",
            "",
            "Written by `nox -s soak` (tests/faults/soak.py); `nox -s tests` runs a short version "
            "(tests/faults/test_soak.py). Only loopback traffic.",
            "",
            *machine(),
            "",
            *body,
        ]
        Path(args.out).write_text("\n".join(text) + "\n")
        print(f"wrote {args.out}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
