"""Issue 8.2: stream_options.include_usage is a preset flag, and a custom or relay server that rejects it (400/422
naming the field) gets the stream again without it, once, and never again for the rest of the session."""

from __future__ import annotations

import json

import pytest

import hamr
from hamr import PRESETS, _openai
from tests.unit.peer_support import DONE, MODES, Server, call, chunk, config, json_response, sse

USER = [{"role": "user", "content": "hi"}]
STREAM = {"messages": USER, "stream": True}
# constructed in the documented OpenAI chunk shape
OK_STREAM = chunk({"content": "hello"}) + chunk({}, "stop") + DONE

# The rejection bodies as users of peer runtimes report them (quoted in public issues):
# Mistral-style pydantic 422 (avante-corp/avante.nvim#2347, openai/openai-agents-python#442)
EXTRA_FORBIDDEN_422 = {
    "object": "error",
    "message": {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options", "include_usage"],
                "msg": "Extra inputs are not permitted",
                "input": True,
            }
        ]
    },
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}
# Azure/one-api-style 400 (jamesrochabrun/SwiftOpenAI#67, QuantumNous/new-api#418)
UNKNOWN_PARAMETER_400 = {
    "error": {
        "message": "Unknown parameter: 'stream_options'.",
        "type": "invalid_request_error",
        "param": "stream_options",
        "code": "unknown_parameter",
    }
}
CUSTOM = '[providers.work]\nbase_url = "https://llm.example.com/v1"\n'


@pytest.mark.parametrize("preset", sorted(p for p in PRESETS if PRESETS[p].compatibility == "openai-compatible"))
def test_each_preset_sends_stream_options_exactly_when_its_flag_says(preset: str) -> None:
    settings = config(CUSTOM if preset == "custom" else "").provider("work" if preset == "custom" else preset)
    req = _openai.build_chat(
        settings,
        "m",
        USER,
        stream=True,
        env={
            k: "key"
            for k in ("DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "TOGETHER_API_KEY")
        },
    )
    assert req.json is not None
    assert ("stream_options" in req.json) == PRESETS[preset].stream_usage


def test_mistral_preset_never_sends_stream_options() -> None:
    # Mistral answers 422 extra_forbidden to it (see EXTRA_FORBIDDEN_422) and reports usage on the last chunk anyway
    assert PRESETS["mistral"].stream_usage is False


def test_the_flag_can_be_overridden_either_way() -> None:
    cfg = config("[providers.groq]\nstream_usage = false\n[providers.mistral]\nstream_usage = true\n")
    env = {"GROQ_API_KEY": "k", "MISTRAL_API_KEY": "k"}
    groq = _openai.build_chat(cfg.provider("groq"), "m", USER, stream=True, env=env).json
    mistral = _openai.build_chat(cfg.provider("mistral"), "m", USER, stream=True, env=env).json
    assert groq is not None and "stream_options" not in groq
    assert mistral is not None and mistral["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "toml", "rejection", "status"),
    [
        ("work", CUSTOM, EXTRA_FORBIDDEN_422, 422),
        ("relay", "", UNKNOWN_PARAMETER_400, 400),
        ("custom", '[providers.custom]\nbase_url = "http://127.0.0.1:8080/v1"\n', EXTRA_FORBIDDEN_422, 422),
    ],
)
def test_a_server_rejecting_stream_options_is_asked_again_without_it_and_remembered(
    mode: str, provider: str, toml: str, rejection: dict[str, object], status: int
) -> None:
    server = Server(json_response(rejection, status), sse(OK_STREAM), sse(OK_STREAM))
    run = call(mode, server, STREAM, STREAM, provider=provider, cfg=config(toml), model="m")
    assert [c.text for c in run.completions] == ["hello", "hello"]
    sent = [json.loads(r.content) for r in server.requests]
    assert len(sent) == 3  # rejected, retried once, then the second stream goes out without it from the start
    assert sent[0]["stream_options"] == {"include_usage": True}
    assert "stream_options" not in sent[1] and "stream_options" not in sent[2]
    assert sent[1] == {k: v for k, v in sent[0].items() if k != "stream_options"}


@pytest.mark.parametrize("mode", MODES)
def test_the_retry_happens_once_only(mode: str) -> None:
    # a server that keeps complaining about stream_options even without it gets no third request
    server = Server(json_response(EXTRA_FORBIDDEN_422, 422), json_response(EXTRA_FORBIDDEN_422, 422))
    with pytest.raises(hamr.BadRequestError) as info:
        call(mode, server, STREAM, provider="work", cfg=config(CUSTOM), model="m")
    assert info.value.status == 422 and len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_400_about_something_else_is_not_retried(mode: str) -> None:
    other = {"error": {"message": "Invalid model identifier", "code": "model_not_found"}}
    server = Server(json_response(other, 400))
    with pytest.raises(hamr.BadRequestError, match="Invalid model identifier"):
        call(mode, server, STREAM, provider="work", cfg=config(CUSTOM), model="m")
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_hosted_preset_rejecting_stream_options_surfaces_the_error(mode: str) -> None:
    # for a built-in hosted provider the fix is the preset flag, not a silent retry
    server = Server(json_response(EXTRA_FORBIDDEN_422, 422))
    with pytest.raises(hamr.BadRequestError):
        call(mode, server, STREAM, provider="groq")
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_non_streamed_chat_never_sends_stream_options(mode: str) -> None:
    body = {
        "id": "x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    }
    server = Server(json_response(body))
    call(mode, server, {"messages": USER}, provider="work", cfg=config(CUSTOM), model="m")
    assert "stream_options" not in server.body()
