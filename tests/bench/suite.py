"""The offline suite as the README runs it (``nox -s tests``): wall time of the whole command, and pytest's own
summary (counts and time)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SUMMARY = re.compile(r"^=+ (?P<body>.*\d+ \w+.*) in (?P<secs>[\d.]+)s", re.MULTILINE)
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected|warnings?)")


@dataclass(frozen=True)
class SuiteRun:
    wall: float
    pytest_seconds: float
    counts: dict[str, int]
    ok: bool


def _nox() -> list[str] | None:
    """The nox that runs this session (it lives outside this session's own virtualenv)."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    found = shutil.which("nox", path=path)
    return [found] if found else None


def run() -> SuiteRun | None:
    nox = _nox()
    if nox is None:
        return None
    start = time.perf_counter()
    done = subprocess.run([*nox, "-s", "tests"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    summaries = list(_SUMMARY.finditer(done.stdout + done.stderr))
    if not summaries:
        raise RuntimeError(f"no pytest summary in `nox -s tests` output:\n{(done.stdout + done.stderr)[-2000:]}")
    last = summaries[-1]
    counts = {kind.rstrip("s") if kind.startswith(("error", "warning")) else kind: int(n) for n, kind in
              _COUNT.findall(last["body"])}  # fmt: skip
    return SuiteRun(wall, float(last["secs"]), counts, done.returncode == 0)
