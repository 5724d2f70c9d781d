"""The soak's fault server: HTTP/1.1 on 127.0.0.1, one request per connection, both protocols' bodies. Each request
names its fault and its id in the user message (``soak <id> <fault> <pieces>``); the server answers each attempt as
that fault says, and keeps every attempt's time so the soak can check retries and Retry-After. Run alone it prints
its port and serves until stdin closes or LIFETIME passes: ``python tests/faults/soak_server.py``.

Bodies are CONSTRUCTED from the documented wire formats (faultkit.py cites them)."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import defaultdict

from tests.faults.faultkit import WIRES, Wire

LIFETIME = 1800.0  # seconds: the server stops by itself even if the soak forgets it
HOLD = 3.0  # seconds a stall or drip lasts at most
DRIP = 0.001  # seconds between bytes of a slow drip
WAITS = {"429-retry-after-ms": 0.1, "503-retry-after": 1.0, "429-exhausted": 0.05}

#: fault -> what each attempt gets, read by the handler; the soak holds the matching expectations
FAULTS = (
    "ok",
    "429-retry-after-ms",
    "429",
    "503-retry-after",
    "529-twice",
    "429-exhausted",
    "reset-before",
    "reset-mid",
    "truncate",
    "stall",
    "error-event",
    "first-event-error",
    "drip",
    "garbage",
    "abandon",
)


def piece(rid: int, k: int) -> str:
    return f"r{rid}.{k} "


def text_of(rid: int, pieces: int) -> str:
    return "".join(piece(rid, k) for k in range(pieces))


def overloaded(wire: Wire) -> dict[str, object]:
    return wire.error("overloaded_error", "Overloaded")


class _Handler(socketserver.StreamRequestHandler):
    server: SoakServer

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up: the abandon and timeout cases do it on purpose
            self._handle()

    def _handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1")
        if not request_line:
            return
        headers: dict[str, str] = {}
        while (line := self.rfile.readline(65536).decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.rfile.read(int(headers.get("content-length", "0")))
        method, path, _ = request_line.split(" ", 2)
        if method == "GET" and path == "/stats":
            return self._send("200 OK", "application/json", json.dumps(self.server.stats()).encode())
        protocol = path.strip("/").split("/")[0]
        data = json.loads(body)
        if protocol.startswith("endless-"):
            return self.do_endless(protocol)
        content = data["messages"][-1]["content"]
        _, rid_text, fault, pieces_text = content.split()
        rid, pieces = int(rid_text), int(pieces_text)
        attempt = self.server.attempt(rid)
        wire, stream = WIRES[protocol], bool(data.get("stream"))
        getattr(self, "do_" + fault.replace("-", "_"))(wire, stream, rid, pieces, attempt)

    # -- writing --------------------------------------------------------------------------------------------------

    def _send(self, status: str, content_type: str, body: bytes, extra: str = "") -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}"
        self.wfile.write(f"{head}Connection: close\r\n\r\n".encode() + body)

    def _chunked(self, content_type: str) -> None:
        self.wfile.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n".encode()
        )

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _ok(self, wire: Wire, stream: bool, rid: int, pieces: int) -> None:
        if stream:
            body = wire.head() + b"".join(wire.delta(piece(rid, k)) for k in range(pieces)) + wire.tail()
            self._send("200 OK", "text/event-stream", body)
        else:
            self._send("200 OK", "application/json", wire.chat(text_of(rid, pieces)))

    def _error(self, wire: Wire, status: str, etype: str, extra: str = "") -> None:
        self._send(status, "application/json", json.dumps(wire.error(etype, "try again")).encode(), extra)

    def _first_part(self, wire: Wire, stream: bool, rid: int, pieces: int) -> None:
        """A 200's head and the stream's first ``pieces`` deltas, or the first half of a chat body."""
        if stream:
            self._chunked("text/event-stream")
            self._chunk(wire.head() + b"".join(wire.delta(piece(rid, k)) for k in range(pieces)))
        else:
            whole = wire.chat(text_of(rid, pieces))
            self.wfile.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(whole)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + whole[: len(whole) // 2]
            )
            self.wfile.flush()

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _hold(self) -> None:
        """Send nothing until the client hangs up (or HOLD passes): a stall the client's timeout must end."""
        self.connection.settimeout(HOLD)
        with contextlib.suppress(TimeoutError):
            self.connection.recv(1)

    # -- faults ---------------------------------------------------------------------------------------------------

    def do_ok(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        self._ok(wire, stream, rid, pieces)

    def do_429_retry_after_ms(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt == 1:
            return self._error(wire, "429 Too Many Requests", "rate_limit_error", "retry-after-ms: 100\r\n")
        self._ok(wire, stream, rid, pieces)

    def do_429(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt == 1:
            return self._error(wire, "429 Too Many Requests", "rate_limit_error")
        self._ok(wire, stream, rid, pieces)

    def do_503_retry_after(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt == 1:
            return self._error(wire, "503 Service Unavailable", "api_error", "retry-after: 1\r\n")
        self._ok(wire, stream, rid, pieces)

    def do_529_twice(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt <= 2:
            return self._error(wire, "529 Overloaded", "overloaded_error")
        self._ok(wire, stream, rid, pieces)

    def do_429_exhausted(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        self._error(wire, "429 Too Many Requests", "rate_limit_error", "retry-after-ms: 50\r\n")

    def do_reset_before(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt == 1:
            return self._reset()
        self._ok(wire, stream, rid, pieces)

    def do_reset_mid(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        self._first_part(wire, stream, rid, pieces)
        # a reset throws away what the client's kernel has not handed over yet: let the client read it first
        time.sleep(0.2)
        self._reset()

    def do_truncate(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        self._first_part(wire, stream, rid, pieces)  # and return: closed with the body unfinished

    def do_stall(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        self._first_part(wire, stream, rid, pieces)
        self._hold()

    def do_error_event(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if not stream:
            return self._send("200 OK", "application/json", json.dumps(overloaded(wire)).encode())
        self._chunked("text/event-stream")
        self._chunk(wire.head() + b"".join(wire.delta(piece(rid, k)) for k in range(pieces)))
        self._chunk(_sse(overloaded(wire), "error"))
        self._end_chunks()

    def do_first_event_error(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if attempt > 1 or not stream:
            return self._ok(wire, stream, rid, pieces)
        self._chunked("text/event-stream")
        self._chunk(wire.head() + _sse(overloaded(wire), "error"))
        self._end_chunks()

    def do_drip(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        if stream:
            body = wire.head() + b"".join(wire.delta(piece(rid, k)) for k in range(pieces)) + wire.tail()
        else:
            body = wire.chat(text_of(rid, pieces))
        self.wfile.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: {'text/event-stream' if stream else 'application/json'}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for i in range(0, len(body), 4):  # four bytes at a time: a slow drip that still ends within a second
            self.wfile.write(body[i : i + 4])
            self.wfile.flush()
            time.sleep(DRIP)

    def do_garbage(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        garbage = b"\x00\xff\xfe garbage {{{ \x80\n\n"
        self._send("200 OK", "text/event-stream" if stream else "application/json", garbage)

    def do_abandon(self, wire: Wire, stream: bool, rid: int, pieces: int, attempt: int) -> None:
        """Deltas without end until the client hangs up (it leaves after a few): the hang-up is recorded."""
        self._chunked("text/event-stream")
        if wire.head():  # an empty chunk would end the body
            self._chunk(wire.head())
        started = time.monotonic()
        k = 0
        try:
            while time.monotonic() - started < HOLD:
                self._chunk(wire.delta(piece(rid, k)))
                k += 1
                time.sleep(0.005)
        except OSError:
            self.server.hang_up(rid)

    def do_endless(self, shape: str) -> None:
        """A 200 without end until the client hangs up: one line, data lines without a blank line, or a chunked
        JSON body (openai-compatible)."""
        wire = WIRES["openai"]
        if shape == "endless-body":
            self._chunked("application/json")
            self._chunk(b'{"id": "')
            filler = b"x" * 65536
        else:
            self._chunked("text/event-stream")
            self._chunk(wire.delta("Hel") + b"data: ")
            filler = b"x" * 65536 if shape == "endless-line" else b"xy\ndata: " * 7000
        sent, started = 0, time.monotonic()
        while sent < 1 << 30 and time.monotonic() - started < 60:
            self._chunk(filler)
            sent += len(filler)


def _sse(data: object, event: str) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class SoakServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self._attempts: dict[int, list[float]] = defaultdict(list)
        self._hangups: set[int] = set()

    def attempt(self, rid: int) -> int:
        with self._lock:
            self._attempts[rid].append(time.monotonic())
            return len(self._attempts[rid])

    def hang_up(self, rid: int) -> None:
        with self._lock:
            self._hangups.add(rid)

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {"attempts": dict(self._attempts), "hangups": sorted(self._hangups)}


def main() -> None:
    server = SoakServer()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print(server.server_address[1], flush=True)
    watcher = threading.Thread(target=sys.stdin.read, daemon=True)  # stdin closes when the soak ends or dies
    watcher.start()
    watcher.join(LIFETIME)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
