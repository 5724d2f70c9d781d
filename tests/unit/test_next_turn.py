"""Issue 16: what a real provider rejects on the *next* request after hamr read an answer. Each case is built as
the provider's documentation or its users' bug reports describe it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hamr import _anthropic, _openai
from hamr._config import parse_config
from hamr._stream import StreamDecoder
from hamr._types import Completion, ToolCall

SETTINGS = parse_config({}).providers
ENV = {"DEEPSEEK_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}


def sse(*chunks: Any) -> bytes:
    return b"".join(f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks)


def decode(parser: Any, body: bytes) -> Completion:
    decoder = StreamDecoder(parser)
    decoder.feed(body)
    decoder.close()
    assert decoder.completion is not None
    return decoder.completion


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}


# ---------------------------------------------------------------------------------------------------- 1. DeepSeek


def test_deepseek_gets_reasoning_content_on_every_tool_calling_turn_even_empty() -> None:
    """DeepSeek thinking mode: 'Missing reasoning_content field in the assistant message at message index N'."""
    turn = Completion(tool_calls=(ToolCall("call_1", "f", {}),)).to_message()
    history = [{"role": "user", "content": "go"}, turn, {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]
    body = _openai.build_chat(SETTINGS["deepseek"], "deepseek-reasoner", history, env=ENV).json
    assert body is not None and body["messages"][1]["reasoning_content"] == ""
    # a turn without tool calls and without reasoning gets nothing extra; other providers never get the field
    plain = _openai.build_chat(
        SETTINGS["deepseek"], "m", [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], env=ENV
    ).json
    assert plain is not None and "reasoning_content" not in plain["messages"][1]
    other = _openai.build_chat(SETTINGS["groq"], "m", history, env={"GROQ_API_KEY": "k"}).json
    assert other is not None and "reasoning_content" not in other["messages"][1]


def test_a_keep_text_false_stream_keeps_the_reasoning_a_tool_turn_must_send_back() -> None:
    body = sse(
        delta({"reasoning_content": "I should call f."}),
        delta({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{}"}}]}),
        delta({}, "tool_calls"),
        "[DONE]",
    )
    completion = decode(_openai.StreamParser("deepseek", keep_text=False), body)
    history = [{"role": "user", "content": "go"}, completion.to_message()]
    sent = _openai.build_chat(SETTINGS["deepseek"], "m", history, env=ENV).json
    assert sent is not None and sent["messages"][1]["reasoning_content"] == "I should call f."


# ---------------------------------------------------------------------------------------------------- 3. empty content


def test_an_empty_assistant_turn_is_left_out_and_the_user_turns_around_it_merge() -> None:
    """Claude may end a turn with "content": [] (after tool results); Anthropic rejects an empty non-final message."""
    empty = _anthropic.parse_chat("anthropic", b'{"content": [], "stop_reason": "end_turn"}').to_message()
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "name": "f", "arguments": {}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "done"},
        empty,
        {"role": "user", "content": "and now?"},
    ]
    body = _anthropic.build_chat(SETTINGS["anthropic"], "m", history, env=ENV).json
    assert body is not None
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "done"},
        {"type": "text", "text": "and now?"},
    ]
    assert body["messages"][1]["content"] == [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]
    assert '"text": ""' not in json.dumps(body)
    oai = _openai.build_chat(SETTINGS["deepseek"], "m", history, env=ENV).json
    assert oai is not None and [m["role"] for m in oai["messages"]] == ["user", "assistant", "tool", "user"]


def test_empty_user_content_and_empty_text_blocks_are_left_out() -> None:
    history = [
        {"role": "user", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
    ]
    body = _anthropic.build_chat(SETTINGS["anthropic"], "m", history, env=ENV).json
    assert body is not None and body["messages"] == [{"role": "user", "content": "hi"}]
    with pytest.raises(ValueError, match="no message with content"):
        _anthropic.build_chat(SETTINGS["anthropic"], "m", [{"role": "user", "content": ""}], env=ENV)


# ---------------------------------------------------------------------------------------------------- 5. id-less calls


def test_parallel_calls_streamed_at_index_0_without_ids_stay_apart() -> None:
    """Ollama / LM Studio / gateways: every call whole at index 0, no id."""
    frag = [{"index": 0, "function": {"name": "read", "arguments": json.dumps({"path": p})}} for p in ("p0", "p1")]
    completion = decode(
        _openai.StreamParser("relay"),
        sse(delta({"tool_calls": [frag[0]]}), delta({"tool_calls": [frag[1]]}), delta({}, "tool_calls"), "[DONE]"),
    )
    assert [c.arguments for c in completion.tool_calls] == [{"path": "p0"}, {"path": "p1"}]
    assert [c.id for c in completion.tool_calls] == ["call_0", "call_1"]


def test_a_call_streamed_in_pieces_without_ids_stays_one_call() -> None:
    pieces = [
        {"index": 0, "function": {"name": "read", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"path": '}},
        {"index": 0, "function": {"name": "read", "arguments": '"p0"}'}},  # a server repeating the name
        {"index": 0, "function": {"name": "read", "arguments": ""}},  # ... even after the call is complete
    ]
    completion = decode(
        _openai.StreamParser("relay"),
        sse(*[delta({"tool_calls": [p]}) for p in pieces], delta({}, "tool_calls"), "[DONE]"),
    )
    assert [(c.name, c.arguments) for c in completion.tool_calls] == [("read", {"path": "p0"})]


def test_a_new_name_without_an_id_starts_a_new_call() -> None:
    pieces = [
        {"index": 0, "function": {"name": "a", "arguments": "{}"}},
        {"index": 0, "function": {"name": "b"}},
        {"index": 0, "function": {"arguments": '{"x": 1}'}},
    ]
    completion = decode(
        _openai.StreamParser("relay"),
        sse(*[delta({"tool_calls": [p]}) for p in pieces], delta({}, "tool_calls"), "[DONE]"),
    )
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("call_0", "a", {}),
        ("call_1", "b", {"x": 1}),
    ]


def test_an_empty_id_in_a_body_gets_a_generated_one_that_round_trips() -> None:
    message = {
        "content": None,
        "tool_calls": [{"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    completion = _openai.parse_chat("relay", json.dumps({"choices": [{"message": message}]}).encode())
    assert completion.tool_calls[0].id == "call_0"
    history = [
        {"role": "user", "content": "go"},
        completion.to_message(),
        {"role": "tool", "tool_call_id": completion.tool_calls[0].id, "content": "ok"},
    ]
    body = _openai.build_chat(SETTINGS["relay"], "m", history).json  # hamr's own validation accepts it
    assert body is not None and body["messages"][1]["tool_calls"][0]["id"] == "call_0"


# ------------------------------------------------------------------------------------------------ 8. thinking budget


def test_thinking_budget_fits_under_max_tokens() -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 8000}}
    body = _anthropic.build_chat(SETTINGS["anthropic"], "m", "hi", extra_body=thinking, env=ENV).json
    assert body is not None and body["max_tokens"] == 8000 + 4096
    body = _anthropic.build_chat(SETTINGS["anthropic"], "m", "hi", max_tokens=9000, extra_body=thinking, env=ENV).json
    assert body is not None and body["max_tokens"] == 9000
    with pytest.raises(ValueError, match=r"max_tokens \(8000\) must be greater than thinking.budget_tokens \(8000\)"):
        _anthropic.build_chat(SETTINGS["anthropic"], "m", "hi", max_tokens=8000, extra_body=thinking, env=ENV)
    adaptive = _anthropic.build_chat(
        SETTINGS["anthropic"], "m", "hi", extra_body={"thinking": {"type": "adaptive"}}, env=ENV
    ).json
    assert adaptive is not None and adaptive["max_tokens"] == 4096


# ---------------------------------------------------------------------------------------------------- 10. surrogates


@pytest.mark.parametrize("kind", ["content", "reasoning_content"])
def test_a_surrogate_pair_split_across_deltas_is_rejoined(kind: str) -> None:
    # the JSON escapes of 😀 (U+1F600), one half per delta, exactly as a server sends them
    body = b'data: {"choices":[{"index":0,"delta":{"%s":"smile \\ud83d"}}]}\n\n' % kind.encode()
    body += b'data: {"choices":[{"index":0,"delta":{"%s":"\\ude00!"},"finish_reason":"stop"}]}\n\n' % kind.encode()
    decoder = StreamDecoder(_openai.StreamParser("p"))
    events = decoder.feed(body) + decoder.close()
    assert decoder.completion is not None
    got = decoder.completion.text if kind == "content" else decoder.completion.reasoning
    assert got == "smile 😀!"
    assert "".join(e.text for e in events if e.type in ("text", "reasoning")) == "smile 😀!"
    json.dumps(got).encode("utf-8")  # can be sent back: no lone surrogate left


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"a\\ud83d"}}]}\n\n'
    body += b'data: {"choices":[{"index":0,"delta":{"content":"b \\ude00"},"finish_reason":"stop"}]}\n\n'
    assert decode(_openai.StreamParser("p"), body).text == "a\ufffdb \ufffd"
    ended = decode(
        _openai.StreamParser("p"),
        b'data: {"choices":[{"index":0,"delta":{"content":"x\\ud83d"},"finish_reason":"stop"}]}\n\n',
    )
    assert ended.text == "x\ufffd"
    plain = _openai.parse_chat("p", b'{"choices":[{"message":{"content":"y\\ud83d"}}]}')
    assert plain.text == "y\ufffd"
