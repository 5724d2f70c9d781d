"""``nox -s bench``: hamr against the official SDKs and raw httpx2 (raw httpx beside it). Prints the tables and writes
BENCHMARKS.md.

    python -m tests.bench.run [--quick] [--only import,decode,e2e,memory,suite,concurrency,otel] [--out PATH] [--update]

``--only SECTIONS --update`` runs some sections and writes them, with their summary lines, into the existing report
(the rest of it kept, and a line in its header saying which sections were re-run when).

Absolute times on a shared machine are noise; the ratios are the result. Targets (checked and reported here,
never asserted in the test suite): ``import hamr`` under a quarter of ``import openai`` and no slower than
``import httpx2``; decode at least as fast as the fastest SDK parser; end to end within 5% of raw httpx2; constant
memory when not accumulating; with many concurrent streams, client CPU per event within 5% of raw httpx2 (paired
median), p99 time to first token at 256 streams within 10% of raw httpx2 and, with a warm pool, within 1.1× of a
cold pool (paired median), at least 5× the SDKs' events per CPU second, no more memory per open stream than the
SDKs, one kept-alive connection for sequential calls; with OpenTelemetry imported and no provider configured, client
CPU per event no different from hamr's without it (the paired median's 95% interval holds 1), and with it on,
measured.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from tests.bench import clients, concurrency, decode, e2e, importtime, memory, profiles, suite, telemetry
from tests.bench.streams import Spec

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("import", "decode", "e2e", "memory", "suite", "concurrency", "otel")
PACKAGES = ("hamr", "httpx", "httpcore", "openai", "anthropic", "httpx2", "httpcore2", "pydantic", "h11")
PACKAGES += ("opentelemetry-api", "opentelemetry-sdk")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def machine() -> list[str]:
    versions = [f"{name} {_version(name)}" for name in PACKAGES]
    return [
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {_cpu()}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Packages: {', '.join(versions)}",
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _x(ratio: float) -> str:
    return f"{ratio:.2f}×"


def _sentence(verdict: str) -> str:
    """A summary verdict as the closing sentence of its section."""
    return verdict[0].upper() + verdict[1:] + "."


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(head))) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def section_import(runs: int) -> tuple[list[str], str]:
    res, (providers, providers_net) = importtime.run(runs)
    base, base_cold = res["openai"][0], res["openai"][1]
    rows = [[f"`{m}`", _ms(t), _x(t / base), _ms(c), _x(c / base_cold), _ms(w)] for m, (t, c, w) in res.items()]
    ratio, ratio_cold = res["hamr"][0] / base, res["hamr"][1] / base_cold
    vs_httpx = res["hamr"][0] / res["httpx2"][0]
    verdict = (
        f"hamr/openai = {ratio:.2f} for the import (target < 0.25: {'met' if ratio < 0.25 else 'MISSED'}), "
        f"{ratio_cold:.2f} for a cold start to the first token; hamr/httpx2 = {vs_httpx:.2f} for the import "
        f"(target ≤ 1.0: {'met' if vs_httpx <= 1.0 else 'MISSED'}); `hamr providers` takes {_ms(providers)}"
    )
    head = ["module", "import", "vs openai", "cold start to first token", "vs openai", "process wall − bare python"]
    lines = [
        "## 1. Import time and cold start",
        "",
        f"Median of {runs} fresh interpreters each, timed inside the interpreter, modules interleaved, every module "
        "imported from its bytecode as after `pip install` (PYTHONDONTWRITEBYTECODE, which this machine sets, is "
        "dropped for these runs; with it, an editable hamr compiles its source on every import). Cold start: "
        "import, make a client, stream from the loopback bench server until the first text token (hamr imports "
        "httpx2 only when a client is made, httpx2 and httpx build their TLS context then, the SDKs defer other "
        "work: this column counts all of it).",
        "",
        *_table(head, rows),
        "",
        f"`hamr providers` (the console script, a config file with one provider, the table printed): "
        f"{_ms(providers)} wall, {_ms(providers_net)} more than a bare `python -c pass`; median of {runs}.",
        "",
        *(
            []
            if vs_httpx <= 1.0
            else [
                "`import hamr` missed its target; `-X importtime`, by own time:",
                "",
                *importtime.slowest_modules("hamr"),
                "",
            ]
        ),
        _sentence(verdict),
    ]
    return lines, verdict


BULK = decode.READS[1]  # 64 KiB reads: where hamr must reach raw httpx2's speed


def section_decode(spec: Spec, reps: int, rounds: int) -> tuple[list[str], str]:
    res = decode.run(spec, reps)
    floor = decode.floor(spec, rounds, BULK)
    lines = [
        "## 2. Stream decode throughput",
        "",
        "One stream per protocol (chat completions, Anthropic Messages, and the Responses API: the SDK rows there are "
        "the openai SDK's `responses.create(stream=True)` and its `responses.stream` helper): "
        f"{spec.text_deltas:,} text deltas + {spec.tool_calls} tool calls × "
        f"{spec.fragments_per_call:,} argument fragments = {spec.chunks:,} chunks, served from memory (MockTransport), "
        f"text and tool calls checked. CPU time, median of {reps} runs taken in turns after a warm-up (3 for runs "
        f"over {decode.SLOW_RUN:g} s); the sans-IO row is hamr's decoder fed the same reads without an HTTP client.",
        "",
    ]
    verdicts, floors, missed = [], [], []
    for protocol in decode.PROTOCOLS:
        names = list(res[protocol, decode.READS[0]])
        head = ["consumer"] + [f"MB/s, {r} reads" for r in decode.READS]
        head += [f"vs fastest SDK, {r}" for r in decode.READS] + [f"vs raw httpx2, {r}" for r in decode.READS]
        rows = []
        for name in names:
            speeds, vs_sdk, vs_raw = [], [], []
            for reads in decode.READS:
                row = res[protocol, reads]
                best_sdk = min(t for n, (t, _) in row.items() if n.startswith("sdk"))
                seconds, size = row[name]
                speeds.append(f"{size / seconds / 1e6:.1f}")
                vs_sdk.append(_x(best_sdk / seconds))
                vs_raw.append(_x(row["raw httpx2"][0] / seconds))
            rows.append([name, *speeds, *vs_sdk, *vs_raw])
        size = res[protocol, decode.READS[0]]["hamr"][1]
        lines += [f"### {protocol}-style ({size / 1e6:.1f} MB)", "", *_table(head, rows), ""]
        for reads in decode.READS:
            row = res[protocol, reads]
            best_sdk = min(t for n, (t, _) in row.items() if n.startswith("sdk"))
            ratio = best_sdk / row["hamr"][0]
            verdicts.append(f"{protocol}/{reads} reads {ratio:.1f}×" + ("" if ratio >= 1 else " (MISSED)"))
        paired = statistics.median(floor[protocol])
        interval = _interval(concurrency.median_interval(floor[protocol]))
        floors.append(f"{protocol} {paired:.2f}× (95% {interval})" + ("" if paired >= 1 else " (MISSED)"))
        if paired < 1:
            missed += [f"Profile of hamr, {protocol}-style, {BULK} reads (missed the raw-httpx2 floor):", ""]
            missed += [*profiles.top(decode.hamr_run(protocol, spec, BULK)), ""]
    verdict = (
        "hamr's speed ÷ the fastest SDK's: " + ", ".join(verdicts) + " (target ≥ 1); "
        f"÷ raw httpx2 at {BULK} reads, paired: " + ", ".join(floors) + " (target ≥ 1.0)"
    )
    lines += [
        f"Against raw httpx2, hamr's floor, the judgement is paired: {rounds} rounds of the two back to back on the "
        f"{BULK} reads (which goes first alternates), the median of raw httpx2's CPU time ÷ hamr's in the same round, "
        "with its distribution-free 95% interval (the tables' medians, taken apart, swing ±5–10% from run to run "
        "on a shared machine).",
        "",
        *missed,
        _sentence(verdict),
    ]
    return lines, verdict


E2E_ESTIMATORS = ("best run", "paired", "median", "client CPU")
# the estimators the machine's bimodal noise cannot move by itself; paced runs are judged on time alone, since the
# client idles between events there and its CPU time is bookkeeping no user waits for (it is shown all the same)
UNPACED_JUDGED = ("best run", "paired", "client CPU")
PACED_JUDGED = ("best run", "paired")


def _e2e_table(res: dict[tuple[str, str], dict[str, e2e.Timing]]) -> tuple[list[str], dict[str, float]]:
    """The table, and hamr's worst ratio to raw httpx2 under each estimator."""
    head = ["protocol", "mode", "consumer", "time to first token", "TTFT vs raw", "total (median)", "vs raw"]
    head += ["total (best run)", "vs raw", "paired ratio", "client CPU (best run)", "CPU vs raw"]
    rows = []
    worst = dict.fromkeys(E2E_ESTIMATORS, 0.0)
    for (protocol, mode), timings in res.items():
        raw = timings["raw httpx2"]
        for name, t in timings.items():
            ratios = {
                "median": t.total / raw.total,
                "best run": t.best / raw.best,
                "paired": t.paired,
                "client CPU": t.cpu / raw.cpu,
            }
            rows.append([protocol, mode, name, _ms(t.ttft), _x(t.ttft / raw.ttft), _ms(t.total)])
            rows[-1] += [_x(ratios["median"]), _ms(t.best), _x(ratios["best run"]), f"{t.paired:.3f}"]
            rows[-1] += [_ms(t.cpu), _x(ratios["client CPU"])]
            if name == "hamr":
                worst = {k: max(worst[k], ratios[k]) for k in E2E_ESTIMATORS}
    return _table(head, rows), worst


def _e2e_verdict(worst: dict[str, float], judged_on: tuple[str, ...]) -> str:
    """Met when every estimator in ``judged_on`` is within 5%; the others are shown beside them."""
    numbers = ", ".join(f"{k} {v:.3f}×" for k, v in worst.items())
    return f"{numbers} ({'met' if max(worst[k] for k in judged_on) <= 1.05 else 'MISSED'})"


def section_e2e(spec: Spec, paced: Spec, pace: float, reps: int) -> tuple[list[str], str]:
    flat, flat_worst = _e2e_table(e2e.run(spec, reps))
    slow, slow_worst = _e2e_table(e2e.run(paced, reps, pace))
    lines = [
        "## 3. End to end on loopback",
        "",
        "A local h11 server (tests/bench/server.py, its own process, 127.0.0.1, stops itself) streams one HTTP chunk "
        "per SSE event; each library reads through its own HTTP stack on a kept-alive connection. "
        f"{reps} rounds; in each, every consumer runs once, in an order that rotates from round to round.",
        "",
        "Total time is given three ways, because on this shared 2-core VM a run's time is bimodal: in some stretches "
        "the same work takes about 1.5× as long, whichever consumer runs then (seen for raw httpx2 alone too), so a "
        "plain median ratio swings by ±10% between runs of this benchmark. *Best run* is the fastest run (timeit's "
        "rule: interference only ever adds, so the best run is the cost); *paired ratio* is the median over rounds "
        "of this consumer's total ÷ raw httpx2's total in the same round; *client CPU* is the consuming process's "
        "CPU time in its best run. The target is judged on those three unpaced, and on the two time measures paced "
        "(where the client idles between events, so its CPU time is not time anyone waits for); the median is "
        "shown beside them.",
        "",
        f"### Unpaced: {spec.text_deltas:,} text deltas + a tool call of {spec.fragments_per_call} fragments, "
        "as fast as the client reads (the client is CPU-bound: the worst case for overhead)",
        "",
        *flat,
        "",
        f"### Paced: {paced.text_deltas:,} text deltas + a tool call of {paced.fragments_per_call} fragments, "
        f"one event every {pace * 1e3:g} ms (a fast model)",
        "",
        *slow,
        "",
    ]
    verdict = (
        f"worst hamr ÷ raw httpx2, unpaced: {_e2e_verdict(flat_worst, UNPACED_JUDGED)}; "
        f"paced: {_e2e_verdict(slow_worst, PACED_JUDGED)} (target ≤ 1.05)"
    )
    return [*lines, _sentence(verdict)], verdict


def section_memory(sizes: tuple[float, ...]) -> tuple[list[str], str]:
    res = memory.run(sizes)
    head = ["stream", "accumulate", "peak traced memory", "final text (chars / bytes)", "peak ÷ text bytes"]
    rows = []
    for (_, keep), p in res.items():
        ratio = f"{p.peak / p.text_bytes:.1f}" if keep else "—"
        rows.append(
            [
                f"{p.stream_bytes / 1e6:.0f} MB",
                "yes (default)" if keep else "no (`keep_text=False`)",
                f"{p.peak / 1e6:.2f} MB",
                f"{p.text_chars:,} / {p.text_bytes / 1e6:.2f} MB",
                ratio,
            ]
        )
    small, large = min(sizes), max(sizes)
    growth = res[large, False].peak / res[small, False].peak
    verdict = (
        f"without accumulation the peak is {growth:.2f}× from {small:g} MB to {large:g} MB of stream "
        f"({'constant' if growth < 1.5 else 'GROWS'}); with accumulation it is "
        f"{res[large, True].peak / res[large, True].text_bytes:.1f}× the final text"
    )
    lines = [
        "## 4. Memory",
        "",
        "Peak tracemalloc memory while an OpenAI-style stream goes through `hamr.Client.stream` (events iterated, "
        "none kept by the caller), body prebuilt outside the trace and served in 64 KiB reads.",
        "",
        *_table(head, rows),
        "",
        _sentence(verdict),
    ]
    return lines, verdict


def section_suite() -> tuple[list[str], str]:
    run = suite.run()
    if run is None:
        return ["## 5. Offline suite", "", "nox not found on PATH: not run."], "not run"
    counts = ", ".join(f"{n} {k}" for k, n in run.counts.items())
    verdict = f"{counts} in {run.pytest_seconds:.1f} s (pytest), {run.wall:.1f} s wall for `nox -s tests`"
    verdict += "" if run.ok else " — FAILED"
    return ["## 5. Offline suite", "", f"`nox -s tests`: {verdict}."], verdict


def _both(best: float, median: float, fmt: str) -> str:
    """A measure as 'best (median)'."""
    return f"{fmt.format(best)} ({fmt.format(median)})"


def _fig(figure: concurrency.Figure, fmt: str, scale: float = 1.0) -> str:
    return _both(figure.best * scale, figure.median * scale, fmt)


def _ratio(a: concurrency.Figure, b: concurrency.Figure) -> tuple[float, float]:
    """a ÷ b on the best runs and on the medians."""
    return a.best / b.best, a.median / b.median


def _interval(pair: tuple[float, float]) -> str:
    return "—" if math.isnan(pair[0]) else "–".join(f"{r:.2f}×" for r in pair)


def _xx(pair: tuple[float, ...]) -> str:
    return " / ".join(f"{r:.2f}×" for r in pair)


def _concurrency_table(res: concurrency.Result, mode: str, ns: tuple[int, ...]) -> list[str]:
    head = ["protocol", "N", "consumer", "events/s", "client CPU per event", "TTFT p50", "TTFT p99", "p99 gap"]
    head += ["memory per open stream", "peak RSS", "connections opened", "server CPU ÷ wall", "late / skipped ticks"]
    rows = []
    for protocol in clients.PROTOCOLS:
        for n in ns:
            for name in concurrency.NAMES:
                c = res.cells[concurrency.Cell(mode, protocol, name, n)]
                rows.append(
                    [
                        protocol,
                        str(n),
                        f"{name} ×{c.runs}",
                        _fig(c.eps, "{:,.0f}"),
                        _fig(c.cpu_per_event, "{:.1f} µs", 1e6),
                        _fig(c.ttft_p50, "{:.1f} ms", 1e3),
                        _fig(c.ttft_p99, "{:.1f} ms", 1e3),
                        _fig(c.gap_p99, "{:.1f} ms", 1e3),
                        _fig(c.per_stream, "{:,.0f} B"),
                        _fig(c.maxrss, "{:.1f} MB", 1e-6),
                        str(c.connections),
                        _fig(c.server_share, "{:.0f}%", 100),
                        f"{c.late} / {c.skipped}",
                    ]
                )
    return _table(head, rows)


def warm_over_cold(res: concurrency.Result, name: str, n: int) -> tuple[float, float, float]:
    """``name``'s p99 time to first token with a warm pool ÷ with a cold one, at N = ``n`` (async): best runs,
    paired median (the warm and the cold run side by side in each round), medians."""
    warm, cold = (concurrency.Cell("async", concurrency.COLD_PROTOCOL, name, n, pool) for pool in ("warm", "cold"))
    best, median = _ratio(res.cells[warm].ttft_p99, res.cells[cold].ttft_p99)
    return best, concurrency.paired(res.samples[warm], res.samples[cold], lambda s: s.ttft_p99), median


def _cold_table(res: concurrency.Result, n: int) -> list[str]:
    head = ["consumer", "pool", "events/s", "client CPU per event", "TTFT p50", "TTFT p99", "p99 gap"]
    head += ["connections opened", "TTFT p99 warm ÷ cold: best / paired / median"]
    rows = []
    for name in concurrency.COLD_NAMES:
        for pool in ("warm", "cold"):
            c = res.cells[concurrency.Cell("async", concurrency.COLD_PROTOCOL, name, n, pool)]
            ratio = _xx(warm_over_cold(res, name, n)) if pool == "warm" else ""
            rows.append(
                [
                    f"{name} ×{c.runs}",
                    pool,
                    _fig(c.eps, "{:,.0f}"),
                    _fig(c.cpu_per_event, "{:.1f} µs", 1e6),
                    _fig(c.ttft_p50, "{:.1f} ms", 1e3),
                    _fig(c.ttft_p99, "{:.1f} ms", 1e3),
                    _fig(c.gap_p99, "{:.1f} ms", 1e3),
                    str(c.connections),
                    ratio,
                ]
            )
    return _table(head, rows)


def _pool_sentence(pools: dict[str, tuple[float, float, float]]) -> str:
    """What the warm ÷ cold figures show, in words, from the figures themselves."""

    def says(ratio: float) -> str:
        return "as fast as a cold one (within 1.10×)" if ratio <= 1.10 else f"{ratio:.2f}× a cold one's"

    return (
        f"In this run a warm pool's p99 time to first token was, paired: hamr {says(pools['hamr'][1])}, raw httpx2 "
        f"{says(pools['raw httpx2'][1])}, raw httpx {says(pools['raw httpx'][1])}."
    )


def section_concurrency(
    spec: Spec, pace: float, rounds: tuple[int, int], sdk_rounds: int, ns: dict[str, tuple[int, ...]]
) -> tuple[list[str], str]:
    """``rounds``: (every cell, the judged pair at N ≤ concurrency.DEEP_N)."""
    from hamr._client import POOL_LIMITS

    res = concurrency.run(spec, pace, rounds[0], sdk_rounds, ns, deep_rounds=rounds[1])
    cell, samples = res.cells, res.samples
    top = {mode: max(ns[mode]) for mode in concurrency.MODES}
    # the worst over the cells, for each estimator on its own (as section 3): best runs, paired, medians
    worst_cpu = [0.0, 0.0, 0.0]  # hamr ÷ raw httpx2, CPU per event, every cell
    worst_ttft = [0.0, 0.0, 0.0]  # hamr ÷ raw httpx2, p99 TTFT at the largest async N
    least_sdk = (math.inf, math.inf, math.inf)  # events per CPU second, hamr ÷ SDK (best, median), raw ÷ SDK there
    worst_cpu_cell = least_sdk_cell = None  # hamr's cells, profiled when their target is missed
    worst_cpu_interval = (math.nan, math.nan)  # the 95% interval of the worst paired median
    ratio_rows = []
    for mode, protocol, n in concurrency.cells(ns):
        key = {name: concurrency.Cell(mode, protocol, name, n) for name in concurrency.NAMES}
        hamr, raw, sdk = cell[key["hamr"]], cell[key["raw httpx2"]], cell[key["sdk"]]
        pairs = samples[key["hamr"]], samples[key["raw httpx2"]]
        best_cpu, median_cpu = _ratio(hamr.cpu_per_event, raw.cpu_per_event)
        cpu_raw = (best_cpu, concurrency.paired(*pairs, lambda s: s.cpu_per_event), median_cpu)
        cpu_spread = concurrency.paired_quartiles(*pairs, lambda s: s.cpu_per_event)
        cpu_interval = concurrency.paired_interval(*pairs, lambda s: s.cpu_per_event)
        best_ttft, median_ttft = _ratio(hamr.ttft_p99, raw.ttft_p99)
        ttft_raw = (best_ttft, concurrency.paired(*pairs, lambda s: s.ttft_p99), median_ttft)
        per_cpu_sdk = _ratio(sdk.cpu_per_event, hamr.cpu_per_event)  # events per CPU second, hamr ÷ SDK
        if cpu_raw[1] > worst_cpu[1]:
            worst_cpu_cell, worst_cpu_interval = key["hamr"], cpu_interval
        worst_cpu = [max(w, r) for w, r in zip(worst_cpu, cpu_raw, strict=True)]
        if per_cpu_sdk[0] < least_sdk[0]:
            least_sdk_cell = key["hamr"]
        least_sdk = min(least_sdk, (*per_cpu_sdk, sdk.cpu_per_event.best / raw.cpu_per_event.best))
        if mode == "async" and n == top["async"]:
            worst_ttft = [max(w, r) for w, r in zip(worst_ttft, ttft_raw, strict=True)]
        ratio_rows.append(
            [
                mode,
                protocol,
                str(n),
                _xx(cpu_raw),
                _interval(cpu_spread),
                f"{_interval(cpu_interval)} ({hamr.runs})",
                _xx(_ratio(hamr.cpu_per_event, sdk.cpu_per_event)),
                _xx(per_cpu_sdk),
                _xx(_ratio(sdk.cpu_per_event, raw.cpu_per_event)),
                _xx(_ratio(hamr.eps, raw.eps)),
                _xx(_ratio(hamr.eps, sdk.eps)),
                _xx(ttft_raw),
                _xx(_ratio(hamr.ttft_p99, sdk.ttft_p99)),
                _xx(_ratio(hamr.gap_p99, raw.gap_p99)),
                _xx(_ratio(hamr.gap_p99, sdk.gap_p99)),
                _xx(_ratio(hamr.per_stream, raw.per_stream)),
                _xx(_ratio(hamr.per_stream, sdk.per_stream)),
            ]
        )
    memory = []  # at the largest N of each mode: (mode, protocol, hamr bytes, SDK bytes), best runs
    for mode, protocol in ((m, p) for m in concurrency.MODES for p in clients.PROTOCOLS):
        at = {name: cell[concurrency.Cell(mode, protocol, name, top[mode])].per_stream.best for name in ("hamr", "sdk")}
        memory.append((mode, protocol, at["hamr"], at["sdk"]))
    reuse_hamr = {k: v for k, v in res.reuse.items() if k[2] == "hamr"}
    reuse_ok = all(calls == concurrency.REUSE_CALLS and conns == 1 for calls, conns in reuse_hamr.values())

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    conns = sorted({c for _, c in reuse_hamr.values()})
    cpu_ok, sdk_ok = worst_cpu[1] <= 1.05, least_sdk[0] >= 5
    pools = {name: warm_over_cold(res, name, top["async"]) for name in concurrency.COLD_NAMES}
    pool_ok = pools["hamr"][1] <= 1.10
    missed: list[str] = []
    for ok, at, what in ((cpu_ok, worst_cpu_cell, "CPU per event"), (sdk_ok, least_sdk_cell, "events per CPU s ÷ SDK")):
        if ok or at is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            concurrency.profile_cell(at, spec, pace, f"{tmp}/cell.prof")
            where = f"{at.mode}, {at.protocol}-style, N = {at.n}"
            missed += [f"**{what} missed**: hamr in its worst cell ({where}), one more run under cProfile:", ""]
            missed += [*profiles.summary(f"{tmp}/cell.prof"), ""]
    verdict = (
        f"worst client CPU per event, hamr ÷ raw httpx2: best run {worst_cpu[0]:.2f}×, paired {worst_cpu[1]:.2f}×, "
        f"median {worst_cpu[2]:.2f}×, the paired median's 95% interval {_interval(worst_cpu_interval)} (target ≤ "
        f"1.05 on the paired median: {met(cpu_ok)}); worst p99 time "
        f"to first token at N = {top['async']}, hamr ÷ raw httpx2: best run {worst_ttft[0]:.2f}×, paired "
        f"{worst_ttft[1]:.2f}×, median {worst_ttft[2]:.2f}× (target ≤ 1.10: {met(worst_ttft[0] <= 1.10)}); p99 "
        f"time to first token at N = {top['async']}, warm pool ÷ cold pool ({concurrency.COLD_PROTOCOL}-style): hamr "
        f"best run {pools['hamr'][0]:.2f}×, paired {pools['hamr'][1]:.2f}×, median {pools['hamr'][2]:.2f}× (target "
        f"≤ 1.10 on the paired median: {met(pool_ok)}; raw httpx2 paired {pools['raw httpx2'][1]:.2f}×, raw httpx "
        f"paired {pools['raw httpx'][1]:.2f}×); least "
        f"events per CPU second, hamr ÷ SDK: best runs {least_sdk[0]:.2f}×, medians {least_sdk[1]:.2f}× (raw httpx2 "
        f"÷ SDK in that cell {least_sdk[2]:.2f}×; target ≥ 5: {met(sdk_ok)}); memory per "
        "open stream at the largest N, hamr / SDK: "
        + ", ".join(f"{m} {p} {h:,.0f} / {s_:,.0f} B" for m, p, h, s_ in memory)
        + f" (target ≤ SDK: {met(all(h <= s_ for *_, h, s_ in memory))}); {concurrency.REUSE_CALLS} sequential calls "
        f"on one hamr client: {' or '.join(map(str, conns))} connection{'s' if conns != [1] else ''} "
        f"({met(reuse_ok)})"
    )
    per = ", ".join(f"{n} {p}-style" for p, n in res.per_stream.items())
    ratio_head = ["mode", "protocol", "N", "CPU per event ÷ raw: best / paired / median"]
    ratio_head += ["one round's CPU ratio: quartiles", "paired CPU median: 95% interval (rounds)"]
    ratio_head += ["CPU per event ÷ SDK"]
    ratio_head += ["events per CPU s ÷ SDK", "raw httpx2: events per CPU s ÷ SDK", "events/s ÷ raw", "events/s ÷ SDK"]
    ratio_head += ["TTFT p99 ÷ raw: best / paired / median", "TTFT p99 ÷ SDK", "p99 gap ÷ raw", "p99 gap ÷ SDK"]
    ratio_head += ["memory per stream ÷ raw", "memory per stream ÷ SDK"]
    reuse_rows = [[p, m, name, str(calls), str(c)] for (p, m, name), (calls, c) in res.reuse.items()]
    limits = ", ".join(f"`{k}` {v:g}" for k, v in POOL_LIMITS.items())
    lines = [
        "## 6. Concurrency",
        "",
        "N streams at once on ONE client: asyncio tasks on one `AsyncClient` (raw: `httpx2.AsyncClient` or "
        "`httpx.AsyncClient`; SDK: `openai.AsyncOpenAI` / `anthropic.AsyncAnthropic`), and threads sharing one sync "
        "`Client` (`httpx2.Client` / `httpx.Client`, `openai.OpenAI` / `anthropic.Anthropic`). The raw consumers "
        "have hamr's connection pool limits "
        f"(`hamr._client.POOL_LIMITS`: {limits}, which a client hamr makes itself has); the SDKs their own. Every "
        f"stream: {spec.text_deltas} text deltas and a tool call of {spec.fragments_per_call} argument fragments "
        f"({per} SSE events), from the bench server (tests/bench/server.py `--ticker`): the response head and the "
        "events up to the first text delta at once, then one ticker writes the next event to every open stream every "
        f"{pace * 1e3:g} ms, as a fast model generates (a stream whose client has not read the last 64 KiB skips a "
        "tick). The server's CPU time ÷ the cell's wall time and its late and skipped ticks show whether it kept up. "
        "Every stream's text and tool call are checked.",
        "",
        "Each cell runs in a fresh interpreter that imports only its own library, makes the client, runs one "
        "unpaced warm-up stream (so the pool holds one kept-alive connection, as in a running program) and then "
        "starts the N streams together. *events/s*: N × the SSE events of a stream ÷ the wall time until the last "
        "stream ends (the same denominator for every consumer). *Client CPU per event*: the process's CPU time "
        "(all threads) over the streams ÷ those events. *TTFT*: from a stream's request to its first text delta, "
        "p50/p99 over the N streams. *p99 gap*: over every gap between successive pieces of the answer a consumer "
        "gets (text deltas, a tool call's start and argument fragments; the same pieces for every consumer). "
        "*Memory per open stream*: (peak RSS during the streams − RSS just before them) ÷ N (Linux: the peak is "
        "reset through `/proc/self/clear_refs` before the streams; RSS moves in 4 KiB pages, so at small N this "
        "is coarse); *peak RSS*: the process's whole life. *Connections opened*: during the streams, as the "
        "server counted them (the most in any run).",
        "",
        f"Rounds: raw httpx2 and hamr {rounds[0]} ({max(rounds)} at N ≤ {concurrency.DEEP_N}), raw httpx and the "
        f"SDKs {sdk_rounds} (not judged against); in each round every cell runs once, the consumers in an order that "
        "rotates between rounds. Each figure: best run (median), the consumer's run count after its name. This "
        "shared 2-core VM's speed is bimodal (section 3), so hamr ÷ raw httpx2 is also given *paired*: the median "
        "over rounds of the ratio within one round. The targets are judged on the paired median for CPU per event "
        "and for a warm pool ÷ a cold one, on the best runs for p99 time to first token ÷ raw httpx2 and ÷ the SDK; "
        "the other estimators shown beside them.",
        "",
        f"Why more rounds at N ≤ {concurrency.DEEP_N}: there one wake-up of the client carries a few events, so its "
        "CPU per event is mostly the cost of waking up, not of the library: on this machine, in this run, a bare "
        f"`asyncio.sleep({pace:g})` cost {res.wake[0] * 1e6:.0f} µs of CPU per wake-up and a `time.sleep` "
        f"{res.wake[1] * 1e6:.0f} µs, and on a shared VM that cost drifts with the host from one second to the "
        "next. One round's hamr ÷ raw httpx2 ratio then spreads widely (the quartiles below), and over 15 rounds "
        "the worst paired median of many cells would land above 1.05 by chance even where hamr costs what raw "
        "httpx2 costs. At larger N one wake-up carries dozens of events and 15 rounds pin the ratio. Each paired "
        "median is shown with its distribution-free 95% interval (order statistics of the per-round ratios), so a "
        "reader can tell a result from noise.",
        "",
        f"### Async: N tasks on one client (N = {', '.join(map(str, ns['async']))})",
        "",
        *_concurrency_table(res, "async", ns["async"]),
        "",
        f"### Threads: N threads sharing one sync client (N = {', '.join(map(str, ns['threads']))})",
        "",
        *_concurrency_table(res, "threads", ns["threads"]),
        "",
        "### hamr's ratios",
        "",
        "Best runs / medians, unless the column says otherwise. *Events per CPU s ÷ SDK* is the SDK's CPU per event "
        "÷ hamr's; raw httpx2's own is beside it (the most an httpx2-based client could show against the SDK). *One "
        "round's CPU ratio: quartiles*: the first and third quartiles of hamr ÷ raw httpx2 within one round (the "
        "paired column is their median): the spread one run's ratio has on this machine. *Paired CPU median: 95% "
        "interval*: where the paired median lies with 95% confidence (order statistics of the per-round ratios; "
        "rounds in brackets). The CPU target is judged on the paired median, as stated.",
        "",
        *_table(ratio_head, ratio_rows),
        "",
        f"### A kept-alive connection and the pool ({concurrency.COLD_PROTOCOL}-style, async, N = {top['async']})",
        "",
        "Each raw consumer and hamr as in the table above (warm: the warm-up's connection kept alive) and in separate "
        "runs with a cold pool (the server closes that connection before the streams start), each cold run right "
        "beside the same consumer's warm run in the same round (warm first in even rounds, cold first in odd), so "
        f"the paired ratio compares runs that shared the machine's state; raw httpx in {sdk_rounds} rounds. httpcore "
        f"{_version('httpcore')}, under httpx, hands an idle connection to every request queued before the first "
        "of them starts on it; all but one then fail with `ConnectionNotAvailable` and queue again, each pass over "
        "the pool costing requests × connections (encode/httpcore#822). httpcore2 "
        f"{_version('httpcore2')}, under httpx2 (so under hamr and the SDKs), reserves an assigned connection and "
        "passes over the pool once (its `_assign_requests_to_connections`). The last column is the judged figure: "
        f"warm ÷ cold p99 time to first token. {_pool_sentence(pools)}",
        "",
        *_cold_table(res, top["async"]),
        "",
        f"### Connection reuse: {concurrency.REUSE_CALLS} sequential non-streaming calls on one client",
        "",
        "A fresh client per row, answers checked; connections as counted by the bench server (those that carried an "
        "API request).",
        "",
        *_table(["protocol", "mode", "consumer", "calls", "connections"], reuse_rows),
        "",
        *missed,
        _sentence(verdict),
    ]
    return lines, verdict


def _parts(report: str) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """A report's header (to its summary), its summary lines and its numbered sections (``## 2. ...`` to the next
    ``## ``), keyed by their heading's number."""
    lines = report.rstrip("\n").split("\n")
    start = lines.index("## Summary")
    first = next(i for i, line in enumerate(lines) if i > start and line.startswith("## "))
    summary = [line for line in lines[start + 1 : first] if line.startswith("- ")]
    sections: dict[str, list[str]] = {}
    for line in lines[first:]:
        if line.startswith("## "):
            sections[line.split(".", 1)[0]] = []
        sections[next(reversed(sections))].append(line)
    for section in sections.values():  # each ends with one blank line (the report's last one had none)
        while section and not section[-1]:
            section.pop()
        section.append("")
    return lines[:start], summary, sections


def updated(existing: str, new: str, rerun: str) -> str:
    """``existing`` with the sections of ``new`` and their summary lines put in place of its own, and ``rerun`` in
    its header (in place of an earlier re-run's line of the same sections; another section's stays, since what it
    says still holds)."""
    header, summary, sections = _parts(existing)
    _, new_summary, new_sections = _parts(new)
    labels = {line.split(":", 1)[0]: line for line in new_summary}
    summary = [labels.pop(line.split(":", 1)[0], line) for line in summary] + list(labels.values())
    sections.update(new_sections)
    header = [
        line for line in header if not (line.startswith("- Re-run alone") and _sections_of(line) & _sections_of(rerun))
    ]
    at = max(i for i, line in enumerate(header) if line.startswith("- ")) + 1
    header[at:at] = [rerun]
    body = [line for number in sorted(sections) for line in sections[number]]
    return "\n".join([*header, "## Summary", "", *summary, "", *body]).rstrip() + "\n"


def _sections_of(rerun: str) -> set[str]:
    """The sections a re-run line names (``--only decode,otel``); none named: every section."""
    named = re.search(r"`--only ([a-z,]+)", rerun)
    return set((named.group(1) if named else ",".join(SECTIONS)).split(","))


def _calls_table(res: telemetry.Calls) -> tuple[list[str], float, float]:
    """The in-memory table, and the worst paired ratio with OpenTelemetry off (API imported) and on."""
    head = ["protocol", "consumer", "CPU per chat call", "÷ hamr: paired (95% interval)", "CPU per stream event"]
    head += ["÷ hamr: paired (95% interval)"]
    rows, worst = [], {"off": 0.0, "on": 0.0}
    for protocol in clients.PROTOCOLS:
        for variant in telemetry.VARIANTS:
            row = [protocol, f"{variant} ×{res.rounds}"]
            for what in ("chat", "event"):
                row.append(f"{res.median(protocol, variant, what):.2f} µs")
                if variant == "hamr":
                    row.append("—")
                    continue
                ratio, interval = res.paired(protocol, variant, what)
                row.append(f"{ratio:.3f}× ({_interval(interval)})")
                key = "off" if "API" in variant else "on"
                worst[key] = max(worst[key], ratio)
            rows.append(row)
    return _table(head, rows), worst["off"], worst["on"]


def section_otel(spec: Spec, pace: float, rounds: int) -> tuple[list[str], str]:
    calls = telemetry.calls(spec, rounds)
    memory_table, memory_off, memory_on = _calls_table(calls)
    res = telemetry.run(spec, pace, rounds)
    head = ["mode", "protocol", "N", "consumer", "client CPU per event", "÷ hamr: paired (95% interval)"]
    head += ["÷ raw httpx2: paired (95% interval)"]
    rows = []
    worst_off, worst_on, worst_raw = 0.0, 0.0, 0.0
    for mode, protocol, n in telemetry.cells():
        for name in telemetry.NAMES:
            c = res.cells[concurrency.Cell(mode, protocol, name, n)]
            vs_hamr = vs_raw = "—"
            if name != "raw httpx2":
                r, interval = telemetry.ratio(res, mode, protocol, n, name, "raw httpx2")
                vs_raw = f"{r:.3f}× ({_interval(interval)})"
                if name == "hamr":
                    worst_raw = max(worst_raw, r)
            if name.startswith("hamr, "):
                r, interval = telemetry.ratio(res, mode, protocol, n, name, "hamr")
                vs_hamr = f"{r:.3f}× ({_interval(interval)})"
                if "API" in name:
                    worst_off = max(worst_off, r)
                else:
                    worst_on = max(worst_on, r)
            rows.append([mode, protocol, str(n), f"{name} ×{c.runs}", _fig(c.cpu_per_event, "{:.2f} µs", 1e6)])
            rows[-1] += [vs_hamr, vs_raw]
    off, off_interval = telemetry.pooled(res, "hamr, OTel API imported", "hamr")
    on, on_interval = telemetry.pooled(res, "hamr, OTel SDK on", "hamr")
    off_ok = math.isnan(off_interval[0]) or off_interval[0] <= 1.0 <= off_interval[1]
    verdict = (
        f"client CPU per event, hamr with OpenTelemetry imported and no provider ÷ hamr without it, paired over every "
        f"cell: {off:.3f}× ({_interval(off_interval)}; target: no difference, the interval holds 1: "
        f"{'met' if off_ok else 'MISSED'}; the worst cell {worst_off:.3f}×); with the SDK on ÷ without: {on:.3f}× "
        f"({_interval(on_interval)}; the worst cell {worst_on:.3f}×; measured, no target); hamr ÷ raw httpx2 in "
        f"these cells, worst {worst_raw:.3f}× (section 6's target ≤ 1.05); from memory, ÷ hamr without "
        f"OpenTelemetry, worst per chat call or stream event: off {memory_off:.3f}×, on {memory_on:.3f}×"
    )
    lines = [
        "## 7. OpenTelemetry off and on",
        "",
        "The cells of section 6 where a wake-up carries many events "
        + ", ".join(f"{m} N = {n}" for m, n in telemetry.CELLS)
        + f", both protocols, {spec.text_deltas} text deltas and a tool call of {spec.fragments_per_call} fragments "
        f"per stream, one event every {pace * 1e3:g} ms; {rounds} rounds, the consumers' order rotating. *hamr*: no "
        "OpenTelemetry in the process (as without `hamr[otel]`). *hamr, OTel API imported*: the program imported "
        "`opentelemetry.trace` and `opentelemetry.metrics` but configured no provider: hamr must do nothing more "
        "(off). *hamr, OTel SDK on*: a `TracerProvider` with a `BatchSpanProcessor` (its exporter drops the spans: "
        "the network is not hamr's cost) and a `MeterProvider` with a reader: one span and the three histograms per "
        "stream, counted in the client's CPU with the SDK's own work. Each ratio is the paired median over rounds "
        "with its distribution-free 95% interval; the verdict pools the rounds of every cell, since the worst of "
        "eight medians, each with its own noise, would land above 1 by chance.",
        "",
        *_table(head, rows),
        "",
        f"From memory, the same hamr variants in fresh interpreters, {telemetry.CHATS} `chat` calls and "
        f"{telemetry.STREAMS} whole streams ({', '.join(f'{n} {p}-style events' for p, n in calls.events.items())}) "
        "served by a MockTransport one after another after a warm-up, the client's CPU time per call and per stream "
        "event (the median of the runs; each ratio paired within its round): nothing but hamr and the "
        "instrumentation runs, so its cost stands out of the machine's noise.",
        "",
        *memory_table,
        "",
        _sentence(verdict),
    ]
    return lines, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions: a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="where to write the report")
    parser.add_argument(
        "--update", action="store_true", help="write the sections run into the existing report (--out); keep the rest"
    )
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    quick = args.quick
    load_before = _load()
    start = time.perf_counter()
    body: list[str] = []
    summary: list[str] = []
    if "import" in only:
        lines, verdict = section_import(5 if quick else 21)
        body += [*lines, ""]
        summary.append(f"- Import: {verdict}")
    if "decode" in only:
        spec = Spec(2_000, 2, 100) if quick else Spec()
        lines, verdict = section_decode(spec, 2 if quick else 5, 3 if quick else 21)
        body += [*lines, ""]
        summary.append(f"- Decode: {verdict}")
    if "e2e" in only:
        spec = Spec(1_000, 1, 50) if quick else Spec(5_000, 1, 200)
        paced = Spec(50, 1, 10) if quick else Spec(300, 1, 20)
        lines, verdict = section_e2e(spec, paced, 0.002, 3 if quick else 21)
        body += [*lines, ""]
        summary.append(f"- End to end: {verdict}")
    if "memory" in only:
        lines, verdict = section_memory((1.0, 5.0) if quick else (5.0, 50.0))
        body += [*lines, ""]
        summary.append(f"- Memory: {verdict}")
    if "suite" in only:
        lines, verdict = section_suite()
        body += [*lines, ""]
        summary.append(f"- Offline suite: {verdict}")
    if "concurrency" in only:
        spec = Spec(40, 1, 8) if quick else Spec(170, 1, 24)
        ns = {"async": (1, 64), "threads": (8,)} if quick else {"async": (1, 8, 64, 256), "threads": (1, 8, 32)}
        lines, verdict = section_concurrency(spec, 0.005, (1, 1) if quick else (15, 80), 1 if quick else 3, ns)
        body += [*lines, ""]
        summary.append(f"- Concurrency: {verdict}")
    if "otel" in only:
        spec = Spec(40, 1, 8) if quick else Spec(170, 1, 24)
        lines, verdict = section_otel(spec, 0.005, 1 if quick else 15)
        body += [*lines, ""]
        summary.append(f"- OpenTelemetry: {verdict}")
    report = [
        "# Benchmarks",
        "",
        "hamr against the official `openai` and `anthropic` SDKs, with raw `httpx2` (what hamr runs on) as the floor "
        "and raw `httpx` beside it. Produced by "
        "`nox -s bench` (code: tests/bench/). Absolute times on a shared 2-core machine are noise: read the ratios.",
        "",
        "Every consumer does the same user-level work: iterate the stream, collect the text deltas, end with each "
        "tool call's id, name and arguments (checked against the stream). `raw httpx2` is `iter_lines` + "
        "`json.loads` + picking fields by hand: no error handling, no events, no accumulation. `hamr` is "
        "`Client.stream` (typed events, errors mapped, the Completion accumulated). `sdk` is the SDK's "
        "`create(stream=True)` (typed chunk objects), `sdk helper` its accumulating `.stream()` helper.",
        "",
        *machine(),
        f"- Load average (1/5/15 min) before / after: {load_before} / {_load()}; "
        f"run took {time.perf_counter() - start:.0f} s{' (--quick)' if quick else ''}",
        "",
        "## Summary",
        "",
        *summary,
        "",
        *body,
    ]
    text = "\n".join(report).rstrip() + "\n"
    print(text)
    if args.update:
        rerun = (
            f"- Re-run alone (`--only {','.join(only)} --update`): {', '.join(only)} on "
            f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; load average before / after: {load_before} / "
            f"{_load()}; took {time.perf_counter() - start:.0f} s{' (--quick)' if quick else ''}"
        )
        text = updated(Path(args.out).read_text(encoding="utf-8"), text, rerun)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"updated: {args.out} ({', '.join(only)})", file=sys.stderr)
    elif (set(only) == set(SECTIONS) and not quick) or args.out != parser.get_default("out"):
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
