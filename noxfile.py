"""Every task a developer or CI runs: `nox -s tests`, `nox -s lint`, `nox -s smoke -- <preset>`, ..."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

TEST_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "pytest-recording>=0.13",
    "vcrpy>=6",
    "respx>=0.21",
    "hypothesis>=6.100",
    "pyyaml>=6",
]


@nox.session
def tests(session: nox.Session) -> None:
    """The offline suite: unit, contract (cassette replay) and property tests, network blocked."""
    session.install("-e", ".", *TEST_DEPS)
    session.run(
        "pytest",
        "--block-network",
        "--record-mode=none",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"HAMR_LIVE_PROVIDER": "", "HYPOTHESIS_PROFILE": "ci"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on the package."""
    session.install("-e", ".", "ruff>=0.6", "mypy>=1.10")
    session.run("ruff", "check", "hamr", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "hamr", "tests", "noxfile.py")
    session.run("mypy", "--strict", "hamr")
