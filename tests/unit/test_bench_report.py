"""The bench's own pieces that decide what BENCHMARKS.md says (tests/bench/): a report updated section by section
(``--only decode --update``), and the constructed Responses stream the decode section times, which must be a stream
in order that hamr decodes to what the bench checks every consumer against."""

from __future__ import annotations

import httpx2

import hamr
from hamr.kit import rules
from tests.bench import clients, run
from tests.bench.streams import Spec, expected, responses_events

REPORT = """# Benchmarks

Intro.

- Date: 2026-12-03 07:38 UTC
- Load average (1/5/15 min) before / after: 0.89 / 0.71; run took 3318 s

## Summary

- Import: old import
- Decode: old decode
- Memory: old memory

## 1. Import time

old import table

## 2. Stream decode throughput

old decode table

## 4. Memory

old memory table
"""

DECODE_ONLY = """# Benchmarks

Intro.

- Date: 2026-12-06 09:00 UTC

## Summary

- Decode: new decode

## 2. Stream decode throughput

new decode table
### responses-style (1.0 MB)

new rows
"""


def test_an_update_replaces_the_sections_run_and_their_summary_lines_only() -> None:
    text = run.updated(REPORT, DECODE_ONLY, "- Re-run alone (`--only decode --update`): decode on 2026-12-06")

    assert text == REPORT.replace(
        "old decode table", "new decode table\n### responses-style (1.0 MB)\n\nnew rows"
    ).replace("- Decode: old decode", "- Decode: new decode").replace(
        "run took 3318 s\n", "run took 3318 s\n- Re-run alone (`--only decode --update`): decode on 2026-12-06\n"
    )


def test_a_second_update_replaces_the_first_ones_line() -> None:
    once = run.updated(REPORT, DECODE_ONLY, "- Re-run alone: first")
    twice = run.updated(once, DECODE_ONLY, "- Re-run alone: second")

    assert "- Re-run alone: first" not in twice and twice.count("- Re-run alone: second") == 1


def test_the_responses_bench_stream_is_in_order_and_decodes_to_what_the_bench_checks() -> None:
    spec = Spec(text_deltas=300, tool_calls=2, fragments_per_call=20)
    body = b"".join(responses_events(spec))
    assert rules.responses_stream(body).problems == []

    def server(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx2.Client(transport=httpx2.MockTransport(server))
    with (
        hamr.Client(
            clients.hamr_config("http://bench.invalid"),
            provider="bench-responses",
            model=clients.MODEL,
            http_client=http,
        ) as client,
        client.stream([{"role": "user", "content": "Stream a long answer"}]) as stream,
    ):
        text = "".join(event.text for event in stream if event.type == "text")
    want = expected(spec)
    calls = tuple((c.id, c.name, c.raw_arguments) for c in stream.completion.tool_calls)
    assert (text, stream.completion.text, calls) == (want.text, want.text, want.tool_calls)


def test_an_update_keeps_another_sections_re_run_line() -> None:
    once = run.updated(REPORT, DECODE_ONLY, "- Re-run alone (`--only decode --update`): decode first")
    twice = run.updated(once, DECODE_ONLY, "- Re-run alone (`--only import --update`): import")

    assert "decode first" in twice and "(`--only import --update`): import" in twice


def test_an_update_replaces_a_hand_written_re_run_line_of_its_section() -> None:
    # a line written in by hand names its section as `--only otel`, followed by a comma
    by_hand = run.updated(REPORT, DECODE_ONLY, "- Re-run alone (`--only decode`, written in by hand): decode old")
    again = run.updated(by_hand, DECODE_ONLY, "- Re-run alone (`--only decode --update`): decode new")

    assert "decode old" not in again and "decode new" in again
