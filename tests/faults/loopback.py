"""A tiny HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose, for tests that must go through real sockets.

The first path segment picks the behaviour, the second the protocol whose bodies it sends (``/stall/openai/v1/...``).
It is bounded: it listens on an ephemeral loopback port, every stall ends after ``HOLD`` seconds or when the server
stops, one request per connection, and it shuts itself down after ``LIFETIME`` seconds even if a test forgets to.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
from collections import Counter
from types import TracebackType

from tests.faults.faultkit import WIRES, sse, stream_body

HOLD = 10.0
LIFETIME = 120.0

BEHAVIOURS = {
    "ok": "a normal answer",
    "reset": "reads the request, then resets the connection (TCP RST) before any response byte",
    "stall": "reads the request, then sends nothing",
    "stall-body": "sends the status line, headers and the first part of the body, then nothing",
    "truncate": "sends the status line, headers and the first part of the body, then closes the connection",
    "echo-key": "answers 401 with an error message that repeats the credentials it received",
    "huge-header": "answers 200 with a 1 MiB response header",
    "drip": "streams a text delta every DRIP seconds until the client hangs up (counted in hangups)",
    "error-event": "streams the first deltas, then an error event (overloaded_error), and ends the body",
}
DRIP = 0.01


class _Handler(socketserver.StreamRequestHandler):
    server: MisbehavingServer

    def handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1")
        headers: dict[str, str] = {}
        while (line := self.rfile.readline(65536).decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.rfile.read(int(headers.get("content-length", "0")))
        _, path, _ = request_line.split(" ", 2)
        behaviour, protocol = path.strip("/").split("/")[:2]
        self.server.hits[behaviour] += 1
        stream = bool(body and json.loads(body).get("stream"))
        getattr(self, "do_" + behaviour.replace("-", "_"))(protocol, stream, headers)

    def _head(self, status: str, content_type: str, length: int | None) -> None:
        framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
        self.wfile.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n".encode()
        )

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _first_part(self, protocol: str, stream: bool) -> None:
        """Headers and the first part of a 200: the stream's first deltas (chunked), or half a JSON document."""
        wire = WIRES[protocol]
        if stream:
            self._head("200 OK", "text/event-stream", None)
            self._chunk(stream_body(wire, end=False))
        else:
            whole = wire.chat()
            self._head("200 OK", "application/json", len(whole))
            self.wfile.write(whole[: len(whole) // 2])
        self.wfile.flush()

    def do_ok(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        wire = WIRES[protocol]
        body = stream_body(wire) if stream else wire.chat()
        self._head("200 OK", "text/event-stream" if stream else "application/json", len(body))
        self.wfile.write(body)

    def do_reset(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def do_stall(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        self.server.released.wait(HOLD)

    def do_stall_body(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        self._first_part(protocol, stream)
        self.server.released.wait(HOLD)

    def do_truncate(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        self._first_part(protocol, stream)  # and return: the connection closes with the body unfinished

    def do_huge_header(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"x" * (1024 * 1024) + b"\r\nConnection: close\r\n\r\n")

    def do_drip(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        wire = WIRES[protocol]
        self._head("200 OK", "text/event-stream", None)
        try:
            if wire.head():  # an empty chunk would end the body
                self._chunk(wire.head())
            n = 0
            while not self.server.released.wait(DRIP):
                self._chunk(wire.delta(f"d{n} "))
                self.wfile.flush()
                n += 1
        except OSError:  # the client hung up: writing to its closed connection fails
            self.server.hangups += 1
            self.server.hung_up.set()

    def do_error_event(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        wire = WIRES[protocol]
        body = stream_body(wire, end=False) + sse(wire.error("overloaded_error", "Overloaded"), "error")
        self._head("200 OK", "text/event-stream", len(body))
        self.wfile.write(body)

    def do_echo_key(self, protocol: str, stream: bool, headers: dict[str, str]) -> None:
        received = " ".join(headers.get(h, "") for h in ("authorization", "x-api-key", "x-tenant"))
        body = json.dumps(WIRES[protocol].error("authentication_error", f"invalid credentials: {received}")).encode()
        self._head("401 Unauthorized", "application/json", len(body))
        self.wfile.write(body)


class MisbehavingServer(socketserver.ThreadingTCPServer):
    """``with MisbehavingServer() as server: server.url("stall", "openai")``; ``hits`` counts requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.released = threading.Event()
        self.hangups = 0
        self.hung_up = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._deadline = threading.Timer(LIFETIME, self.stop)
        self._deadline.daemon = True

    def url(self, behaviour: str, protocol: str) -> str:
        assert behaviour in BEHAVIOURS
        suffix = "/v1" if protocol == "openai" else ""
        return f"http://127.0.0.1:{self.server_address[1]}/{behaviour}/{protocol}{suffix}"

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        self._deadline.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.shutdown()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._deadline.cancel()
        self.stop()
        self.server_close()
        self._thread.join(timeout=5)
