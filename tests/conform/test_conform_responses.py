"""The conformance kit on the Responses API (``--protocol responses``, and ``auto`` after the other two): every
verdict kind from bytes that show it (the fake Responses server with one quirk at a time, run through the live path;
constructed streams fed to the raw rules), live and ``--replay`` agreeing, and the TOML snippet hamr honours."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

import hamr
from hamr.kit import cli as conform_cli
from hamr.kit import rules, run
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from tests.conform.fake_server import MODEL, FakeResponses


def _conform(out: Path, *quirks: str, protocol: str = "auto") -> tuple[int, dict[str, object], list[str]]:
    target = run.Target("fake", "http://fake.test/v1", protocol)
    lines: list[str] = []
    code = conform_cli.conform(
        target, None, out, w.Budget(100), 3, "test", inner=FakeResponses(*quirks), progress=lines.append
    )
    return code, json.loads((out / "report.json").read_text(encoding="utf-8")), lines


@pytest.mark.parametrize(
    ("quirks", "probe", "kind", "why"),
    [
        ((), "chat", v.HONOURED, "text, status completed, usage"),
        ((), "system_prompt", v.HONOURED, "follows the system prompt"),
        (("mute_model",), "system_prompt", v.MODEL, "more prompt tokens than without it"),
        ((), "stream", v.HONOURED, "every *.added closed by its *.done and sequence_number increasing"),
        (("no_sequence",), "stream", v.HONOURED, "every *.added closed by its *.done, ends with response.completed"),
        (("out_of_order",), "stream", v.BROKEN, "output_text.delta for an item that is not open (events out of"),
        (("never_closed",), "stream", v.BROKEN, "output item (message) is open: its response.output_item.added never"),
        (("sequence_backwards",), "stream", v.BROKEN, "sequence_number 3 after 3: not increasing"),
        ((), "stream_usage", v.HONOURED, "usage in response.completed"),
        ((), "tool_call", v.HONOURED, "arguments a JSON string that parses"),
        (("arguments_object",), "tool_call", v.BROKEN, "tool-call arguments sent as a JSON object"),
        ((), "stream_tool_call", v.HONOURED, "1 call(s) with tool_choice named"),
        (("arguments_object",), "stream_tool_call", v.BROKEN, "tool-call arguments sent as a JSON object"),
        (("no_arguments_done",), "stream_tool_call", v.BROKEN, "arguments.delta without its response.function_call"),
        (("never_closed",), "stream_tool_call", v.BROKEN, "output item (function_call) is open"),
        ((), "tool_result", v.HONOURED, "the tool result was taken and answered"),
        ((), "tool_choice_forced", v.HONOURED, "the named tool was called against the prompt"),
        ((), "tool_choice_none", v.HONOURED, "without it a tool was called"),
        (("ignores_none",), "tool_choice_none", v.IGNORED, "tool_choice none sent, and still a tool was called"),
        ((), "parallel_tool_calls", v.HONOURED, "without it more than one tool was called"),
        (("ignores_parallel",), "parallel_tool_calls", v.IGNORED, "and still more than one tool was called"),
        ((), "json_object", v.HONOURED, "a JSON object"),
        (("ignores_json",), "json_object", v.IGNORED, "the answer is not JSON"),
        ((), "json_schema", v.HONOURED, "follows the schema"),
        (("schema_as_object",), "json_schema", v.IGNORED, "a JSON object that breaks the schema"),
        ((), "stop", v.NOT_APPLICABLE, "the Responses API has no stop sequences"),
        ((), "seed", v.NOT_APPLICABLE, "the Responses API has no seed"),
        ((), "max_tokens", v.HONOURED, "cut at 16 tokens, status incomplete (max_output_tokens)"),
        (("completed_at_limit",), "max_tokens", v.BROKEN, 'status "completed" at exactly the limit, not "incomplete'),
        (("ignores_max_tokens",), "max_tokens", v.IGNORED, "80 output tokens for max_output_tokens 16"),
        ((), "reasoning", v.HONOURED, "reasoning in reasoning items"),
        ((), "images", v.HONOURED, "more prompt tokens than the text alone"),
        (("drops_images",), "images", v.IGNORED, "the image added no prompt tokens"),
        ((), "error_unknown_model", v.HONOURED, "404 in the error shape"),
        ((), "error_malformed", v.HONOURED, "400 in the error shape"),
    ],
)
def test_each_responses_verdict_is_judged_from_the_bytes_that_show_it(tmp_path, quirks, probe, kind, why):
    _, report, _ = _conform(tmp_path / "out", *quirks)

    verdict = report["verdicts"][probe]  # type: ignore[index]
    assert (verdict["kind"], why in verdict["reason"]) == (kind, True), verdict


def test_auto_tries_responses_after_the_other_two_protocols(tmp_path):
    _, report, lines = _conform(tmp_path / "out")

    assert report["run"]["protocol"] == rules.RESPONSES  # type: ignore[index]
    assert "protocol: responses (POST /v1/responses answered 200)" in lines
    detection = w.loads((tmp_path / "out" / "cassettes" / "protocol.yaml").read_text(encoding="utf-8"))
    paths = [e.url.removeprefix("http://fake.test") for e in detection.exchanges]
    assert paths == ["/v1/models", "/v1/chat/completions", "/v1/messages", "/v1/responses"]


def test_a_malformed_responses_request_breaks_its_input(tmp_path):
    _, report, _ = _conform(tmp_path / "out", protocol=rules.RESPONSES)

    cassette = w.loads((tmp_path / "out" / "cassettes" / "error_malformed.yaml").read_text(encoding="utf-8"))
    assert cassette.exchanges[0].request_json()["input"] == {"text": "not a list"}
    assert report["verdicts"]["error_malformed"]["kind"] == v.HONOURED  # type: ignore[index]


def test_a_responses_run_replays_to_its_verdicts_offline(tmp_path, capsys):
    code, _, _ = _conform(tmp_path / "out", "completed_at_limit", protocol=rules.RESPONSES)

    assert conform_cli.replay(tmp_path / "out") == code == 1  # a broken shape fails the default policy
    assert "the same verdicts as the live run" in capsys.readouterr().out


def test_the_snippet_of_a_responses_run_configures_the_protocol_hamr_then_speaks(tmp_path):
    _conform(tmp_path / "out")
    snippet = (tmp_path / "out" / "hamr.toml").read_text(encoding="utf-8")
    assert 'compatibility = "openai-responses"' in snippet and 'base_url = "http://fake.test/v1"' in snippet

    config = hamr.load_config(tmp_path / "out" / "hamr.toml", env={})
    http = httpx2.Client(transport=FakeResponses())
    with hamr.Client(config, provider="fake", http_client=http, env={}) as client:
        completion = client.chat([{"role": "user", "content": "What's 2 + 2?"}])
    assert (completion.model, completion.text, completion.finish_reason) == (MODEL, "4", "stop")


# ------------------------------------------------------------------------------------------------------------------
# raw rules, on constructed bytes
# ------------------------------------------------------------------------------------------------------------------


def _sse(*events: dict[str, object], named: bool = True) -> bytes:
    return "".join((f"event: {e['type']}\n" if named else "") + f"data: {json.dumps(e)}\n\n" for e in events).encode()


def _llama_server_text_stream(status: str = "completed", terminal: str = "response.completed") -> list[dict]:
    """The shape llama.cpp's llama-server streams (recorded here, conformance/llama-server-responses): no
    output_index, content_index or sequence_number; items and parts named by their item_id."""
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "1\n2"}
    done = {**item, "status": "completed", "content": [part]}
    return [
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.in_progress", "response": {"id": "resp_1", "status": "in_progress"}},
        {"type": "response.output_item.added", "item": item},
        {"type": "response.content_part.added", "item_id": "msg_1", "part": {"type": "output_text", "text": ""}},
        {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "1\n"},
        {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "2"},
        {"type": "response.output_text.done", "item_id": "msg_1", "text": "1\n2"},
        {"type": "response.content_part.done", "item_id": "msg_1", "part": part},
        {"type": "response.output_item.done", "item": done},
        {"type": terminal, "response": {"id": "resp_1", "status": status, "output": [done], "usage": {}}},
    ]


def test_a_stream_without_indexes_or_sequence_numbers_is_read_by_its_item_ids():
    facts = rules.responses_stream(_sse(*_llama_server_text_stream()))

    assert facts.problems == []
    assert (facts.text, facts.terminal, facts.finish) == ("1\n2", "response.completed", "completed")


def test_a_terminal_event_must_carry_its_own_status():
    body = _sse(*_llama_server_text_stream(status="incomplete"))
    assert rules.responses_stream(body).problems == ['response.completed carries status "incomplete", not "completed"']
    body = _sse(*_llama_server_text_stream(status="incomplete", terminal="response.incomplete"))
    assert rules.responses_stream(body).problems == ["response.incomplete without incomplete_details.reason"]


def test_nothing_but_done_may_follow_the_terminal_event():
    events = _llama_server_text_stream()
    assert rules.responses_stream(_sse(*events) + b"data: [DONE]\n\n").problems == []  # OpenRouter's ending
    late = {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "!"}
    assert rules.responses_stream(_sse(*events, late)).problems == [
        "1 event(s) after response.completed (response.output_text.delta)"
    ]


def test_a_stream_must_open_with_response_created_and_end_with_a_terminal_event():
    events = _llama_server_text_stream()
    assert rules.responses_stream(_sse(*events[1:-1])).problems == [
        "the stream opens with response.in_progress, not response.created",
        "the stream does not end with response.completed, response.incomplete or response.failed",
    ]


def test_an_event_name_that_disagrees_with_its_type_is_named():
    body = _sse(*_llama_server_text_stream()).replace(b"event: response.in_progress", b"event: response.queued")
    assert rules.responses_stream(body).problems == ["event response.queued carries type response.in_progress"]


def test_an_error_event_and_a_failed_response_are_the_streams_errors():
    events = _llama_server_text_stream()[:5]
    error = {"type": "error", "code": "server_error", "message": "the model crashed"}
    failed = {"type": "response.failed", "response": {"status": "failed", "error": {"message": "overloaded"}}}
    facts = rules.responses_stream(_sse(*events, error, failed))
    assert facts.errors == ["the model crashed", "overloaded"]
    assert "an error event mid-stream: the model crashed" in facts.problems


def test_a_response_object_with_error_null_is_an_answer_not_an_error_body():
    body = {"status": "completed", "error": None, "output": [], "usage": {"input_tokens": 3, "output_tokens": 1}}
    exchange = w.Exchange("POST", "http://x.test/v1/responses", {}, b"{}", 200, {}, json.dumps(body).encode())
    assert rules.error_body(exchange) is None
    assert rules.answer(rules.RESPONSES, exchange).problems == ()
    failed = {**body, "status": "failed", "error": {"message": "rate limited"}, "output": []}
    exchange = w.Exchange("POST", "http://x.test/v1/responses", {}, b"{}", 200, {}, json.dumps(failed).encode())
    assert rules.error_body(exchange) == "rate limited"


def test_reasoning_inline_as_think_in_output_text_is_a_broken_shape_on_responses():
    message = {"type": "message", "content": [{"type": "output_text", "text": "<think>17*23</think>391"}]}
    body = {"status": "completed", "output": [message], "usage": {"input_tokens": 9, "output_tokens": 7}}
    exchange = w.Exchange("POST", "http://x.test/v1/responses", {}, b"{}", 200, {}, json.dumps(body).encode())
    attempts = [[v.Step("reasoning", (exchange,), v.Observation(text="<think>17*23</think>391"))]]

    verdict = v.judge_reasoning(v.Context(rules.RESPONSES, 1), attempts)

    assert verdict == v.Verdict(v.BROKEN, "reasoning inline as <think> in output_text, where a reasoning item belongs")
