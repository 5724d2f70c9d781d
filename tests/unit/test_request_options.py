"""Request options in their neutral form, as each protocol sends them (README, "Request options")."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from hamr import _anthropic, _openai
from hamr._config import parse_config

CONFIG = parse_config({"providers": {"gateway": {"base_url": "https://gw.example.com/v1"}}})
ENV = {"DEEPSEEK_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
CLOCK = {"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}}  # OpenAI form
TOOLS = [WEATHER, CLOCK]


def openai_body(provider: str = "deepseek", **options: Any) -> dict[str, Any]:
    req = _openai.build_chat(CONFIG.providers[provider], "m", "hi", env=ENV, **options)
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


# ---------------------------------------------------------------------------------------------------- response_format

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
JSON_SCHEMA = {"type": "json_schema", "name": "place", "schema": SCHEMA, "strict": True}
LOCAL_ANTHROPIC = parse_config(
    {"providers": {"local": {"base_url": "http://127.0.0.1:8081", "compatibility": "anthropic-compatible"}}}
).providers["local"]


def test_response_format_on_openai() -> None:
    # a gateway: DeepSeek takes no json_schema (tests/unit/test_client.py)
    gateway_body = functools.partial(openai_body, "gateway")
    assert gateway_body(response_format={"type": "json_object"})["response_format"] == {"type": "json_object"}
    wire = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA, "strict": True}}
    assert gateway_body(response_format=JSON_SCHEMA)["response_format"] == wire
    assert gateway_body(response_format=wire)["response_format"] == wire  # OpenAI's own form is accepted too
    assert "response_format" not in gateway_body(response_format={"type": "text"})


def test_response_format_on_anthropic_uses_structured_outputs() -> None:
    body = anthropic_body(response_format=JSON_SCHEMA)
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "tools" not in body and "tool_choice" not in body


@pytest.mark.parametrize(
    ("fmt", "schema"), [(JSON_SCHEMA, SCHEMA), ({"type": "json_object"}, {"type": "object"})], ids=["schema", "object"]
)
def test_response_format_elsewhere_is_a_forced_answer_tool(fmt: Any, schema: Any) -> None:
    req = _anthropic.build_chat(LOCAL_ANTHROPIC, "m", "hi", response_format=fmt)
    assert req.json is not None and "output_config" not in req.json
    name = "place" if fmt is JSON_SCHEMA else "json_answer"
    assert [t["name"] for t in req.json["tools"]] == [name] and req.json["tools"][0]["input_schema"] == schema
    assert req.json["tool_choice"] == {"type": "any"}  # with the answer tool alone, that forces it
    assert req.json_tool == name


def test_answer_tool_beside_the_callers_tools() -> None:
    req = _anthropic.build_chat(LOCAL_ANTHROPIC, "m", "hi", tools=[WEATHER], response_format=JSON_SCHEMA)
    assert req.json is not None
    assert [t["name"] for t in req.json["tools"]] == ["get_weather", "place"]
    assert req.json["tool_choice"] == {"type": "any"}
    with pytest.raises(ValueError, match="cannot be combined"):
        _anthropic.build_chat(
            LOCAL_ANTHROPIC, "m", "hi", tools=[WEATHER], tool_choice="auto", response_format=JSON_SCHEMA
        )
    with pytest.raises(ValueError, match="also the name of one of tools"):
        _anthropic.build_chat(
            LOCAL_ANTHROPIC, "m", "hi", tools=[WEATHER], response_format={**JSON_SCHEMA, "name": "get_weather"}
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "json_schema"},
        {"type": "json_schema", "name": "has space", "schema": SCHEMA},
        {"type": "json_schema", "schema": SCHEMA, "strict": "yes"},
        {"type": "xml"},
        "json",
    ],
)
def test_bad_response_format_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="response_format"):
        openai_body(response_format=bad)
    with pytest.raises(ValueError, match="response_format"):
        anthropic_body(response_format=bad)


# ---------------------------------------------------------------------------------------------------- images

PNG = "iVBORw0KGgo="
IMAGE_MESSAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ],
    }
]


def test_image_parts_go_to_openai_as_they_are() -> None:
    req = _openai.build_chat(CONFIG.providers["deepseek"], "m", IMAGE_MESSAGE, env=ENV)
    assert req.json is not None and req.json["messages"][0]["content"] == IMAGE_MESSAGE[0]["content"]


def test_image_parts_become_anthropic_image_blocks() -> None:
    req = _anthropic.build_chat(CONFIG.providers["anthropic"], "m", IMAGE_MESSAGE, env=ENV)
    assert req.json is not None
    assert req.json["messages"][0]["content"] == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_anthropic_image_blocks_pass_through_to_anthropic_and_convert_for_openai() -> None:
    native = [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]
    ant = _anthropic.build_chat(CONFIG.providers["anthropic"], "m", native, env=ENV).json
    assert ant is not None and ant["messages"][0]["content"] == native[0]["content"]
    oai = _openai.build_chat(CONFIG.providers["deepseek"], "m", native, env=ENV).json
    assert oai is not None
    assert oai["messages"][0]["content"] == [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]


def test_a_data_url_that_is_not_base64_is_a_value_error() -> None:
    bad = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}]
    with pytest.raises(ValueError, match="base64"):
        _anthropic.build_chat(CONFIG.providers["anthropic"], "m", bad, env=ENV)


# ---------------------------------------------------------------------------------------------------- caching

EPHEMERAL = {"type": "ephemeral"}
TURNS = [
    {"role": "user", "content": "first"},
    {"role": "assistant", "content": "ok"},
    {"role": "user", "content": "second"},
]


def test_cache_true_marks_tools_system_and_the_last_user_turn() -> None:
    body = _anthropic.build_chat(
        CONFIG.providers["anthropic"], "m", TURNS, tools=[WEATHER, CLOCK], system="long rules", cache=True, env=ENV
    ).json
    assert body is not None
    assert [t.get("cache_control") for t in body["tools"]] == [None, EPHEMERAL]
    assert body["system"] == [{"type": "text", "text": "long rules", "cache_control": EPHEMERAL}]
    assert body["messages"][0]["content"] == "first"
    assert body["messages"][2]["content"] == [{"type": "text", "text": "second", "cache_control": EPHEMERAL}]


def test_cache_true_respects_anthropics_limit_of_four_breakpoints() -> None:
    marked = [
        {"role": "user", "content": [{"type": "text", "text": f"doc {i}", "cache_control": EPHEMERAL}]}
        for i in range(3)
    ]
    body = _anthropic.build_chat(
        CONFIG.providers["anthropic"], "m", [*marked, *TURNS], tools=[WEATHER], system="s", cache=True, env=ENV
    ).json
    assert body is not None
    assert json.dumps(body).count('"cache_control"') == 4  # 3 by hand + the tools; system and last turn left alone
    assert "cache_control" in body["tools"][0] and isinstance(body["system"], list)
    assert "cache_control" not in body["system"][0]


def test_cache_control_by_hand_passes_through() -> None:
    system = [{"type": "text", "text": "rules", "cache_control": EPHEMERAL}, {"type": "text", "text": "more"}]
    tool = {**WEATHER, "cache_control": EPHEMERAL}
    body = _anthropic.build_chat(CONFIG.providers["anthropic"], "m", "hi", system=system, tools=[tool], env=ENV).json
    assert body is not None and body["system"] == system and body["tools"][0]["cache_control"] == EPHEMERAL
    # a system message given as blocks keeps them too, after the system argument's
    extra = {"role": "system", "content": [{"type": "text", "text": "extra", "cache_control": EPHEMERAL}]}
    body = _anthropic.build_chat(
        CONFIG.providers["anthropic"], "m", [extra, {"role": "user", "content": "hi"}], system="base", env=ENV
    ).json
    assert body is not None
    assert body["system"] == [
        {"type": "text", "text": "base"},
        {"type": "text", "text": "extra", "cache_control": EPHEMERAL},
    ]


def test_cache_true_sends_nothing_on_openai() -> None:
    assert openai_body(cache=True) == openai_body()


def test_a_system_list_goes_to_openai_as_content_parts() -> None:
    system = [{"type": "text", "text": "rules"}]
    assert openai_body(system=system)["messages"][0] == {"role": "system", "content": system}


def test_extra_body_objects_merge_with_what_hamr_built() -> None:
    """Adaptive thinking's effort rides in output_config, where a response_format puts its schema."""
    extra = {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}}
    body = anthropic_body(response_format=JSON_SCHEMA, extra_body=extra)
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}, "effort": "medium"}
    assert body["thinking"] == {"type": "adaptive"}
    # a plain value still overrides
    assert openai_body(max_tokens=5, extra_body={"max_tokens": 7})["max_tokens"] == 7
