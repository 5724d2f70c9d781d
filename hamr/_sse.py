"""Server-sent events, sans-IO: feed bytes in any split, get whole events out (WHATWG event-stream rules)."""

from __future__ import annotations

from codecs import utf_8_decode as _utf8_decode
from collections.abc import Sequence
from typing import NamedTuple

DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024


class SSEEvent(NamedTuple):
    """One dispatched event. A named tuple: a bulk read makes one per event, and a tuple is the cheapest
    immutable record Python builds (a frozen dataclass pays an ``object.__setattr__`` per field)."""

    event: str
    data: str
    id: str | None = None


#: an event as the decoder makes it inside: (event, data, id), a plain tuple (``feed`` hands out SSEEvents; the
#: stream decoder takes these, a bulk read's events then cost an eighth of what named tuples cost to make)
RawEvent = tuple[str, str, str | None]


def _named(events: Sequence[RawEvent]) -> list[SSEEvent]:
    return [SSEEvent(*event) for event in events]


class SSEDecodeError(ValueError):
    """The byte stream is not valid UTF-8. ``events`` holds the events completed before the first bad byte, so a
    caller can still deliver them."""

    def __init__(self, message: str, events: list[RawEvent] | None = None) -> None:
        super().__init__(message)
        self.events: Sequence[RawEvent] = events or []


class SSEDecoder:
    """Incremental decoder. ``feed(bytes)`` returns the events completed by those bytes; ``close()`` returns an
    event left unterminated at end of stream (servers that omit the final blank line still lose nothing).

    Lines end at CRLF, LF or CR, also when a CRLF pair is split across two ``feed`` calls; multi-byte UTF-8
    characters may be split anywhere. Comment lines (``: ...``) are skipped, and so is one byte order mark at the
    very start of the stream.

    An event may hold at most ``max_event_size`` characters, all its lines counted (a line without end, millions
    of data lines): beyond that ``feed`` raises SSEDecodeError instead of holding ever more. The size is checked
    once per read, not per line or character, and what is held stays near that size: a line is extended in place,
    and many data lines are folded into one string per thousand.
    """

    __slots__ = (
        "_at_start",
        "_data",
        "_event",
        "_folded",
        "_id",
        "_limit",
        "_open",
        "_pending",
        "_skip_lf",
        "_undecoded",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._limit = max_event_size
        self._open = 0  # characters read since the blank line that ended the last event
        self._folded = 0  # entries of _data that are folded runs of lines
        self._at_start = True  # no text yet: a leading BOM is still to be dropped
        self._undecoded = b""  # the start of a UTF-8 character split across reads
        self._pending = ""
        self._skip_lf = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events ``chunk`` completes."""
        try:
            return _named(self.decode(chunk))
        except SSEDecodeError as exc:
            exc.events = _named(exc.events)
            raise

    def close(self) -> list[SSEEvent]:
        """End of stream: an event left without its blank line."""
        return _named(self.finish())

    def decode(self, chunk: bytes) -> list[RawEvent]:
        """``feed``, as plain tuples."""
        if self._undecoded:
            chunk = self._undecoded + chunk
        try:
            # codecs' C decoder directly: the incremental decoder object wraps it in Python, per read
            text, used = _utf8_decode(chunk, "strict", False)
        except UnicodeDecodeError as exc:
            # all before the bad byte is valid and still delivered
            self._undecoded = b""
            valid = chunk[: exc.start].decode("utf-8")
            raise SSEDecodeError(f"stream is not valid UTF-8: {exc.reason}", self._text(valid)) from None
        self._undecoded = chunk[used:] if used < len(chunk) else b""
        return self._text(text)

    def _text(self, text: str) -> list[RawEvent]:
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            if text.endswith("\r"):
                # the LF of a CRLF may arrive in the next chunk; the line is complete either way
                self._skip_lf = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return []
        gap = text.rfind("\n\n")
        if gap >= 0:
            self._open = len(text) - gap - 2
        elif text[0] == "\n" and not self._pending:  # the blank line began at the end of the last read
            self._open = len(text) - 1
        else:
            self._open += len(text)
        end = text.rfind("\n")
        if end < 0:
            # with the attribute let go, `+=` on the only reference grows the string in place (CPython): a long
            # line is not copied on every read
            pending, self._pending = self._pending, ""
            pending += text
            self._pending = pending
            if self._open > self._limit:
                raise self._too_large([])
            return []
        block = self._pending + text[: end + 1] if self._pending else text[: end + 1]
        self._pending = text[end + 1 :]
        events = self._blocks(block)
        if self._open > self._limit:
            raise self._too_large(events)
        if len(self._data) > 1024:
            self._fold()
        return events

    def _blocks(self, block: str) -> list[RawEvent]:
        """The events of ``block``: whole lines, each ending in a newline. A bulk read holds many events, nearly
        all of one shape: ``_uniform`` takes those at once. What it cannot take goes through ``_parts``; the lines
        of an event begun in an earlier read and of one still open at the end go through the line loop."""
        events: list[RawEvent] = []
        if block[:1] == "\n":  # a blank line first: it ends the event begun earlier, if any
            events, block = self._lines([""]), block[1:]
        elif self._data or self._event:  # the block goes on with an event begun earlier: its lines up to its end
            cut = block.find("\n\n")
            if cut < 0:
                return self._lines(block[:-1].split("\n"))  # that event does not end in this block
            events, block = self._lines(block[: cut + 1].split("\n")), block[cut + 2 :]
        end = block.rfind("\n\n") + 2
        uniform = self._uniform(block[:end]) if end > 1 else None
        if uniform is None:
            return events + self._parts(block)
        tail = block[end:]  # the lines of an event still open, each ended by a newline
        return events + uniform + (self._lines(tail[:-1].split("\n")) if tail else [])

    def _uniform(self, block: str) -> list[RawEvent] | None:
        """The events of ``block`` (whole events, no state held) when all are ``data: X`` (OpenAI-style) or all
        ``event: E`` + ``data: X`` (Anthropic-style), else None."""
        event_id = self._id
        if block[:6] == "data: ":
            # one data line each: the block is "data: " + the data joined by "\n\ndata: " + "\n\n", two
            # newlines per event and no other line anywhere
            datas = block[6:-2].split("\n\ndata: ")
            if block.count("\n") == 2 * len(datas):
                return [("message", data, event_id) for data in datas]
        elif block[:7] == "event: ":
            # an event line and a data line each: the lines come in threes, the third blank
            lines = block.split("\n")
            names, datas = lines[0:-1:3], lines[1::3]
            if len(lines) % 3 == 1 and not any(lines[2::3]):
                events = [
                    (name[7:] or "message", data[6:], event_id)
                    for name, data in zip(names, datas, strict=True)
                    if name[:7] == "event: " and data[:6] == "data: "
                ]
                if len(events) == len(names):
                    return events
        return None

    def _parts(self, block: str) -> list[RawEvent]:
        """The events of ``block`` (no state held), event by event. Cut at each "\n\n", the block is parts
        P0 .. Pk: each part before the last holds lines (split at "\n") followed by a blank line; the last, Pk,
        holds lines of an event still open (each ended by the "\n" ``block`` ends with), or nothing."""
        parts = block.split("\n\n")
        last = parts.pop()
        events: list[RawEvent] = []
        append = events.append
        event_id = self._id
        for part in parts:
            if part[:6] == "data: ":
                if "\n" not in part:
                    append(("message", part[6:], event_id))
                    continue
            elif part[:7] == "event: ":
                cut = part.find("\n")
                if part[cut + 1 : cut + 7] == "data: " and "\n" not in part[cut + 7 :]:
                    append((part[7:cut] or "message", part[cut + 7 :], event_id))
                    continue
            events += self._lines([*part.split("\n"), ""])
            event_id = self._id
        if last:
            events += self._lines(last[:-1].split("\n"))
        return events

    def _fold(self) -> None:
        """Join the data lines gathered since the last fold into one string: an event of millions of short lines
        then costs about its characters, not a string object per line. (Joining joined runs gives the same data.)"""
        data = self._data
        start = self._folded if self._folded < len(data) else 0
        data[start:] = ["\n".join(data[start:])]
        self._folded = start + 1

    def _too_large(self, events: list[RawEvent]) -> SSEDecodeError:
        """The error for an event past the limit; what it had gathered is let go, the stream cannot go on."""
        self._pending, self._data, self._open, self._folded = "", [], 0, 0
        return SSEDecodeError(f"an event grew past max_event_bytes ({self._limit:,} characters) without ending", events)

    def whole(self, chunk: bytes) -> RawEvent | None:
        """``(event, data, id)`` when ``chunk`` is exactly one event, ``data: X`` or ``event: E`` + ``data: X``, and
        nothing is left over from earlier reads: what ``feed`` would return for it, without an SSEEvent or the
        line loop. None for any other read, and for the first (it may open with a BOM): ``feed`` then takes it.
        Live token streams arrive one event per read, so this is the streaming hot path: operators and slices, not
        method calls, where they can be."""
        if self._pending or self._undecoded or self._data or self._skip_lf or self._at_start:
            return None
        try:
            text = chunk.decode()
        except UnicodeDecodeError:
            return None  # feed raises the error, with what came before
        event = self._event
        if text[:7] == "event: ":
            end = text.find("\n")
            event, text = text[7:end], text[end + 1 :]
            if "\r" in event:
                return None
        data = text[6:-2]
        if text[:6] != "data: " or text[-2:] != "\n\n" or "\n" in data or "\r" in data:
            return None
        self._event = ""
        self._open = 0
        return event or "message", data, self._id

    def finish(self) -> list[RawEvent]:
        """``close``, as plain tuples."""
        try:
            tail, _ = _utf8_decode(self._undecoded, "strict", True)
        except UnicodeDecodeError as exc:
            raise SSEDecodeError(f"stream ends inside a UTF-8 character: {exc.reason}") from None
        lines = [self._pending + tail] if (self._pending or tail) else []
        self._pending = ""
        events = self._lines([*lines, ""])
        return events

    def _lines(self, lines: list[str]) -> list[RawEvent]:
        events: list[RawEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append((self._event or "message", "\n".join(data), self._id))
                    data.clear()
                self._event = ""
                continue
            # data and event lines are nearly every line: the same results as the general rule below, sooner (and
            # by slices and comparisons, which cost less than method calls)
            if line[:5] == "data:":
                data.append(line[6:] if line[5:6] == " " else line[5:])
                continue
            if line[:6] == "event:":
                self._event = line[7:] if line[6:7] == " " else line[6:]
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
