"""A loopback SSE server for the end-to-end benchmark: ``POST /v1/chat/completions`` streams the OpenAI-style body and
``POST /v1/messages`` the Anthropic-style one from streams.py, one HTTP chunk per SSE event, as fast as the client
reads or, with ``--pace``, one event every that many seconds (as a model generates). HTTP/1.1 through h11,
keep-alive.

Bounded: binds 127.0.0.1 on an ephemeral port (printed as ``PORT <n>`` on stdout), and stops by itself when its
stdin closes (the benchmark ended or died), after ``--max-requests``, or at ``--deadline`` seconds, whichever
comes first. Run: ``python server.py --text-deltas 20000``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading

import h11
from streams import EVENTS, Spec

ROUTES = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}


def _chunked(event: bytes) -> bytes:
    """One SSE event as one HTTP/1.1 chunk; done once at start, so serving costs one write per event and the
    client, not the server, sets the pace."""
    return b"%x\r\n%s\r\n" % (len(event), event)


class Server:
    def __init__(self, spec: Spec, max_requests: int, pace: float) -> None:
        self.pace = pace
        self.bodies = {proto: [_chunked(ev) for ev in events(spec)] for proto, events in EVENTS.items()}
        self.left = max_requests
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        target = b""
        try:
            while not self.done.is_set():
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Request):
                    target = event.target
                elif isinstance(event, h11.EndOfMessage):
                    await self.respond(conn, writer, ROUTES.get(target.decode()))
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    break
        except (ConnectionError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down with a kept-alive connection open: end quietly, not as a failed task
        finally:
            writer.close()

    async def respond(self, conn: h11.Connection, writer: asyncio.StreamWriter, protocol: str | None) -> None:
        if protocol is None:
            writer.write(conn.send(h11.Response(status_code=404, headers=[("content-length", "0")])))
            writer.write(conn.send(h11.EndOfMessage()))
            return
        headers = [("content-type", "text/event-stream; charset=utf-8"), ("transfer-encoding", "chunked")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        # the body chunks are pre-framed (chunked encoding) at start; h11 then only writes the terminating chunk
        for chunk in self.bodies[protocol]:
            writer.write(chunk)
            await writer.drain()
            if self.pace:
                await asyncio.sleep(self.pace)
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        self.left -= 1
        if self.left <= 0:
            self.done.set()


async def serve(spec: Spec, max_requests: int, deadline: float, pace: float) -> None:
    server = Server(spec, max_requests, pace)
    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the benchmark closed the pipe or died
        loop.call_soon_threadsafe(server.done.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    print(f"PORT {listener.sockets[0].getsockname()[1]}", flush=True)
    async with listener:
        try:
            await asyncio.wait_for(server.done.wait(), deadline)
        except TimeoutError:
            print("deadline reached", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text-deltas", type=int, default=20_000)
    parser.add_argument("--tool-calls", type=int, default=1)
    parser.add_argument("--fragments", type=int, default=200)
    parser.add_argument("--max-requests", type=int, default=1_000)
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between events (0: as fast as read)")
    args = parser.parse_args()
    spec = Spec(text_deltas=args.text_deltas, tool_calls=args.tool_calls, fragments_per_call=args.fragments)
    asyncio.run(serve(spec, args.max_requests, args.deadline, args.pace))


if __name__ == "__main__":
    main()
