"""The kit's verdicts that were wrong (issue 31), its exit-code policy and its limits, each proved on the fake
server's bytes through the live path (the planted-defect suite proves them again on real recorded bytes)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx2
import pytest

from hamr._cli import main as hamr_main
from hamr.kit import cli as conform_cli
from hamr.kit import report, run
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from tests.conform.fake_server import FakeOpenAI


def _conform(out: Path, transport: httpx2.BaseTransport, **options: object) -> tuple[int, dict[str, object]]:
    target = run.Target("fake", "http://fake.test/v1", "auto")
    code = conform_cli.conform(target, None, out, w.Budget(120), 3, "test", inner=transport, progress=print, **options)  # type: ignore[arg-type]
    return code, json.loads((out / "report.json").read_text(encoding="utf-8"))


class _Wrapped(httpx2.BaseTransport):
    """The fake server with one answer changed: ``change(request body, response) -> response``."""

    def __init__(self, change, *quirks: str) -> None:  # type: ignore[no-untyped-def]
        self.fake, self.change = FakeOpenAI(*quirks), change

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        response = self.fake.handle_request(request)
        return self.change(body, response)


def test_a_failed_control_is_the_controls_not_the_parameters(tmp_path):  # issue 31, item 1
    def control_500(body, response):  # type: ignore[no-untyped-def]
        if body.get("tool_choice") == "auto":
            return httpx2.Response(500, json={"error": {"message": "peg-native format"}})
        return response

    _, out = _conform(tmp_path / "out", _Wrapped(control_500), only=frozenset({"tool_choice_none"}))

    verdict = out["verdicts"]["tool_choice_none"]  # type: ignore[index]
    assert verdict["kind"] == v.UNTOLD
    assert verdict["reason"].startswith("tool_choice none served, but its control failed (broken shape: 500 for")


def test_tool_choice_none_ignored_is_ignored_even_when_the_control_fails(tmp_path):  # issue 31, item 1
    def control_500(body, response):  # type: ignore[no-untyped-def]
        if body.get("tool_choice") == "auto":
            return httpx2.Response(500, json={"error": {"message": "peg-native format"}})
        return response

    _, out = _conform(tmp_path / "out", _Wrapped(control_500, "ignores_none"), only=frozenset({"tool_choice_none"}))

    assert out["verdicts"]["tool_choice_none"]["kind"] == v.IGNORED  # type: ignore[index]


def test_a_forced_tool_choice_answered_in_words_is_ignored_and_fails_the_run(tmp_path):  # issue 31, item 4
    def dropped(body, response):  # type: ignore[no-untyped-def]
        if body.get("tool_choice") == "required":
            return FakeOpenAI().handle_request(
                httpx2.Request("POST", "http://fake.test/v1/chat/completions", json={**body, "tool_choice": "none"})
            )
        return response

    code, out = _conform(tmp_path / "out", _Wrapped(dropped), only=frozenset({"tool_call", "stream_tool_call"}))

    for cell in ("tool_call", "stream_tool_call"):
        verdict = out["verdicts"][cell]  # type: ignore[index]
        assert verdict["kind"] == v.IGNORED, verdict
        assert verdict["reason"].startswith("tool_choice required sent; answered in words, no tool call")
        assert "with tool_choice named" in verdict["reason"]  # what did work is said too
    assert code == 1


def test_an_error_sent_with_200_is_a_broken_shape(tmp_path):  # issue 31, item 3
    def as_200(body, response):  # type: ignore[no-untyped-def]
        return httpx2.Response(200, content=response.read()) if 400 <= response.status_code < 500 else response

    code, out = _conform(tmp_path / "out", _Wrapped(as_200), only=frozenset({"error_malformed"}))

    verdict = out["verdicts"]["error_malformed"]  # type: ignore[index]
    assert (verdict["kind"], verdict["reason"]) == (
        v.BROKEN,
        "200 with an error body, where a 4xx belongs: messages must be a list",
    )
    assert code == 1


def test_one_pair_of_seeded_answers_is_not_evidence(tmp_path):  # issue 31, item 5
    seen = {"n": 0}

    def first_differs(body, response):  # type: ignore[no-untyped-def]
        if body.get("seed") is None:
            return response
        seen["n"] += 1
        if seen["n"] != 1:
            return response
        data = json.loads(response.read())
        data["choices"][0]["message"]["content"] += " (cold cache)"
        return httpx2.Response(200, json=data)

    _, out = _conform(tmp_path / "out", _Wrapped(first_differs), only=frozenset({"seed"}))

    verdict = out["verdicts"]["seed"]  # type: ignore[index]
    assert (verdict["kind"], verdict["reason"]) == (
        v.UNTOLD,
        "the same seed gave different answers in 1 of 3 tries: not repeatable enough to judge",
    )


def test_the_seed_probe_warms_the_prompt_cache_first(tmp_path):
    _conform(tmp_path / "out", FakeOpenAI(), only=frozenset({"seed"}))

    cassette = w.loads((tmp_path / "out" / "cassettes" / "seed.yaml").read_text(encoding="utf-8"))
    assert cassette.conform["steps"][0] == "warm-up"
    assert "seed" not in (cassette.exchanges[0].request_json() or {})


def test_a_dropped_system_prompt_shows_in_the_prompt_tokens(tmp_path):  # issue 31, item 6
    def drops_system(body, response):  # type: ignore[no-untyped-def]
        if not any(m.get("role") == "system" for m in body.get("messages") or []):
            return response
        without = {**body, "messages": [m for m in body["messages"] if m.get("role") != "system"]}
        return FakeOpenAI("mute_model").handle_request(
            httpx2.Request("POST", "http://fake.test/v1/chat/completions", json=without)
        )

    _, out = _conform(tmp_path / "out", _Wrapped(drops_system, "mute_model"), only=frozenset({"system_prompt"}))

    verdict = out["verdicts"]["system_prompt"]  # type: ignore[index]
    assert verdict["kind"] == v.IGNORED
    assert "the system prompt added no prompt tokens" in verdict["reason"]


def test_a_kept_system_prompt_the_model_ignores_is_the_models(tmp_path):
    _, out = _conform(tmp_path / "out", FakeOpenAI("mute_model"), only=frozenset({"system_prompt"}))

    verdict = out["verdicts"]["system_prompt"]  # type: ignore[index]
    assert verdict["kind"] == v.MODEL
    assert "(it reached the model:" in verdict["reason"]


# ------------------------------------------------------------------------------------------------------------------
# policy (issue 31, item 7)
# ------------------------------------------------------------------------------------------------------------------


def _verdicts(**kinds: str) -> dict[str, dict[str, str]]:
    from hamr.kit import probes as p

    return {probe.name: {"kind": kinds.get(probe.name, v.HONOURED), "cell": probe.cell} for probe in p.PROBES}


@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        ({}, 0),
        ({"stream_usage": v.IGNORED}, 1),  # usage missing
        ({"error_malformed": v.BROKEN}, 1),  # an error sent as 200
        ({"error_unknown_model": v.BROKEN}, 1),  # a wrong unknown-model status
        ({"stop": v.IGNORED}, 1),
        ({"max_tokens": v.IGNORED}, 1),
        ({"seed": v.IGNORED}, 1),
        ({"tool_choice_none": v.IGNORED}, 1),
        ({"json_schema": v.REJECTED}, 0),  # a server may say no, loudly
        ({"system_prompt": v.MODEL, "seed": v.UNTOLD, "reasoning": v.NOT_APPLICABLE}, 0),
        ({"chat": v.REJECTED}, 1),  # a required cell must hold
    ],
)
def test_the_default_policy_fails_a_server_that_says_yes_and_does_not(kinds, code):
    assert report.exit_code(_verdicts(**kinds)) == code


def test_a_policy_names_cells_and_kinds():
    policy = report.Policy(
        fail_on=report.kind_names("broken shape"), allowed=report.cell_names("seed,tool_choice none")
    )
    assert policy.failures(_verdicts(seed=v.BROKEN, tool_choice_none=v.BROKEN, stop=v.IGNORED)) == []
    assert policy.failures(_verdicts(stop=v.BROKEN)) == ["stop: broken shape"]
    with pytest.raises(ValueError, match="'sed' is no cell"):
        report.cell_names("sed")
    with pytest.raises(ValueError, match="brokn: no verdict kind"):
        report.kind_names("brokn")


def test_the_command_takes_a_policy(tmp_path, capsys):
    out = tmp_path / "out"
    _conform(out, FakeOpenAI("no_usage"))
    capsys.readouterr()

    assert conform_cli.main(["--replay", str(out)]) == 1
    assert "FAILS on usage in stream: accepted but ignored" in capsys.readouterr().out
    assert conform_cli.main(["--replay", str(out), "--allow", "stream_usage"]) == 0
    assert conform_cli.main(["--replay", str(out), "--fail-on", "none"]) == 0
    assert conform_cli.main(["--replay", str(out), "--fail-on", "nonsense"]) == 2
    assert "nonsense: no verdict kind" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------------------
# limits (issue 31, item 8)
# ------------------------------------------------------------------------------------------------------------------


def _endless(body, response):  # type: ignore[no-untyped-def]
    """A server that ignores max_tokens: a streamed answer that goes on and on."""
    if not body.get("stream"):
        return response
    chunk = {"choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}]}
    return httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=f"data: {json.dumps(chunk)}\n\n".encode() * 5000
    )


def test_a_stream_past_the_event_limit_is_cut_and_the_cell_says_so(tmp_path):
    limits = w.Limits(seconds=60.0, events=100)
    _, out = _conform(tmp_path / "out", _Wrapped(_endless), only=frozenset({"stream"}), limits=limits)

    verdict = out["verdicts"]["stream"]  # type: ignore[index]
    assert verdict["kind"] == v.BROKEN
    assert "the stream ran past 100 events (--max-events)" in verdict["reason"]
    cassette = w.loads((tmp_path / "out" / "cassettes" / "stream.yaml").read_text(encoding="utf-8"))
    assert cassette.exchanges[0].cut and len(cassette.exchanges[0].body) < 100_000
    assert conform_cli.replay(tmp_path / "out") == 1  # the same verdict offline


class _Slow(httpx2.BaseTransport):
    """Answers after ``seconds`` when the request asks for many tokens (as a server that ignores max_tokens would);
    honours the request's read timeout as a real transport does."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.fake = seconds, FakeOpenAI()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else {}
        if "dragon" in json.dumps(body.get("messages")):
            timeout = (request.extensions.get("timeout") or {}).get("read") or 1e9
            if timeout < self.seconds:
                threading.Event().wait(timeout)
                raise httpx2.ReadTimeout("timed out", request=request)
            time.sleep(self.seconds)
        return self.fake.handle_request(request)


def test_an_answer_past_the_time_limit_is_cut_and_the_max_tokens_cell_says_what_ran_out(tmp_path):
    _, out = _conform(
        tmp_path / "out", _Slow(30.0), only=frozenset({"max_tokens"}), limits=w.Limits(seconds=0.2, events=400)
    )

    verdict = out["verdicts"]["max_tokens"]  # type: ignore[index]
    assert verdict["kind"] == v.IGNORED
    assert verdict["reason"] == (
        "max_tokens 8 sent, and the answer ran past the run's limit: no answer within 0.2 s (--request-timeout)"
    )
    assert out["run"]["limits"] == {"seconds": 0.2, "events": 400}  # type: ignore[index]
    assert conform_cli.replay(tmp_path / "out") == 1  # the same verdict offline: the replay times out too


# ------------------------------------------------------------------------------------------------------------------
# the command, installed
# ------------------------------------------------------------------------------------------------------------------


def test_hamr_conform_is_the_kits_command(tmp_path, capsys):
    _conform(tmp_path / "out", FakeOpenAI())
    capsys.readouterr()

    assert hamr_main(["conform", "--replay", str(tmp_path / "out")]) == 0
    assert "the same verdicts as the live run" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        hamr_main(["--help"])
    assert "conform" in capsys.readouterr().out


def test_hamr_conform_without_its_extra_says_how_to_get_it(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "yaml":
            raise ModuleNotFoundError("No module named 'yaml'")
        return real_import(name, *args, **kwargs)

    for module in [m for m in list(__import__("sys").modules) if m.startswith("hamr.kit")]:
        monkeypatch.delitem(__import__("sys").modules, module)
    monkeypatch.setattr(builtins, "__import__", no_yaml)

    assert hamr_main(["conform", "http://127.0.0.1:9/v1"]) == 2
    assert 'pip install "hamr[conform]"' in capsys.readouterr().err


def test_import_hamr_does_not_load_the_kit():
    import subprocess
    import sys

    code = "import hamr, sys; print(any(m.startswith('hamr.kit') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
