"""The neutral values hamr hands back: completions, tool calls, usage, stream events, model info."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: finish_reason values every protocol is normalised to; an unknown provider value passes through unchanged.
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter")


@dataclass(frozen=True)
class Usage:
    """Token counts of one request.

    ``input_tokens`` is the whole prompt as billed, cached parts included (OpenAI's ``prompt_tokens``;
    for Anthropic, ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``).
    ``cache_read_tokens`` and ``cache_write_tokens`` are the parts of it read from or written to a prompt cache.
    ``cost`` is a USD cost the provider itself reported (OpenRouter ``usage.cost``), else ``None``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float | None = None
    #: the part of ``cache_write_tokens`` written to Anthropic's 1-hour cache
    #: (``usage.cache_creation.ephemeral_1h_input_tokens``); priced at ``cache_write_1h_price_per_1m_tokens``
    cache_write_1h_tokens: int = 0
    #: where Anthropic ran the request (``usage.inference_geo``): ``"us"`` is billed at 1.1 times the token prices
    inference_geo: str | None = None
    #: on an OpenRouter BYOK request (``usage.is_byok``), what the upstream provider bills on your own key
    #: (``cost_details.upstream_inference_cost``), on top of OpenRouter's fee in ``cost``
    upstream_cost: float | None = None
    #: Anthropic's ``usage.iterations``: every sampling step the request was billed for, when there were steps
    #: beyond the answer itself (a compaction, an advisor call); then the bill is their sum, each at its own model's
    #: price, and the counts above are the top level Anthropic reports, which leaves those steps out
    iterations: tuple[UsageIteration, ...] = ()

    @property
    def uncached_input_tokens(self) -> int:
        return max(self.input_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)


@dataclass(frozen=True)
class UsageIteration:
    """One sampling step of an Anthropic request (an entry of ``usage.iterations``). ``type`` is ``"message"`` (the
    request's model answering), ``"compaction"`` (the request's model summarising the conversation),
    ``"advisor_message"`` (the advisor tool's model, named in ``model``) or a kind hamr does not know; ``model`` is
    the model the entry names, None when it names none (the request's own)."""

    type: str
    model: str | None
    usage: Usage


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call. ``arguments`` is the parsed JSON object; when the model sent arguments that are not a
    JSON object, ``arguments`` is empty, ``raw_arguments`` keeps exactly what was sent and ``arguments_error`` says why.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str = ""
    arguments_error: str | None = None

    @classmethod
    def from_raw(cls, id: str, name: str, raw: str) -> ToolCall:
        if raw.strip() == "":
            return cls(id=id, name=name, arguments={}, raw_arguments=raw)
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            return cls(id, name, {}, raw, f"arguments are not valid JSON: {exc}")
        if not isinstance(parsed, dict):
            return cls(id, name, {}, raw, f"arguments are JSON {type(parsed).__name__}, not an object")
        return cls(id=id, name=name, arguments=parsed, raw_arguments=raw)


@dataclass(frozen=True)
class ReasoningBlock:
    """One block of reasoning as the provider sent it, kept so it can be sent back verbatim (Anthropic thinking
    blocks must return with their ``signature``; ``redacted`` holds the data of a ``redacted_thinking`` block;
    ``details`` is an OpenRouter ``reasoning_details`` entry, which goes back exactly as received)."""

    text: str
    signature: str | None = None
    redacted: str | None = None
    details: dict[str, Any] | None = field(default=None, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (what ``Completion.to_message`` puts in ``reasoning_blocks``)."""
        out: dict[str, Any] = {"text": self.text}
        for name in ("signature", "redacted", "details"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_value(cls, value: Any, where: str = "reasoning_blocks") -> ReasoningBlock:
        """A ReasoningBlock from itself or from its ``to_dict`` form; anything else is a ValueError naming ``where``."""
        if isinstance(value, cls):
            return value
        strings = ("text", "signature", "redacted")
        if (
            not isinstance(value, Mapping)
            or not set(value) <= {*strings, "details"}
            or any(value.get(k) is not None and not isinstance(value[k], str) for k in strings)
            or (value.get("details") is not None and not isinstance(value["details"], Mapping))
        ):
            raise ValueError(f"{where} must be a ReasoningBlock or a dict with text/signature/redacted/details")
        details = value.get("details")
        return cls(
            text=value.get("text") or "",
            signature=value.get("signature"),
            redacted=value.get("redacted"),
            details=dict(details) if details is not None else None,
        )


@dataclass(frozen=True)
class RateLimit:
    """One of the provider's limits as its response headers stated it: how many it allows in its window (``limit``),
    how many are left (``remaining``), and in how many seconds from that response the window resets (``reset``);
    None for what the provider did not say (or said in a form hamr cannot read)."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None


@dataclass(frozen=True)
class RateLimits:
    """What the provider said about its rate limits on one response (README, "What an answer says"): its requests,
    tokens, input-token and output-token limits (Anthropic states all four; OpenAI-style servers requests and
    tokens), and ``retry_after``, the seconds its ``retry-after`` / ``retry-after-ms`` header asked to wait."""

    requests: RateLimit | None = None
    tokens: RateLimit | None = None
    input_tokens: RateLimit | None = None
    output_tokens: RateLimit | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Completion:
    """One answer. ``finish_reason`` is normalised (README, "Finish reasons"); ``refusal`` is the model's refusal
    (OpenAI ``message.refusal``, Anthropic's ``stop_details`` explanation), None when it did not refuse;
    ``stop_sequence`` is the stop sequence that ended the answer, when the provider says which.

    ``content_blocks`` keeps an openai-responses answer's output items as received, always (reasoning items must go
    back with their encrypted content). It keeps an Anthropic answer's content blocks as received, every kind and in
    order, whenever ``text``, ``reasoning_blocks`` and ``tool_calls`` cannot say it in that order (thinking between
    tool calls, several text blocks, server tool blocks such as ``web_search_tool_result``, citations, kinds hamr
    does not know). ``to_message()`` sends them back unchanged. Empty otherwise. ``content_error`` says why a streamed
    block could not be rebuilt (a delta of a shape hamr cannot join); ``to_message()`` then raises it."""

    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str = ""
    id: str = ""
    provider: str = ""
    reasoning_blocks: tuple[ReasoningBlock, ...] = ()
    refusal: str | None = None
    stop_sequence: str | None = None
    content_blocks: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    content_error: str | None = None
    #: what the provider's response headers said about its rate limits; None when they said nothing
    rate_limits: RateLimits | None = None

    def json(self) -> Any:
        """The answer parsed as JSON (what ``response_format`` asks for); an InvalidResponseError carrying the
        text when it is not JSON."""
        from ._errors import InvalidResponseError

        try:
            return json.loads(self.text)
        except ValueError as exc:
            why = f"the model refused: {self.refusal}" if self.refusal else f"{exc}"
            raise InvalidResponseError(
                f"the answer is not JSON ({why}): {self.text[:100]!r}", provider=self.provider, body=self.text
            ) from None

    def to_message(self) -> dict[str, Any]:
        """This completion as an assistant message for the next request, reasoning included where the provider
        needs it back (DeepSeek ``reasoning_content``, Anthropic signed thinking blocks, server tool blocks).
        InvalidResponseError when a streamed block could not be rebuilt (``content_error``)."""
        if self.content_error is not None:
            from ._errors import InvalidResponseError

            raise InvalidResponseError(self.content_error, provider=self.provider)
        content: str | list[dict[str, Any]] = (
            [dict(b) for b in self.content_blocks] if self.content_blocks else self.text
        )
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.raw_arguments if c.arguments_error else c.arguments}
                for c in self.tool_calls
            ]
        if self.reasoning:
            message["reasoning"] = self.reasoning
        if self.reasoning_blocks:
            # plain dicts, so a saved conversation survives json.dumps/json.loads and still goes back signed
            message["reasoning_blocks"] = [b.to_dict() for b in self.reasoning_blocks]
        return message


StreamEventType = Literal["text", "reasoning", "tool_call", "usage", "done"]


@dataclass(slots=True)
class StreamEvent:
    """One neutral stream event. A plain slotted record, not frozen: a stream makes one per delta, and a slotted
    instance costs a fraction of a frozen dataclass's (its ``__init__`` pays an ``object.__setattr__`` per field,
    and its ``__dict__`` several times the memory). Changing an event changes nothing else.

    - ``text`` / ``reasoning``: ``text`` is the delta.
    - ``tool_call``: a fragment of call ``index`` (0-based order of calls in this response); ``id`` and ``name``
      when known, ``arguments`` is the argument-JSON fragment.
    - ``usage``: ``usage`` is the usage reported so far (it replaces, never adds to, an earlier one).
    - ``done``: ``completion`` is the finished completion.
    """

    type: StreamEventType
    text: str = ""
    index: int = 0
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    usage: Usage | None = None
    completion: Completion | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ModelSpec:
    """A model as configured (a preset's row or a ``[[providers.<id>.models]]`` entry)."""

    id: str
    display_name: str = ""
    context_window: int | None = None
    supports_thinking: bool = False
    input_price_per_1m_tokens: float | None = None
    output_price_per_1m_tokens: float | None = None
    #: the model's own cache-read price (DeepSeek prices each model's cache hits)
    cache_read_price_per_1m_tokens: float | None = None
    #: the most tokens one answer may have (Anthropic ``max_tokens``, OpenRouter ``top_provider.max_completion_tokens``)
    max_output_tokens: int | None = None


@dataclass(frozen=True)
class ModelInfo(ModelSpec):
    """A model as ``models()`` lists it: the server's entry merged with its configured spec, if any."""

    #: where the entry came from: "server", "config", or "server+config"
    source: str = "server"


@dataclass(frozen=True)
class HTTPRequest:
    """A request as plain data: what a protocol builds and a client sends. Its repr leaves out the headers, which
    carry the key."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    json: dict[str, Any] | None = None
    #: the tool whose input is the answer (``response_format`` on an Anthropic-compatible server without
    #: structured outputs): the parser turns its call into the completion's text
    json_tool: str | None = None
