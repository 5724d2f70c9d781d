"""Modules imported on first use: ``import hamr`` (and the CLI's config commands) need not pay for httpx2, about half
of hamr's import time, until a client is made."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """Stands in for the module ``name``; the first attribute read imports it and copies its namespace in, so every
    later read is an ordinary module attribute lookup."""

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)
