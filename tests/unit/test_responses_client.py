"""A provider set to ``compatibility = "openai-responses"`` through the public API: Client and AsyncClient over a
mock transport, the `openai` preset, a preset switched to the protocol in the config, retries and errors, the CLI.

Answers are trimmed from real recordings (pydantic/pydantic-ai's cassettes at
4fda38988f2939fa6ea9cdefcf120693e10ef491: test_openai_responses_model_simple_response.yaml and
test_openai_responses_model_simple_response_with_tool_call.yaml, OpenAI's API, gpt-4o)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest

import hamr
from hamr import _cli, _responses
from hamr._config import parse_config
from tests.unit import openrouter_responses_wire as wire
from tests.unit.test_client import Handler, Recorder, chat, make_client, stream

ENV = {"OPENAI_API_KEY": "sk-test-openai-key-0123456789", "OPENROUTER_API_KEY": "sk-or-v1-test-key-0123456789"}
ANSWER = {
    "id": "resp_68c2e8c147ac819491bcd667055eadbc02e845978fbbb592",
    "model": "gpt-4o-2024-08-06",
    "object": "response",
    "status": "completed",
    "output": [
        {
            "content": [
                {"annotations": [], "logprobs": [], "text": "The capital of France is Paris.", "type": "output_text"}
            ],
            "id": "msg_68c2e8c26114819489dae5b59fceb7bf02e845978fbbb592",
            "role": "assistant",
            "status": "completed",
            "type": "message",
        }
    ],
    "usage": {
        "input_tokens": 14,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 8,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 22,
    },
}  # fmt: skip
CALL = {
    "arguments": '{"country":"PotatoLand"}',
    "call_id": "call_YfwRsW8sUxDKipwyhWTzOXCA",
    "id": "fc_04907f5d3de791830068fbaa1b310c81958dc9c508e878c632",
    "name": "get_capital",
    "status": "completed",
    "type": "function_call",
}
TOOL_CALL_ANSWER = {**ANSWER, "id": "resp_04907f5d", "output": [CALL]}
GET_CAPITAL = {
    "name": "get_capital",
    "parameters": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]},
}


def body(recorder: Recorder, n: int = -1) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(recorder.requests[n].content)
    return data


def sse(*events: dict[str, Any]) -> httpx2.Response:
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def make(kind: str, handler: Handler, **kwargs: Any) -> Any:
    """test_client's client over a mock transport, for the `openai` preset unless told otherwise."""
    return make_client(kind, handler, **{"env": ENV, "provider": "openai", **kwargs})


KINDS = pytest.mark.parametrize("kind", ["sync", "async"])


def text_events(text: str) -> list[dict[str, Any]]:
    """A message item streamed as OpenAI streams one, its text in two deltas."""
    item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    cut = len(text) // 2
    return [
        {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-6-luna", "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_text.delta", "delta": text[:cut], **where},
        {"type": "response.output_text.delta", "delta": text[cut:], **where},
    ]


def completed(text: str) -> dict[str, Any]:
    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip
    usage = {"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 1000}, "output_tokens": 4000}
    return {"type": "response.completed",
            "response": {"id": "resp_1", "status": "completed", "output": [message], "usage": usage}}  # fmt: skip


@KINDS
async def test_the_openai_preset_chats_over_responses_and_prices_the_answer(kind: str) -> None:
    recorder = Recorder(httpx2.Response(200, json=ANSWER))
    client = make(kind, recorder)
    completion = await chat(client, "What is the capital of France?", system="Be brief", max_tokens=50)
    request = recorder.requests[0]
    assert str(request.url) == "https://api.openai.com/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-test-openai-key-0123456789"
    assert body(recorder) == {
        "model": "gpt-6-luna",
        "input": [{"role": "user", "content": "What is the capital of France?"}],
        "instructions": "Be brief",
        "max_output_tokens": 50,
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }
    assert completion.text == "The capital of France is Paris." and completion.finish_reason == "stop"
    assert completion.provider == "openai" and completion.usage == hamr.Usage(input_tokens=14, output_tokens=8)
    # 14 input at 0.10 and 8 output at 0.50 USD per 1M tokens (the preset's gpt-6-luna prices)
    assert str(client.spend) == "Spend: <$0.001" and client.spend.usd == Decimal("0.0000054")


@KINDS
async def test_a_stream_gives_text_events_usage_and_the_completion(kind: str) -> None:
    recorder = Recorder(sse(*text_events("Hello there"), completed("Hello there")))
    client = make(kind, recorder)
    events, completion = await stream(client, "Say hello")
    assert [e.type for e in events] == ["text", "text", "usage", "done"]
    assert "".join(e.text for e in events if e.type == "text") == completion.text == "Hello there"
    assert body(recorder)["stream"] is True and recorder.requests[0].headers["accept"] == "text/event-stream"
    assert completion.usage is not None and completion.usage.cache_read_tokens == 1000
    # 1000 uncached at 0.10, 1000 cached at 0.01, 4000 output at 0.50 USD per 1M tokens
    assert client.spend.usd == Decimal("0.00211")


@KINDS
async def test_a_tool_call_round_trip_sends_the_items_back_and_the_result_by_call_id(kind: str) -> None:
    recorder = Recorder(httpx2.Response(200, json=TOOL_CALL_ANSWER), httpx2.Response(200, json=ANSWER))
    client = make(kind, recorder)
    question = {"role": "user", "content": "What is the capital of PotatoLand?"}
    first = await chat(client, [question], tools=[GET_CAPITAL], tool_choice="auto")
    (call,) = first.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "call_YfwRsW8sUxDKipwyhWTzOXCA",
        "get_capital",
        {"country": "PotatoLand"},
    )
    assert first.finish_reason == "tool_calls"
    result = {"role": "tool", "tool_call_id": call.id, "content": "Potato City"}
    await chat(client, [question, first.to_message(), result], tools=[GET_CAPITAL])
    assert body(recorder, 0)["tools"] == [{"type": "function", **GET_CAPITAL, "strict": False}]
    assert body(recorder, 0)["tool_choice"] == "auto"
    assert body(recorder, 1)["input"] == [
        question,
        CALL,
        {"type": "function_call_output", "call_id": "call_YfwRsW8sUxDKipwyhWTzOXCA", "output": "Potato City"},
    ]  # fmt: skip


@KINDS
async def test_a_response_failed_before_any_answer_is_sent_again(kind: str) -> None:
    error = {"code": "server_error", "message": "oops"}
    failed = {"type": "response.failed", "response": {"id": "resp_0", "status": "failed", "error": error}}
    recorder = Recorder(sse(text_events("x")[0], failed), sse(*text_events("Hi"), completed("Hi")))
    client = make(kind, recorder)
    _, completion = await stream(client, "Say hi")
    assert completion.text == "Hi" and len(recorder.requests) == 2


@KINDS
async def test_a_stream_that_fails_after_text_keeps_the_text_and_is_not_sent_again(kind: str) -> None:
    error = {"type": "error", "code": "server_error", "message": "The server had an error", "param": None}
    recorder = Recorder(sse(*text_events("Hello"), error))
    client = make(kind, recorder)
    with pytest.raises(hamr.StreamError, match="error event in stream: The server had an error") as info:
        await stream(client, "Say hello")
    assert info.value.partial.text == "Hello" and info.value.code == "server_error"
    assert len(recorder.requests) == 1


@KINDS
async def test_error_statuses_raise_typed_errors_with_the_same_retries(kind: str) -> None:
    rate = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    bad = {"error": {"code": "decimal_below_min_value", "message": "Invalid 'temperature'", "param": "temperature",
                     "type": "invalid_request_error"}}  # fmt: skip
    recorder = Recorder(
        httpx2.Response(429, json=rate, headers={"retry-after": "1"}), httpx2.Response(200, json=ANSWER)
    )
    assert (await chat(make(kind, recorder), "hi")).text and len(recorder.requests) == 2
    recorder = Recorder(httpx2.Response(400, json=bad))
    with pytest.raises(hamr.BadRequestError, match="Invalid 'temperature'") as info:
        await chat(make(kind, recorder), "hi", temperature=-1)
    assert info.value.status == 400 and len(recorder.requests) == 1


@KINDS
@pytest.mark.parametrize(("option", "value"), [("stop", ["END"]), ("seed", 7)])
async def test_an_option_the_protocol_lacks_is_refused_before_anything_is_sent(
    kind: str, option: str, value: Any
) -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match=f"{option} is not supported by the openai-responses protocol"):
        await chat(make(kind, recorder), "hi", **{option: value})
    assert recorder.requests == []


def test_a_preset_switched_to_the_protocol_keeps_its_url_key_and_headers() -> None:
    config = parse_config({"providers": {"openrouter": {"compatibility": "openai-responses"}}})
    recorder = Recorder(httpx2.Response(200, json=ANSWER))
    with make("sync", recorder, config=config, provider="openrouter", model="openai/gpt-oss-20b") as client:
        client.chat("hi")
    request = recorder.requests[0]
    assert str(request.url) == "https://openrouter.ai/api/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-or-v1-test-key-0123456789"
    assert request.headers["x-openrouter-title"] == "hamr"


def test_cli_shows_the_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[providers.work]\nbase_url = "http://127.0.0.1:8080/v1"\ncompatibility = "openai-responses"\n')
    assert _cli.main(["--config", str(path), "providers"]) == 0
    rows = {line.split()[0].strip("*"): line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "openai-responses" in rows["openai"] and "openai-responses" in rows["work"]
    assert "openai-compatible" in rows["openrouter"]
    _cli.main(["--config", str(path), "config", "check"])
    assert "  work: http://127.0.0.1:8080/v1 [openai-responses]" in capsys.readouterr().out


def test_an_unknown_compatibility_names_the_three() -> None:
    with pytest.raises(hamr.ConfigError, match="use one of openai-compatible, anthropic-compatible, openai-responses"):
        parse_config({"providers": {"work": {"base_url": "https://x.example/v1", "compatibility": "responses"}}})


# ------------------------------------------------------------------------------------------------------------------
# OpenRouter's Responses API answering through other upstreams: real answers (tests/unit/openrouter_responses_wire.py)
# ------------------------------------------------------------------------------------------------------------------

OPENROUTER_RESPONSES = parse_config({"providers": {"openrouter": {"compatibility": "openai-responses"}}})
SEND_SMS = {
    "name": "sendSMS",
    "description": "Send an SMS to any phone number",
    "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}},
}
TEST_TOOL = {
    "name": "test_tool",
    "description": "A test tool",
    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}},
}


@KINDS
async def test_an_openrouter_answer_without_a_status_is_a_finished_turn_with_its_call(kind: str) -> None:
    recorder = Recorder(httpx2.Response(200, content=wire.NO_STATUS_TOOL_CALL))
    client = make(kind, recorder, config=OPENROUTER_RESPONSES, provider="openrouter", model="anthropic/claude-sonnet-4")

    completion = await chat(client, "Tell the passenger by SMS", tools=[SEND_SMS])

    assert completion.finish_reason == "tool_calls"  # was None: the Response names no status
    assert completion.text == "I'll send an SMS to 808-999-2345 with the flight delay information."
    assert [(c.name, c.arguments["to"]) for c in completion.tool_calls] == [("sendSMS", "808-999-2345")]
    assert completion.tool_calls[0].id == "toolu_vrtx_01DVJxsQtrfU7zXSmdwGjZBv"


@KINDS
async def test_openrouter_arguments_that_arrive_only_in_response_completed_are_the_calls(kind: str) -> None:
    sse = {"content-type": "text/event-stream"}
    recorder = Recorder(httpx2.Response(200, content=wire.ARGUMENTS_ONLY_AT_COMPLETED, headers=sse))
    client = make(
        kind, recorder, config=OPENROUTER_RESPONSES, provider="openrouter", model="anthropic/claude-sonnet-4.5"
    )

    events, completion = await stream(client, "Call the tool", tools=[TEST_TOOL])

    call = completion.tool_calls[0]
    assert (call.name, call.arguments) == ("test_tool", {"message": "Hello from the assistant"})  # was {}
    fragments = [e for e in events if e.type == "tool_call"]
    assert "".join(e.arguments for e in fragments) == call.raw_arguments  # the events tell the same call
    assert completion.finish_reason == "tool_calls"
    sent_back = completion.to_message()["content"]
    assert [item["arguments"] for item in sent_back] == ['{"message": "Hello from the assistant"}']


def test_arguments_in_response_completed_that_contradict_the_streamed_ones_leave_the_streamed_call() -> None:
    # the events of a call are out already; a final response that says otherwise (not their continuation) changes
    # nothing, rather than appending its text to theirs
    parser = _responses.StreamParser("openrouter")
    added = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}
    for data in (
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": '{"a":1}'},
        {
            "type": "response.completed",
            "response": {"status": "completed", "output": [{**added, "arguments": '{"b":2}'}]},
        },
    ):
        parser.feed("", json.dumps(data))
    parser.end()
    assert [c.raw_arguments for c in parser.acc.snapshot().tool_calls] == ['{"a":1}']
