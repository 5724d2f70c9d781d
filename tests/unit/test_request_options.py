"""Request options in their neutral form, as each protocol sends them (README, "Request options")."""

from __future__ import annotations

from typing import Any

import pytest

from hamr import _anthropic, _openai
from hamr._config import parse_config

CONFIG = parse_config({"providers": {"gateway": {"base_url": "https://gw.example.com/v1"}}})
ENV = {"DEEPSEEK_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
CLOCK = {"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}}  # OpenAI form
TOOLS = [WEATHER, CLOCK]


def openai_body(**options: Any) -> dict[str, Any]:
    req = _openai.build_chat(CONFIG.providers["deepseek"], "m", "hi", env=ENV, **options)
    assert req.json is not None
    return req.json


def anthropic_body(**options: Any) -> dict[str, Any]:
    req = _anthropic.build_chat(CONFIG.providers["anthropic"], "m", "hi", env=ENV, **options)
    assert req.json is not None
    return req.json


# ---------------------------------------------------------------------------------------------------- tool_choice

TOOL_CHOICES = [
    ("auto", "auto", {"type": "auto"}),
    ("none", "none", {"type": "none"}),
    ("required", "required", {"type": "any"}),
    (
        {"name": "get_weather"},
        {"type": "function", "function": {"name": "get_weather"}},
        {"type": "tool", "name": "get_weather"},
    ),
    ({"name": "clock"}, {"type": "function", "function": {"name": "clock"}}, {"type": "tool", "name": "clock"}),
]


@pytest.mark.parametrize(("choice", "openai", "anthropic"), TOOL_CHOICES)
def test_tool_choice_per_protocol(choice: Any, openai: Any, anthropic: Any) -> None:
    assert openai_body(tools=TOOLS, tool_choice=choice)["tool_choice"] == openai
    assert anthropic_body(tools=TOOLS, tool_choice=choice)["tool_choice"] == anthropic


def test_no_tool_choice_sends_none() -> None:
    assert "tool_choice" not in openai_body(tools=TOOLS)
    assert "tool_choice" not in anthropic_body(tools=TOOLS)


@pytest.mark.parametrize("build", [openai_body, anthropic_body])
def test_tool_choice_naming_an_unknown_tool_is_a_value_error(build: Any) -> None:
    with pytest.raises(ValueError, match=r"'search'.*not in tools \('get_weather', 'clock'\)"):
        build(tools=TOOLS, tool_choice={"name": "search"})
    with pytest.raises(ValueError, match="not in tools"):
        build(tool_choice={"name": "get_weather"})


@pytest.mark.parametrize("build", [openai_body, anthropic_body])
@pytest.mark.parametrize("bad", ["any", "tool", {"type": "tool", "name": "get_weather"}, {"name": 3}, 1])
def test_tool_choice_in_another_form_is_a_value_error(build: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match="tool_choice must be"):
        build(tools=TOOLS, tool_choice=bad)


@pytest.mark.parametrize("build", [openai_body, anthropic_body])
def test_tool_choice_without_tools(build: Any) -> None:
    # "auto" and "none" without tools ask for what a request without tools already means: nothing is sent
    assert "tool_choice" not in build(tool_choice="auto")
    assert "tool_choice" not in build(tool_choice="none")
    with pytest.raises(ValueError, match="needs tools"):
        build(tool_choice="required")


@pytest.mark.parametrize(
    ("parallel", "choice", "anthropic"),
    [
        (False, None, {"type": "auto", "disable_parallel_tool_use": True}),
        (True, None, {"type": "auto", "disable_parallel_tool_use": False}),
        (False, "required", {"type": "any", "disable_parallel_tool_use": True}),
        (False, {"name": "clock"}, {"type": "tool", "name": "clock", "disable_parallel_tool_use": True}),
        (False, "none", {"type": "none"}),  # Anthropic allows the flag on auto, any and tool only
    ],
)
def test_parallel_tool_calls(parallel: bool, choice: Any, anthropic: Any) -> None:
    body = openai_body(tools=TOOLS, tool_choice=choice, parallel_tool_calls=parallel)
    assert body["parallel_tool_calls"] is parallel
    assert anthropic_body(tools=TOOLS, tool_choice=choice, parallel_tool_calls=parallel)["tool_choice"] == anthropic


def test_tool_options_are_left_out_without_tools() -> None:
    assert "parallel_tool_calls" not in openai_body(parallel_tool_calls=False)
    assert "tool_choice" not in anthropic_body(parallel_tool_calls=False)


# ---------------------------------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(
    ("stop", "expected"), [("END", ["END"]), (["a", "b"], ["a", "b"]), (("x",), ["x"]), ([], None)]
)
def test_stop(stop: Any, expected: Any) -> None:
    assert openai_body(stop=stop).get("stop") == expected
    assert anthropic_body(stop=stop).get("stop_sequences") == expected
    assert "stop" not in anthropic_body(stop=stop)


@pytest.mark.parametrize("bad", ["", ["ok", ""], [1]])
def test_bad_stop_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="stop must be"):
        openai_body(stop=bad)
    with pytest.raises(ValueError, match="stop must be"):
        anthropic_body(stop=bad)


def test_top_p_and_seed() -> None:
    body = openai_body(top_p=0.9, seed=7)
    assert body["top_p"] == 0.9 and body["seed"] == 7
    assert anthropic_body(top_p=0.9)["top_p"] == 0.9
    assert not {"top_p", "seed", "stop"} & set(openai_body())


def test_seed_on_anthropic_is_a_value_error_naming_the_protocol() -> None:
    with pytest.raises(ValueError, match="seed is not supported by the anthropic-compatible protocol"):
        anthropic_body(seed=7)
