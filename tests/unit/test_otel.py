"""OpenTelemetry spans and metrics through hamr's public API, read back from the OpenTelemetry SDK's in-memory
exporters: chat and stream on all three protocols and both clients, a stream left early, retries, failures, content
only on the conventions' opt-in, and nothing at all when no provider is configured.

Attribute and metric names are checked against the GenAI semantic conventions hamr follows (open-telemetry/
semantic-conventions v1.41.1, model/gen-ai/spans.yaml ``span.gen_ai.inference.client`` and model/gen-ai/metrics.yaml,
the attribute lists below taken from them); hamr's own attributes are in the ``hamr.`` namespace."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from opentelemetry import trace
from opentelemetry.metrics import _internal as metrics_globals
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import hamr
from tests.unit.peer_support import anthropic_stream
from tests.unit.test_client import OK_CHAT, STREAM, Recorder, chat, make_client, stream
from tests.unit.test_responses_client import ANSWER, completed, text_events

#: span.gen_ai.inference.client with every attribute group it extends (v1.41.1)
SPAN_ATTRIBUTES = frozenset(
    {
        "error.type", "gen_ai.conversation.id", "gen_ai.input.messages", "gen_ai.operation.name",
        "gen_ai.output.messages", "gen_ai.output.type", "gen_ai.provider.name", "gen_ai.request.choice.count",
        "gen_ai.request.frequency_penalty", "gen_ai.request.max_tokens", "gen_ai.request.model",
        "gen_ai.request.presence_penalty", "gen_ai.request.seed", "gen_ai.request.stop_sequences",
        "gen_ai.request.stream", "gen_ai.request.temperature", "gen_ai.request.top_k", "gen_ai.request.top_p",
        "gen_ai.response.finish_reasons", "gen_ai.response.id", "gen_ai.response.model",
        "gen_ai.response.time_to_first_chunk", "gen_ai.system_instructions", "gen_ai.tool.definitions",
        "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.reasoning.output_tokens",
        "server.address", "server.port",
    }
)  # fmt: skip
_METRIC = {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model"}
_METRIC |= {"server.address", "server.port"}
#: each client metric and the attributes the conventions give it
METRICS = {
    "gen_ai.client.token.usage": ("{token}", frozenset(_METRIC | {"gen_ai.token.type"})),
    "gen_ai.client.operation.duration": ("s", frozenset(_METRIC | {"error.type"})),
    "gen_ai.client.operation.time_to_first_chunk": ("s", frozenset(_METRIC)),
}
KINDS = pytest.mark.parametrize("kind", ["sync", "async"])
ENV = {
    "DEEPSEEK_API_KEY": "ds-secret-key-123",
    "ANTHROPIC_API_KEY": "sk-ant-test-secret-0123456789",
    "OPENAI_API_KEY": "sk-test-openai-key-0123456789",
}
ANTHROPIC_CHAT = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-5-5-20261001",
    "content": [{"type": "text", "text": "hello"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 990, "output_tokens": 2000},
}


@dataclass(frozen=True)
class Protocol:
    provider: str
    chat: httpx2.Response
    stream: httpx2.Response
    #: the answer's model, id and token counts, as the bodies above state them
    model: str
    id: str
    tokens: tuple[int, int]


def sse(body: bytes) -> httpx2.Response:
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


def protocols() -> dict[str, Protocol]:
    responses_stream = "".join(
        f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (*text_events("hello"), completed("hello"))
    )
    return {
        "openai-compatible": Protocol(
            "deepseek", httpx2.Response(200, json=OK_CHAT), sse(STREAM), "m", "c1", (1000, 2000)
        ),
        "anthropic-compatible": Protocol(
            "anthropic",
            httpx2.Response(200, json=ANTHROPIC_CHAT),
            sse(
                anthropic_stream(
                    [{"type": "text", "text": "hello"}],
                    {"stop_reason": "end_turn"},
                    {"input_tokens": 10, "cache_read_input_tokens": 990, "output_tokens": 2000},
                )
            ),
            "claude-sonnet-5-5-20261001",
            "msg_1",
            (1000, 2000),
        ),
        "openai-responses": Protocol(
            "openai",
            httpx2.Response(200, json=ANSWER),
            sse(responses_stream.encode()),
            "gpt-4o-2024-08-06",
            ANSWER["id"],
            (14, 8),
        ),
    }


PROTOCOLS = pytest.mark.parametrize("protocol", ["openai-compatible", "anthropic-compatible", "openai-responses"])


@dataclass
class Recorded:
    """What the SDK's in-memory exporters hold."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    @property
    def span(self) -> ReadableSpan:
        (span,) = self.spans
        return span

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Metric name -> [(attributes, data point)], and each metric's unit checked."""
        out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "hamr"
                for metric in scope.metrics:
                    assert metric.unit == METRICS[metric.name][0]
                    out[metric.name] = [(dict(p.attributes), p) for p in metric.data.data_points]
        return out


def _install(tracers: TracerProvider | None, meters: MeterProvider | None) -> None:
    """Set (or clear) the global providers as the SDK's own tests do: the API lets a program set them only once."""
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = tracers
    metrics_globals._METER_PROVIDER_SET_ONCE = Once()
    metrics_globals._METER_PROVIDER = meters


@pytest.fixture
def otel() -> Iterator[Recorded]:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    meters = MeterProvider(metric_readers=[reader])
    _install(tracers, meters)
    yield Recorded(exporter, reader)
    _install(None, None)
    meters.shutdown()


def client(kind: str, protocol: str, *answers: httpx2.Response, **kwargs: Any) -> Any:
    return make_client(kind, Recorder(*answers), provider=protocols()[protocol].provider, env=ENV, **kwargs)


def assert_named_by_the_conventions(span: ReadableSpan, recorded: Recorded) -> None:
    unknown = {k for k in span.attributes or {} if k not in SPAN_ATTRIBUTES and not k.startswith("hamr.")}
    assert not unknown, f"attributes the conventions do not name: {unknown}"
    for name, points in recorded.metrics().items():
        for attributes, _ in points:
            assert set(attributes) <= METRICS[name][1], (name, set(attributes) - METRICS[name][1])


@KINDS
@PROTOCOLS
async def test_a_chat_is_one_client_span_with_the_genai_attributes_and_metrics(
    kind: str, protocol: str, otel: Recorded
) -> None:
    p = protocols()[protocol]
    c = client(kind, protocol, p.chat)

    completion = await chat(c, "hi", system="Be brief", max_tokens=50, temperature=0.5, top_p=0.9)

    span = otel.span
    model = c.model
    assert span.name == f"chat {model}" and span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    a = dict(span.attributes or {})
    host = {"deepseek": "api.deepseek.com", "anthropic": "api.anthropic.com", "openai": "api.openai.com"}
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == p.provider
    assert (a["server.address"], a["server.port"]) == (host[p.provider], 443)
    assert a["gen_ai.request.model"] == model
    assert (a["gen_ai.request.max_tokens"], a["gen_ai.request.temperature"], a["gen_ai.request.top_p"]) == (
        50,
        0.5,
        0.9,
    )
    assert "gen_ai.request.stream" not in a
    assert (a["gen_ai.response.model"], a["gen_ai.response.id"]) == (p.model, p.id)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == p.tokens
    assert a["hamr.provider"] == p.provider and a["hamr.protocol"] == protocol
    assert a["hamr.spend.usd"] == pytest.approx(float(c.spend.usd)) and a["hamr.spend"] == str(c.spend)
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a  # content is opt-in
    assert completion.usage is not None
    metrics = otel.metrics()
    tokens = {attrs["gen_ai.token.type"]: point.sum for attrs, point in metrics["gen_ai.client.token.usage"]}
    assert (tokens["input"], tokens["output"]) == p.tokens
    ((attrs, point),) = metrics["gen_ai.client.operation.duration"]
    assert point.count == 1 and "error.type" not in attrs and attrs["gen_ai.response.model"] == p.model
    assert "gen_ai.client.operation.time_to_first_chunk" not in metrics  # streams only
    assert_named_by_the_conventions(span, otel)


def test_cached_input_tokens_are_their_own_attribute(otel: Recorded) -> None:
    c = client("sync", "anthropic-compatible", protocols()["anthropic-compatible"].chat)

    c.chat("hi")

    a = otel.span.attributes or {}
    assert a["gen_ai.usage.input_tokens"] == 1000  # the whole prompt, cached part included, as the conventions say
    assert a["gen_ai.usage.cache_read.input_tokens"] == 990


@KINDS
@PROTOCOLS
async def test_a_stream_span_ends_with_the_stream_and_measures_the_first_chunk(
    kind: str, protocol: str, otel: Recorded
) -> None:
    p = protocols()[protocol]
    c = client(kind, protocol, p.stream)

    _, completion = await stream(c, "hi")

    span = otel.span
    a = dict(span.attributes or {})
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert completion.usage is not None
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (
        completion.usage.input_tokens,
        completion.usage.output_tokens,
    )
    assert 0 < a["gen_ai.response.time_to_first_chunk"] < (span.end_time - span.start_time) / 1e9
    assert "hamr.closed_early" not in a
    metrics = otel.metrics()
    ((_, first),) = metrics["gen_ai.client.operation.time_to_first_chunk"]
    assert first.count == 1
    assert len(metrics["gen_ai.client.token.usage"]) == 2
    assert_named_by_the_conventions(span, otel)


@KINDS
async def test_a_stream_left_early_ends_its_span_without_an_error(kind: str, otel: Recorded) -> None:
    c = client(kind, "openai-compatible", protocols()["openai-compatible"].stream)

    if kind == "sync":
        with c.stream("hi") as s:
            for _ in s:
                break
    else:
        async with c.stream("hi") as s:
            async for _ in s:
                break

    span = otel.span
    assert span.end_time is not None
    assert span.attributes["hamr.closed_early"] is True
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    ((attrs, _),) = otel.metrics()["gen_ai.client.operation.duration"]
    assert "error.type" not in attrs


def test_a_stream_entered_and_dropped_unread_ends_its_span(otel: Recorded) -> None:
    c = client("sync", "openai-compatible", protocols()["openai-compatible"].stream)
    s = c.stream("hi").__enter__()
    assert otel.spans == []

    del s
    gc.collect()

    assert otel.span.attributes["hamr.closed_early"] is True


@KINDS
async def test_a_retry_is_an_event_on_the_one_span(kind: str, otel: Recorded) -> None:
    busy = httpx2.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "2"})
    c = client(kind, "openai-compatible", busy, httpx2.Response(200, json=OK_CHAT))

    await chat(c, "hi")

    span = otel.span
    (event,) = span.events
    assert event.name == "hamr.retry"
    assert dict(event.attributes) == {
        "hamr.retry.attempt": 1,
        "hamr.retry.delay": 2.0,
        "hamr.retry.error": "RateLimitError",
        "http.response.status_code": 429,
    }
    assert span.status.status_code == StatusCode.UNSET  # a retried error is no error of the call


@KINDS
async def test_a_stream_sent_again_after_an_error_event_shows_the_retry(kind: str, otel: Recorded) -> None:
    overloaded = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    p = protocols()["anthropic-compatible"]
    c = client(kind, "anthropic-compatible", sse(overloaded), p.stream)

    await stream(c, "hi")

    (event,) = otel.span.events
    assert event.attributes["hamr.retry.error"] == "StreamError"


@KINDS
async def test_a_failed_call_sets_the_error_type_and_status(kind: str, otel: Recorded) -> None:
    c = client(
        kind, "openai-compatible", httpx2.Response(401, json={"error": {"message": "bad key ds-secret-key-123"}})
    )

    with pytest.raises(hamr.AuthenticationError):
        await chat(c, "hi")

    span = otel.span
    assert span.attributes["error.type"] == "AuthenticationError"
    assert span.status.status_code == StatusCode.ERROR
    assert "ds-secret-key-123" not in (span.status.description or "")
    ((attrs, _),) = otel.metrics()["gen_ai.client.operation.duration"]
    assert attrs["error.type"] == "AuthenticationError"
    assert "gen_ai.client.token.usage" not in otel.metrics()


@KINDS
async def test_a_stream_that_breaks_ends_its_span_with_the_error(kind: str, otel: Recorded) -> None:
    first = STREAM[: STREAM.index(b"\n\n") + 2]
    broken = first + b'data: {"error": {"message": "boom", "type": "server_error"}}\n\n'  # after text: never resent
    c = client(kind, "openai-compatible", sse(broken))

    with pytest.raises(hamr.StreamError):
        await stream(c, "hi")

    assert otel.span.attributes["error.type"] == "StreamError"
    assert otel.span.status.status_code == StatusCode.ERROR


def test_a_stream_refused_before_it_starts_ends_its_span_with_the_error(otel: Recorded) -> None:
    c = client("sync", "openai-compatible", httpx2.Response(400, json={"error": {"message": "no"}}))

    with pytest.raises(hamr.BadRequestError), c.stream("hi"):
        pass

    assert otel.span.attributes["error.type"] == "BadRequestError"


def test_rate_limits_the_provider_stated_are_on_the_span(otel: Recorded) -> None:
    headers = {"x-ratelimit-remaining-requests": "990", "x-ratelimit-limit-requests": "1000"}
    c = client("sync", "openai-compatible", httpx2.Response(200, json=OK_CHAT, headers=headers))

    c.chat("hi")

    a = otel.span.attributes
    assert (a["hamr.rate_limit.requests.remaining"], a["hamr.rate_limit.requests.limit"]) == (990, 1000)


def test_message_content_is_recorded_only_on_the_conventions_opt_in(
    otel: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "name": "f", "arguments": {"x": 1}}]}
    result = {"role": "tool", "tool_call_id": "t1", "content": "42"}
    messages = [{"role": "user", "content": "my key is ds-secret-key-123"}, tool, result]
    for value in ("true", "EVENT_ONLY"):  # the old conventions' switch, and events, which hamr does not emit
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
        client("sync", "openai-compatible", httpx2.Response(200, json=OK_CHAT)).chat(messages)
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")  # without the opt-in
    client("sync", "openai-compatible", httpx2.Response(200, json=OK_CHAT)).chat(messages)
    assert all("gen_ai.input.messages" not in (s.attributes or {}) for s in otel.spans)

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    client("sync", "openai-compatible", httpx2.Response(200, json=OK_CHAT)).chat(messages, system="Be brief")

    a = otel.spans[-1].attributes
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "my key is [REDACTED]"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "t1", "name": "f", "arguments": {"x": 1}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "t1", "response": "42"}]},
    ]
    assert json.loads(a["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief"}]
    assert json.loads(a["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}
    ]
    assert all("ds-secret-key-123" not in str(v) for s in otel.spans for v in (s.attributes or {}).values())


def test_a_provider_named_otherwise_by_the_conventions_gets_their_name(otel: Recorded) -> None:
    answer = Recorder(httpx2.Response(200, json=OK_CHAT))
    make_client("sync", answer, provider="mistral", env={"MISTRAL_API_KEY": "k"}).chat("hi")

    assert otel.span.attributes["gen_ai.provider.name"] == "mistral_ai"
    assert otel.span.attributes["hamr.provider"] == "mistral"


@KINDS
async def test_with_no_provider_configured_hamr_makes_no_span_and_no_metric(kind: str, otel: Recorded) -> None:
    p = protocols()["openai-compatible"]
    c = client(kind, "openai-compatible", p.chat, p.stream, p.chat, p.stream)
    await chat(c, "hi")
    await stream(c, "hi")
    assert len(otel.spans) == 2
    counts = {name: [point.count for _, point in points] for name, points in otel.metrics().items()}

    _install(None, None)  # the SDK's providers still exist, but the program no longer has any configured
    await chat(c, "hi")
    await stream(c, "hi")

    assert len(otel.spans) == 2
    assert {name: [point.count for _, point in points] for name, points in otel.metrics().items()} == counts


def test_hamr_never_imports_opentelemetry_itself() -> None:
    """``import hamr`` and calls with OpenTelemetry installed but not imported by the program import nothing of it;
    with opentelemetry-api imported and no provider set, hamr asks it for nothing (no tracer, no meter)."""
    code = (
        "import sys, httpx2, hamr\n"
        f"CHAT, STREAM = {OK_CHAT!r}, {STREAM!r}\n"
        "def answer(request):\n"
        "    if b'stream' in request.content:\n"
        "        return httpx2.Response(200, content=STREAM, headers={'content-type': 'text/event-stream'})\n"
        "    return httpx2.Response(200, json=CHAT)\n"
        "def call():\n"
        "    http = httpx2.Client(transport=httpx2.MockTransport(answer))\n"
        "    c = hamr.Client(provider='deepseek', env={'DEEPSEEK_API_KEY': 'k'}, http_client=http)\n"
        "    c.chat('hi')\n"
        "    with c.stream('hi') as s:\n"
        "        list(s)\n"
        "call()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
        "import opentelemetry.trace, opentelemetry.metrics\n"
        "call()\n"
        "from hamr import _otel\n"
        "print(_otel._made)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "{}"]


def test_a_span_the_sampler_drops_still_leaves_the_metrics() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracers = TracerProvider(sampler=ALWAYS_OFF)
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    _install(tracers, MeterProvider(metric_readers=[reader]))
    try:
        p = protocols()["openai-compatible"]
        c = client("sync", "openai-compatible", p.chat, p.stream)
        c.chat("hi")
        with c.stream("hi") as s:
            list(s)
    finally:
        _install(None, None)

    assert exporter.get_finished_spans() == ()
    metrics = Recorded(exporter, reader).metrics()
    assert sum(point.count for _, point in metrics["gen_ai.client.operation.duration"]) == 2  # a chat, a stream
    assert [point.count for _, point in metrics["gen_ai.client.operation.time_to_first_chunk"]] == [1]
