"""Scripted provider replies for the fault tests: per-protocol bodies, replies that break mid-body, and a runner
that drives Client or AsyncClient through chat or stream and records what reached the caller.

Every body here is CONSTRUCTED, not recorded. Shapes come from the documented wire formats and the reference corpus:
- OpenAI chat completions and ``chat.completion.chunk`` SSE ending in ``data: [DONE]``
  (https://platform.openai.com/docs/api-reference/chat/streaming);
- Anthropic Messages and its named stream events, ``event: error`` with ``overloaded_error`` included
  (https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events); the event sequence and the
  401 body follow ../shared/reference/responses/anthropic/02-stream-text.json and 03-error-401.json;
- OpenRouter's mid-stream error, a ``data:`` chunk with an ``error`` field and ``finish_reason: "error"``
  (https://openrouter.ai/docs/api-reference/streaming, "Handling Errors During Streaming"), and its 429 body
  (../shared/reference/responses/openrouter/04-error-429-rate-limit.json);
- Groq's ``event: error`` after partial output in a 200 stream
  (../shared/reference/responses/groq/05-stream-error-midstream-text.json).
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

import hamr
from hamr._config import parse_config

KEY = "fault-key-7f3a9c1e5b2d4f60"  # not shaped like any real key: only value-based redaction can hide it
PIECES = ("Hel", "lo")
TEXT = "".join(PIECES)
CHUNK = 64 * 1024  # a socket read's worth; long bodies arrive in pieces of this size

PROVIDERS = {
    "openai": {"base_url": "https://llm.test/v1", "api_key_env": "FAULT_KEY"},
    "anthropic": {
        "base_url": "https://claude.test",
        "api_key_env": "FAULT_KEY",
        "compatibility": "anthropic-compatible",
    },
}


def sse(data: object, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    body = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {body}\n\n".encode()


class OpenAIWire:
    """openai-compatible bodies."""

    name = "openai"

    def chat(self, text: str = TEXT) -> bytes:
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": 3, "completion_tokens": 2}
        return json.dumps(
            {"id": "chatcmpl-1", "object": "chat.completion", "model": "m", "choices": [choice], "usage": usage}
        ).encode()

    def missing(self) -> bytes:
        return json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": "m"}).encode()

    def head(self) -> bytes:
        return b""

    def delta(self, text: str) -> bytes:
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m"}
        return sse({**chunk, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})

    def tail(self) -> bytes:
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m"}
        return sse({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + sse("[DONE]")

    def choiceless(self) -> bytes:
        return sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m"}) + sse("[DONE]")

    def error(self, etype: str, message: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": etype, "code": None}}


class AnthropicWire:
    """anthropic-compatible bodies."""

    name = "anthropic"

    def chat(self, text: str = TEXT) -> bytes:
        return json.dumps(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "m",
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 2},
            }
        ).encode()

    def missing(self) -> bytes:
        return json.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": "m"}).encode()

    def head(self) -> bytes:
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": []}
        start = {"type": "message_start", "message": {**message, "usage": {"input_tokens": 3, "output_tokens": 1}}}
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        return sse(start, "message_start") + sse(block, "content_block_start")

    def delta(self, text: str) -> bytes:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
        return sse(delta, "content_block_delta")

    def tail(self) -> bytes:
        stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}
        return (
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            + sse(stop, "message_delta")
            + sse({"type": "message_stop"}, "message_stop")
        )

    def choiceless(self) -> bytes:
        return sse({"type": "message_start"}, "message_start") + sse({"type": "message_stop"}, "message_stop")

    def error(self, etype: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": etype, "message": message}}


Wire = OpenAIWire | AnthropicWire
WIRES: dict[str, Wire] = {"openai": OpenAIWire(), "anthropic": AnthropicWire()}


def stream_body(wire: Wire, pieces: Sequence[str] = PIECES, *, end: bool = True) -> bytes:
    return wire.head() + b"".join(wire.delta(p) for p in pieces) + (wire.tail() if end else b"")


# ----------------------------------------------------------------------------------------------------------------
# Replies
# ----------------------------------------------------------------------------------------------------------------


class Body(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body that arrives in ``pieces``, then raises ``then`` (a dropped or stalled connection)."""

    def __init__(self, pieces: Sequence[bytes], then: Exception | None = None) -> None:
        self.pieces = pieces
        self.then = then

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.then is not None:
            raise self.then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.then is not None:
            raise self.then


class Endless(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body that sends ``head``, then ``piece`` again and again (a line without end, data lines without a blank
    line, a chunked body without end), counting the bytes it ``served``. It stops after ``cap`` bytes should a
    test's client never stop reading."""

    def __init__(self, head: bytes, piece: bytes, cap: int = 4 * 1024 * 1024) -> None:
        self.head = head
        self.piece = piece
        self.cap = cap
        self.served = 0

    def _pieces(self) -> Iterator[bytes]:
        self.served += len(self.head)
        yield self.head
        while self.served < self.cap:
            self.served += len(self.piece)
            yield self.piece

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces():
            yield piece


Reply = Callable[[httpx2.Request], httpx2.Response]

SSE_TYPE = "text/event-stream"
JSON_TYPE = "application/json"


def reply(
    status: int,
    body: bytes | dict[str, Any] = b"",
    content_type: str = JSON_TYPE,
    *,
    headers: dict[str, str] | None = None,
    then: Exception | None = None,
) -> Reply:
    """A reply; its body is cut into CHUNK-sized pieces and ``then`` is raised after the last one."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    pieces = [raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK)]

    def answer(request: httpx2.Request) -> httpx2.Response:
        all_headers = {"content-type": content_type, **(headers or {})}
        return httpx2.Response(status, headers=all_headers, stream=Body(pieces, then), request=request)

    return answer


def fail(exc_type: type[httpx2.TransportError], message: str) -> Reply:
    """No response at all: the transport raises ``exc_type``."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        raise exc_type(message, request=request)

    return answer


class Script:
    """A MockTransport handler answering with ``replies`` in order; the last one repeats forever."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.replies[min(len(self.requests), len(self.replies)) - 1](request)


# ----------------------------------------------------------------------------------------------------------------
# Running one client through a script
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What happened: the Completion or the error, the text events the caller saw, the requests and the waits."""

    completion: hamr.Completion | None = None
    error: BaseException | None = None
    delivered: str = ""
    requests: list[httpx2.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)


def config(protocol: str, **overrides: Any) -> hamr.Config:
    provider = {**PROVIDERS[protocol], **overrides}
    return parse_config({"providers": {"p": provider}, "active": {"provider": "p", "model": "m"}})


def run(protocol: str, client_kind: str, mode: str, replies: Sequence[Reply], **overrides: Any) -> Run:
    """Send one chat (or stream) request through scripted ``replies`` with sync or async hamr."""
    script = Script(replies)
    return drive(config(protocol, **overrides), client_kind, mode, httpx2.MockTransport(script), script.requests)


def drive(
    cfg: hamr.Config,
    client_kind: str,
    mode: str,
    transport: httpx2.MockTransport | None = None,
    requests: list[httpx2.Request] | None = None,
    library: str | None = None,
) -> Run:
    """One request with sync or async hamr: through ``transport``, or through real sockets when it is None: hamr's
    own httpx2 client, or with ``library`` ("httpx2" or "httpx") a plain client of that library passed as
    ``http_client`` (what a caller holds). Backoff waits are recorded, never slept."""
    result = Run(requests=requests if requests is not None else [])
    env = {"FAULT_KEY": KEY}
    if client_kind == "sync":
        http = _http_client("Client", transport, library)
        client = hamr.Client(cfg, http_client=http, env=env)
        client._sleep = result.sleeps.append
        _run_sync(client, mode, result)
        if http is not None:
            http.close()
    else:
        asyncio.run(_run_async(cfg, env, _http_client("AsyncClient", transport, library), mode, result))
    return result


def _http_client(kind: str, transport: httpx2.MockTransport | None, library: str | None) -> Any:
    """The ``http_client`` for ``drive``: an httpx2 ``kind`` over ``transport``, a plain ``kind`` of ``library``,
    or None (hamr makes its own)."""
    if transport is not None:
        return getattr(httpx2, kind)(transport=transport)
    return None if library is None else getattr(importlib.import_module(library), kind)()


def _run_sync(client: hamr.Client, mode: str, result: Run) -> None:
    with client:
        try:
            if mode == "chat":
                result.completion = client.chat("hi")
                return
            with client.stream("hi") as stream:
                for event in stream:
                    result.delivered += event.text if event.type == "text" else ""
            result.completion = stream.completion
        except hamr.HamrError as exc:
            result.error = exc


async def _run_async(cfg: hamr.Config, env: dict[str, str], http: Any, mode: str, result: Run) -> None:
    async def record_sleep(seconds: float) -> None:
        result.sleeps.append(seconds)

    async with hamr.AsyncClient(cfg, http_client=http, env=env) as client:
        client._sleep = record_sleep
        try:
            if mode == "chat":
                result.completion = await client.chat("hi")
                return
            async with await client.stream("hi") as stream:
                async for event in stream:
                    result.delivered += event.text if event.type == "text" else ""
            result.completion = stream.completion
        except hamr.HamrError as exc:
            result.error = exc
        finally:
            if http is not None:
                await http.aclose()
