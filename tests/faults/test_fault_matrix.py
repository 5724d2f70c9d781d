"""The fault-injection matrix: every listed way a provider misbehaves, for {openai, anthropic} x {sync, async} x
{chat, stream}. Each case is data: the scripted replies and the documented outcome (a Completion, or an exact
hamr error class with its status / timeout / partial text, how many requests went out and how many waits came
between them). Backoff waits are recorded, never slept. Bodies are constructed; faultkit.py cites their shapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import pytest

import hamr
from tests.faults.faultkit import (
    JSON_TYPE,
    KEY,
    SSE_TYPE,
    TEXT,
    WIRES,
    Reply,
    Wire,
    fail,
    reply,
    run,
    sse,
    stream_body,
)

HUGE = "x" * (10 * 1024 * 1024)


@dataclass(frozen=True)
class Outcome:
    """The documented end of a case. ``error=None`` means a Completion whose text is ``text``; otherwise ``text``
    is what the caller had received when the error came (a StreamError's ``partial.text``)."""

    error: type[hamr.HamrError] | None = None
    text: str = ""
    attempts: int = 1
    waits: tuple[float, ...] | int = 0  # exact waits (a Retry-After), or only how many
    status: int | None = None
    timeout: str | None = None
    match: str = ""


def ok(wire: Wire, mode: str) -> Reply:
    return reply(200, wire.chat(), JSON_TYPE) if mode == "chat" else reply(200, stream_body(wire), SSE_TYPE)


def broken_body(wire: Wire, mode: str, then: Exception) -> Reply:
    """A 200 whose body stops half way: half a JSON document, or the stream's first deltas without its end."""
    if mode == "chat":
        return reply(200, wire.chat()[:20], JSON_TYPE, then=then)
    return reply(200, stream_body(wire, end=False), SSE_TYPE, then=then)


def error_in_200(wire: Wire, mode: str, chunk: bytes, body: dict[str, object]) -> Reply:
    """An error reported inside a 200: as a stream event after the first deltas, or as the whole JSON body."""
    if mode == "chat":
        return reply(200, body, JSON_TYPE)
    return reply(200, stream_body(wire, end=False) + chunk, SSE_TYPE)


# -- one function a case: (wire, mode) -> (replies, outcome) -------------------------------------------------------

Case = Callable[[Wire, str], tuple[list[Reply], Outcome]]


def rate_limited_then_success(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    limited = reply(429, wire.error("rate_limit_error", "slow down"), headers={"retry-after": "2"})
    return [limited, ok(wire, mode)], Outcome(text=TEXT, attempts=2, waits=(2.0,))


def rate_limited_exhausted(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    # OpenRouter's documented 429 body (reference corpus openrouter/04), with a Retry-After of one second
    body = {"error": {"message": "Rate limit exceeded: limit_rpm", "code": 429}}
    limited = reply(429, body, headers={"retry-after": "1"})
    return [limited], Outcome(
        hamr.RateLimitError, attempts=3, waits=(1.0, 1.0), status=429, match="Rate limit exceeded"
    )


def unavailable_503_then_success(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    down = reply(503, wire.error("api_error", "temporarily unavailable"))
    return [down, ok(wire, mode)], Outcome(text=TEXT, attempts=2, waits=1)


def overloaded_529_then_success(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    overloaded = reply(529, wire.error("overloaded_error", "Overloaded"))
    return [overloaded, overloaded, ok(wire, mode)], Outcome(text=TEXT, attempts=3, waits=2)


def unauthorized_401_echoing_the_key(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    denied = reply(401, wire.error("authentication_error", f"Incorrect API key provided: {KEY}"))
    return [denied], Outcome(hamr.AuthenticationError, status=401, match=r"Incorrect API key provided: \[REDACTED\]")


def bad_request_400_with_provider_json(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    bad = reply(400, wire.error("invalid_request_error", "max_tokens: must be at most 8192"))
    return [bad], Outcome(hamr.BadRequestError, status=400, match="max_tokens: must be at most 8192")


def html_502_page(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    return [reply(502, page, "text/html")], Outcome(
        hamr.ServerError, attempts=3, waits=2, status=502, match="non-JSON error page: 502 Bad Gateway"
    )


def empty_200_body(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":
        return [reply(200, b"")], Outcome(hamr.InvalidResponseError, status=200, match="empty body")
    return [reply(200, b"", SSE_TYPE)], Outcome(hamr.StreamError, match="ended before")


def non_json_200(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":
        return [reply(200, b"upstream says hello", "text/plain")], Outcome(
            hamr.InvalidResponseError, status=200, match="not JSON"
        )
    body = stream_body(wire, end=False) + sse("upstream says hello")
    return [reply(200, body, SSE_TYPE)], Outcome(hamr.StreamError, text=TEXT, match="not JSON")


def json_missing_choices_or_content(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":
        return [reply(200, wire.missing())], Outcome(
            hamr.InvalidResponseError, status=200, match="no (choices|content)"
        )
    # chunks without choices are legal (usage-only chunks), but an OpenAI-style stream where none carried a choice
    # has no answer at all, as a body without choices; Anthropic's message_start..message_stop with no content
    # block is an empty answer, as a body with "content": []
    if wire.name == "openai":
        return [reply(200, wire.choiceless(), SSE_TYPE)], Outcome(hamr.StreamError, match="no chunk carried a choice")
    return [reply(200, wire.choiceless(), SSE_TYPE)], Outcome(text="")


def wrong_content_type(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    # the body decides, not a mislabelled header: JSON labelled text/html, an event stream labelled text/plain
    if mode == "chat":
        return [reply(200, wire.chat(), "text/html")], Outcome(text=TEXT)
    return [reply(200, stream_body(wire), "text/plain")], Outcome(text=TEXT)


def the_other_format(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":  # an event stream for a plain request
        return [reply(200, stream_body(wire), SSE_TYPE)], Outcome(
            hamr.InvalidResponseError, status=200, match="not JSON"
        )
    return [reply(200, wire.chat(), JSON_TYPE)], Outcome(
        hamr.InvalidResponseError, status=200, match=r"asked for a stream .* got application/json"
    )


def connection_reset_then_success(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    reset = fail(httpx2.ReadError, "[Errno 104] Connection reset by peer")
    return [reset, ok(wire, mode)], Outcome(text=TEXT, attempts=2, waits=1)


def connection_refused_exhausted(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    refused = fail(httpx2.ConnectError, "[Errno 111] Connection refused")
    return [refused], Outcome(hamr.ConnectionError, attempts=3, waits=2, match="Connection refused")


def connect_timeout_exhausted(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    return [fail(httpx2.ConnectTimeout, "timed out")], Outcome(
        hamr.TimeoutError, attempts=3, waits=2, timeout="connect_timeout", match=r"connect_timeout \(10s\)"
    )


def no_response_within_the_timeout(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    # for a stream, the wait for the response head is bounded by stream_idle_timeout
    name, seconds = ("read_timeout", 600) if mode == "chat" else ("stream_idle_timeout", 300)
    return [fail(httpx2.ReadTimeout, "timed out")], Outcome(
        hamr.TimeoutError, attempts=3, waits=2, timeout=name, match=rf"{name} \({seconds}s\)"
    )


def connection_dropped_mid_body(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    dropped = broken_body(
        wire, mode, httpx2.RemoteProtocolError("peer closed connection without sending complete body")
    )
    if mode == "chat":  # the response had begun: not sent again
        return [dropped], Outcome(hamr.ConnectionError, match="RemoteProtocolError")
    return [dropped], Outcome(hamr.StreamError, text=TEXT, match="connection dropped mid-stream")


def stream_ends_without_its_end_marker(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":  # a clean close after half a document
        return [reply(200, wire.chat()[:20])], Outcome(hamr.InvalidResponseError, status=200, match="not JSON")
    return [reply(200, stream_body(wire, end=False), SSE_TYPE)], Outcome(
        hamr.StreamError, text=TEXT, match="ended before"
    )


def openrouter_error_chunk(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    error = {"code": 502, "message": "Provider disconnected unexpectedly"}
    chunk = sse({"id": "gen-1", "object": "chat.completion.chunk", "error": error,
                 "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})  # fmt: skip
    replies = [error_in_200(wire, mode, chunk, {"error": error})]
    if mode == "chat":  # OpenRouter's error.code is the status the error stands for
        return replies, Outcome(hamr.ServerError, status=502, match="Provider disconnected unexpectedly")
    return replies, Outcome(hamr.StreamError, text=TEXT, match="Provider disconnected unexpectedly")


def error_event_in_200_stream(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    # Groq's shape (reference corpus groq/05): event: error, an OpenAI-style error object, no [DONE]
    error = {"message": "Tool choice is required, but model did not call a tool", "type": "invalid_request_error",
             "code": "tool_use_failed"}  # fmt: skip
    replies = [error_in_200(wire, mode, sse({"error": error}, "error"), {"error": error})]
    if mode == "chat":
        return replies, Outcome(hamr.BadRequestError, status=200, match="Tool choice is required")
    return replies, Outcome(hamr.StreamError, text=TEXT, match="Tool choice is required")


def anthropic_overloaded_event(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    replies = [error_in_200(wire, mode, sse(body, "error"), body)]
    if mode == "chat":
        return replies, Outcome(hamr.ServerError, status=200, match="Overloaded")
    return replies, Outcome(hamr.StreamError, text=TEXT, match="Overloaded")


def stalled_mid_body(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    stalled = broken_body(wire, mode, httpx2.ReadTimeout("timed out"))
    if mode == "chat":
        return [stalled], Outcome(hamr.TimeoutError, timeout="read_timeout", match=r"read_timeout \(600s\)")
    return [stalled], Outcome(
        hamr.StreamTimeoutError, text=TEXT, timeout="stream_idle_timeout", match=r"stream_idle_timeout \(300s\)"
    )


def invalid_utf8(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    if mode == "chat":
        return [reply(200, wire.chat("\x00").replace(b"\\u0000", b"\xff\xfe"))], Outcome(
            hamr.InvalidResponseError, status=200
        )
    body = stream_body(wire, end=False) + wire.delta("\x00").replace(b"\\u0000", b"\xff\xfe") + wire.tail()
    return [reply(200, body, SSE_TYPE)], Outcome(hamr.StreamError, text=TEXT, match="UTF-8")


def ten_megabyte_single_line(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    # under max_response_bytes (64 MiB) for a plain body; over max_event_bytes (8 MiB) for one stream event
    if mode == "chat":
        return [reply(200, wire.chat(HUGE))], Outcome(text=HUGE)
    return [reply(200, stream_body(wire, [HUGE]), SSE_TYPE)], Outcome(
        hamr.StreamError, match=r"max_event_bytes \(8,388,608 characters\)"
    )


def six_megabyte_event(wire: Wire, mode: str) -> tuple[list[Reply], Outcome]:
    big = HUGE[: 6 * 1024 * 1024]
    if mode == "chat":
        return [reply(200, wire.chat(big))], Outcome(text=big)
    return [reply(200, stream_body(wire, [big]), SSE_TYPE)], Outcome(text=big)


CASES: list[Case] = [
    rate_limited_then_success,
    rate_limited_exhausted,
    unavailable_503_then_success,
    overloaded_529_then_success,
    unauthorized_401_echoing_the_key,
    bad_request_400_with_provider_json,
    html_502_page,
    empty_200_body,
    non_json_200,
    json_missing_choices_or_content,
    wrong_content_type,
    the_other_format,
    connection_reset_then_success,
    connection_refused_exhausted,
    connect_timeout_exhausted,
    no_response_within_the_timeout,
    connection_dropped_mid_body,
    stream_ends_without_its_end_marker,
    openrouter_error_chunk,
    error_event_in_200_stream,
    anthropic_overloaded_event,
    stalled_mid_body,
    invalid_utf8,
    ten_megabyte_single_line,
    six_megabyte_event,
]


@pytest.mark.parametrize("mode", ["chat", "stream"])
@pytest.mark.parametrize("client_kind", ["sync", "async"])
@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_each_fault_ends_in_its_documented_outcome(case: Case, protocol: str, client_kind: str, mode: str) -> None:
    replies, expected = case(WIRES[protocol], mode)
    result = run(protocol, client_kind, mode, replies)

    assert len(result.requests) == expected.attempts
    assert len({r.content for r in result.requests}) == 1, "a retry sends the very same request"
    if isinstance(expected.waits, int):
        assert len(result.sleeps) == expected.waits
        assert all(0 <= s <= 8.0 for s in result.sleeps)
    else:
        assert tuple(result.sleeps) == expected.waits

    if expected.error is None:
        assert result.error is None, f"expected a Completion, got {result.error!r}"
        assert result.completion is not None and result.completion.text == expected.text
        assert result.delivered == (expected.text if mode == "stream" else "")
        return

    error = result.error
    assert type(error) is expected.error, f"expected {expected.error.__name__}, got {error!r}"
    assert isinstance(error, hamr.ProviderError) and error.provider == "p"
    assert error.status == expected.status
    assert re.search(expected.match, str(error)), str(error)
    if expected.timeout is not None:
        assert isinstance(error, hamr.TimeoutError) and error.timeout == expected.timeout
    if isinstance(error, hamr.StreamError):
        # nothing the caller saw is lost, nothing is duplicated
        assert error.partial.text == result.delivered == expected.text
    else:
        assert result.delivered == ""
    assert KEY not in f"{error} {error!r} {error.body} {error.args}"
