"""One streaming consumer per library, sync and async, all doing the same user-level work: iterate the stream,
collect the text deltas (noting when the first arrives) and end with every tool call's id, name and arguments.

- ``raw httpx2``: httpx2 ``iter_lines`` + ``json.loads``, picking the fields by hand: the floor (httpx2 is what
  hamr runs on); ``raw httpx``: the same on httpx 0.28/0.29 (httpcore 1.0.9), beside it.
- ``hamr``: the public ``Client.stream`` (events, with the Completion accumulated as always).
- ``sdk``: the official SDK's ``create(stream=True)`` iterator (typed chunk/event objects, no accumulation);
  Responses: ``responses.create(stream=True)``.
- ``sdk-helper``: the SDK's accumulating helper (``chat.completions.stream`` / ``messages.stream`` /
  ``responses.stream``), the SDK's counterpart of hamr's ``stream.completion``.

The Responses API (``responses``) is decoded only (section 2): ``PROTOCOLS`` are the two the loopback benchmarks
serve.

Each library runs on its own HTTP stack as users get it (hamr, openai and anthropic: httpx2; the raw consumers:
their own). The raw consumers get hamr's connection pool limits (``hamr._client.POOL_LIMITS``), so concurrent streams
queue alike.

Every consumer takes an optional ``stamp``: called (no arguments) each time the consumer gets a piece of the answer,
a text delta or a piece of a tool call (its start, with id and name, or an argument fragment), for the concurrency
benchmark's gaps between events. Bookkeeping events (a role chunk, a block's stop, a ping, usage, the end) are not
stamped for any consumer, so every consumer's gaps span the same stretches of the stream.
Each library is imported when its client is made, so a process that times one consumer loads only that one's
library (the concurrency benchmark's per-cell peak RSS).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    import hamr

MESSAGES = [{"role": "user", "content": "Stream a long answer"}]
MODEL = "bench-model"
MAX_TOKENS = 1024
PROTOCOLS = ("openai", "anthropic")
Stamp = Callable[[], None] | None
PIECES = frozenset({"text", "tool_call"})  # the hamr events that are pieces of the answer (see ``stamp`` above)


@dataclass
class Result:
    """What one consumer got out of a stream; ``first`` is perf_counter() at the first text delta."""

    text: str = ""
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    first: float = 0.0

    def check(self, text: str, calls: tuple[tuple[str, str, str], ...], who: str) -> None:
        """Fail loudly when a consumer decoded something else than the stream holds (so no broken path is timed)."""
        want = [(cid, name, json.loads(args)) for cid, name, args in calls]
        got = [(cid, name, args if isinstance(args, dict) else json.loads(args)) for cid, name, args in self.calls]
        if self.text != text or got != want:
            raise AssertionError(f"{who}: decoded stream differs (text {len(self.text)} vs {len(text)} chars)")


def hamr_config(base_url: str) -> hamr.Config:
    """Three custom providers on the bench server, one per protocol; no key (loopback), no retries."""
    from hamr._config import parse_config

    common = {"max_retries": 0, "local": True}
    return parse_config(
        {
            "active": {"provider": "bench-openai", "model": MODEL},
            "providers": {
                "bench-openai": {"base_url": f"{base_url}/v1", "compatibility": "openai-compatible", **common},
                "bench-anthropic": {"base_url": base_url, "compatibility": "anthropic-compatible", **common},
                "bench-responses": {"base_url": f"{base_url}/v1", "compatibility": "openai-responses", **common},
            },
        }
    )


# ------------------------------------------------------------------------------------------------------------------
# client construction: (protocol, base_url, transport or None) -> a client object for the consumer below
# ------------------------------------------------------------------------------------------------------------------


def make_raw(
    protocol: str,
    base_url: str,
    transport: Any = None,
    *,
    aio: bool = False,
    limits: dict[str, Any] | None = None,
    library: str = "httpx2",
) -> Any:
    """A plain client of ``library`` (httpx2 or httpx). ``limits``: hamr's ``POOL_LIMITS`` unless given (a process
    that must not load hamr passes them in)."""
    import importlib

    module = importlib.import_module(library)
    if limits is None:
        from hamr._client import POOL_LIMITS

        limits = dict(POOL_LIMITS)
    cls = module.AsyncClient if aio else module.Client
    return cls(base_url=base_url, transport=transport, timeout=60, limits=module.Limits(**limits))


def make_raw_httpx(protocol: str, base_url: str, transport: Any = None, **options: Any) -> Any:
    return make_raw(protocol, base_url, transport, library="httpx", **options)


def make_hamr(protocol: str, base_url: str, transport: Any = None, *, aio: bool = False) -> Any:
    import httpx2

    import hamr

    cls = hamr.AsyncClient if aio else hamr.Client
    http = (httpx2.AsyncClient if aio else httpx2.Client)(transport=transport) if transport is not None else None
    return cls(hamr_config(base_url), provider=f"bench-{protocol}", model=MODEL, http_client=http)


def make_hamr_otel_api(protocol: str, base_url: str, transport: Any = None, *, aio: bool = False) -> Any:
    """hamr in a program that imported the OpenTelemetry API but configured no provider: telemetry off."""
    import opentelemetry.metrics
    import opentelemetry.trace  # noqa: F401

    return make_hamr(protocol, base_url, transport, aio=aio)


def make_hamr_otel_sdk(protocol: str, base_url: str, transport: Any = None, *, aio: bool = False) -> Any:
    """hamr in a program with the OpenTelemetry SDK configured as in production: a tracer provider whose batch span
    processor hands every span to an exporter (one that drops them: the network is not hamr's cost), and a meter
    provider whose reader aggregates every measurement. Telemetry on: a span and the histograms per stream."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracers = TracerProvider()
    tracers.add_span_processor(BatchSpanProcessor(Dropped()))
    trace.set_tracer_provider(tracers)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return make_hamr(protocol, base_url, transport, aio=aio)


def make_sdk(protocol: str, base_url: str, transport: Any = None, *, aio: bool = False) -> Any:
    import anthropic
    import httpx2
    import openai

    http = (httpx2.AsyncClient if aio else httpx2.Client)(transport=transport) if transport is not None else None
    if protocol in ("openai", "responses"):
        cls: Any = openai.AsyncOpenAI if aio else openai.OpenAI
        return cls(api_key="bench", base_url=f"{base_url}/v1", max_retries=0, http_client=http)
    cls = anthropic.AsyncAnthropic if aio else anthropic.Anthropic
    return cls(api_key="bench", base_url=base_url, max_retries=0, http_client=http)


async def aclose(client: Any) -> None:
    for name in ("aclose", "close"):
        closer = getattr(client, name, None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
            return


# ------------------------------------------------------------------------------------------------------------------
# raw httpx2: the floor
# ------------------------------------------------------------------------------------------------------------------


def _raw_request(protocol: str) -> tuple[str, dict[str, Any]]:
    if protocol == "openai":
        return "/v1/chat/completions", {"model": MODEL, "messages": MESSAGES, "stream": True}
    if protocol == "responses":
        return "/v1/responses", {"model": MODEL, "input": MESSAGES, "stream": True}
    return "/v1/messages", {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS, "stream": True}


class _RawState:
    """Field picking shared by the sync and async raw consumers."""

    def __init__(self, protocol: str, stamp: Stamp = None) -> None:
        self.stamp = stamp
        self.protocol = protocol
        self.openai = protocol == "openai"
        self.texts: list[str] = []
        self.calls: dict[int, list[Any]] = {}
        self.first = 0.0

    def line(self, line: str) -> bool:
        """Handle one line; False at the end marker (nothing follows it but the body's end)."""
        if not line.startswith("data:"):
            return True
        data = line[5:].strip()
        if data == "[DONE]":
            return False
        obj = json.loads(data)
        if self.protocol == "responses":
            return self.responses(obj)
        if self.openai:
            for choice in obj["choices"]:
                delta = choice["delta"]
                if delta.get("content"):
                    self.text(delta["content"])
                for tc in delta.get("tool_calls") or ():
                    if self.stamp is not None:
                        self.stamp()
                    entry = self.calls.setdefault(tc["index"], ["", "", []])
                    fn = tc.get("function") or {}
                    entry[0] = tc.get("id") or entry[0]
                    entry[1] = fn.get("name") or entry[1]
                    if fn.get("arguments"):
                        entry[2].append(fn["arguments"])
            return True
        kind = obj["type"]
        if kind == "content_block_delta":
            delta = obj["delta"]
            if delta["type"] == "text_delta":
                self.text(delta["text"])
            elif delta["type"] == "input_json_delta":
                if self.stamp is not None:
                    self.stamp()
                self.calls[obj["index"]][2].append(delta["partial_json"])
        elif kind == "content_block_start" and obj["content_block"]["type"] == "tool_use":
            if self.stamp is not None:
                self.stamp()
            block = obj["content_block"]
            self.calls[obj["index"]] = [block["id"], block["name"], []]
        return kind != "message_stop"

    def responses(self, obj: dict[str, Any]) -> bool:
        kind = obj["type"]
        if kind == "response.output_text.delta":
            self.text(obj["delta"])
        elif kind == "response.function_call_arguments.delta":
            if self.stamp is not None:
                self.stamp()
            self.calls[obj["output_index"]][2].append(obj["delta"])
        elif kind == "response.output_item.added" and obj["item"]["type"] == "function_call":
            if self.stamp is not None:
                self.stamp()
            item = obj["item"]
            self.calls[obj["output_index"]] = [item["call_id"], item["name"], []]
        return kind != "response.completed"

    def text(self, text: str) -> None:
        if self.stamp is not None:
            self.stamp()
        if not self.first:
            self.first = time.perf_counter()
        self.texts.append(text)

    def result(self) -> Result:
        calls = [(c[0], c[1], "".join(c[2])) for _, c in sorted(self.calls.items())]
        return Result("".join(self.texts), calls, self.first)


def raw_sync(client: httpx2.Client, protocol: str, stamp: Stamp = None) -> Result:
    path, body = _raw_request(protocol)
    state = _RawState(protocol, stamp)
    with client.stream("POST", path, json=body) as response:
        for line in response.iter_lines():
            state.line(line)  # to the body's end (not a break at the end marker): the connection stays alive
    return state.result()


async def raw_async(client: httpx2.AsyncClient, protocol: str, stamp: Stamp = None) -> Result:
    path, body = _raw_request(protocol)
    state = _RawState(protocol, stamp)
    async with client.stream("POST", path, json=body) as response:
        async for line in response.aiter_lines():
            state.line(line)  # to the body's end (not a break at the end marker): the connection stays alive
    return state.result()


# ------------------------------------------------------------------------------------------------------------------
# hamr
# ------------------------------------------------------------------------------------------------------------------


def _hamr_result(texts: list[str], first: float, completion: hamr.Completion) -> Result:
    calls = [(c.id, c.name, c.raw_arguments) for c in completion.tool_calls]
    return Result("".join(texts), calls, first)


def hamr_sync(client: hamr.Client, protocol: str, stamp: Stamp = None) -> Result:
    texts: list[str] = []
    first = 0.0
    with client.stream(MESSAGES, max_tokens=MAX_TOKENS) as stream:
        for event in stream:
            if stamp is not None and event.type in PIECES:
                stamp()
            if event.type == "text":
                if not first:
                    first = time.perf_counter()
                texts.append(event.text)
    return _hamr_result(texts, first, stream.completion)


async def hamr_async(client: hamr.AsyncClient, protocol: str, stamp: Stamp = None) -> Result:
    texts: list[str] = []
    first = 0.0
    async with await client.stream(MESSAGES, max_tokens=MAX_TOKENS) as stream:
        async for event in stream:
            if stamp is not None and event.type in PIECES:
                stamp()
            if event.type == "text":
                if not first:
                    first = time.perf_counter()
                texts.append(event.text)
    return _hamr_result(texts, first, stream.completion)


# ------------------------------------------------------------------------------------------------------------------
# official SDKs, raw event iterators
# ------------------------------------------------------------------------------------------------------------------


class _SdkState:
    def __init__(self, stamp: Stamp = None) -> None:
        self.stamp = stamp
        self.texts: list[str] = []
        self.calls: dict[int, list[Any]] = {}
        self.first = 0.0

    def text(self, text: str) -> None:
        if self.stamp is not None:
            self.stamp()
        if not self.first:
            self.first = time.perf_counter()
        self.texts.append(text)

    def openai_chunk(self, chunk: Any) -> None:
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                self.text(delta.content)
            for tc in delta.tool_calls or ():
                if self.stamp is not None:
                    self.stamp()
                entry = self.calls.setdefault(tc.index, ["", "", []])
                entry[0] = tc.id or entry[0]
                if tc.function is not None:
                    entry[1] = tc.function.name or entry[1]
                    if tc.function.arguments:
                        entry[2].append(tc.function.arguments)

    def responses_event(self, event: Any) -> None:
        if event.type == "response.output_text.delta":
            self.text(event.delta)
        elif event.type == "response.function_call_arguments.delta":
            if self.stamp is not None:
                self.stamp()
            self.calls[event.output_index][2].append(event.delta)
        elif event.type == "response.output_item.added" and event.item.type == "function_call":
            if self.stamp is not None:
                self.stamp()
            self.calls[event.output_index] = [event.item.call_id, event.item.name, []]

    def anthropic_event(self, event: Any) -> None:
        if event.type == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta":
                self.text(delta.text)
            elif delta.type == "input_json_delta":
                if self.stamp is not None:
                    self.stamp()
                self.calls[event.index][2].append(delta.partial_json)
        elif event.type == "content_block_start" and event.content_block.type == "tool_use":
            if self.stamp is not None:
                self.stamp()
            self.calls[event.index] = [event.content_block.id, event.content_block.name, []]

    def result(self) -> Result:
        calls = [(c[0], c[1], "".join(c[2])) for _, c in sorted(self.calls.items())]
        return Result("".join(self.texts), calls, self.first)


def sdk_sync(client: Any, protocol: str, stamp: Stamp = None) -> Result:
    state = _SdkState(stamp)
    if protocol == "openai":
        for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            state.openai_chunk(chunk)
    elif protocol == "responses":
        for event in client.responses.create(model=MODEL, input=MESSAGES, stream=True):
            state.responses_event(event)
    else:
        for event in client.messages.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True):
            state.anthropic_event(event)
    return state.result()


async def sdk_async(client: Any, protocol: str, stamp: Stamp = None) -> Result:
    state = _SdkState(stamp)
    if protocol == "openai":
        async for chunk in await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            state.openai_chunk(chunk)
    elif protocol == "responses":
        async for event in await client.responses.create(model=MODEL, input=MESSAGES, stream=True):
            state.responses_event(event)
    else:
        stream = await client.messages.create(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS, stream=True)
        async for event in stream:
            state.anthropic_event(event)
    return state.result()


# ------------------------------------------------------------------------------------------------------------------
# official SDKs, accumulating helpers
# ------------------------------------------------------------------------------------------------------------------


def sdk_helper_sync(client: Any, protocol: str) -> Result:
    texts: list[str] = []
    first = 0.0
    if protocol == "openai":
        with client.chat.completions.stream(model=MODEL, messages=MESSAGES) as stream:
            for event in stream:
                if event.type == "content.delta":
                    if not first:
                        first = time.perf_counter()
                    texts.append(event.delta)
            message = stream.get_final_completion().choices[0].message
        calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()]
        return Result("".join(texts), calls, first)
    if protocol == "responses":
        with client.responses.stream(model=MODEL, input=MESSAGES) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    if not first:
                        first = time.perf_counter()
                    texts.append(event.delta)
            return Result("".join(texts), _function_calls(stream.get_final_response()), first)
    with client.messages.stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
        for event in stream:
            if event.type == "text":
                if not first:
                    first = time.perf_counter()
                texts.append(event.text)
        final = stream.get_final_message()
    calls = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    return Result("".join(texts), calls, first)


async def sdk_helper_async(client: Any, protocol: str) -> Result:
    texts: list[str] = []
    first = 0.0
    if protocol == "openai":
        async with client.chat.completions.stream(model=MODEL, messages=MESSAGES) as stream:
            async for event in stream:
                if event.type == "content.delta":
                    if not first:
                        first = time.perf_counter()
                    texts.append(event.delta)
            message = (await stream.get_final_completion()).choices[0].message
        calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()]
        return Result("".join(texts), calls, first)
    if protocol == "responses":
        async with client.responses.stream(model=MODEL, input=MESSAGES) as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    if not first:
                        first = time.perf_counter()
                    texts.append(event.delta)
            return Result("".join(texts), _function_calls(await stream.get_final_response()), first)
    async with client.messages.stream(model=MODEL, messages=MESSAGES, max_tokens=MAX_TOKENS) as stream:
        async for event in stream:
            if event.type == "text":
                if not first:
                    first = time.perf_counter()
                texts.append(event.text)
        final = await stream.get_final_message()
    calls = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    return Result("".join(texts), calls, first)


def _function_calls(response: Any) -> list[tuple[str, str, Any]]:
    """The (call_id, name, arguments) of a Response's function_call items."""
    return [(i.call_id, i.name, i.arguments) for i in response.output if i.type == "function_call"]


# name -> (make client, sync consumer, async consumer)
CONSUMERS: dict[str, tuple[Callable[..., Any], Callable[..., Result], Callable[..., Any]]] = {
    "raw httpx2": (make_raw, raw_sync, raw_async),
    "raw httpx": (make_raw_httpx, raw_sync, raw_async),
    "hamr": (make_hamr, hamr_sync, hamr_async),
    "hamr, OTel API imported": (make_hamr_otel_api, hamr_sync, hamr_async),
    "hamr, OTel SDK on": (make_hamr_otel_sdk, hamr_sync, hamr_async),
    "sdk": (make_sdk, sdk_sync, sdk_async),
    "sdk helper": (make_sdk, sdk_helper_sync, sdk_helper_async),
}
