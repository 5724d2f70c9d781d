"""The openai-responses protocol, sans-IO: /responses requests built as data, Response objects and their stream
events parsed without sockets.

Bodies are trimmed from real recordings in pydantic/pydantic-ai's test cassettes at commit
4fda38988f2939fa6ea9cdefcf120693e10ef491 (file named at each use) and from vercel/ai's
packages/openai/src/responses/__fixtures__/openai-error.1.chunks.txt at ed857f50f112e23930b0c2dd8d532cc8bebbc911."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hamr import _anthropic, _openai, _responses
from hamr._config import parse_config
from hamr._errors import BadRequestError, RateLimitError, ServerError, StreamError
from hamr._stream import StreamDecoder
from hamr._types import Completion, StreamEvent
from tests.unit.test_protocols import CONVERSATION, TOOLS

CONFIG = parse_config(
    {"providers": {"work": {"base_url": "https://api.example.com/v1", "compatibility": "openai-responses"}}}
)
SETTINGS = CONFIG.providers["work"]
# test_deepseek_responses[function_tool].yaml, interaction 0 (DeepSeek's /responses, deepseek-v4-flash), trimmed
DEEPSEEK_TOOL_CALL = {
    "id": "92471b7c-94ad-452f-a3f5-c29aa74a95e1",
    "model": "deepseek-v4-flash",
    "object": "response",
    "status": "completed",
    "incomplete_details": None,
    "output": [
        {
            "content": [
                {
                    "text": "The user asks for the temperature in Tokyo. I should call the get_temperature tool.",
                    "type": "reasoning_text",
                }
            ],
            "id": "76f8b89e-4a41-46fb-86ae-546cc1e4ba6c",
            "status": "completed",
            "summary": [],
            "type": "reasoning",
        },
        {
            "arguments": '{"city": "Tokyo"}',
            "call_id": "call_00_iD0U8IMtyIljI0ET7GLz1318",
            "id": "8fc1af85-3010-42b2-bcb8-1a6d5003ad3b",
            "name": "get_temperature",
            "status": "completed",
            "type": "function_call",
        },
    ],
    "usage": {
        "input_tokens": 366,
        "input_tokens_details": {"cached_tokens": 256},
        "output_tokens": 63,
        "output_tokens_details": {"reasoning_tokens": 18},
        "total_tokens": 429,
    },
}

# test_openai_responses_raw_cot_stream_openrouter.yaml (OpenRouter's /responses, openai/gpt-oss-20b): the events
# verbatim but for fewer reasoning deltas and response objects cut to the fields hamr reads. The reasoning item is
# closed after the message item, and the completed response names it with another id: both as recorded.
_OR = '{"object":"response","id":"gen-1764265411-Fu1iEX7h5MRWiL79lb94","model":"openai/gpt-oss-20b"'
OPENROUTER_STREAM = (
    ": OPENROUTER PROCESSING\n\n"
    f'data: {{"type":"response.created","response":{_OR},"status":"in_progress","output":[]}},"sequence_number":0}}\n\n'
    'data: {"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_tmp_2kbe7x16sax",'
    '"summary":[]},"sequence_number":2}\n\n'
    'data: {"type":"response.content_part.added","item_id":"rs_tmp_2kbe7x16sax","output_index":0,"content_index":0,'
    '"part":{"type":"reasoning_text","text":""},"sequence_number":3}\n\n'
    'data: {"type":"response.reasoning_text.delta","output_index":0,"item_id":"rs_tmp_2kbe7x16sax","content_index":0,'
    '"delta":"The user asks","sequence_number":4}\n\n'
    'data: {"type":"response.reasoning_text.delta","output_index":0,"item_id":"rs_tmp_2kbe7x16sax","content_index":0,'
    '"delta":". Just answer 4.","sequence_number":5}\n\n'
    'data: {"type":"response.output_item.added","output_index":1,"item":{"type":"message","status":"in_progress",'
    '"content":[],"id":"msg_tmp_8cjof4f6zpw","role":"assistant"},"sequence_number":30}\n\n'
    'data: {"type":"response.content_part.added","item_id":"msg_tmp_8cjof4f6zpw","output_index":1,"content_index":0,'
    '"part":{"type":"output_text","annotations":[],"text":""},"sequence_number":31}\n\n'
    'data: {"type":"response.output_text.delta","logprobs":[],"output_index":1,"item_id":"msg_tmp_8cjof4f6zpw",'
    '"content_index":0,"delta":"4","sequence_number":32}\n\n'
    'data: {"type":"response.output_text.done","item_id":"msg_tmp_8cjof4f6zpw","output_index":1,"content_index":0,'
    '"text":"4","logprobs":[],"sequence_number":33}\n\n'
    'data: {"type":"response.output_item.done","output_index":1,"item":{"type":"message","status":"completed",'
    '"content":[{"type":"output_text","text":"4","annotations":[]}],"id":"msg_tmp_8cjof4f6zpw","role":"assistant"},'
    '"sequence_number":35}\n\n'
    'data: {"type":"response.reasoning_text.done","output_index":0,"item_id":"rs_tmp_2kbe7x16sax","content_index":0,'
    '"text":"The user asks. Just answer 4.","sequence_number":36}\n\n'
    'data: {"type":"response.output_item.done","output_index":0,"item":{"type":"reasoning","id":"rs_tmp_2kbe7x16sax",'
    '"summary":[],"content":[{"type":"reasoning_text","text":"The user asks. Just answer 4."}]},"sequence_number":38}'
    "\n\n"
    f'data: {{"type":"response.completed","response":{_OR},"status":"completed","output":[{{"type":"reasoning",'
    '"id":"rs_tmp_ku4i7pagjwn","summary":[],"content":[{"type":"reasoning_text","text":"The user asks. Just answer '
    '4."}]},{"type":"message","status":"completed","content":[{"type":"output_text","text":"4","annotations":[]}],'
    '"id":"msg_tmp_8cjof4f6zpw","role":"assistant"}],"incomplete_details":null,"usage":{"input_tokens":78,'
    '"input_tokens_details":{"cached_tokens":0},"output_tokens":37,"output_tokens_details":{"reasoning_tokens":22},'
    '"total_tokens":115,"cost":0.0000113,"is_byok":false}},"sequence_number":39}\n\n'
    "data: [DONE]\n\n"
)


def run_stream(body: str, *, keep_text: bool = True) -> tuple[list[StreamEvent], Completion]:
    decoder = StreamDecoder(_responses.StreamParser("work", keep_text=keep_text))
    events = decoder.feed(body.encode()) + decoder.close()
    assert decoder.completion is not None
    return events, decoder.completion


def sse(*events: dict[str, Any]) -> str:
    """Events as OpenAI frames them: an ``event:`` line naming the type, then the data line."""
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def joined(events: list[StreamEvent], kind: str) -> str:
    return "".join(e.text for e in events if e.type == kind)


# ------------------------------------------------------------------------------------------------------------------
# requests
# ------------------------------------------------------------------------------------------------------------------


def test_request_puts_system_in_instructions_and_messages_in_input_items() -> None:
    req = _responses.build_chat(
        SETTINGS, "m", CONVERSATION, system="Be brief", tools=TOOLS, max_tokens=50, temperature=0.2, top_p=0.9
    )
    assert (req.method, req.url) == ("POST", "https://api.example.com/v1/responses")
    body = req.json
    assert body == {
        "model": "m",
        "instructions": "Be brief",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Checking."},
            {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        "tools": [
            {
                "type": "function",
                "name": "weather",
                "description": "Weather at a place",
                "parameters": TOOLS[0]["parameters"],
                "strict": False,
            }
        ],
        "max_output_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "store": False,
        "include": ["reasoning.encrypted_content"],
    }


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"name": "weather"}, {"type": "function", "name": "weather"}),
    ],
)
def test_tool_choice_forms(choice: Any, wire: Any) -> None:
    body = _responses.build_chat(SETTINGS, "m", "hi", tools=TOOLS, tool_choice=choice, parallel_tool_calls=False).json
    assert body["tool_choice"] == wire and body["parallel_tool_calls"] is False


def test_tool_forms_chat_completions_shape_native_and_builtin() -> None:
    chat_shape = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}
    native = {"type": "function", "name": "g", "parameters": {"type": "object"}, "strict": True}
    body = _responses.build_chat(
        SETTINGS, "m", "hi", tools=[chat_shape, native, {"type": "web_search"}], tool_choice={"name": "g"}
    ).json
    assert body["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
        native,
        {"type": "web_search"},
    ]
    assert body["tool_choice"] == {"type": "function", "name": "g"}


@pytest.mark.parametrize(
    ("fmt", "wire"),
    [
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "name": "place", "schema": {"type": "object"}, "strict": True},
            {"type": "json_schema", "name": "place", "schema": {"type": "object"}, "strict": True},
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "place", "schema": {"type": "object"}}},
            {"type": "json_schema", "name": "place", "schema": {"type": "object"}},
        ),
    ],
)
def test_response_format_goes_out_as_text_format(fmt: Any, wire: Any) -> None:
    assert _responses.build_chat(SETTINGS, "m", "hi", response_format=fmt).json["text"] == {"format": wire}


@pytest.mark.parametrize(("option", "value"), [("stop", "END"), ("seed", 7)])
def test_an_option_the_protocol_lacks_is_a_value_error_naming_it(option: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{option} is not supported by the openai-responses protocol"):
        _responses.build_chat(SETTINGS, "m", "hi", **{option: value})


def test_images_and_text_parts_become_input_parts() -> None:
    png = "iVBORw0KGgo="
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "input_file", "file_id": "file-1"},
    ]
    (item,) = _responses.build_chat(SETTINGS, "m", [{"role": "user", "content": content}]).json["input"]
    assert item == {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{png}", "detail": "auto"},
            {"type": "input_file", "file_id": "file-1"},
        ],
    }


def test_stateless_by_default_and_server_state_only_when_asked() -> None:
    body = _responses.build_chat(SETTINGS, "m", "hi", stream=True).json
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"] and body["stream"] is True
    assert "previous_response_id" not in body
    asked = _responses.build_chat(
        SETTINGS, "m", "and then?", extra_body={"store": True, "previous_response_id": "resp_1"}
    ).json
    assert asked["store"] is True and asked["previous_response_id"] == "resp_1"


# ------------------------------------------------------------------------------------------------------------------
# answers
# ------------------------------------------------------------------------------------------------------------------


def test_a_response_becomes_a_completion_with_every_output_item_kept() -> None:
    completion = _responses.parse_chat("deepseek", json.dumps(DEEPSEEK_TOOL_CALL).encode())
    (call,) = completion.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "call_00_iD0U8IMtyIljI0ET7GLz1318",
        "get_temperature",
        {"city": "Tokyo"},
    )
    assert completion.reasoning.startswith("The user asks for the temperature in Tokyo.")
    assert completion.text == "" and completion.finish_reason == "tool_calls"
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.cache_read_tokens) == (366, 256)
    assert (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (63, 18)
    assert completion.content_blocks == tuple(DEEPSEEK_TOOL_CALL["output"])
    assert completion.reasoning_blocks == ()  # the items hold them, encrypted content and all


def test_to_message_sends_the_output_items_back_exactly_and_the_result_by_call_id() -> None:
    completion = _responses.parse_chat("deepseek", json.dumps(DEEPSEEK_TOOL_CALL).encode())
    conversation = [
        {"role": "user", "content": "What is the temperature in Tokyo?"},
        completion.to_message(),
        {"role": "tool", "tool_call_id": "call_00_iD0U8IMtyIljI0ET7GLz1318", "content": "21.0"},
    ]
    items = _responses.build_chat(SETTINGS, "m", json.loads(json.dumps(conversation))).json["input"]
    assert items[1:3] == DEEPSEEK_TOOL_CALL["output"]  # reasoning and function_call as received, not duplicated
    assert items[3] == {"type": "function_call_output", "call_id": "call_00_iD0U8IMtyIljI0ET7GLz1318", "output": "21.0"}
    assert len(items) == 4


def test_a_responses_turn_continues_on_the_other_protocols() -> None:
    answer = {
        **DEEPSEEK_TOOL_CALL,
        "output": [
            *DEEPSEEK_TOOL_CALL["output"],
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Calling."}]},
        ],
    }
    message = _responses.parse_chat("deepseek", json.dumps(answer).encode()).to_message()
    deepseek = CONFIG.providers["deepseek"]
    (sent,) = _openai.build_chat(deepseek, "m", [message], env={"DEEPSEEK_API_KEY": "k"}).json["messages"]
    assert sent["content"] == "Calling." and sent["tool_calls"][0]["id"] == "call_00_iD0U8IMtyIljI0ET7GLz1318"
    assert sent["reasoning_content"].startswith("The user asks")
    anthropic = CONFIG.providers["anthropic"]
    (turn,) = _anthropic.build_chat(anthropic, "m", [message], env={"ANTHROPIC_API_KEY": "k"}).json["messages"]
    assert [b["type"] for b in turn["content"]] == ["text", "tool_use"]
    assert turn["content"][0]["text"] == "Calling." and turn["content"][1]["input"] == {"city": "Tokyo"}


@pytest.mark.parametrize(
    ("status", "details", "finish"),
    [
        ("completed", None, "stop"),
        ("incomplete", {"reason": "max_output_tokens"}, "length"),
        ("incomplete", {"reason": "content_filter"}, "content_filter"),
        ("incomplete", None, "incomplete"),
        ("cancelled", None, "cancelled"),
    ],
)
def test_status_and_incomplete_details_are_the_finish_reason(status: str, details: Any, finish: str) -> None:
    body = {"id": "r", "status": status, "incomplete_details": details, "output": []}
    assert _responses.parse_chat("p", json.dumps(body).encode()).finish_reason == finish


def test_a_refusal_part_is_the_refusal() -> None:
    refusal = {"type": "refusal", "refusal": "I can't help with that."}
    body = {"status": "completed", "output": [{"type": "message", "role": "assistant", "content": [refusal]}]}
    completion = _responses.parse_chat("p", json.dumps(body).encode())
    assert completion.refusal == "I can't help with that." and completion.text == ""


@pytest.mark.parametrize(
    ("code", "error_class"),
    [("server_error", ServerError), ("rate_limit_exceeded", RateLimitError), ("invalid_prompt", BadRequestError)],
)
def test_a_failed_response_raises_the_typed_error_its_code_names(code: str, error_class: type) -> None:
    body = {"id": "r", "status": "failed", "error": {"code": code, "message": "it failed"}, "output": []}
    with pytest.raises(error_class, match="it failed"):
        _responses.parse_chat("p", json.dumps(body).encode())


def test_built_in_tool_items_are_content_blocks_never_tool_calls() -> None:
    search = {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}}
    message = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny."}]}
    body = {"status": "completed", "output": [search, message]}
    completion = _responses.parse_chat("openai", json.dumps(body).encode())
    assert completion.tool_calls == () and completion.finish_reason == "stop"
    assert completion.content_blocks == (search, message) and completion.text == "Sunny."


# ------------------------------------------------------------------------------------------------------------------
# streams
# ------------------------------------------------------------------------------------------------------------------


def test_openrouter_stream_reasoning_then_text_usage_with_cost() -> None:
    events, completion = run_stream(OPENROUTER_STREAM)
    assert [e.type for e in events] == ["reasoning", "reasoning", "text", "usage", "done"]
    assert completion.reasoning == joined(events, "reasoning") == "The user asks. Just answer 4."
    assert completion.text == "4" and completion.finish_reason == "stop"
    assert completion.id == "gen-1764265411-Fu1iEX7h5MRWiL79lb94" and completion.model == "openai/gpt-oss-20b"
    assert completion.usage is not None and completion.usage.cost == 0.0000113
    assert [b["id"] for b in completion.content_blocks] == ["rs_tmp_ku4i7pagjwn", "msg_tmp_8cjof4f6zpw"]


def test_streamed_function_call_is_assembled_from_its_item_and_argument_deltas() -> None:
    # test_deepseek_responses[function_tool_stream].yaml, the function-call part (deltas joined in fewer pieces)
    item = {"type": "function_call", "id": "62bf", "status": "in_progress", "arguments": "", "name": "get_temperature",
            "call_id": "call_00_xjY8Z2BvSlzgEmmw0DtH0464"}  # fmt: skip
    done = {**item, "status": "completed", "arguments": '{"city": "Tokyo"}'}
    body = sse(
        {"type": "response.created", "response": {"id": "r1", "model": "deepseek-v4-flash", "output": []}},
        {"type": "response.output_item.added", "item": item, "output_index": 0},
        {"type": "response.function_call_arguments.delta", "delta": '{"city', "item_id": "62bf", "output_index": 0},
        {"type": "response.function_call_arguments.delta", "delta": '": "Tokyo"}', "item_id": "62bf",
         "output_index": 0},
        {"type": "response.function_call_arguments.done", "arguments": '{"city": "Tokyo"}', "item_id": "62bf",
         "output_index": 0},
        {"type": "response.output_item.done", "item": done, "output_index": 0},
        {"type": "response.completed", "response": {"id": "r1", "status": "completed", "output": [done]}},
    )  # fmt: skip
    events, completion = run_stream(body)
    fragments = [e for e in events if e.type == "tool_call"]
    assert (fragments[0].id, fragments[0].name) == ("call_00_xjY8Z2BvSlzgEmmw0DtH0464", "get_temperature")
    assert "".join(f.arguments for f in fragments) == '{"city": "Tokyo"}'
    assert completion.tool_calls[0].arguments == {"city": "Tokyo"} and completion.finish_reason == "tool_calls"


def test_a_server_that_sends_no_deltas_loses_nothing() -> None:
    message = {"type": "message", "id": "m1", "role": "assistant", "content": [{"type": "output_text", "text": "Hi."}]}
    body = sse(
        {"type": "response.output_item.added", "item": {**message, "content": []}, "output_index": 0},
        {"type": "response.output_item.done", "item": message, "output_index": 0},
        {"type": "response.completed", "response": {"status": "completed", "output": [message]}},
    )
    events, completion = run_stream(body)
    assert joined(events, "text") == completion.text == "Hi."


def test_a_done_event_repeating_what_the_deltas_brought_adds_nothing() -> None:
    message = {"type": "message", "id": "m1", "role": "assistant", "content": [{"type": "output_text", "text": "Hi."}]}
    delta = {"item_id": "m1", "output_index": 0, "content_index": 0}
    body = sse(
        {"type": "response.output_item.added", "item": {**message, "content": []}, "output_index": 0},
        {"type": "response.output_text.delta", "delta": "Hi", **delta},
        {"type": "response.output_text.delta", "delta": ".", **delta},
        {"type": "response.output_text.done", "text": "Hi.", **delta},
        {"type": "response.content_part.done", "part": message["content"][0], **delta},
        {"type": "response.output_item.done", "item": message, "output_index": 0},
        {"type": "response.completed", "response": {"status": "completed", "output": [message]}},
    )
    events, completion = run_stream(body)
    assert [e.text for e in events if e.type == "text"] == ["Hi", "."] and completion.text == "Hi."


def test_summary_parts_are_set_apart_in_the_reasoning() -> None:
    # test_openai_responses_thinking_part_iter.yaml (o3-mini): summary parts stream one after the other
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": []}
    part = {"item_id": "rs_1", "output_index": 0}
    empty = {"type": "summary_text", "text": ""}
    body = sse(
        {"type": "response.output_item.added", "item": reasoning, "output_index": 0},
        {"type": "response.reasoning_summary_part.added", "summary_index": 0, "part": empty, **part},
        {"type": "response.reasoning_summary_text.delta", "summary_index": 0, "delta": "**Crossing**", **part},
        {"type": "response.reasoning_summary_part.added", "summary_index": 1, "part": empty, **part},
        {"type": "response.reasoning_summary_text.delta", "summary_index": 1, "delta": "Look both ways.", **part},
        {"type": "response.completed", "response": {"status": "completed", "output": []}},
    )  # fmt: skip
    events, completion = run_stream(body)
    assert completion.reasoning == joined(events, "reasoning") == "**Crossing**\n\nLook both ways."


def test_error_event_raises_stream_error_with_the_partial_and_its_code() -> None:
    # vercel/ai openai-error.1.chunks.txt: OpenAI's error event (nested error object), then response.failed
    message = {"type": "message", "id": "m1", "role": "assistant", "content": []}
    delta = {"item_id": "m1", "output_index": 0, "content_index": 0}
    body = sse(
        {"type": "response.created", "response": {"id": "resp_05500b38", "model": "gpt-5-nano-2025-08-07"}},
        {"type": "response.output_item.added", "item": message, "output_index": 0},
        {"type": "response.output_text.delta", "delta": "Hel", **delta},
        {"type": "error", "sequence_number": 2, "error": {"type": "insufficient_quota", "code": "insufficient_quota",
         "message": "You exceeded your current quota", "param": None}},
    )  # fmt: skip
    decoder = StreamDecoder(_responses.StreamParser("openai"))
    received: list[StreamEvent] = []
    with pytest.raises(StreamError) as info:
        for event in decoder.iter_feed(body.encode()):
            received.append(event)
    error = info.value
    assert error.message == "error event in stream: You exceeded your current quota"
    assert (error.code, error.error_type) == ("insufficient_quota", "insufficient_quota")
    assert error.partial.text == joined(received, "text") == "Hel"


def test_response_failed_raises_stream_error_with_the_responses_error() -> None:
    failed = {"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []}
    body = sse({"type": "response.failed", "response": failed})
    with pytest.raises(StreamError, match=r"response\.failed.*boom") as info:
        run_stream(body)
    assert info.value.code == "server_error"


def test_a_stream_that_ends_before_its_final_event_is_broken() -> None:
    with pytest.raises(StreamError, match=r"no response\.completed or response\.incomplete"):
        run_stream(sse({"type": "response.created", "response": {"id": "r"}}))


def test_incomplete_stream_ends_with_finish_reason_length() -> None:
    final = {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []}
    _, completion = run_stream(sse({"type": "response.incomplete", "response": final}))
    assert completion.finish_reason == "length"


def test_without_keep_text_the_message_items_are_not_kept_either() -> None:
    _, completion = run_stream(OPENROUTER_STREAM, keep_text=False)
    assert completion.text == "" and [b["type"] for b in completion.content_blocks] == ["reasoning"]


#: the event types of the spec: openai-python's ResponseStreamEvent union (src/openai/types/responses/
#: response_stream_event.py at e43b422412a9e96c9cc5192c61fffbe2d7e04836) and Open Responses' schema/events.tsp
#: (openresponses/openresponses at 3533b213592925e03bdfdc9495bd31c9887179c8)
SPEC_EVENTS = (
    "response.audio.delta",
    "response.audio.done",
    "response.audio.transcript.delta",
    "response.audio.transcript.done",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.code_interpreter_call.completed",
    "response.code_interpreter_call.in_progress",
    "response.code_interpreter_call.interpreting",
    "response.completed",
    "response.content_part.added",
    "response.content_part.done",
    "response.created",
    "error",
    "response.file_search_call.completed",
    "response.file_search_call.in_progress",
    "response.file_search_call.searching",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.shell_call_command.added",
    "response.shell_call_command.delta",
    "response.shell_call_command.done",
    "response.shell_call_output_content.delta",
    "response.shell_call_output_content.done",
    "response.in_progress",
    "response.failed",
    "response.incomplete",
    "response.output_item.added",
    "response.output_item.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.refusal.delta",
    "response.refusal.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.web_search_call.completed",
    "response.web_search_call.in_progress",
    "response.web_search_call.searching",
    "response.image_generation_call.completed",
    "response.image_generation_call.generating",
    "response.image_generation_call.in_progress",
    "response.image_generation_call.partial_image",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "response.mcp_call.in_progress",
    "response.mcp_list_tools.completed",
    "response.mcp_list_tools.failed",
    "response.mcp_list_tools.in_progress",
    "response.output_text.annotation.added",
    "response.queued",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.reasoning.delta",
    "response.reasoning.done",
)


def test_every_event_type_of_the_spec_is_handled_or_deliberately_passed_over() -> None:
    handled, passed = set(_responses.HANDLERS), set(_responses.PASSED_OVER)
    assert not handled & passed
    assert set(SPEC_EVENTS) == handled | passed


def test_usage_counts_cache_reads_writes_reasoning_and_openrouters_cost() -> None:
    usage = _responses.parse_usage(
        {
            "input_tokens": 4020,
            "input_tokens_details": {"cached_tokens": 3968, "cache_write_tokens": 40},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 3},
            "cost": 0.002196,
        }
    )
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (4020, 3968, 40)
    assert (usage.output_tokens, usage.reasoning_tokens, usage.cost) == (5, 3, 0.002196)
    assert usage.uncached_input_tokens == 12


def test_a_streamed_refusal_is_the_refusal() -> None:
    message = {"type": "message", "id": "m1", "role": "assistant", "content": []}
    where = {"item_id": "m1", "output_index": 0, "content_index": 0}
    refusal = {"type": "refusal", "refusal": "I can't help with that."}
    body = sse(
        {"type": "response.output_item.added", "item": message, "output_index": 0},
        {"type": "response.content_part.added", "part": {"type": "refusal", "refusal": ""}, **where},
        {"type": "response.refusal.delta", "delta": "I can't ", **where},
        {"type": "response.refusal.delta", "delta": "help with that.", **where},
        {"type": "response.refusal.done", "refusal": "I can't help with that.", **where},
        {
            "type": "response.completed",
            "response": {"status": "completed", "output": [{**message, "content": [refusal]}]},
        },
    )
    events, completion = run_stream(body)
    assert completion.refusal == "I can't help with that." and completion.text == ""
    assert [e.type for e in events] == ["done"]  # a refusal is no text event


def test_the_readme_lists_every_event_hamr_reads_and_every_one_it_passes_over() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("**Stream events.**", 1)[1].split("\n\n", 2)[1]
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table.splitlines()[2:]}
    passed = next(row for row in rows if row.startswith("passed over:"))

    def named(cell: str) -> set[str]:
        out = set()
        for name in re.findall(r"`([a-z_.]+(?:\{[a-z_,]+\})?)`", cell):
            stem, _, choices = name.partition("{")
            out |= {stem + c for c in choices.rstrip("}").split(",")} if choices else {name}
        return out

    assert named(passed) == set(_responses.PASSED_OVER)
    assert set().union(*(named(row) for row in rows if row != passed)) == set(_responses.HANDLERS)
