"""Issue 34, "also check and settle": Anthropic answers whose blocks carry more than text, thinking and tool calls
say, and the next request that sends them back through ``to_message()``, in chat and in stream, on both clients.

- ``tool_use.caller`` (who called the tool: ``{"type": "direct"}``, or the code execution tool for programmatic
  tool calling, https://platform.claude.com/docs/en/agents-and-tools/tool-use/programmatic-tool-calling): the real
  recordings in peer_wire (anthropic/04, a body; anthropic/05, a stream) carry it on every call.
- the tool search tool's blocks (https://platform.claude.com/docs/en/agents-and-tools/tool-use/tool-search-tool):
  ``server_tool_use`` and ``tool_search_tool_result`` holding ``tool_references``, constructed from that page; and
  ``tool_reference`` blocks in a tool result (its client-side search), sent as given.
- a compaction paused with ``pause_after_compaction``
  (https://platform.claude.com/docs/en/build-with-claude/compaction): ``stop_reason: "compaction"``, the turn one
  ``compaction`` block (streamed as a ``compaction_delta``), the tokens in ``usage.iterations`` only."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import hamr
from tests.unit.peer_support import MODES, Server, anthropic_message, anthropic_stream, call, json_response, sse
from tests.unit.peer_wire import ANTHROPIC_PARALLEL_TOOL_USE_BODY, ANTHROPIC_TOOL_USE_STREAM

OK = anthropic_message([{"type": "text", "text": "ok"}])
DIRECT = {"type": "direct"}


def answer(blocks: list[dict[str, Any]], stop_reason: str, usage: dict[str, Any], stream: bool) -> Any:
    if stream:
        return sse(anthropic_stream(blocks, {"stop_reason": stop_reason}, usage))
    return json_response(anthropic_message(blocks, stop_reason, usage))


def next_turn(mode: str, reply: Any, stream: bool) -> tuple[hamr.Completion, dict[str, Any], hamr.Spend | None]:
    """The answer ``reply`` gives, the assistant message the next request sends back (after the results of any
    tool calls), and the spend of the first request."""
    first = call(mode, Server(reply), {"messages": "hi", "stream": stream}, provider="anthropic")
    completion = first.completion
    history = [{"role": "user", "content": "hi"}, completion.to_message()]
    history += [{"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in completion.tool_calls]
    if not completion.tool_calls:
        history.append({"role": "user", "content": "go on"})
    server = Server(json_response(OK))
    call(mode, server, {"messages": history}, provider="anthropic")
    return completion, server.body()["messages"][1], first.spend


STREAM = pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])
BOTH = pytest.mark.parametrize("mode", MODES)


@BOTH
@STREAM
def test_the_caller_of_each_tool_call_goes_back_unchanged(mode: str, stream: bool) -> None:
    if stream:
        reply, sent = sse(ANTHROPIC_TOOL_USE_STREAM), [BERLIN_CALL]
    else:
        reply, sent = json_response(ANTHROPIC_PARALLEL_TOOL_USE_BODY), json.loads(ANTHROPIC_PARALLEL_TOOL_USE_BODY)
        sent = sent["content"]
    completion, assistant, _ = next_turn(mode, reply, stream)
    assert [c.id for c in completion.tool_calls] == [b["id"] for b in sent]
    assert list(completion.content_blocks) == sent
    assert assistant == {"role": "assistant", "content": sent}  # caller and all, as the provider sent it


BERLIN_CALL = {
    "type": "tool_use",
    "id": "toolu_01MKSN7NHsBVKr7Jvw5pqCQq",
    "name": "weather",
    "input": {"latitude": "52.5200", "longitude": "13.4050"},
    "caller": DIRECT,
}
TOOL_SEARCH = [
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "tool_search_tool_regex", "input": {"query": "weather"}},
    {
        "type": "tool_search_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": {
            "type": "tool_search_tool_search_result",
            "tool_references": [{"type": "tool_reference", "tool_name": "get_weather"}],
        },
    },
    {"type": "text", "text": "I found a weather tool."},
    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}, "caller": DIRECT},
]


@BOTH
@STREAM
def test_tool_search_blocks_are_kept_and_go_back_unchanged(mode: str, stream: bool) -> None:
    reply = answer(TOOL_SEARCH, "tool_use", {"input_tokens": 10, "output_tokens": 5}, stream)
    completion, assistant, _ = next_turn(mode, reply, stream)
    calls = [(c.id, c.name, c.arguments) for c in completion.tool_calls]
    assert calls == [("toolu_1", "get_weather", {"city": "Paris"})]  # the search is the provider's own, no call
    assert list(completion.content_blocks) == TOOL_SEARCH
    assert assistant == {"role": "assistant", "content": TOOL_SEARCH}


@BOTH
def test_tool_references_in_a_tool_result_go_as_given(mode: str) -> None:
    references = [{"type": "tool_reference", "tool_name": "get_weather"}]
    history = [
        {"role": "user", "content": "Find a weather tool."},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "toolu_s", "name": "search", "arguments": {}}]},
        {"role": "tool", "tool_call_id": "toolu_s", "content": references},
    ]
    server = Server(json_response(OK))
    call(mode, server, {"messages": history}, provider="anthropic")
    assert server.body()["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_s", "content": references}
    ]


COMPACTION = {"type": "compaction", "content": "Summary of the conversation: the user asked about tulips."}
#: paused right after the summary: the top level counts nothing, the compaction step is all that was billed
PAUSED = {
    "input_tokens": 0,
    "output_tokens": 0,
    "iterations": [{"type": "compaction", "input_tokens": 180000, "output_tokens": 3500}],
}


@BOTH
@STREAM
def test_a_paused_compaction_says_so_and_its_block_goes_back_unchanged(mode: str, stream: bool) -> None:
    completion, assistant, spend = next_turn(mode, answer([COMPACTION], "compaction", PAUSED, stream), stream)
    assert completion.finish_reason == "compaction" and completion.text == ""
    assert list(completion.content_blocks) == [COMPACTION]
    assert assistant == {"role": "assistant", "content": [COMPACTION]}
    assert spend is not None and spend.usd == Decimal("0.395")  # 180,000 in at 2.00, 3,500 out at 10.00
