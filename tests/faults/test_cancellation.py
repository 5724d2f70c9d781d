"""Streams the caller leaves early, through real sockets: an async task cancelled while it awaits an event, a sync
loop left with ``break``, a stream dropped without leaving its ``with`` block, and the client closed while a stream
is open. Each closes the HTTP connection at once (the loopback server sees it go), keeps ``stream.partial``
readable, and leaves no socket open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time

import pytest

import hamr
from tests.faults.faultkit import KEY, config
from tests.faults.loopback import MisbehavingServer

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

SOON = 2.0  # seconds: "at once", on a loaded machine; the server would drip for HOLD (10 s)
ENV = {"FAULT_KEY": KEY}


def sockets() -> int:
    """Open sockets of this process (client and server ends alike)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def settles_at(expected: int) -> bool:
    deadline = time.monotonic() + SOON
    while sockets() != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return sockets() == expected


def drip(server: MisbehavingServer, protocol: str) -> hamr.Config:
    return config(protocol, base_url=server.url("drip", protocol), stream_idle_timeout=5, max_retries=0)


PROTOCOLS = pytest.mark.parametrize("protocol", ["openai", "anthropic"])


@PROTOCOLS
def test_a_sync_loop_left_with_break_closes_the_connection(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()
    with hamr.Client(drip(server, protocol), env=ENV) as client:
        stream = client.stream("hi")
        seen = ""
        for event in stream:  # no `with`: only the loop's end can close it
            seen += event.text
            if seen.count(" ") == 3:
                break
        assert server.hung_up.wait(SOON), "the server saw the connection closed"
        assert stream.partial.text.startswith(seen)
    assert settles_at(baseline)


@PROTOCOLS
def test_a_dropped_sync_stream_closes_its_connection(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()
    with hamr.Client(drip(server, protocol), env=ENV) as client:
        stream = client.stream("hi").__enter__()  # entered, never left
        assert not server.hung_up.is_set()
        del stream
        assert server.hung_up.wait(SOON), "the server saw the connection closed"
    assert settles_at(baseline)


@PROTOCOLS
def test_a_cancelled_task_closes_its_stream_and_keeps_the_partial(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()

    async def main() -> None:
        async with hamr.AsyncClient(drip(server, protocol), env=ENV) as client:
            stream = client.stream("hi")
            seen: list[str] = []

            async def read() -> None:
                async for event in stream:  # no `async with`: cancelling the task must close it
                    seen.append(event.text)

            task = asyncio.create_task(read())
            while "".join(seen).count(" ") < 3:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(server.hung_up.wait, SOON), "the server saw the connection closed"
            assert stream.partial.text == "".join(seen)

    asyncio.run(main())
    assert settles_at(baseline)


@PROTOCOLS
def test_a_dropped_async_stream_closes_its_connection(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()

    async def main() -> None:
        async with hamr.AsyncClient(drip(server, protocol), env=ENV) as client:
            stream = await client.stream("hi").__aenter__()  # entered, never left
            del stream
            assert await asyncio.to_thread(server.hung_up.wait, SOON), "the server saw the connection closed"

    asyncio.run(main())
    assert settles_at(baseline)


@PROTOCOLS
def test_closing_the_client_ends_a_stream_read_in_another_thread(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()
    client = hamr.Client(drip(server, protocol), env=ENV)
    seen: list[str] = []
    ended: list[BaseException] = []

    def read() -> None:
        try:
            with client.stream("hi") as stream:
                for event in stream:
                    seen.append(event.text)
        except hamr.HamrError as exc:
            ended.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    while "".join(seen).count(" ") < 3:
        time.sleep(0.01)
    started = time.monotonic()
    client.close()
    reader.join(SOON)
    assert not reader.is_alive(), "the stream ended instead of hanging"
    assert time.monotonic() - started < SOON
    error = ended[0]
    assert type(error) is hamr.StreamError and "client was closed" in str(error)
    assert error.partial.text == "".join(seen)
    assert settles_at(baseline)


@PROTOCOLS
def test_closing_the_async_client_ends_a_stream_read_by_another_task(server: MisbehavingServer, protocol: str) -> None:
    baseline = sockets()

    async def main() -> None:
        client = hamr.AsyncClient(drip(server, protocol), env=ENV)
        seen: list[str] = []

        async def read() -> None:
            async with client.stream("hi") as stream:
                async for event in stream:
                    seen.append(event.text)

        task = asyncio.create_task(read())
        while "".join(seen).count(" ") < 3:
            await asyncio.sleep(0.01)
        await client.aclose()
        done, _ = await asyncio.wait([task], timeout=SOON)
        assert done, "the stream ended instead of hanging"
        error = task.exception()
        assert type(error) is hamr.StreamError and "client was closed" in str(error)
        assert error.partial.text == "".join(seen)

    asyncio.run(main())
    assert settles_at(baseline)


@PROTOCOLS
def test_a_stream_read_after_its_client_was_closed_in_the_same_thread_ends(
    server: MisbehavingServer, protocol: str
) -> None:
    client = hamr.Client(drip(server, protocol), env=ENV)
    seen = ""
    with pytest.raises(hamr.StreamError, match="client was closed") as caught, client.stream("hi") as stream:
        for event in stream:
            seen += event.text
            if seen.count(" ") == 2:
                client.close()
    assert caught.value.partial.text == seen
