"""Issue 8.8: a user's [providers.<preset>] may override any preset field (base_url, headers, prices, flags, models);
the override wins, requests use it, and `hamr config check` shows each effective value and where it came from."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from hamr import PRESETS, _cli
from hamr._pricing import price_for
from tests.unit.peer_support import MODES, Server, call, config, json_response, sse

OK = {"id": "x", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}

OVERRIDES = """
[providers.openrouter]
base_url = "https://gateway.example.com/openrouter/v1"
api_key_env = "GATEWAY_KEY"
default_model = "anthropic/claude-sonnet-4.5"
input_price_per_1m_tokens = 3.0
output_price_per_1m_tokens = 15.0
cache_read_price_per_1m_tokens = 0.3
stream_usage = false
[providers.openrouter.headers]
X-Title = "my-app"
X-Team = "$TEAM"

[providers.deepseek]
base_url = "http://127.0.0.1:9000"
compatibility = "anthropic-compatible"
requires_key = false
local = true
[[providers.deepseek.models]]
id = "deepseek-flash"
display_name = "Local DeepSeek"
"""


def test_every_kind_of_preset_field_can_be_overridden() -> None:
    cfg = config(OVERRIDES)
    openrouter, deepseek = cfg.provider("openrouter"), cfg.provider("deepseek")
    assert openrouter.base_url == "https://gateway.example.com/openrouter/v1"
    assert openrouter.api_key_env == "GATEWAY_KEY"
    assert openrouter.default_model == "anthropic/claude-sonnet-4.5"
    assert openrouter.headers == {
        "HTTP-Referer": "https://pypi.org/project/hamr/",
        "X-Title": "my-app",
        "X-Team": "$TEAM",
    }
    assert price_for(openrouter, "anything") is not None
    assert openrouter.cache_read_price_per_1m_tokens == 0.3 and openrouter.stream_usage is False
    assert deepseek.compatibility == "anthropic-compatible" and deepseek.requires_key is False and deepseek.local
    # a preset model named in the file keeps the preset fields the file does not mention
    (chat,) = [m for m in deepseek.models if m.id == "deepseek-flash"]
    assert (chat.display_name, chat.context_window, chat.supports_thinking) == ("Local DeepSeek", 1_000_000, True)


def test_origins_say_where_each_value_came_from() -> None:
    openrouter = config(OVERRIDES).provider("openrouter")
    origins = openrouter.origins
    assert origins["base_url"] == origins["stream_usage"] == origins["input_price_per_1m_tokens"] == "file"
    assert origins["compatibility"] == "preset" and origins["read_timeout"] == "default"
    assert origins["headers.HTTP-Referer"] == "preset" and origins["headers.X-Title"] == "file"
    assert origins["requires_key"] == "file"  # naming api_key_env in the file makes the key required


def test_untouched_presets_keep_their_values() -> None:
    groq = config(OVERRIDES).provider("groq")
    preset = PRESETS["groq"]
    assert (groq.base_url, groq.input_price_per_1m_tokens, groq.stream_usage) == (
        preset.base_url,
        preset.input_price_per_1m_tokens,
        preset.stream_usage,
    )
    assert "file" not in groq.origins.values()


def openrouter_chat(mode: str, toml: str, env: dict[str, str]) -> tuple[httpx2.Request, Server]:
    """The request one chat through the openrouter provider sends, configured by ``toml``."""
    server = Server(json_response(OK))
    call(mode, server, {"messages": "hi", "stream": False}, provider="openrouter", cfg=config(toml), env=env)
    return server.requests[0], server


@pytest.mark.parametrize("mode", MODES)
def test_requests_go_where_the_override_says_with_its_headers(mode: str) -> None:
    request, server = openrouter_chat(mode, OVERRIDES, {"GATEWAY_KEY": "test-gateway-key", "TEAM": "blue"})
    assert str(request.url) == "https://gateway.example.com/openrouter/v1/chat/completions"
    assert request.headers["x-title"] == "my-app" and request.headers["x-team"] == "blue"
    assert request.headers["authorization"] == "Bearer test-gateway-key"
    assert server.body()["model"] == "anthropic/claude-sonnet-4.5"


# Issue 34: OpenRouter's app attribution page (openrouter.ai/docs/app-attribution) names X-OpenRouter-Title the title
# header; "X-Title is still supported for backwards compatibility". hamr sends the current name, and a file header of
# either name replaces the preset's, so two titles never go out.
@pytest.mark.parametrize(
    ("table", "title"),
    [
        ("", {"x-openrouter-title": "hamr"}),
        ('[providers.openrouter.headers]\nX-Title = "my-app"\n', {"x-title": "my-app"}),
        ('[providers.openrouter.headers]\nX-OpenRouter-Title = "my-app"\n', {"x-openrouter-title": "my-app"}),
    ],
    ids=["preset", "old-name-in-file", "new-name-in-file"],
)
@pytest.mark.parametrize("mode", MODES)
def test_openrouter_gets_one_title_header_under_its_current_name_unless_the_file_says(
    mode: str, table: str, title: dict[str, str]
) -> None:
    headers = openrouter_chat(mode, table, {"OPENROUTER_API_KEY": "k"})[0].headers
    assert {k: v for k, v in headers.items() if k in ("x-title", "x-openrouter-title")} == title
    assert headers["http-referer"] == "https://pypi.org/project/hamr/"


@pytest.mark.parametrize("mode", MODES)
def test_an_overridden_flag_changes_the_request(mode: str) -> None:
    server = Server(sse(b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'))
    call(
        mode,
        server,
        {"messages": "hi", "stream": True},
        provider="openrouter",
        cfg=config(OVERRIDES),
        env={"GATEWAY_KEY": "k"},
    )
    assert "stream_options" not in server.body()


@pytest.mark.parametrize("mode", MODES)
def test_a_preset_switched_to_a_local_keyless_server_needs_no_key(mode: str) -> None:
    anthropic_ok = {
        "id": "m",
        "type": "message",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    server = Server(json_response(anthropic_ok))
    run = call(mode, server, {"messages": "hi"}, provider="deepseek", cfg=config(OVERRIDES), env={})
    assert str(server.requests[0].url) == "http://127.0.0.1:9000/v1/messages"
    assert run.spend is not None and str(run.spend) == "Spend: local"


def test_config_check_shows_effective_values_and_their_origins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[active]\nprovider = "openrouter"\n'
        + OVERRIDES
        + '[providers.groq.headers]\nAuthorization = "Bearer sk-proj-'
        + "a" * 24
        + '"\n'
    )
    monkeypatch.setenv("GATEWAY_KEY", "test-gateway-key")
    assert _cli.main(["--config", str(path), "config", "check"]) == 1  # $TEAM is unset for the active provider
    out = capsys.readouterr().out
    sections = _check_sections(out)
    openrouter = sections["openrouter"]
    assert openrouter["base_url"] == ('"https://gateway.example.com/openrouter/v1"', "file")
    assert openrouter["compatibility"] == ('"openai-compatible"', "preset")
    assert openrouter["headers.HTTP-Referer"] == ('"https://pypi.org/project/hamr/"', "preset")
    assert openrouter["headers.X-Title"] == ('"my-app"', "file")
    assert openrouter["stream_usage"] == ("false", "file")
    assert openrouter["cache_read_price_per_1m_tokens"] == ("0.3", "file")
    assert openrouter["cache_write_price_per_1m_tokens"] == ("(not set)", "default")
    assert openrouter["read_timeout"] == ("600.0", "default")
    assert openrouter["api_key"] == ("(not set)", "default")
    assert sections["deepseek"]["models.deepseek-flash"] == ('"Local DeepSeek", 1000000 tokens', "file")
    assert sections["deepseek"]["models.deepseek-v4-pro"][1] == "preset"
    # secrets never show: the groq section is listed (the file touches it) with the credential header hidden
    assert sections["groq"]["headers.Authorization"] == ("(hidden)", "file")
    assert "sk-proj" not in out and "test-gateway-key" not in out
    # a preset the file does not touch gets only its summary line
    assert "  mistral: https://api.mistral.ai/v1 [openai-compatible] base_url from preset" in out
    assert sections["mistral"] == {}


def _check_sections(out: str) -> dict[str, dict[str, tuple[str, str]]]:
    """`hamr config check` output as {provider: {field: (value, origin)}}."""
    sections: dict[str, dict[str, tuple[str, str]]] = {}
    current: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        if line.startswith("      "):
            name, _, rest = line.strip().partition(" = ")
            value, _, origin = rest.rpartition("  (")
            current[name.strip()] = (value, origin.rstrip(")"))
        elif line.startswith("  "):
            current = sections.setdefault(line.strip().split(":")[0], {})
    return sections
