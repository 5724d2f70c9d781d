"""The provider contract: every preset, through hamr's public API, against its cassette.

Each test runs once per preset (``case``) that has the feature; for a preset without it no test is generated,
and ``COMPATIBILITY.md`` shows "not supported" with the reason from ``contract_cases.py``.
Cassettes live in ``cassettes/<preset>/<test id>.yaml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import hamr
from hamr._mistral import mistral_tool_id
from hamr._presets import RESPONSES
from hamr.kit import cassette_format
from hamr.kit.prompts import WEATHER
from hamr.kit.scrub import placeholder
from tests.contract.contract_cases import TRACE_HEADER, TRACE_VAR, WEATHER_PROMPT, Case

pytestmark = pytest.mark.vcr

# The prompts of the reference recordings, so constructed cassettes pair a request with the answer it got.
MESSAGES = [{"role": "user", "content": "What's 2 + 2?"}]
STREAM_MESSAGES = [{"role": "user", "content": "Count from 1 to 3"}]
SYSTEM = "You are a helpful assistant."
REASONING_PROMPT = "What's 2 + 2?"
UNKNOWN_MODEL = "non-existent"
TOOL_RESULT = "Sunny, 21 °C"
BERLIN_ARGS = {"latitude": "52.5200", "longitude": "13.4050"}


def _anthropic(case: Case) -> bool:
    return case.auth == "x-api-key"


def _responses(case: Case) -> bool:
    return case.protocol == RESPONSES


def _stream(client: hamr.Client, *args: Any, **kwargs: Any) -> tuple[list[hamr.StreamEvent], hamr.Completion]:
    with client.stream(*args, **kwargs) as stream:
        events = list(stream)
    return events, stream.completion


def _joined(events: list[hamr.StreamEvent], kind: str) -> str:
    return "".join(e.text for e in events if e.type == kind)


#: the headers that state a rate limit's size or what is left of it, in every provider's form
STATED = re.compile(r"^(x|anthropic)-ratelimit-(.+-)?(limit|remaining)(-.+)?$")


def _limits_as_stated(replaying: bool, cassette: Path, limits: hamr.RateLimits | None) -> None:
    """Every limit and remaining count the provider's response stated (its rate-limit headers, as the cassette keeps
    them) is in ``limits``, and nothing else; a response that stated none gives no limits. Checked on replay (while
    recording or constructing, the cassette is still being written)."""
    if not replaying:
        return
    headers = cassette_format.load(cassette.read_text())["interactions"][0]["response"].get("headers") or {}
    stated = sorted(int(v) for k, v in headers.items() if STATED.match(k.lower()) and str(v).isdigit())
    kinds = (limits.requests, limits.tokens, limits.input_tokens, limits.output_tokens) if limits else ()
    read = sorted(n for kind in kinds if kind is not None for n in (kind.limit, kind.remaining) if n is not None)
    assert read == stated


# ------------------------------------------------------------------------------------------------------------------
# chat
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.contract("chat")
def test_chat_returns_text_usage_and_finish_reason(case, contract, replaying, cassette_path):
    with contract.client() as client:
        completion = client.chat(MESSAGES, max_tokens=64)

    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    assert completion.usage is not None
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0
    assert completion.provider == case.provider_id
    assert completion.tool_calls == ()
    _limits_as_stated(replaying, cassette_path, completion.rate_limits)


@pytest.mark.contract("system_prompt")
def test_system_prompt_is_placed_where_the_protocol_expects_it(case, contract):
    with contract.client() as client:
        completion = client.chat(MESSAGES, system=SYSTEM, max_tokens=64)

    body = contract.body()
    if _anthropic(case):
        assert body["system"] == SYSTEM
        assert [m["role"] for m in body["messages"]] == ["user"]
    elif _responses(case):
        assert body["instructions"] == SYSTEM
        assert body["input"] == MESSAGES
    else:
        assert "system" not in body
        assert body["messages"][0] == {"role": "system", "content": SYSTEM}
        assert body["messages"][1:] == MESSAGES
    assert completion.text.strip()


@pytest.mark.contract("request_shape")
def test_chat_request_carries_url_auth_and_configured_headers(case, contract):
    with contract.client() as client:
        client.chat(MESSAGES)

    request = contract.request
    assert request.method == "POST"
    assert str(request.url) == case.chat_url
    headers = request.headers
    key = contract.env.get(case.key_env or "")  # its <VAR> placeholder on replay, the real key while recording
    if case.auth == "bearer":
        assert headers["authorization"] == f"Bearer {key}"
        assert "x-api-key" not in headers
    elif case.auth == "x-api-key":
        assert headers["x-api-key"] == key
        assert headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in headers
    else:
        assert "authorization" not in headers
        assert "x-api-key" not in headers
    for name, value in case.preset_headers.items():
        assert headers[name] == value
    assert headers[TRACE_HEADER] == contract.env[TRACE_VAR]
    assert headers["content-type"] == "application/json"

    body = contract.body()
    assert body["model"] == case.model
    assert "stream" not in body
    if _anthropic(case):
        assert body["max_tokens"] == 4096  # Anthropic rejects a request without max_tokens: hamr's default
    else:
        assert "max_tokens" not in body and "max_output_tokens" not in body
    if _responses(case):  # stateless: nothing stored, reasoning items come back encrypted
        assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]
        assert body["input"] == MESSAGES


@pytest.mark.contract("header_unset")
def test_interpolated_header_is_left_out_when_its_variable_is_unset(case, contract):
    env = {name: value for name, value in contract.env.items() if name != TRACE_VAR}
    with contract.client(env=env) as client:
        completion = client.chat(MESSAGES, max_tokens=16)

    assert TRACE_HEADER.lower() not in {name.lower() for name in contract.request.headers}
    assert completion.finish_reason in ("stop", "length")


# ------------------------------------------------------------------------------------------------------------------
# streaming
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.contract("stream")
def test_stream_deltas_join_to_the_final_text(case, contract, replaying, cassette_path):
    with contract.client() as client:
        events, completion = _stream(client, STREAM_MESSAGES, max_tokens=24)

    texts = [e.text for e in events if e.type == "text"]
    assert texts, "no text delta in the stream"
    assert "".join(texts) == completion.text
    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    assert events[-1].type == "done"
    assert events[-1].completion == completion
    _limits_as_stated(replaying, cassette_path, completion.rate_limits)

    body = contract.body()
    assert body["stream"] is True
    assert contract.request.headers["accept"] == "text/event-stream"


@pytest.mark.contract("stream_usage")
def test_stream_reports_usage(case, contract):
    with contract.client() as client:
        events, completion = _stream(client, STREAM_MESSAGES, max_tokens=24)

    usages = [e.usage for e in events if e.type == "usage"]
    assert usages, "no usage event in the stream"
    assert completion.usage == usages[-1]
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0
    body = contract.body()
    if case.stream_options:
        assert body["stream_options"] == {"include_usage": True}
    else:  # Anthropic and Mistral report usage unasked; Mistral rejects the field
        assert "stream_options" not in body


# ------------------------------------------------------------------------------------------------------------------
# tools
# ------------------------------------------------------------------------------------------------------------------


def _assert_tools_sent(case: Case, body: dict[str, Any], tools: tuple[dict[str, Any], ...]) -> None:
    if _anthropic(case):
        assert [(t["name"], t["input_schema"]) for t in body["tools"]] == [(t["name"], t["parameters"]) for t in tools]
    elif _responses(case):  # the flat Responses form, not strict unless asked (as on chat completions)
        assert [(t["type"], t["name"], t["parameters"], t["strict"]) for t in body["tools"]] == [
            ("function", t["name"], t["parameters"], False) for t in tools
        ]
    else:
        assert [t["type"] for t in body["tools"]] == ["function"] * len(tools)
        assert [(t["function"]["name"], t["function"]["parameters"]) for t in body["tools"]] == [
            (t["name"], t["parameters"]) for t in tools
        ]


def _assert_calls(completion: hamr.Completion, calls: tuple[tuple[str, dict[str, Any] | None], ...]) -> None:
    assert [c.name for c in completion.tool_calls] == [name for name, _ in calls]
    for call, (_, arguments) in zip(completion.tool_calls, calls, strict=True):
        assert call.arguments_error is None, call.raw_arguments
        assert call.arguments == arguments if arguments is not None else isinstance(call.arguments, dict)


@pytest.mark.contract("tool_call")
def test_tool_call_arguments_arrive_as_a_dict(case, contract):
    scenario = case.tool
    with contract.client(model=scenario.model) as client:
        completion = client.chat(scenario.prompt, tools=list(scenario.tools), **case.tool_options)

    assert completion.finish_reason == "tool_calls"
    _assert_calls(completion, scenario.calls)
    assert all(c.id for c in completion.tool_calls)
    assert len({c.id for c in completion.tool_calls}) == len(completion.tool_calls)
    _assert_tools_sent(case, contract.body(), scenario.tools)


@pytest.mark.contract("stream_tool_call")
def test_streamed_tool_call_arguments_are_reassembled_into_a_dict(case, contract):
    scenario = case.stream_tool
    with contract.client(model=scenario.model) as client:
        events, completion = _stream(client, scenario.prompt, tools=list(scenario.tools), **case.tool_options)

    assert completion.finish_reason == "tool_calls"
    _assert_calls(completion, scenario.calls)
    fragments = [e for e in events if e.type == "tool_call"]
    for index, call in enumerate(completion.tool_calls):
        assert "".join(e.arguments for e in fragments if e.index == index) == call.raw_arguments
        assert next(e.name for e in fragments if e.index == index and e.name) == call.name
    _assert_tools_sent(case, contract.body(), scenario.tools)


@pytest.mark.contract("tool_result")
def test_tool_result_follow_up_is_sent_in_the_protocol_shape(case, contract):
    call_id = "toolu_contract_0001" if _anthropic(case) else "call_contract_0001"
    messages = [
        {"role": "user", "content": WEATHER_PROMPT},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": call_id, "name": "weather", "arguments": {"latitude": "52.5200", "longitude": "13.4050"}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT},
    ]
    with contract.client() as client:
        completion = client.chat(messages, tools=[WEATHER] if case.tool_result_tools else None, max_tokens=64)

    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    body = contract.body()
    if _responses(case):  # the call as a function_call item, its result as a function_call_output with its call_id
        assert body["input"][1:] == [
            {"type": "function_call", "call_id": call_id, "name": "weather", "arguments": json.dumps(BERLIN_ARGS)},
            {"type": "function_call_output", "call_id": call_id, "output": TOOL_RESULT},
        ]
        return
    sent = body["messages"]
    if _anthropic(case):
        assert sent[1]["role"] == "assistant"
        assert {
            "type": "tool_use",
            "id": call_id,
            "name": "weather",
            "input": {"latitude": "52.5200", "longitude": "13.4050"},
        } in sent[1]["content"]
        assert sent[2] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call_id, "content": TOOL_RESULT}],
        }
    else:
        # Mistral accepts only nine a-zA-Z0-9 characters: hamr sends a foreign id mapped, the same for call and result
        wire_id = mistral_tool_id(call_id) if case.preset == "mistral" else call_id
        (call,) = sent[1]["tool_calls"]
        assert (call["id"], call["type"], call["function"]["name"]) == (wire_id, "function", "weather")
        assert json.loads(call["function"]["arguments"]) == {"latitude": "52.5200", "longitude": "13.4050"}
        assert sent[2] == {"role": "tool", "tool_call_id": wire_id, "content": TOOL_RESULT}


# ------------------------------------------------------------------------------------------------------------------
# reasoning
# ------------------------------------------------------------------------------------------------------------------


def _assert_reasoning_apart(case: Case, completion: hamr.Completion) -> None:
    assert completion.reasoning.strip()
    assert "<think>" not in completion.text and "</think>" not in completion.text
    assert completion.to_message()["reasoning"] == completion.reasoning
    if _anthropic(case):
        assert completion.reasoning_blocks and all(b.signature for b in completion.reasoning_blocks)
    if _responses(case):  # the reasoning item itself, to go back with to_message()
        assert any(b["type"] == "reasoning" for b in completion.content_blocks)
        assert completion.to_message()["content"] == list(completion.content_blocks)


@pytest.mark.contract("reasoning")
def test_reasoning_is_kept_apart_from_the_answer(case, contract):
    with contract.client(model=case.reasoning_model) as client:
        completion = client.chat(REASONING_PROMPT, extra_body=case.reasoning_request or None)

    _assert_reasoning_apart(case, completion)
    assert completion.text.strip()


@pytest.mark.contract("reasoning_stream")
def test_streamed_reasoning_is_kept_apart_from_the_answer(case, contract):
    with contract.client(model=case.reasoning_model) as client:
        events, completion = _stream(client, REASONING_PROMPT, extra_body=case.reasoning_request or None)

    _assert_reasoning_apart(case, completion)
    assert _joined(events, "reasoning") == completion.reasoning
    assert _joined(events, "text") == completion.text
    kinds = [e.type for e in events if e.type in ("reasoning", "text")]
    if "text" in kinds:
        assert kinds.index("reasoning") < kinds.index("text")


# ------------------------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.contract("models")
def test_models_lists_the_servers_models(case, contract):
    with contract.client() as client:
        models = client.models()

    assert (case.listed_model or case.model) in [m.id for m in models]
    assert all(m.id for m in models)
    assert any(m.source in ("server", "server+config") for m in models)
    assert contract.request.method == "GET"
    assert str(contract.request.url) == case.models_url


# ------------------------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------------------------


def _chat_kwargs(**overrides: Any) -> tuple[Any, dict[str, Any]]:
    kwargs: dict[str, Any] = {"messages": MESSAGES, "max_tokens": 16, **overrides}
    return kwargs.pop("messages"), kwargs


@pytest.mark.contract("error_401")
def test_rejected_key_raises_authentication_error_without_the_key(case, contract):
    env = dict(contract.env, **{case.key_env: placeholder("INVALID_KEY")})
    # hamr's own httpx2 client here: vcrpy patches httpx2's transport class, so no http_client is needed to replay
    with contract.client(env=env, default_http=True) as client, pytest.raises(hamr.AuthenticationError) as info:
        client.chat(MESSAGES, max_tokens=16)

    error = info.value
    assert (error.status, error.provider) == (401, case.provider_id)
    assert error.message
    assert placeholder("INVALID_KEY") not in str(error) + error.body


@pytest.mark.contract("error_400")
def test_rejected_request_raises_bad_request_error(case, contract):
    messages, kwargs = _chat_kwargs(**case.bad_request)
    with contract.client() as client, pytest.raises(hamr.BadRequestError) as info:
        client.chat(messages, **kwargs)

    assert (info.value.status, info.value.provider) == (400, case.provider_id)
    assert info.value.message


@pytest.mark.contract("error_unknown_model")
def test_unknown_model_raises_bad_request_error(case, contract):
    with contract.client(model=UNKNOWN_MODEL) as client, pytest.raises(hamr.BadRequestError) as info:
        client.chat(MESSAGES, max_tokens=16)

    assert info.value.status in (400, 404)
    assert not isinstance(info.value, hamr.ContextWindowExceededError)
    assert info.value.message


@pytest.mark.contract("error_429")
def test_rate_limit_is_retried_after_the_asked_delay_then_raised(case, contract, replaying, cassette_path):
    with contract.client(max_retries=1) as client:
        slept: list[float] = []
        client._sleep = slept.append  # nothing waits in the suite
        with pytest.raises(hamr.RateLimitError) as info:
            client.chat(MESSAGES, max_tokens=16)

    assert info.value.status == 429
    assert info.value.retry_after == case.retry_after
    assert len(slept) == 1
    if case.retry_after is None:
        assert 0 < slept[0] <= 0.5  # no Retry-After: hamr's own first backoff
    else:
        assert slept == [case.retry_after]
    _limits_as_stated(replaying, cassette_path, info.value.rate_limits)


@pytest.mark.contract("error_5xx")
def test_server_failure_raises_server_error(case, contract):
    messages, kwargs = _chat_kwargs(**case.server_error)
    with contract.client() as client, pytest.raises(hamr.ServerError) as info:
        client.chat(messages, **kwargs)

    assert info.value.status is not None and info.value.status >= 500
    assert info.value.provider == case.provider_id
    assert info.value.message


@pytest.mark.contract("error_mid_stream")
def test_error_event_mid_stream_raises_stream_error_keeping_the_partial_answer(case, contract):
    received: list[hamr.StreamEvent] = []
    with (
        contract.client() as client,
        client.stream(STREAM_MESSAGES, max_tokens=24) as stream,
        pytest.raises(hamr.StreamError) as info,
    ):
        for event in stream:
            received.append(event)

    error = info.value
    assert error.provider == case.provider_id
    assert "error" in error.message
    assert error.partial.text == _joined(received, "text")
    assert error.partial.reasoning == _joined(received, "reasoning")
    assert error.partial.text or error.partial.reasoning, "the stream sent something before failing"
    assert not any(e.type == "done" for e in received)


# ------------------------------------------------------------------------------------------------------------------
# request options (issue 17)
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.contract("tool_choice")
def test_a_named_tool_choice_forces_that_tool(case, contract):
    scenario = case.forced_tool or case.tool
    forced = scenario.tools[0]["name"]
    with contract.client(model=scenario.model) as client:
        completion = client.chat(scenario.prompt, tools=list(scenario.tools), tool_choice={"name": forced})

    body = contract.body()
    if _anthropic(case):
        assert body["tool_choice"] == {"type": "tool", "name": forced}
    elif _responses(case):
        assert body["tool_choice"] == {"type": "function", "name": forced}
    else:
        assert body["tool_choice"] == {"type": "function", "function": {"name": forced}}
    _assert_tools_sent(case, body, scenario.tools)
    # the call the caller forced, whole: a local model's arguments are not checked, only that they are an object
    assert completion.tool_calls and {c.name for c in completion.tool_calls} == {forced}
    assert all(c.id and c.arguments_error is None for c in completion.tool_calls)
    # OpenAI documents finish_reason "stop" for a forced call; an answer holding calls says tool_calls
    assert completion.finish_reason == "tool_calls"
    if scenario.reasoning:  # kept apart from the (empty) text, and sent back with the turn
        assert completion.reasoning.strip() and not completion.text
        assert completion.to_message()["reasoning"] == completion.reasoning


@pytest.mark.contract("response_format")
def test_response_format_answers_json(case, contract):
    scenario = case.json_scenario
    with contract.client(model=scenario.model) as client:
        completion = client.chat(scenario.prompt, response_format=scenario.format, max_tokens=scenario.max_tokens)

    body = contract.body()
    fmt = scenario.format
    if _anthropic(case) and case.chat_url.startswith("https://api.anthropic.com/"):
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": fmt["schema"]}}
    elif _anthropic(case):  # another anthropic-compatible server: the answer comes as a forced answer tool's call
        assert body["tool_choice"] == {"type": "any"} and body["tools"][-1]["name"] == fmt["name"]
        assert body["tools"][-1]["input_schema"] == fmt["schema"]
    elif _responses(case):
        wire = {"type": "json_object"} if fmt["type"] == "json_object" else fmt
        assert body["text"] == {"format": wire}
    elif fmt["type"] == "json_object":
        assert body["response_format"] == {"type": "json_object"}
    elif case.json_object_only:  # JSON mode, the schema in a system message before the caller's turn
        assert body["response_format"] == {"type": "json_object"}
        schema_message = body["messages"][0]
        assert (
            schema_message["role"] == "system"
            and json.dumps(fmt["schema"], separators=(",", ":")) in (schema_message["content"])
        )
    else:
        wire = {k: fmt[k] for k in ("name", "schema", "strict")}
        assert body["response_format"] == {"type": "json_schema", "json_schema": wire}
    value = completion.json()
    assert isinstance(value, dict) and scenario.key in value
    assert completion.tool_calls == () and completion.finish_reason == "stop"


RED_DOT_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


@pytest.mark.contract("image_input")
def test_an_image_part_reaches_the_provider_in_its_form(case, contract):
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What colour is this image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_DOT_PNG}"}},
        ],
    }
    with contract.client(model=case.vision_model or case.model) as client:
        completion = client.chat([message], max_tokens=64)

    if _responses(case):
        assert contract.body()["input"][-1]["content"] == [
            {"type": "input_text", "text": "What colour is this image?"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{RED_DOT_PNG}", "detail": "auto"},
        ]
        assert completion.text.strip() and completion.finish_reason in ("stop", "length")
        return
    sent = contract.body()["messages"][-1]["content"]
    if _anthropic(case):
        assert sent[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": RED_DOT_PNG},
        }
    else:
        assert sent == message["content"]
    assert completion.text.strip() and completion.finish_reason in ("stop", "length")


# ------------------------------------------------------------------------------------------------------------------
# openai-responses: the answer's items go back exactly (issue 32)
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.contract("round_trip")
def test_an_answer_goes_back_with_its_items_and_tool_results_by_call_id(case, contract):
    trip = case.round_trip
    assert trip is not None
    options: dict[str, Any] = {"tools": list(trip.tools) or None, "system": trip.system}
    options["extra_body"] = trip.request or None
    question = {"role": "user", "content": trip.prompt}
    with contract.client(model=trip.model or case.reasoning_model) as client:
        if trip.stream:
            _, first = _stream(client, [question], **options)
        else:
            first = client.chat([question], **options)
        if first.tool_calls:
            following = [{"role": "tool", "tool_call_id": c.id, "content": "done"} for c in first.tool_calls]
        else:
            following = [{"role": "user", "content": trip.follow_up}]
        conversation = [question, first.to_message(), *following]
        if trip.stream:
            _, second = _stream(client, conversation, **options)
        else:
            second = client.chat(conversation, **options)

    items = list(first.content_blocks)
    reasoning = [item for item in items if item["type"] == "reasoning"]
    assert reasoning, "the recorded answer reasons"
    # its summary is the answer's reasoning text; an item without one still goes back, its encrypted content whole
    assert first.reasoning.strip() or all(item.get("encrypted_content") for item in reasoning)
    sent = contract.body()["input"]
    assert sent[0] == question
    assert sent[1 : 1 + len(items)] == items  # every output item exactly as received, encrypted content and all
    assert sent[1 + len(items) :] == [
        {"type": "function_call_output", "call_id": c.id, "output": "done"} for c in first.tool_calls
    ] or [{"role": "user", "content": trip.follow_up}]
    assert [c.id for c in first.tool_calls] == [i["call_id"] for i in items if i["type"] == "function_call"]
    assert second.text.strip() and second.finish_reason in ("stop", "length")
