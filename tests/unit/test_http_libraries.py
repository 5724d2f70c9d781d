"""``http_client=`` takes a client of either HTTP library (issue 24): httpx2, which hamr runs on, and httpx, its
predecessor. For each: the timeouts hamr sets reach the transport as numbers, the library's own transport errors
become hamr's typed errors and are retried, and anything else is refused by name. The same through real sockets:
tests/faults/test_real_sockets.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest

import hamr
from hamr._config import parse_config
from tests.unit.test_client import ENV, OK_CHAT, STREAM

#: the provider's timeouts, each a different number so that a swapped slot shows
TIMEOUTS = {"connect_timeout": 3.0, "read_timeout": 7.0, "stream_idle_timeout": 11.0}

LIBRARIES = pytest.mark.parametrize("lib", [httpx2, httpx], ids=["httpx2", "httpx"])
KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


def config() -> hamr.Config:
    provider = {"base_url": "https://api.deepseek.com", "api_key_env": "DEEPSEEK_API_KEY", **TIMEOUTS}
    return parse_config({"providers": {"p": provider}, "active": {"provider": "p", "model": "m"}})


class Script:
    """A MockTransport handler of library ``lib``: answers (or raises) from a list, records every request."""

    def __init__(self, *answers: Callable[[Any], Any]) -> None:
        self.answers = list(answers)
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        return self.answers.pop(0)(request)


def ok(lib: ModuleType) -> Callable[[Any], Any]:
    return lambda request: lib.Response(200, json=OK_CHAT, request=request)


def streamed(lib: ModuleType) -> Callable[[Any], Any]:
    return lambda request: lib.Response(
        200, content=STREAM, headers={"content-type": "text/event-stream"}, request=request
    )


def raises(error: type[Exception]) -> Callable[[Any], Any]:
    def answer(request: Any) -> Any:
        raise error("boom", request=request)

    return answer


async def run(lib: ModuleType, kind: str, script: Script, mode: str = "chat") -> hamr.Completion:
    """One chat (or stream) through a plain ``lib`` client over ``script``; backoff waits are not slept."""
    if kind == "sync":
        with hamr.Client(config(), http_client=lib.Client(transport=lib.MockTransport(script)), env=ENV) as client:
            client._sleep = lambda seconds: None
            if mode == "chat":
                return client.chat("hi")
            with client.stream("hi") as stream:
                list(stream)
            return stream.completion

    async def no_sleep(seconds: float) -> None:
        return None

    http = lib.AsyncClient(transport=lib.MockTransport(script))
    async with hamr.AsyncClient(config(), http_client=http, env=ENV) as aclient:
        aclient._sleep = no_sleep
        if mode == "chat":
            return await aclient.chat("hi")
        async with aclient.stream("hi") as astream:
            async for _ in astream:
                pass
        return astream.completion


@LIBRARIES
@KINDS
async def test_the_timeouts_reach_either_librarys_transport_as_numbers(lib: ModuleType, kind: str) -> None:
    """hamr's timeouts once went as an httpx.Timeout, which httpx2 files whole into every slot (a TypeError on a
    real socket; a mock transport never looks)."""
    script = Script(ok(lib), streamed(lib))
    assert (await run(lib, kind, script)).text == "hello"
    assert (await run(lib, kind, script, "stream")).text == "hello"
    chat, stream = (request.extensions["timeout"] for request in script.requests)
    assert chat == {"connect": 3.0, "read": 7.0, "write": 7.0, "pool": 3.0}
    assert stream == {"connect": 3.0, "read": 11.0, "write": 11.0, "pool": 3.0}


@LIBRARIES
@KINDS
@pytest.mark.parametrize(
    ("error", "expected", "timeout"),
    [
        ("ConnectError", hamr.ConnectionError, None),
        ("ReadError", hamr.ConnectionError, None),
        ("ConnectTimeout", hamr.TimeoutError, "connect_timeout"),
        ("PoolTimeout", hamr.TimeoutError, "connect_timeout"),
        ("ReadTimeout", hamr.TimeoutError, "read_timeout"),
    ],
)
async def test_either_librarys_transport_errors_are_typed_and_retried(
    lib: ModuleType, kind: str, error: str, expected: type[hamr.HamrError], timeout: str | None
) -> None:
    failing = raises(getattr(lib, error))
    script = Script(failing, failing, failing)
    with pytest.raises(expected) as info:
        await run(lib, kind, script)
    assert type(info.value) is expected and len(script.requests) == 3  # the first try and max_retries = 2
    if timeout is not None:
        assert isinstance(info.value, hamr.TimeoutError) and info.value.timeout == timeout
    recovered = Script(failing, ok(lib))
    assert (await run(lib, kind, recovered)).text == "hello" and len(recovered.requests) == 2


class _Broken:
    """A body whose second read fails with ``error``: the connection dropped mid-stream."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __iter__(self) -> Any:
        yield STREAM[: STREAM.index(b"\n\n") + 2]  # the first event whole
        raise self.error("peer closed connection without sending complete message body")

    async def __aiter__(self) -> Any:
        yield STREAM[: STREAM.index(b"\n\n") + 2]  # the first event whole
        raise self.error("peer closed connection without sending complete message body")


@LIBRARIES
@KINDS
async def test_either_librarys_mid_stream_failure_is_a_stream_error_with_the_partial_text(
    lib: ModuleType, kind: str
) -> None:
    base: tuple[type, ...] = (lib.SyncByteStream, lib.AsyncByteStream)
    body = type("Body", (_Broken, *base), {})(lib.RemoteProtocolError)
    headers = {"content-type": "text/event-stream"}
    script = Script(lambda request: lib.Response(200, headers=headers, stream=body, request=request))
    with pytest.raises(hamr.StreamError) as info:
        await run(lib, kind, script, "stream")
    assert info.value.partial.text == "hel"


@LIBRARIES
async def test_a_subclass_of_either_librarys_client_is_taken(lib: ModuleType) -> None:
    """The SDKs hand out their own subclasses (openai's DefaultHttpxClient): the library is found in the MRO."""
    sync_class = type("SDKClient", (lib.Client,), {"__module__": "some_sdk._base_client"})
    async_class = type("AsyncSDKClient", (lib.AsyncClient,), {"__module__": "some_sdk._base_client"})
    script = Script(ok(lib), raises(lib.ConnectError), raises(lib.ConnectError), raises(lib.ConnectError))
    with hamr.Client(config(), http_client=sync_class(transport=lib.MockTransport(script)), env=ENV) as client:
        client._sleep = lambda seconds: None
        assert client.chat("hi").text == "hello"
        with pytest.raises(hamr.ConnectionError):
            client.chat("hi")
    async with hamr.AsyncClient(config(), http_client=async_class(), env=ENV) as aclient:
        assert aclient._core.lib is lib


@pytest.mark.parametrize(
    ("make", "given", "wanted"),
    [
        (hamr.Client, lambda: httpx2.AsyncClient(), "httpx2.Client or an httpx.Client, not httpx2.AsyncClient"),
        (hamr.Client, lambda: httpx.AsyncClient(), "httpx2.Client or an httpx.Client, not httpx.AsyncClient"),
        (hamr.AsyncClient, lambda: httpx2.Client(), "httpx2.AsyncClient or an httpx.AsyncClient, not httpx2.Client"),
        (hamr.Client, lambda: object(), "httpx2.Client or an httpx.Client, not builtins.object"),
        (hamr.AsyncClient, lambda: "http://x", "httpx2.AsyncClient or an httpx.AsyncClient, not builtins.str"),
    ],
)
def test_anything_else_as_http_client_is_refused_by_name(make: Any, given: Any, wanted: str) -> None:
    with pytest.raises(TypeError, match=r"http_client for provider 'p' must be an ") as info:
        make(config(), http_client=given(), env=ENV)
    assert str(info.value).endswith(wanted)


def test_hamr_never_imports_httpx_itself() -> None:
    """httpx is optional: neither `import hamr` nor a client hamr makes (nor its requests) imports it; nor certifi,
    whose bundle httpx loaded for every client (httpx2 reads the system's: tests/security/test_tls_trust.py)."""
    code = (
        "import sys, hamr, httpx2\nfrom hamr._config import parse_config\n"
        "cfg = parse_config({'providers': {'p': {'base_url': 'https://x.test/v1', 'api_key_env': 'K'}},"
        " 'active': {'provider': 'p', 'model': 'm'}})\n"
        "c = hamr.Client(cfg, env={'K': 'k'})\n"
        "c._http = httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(500)))\n"
        "c._sleep = lambda s: None\n"
        "try:\n    c.chat('hi')\nexcept hamr.ServerError:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore', 'certifi')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
