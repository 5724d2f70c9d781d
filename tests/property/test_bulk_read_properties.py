"""A bulk read (many events in one read, cut anywhere) decodes to exactly what one read per event gives: the same
events, the same completion, the same failure with the same partial. Bulk reads take shortcuts (the SSE decoder's
uniform blocks, the parsers' ``feed_many``) that one-event reads never take, so the two are compared on streams
drawn from chunks of every shape those shortcuts must take or leave to the general code: text, tool-call
fragments known and unknown, usage, finish, error objects, odd JSON, surrogate halves, <think> tags."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hamr import StreamError
from hamr._anthropic import StreamParser as AnthropicParser
from hamr._openai import StreamParser as OpenAIParser
from hamr._stream import EventParser, StreamDecoder


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

PROTOCOLS: dict[str, tuple[Callable[[], EventParser], list[str], Callable[[str], bytes]]] = {
    "openai": (lambda: OpenAIParser("custom"), OPENAI_CHUNKS, lambda data: f"data: {data}\n\n".encode()),
    "anthropic": (
        lambda: AnthropicParser("anthropic"),
        ANTHROPIC_CHUNKS,
        lambda data: f"event: {_name(data)}\ndata: {data}\n\n".encode(),
    ),
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
def streams(draw: st.DrawFn) -> tuple[str, list[bytes], list[int]]:
    protocol = draw(st.sampled_from(sorted(PROTOCOLS)))
    _, pool, frame = PROTOCOLS[protocol]
    # mostly text and argument fragments, as real streams are, with the other shapes mixed in
    indices = draw(st.lists(st.integers(0, len(pool) - 1), max_size=30))
    events = [frame(pool[i]) for i in indices]
    cuts = draw(st.lists(st.integers(0, sum(map(len, events))), max_size=4))
    return protocol, events, sorted(set(cuts))


@given(streams())
def test_a_bulk_read_gives_what_one_read_per_event_gives(stream: tuple[str, list[bytes], list[int]]) -> None:
    protocol, events, cuts = stream
    make = PROTOCOLS[protocol][0]
    body = b"".join(events)
    one_per_event = _outcome(make, events)
    assert _outcome(make, [body]) == one_per_event
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert _outcome(make, pieces) == one_per_event


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
        plain = [pool[0], pool[12], pool[13]] if protocol == "openai" else [pool[1], pool[2], pool[7], pool[8]]
        hot = [pool[0], pool[13]] if protocol == "openai" else [pool[2], pool[8]]
        list(decoder.iter_feed(b"".join(frame(d) for d in plain * 3)))
        assert not set(calls) & set(hot), protocol
