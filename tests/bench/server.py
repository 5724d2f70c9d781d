"""A loopback SSE server for the end-to-end and concurrency benchmarks: ``POST /v1/chat/completions`` answers with
the OpenAI-style body and ``POST /v1/messages`` with the Anthropic-style one from streams.py: streamed, one HTTP
chunk per SSE event, when the request says ``"stream": true``, else as one JSON completion (streams.completion).
HTTP/1.1 through h11, keep-alive.

Pacing of the streams:
- ``--pace 0`` (the default): as fast as the client reads.
- ``--pace S``: one event every S seconds per stream, each stream sleeping on its own (one stream at a time).
- ``--pace S --ticker``: many streams at once, paced cheaply: the response head and the events up to the first text
  delta go out at once, then one ticker writes the next pre-framed event to every open stream every S seconds (a
  stream whose client has not read the last 64 KiB skips that tick; such skips are counted).

Small GET endpoints for the benchmark driver: ``/stats`` (JSON: connections accepted, connections that carried an
API request, API requests, events written, skipped ticks, late ticks, and this process's CPU seconds),
``/pace/<seconds>`` (changes the pace from then on, e.g. 0 for an unpaced warm-up stream) and ``/drop`` (closes every
kept-alive connection waiting for its next request, as a server's idle timeout would).

Bounded: binds 127.0.0.1 on an ephemeral port (printed as ``PORT <n>`` on stdout), and stops by itself when its
stdin closes (the benchmark ended or died), after ``--max-requests`` API requests, or at ``--deadline`` seconds,
whichever comes first. Run: ``python server.py --text-deltas 20000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from dataclasses import dataclass, field

import h11

from tests.bench.streams import EVENTS, TEXT_START, Spec, completion

ROUTES = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
HIGH_WATER = 65536  # bytes queued in the server for one stream above which the ticker skips it


def _chunked(event: bytes) -> bytes:
    """One SSE event as one HTTP/1.1 chunk; done once at start, so serving costs one write per event and the
    client, not the server, sets the pace."""
    return b"%x\r\n%s\r\n" % (len(event), event)


@dataclass
class _Paced:
    """One stream in the ticker's care: the next chunk to write, and a future the ticker sets after the last."""

    transport: asyncio.WriteTransport
    chunks: list[bytes]
    pos: int
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Stats:
    accepted: int = 0  # TCP connections accepted
    connections: int = 0  # of those, the ones that carried at least one API request (not /stats or /pace)
    requests: int = 0  # API requests
    events: int = 0  # SSE events written by the ticker
    skipped: int = 0  # ticks a stream skipped because its client had not read what was sent
    late: int = 0  # ticks that came a whole pace late (the server fell behind)


class Server:
    def __init__(self, spec: Spec, max_requests: int, pace: float, ticker: bool) -> None:
        self.pace = pace
        self.ticker = ticker
        self.bodies = {proto: [_chunked(ev) for ev in events(spec)] for proto, events in EVENTS.items()}
        self.json = {proto: completion(proto, spec) for proto in EVENTS}
        self.left = max_requests
        self.done = asyncio.Event()
        self.stats = Stats()
        self.active: list[_Paced] = []
        self.wake = asyncio.Event()
        self.idle: set[asyncio.StreamWriter] = set()  # kept-alive connections waiting for their next request

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        conn = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        body: list[bytes] = []
        counted = False
        try:
            while not self.done.is_set():
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    between = conn.their_state is h11.IDLE
                    if between:
                        self.idle.add(writer)
                    data = await reader.read(65536)
                    if between:
                        self.idle.discard(writer)
                    conn.receive_data(data)
                elif isinstance(event, h11.Request):
                    request, body = event, []
                elif isinstance(event, h11.Data):
                    body.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    assert request is not None
                    target = request.target.decode()
                    protocol = ROUTES.get(target)
                    if protocol is not None and not counted:
                        counted = True
                        self.stats.connections += 1
                    await self.respond(conn, writer, target, protocol, b"".join(body))
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    break
        except (ConnectionError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down with a kept-alive connection open: end quietly, not as a failed task
        finally:
            self.idle.discard(writer)
            writer.close()

    def small(self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, data: bytes = b"") -> None:
        headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        writer.write(conn.send(h11.Data(data=data)) if data else b"")
        writer.write(conn.send(h11.EndOfMessage()))

    async def respond(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, target: str, protocol: str | None, body: bytes
    ) -> None:
        if protocol is None:
            if target == "/stats":
                self.small(conn, writer, 200, json.dumps({**vars(self.stats), "cpu": time.process_time()}).encode())
            elif target == "/drop":
                for idle in list(self.idle):
                    idle.close()
                self.small(conn, writer, 200)
            elif target.startswith("/pace/"):
                self.pace = float(target.removeprefix("/pace/"))
                self.small(conn, writer, 200)
            else:
                self.small(conn, writer, 404)
            return
        self.stats.requests += 1
        if json.loads(body or b"{}").get("stream"):
            await self.stream(conn, writer, self.bodies[protocol], TEXT_START[protocol])
        else:
            self.small(conn, writer, 200, self.json[protocol])
            await writer.drain()
        self.left -= 1
        if self.left <= 0:
            self.done.set()

    async def stream(self, conn: h11.Connection, writer: asyncio.StreamWriter, chunks: list[bytes], lead: int) -> None:
        headers = [("content-type", "text/event-stream; charset=utf-8"), ("transfer-encoding", "chunked")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        # the body chunks are pre-framed (chunked encoding) at start; h11 then only writes the terminating chunk
        if self.pace and self.ticker:
            writer.write(b"".join(chunks[: lead + 1]))  # up to the first text delta at once, then the ticker
            paced = _Paced(writer.transport, chunks, lead + 1)
            self.active.append(paced)
            self.wake.set()
            await paced.done
        else:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                if self.pace:
                    await asyncio.sleep(self.pace)
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()

    async def tick(self) -> None:
        """Every ``pace`` seconds, the next event to every stream in ``active`` (one write each, no drain: a
        stream whose client lags skips the tick). Never bursts to catch up: a tick a whole pace late is counted and
        the schedule restarts from now."""
        loop = asyncio.get_running_loop()
        stats = self.stats
        next_at = loop.time()
        while True:
            if not self.active:
                self.wake.clear()
                await self.wake.wait()
                next_at = loop.time()
            next_at += self.pace
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -self.pace:
                stats.late += 1
                next_at = loop.time()
            finished = False
            written = 0
            for stream in self.active:
                transport = stream.transport
                if transport.is_closing():
                    stream.done.set_result(None)
                    finished = True
                elif transport.get_write_buffer_size() > HIGH_WATER:
                    stats.skipped += 1
                else:
                    transport.write(stream.chunks[stream.pos])
                    written += 1
                    stream.pos += 1
                    if stream.pos == len(stream.chunks):
                        stream.done.set_result(None)
                        finished = True
            stats.events += written
            if finished:
                self.active = [s for s in self.active if not s.done.done()]


async def serve(spec: Spec, max_requests: int, deadline: float, pace: float, ticker: bool) -> None:
    server = Server(spec, max_requests, pace, ticker)
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the benchmark closed the pipe or died
        loop.call_soon_threadsafe(server.done.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    # a deep accept queue: hundreds of streams connect at once in the concurrency benchmark (the default of 100
    # would drop SYNs, which the kernel retries a second later)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
    print(f"PORT {listener.sockets[0].getsockname()[1]}", flush=True)
    ticking = asyncio.create_task(server.tick())
    async with listener:
        try:
            await asyncio.wait_for(server.done.wait(), deadline)
        except TimeoutError:
            print("deadline reached", file=sys.stderr)
    ticking.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text-deltas", type=int, default=20_000)
    parser.add_argument("--tool-calls", type=int, default=1)
    parser.add_argument("--fragments", type=int, default=200)
    parser.add_argument("--max-requests", type=int, default=1_000)
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between events (0: as fast as read)")
    parser.add_argument("--ticker", action="store_true", help="pace all open streams from one ticker")
    args = parser.parse_args()
    spec = Spec(text_deltas=args.text_deltas, tool_calls=args.tool_calls, fragments_per_call=args.fragments)
    asyncio.run(serve(spec, args.max_requests, args.deadline, args.pace, args.ticker))


if __name__ == "__main__":
    main()
