"""Issue 25, "a turn goes back exactly as it came": each finding reproduced through the client with an
``httpx.MockTransport`` — request 1 gets the answer, ``to_message()`` goes into request 2, and request 2's body is
what Anthropic would check (platform.claude.com/docs/en/build-with-claude/preserved-thinking/prefix-checks, read
2026-12-02: the prefix check "fails if a thinking block between others was left out or moved")."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import hamr

ENV = {"ANTHROPIC_API_KEY": "k"}

# Claude Sonnet 5.5 sends the text between tool calls as thinking blocks
INTERLEAVED_TOOLS = [
    {"type": "thinking", "thinking": "A", "signature": "sigA"},
    {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a"}},
    {"type": "thinking", "thinking": "B", "signature": "sigB"},
    {"type": "tool_use", "id": "toolu_2", "name": "read", "input": {"path": "b"}},
]
INTERLEAVED_TEXT = [
    {"type": "thinking", "thinking": "A", "signature": "sigA"},
    {"type": "fallback", "model": "claude-opus-5-5", "reason": "overloaded"},
    {"type": "thinking", "thinking": "B", "signature": "sigB"},
    {"type": "text", "text": "Done."},
]
MIXED = [
    {"type": "redacted_thinking", "data": "EmwK"},
    {"type": "text", "text": "Let me look."},
    {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}},
    {"type": "thinking", "thinking": "then", "signature": "sig"},
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
    {"type": "text", "text": "And more."},
    {"type": "tool_use", "id": "toolu_2", "name": "read", "input": {"path": "x"}},
]


def sse_events(blocks: list[dict[str, Any]], stop: str) -> bytes:
    """The stream Anthropic sends for ``blocks``: every known block kind in its delta form, any other kind whole
    in its content_block_start."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}})
    ]
    for i, block in enumerate(blocks):
        start, deltas = dict(block), []
        if block["type"] == "text":
            start["text"], deltas = "", [{"type": "text_delta", "text": block["text"]}]
        elif block["type"] == "thinking":
            start["thinking"], start["signature"] = "", ""
            deltas = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        elif "input" in block:
            start["input"], deltas = {}, [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": start}))
        events += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()


def two_turns(blocks: list[dict[str, Any]], *, streamed: bool, raw_stream: bytes | None = None) -> dict[str, Any]:
    """Request 1 answered with ``blocks``; returns request 2's body, built from ``to_message()``."""
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        if sent[-1].get("stream"):
            body = raw_stream if raw_stream is not None else sse_events(blocks, stop)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": blocks}
        return httpx.Response(200, json={**message, "stop_reason": stop, "usage": {}})

    client = hamr.Client(provider="anthropic", env=ENV, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    history: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    if streamed:
        with client.stream(history) as stream:
            list(stream)
        completion = stream.completion
    else:
        completion = client.chat(history)
    assert completion is not None
    history.append(json.loads(json.dumps(completion.to_message())))  # saved and loaded again
    history += [{"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in completion.tool_calls]
    if not completion.tool_calls:
        history.append({"role": "user", "content": "thanks"})
    client.chat(history)
    return sent[1]


@pytest.mark.parametrize("streamed", [False, True], ids=["chat", "stream"])
@pytest.mark.parametrize("blocks", [INTERLEAVED_TOOLS, INTERLEAVED_TEXT, MIXED], ids=["tools", "text", "mixed"])
def test_an_assistant_turn_goes_back_in_the_order_it_came(blocks: list[dict[str, Any]], streamed: bool) -> None:
    body = two_turns(blocks, streamed=streamed)
    assert body["messages"][1] == {"role": "assistant", "content": blocks}


COMPACTION_SUMMARY = "The user asked for X; we did Y."


def ev(name: str, data: dict[str, Any]) -> str:
    """One named Messages-API event, its ``type`` the name."""
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def then_text(text: str) -> str:
    """The end of a stream whose block 0 is open: block 0 stops, block 1 says ``text``, the message ends."""
    return (
        ev("content_block_stop", {"index": 0})
        + ev("content_block_start", {"index": 1, "content_block": {"type": "text", "text": ""}})
        + ev("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": text}})
        + ev("content_block_stop", {"index": 1})
        + ev("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {}})
        + ev("message_stop", {})
    )


def compaction_stream() -> bytes:
    """A context-management compaction block as it streams: the start block with ``content: null``, the summary in
    ``compaction_delta`` deltas (the shape Anthropic's SDK accumulators read: ``content``, and ``encrypted_content``
    beside it), then the answer's text."""

    return (
        ev("message_start", {"message": {"id": "msg_1", "model": "m", "usage": {}}})
        + ev("content_block_start", {"index": 0, "content_block": {"type": "compaction", "content": None}})
        + ev("content_block_delta", {"index": 0, "delta": {"type": "compaction_delta", "content": "The user asked "}})
        + ev(
            "content_block_delta",
            {
                "index": 0,
                "delta": {"type": "compaction_delta", "content": "for X; we did Y.", "encrypted_content": "Eq1"},
            },
        )
        + then_text("Next?")
    ).encode()


def test_a_streamed_compaction_block_goes_back_with_its_summary() -> None:
    body = two_turns([], streamed=True, raw_stream=compaction_stream())
    assert body["messages"][1]["content"] == [
        {"type": "compaction", "content": COMPACTION_SUMMARY, "encrypted_content": "Eq1"},
        {"type": "text", "text": "Next?"},
    ]
    # the same block, not streamed, goes back as it came
    whole = [
        {"type": "compaction", "content": COMPACTION_SUMMARY, "encrypted_content": "Eq1"},
        {"type": "text", "text": "Next?"},
    ]
    assert two_turns(whole, streamed=False)["messages"][1]["content"] == whole


def test_a_block_whose_deltas_hamr_cannot_rebuild_says_so_instead_of_going_back_wrong() -> None:
    body = (
        ev("message_start", {"message": {"id": "msg_1", "model": "m", "usage": {}}})
        + ev("content_block_start", {"index": 0, "content_block": {"type": "future_block", "parts": []}})
        + ev("content_block_delta", {"index": 0, "delta": {"type": "parts_delta", "parts": [{"n": 1}]}})
        + then_text("hi")
    ).encode()
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    client = hamr.Client(provider="anthropic", env=ENV, http_client=httpx.Client(transport=transport))
    with client.stream("go") as stream:
        list(stream)
    completion = stream.completion
    assert completion is not None and completion.text == "hi"  # nothing received is lost
    with pytest.raises(hamr.InvalidResponseError) as err:
        completion.to_message()
    message = str(err.value)
    assert "anthropic" in message and "future_block" in message and "parts_delta" in message


# ---------------------------------------------------------------------------------------------------- item 3


def test_a_system_message_added_mid_conversation_stays_in_its_place() -> None:
    """platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages (read 2026-12-02): append a
    ``{"role": "system"}`` message where the instruction becomes relevant instead of editing the top-level
    ``system``, so the cached prefix (and every thinking block's prefix) stays the same."""
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        content = [{"type": "text", "text": "Ok."}]
        return httpx.Response(200, json={"id": "m", "model": "m", "content": content, "stop_reason": "end_turn"})

    client = hamr.Client(provider="anthropic", env=ENV, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
    ]
    history.append(client.chat(history).to_message())
    history.append({"role": "system", "content": "From now on answer in French."})
    history.append({"role": "user", "content": "How are you?"})
    client.chat(history)
    first, second = sent
    assert first["system"] == second["system"] == "You are terse."
    assert second["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Ok."},
        {"role": "system", "content": "From now on answer in French."},
        {"role": "user", "content": "How are you?"},
    ]
    assert second["messages"][: len(first["messages"])] == first["messages"]  # request 1 is request 2's prefix


def test_openai_compatible_providers_get_a_mid_conversation_system_message_in_place() -> None:
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        message = {"role": "assistant", "content": "Ok."}
        return httpx.Response(200, json={"id": "c", "choices": [{"index": 0, "message": message}]})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    client = hamr.Client(provider="deepseek", env={"DEEPSEEK_API_KEY": "k"}, http_client=http)
    history: list[dict[str, Any]] = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
    history.append(client.chat(history).to_message())
    history += [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "How are you?"}]
    client.chat(history)
    assert [m["role"] for m in sent[1]["messages"]] == ["system", "user", "assistant", "system", "user"]
    assert sent[1]["messages"][3]["content"] == "Answer in French."
