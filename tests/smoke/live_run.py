"""The provider under test in one smoke run: its config (the shipped presets, or `custom` from HAMR_CUSTOM_*), one
client shared by every smoke test (so its spend is the whole run's), and what the closing summary reports."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import live_env

import hamr
from hamr._config import parse_config

# Read once, at import (collection time): the suite-wide autouse fixture hides every *_API_KEY variable from tests.
ENV = dict(os.environ)
LIVE_PROVIDER = ENV.get(live_env.PROVIDER_VAR, "")

#: providers that point at whatever server and model the user runs: whether it streams usage or calls tools is
#: the server's and model's business (llama.cpp's server sends no usage in streams; gemma-3-270m never calls tools)
ANY_SERVER = {"relay", "custom"}


def live_config(provider: str, env: dict[str, str]) -> hamr.Config:
    """The shipped presets (never the developer's own config file); `custom` built from HAMR_CUSTOM_*."""
    if provider != "custom":
        return parse_config({})
    custom: dict[str, Any] = {"base_url": env[live_env.CUSTOM_BASE_URL_VAR]}
    if env.get(live_env.CUSTOM_API_KEY_VAR):
        custom["api_key_env"] = live_env.CUSTOM_API_KEY_VAR
    return parse_config({"providers": {"custom": custom}, "active": {"provider": "custom"}})


def requested_model(provider: str, env: dict[str, str]) -> str | None:
    """HAMR_CUSTOM_MODEL for custom, HAMR_LIVE_MODEL otherwise; None: the preset's default, or for relay/custom the
    first model the server lists."""
    return env.get(live_env.CUSTOM_MODEL_VAR if provider == "custom" else live_env.MODEL_VAR) or None


@dataclass
class Live:
    provider: str
    config: hamr.Config
    client: hamr.Client
    report: dict[str, str] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    @property
    def model(self) -> str | None:
        return self.client.model

    @property
    def any_server(self) -> bool:
        return self.provider in ANY_SERVER

    @property
    def options(self) -> dict[str, Any]:
        """Request options for every smoke request: greedy decoding on a local server, so a tiny model answers the
        same way on every CI run; the cloud defaults otherwise (some models refuse a temperature)."""
        return {"temperature": 0.0} if self.any_server else {}

    def count(self, completion: hamr.Completion) -> hamr.Completion:
        self.requests += 1
        if completion.usage is not None:
            self.input_tokens += completion.usage.input_tokens
            self.output_tokens += completion.usage.output_tokens
        return completion

    def async_client(self) -> hamr.AsyncClient:
        return hamr.AsyncClient(self.config, provider=self.provider, model=self.model, env=ENV)

    def summary(self) -> dict[str, str]:
        return {
            "provider": f"{self.provider} ({self.config.provider(self.provider).base_url})",
            "model": self.model or "(none chosen)",
            **self.report,
            "tokens": f"{self.input_tokens} in / {self.output_tokens} out over {self.requests} requests",
            "spend": str(self.client.spend),
        }
