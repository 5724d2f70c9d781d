"""Client and AsyncClient over a mock transport: the same requests, results and errors from both."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

import hamr
from hamr._config import parse_config

OK_CHAT = {
    "id": "c1",
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 2000},
}
STREAM = (
    b'data: {"id":"c2","choices":[{"index":0,"delta":{"content":"hel"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":2000}}\n\ndata: [DONE]\n\n'
)
ENV = {"DEEPSEEK_API_KEY": "ds-secret-key-123"}
Handler = Callable[[httpx2.Request], httpx2.Response]


class Recorder:
    """A MockTransport handler that answers from a list and records every request."""

    def __init__(self, *responses: httpx2.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def make_client(kind: str, handler: Handler, **kwargs: Any) -> hamr.Client | hamr.AsyncClient:
    kwargs.setdefault("env", ENV)
    kwargs.setdefault("provider", "deepseek")
    if kind == "sync":
        client: Any = hamr.Client(http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), **kwargs)
        client._sleep = lambda s: None
    else:
        client = hamr.AsyncClient(http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)), **kwargs)

        async def no_sleep(s: float) -> None:
            return None

        client._sleep = no_sleep
    return client


async def chat(client: Any, *args: Any, **kwargs: Any) -> hamr.Completion:
    result = client.chat(*args, **kwargs)
    return await result if isinstance(client, hamr.AsyncClient) else result


async def stream(client: Any, *args: Any, **kwargs: Any) -> tuple[list[hamr.StreamEvent], hamr.Completion]:
    if isinstance(client, hamr.AsyncClient):
        async with client.stream(*args, **kwargs) as s:
            events = [e async for e in s]
    else:
        with client.stream(*args, **kwargs) as s:
            events = list(s)
    return events, s.completion


async def models(client: Any) -> list[hamr.ModelInfo]:
    result = client.models()
    return await result if isinstance(client, hamr.AsyncClient) else result


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


@KINDS
async def test_chat_goes_through_the_given_http_client(kind: str) -> None:
    rec = Recorder(httpx2.Response(200, json=OK_CHAT))
    client = make_client(kind, rec)
    completion = await chat(client, [{"role": "user", "content": "hi"}], system="Be brief")
    assert completion.text == "hello" and completion.usage.output_tokens == 2000
    request = rec.requests[0]
    assert str(request.url) == "https://api.deepseek.com/chat/completions"
    assert request.headers["authorization"] == "Bearer ds-secret-key-123"
    assert json.loads(request.content)["model"] == "deepseek-flash"
    assert str(client.spend) == "Spend: $0.003"  # 1000 * 0.30/1M + 2000 * 1.20/1M = $0.0027


@KINDS
async def test_stream_events_join_to_the_completion(kind: str) -> None:
    rec = Recorder(httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}))
    client = make_client(kind, rec)
    events, completion = await stream(client, "hi")
    assert [e.type for e in events] == ["text", "text", "usage", "done"]
    assert "".join(e.text for e in events if e.type == "text") == completion.text == "hello"
    assert completion.usage.input_tokens == 1000 and completion.finish_reason == "stop"
    assert json.loads(rec.requests[0].content)["stream_options"] == {"include_usage": True}
    assert client.spend.requests == 1


@KINDS
async def test_request_options_reach_the_wire_from_both_clients(kind: str) -> None:
    rec = Recorder(
        httpx2.Response(200, json=OK_CHAT),
        httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}),
    )
    client = make_client(kind, rec)
    tools = [{"name": "get_weather", "parameters": {"type": "object"}}]
    options: dict[str, Any] = {"tools": tools, "tool_choice": {"name": "get_weather"}, "stop": "END", "seed": 1}
    await chat(client, "hi", **options)
    await stream(client, "hi", **options)
    for request in rec.requests:
        body = json.loads(request.content)
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert body["stop"] == ["END"] and body["seed"] == 1


@KINDS
async def test_response_format_and_cache_reach_the_wire_and_the_answer_parses(kind: str) -> None:
    """On an anthropic-compatible server without structured outputs the answer comes as the forced answer tool's
    call; both clients read it back as JSON text, in chat and in stream."""
    answer = {"type": "tool_use", "id": "toolu_1", "name": "place", "input": {"city": "Paris"}}
    body = {"id": "m", "content": [answer], "stop_reason": "tool_use", "usage": {}}
    start = {"type": "content_block_start", "index": 0, "content_block": {**answer, "input": {}}}
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
    }
    events = [
        {"type": "message_start", "message": {"id": "m", "usage": {}}},
        start,
        delta,
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
        {"type": "message_stop"},
    ]
    sse = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    rec = Recorder(
        httpx2.Response(200, json=body),
        httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"}),
    )
    config = parse_config(
        {"providers": {"local": {"base_url": "http://127.0.0.1:9/", "compatibility": "anthropic-compatible"}}}
    )
    client = make_client(kind, rec, provider="local", model="m", config=config)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    fmt = {"type": "json_schema", "name": "place", "schema": schema}
    completion = await chat(client, "Where?", response_format=fmt, cache=True, system="rules")
    _, streamed = await stream(client, "Where?", response_format=fmt, cache=True, system="rules")
    for result in (completion, streamed):
        assert result.json() == {"city": "Paris"} and result.tool_calls == () and result.finish_reason == "stop"
    for request in rec.requests:
        sent = json.loads(request.content)
        assert sent["tool_choice"] == {"type": "any"} and sent["tools"][-1]["name"] == "place"
        assert sent["system"] == [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}]


# Issue 34 item 3: DeepSeek's chat completions take response_format text and json_object only
# (api-docs.deepseek.com/guides/json_mode) and answer 400 "This response_format type is unavailable now" to json_schema
# (UKGovernmentBEIS/inspect_ai#4916). A schema goes there as json_object plus the schema in a system message.
RESULT = {"type": "object", "properties": {"result": {"type": "integer"}}, "required": ["result"]}
JSON_ANSWER = {
    **OK_CHAT,
    "choices": [{**OK_CHAT["choices"][0], "message": {"role": "assistant", "content": '{"result": 8}'}}],
}


@KINDS
@pytest.mark.parametrize(
    ("provider", "table"),
    [("deepseek", None), ("work", {"base_url": "https://api.deepseek.com", "api_key_env": "DEEPSEEK_API_KEY"})],
)
async def test_a_schema_goes_to_deepseek_as_json_object_with_the_schema_in_the_prompt(
    kind: str, provider: str, table: dict[str, Any] | None
) -> None:
    stream_body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"{\\"result\\": 8}"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    rec = Recorder(
        httpx2.Response(200, json=JSON_ANSWER),
        httpx2.Response(200, content=stream_body, headers={"content-type": "text/event-stream"}),
    )
    config = parse_config({"providers": {provider: table}} if table else {})
    client = make_client(kind, rec, provider=provider, model="deepseek-flash", config=config)
    fmt = {"type": "json_schema", "name": "result", "schema": RESULT, "strict": True}
    messages = [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "Square root of 64?"}]
    completion = await chat(client, messages, system="You do sums.", response_format=fmt)
    _, streamed = await stream(client, messages, system="You do sums.", response_format=fmt)
    assert completion.json() == streamed.json() == {"result": 8}
    for request in rec.requests:
        sent = json.loads(request.content)
        assert sent["response_format"] == {"type": "json_object"}
        assert [m["role"] for m in sent["messages"]] == ["system", "system", "system", "user"]
        schema_message = sent["messages"][2]["content"]  # after the caller's system messages: a stable prefix
        assert "JSON" in schema_message and json.loads(schema_message.split(": ", 1)[1]) == RESULT


@KINDS
async def test_other_openai_compatible_providers_get_the_json_schema_itself(kind: str) -> None:
    rec = Recorder(httpx2.Response(200, json=JSON_ANSWER))
    client = make_client(kind, rec, provider="groq", env={"GROQ_API_KEY": "k"})
    fmt = {"type": "json_schema", "name": "result", "schema": RESULT, "strict": True}
    assert (await chat(client, "Square root of 64?", response_format=fmt)).json() == {"result": 8}
    sent = json.loads(rec.requests[0].content)
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "result", "schema": RESULT, "strict": True},
    }
    assert [m["role"] for m in sent["messages"]] == ["user"]


@KINDS
async def test_json_object_is_never_a_forced_tool_on_anthropics_api(kind: str) -> None:
    """Issue 34 item 6. Claude Sonnet 5.5, the preset's default, answers 400 to a forced tool_choice (its migration
    guide: https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide), and structured outputs cannot say
    "any JSON object" (https://platform.claude.com/docs/en/build-with-claude/structured-outputs: "additionalProperties"
    must be false on every object). Before: the answer tool and tool_choice {"type": "any"} went out."""
    rec = Recorder()
    client = make_client(kind, rec, provider="anthropic", env={"ANTHROPIC_API_KEY": "k"})
    for call in (chat, stream):
        with pytest.raises(ValueError, match=r'json_object.*Anthropic.*"type": "json_schema"'):
            await call(client, "Where?", response_format={"type": "json_object"})
    assert rec.requests == []


@KINDS
async def test_json_object_on_another_anthropic_compatible_server_is_the_forced_answer_tool(kind: str) -> None:
    answer = {"type": "tool_use", "id": "toolu_1", "name": "json_answer", "input": {"city": "Paris"}}
    rec = Recorder(httpx2.Response(200, json={"id": "m", "content": [answer], "stop_reason": "tool_use", "usage": {}}))
    config = parse_config(
        {"providers": {"local": {"base_url": "http://127.0.0.1:9/", "compatibility": "anthropic-compatible"}}}
    )
    client = make_client(kind, rec, provider="local", model="m", config=config)
    completion = await chat(client, "Where?", response_format={"type": "json_object"})
    assert completion.json() == {"city": "Paris"} and completion.finish_reason == "stop"
    sent = json.loads(rec.requests[0].content)
    assert sent["tool_choice"] == {"type": "any"} and sent["tools"][-1]["input_schema"] == {"type": "object"}
    assert "output_config" not in sent


@KINDS
async def test_a_bad_option_raises_before_anything_is_sent(kind: str) -> None:
    rec = Recorder()
    client = make_client(kind, rec)
    with pytest.raises(ValueError, match="not in tools"):
        await chat(client, "hi", tool_choice={"name": "nope"})
    with pytest.raises(ValueError, match="not in tools"):
        await stream(client, "hi", tool_choice={"name": "nope"})
    assert rec.requests == []


async def test_async_stream_the_awaited_form_still_works() -> None:
    rec = Recorder(httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}))
    client: Any = make_client("async", rec)
    async with await client.stream("hi") as s:
        assert "".join([e.text async for e in s]) == "hello"
    assert s.completion.text == "hello"


async def test_async_stream_opens_on_entry_only() -> None:
    """Calling stream() sends nothing and looks nothing up; `async with` does both, once."""
    rec = Recorder(
        httpx2.Response(200, json={"data": [{"id": "listed-model"}]}),
        httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"}),
    )
    client: Any = make_client(
        "async",
        rec,
        provider="custom",
        config=parse_config({"providers": {"custom": {"base_url": "http://127.0.0.1:9/v1"}}}),
    )
    s = client.stream("hi")
    assert rec.requests == []
    async with s:
        assert [r.url.path for r in rec.requests] == ["/v1/models", "/v1/chat/completions"]
        assert json.loads(rec.requests[1].content)["model"] == "listed-model"
        assert (await s.text()) == "hello"


@KINDS
async def test_retryable_status_is_retried_then_succeeds(kind: str) -> None:
    rec = Recorder(
        httpx2.Response(503, text="busy"),
        httpx2.Response(429, headers={"retry-after": "1"}),
        httpx2.Response(200, json=OK_CHAT),
    )
    client = make_client(kind, rec)
    assert (await chat(client, "hi")).text == "hello"
    assert len(rec.requests) == 3


@KINDS
async def test_client_errors_are_not_retried(kind: str) -> None:
    rec = Recorder(httpx2.Response(401, json={"error": {"message": "bad key ds-secret-key-123"}}))
    client = make_client(kind, rec)
    with pytest.raises(hamr.AuthenticationError) as info:
        await chat(client, "hi")
    assert len(rec.requests) == 1
    assert "ds-secret-key-123" not in str(info.value) and "ds-secret-key-123" not in info.value.body


@KINDS
async def test_retries_exhausted_raise_the_last_error(kind: str) -> None:
    rec = Recorder(*[httpx2.Response(429, json={"error": {"message": "slow"}}, headers={"retry-after": "3"})] * 3)
    client = make_client(kind, rec)
    with pytest.raises(hamr.RateLimitError) as info:
        await chat(client, "hi")
    assert info.value.retry_after == 3.0 and len(rec.requests) == 3  # max_retries = 2


@KINDS
async def test_connection_failure_is_a_typed_error(kind: str) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    client = make_client(kind, refuse)
    with pytest.raises(hamr.ConnectionError, match=r"cannot reach https://api\.deepseek\.com"):
        await chat(client, "hi")


@KINDS
async def test_missing_key_fails_before_any_request(kind: str) -> None:
    rec = Recorder()
    client = make_client(kind, rec, env={})
    with pytest.raises(hamr.ConfigError, match="set the environment variable DEEPSEEK_API_KEY"):
        await chat(client, "hi")
    assert rec.requests == []


@KINDS
async def test_model_is_discovered_from_the_server_when_none_is_configured(kind: str) -> None:
    rec = Recorder(
        httpx2.Response(200, json={"object": "list", "data": [{"id": "gemma-3-270m-it"}]}),
        httpx2.Response(200, json=OK_CHAT),
    )
    client = make_client(kind, rec, provider="relay")
    await chat(client, "hi")
    assert [r.url.path for r in rec.requests] == ["/v1/models", "/v1/chat/completions"]
    assert json.loads(rec.requests[1].content)["model"] == "gemma-3-270m-it"
    assert "authorization" not in rec.requests[1].headers
    assert str(client.spend) == "Spend: local"


@KINDS
async def test_models_merge_server_list_with_configured_metadata(kind: str) -> None:
    config = parse_config(
        {
            "providers": {
                "relay": {
                    "models": [
                        {"id": "gemma", "display_name": "Gemma", "context_window": 32768},
                        {"id": "offline-only", "supports_thinking": True},
                    ]
                }
            }
        }
    )
    rec = Recorder(httpx2.Response(200, json={"data": [{"id": "gemma"}, {"id": "other"}]}))
    client = make_client(kind, rec, config=config, provider="relay")
    listed = await models(client)
    assert [(m.id, m.display_name, m.context_window, m.source) for m in listed] == [
        ("gemma", "Gemma", 32768, "server+config"),
        ("other", "", None, "server"),
        ("offline-only", "", None, "config"),
    ]


@KINDS
async def test_anthropic_client_end_to_end(kind: str) -> None:
    body = {
        "id": "msg_1",
        "model": "claude",
        "content": [{"type": "text", "text": "2 + 2 = 4"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 16, "output_tokens": 13},
    }
    rec = Recorder(httpx2.Response(200, json=body))
    client = make_client(kind, rec, provider="anthropic", env={"ANTHROPIC_API_KEY": "ant-secret-key-456"})
    completion = await chat(client, [{"role": "user", "content": "2+2?"}], system="Answer")
    assert completion.text == "2 + 2 = 4" and completion.finish_reason == "stop"
    request = rec.requests[0]
    assert request.url.path == "/v1/messages" and request.headers["x-api-key"] == "ant-secret-key-456"
    assert json.loads(request.content)["system"] == "Answer"


@KINDS
async def test_stream_dropped_midway_keeps_partial_text(kind: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        def body():  # type: ignore[no-untyped-def]
            yield b'data: {"choices":[{"index":0,"delta":{"content":"partial "}}]}\n\n'
            raise httpx2.ReadError("connection reset", request=request)

        async def abody():  # type: ignore[no-untyped-def]
            for chunk in body():
                yield chunk

        stream_body = body() if kind == "sync" else abody()
        return httpx2.Response(200, content=stream_body, headers={"content-type": "text/event-stream"})

    client = make_client(kind, handler)
    with pytest.raises(hamr.StreamError, match="connection dropped mid-stream") as info:
        await stream(client, "hi")
    assert info.value.partial.text == "partial "


def test_insecure_http_to_a_remote_host_is_refused_with_a_key() -> None:
    config = parse_config({"providers": {"lan": {"base_url": "http://10.1.2.3:8000/v1", "api_key": "lan-key-000"}}})
    client = hamr.Client(
        config,
        provider="lan",
        model="m",
        http_client=httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=OK_CHAT))),
    )
    with pytest.raises(hamr.ConfigError, match="allow_insecure_http"):
        client.chat("hi")
    allowed = parse_config(
        {
            "providers": {
                "lan": {"base_url": "http://10.1.2.3:8000/v1", "api_key": "lan-key-000", "allow_insecure_http": True}
            }
        }
    )
    client = hamr.Client(
        allowed,
        provider="lan",
        model="m",
        http_client=httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=OK_CHAT))),
    )
    assert client.chat("hi").text == "hello"


def test_disabled_or_unknown_provider_is_a_config_error() -> None:
    config = parse_config({"providers": {"groq": {"enabled": False}}})
    with pytest.raises(hamr.ConfigError, match="disabled"):
        hamr.Client(config, provider="groq")
    with pytest.raises(hamr.ConfigError, match="did you mean 'groq'"):
        hamr.Client(config, provider="grok")


def test_repr_never_shows_the_key() -> None:
    client = hamr.Client(provider="deepseek", env=ENV)
    assert "ds-secret-key-123" not in repr(client) + repr(client._core.settings) + repr(client._core.config)


def test_completion_to_message_feeds_the_next_turn() -> None:
    completion = hamr.Completion(
        text="", tool_calls=(hamr.ToolCall("call_1", "weather", {"city": "Paris"}, '{"city":"Paris"}'),)
    )
    rec = Recorder(httpx2.Response(200, json=OK_CHAT))
    client = make_client("sync", rec)
    client.chat(
        [
            {"role": "user", "content": "weather?"},
            completion.to_message(),
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    )
    sent = json.loads(rec.requests[0].content)["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


@KINDS
async def test_extra_body_adds_provider_specific_fields_to_chat_and_stream(kind: str) -> None:
    body = {"id": "m", "content": [{"type": "text", "text": "4"}], "stop_reason": "end_turn", "usage": {}}
    events = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{}}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    rec = Recorder(
        httpx2.Response(200, json=body),
        httpx2.Response(200, content=events, headers={"content-type": "text/event-stream"}),
    )
    client = make_client(kind, rec, provider="anthropic", env={"ANTHROPIC_API_KEY": "k-123456"})
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    await chat(client, "2+2?", extra_body=thinking)
    await stream(client, "2+2?", extra_body={**thinking, "max_tokens": 2048})
    sent = [json.loads(r.content) for r in rec.requests]
    # no max_tokens given: the default (4096) is left for the answer on top of the thinking budget
    assert sent[0]["thinking"] == thinking["thinking"] and sent[0]["max_tokens"] == 1024 + 4096
    assert sent[1]["thinking"] == thinking["thinking"] and sent[1]["max_tokens"] == 2048 and sent[1]["stream"]
