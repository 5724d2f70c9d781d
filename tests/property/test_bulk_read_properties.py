"""A bulk read (many events in one read, cut anywhere) decodes to exactly what one read per event gives, and both
to what the general parser gives (``feed`` for every event): the same events, the same completion, the same failure
with the same partial. Reads take shortcuts (the SSE decoder's uniform blocks, the parsers' ``feed_many``, which a
read of one whole event takes too) that the general parser never takes, so they are compared on streams drawn from
chunks of every shape those shortcuts must take or leave to the general code: text, tool-call fragments known and
unknown, usage, finish, error objects, odd JSON, surrogate halves, <think> tags, and the Responses API's deltas of
every kind of part with their indices present, missing or odd."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hamr import StreamError
from hamr._anthropic import StreamParser as AnthropicParser
from hamr._openai import StreamParser as OpenAIParser
from hamr._responses import StreamParser as ResponsesParser
from hamr._sse import RawEvent
from hamr._stream import EventParser, StreamDecoder, feed_one
from hamr._types import StreamEvent


def _choice(delta: Any, **extra: Any) -> str:
    return json.dumps({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, **extra}], "usage": None})


def _frag(index: Any, **fields: Any) -> dict[str, Any]:
    return {"index": index, **fields}


OPENAI_CHUNKS = [
    _choice({"content": "hi"}),
    _choice({"role": "assistant", "content": ""}),
    _choice({"role": "assistant", "content": "a"}),
    _choice({"content": " café 🚀"}),
    _choice({"content": "\ud83d"}),  # the halves of one character, in two chunks
    _choice({"content": "\ude80!"}),
    _choice({"content": "<think>"}),
    _choice({"content": "hmm</think>answer"}),
    _choice({"content": None}),
    _choice({"content": 7}),
    _choice({"content": "x", "refusal": None}),
    _choice({"reasoning_content": "why"}),
    _choice({"tool_calls": [_frag(0, id="call_1", type="function", function={"name": "f", "arguments": ""})]}),
    _choice({"tool_calls": [_frag(0, function={"arguments": '{"a": '})]}),
    _choice({"tool_calls": [_frag(0, function={"arguments": "1}"})]}),
    _choice({"tool_calls": [_frag(1, function={"arguments": "{}"})]}),  # an index never announced
    _choice({"tool_calls": [_frag(0, id="call_2", function={"arguments": "{}"})]}),
    _choice({"tool_calls": [_frag(0, function={"name": "g", "arguments": "{}"})]}),
    _choice({"tool_calls": [_frag("0", function={"arguments": "x"})]}),
    _choice({"tool_calls": [_frag(0, function={"arguments": {"a": 1}})]}),
    _choice({"tool_calls": [_frag(0, function={"arguments": "x"}), _frag(0, function={"arguments": "y"})]}),
    _choice({"content": "end"}, finish_reason="stop"),
    _choice({}, finish_reason="tool_calls"),
    json.dumps({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}),
    json.dumps({"choices": [{"index": 0, "delta": {"content": "a"}}, {"index": 1, "delta": {"content": "b"}}]}),
    json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
    json.dumps({"choices": [{"index": 0, "delta": {"content": "u"}}], "usage": {"prompt_tokens": 1}}),
    json.dumps({"choices": [{"index": 0, "delta": {"content": "g"}}], "x_groq": {"id": "req"}}),
    json.dumps({"choices": [{"delta": {"content": "no index"}}]}),
    json.dumps({"choices": [{"index": 0, "delta": "not an object"}]}),
    json.dumps({"choices": "nope"}),
    json.dumps({"error": {"message": "boom", "code": 500}, "choices": [{"index": 0, "delta": {"content": "e"}}]}),
    json.dumps({"object": "error", "message": "bare"}),
    " " + _choice({"content": "leading space"}),
    "[1, 2]",
    "   ",
    "{not json",
    "[DONE]",
]

_BLOCK_START = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
ANTHROPIC_CHUNKS = [
    json.dumps({"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 3}}}),
    json.dumps(_BLOCK_START),
    json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}),
    json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " ünï \ud83d"}}),
    json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "\ude80"}}),
    json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": None}}),
    json.dumps({"type": "content_block_stop", "index": 0}),
    json.dumps(
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "f"}}
    ),
    json.dumps({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
    json.dumps({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "}"}}),
    json.dumps({"type": "content_block_delta", "index": 4, "delta": {"type": "input_json_delta", "partial_json": "x"}}),
    json.dumps(
        {"type": "content_block_delta", "index": "1", "delta": {"type": "input_json_delta", "partial_json": ""}}
    ),
    json.dumps({"type": "content_block_start", "index": 2, "content_block": {"type": "thinking", "thinking": ""}}),
    json.dumps({"type": "content_block_delta", "index": 2, "delta": {"type": "thinking_delta", "thinking": "why"}}),
    json.dumps({"type": "content_block_delta", "index": 2, "delta": {"type": "signature_delta", "signature": "s"}}),
    json.dumps({"type": "content_block_delta", "index": 0, "delta": "not an object"}),
    json.dumps({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "no index"}}),
    json.dumps({"type": "ping"}),
    json.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
    json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
    json.dumps({"type": "message_stop"}),
    "{not json",
    "  ",
]


def _resp(kind: Any, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def _text(delta: Any, **where: Any) -> str:
    return _resp(
        "response.output_text.delta",
        **{"item_id": "msg_1", "output_index": 0, "content_index": 0, **where},
        delta=delta,
    )


def _args(index: Any, delta: Any) -> str:
    return _resp("response.function_call_arguments.delta", item_id="fc_1", output_index=index, delta=delta)


_CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}
RESPONSES_CHUNKS = [
    _resp("response.created", response={"id": "resp_1", "model": "m", "output": []}),
    _resp("response.output_item.added", output_index=0, item={"type": "message", "id": "msg_1", "content": []}),
    _text("hi"),
    _text(" café \ud83d"),  # the halves of one character, in two events
    _text("\ude80!"),
    _text(""),
    _text(None),
    _text({"text": "an object"}),
    _text("by item id", output_index=None),  # no output index: the item's, by its id
    _text("string index", output_index="0"),
    _text("list part", content_index=[0]),  # an index that cannot be a key
    _resp("response.output_text.delta", item_id="msg_1", output_index=0, delta="no part number"),
    _text("<think>not a tag here</think>"),
    _text("as OpenAI sends it", sequence_number=7, logprobs=[], obfuscation="x"),
    _text("another part", content_index=1),
    _text("another item", item_id="msg_2", output_index=4),
    _resp("response.output_item.added", output_index=1, item=_CALL),
    _args(1, '{"a": '),
    _args(1, "1}"),
    _args(5, "{}"),  # an output index never announced
    _args(True, "x"),
    _args(6, ""),
    _resp("response.function_call_arguments.done", item_id="fc_1", output_index=1, arguments='{"a": 1, "b": 2}'),
    _resp("response.output_item.added", output_index=2, item={"type": "reasoning", "id": "rs_1", "summary": []}),
    _resp("response.reasoning_summary_text.delta", item_id="rs_1", output_index=2, summary_index=0, delta="why"),
    _resp("response.reasoning_summary_text.delta", item_id="rs_1", output_index=2, summary_index=1, delta="then"),
    _resp("response.reasoning_summary_text.delta", item_id="rs_1", output_index=2, delta="no summary index"),
    _resp("response.reasoning_summary_text.delta", item_id="rs_1", output_index=2, summary_index=2, delta=""),
    _resp("response.reasoning_text.delta", item_id="rs_1", output_index=2, content_index=0, delta="think \ud83d"),
    _resp("response.reasoning.delta", item_id="rs_1", output_index=3, content_index=0, delta="open"),
    _resp("response.refusal.delta", item_id="msg_1", output_index=0, content_index=1, delta="no"),
    # longer than the deltas before it: what they did not bring arrives, so a delta miscounted shows
    _resp("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text="hi there" * 40),
    _resp(
        "response.output_item.done",
        output_index=0,
        item={"type": "message", "id": "msg_1", "content": [{"type": "output_text", "text": "hi"}]},
    ),
    _resp(["response.output_text.delta"], delta="a type that is a list"),
    _resp("", delta="no type"),
    _resp("response.completed", response={"id": "resp_1", "output": [], "usage": {"input_tokens": 3}}),
    _resp("response.incomplete", response={"incomplete_details": {"reason": "max_output_tokens"}}),
    _resp("response.failed", response={"error": {"code": "server_error", "message": "boom"}}),
    _resp("error", code="rate_limit_exceeded", message="slow down"),
    " " + _text("leading space"),
    _text("trailing text") + " after the JSON",
    "[1, 2]",
    "{not json",
    "[DONE]",
    "  ",
]

PROTOCOLS: dict[str, tuple[Callable[[], EventParser], list[str], Callable[[str], bytes]]] = {
    "openai": (lambda: OpenAIParser("custom"), OPENAI_CHUNKS, lambda data: f"data: {data}\n\n".encode()),
    "anthropic": (
        lambda: AnthropicParser("anthropic"),
        ANTHROPIC_CHUNKS,
        lambda data: f"event: {_name(data)}\ndata: {data}\n\n".encode(),
    ),
    "responses": (
        lambda: ResponsesParser("openai-responses"),
        RESPONSES_CHUNKS,
        lambda data: f"event: {_name(data)}\ndata: {data}\n\n".encode(),
    ),
}
#: per protocol, a plain stream (indices into its chunks) and the events of it that its feed_many reads itself
SHORTCUTS = {
    "openai": ([0, 12, 13], [0, 13]),
    "anthropic": ([1, 2, 7, 8], [2, 8]),
    "responses": ([0, 1, 2, 13, 16, 17, 18, 22, 23, 24, 25, 28, 30, 31, 35], [2, 13, 17, 18, 24, 25, 28, 30]),
}


def _name(data: str) -> str:
    try:
        value = json.loads(data)
    except ValueError:
        return "message"
    return value.get("type", "message") if isinstance(value, dict) else "message"


def _outcome(make: Callable[[], EventParser], reads: list[bytes]) -> tuple[list[Any], Any]:
    """Every event handed out (as plain values), then the failure (message and partial) or None."""
    decoder = StreamDecoder(make())
    handed: list[Any] = []
    try:
        for read in reads:
            for e in decoder.iter_feed(read):  # one by one: what came before a failure counts
                handed.append((e.type, e.text, e.index, e.id, e.name, e.arguments, e.usage))
        for e in decoder.iter_close():
            handed.append((e.type, e.text, e.completion))
    except StreamError as exc:
        return handed, (str(exc), exc.partial)
    return handed, None


@st.composite
def streams(draw: st.DrawFn, protocol: str) -> tuple[list[bytes], list[int]]:
    """A stream of this protocol as its events, and the places a read pattern cuts it."""
    _, pool, frame = PROTOCOLS[protocol]
    # mostly the shapes of a plain stream (text and argument fragments, as real streams are), the others mixed in
    plain = SHORTCUTS[protocol][0]
    indices = draw(st.lists(st.sampled_from(plain) | st.integers(0, len(pool) - 1), min_size=4, max_size=30))
    events = [frame(pool[i]) for i in indices]
    cuts = draw(st.lists(st.integers(0, sum(map(len, events))), max_size=4))
    return events, sorted(set(cuts))


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@given(data=st.data())
def test_a_bulk_read_gives_what_one_read_per_event_gives(protocol: str, data: st.DataObject) -> None:
    events, cuts = data.draw(streams(protocol))
    make = PROTOCOLS[protocol][0]
    body = b"".join(events)
    one_per_event = _outcome(make, events)
    assert _outcome(make, [body]) == one_per_event
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert _outcome(make, pieces) == one_per_event


def _general(make: Callable[[], EventParser]) -> Callable[[], EventParser]:
    """``make`` with its parsers' shortcut taken away: ``feed_many`` is ``feed`` for each event, the outcome the
    shortcut must give. (A read of one whole event goes through ``feed_many`` too, so comparing reads alone would
    compare the shortcut with itself.)"""

    def made() -> EventParser:
        parser = make()

        def feed_many(sse_events: Sequence[RawEvent], out: list[StreamEvent]) -> None:
            for event, data, _ in sse_events:
                feed_one(parser.feed, event, data, out)

        parser.feed_many = feed_many  # type: ignore[method-assign]
        return parser

    return made


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@given(data=st.data())
def test_the_shortcut_gives_what_the_general_parser_gives(protocol: str, data: st.DataObject) -> None:
    events, _ = data.draw(streams(protocol))
    make, general = PROTOCOLS[protocol][0], _general(PROTOCOLS[protocol][0])
    assert _outcome(make, events) == _outcome(general, events)
    assert _outcome(make, [b"".join(events)]) == _outcome(general, [b"".join(events)])


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_each_shape_amid_a_plain_stream_gives_what_the_general_parser_gives(protocol: str) -> None:
    """Every shape once, at every place in a plain stream, so that its effect on the events after it shows (a
    delta the shortcut counted to another part than feed does, and the part's done event then adds another rest)."""
    make, pool, frame = PROTOCOLS[protocol]
    plain = [frame(pool[i]) for i in SHORTCUTS[protocol][0]]
    for data in pool:
        for at in range(len(plain) + 1):
            events = [*plain[:at], frame(data), *plain[at:]]
            assert _outcome(make, events) == _outcome(_general(make), events), (data, at)
            assert _outcome(make, [b"".join(events)]) == _outcome(_general(make), events), (data, at)


def test_the_shortcut_shapes_are_taken() -> None:
    """The shortcuts are exercised, not skipped: a bulk read of plain text and fragments goes through feed_many's
    own path (the general feed is never called for them)."""
    for protocol in PROTOCOLS:
        make, pool, frame = PROTOCOLS[protocol]
        parser = make()
        calls: list[str] = []
        general = parser.feed

        def spy(event: str, data: str, general: Callable[[str, str], Any] = general, calls: list[str] = calls) -> Any:
            calls.append(data)
            return general(event, data)

        parser.feed = spy  # type: ignore[method-assign]
        decoder = StreamDecoder(parser)
        plain, hot = ([pool[i] for i in indices] for indices in SHORTCUTS[protocol])
        list(decoder.iter_feed(b"".join(frame(d) for d in plain * 3)))
        assert calls, protocol  # the spy is in place: the other events of the stream reach it
        assert not set(calls) & set(hot), protocol
