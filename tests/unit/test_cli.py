"""The `hamr` command: output a person reads, one-line errors, non-zero exit codes."""

from __future__ import annotations

import functools
from pathlib import Path

import httpx
import pytest

import hamr
from hamr import _cli

STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)


@pytest.fixture
def mock_server(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Route the CLI's client through a mock transport that plays a relay server."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "gemma-3-270m-it"}, {"id": "other"}]})
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})

    client = functools.partial(hamr.Client, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    monkeypatch.setattr(_cli, "Client", client)
    return seen


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _cli.main(["--help"])
    assert info.value.code == 0
    assert "hamr chat" in capsys.readouterr().out


def test_providers_lists_every_preset_and_marks_the_active_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    for pid in ("relay", "deepseek", "openrouter", "groq", "anthropic", "mistral", "together"):
        assert pid in out
    assert "* relay" in out and "MISSING DEEPSEEK_API_KEY" in out


def test_chat_streams_text_to_stdout_and_spend_to_stderr(
    mock_server: list[httpx.Request], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli.main(["chat", "--provider", "relay", "Say hello"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Hello there\n"
    assert captured.err.strip() == "Spend: local"


def test_models_lists_the_server_models(mock_server: list[httpx.Request], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["models", "--provider", "relay"]) == 0
    assert capsys.readouterr().out.split() == ["gemma-3-270m-it", "other"]


def test_use_writes_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    assert _cli.main(["--config", str(path), "use", "groq", "llama-3.3-70b-versatile"]) == 0
    assert "active: groq / llama-3.3-70b-versatile" in capsys.readouterr().out
    assert hamr.load_config(path).active.provider == "groq"


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[active]\nprovider = "deepsek"\n')
    assert _cli.main(["--config", str(path), "providers"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hamr: error: ") and "did you mean 'deepseek'" in err


def test_chat_without_a_key_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["chat", "--provider", "deepseek", "hi"]) == 2
    assert "DEEPSEEK_API_KEY" in capsys.readouterr().err


def test_config_check_reports_missing_variables_for_the_active_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[active]\nprovider = "groq"\n[providers.groq.headers]\nX-Team = "$TEAM"\n')
    assert _cli.main(["--config", str(path), "config", "check"]) == 1
    out = capsys.readouterr().out
    assert "GROQ_API_KEY" in out and "$TEAM" in out
