"""Client and AsyncClient: thin IO shells over one shared core that makes every decision (requests, retries,
error mapping, parsing, spend). The two classes differ only where bytes move."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import _anthropic, _openai, _responses
from ._config import Config, ProviderSettings, load_config
from ._errors import (
    ConfigError,
    ConnectionError,
    ContextWindowExceededError,
    HamrError,
    InsufficientCreditsError,
    InvalidResponseError,
    ProviderError,
    RequestTooLargeError,
    StreamError,
    StreamTimeoutError,
    TimeoutError,
    error_from_response,
    redact,
)
from ._presets import ANTHROPIC, OPENAI, PRESETS, RESPONSES
from ._pricing import Spend, is_local, price_for, prices_of_others
from ._stream import StreamDecoder
from ._types import Completion, HTTPRequest, ModelInfo, StreamEvent

if TYPE_CHECKING:
    import httpx
    import httpx2

    from . import _limits, _otel
else:
    from ._lazy import LazyModule

    httpx2 = LazyModule("httpx2")  # imported when the first client is made, not by `import hamr`
    # on the first call, not by `import hamr` either (neither imports OpenTelemetry at all)
    _limits, _otel = LazyModule("hamr._limits"), LazyModule("hamr._otel")

#: the HTTP libraries whose clients ``http_client=`` takes: httpx2 (what hamr runs on) and httpx (its predecessor,
#: which hamr never imports itself: a client of it means the caller imported it already)
LIBRARIES = ("httpx2", "httpx")

#: the 4xx that are sent again: timeout, conflict, rate limit, and Groq's 498 ``capacity_exceeded`` (its flex tier
#: is full: "Add jittered backoff and retries to smooth spikes", console.groq.com/docs/flex-processing)
RETRY_4XX = frozenset({408, 409, 429, 498})
#: the 5xx that are final: the server cannot do this request at all (RFC 9110: 501 Not Implemented, 505 HTTP Version
#: Not Supported), so the same request gets the same answer. Every other 5xx is sent again, as the official OpenAI
#: and Anthropic SDKs do: a CDN or gateway in front of a provider answers 520-524 and others for passing faults.
FINAL_5XX = frozenset({501, 505})
# final whatever x-should-retry says: the same request gets the same answer
NEVER_RETRIED = (ContextWindowExceededError, RequestTooLargeError, InsufficientCreditsError)
#: the HTTP status an error event stands for, by its error type (or, where it has none, its code), when it carries no
#: numeric code
EVENT_STATUSES = {
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,  # the Responses API's error code (response.failed, error events)
    "api_error": 500,
    "server_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
    # Anthropic's errors page: "409 - `conflict_error`: ... Resolve the conflict, then retry the request"
    "conflict_error": 409,
}
#: events that show the caller part of the answer: after one of them, a stream is never sent again
ANSWER_EVENTS = frozenset({"text", "reasoning", "tool_call"})
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0  # seconds: 0.5, 1, 2, 4, 8, 8, ... each with up to 50% jitter below
#: the connection pool of a client hamr makes itself (the official SDKs' limits; httpx2's own default of 100
#: connections would queue the 101st concurrent stream until another ends): ``max_connections`` open at once,
#: ``max_keepalive_connections`` kept idle for reuse, each for ``keepalive_expiry`` seconds. Your own pool:
#: ``Client(http_client=httpx2.Client(limits=httpx2.Limits(...)))``.
POOL_LIMITS = {"max_connections": 1000, "max_keepalive_connections": 100, "keepalive_expiry": 5.0}


def _pool_limits() -> httpx2.Limits:
    return httpx2.Limits(
        max_connections=int(POOL_LIMITS["max_connections"]),
        max_keepalive_connections=int(POOL_LIMITS["max_keepalive_connections"]),
        keepalive_expiry=POOL_LIMITS["keepalive_expiry"],
    )


#: the protocol module of each ``compatibility``
PROTOCOLS: dict[str, ModuleType] = {OPENAI: _openai, ANTHROPIC: _anthropic, RESPONSES: _responses}

E = TypeVar("E", bound=HamrError)

Messages = Sequence[Mapping[str, Any]] | str
Tools = Sequence[Mapping[str, Any]] | None
#: "auto" | "none" | "required" | {"name": "<tool>"}
ToolChoice = str | Mapping[str, str] | None


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
    """A chat/stream method's request options, from its ``locals()``: every keyword as the caller gave it."""
    return {k: v for k, v in arguments.items() if k not in ("self", "messages", "keep_text")}


class _Core:
    """Everything but IO. One instance per client."""

    def __init__(
        self,
        config: Config | None,
        provider: str | None,
        model: str | None,
        env: Mapping[str, str] | None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.config = config if config is not None else load_config(env=self.env)
        self.settings: ProviderSettings = self.config.provider(provider)
        if not self.settings.enabled:
            raise ConfigError(
                f"provider {self.settings.id!r} is disabled (enabled = false)",
                path=self.settings.source,
                key=f"providers.{self.settings.id}.enabled",
            )
        if model is None:
            if provider is None or provider == self.config.active.provider:
                model = self.config.active.model
            else:
                model = self.settings.default_model or (self.settings.models[0].id if self.settings.models else None)
        self.model: str | None = model
        self.protocol: ModuleType = PROTOCOLS[self.settings.compatibility]
        self.spend = Spend(local=is_local(self.settings, model))
        # (connect, read, write, pool) seconds: a plain tuple, the one form both httpx2's and httpx's request
        # builders read as a timeout (each takes only its own Timeout class, and files another's whole object into
        # every slot)
        s = self.settings
        self.timeout = (s.connect_timeout, s.read_timeout, s.read_timeout, s.connect_timeout)
        self.stream_timeout = (s.connect_timeout, s.stream_idle_timeout, s.stream_idle_timeout, s.connect_timeout)
        #: the HTTP library of this client's http_client (httpx2 or httpx): its exceptions are the ones mapped
        self.lib: ModuleType = httpx2
        #: set once a custom/relay server rejected stream_options; later streams leave it out from the start
        self.stream_options_rejected = False

    @property
    def provider(self) -> str:
        return self.settings.id

    def chat_request(self, messages: Messages, stream: bool, **options: Any) -> HTTPRequest:
        """The protocol's request from the caller's options (``extra_body`` fields, provider-specific, e.g.
        Anthropic ``thinking``, are merged into the JSON body last, so they may also override what hamr built)."""
        if self.model is None:
            raise ConfigError(f"no model chosen for provider {self.provider!r}: pass model=..., or set [active] model")
        if stream and self.stream_options_rejected:
            options["stream_usage"] = False
        req: HTTPRequest = self.protocol.build_chat(
            self.settings, self.model, messages, stream=stream, env=self.env, **options
        )
        return req

    def without_stream_options(self, req: HTTPRequest, error: ProviderError) -> HTTPRequest | None:
        """``req`` without ``stream_options`` when a custom or relay server rejected it (400/422 naming the field,
        e.g. pydantic's ``extra_forbidden``), remembering that for this client; None when that is not what happened.
        Built-in hosted presets are left alone: there the preset's ``stream_usage`` flag is the fix."""
        body = req.json or {}
        tolerant = self.provider in ("relay", "custom") or self.provider not in PRESETS
        named = "stream_options" in f"{error.message} {error.body}"
        if not (tolerant and named and error.status in (400, 422) and "stream_options" in body):
            return None
        self.stream_options_rejected = True
        return replace(req, json={k: v for k, v in body.items() if k != "stream_options"})

    def models_request(self) -> HTTPRequest:
        return self.protocol.build_models(self.settings, self.env)  # type: ignore[no-any-return]

    def secrets(self) -> list[str]:
        return self.settings.secret_values(self.env)

    def scrub(self, exc: E) -> E:
        """Remove every secret from an error before it leaves hamr."""
        if isinstance(exc, ProviderError):
            secrets = self.secrets()
            exc.message = redact(exc.message, secrets)
            exc.body = redact(exc.body, secrets)
            for name in ("code", "error_type", "request_id"):
                value = getattr(exc, name)
                if value is not None:
                    setattr(exc, name, redact(value, secrets))
            exc.args = tuple(redact(str(a), secrets) for a in exc.args)
        return exc

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return self.scrub(error_from_response(self.provider, status, headers, body, self.secrets()))

    @staticmethod
    def succeeded(status: int) -> bool:
        return status < 400

    @staticmethod
    def answered_json(headers: Mapping[str, str]) -> bool:
        """Whether a stream request was answered with one JSON document instead of an event stream."""
        return "json" in headers.get("content-type", "").lower()

    def json_instead_of_stream(self, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """The provider's own error when the JSON is one, else an InvalidResponseError saying what came back."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and (data.get("error") or data.get("type") == "error"):
            return self.error(200, headers, body)
        return self.scrub(
            InvalidResponseError(
                f"asked for a stream (text/event-stream) but got {headers.get('content-type')}",
                provider=self.provider,
                status=200,
                body=body[:500].decode("utf-8", "replace"),
            )
        )

    def body(self, response: httpx2.Response, *, cut: bool) -> _Body:
        """A reader of ``response``'s body that holds at most ``max_response_bytes``: past that, ``cut`` keeps the
        first part (an error page needs no more), else InvalidResponseError says so and nothing more is read. A
        declared Content-Length over the limit is refused before reading."""
        limit = self.settings.max_response_bytes

        def too_large() -> InvalidResponseError:
            message = f"response body larger than max_response_bytes ({limit:,} bytes): not read further"
            return self.scrub(InvalidResponseError(message, provider=self.provider, status=response.status_code))

        declared = response.headers.get("content-length", "")
        if not cut and declared.isdigit() and int(declared) > limit:
            raise too_large()
        return _Body(limit, None if cut else too_large)

    def parse_chat(
        self, body: bytes, headers: Mapping[str, str], req: HTTPRequest, op: _otel.Operation | None = None
    ) -> Completion:
        try:
            completion: Completion = self.protocol.parse_chat(self.provider, body, json_tool=req.json_tool)
        except HamrError as exc:
            raise self.scrub(exc) from None
        limits = _limits.rate_limits(headers)
        if limits is not None:
            completion = replace(completion, rate_limits=limits)
        self.record(completion, op)
        return completion

    def record(self, completion: Completion, op: _otel.Operation | None = None) -> None:
        """Count the answer in ``spend``; with telemetry on, finish its operation."""
        cost = self.spend.add(
            completion.usage, price_for(self.settings, self.model), prices_of_others(self.settings, self.model)
        )
        if op is not None:
            op.finish(completion, cost, self.spend)

    def operation(
        self,
        telemetry: _otel.Telemetry | None,
        req: HTTPRequest,
        messages: Messages,
        options: Mapping[str, Any],
        *,
        stream: bool,
    ) -> _otel.Operation | None:
        """The span and measurements of one chat or stream call; None when telemetry is off."""
        if telemetry is None:
            return None
        assert self.model is not None  # chat_request refused the request otherwise
        return _otel.Operation(telemetry, self.settings, self.model, req, messages, options, self.secrets(), stream)

    def decoder(self, keep_text: bool = True, req: HTTPRequest | None = None) -> StreamDecoder:
        json_tool = req.json_tool if req is not None else None
        parser = self.protocol.StreamParser(self.provider, keep_text=keep_text, json_tool=json_tool)
        return StreamDecoder(parser, self.settings.max_event_bytes)

    def merge_models(self, body: bytes) -> list[ModelInfo]:
        """The server's list, with configured metadata laid over it; configured-only models appended."""
        server: list[ModelInfo] = self.protocol.parse_models(self.provider, body)
        specs = {m.id: m for m in self.settings.models}
        out = []
        for info in server:
            spec = specs.pop(info.id, None)
            if spec is None:
                out.append(info)
                continue
            out.append(
                ModelInfo(
                    id=info.id,
                    display_name=spec.display_name or info.display_name,
                    context_window=spec.context_window or info.context_window,
                    supports_thinking=spec.supports_thinking or info.supports_thinking,
                    input_price_per_1m_tokens=_first(spec.input_price_per_1m_tokens, info.input_price_per_1m_tokens),
                    output_price_per_1m_tokens=_first(spec.output_price_per_1m_tokens, info.output_price_per_1m_tokens),
                    cache_read_price_per_1m_tokens=_first(
                        spec.cache_read_price_per_1m_tokens, info.cache_read_price_per_1m_tokens
                    ),
                    max_output_tokens=spec.max_output_tokens or info.max_output_tokens,
                    source="server+config",
                )
            )
        for spec in specs.values():
            out.append(
                ModelInfo(
                    spec.id,
                    spec.display_name,
                    spec.context_window,
                    spec.supports_thinking,
                    spec.input_price_per_1m_tokens,
                    spec.output_price_per_1m_tokens,
                    spec.cache_read_price_per_1m_tokens,
                    spec.max_output_tokens,
                    source="config",
                )
            )
        return out

    def pick_model(self, models: list[ModelInfo]) -> str:
        if not models:
            raise ConfigError(
                f"no model chosen for provider {self.provider!r} and its server lists none: pass model=... "
                f"or set [active] model"
            )
        self.model = models[0].id
        self.spend.local = is_local(self.settings, self.model)
        return self.model

    def retry_delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before sending again after ``error`` ended attempt ``attempt`` (1-based), or None when
        ``error`` is final. Only failures before a response began get here (a transport error or an error status):
        once a 2xx response has started, nothing is ever sent again."""
        if error.status is None:
            retryable = isinstance(error, ConnectionError | TimeoutError)
        elif isinstance(error, NEVER_RETRIED):
            # the same bytes get the same answer: a prompt too long for the context window stays too long (llama.cpp
            # once sent it as HTTP 500), an oversized body stays oversized, an empty balance stays empty
            retryable = False
        elif error.should_retry is not None:
            retryable = error.should_retry  # the provider's x-should-retry header overrides the status
        else:
            retryable = error.status in RETRY_4XX or (500 <= error.status < 600 and error.status not in FINAL_5XX)
        if not retryable or attempt > self.settings.max_retries:
            return None
        cap = self.settings.max_retry_wait
        if error.retry_after is not None:
            return min(error.retry_after, cap)
        backoff: float = min(BACKOFF_FIRST * 2 ** (attempt - 1), BACKOFF_MAX)
        import random  # here, not at the top: only retries need it, and it costs `import hamr` a sixth

        return min(backoff * (0.5 + random.random() / 2), cap)

    def transport_error(self, exc: Exception, *, stream: bool = False) -> ProviderError:
        """The typed error for a request that failed to connect, send or receive (``exc``: a TransportError of
        ``self.lib``); a timeout names its setting (for a stream request, waiting for the response is bounded by
        stream_idle_timeout, not read_timeout)."""
        s, lib = self.settings, self.lib
        if isinstance(exc, lib.ConnectTimeout | lib.PoolTimeout):
            name, seconds, doing = "connect_timeout", s.connect_timeout, "connecting to"
        elif isinstance(exc, lib.TimeoutException):
            if stream:
                name, seconds = "stream_idle_timeout", s.stream_idle_timeout
            else:
                name, seconds = "read_timeout", s.read_timeout
            doing = "waiting for"
        else:
            failure = f"cannot reach {s.base_url}: {type(exc).__name__}: {exc}"
            return self.scrub(ConnectionError(failure, provider=self.provider))
        return self.scrub(
            TimeoutError(f"{name} ({seconds:g}s) expired {doing} {s.base_url}", provider=self.provider, timeout=name)
        )

    def stream_broken(self, decoder: StreamDecoder, exc: Exception) -> StreamError:
        """A stream that went silent or lost its connection after it started; ``partial`` keeps what arrived."""
        if isinstance(exc, self.lib.TimeoutException):
            seconds = self.settings.stream_idle_timeout
            return self.scrub(
                StreamTimeoutError(
                    f"stream_idle_timeout ({seconds:g}s) expired: no data from {self.settings.base_url}; "
                    f"the stream was abandoned",
                    partial=decoder.partial,
                    provider=self.provider,
                    timeout="stream_idle_timeout",
                )
            )
        return self.scrub(decoder.broken(f"connection dropped mid-stream: {type(exc).__name__}: {exc}"))

    def stream_closed(self, decoder: StreamDecoder) -> StreamError:
        return self.scrub(decoder.broken("the client was closed while this stream was open"))

    def retry_event_delay(self, attempt: int, error: StreamError) -> float | None:
        """``retry_delay`` for a stream whose error event came before any text, reasoning or tool call was handed
        out (nothing can repeat), as for the HTTP status the event stands for: its numeric ``code`` (OpenRouter),
        its type (Anthropic ``overloaded_error`` is 529), else its code (a failed Response's ``server_error``).
        None when that status is final or there is none."""
        code = error.code or ""
        status = (
            int(code)
            if code.isdigit() and 400 <= int(code) < 600
            else EVENT_STATUSES.get(error.error_type or "") or EVENT_STATUSES.get(code)
        )
        if status is None:
            return None
        return self.retry_delay(attempt, ProviderError(error.message, provider=self.provider, status=status))


class _Body:
    """Body chunks gathered up to a limit; ``add`` says whether to read on (or raises the over-limit error)."""

    __slots__ = ("chunks", "error", "room")

    def __init__(self, limit: int, error: Callable[[], InvalidResponseError] | None) -> None:
        self.chunks: list[bytes] = []
        self.room = limit
        self.error = error

    def add(self, chunk: bytes) -> bool:
        self.room -= len(chunk)
        if self.room >= 0:
            self.chunks.append(chunk)
            return True
        if self.error is not None:
            raise self.error()
        self.chunks.append(chunk[: len(chunk) + self.room])
        return False

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


_closing: set[Any] = set()  # tasks closing dropped async streams: the loop keeps only weak references to tasks


def _close_later(response: httpx2.Response) -> None:
    import asyncio

    try:
        task = asyncio.get_running_loop().create_task(response.aclose())
    except RuntimeError:
        return  # no loop runs any more: nothing can close it now
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _read_raw(response: httpx2.Response) -> bool:
    """Whether to read the body raw: it comes without a Content-Encoding, as event streams do, and is not loaded
    already (a mock's body is). Raw reads skip httpx2's decoder layer, a generator and two calls per read on the
    hot path; compressed bodies go through httpx2's decoders."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return encoding in ("", "identity") and not response.is_stream_consumed


def _reads(response: httpx2.Response) -> contextlib.aclosing[AsyncGenerator[bytes, None]]:
    """The stream's async body reader (raw where ``_read_raw`` says), closed on leaving the ``async with`` and never
    left to the garbage collector: asyncio would close it later on the event loop, and a collection in another
    thread (a sync client's) that finds httpx2's nested body generators in a reference cycle closes the inner ones
    there, in CPython, while the loop is closing them ("ValueError: async generator already executing")."""
    return contextlib.aclosing(response.aiter_raw() if _read_raw(response) else response.aiter_bytes())


def _to_httpx(
    http: httpx2.Client | httpx2.AsyncClient, req: HTTPRequest, timeout: tuple[float, float, float, float]
) -> httpx2.Request:
    return http.build_request(req.method, req.url, headers=req.headers, json=req.json, timeout=timeout)


def _library(http_client: object, kind: str, provider: str) -> ModuleType:
    """The library, httpx2 or httpx, whose ``kind`` ("Client" or "AsyncClient") ``http_client`` is or subclasses
    (the SDKs' own client classes subclass it): hamr maps that library's transport errors. A TypeError naming the
    argument for anything else."""
    for cls in type(http_client).__mro__:
        library = cls.__module__.partition(".")[0]
        if library in LIBRARIES and cls.__name__ == kind:
            return sys.modules[library]
    given = type(http_client)
    raise TypeError(
        f"http_client for provider {provider!r} must be an httpx2.{kind} or an httpx.{kind}, "
        f"not {given.__module__}.{given.__qualname__}"
    )


# ------------------------------------------------------------------------------------------------------------------
# sync
# ------------------------------------------------------------------------------------------------------------------


class _ClientBase:
    """What both clients show of themselves; everything they decide lives in ``_Core``."""

    _core: _Core
    #: the streams with a response open, so that closing the client can end them
    _streams: weakref.WeakSet[_StreamBase]
    _streams_lock: threading.Lock

    def _track(self, stream: _StreamBase, is_open: bool) -> None:
        with self._streams_lock:
            if is_open:
                self._streams.add(stream)
            else:
                self._streams.discard(stream)

    def _end_streams(self) -> None:
        """Hang up every open stream: a read waiting in another thread or task returns at once, and the stream
        ends with a StreamError."""
        with self._streams_lock:
            streams = list(self._streams)
        for stream in streams:
            stream._hang_up()

    @property
    def provider(self) -> str:
        return self._core.provider

    @property
    def model(self) -> str | None:
        return self._core.model

    @property
    def spend(self) -> Spend:
        """What this client has spent so far; ``str(client.spend)`` is e.g. ``Spend: $0.004``."""
        return self._core.spend

    def __repr__(self) -> str:
        return f"<hamr.{type(self).__name__} provider={self.provider!r} model={self.model!r}>"


class Client(_ClientBase):
    """Talk to one provider. ``Client()`` uses the active provider and model of the config file.

    >>> with hamr.Client(provider="relay") as client:          # doctest: +SKIP
    ...     print(client.chat([{"role": "user", "content": "hi"}]).text)
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        provider: str | None = None,
        model: str | None = None,
        http_client: httpx2.Client | httpx.Client | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._core = _Core(config, provider, model, env)
        self._own_http = http_client is None
        if http_client is None:
            self._http = httpx2.Client(limits=_pool_limits())
        else:
            self._core.lib = _library(http_client, "Client", self._core.provider)
            self._http = cast("httpx2.Client", http_client)  # an httpx.Client has the same methods
        self._sleep: Callable[[float], None] = time.sleep
        self._streams, self._streams_lock = weakref.WeakSet(), threading.Lock()

    def _send(
        self,
        req: HTTPRequest,
        *,
        stream: bool = False,
        tries: list[int] | None = None,
        op: _otel.Operation | None = None,
    ) -> httpx2.Response:
        """Send with retries (``_Core.retry_delay`` decides, ``op`` hears of each); return an open 2xx response, or
        raise the mapped error. Once a 2xx response has started, nothing is sent again (but for a stream's error
        event that came before any answer: the stream sends again, and ``tries`` counts its attempts on across
        calls)."""
        core = self._core
        timeout = core.stream_timeout if stream else core.timeout
        tries = [0] if tries is None else tries
        while True:
            tries[0] += 1
            attempt = tries[0]
            try:
                response = self._http.send(_to_httpx(self._http, req, timeout), stream=True)
                if core.succeeded(response.status_code):
                    break
                body = self._read(response, cut=True)
                error = core.error(response.status_code, response.headers, body)
            except core.lib.TransportError as exc:
                error = core.transport_error(exc, stream=stream)
            delay = core.retry_delay(attempt, error)
            if delay is None:
                raise error
            if op is not None:
                op.retry(attempt, error, delay)
            self._sleep(delay)
        if stream and core.answered_json(response.headers):
            try:
                raise core.json_instead_of_stream(response.headers, self._read(response, cut=True))
            except core.lib.TransportError as exc:
                raise core.transport_error(exc, stream=stream) from None
        return response

    def _fetch(self, req: HTTPRequest, op: _otel.Operation | None = None) -> tuple[bytes, httpx2.Headers]:
        """A plain request's body, whole, after ``_send``'s retries, and the response's headers."""
        response = self._send(req, op=op)
        try:
            return self._read(response), response.headers
        except self._core.lib.TransportError as exc:
            raise self._core.transport_error(exc) from None

    def _read(self, response: httpx2.Response, *, cut: bool = False) -> bytes:
        try:
            body = self._core.body(response, cut=cut)
            for chunk in response.iter_bytes():
                if not body.add(chunk):
                    break
            return body.bytes()
        finally:
            response.close()

    def _ensure_model(self) -> None:
        if self._core.model is None:
            self._core.pick_model(self.models())

    def chat(
        self,
        messages: Messages,
        *,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Tools = None,
        tool_choice: ToolChoice = None,
        parallel_tool_calls: bool | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        cache: bool = False,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Completion:
        """One request, the whole answer. The options are converted to each protocol's form (README, "Request
        options"); an option the protocol cannot express raises ValueError before anything is sent.

        ``extra_body`` adds provider-specific request fields, e.g. ``{"thinking": {"type": "enabled",
        "budget_tokens": 2048}}`` for Anthropic extended thinking or ``{"reasoning": {"effort": "high"}}`` for
        OpenRouter; hamr parses whatever reasoning comes back either way."""
        options = _options(locals())
        self._ensure_model()
        req = self._core.chat_request(messages, False, **options)
        op = self._core.operation(_otel.telemetry(), req, messages, options, stream=False)
        with op or _otel.NOTHING:
            return self._core.parse_chat(*self._fetch(req, op), req, op)

    def stream(
        self,
        messages: Messages,
        *,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Tools = None,
        tool_choice: ToolChoice = None,
        parallel_tool_calls: bool | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        cache: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        keep_text: bool = True,
    ) -> Stream:
        """A context manager that yields StreamEvents; ``stream.completion`` holds the result afterwards. The
        request is sent on entering it; the options are those of ``chat``.

        ``keep_text=False`` hands out every text/reasoning delta as an event but keeps none of it, so memory stays
        flat on very long streams: ``stream.completion`` then has empty ``text``, ``reasoning`` and
        ``reasoning_blocks`` but still its tool calls, usage, finish_reason, id and model."""
        return Stream(self, messages, _options(locals()), keep_text=keep_text)

    def models(self) -> list[ModelInfo]:
        return self._core.merge_models(self._fetch(self._core.models_request())[0])

    def close(self) -> None:
        """Close the connections; a stream still open ends with a StreamError."""
        self._end_streams()
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StreamBase:
    _response: httpx2.Response | None = None
    _op: _otel.Operation | None = None

    def __init__(self, core: _Core, messages: Messages, options: dict[str, Any], keep_text: bool) -> None:
        self._core = core
        self._messages = messages
        self._options = options
        self._req: HTTPRequest | None = None
        self._keep_text = keep_text
        self._decoder = core.decoder(keep_text)
        self._completion: Completion | None = None
        self._tries = [0]  # attempts sent for this stream, shared by every send (see _send)
        self._hung_up = False
        #: telemetry, decided when the stream is made (None: off, and iterating costs nothing more), and this
        #: call's operation, from the request on until it ends (``_end_op``)
        self._telemetry = _otel.telemetry()

    def _hang_up(self) -> None:
        """Shut the open response's socket down (any thread may call this): the read waiting on it returns at
        once, and the stream ends with a StreamError saying the client was closed."""
        self._hung_up = True
        response = self._response
        network = response.extensions.get("network_stream") if response is not None else None
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            import socket  # only a client closed under an open stream needs it

            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    def _failure(self, exc: Exception) -> HamrError:
        """The error for a read that failed (an error of the client's HTTP library)."""
        if self._hung_up:
            return self._core.stream_closed(self._decoder)
        if isinstance(exc, self._core.lib.TransportError):
            return self._core.stream_broken(self._decoder, exc)
        raise exc

    def _again(self, error: StreamError, answered: bool) -> float | None:
        """Seconds to wait before sending the stream again after ``error``, or None to raise it: only an error event
        that came before any answer event is sent again, as ``_Core.retry_event_delay`` says."""
        if answered or self._hung_up or self._req is None:
            return None
        delay = self._core.retry_event_delay(self._tries[0], error)
        if delay is not None:
            self._decoder = self._core.decoder(self._keep_text, self._req)
            if self._op is not None:
                self._op.retry(self._tries[0], error, delay)
        return delay

    def _request(self) -> HTTPRequest:
        """The request, built once (on entering the stream, when the model is known), its decoder and, with
        telemetry on, its operation."""
        if self._req is None:
            self._req = self._core.chat_request(self._messages, True, **self._options)
            if self._req.json_tool is not None:  # the answer tool's call is text: a parser that knows its name
                self._decoder = self._core.decoder(self._keep_text, self._req)
            self._op = self._core.operation(self._telemetry, self._req, self._messages, self._options, stream=True)
        return self._req

    def _without_stream_options(self, req: HTTPRequest, error: ProviderError) -> HTTPRequest:
        """The request to send again when a server rejected ``stream_options`` (``_Core.without_stream_options``);
        else ``error`` is raised."""
        retry = self._core.without_stream_options(req, error)
        if retry is None:
            raise error
        if self._op is not None:
            self._op.retry(self._tries[0], error, 0.0)
        self._req, self._tries[0] = retry, 0
        return retry

    def _opened(self, response: httpx2.Response) -> None:
        """A response began: its rate-limit headers go into the answer."""
        self._response = response
        self._decoder.set_rate_limits(_limits.rate_limits(response.headers))

    def _end_op(self, error: Exception | None = None) -> None:
        """End this call's operation, once: failed with ``error``, else left before its end (a no-op once the
        answer finished it)."""
        op, self._op = self._op, None
        if op is not None:
            op.end(error)

    def _observed(self, events: Generator[StreamEvent, None, None]) -> Iterator[StreamEvent]:
        """``events`` with telemetry on: the first one's arrival measured, and the operation ended however the
        iteration ends (finished, failed, or left: ``break``, ``close()``, the generator dropped)."""
        try:
            for event in events:
                if self._op is not None:
                    self._op.chunk()
                yield event
                break
            yield from events
        except Exception as exc:
            self._end_op(exc)
            raise
        finally:
            events.close()
            self._end_op()

    @property
    def completion(self) -> Completion:
        """The finished Completion; available once the stream has been read to its end."""
        if self._completion is None:
            raise RuntimeError("the stream has not finished yet: iterate it to the end first")
        return self._completion

    @property
    def partial(self) -> Completion:
        """Everything received so far."""
        return self._decoder.partial

    def _finish(self) -> Iterator[StreamEvent]:
        try:
            for event in self._decoder.iter_close():
                if event.completion is not None:  # the done event: the result is in place before the caller sees it
                    self._completion = event.completion
                    self._core.record(event.completion, self._op)
                yield event
        except HamrError as exc:
            raise self._core.scrub(exc) from None


class Stream(_StreamBase):
    def __init__(self, client: Client, messages: Messages, options: dict[str, Any], *, keep_text: bool = True) -> None:
        super().__init__(client._core, messages, options, keep_text)
        self._client = client
        self._response: httpx2.Response | None = None

    def __enter__(self) -> Stream:
        if self._response is None:
            self._client._ensure_model()
            req = self._request()
            try:
                try:
                    self._open(req)
                except ProviderError as exc:
                    self._open(self._without_stream_options(req, exc))
            except Exception as exc:
                self._end_op(exc)
                raise
        return self

    def _open(self, req: HTTPRequest) -> None:
        with self._op.current() if self._op is not None else _otel.NOTHING:
            self._opened(self._client._send(req, stream=True, tries=self._tries, op=self._op))
        self._client._track(self, True)

    def _close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._client._track(self, False)

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._close()
        self._end_op()

    def __del__(self) -> None:
        # a stream dropped without leaving its ``with`` block: its connection is closed, not left checked out (no
        # lock of hamr's taken here: the garbage collector may run this while the same thread holds it), and its
        # span ended rather than left open
        if self._response is not None:
            self._response.close()
        self._end_op()

    def __iter__(self) -> Iterator[StreamEvent]:
        events = self._events()
        return events if self._telemetry is None else self._observed(events)

    def _events(self) -> Generator[StreamEvent, None, None]:
        self.__enter__()
        while True:
            response = self._response
            assert response is not None
            answered, delay = False, None
            try:
                # the decoder raises a failure only after every event before it was handed over
                reads = response.iter_raw() if _read_raw(response) else response.iter_bytes()
                for chunk in reads:  # event by event until the first answer event, then read by read
                    for event in self._decoder.iter_feed(chunk):
                        answered = answered or event.type in ANSWER_EVENTS
                        yield event
                    if answered:
                        break
                for chunk in reads:
                    yield from self._decoder.iter_feed(chunk)
            except (self._core.lib.TransportError, self._core.lib.StreamError) as exc:
                raise self._failure(exc) from None
            except StreamError as exc:
                delay = self._again(exc, answered)
                if delay is None:
                    raise self._core.scrub(exc) from None
            except HamrError as exc:
                raise self._core.scrub(exc) from None
            finally:
                self._close()
            if delay is None:
                break
            self._client._sleep(delay)
            assert self._req is not None
            self._open(self._req)
        yield from self._finish()

    def text(self) -> str:
        """Read the stream to its end and return the final text."""
        for _ in self:
            pass
        return self.completion.text


# ------------------------------------------------------------------------------------------------------------------
# async: the same shape, awaiting where the sync client blocks
# ------------------------------------------------------------------------------------------------------------------


class AsyncClient(_ClientBase):
    """The async twin of Client: same arguments, same results, same errors."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        provider: str | None = None,
        model: str | None = None,
        http_client: httpx2.AsyncClient | httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._core = _Core(config, provider, model, env)
        self._own_http = http_client is None
        if http_client is None:
            self._http = httpx2.AsyncClient(limits=_pool_limits())
        else:
            self._core.lib = _library(http_client, "AsyncClient", self._core.provider)
            self._http = cast("httpx2.AsyncClient", http_client)  # an httpx.AsyncClient has the same methods
        self._streams, self._streams_lock = weakref.WeakSet(), threading.Lock()
        import asyncio  # here, not at the top: asyncio costs a sync-only `import hamr` about a third of its time

        self._sleep: Callable[[float], Any] = asyncio.sleep

    async def _send(
        self,
        req: HTTPRequest,
        *,
        stream: bool = False,
        tries: list[int] | None = None,
        op: _otel.Operation | None = None,
    ) -> httpx2.Response:
        """Client._send, awaiting: the same retries, the same errors."""
        core = self._core
        timeout = core.stream_timeout if stream else core.timeout
        tries = [0] if tries is None else tries
        while True:
            tries[0] += 1
            attempt = tries[0]
            try:
                response = await self._http.send(_to_httpx(self._http, req, timeout), stream=True)
                if core.succeeded(response.status_code):
                    break
                body = await self._read(response, cut=True)
                error = core.error(response.status_code, response.headers, body)
            except core.lib.TransportError as exc:
                error = core.transport_error(exc, stream=stream)
            delay = core.retry_delay(attempt, error)
            if delay is None:
                raise error
            if op is not None:
                op.retry(attempt, error, delay)
            await self._sleep(delay)
        if stream and core.answered_json(response.headers):
            try:
                raise core.json_instead_of_stream(response.headers, await self._read(response, cut=True))
            except core.lib.TransportError as exc:
                raise core.transport_error(exc, stream=stream) from None
        return response

    async def _fetch(self, req: HTTPRequest, op: _otel.Operation | None = None) -> tuple[bytes, httpx2.Headers]:
        """Client._fetch, awaiting."""
        response = await self._send(req, op=op)
        try:
            return await self._read(response), response.headers
        except self._core.lib.TransportError as exc:
            raise self._core.transport_error(exc) from None

    async def _read(self, response: httpx2.Response, *, cut: bool = False) -> bytes:
        try:
            body = self._core.body(response, cut=cut)
            async with contextlib.aclosing(response.aiter_bytes()) as chunks:  # closed here: see _reads
                async for chunk in chunks:
                    if not body.add(chunk):
                        break
            return body.bytes()
        finally:
            await response.aclose()

    async def _ensure_model(self) -> None:
        if self._core.model is None:
            self._core.pick_model(await self.models())

    async def chat(
        self,
        messages: Messages,
        *,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Tools = None,
        tool_choice: ToolChoice = None,
        parallel_tool_calls: bool | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        cache: bool = False,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Completion:
        """``Client.chat``, awaited."""
        options = _options(locals())
        await self._ensure_model()
        req = self._core.chat_request(messages, False, **options)
        op = self._core.operation(_otel.telemetry(), req, messages, options, stream=False)
        with op or _otel.NOTHING:
            return self._core.parse_chat(*await self._fetch(req, op), req, op)

    def stream(
        self,
        messages: Messages,
        *,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Tools = None,
        tool_choice: ToolChoice = None,
        parallel_tool_calls: bool | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        cache: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        keep_text: bool = True,
    ) -> AsyncStream:
        """``async with client.stream(...) as s: async for event in s: ...``: the model look-up and the send happen
        on entering it (``async with await client.stream(...)`` works too). Options as in ``Client.stream``."""
        return AsyncStream(self, messages, _options(locals()), keep_text=keep_text)

    async def models(self) -> list[ModelInfo]:
        return self._core.merge_models((await self._fetch(self._core.models_request()))[0])

    async def aclose(self) -> None:
        """Close the connections; a stream still open ends with a StreamError."""
        self._end_streams()
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncStream(_StreamBase):
    def __init__(
        self, client: AsyncClient, messages: Messages, options: dict[str, Any], *, keep_text: bool = True
    ) -> None:
        super().__init__(client._core, messages, options, keep_text)
        self._client = client
        self._response: httpx2.Response | None = None

    def __await__(self) -> Generator[Any, None, AsyncStream]:
        """``await client.stream(...)`` gives the stream itself, unopened: the older ``async with await`` form."""
        return self._itself().__await__()

    async def _itself(self) -> AsyncStream:
        return self

    async def __aenter__(self) -> AsyncStream:
        if self._response is None:
            await self._client._ensure_model()
            req = self._request()
            try:
                try:
                    await self._open(req)
                except ProviderError as exc:
                    await self._open(self._without_stream_options(req, exc))
            except Exception as exc:
                self._end_op(exc)
                raise
        return self

    async def _open(self, req: HTTPRequest) -> None:
        with self._op.current() if self._op is not None else _otel.NOTHING:
            self._opened(await self._client._send(req, stream=True, tries=self._tries, op=self._op))
        self._client._track(self, True)

    async def _close(self) -> None:
        if self._response is not None:
            await self._response.aclose()
            self._client._track(self, False)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()
        self._end_op()

    def __del__(self) -> None:
        # dropped without leaving its ``async with`` block: closing needs the event loop, so it is scheduled there;
        # the span ends now
        response = self._response
        if response is not None and not response.is_closed:
            _close_later(response)
        self._end_op()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        events = self._events()
        return events if self._telemetry is None else self._observed_async(events)

    async def _observed_async(self, events: AsyncGenerator[StreamEvent, None]) -> AsyncIterator[StreamEvent]:
        """``_StreamBase._observed``, asynchronously."""
        try:
            async for event in events:
                if self._op is not None:
                    self._op.chunk()
                yield event
                break
            async for event in events:
                yield event
        except Exception as exc:
            self._end_op(exc)
            raise
        finally:
            await events.aclose()
            self._end_op()

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        await self.__aenter__()
        while True:
            response = self._response
            assert response is not None
            answered, delay = False, None
            try:
                async with _reads(response) as reads:
                    async for chunk in reads:  # as Stream.__iter__ does
                        for event in self._decoder.iter_feed(chunk):
                            answered = answered or event.type in ANSWER_EVENTS
                            yield event
                        if answered:
                            break
                    async for chunk in reads:
                        for event in self._decoder.iter_feed(chunk):
                            yield event
            except (self._core.lib.TransportError, self._core.lib.StreamError) as exc:
                raise self._failure(exc) from None
            except StreamError as exc:
                delay = self._again(exc, answered)
                if delay is None:
                    raise self._core.scrub(exc) from None
            except HamrError as exc:
                raise self._core.scrub(exc) from None
            finally:
                await self._close()
            if delay is None:
                break
            await self._client._sleep(delay)
            assert self._req is not None
            await self._open(self._req)
        for event in self._finish():
            yield event

    async def text(self) -> str:
        async for _ in self:
            pass
        return self.completion.text
