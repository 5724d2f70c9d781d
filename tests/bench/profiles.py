"""What a missed target is reported with: the top of a cProfile of the work that missed it (by own time), so a
miss comes with where the time went, not only a number."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from typing import Any


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
