"""Shared test setup: a clean environment for config, deterministic Hypothesis profiles; a smoke or record run
stops at once when its local server dies."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# a smoke or record run stops at once, with one line, when its local server dies (no-op elsewhere)
from tests.smoke.server_watch import pytest_runtest_logreport, pytest_runtest_setup  # noqa: F401

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """No test reads the developer's own config or keys."""
    for var in list(os.environ):
        if var.endswith("_API_KEY") or var in ("HAMR_CONFIG", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
