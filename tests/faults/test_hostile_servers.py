"""Servers that are hostile or broken beyond a single fault: bodies and events without end, error events before the
answer began, and headers that are huge, doubled or garbled. Each has a defined outcome, for both protocols and
both clients. Bodies are constructed (faultkit.py cites their shapes)."""

from __future__ import annotations

import random
import tracemalloc

import httpx2
import pytest

import hamr
from hamr._sse import SSEDecodeError, SSEDecoder
from tests.faults.faultkit import (
    CHUNK,
    JSON_TYPE,
    KEY,
    SSE_TYPE,
    TEXT,
    WIRES,
    Endless,
    Reply,
    reply,
    run,
    sse,
    stream_body,
)
from tests.faults.loopback import MisbehavingServer

CLIENTS = pytest.mark.parametrize("client_kind", ["sync", "async"])
PROTOCOLS = pytest.mark.parametrize("protocol", ["openai", "anthropic"])
LIMIT = 1024 * 1024  # max_event_bytes / max_response_bytes in these tests: small, so that they run fast


def endless(body: Endless, content_type: str, status: int = 200) -> Reply:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, stream=body, request=request)

    return answer


# -- stream events without end ---------------------------------------------------------------------------------

ENDLESS_EVENTS = {
    "a line without end": b"data: " + b"x" * CHUNK,
    "data lines without a blank line": b"data: x\n" * (CHUNK // 8),
    "empty data lines without a blank line": b"data:\n" * (CHUNK // 6),
}


@CLIENTS
@PROTOCOLS
@pytest.mark.parametrize("shape", ENDLESS_EVENTS)
def test_an_event_without_end_stops_at_max_event_bytes(protocol: str, client_kind: str, shape: str) -> None:
    wire = WIRES[protocol]
    body = Endless(wire.head() + wire.delta("Hel"), ENDLESS_EVENTS[shape])
    result = run(protocol, client_kind, "stream", [endless(body, SSE_TYPE)], max_event_bytes=LIMIT)

    error = result.error
    assert type(error) is hamr.StreamError, repr(error)
    assert "max_event_bytes (1,048,576 characters)" in str(error)
    assert error.partial.text == result.delivered == "Hel"
    assert body.served <= LIMIT + 3 * CHUNK, "hamr stopped reading at the limit"
    assert len(result.requests) == 1


@CLIENTS
def test_the_default_event_limit_is_eight_mebibytes(client_kind: str) -> None:
    wire = WIRES["openai"]
    body = Endless(b"", b"data: " + b"x" * CHUNK, cap=16 * 1024 * 1024)
    result = run("openai", client_kind, "stream", [endless(body, SSE_TYPE)])
    assert isinstance(result.error, hamr.StreamError) and "8,388,608" in str(result.error)
    assert 8 * 1024 * 1024 < body.served <= 8 * 1024 * 1024 + 3 * CHUNK
    assert hamr.load_config().provider("relay").max_event_bytes == 8 * 1024 * 1024
    del wire


@PROTOCOLS
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_long_stream_of_small_events_never_reaches_the_event_limit(protocol: str, newline: str) -> None:
    # the limit is per event: a stream many times its size passes, however its reads split events and line ends
    wire = WIRES[protocol]
    pieces = [f"p{i} " for i in range(3000)]
    whole = stream_body(wire, pieces).replace(b"\n", newline.encode())
    rng = random.Random(7)
    cuts = sorted(rng.sample(range(1, len(whole)), 4000))
    reads = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": SSE_TYPE}, stream=_Reads(reads), request=request)

    for client_kind in ("sync", "async"):
        result = run(protocol, client_kind, "stream", [answer], max_event_bytes=400)
        assert result.error is None, repr(result.error)
        assert result.delivered == "".join(pieces) and len(whole) > 100 * 400


class _Reads(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.reads

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for read in self.reads:
            yield read


SHAPES = {
    "a line without end": (b"data: ", b"x" * CHUNK),
    "two-character data lines": (b"", b"data: xy\n" * (CHUNK // 9)),
    "long data lines": (b"", b"data: " + b"abcdefghijklmnopqrstuvwxyz" * 4 + b"\n"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_what_an_endless_event_holds_stays_near_the_limit(shape: str) -> None:
    head, piece = SHAPES[shape]
    decoder = SSEDecoder(LIMIT)
    decoder.feed(b"data: first\n\n" + head)
    tracemalloc.start()
    try:
        with pytest.raises(SSEDecodeError, match="max_event_bytes"):
            for _ in range(4 * LIMIT // len(piece)):
                decoder.feed(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the constant: the line objects of one 64 KiB read, before they are folded
    assert peak < LIMIT + 512 * 1024, f"held {peak:,} bytes for a limit of {LIMIT:,}"


def test_an_event_of_thousands_of_lines_split_across_reads_arrives_whole() -> None:
    lines = [f"line {i}" for i in range(5000)]
    body = "".join(f"data: {line}\r\n" for line in lines).encode() + b"\r\n" + b"data: next\n\n"
    decoder = SSEDecoder()
    events = [e for i in range(0, len(body), 777) for e in decoder.feed(body[i : i + 777])]
    assert [e.data for e in events] == ["\n".join(lines), "next"]


# -- plain bodies without end ------------------------------------------------------------------------------------


@CLIENTS
@PROTOCOLS
def test_an_endless_chunked_body_stops_at_max_response_bytes(protocol: str, client_kind: str) -> None:
    body = Endless(b'{"id": "', b"x" * CHUNK)
    result = run(protocol, client_kind, "chat", [endless(body, JSON_TYPE)], max_response_bytes=LIMIT)
    error = result.error
    assert type(error) is hamr.InvalidResponseError, repr(error)
    assert error.status == 200 and "max_response_bytes (1,048,576 bytes)" in str(error)
    assert body.served <= LIMIT + 2 * CHUNK
    assert len(result.requests) == 1, "a 200 is never sent again"


@CLIENTS
def test_a_declared_content_length_over_the_limit_is_refused_before_reading(client_kind: str) -> None:
    body = Endless(b"{", b" " * CHUNK)

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": JSON_TYPE, "content-length": str(LIMIT + 1)}
        return httpx2.Response(200, headers=headers, stream=body, request=request)

    result = run("openai", client_kind, "chat", [answer], max_response_bytes=LIMIT)
    assert type(result.error) is hamr.InvalidResponseError and "max_response_bytes" in str(result.error)
    assert body.served == 0


@CLIENTS
def test_the_models_list_has_the_same_limit(client_kind: str) -> None:
    body = Endless(b'{"data": [', b" " * CHUNK)

    async def models_async() -> BaseException | None:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(endless(body, JSON_TYPE)))
        async with hamr.AsyncClient(_config(), http_client=http, env={"FAULT_KEY": KEY}) as client:
            try:
                await client.models()
            except hamr.HamrError as exc:
                return exc
        return None

    if client_kind == "sync":
        http = httpx2.Client(transport=httpx2.MockTransport(endless(body, JSON_TYPE)))
        with pytest.raises(hamr.InvalidResponseError, match="max_response_bytes"):
            hamr.Client(_config(), http_client=http, env={"FAULT_KEY": KEY}).models()
    else:
        import asyncio

        assert isinstance(asyncio.run(models_async()), hamr.InvalidResponseError)
    assert body.served <= LIMIT + 2 * CHUNK


def _config() -> hamr.Config:
    from tests.faults.faultkit import config

    return config("openai", max_response_bytes=LIMIT)


@CLIENTS
@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_an_error_page_over_the_limit_is_cut_and_keeps_its_status(client_kind: str, mode: str) -> None:
    # a 503 with an endless page is still a 503: a ServerError, sent again; only the page's first part is kept
    pages: list[Endless] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        pages.append(Endless(b"<html><title>Service Unavailable</title>", b"<p>down</p>" * 1000))
        return endless(pages[-1], "text/html", 503)(request)

    result = run("openai", client_kind, mode, [answer], max_response_bytes=LIMIT)
    error = result.error
    assert type(error) is hamr.ServerError and error.status == 503
    assert "Service Unavailable" in str(error)
    assert len(result.requests) == 3 and all(p.served <= LIMIT + 2 * 11000 for p in pages)


# -- an error event before the answer began ----------------------------------------------------------------------

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
# https://platform.claude.com/docs/en/api/errors: 504 timeout_error; 409 conflict_error "... then retry the request"
TIMED_OUT = {"type": "error", "error": {"type": "timeout_error", "message": "Request timed out"}}
CONFLICT = {"type": "error", "error": {"type": "conflict_error", "message": "Conflict"}}
OPENROUTER_502 = {"error": {"code": 502, "message": "Provider disconnected unexpectedly"}}
GROQ_400 = {"error": {"message": "Tool choice is required", "type": "invalid_request_error", "code": "tool_use_failed"}}


def first_event(protocol: str, body: dict[str, object], event: str | None) -> Reply:
    """A 200 stream whose first event (after Anthropic's message_start, which carries no answer) is an error."""
    head = WIRES[protocol].head() + (sse({"type": "ping"}, "ping") if protocol == "anthropic" else b"")
    return reply(200, head + sse(body, event), SSE_TYPE)


def ok_stream(protocol: str) -> Reply:
    return reply(200, stream_body(WIRES[protocol]), SSE_TYPE)


RETRIED = {
    "anthropic overloaded_error": ("anthropic", OVERLOADED, "error"),
    "anthropic timeout_error": ("anthropic", TIMED_OUT, "error"),
    "anthropic conflict_error": ("anthropic", CONFLICT, "error"),
    "openai-style error object with a 5xx code": ("openai", OPENROUTER_502, None),
    "openai-style error event": ("openai", {"error": {"message": "busy", "type": "server_error"}}, "error"),
}


@CLIENTS
@pytest.mark.parametrize("case", RETRIED)
def test_an_error_event_before_any_answer_is_sent_again_like_its_status(client_kind: str, case: str) -> None:
    protocol, body, event = RETRIED[case]
    result = run(protocol, client_kind, "stream", [first_event(protocol, body, event), ok_stream(protocol)])
    assert result.error is None, repr(result.error)
    assert result.completion is not None and result.completion.text == TEXT
    assert result.delivered == TEXT, "nothing was handed out twice"
    assert len(result.requests) == 2 and len(result.sleeps) == 1


@CLIENTS
@PROTOCOLS
def test_error_events_before_any_answer_use_up_the_same_retries_as_statuses(protocol: str, client_kind: str) -> None:
    busy = reply(529, WIRES[protocol].error("overloaded_error", "Overloaded"))
    overloaded = first_event(protocol, OVERLOADED if protocol == "anthropic" else OPENROUTER_502, "error")
    result = run(protocol, client_kind, "stream", [busy, overloaded])
    assert type(result.error) is hamr.StreamError and result.error.partial.text == ""
    assert len(result.requests) == 3 and len(result.sleeps) == 2  # max_retries = 2, status and events together


@CLIENTS
def test_a_final_error_event_before_any_answer_is_not_sent_again(client_kind: str) -> None:
    result = run("openai", client_kind, "stream", [first_event("openai", GROQ_400, "error"), ok_stream("openai")])
    assert type(result.error) is hamr.StreamError and "Tool choice is required" in str(result.error)
    assert len(result.requests) == 1 and result.sleeps == []


@CLIENTS
@PROTOCOLS
def test_an_error_event_after_the_answer_began_is_never_sent_again(protocol: str, client_kind: str) -> None:
    wire = WIRES[protocol]
    body = stream_body(wire, ["Hel"], end=False) + sse(OVERLOADED if protocol == "anthropic" else OPENROUTER_502)
    result = run(protocol, client_kind, "stream", [reply(200, body, SSE_TYPE), ok_stream(protocol)])
    assert type(result.error) is hamr.StreamError
    assert result.error.partial.text == result.delivered == "Hel"
    assert len(result.requests) == 1


# -- headers: huge, doubled, garbled -----------------------------------------------------------------------------

BUSY = {"error": {"message": "busy, try again"}}


@CLIENTS
@pytest.mark.parametrize(
    "headers",
    [
        [("retry-after", "soon")],
        [("retry-after", "nan")],
        [("retry-after", "-3")],
        [("retry-after-ms", "-500")],
        [("retry-after-ms", "NaN")],
        [("retry-after", "1"), ("retry-after", "1")],
        [("retry-after", "")],
    ],
    ids=["soon", "nan", "negative-seconds", "negative-ms", "nan-ms", "duplicated", "empty"],
)
def test_a_garbled_retry_after_is_ignored_and_the_backoff_applies(
    client_kind: str, headers: list[tuple[str, str]]
) -> None:
    limited = _with_headers(429, headers)
    result = run("openai", client_kind, "chat", [limited, reply(200, WIRES["openai"].chat())])
    assert result.error is None and len(result.sleeps) == 1
    assert 0.25 <= result.sleeps[0] <= 0.5, "the first backoff (0.5 s less up to half of it)"


@CLIENTS
def test_a_negative_retry_after_ms_falls_back_to_retry_after(client_kind: str) -> None:
    limited = _with_headers(429, [("retry-after-ms", "-500"), ("retry-after", "3")])
    result = run("openai", client_kind, "chat", [limited, reply(200, WIRES["openai"].chat())])
    assert result.error is None and result.sleeps == [3.0]


@CLIENTS
def test_an_enormous_retry_after_is_capped_by_max_retry_wait(client_kind: str) -> None:
    limited = _with_headers(429, [("retry-after", "9" * 400)])
    result = run("openai", client_kind, "chat", [limited, reply(200, WIRES["openai"].chat())])
    assert result.error is None and result.sleeps == [60.0]


def _with_headers(status: int, headers: list[tuple[str, str]]) -> Reply:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers=[("content-type", JSON_TYPE), *headers], json=BUSY, request=request)

    return answer


@pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])
@CLIENTS
@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_response_headers_over_the_http_parsers_limit_are_a_connection_error(
    monkeypatch: pytest.MonkeyPatch, client_kind: str, mode: str
) -> None:
    # h11 (httpx2's HTTP/1.1 parser) refuses a response head over 16 KiB: the response never began, so the
    # request is a ConnectionError and is sent again like one
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    from tests.faults.faultkit import config, drive

    with MisbehavingServer() as server:
        cfg = config("openai", base_url=server.url("huge-header", "openai"), max_retries=1, connect_timeout=2)
        result = drive(cfg, client_kind, mode)
        assert type(result.error) is hamr.ConnectionError, repr(result.error)
        assert server.hits["huge-header"] == 2
