"""Client and AsyncClient: thin IO shells over one shared core that makes every decision (requests, retries,
error mapping, parsing, spend). The two classes differ only where bytes move."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from types import ModuleType, TracebackType
from typing import Any

import httpx

from . import _anthropic, _openai
from ._config import Config, ProviderSettings, load_config
from ._errors import (
    ConfigError,
    ConnectionError,
    HamrError,
    ProviderError,
    StreamError,
    TimeoutError,
    error_from_response,
    redact,
)
from ._presets import ANTHROPIC
from ._pricing import Spend, is_local, price_for
from ._stream import StreamDecoder
from ._types import Completion, HTTPRequest, ModelInfo, StreamEvent

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_RETRY_WAIT = 60.0

Messages = Sequence[Mapping[str, Any]] | str
Tools = Sequence[Mapping[str, Any]] | None


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
        self.protocol: ModuleType = _anthropic if self.settings.compatibility == ANTHROPIC else _openai
        self.spend = Spend(local=is_local(self.settings, model))
        self.timeout = httpx.Timeout(
            self.settings.read_timeout, connect=self.settings.connect_timeout, pool=self.settings.connect_timeout
        )
        self.stream_timeout = httpx.Timeout(
            self.settings.stream_idle_timeout,
            connect=self.settings.connect_timeout,
            pool=self.settings.connect_timeout,
        )

    @property
    def provider(self) -> str:
        return self.settings.id

    def chat_request(self, messages: Messages, stream: bool, **options: Any) -> HTTPRequest:
        if self.model is None:
            raise ConfigError(f"no model chosen for provider {self.provider!r}: pass model=..., or set [active] model")
        return self.protocol.build_chat(  # type: ignore[no-any-return]
            self.settings, self.model, messages, stream=stream, env=self.env, **options
        )

    def models_request(self) -> HTTPRequest:
        return self.protocol.build_models(self.settings, self.env)  # type: ignore[no-any-return]

    def secrets(self) -> list[str]:
        return self.settings.secret_values(self.env)

    def scrub(self, exc: HamrError) -> HamrError:
        """Remove every secret from an error before it leaves hamr."""
        if isinstance(exc, ProviderError):
            secrets = self.secrets()
            exc.message = redact(exc.message, secrets)
            exc.body = redact(exc.body, secrets)
            exc.args = tuple(redact(str(a), secrets) for a in exc.args)
        return exc

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return error_from_response(self.provider, status, headers, body, self.secrets())

    def parse_chat(self, body: bytes) -> Completion:
        try:
            completion: Completion = self.protocol.parse_chat(self.provider, body)
        except HamrError as exc:
            raise self.scrub(exc) from None
        self.record(completion)
        return completion

    def record(self, completion: Completion) -> None:
        self.spend.add(completion.usage, price_for(self.settings, self.model))

    def decoder(self) -> StreamDecoder:
        return StreamDecoder(self.protocol.StreamParser(self.provider))

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

    def retry_delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based), or None when retries are used up."""
        if attempt > self.settings.max_retries:
            return None
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_WAIT)
        base: float = min(0.5 * 2 ** (attempt - 1), 8.0)
        return base * (0.5 + random.random() / 2)

    def transport_error(self, exc: httpx.TransportError) -> ProviderError:
        if isinstance(exc, httpx.ConnectTimeout):
            return TimeoutError(
                f"connect timeout ({self.settings.connect_timeout:g}s) reaching {self.settings.base_url}",
                provider=self.provider,
                timeout="connect",
            )
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(
                f"read timeout ({self.settings.read_timeout:g}s) waiting for {self.settings.base_url}",
                provider=self.provider,
                timeout="read",
            )
        return ConnectionError(
            f"cannot reach {self.settings.base_url}: {type(exc).__name__}: {exc}", provider=self.provider
        )

    def stream_broken(self, decoder: StreamDecoder, exc: httpx.TransportError) -> StreamError:
        if isinstance(exc, httpx.TimeoutException):
            message = f"no data for {self.settings.stream_idle_timeout:g}s (stream_idle_timeout); stream abandoned"
        else:
            message = f"connection dropped mid-stream: {type(exc).__name__}: {exc}"
        return decoder.broken(message)


def _first(a: float | None, b: float | None) -> float | None:
    return a if a is not None else b


def _to_httpx(http: httpx.Client | httpx.AsyncClient, req: HTTPRequest, timeout: httpx.Timeout) -> httpx.Request:
    return http.build_request(req.method, req.url, headers=req.headers, json=req.json, timeout=timeout)


# ------------------------------------------------------------------------------------------------------------------
# sync
# ------------------------------------------------------------------------------------------------------------------


class Client:
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
        http_client: httpx.Client | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._core = _Core(config, provider, model, env)
        self._own_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def provider(self) -> str:
        return self._core.provider

    @property
    def model(self) -> str | None:
        return self._core.model

    @property
    def spend(self) -> Spend:
        return self._core.spend

    def __repr__(self) -> str:
        return f"<hamr.Client provider={self.provider!r} model={self.model!r}>"

    def _send(self, req: HTTPRequest, *, stream: bool = False) -> httpx.Response:
        """Send with retries; return a 2xx response (open, when streaming) or raise the mapped error."""
        core = self._core
        timeout = core.stream_timeout if stream else core.timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.send(_to_httpx(self._http, req, timeout), stream=stream)
            except httpx.TransportError as exc:
                error: ProviderError = core.transport_error(exc)
            else:
                if response.status_code < 400:
                    return response
                body = response.read()
                response.close()
                error = core.error(response.status_code, response.headers, body)
                if response.status_code not in RETRY_STATUSES:
                    raise error
            delay = core.retry_delay(attempt, error.retry_after)
            if delay is None:
                raise error
            self._sleep(delay)

    def _ensure_model(self) -> None:
        if self._core.model is None:
            self._core.pick_model(self.models())

    def chat(
        self,
        messages: Messages,
        *,
        system: str | None = None,
        tools: Tools = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One request, the whole answer."""
        self._ensure_model()
        req = self._core.chat_request(
            messages, False, system=system, tools=tools, max_tokens=max_tokens, temperature=temperature
        )
        response = self._send(req)
        return self._core.parse_chat(response.content)

    def stream(
        self,
        messages: Messages,
        *,
        system: str | None = None,
        tools: Tools = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Stream:
        """A context manager that yields StreamEvents; ``stream.completion`` holds the result afterwards."""
        self._ensure_model()
        req = self._core.chat_request(
            messages, True, system=system, tools=tools, max_tokens=max_tokens, temperature=temperature
        )
        return Stream(self, req)

    def models(self) -> list[ModelInfo]:
        response = self._send(self._core.models_request())
        return self._core.merge_models(response.content)

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StreamBase:
    def __init__(self, core: _Core, req: HTTPRequest) -> None:
        self._core = core
        self._req = req
        self._decoder = core.decoder()
        self._completion: Completion | None = None

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

    def _feed(self, chunk: bytes) -> list[StreamEvent]:
        try:
            return self._decoder.feed(chunk)
        except HamrError as exc:
            raise self._core.scrub(exc) from None

    def _finish(self) -> list[StreamEvent]:
        try:
            events = self._decoder.close()
        except HamrError as exc:
            raise self._core.scrub(exc) from None
        assert self._decoder.completion is not None
        self._completion = self._decoder.completion
        self._core.record(self._completion)
        return events


class Stream(_StreamBase):
    def __init__(self, client: Client, req: HTTPRequest) -> None:
        super().__init__(client._core, req)
        self._client = client
        self._response: httpx.Response | None = None

    def __enter__(self) -> Stream:
        if self._response is None:
            self._response = self._client._send(self._req, stream=True)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._response is not None:
            self._response.close()

    def __iter__(self) -> Iterator[StreamEvent]:
        self.__enter__()
        assert self._response is not None
        try:
            for chunk in self._response.iter_bytes():
                yield from self._feed(chunk)
        except httpx.TransportError as exc:
            raise self._core.scrub(self._core.stream_broken(self._decoder, exc)) from exc
        finally:
            self._response.close()
        yield from self._finish()

    def text(self) -> str:
        """Read the stream to its end and return the final text."""
        for _ in self:
            pass
        return self.completion.text


# ------------------------------------------------------------------------------------------------------------------
# async: the same shape, awaiting where the sync client blocks
# ------------------------------------------------------------------------------------------------------------------


class AsyncClient:
    """The async twin of Client: same arguments, same results, same errors."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        provider: str | None = None,
        model: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._core = _Core(config, provider, model, env)
        self._own_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self._sleep: Callable[[float], Any] = asyncio.sleep

    @property
    def provider(self) -> str:
        return self._core.provider

    @property
    def model(self) -> str | None:
        return self._core.model

    @property
    def spend(self) -> Spend:
        return self._core.spend

    def __repr__(self) -> str:
        return f"<hamr.AsyncClient provider={self.provider!r} model={self.model!r}>"

    async def _send(self, req: HTTPRequest, *, stream: bool = False) -> httpx.Response:
        core = self._core
        timeout = core.stream_timeout if stream else core.timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(_to_httpx(self._http, req, timeout), stream=stream)
            except httpx.TransportError as exc:
                error: ProviderError = core.transport_error(exc)
            else:
                if response.status_code < 400:
                    return response
                body = await response.aread()
                await response.aclose()
                error = core.error(response.status_code, response.headers, body)
                if response.status_code not in RETRY_STATUSES:
                    raise error
            delay = core.retry_delay(attempt, error.retry_after)
            if delay is None:
                raise error
            await self._sleep(delay)

    async def _ensure_model(self) -> None:
        if self._core.model is None:
            self._core.pick_model(await self.models())

    async def chat(
        self,
        messages: Messages,
        *,
        system: str | None = None,
        tools: Tools = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        await self._ensure_model()
        req = self._core.chat_request(
            messages, False, system=system, tools=tools, max_tokens=max_tokens, temperature=temperature
        )
        response = await self._send(req)
        return self._core.parse_chat(response.content)

    async def stream(
        self,
        messages: Messages,
        *,
        system: str | None = None,
        tools: Tools = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncStream:
        """``async with await client.stream(...) as s: async for event in s: ...``"""
        await self._ensure_model()
        req = self._core.chat_request(
            messages, True, system=system, tools=tools, max_tokens=max_tokens, temperature=temperature
        )
        return AsyncStream(self, req)

    async def models(self) -> list[ModelInfo]:
        response = await self._send(self._core.models_request())
        return self._core.merge_models(response.content)

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncStream(_StreamBase):
    def __init__(self, client: AsyncClient, req: HTTPRequest) -> None:
        super().__init__(client._core, req)
        self._client = client
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> AsyncStream:
        if self._response is None:
            self._response = await self._client._send(self._req, stream=True)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.aclose()

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        await self.__aenter__()
        assert self._response is not None
        try:
            async for chunk in self._response.aiter_bytes():
                for event in self._feed(chunk):
                    yield event
        except httpx.TransportError as exc:
            raise self._core.scrub(self._core.stream_broken(self._decoder, exc)) from exc
        finally:
            await self._response.aclose()
        for event in self._finish():
            yield event

    async def text(self) -> str:
        async for _ in self:
            pass
        return self.completion.text
