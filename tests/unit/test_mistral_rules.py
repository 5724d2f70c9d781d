"""Issue 16 item 9: Mistral's message rules, for the mistral preset and any provider on api.mistral.ai. Tool-call ids
must be exactly nine characters of a-zA-Z0-9 (Mistral's 400 "Tool call id was abc123 but must be a-z, A-Z, 0-9, with
a length of 9.", quoted in langchain-ai/langchain#24668), and a user message may not follow a tool message
(400 "Unexpected role 'user' after role 'tool'", type invalid_request_message_order, quoted in
zed-industries/zed#37021). Messages here are constructed: a conversation begun on another provider."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hamr
from hamr import _openai
from hamr._config import parse_config
from hamr._mistral import mistral_tool_id

ENV = {"MISTRAL_API_KEY": "k", "DEEPSEEK_API_KEY": "k"}
VALID = re.compile(r"[a-zA-Z0-9]{9}")
# a turn from DeepSeek (its ids look like call_00_...) and one from Anthropic (toolu_...), then a Mistral turn
HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "weather in Berlin and Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_00_x5ZtYqfUvGc2mM1", "name": "weather", "arguments": {"city": "Berlin"}},
            {"id": "toolu_01A09q90qw90lq917835lq9", "name": "weather", "arguments": {"city": "Paris"}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_00_x5ZtYqfUvGc2mM1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "rain"},
    {"role": "assistant", "content": "Berlin: sunny. Paris: rain."},
    {"role": "user", "content": "and Rome?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "D681PevKs", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "D681PevKs", "content": "hot"},
]


def sent(pid: str = "mistral", table: dict[str, Any] | None = None, **options: Any) -> list[dict[str, Any]]:
    config = parse_config({"providers": {pid: table}} if table else {})
    req = _openai.build_chat(config.providers[pid], "m", options.pop("messages", HISTORY), env=ENV, **options)
    assert req.json is not None
    messages: list[dict[str, Any]] = req.json["messages"]
    return messages


def ids(messages: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    calls = [c["id"] for m in messages for c in m.get("tool_calls") or ()]
    results = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    return calls, results


@pytest.mark.parametrize(
    ("pid", "table"),
    [("mistral", None), ("work", {"base_url": "https://api.mistral.ai/v1", "api_key_env": "MISTRAL_API_KEY"})],
)
def test_foreign_tool_call_ids_become_valid_and_still_pair_call_with_result(
    pid: str, table: dict[str, Any] | None
) -> None:
    calls, results = ids(sent(pid, table))
    assert all(VALID.fullmatch(i) for i in calls + results)
    assert calls == results  # each call and its result carry the same id, in the same order
    assert len(set(calls)) == 3
    assert calls[2] == "D681PevKs"  # Mistral's own id passes unchanged


def test_the_mapping_is_the_same_in_every_request() -> None:
    first, _ = ids(sent())
    again, _ = ids(sent(messages=[*HISTORY, {"role": "assistant", "content": "Rome: hot."}]))
    assert first == again and first[0] == mistral_tool_id("call_00_x5ZtYqfUvGc2mM1")


def test_the_callers_messages_are_not_changed() -> None:
    before = repr(HISTORY)
    sent()
    assert repr(HISTORY) == before


def test_other_providers_keep_the_ids_as_they_are() -> None:
    calls, results = ids(sent("deepseek"))
    assert calls[0] == "call_00_x5ZtYqfUvGc2mM1" and results[1] == "toolu_01A09q90qw90lq917835lq9"


@pytest.mark.parametrize("system", [None, "be brief"])
def test_a_user_message_right_after_a_tool_message_is_a_value_error_naming_the_rule(system: str | None) -> None:
    messages = [*HISTORY, {"role": "user", "content": "thanks"}]
    with pytest.raises(ValueError, match=r"messages\[8\] is a 'user' message directly after a 'tool' message") as e:
        sent(messages=messages, system=system)
    assert "Unexpected role 'user' after role 'tool'" in str(e.value)


def test_other_providers_accept_a_user_message_after_a_tool_message() -> None:
    sent("deepseek", messages=[*HISTORY, {"role": "user", "content": "thanks"}])


def test_nothing_is_sent_when_the_order_is_wrong() -> None:
    requests: list[httpx2.Request] = []
    transport = httpx2.MockTransport(lambda r: requests.append(r) or httpx2.Response(500))
    config = parse_config({"active": {"provider": "mistral", "model": "mistral-small-latest"}})
    client = hamr.Client(config, http_client=httpx2.Client(transport=transport), env=ENV)
    with client, pytest.raises(ValueError, match="Mistral"):
        client.chat([*HISTORY, {"role": "user", "content": "thanks"}])
    assert requests == []


@given(st.text(min_size=1, max_size=60))
def test_any_id_maps_to_nine_alphanumerics_deterministically(call_id: str) -> None:
    mapped = mistral_tool_id(call_id)
    assert VALID.fullmatch(mapped) and mistral_tool_id(call_id) == mapped
    if VALID.fullmatch(call_id):
        assert mapped == call_id


def sent_bodies(pid: str, table: dict[str, Any] | None, **options: Any) -> list[dict[str, Any]]:
    """The JSON bodies a Client for ``pid`` sends for one chat with ``options``."""
    bodies: list[dict[str, Any]] = []
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}]}

    def reply(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=answer)

    config = parse_config({"providers": {pid: table}} if table else {})
    http = httpx2.Client(transport=httpx2.MockTransport(reply))
    with hamr.Client(config, provider=pid, model="m", http_client=http, env=ENV) as client:
        client.chat("2 + 2?", **options)
    return bodies


# Issue 34 item 2: Mistral's chat-completions schema (its official SDK, generated from its OpenAPI spec) has
# random_seed and no seed, and Mistral answers 422 extra_forbidden to a field it does not know (seen for seed on a
# Mistral model in langchain-azure#82).
@pytest.mark.parametrize(
    ("pid", "table"),
    [("mistral", None), ("work", {"base_url": "https://api.mistral.ai/v1", "api_key_env": "MISTRAL_API_KEY"})],
)
def test_seed_goes_to_mistral_as_random_seed(pid: str, table: dict[str, Any] | None) -> None:
    bodies = sent_bodies(pid, table, seed=7, temperature=0.2)
    assert bodies[0]["random_seed"] == 7 and "seed" not in bodies[0]
    assert bodies[0]["temperature"] == 0.2


def test_other_providers_get_seed_as_seed() -> None:
    (body,) = sent_bodies("deepseek", None, seed=7)
    assert body["seed"] == 7 and "random_seed" not in body
