"""Live smoke tests: collected only when HAMR_LIVE_PROVIDER names a provider (`nox -s smoke -- <provider>` sets it),
so the offline suite never runs, skips or counts them. A missing key or server address stops the run with one line.
The run ends with a short summary: provider, model, latency to first token, tokens, spend."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hamr
from tests.smoke import live_env
from tests.smoke.live_run import ENV, LIVE_PROVIDER, Live, live_config, requested_model

if not LIVE_PROVIDER:
    collect_ignore_glob = ["test_*.py"]

_RUNS: list[Live] = []
#: where the run's summary goes as JSON (set by `nox -s smoke -- all`)
SUMMARY_VAR = "HAMR_SMOKE_SUMMARY"


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
    summary = run.summary()
    for name, value in summary.items():
        terminalreporter.write_line(f"{name:>22}  {value}")
    if os.environ.get(SUMMARY_VAR):  # `nox -s smoke -- all` collects every preset's summary into one table
        Path(os.environ[SUMMARY_VAR]).write_text(json.dumps(summary), encoding="utf-8")
