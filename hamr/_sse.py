"""Server-sent events, sans-IO: feed bytes in any split, get whole events out (WHATWG event-stream rules)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str
    id: str | None = None


class SSEDecodeError(ValueError):
    """The byte stream is not valid UTF-8."""


class SSEDecoder:
    """Incremental decoder. ``feed(bytes)`` returns the events completed by those bytes; ``close()`` returns an
    event left unterminated at end of stream (servers that omit the final blank line still lose nothing).

    Lines end at CRLF, LF or CR, also when a CRLF pair is split across two ``feed`` calls; multi-byte UTF-8
    characters may be split anywhere. Comment lines (``: ...``) are skipped.
    """

    __slots__ = ("_data", "_decoder", "_event", "_id", "_pending", "_skip_lf")

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._pending = ""
        self._skip_lf = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise SSEDecodeError(f"stream is not valid UTF-8: {exc.reason}") from None
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            if text.endswith("\r"):
                # the LF of a CRLF may arrive in the next chunk; the line is complete either way
                self._skip_lf = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        end = text.rfind("\n")
        if end < 0:
            self._pending += text
            return []
        block = self._pending + text[:end] if self._pending else text[:end]
        self._pending = text[end + 1 :]
        return self._lines(block.split("\n"))

    def close(self) -> list[SSEEvent]:
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise SSEDecodeError(f"stream ends inside a UTF-8 character: {exc.reason}") from None
        lines = [self._pending + tail] if (self._pending or tail) else []
        self._pending = ""
        events = self._lines([*lines, ""])
        return events

    def _lines(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(SSEEvent(self._event or "message", "\n".join(data), self._id))
                    data = self._data = []
                self._event = ""
                continue
            if line[0] == ":":
                continue
            name, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id" and "\0" not in value:
                self._id = value
        return events
