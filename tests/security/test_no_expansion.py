"""Config loading expands nothing beyond the documented header interpolation ($VAR, ${VAR}, ${VAR:?msg}, $$): every
other value goes out exactly as written, shell syntax is never run, and an interpolated value is never expanded
again."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

import hamr

ENV = {"HOME": "/home/someone", "HOST": "evil.test", "MODEL": "expanded-model", "INNER": "$HOME", "TOKEN": "t0k"}


def sent(tmp_path: Path, provider_toml: str, model: str | None = None) -> httpx2.Request:
    """Load a config with one provider ``p`` from TOML text and return the request hamr sends."""
    path = tmp_path / "config.toml"
    path.write_text(f'[active]\nprovider = "p"\n\n[providers.p]\n{provider_toml}\n')
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"choices": [{"index": 0, "message": {"content": "ok"}}]})

    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    hamr.Client(hamr.load_config(path, env=ENV), model=model, http_client=http, env=ENV).chat("hi")
    return seen[0]


def test_a_key_in_the_file_is_sent_as_written(tmp_path: Path) -> None:
    request = sent(tmp_path, 'base_url = "https://llm.test/v1"\napi_key = "$HOME/${TOKEN}"', model="m")
    assert request.headers["authorization"] == "Bearer $HOME/${TOKEN}"


def test_base_url_and_model_ids_are_not_expanded(tmp_path: Path) -> None:
    request = sent(tmp_path, 'base_url = "https://llm.test/${HOST}/v1"\ndefault_model = "${MODEL}"')
    assert request.url.host == "llm.test" and "evil.test" not in str(request.url)
    assert json.loads(request.content)["model"] == "${MODEL}"


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("$(touch /tmp/hamr-pwned)", "$(touch /tmp/hamr-pwned)"),
        ("`id`", "`id`"),
        ("~/.secret", "~/.secret"),
        ("${INNER}", "$HOME"),  # the value of INNER is inserted literally, never expanded again
        ("$$HOME", "$HOME"),
        ("pre-${TOKEN}", "pre-t0k"),
    ],
)
def test_headers_expand_only_documented_variables(tmp_path: Path, template: str, value: str) -> None:
    toml = f'base_url = "https://llm.test/v1"\n[providers.p.headers]\nX-Probe = {json.dumps(template)}'
    request = sent(tmp_path, toml, model="m")
    assert request.headers["x-probe"] == value
    assert not Path("/tmp/hamr-pwned").exists()


def test_api_key_env_must_be_a_variable_name_not_an_expression(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[providers.p]\nbase_url = "https://llm.test/v1"\napi_key_env = "$HOME"\n')
    with pytest.raises(hamr.ConfigError, match="NAME of an environment variable"):
        hamr.load_config(path)
