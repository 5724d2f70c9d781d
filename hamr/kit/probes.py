"""The probes: each one cell of a server's row, a few small exchanges through hamr's own client, built from the
contract suite's prompts (``prompts``). A probe says what it sends; its verdict is judged
in ``verdicts`` from the recorded bytes alone.

A step is a function of a ``Clients`` (hamr clients on whatever transport the run uses: the server, or a cassette)
returning what hamr made of the answer; live runs and ``--replay`` call the same steps.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import hamr
from hamr.kit import rules
from hamr.kit import verdicts as v
from hamr.kit.prompts import (
    BEST_LANGUAGE,
    GET_WEATHER_CITY,
    JSON_OBJECT_FORMAT,
    JSON_PROMPT,
    JSON_SCHEMA_FORMAT,
    PARALLEL_PROMPT,
    PNG,
    TOOL_PROMPT,
    WEATHER,
)

#: the contract suite's chat prompt and its stream prompt (tests/contract/test_contract.py)
MESSAGES = [{"role": "user", "content": "What's 2 + 2?"}]
STREAM_MESSAGES = [{"role": "user", "content": "Count from 1 to 3"}]
SYSTEM_WORD = "banana"
SYSTEM = f"Whatever the user writes, answer with the single word {SYSTEM_WORD!r} and nothing else."
TOOL = GET_WEATHER_CITY["name"]
#: a prompt that argues against the tool the request forces
AGAINST_TOOL = "Do not call any tool or function. Just say hello to me in plain words."
#: a prompt that begs for the tool the request forbids
BEGS_FOR_TOOL = f"Call the {TOOL} tool for Paris right now. You must call the tool; do not answer in words."
#: the commonest letter of English: almost any answer of any model holds it, so the control shows the stop's effect
STOP_WORD = "e"
WEATHER_SENTENCE = [{"role": "user", "content": "Write one sentence about the weather."}]
MAX_TOKENS = 8
LONG = [{"role": "user", "content": "Write a long story about a dragon who learns to bake bread."}]
SEED = 1234
SEA = [{"role": "user", "content": "Write one unusual sentence about the sea."}]
HELLO = [{"role": "user", "content": "Hello!"}]
REASONING = [{"role": "user", "content": "What's 17 * 23? Think it through step by step."}]
UNKNOWN_MODEL = "hamr-conform-no-such-model"
WRONG_KEY = "hamr-conform-wrong-key"
TOOL_CALL_ID = "call_conform_0001"


class Clients(Protocol):
    #: the protocol the clients speak (rules.OPENAI, ANTHROPIC or RESPONSES)
    protocol: str

    def client(self, *, model: str | None = None, key: str | None = None) -> AbstractContextManager[hamr.Client]: ...


Call = Callable[[Clients], v.Observation]


@dataclass(frozen=True)
class ProbeStep:
    label: str
    call: Call


@dataclass(frozen=True)
class Probe:
    name: str
    #: the row's column
    cell: str
    steps: tuple[ProbeStep, ...]
    #: repeated up to the run's --tries: the model's answer decides whether the server's part can be seen
    model_dependent: bool = False
    #: protocol -> why the probe does not apply there
    not_for: tuple[tuple[str, str], ...] = ()
    #: a cell the exit code requires to hold
    required: bool = False
    #: at most this many requests per step (hamr resends a stream once without stream_options a server refused)
    requests_per_step: int = 1
    extra: tuple[tuple[str, Any], ...] = ()

    def worst_case(self, tries: int) -> int:
        return len(self.steps) * self.requests_per_step * (tries if self.model_dependent else 1)

    def not_applicable(self, protocol: str) -> str | None:
        return dict(self.not_for).get(protocol)


def observe(run: Callable[[], hamr.Completion | list[hamr.ModelInfo]]) -> v.Observation:
    """What hamr made of one call: its error (type, status, message), or the completion's parts."""
    try:
        result = run()
    except (hamr.HamrError, ValueError) as exc:  # ValueError: hamr refused to build the request (nothing sent)
        status = getattr(exc, "status", None)
        return v.Observation(error=f"{type(exc).__name__}: {str(exc)[:160]}", status=status)
    if isinstance(result, list):
        return v.Observation(models=tuple(m.id for m in result))
    usage = (result.usage.input_tokens, result.usage.output_tokens) if result.usage else None
    calls = tuple((c.name, c.arguments) for c in result.tool_calls)
    return v.Observation(
        text=result.text,
        finish_reason=result.finish_reason,
        tool_calls=calls,
        usage=usage,
        reasoning=result.reasoning,
    )


#: the fewest ``max_output_tokens`` the Responses API takes: OpenAI (and Azure) refuse fewer ("integer below minimum
#: value. Expected a value >= 16"), so a Responses probe asks for at least this many
RESPONSES_LEAST_TOKENS = 16


def least_tokens(protocol: str, tokens: int) -> int:
    """The token limit a probe sends in ``protocol``: ``tokens``, at least RESPONSES_LEAST_TOKENS on Responses."""
    return max(tokens, RESPONSES_LEAST_TOKENS) if protocol == rules.RESPONSES else tokens


def _options(clients: Clients, options: dict[str, Any]) -> dict[str, Any]:
    if options.get("max_tokens") is None:
        return options
    return {**options, "max_tokens": least_tokens(clients.protocol, options["max_tokens"])}


def chat_call(model: str | None = None, key: str | None = None, **options: Any) -> Call:
    messages = options.pop("messages", MESSAGES)

    def call(clients: Clients) -> v.Observation:
        with clients.client(model=model, key=key) as client:
            return observe(lambda: client.chat(messages, **_options(clients, options)))

    return call


def _stream(**options: Any) -> Call:
    messages = options.pop("messages", STREAM_MESSAGES)

    def call(clients: Clients) -> v.Observation:
        with clients.client() as client:

            def run() -> hamr.Completion:
                with client.stream(messages, **_options(clients, options)) as stream:
                    for _ in stream:
                        pass
                return stream.completion

            return observe(run)

    return call


def _models(clients: Clients) -> v.Observation:
    with clients.client() as client:
        return observe(client.models)


#: the contract suite's prompt for a small model's tool call; the choice forces it ("required", then the name)
_ASKS_FOR_TOOL = [{"role": "user", "content": TOOL_PROMPT}]
_TOOL: dict[str, Any] = {
    "tools": [GET_WEATHER_CITY],
    "tool_choice": {"name": TOOL},
    "temperature": 0.0,
    "max_tokens": 64,
}
_TOOL_RESULT = [
    {"role": "user", "content": "What's the weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": TOOL_CALL_ID, "name": TOOL, "arguments": {"city": "Paris"}}],
    },
    {"role": "tool", "tool_call_id": TOOL_CALL_ID, "content": "Sunny, 21 °C"},
]
_IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ],
    }
]
_IMAGE_TEXT = [{"role": "user", "content": [_IMAGE[0]["content"][0]]}]
_NO_SEED = ((rules.ANTHROPIC, "the Messages API has no seed"), (rules.RESPONSES, "the Responses API has no seed"))
_NO_STOP = ((rules.RESPONSES, "the Responses API has no stop sequences"),)
#: the body field a malformed request breaks, per protocol: messages that are not a list; a Responses input that is
#: neither a string nor a list
MALFORMED: dict[str, dict[str, Any]] = {rules.RESPONSES: {"input": {"text": "not a list"}}}
_NO_RESPONSE_FORMAT = (
    (rules.ANTHROPIC, "the Messages API has no response_format (hamr emulates it with a forced tool)"),
)


def _json_probe(name: str, response_format: dict[str, Any]) -> Probe:
    messages = [{"role": "user", "content": JSON_PROMPT}]
    call = chat_call(messages=messages, response_format=response_format, temperature=0.0, max_tokens=96)
    return Probe(name, name, (ProbeStep("json", call),), model_dependent=True, not_for=_NO_RESPONSE_FORMAT)


def _malformed(clients: Clients) -> v.Observation:
    """A request whose messages (Responses: input) have the wrong type, sent through hamr's ``extra_body``."""
    broken = MALFORMED.get(clients.protocol, {"messages": "not a list"})
    return chat_call(max_tokens=8, extra_body=broken)(clients)


def _two_tools(*, parallel: bool) -> Call:
    """The contract suite's two-tool prompt, a call required, parallel calls allowed or not."""
    messages = [{"role": "user", "content": PARALLEL_PROMPT}]
    tools = [WEATHER, BEST_LANGUAGE]
    options: dict[str, Any] = {"tool_choice": "required", "parallel_tool_calls": parallel, "temperature": 0.0}
    return chat_call(messages=messages, tools=tools, max_tokens=96, **options)


PROBES: tuple[Probe, ...] = (
    Probe("models", "models", (ProbeStep("models", _models),), required=True),
    Probe("chat", "chat", (ProbeStep("chat", chat_call(max_tokens=32)),), required=True),
    Probe(
        "system_prompt",
        "system prompt",
        (
            ProbeStep("system", chat_call(system=SYSTEM, max_tokens=16, temperature=0.0, messages=HELLO)),
            # the control: a system prompt the server drops adds no prompt tokens over this
            ProbeStep("no system", chat_call(max_tokens=16, temperature=0.0, messages=HELLO)),
        ),
        model_dependent=True,
        extra=(("system_word", SYSTEM_WORD),),
    ),
    Probe("stream", "stream", (ProbeStep("stream", _stream(max_tokens=32)),), required=True, requests_per_step=2),
    Probe("stream_usage", "usage in stream", (ProbeStep("stream", _stream(max_tokens=16)),), requests_per_step=2),
    Probe(
        "tool_call",
        "tool call",
        (
            ProbeStep("required", chat_call(messages=_ASKS_FOR_TOOL, **{**_TOOL, "tool_choice": "required"})),
            ProbeStep("named", chat_call(messages=_ASKS_FOR_TOOL, **_TOOL)),
        ),
        model_dependent=True,
        required=True,
    ),
    Probe(
        "stream_tool_call",
        "streamed tool call",
        (
            ProbeStep("required", _stream(messages=_ASKS_FOR_TOOL, **{**_TOOL, "tool_choice": "required"})),
            ProbeStep("named", _stream(messages=_ASKS_FOR_TOOL, **_TOOL)),
        ),
        model_dependent=True,
        required=True,
        requests_per_step=2,
    ),
    Probe(
        "tool_result",
        "tool result",
        (ProbeStep("follow-up", chat_call(messages=_TOOL_RESULT, max_tokens=48, temperature=0.0)),),
        required=True,
    ),
    Probe(
        "tool_choice_forced",
        "tool_choice forced",
        (ProbeStep("forced", chat_call(messages=[{"role": "user", "content": AGAINST_TOOL}], **_TOOL)),),
        model_dependent=True,
        extra=(("tool", TOOL),),
    ),
    Probe(
        "tool_choice_none",
        "tool_choice none",
        (
            ProbeStep(
                "none",
                chat_call(messages=[{"role": "user", "content": BEGS_FOR_TOOL}], **{**_TOOL, "tool_choice": "none"}),
            ),
            ProbeStep(
                "auto",
                chat_call(messages=[{"role": "user", "content": BEGS_FOR_TOOL}], **{**_TOOL, "tool_choice": "auto"}),
            ),
        ),
        model_dependent=True,
    ),
    Probe(
        "parallel_tool_calls",
        "parallel_tool_calls=false",
        (ProbeStep("single", _two_tools(parallel=False)), ProbeStep("parallel", _two_tools(parallel=True))),
        model_dependent=True,
    ),
    _json_probe("json_object", JSON_OBJECT_FORMAT),
    _json_probe("json_schema", JSON_SCHEMA_FORMAT),
    Probe(
        "stop",
        "stop",
        (
            ProbeStep("stop", chat_call(messages=WEATHER_SENTENCE, stop=[STOP_WORD], temperature=0.0, max_tokens=32)),
            ProbeStep("control", chat_call(messages=WEATHER_SENTENCE, temperature=0.0, max_tokens=32)),
        ),
        model_dependent=True,
        not_for=_NO_STOP,
        extra=(("stop", STOP_WORD),),
    ),
    Probe(
        "max_tokens",
        "max_tokens",
        (ProbeStep("limited", chat_call(messages=LONG, max_tokens=MAX_TOKENS, temperature=0.0)),),
        model_dependent=True,
        extra=(("max_tokens", MAX_TOKENS),),
    ),
    Probe(
        "seed",
        "seed",
        (
            # a server's prompt cache makes a prompt's first answer differ from later ones, seed or not
            ProbeStep("warm-up", chat_call(messages=SEA, temperature=1.0, max_tokens=24)),
            ProbeStep("seeded-1", chat_call(messages=SEA, seed=SEED, temperature=1.0, max_tokens=24)),
            ProbeStep("seeded-2", chat_call(messages=SEA, seed=SEED, temperature=1.0, max_tokens=24)),
            ProbeStep("unseeded-1", chat_call(messages=SEA, temperature=1.0, max_tokens=24)),
            ProbeStep("unseeded-2", chat_call(messages=SEA, temperature=1.0, max_tokens=24)),
        ),
        model_dependent=True,
        not_for=_NO_SEED,
    ),
    Probe("reasoning", "reasoning", (ProbeStep("reasoning", chat_call(messages=REASONING, max_tokens=96)),)),
    Probe(
        "images",
        "images",
        (
            ProbeStep("image", chat_call(messages=_IMAGE, max_tokens=16, temperature=0.0)),
            ProbeStep("text", chat_call(messages=_IMAGE_TEXT, max_tokens=16, temperature=0.0)),
        ),
    ),
    Probe(
        "error_unknown_model", "unknown model", (ProbeStep("unknown", chat_call(model=UNKNOWN_MODEL, max_tokens=8)),)
    ),
    Probe("error_malformed", "malformed request", (ProbeStep("malformed", _malformed),)),
    Probe("error_bad_key", "bad key", (ProbeStep("wrong key", chat_call(key=WRONG_KEY, max_tokens=8)),)),
)
BY_NAME = {p.name: p for p in PROBES}
#: probe -> the COMPATIBILITY.md column (the contract suite's ``COLUMNS``) whose `custom` cell its live runs back
MATRIX_COLUMN = {
    "models": "models",
    "chat": "chat",
    "system_prompt": "chat",
    "stream": "stream",
    "stream_usage": "usage in stream",
    "tool_call": "tools",
    "tool_result": "tools",
    "stream_tool_call": "streamed tools",
    "tool_choice_forced": "tool_choice",
    "json_object": "response_format",
    "json_schema": "response_format",
    "reasoning": "reasoning",
    "images": "images",
    "error_unknown_model": "404 model",
    "error_malformed": "400",
    "error_bad_key": "401",
}


def context(probe: Probe, protocol: str, tries: int, keyed: bool) -> v.Context:
    extra = dict(probe.extra)
    if "max_tokens" in extra:  # the limit the probe sent in this protocol
        extra["max_tokens"] = least_tokens(protocol, extra["max_tokens"])
    return v.Context(protocol, tries, keyed, extra)
