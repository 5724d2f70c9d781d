"""Issue 8.3: streamed tool calls are assembled by index, by id when the index is missing, from whole calls in one
chunk, from parallel calls each in one chunk, from empty-string-first arguments and "{}"; arguments that are not a
JSON object after the stream ends are kept raw and reported, never a crash."""

from __future__ import annotations

import json

import pytest

from hamr import ToolCall, _anthropic, _openai
from tests.unit.peer_support import DONE, MODES, Server, call, chunk, decode, json_response, of_type, sse
from tests.unit.peer_wire import (
    ANTHROPIC_TOOL_USE_STREAM,
    DEEPSEEK_PARALLEL_TOOLS_BODY,
    MISTRAL_WHOLE_CALL_WITH_FINISH_AND_USAGE,
    OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK,
    OPENROUTER_TOOL_CALL_EMPTY_FIRST_ARGUMENTS,
)

BERLIN = {"latitude": "52.5200", "longitude": "13.4050"}


def frag(index: int | None = None, id: str | None = None, name: str | None = None, args: str | None = None) -> dict:
    """One delta.tool_calls[] entry in the documented OpenAI streaming shape; absent fields are left out."""
    out: dict = {"type": "function"} if id else {}
    if index is not None:
        out["index"] = index
    if id is not None:
        out["id"] = id
    fn = {k: v for k, v in (("name", name), ("arguments", args)) if v is not None}
    if fn:
        out["function"] = fn
    return out


def calls_of(body: bytes) -> list[tuple[str, str, dict]]:
    _, completion = decode(_openai, body)
    assert all(c.arguments_error is None for c in completion.tool_calls)
    return [(c.id, c.name, c.arguments) for c in completion.tool_calls]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(OPENROUTER_TOOL_CALL_EMPTY_FIRST_ARGUMENTS, id="openrouter-empty-string-first-arguments"),
        pytest.param(MISTRAL_WHOLE_CALL_WITH_FINISH_AND_USAGE, id="mistral-whole-call-with-finish-in-one-chunk"),
        pytest.param(OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK, id="ollama-whole-call-in-one-chunk"),
    ],
)
def test_recorded_tool_call_streams_assemble_to_one_call(body: bytes) -> None:
    ((call_id, name, arguments),) = calls_of(body)
    assert call_id and name == "weather" and arguments == BERLIN


def test_fragments_are_keyed_by_index_even_when_interleaved() -> None:
    # constructed in OpenAI's documented shape: id and name on the first fragment of each call, then fragments by index
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", ""), frag(1, "call_b", "time", "")]})
        + chunk({"tool_calls": [frag(0, args='{"latitude": "52.5200", ')]})
        + chunk({"tool_calls": [frag(1, args='{"tz": "CET"}')]})
        + chunk({"tool_calls": [frag(0, args='"longitude": "13.4050"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [("call_a", "weather", BERLIN), ("call_b", "time", {"tz": "CET"})]


def test_an_id_repeated_on_every_fragment_is_one_call() -> None:
    # constructed: some relays repeat id (and name) on every fragment of a call
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", '{"latitude": "52.5200", ')]})
        + chunk({"tool_calls": [frag(0, "call_a", "weather", '"longitude": "13.4050"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    events, _ = decode(_openai, body)
    assert calls_of(body) == [("call_a", "weather", BERLIN)]
    assert [e.id for e in of_type(events, "tool_call")] == ["call_a", None]


def test_without_index_fragments_are_keyed_by_id() -> None:
    # constructed: older Ollama builds omitted index (ollama/ollama#7881) and sent the id on every fragment
    body = (
        chunk({"tool_calls": [frag(None, "call_a", "weather", '{"latitude": "52.5200", ')]})
        + chunk({"tool_calls": [frag(None, "call_b", "time", '{"tz": ')]})
        + chunk({"tool_calls": [frag(None, "call_a", args='"longitude": "13.4050"}')]})
        + chunk({"tool_calls": [frag(None, "call_b", args='"CET"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [("call_a", "weather", BERLIN), ("call_b", "time", {"tz": "CET"})]


def test_without_index_or_id_a_fragment_continues_the_call_in_progress() -> None:
    # constructed: id only on the first fragment, no index anywhere
    body = (
        chunk({"tool_calls": [frag(None, "call_a", "weather", '{"latitude": "52.5200", ')]})
        + chunk({"tool_calls": [frag(None, args='"longitude": "13.4050"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [("call_a", "weather", BERLIN)]


def test_parallel_calls_each_whole_in_one_chunk_stay_separate() -> None:
    # constructed in OpenAI's shape: two complete calls, one per chunk, indexes 0 and 1
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", json.dumps(BERLIN))]})
        + chunk({"tool_calls": [frag(1, "call_b", "time", '{"tz": "CET"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [("call_a", "weather", BERLIN), ("call_b", "time", {"tz": "CET"})]


def test_parallel_calls_all_sent_at_index_zero_are_not_merged() -> None:
    # constructed: Ollama streams every call of a parallel batch at index 0, each with its own id
    # (ollama/ollama#15457); merging by index alone would glue the argument strings together
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", json.dumps(BERLIN))]})
        + chunk({"tool_calls": [frag(0, "call_b", "weather", '{"latitude": "48.85", "longitude": "2.35"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [
        ("call_a", "weather", BERLIN),
        ("call_b", "weather", {"latitude": "48.85", "longitude": "2.35"}),
    ]


def test_an_id_that_changes_between_fragments_of_one_call_does_not_split_it() -> None:
    # constructed: Poolside's stream gives the first fragment (with the name) one id and every later fragment another
    # (poolsideai/pool#9); vLLM's harmony parser made a new id per fragment, name repeated (vllm-project/vllm#23522)
    body = (
        chunk({"tool_calls": [frag(0, "call_first", "weather", "")]})
        + chunk({"tool_calls": [frag(0, "call_second", args='{"latitude": "52.5200", ')]})
        + chunk({"tool_calls": [frag(0, "call_third", "weather", '"longitude": "13.4050"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [("call_first", "weather", BERLIN)]


def test_a_new_id_with_another_name_at_a_reused_index_is_a_new_call() -> None:
    # constructed: parallel calls at index 0 where the first one's arguments are still incomplete
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", '{"latitude": "52.5200", "longitude": "13.4050"')]})
        + chunk({"tool_calls": [frag(0, "call_b", "time", '{"tz": "CET"}')]})
        + chunk({}, "tool_calls")
        + DONE
    )
    _, completion = decode(_openai, body)
    assert [(c.id, c.name) for c in completion.tool_calls] == [("call_a", "weather"), ("call_b", "time")]
    assert completion.tool_calls[0].arguments_error and completion.tool_calls[1].arguments == {"tz": "CET"}


def test_a_zero_argument_tool_gets_an_empty_object() -> None:
    # constructed: "{}" whole, and "" followed by "{}" (as deepseek/04 and openrouter/05 send "" first)
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "best_language_to_learn", "{}")]})
        + chunk({"tool_calls": [frag(1, "call_b", "now", "")]})
        + chunk({"tool_calls": [frag(1, args="{}")]})
        + chunk({"tool_calls": [frag(2, "call_c", "ping")]})
        + chunk({}, "tool_calls")
        + DONE
    )
    assert calls_of(body) == [
        ("call_a", "best_language_to_learn", {}),
        ("call_b", "now", {}),
        ("call_c", "ping", {}),
    ]


def test_recorded_parallel_calls_in_a_body_include_a_zero_argument_one() -> None:
    completion = _openai.parse_chat("deepseek", DEEPSEEK_PARALLEL_TOOLS_BODY)
    assert [(c.name, c.arguments, c.arguments_error) for c in completion.tool_calls] == [
        ("weather", BERLIN, None),
        ("best_language_to_learn", {}, None),
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"latitude": "52.52', "not valid JSON"),  # the stream was cut inside the arguments
        ('{"a": 1}{"b": 2}', "not valid JSON"),  # two calls glued together by a broken server
        ("[1, 2]", "JSON list, not an object"),
    ],
)
def test_arguments_that_are_not_a_json_object_are_kept_raw_and_reported(raw: str, reason: str) -> None:
    body = chunk({"tool_calls": [frag(0, "call_a", "weather", raw)]}) + chunk({}, "tool_calls") + DONE
    events, completion = decode(_openai, body)
    (tool_call,) = completion.tool_calls
    assert tool_call.arguments == {} and tool_call.raw_arguments == raw
    assert tool_call.arguments_error is not None and reason in tool_call.arguments_error
    assert events[-1].type == "done"
    # and it goes back to the provider exactly as it came
    assert completion.to_message()["tool_calls"] == [{"id": "call_a", "name": "weather", "arguments": raw}]


def test_anthropic_tool_use_stream_with_empty_first_fragment() -> None:
    # recorded: anthropic/05 starts the block with input {} and sends "" as the first partial_json
    _, completion = decode(_anthropic, ANTHROPIC_TOOL_USE_STREAM)
    assert completion.tool_calls == (
        ToolCall.from_raw("toolu_01MKSN7NHsBVKr7Jvw5pqCQq", "weather", json.dumps(BERLIN)),
    )
    assert completion.finish_reason == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
def test_streamed_parallel_calls_through_the_client(mode: str) -> None:
    body = (
        chunk({"tool_calls": [frag(0, "call_a", "weather", json.dumps(BERLIN))]})
        + chunk({"tool_calls": [frag(0, "call_b", "weather", "{}")]})
        + chunk({}, "tool_calls")
        + DONE
    )
    tools = [{"name": "weather", "parameters": {"type": "object"}}]
    server = Server(sse(body))
    run = call(mode, server, {"messages": "weather?", "tools": tools, "stream": True}, provider="relay", model="m")
    assert [(c.id, c.arguments) for c in run.completion.tool_calls] == [("call_a", BERLIN), ("call_b", {})]
    assert run.completion.finish_reason == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
def test_invalid_arguments_through_the_client_do_not_raise(mode: str) -> None:
    body = {
        "id": "x",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
                },
            }
        ],
    }
    run = call(mode, Server(json_response(body)), {"messages": "go"}, provider="relay", model="m")
    (tool_call,) = run.completion.tool_calls
    assert tool_call.raw_arguments == "{oops" and tool_call.arguments_error
