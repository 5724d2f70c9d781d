"""Streaming decode shared by both protocols: accumulate deltas into a Completion, split <think> blocks, and join
the SSE decoder to a protocol's event parser (bytes in, neutral events out)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from ._errors import StreamError
from ._sse import DEFAULT_MAX_EVENT_SIZE, RawEvent, SSEDecodeError, SSEDecoder
from ._types import Completion, RateLimits, ReasoningBlock, StreamEvent, ToolCall, Usage

_FINISH = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "max_output_tokens": "length",  # the Responses API's incomplete_details.reason
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "safety": "content_filter",
    # Anthropic: "the response filled the model's context window", a truncation like max_tokens
    "model_context_window_exceeded": "length",
}


# the decoder's C scanner (what json.loads runs after its Python-level whitespace handling); untyped in typeshed
scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def stream_json(data: str) -> Any:
    """``json.loads(data)`` for one data line, a third cheaper: json's C scanner directly, and json.loads itself
    (its whitespace rules, its errors) only when the text does not start and end exactly on the value."""
    try:
        value, end = scan_json(data, 0)
    except StopIteration:
        return json.loads(data)
    return value if end == len(data) else json.loads(data)


def scan_whole(data: str) -> Any:
    """The JSON value ``data`` holds when it is exactly one value with nothing around it, else None (a bulk read's
    shortcut then leaves the event to the general parser, which raises the error or takes the odd form)."""
    try:
        value, end = scan_json(data, 0)
    except (StopIteration, ValueError):
        return None
    return value if end == len(data) else None


class UnreadableEvent(Exception):
    """Raised by a parser's ``feed_many`` for an event of a shape it cannot read: ``data`` is the event's data,
    ``error`` what the general parser raised (StreamDecoder turns it into a StreamError keeping the partial)."""

    def __init__(self, data: str, error: Exception) -> None:
        super().__init__(data, error)
        self.data, self.error = data, error


def feed_one(feed: Callable[[str, str], list[StreamEvent]], event: str, data: str, out: list[StreamEvent]) -> None:
    """A ``feed_many`` shortcut's way out: the general parser's events for one event, added to ``out``."""
    try:
        out += feed(event, data)
    except _SHAPE_ERRORS as exc:
        raise UnreadableEvent(data, exc) from None


def normalize_finish(reason: object) -> str | None:
    """Map provider finish/stop reasons to stop | length | tool_calls | content_filter; others pass through."""
    if reason is None or reason == "":
        return None
    return _FINISH.get(str(reason), str(reason))


def settle_finish(reason: str | None, has_calls: bool) -> str | None:
    """The finish_reason a completion reports: an answer holding tool calls never says the turn is over (Ollama
    and others send ``stop`` with their calls)."""
    return "tool_calls" if has_calls and reason == "stop" else reason


def ensure_call_id(given: str, number: int) -> str:
    """A tool call's id, or ``call_<n>`` for a call that came without one (local servers, gateways), so the result
    can be matched to it on the next turn."""
    return given or f"call_{number}"


# a surrogate code point: what a server's JSON "\ud83d" escape becomes when its pair comes in another delta
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_has_surrogate = _SURROGATE.search


def fix_surrogates(text: str) -> str:
    """``text`` with every surrogate pair joined into its character and every lone surrogate as U+FFFD."""
    if text.isascii() or not _has_surrogate(text):
        return text
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


def split_think(text: str) -> tuple[str, str]:
    """(reasoning, text) of a completed content string that starts with a ``<think>`` block."""
    stripped = text.lstrip()
    if not stripped.startswith("<think>"):
        return "", text
    inner, found, rest = stripped[len("<think>") :].partition("</think>")
    if not found:
        return inner, ""
    return inner, rest.lstrip()


class ThinkSplitter:
    """Routes streamed content that opens with ``<think>`` to reasoning until ``</think>``, with the tags split
    across any number of deltas. Content that does not open with the tag passes through untouched."""

    __slots__ = ("_buf", "_state")
    _OPEN, _CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._state = "start"  # start -> think -> after -> text
        self._buf = ""

    def feed(self, delta: str) -> list[tuple[str, str]]:
        """Returns (kind, text) pieces, kind 'text' or 'reasoning'."""
        if self._state == "text":
            return [("text", delta)]
        out: list[tuple[str, str]] = []
        self._buf += delta
        if self._state == "start":
            head = self._buf.lstrip()
            if not head or (len(head) < len(self._OPEN) and self._OPEN.startswith(head)):
                return out
            if not head.startswith(self._OPEN):
                self._state = "text"
                text, self._buf = self._buf, ""
                return [("text", text)]
            self._state = "think"
            self._buf = head[len(self._OPEN) :]
        if self._state == "think":
            inner, found, rest = self._buf.partition(self._CLOSE)
            if found:
                if inner:
                    out.append(("reasoning", inner))
                self._state, self._buf = "after", rest
            else:
                keep = _partial_suffix(self._buf, self._CLOSE)
                safe = self._buf[: len(self._buf) - keep]
                if safe:
                    out.append(("reasoning", safe))
                self._buf = self._buf[len(safe) :]
                return out
        if self._state == "after":
            rest = self._buf.lstrip()
            self._buf = ""
            if rest:
                self._state = "text"
                out.append(("text", rest))
        return out

    def pending(self) -> list[tuple[str, str]]:
        """What is held back waiting for more input, as it would come out if the stream ended now."""
        if not self._buf or self._state == "after":
            return []
        return [("reasoning" if self._state == "think" else "text", self._buf)]

    def flush(self) -> list[tuple[str, str]]:
        out = self.pending()
        self._buf = ""
        return out


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class _CallBuilder:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []


class _Deltas:
    """Streamed text kept for the Completion, joined in batches: a long stream then costs about the size of its
    text, not one string object per delta (~60 bytes each). With ``keep=False`` nothing is kept."""

    __slots__ = ("_batches", "_recent", "keep")
    BATCH = 256

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self._batches: list[str] = []
        self._recent: list[str] = []

    def append(self, delta: str) -> None:
        if self.keep:
            recent = self._recent
            recent.append(delta)
            if len(recent) >= self.BATCH:
                self.fold()

    def fold(self) -> None:
        self._batches.append("".join(self._recent))
        self._recent.clear()

    def join(self) -> str:
        text = "".join([*self._batches, *self._recent])
        # keep the result in place of its parts, so the text is held once, not twice
        self._batches, self._recent = [text], []
        return text


class _SurrogateJoiner:
    """Holds back a high surrogate that ends a delta until the next delta brings its partner."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = ""

    def feed(self, delta: str) -> str:
        delta = self.held + delta
        self.held = ""
        if "\ud800" <= delta[-1] <= "\udbff":
            self.held, delta = delta[-1], delta[:-1]
        return fix_surrogates(delta)

    def pending(self) -> str:
        """What a held half would be if the stream ended now: U+FFFD."""
        return "\ufffd" if self.held else ""


class Accumulator:
    """The state of one streamed response; ``snapshot()`` is a Completion of everything received so far.

    ``keep_text=False`` keeps no answer text (events still carry every delta): the Completion then has an empty
    ``text`` and memory stays flat however long the stream runs. Reasoning, reasoning blocks (with their
    signatures), tool calls and server blocks are kept either way: the next turn needs them back, and they are
    bounded by the model's output budget."""

    def __init__(self, provider: str, *, think_tags: bool = True, keep_text: bool = True) -> None:
        self.provider = provider
        self.keep_text = keep_text
        self.text = _Deltas(keep_text)
        self.reasoning = _Deltas(True)
        self.blocks: list[ReasoningBlock] = []
        self.calls: dict[object, tuple[int, _CallBuilder]] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.refusal: list[str] = []
        self.stop_sequence: str | None = None
        #: set by a parser that keeps content blocks verbatim (Anthropic server tools): the final text -> blocks
        self.content_blocks: Callable[[str], tuple[dict[str, Any], ...]] | None = None
        #: why the blocks cannot go back as they came (a delta the parser could not join), else None
        self.content_error: str | None = None
        self.model = ""
        self.id = ""
        #: what the response's headers said about the provider's rate limits (set by the client, not the parser)
        self.rate_limits: RateLimits | None = None
        self._think = ThinkSplitter() if think_tags else None
        # text passes straight through: no <think> splitting, or the splitter is past its decision ("text" state)
        self._plain = self._think is None
        self._text_half = _SurrogateJoiner()
        self._reasoning_half = _SurrogateJoiner()

    def finish(self, reason: str | None) -> None:
        """The first finish reason a stream states wins (a Together stream sends ``tool_calls`` twice, then
        ``stop`` with the usage)."""
        if self.finish_reason is None:
            self.finish_reason = reason

    def add_text(self, delta: str, events: list[StreamEvent]) -> None:
        if self._plain and delta and not self._text_half.held and (delta.isascii() or not _has_surrogate(delta)):
            # nearly every delta: plain text going straight through (what the lines below do with it)
            text = self.text
            if text.keep:
                recent = text._recent
                recent.append(delta)
                if len(recent) >= text.BATCH:
                    text.fold()
            events.append(StreamEvent("text", delta))
            return
        if not delta:
            return
        if self._text_half.held or not delta.isascii():
            delta = self._text_half.feed(delta)
            if not delta:
                return
        if self._plain:
            self.text.append(delta)
            events.append(StreamEvent("text", delta))
            return
        assert self._think is not None
        for kind, piece in self._think.feed(delta):
            self._emit(kind, piece, events)
        self._plain = self._think._state == "text"

    def _emit(self, kind: str, piece: str, events: list[StreamEvent]) -> None:
        if kind == "text":
            self.text.append(piece)
            events.append(StreamEvent("text", piece))
        else:
            self.reasoning.append(piece)
            events.append(StreamEvent("reasoning", piece))

    def add_reasoning(self, delta: str, events: list[StreamEvent]) -> None:
        if delta and (self._reasoning_half.held or not delta.isascii()):
            delta = self._reasoning_half.feed(delta)
        if delta:
            self.reasoning.append(delta)
            events.append(StreamEvent("reasoning", delta))

    def tool_fragment(
        self, key: object, call_id: str | None, name: str | None, arguments: str, events: list[StreamEvent]
    ) -> None:
        entry = self.calls.get(key)
        if entry is None:
            entry = self.calls[key] = (len(self.calls), _CallBuilder())
        index, call = entry
        new_id = call_id if call_id and call_id != call.id else None
        new_name = name if name and name != call.name else None
        if new_id:
            call.id = new_id
        if new_name:
            call.name = new_name
        if arguments:
            call.arguments.append(arguments)
        if new_id or new_name or arguments:
            events.append(StreamEvent("tool_call", index=index, id=new_id, name=new_name, arguments=arguments))

    def set_usage(self, usage: Usage, events: list[StreamEvent]) -> None:
        if usage != self.usage:
            self.usage = usage
            events.append(StreamEvent("usage", usage=usage))

    def finish_text(self, events: list[StreamEvent]) -> None:
        """End of stream: what was held back (a half surrogate pair, a possible ``<think>`` tag) goes out."""
        half = self._reasoning_half.pending()
        self._reasoning_half.held = ""
        self.add_reasoning(half, events)
        half = self._text_half.pending()
        self._text_half.held = ""
        if half:
            self.add_text(half, events)
        if self._think is not None:
            for kind, piece in self._think.flush():
                self._emit(kind, piece, events)

    def snapshot(self) -> Completion:
        calls = tuple(
            ToolCall.from_raw(ensure_call_id(c.id, n), c.name, "".join(c.arguments))
            for n, c in sorted(self.calls.values(), key=lambda entry: entry[0])
        )
        pending = self._think.pending() if self._think is not None else []
        text = self.text.join() + "".join(p for k, p in pending if k == "text") + self._text_half.pending()
        if not self.keep_text:
            text = ""
        reasoning = self.reasoning.join() + "".join(p for k, p in pending if k == "reasoning")
        return Completion(
            text=text,
            reasoning=reasoning + self._reasoning_half.pending(),
            tool_calls=calls,
            finish_reason=settle_finish(self.finish_reason, bool(calls)),
            usage=self.usage,
            model=self.model,
            id=self.id,
            provider=self.provider,
            reasoning_blocks=tuple(self.blocks),
            refusal="".join(self.refusal) or None,
            stop_sequence=self.stop_sequence,
            content_blocks=self.content_blocks(text) if self.content_blocks is not None else (),
            content_error=self.content_error,
            rate_limits=self.rate_limits,
        )


class EventParser(Protocol):
    """What each protocol provides for streaming: decoded SSE events in, neutral events out."""

    acc: Accumulator

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        """One SSE event: its name (``message`` when it has none) and its data."""

    def feed_many(self, sse_events: Sequence[RawEvent], out: list[StreamEvent]) -> None:
        """``feed`` for each event of a bulk read, its events added to ``out`` (a failure raises with ``out``
        holding the events of the events before; a shape error as UnreadableEvent)."""

    def end(self) -> None:
        """Called at end of stream; raises StreamError when the stream stopped before its end marker."""


class StreamDecoder:
    """Bytes in, neutral events out; the last event is ``done`` carrying the Completion. Any failure raises
    StreamError with ``partial`` set to what was received."""

    def __init__(self, parser: EventParser, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._sse = SSEDecoder(max_event_size)
        self._parser = parser
        self.completion: Completion | None = None

    @property
    def partial(self) -> Completion:
        return self._parser.acc.snapshot()

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """What the response's headers said about rate limits: part of ``partial`` and of the Completion."""
        self._parser.acc.rate_limits = limits

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return list(self.iter_feed(chunk))

    def close(self) -> list[StreamEvent]:
        return list(self.iter_close())

    def iter_feed(self, chunk: bytes) -> Iterable[StreamEvent]:
        """The events completed by ``chunk``. On a failure, every event before it is yielded first and then the
        StreamError raised, so everything a caller was handed is in ``partial``: no output is lost."""
        whole = self._sse.whole(chunk)
        if whole is not None:
            # one event per read is how live streams arrive: the parser's shortcut into one list, no generator per
            # read (a failure then comes before any event of this read, as in _parse)
            out: list[StreamEvent] = []
            try:
                self._parser.feed_many((whole,), out)
            except UnreadableEvent as exc:
                raise self._unreadable(exc.data, exc.error) from None
            return out
        try:
            sse_events = self._sse.decode(chunk)
        except SSEDecodeError as exc:
            failure = exc
            return self._parse(lambda: _reraise(failure))
        return self._parse_all(sse_events) if sse_events else ()

    def iter_close(self) -> Iterator[StreamEvent]:
        """End of input: the last events, then ``done`` with the Completion (or the StreamError, after them)."""
        yield from self._parse(self._sse.finish)
        self._parser.end()
        out: list[StreamEvent] = []
        self._parser.acc.finish_text(out)
        yield from out
        self.completion = self._parser.acc.snapshot()
        yield StreamEvent("done", completion=self.completion)

    def _parse_all(self, sse_events: list[RawEvent]) -> Iterable[StreamEvent]:
        """The events of many SSE events as one list (cheaper than a generator per event); on a failure, the events
        before it and then the failure, as in _parse."""
        out: list[StreamEvent] = []
        try:
            self._parser.feed_many(sse_events, out)
        except UnreadableEvent as exc:  # as _event does, without a call per event
            return _deliver_then_raise(out, self._unreadable(exc.data, exc.error))
        except Exception as exc:
            return _deliver_then_raise(out, exc)
        return out

    def _parse(self, decode: Callable[[], list[RawEvent]]) -> Iterator[StreamEvent]:
        sse_events: Sequence[RawEvent]
        try:
            sse_events, undecodable = decode(), None
        except SSEDecodeError as exc:
            sse_events, undecodable = exc.events, exc
        for event, data, _ in sse_events:
            yield from self._event(event, data)
        if undecodable is not None:
            raise self.broken(str(undecodable))

    def _event(self, event: str, data: str) -> list[StreamEvent]:
        try:
            return self._parser.feed(event, data)
        except _SHAPE_ERRORS as exc:
            raise self._unreadable(data, exc) from None

    def _unreadable(self, data: str, exc: Exception) -> StreamError:
        """A server's event of an unexpected shape (a list where an object belongs, an index that is not a
        number, ...) as a StreamError keeping what was received, not a Python error from inside the parser."""
        return self.broken(f"stream sent an event hamr cannot read ({type(exc).__name__}: {exc}): {data[:100]!r}")

    def broken(self, message: str) -> StreamError:
        return StreamError(message, partial=self.partial, provider=self._parser.acc.provider)


# what a parser raises on an event whose JSON has an unexpected shape
_SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)


def _reraise(exc: SSEDecodeError) -> list[RawEvent]:
    raise exc


def _deliver_then_raise(events: list[StreamEvent], exc: Exception) -> Iterator[StreamEvent]:
    yield from events
    raise exc
