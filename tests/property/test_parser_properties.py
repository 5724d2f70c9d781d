"""Whatever JSON a server sends, in a stream or as a body, hamr raises only its own typed errors: a list where an
object belongs, an index that is not a number or a token count that is text never escapes as a TypeError or
ValueError from inside a parser. A broken stream keeps what it received (``partial``)."""

from __future__ import annotations

import contextlib
import json
from types import ModuleType
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hamr import HamrError, StreamError
from hamr import _anthropic as anthropic_protocol
from hamr import _openai as openai_protocol
from hamr import _responses as responses_protocol
from hamr._stream import StreamDecoder

PROTOCOLS = {"openai": openai_protocol, "anthropic": anthropic_protocol, "responses": responses_protocol}

# the field names and values both wire formats use, so generated objects look enough like real ones to get deep
KEYS = st.sampled_from([
    "type", "index", "delta", "content_block", "message", "usage", "text", "partial_json", "thinking", "signature",
    "id", "name", "model", "choices", "content", "tool_calls", "function", "arguments", "finish_reason",
    "reasoning_content", "reasoning", "reasoning_details", "role", "error", "stop_reason", "input", "input_tokens",
    "output_tokens", "prompt_tokens", "completion_tokens", "prompt_tokens_details", "cached_tokens",
    "cache_read_input_tokens", "x_groq", "object", "data", "summary",
    "response", "output", "output_index", "item", "item_id", "part", "status", "incomplete_details", "call_id",
    "content_index", "summary_index", "refusal", "input_tokens_details", "output_tokens_details",
])  # fmt: skip
KINDS = st.sampled_from([
    "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
    "message_stop", "text_delta", "input_json_delta", "thinking_delta", "signature_delta", "tool_use", "text",
    "thinking", "redacted_thinking", "function", "stop", "tool_calls", "end_turn",
    "response.created", "response.completed", "response.incomplete", "response.failed", "error",
    "response.output_item.added", "response.output_item.done", "response.output_text.delta",
    "response.output_text.done", "response.content_part.done", "response.function_call_arguments.delta",
    "response.reasoning_summary_part.added", "message", "reasoning", "function_call", "output_text", "incomplete",
    "completed",
])  # fmt: skip
LEAVES = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | KINDS
ANY_JSON = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4))
OBJECTS = st.dictionaries(KEYS, ANY_JSON, max_size=4)
# a typed event or a chunk with choices: what a parser looks into furthest
SHAPED = (
    ANY_JSON
    | st.builds(lambda kind, rest: {**rest, "type": kind}, KINDS, OBJECTS)
    | st.builds(lambda choices, rest: {**rest, "choices": choices}, st.lists(OBJECTS | ANY_JSON, max_size=2), OBJECTS)
    | st.builds(lambda content, rest: {**rest, "content": content}, st.lists(OBJECTS, max_size=3), OBJECTS)
)
FAST = settings(max_examples=max(settings().max_examples, 200))  # each example takes microseconds


@FAST
@given(st.sampled_from(sorted(PROTOCOLS)), st.lists(SHAPED, min_size=1, max_size=4))
@example("anthropic", [{"type": "content_block_delta", "index": None}])
@example("anthropic", [{"type": "content_block_start", "index": [1], "content_block": {"type": "tool_use"}}])
@example("anthropic", [{"type": "message_delta", "delta": True}])
@example("anthropic", [{"type": "message_start", "message": {"usage": {"output_tokens": "{}"}}}])
@example("openai", [{"choices": [{"delta": [1]}]}])
@example("openai", [{"choices": 5}])
def test_any_json_in_a_stream_raises_only_a_stream_error(protocol: str, values: list[Any]) -> None:
    reads = [f"data: {json.dumps(value)}\n\n".encode() for value in values]
    # one read per event (the one-event shortcut) and all in one read (the line loop, many events per read)
    for split in (reads, [b"".join(reads)]):
        decoder = StreamDecoder(PROTOCOLS[protocol].StreamParser("gateway"))
        try:
            for read in split:
                for _ in decoder.iter_feed(read):
                    pass
            for _ in decoder.iter_close():
                pass
        except StreamError as exc:
            assert exc.provider == "gateway" and exc.partial is not None


@FAST
@given(st.sampled_from(sorted(PROTOCOLS)), SHAPED)
@example("anthropic", {"content": [], "usage": {"output_tokens": "{}", "input_tokens": [2]}})
@example("responses", {"output": [{"type": "message", "content": 5}]})
@example("responses", {"output": [{"type": "message", "content": [5]}]})
@example("responses", {"output": [{"type": "reasoning", "summary": 5}]})
def test_any_json_body_raises_only_a_typed_error(protocol: str, value: Any) -> None:
    module: ModuleType = PROTOCOLS[protocol]
    body = json.dumps(value).encode()
    for parse in (module.parse_chat, module.parse_models):
        with contextlib.suppress(HamrError):
            parse("gateway", body)
