"""Issue 16 item 6: ``max_tokens`` goes out as ``max_completion_tokens`` where the API wants it (OpenAI's own host,
or any provider configured with ``max_tokens_field``), as ``max_tokens`` everywhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

import hamr
from hamr import _anthropic, _openai
from hamr._config import parse_config

ENV = {"DEEPSEEK_API_KEY": "k", "GROQ_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}


def body(table: dict[str, Any], pid: str = "p", **options: Any) -> dict[str, Any]:
    settings = parse_config({"providers": {pid: table}} if table else {}).providers[pid]
    req = _openai.build_chat(settings, "m", "hi", env=ENV, **options)
    assert req.json is not None
    return req.json


@pytest.mark.parametrize("base_url", ["https://api.openai.com/v1", "https://API.OpenAI.com/v1/"])
def test_a_custom_provider_on_openais_host_sends_max_completion_tokens(base_url: str) -> None:
    sent = body({"base_url": base_url, "api_key_env": "OPENAI_API_KEY"}, max_tokens=64)
    assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent


@pytest.mark.parametrize(
    ("pid", "table"),
    [
        ("deepseek", {}),
        ("groq", {}),
        ("relay", {}),
        ("p", {"base_url": "https://gw.example.com/v1"}),
        ("p", {"base_url": "https://api.openai.com.evil.example/v1"}),  # a host that only starts like OpenAI's
    ],
)
def test_every_other_openai_compatible_server_gets_max_tokens(pid: str, table: dict[str, Any]) -> None:
    sent = body(table, pid, max_tokens=64)
    assert sent["max_tokens"] == 64 and "max_completion_tokens" not in sent


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"base_url": "https://gw.test/v1", "max_tokens_field": "max_completion_tokens"}, "max_completion_tokens"),
        ({"base_url": "https://api.openai.com/v1", "max_tokens_field": "max_tokens"}, "max_tokens"),
    ],
)
def test_max_tokens_field_in_the_config_decides(table: dict[str, Any], field: str) -> None:
    sent = body(table, max_tokens=9)
    assert sent[field] == 9 and len({"max_tokens", "max_completion_tokens"} & set(sent)) == 1


def test_no_limit_sends_neither_field() -> None:
    sent = body({"base_url": "https://api.openai.com/v1"})
    assert "max_tokens" not in sent and "max_completion_tokens" not in sent


def test_a_preset_can_be_given_max_tokens_field() -> None:
    sent = body({"max_tokens_field": "max_completion_tokens"}, "deepseek", max_tokens=5)
    assert sent["max_completion_tokens"] == 5


def test_anthropic_always_sends_max_tokens() -> None:
    settings = parse_config({"providers": {"anthropic": {"max_tokens_field": "max_completion_tokens"}}}).providers[
        "anthropic"
    ]
    req = _anthropic.build_chat(settings, "m", "hi", env=ENV, max_tokens=7)
    assert req.json is not None and req.json["max_tokens"] == 7 and "max_completion_tokens" not in req.json


@pytest.mark.parametrize("value", ["max_output_tokens", "", "MAX_TOKENS", 1, True])
def test_a_wrong_max_tokens_field_is_a_config_error_naming_file_and_key(tmp_path: Path, value: Any) -> None:
    import tomlkit

    path = tmp_path / "config.toml"
    doc = {"providers": {"gw": {"base_url": "https://gw.example.com/v1", "max_tokens_field": value}}}
    path.write_text(tomlkit.dumps(doc))
    with pytest.raises(hamr.ConfigError, match=r"max_tokens_field") as caught:
        hamr.load_config(path)
    assert caught.value.path == str(path) and caught.value.key == "providers.gw.max_tokens_field"


def test_the_field_reaches_the_wire_through_the_client() -> None:
    seen: list[bytes] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.content)
        choice = {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        return httpx2.Response(200, json={"id": "x", "model": "m", "choices": [choice]})

    config = parse_config(
        {"providers": {"oa": {"base_url": "https://api.openai.com/v1"}}, "active": {"provider": "oa", "model": "gpt-5"}}
    )
    with hamr.Client(config, http_client=httpx2.Client(transport=httpx2.MockTransport(answer)), env={}) as client:
        assert client.chat("hi", max_tokens=32).text == "ok"
    assert b'"max_completion_tokens":32' in seen[0].replace(b" ", b"") and b'"max_tokens"' not in seen[0]
