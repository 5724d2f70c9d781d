"""Helpers for the tests/unit/test_peer_*.py files (issue 8): drive Client and AsyncClient over httpx2.MockTransport
in exactly the same way, and decode a stream split at many points, so each test shows only its wire shape and what
hamr must make of it."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx2

import hamr
from hamr._config import Config, parse_config
from hamr._stream import StreamDecoder

MODES = ("sync", "async")

#: Placeholder keys (no real credential anywhere in the tests).
ENV = {
    "DEEPSEEK_API_KEY": "test-deepseek-key",
    "ANTHROPIC_API_KEY": "test-anthropic-key",
    "OPENROUTER_API_KEY": "test-openrouter-key",
    "GROQ_API_KEY": "test-groq-key",
    "MISTRAL_API_KEY": "test-mistral-key",
    "TOGETHER_API_KEY": "test-together-key",
}

Answer = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


def sse(body: bytes) -> httpx2.Response:
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def json_response(body: bytes | Mapping[str, Any], status: int = 200) -> httpx2.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx2.Response(status, content=content, headers={"content-type": "application/json"})


class Server:
    """A MockTransport handler: answers in order and records every request it was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected extra request to {request.url}")
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def body(self, n: int = -1) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.requests[n].content)
        return data


def config(toml: str = "") -> Config:
    return parse_config(tomllib.loads(toml), "peer-test.toml")


@dataclass
class Run:
    """What one or more calls through a client produced."""

    completions: list[hamr.Completion] = field(default_factory=list)
    events: list[list[hamr.StreamEvent]] = field(default_factory=list)
    spend: hamr.Spend | None = None

    @property
    def completion(self) -> hamr.Completion:
        return self.completions[-1]


Call = Mapping[str, Any]  # keyword arguments of chat()/stream(), plus "stream": bool


def call(
    mode: str,
    server: Server,
    *calls: Call,
    provider: str,
    cfg: Config | None = None,
    env: Mapping[str, str] = ENV,
    model: str | None = None,
) -> Run:
    """Send ``calls`` one after another through one Client (mode "sync") or AsyncClient ("async")."""
    cfg = cfg if cfg is not None else config()
    run = Run()
    if mode == "sync":
        with hamr.Client(
            cfg,
            provider=provider,
            model=model,
            env=env,
            http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        ) as client:
            client._sleep = lambda seconds: None
            for spec in calls:
                kwargs = {k: v for k, v in spec.items() if k != "stream"}
                if spec.get("stream"):
                    with client.stream(**kwargs) as stream:
                        run.events.append(list(stream))
                    run.completions.append(stream.completion)
                else:
                    run.completions.append(client.chat(**kwargs))
            run.spend = client.spend
        return run

    async def main() -> None:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(server))
        async with hamr.AsyncClient(cfg, provider=provider, model=model, env=env, http_client=http) as client:

            async def no_sleep(seconds: float) -> None:
                return None

            client._sleep = no_sleep
            for spec in calls:
                kwargs = {k: v for k, v in spec.items() if k != "stream"}
                if spec.get("stream"):
                    async with await client.stream(**kwargs) as stream:
                        run.events.append([event async for event in stream])
                    run.completions.append(stream.completion)
                else:
                    run.completions.append(await client.chat(**kwargs))
            run.spend = client.spend

    asyncio.run(main())
    return run


def decode(protocol: ModuleType, body: bytes, provider: str = "test") -> tuple[list[hamr.StreamEvent], hamr.Completion]:
    """Decode ``body`` fed whole, byte by byte and in 7-byte pieces; all three must agree. Returns the events of the
    whole-body run and the Completion."""
    results = []
    for size in (len(body) or 1, 1, 7):
        decoder = StreamDecoder(protocol.StreamParser(provider))
        events: list[hamr.StreamEvent] = []
        for start in range(0, len(body), size):
            events += decoder.feed(body[start : start + size])
        events += decoder.close()
        assert decoder.completion is not None
        results.append((events, decoder.completion))
    first = results[0][1]
    assert all(completion == first for _, completion in results), "the split points changed the result"
    return results[0]


def of_type(events: Sequence[hamr.StreamEvent], kind: str) -> list[hamr.StreamEvent]:
    return [e for e in events if e.type == kind]


def chunk(delta: Mapping[str, Any] | None = None, finish: str | None = None, **top: Any) -> bytes:
    """One constructed chat.completion.chunk SSE event in the documented OpenAI shape."""
    data: dict[str, Any] = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "m"}
    if delta is not None or finish is not None:
        data["choices"] = [{"index": 0, "delta": dict(delta or {}), "finish_reason": finish}]
    data.update(top)
    return b"data: " + json.dumps(data).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def named_sse(*events: tuple[str | None, Any]) -> bytes:
    """SSE bytes from (event name or None, data) pairs; data is JSON-encoded unless it is a string already."""
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
    return "".join(out).encode()


def anthropic_stream(
    blocks: Sequence[Mapping[str, Any]], stop: Mapping[str, Any], usage: Mapping[str, Any] | None = None
) -> bytes:
    """A Messages stream of ``blocks`` as Anthropic's streaming docs describe it: message_start, each block as
    start / deltas / stop (text by text_delta and citations_delta, an ``input`` by input_json_delta, a compaction
    summary by one compaction_delta), message_delta with ``stop`` and ``usage``, message_stop."""
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {}}})
    ]
    for i, block in enumerate(blocks):
        start = dict(block)
        deltas: list[dict[str, Any]] = []
        if block["type"] == "text":
            start["text"] = ""
            deltas = [{"type": "text_delta", "text": block["text"]}]
            deltas += [{"type": "citations_delta", "citation": c} for c in block.get("citations", ())]
            start.pop("citations", None)
        elif block["type"] == "compaction":
            start["content"] = None
            deltas = [{"type": "compaction_delta", "content": block["content"]}]
        elif "input" in block:
            start["input"] = {}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": start}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    delta = {"type": "message_delta", "delta": dict(stop), "usage": dict(usage or {"output_tokens": 3})}
    events += [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
    return named_sse(*events)


def anthropic_message(
    content: Sequence[Mapping[str, Any]], stop_reason: str = "end_turn", usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A Messages API answer in its documented shape, from claude-sonnet-5-5 (the anthropic preset's default)."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [dict(block) for block in content],
        "stop_reason": stop_reason,
        "usage": dict(usage or {"input_tokens": 1, "output_tokens": 1}),
    }
