"""Issue 8.6: a header written ${VAR:?message} fails the request with that message (ConfigError) when VAR is unset,
before anything is sent; a plain $VAR/${VAR} that is unset leaves its header out."""

from __future__ import annotations

import pytest

import hamr
from tests.unit.peer_support import MODES, Server, call, config, json_response

TOML = """
[providers.work]
base_url = "https://llm.example.com/v1"
[providers.work.headers]
X-Tenant = "${TENANT:?set TENANT to your tenant id}"
X-Team = "${TEAM}"
"""
OK = {"id": "x", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}
CHAT = {"messages": "hi"}
STREAM = {"messages": "hi", "stream": True}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("request_kind", [CHAT, STREAM], ids=["chat", "stream"])
def test_a_missing_required_header_variable_fails_the_request_with_its_message(
    mode: str, request_kind: dict[str, object]
) -> None:
    server = Server()
    with pytest.raises(hamr.ConfigError) as info:
        call(mode, server, request_kind, provider="work", cfg=config(TOML), env={}, model="m")
    assert "TENANT" in str(info.value) and "set TENANT to your tenant id" in str(info.value)
    assert info.value.key == "providers.work.headers.X-Tenant"
    assert server.requests == []  # nothing went out without the header


@pytest.mark.parametrize("mode", MODES)
def test_with_the_variable_set_the_header_is_sent_and_an_unset_plain_one_is_left_out(mode: str) -> None:
    server = Server(json_response(OK))
    call(mode, server, CHAT, provider="work", cfg=config(TOML), env={"TENANT": "acme"}, model="m")
    headers = server.requests[0].headers
    assert headers["x-tenant"] == "acme" and "x-team" not in headers


def test_an_empty_message_still_names_the_variable() -> None:
    cfg = config('[providers.work]\nbase_url = "https://llm.example.com/v1"\nheaders = { X-Tenant = "${TENANT:?}" }\n')
    with pytest.raises(hamr.ConfigError, match="TENANT"):
        call("sync", Server(), CHAT, provider="work", cfg=cfg, env={}, model="m")
