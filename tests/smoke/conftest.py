"""Live smoke tests: collected only when HAMR_LIVE_PROVIDER names a provider (`nox -s smoke -- <provider>` sets it),
so the offline suite never runs, skips or counts them. A missing key or server address stops the run with one line.
The run ends with a short summary: provider, model, latency to first token, tokens, spend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import live_env
import pytest
from live_run import ENV, LIVE_PROVIDER, Live, live_config, requested_model

import hamr

if not LIVE_PROVIDER:
    collect_ignore_glob = ["test_*.py"]

_RUNS: list[Live] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LIVE_PROVIDER and (missing := live_env.problem(LIVE_PROVIDER, ENV)):
        raise pytest.UsageError(missing)


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    if not LIVE_PROVIDER:
        pytest.fail(f"smoke tests need {live_env.PROVIDER_VAR}: run them with `nox -s smoke -- <provider>`")
    config = live_config(LIVE_PROVIDER, ENV)
    with hamr.Client(config, provider=LIVE_PROVIDER, model=requested_model(LIVE_PROVIDER, ENV), env=ENV) as client:
        _RUNS.append(Live(LIVE_PROVIDER, config, client))
        yield _RUNS[-1]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RUNS:
        return
    run = _RUNS[-1]
    terminalreporter.section(f"hamr smoke: {run.provider}")
    for name, value in run.summary().items():
        terminalreporter.write_line(f"{name:>22}  {value}")
