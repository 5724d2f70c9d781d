"""The conformance kit, offline: every verdict kind from bytes that show it (a fake server with one quirk at a time,
run through the live path; constructed streams fed to the raw rules), live and ``--replay`` agreeing, drift between
two runs, the request budget, the one-line errors, the TOML snippet hamr honours, and the committed live runs
replaying to the verdicts of their reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx2
import pytest

import hamr
from hamr.kit import cli as conform_cli
from hamr.kit import rules, run
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from tests.conform.fake_server import KEY, MODEL, FakeOpenAI

REPO = Path(__file__).resolve().parents[2]


def _conform(out: Path, *quirks: str, budget: int = 80, tries: int = 3, key: str | None = None):
    target = run.Target("fake", "http://fake.test/v1", "auto", key_env="FAKE_API_KEY" if key else None)
    lines: list[str] = []
    fake = FakeOpenAI(*quirks, key=key)
    code = conform_cli.conform(target, key, out, w.Budget(budget), tries, "test", inner=fake, progress=lines.append)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return code, report, lines


@pytest.mark.parametrize(
    ("quirks", "probe", "kind", "why"),
    [
        ((), "stream", v.HONOURED, "ends with [DONE], one final finish reason"),
        (("no_done",), "stream", v.BROKEN, "no data: [DONE] at the end"),
        ((), "stream_usage", v.HONOURED, "usage in a final chunk with empty choices"),
        (("no_usage",), "stream_usage", v.IGNORED, "no chunk carried usage"),
        (("usage_without_choices",), "stream_usage", v.BROKEN, "the usage chunk has no choices list"),
        ((), "stream_tool_call", v.HONOURED, "index from 0"),
        (("no_index",), "stream_tool_call", v.BROKEN, "streamed tool_calls without an integer index"),
        (("index_from_1",), "stream_tool_call", v.BROKEN, "indexes start at 1, not 0"),
        (("stop_after_tool",), "stream_tool_call", v.BROKEN, 'finish_reason "stop" after a tool call'),
        ((), "tool_choice_forced", v.HONOURED, "the named tool was called against the prompt"),
        ((), "tool_choice_none", v.HONOURED, "without it a tool was called"),
        (("ignores_none",), "tool_choice_none", v.IGNORED, "tool_choice none sent, and still a tool was called"),
        (("mute_model",), "tool_choice_none", v.MODEL, "its effect cannot be seen"),
        ((), "parallel_tool_calls", v.HONOURED, "without it more than one tool was called"),
        (("ignores_parallel",), "parallel_tool_calls", v.IGNORED, "and still more than one tool was called"),
        (("mute_model",), "parallel_tool_calls", v.MODEL, "its effect cannot be seen"),
        ((), "json_object", v.HONOURED, "a JSON object"),
        (("rejects_json_object",), "json_object", v.REJECTED, "400 for response_format json_object"),
        (("ignores_json",), "json_object", v.IGNORED, "the answer is not JSON"),
        ((), "json_schema", v.HONOURED, "follows the schema"),
        (("schema_as_object",), "json_schema", v.IGNORED, "a JSON object that breaks the schema"),
        (("json_schema_500",), "json_schema", v.BROKEN, "500 for response_format json_schema, where a 4xx belongs"),
        ((), "stop", v.HONOURED, "with it never"),
        (("ignores_stop",), "stop", v.IGNORED, "stop sent, and still 'e' appeared"),
        (("mute_model",), "stop", v.MODEL, "its effect cannot be seen"),
        ((), "max_tokens", v.HONOURED, "finish length"),
        (("ignores_max_tokens",), "max_tokens", v.IGNORED, "80 output tokens for max_tokens 8"),
        (("mute_model",), "max_tokens", v.MODEL, "stopped before 8 tokens in 3 tries"),
        ((), "seed", v.HONOURED, "the same seed gave the same answer"),
        (("ignores_seed",), "seed", v.IGNORED, "different answers in 2 of 2 tries"),  # one pair is no evidence
        ((), "system_prompt", v.HONOURED, "follows the system prompt"),
        (("mute_model",), "system_prompt", v.MODEL, "did not follow it in 3 of 3 tries"),
        ((), "error_unknown_model", v.HONOURED, "404 in the error shape"),
        (("serves_any_model",), "error_unknown_model", v.IGNORED, "served by the model the server has"),
        ((), "error_malformed", v.HONOURED, "400 in the error shape"),
        ((), "reasoning", v.NOT_APPLICABLE, "the model sent no reasoning"),
        ((), "images", v.HONOURED, "more prompt tokens than the text alone"),
        (("drops_images",), "images", v.IGNORED, "the image added no prompt tokens"),
        ((), "error_bad_key", v.NOT_APPLICABLE, "no key given"),
    ],
)
def test_each_verdict_is_judged_from_the_bytes_that_show_it(tmp_path, quirks, probe, kind, why):
    _, report, _ = _conform(tmp_path / "out", *quirks)

    verdict = report["verdicts"][probe]
    assert (verdict["kind"], why in verdict["reason"]) == (kind, True), verdict


def test_a_model_dependent_probe_repeats_the_stated_number_of_tries(tmp_path):
    _conform(tmp_path / "out", "mute_model", tries=2)

    cassette = w.loads((tmp_path / "out" / "cassettes" / "system_prompt.yaml").read_text(encoding="utf-8"))
    # each try: the system prompt and its control without it
    assert (cassette.conform["tries"], cassette.conform["attempts"], len(cassette.exchanges)) == (2, 2, 4)
    decided = w.loads((tmp_path / "out" / "cassettes" / "tool_choice_forced.yaml").read_text(encoding="utf-8"))
    assert decided.conform["attempts"] == 1  # settled on the first try: no request more


def test_replay_gives_the_live_verdicts_offline(tmp_path, capsys):
    code, report, _ = _conform(tmp_path / "out", "no_usage", "ignores_parallel")

    assert conform_cli.replay(tmp_path / "out") == code == 1  # ignored parameters fail the default policy
    assert "the same verdicts as the live run" in capsys.readouterr().out
    assert report["verdicts"]["stream_usage"]["kind"] == v.IGNORED


def test_replay_reports_a_verdict_the_cassettes_no_longer_support(tmp_path, capsys):
    _conform(tmp_path / "out")
    path = tmp_path / "out" / "cassettes" / "stream.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("data: [DONE]\n", ""), encoding="utf-8")

    assert conform_cli.replay(tmp_path / "out") == 1
    out = capsys.readouterr().out
    assert "stream: honoured -> broken shape (no data: [DONE] at the end)" in out


def test_a_cassette_from_another_version_of_the_kit_is_one_line(tmp_path, capsys):
    _conform(tmp_path / "out")
    path = tmp_path / "out" / "cassettes" / "max_tokens.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_tokens: 8", "max_tokens: 9"), encoding="utf-8")

    assert conform_cli.main(["--replay", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "max_tokens.yaml: request #0 differs from the recorded one" in err


def test_a_second_run_reports_what_changed_since_the_first(tmp_path):
    _conform(tmp_path / "out")
    code, _, lines = _conform(tmp_path / "out", "no_done")

    assert code == 1  # stream is a required cell
    changes = "\n".join(lines[lines.index(next(line for line in lines if line.startswith("since the run"))) :])
    assert "stream: honoured -> broken shape" in changes
    assert "- <chat.completion.chunk>" not in changes  # the shape drift names only what changed
    assert "data [DONE]" in changes


def test_no_probe_sends_more_than_the_budget_allows(tmp_path):
    budget = 14
    _, report, lines = _conform(tmp_path / "out", budget=budget)

    assert lines[0].startswith("conform fake: http://fake.test/v1; budget 14 requests")
    assert report["run"]["requests"] <= budget
    not_run = [name for name, verdict in report["verdicts"].items() if verdict["kind"] == v.NOT_RUN]
    assert "seed" in not_run
    assert "left of the budget" in report["verdicts"]["seed"]["reason"]


def test_a_key_is_used_and_never_written(tmp_path):
    _, report, _ = _conform(tmp_path / "out", key=KEY)

    assert report["verdicts"]["error_bad_key"]["kind"] == v.HONOURED
    assert report["verdicts"]["chat"]["kind"] == v.HONOURED
    written = [path.read_text(encoding="utf-8") for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert not any(KEY in text for text in written)
    assert any("Bearer <FAKE_API_KEY>" in text for text in written)
    assert any("Bearer <WRONG_KEY>" in text for text in written)  # key-shaped, though no secret: a placeholder too


def test_an_unreachable_url_is_one_clear_line(tmp_path):
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("Connection refused")

    target = run.Target("down", "http://127.0.0.1:9/v1", "auto")
    with pytest.raises(
        run.ConformError, match=r"^cannot reach http://127.0.0.1:9/v1: ConnectError: Connection refused"
    ):
        conform_cli.conform(target, None, tmp_path, w.Budget(10), 1, "t", inner=httpx2.MockTransport(refuse))


def test_a_server_that_speaks_none_of_the_protocols_is_one_clear_line(tmp_path):
    def web_server(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/models":
            return httpx2.Response(200, json={"data": [{"id": "m"}]})
        return httpx2.Response(404, text="<html>Not Found</html>")

    target = run.Target("web", "http://web.test", "auto")
    with pytest.raises(run.ConformError) as raised:
        conform_cli.conform(target, None, tmp_path, w.Budget(10), 1, "t", inner=httpx2.MockTransport(web_server))
    assert str(raised.value) == (
        "http://web.test speaks none of the three protocols: POST /v1/chat/completions answered 404; "
        "POST /v1/messages answered 404; POST /v1/responses answered 404"
    )


def test_bad_input_exits_2_with_one_line(capsys):
    assert conform_cli.main(["not-a-target"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("conform: 'not-a-target' is neither a URL (http://...) nor a target")


def test_a_target_answers_to_its_aliases_and_its_run_keeps_its_name(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text('[targets.server-a]\nurl = "http://a.test/v1"\naliases = ["a", "first"]\n', encoding="utf-8")

    known = conform_cli.targets(path)

    assert known["a"] is known["first"] is known["server-a"]
    assert known["a"]["name"] == "server-a"  # the run is written to conformance/server-a
    assert "aliases" not in known["a"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[targets.a]\nurl = "u"\naliases = "b"\n', "targets.a.aliases: a list of names, not 'b'"),
        ('[targets.a]\nurl = "u"\naliases = ["b"]\n[targets.b]\nurl = "v"\n', "targets.a.aliases: 'b' names another"),
        (
            '[targets.a]\nurl = "u"\naliases = ["c"]\n[targets.b]\nurl = "v"\naliases = ["c"]\n',
            "targets.b.aliases: 'c'",
        ),
    ],
)
def test_a_bad_alias_names_its_field(tmp_path, text, error):
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(run.ConformError, match=f"^--targets {path}: " + error.replace(".", r"\.")):
        conform_cli.targets(path)


def test_the_smoke_targets_names_reach_the_embedded_servers_conform_targets():
    # `nox -s conform -- local-responses` (the name `nox -s smoke` and `nox -s record` use) runs llama-server's
    # /v1/responses target and writes its committed run's folder
    known = conform_cli.targets(REPO / "tests" / "conform" / "targets.toml")
    for protocol in ("openai", "anthropic", "responses"):
        assert known[f"local-{protocol}"]["name"] == f"llama-server-{protocol}"
        assert (REPO / "conformance" / f"llama-server-{protocol}" / "report.json").is_file()


@pytest.mark.parametrize(("quirks", "sent"), [((), True), (("no_usage",), False)])
def test_the_toml_snippet_sets_what_hamr_then_honours(tmp_path, quirks, sent):
    _conform(tmp_path / "out", *quirks)
    snippet = (tmp_path / "out" / "hamr.toml").read_text(encoding="utf-8")
    assert ("stream_usage = false" in snippet) is not sent

    config = hamr.load_config(tmp_path / "out" / "hamr.toml", env={})
    seen: list[dict[str, object]] = []

    def server(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return FakeOpenAI(*quirks).handle_request(request)

    http = httpx2.Client(transport=httpx2.MockTransport(server))
    with (
        hamr.Client(config, provider="fake", http_client=http, env={}) as client,
        client.stream([{"role": "user", "content": "hi"}]) as stream,
    ):
        list(stream)
    assert seen[0]["model"] == MODEL
    assert ("stream_options" in seen[0]) is sent


# ------------------------------------------------------------------------------------------------------------------
# raw rules, on constructed bytes (each named after the issue that reported it)
# ------------------------------------------------------------------------------------------------------------------


def _sse(*events: tuple[str, dict[str, object]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _anthropic_tool_stream(delta_index: int = 1, with_input: bool = True, deltas: int = 1) -> bytes:
    events: list[tuple[str, dict[str, object]]] = [
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Ok"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "input": {}}},
        ),
    ]
    if with_input:
        parts = ['{"city": ', '"Par', 'is"}'] if deltas == 3 else ['{"city": "Paris"}']
        for part in parts:
            delta = {"type": "input_json_delta", "partial_json": part}
            events.append(
                ("content_block_delta", {"type": "content_block_delta", "index": delta_index, "delta": delta})
            )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return _sse(*events)


def test_an_anthropic_stream_in_order_has_no_problems():
    facts = rules.anthropic_stream(_anthropic_tool_stream())
    assert facts.problems == []
    assert facts.tool_inputs == {1: '{"city": "Paris"}'}


def test_an_anthropic_delta_sent_to_the_wrong_block_is_named():  # sglang#25876
    assert rules.anthropic_stream(_anthropic_tool_stream(delta_index=0)).problems == [
        "input_json_delta sent to block 0, which is not open",  # its input was sent, not dropped
    ]
    assert rules.anthropic_stream(_anthropic_tool_stream(delta_index=0, deltas=3)).problems == [
        "input_json_delta sent to block 0, which is not open (×3)",  # once, counted (not a sentence per delta)
    ]


def test_a_dropped_input_json_delta_is_named():  # litellm#29491
    assert rules.anthropic_stream(_anthropic_tool_stream(with_input=False)).problems == [
        "tool_use block 1 has no input (input_json_delta dropped)"
    ]


def test_an_anthropic_stream_without_message_stop_is_named():
    body = _anthropic_tool_stream().replace(b'event: message_stop\ndata: {"type": "message_stop"}\n\n', b"")
    assert rules.anthropic_stream(body).problems == ["the stream does not end with message_stop"]


def _exchange(status: int, body: object, content_type: str = "application/json") -> w.Exchange:
    raw = json.dumps(body).encode()
    return w.Exchange(
        "POST", "http://x.test/v1/chat/completions", {}, b"{}", status, {"content-type": content_type}, raw
    )


def _one_step(exchange: w.Exchange) -> list[list[v.Step]]:
    return [[v.Step("step", (exchange,), v.Observation())]]


def test_arguments_sent_as_an_object_are_a_broken_shape():  # llama.cpp#20198
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    body = {
        "choices": [{"message": {"content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}],
        "usage": {"completion_tokens": 3},
    }
    verdict = v.JUDGES["tool_call"](v.Context(rules.OPENAI, 3), _one_step(_exchange(200, body)))
    assert verdict == v.Verdict(
        v.BROKEN, "tool_choice step: tool-call arguments sent as a JSON object, not a JSON string"
    )


def test_an_unknown_model_answered_200_with_an_error_body_is_a_broken_shape():  # litellm#27030
    body = {"error": {"message": "model not found"}}
    verdict = v.judge_unknown_model(v.Context(rules.OPENAI, 1), _one_step(_exchange(200, body)))
    assert verdict == v.Verdict(v.BROKEN, "200 with no answer: 200 with an error body: model not found")


def test_an_unknown_model_answered_400_is_named():  # ollama#6646
    body = {"error": {"message": "model 'x' not found"}}
    verdict = v.judge_unknown_model(v.Context(rules.OPENAI, 1), _one_step(_exchange(400, body)))
    assert verdict == v.Verdict(v.BROKEN, "400 in the error shape, where 404 belongs: model 'x' not found")


def test_an_error_outside_the_protocol_shape_is_named():
    verdict = v.refusal(rules.ANTHROPIC, _exchange(400, {"detail": "bad"}), "stop")
    assert verdict == v.Verdict(v.BROKEN, '400 without Anthropic\'s {"type": "error", "error": {...}} body')


# ------------------------------------------------------------------------------------------------------------------
# the committed live runs
# ------------------------------------------------------------------------------------------------------------------

RUNS = sorted(path.parent for path in (REPO / "conformance").glob("*/report.json"))


@pytest.mark.parametrize("directory", RUNS, ids=[path.name for path in RUNS])
def test_a_committed_live_run_replays_to_its_report(directory, capsys):
    report = json.loads((directory / "report.json").read_text(encoding="utf-8"))

    code = conform_cli.replay(directory)

    assert "the same verdicts as the live run" in capsys.readouterr().out
    assert code == conform_cli.report.exit_code(report["verdicts"])  # the default policy
    for cassette in (directory / "cassettes").glob("*.yaml"):
        assert w.loads(cassette.read_text(encoding="utf-8")).provenance["source"] == "recorded live"


@pytest.mark.parametrize("directory", RUNS, ids=[path.name for path in RUNS])
def test_a_committed_live_runs_report_and_snippet_are_as_generated(directory, tmp_path):
    copy = tmp_path / directory.name
    shutil.copytree(directory, copy)

    assert conform_cli.replay(copy, render=True) in (0, 1)

    for name in ("report.md", "hamr.toml"):
        assert (copy / name).read_text(encoding="utf-8") == (directory / name).read_text(encoding="utf-8"), name


def test_the_custom_row_of_the_matrix_rests_on_the_measured_servers(tmp_path):
    from tests.contract import cassette_reports
    from tests.contract.contract_cases import CASES, COLUMNS

    _, honest, _ = _conform(tmp_path / "a")
    _, quirky, _ = _conform(tmp_path / "b", "rejects_json_object", "json_schema_500")
    quirky["target"]["name"] = "quirky"
    results = [
        {"preset": p, "test": t, "outcome": "passed", "provenance": "constructed", "date": "2026-11-25"}
        for p in CASES
        for t in COLUMNS
        if CASES[p].supports(t)
    ]

    table = cassette_reports.render_matrix(results, [honest, quirky])

    custom = next(line for line in table.splitlines() if line.startswith("| `custom`"))
    cells = dict(zip(cassette_reports.MATRIX_COLUMNS, custom.strip("| ").split(" | ")[2:], strict=True))
    today = honest["run"]["date"]
    assert cells["stream"] == f"recorded live ({today}; `nox -s conform`, 2 servers) + constructed (2026-11-25)"
    assert cells["429"] == "constructed (2026-11-25)"  # no probe provokes a rate limit
    assert cells["401"] == "constructed (2026-11-25)"  # neither fake server had a key
    assert "## Servers measured by the conformance kit (`custom`)" in table
    assert "| `quirky` | openai | honoured |" in table
    assert "rejected loudly | broken shape |" in table  # json_object, json_schema
    assert "rerun: `test`" in table


def _conform_anthropic(out: Path, *quirks: str):
    from tests.conform.fake_server import FakeAnthropic

    target = run.Target("fake-anthropic", "http://fake.test", "anthropic")
    lines: list[str] = []
    code = conform_cli.conform(
        target, None, out, w.Budget(80), 3, "test", inner=FakeAnthropic(*quirks), progress=lines.append
    )
    return code, json.loads((out / "report.json").read_text(encoding="utf-8"))["verdicts"]


def test_an_anthropic_server_is_probed_in_its_own_protocol(tmp_path):
    code, verdicts = _conform_anthropic(tmp_path / "out")

    assert code == 0
    kinds = {name: verdict["kind"] for name, verdict in verdicts.items()}
    assert kinds["stream"] == kinds["stream_tool_call"] == kinds["tool_call"] == kinds["stream_usage"] == v.HONOURED
    assert verdicts["stream_tool_call"]["reason"] == (
        "1 call(s) with tool_choice required; 1 call(s) with tool_choice named, input a JSON object"
    )
    assert kinds["seed"] == kinds["json_object"] == kinds["json_schema"] == v.NOT_APPLICABLE
    assert verdicts["seed"]["reason"] == "the Messages API has no seed"
    assert kinds["error_unknown_model"] == kinds["error_malformed"] == v.HONOURED


@pytest.mark.parametrize(
    ("quirk", "why"),
    [
        ("wrong_block_index", "input_json_delta sent to block 0, which is not open"),  # sglang#25876
        ("drops_input_json", "tool_use block 1 has no input (input_json_delta dropped)"),  # litellm#29491
    ],
)
def test_an_anthropic_stream_broken_on_the_wire_is_named(tmp_path, quirk, why):
    code, verdicts = _conform_anthropic(tmp_path / "out", quirk)

    assert code == 1
    assert verdicts["stream_tool_call"]["kind"] == v.BROKEN
    assert why in verdicts["stream_tool_call"]["reason"]
