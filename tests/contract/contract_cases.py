"""What the contract suite knows about each preset: the model it talks to, the URLs and auth it must send, and
for every contract test whether the provider supports it and how its cassette can be made.

Support values:

- ``LIVE``: the cassette can be recorded live (``nox -s record -- <preset>``; relay's are recorded live).
- ``CONSTRUCTED``: the situation cannot be provoked on demand (rate limits, outages, mid-stream failures), so the
  cassette is always built by ``--construct``: a real recording made elsewhere where one exists, else constructed
  from the provider's documentation (``contract_constructed``).
- ``unsupported(reason)``: the provider does not have the feature; no test is generated and the matrix says so.

A test of one protocol only (``PROTOCOL_TESTS``) is absent from the ``support`` of the other protocols' cases: it is
not applicable there (no test, "n/a" in the matrix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hamr._presets import PRESETS, RESPONSES
from hamr.kit.prompts import (
    BEST_LANGUAGE,
    GET_WEATHER_CITY,
    JSON_PROMPT,
    JSON_SCHEMA_FORMAT,
    PARALLEL_PROMPT,
    PNG,
    TOOL_PROMPT,
    WEATHER,
)

LIVE = "live"
CONSTRUCTED = "constructed"


def unsupported(reason: str) -> str:
    return f"unsupported: {reason}"


#: contract test id -> the compatibility-matrix column it proves
COLUMNS: dict[str, str] = {
    "chat": "chat",
    "system_prompt": "chat",
    "request_shape": "chat",
    "header_unset": "chat",
    "stream": "stream",
    "stream_usage": "usage in stream",
    "tool_call": "tools",
    "tool_result": "tools",
    "stream_tool_call": "streamed tools",
    "reasoning": "reasoning",
    "reasoning_stream": "reasoning",
    "models": "models",
    "error_401": "401",
    "error_400": "400",
    "error_unknown_model": "404 model",
    "error_429": "429",
    "error_5xx": "5xx",
    "error_mid_stream": "mid-stream error",
    "tool_choice": "tool_choice",
    "response_format": "response_format",
    "image_input": "images",
    "round_trip": "round trip",
}
TESTS = tuple(COLUMNS)
#: tests of one protocol only: an answer's output items (reasoning items with their encrypted content) sent back
#: with ``to_message()``, as the openai-responses protocol must (other protocols' round trips: tests/unit)
PROTOCOL_TESTS = {"round_trip": RESPONSES}
#: the tests every protocol has
COMMON = tuple(t for t in TESTS if t not in PROTOCOL_TESTS)

#: an interpolated header every preset is configured with; present when HAMR_TRACE is set, absent when not
TRACE_HEADER = "X-Hamr-Trace"
TRACE_VAR = "HAMR_TRACE"

GET_CURRENT_WEATHER = {  # Together's recorded tool call (Arize-ai/openinference's together cassettes)
    "name": "get_current_weather",
    "description": "Get the current weather in a given city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
        "required": ["city"],
    },
}
# the tools of the Responses recordings (pydantic/pydantic-ai's cassettes)
GET_CAPITAL = {
    "name": "get_capital",
    "description": "Get the capital of a country.",
    "parameters": {
        "type": "object",
        "properties": {"country": {"type": "string"}},
        "required": ["country"],
        "additionalProperties": False,
    },
}
GET_TEMPERATURE = {
    "name": "get_temperature",
    "description": "Get the current temperature in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
UPDATE_PLAN = {
    "name": "update_plan",
    "parameters": {
        "type": "object",
        "properties": {"plan": {"type": "string"}},
        "required": ["plan"],
        "additionalProperties": False,
    },
}
CITY_LOCATION = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
#: the prompt and instructions of OpenAI's recorded reasoning-and-tool round trip
SAMIRA = (
    'Compose a 12-line poem where the first letters of the odd-numbered lines form the name "SAMIRA" and the first '
    'letters of the even-numbered lines spell out "DAWOOD." Additionally, the first letter of each word in every '
    "line should create the capital of a country"
)
PLANNER = (
    "You are a helpful assistant that uses planning. You MUST use the update_plan tool and continually update it as "
    "you make progress against the user's prompt"
)
BERLIN = {"latitude": "52.5200", "longitude": "13.4050"}
#: llama.cpp's context (both local servers): a prompt longer than it is a real 400
LONG_PROMPT = {"messages": [{"role": "user", "content": "word " * 2100}], "max_tokens": 5}
#: the prompt and schema of the real Anthropic structured-output recording (posit-dev/chatlas,
#: tests/_vcr/test_provider_anthropic/test_anthropic_nested_data_model_extraction.yaml @
#: 61f496b3b6b87f9167f47c89c40e26b9b22e5bff), whose answer (92 output tokens) the anthropic cassette replays
CLASSIFY_PROMPT = "The new quantum computing breakthrough could revolutionize the tech industry."
CLASSIFICATION = {
    "type": "object",
    "title": "Classification",
    "properties": {
        "name": {
            "type": "string",
            "enum": ["Politics", "Sports", "Technology", "Entertainment", "Business", "Other"],
            "description": "The category name",
            "title": "Name",
        },
        "score": {
            "type": "number",
            "description": "The classification score for the category, ranging from 0.0 to 1.0.",
            "title": "Score",
        },
    },
    "additionalProperties": False,
    "required": ["name", "score"],
}
CLASSIFICATIONS_SCHEMA = {
    "$defs": {"Classification": CLASSIFICATION},
    "type": "object",
    "description": "Array of classification results. The scores should sum to 1.",
    "title": "Classifications",
    "properties": {
        "classifications": {"type": "array", "title": "Classifications", "items": {"$ref": "#/$defs/Classification"}}
    },
    "additionalProperties": False,
    "required": ["classifications"],
}
CLASSIFICATIONS_FORMAT = {"type": "json_schema", "name": "classifications", "schema": CLASSIFICATIONS_SCHEMA}
WEATHER_PROMPT = "What's the weather in Berlin? (52.5200, 13.4050)"


@dataclass(frozen=True)
class ToolScenario:
    prompt: str
    tools: tuple[dict[str, Any], ...]
    #: (name, arguments) of every call the response makes, in order; arguments None: any JSON object (what a small
    #: local model puts in them is not judged)
    calls: tuple[tuple[str, dict[str, Any] | None], ...]
    #: the model asked, when it is not the case's (the model of the real recording that answers)
    model: str | None = None
    #: the answer carries the model's reasoning beside its calls
    reasoning: bool = False


@dataclass(frozen=True)
class JsonScenario:
    """What the response_format test asks: a prompt, the format, and a key the JSON answer must have."""

    prompt: str
    format: dict[str, Any]
    key: str
    #: the model asked, when it is not the case's (the model of the real recording that answers)
    model: str | None = None
    max_tokens: int = 64


JSON_RESULT = JsonScenario(JSON_PROMPT, JSON_SCHEMA_FORMAT, "result")
#: Anthropic's structured output (output_config.format): the prompt, schema and max_tokens of its real recording
ANTHROPIC_JSON = JsonScenario(CLASSIFY_PROMPT, CLASSIFICATIONS_FORMAT, "classifications", max_tokens=4096)


@dataclass(frozen=True)
class RoundTrip:
    """An answer sent back with ``to_message()``: the first turn's request, and the message that follows it when
    the answer called no tool (a tool call is followed by its result)."""

    prompt: str
    tools: tuple[dict[str, Any], ...] = ()
    follow_up: str = "Thank you. And in one word?"
    system: str | None = None
    stream: bool = False
    #: provider-specific fields that ask for the reasoning (``extra_body``), as the recording asked
    request: dict[str, Any] = field(default_factory=dict)
    #: the model asked, when it is not the case's reasoning model (the model of the real recording that answers)
    model: str | None = None


PARALLEL = ToolScenario(
    PARALLEL_PROMPT, (WEATHER, BEST_LANGUAGE), (("weather", BERLIN), ("best_language_to_learn", {}))
)
SINGLE = ToolScenario(WEATHER_PROMPT, (WEATHER,), (("weather", BERLIN),))
#: gemma-3-270m, recorded live, with the tool choice forcing get_weather: one call, its arguments a JSON object
GEMMA_TOOL = ToolScenario(TOOL_PROMPT, (GET_WEATHER_CITY,), (("get_weather", None),))
#: Groq's openai/gpt-oss-120b forced to call final_result, answering with reasoning beside the call (the tool of
#: pydantic-ai's recording groq/17)
FINAL_RESULT = {
    "name": "final_result",
    "description": "The final response which ends this conversation",
    "parameters": {
        "type": "object",
        "properties": {"response": {"type": "string", "enum": ["yes", "no"]}},
        "required": ["response"],
        "additionalProperties": False,
    },
}
GROQ_FORCED = ToolScenario(
    "Is Paris the capital of France? Answer yes or no with the final_result tool.",
    (FINAL_RESULT,),
    (("final_result", {"response": "yes"}),),
    model="openai/gpt-oss-120b",
    reasoning=True,
)


def _weather_in(name: str, description: str) -> dict[str, Any]:
    """The two tools of Together's recorded two-call stream (traceloop/openllmetry-js, together/08)."""
    return {
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    }


#: OpenRouter's Responses API asked by neuraxes/neurouter (its captured fixtures, 2026-07-31): openai/gpt-5-mini,
#: reasoning effort low, one get_weather call
NEUROUTER_WEATHER = {
    "name": "get_weather",
    "description": "Look up historical weather for a city on a specific date.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name in English."},
            "date": {"type": "string", "description": "Date in YYYY-MM-DD format."},
            "units": {"type": "string", "description": "Temperature unit.", "enum": ["metric", "imperial"]},
        },
        "required": ["city", "date"],
        "additionalProperties": False,
    },
}
NEUROUTER_SYSTEM = (
    "You are a conversion-test assistant. Call the requested tool exactly once and return no final prose before "
    "receiving its result."
)
NEUROUTER_PROMPT = (
    "Call get_weather for Shanghai on 2025-11-10 using metric units. Do not answer the weather from memory."
)
NEUROUTER_CALL = (("get_weather", {"city": "Shanghai", "date": "2025-11-10", "units": "metric"}),)
NEUROUTER_TOOL = ToolScenario(NEUROUTER_PROMPT, (NEUROUTER_WEATHER,), NEUROUTER_CALL, model="openai/gpt-5-mini")
NEUROUTER_STREAM_TOOL = ToolScenario(
    "First say exactly: Preparing the weather lookup. Then call get_weather for Shanghai on 2025-11-10 using metric "
    "units. Do not provide the weather from memory.",
    (NEUROUTER_WEATHER,),
    NEUROUTER_CALL,
    model="openai/gpt-5-mini",
)
NEUROUTER_JSON = JsonScenario(
    "Classify this router incident: customer traffic is slow in us-east, the OpenAI upstream is rate limited, the "
    "Anthropic upstream is healthy, and retry pressure is rising.",
    {
        "type": "json_schema",
        "name": "custom_schema",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                "affected_region": {"type": "string"},
                "primary_cause": {"type": "string"},
                "recommended_action": {"type": "string"},
                "signals": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
            "required": ["severity", "affected_region", "primary_cause", "recommended_action", "signals"],
        },
    },
    "severity",
    model="openai/gpt-5-mini",
    max_tokens=1024,
)

TOGETHER_TWO_CALLS = ToolScenario(
    "What's the weather today in Boston and what will the weather be tomorrow in Chicago?",
    (
        _weather_in("get_current_weather", "Get the current weather in a given location"),
        _weather_in("get_tomorrow_weather", "Get tomorrow's weather in a given location"),
    ),
    (
        ("get_current_weather", {"location": "Boston, MA", "unit": "fahrenheit"}),
        ("get_tomorrow_weather", {"location": "Chicago, IL", "unit": "fahrenheit"}),
    ),
    model="meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
)
#: OpenRouter's openai/gpt-4o-mini asked for a json_schema answer (posit-dev/chatlas's recording openrouter/14)
ARTICLE = (
    "\n# Apples are tasty\n\nBy Hadley Wickham\nApples are delicious and tasty and I like to eat them.\n"
    "Except for red delicious, that is. They are NOT delicious.\n"
)
OPENROUTER_JSON = JsonScenario(
    ARTICLE,
    {
        "type": "json_schema",
        "name": "structured_data",
        "schema": {
            "description": "Summary of the article",
            "properties": {"title": {"type": "string"}, "author": {"type": "string"}},
            "required": ["title", "author"],
            "type": "object",
            "additionalProperties": False,
        },
        "strict": True,
    },
    "title",
    model="openai/gpt-4o-mini-2024-07-18",
)


@dataclass(frozen=True)
class Case:
    preset: str
    model: str
    chat_url: str
    models_url: str
    key_env: str | None
    auth: str  # "bearer", "x-api-key" or "none"
    support: dict[str, str]
    tool: ToolScenario = SINGLE
    stream_tool: ToolScenario = SINGLE
    #: the named tool_choice test's scenario, when it is not ``tool``
    forced_tool: ToolScenario | None = None
    #: request options the tool-call tests add: a small local model calls a tool only when the tool choice forces it
    tool_options: dict[str, Any] = field(default_factory=dict)
    #: the tool-result follow-up carries the tools (a server whose parser fails on text with tools on auto: False)
    tool_result_tools: bool = True
    reasoning_model: str | None = None
    #: provider-specific request fields (``extra_body``) that turn reasoning on, where it must be asked for
    reasoning_request: dict[str, Any] = field(default_factory=dict)
    #: seconds the constructed/recorded 429 asks to wait
    retry_after: float | None = None
    #: extra keys for this provider's config table
    config: dict[str, Any] = field(default_factory=dict)
    #: the preset asks for usage in streams with stream_options (Mistral rejects the field and sends usage anyway)
    stream_options: bool = True
    #: request headers the preset adds on its own
    preset_headers: dict[str, str] = field(default_factory=dict)
    #: test id -> what a reader of the compatibility matrix must know beside the outcome
    caveats: dict[str, str] = field(default_factory=dict)
    #: keyword arguments that make this provider answer 400 (a request it rejects)
    bad_request: dict[str, Any] = field(default_factory=lambda: {"temperature": 5.0})
    #: keyword arguments that make this provider answer 5xx, when it can be provoked live
    server_error: dict[str, Any] = field(default_factory=dict)
    #: what the response_format test asks
    json_scenario: JsonScenario = JSON_RESULT
    #: the provider takes json_object only (DeepSeek's JSON mode): hamr sends a schema as json_object, with the schema
    #: in a system message
    json_object_only: bool = False
    #: the model the image test asks, when the contract model reads text only
    vision_model: str | None = None
    #: a model the models cassette lists, when its recording predates ``model``
    listed_model: str | None = None
    #: the provider id the case configures, when it is not the case's own (a preset switched to another protocol)
    provider: str | None = None
    #: the round_trip test (openai-responses)
    round_trip: RoundTrip | None = None

    @property
    def provider_id(self) -> str:
        return self.provider or self.preset

    @property
    def protocol(self) -> str:
        """The compatibility the case speaks: its config's, else its preset's."""
        preset = PRESETS.get(self.provider_id)
        return str(self.config.get("compatibility") or (preset.compatibility if preset else "openai-compatible"))

    def applies(self, test: str) -> bool:
        """Whether ``test`` is a test of this case's protocol at all."""
        return test in self.support

    def supports(self, test: str) -> bool:
        return self.applies(test) and not self.support[test].startswith("unsupported")


def _cloud(**overrides: str) -> dict[str, str]:
    """A hosted provider: everything recordable live with a key, except what cannot be provoked on demand."""
    support = dict.fromkeys(COMMON, LIVE)
    support.update(error_429=CONSTRUCTED, error_5xx=CONSTRUCTED, error_mid_stream=CONSTRUCTED)
    support.update(overrides)
    return support


def _llama_server(reasoning: str, **overrides: str) -> dict[str, str]:
    """An endpoint of the embedded llama-server: everything recordable live, except what a local server with
    gemma-3-270m cannot show (``reasoning``: how the endpoint would carry it, untested)."""
    support = dict.fromkeys(COMMON, LIVE)
    no_reasoning = unsupported(f"gemma-3-270m does not reason (llama-server's {reasoning} are untested)")
    support.update(
        reasoning=no_reasoning,
        reasoning_stream=no_reasoning,
        error_unknown_model=unsupported("llama-server answers any model id with the one model it serves"),
        error_429=unsupported("a local server does not rate-limit"),
        error_mid_stream=unsupported("not provoked: no request found that makes llama-server fail mid-stream"),
        image_input=unsupported(
            "the embedded gemma-3-270m runs without a vision projector (mmproj): llama-server answers 500"
        ),
    )
    support.update(overrides)
    return support


#: an image to a text-only model: llama-server answers 500 ("image input is not supported")
IMAGE_TO_TEXT_MODEL = {
    "messages": [
        {
            "role": "user",
            "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}],
        }
    ]
}


CASES: dict[str, Case] = {
    c.preset: c
    for c in (
        Case(
            "relay",
            "gemma-3-270m-it",
            "http://127.0.0.1:1234/v1/chat/completions",
            "http://127.0.0.1:1234/v1/models",
            None,
            "none",
            support={
                **dict.fromkeys(COMMON, LIVE),
                "stream_usage": unsupported(
                    "llama-cpp-python's server ignores stream_options and sends no usage in streams"
                ),
                "reasoning": CONSTRUCTED,
                "reasoning_stream": CONSTRUCTED,
                "error_401": unsupported("a local server takes no key"),
                "error_unknown_model": CONSTRUCTED,  # llama-cpp-python serves any model id with its one model
                "error_429": unsupported("a local server does not rate-limit"),
                "error_mid_stream": CONSTRUCTED,
                "image_input": unsupported(
                    "the embedded gemma-3-270m runs without a vision projector (mmproj): the server reads text only"
                ),
                # tried live: json_schema is a 500 ("Input should be 'text' or 'json_object'"); with json_object
                # the model's object did not close within the test's 64 tokens
                "response_format": unsupported(
                    "llama-cpp-python's server takes json_object only, and gemma-3-270m's object overran 64 tokens"
                ),
            },
            tool=GEMMA_TOOL,
            stream_tool=GEMMA_TOOL,
            # gemma-3-270m calls a tool only when forced; llama-cpp-python honours a named choice with a grammar
            tool_options={"tool_choice": {"name": "get_weather"}, "temperature": 0.0},
            reasoning_model="qwen3",
            # a prompt longer than the 2048-token context: llama.cpp answers 400 context_length_exceeded
            bad_request=LONG_PROMPT,
            # a content part the server's schema rejects: llama-cpp-python answers 500 for request validation errors
            server_error={"messages": [{"role": "user", "content": [{"type": "video_url", "video_url": "x"}]}]},
        ),
        Case(
            "local-anthropic",
            "gemma-3-270m-q4_k_m.gguf",
            "http://127.0.0.1:8081/v1/messages",
            "http://127.0.0.1:8081/v1/models?limit=1000",
            "LLAMA_API_KEY",
            "x-api-key",
            support=_llama_server("thinking blocks"),
            tool=GEMMA_TOOL,
            stream_tool=GEMMA_TOOL,
            # the functionary template's tool grammar: a forced call; "required" is {"type": "any"} on the wire
            tool_options={"tool_choice": "required", "temperature": 0.0},
            # with tools on auto the template's parser cannot take gemma's text answer (500); the server ignores
            # {"type": "none"}, so the follow-up goes without tools
            tool_result_tools=False,
            config={
                "base_url": "http://127.0.0.1:8081",
                "compatibility": "anthropic-compatible",
                "api_key_env": "LLAMA_API_KEY",
            },
            stream_options=False,
            bad_request=LONG_PROMPT,
            server_error=IMAGE_TO_TEXT_MODEL,
        ),
        Case(
            "local-responses",
            "gemma-3-270m-q4_k_m.gguf",
            "http://127.0.0.1:8081/v1/responses",
            "http://127.0.0.1:8081/v1/models",
            "LLAMA_API_KEY",
            "bearer",
            support=_llama_server(
                "reasoning items",
                # tried live: a named tool_choice is a 500 ("does not match the expected peg-native format")
                tool_choice=unsupported("llama-server answers 500 to a named tool_choice on /v1/responses"),
                # tried live: json_object and json_schema are taken, and gemma-3-270m's answer is not JSON
                response_format=unsupported(
                    "llama-server takes text.format but does not hold the answer to it: gemma-3-270m's is not JSON"
                ),
                round_trip=unsupported(
                    "gemma-3-270m sends no reasoning items (the smoke run's tool round trip sends its function_call "
                    "items back)"
                ),
            ),
            tool=GEMMA_TOOL,
            stream_tool=GEMMA_TOOL,
            # the functionary template's tool grammar: a forced call
            tool_options={"tool_choice": "required", "temperature": 0.0},
            # with tools on auto the template's parser cannot take gemma's text answer (500)
            tool_result_tools=False,
            config={
                "base_url": "http://127.0.0.1:8081/v1",
                "compatibility": RESPONSES,
                "api_key_env": "LLAMA_API_KEY",
            },
            stream_options=False,
            bad_request=LONG_PROMPT,
            server_error=IMAGE_TO_TEXT_MODEL,
        ),
        Case(
            "custom",
            "acme-chat-1",
            "https://llm.example.invalid/v1/chat/completions",
            "https://llm.example.invalid/v1/models",
            "ACME_API_KEY",
            "bearer",
            support={
                **dict.fromkeys(COMMON, CONSTRUCTED),
                "reasoning": unsupported("the plain OpenAI chat-completions format has no reasoning field"),
                "reasoning_stream": unsupported("the plain OpenAI chat-completions format has no reasoning field"),
            },
            retry_after=3,
            config={"base_url": "https://llm.example.invalid/v1", "api_key_env": "ACME_API_KEY"},
        ),
        Case(
            "deepseek",
            "deepseek-chat",
            "https://api.deepseek.com/chat/completions",
            "https://api.deepseek.com/models",
            "DEEPSEEK_API_KEY",
            "bearer",
            support=_cloud(),
            tool=PARALLEL,
            reasoning_model="deepseek-reasoner",
            json_object_only=True,
            vision_model="deepseek-flash",
        ),
        Case(
            "openrouter",
            "anthropic/claude-haiku-4.5",
            "https://openrouter.ai/api/v1/chat/completions",
            "https://openrouter.ai/api/v1/models",
            "OPENROUTER_API_KEY",
            "bearer",
            support=_cloud(),
            reasoning_model="deepseek/deepseek-r1",
            reasoning_request={"reasoning": {"effort": "low"}},
            preset_headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-OpenRouter-Title": "hamr"},
            listed_model="anthropic/claude-3.7-sonnet",
            json_scenario=OPENROUTER_JSON,
        ),
        Case(
            "groq",
            "llama-3.3-70b-versatile",
            "https://api.groq.com/openai/v1/chat/completions",
            "https://api.groq.com/openai/v1/models",
            "GROQ_API_KEY",
            "bearer",
            support=_cloud(),
            tool=ToolScenario(
                "What's the weather in Paris?", (GET_WEATHER_CITY,), (("get_weather", {"city": "Paris"}),)
            ),
            forced_tool=GROQ_FORCED,
            reasoning_model="deepseek-r1-distill-llama-70b",
            retry_after=7,
            vision_model="meta-llama/llama-4-scout-17b-16e-instruct",
            listed_model="llama3-70b-8192",
        ),
        Case(
            "anthropic",
            "claude-haiku-4-5-20251001",
            "https://api.anthropic.com/v1/messages",
            "https://api.anthropic.com/v1/models?limit=1000",
            "ANTHROPIC_API_KEY",
            "x-api-key",
            support=_cloud(),
            tool=PARALLEL,
            reasoning_model="claude-haiku-4-5-20251001",
            retry_after=12,
            stream_options=False,
            reasoning_request={"thinking": {"type": "enabled", "budget_tokens": 1024}},
            json_scenario=ANTHROPIC_JSON,
        ),
        Case(
            "mistral",
            "mistral-small-latest",
            "https://api.mistral.ai/v1/chat/completions",
            "https://api.mistral.ai/v1/models",
            "MISTRAL_API_KEY",
            "bearer",
            support=_cloud(),
            tool=PARALLEL,
            reasoning_model="magistral-small-latest",
            stream_options=False,
        ),
        Case(
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "https://api.together.xyz/v1/chat/completions",
            "https://api.together.xyz/v1/models",
            "TOGETHER_API_KEY",
            "bearer",
            support=_cloud(),
            tool=ToolScenario(
                "What is the weather in Paris right now?",
                (GET_CURRENT_WEATHER,),
                (("get_current_weather", {"city": "Paris"}),),
            ),
            stream_tool=TOGETHER_TWO_CALLS,
            reasoning_model="deepseek-ai/DeepSeek-R1",
            retry_after=2,
            vision_model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
        ),
        # the openai-responses protocol: OpenAI's own API (the openai preset), and two presets switched to it
        Case(
            "openai",
            "gpt-4o",
            "https://api.openai.com/v1/responses",
            "https://api.openai.com/v1/models",
            "OPENAI_API_KEY",
            "bearer",
            support={**_cloud(), "round_trip": LIVE},
            tool=ToolScenario(
                "What is the capital of PotatoLand?", (GET_CAPITAL,), (("get_capital", {"country": "PotatoLand"}),)
            ),
            stream_tool=ToolScenario(
                "What is the capital of France?", (GET_CAPITAL,), (("get_capital", {"country": "France"}),)
            ),
            forced_tool=ToolScenario(
                "What is the weather in Paris?", (GET_WEATHER_CITY,), (("get_weather", {"city": "Paris"}),)
            ),
            reasoning_model="gpt-5",
            reasoning_request={"reasoning": {"effort": "high", "summary": "detailed"}},
            retry_after=2,
            stream_options=False,
            bad_request={"temperature": -1},
            json_scenario=JsonScenario(
                JSON_PROMPT,
                {"type": "json_schema", "name": "CityLocation", "schema": CITY_LOCATION, "strict": True},
                "city",
            ),
            round_trip=RoundTrip(
                SAMIRA, (UPDATE_PLAN,), system=PLANNER, request={"reasoning": {"effort": "low", "summary": "detailed"}}
            ),
        ),
        Case(
            "openrouter-responses",
            "openai/gpt-oss-20b",
            "https://openrouter.ai/api/v1/responses",
            "https://openrouter.ai/api/v1/models",
            "OPENROUTER_API_KEY",
            "bearer",
            support={**_cloud(), "round_trip": LIVE},
            provider="openrouter",
            config={"compatibility": RESPONSES},
            tool=NEUROUTER_TOOL,
            stream_tool=NEUROUTER_STREAM_TOOL,
            forced_tool=SINGLE,
            reasoning_model="openai/gpt-oss-20b",
            stream_options=False,
            preset_headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-OpenRouter-Title": "hamr"},
            json_scenario=NEUROUTER_JSON,
            vision_model="openai/gpt-5-mini",
            listed_model="anthropic/claude-3.7-sonnet",
            round_trip=RoundTrip(
                NEUROUTER_PROMPT,
                (NEUROUTER_WEATHER,),
                system=NEUROUTER_SYSTEM,
                request={"reasoning": {"effort": "low", "summary": "auto"}},
                model="openai/gpt-5-mini",
            ),
        ),
        Case(
            "deepseek-responses",
            "deepseek-v4-flash",
            "https://api.deepseek.com/responses",
            "https://api.deepseek.com/models",
            "DEEPSEEK_API_KEY",
            "bearer",
            support={**_cloud(), "round_trip": LIVE},
            provider="deepseek",
            config={"compatibility": RESPONSES},
            tool=ToolScenario(
                "What is the temperature in Tokyo?", (GET_TEMPERATURE,), (("get_temperature", {"city": "Tokyo"}),)
            ),
            stream_tool=ToolScenario(
                "What is the temperature in Tokyo?", (GET_TEMPERATURE,), (("get_temperature", {"city": "Tokyo"}),)
            ),
            reasoning_model="deepseek-v4-flash",
            reasoning_request={"reasoning": {"effort": "high"}},
            stream_options=False,
            vision_model="deepseek-flash",
            listed_model="deepseek-chat",
            round_trip=RoundTrip("What is the temperature in Tokyo?", (GET_TEMPERATURE,)),
        ),
    )
}
