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

# The tools of the reference recordings (crmne/ruby_llm's suite and others), so cassettes can serve real bodies.
WEATHER = {
    "name": "weather",
    "description": "Gets current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {
            "latitude": {"type": "string", "description": "Latitude (e.g., 52.5200)"},
            "longitude": {"type": "string", "description": "Longitude (e.g., 13.4050)"},
        },
        "required": ["latitude", "longitude"],
    },
}
BEST_LANGUAGE = {
    "name": "best_language_to_learn",
    "description": "Gets the best language to learn",
    "parameters": {"type": "object", "properties": {}},
}
GET_WEATHER_CITY = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
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
#: a 1x1 transparent PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
#: llama.cpp's context (both local servers): a prompt longer than it is a real 400
LONG_PROMPT = {"messages": [{"role": "user", "content": "word " * 2100}], "max_tokens": 5}
#: the prompt of the real DeepSeek JSON-mode recording, and a schema its answer ({"result": 8}) follows
JSON_PROMPT = "What is the square root of 64? Answer with a JSON object with the key `result`."
RESULT_SCHEMA = {
    "type": "object",
    "properties": {"result": {"type": "integer"}},
    "required": ["result"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "name": "result", "schema": RESULT_SCHEMA, "strict": True}
JSON_OBJECT_FORMAT = {"type": "json_object"}
PARALLEL_PROMPT = "What's the weather in Berlin (52.5200, 13.4050) and what's the best language to learn?"
WEATHER_PROMPT = "What's the weather in Berlin? (52.5200, 13.4050)"


@dataclass(frozen=True)
class ToolScenario:
    prompt: str
    tools: tuple[dict[str, Any], ...]
    #: (name, arguments) of every call the response makes, in order; arguments None: any JSON object (what a small
    #: local model puts in them is not judged)
    calls: tuple[tuple[str, dict[str, Any] | None], ...]


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


PARALLEL = ToolScenario(
    PARALLEL_PROMPT, (WEATHER, BEST_LANGUAGE), (("weather", BERLIN), ("best_language_to_learn", {}))
)
SINGLE = ToolScenario(WEATHER_PROMPT, (WEATHER,), (("weather", BERLIN),))
#: gemma-3-270m, recorded live, with the tool choice forcing get_weather: one call, its arguments a JSON object
GEMMA_TOOL = ToolScenario(
    "What is the weather in Paris right now? Use the get_weather tool.", (GET_WEATHER_CITY,), (("get_weather", None),)
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
    #: the response_format this provider takes (DeepSeek documents JSON mode only: json_object)
    json_format: dict[str, Any] = field(default_factory=lambda: dict(JSON_SCHEMA_FORMAT))
    #: the model the image test asks, when the contract model reads text only
    vision_model: str | None = None
    #: a model the models cassette lists, when its recording predates ``model``
    listed_model: str | None = None
    #: the provider id the case configures, when it is not the case's own (a preset switched to another protocol)
    provider: str | None = None
    #: the tool the tool_choice test forces, when its recording forced another than ``tool``'s
    choice_tool: ToolScenario | None = None
    #: a key the JSON answer of the response_format test holds
    json_key: str = "result"
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
            support={
                **dict.fromkeys(COMMON, LIVE),
                "reasoning": unsupported("gemma-3-270m does not reason (llama-server's thinking blocks are untested)"),
                "reasoning_stream": unsupported(
                    "gemma-3-270m does not reason (llama-server's thinking blocks are untested)"
                ),
                "error_unknown_model": unsupported("llama-server answers any model id with the one model it serves"),
                "error_429": unsupported("a local server does not rate-limit"),
                "error_mid_stream": unsupported(
                    "not provoked: no request found that makes llama-server fail mid-stream"
                ),
                "image_input": unsupported(
                    "the embedded gemma-3-270m runs without a vision projector (mmproj): llama-server answers 500"
                ),
            },
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
            # an image to a text-only model: llama-server answers 500 ("image input is not supported")
            server_error={
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
                        ],
                    }
                ]
            },
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
            json_format=dict(JSON_OBJECT_FORMAT),
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
            preset_headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-Title": "hamr"},
            listed_model="anthropic/claude-3.7-sonnet",
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
            reasoning_model="deepseek-r1-distill-llama-70b",
            retry_after=7,
            vision_model="meta-llama/llama-4-scout-17b-16e-instruct",
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
            choice_tool=ToolScenario(
                "What is the weather in Paris?", (GET_WEATHER_CITY,), (("get_weather", {"city": "Paris"}),)
            ),
            reasoning_model="gpt-5",
            reasoning_request={"reasoning": {"effort": "high", "summary": "detailed"}},
            retry_after=2,
            stream_options=False,
            bad_request={"temperature": -1},
            json_format={"type": "json_schema", "name": "CityLocation", "schema": CITY_LOCATION, "strict": True},
            json_key="city",
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
            reasoning_model="openai/gpt-oss-20b",
            stream_options=False,
            preset_headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-Title": "hamr"},
            listed_model="anthropic/claude-3.7-sonnet",
            round_trip=RoundTrip("What is 2+2?", stream=True),
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
