"""Issue 34 item 5: ``cache=True`` beside the caller's own 1-hour breakpoints. Anthropic's prompt caching docs,
"Mixing different TTLs" (https://platform.claude.com/docs/en/build-with-claude/prompt-caching): "Cache entries with
longer TTL must appear before shorter TTLs (that is, a 1-hour cache entry must appear before any 5-minute cache
entries)", the prompt read tools, then system, then messages. hamr keeps the caller's TTLs and never places one of
its 5-minute breakpoints before a longer one (the caller's breakpoint already caches everything before it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.peer_support import MODES, Server, anthropic_message, call, json_response

WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
HOUR = {"type": "ephemeral", "ttl": "1h"}
FIVE = {"type": "ephemeral"}
RANK = {"5m": 0, "1h": 1}


def sent(mode: str, messages: Any, **options: Any) -> dict[str, Any]:
    """The body hamr sends to Anthropic for ``messages`` with ``options``, through either client."""
    server = Server(json_response(anthropic_message([{"type": "text", "text": "ok"}])))
    call(mode, server, {"messages": messages, **options}, provider="anthropic")
    return server.body()


def breakpoints(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Every cache_control in the order Anthropic reads the prompt (tools, system, messages): (where, ttl)."""
    found = [(f"tools[{i}]", t["cache_control"]) for i, t in enumerate(body.get("tools", ())) if "cache_control" in t]
    system = body.get("system")
    for i, block in enumerate(system if isinstance(system, list) else ()):
        if "cache_control" in block:
            found.append((f"system[{i}]", block["cache_control"]))
    for i, message in enumerate(body["messages"]):
        content = message["content"]
        for j, block in enumerate(content if isinstance(content, list) else ()):
            if "cache_control" in block:
                found.append((f"messages[{i}][{j}]", block["cache_control"]))
    return [(where, control.get("ttl", "5m")) for where, control in found]


def never_shorter_before_longer(marks: list[tuple[str, str]]) -> bool:
    ranks = [RANK[ttl] for _, ttl in marks]
    return ranks == sorted(ranks, reverse=True)


KINDS = pytest.mark.parametrize("mode", MODES)


@KINDS
def test_a_callers_one_hour_system_block_is_not_preceded_by_a_five_minute_tools_breakpoint(mode: str) -> None:
    """The issue's case: tools, a system block marked ``ttl: "1h"``, ``cache=True``. Before: tools 5m, system 1h,
    messages 5m, which Anthropic rejects."""
    system = [{"type": "text", "text": "long rules", "cache_control": HOUR}]
    body = sent(mode, "hi", tools=[WEATHER], system=system, cache=True)
    marks = breakpoints(body)
    assert never_shorter_before_longer(marks), marks
    assert marks == [("system[0]", "1h"), ("messages[0][0]", "5m")]  # the caller's 1h kept, the last turn cached


@KINDS
def test_a_callers_one_hour_message_keeps_hamrs_breakpoints_off_the_prefix_before_it(mode: str) -> None:
    document = {"type": "text", "text": "a long document", "cache_control": HOUR}
    turns = [
        {"role": "user", "content": [document]},
        {"role": "assistant", "content": "read it"},
        {"role": "user", "content": "summarise"},
    ]
    body = sent(mode, turns, tools=[WEATHER], system="rules", cache=True)
    marks = breakpoints(body)
    assert never_shorter_before_longer(marks), marks
    assert marks == [("messages[0][0]", "1h"), ("messages[2][0]", "5m")]


@KINDS
def test_five_minute_breakpoints_of_the_caller_change_nothing(mode: str) -> None:
    system = [{"type": "text", "text": "long rules", "cache_control": FIVE}]
    body = sent(mode, "hi", tools=[WEATHER], system=system, cache=True)
    assert breakpoints(body) == [("tools[0]", "5m"), ("system[0]", "5m"), ("messages[0][0]", "5m")]
