"""The local-server tooling of the smoke and record sessions (tests/smoke/local_servers.py), offline: prerequisites
fail with one line naming what is missing, the llama-server cache is reused only when built with today's options,
and a started server is waited for and always stopped (a stand-in server on 127.0.0.1 plays the real one)."""

from __future__ import annotations

import io
import json
import socket
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "smoke"))  # stdlib-only helpers, not a package

import local_servers as ls

pytestmark = pytest.mark.block_network(allowed_hosts=[r"127\.0\.0\.1$"])


def _tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding executables of these names (that do nothing)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize(
    ("tools", "missing"),
    [((), "a C compiler"), (("cc",), "a C++ compiler"), (("gcc", "clang++"), None), (("clang", "c++"), None)],
)
def test_a_missing_compiler_is_named_in_one_line(tmp_path: Path, tools: tuple[str, ...], missing: str | None) -> None:
    problem = ls.compiler_problem({"PATH": _tools(tmp_path, *tools)}, "llama-server")
    if missing is None:
        assert problem is None
    else:
        assert problem is not None and "\n" not in problem
        assert problem.startswith(f"building llama-server needs {missing}: none found")


def test_a_compiler_named_by_cxx_must_exist(tmp_path: Path) -> None:
    path = _tools(tmp_path, "cc", "c++")
    assert ls.compiler_problem({"PATH": path}, "x") is None
    problem = ls.compiler_problem({"PATH": path, "CXX": "g++-99"}, "llama-cpp-python")
    assert problem is not None and "C++ compiler: none found (looked for g++-99)" in problem


def test_missing_build_tools_are_the_pypi_requirements_to_install(tmp_path: Path) -> None:
    assert ls.missing_build_tools(_tools(tmp_path)) == ["cmake>=3.21", "ninja"]
    assert ls.missing_build_tools(_tools(tmp_path, "cmake")) == ["ninja"]
    assert ls.missing_build_tools(_tools(tmp_path, "cmake", "ninja")) == []


def test_the_build_stops_at_a_missing_compiler_before_fetching_anything(tmp_path: Path) -> None:
    env = {"PATH": _tools(tmp_path, "cmake", "ninja"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with pytest.raises(ls.ServerError, match=r"^building llama-server needs a C compiler"):
        ls.build_llama_server(sys.executable, env, progress=lambda line: None)
    assert not (tmp_path / "cache").exists()


def test_the_build_names_missing_build_tools(tmp_path: Path) -> None:
    env = {"PATH": _tools(tmp_path, "cc", "c++"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with pytest.raises(ls.ServerError, match=r"needs cmake>=3.21 and ninja on PATH \(pip install"):
        ls.build_llama_server(sys.executable, env, progress=lambda line: None)


def _cache(tmp_path: Path, stamp: dict[str, object], executable: bool = True) -> dict[str, str]:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    cache = ls.cache_dir(env)
    (cache / "bin").mkdir(parents=True)
    (cache / "bin" / "llama-server").write_text("#!/bin/sh\n")
    (cache / "bin" / "llama-server").chmod(0o755 if executable else 0o644)
    (cache / "build.json").write_text(json.dumps(stamp))
    return env


def test_the_cache_sits_under_xdg_cache_home_by_version(tmp_path: Path) -> None:
    path = ls.cache_dir({"XDG_CACHE_HOME": str(tmp_path)})
    assert path == tmp_path / "hamr" / f"llama-server-{ls.LLAMA_CPP_PYTHON}"


def test_a_cached_build_is_reused_only_when_built_with_todays_options(tmp_path: Path) -> None:
    assert ls.cached_build({"XDG_CACHE_HOME": str(tmp_path)}) is None
    stamp = {"llama-cpp-python": ls.LLAMA_CPP_PYTHON, "cmake": list(ls.CMAKE_OPTIONS), "platform": sys.platform}
    env = _cache(tmp_path / "same", {**stamp, "seconds": 500})
    assert ls.cached_build(env) == ls.cache_dir(env) / "bin" / "llama-server"
    assert ls.cached_build(_cache(tmp_path / "flags", {**stamp, "cmake": ["-DGGML_CUDA=ON"]})) is None
    assert ls.cached_build(_cache(tmp_path / "mode", stamp, executable=False)) is None


def test_only_the_vendored_llama_cpp_is_extracted(tmp_path: Path) -> None:
    sdist = tmp_path / "llama_cpp_python-0.3.36.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name in ("pkg/llama_cpp/__init__.py", "pkg/vendor/llama.cpp/CMakeLists.txt", "pkg/vendor/other/x"):
            data = name.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    source = ls._extract_llama_cpp(sdist, tmp_path / "src")
    assert source == tmp_path / "src" / "pkg" / "vendor" / "llama.cpp"
    assert [p.name for p in (tmp_path / "src").rglob("*") if p.is_file()] == ["CMakeLists.txt"]


def test_a_failed_build_step_raises_with_the_tail_of_its_output(tmp_path: Path) -> None:
    lines: list[str] = []
    log = io.StringIO()
    script = "import sys; print('[1/2] a'); print('[2/2] b'); print('error: boom'); sys.exit(3)"
    with pytest.raises(ls.ServerError) as info:
        ls._run_logged([sys.executable, "-c", script], {}, log, lines.append, 0.0)
    assert str(info.value).splitlines()[0].startswith("llama-server build step failed (exit 3)")
    assert str(info.value).endswith("[1/2] a\n[2/2] b\nerror: boom")
    assert "error: boom" in log.getvalue()


# --------------------------------------------------------------------------------------------------------------
# start, wait, stop: a stand-in for the real server on a free loopback port
# --------------------------------------------------------------------------------------------------------------

STAND_IN = textwrap.dedent(
    """
    import json, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, key, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    print("loading the model", flush=True)
    time.sleep(delay)
    class Models(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/v1/models" and (not key or self.headers.get("Authorization") == "Bearer " + key)
            body = json.dumps({"data": [{"id": "m"}]} if ok else {"error": "no"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    HTTPServer(("127.0.0.1", port), Models).serve_forever()
    """
)


@pytest.fixture
def stand_in(tmp_path: Path) -> tuple[ls.Server, Path]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return ls.Server("stand-in", port), script


def test_a_started_server_is_waited_for_then_stopped(stand_in: tuple[ls.Server, Path], tmp_path: Path) -> None:
    server, script = stand_in
    lines: list[str] = []
    command = [sys.executable, str(script), str(server.port), "k-1", "0.5"]
    with ls.running(server, command, tmp_path / "server.log", key="k-1", progress=lines.append) as process:
        assert ls.answering(server, "k-1")
        assert not ls.answering(server)  # the key is needed, as with llama-server --api-key
        assert ls.port_taken(server)
    assert process.poll() is not None
    assert not ls.port_taken(server)
    assert lines[0].startswith("stand-in: starting ") and "answers on" in lines[-2]
    assert lines[-1] == f"stand-in: stopped the server this run started (pid {process.pid})"


def test_a_server_is_stopped_when_the_tests_fail(stand_in: tuple[ls.Server, Path], tmp_path: Path) -> None:
    server, script = stand_in
    command = [sys.executable, str(script), str(server.port), "", "0"]
    with pytest.raises(AssertionError), ls.running(server, command, tmp_path / "s.log", progress=print) as process:
        raise AssertionError("a smoke test failed")
    assert process.poll() is not None and not ls.port_taken(server)


def test_a_server_that_exits_early_raises_with_its_log(stand_in: tuple[ls.Server, Path], tmp_path: Path) -> None:
    server, _ = stand_in
    command = [sys.executable, "-c", "print('error: unknown argument --jinja'); raise SystemExit(1)"]
    with pytest.raises(ls.ServerError) as info, ls.running(server, command, tmp_path / "s.log", progress=print):
        pass
    assert str(info.value).startswith("stand-in exited with code 1 before answering")
    assert str(info.value).endswith("error: unknown argument --jinja")


def test_a_server_that_never_answers_is_stopped_at_the_timeout(
    stand_in: tuple[ls.Server, Path], tmp_path: Path
) -> None:
    server, script = stand_in
    command = [sys.executable, str(script), str(server.port), "", "30"]
    with (
        pytest.raises(ls.ServerError, match=r"did not answer GET .*/v1/models within 1s"),
        ls.running(server, command, tmp_path / "s.log", progress=print, timeout=1.0),
    ):
        pass
    assert "loading the model" in (tmp_path / "s.log").read_text()


def test_each_target_names_its_server() -> None:
    assert ls.server_for("relay") is ls.RELAY
    assert ls.server_for("local-anthropic") is ls.server_for("local-openai") is ls.LLAMA_SERVER
    assert ls.server_for("deepseek") is None and ls.server_for("custom") is None
    assert ls.TARGETS["local-anthropic"].base_url == "http://127.0.0.1:8081"
    assert ls.TARGETS["local-openai"].base_url == "http://127.0.0.1:8081/v1"


def test_the_local_targets_need_nothing_and_are_offered_by_name() -> None:
    import live_env

    assert live_env.problem("local-anthropic", {}) is None
    assert live_env.problem("local-openai", {}) is None
    unknown = live_env.problem("local-antropic", {})
    assert unknown is not None and "did you mean 'local-anthropic'?" in unknown and "local-openai" in unknown


def test_llama_server_runs_with_the_cached_template_a_key_free_command_and_the_default_grammar(tmp_path: Path) -> None:
    binary = tmp_path / "llama-server-0.3.36" / "bin" / "llama-server"
    command = ls.llama_server_command(binary, "/m.gguf")
    template = command[command.index("--chat-template-file") + 1]
    assert template == str(tmp_path / "llama-server-0.3.36" / "templates" / ls.CHAT_TEMPLATE)
    assert command[command.index("--port") + 1] == "8081" and "--jinja" in command
    assert command[command.index("--grammar") + 1] == ls.DEFAULT_GRAMMAR
    assert not any("key" in part.lower() for part in command)  # the key goes in the environment, never argv
