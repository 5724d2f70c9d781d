"""``completion.to_message()`` always gives back a message the provider accepts on the next turn (issue 16).

Answers are generated on the wire (an Anthropic content list, an OpenAI message), read by hamr's own parsers —
body and stream — and the conversation that follows (the answer, a result for each tool call, the user's next
words) is built for every target, the protocol it came from and the other one (a conversation switched to another
provider half way, as ``hamr use`` allows). Each request is then checked against the documented message rules
of its provider: Anthropic's Messages API (non-empty content, alternating roles, every ``tool_use`` answered by a
``tool_result`` in the next user turn, signed thinking before ``tool_use``), OpenAI's chat completions (every
tool message answers a call of the assistant turn before it), DeepSeek's thinking mode (``reasoning_content`` on
every tool-calling turn), Mistral's (nine-character ``a-zA-Z0-9`` tool-call ids, no user message right after a
tool message), and the JSON body encodes as UTF-8."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hamr import _anthropic, _openai
from hamr._config import ProviderSettings, parse_config
from hamr._stream import StreamDecoder
from hamr._types import Completion

CONFIG = parse_config(
    {"providers": {"local": {"base_url": "http://127.0.0.1:8081", "compatibility": "anthropic-compatible"}}}
)
ENV = {"ANTHROPIC_API_KEY": "k", "DEEPSEEK_API_KEY": "k", "OPENROUTER_API_KEY": "k", "MISTRAL_API_KEY": "k"}

TEXT = st.text(max_size=12)
NAMES = st.sampled_from(["get_weather", "read_file"])
ARGS = st.dictionaries(st.sampled_from(["city", "path", "n"]), st.integers(0, 9) | TEXT, max_size=2)
IDS = st.sampled_from(["", "call_abc123", "toolu_01A", "x"])

# ---------------------------------------------------------------------------------------------------- answers


@st.composite
def anthropic_answers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """An answer's blocks in any order (Claude Sonnet 5.5 sends the text between tool calls as thinking blocks, so
    thinking comes between tool calls), with server-tool blocks and block kinds hamr does not know."""
    blocks: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        blocks.append(
            {"type": "thinking", "thinking": draw(TEXT), "signature": "sig" + draw(st.text("ab", max_size=3))}
        )
    if draw(st.booleans()):
        blocks.append({"type": "redacted_thinking", "data": "EmwK"})
    for _ in range(draw(st.integers(0, 2))):
        blocks.append({"type": "text", "text": draw(TEXT)})
    if draw(st.booleans()):  # a server tool and its result, as web search sends them
        blocks.append({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}})
        blocks.append({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []})
    if draw(st.booleans()):  # a kind hamr does not know, streamed as string deltas (context management's compaction)
        blocks.append({"type": "compaction", "content": draw(TEXT), "encrypted_content": draw(TEXT)})
    for i in range(draw(st.integers(0, 2))):
        blocks.append({"type": "tool_use", "id": f"toolu_{i}", "name": draw(NAMES), "input": draw(ARGS)})
    return draw(st.permutations(blocks))


#: how each kind streams: its start block, then deltas; a kind hamr does not know gets its string fields as
#: ``<kind>_delta`` deltas (``compaction_delta``), in two pieces
def _stream_block(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    start, deltas = dict(block), []
    if block["type"] == "text":
        start["text"], deltas = "", [{"type": "text_delta", "text": block["text"]}]
    elif block["type"] == "thinking":
        start["thinking"], start["signature"] = "", ""
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif "input" in block:
        start["input"], deltas = {}, [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    elif block["type"] == "compaction":
        start = {"type": "compaction", "content": None}
        for name in ("content", "encrypted_content"):
            half = len(block[name]) // 2
            deltas += [{"type": "compaction_delta", name: block[name][:half]}]
            deltas += [{"type": "compaction_delta", name: block[name][half:]}]
    return start, deltas


@st.composite
def openai_answers(draw: st.DrawFn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": draw(st.none() | TEXT)}
    if draw(st.booleans()):
        message["reasoning_content"] = draw(TEXT)
    calls = [
        {"id": draw(IDS), "type": "function", "function": {"name": draw(NAMES), "arguments": json.dumps(draw(ARGS))}}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if calls:
        message["tool_calls"] = calls
    return message


def read_anthropic(blocks: list[dict[str, Any]], streamed: bool) -> Completion:
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    if not streamed:
        body = {"id": "msg_1", "model": "m", "content": blocks, "stop_reason": stop}
        return _anthropic.parse_chat("anthropic", json.dumps(body).encode())
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}}]
    for i, block in enumerate(blocks):
        start, deltas = _stream_block(block)
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        events += [{"type": "content_block_delta", "index": i, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": i})
    events += [{"type": "message_delta", "delta": {"stop_reason": stop}}, {"type": "message_stop"}]
    return _decode(_anthropic.StreamParser("anthropic"), "".join(f"data: {json.dumps(e)}\n\n" for e in events))


def read_openai(message: dict[str, Any], streamed: bool) -> Completion:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    if not streamed:
        body = {"id": "c", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
        return _openai.parse_chat("deepseek", json.dumps(body).encode())
    deltas: list[dict[str, Any]] = [{"role": "assistant"}]
    if message.get("reasoning_content"):
        deltas.append({"reasoning_content": message["reasoning_content"]})
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for i, call in enumerate(message.get("tool_calls") or ()):
        deltas.append({"tool_calls": [{"index": i, **call}]})
    chunks = [{"id": "c", "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return _decode(_openai.StreamParser("deepseek"), "".join(f"data: {json.dumps(c)}\n\n" for c in chunks))


def _decode(parser: Any, body: str) -> Completion:
    decoder = StreamDecoder(parser)
    decoder.feed(body.encode())
    decoder.close()
    assert decoder.completion is not None
    return decoder.completion


def conversation(completion: Completion, *, agent_loop: bool = False) -> list[dict[str, Any]]:
    """The turn after ``completion``: its message, a result for each of its tool calls, the user's next words —
    or, in an agent loop, no user words after tool results (the results go straight back for the answer)."""
    history = [{"role": "user", "content": "question"}, completion.to_message()]
    history += [{"role": "tool", "tool_call_id": c.id, "content": "result"} for c in completion.tool_calls]
    history = json.loads(json.dumps(history))  # saved and loaded again
    if agent_loop and completion.tool_calls:
        return history
    return [*history, {"role": "user", "content": "and then?"}]


# ---------------------------------------------------------------------------------------------------- rules


def anthropic_rules(body: dict[str, Any], completion: Completion) -> None:
    messages = body["messages"]
    assert messages and messages[0]["role"] == "user"
    for before, after in itertools.pairwise(messages):
        assert before["role"] != after["role"], "roles must alternate"
    for message in messages:
        content = message["content"]
        assert content, "a message with empty content is rejected"
        if isinstance(content, list):
            assert all(b.get("text") != "" for b in content if b["type"] == "text"), "empty text block"
    for i, message in enumerate(messages):
        if message["role"] != "assistant" or not isinstance(message["content"], list):
            continue
        uses = [b for b in message["content"] if b["type"] == "tool_use"]
        if uses:
            answered = {b.get("tool_use_id") for b in messages[i + 1]["content"] if b["type"] == "tool_result"}
            assert {b["id"] for b in uses} <= answered, "every tool_use needs its tool_result in the next turn"
    if RECEIVED is not None:  # the answer goes back exactly as it came: every block, in its order
        sent = [m for m in messages if m["role"] == "assistant"]
        expected = [b for b in RECEIVED if not (b["type"] == "text" and not b["text"])]
        if any(b["type"] not in ("thinking", "redacted_thinking") for b in expected):
            content = sent[0]["content"]
            content = [{"type": "text", "text": content}] if isinstance(content, str) else content
            assert content == expected, "the assistant turn must go back as it came (preserved-thinking prefix check)"
        else:
            assert not sent, "a turn of thinking alone is left out"


def openai_rules(body: dict[str, Any], completion: Completion) -> None:
    open_calls: set[str] = set()
    for message in body["messages"]:
        if message["role"] == "tool":
            assert message["tool_call_id"] in open_calls, "a tool message must answer a call of the turn before"
            continue
        open_calls = set()
        if message["role"] == "assistant":
            assert isinstance(message.get("content"), str | None)
            for call in message.get("tool_calls") or ():
                assert call["id"] and call["type"] == "function" and call["function"]["name"]
                assert isinstance(call["function"]["arguments"], str)
                open_calls.add(call["id"])
            assert message.get("content") or message.get("tool_calls") or message.get("reasoning_content")


def deepseek_rules(body: dict[str, Any], completion: Completion) -> None:
    openai_rules(body, completion)
    for message in body["messages"]:
        if message["role"] == "assistant" and message.get("tool_calls"):
            assert isinstance(message.get("reasoning_content"), str), "DeepSeek needs reasoning_content back"


def mistral_rules(body: dict[str, Any], completion: Completion) -> None:
    """Mistral: tool-call ids of exactly nine a-zA-Z0-9, the same for a call and its result; no user after tool."""
    openai_rules(body, completion)
    messages = body["messages"]
    for before, after in itertools.pairwise(messages):
        assert not (before["role"] == "tool" and after["role"] == "user"), "Mistral: no user message after a tool"
    for message in messages:
        ids = [c["id"] for c in message.get("tool_calls") or ()] + [message.get("tool_call_id") or "x" * 9]
        assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", i) for i in ids), f"Mistral tool-call ids: {ids}"


Rules = Callable[[dict[str, Any], Completion], None]
TARGETS: dict[str, tuple[Any, ProviderSettings, Rules]] = {
    "anthropic": (_anthropic, CONFIG.providers["anthropic"], anthropic_rules),
    "local-anthropic": (_anthropic, CONFIG.providers["local"], anthropic_rules),
    "deepseek": (_openai, CONFIG.providers["deepseek"], deepseek_rules),
    "openrouter": (_openai, CONFIG.providers["openrouter"], openai_rules),
    "relay": (_openai, CONFIG.providers["relay"], openai_rules),
    "mistral": (_openai, CONFIG.providers["mistral"], mistral_rules),
}


#: the blocks of the Anthropic answer being checked (None for an OpenAI answer)
RECEIVED: list[dict[str, Any]] | None = None


def check_everywhere(completion: Completion, received: list[dict[str, Any]] | None = None) -> None:
    global RECEIVED
    RECEIVED = received
    for name, (protocol, provider, rules) in TARGETS.items():
        # Mistral refuses user words right after tool results (a ValueError says so): its turn is an agent loop's
        history = conversation(completion, agent_loop=name == "mistral")
        req = protocol.build_chat(provider, "m", history, env=ENV)
        json.dumps(req.json, ensure_ascii=False).encode("utf-8")
        try:
            rules(req.json, completion)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}\n{json.dumps(req.json, indent=1)}") from None


ROUND_TRIP = settings(max_examples=max(settings().max_examples, 150))


@ROUND_TRIP
@given(anthropic_answers(), st.booleans())
def test_an_anthropic_answer_goes_back_to_every_provider(blocks: list[dict[str, Any]], streamed: bool) -> None:
    check_everywhere(read_anthropic(blocks, streamed), blocks)


@ROUND_TRIP
@given(openai_answers(), st.booleans())
def test_an_openai_answer_goes_back_to_every_provider(message: dict[str, Any], streamed: bool) -> None:
    check_everywhere(read_openai(message, streamed))
