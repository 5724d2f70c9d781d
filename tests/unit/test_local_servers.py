"""The local-server tooling of the smoke and record sessions (tests/smoke/local_servers.py), offline: prerequisites
fail with one line naming what is missing, both builds are portable and cached by version and flags, a build that
holds AMX instructions fails, a started server is waited for and always stopped, and one that dies mid-session is
reported as dead at once (a stand-in server on 127.0.0.1 plays the real one)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests.smoke import local_servers as ls

REPO = Path(__file__).resolve().parents[2]
#: the harness's pytest plugin, as `nox -s smoke` loads it
PLUGIN = "tests.smoke.server_watch"

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


def test_a_build_is_portable_unless_asked_otherwise() -> None:
    x86 = ls.cpu_options({}, "x86_64")
    assert x86[0] == "-DGGML_NATIVE=OFF"  # never -march=native by default
    assert {"-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"} <= set(x86)
    assert {"-DGGML_AVX512=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(x86)
    assert not any(flag.endswith("=ON") and ("AVX512" in flag or "AMX" in flag) for flag in x86)
    assert ls.cpu_options({}, "AMD64") == x86
    assert ls.cpu_options({}, "arm64") == ls.cpu_options({}, "aarch64") == ("-DGGML_NATIVE=OFF",)
    native = ls.cpu_options({ls.CMAKE_ARGS_VAR: "-DGGML_NATIVE=ON  -DGGML_CUDA=ON"}, "x86_64")
    assert native == (*x86, "-DGGML_NATIVE=ON", "-DGGML_CUDA=ON")  # after the portable ones: the last -D wins


def test_each_build_is_cached_by_version_and_flags(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    native = {**env, ls.CMAKE_ARGS_VAR: "-DGGML_NATIVE=ON"}
    server, wheel = ls.cache_dir(env), ls.cache_dir(env, "llama-cpp-python")
    assert server.parent == wheel.parent == tmp_path / "hamr"
    assert server.name.startswith(f"llama-server-{ls.LLAMA_CPP_PYTHON}-")
    assert wheel.name.startswith(f"llama-cpp-python-{ls.LLAMA_CPP_PYTHON}-")
    assert ls.cache_dir(dict(env)) == server  # the same flags, the same place
    assert ls.cache_dir(native) != server and ls.cache_dir(native, "llama-cpp-python") != wheel
    # the cache from before builds were keyed (a native build) is never looked at
    assert server != tmp_path / "hamr" / f"llama-server-{ls.LLAMA_CPP_PYTHON}"


def _cache(
    tmp_path: Path, stamp: dict[str, object], executable: bool = True, env: dict[str, str] | None = None
) -> dict[str, str]:
    env = {"XDG_CACHE_HOME": str(tmp_path), **(env or {})}
    cache = ls.cache_dir(env)
    (cache / "bin").mkdir(parents=True)
    (cache / "bin" / "llama-server").write_text("#!/bin/sh\n")
    (cache / "bin" / "llama-server").chmod(0o755 if executable else 0o644)
    (cache / "build.json").write_text(json.dumps(stamp))
    return env


def test_a_cached_build_is_reused_only_when_built_with_todays_version_and_flags(tmp_path: Path) -> None:
    assert ls.cached_build({"XDG_CACHE_HOME": str(tmp_path)}) is None
    stamp = ls._stamp("llama-server", {})
    env = _cache(tmp_path / "same", {**stamp, "seconds": 500})
    assert ls.cached_build(env) == ls.cache_dir(env) / "bin" / "llama-server"
    assert ls.cached_build(_cache(tmp_path / "flags", {**stamp, "cmake": ["-DGGML_NATIVE=ON"]})) is None
    assert ls.cached_build(_cache(tmp_path / "version", {**stamp, "llama-cpp-python": "0.3.16"})) is None
    assert ls.cached_build(_cache(tmp_path / "mode", stamp, executable=False)) is None
    native = {ls.CMAKE_ARGS_VAR: "-DGGML_NATIVE=ON"}
    assert ls.cached_build({**env, **native}) is None  # the portable build is not what a native run asked for
    assert ls.cached_build(_cache(tmp_path / "native", ls._stamp("llama-server", native), env=native)) is not None


def test_the_relay_wheel_is_reused_only_when_built_with_todays_version_and_flags(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert ls.cached_wheel(env) is None
    cache = ls.cache_dir(env, "llama-cpp-python")
    cache.mkdir(parents=True)
    wheel = cache / f"llama_cpp_python-{ls.LLAMA_CPP_PYTHON}-py3-none-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    assert ls.cached_wheel(env) is None  # no stamp: an interrupted build
    (cache / "build.json").write_text(json.dumps(ls._stamp("llama-cpp-python", env)))
    assert ls.cached_wheel(env) == wheel
    assert ls.cached_wheel({**env, ls.CMAKE_ARGS_VAR: "-DGGML_NATIVE=ON"}) is None
    (cache / "build.json").write_text(json.dumps(ls._stamp("llama-server", env)))  # another build's stamp
    assert ls.cached_wheel(env) is None


def _python(tmp_path: Path, name: str, site: Path | None) -> str:
    """A python whose only packages are in ``site`` (none: the standard library alone)."""
    wrapper = tmp_path / name
    path = f"PYTHONPATH={site} " if site else ""
    wrapper.write_text(f'#!/bin/sh\n{path}exec "{sys.executable}" -S "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def test_the_relay_venv_says_which_wheel_it_installed(tmp_path: Path) -> None:
    assert ls.installed_wheel(_python(tmp_path, "bare", None)) is None
    site = tmp_path / "site"
    info = site / f"llama_cpp_python-{ls.LLAMA_CPP_PYTHON}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: llama_cpp_python\nVersion: {ls.LLAMA_CPP_PYTHON}\n")
    assert ls.installed_wheel(_python(tmp_path, "from-index", site)) is None  # pip's own build: no direct URL
    url = "file:///cache/hamr/llama-cpp-python-0.3.36-0123456789ab/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    (info / "direct_url.json").write_text(json.dumps({"archive_info": {}, "url": url}))
    assert ls.installed_wheel(_python(tmp_path, "from-cache", site)) == url


# --------------------------------------------------------------------------------------------------------------
# no AMX instruction in what was built
# --------------------------------------------------------------------------------------------------------------

OBJDUMP = """
libggml-cpu.so:     file format elf64-x86-64

Disassembly of section .text:

0000000000001000 <ggml_backend_amx_mul_mat>:
    1000:\tldtilecfg (%rdi)
    1005:\ttileloadd (%rsi,%rdx,1),%tmm0
    100b:\ttdpbssd %tmm2,%tmm1,%tmm0
    1010:\ttilestored %tmm0,(%rsi,%rdx,1)
    1016:\ttilerelease
    101b:\tvpdpbusd %zmm1,%zmm2,%zmm3
    1021:\tcall   1000 <ggml_backend_amx_mul_mat>
    1026:\tlea    0x0(%rip),%rdi        # 102d <tileloadd_name>
"""


def test_amx_instructions_are_counted_from_objdump_output_and_nothing_else() -> None:
    assert ls.count_amx(OBJDUMP.splitlines()) == 5  # not AVX-512 VNNI, not a symbol named like one


def _elf(path: Path, code: bytes) -> Path:
    """A minimal x86-64 ELF relocatable object whose .text is ``code`` (what objdump -d reads)."""
    import struct

    shstrtab = b"\0.text\0.shstrtab\0"
    text_off = 64
    shstr_off = text_off + len(code)
    sh_off = (shstr_off + len(shstrtab) + 7) & ~7
    header = struct.pack(
        "<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 1, 62, 1, 0, 0, sh_off, 0, 64, 0, 0, 64, 3, 2
    )
    sections = [
        bytes(64),
        struct.pack("<IIQQQQIIQQ", 1, 1, 6, 0, text_off, len(code), 0, 0, 16, 0),  # .text: PROGBITS, ALLOC|EXEC
        struct.pack("<IIQQQQIIQQ", 7, 3, 0, 0, shstr_off, len(shstrtab), 0, 0, 1, 0),  # .shstrtab: STRTAB
    ]
    blob = header + code + shstrtab
    path.write_bytes(blob + bytes(sh_off - len(blob)) + b"".join(sections))
    return path


LDTILECFG_RDI = bytes.fromhex("c4e2784907")  # ldtilecfg (%rdi)
PLAIN = bytes.fromhex("4889f8c3")  # mov %rdi,%rax; ret

needs_objdump = pytest.mark.skipif(
    shutil.which("objdump") is None or not ls.is_x86_64(),
    reason="the AMX check runs objdump (binutils) on x86-64 builds; this machine has no objdump or is not x86-64",
)


@needs_objdump
def test_a_portable_build_holding_an_amx_instruction_fails_in_one_line(tmp_path: Path) -> None:
    planted, plain = _elf(tmp_path / "libplanted.so", PLAIN + LDTILECFG_RDI), _elf(tmp_path / "libplain.so", PLAIN)
    assert ls.amx_instructions(planted) == 1 and ls.amx_instructions(plain) == 0
    lines: list[str] = []
    ls.check_no_amx([plain], "llama-server", {"PATH": os.environ["PATH"]}, lines.append)
    assert lines == ["llama-server: no AMX instruction in the 1 binaries built (portable)"]
    with pytest.raises(ls.ServerError) as info:
        ls.check_no_amx([plain, planted], "llama-server", {"PATH": os.environ["PATH"]}, lines.append)
    message = str(info.value)
    assert "\n" not in message and message.startswith("the llama-server build holds AMX instructions (1 in libplanted")
    assert "-DGGML_NATIVE=OFF" in message


@needs_objdump
def test_a_build_asked_for_on_purpose_keeps_its_amx_with_a_warning(tmp_path: Path) -> None:
    planted = _elf(tmp_path / "libplanted.so", LDTILECFG_RDI)
    lines: list[str] = []
    env = {"PATH": os.environ["PATH"], ls.CMAKE_ARGS_VAR: "-DGGML_NATIVE=ON"}
    ls.check_no_amx([planted], "llama-cpp-python", env, lines.append)
    assert len(lines) == 1 and "built in on purpose ($HAMR_LLAMA_CMAKE_ARGS)" in lines[0]


def test_the_amx_check_names_a_missing_objdump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls, "is_x86_64", lambda machine=None: True)
    with pytest.raises(ls.ServerError, match=r"needs objdump \(binutils\)"):
        ls.check_no_amx([tmp_path / "x.so"], "llama-server", {"PATH": _tools(tmp_path)})


def test_a_build_that_fails_the_amx_check_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"PATH": _tools(tmp_path, "cc", "c++"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    checked: list[list[str]] = []

    def refuse(artefacts: list[Path], *args: object) -> None:
        checked.append([p.name for p in artefacts])
        raise ls.ServerError("the llama-cpp-python build holds AMX instructions (1 in libggml-cpu.so)")

    monkeypatch.setattr(ls, "check_no_amx", refuse)
    monkeypatch.setattr(ls, "_run_logged", lambda command, *a, **k: _fake_step(command))
    with pytest.raises(ls.ServerError, match="holds AMX"):
        ls.build_relay_wheel(sys.executable, env, progress=lambda line: None)
    assert checked == [["libggml-cpu.so"]]  # the libraries inside the wheel are what is checked
    assert ls.cached_wheel(env) is None and not ls.cache_dir(env, "llama-cpp-python").exists()


def _fake_step(command: list[str]) -> None:
    """What pip download / pip wheel leave behind, without running them."""
    import zipfile

    into = Path(command[command.index("-d" if "download" in command else "-w") + 1])
    into.mkdir(parents=True, exist_ok=True)
    if "download" in command:
        (into / f"llama_cpp_python-{ls.LLAMA_CPP_PYTHON}.tar.gz").write_bytes(b"")
    else:
        with zipfile.ZipFile(into / f"llama_cpp_python-{ls.LLAMA_CPP_PYTHON}-py3-none-any.whl", "w") as wheel:
            wheel.writestr("llama_cpp/lib/libggml-cpu.so", b"")
            wheel.writestr("llama_cpp/__init__.py", b"")


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
    import json, os, signal, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, key, delay = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    print("loading the model", flush=True)
    time.sleep(delay)
    class Models(BaseHTTPRequestHandler):
        def do_POST(self):  # as the native build on an AMX machine did at its first completion
            print("completion: ldtilecfg", flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)
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


def _complete(server: ls.Server) -> None:
    request = urllib.request.Request(f"{server.url}/v1/chat/completions", data=b"{}", method="POST")
    with pytest.raises(OSError):  # the connection drops as the server dies
        urllib.request.urlopen(request, timeout=5)


def test_a_server_that_dies_mid_session_is_the_report_whatever_the_tests_raised(
    stand_in: tuple[ls.Server, Path], tmp_path: Path
) -> None:
    server, script = stand_in
    command = [sys.executable, str(script), str(server.port), "", "0"]
    lines: list[str] = []
    with pytest.raises(ls.ServerError) as info, ls.running(server, command, tmp_path / "s.log", progress=lines.append):
        _complete(server)
        raise ConnectionError("relay: cannot reach http://127.0.0.1:1234/v1")  # what the next test would say
    first, *tail = str(info.value).splitlines()
    assert first.startswith("stand-in (pid ") and "killed by SIGSEGV (signal 11) during the session" in first
    assert tail[-1] == "completion: ldtilecfg"  # the log's last lines
    assert isinstance(info.value.__cause__, ConnectionError)
    assert not any(line.startswith("stand-in: stopped") for line in lines)  # nothing left to stop
    assert ls.died_file(tmp_path / "s.log").read_text() == str(info.value)


def test_a_server_that_dies_after_the_tests_passed_still_fails_the_session(
    stand_in: tuple[ls.Server, Path], tmp_path: Path
) -> None:
    server, script = stand_in
    command = [sys.executable, str(script), str(server.port), "", "0"]
    with pytest.raises(ls.ServerError, match=r"killed by SIGSEGV"), ls.running(server, command, tmp_path / "s.log"):
        _complete(server)


RUN_OF_THREE = textwrap.dedent(
    """
    import os, urllib.request

    def _complete():
        request = urllib.request.Request(os.environ["URL"] + "/v1/chat/completions", data=b"{}", method="POST")
        urllib.request.urlopen(request, timeout=5)

    def test_first_completion():
        _complete()

    def test_second_completion():
        _complete()

    def test_third_completion():
        _complete()
    """
)


def test_a_run_stops_at_once_with_one_line_when_its_server_dies(
    stand_in: tuple[ls.Server, Path], tmp_path: Path
) -> None:
    """The whole chain as `nox -s smoke -- relay` runs it: the server answers GET /v1/models, then dies at the first
    completion; pytest (with the harness's plugin) stops after that test with the watcher's report, and the session
    raises it."""
    from tests.smoke import server_watch

    server, script = stand_in
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "test_live.py").write_text(RUN_OF_THREE)
    log = tmp_path / "s.log"
    command = [sys.executable, str(script), str(server.port), "", "0"]
    env = {**os.environ, "URL": server.url, ls.DIED_VAR: str(ls.died_file(log)), "PYTHONPATH": str(REPO)}
    with pytest.raises(ls.ServerError) as info, ls.running(server, command, log, progress=print):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", "-q", "test_live.py"],
            cwd=tmp_path / "run", env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        raise AssertionError(f"pytest exited {run.returncode}")  # as nox's session.run raises CommandFailed
    assert run.returncode == server_watch.SERVER_DIED, run.stdout
    assert "1 failed" in run.stdout and "passed" not in run.stdout  # the second and third never ran
    assert "killed by SIGSEGV (signal 11) during the session" in run.stdout
    assert str(info.value).splitlines()[0] in run.stdout


def test_a_run_without_a_watched_server_is_not_stopped(tmp_path: Path) -> None:
    from tests.smoke import server_watch

    assert ls.death_report({}) is None
    assert ls.death_report({ls.DIED_VAR: str(tmp_path / "none.died")}, wait=0.1) is None
    server_watch._stop_if_the_server_died(0.0)  # no variable in this run: nothing happens


@pytest.mark.parametrize(
    ("code", "said"),
    [(1, "exited with code 1"), (-11, "killed by SIGSEGV (signal 11)"), (-9, "killed by SIGKILL (signal 9)")],
)
def test_how_a_server_ended_is_said_plainly(code: int, said: str) -> None:
    assert ls.how_it_ended(code) == said


def test_each_target_names_its_server() -> None:
    assert ls.server_for("relay") is ls.RELAY
    assert ls.server_for("local-anthropic") is ls.server_for("local-openai") is ls.LLAMA_SERVER
    assert ls.server_for("local-responses") is ls.LLAMA_SERVER
    assert ls.server_for("deepseek") is None and ls.server_for("custom") is None
    assert ls.TARGETS["local-anthropic"].base_url == "http://127.0.0.1:8081"
    assert ls.TARGETS["local-openai"].base_url == "http://127.0.0.1:8081/v1"
    assert (ls.TARGETS["local-responses"].base_url, ls.TARGETS["local-responses"].compatibility) == (
        "http://127.0.0.1:8081/v1",
        "openai-responses",
    )


def test_the_local_targets_need_nothing_and_are_offered_by_name() -> None:
    from tests.smoke import live_env

    assert live_env.problem("local-anthropic", {}) is None
    assert live_env.problem("local-openai", {}) is None
    assert live_env.problem("local-responses", {}) is None
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
