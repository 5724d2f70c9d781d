"""The connection pool through real sockets: sequential calls on one client reuse one kept-alive connection, and
many concurrent streams on one AsyncClient each get their own connection at once (none waits for a free one)."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator

import httpx2
import pytest

import hamr
from hamr._client import POOL_LIMITS
from hamr._config import parse_config
from tests.faults.faultkit import WIRES, stream_body

HOLD = 3.0  # seconds a stream is held open at most, waiting for the others

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says otherwise
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall between them
    server: _CountingServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        protocol = "anthropic" if self.path.endswith("/messages") else "openai"
        stream = bool(json.loads(body).get("stream"))
        if stream:
            with self.server.lock:
                self.server.open_streams += 1
                self.server.most_open = max(self.server.most_open, self.server.open_streams)
            # hold the stream open until every expected stream has started (or give up after a while)
            self.server.all_open.wait(timeout=HOLD)
        wire = WIRES[protocol]
        payload = stream_body(wire) if stream else wire.chat()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream" if stream else "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if stream:
            with self.server.lock:
                self.server.open_streams -= 1

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _CountingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # every concurrent connect is accepted at once

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        self.lock = threading.Lock()
        self.connections = 0
        self.open_streams = 0
        self.most_open = 0
        self.all_open = threading.Event()


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[_CountingServer]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    server = _CountingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.all_open.set()
        server.shutdown()
        server.server_close()


def _config(server: _CountingServer) -> hamr.Config:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    return parse_config(
        {
            "active": {"provider": "loop-openai", "model": "m"},
            "providers": {
                "loop-openai": {"base_url": f"{base}/v1", "compatibility": "openai-compatible", "local": True},
                "loop-anthropic": {"base_url": base, "compatibility": "anthropic-compatible", "local": True},
            },
        }
    )


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_hundred_sequential_chats_on_one_client_use_one_connection(counting: _CountingServer, protocol: str) -> None:
    with hamr.Client(_config(counting), provider=f"loop-{protocol}", model="m") as client:
        for _ in range(100):
            assert client.chat("hi").text
    assert counting.connections == 1


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_hundred_sequential_async_streams_use_one_connection(counting: _CountingServer, protocol: str) -> None:
    counting.all_open.set()

    async def main() -> None:
        async with hamr.AsyncClient(_config(counting), provider=f"loop-{protocol}", model="m") as client:
            for _ in range(100):
                async with client.stream("hi") as stream:
                    async for _event in stream:
                        pass
                assert stream.completion.text

    asyncio.run(main())
    assert counting.connections == 1


def _concurrent_streams(server: _CountingServer, n: int, http_client: httpx2.AsyncClient | None) -> list[str]:
    """``n`` streams at once on one AsyncClient; the server holds each open until all ``n`` have started (or
    HOLD seconds passed)."""

    async def main() -> list[str]:
        async with hamr.AsyncClient(_config(server), model="m", http_client=http_client) as client:

            async def one() -> str:
                async with client.stream("hi") as stream:
                    async for _event in stream:
                        pass
                return stream.completion.text

            async def watch() -> None:
                for _ in range(int(HOLD * 100)):
                    if server.most_open >= n:
                        break
                    await asyncio.sleep(0.01)
                server.all_open.set()

            watcher = asyncio.create_task(watch())
            texts = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout=60)
            await watcher
            return texts

    return asyncio.run(main())


def test_more_concurrent_streams_than_httpx_default_pool_all_start_at_once(counting: _CountingServer) -> None:
    """A client hamr makes opens up to POOL_LIMITS connections: 120 streams, each held until all have started,
    are all open at once (httpx2's own default pool would have queued the last 20)."""
    n = 120
    assert int(POOL_LIMITS["max_connections"]) >= n
    texts = _concurrent_streams(counting, n, None)
    assert counting.most_open == n and counting.connections == n
    assert all(texts)


def test_the_concurrency_check_sees_a_pool_that_queues(counting: _CountingServer) -> None:
    """The check above can fail: with httpx2's default pool (100 connections) only 100 of 120 streams start."""
    texts = _concurrent_streams(counting, 120, httpx2.AsyncClient())
    assert counting.most_open == 100
    assert all(texts)


def test_a_client_of_your_own_keeps_its_own_limits(counting: _CountingServer) -> None:
    counting.all_open.set()
    own = httpx2.Client(limits=httpx2.Limits(max_connections=1, max_keepalive_connections=0))
    with hamr.Client(_config(counting), model="m", http_client=own) as client:
        for _ in range(3):
            client.chat("hi")
    own.close()
    assert counting.connections == 3  # no keep-alive asked for: a new connection each time
