"""LiteLLM's proxy as a gateway in front of llama-server's OpenAI endpoint, on loopback: one more independent
implementation for the kit to measure. Its venv, config, start (until GET /v1/models answers, noticing an early
death) and stop. Stdlib only: nox loads it before installing anything."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from tests.smoke import local_servers

PACKAGE = "litellm[proxy]==1.108.7"
GATEWAY = local_servers.Server("litellm-proxy", 4000)
#: the variable holding the proxy's master key (a fresh one per run: its 401 is real)
KEY_VAR = "LITELLM_MASTER_KEY"
#: the model name the proxy serves, mapped to llama-server's one model
MODEL = "gemma-3-270m"
UPSTREAM_MODEL = "gemma-3-270m-q4_k_m.gguf"
#: LiteLLM reads its model price map from the network unless told to use the copy it ships
OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "NO_DOCKER": "True"}


def config_text() -> str:
    """The proxy's config.yaml (JSON is YAML): one model, forwarded to llama-server's OpenAI endpoint with its key."""
    config = {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{UPSTREAM_MODEL}",
                    "api_base": f"{local_servers.LLAMA_SERVER.url}/v1",
                    "api_key": f"os.environ/{local_servers.KEY_VAR}",
                },
            }
        ],
        "general_settings": {"master_key": f"os.environ/{KEY_VAR}"},
    }
    return json.dumps(config, indent=2) + "\n"


def venv_python(directory: Path) -> Path:
    return directory / "bin" / "python"


def describe(python: Path) -> str:
    """How a recording names the gateway: its package version, where it listens, what it forwards to."""
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"LiteLLM proxy {version or '?'} (litellm --config, openai/{UPSTREAM_MODEL}) at {GATEWAY.url}, forwarding "
        f"to llama.cpp llama-server's OpenAI endpoint at {local_servers.LLAMA_SERVER.url}/v1"
    )


@contextlib.contextmanager
def running(
    python: Path, upstream_key: str, workdir: Path, progress: Callable[[str], None] = print
) -> Iterator[Mapping[str, str]]:
    """The proxy started for this run (stopped afterwards, on failure too); yields the environment the kit needs
    (the master key under ``KEY_VAR``)."""
    if local_servers.port_taken(GATEWAY):
        raise local_servers.ServerError(f"{GATEWAY.name}: something already listens on {GATEWAY.url}; stop it")
    master = "sk-" + secrets.token_urlsafe(24)
    config = workdir / "litellm-config.yaml"
    config.write_text(config_text(), encoding="utf-8")
    litellm = str(python.parent / "litellm")
    command = [litellm, "--config", str(config), "--host", local_servers.HOST, "--port", str(GATEWAY.port)]
    env = {**os.environ, **OFFLINE, KEY_VAR: master, local_servers.KEY_VAR: upstream_key}
    with local_servers.running(GATEWAY, command, workdir / "litellm.log", env=env, key=master, progress=progress):
        yield {KEY_VAR: master}
