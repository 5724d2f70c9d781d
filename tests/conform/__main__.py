"""``nox -s conform -- ...``: the kit's command (``hamr conform``) with the maintainers' named targets (the embedded
servers, the gateway in front of one: ``targets.toml`` beside this file) and, when a run fails on bad input, how the
local server the session started ended."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hamr.kit import cli
from tests.smoke import local_servers

TARGETS = Path(__file__).with_name("targets.toml")


def local_server_death() -> str | None:
    """How the local server the nox session started ended, when it died during the run (its watcher's report)."""
    report = local_servers.death_report(os.environ, wait=2.0)
    return report.strip().splitlines()[0] if report and report.strip() else None


if __name__ == "__main__":
    sys.exit(cli.main(["--targets", str(TARGETS), *sys.argv[1:]], prog="nox -s conform --", explain=local_server_death))
