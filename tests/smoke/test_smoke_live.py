"""Live smoke tests against the provider named by HAMR_LIVE_PROVIDER (run them with `nox -s smoke -- <provider>`).

Every check holds for any real server and model: no exact text is asserted. On the local targets (relay,
local-anthropic, local-openai, local-responses: gemma-3-270m) the tool call is forced with a tool choice and the round
trip must happen, in chat and in stream; the arguments must parse as a JSON object, whatever they say. Where a server is
known not to stream usage (llama-cpp-python's), the test checks that hamr reports none rather than inventing one; only
`custom`, which points at any server, may also make no tool call. A 429 or 5xx from the provider fails the test with the
provider's message; nothing here skips.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

import hamr
from hamr._pricing import is_local, price_for
from tests.smoke.live_run import FOLLOW_UP_OPTIONS, TOOL_OPTIONS, Live

PROMPT = [{"role": "user", "content": "In one short sentence: why is the sky blue?"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
        "required": ["city"],
    },
}
TOOL_PROMPT = [{"role": "user", "content": "What is the weather in Paris right now? Use the get_weather tool."}]


def listed(model: str, ids: list[str]) -> bool:
    """The model is listed by its id, or (Anthropic lists snapshots, not aliases) as a dated snapshot of it."""
    return model in ids or any(re.fullmatch(re.escape(model) + r"-\d{8}", i) for i in ids)


def assert_usage(usage: hamr.Usage | None) -> None:
    assert usage is not None, "the provider sent no usage"
    assert usage.input_tokens > 0 and usage.output_tokens > 0, usage


def test_the_servers_model_list_contains_the_model_under_test(live: Live) -> None:
    models = live.client.models()
    from_server = [m.id for m in models if m.source != "config"]  # not the preset's own entries merged in
    assert from_server, "the server listed no models"
    if live.model is None:  # relay/custom without a model named: hamr takes the first one listed
        live.count(live.client.chat(PROMPT, max_tokens=8, **live.options))
        assert live.model == from_server[0]
    assert listed(live.model or "", from_server), f"{live.model!r} not among {from_server}"


def test_a_short_chat_returns_text_and_usage(live: Live) -> None:
    completion = live.count(live.client.chat(PROMPT, max_tokens=64, **live.options))
    assert completion.text.strip()
    assert_usage(completion.usage)
    assert completion.finish_reason in ("stop", "length")
    assert completion.provider == live.provider


def test_stream_deltas_join_to_the_final_text_and_the_final_usage(live: Live) -> None:
    """Cloud presets must stream usage. A server behind relay/custom may not (llama.cpp's ignores
    stream_options.include_usage): then hamr must report no usage rather than invent one."""
    started = time.monotonic()
    first_token: float | None = None
    events: list[hamr.StreamEvent] = []
    with live.client.stream(PROMPT, max_tokens=64, **live.options) as stream:
        for event in stream:
            if event.type == "text" and event.text and first_token is None:
                first_token = time.monotonic() - started
            events.append(event)
    completion = live.count(stream.completion)
    assert first_token is not None, "no text delta arrived"
    live.report["latency to first token"] = f"{first_token * 1000:.0f} ms (stream)"
    assert "".join(e.text for e in events if e.type == "text") == completion.text
    assert completion.text.strip()
    assert events[-1].type == "done" and events[-1].completion == completion
    usages = [e.usage for e in events if e.type == "usage"]
    if live.streams_usage or (live.streams_usage is None and usages):
        assert_usage(completion.usage)
        assert usages and usages[-1] == completion.usage
        assert completion.usage is not None
        live.report["stream usage"] = (
            f"sent by the provider ({completion.usage.input_tokens} in / {completion.usage.output_tokens} out)"
        )
    else:
        assert not usages and completion.usage is None
        live.report["stream usage"] = "not sent by this server (reported as none, not invented)"


async def test_the_async_client_streams_the_same_way(live: Live) -> None:
    async with live.async_client() as client, await client.stream(PROMPT, max_tokens=32, **live.options) as stream:
        deltas = [event.text async for event in stream if event.type == "text"]
    assert "".join(deltas) == stream.completion.text
    assert stream.completion.text.strip()
    live.count(stream.completion)


@pytest.mark.parametrize("library", ["httpx2", "httpx"])
def test_a_callers_own_http_client_chats_and_streams(live: Live, library: str) -> None:
    """``http_client=`` as an OpenAI SDK 3.x user holds it (httpx2) and as older code does (httpx): hamr's
    timeouts and headers (and key, where the server wants one) go through that client; a chat and a stream answer."""
    with importlib.import_module(library).Client() as http:
        client = live.sync_client(http)
        assert live.count(client.chat(PROMPT, max_tokens=16, **live.options)).text.strip()
        with client.stream(PROMPT, max_tokens=16, **live.options) as stream:
            text = "".join(event.text for event in stream if event.type == "text")
        assert text == live.count(stream.completion).text and text.strip()


@pytest.mark.parametrize("library", ["httpx2", "httpx"])
async def test_a_callers_own_async_http_client_streams(live: Live, library: str) -> None:
    async with importlib.import_module(library).AsyncClient() as http:
        client = live.async_client(http)
        async with await client.stream(PROMPT, max_tokens=16, **live.options) as stream:
            text = "".join([event.text async for event in stream if event.type == "text"])
        assert text == live.count(stream.completion).text and text.strip()


def _chat(live: Live, messages: list[Any], **options: Any) -> hamr.Completion:
    return live.client.chat(messages, **options)


def _streamed(live: Live, messages: list[Any], **options: Any) -> hamr.Completion:
    """The completion a stream builds; its tool-call fragments must join to each call's raw arguments."""
    with live.client.stream(messages, **options) as stream:
        events = list(stream)
    completion = stream.completion
    fragments = [e for e in events if e.type == "tool_call"]
    for index, call in enumerate(completion.tool_calls):
        assert "".join(e.arguments for e in fragments if e.index == index) == call.raw_arguments
    assert events[-1].type == "done"
    return completion


def _round_trip(live: Live, send: Callable[..., hamr.Completion], how: str) -> None:
    """The model calls get_weather (forced on a local target), gets the result back and answers in text."""
    options = {"tools": [WEATHER_TOOL], "max_tokens": 200, **live.options}
    first = live.count(send(live, TOOL_PROMPT, **options, **TOOL_OPTIONS.get(live.provider, {})))
    if not first.tool_calls:
        # only `custom` may point at a server or model that does not call tools
        assert live.provider == "custom", f"no tool call; finish_reason={first.finish_reason!r}, {first.text[:200]!r}"
        assert first.text.strip(), "a request with tools got an empty answer"
        live.report[f"tool call ({how})"] = "request with tools accepted and answered; the model made no tool call"
        return
    call = first.tool_calls[0]
    assert first.finish_reason == "tool_calls", (first.finish_reason, first.tool_calls)
    assert call.name == "get_weather" and call.id
    for each in first.tool_calls:
        assert each.arguments_error is None, f"arguments are not a JSON object: {each.raw_arguments!r}"
        assert isinstance(each.arguments, dict)
    if not live.local:  # a cloud model fills the argument in; a 270M model's arguments are not judged
        assert isinstance(call.arguments.get("city"), str), call.arguments
    weather = json.dumps({"city": "Paris", "sky": "sunny"})
    results = [{"role": "tool", "tool_call_id": each.id, "content": weather} for each in first.tool_calls]
    follow_up = {**options, **FOLLOW_UP_OPTIONS.get(live.provider, {})}
    second = live.count(send(live, [*TOOL_PROMPT, first.to_message(), *results], **follow_up))
    assert second.text.strip(), f"no answer after the tool result; finish_reason={second.finish_reason!r}"
    calls = f" (+{len(first.tool_calls) - 1} more calls)" if len(first.tool_calls) > 1 else ""
    live.report[f"tool call ({how})"] = (
        f"get_weather({json.dumps(call.arguments)}){calls} -> result sent -> answered "
        f"({len(second.text.split())} words)"
    )


def test_a_tool_call_round_trip(live: Live) -> None:
    _round_trip(live, _chat, "chat")


def test_a_streamed_tool_call_round_trip(live: Live) -> None:
    _round_trip(live, _streamed, "stream")


def test_spend_is_computed_or_local(live: Live) -> None:
    before = live.client.spend.usd
    completion = live.count(live.client.chat(PROMPT, max_tokens=16, **live.options))
    settings = live.config.provider(live.provider)
    shown = str(live.client.spend)
    if is_local(settings, live.model):
        assert shown == "Spend: local"
    elif price_for(settings, live.model) is not None or (completion.usage and completion.usage.cost is not None):
        assert live.client.spend.usd > before
        assert re.fullmatch(r"Spend: (\$\d+\.\d{3}|<\$0\.001)", shown), shown
    else:  # mistral, together, a remote custom server: no price configured, and the provider reports none
        assert shown.startswith("Spend: n/a")
