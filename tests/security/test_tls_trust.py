"""Whom hamr's own client trusts over TLS, and what it shows of itself (issue 24): httpx2 verifies against the CA
bundle named by SSL_CERT_FILE (or the directory SSL_CERT_DIR) when set, else the operating system's trust store;
never certifi's bundle. A caller's own trust goes in as an SSL context: ``http_client=httpx2.Client(verify=ctx)``.
The server here is an HTTPS server on 127.0.0.1 with a certificate from a throwaway CA (trustme) that no trust store
holds. The User-Agent and the logger names are what users filter on (README, "HTTP client, TLS and logs")."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
import trustme

import hamr
from hamr._config import parse_config

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])

ENV = {"TLS_KEY": "tls-test-key-5d1e"}
ANSWER = {
    "id": "c1",
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "over TLS"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
}


class _Server(ThreadingHTTPServer):
    agents: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.agents.append(self.headers.get("user-agent", ""))
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.dumps(ANSWER).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[_Server]:
    """An HTTPS server on 127.0.0.1 whose certificate only ``ca`` vouches for; ``agents``: the User-Agents it saw."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.agents = []
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)  # a failed handshake fails accept() only
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def https_url(https_server: _Server) -> str:
    return f"https://127.0.0.1:{https_server.server_address[1]}/v1"


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The throwaway CA's certificate as a PEM file; no SSL_CERT_* of the developer's leaks in."""
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _config(url: str) -> hamr.Config:
    provider = {"base_url": url, "api_key_env": "TLS_KEY", "max_retries": 0, "connect_timeout": 5}
    return parse_config({"providers": {"p": provider}, "active": {"provider": "p", "model": "m"}})


def _chat(url: str, kind: str, http_client: object = None) -> str:
    if kind == "sync":
        with hamr.Client(_config(url), env=ENV, http_client=http_client) as client:  # type: ignore[arg-type]
            return client.chat("hi").text

    async def chat() -> str:
        async with hamr.AsyncClient(_config(url), env=ENV, http_client=http_client) as client:  # type: ignore[arg-type]
            return (await client.chat("hi")).text

    return asyncio.run(chat())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_hamrs_own_client_trusts_the_bundle_in_ssl_cert_file(
    https_url: str, ca_file: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    assert _chat(https_url, kind) == "over TLS"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_without_it_the_unknown_ca_is_refused_as_a_connection_error(https_url: str, ca_file: str, kind: str) -> None:
    """The check above can fail: the system trust store does not hold the throwaway CA."""
    with pytest.raises(hamr.ConnectionError, match=r"CERTIFICATE_VERIFY_FAILED"):
        _chat(https_url, kind)


def test_a_callers_own_ssl_context_goes_in_through_http_client(https_url: str, ca_file: str) -> None:
    context = ssl.create_default_context(cafile=ca_file)
    assert _chat(https_url, "sync", httpx2.Client(verify=context)) == "over TLS"
    assert _chat(https_url, "async", httpx2.AsyncClient(verify=context)) == "over TLS"


def test_hamrs_own_client_says_httpx2_in_its_user_agent_and_logs_on_httpx2(
    https_server: _Server,
    https_url: str,
    ca_file: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    caplog.set_level(logging.DEBUG)
    assert _chat(https_url, "sync") == "over TLS"
    assert https_server.agents == [f"python-httpx2/{httpx2.__version__}"]
    requests = [r for r in caplog.records if r.name == "httpx2" and r.getMessage().startswith("HTTP Request: POST")]
    assert len(requests) == 1 and requests[0].levelno == logging.INFO
    assert {r.name for r in caplog.records if r.name.startswith("httpcore2.")} >= {"httpcore2.connection"}
    assert not [r.name for r in caplog.records if r.name.split(".")[0] in ("httpx", "httpcore")]
