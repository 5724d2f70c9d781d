"""What a missed target is reported with: the top of a cProfile of the work that missed it (by own time), so a
miss comes with where the time went, not only a number."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hamr


def top(fn: Callable[[], Any], entries: int = 10) -> list[str]:
    """``fn`` run once under cProfile: its ``entries`` most costly functions by own time, as Markdown lines
    (a fenced block: cProfile's own table)."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(entries)
    table = out.getvalue().strip().splitlines()
    start = next((i for i, line in enumerate(table) if line.lstrip().startswith("ncalls")), 0)
    return ["```", *table[start:], "```"]


def summary(path: str, entries: int = 10) -> list[str]:
    """A cProfile dump (``path``): the share of the profiled time spent in hamr's own code (files of the hamr
    package), then the ``entries`` most costly functions by own time, as Markdown lines."""
    stats = pstats.Stats(path)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _, _, own, _, _ in raw.values()) or 1.0
    package = str(Path(hamr.__file__).parent) + os.sep
    ours = sum(own for (filename, _, _), (_, _, own, _, _) in raw.items() if filename.startswith(package))
    out = io.StringIO()
    pstats.Stats(path, stream=out).strip_dirs().sort_stats("tottime").print_stats(entries)
    table = out.getvalue().strip().splitlines()
    start = next((i for i, line in enumerate(table) if line.lstrip().startswith("ncalls")), 0)
    share = f"hamr's own code: {ours / total:.0%} of the profiled time ({ours:.3f} of {total:.3f} s, CPU time)."
    return [share, "", "```", *table[start:], "```"]
