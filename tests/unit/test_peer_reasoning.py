"""Issue 8.4: every reasoning shape lands in Completion.reasoning, and the assistant message from to_message() carries
back what the provider needs (DeepSeek reasoning_content, Anthropic signed thinking blocks, OpenRouter
reasoning_details) in its own field, even after the conversation was saved as JSON and loaded again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hamr import Completion, ProviderSettings, ReasoningBlock, _anthropic, _openai, load_config
from hamr._config import parse_config
from tests.unit.peer_support import DONE, MODES, Server, call, chunk, decode, json_response, sse
from tests.unit.peer_wire import (
    ANTHROPIC_THINKING_STREAM,
    DEEPSEEK_REASONING_CONTENT_BODY,
    MISTRAL_THINKING_PARTS_BODY,
    MISTRAL_THINKING_PARTS_STREAM,
    OLLAMA_REASONING_AND_TOOL_CALL_BODY,
    OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK,
    OPENROUTER_REASONING_DETAILS_STREAM,
)


def _settings(provider: str) -> ProviderSettings:
    return load_config().provider(provider)


WEATHER = [{"name": "weather", "description": "Weather at a place", "parameters": {"type": "object"}}]
OPENROUTER_SIGNATURE = "Et0BCkgIChACGAIqQA2s7h7tA7IG35fbwVkou9PM2hANVJNUwcEM4q12fTRDK6y3v6YoEvJ+7bko8wnW"


# --- normalisation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reasoning_start", "text"),
    [
        pytest.param(DEEPSEEK_REASONING_CONTENT_BODY, "We need answer simple.", "4", id="deepseek-reasoning_content"),
        pytest.param(OLLAMA_REASONING_AND_TOOL_CALL_BODY, "Okay, the user is asking", "", id="ollama-reasoning"),
        pytest.param(
            MISTRAL_THINKING_PARTS_BODY, "The user is asking for the product", "144", id="mistral-thinking-parts"
        ),
        # constructed from groq/06's shape (reasoning_format raw: the thinking inline in content), text shortened
        pytest.param(
            b'{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"<think>\\nOkay, alfajores.\\n'
            b'</think>\\n\\nHere is a recipe.","role":"assistant"}}],"id":"chatcmpl-1","model":"deepseek-r1"}',
            "\nOkay, alfajores.",
            "Here is a recipe.",
            id="groq-raw-think-block",
        ),
        # constructed from the documented OpenRouter message shape (reasoning null, reasoning_details entries)
        pytest.param(
            b'{"id":"gen-1","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"4",'
            b'"reasoning":null,"reasoning_details":[{"type":"reasoning.text","text":"2+2 equals 4.",'
            b'"signature":"sig","format":"anthropic-claude-v1","index":0}]}}]}',
            "2+2 equals 4.",
            "4",
            id="openrouter-reasoning_details",
        ),
    ],
)
def test_reasoning_in_a_body_lands_in_completion_reasoning(body: bytes, reasoning_start: str, text: str) -> None:
    completion = _openai.parse_chat("p", body)
    assert completion.reasoning.startswith(reasoning_start)
    assert completion.text == text


def test_streamed_openrouter_reasoning_details_keep_their_signature() -> None:
    # recorded: openrouter/06 streams delta.reasoning beside delta.reasoning_details, the signature in its own fragment
    _, completion = decode(_openai, OPENROUTER_REASONING_DETAILS_STREAM)
    assert completion.reasoning == "This is a simple arithmetic question. 2+2 equals 4."
    assert completion.text == "2 + 2 = 4"
    (block,) = completion.reasoning_blocks
    assert block.text == completion.reasoning and block.signature and block.signature.startswith(OPENROUTER_SIGNATURE)
    assert block.details == {
        "type": "reasoning.text",
        "text": completion.reasoning,
        "signature": block.signature,
        "format": "anthropic-claude-v1",
        "index": 0,
    }


def test_streamed_anthropic_thinking_keeps_its_signature() -> None:
    # recorded: anthropic/06 (thinking_delta, then signature_delta, then a text block)
    _, completion = decode(_anthropic, ANTHROPIC_THINKING_STREAM)
    assert completion.reasoning.startswith("This is a clever")
    (block,) = completion.reasoning_blocks
    assert block.text == completion.reasoning and block.signature and block.signature.startswith("ErsNCpMB")
    assert "thinking" not in completion.text and completion.text


def test_streamed_mistral_thinking_parts_switch_to_plain_text() -> None:
    # recorded: mistral/06 sends content as arrays of thinking chunks, then a text part, then plain string deltas
    _, completion = decode(_openai, MISTRAL_THINKING_PARTS_STREAM)
    assert completion.reasoning.startswith("The user is asking for") and completion.reasoning.endswith("4.")
    assert completion.text == "144"


def test_streamed_ollama_reasoning_field() -> None:
    # recorded: relay/04 (Ollama) streams delta.reasoning with content ""
    _, completion = decode(_openai, OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK)
    assert completion.reasoning.startswith("Okay") and completion.text == ""


def test_a_leading_think_block_split_across_chunks_is_reasoning() -> None:
    # constructed: a raw-format server streaming <think> with the tags cut at odd places
    body = chunk({"content": "<thi"}) + chunk({"content": "nk>plan</th"}) + chunk({"content": "ink>\n\nanswer"})
    _, completion = decode(_openai, body + chunk({}, "stop") + DONE)
    assert (completion.reasoning, completion.text) == ("plan", "answer")


# --- the message that goes back ---------------------------------------------------------------------------------


def test_to_message_survives_a_json_round_trip() -> None:
    completion = _anthropic.parse_chat("anthropic", ANTHROPIC_TOOL_TURN)
    message = completion.to_message()
    assert json.loads(json.dumps(message)) == message
    assert [ReasoningBlock.from_value(b) for b in message["reasoning_blocks"]] == list(completion.reasoning_blocks)


@pytest.mark.parametrize("block", [{"x": 1}, {"text": "t", "signature": 7}, "thinking", {"details": [1]}])
def test_a_malformed_reasoning_block_is_a_clear_error(block: object) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "", "reasoning_blocks": [block]}]
    for protocol, provider in ((_openai, "relay"), (_anthropic, "anthropic")):
        with pytest.raises(ValueError, match=r"messages\[1\]\.reasoning_blocks\[0\]"):
            protocol.build_chat(_settings(provider), "m", messages, env={"ANTHROPIC_API_KEY": "k"})


# constructed from DeepSeek's thinking-mode docs (api-docs.deepseek.com/guides/thinking_mode): an assistant turn
# with reasoning_content and tool_calls; the next request must carry the reasoning_content back or DeepSeek answers 400
DEEPSEEK_TOOL_TURN = {
    "id": "ds-1",
    "object": "chat.completion",
    "model": "deepseek-reasoner",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "",
                "reasoning_content": "The user wants Berlin's weather; call the tool.",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_00_abc",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Berlin"}'},
                    }
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 100, "completion_tokens": 40},
}
OK = {
    "id": "x",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Sunny."}}],
}


def _second_turn(first: Completion) -> list[dict[str, Any]]:
    """The conversation as a caller keeps it: saved as JSON in between, then extended by the tool result."""
    saved = json.loads(json.dumps([{"role": "user", "content": "Weather in Berlin?"}, first.to_message()]))
    tool_id = first.tool_calls[0].id if first.tool_calls else None
    return saved + ([{"role": "tool", "tool_call_id": tool_id, "content": "sunny, 21 C"}] if tool_id else [])


@pytest.mark.parametrize("mode", MODES)
def test_deepseek_gets_reasoning_content_back_with_its_tool_call(mode: str) -> None:
    server = Server(json_response(DEEPSEEK_TOOL_TURN), json_response(OK))
    first = call(mode, server, {"messages": "Weather in Berlin?", "tools": WEATHER}, provider="deepseek").completion
    call(mode, server, {"messages": _second_turn(first), "tools": WEATHER}, provider="deepseek")
    assistant = server.body()["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": "",
        "reasoning_content": "The user wants Berlin's weather; call the tool.",
        "tool_calls": [
            {
                "id": "call_00_abc",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Berlin"}'},
            }
        ],
    }
    assert server.body()["messages"][2] == {"role": "tool", "tool_call_id": "call_00_abc", "content": "sunny, 21 C"}


# constructed from Anthropic's extended-thinking docs: a thinking block with its signature, then tool_use
ANTHROPIC_TOOL_TURN = json.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {
                "type": "thinking",
                "thinking": "I should call the weather tool.",
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA",
            },
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Berlin"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 50, "output_tokens": 30},
    }
).encode()
ANTHROPIC_OK = {
    "id": "msg_2",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "Sunny."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 80, "output_tokens": 3},
}


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_gets_signed_thinking_back_before_its_tool_use(mode: str) -> None:
    server = Server(json_response(ANTHROPIC_TOOL_TURN), json_response(ANTHROPIC_OK))
    first = call(mode, server, {"messages": "Weather in Berlin?", "tools": WEATHER}, provider="anthropic").completion
    call(mode, server, {"messages": _second_turn(first), "tools": WEATHER}, provider="anthropic")
    messages = server.body()["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": "I should call the weather tool.",
                "signature": "EqQBCgIYAhIM1gbcDa9GJwZA",
            },
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "Berlin"}},
        ],
    }
    assert messages[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny, 21 C"}],
    }


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_streamed_thinking_goes_back_signed(mode: str) -> None:
    server = Server(sse(ANTHROPIC_THINKING_STREAM), json_response(ANTHROPIC_OK))
    first = call(mode, server, {"messages": "Riddle?", "stream": True}, provider="anthropic").completion
    call(mode, server, {"messages": [*_second_turn(first), {"role": "user", "content": "And?"}]}, provider="anthropic")
    thinking, text = server.body()["messages"][1]["content"]
    assert thinking == {
        "type": "thinking",
        "thinking": first.reasoning,
        "signature": first.reasoning_blocks[0].signature,
    }
    assert text == {"type": "text", "text": first.text}


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_gets_its_reasoning_details_back_verbatim(mode: str) -> None:
    server = Server(sse(OPENROUTER_REASONING_DETAILS_STREAM), json_response(OK))
    first = call(mode, server, {"messages": "2+2?", "stream": True}, provider="openrouter").completion
    call(
        mode, server, {"messages": [*_second_turn(first), {"role": "user", "content": "Sure?"}]}, provider="openrouter"
    )
    assistant = server.body()["messages"][1]
    assert assistant["reasoning_details"] == [first.reasoning_blocks[0].details]
    assert assistant["reasoning_details"][0]["signature"].startswith(OPENROUTER_SIGNATURE)
    assert set(assistant) == {"role", "content", "reasoning_details"}


@pytest.mark.parametrize("provider", ["groq", "mistral", "together", "relay"])
def test_providers_without_a_reasoning_field_get_none_sent(provider: str) -> None:
    # strict servers (Mistral: 422 extra_forbidden) reject unknown message fields, so nothing extra goes out
    first = _openai.parse_chat(provider, json.dumps(DEEPSEEK_TOOL_TURN).encode())
    req = _openai.build_chat(_settings(provider), "m", _second_turn(first), env={f"{provider.upper()}_API_KEY": "k"})
    assert req.json is not None
    assert set(req.json["messages"][1]) == {"role", "content", "tool_calls"}


@pytest.mark.parametrize(
    ("base_url", "field"),
    [
        ("https://api.deepseek.com", "reasoning_content"),
        ("https://openrouter.ai/api/v1", "reasoning_details"),
        ("https://llm.example.com/v1", None),
    ],
)
def test_a_provider_of_another_name_gets_the_echo_its_host_needs(base_url: str, field: str | None) -> None:
    # the echo follows the API, not the provider's name in the config
    doc = {"providers": {"work": {"base_url": base_url, "compatibility": "openai-compatible", "api_key_env": "K"}}}
    settings = parse_config({**doc, "active": {"provider": "work", "model": "m"}}).provider("work")
    assert _openai.reasoning_echo(settings) == field
    if field == "reasoning_content":
        first = _openai.parse_chat("work", json.dumps(DEEPSEEK_TOOL_TURN).encode())
        req = _openai.build_chat(settings, "m", _second_turn(first), env={"K": "k"})
        assert req.json is not None
        assert req.json["messages"][1]["reasoning_content"] == "The user wants Berlin's weather; call the tool."
