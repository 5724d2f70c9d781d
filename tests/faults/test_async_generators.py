"""The async client closes every async generator of httpx2's that it starts (a body reader, and the generators
beneath it) itself, whatever ends the read: an error event, the caller closing the stream's iteration, an error body
cut at ``max_response_bytes``. None is left for the garbage collector: asyncio would close it later on the event
loop, and a collection in another thread (a sync client's, in the same process) that finds httpx2's nested
generators in a reference cycle closes the inner ones there while the loop is closing them. The 100,000-request
soak on httpx2 saw that twice: "ValueError in <async_generator object BoundAsyncStream.__aiter__>: async generator
already executing", and the same for ``AsyncResponseStream.__aiter__``. Through real sockets (loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import hamr
from tests.faults.faultkit import KEY, config
from tests.faults.loopback import MisbehavingServer

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

ENV = {"FAULT_KEY": KEY}
PROTOCOLS = pytest.mark.parametrize("protocol", ["openai", "anthropic"])
#: the generator httpx2 itself leaves to the collector, out of hamr's reach: ``AsyncResponseStream.__aiter__``
#: (httpx2 2.17.0, httpx2/_transports/default.py, line 265) iterates httpcore2's body stream and never closes the
#: generator that gives it. Once hamr has closed everything above it, it is dropped on the event loop's own thread.
HTTPX2_LEAVES = "HTTP11ConnectionByteStream.__aiter__"


@contextlib.contextmanager
def left_to_the_collector() -> Iterator[list[str]]:
    """The async generators first iterated inside the block that are later closed by asyncio's finalizer hook, the
    garbage collector's way, instead of by the code that iterated them, but for ``HTTPX2_LEAVES`` (each keeps the
    hook it started under, so call ``gc.collect()`` after the block, with every reference to the request gone)."""
    firstiter, finalizer = sys.get_asyncgen_hooks()
    assert finalizer is not None, "run inside an asyncio event loop"
    handed: list[str] = []

    def finalize(agen: Any) -> None:  # an async generator: typeshed's protocol lacks __qualname__
        if agen.__qualname__ != HTTPX2_LEAVES:
            handed.append(agen.__qualname__)
        finalizer(agen)

    sys.set_asyncgen_hooks(firstiter, finalize)
    try:
        yield handed
    finally:
        sys.set_asyncgen_hooks(firstiter, finalizer)


@PROTOCOLS
def test_a_stream_ended_by_an_error_event_closes_httpx2s_generators(server: MisbehavingServer, protocol: str) -> None:
    cfg = config(protocol, base_url=server.url("error-event", protocol), max_retries=0)

    async def main() -> list[str]:
        with left_to_the_collector() as handed:
            async with hamr.AsyncClient(cfg, env=ENV) as client:
                try:
                    async with client.stream("hi") as stream:
                        async for _ in stream:
                            pass
                except hamr.StreamError as exc:
                    assert "Overloaded" in str(exc)
                else:
                    pytest.fail("the error event ended the stream")
        gc.collect()
        return handed

    assert asyncio.run(main()) == []


@PROTOCOLS
def test_a_stream_whose_iteration_the_caller_closes_closes_httpx2s_generators(
    server: MisbehavingServer, protocol: str
) -> None:
    cfg = config(protocol, base_url=server.url("drip", protocol), stream_idle_timeout=5, max_retries=0)

    async def main() -> list[str]:
        with left_to_the_collector() as handed:
            async with hamr.AsyncClient(cfg, env=ENV) as client, client.stream("hi") as stream:
                async with contextlib.aclosing(aiter(stream)) as events:  # type: ignore[type-var]
                    async for event in events:
                        if event.text:
                            break
                assert await asyncio.to_thread(server.hung_up.wait, 2.0), "the server saw the connection closed"
        gc.collect()
        return handed

    assert asyncio.run(main()) == []


def test_an_error_body_cut_at_max_response_bytes_closes_httpx2s_generator(server: MisbehavingServer) -> None:
    cfg = config("openai", base_url=server.url("echo-key", "openai"), max_response_bytes=32, max_retries=0)

    async def main() -> list[str]:
        with left_to_the_collector() as handed:
            async with hamr.AsyncClient(cfg, env=ENV) as client:
                with pytest.raises(hamr.AuthenticationError):
                    await client.chat("hi")
        gc.collect()
        return handed

    assert asyncio.run(main()) == []
