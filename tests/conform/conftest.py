"""The kit's modules import each other and the contract suite's cassette modules by name, as the scripts do."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent / "contract"), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
