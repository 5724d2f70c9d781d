"""What an answer says besides its text: refusals, stop sequences, finish reasons, JSON answers, and Anthropic
blocks the provider runs itself — in chat and in stream, for both protocols.

Bodies are constructed from the providers' documented wire formats (OpenAI chat-completions ``message.refusal`` /
``delta.refusal``; Anthropic Messages ``stop_reason``, ``stop_sequence``, ``stop_details`` and the web search
tool's ``server_tool_use`` / ``web_search_tool_result`` blocks with cited text), except where a test names a real
recording."""

from __future__ import annotations

import json
from typing import Any

import pytest

import hamr
from hamr import _anthropic, _openai
from hamr._stream import StreamDecoder
from tests.unit.peer_support import anthropic_stream as anthropic_events
from tests.unit.peer_support import named_sse as sse


def decode(parser: Any, body: bytes) -> tuple[list[hamr.StreamEvent], hamr.Completion]:
    decoder = StreamDecoder(parser)
    events = decoder.feed(body) + decoder.close()
    assert decoder.completion is not None
    return events, decoder.completion


def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
    return None, {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def anthropic_body(blocks: list[dict[str, Any]], **stop: Any) -> bytes:
    return json.dumps({"id": "msg_1", "model": "claude", "content": blocks, **stop}).encode()


def both_anthropic(blocks: list[dict[str, Any]], json_tool: str | None = None, **stop: Any) -> list[hamr.Completion]:
    """The same answer parsed from a body and from a stream."""
    chat = _anthropic.parse_chat("anthropic", anthropic_body(blocks, **stop), json_tool=json_tool)
    _, streamed = decode(_anthropic.StreamParser("anthropic", json_tool=json_tool), anthropic_events(blocks, stop))
    return [chat, streamed]


# ---------------------------------------------------------------------------------------------------- refusals


def test_openai_refusal_in_chat_and_stream() -> None:
    body = {
        "id": "c",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": None, "refusal": "I can't help."}}],
    }
    chat = _openai.parse_chat("p", json.dumps(body).encode())
    stream = sse(
        chunk({"role": "assistant", "refusal": ""}), chunk({"refusal": "I can't "}), chunk({"refusal": "help."})
    )
    _, streamed = decode(_openai.StreamParser("p"), stream + sse(chunk({}, "stop"), (None, "[DONE]")))
    for completion in (chat, streamed):
        assert completion.refusal == "I can't help." and completion.text == ""
        assert completion.finish_reason == "stop"  # what the provider said; the refusal is the signal
    assert (
        _openai.parse_chat("p", json.dumps({**body, "choices": [{"message": {"content": "ok"}}]}).encode()).refusal
        is None
    )


def test_anthropic_refusal_uses_the_stop_details_explanation() -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": "This request asks for malware."}
    for completion in both_anthropic([], stop_reason="refusal", stop_details=details):
        assert completion.refusal == "This request asks for malware."
        assert completion.finish_reason == "content_filter"
    for completion in both_anthropic([{"type": "text", "text": "No."}], stop_reason="refusal"):
        assert completion.refusal == "No."
    for completion in both_anthropic([{"type": "text", "text": "Yes."}], stop_reason="end_turn"):
        assert completion.refusal is None


# ---------------------------------------------------------------------------------------------------- stop sequences


def test_anthropic_says_which_stop_sequence_ended_the_answer() -> None:
    for completion in both_anthropic(
        [{"type": "text", "text": "1, 2"}], stop_reason="stop_sequence", stop_sequence="3"
    ):
        assert completion.finish_reason == "stop" and completion.stop_sequence == "3"
    for completion in both_anthropic([{"type": "text", "text": "1"}], stop_reason="end_turn", stop_sequence=None):
        assert completion.stop_sequence is None


# ---------------------------------------------------------------------------------------------------- finish reasons


def test_the_first_finish_reason_of_a_stream_wins() -> None:
    """Shaped like the real Together stream that states tool_calls twice, then stop with the usage
    (reference recording together/05: huggingface/huggingface_hub test cassettes)."""
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    body = sse(
        chunk({"tool_calls": [call]}),
        chunk({}, "tool_calls"),
        chunk({}, "tool_calls"),
        (None, {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {}}),
        (None, "[DONE]"),
    )
    _, completion = decode(_openai.StreamParser("together"), body)
    assert completion.finish_reason == "tool_calls"


def test_an_answer_with_tool_calls_never_says_stop() -> None:
    """Ollama's OpenAI-compatible API answers tool calls with finish_reason "stop"."""
    message = {"content": "", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": message}]}
    assert _openai.parse_chat("relay", json.dumps(body).encode()).finish_reason == "tool_calls"
    frag = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
    _, completion = decode(_openai.StreamParser("relay"), sse(chunk({"tool_calls": [frag]}, "stop"), (None, "[DONE]")))
    assert completion.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_anthropic_stop_reasons(raw: str, finish: str) -> None:
    blocks = [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}] if raw == "tool_use" else []
    for completion in both_anthropic(blocks, stop_reason=raw):
        assert completion.finish_reason == finish


# ---------------------------------------------------------------------------------------------------- JSON answers


def test_json_parses_the_answer_or_raises_carrying_the_text() -> None:
    assert hamr.Completion(text=' {"a": [1]} ').json() == {"a": [1]}
    with pytest.raises(hamr.InvalidResponseError, match="not JSON") as info:
        hamr.Completion(text="Sure! Here it is: {", provider="p").json()
    assert info.value.body == "Sure! Here it is: {" and info.value.provider == "p"
    with pytest.raises(hamr.InvalidResponseError, match="refused: no"):
        hamr.Completion(refusal="no").json()


def test_the_answer_tools_call_is_the_answer() -> None:
    blocks = [{"type": "tool_use", "id": "toolu_1", "name": "place", "input": {"city": "Paris"}}]
    for completion in both_anthropic(blocks, json_tool="place", stop_reason="tool_use"):
        assert completion.json() == {"city": "Paris"} and completion.tool_calls == ()
        assert completion.finish_reason == "stop"
    # without the request's json_tool the same block is an ordinary tool call
    for completion in both_anthropic(blocks, stop_reason="tool_use"):
        assert completion.tool_calls[0].name == "place" and completion.text == ""


def test_the_answer_tool_streams_its_json_as_text_events() -> None:
    blocks = [{"type": "tool_use", "id": "toolu_1", "name": "place", "input": {"city": "Paris"}}]
    events, _ = decode(
        _anthropic.StreamParser("a", json_tool="place"), anthropic_events(blocks, {"stop_reason": "tool_use"})
    )
    assert "".join(e.text for e in events if e.type == "text") == '{"city": "Paris"}'
    assert not [e for e in events if e.type == "tool_call"]


# ---------------------------------------------------------------------------------------------------- server tools

WEB_SEARCH = [
    {"type": "text", "text": "I'll search for that."},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "weather Paris"}},
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://w.example/paris",
                "title": "Paris",
                "encrypted_content": "EqQ",
            }
        ],
    },
    {
        "type": "text",
        "text": "It is sunny.",
        "citations": [{"type": "web_search_result_location", "url": "https://w.example/paris", "cited_text": "sunny"}],
    },
]


def test_server_tool_blocks_are_never_client_tool_calls() -> None:
    for completion in both_anthropic(WEB_SEARCH, stop_reason="end_turn"):
        assert completion.tool_calls == () and completion.finish_reason == "stop"
        assert completion.text == "I'll search for that.It is sunny."
        assert list(completion.content_blocks) == WEB_SEARCH


def test_server_tool_blocks_go_back_unchanged() -> None:
    from hamr._config import parse_config

    settings = parse_config({}).providers["anthropic"]
    for completion in both_anthropic(WEB_SEARCH, stop_reason="end_turn"):
        history = [
            {"role": "user", "content": "Weather in Paris?"},
            completion.to_message(),
            {"role": "user", "content": "Thanks"},
        ]
        body = _anthropic.build_chat(settings, "m", history, env={"ANTHROPIC_API_KEY": "k"}).json
        assert body is not None and body["messages"][1] == {"role": "assistant", "content": WEB_SEARCH}
        # on the OpenAI side the same turn goes as its text
        oai = _openai.build_chat(
            parse_config({}).providers["deepseek"], "m", history, env={"DEEPSEEK_API_KEY": "k"}
        ).json
        assert oai is not None and oai["messages"][1]["content"] == "I'll search for that.It is sunny."


def test_plain_answers_keep_no_content_blocks() -> None:
    for completion in both_anthropic([{"type": "text", "text": "hi"}], stop_reason="end_turn"):
        assert completion.content_blocks == () and completion.to_message()["content"] == "hi"
