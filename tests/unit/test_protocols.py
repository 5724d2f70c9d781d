"""The two sans-IO protocols: requests built as data, bodies and streams parsed without sockets.

Bodies here are trimmed from ../shared/reference/responses/ (real recordings; file named at each use)."""

from __future__ import annotations

import json

import pytest

from hamr import _anthropic, _openai
from hamr._config import parse_config
from hamr._stream import StreamDecoder
from hamr._types import ReasoningBlock, StreamEvent

CONFIG = parse_config(
    {"providers": {"custom": {"base_url": "https://llm.example.com/v1", "headers": {"X-Team": "${TEAM}"}}}}
)
ENV = {"DEEPSEEK_API_KEY": "ds-test-key", "ANTHROPIC_API_KEY": "ant-test-key", "TEAM": "core"}
TOOLS = [
    {
        "name": "weather",
        "description": "Weather at a place",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]
CONVERSATION = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [{"id": "call_1", "name": "weather", "arguments": {"city": "Paris"}}],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


def run_stream(parser: object, body: str) -> tuple[list[StreamEvent], object]:
    decoder = StreamDecoder(parser)  # type: ignore[arg-type]
    events = decoder.feed(body.encode()) + decoder.close()
    return events, decoder.completion


# ---------------------------------------------------------------------------------------------------- openai


def test_openai_request_shape() -> None:
    req = _openai.build_chat(
        CONFIG.providers["deepseek"],
        "deepseek-chat",
        CONVERSATION,
        system="Be brief",
        tools=TOOLS,
        max_tokens=50,
        temperature=0.2,
        env=ENV,
    )
    assert req.method == "POST" and req.url == "https://api.deepseek.com/chat/completions"
    assert req.headers["Authorization"] == "Bearer ds-test-key"
    body = req.json
    assert body["messages"][0] == {"role": "system", "content": "Be brief"}
    assert body["messages"][2]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
    ]
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    assert body["tools"][0] == {
        "type": "function",
        "function": {"name": "weather", "parameters": TOOLS[0]["parameters"], "description": "Weather at a place"},
    }
    assert body["max_tokens"] == 50 and body["temperature"] == 0.2 and "stream" not in body


def test_openai_stream_request_asks_for_usage_and_sse() -> None:
    req = _openai.build_chat(CONFIG.providers["groq"], "m", "hi", stream=True, env={"GROQ_API_KEY": "k"})
    assert req.json["stream"] is True and req.json["stream_options"] == {"include_usage": True}
    assert req.headers["accept"] == "text/event-stream"
    assert req.json["messages"] == [{"role": "user", "content": "hi"}]


def test_custom_provider_has_no_auth_and_interpolated_headers() -> None:
    req = _openai.build_chat(CONFIG.providers["custom"], "m", "hi", env=ENV)
    assert "Authorization" not in req.headers and req.headers["X-Team"] == "core"
    assert req.url == "https://llm.example.com/v1/chat/completions"
    assert "X-Team" not in _openai.build_chat(CONFIG.providers["custom"], "m", "hi", env={}).headers


def test_openrouter_sends_attribution_headers() -> None:
    req = _openai.build_models(CONFIG.providers["openrouter"], {"OPENROUTER_API_KEY": "k"})
    assert req.url == "https://openrouter.ai/api/v1/models" and req.method == "GET"
    assert req.headers["HTTP-Referer"] and req.headers["X-OpenRouter-Title"] == "hamr" and "X-Title" not in req.headers


def test_openai_parses_leading_whitespace_and_vendor_fields() -> None:
    # openrouter/01-chat-basic-padded.json: keep-alive padding before the JSON object, usage.cost
    body = (
        b"\n         \n\n"
        + json.dumps(
            {
                "id": "gen-1",
                "model": "anthropic/claude-4.5-haiku-20251001",
                "provider": "Amazon Bedrock",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "native_finish_reason": "end_turn",
                        "message": {"role": "assistant", "content": "2 + 2 = 4", "refusal": None, "reasoning": None},
                    }
                ],
                "usage": {
                    "prompt_tokens": 16,
                    "completion_tokens": 13,
                    "cost": 0.000081,
                    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                },
            }
        ).encode()
    )
    completion = _openai.parse_chat("openrouter", body)
    assert completion.text == "2 + 2 = 4" and completion.finish_reason == "stop" and completion.reasoning == ""
    assert completion.usage.input_tokens == 16 and completion.usage.cost == 0.000081
    assert completion.model == "anthropic/claude-4.5-haiku-20251001" and completion.id == "gen-1"


def test_openai_parses_tool_calls_without_content_key() -> None:
    # groq/02-tool-call.json: message has tool_calls and NO content key
    body = json.dumps(
        {
            "choices": [
                {
                    "finish_reason": "tool_calls",
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "function": {"arguments": '{"city":"Paris"}', "name": "get_weather"},
                                "id": "48f5r72yf",
                                "type": "function",
                            }
                        ],
                    },
                }
            ],
            "usage": {"completion_tokens": 29, "prompt_tokens": 717, "queue_time": 0.07},
        }
    ).encode()
    completion = _openai.parse_chat("groq", body)
    assert completion.text == "" and completion.finish_reason == "tool_calls"
    call = completion.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("48f5r72yf", "get_weather", {"city": "Paris"})


@pytest.mark.parametrize(
    ("message", "text", "reasoning"),
    [
        ({"content": "4", "reasoning_content": "2+2=4."}, "4", "2+2=4."),  # deepseek/06-reasoning-nonstream
        ({"content": "", "reasoning": "Okay, weather."}, "", "Okay, weather."),  # relay/03-ollama-tool-call
        (
            {
                "content": [
                    {"type": "thinking", "thinking": [{"type": "text", "text": "12*12"}], "closed": True},
                    {"type": "text", "text": "144"},
                ]
            },
            "144",
            "12*12",
        ),  # mistral/05-reasoning-content-array
        (
            {"content": "<think>\nOkay, alfajores.\n</think>\n\nHere is a recipe."},
            "Here is a recipe.",
            "\nOkay, alfajores.\n",
        ),  # groq/06-reasoning-raw-think
    ],
)
def test_openai_reasoning_shapes(message: dict, text: str, reasoning: str) -> None:
    body = json.dumps({"choices": [{"index": 0, "finish_reason": "stop", "message": message}]}).encode()
    completion = _openai.parse_chat("p", body)
    assert (completion.text, completion.reasoning) == (text, reasoning)


@pytest.mark.parametrize(
    ("native", "normal"),
    [
        ("eos", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "tool_calls"),
        ("something_new", "something_new"),
    ],
)
def test_openai_finish_reasons(native: str, normal: str) -> None:
    body = json.dumps({"choices": [{"index": 0, "finish_reason": native, "message": {"content": "x"}}]}).encode()
    assert _openai.parse_chat("p", body).finish_reason == normal


def test_openai_stream_with_usage_null_chunks_then_usage() -> None:
    # deepseek/02-stream-text.json: usage null on every chunk, finish + usage on the last content chunk
    chunk = (
        '{{"id":"e6","model":"deepseek-v4-flash",'
        '"choices":[{{"index":0,"delta":{delta},"finish_reason":{fin}}}],"usage":{usage}}}'
    )
    body = (
        "".join(
            f"data: {c}\n\n"
            for c in [
                chunk.format(delta='{"role":"assistant","content":""}', fin="null", usage="null"),
                chunk.format(delta='{"content":"1, "}', fin="null", usage="null"),
                chunk.format(delta='{"content":"2"}', fin='"stop"', usage='{"prompt_tokens":12,"completion_tokens":3}'),
            ]
        )
        + "data: [DONE]\n\n"
    )
    events, completion = run_stream(_openai.StreamParser("deepseek"), body)
    assert [e.type for e in events] == ["text", "text", "usage", "done"]
    assert "".join(e.text for e in events if e.type == "text") == completion.text == "1, 2"
    assert completion.usage.output_tokens == 3 and completion.finish_reason == "stop" and completion.id == "e6"
    assert events[-1].completion == completion


def test_openai_stream_reassembles_tool_arguments_from_fragments() -> None:
    # deepseek/04-stream-tool-call.json: id+name with empty arguments, then tiny fragments keyed by index
    frags = ['{"index":0,"id":"call_00","type":"function","function":{"name":"weather","arguments":""}}']
    frags += [json.dumps({"index": 0, "function": {"arguments": a}}) for a in ["{", '"', "city", '":"', "Paris", '"}']]
    body = "".join(f'data: {{"choices":[{{"index":0,"delta":{{"tool_calls":[{f}]}}}}]}}\n\n' for f in frags)
    body += 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n'
    events, completion = run_stream(_openai.StreamParser("deepseek"), body)
    calls = [e for e in events if e.type == "tool_call"]
    assert calls[0].id == "call_00" and calls[0].name == "weather"
    assert "".join(e.arguments for e in calls) == '{"city":"Paris"}'
    assert completion.tool_calls[0].arguments == {"city": "Paris"}


def test_openai_stream_think_tags_split_across_deltas() -> None:
    deltas = ["<th", "ink>plan", "ning</th", "ink>\n\nAns", "wer"]
    body = "".join(f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': d}}]})}\n\n" for d in deltas)
    body += 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    _, completion = run_stream(_openai.StreamParser("groq"), body)
    assert (completion.reasoning, completion.text) == ("planning", "Answer")


def test_openai_stream_without_done_but_with_finish_is_complete() -> None:
    body = 'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
    assert run_stream(_openai.StreamParser("p"), body)[1].text == "hi"


def test_openai_stream_error_event_keeps_partial_text() -> None:
    # groq/05-stream-error-midstream-text.json: reasoning, one content delta, then `event: error`, no [DONE]
    body = (
        'data: {"choices":[{"index":0,"delta":{"reasoning":"The user","channel":"analysis"}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"maybe"}}]}\n\n'
        'event: error\ndata: {"error":{"message":"Tool choice is required, but model did not call a tool",'
        '"type":"invalid_request_error","code":"tool_use_failed"}}\n\n'
    )
    from hamr import StreamError

    with pytest.raises(StreamError) as info:
        run_stream(_openai.StreamParser("groq"), body)
    assert info.value.partial.text == "maybe" and info.value.partial.reasoning == "The user"
    assert info.value.code == "tool_use_failed" and "Tool choice is required" in str(info.value)


def test_openai_truncated_stream_is_a_stream_error_with_partial() -> None:
    from hamr import StreamError

    with pytest.raises(StreamError, match="ended before") as info:
        run_stream(_openai.StreamParser("p"), 'data: {"choices":[{"index":0,"delta":{"content":"half"}}]}\n\n')
    assert info.value.partial.text == "half"


def test_openai_models_list_with_openrouter_metadata() -> None:
    body = json.dumps(
        {
            "data": [
                {
                    "id": "a/b",
                    "name": "B",
                    "context_length": 8192,
                    "pricing": {"prompt": "0.000001", "completion": "0.000002"},
                },
                {"id": "c"},
            ]
        }
    ).encode()
    models = _openai.parse_models("openrouter", body)
    assert models[0].id == "a/b" and models[0].context_window == 8192
    assert models[0].input_price_per_1m_tokens == 1.0 and models[0].output_price_per_1m_tokens == 2.0
    assert models[1].id == "c"


# ------------------------------------------------------------------------------------------------- anthropic


def test_anthropic_request_shape() -> None:
    req = _anthropic.build_chat(
        CONFIG.providers["anthropic"], "claude-sonnet-4-5", CONVERSATION, system="Be brief", tools=TOOLS, env=ENV
    )
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.headers["x-api-key"] == "ant-test-key" and req.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in req.headers
    body = req.json
    assert body["system"] == "Be brief" and body["max_tokens"] == 4096
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}]},
    ]
    assert body["tools"] == [
        {"name": "weather", "input_schema": TOOLS[0]["parameters"], "description": "Weather at a place"}
    ]


def test_anthropic_system_messages_move_to_the_top_level_field() -> None:
    req = _anthropic.build_chat(
        CONFIG.providers["anthropic"],
        "m",
        [{"role": "system", "content": "Rule one."}, {"role": "user", "content": "hi"}],
        max_tokens=10,
        env=ENV,
    )
    assert req.json["system"] == "Rule one." and req.json["messages"] == [{"role": "user", "content": "hi"}]
    assert req.json["max_tokens"] == 10


def test_anthropic_thinking_blocks_go_back_with_their_signature() -> None:
    assistant = {
        "role": "assistant",
        "content": "42",
        "reasoning": "think",
        "reasoning_blocks": [ReasoningBlock("think", "sig==")],
    }
    req = _anthropic.build_chat(
        CONFIG.providers["anthropic"],
        "m",
        [{"role": "user", "content": "q"}, assistant, {"role": "user", "content": "why?"}],
        env=ENV,
    )
    assert req.json["messages"][1]["content"][0] == {"type": "thinking", "thinking": "think", "signature": "sig=="}


def test_anthropic_parses_parallel_tool_use() -> None:
    # anthropic/04-tool-use-parallel.json
    body = json.dumps(
        {
            "id": "msg_1",
            "model": "claude-haiku-4-5-20251001",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"latitude": "52.52"},
                    "caller": {"type": "direct"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "best_language_to_learn", "input": {}},
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 701,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 98,
            },
        }
    ).encode()
    completion = _anthropic.parse_chat("anthropic", body)
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.arguments) for c in completion.tool_calls] == [("toolu_1", {"latitude": "52.52"}), ("toolu_2", {})]
    assert completion.usage.input_tokens == 701 and completion.usage.output_tokens == 98


def test_anthropic_stream_with_thinking_signature_and_padded_json() -> None:
    # anthropic/06-stream-thinking.json: spaces before closing braces, ping, thinking_delta + signature_delta
    body = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","model":"claude",'
        '"usage":{"input_tokens":80,"cache_read_input_tokens":0,"output_tokens":4}}    }\n\n'
        + 'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":'
        '{"type":"thinking","thinking":"","signature":""}       }\n\n'
        'event: ping\ndata: {"type": "ping"}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
        '{"type":"thinking_delta","thinking":"A paradox."}      }\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
        '{"type":"signature_delta","signature":"EqQB=="}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0    }\n\n'
        'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":'
        '{"type":"text","text":""}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":'
        '{"type":"text_delta","text":"Ask it."}}\n\n'
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        '"usage":{"output_tokens":638,"output_tokens_details":{"thinking_tokens":353}}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"           }\n\n'
    )
    events, completion = run_stream(_anthropic.StreamParser("anthropic"), body)
    assert completion.text == "Ask it." and completion.reasoning == "A paradox."
    assert completion.reasoning_blocks == (ReasoningBlock("A paradox.", "EqQB=="),)
    assert completion.usage.input_tokens == 80 and completion.usage.output_tokens == 638
    assert completion.usage.reasoning_tokens == 353 and completion.finish_reason == "stop"
    assert [e.type for e in events if e.type in ("text", "reasoning")] == ["reasoning", "text"]


def test_anthropic_stream_tool_use_fragments() -> None:
    # anthropic/05-stream-tool-use.json: input {} at block start, first partial_json empty
    parts = ["", '{"latitude"', ": ", '"52.52"', "}"]
    body = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":1}}}\n\n'
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":'
        '{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}\n\n'
    )
    body += "".join(
        "event: content_block_delta\ndata: "
        + json.dumps(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
        )
        + "\n\n"
        for p in parts
    )
    body += (
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},'
        '"usage":{"output_tokens":9}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    _, completion = run_stream(_anthropic.StreamParser("anthropic"), body)
    assert completion.tool_calls[0].arguments == {"latitude": "52.52"} and completion.finish_reason == "tool_calls"


def test_anthropic_error_event_and_missing_message_stop() -> None:
    from hamr import StreamError

    start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{}}}\n\n'
    text = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
        '{"type":"text_delta","text":"Hel"}}\n\n'
    )
    with pytest.raises(StreamError) as info:
        run_stream(
            _anthropic.StreamParser("anthropic"),
            start + text + 'event: error\ndata: {"type":"error",'
            '"error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        )
    assert info.value.error_type == "overloaded_error" and info.value.partial.text == "Hel"
    with pytest.raises(StreamError, match="message_stop") as info:
        run_stream(_anthropic.StreamParser("anthropic"), start + text)
    assert info.value.partial.text == "Hel"


def test_anthropic_base_url_with_v1_is_not_doubled() -> None:
    config = parse_config(
        {
            "providers": {
                "gw": {"base_url": "https://gw.example.com/anthropic/v1", "compatibility": "anthropic-compatible"}
            }
        }
    )
    assert (
        _anthropic.build_models(config.providers["gw"], {}).url
        == "https://gw.example.com/anthropic/v1/models?limit=1000"
    )
