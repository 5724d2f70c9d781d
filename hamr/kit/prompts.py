"""The prompts, tools and formats the kit's probes send, shared with the contract suite (``tests/contract``), whose
cassettes hold the real recordings made with them."""

from __future__ import annotations

from typing import Any

# The tools of the reference recordings (crmne/ruby_llm's suite and others), so cassettes can serve real bodies.
WEATHER: dict[str, Any] = {
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
BEST_LANGUAGE: dict[str, Any] = {
    "name": "best_language_to_learn",
    "description": "Gets the best language to learn",
    "parameters": {"type": "object", "properties": {}},
}
GET_WEATHER_CITY: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
#: a 1x1 transparent PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
#: the prompt of the real DeepSeek JSON-mode recording, and a schema its answer ({"result": 8}) follows
JSON_PROMPT = "What is the square root of 64? Answer with a JSON object with the key `result`."
RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"result": {"type": "integer"}},
    "required": ["result"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT: dict[str, Any] = {"type": "json_schema", "name": "result", "schema": RESULT_SCHEMA, "strict": True}
JSON_OBJECT_FORMAT: dict[str, Any] = {"type": "json_object"}
PARALLEL_PROMPT = "What's the weather in Berlin (52.5200, 13.4050) and what's the best language to learn?"

#: gemma-3-270m, recorded live, with the tool choice forcing get_weather: one call, its arguments a JSON object
TOOL_PROMPT = "What is the weather in Paris right now? Use the get_weather tool."
