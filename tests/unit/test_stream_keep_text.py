"""``stream(..., keep_text=False)``: every delta still arrives as an event, but the Completion keeps no answer text
(flat memory on very long streams); reasoning (what the next turn may need back), tool calls, usage and
finish_reason are kept as always. And the
default accumulation, which joins deltas in batches, returns exactly the streamed text however long it is.

Streams are constructed from the documented wire formats, shaped like the recorded DeepSeek
(deepseek/02-stream-text.json, 04-stream-tool-call.json) and Anthropic (anthropic/05-stream-tool-use.json,
06-stream-thinking.json) streams in shared/reference/responses/.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

import hamr

ENV = {"DEEPSEEK_API_KEY": "ds-test-key", "ANTHROPIC_API_KEY": "ant-test-key"}
WORDS = [f" w{i}é" for i in range(1000)]  # more deltas than one accumulation batch, multi-byte included


def openai_stream(words: list[str]) -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
        body = {
            "id": "c1",
            "model": "deepseek-chat",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps({**body, 'usage': usage})}\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": w}) for w in words]
    parts.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}))
    parts += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}) for a in ('{"x"', ": 1}")]
    parts.append(chunk({}, "tool_calls", {"prompt_tokens": 5, "completion_tokens": 7}))
    return ("".join(parts) + "data: [DONE]\n\n").encode()


def anthropic_stream(words: list[str]) -> bytes:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    usage = {"input_tokens": 5, "output_tokens": 1}
    parts = [event("message_start", {"message": {"id": "msg_1", "model": "claude", "content": [], "usage": usage}})]
    parts.append(event("content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": ""}}))
    parts += [
        event("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": w}}) for w in words
    ]
    parts.append(event("content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "s"}}))
    parts.append(event("content_block_stop", {"index": 0}))
    parts.append(event("content_block_start", {"index": 1, "content_block": {"type": "text", "text": ""}}))
    parts += [event("content_block_delta", {"index": 1, "delta": {"type": "text_delta", "text": w}}) for w in words]
    parts.append(event("content_block_stop", {"index": 1}))
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    parts.append(event("content_block_start", {"index": 2, "content_block": tool}))
    parts.append(
        event("content_block_delta", {"index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"x": 1}'}})
    )
    parts.append(event("content_block_stop", {"index": 2}))
    parts.append(event("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}}))
    parts.append(event("message_stop", {}))
    return "".join(parts).encode()


def handler(body: bytes) -> httpx2.MockTransport:
    return httpx2.MockTransport(
        lambda request: httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )


async def run(kind: str, provider: str, body: bytes, **options: Any) -> tuple[list[hamr.StreamEvent], hamr.Completion]:
    if kind == "sync":
        with (
            hamr.Client(provider=provider, env=ENV, http_client=httpx2.Client(transport=handler(body))) as client,
            client.stream("hi", **options) as stream,
        ):
            events = list(stream)
    else:
        async with (
            hamr.AsyncClient(
                provider=provider, env=ENV, http_client=httpx2.AsyncClient(transport=handler(body))
            ) as aclient,
            await aclient.stream("hi", **options) as stream,
        ):
            events = [e async for e in stream]
    return events, stream.completion


def joined(events: list[hamr.StreamEvent], kind: str) -> str:
    return "".join(e.text for e in events if e.type == kind)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_default_stream_accumulates_exactly_the_streamed_text_across_batches(kind: str) -> None:
    events, completion = await run(kind, "deepseek", openai_stream(WORDS))
    assert completion.text == "".join(WORDS) == joined(events, "text")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_keep_text_false_streams_every_delta_but_keeps_no_text(kind: str) -> None:
    kept_events, kept = await run(kind, "deepseek", openai_stream(WORDS))
    events, completion = await run(kind, "deepseek", openai_stream(WORDS), keep_text=False)

    assert events[:-1] == kept_events[:-1]  # the same events, only the final Completion differs
    assert joined(events, "text") == "".join(WORDS)
    assert completion.text == "" and completion.reasoning == kept.reasoning
    assert completion.tool_calls == kept.tool_calls and completion.tool_calls[0].arguments == {"x": 1}
    assert (completion.usage, completion.finish_reason, completion.id) == (kept.usage, "tool_calls", "c1")


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_keep_text_false_drops_anthropic_text_but_keeps_the_signed_thinking_and_the_tool_call(kind: str) -> None:
    """Issue 16: the next turn must send the signed thinking block back before the tool_use ("Expected `thinking`
    or `redacted_thinking`, but found `tool_use`"), so keep_text=False keeps reasoning and its blocks."""
    kept_events, kept = await run(kind, "anthropic", anthropic_stream(WORDS))
    events, completion = await run(kind, "anthropic", anthropic_stream(WORDS), keep_text=False)

    assert kept.reasoning == "".join(WORDS) and kept.reasoning_blocks[0].signature == "s"
    assert events[:-1] == kept_events[:-1]
    assert joined(events, "reasoning") == joined(events, "text") == "".join(WORDS)
    assert completion.text == ""
    assert (completion.reasoning, completion.reasoning_blocks) == (kept.reasoning, kept.reasoning_blocks)
    assert completion.tool_calls == kept.tool_calls and completion.usage == kept.usage
    sent_back = completion.to_message()
    assert sent_back["reasoning_blocks"][0] == {"text": "".join(WORDS), "signature": "s"}


def test_keep_text_false_still_splits_think_tags_into_reasoning_events() -> None:
    body = openai_stream(["<thi", "nk>plan</think>", "answer"])
    client = hamr.Client(provider="deepseek", env=ENV, http_client=httpx2.Client(transport=handler(body)))
    with client, client.stream("hi", keep_text=False) as stream:
        events = list(stream)
    assert (joined(events, "reasoning"), joined(events, "text")) == ("plan", "answer")
    assert stream.completion.text == ""
