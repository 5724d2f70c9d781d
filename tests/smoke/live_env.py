"""What a live smoke run needs from the environment, checked before anything is installed or requested: the
provider (HAMR_LIVE_PROVIDER: a preset, or a local target of local_servers.TARGETS), its API key variable, and for
`custom` the server's address (HAMR_CUSTOM_*).

Standard library only: the nox session uses this before hamr or its dependencies are installed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from tests.smoke.local_servers import TARGETS

PROVIDER_VAR = "HAMR_LIVE_PROVIDER"
#: optional: the model to test instead of the preset's default (the embedded relay sets it to its alias)
MODEL_VAR = "HAMR_LIVE_MODEL"
CUSTOM_BASE_URL_VAR = "HAMR_CUSTOM_BASE_URL"
CUSTOM_API_KEY_VAR = "HAMR_CUSTOM_API_KEY"
CUSTOM_MODEL_VAR = "HAMR_CUSTOM_MODEL"


def presets() -> dict[str, Any]:
    """hamr's preset table, imported from this checkout: ``import hamr`` needs only the standard library (httpx2 and
    tomlkit load on first use), so this works in nox's own interpreter where hamr's dependencies are not installed."""
    from hamr._presets import PRESETS

    return dict(PRESETS)


def problem(provider: str | None, env: Mapping[str, str]) -> str | None:
    """One line saying what is missing for a smoke run against ``provider``, or None when it can run."""
    table = presets()
    names = [*table, *TARGETS]
    if not provider:
        return f"name a provider: nox -s smoke -- <provider>, one of {', '.join(names)}"
    if provider in TARGETS:
        return None
    if provider not in table:
        close = difflib.get_close_matches(provider, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown provider {provider!r}: {hint}use one of {', '.join(names)}"
    if provider == "custom" and not env.get(CUSTOM_BASE_URL_VAR):
        return (
            f"provider 'custom' needs a server: set the environment variable {CUSTOM_BASE_URL_VAR} "
            f"(e.g. http://127.0.0.1:1234/v1)"
        )
    preset = table[provider]
    if preset.requires_key and preset.api_key_env and not env.get(preset.api_key_env):
        # the same words hamr's ConfigError uses when a request is made without the key
        return f"provider {provider!r} needs an API key: set the environment variable {preset.api_key_env}"
    return None
