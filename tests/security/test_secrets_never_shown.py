"""Planted secrets (a key from the environment, a key in the file, an interpolated header value) appear nowhere:
not in a repr or str, not in any error or its traceback (even when the provider echoes them back in every field it
has), not in a log record, not in anything the CLI prints. The planted key is deliberately not key-shaped, so only
value-based redaction can hide it; the file key is shaped like an OpenAI project key."""

from __future__ import annotations

import functools
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

import hamr
from hamr import _cli

KEY = "planted-key-0d9e8f7a6b5c4d3e"
FILE_KEY = "sk-proj-PLANTEDfilekey0123456789abcdef"
TENANT = "tenant-secret-5a4b3c2d1e"
SECRETS = (KEY, FILE_KEY, TENANT)

CONFIG = f"""\
[active]
provider = "work"
model = "m"

[providers.work]
base_url = "https://llm.test/v1"
api_key_env = "PLANTED_KEY"

[providers.work.headers]
X-Tenant = "${{TENANT_TOKEN}}"

[providers.filed]
base_url = "https://claude.test"
compatibility = "anthropic-compatible"
api_key = "{FILE_KEY}"
"""


def assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PLANTED_KEY", KEY)
    monkeypatch.setenv("TENANT_TOKEN", TENANT)
    return path


def client_for(config_file: Path, handler: Callable[[httpx2.Request], httpx2.Response], provider: str) -> hamr.Client:
    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = hamr.Client(hamr.load_config(config_file), provider=provider, model="m", http_client=http)
    client._sleep = lambda seconds: None
    return client


def everything_about(error: BaseException) -> str:
    fields = [str(error), repr(error), *map(str, error.args), "".join(traceback.format_exception(error))]
    fields += [str(getattr(error, name, "")) for name in ("message", "body", "code", "error_type", "request_id")]
    return "\n".join(fields)


def test_repr_and_str_of_config_settings_and_clients_show_no_secret(config_file: Path) -> None:
    config = hamr.load_config(config_file)
    views = [config, config.provider("work"), config.provider("filed"), config.providers]
    views += [hamr.Client(config), hamr.AsyncClient(config), hamr.Client(config).stream("hi")]
    views += [hamr.Client(config)._core.chat_request("hi", False)]  # the built request, headers and all
    assert_hidden("\n".join(repr(v) + str(v) for v in views))


def received(request: httpx2.Request) -> str:
    """Every credential the provider was sent: what a misbehaving provider can echo back."""
    return " ".join(request.headers.get(h, "") for h in ("authorization", "x-api-key", "x-tenant"))


def echoing_error_body(status: int) -> Callable[[httpx2.Request], httpx2.Response]:
    """A provider that repeats the credentials in every field of its error object, and in its request-id header."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        echo = received(request)
        error = {"message": f"bad credentials {echo}", "type": f"auth {echo}", "code": f"c {echo}"}
        body = {"error": error, "request_id": f"req {echo}"}
        return httpx2.Response(status, json=body, headers={"x-request-id": f"r {echo}"})

    return answer


def error_event(request: httpx2.Request) -> httpx2.Response:
    event = {"error": {"message": received(request), "type": received(request)}}
    return httpx2.Response(200, content=f"event: error\ndata: {json.dumps(event)}\n\n".encode())


def transport_failure(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError(f"proxy said {received(request)}", request=request)


ECHOES: dict[str, Callable[[httpx2.Request], httpx2.Response]] = {
    "401 JSON": echoing_error_body(401),
    "503 JSON (retried)": echoing_error_body(503),
    "error object in a 200": echoing_error_body(200),
    "HTML page": lambda r: httpx2.Response(502, text=f"<html><title>{received(r)}</title></html>"),
    "non-JSON 200": lambda r: httpx2.Response(200, text=f"data: your key {received(r)}\n\n"),
    "error event mid-stream": error_event,
    "transport failure": transport_failure,
}


@pytest.mark.parametrize("provider", ["work", "filed"])
@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_an_error_echoing_the_credentials_shows_none_of_them(
    config_file: Path, answer: Callable[[httpx2.Request], httpx2.Response], provider: str, mode: str
) -> None:
    client = client_for(config_file, answer, provider)
    with pytest.raises(hamr.ProviderError) as info:
        if mode == "chat":
            client.chat("hi")
        else:
            client.stream("hi").text()
    shown = everything_about(info.value)
    assert_hidden(shown)
    assert "[REDACTED]" in shown, "the echo must reach the error, or this test proves nothing"


def test_no_log_record_carries_a_secret(config_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(config_file, echoing_error_body(401), "work")
    with pytest.raises(hamr.AuthenticationError):
        client.chat("hi")
    assert caplog.records, "httpx2 logs every request: the capture must not be empty"
    assert_hidden("\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records))


def test_a_secret_typed_where_it_does_not_belong_is_not_echoed_by_the_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[providers.work]\nbase_url = 'https://llm.test/v1'\napi_key = 31415926535897932\n")
    with pytest.raises(hamr.ConfigError, match=r"must be a string.*api_key") as info:
        hamr.load_config(path)
    assert "31415926535897932" not in everything_about(info.value)
    path.write_text("[providers.work]\nbase_url = 'https://llm.test/v1'\n[providers.work.headers]\nX-K = 27182818284\n")
    with pytest.raises(hamr.ConfigError, match="header value must be a string") as info:
        hamr.load_config(path)
    assert "27182818284" not in everything_about(info.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["providers"],
        ["config", "check"],
        ["models"],
        ["chat", "hi"],
        ["chat", "--provider", "filed", "--model", "m", "hi"],
        ["models", "--provider", "filed"],
    ],
)
def test_the_cli_prints_no_secret_even_when_the_provider_echoes_them(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    http = httpx2.Client(transport=httpx2.MockTransport(echoing_error_body(401)))
    monkeypatch.setattr(_cli, "Client", functools.partial(hamr.Client, http_client=http))
    code = _cli.main(["--config", str(config_file), *argv])
    out, err = capsys.readouterr()
    assert_hidden(out + err)
    if argv[0] in ("models", "chat"):
        assert code == 2 and err.startswith("hamr: error:") and "HTTP 401" in err
