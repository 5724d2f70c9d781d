"""The provider under test in one smoke run: its config (the shipped presets, `custom` from HAMR_CUSTOM_*, or a
local target's table pointed at llama-server), one client shared by every smoke test (so its spend is the whole
run's), what the provider is expected to do, and what the closing summary reports."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import hamr
from hamr._config import parse_config
from tests.smoke import live_env
from tests.smoke.local_servers import KEY_VAR, TARGETS

# Read once, at import (collection time): the suite-wide autouse fixture hides every *_API_KEY variable from tests.
ENV = dict(os.environ)
LIVE_PROVIDER = ENV.get(live_env.PROVIDER_VAR, "")

#: the local targets, whose servers this project runs (gemma-3-270m): greedy decoding, a forced tool choice
LOCAL = {"relay", *TARGETS}
#: the request options that make gemma-3-270m call get_weather: llama-cpp-python honours a named tool choice with a
#: grammar built from the tool's schema; llama-server takes "required" (its Anthropic endpoint maps any/tool to it;
#: a named choice is a 500 on its OpenAI and Responses endpoints)
TOOL_OPTIONS: dict[str, dict[str, Any]] = {
    "relay": {"tool_choice": {"name": "get_weather"}},
    "local-anthropic": {"tool_choice": "required", "parallel_tool_calls": False},
    "local-openai": {"tool_choice": "required", "parallel_tool_calls": False},
    "local-responses": {"tool_choice": "required", "parallel_tool_calls": False},
}
#: the options of the follow-up that carries the tool result, where they differ: llama-server's template parser needs
#: its tool grammar off to take a text answer (tool_choice none; its Anthropic endpoint ignores {"type": "none"}, so
#: that follow-up goes without tools)
FOLLOW_UP_OPTIONS: dict[str, dict[str, Any]] = {
    "local-anthropic": {"tools": None},
    "local-openai": {"tool_choice": "none"},
    "local-responses": {"tool_choice": "none"},
}
#: whether the server sends usage in streams (None: any server, either is honest): llama-cpp-python's ignores
#: stream_options; llama-server honours stream_options.include_usage, sends usage in Anthropic streams and in
#: response.completed
STREAM_USAGE: dict[str, bool | None] = {
    "relay": False,
    "custom": None,
    "local-anthropic": True,
    "local-openai": True,
    "local-responses": True,
}


def live_config(provider: str, env: dict[str, str]) -> hamr.Config:
    """The shipped presets (never the developer's own config file); `custom` built from HAMR_CUSTOM_*; a local target
    as a provider table of its own (with the server's key when $LLAMA_API_KEY is set)."""
    if provider in TARGETS:
        target = TARGETS[provider]
        table: dict[str, Any] = {"base_url": target.base_url, "compatibility": target.compatibility, "local": True}
        if env.get(KEY_VAR):
            table["api_key_env"] = KEY_VAR
        return parse_config({"providers": {provider: table}})
    if provider != "custom":
        return parse_config({})
    custom: dict[str, Any] = {"base_url": env[live_env.CUSTOM_BASE_URL_VAR]}
    if env.get(live_env.CUSTOM_API_KEY_VAR):
        custom["api_key_env"] = live_env.CUSTOM_API_KEY_VAR
    return parse_config({"providers": {"custom": custom}, "active": {"provider": "custom"}})


def requested_model(provider: str, env: dict[str, str]) -> str | None:
    """HAMR_CUSTOM_MODEL for custom, HAMR_LIVE_MODEL otherwise; None: the preset's default, or for a local target or
    custom the first model the server lists."""
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
    def local(self) -> bool:
        return self.provider in LOCAL

    @property
    def streams_usage(self) -> bool | None:
        """True/False: the provider does/does not send usage in streams; None: it may or may not (custom)."""
        return STREAM_USAGE.get(self.provider, True)

    @property
    def options(self) -> dict[str, Any]:
        """Request options for every smoke request: greedy decoding on a local server (and on custom, which may be
        one), so a tiny model answers the same way on every CI run; the cloud defaults otherwise (some models refuse
        a temperature)."""
        return {"temperature": 0.0} if self.local or self.provider == "custom" else {}

    def count(self, completion: hamr.Completion) -> hamr.Completion:
        self.requests += 1
        if completion.usage is not None:
            self.input_tokens += completion.usage.input_tokens
            self.output_tokens += completion.usage.output_tokens
        return completion

    def sync_client(self, http_client: Any) -> hamr.Client:
        """Another client for the same provider and model, on a caller's own ``http_client``."""
        return hamr.Client(self.config, provider=self.provider, model=self.model, env=ENV, http_client=http_client)

    def async_client(self, http_client: Any = None) -> hamr.AsyncClient:
        return hamr.AsyncClient(self.config, provider=self.provider, model=self.model, env=ENV, http_client=http_client)

    def summary(self) -> dict[str, str]:
        return {
            "provider": f"{self.provider} ({self.config.provider(self.provider).base_url})",
            "model": self.model or "(none chosen)",
            **self.report,
            "tokens": f"{self.input_tokens} in / {self.output_tokens} out over {self.requests} requests",
            "spend": str(self.client.spend),
        }
