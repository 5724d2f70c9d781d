"""No credential goes over plain http:// to a host that is not loopback, unless the provider says
``allow_insecure_http = true``; the refusal happens before a byte is sent and says why and how to allow it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

import hamr
from hamr._config import parse_config

OK = {"choices": [{"index": 0, "message": {"content": "fine"}, "finish_reason": "stop"}]}
ANTHROPIC_OK = {"content": [{"type": "text", "text": "fine"}], "stop_reason": "end_turn"}
ENV = {"LAN_KEY": "lan-key-123456", "TOKEN": "tok-abcdef"}


def send(provider: dict[str, Any]) -> list[httpx2.Request]:
    """One chat request to ``provider``; returns the requests that reached the transport."""
    seen: list[httpx2.Request] = []
    anthropic = provider.get("compatibility") == "anthropic-compatible"

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=ANTHROPIC_OK if anthropic else OK)

    config = parse_config({"providers": {"lan": provider}})
    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    assert hamr.Client(config, provider="lan", model="m", http_client=http, env=ENV).chat("hi").text == "fine"
    return seen


CREDENTIALS = {
    "key from the environment": {"api_key_env": "LAN_KEY"},
    "key in the file": {"api_key": "file-key-123456"},
    "anthropic key": {"api_key_env": "LAN_KEY", "compatibility": "anthropic-compatible"},
    "interpolated header": {"headers": {"X-Token": "${TOKEN}"}},
    "literal Authorization header": {"headers": {"Authorization": "Basic dXNlcjpwYXNz"}},
    "literal api-key header": {"headers": {"api-key": "azure-style-key"}},
}


@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_a_credential_over_plain_http_to_a_remote_host_is_refused_before_sending(credential: dict[str, Any]) -> None:
    with pytest.raises(hamr.ConfigError) as info:
        send({"base_url": "http://10.1.2.3:8000/v1", **credential})
    message = str(info.value)
    assert "refusing to send credentials" in message and "https://" in message
    assert "allow_insecure_http = true" in message and "providers.lan.base_url" in message


@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_allow_insecure_http_lets_the_provider_opt_in(credential: dict[str, Any]) -> None:
    assert len(send({"base_url": "http://10.1.2.3:8000/v1", "allow_insecure_http": True, **credential})) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_loopback_hosts_may_use_plain_http(host: str) -> None:
    assert len(send({"base_url": f"http://{host}:1234/v1", "api_key": "local-key-123456"})) == 1


@pytest.mark.parametrize("compatibility", ["openai-compatible", "anthropic-compatible"])
def test_plain_http_without_any_credential_is_allowed(compatibility: str) -> None:
    sent = send({"base_url": "http://10.1.2.3:8000", "compatibility": compatibility})
    assert len(sent) == 1 and "authorization" not in sent[0].headers and "x-api-key" not in sent[0].headers


def test_an_unset_interpolated_header_is_no_credential() -> None:
    sent = send({"base_url": "http://10.1.2.3:8000/v1", "headers": {"X-Team": "${UNSET_TEAM}"}})
    assert "x-team" not in sent[0].headers


def test_a_missing_anthropic_key_is_reported_before_sending() -> None:
    config = parse_config({})
    client = hamr.Client(config, provider="anthropic", model="m", env={})
    with pytest.raises(hamr.ConfigError, match="needs an API key: set the environment variable ANTHROPIC_API_KEY"):
        client.chat("hi")
