"""A pytest plugin for smoke and record runs: when the local server the run needs dies (nox's watcher writes
``local_servers.DIED_VAR``'s file the moment it does), the run stops at once with one line naming the server, how
it ended (SIGSEGV, an exit code) and its log's tail, instead of every later test failing with "cannot reach".
Outside such a run the variable is unset and the hooks do nothing."""

from __future__ import annotations

import os

import pytest

from tests.smoke import local_servers

#: the exit code of a run stopped by a dead server (pytest's own codes are 0-5)
SERVER_DIED = 6


def _stop_if_the_server_died(wait: float) -> None:
    if report := local_servers.death_report(os.environ, wait):
        pytest.exit(report, returncode=SERVER_DIED)


def pytest_runtest_setup(item: pytest.Item) -> None:
    _stop_if_the_server_died(0.0)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:  # the watcher writes its report as the process ends: a failure right after gets that moment
        _stop_if_the_server_died(2.0)
