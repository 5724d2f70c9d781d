"""OpenTelemetry spans and metrics for every ``chat`` and ``stream`` call, as the GenAI semantic conventions
(v1.41.0) name them. Off, and free, unless the program configured an OpenTelemetry tracer or meter provider:
opentelemetry-api (``pip install "hamr[otel]"``) is only ever read from ``sys.modules``, never imported here."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import ProviderError, redact
from ._presets import PRESETS

if TYPE_CHECKING:
    from decimal import Decimal

    from opentelemetry.metrics import Histogram
    from opentelemetry.trace import Span, Tracer

    from ._config import ProviderSettings
    from ._pricing import Spend
    from ._types import Completion, HTTPRequest, RateLimits

#: the conventions' schema (GenAI unchanged in v1.41.1, the last release that holds them)
SCHEMA_URL = "https://opentelemetry.io/schemas/1.41.0"
#: ``gen_ai.provider.name`` where the conventions' well-known value is not hamr's preset id
WELL_KNOWN = {"mistral": "mistral_ai"}
#: ...and by the hosted presets' hosts, for a provider of another name pointed at one of them
_BY_HOST = {
    urlsplit(p.base_url).hostname: WELL_KNOWN.get(p.id, p.id) for p in PRESETS.values() if p.base_url and not p.local
}
#: the conventions' ExplicitBucketBoundaries for the duration histograms (seconds) and the token histogram
SECONDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKENS = tuple(4**n for n in range(14))  # 1, 4, 16, ..., 67108864
#: message content goes on spans only with the conventions' opt-in (as opentelemetry-util-genai reads it)
OPT_IN, CAPTURE = "OTEL_SEMCONV_STABILITY_OPT_IN", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CAPTURE_ON_SPANS = frozenset({"SPAN_ONLY", "SPAN_AND_EVENT"})
#: request body fields -> the request attribute they are (the first field present wins); what hamr sent, defaults
#: and ``extra_body`` included
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "gen_ai.request.max_tokens": ("max_tokens", "max_completion_tokens", "max_output_tokens"),
    "gen_ai.request.temperature": ("temperature",),
    "gen_ai.request.top_p": ("top_p",),
    "gen_ai.request.top_k": ("top_k",),
    "gen_ai.request.frequency_penalty": ("frequency_penalty",),
    "gen_ai.request.presence_penalty": ("presence_penalty",),
    "gen_ai.request.seed": ("seed", "random_seed"),
}
#: hamr's finish reasons where the output messages' FinishReason enum spells them otherwise
FINISH = {"tool_calls": "tool_call"}
RATE_LIMITS = ("requests", "tokens", "input_tokens", "output_tokens")

#: what a call does when telemetry is off: nothing
NOTHING: AbstractContextManager[None] = nullcontext()


def telemetry() -> Telemetry | None:
    """The tracer and instruments of the configured providers, or None when neither a tracer provider nor a meter
    provider is configured (or OpenTelemetry was never imported: then this is two dict look-ups)."""
    trace, metrics = sys.modules.get("opentelemetry.trace"), sys.modules.get("opentelemetry.metrics")
    if trace is None and metrics is None:
        return None
    tracers = trace.get_tracer_provider() if trace is not None else None
    if type(tracers).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider"):  # the API's own stand-ins
        tracers = None
    meters = metrics.get_meter_provider() if metrics is not None else None
    if type(meters).__name__ in ("_ProxyMeterProvider", "NoOpMeterProvider"):
        meters = None
    if tracers is None and meters is None:
        return None
    found = _made.get((tracers, meters))
    if found is None:  # providers set anew (tests do): only the current pair is kept
        _made.clear()
        found = _made[tracers, meters] = Telemetry(tracers, meters)
    return found


class Telemetry:
    """One tracer and the three instruments, per configured provider pair."""

    def __init__(self, tracers: Any, meters: Any) -> None:
        from . import __version__

        self.tracer: Tracer | None = None
        if tracers is not None:
            self.tracer = tracers.get_tracer("hamr", __version__, schema_url=SCHEMA_URL)
        self.duration: Histogram | None = None
        self.tokens: Histogram | None = None
        self.first_chunk: Histogram | None = None
        if meters is not None:
            meter = meters.get_meter("hamr", __version__, schema_url=SCHEMA_URL)
            self.duration = meter.create_histogram(
                "gen_ai.client.operation.duration",
                "s",
                "GenAI operation duration.",
                explicit_bucket_boundaries_advisory=SECONDS,
            )
            self.tokens = meter.create_histogram(
                "gen_ai.client.token.usage",
                "{token}",
                "Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=TOKENS,
            )
            self.first_chunk = meter.create_histogram(
                "gen_ai.client.operation.time_to_first_chunk",
                "s",
                "Time to receive the first chunk, measured from when the client issues the generation request to when "
                "the first chunk is received in the response stream.",
                explicit_bucket_boundaries_advisory=SECONDS,
            )


_made: dict[tuple[Any, Any], Telemetry] = {}


def provider_name(settings: ProviderSettings) -> str:
    """``gen_ai.provider.name``: the conventions' well-known value of a preset, or of the preset whose host the
    provider points at (a ``[providers.work]`` on api.anthropic.com is ``anthropic``), else hamr's provider id."""
    if settings.id in PRESETS and PRESETS[settings.id].base_url:
        return WELL_KNOWN.get(settings.id, settings.id)
    return _BY_HOST.get(urlsplit(settings.base_url).hostname, settings.id)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def request_attributes(req: HTTPRequest, options: Mapping[str, Any]) -> dict[str, Any]:
    """The request options the conventions name, as hamr sent them."""
    body = req.json or {}
    out: dict[str, Any] = {}
    for name, fields in REQUEST_FIELDS.items():
        value = next((body[f] for f in fields if _number(body.get(f))), None)
        if value is not None:
            out[name] = int(value) if name.endswith(("max_tokens", "seed")) else float(value)
    stop = body.get("stop", body.get("stop_sequences"))
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        out["gen_ai.request.stop_sequences"] = stop
    if _number(body.get("n")) and body["n"] != 1:
        out["gen_ai.request.choice.count"] = int(body["n"])
    kind = (options.get("response_format") or {}).get("type")
    if kind in ("json_object", "json_schema", "text"):
        out["gen_ai.output.type"] = "text" if kind == "text" else "json"
    return out


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts = []
    for part in content or ():
        if isinstance(part, Mapping) and part.get("type") == "text":
            parts.append({"type": "text", "content": part.get("text", "")})
        elif isinstance(part, Mapping):
            parts.append(dict(part))  # a GenericPart: its own type and fields
    return parts


def input_messages(messages: Sequence[Mapping[str, Any]] | str) -> list[dict[str, Any]]:
    """``gen_ai.input.messages``: the caller's messages in the conventions' input-messages schema."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    out = []
    for msg in messages:
        if msg.get("role") == "tool":
            parts: list[dict[str, Any]] = [
                {"type": "tool_call_response", "id": msg.get("tool_call_id"), "response": msg.get("content")}
            ]
        else:
            parts = _parts(msg.get("content"))
        for call in msg.get("tool_calls") or ():
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": call.get("arguments"),
                }
            )
        out.append({"role": msg.get("role"), "parts": parts})
    return out


def output_messages(completion: Completion) -> list[dict[str, Any]]:
    """``gen_ai.output.messages``: the answer in the conventions' output-messages schema."""
    parts: list[dict[str, Any]] = []
    if completion.reasoning:
        parts.append({"type": "reasoning", "content": completion.reasoning})
    if completion.text:
        parts.append({"type": "text", "content": completion.text})
    for call in completion.tool_calls:
        arguments = call.raw_arguments if call.arguments_error else call.arguments
        parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": arguments})
    reason = completion.finish_reason or ""
    return [{"role": "assistant", "parts": parts, "finish_reason": FINISH.get(reason, reason)}]


def capture_content() -> bool:
    """Whether message content goes on spans: the GenAI opt-in and SPAN_ONLY or SPAN_AND_EVENT (as
    opentelemetry-util-genai reads them); any other value, ``true`` included, records none."""
    opted = "gen_ai_latest_experimental" in (v.strip() for v in os.environ.get(OPT_IN, "").split(","))
    return opted and os.environ.get(CAPTURE, "").strip().upper() in CAPTURE_ON_SPANS


class Operation:
    """One call's span and measurements: started when the request is built, ended exactly once, as finished
    (``finish``), failed (``end`` with the error) or left before its end (``end`` without one)."""

    def __init__(
        self,
        telemetry: Telemetry,
        settings: ProviderSettings,
        model: str,
        req: HTTPRequest,
        messages: Sequence[Mapping[str, Any]] | str,
        options: Mapping[str, Any],
        secrets: Sequence[str],
        stream: bool,
    ) -> None:
        self._tel = telemetry
        self._secrets = secrets
        self._stream = stream
        self._ended = False
        self._first: float | None = None
        self._token: Any = None
        url = urlsplit(settings.base_url)
        #: the attributes every metric of this call carries (the conventions' metric attributes)
        self.common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_name(settings),
            "gen_ai.request.model": model,
            "server.address": url.hostname or "",
            "server.port": url.port or (443 if url.scheme == "https" else 80),
        }
        self.span: Span | None = None
        #: whether the span records (its sampler kept it): only then is anything more worked out for it
        self._recording = self._capture = False
        if telemetry.tracer is not None:
            from opentelemetry.trace import SpanKind

            # the sampling-relevant attributes at the start, as the conventions ask; the rest only for a kept span
            span = self.span = telemetry.tracer.start_span(
                f"chat {model}", kind=SpanKind.CLIENT, attributes=self.common
            )
            self._recording = span.is_recording()
            if self._recording:
                attributes = {**request_attributes(req, options), "hamr.provider": settings.id}
                attributes["hamr.protocol"] = settings.compatibility
                if stream:
                    attributes["gen_ai.request.stream"] = True
                self._capture = capture_content()
                if self._capture:
                    attributes["gen_ai.input.messages"] = self._json(input_messages(messages))
                    system = options.get("system")
                    if system:
                        attributes["gen_ai.system_instructions"] = self._json(_parts(system))
                span.set_attributes(attributes)
        self._start = time.perf_counter()

    def _json(self, value: Any) -> str:
        """Content as the JSON string the conventions allow on spans, with every secret hamr knows removed."""
        return redact(json.dumps(value, ensure_ascii=False, default=str), self._secrets)

    def __enter__(self) -> Operation:
        if self.span is not None:
            from opentelemetry import context, trace

            self._token = context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self.span is not None:
            from opentelemetry import context

            context.detach(self._token)
        self.end(e if isinstance(e, Exception) else None)

    def current(self) -> AbstractContextManager[Any]:
        """This call's span as the current one (an instrumented HTTP client's spans become its children)."""
        if self.span is None:
            return NOTHING
        from opentelemetry.trace import use_span

        return use_span(self.span, record_exception=False, set_status_on_exception=False)

    def retry(self, attempt: int, error: ProviderError, delay: float) -> None:
        """An attempt failed and hamr sends again after ``delay`` seconds: an event on the span, since the span
        covers the whole call (the conventions: one span with all retries) and the attempt is no operation of its
        own."""
        if self.span is not None:
            event: dict[str, Any] = {"hamr.retry.attempt": attempt, "hamr.retry.delay": delay}
            event["hamr.retry.error"] = type(error).__qualname__
            if error.status is not None:
                event["http.response.status_code"] = error.status
            self.span.add_event("hamr.retry", event)

    def chunk(self) -> None:
        """A stream's first event arrived (called for the first one only)."""
        if self._first is None:
            self._first = time.perf_counter() - self._start

    def finish(self, completion: Completion, cost: Decimal | None, spend: Spend) -> None:
        """The answer is complete: its attributes and token counts, then the end."""
        if self._ended:
            return
        response: dict[str, Any] = {}
        if completion.model:
            response["gen_ai.response.model"] = completion.model
        usage = completion.usage
        if self.span is not None and self._recording:
            attributes = dict(response)
            if completion.id:
                attributes["gen_ai.response.id"] = completion.id
            if completion.finish_reason:
                attributes["gen_ai.response.finish_reasons"] = [completion.finish_reason]
            if usage is not None:
                attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
                attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
                for name, count in (
                    ("gen_ai.usage.cache_read.input_tokens", usage.cache_read_tokens),
                    ("gen_ai.usage.cache_creation.input_tokens", usage.cache_write_tokens),
                    ("gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens),
                ):
                    if count:
                        attributes[name] = count
            if cost is not None:
                attributes["hamr.spend.usd"] = float(cost)
            attributes["hamr.spend"] = str(spend)
            attributes.update(limit_attributes(completion.rate_limits))
            if self._capture:
                attributes["gen_ai.output.messages"] = self._json(output_messages(completion))
            self.span.set_attributes(attributes)
        if usage is not None and self._tel.tokens is not None:
            counted = {**self.common, **response}
            self._tel.tokens.record(usage.input_tokens, {**counted, "gen_ai.token.type": "input"})
            self._tel.tokens.record(usage.output_tokens, {**counted, "gen_ai.token.type": "output"})
        self._end(response, None)

    def end(self, error: Exception | None = None) -> None:
        """The call ended without ``finish``: failed with ``error``, or left before its end (``hamr.closed_early``: a
        stream left by ``break``, ``close()``, its ``with`` block or the garbage collector, a task cancelled)."""
        if self._ended:
            return
        if self.span is not None and self._recording:
            if error is None:
                self.span.set_attribute("hamr.closed_early", True)
            elif isinstance(error, ProviderError):
                self.span.set_attributes(limit_attributes(error.rate_limits))
        self._end({}, error)

    def _end(self, response: dict[str, Any], error: Exception | None) -> None:
        self._ended = True
        elapsed = time.perf_counter() - self._start
        measured = {**self.common, **response}
        if error is not None:
            measured["error.type"] = type(error).__qualname__
        if self.span is not None:
            if error is not None:
                from opentelemetry.trace import StatusCode

                self.span.set_attribute("error.type", measured["error.type"])
                self.span.set_status(StatusCode.ERROR, redact(str(error), self._secrets))
            if self._first is not None:
                self.span.set_attribute("gen_ai.response.time_to_first_chunk", self._first)
            self.span.end()
        if self._tel.duration is not None:
            self._tel.duration.record(elapsed, measured)
        if self._first is not None and self._tel.first_chunk is not None:
            self._tel.first_chunk.record(self._first, {**self.common, **response})


def limit_attributes(limits: RateLimits | None) -> dict[str, Any]:
    """``hamr.rate_limit.<kind>.{limit,remaining}``: what the provider said of its limits on this response."""
    out: dict[str, Any] = {}
    for kind in RATE_LIMITS if limits is not None else ():
        limit = getattr(limits, kind)
        for part in ("limit", "remaining"):
            value = getattr(limit, part) if limit is not None else None
            if value is not None:
                out[f"hamr.rate_limit.{kind}.{part}"] = value
    return out
