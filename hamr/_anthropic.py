"""The anthropic-compatible protocol, sans-IO: build /v1/messages and /v1/models requests, parse message bodies
and named stream events into hamr's neutral values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ._config import ProviderSettings
from ._errors import InvalidResponseError, StreamError, error_from_response
from ._sse import RawEvent
from ._stream import (
    Accumulator,
    ensure_call_id,
    feed_one,
    fix_surrogates,
    normalize_finish,
    scan_whole,
    settle_finish,
    stream_json,
)
from ._types import Completion, HTTPRequest, ModelInfo, ReasoningBlock, StreamEvent, ToolCall, Usage, UsageIteration
from ._wire import (
    JSONFormat,
    assistant_text,
    clean_messages,
    image_block,
    load_json,
    merge_extra,
    response_format_of,
    responses_turn,
    stop_list,
    token_count,
    tool_arguments_dict,
    tool_choice_of,
    tool_names,
)

DEFAULT_MAX_TOKENS = 4096


def _url(settings: ProviderSettings, path: str) -> str:
    base = settings.base_url
    # a base_url given with its /v1 (common for Anthropic-compatible gateways) must not become /v1/v1
    return f"{base}{path[3:]}" if base.endswith("/v1") else f"{base}{path}"


def _headers(settings: ProviderSettings, env: Mapping[str, str] | None) -> dict[str, str]:
    return settings.request_headers(
        {"x-api-key": settings.key(env) or ""}, env, extra={"anthropic-version": settings.anthropic_version}
    )


def build_chat(
    settings: ProviderSettings,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    system: str | Sequence[Mapping[str, Any]] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    parallel_tool_calls: bool | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop: str | Sequence[str] | None = None,
    seed: int | None = None,
    response_format: Mapping[str, Any] | None = None,
    cache: bool = False,
    extra_body: Mapping[str, Any] | None = None,
    stream: bool = False,
    stream_usage: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> HTTPRequest:
    """The /v1/messages request: the leading system prompts lifted to ``system`` (a system message after the first
    user or assistant message stays in its place in ``messages``), tool calls and results as blocks, OpenAI
    image parts as ``image`` blocks, neutral options in Anthropic's form (``tool_choice`` "required" is
    ``{"type": "any"}``, ``parallel_tool_calls=False`` is ``disable_parallel_tool_use``, ``stop`` is
    ``stop_sequences``, ``cache`` places ``cache_control`` breakpoints). Empty turns are left out: Anthropic
    rejects a message without content."""
    del stream_usage  # Anthropic always reports usage in message_start / message_delta
    if seed is not None:
        raise ValueError("seed is not supported by the anthropic-compatible protocol (the Messages API has no seed)")
    choice = tool_choice_of(tool_choice, tools)
    fmt = response_format_of(response_format)
    systems: list[dict[str, Any]] = _system_blocks(system)
    converted: list[dict[str, Any]] = []
    for msg in clean_messages(messages):
        role = msg["role"]
        if role == "system" and not converted:  # the leading system messages are the top-level system prompt
            systems += _system_blocks(msg.get("content"))
        elif role == "system":
            # a system message later in the conversation stays where it is (Anthropic's mid-conversation system
            # messages): lifted into `system`, it would change the prefix every cached and thinking block rests on
            blocks = _system_blocks(msg.get("content"))
            if blocks:
                converted.append({"role": "system", "content": blocks})
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": msg["tool_call_id"]}
            if msg.get("content"):
                block["content"] = _user_blocks(msg["content"]) if isinstance(msg["content"], list) else msg["content"]
            if msg.get("is_error"):
                block["is_error"] = True
            _append(converted, "user", [block])
        elif role == "assistant":
            _append(converted, "assistant", _assistant_blocks(msg))
        else:
            _append(converted, "user", _user_blocks(msg.get("content")))
    if not converted:
        raise ValueError("no message with content to send: Anthropic needs at least one non-empty message")
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": [_simplify(m) for m in converted],
    }
    if systems:
        plain = all(set(b) == {"type", "text"} for b in systems)
        body["system"] = "\n\n".join(b["text"] for b in systems) if plain else systems
    wire_tools = [_anthropic_tool(t) for t in tools or ()]
    wire_choice = _tool_choice(choice, parallel_tool_calls) if tools else None
    json_tool: str | None = None
    if fmt is not None:
        if native_structured_output(settings):
            if fmt.schema is None:
                raise ValueError(JSON_OBJECT_REFUSED)
            body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
        else:
            wire_tools.append(_answer_tool(fmt, tools, tool_choice))
            json_tool = fmt.name
            # "any": the answer tool alone, or it or one of the caller's tools; servers without a named choice
            # (llama-server's functionary-style grammars) still force a call
            wire_choice = {"type": "any"}
    if wire_tools:
        body["tools"] = wire_tools
    if wire_choice is not None:
        body["tool_choice"] = wire_choice
    for field, value in (("temperature", temperature), ("top_p", top_p), ("stop_sequences", stop_list(stop))):
        if value is not None:
            body[field] = value
    if cache:
        _mark_cache(body)
    headers = _headers(settings, env)
    if stream:
        body["stream"] = True
        headers["accept"] = "text/event-stream"
    if extra_body:
        merge_extra(body, extra_body)
        _fit_thinking_budget(body, max_tokens is not None or "max_tokens" in extra_body)
    return HTTPRequest("POST", _url(settings, "/v1/messages"), headers, body, json_tool=json_tool)


def native_structured_output(settings: ProviderSettings) -> bool:
    """Whether ``response_format`` goes out as Anthropic's ``output_config.format`` (Anthropic's own API, whose
    current models have structured outputs) rather than as a forced answer tool (any other anthropic-compatible
    server, which may lack them)."""
    return urlsplit(settings.base_url).hostname == "api.anthropic.com"


#: why ``{"type": "json_object"}`` cannot go to Anthropic's API: structured outputs need every object closed
#: (https://platform.claude.com/docs/en/build-with-claude/structured-outputs, "additionalProperties" must be false),
#: so no schema says "any JSON object"; and the forced answer tool other servers get is refused with a 400 by the
#: current models (Claude Sonnet 5.5's migration guide), forced tool use being incompatible with their thinking
JSON_OBJECT_REFUSED = (
    'response_format {"type": "json_object"} cannot be sent to Anthropic\'s API: structured outputs need a schema '
    '(every object in it with "additionalProperties": false, so none says "any JSON object"), and the forced answer '
    "tool hamr sends other servers is refused with a 400 by current Claude models (Sonnet 5.5 among them). Pass "
    'response_format={"type": "json_schema", "name": ..., "schema": {...}} with the object you want'
)


def _answer_tool(fmt: JSONFormat, tools: Sequence[Mapping[str, Any]] | None, tool_choice: Any) -> dict[str, Any]:
    """The forced tool whose input is the answer, the way instructor and pydantic-ai's tool output mode do it."""
    if tool_choice is not None:
        raise ValueError(
            "response_format and tool_choice cannot be combined on this anthropic-compatible server: the answer is "
            "itself a forced tool call"
        )
    if fmt.name in tool_names(tools):
        raise ValueError(f"response_format name {fmt.name!r} is also the name of one of tools: rename one")
    schema = fmt.schema if fmt.schema is not None else {"type": "object"}
    if schema.get("type") != "object":
        raise ValueError("on an anthropic-compatible server without structured outputs, the schema must be an object")
    return {"name": fmt.name, "description": "Give the final answer as this tool's input.", "input_schema": schema}


def _fit_thinking_budget(body: dict[str, Any], max_tokens_given: bool) -> None:
    """Anthropic requires ``thinking.budget_tokens < max_tokens``: the default ``max_tokens`` grows past the budget
    (by the default, left for the answer); a ``max_tokens`` the caller chose that leaves no room is a ValueError."""
    thinking = body.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, Mapping) else None
    if not isinstance(budget, int) or isinstance(budget, bool):
        return
    if not max_tokens_given:
        body["max_tokens"] = budget + DEFAULT_MAX_TOKENS
    elif body["max_tokens"] <= budget:
        raise ValueError(
            f"max_tokens ({body['max_tokens']}) must be greater than thinking.budget_tokens ({budget}): Anthropic "
            "counts the thinking inside max_tokens"
        )


_EPHEMERAL = {"type": "ephemeral"}
MAX_CACHE_BREAKPOINTS = 4  # Anthropic's limit per request
#: cache TTLs, shortest first; Anthropic refuses a breakpoint before one with a longer TTL (prompt caching docs,
#: "Mixing different TTLs"). A TTL hamr does not know ranks above both.
_TTL_RANK = {"5m": 0, "1h": 1}


def _mark_cache(body: dict[str, Any]) -> None:
    """``cache=True``: ``cache_control`` on the last tool, the system prompt and the last user turn, in that order
    (each caches everything before it), leaving out those already marked, any place with a breakpoint of a longer
    TTL after it (the caller's 1-hour one, which caches that prefix already) and stopping at Anthropic's limit of 4
    breakpoints, hand-placed ones included."""
    # every cache_control key, wherever the caller put one (inside a JSON string a quote is escaped: no false hit)
    used = json.dumps(body).count('"cache_control"')
    messages = body["messages"]
    places: list[tuple[dict[str, Any], Any]] = []  # (the block to mark, everything the prompt holds after it)
    if body.get("tools"):
        places.append((body["tools"][-1], [body.get("system"), messages]))
    if body.get("system"):
        if isinstance(body["system"], str):
            body["system"] = [{"type": "text", "text": body["system"]}]
        places.append((body["system"][-1], messages))
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if users:
        last = messages[users[-1]]
        if isinstance(last["content"], str):
            last["content"] = [{"type": "text", "text": last["content"]}]
        places.append((last["content"][-1], messages[users[-1] + 1 :]))
    for place, after in places:
        if used >= MAX_CACHE_BREAKPOINTS:
            break
        if "cache_control" not in place and _longest_ttl(after) <= _TTL_RANK["5m"]:
            place["cache_control"] = dict(_EPHEMERAL)
            used += 1


def _longest_ttl(value: Any) -> int:
    """The rank of the longest TTL of any ``cache_control`` in ``value``; -1 when it holds none."""
    if isinstance(value, list):
        return max((_longest_ttl(v) for v in value), default=-1)
    if not isinstance(value, dict):
        return -1
    control = value.get("cache_control")
    ttl = control.get("ttl", "5m") if isinstance(control, dict) else None
    own = -1 if ttl is None else _TTL_RANK.get(ttl, len(_TTL_RANK)) if isinstance(ttl, str) else len(_TTL_RANK)
    return max(own, *(_longest_ttl(v) for v in value.values() if isinstance(v, list | dict)), -1)


def _system_blocks(content: Any) -> list[dict[str, Any]]:
    """A system prompt (a string or text blocks, perhaps with ``cache_control``) as text blocks; empty ones go."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for block in content or ():
        if isinstance(block, Mapping) and block.get("text"):
            blocks.append(dict(block))
        elif not (isinstance(block, Mapping) and block.get("type") == "text"):
            raise ValueError(f"a system prompt is a string or a list of text blocks, got {block!r}")
    return blocks


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    """User content as blocks: a string is one text block, OpenAI ``image_url`` parts become ``image`` blocks,
    Anthropic-native blocks pass through unchanged; empty text goes."""
    if not isinstance(content, list):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for part in content:
        if not isinstance(part, Mapping):
            raise ValueError(f"a content part must be a dict, got {part!r}")
        if part.get("type") == "image_url":
            out.append(image_block(part))
        elif not (part.get("type") == "text" and not part.get("text")):
            out.append(dict(part))
    return out


_TOOL_CHOICE = {"auto": "auto", "none": "none", "required": "any"}


def _tool_choice(choice: tuple[str, str | None] | None, parallel: bool | None) -> dict[str, Any] | None:
    """Anthropic's tool_choice object; ``disable_parallel_tool_use`` rides on it (never on ``none``)."""
    if choice is None and parallel is None:
        return None
    mode, name = choice or ("auto", None)
    out: dict[str, Any] = {"type": "tool", "name": name} if name is not None else {"type": _TOOL_CHOICE[mode]}
    if parallel is not None and mode != "none":
        out["disable_parallel_tool_use"] = not parallel
    return out


def build_models(settings: ProviderSettings, env: Mapping[str, str] | None = None) -> HTTPRequest:
    headers = _headers(settings, env)
    headers.pop("content-type", None)
    return HTTPRequest("GET", _url(settings, "/v1/models") + "?limit=1000", headers)


def _append(out: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Anthropic wants user/assistant turns to alternate: consecutive same-role messages merge; a turn without
    blocks is left out."""
    if not blocks:
        return
    if out and out[-1]["role"] == role:
        out[-1]["content"].extend(blocks)
    else:
        out.append({"role": role, "content": list(blocks)})


def _simplify(message: dict[str, Any]) -> dict[str, Any]:
    blocks = message["content"]
    if len(blocks) == 1 and blocks[0].get("type") == "text" and set(blocks[0]) == {"type", "text"}:
        return {"role": message["role"], "content": blocks[0]["text"]}
    return message


def _assistant_blocks(msg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An assistant message as blocks. A ``content`` list that holds thinking or tool_use blocks is the turn as
    the provider sent it (``Completion.content_blocks``): it goes back in its order, and ``reasoning_blocks`` and
    the ``tool_calls`` it already holds (by id) are not added again. Otherwise: signed thinking, the content, the
    tool calls. An openai-responses turn (its output items) goes as its text and its tool calls."""
    blocks: list[dict[str, Any]] = []
    content = msg.get("content")
    if responses_turn(content):
        content = assistant_text(content)
    whole = isinstance(content, list) and any(isinstance(b, Mapping) and b.get("type") in _TURN_KINDS for b in content)
    if not whole:
        for value in msg.get("reasoning_blocks") or ():
            rb = ReasoningBlock.from_value(value)
            if rb.redacted is not None:
                blocks.append({"type": "redacted_thinking", "data": rb.redacted})
            elif rb.signature:
                blocks.append({"type": "thinking", "thinking": rb.text, "signature": rb.signature})
    if isinstance(content, list):
        blocks.extend(
            dict(b)
            for b in content
            # empty text is refused; unsigned thinking (a local server's) is not Anthropic's to check
            if not (b.get("type") == "text" and not b.get("text"))
            and not (b.get("type") == "thinking" and not b.get("signature"))
        )
    elif content:
        blocks.append({"type": "text", "text": content})
    present = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    for call in msg.get("tool_calls") or ():
        if "function" in call:  # an OpenAI-shaped call passed through
            fn = call["function"]
            call = {"id": call["id"], "name": fn.get("name"), "arguments": fn.get("arguments")}
        if call["id"] in present:
            continue
        blocks.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": call["name"],
                "input": tool_arguments_dict(call.get("arguments")),
            }
        )
    if not any(b.get("type") not in ("thinking", "redacted_thinking") for b in blocks):
        return []  # nothing said: left out (a turn of thinking alone is refused too)
    return blocks


#: block kinds that make an assistant ``content`` list the whole turn as received
_TURN_KINDS = frozenset({"thinking", "redacted_thinking", "tool_use"})


def _anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "function" and "function" in tool:
        tool = tool["function"]
    if "input_schema" in tool:
        return dict(tool)
    out: dict[str, Any] = {"name": tool["name"], "input_schema": tool.get("parameters") or {"type": "object"}}
    for name in ("description", "cache_control"):
        if tool.get(name):
            out[name] = tool[name]
    return out


def parse_usage(data: Any) -> Usage | None:
    """Anthropic's usage object; ``iterations`` (compaction, the advisor tool) kept entry by entry, since the top
    level leaves those steps out."""
    if not isinstance(data, dict):
        return None
    geo = data["inference_geo"] if isinstance(data.get("inference_geo"), str) else None
    steps = data.get("iterations")
    iterations = tuple(
        UsageIteration(str(step.get("type") or ""), _model_of(step), _counts(step, geo))
        for step in (steps if isinstance(steps, list) else ())
        if isinstance(step, dict)
    )
    details = data.get("output_tokens_details")
    reasoning = token_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
    return replace(_counts(data, geo), reasoning_tokens=reasoning, iterations=iterations)


def _counts(data: Mapping[str, Any], geo: str | None) -> Usage:
    """The token counts of a usage object or of one of its iterations; the prompt counts its cached parts."""
    read = token_count(data.get("cache_read_input_tokens"))
    write = token_count(data.get("cache_creation_input_tokens"))
    ttl = data.get("cache_creation")  # {"ephemeral_5m_input_tokens": n, "ephemeral_1h_input_tokens": m}
    write_1h = min(token_count(ttl.get("ephemeral_1h_input_tokens")), write) if isinstance(ttl, dict) else 0
    return Usage(
        input_tokens=token_count(data.get("input_tokens")) + read + write,
        output_tokens=token_count(data.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
        inference_geo=geo,
    )


def _model_of(step: Mapping[str, Any]) -> str | None:
    model = step.get("model")
    return model if isinstance(model, str) and model else None


#: the rank of each block kind in a turn hamr rebuilds from text, reasoning blocks and tool calls: thinking, then
#: text, then tool calls. A turn in any other order, or with any other kind (server_tool_use, web_search_tool_result,
#: compaction, ...), is kept as its list of blocks (``content_blocks``) and goes back exactly so.
_REBUILT = {"thinking": 0, "redacted_thinking": 0, "text": 1, "tool_use": 2}


#: the fields of a block hamr rebuilds from ``text`` / ``tool_calls``; any other (a text block's ``citations``, a
#: tool call's ``caller``) keeps the turn as its blocks
_REBUILT_FIELDS = {"text": {"type", "text"}, "tool_use": {"type", "id", "name", "input"}}


def _needs_blocks(blocks: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``to_message()`` needs the blocks themselves: rebuilt from text, reasoning blocks and tool calls,
    the turn would come out in another order, with text blocks joined, or without some block or field."""
    ranks = [_REBUILT.get(b.get("type")) for b in blocks]  # type: ignore[arg-type]
    return (
        None in ranks
        or ranks != sorted(ranks)  # type: ignore[type-var]
        or sum(b.get("type") == "text" for b in blocks) > 1
        or any(not set(b) <= _REBUILT_FIELDS.get(b.get("type"), set(b)) for b in blocks)  # type: ignore[arg-type]
    )


def parse_chat(provider: str, body: bytes, *, json_tool: str | None = None) -> Completion:
    """A Messages-API body as a Completion; a ``json_tool`` call (the answer tool of ``response_format``) is the
    answer's text, not a tool call."""
    data = load_json(provider, body)
    if isinstance(data, dict) and (data.get("type") == "error" or (data.get("error") and "type" not in data)):
        raise error_from_response(provider, 200, {}, body)
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise InvalidResponseError(
            "message response has no content list",
            provider=provider,
            status=200,
            body=body[:200].decode("utf-8", "replace"),
        )
    text: list[str] = []
    reasoning: list[str] = []
    blocks: list[ReasoningBlock] = []
    calls: list[ToolCall] = []
    kept: list[dict[str, Any]] = []  # every block in order, in case the turn must go back as its blocks
    for block in data["content"]:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
            blocks.append(ReasoningBlock(block.get("thinking", ""), block.get("signature")))
        elif kind == "redacted_thinking":
            blocks.append(ReasoningBlock("", redacted=block.get("data", "")))
        elif kind == "tool_use":
            args = block.get("input")
            raw = json.dumps(args if args is not None else {}, ensure_ascii=False)
            if json_tool is not None and block.get("name") == json_tool:
                text.append(raw)
                block = {"type": "text", "text": raw}  # the answer tool's input is the answer
            else:
                call_id = ensure_call_id(block.get("id", ""), len(calls))
                calls.append(ToolCall.from_raw(call_id, block.get("name", ""), raw))
                block = {**block, "id": call_id}
        if isinstance(kind, str):
            kept.append(block)
    stop_reason = data.get("stop_reason")
    return Completion(
        text=fix_surrogates("".join(text)),
        reasoning="".join(reasoning),
        tool_calls=tuple(calls),
        finish_reason=_finish(stop_reason, bool(calls), json_tool),
        usage=parse_usage(data.get("usage")),
        model=str(data.get("model") or ""),
        id=str(data.get("id") or ""),
        provider=provider,
        reasoning_blocks=tuple(blocks),
        refusal=_refusal(stop_reason, data.get("stop_details"), "".join(text)),
        stop_sequence=data.get("stop_sequence") if isinstance(data.get("stop_sequence"), str) else None,
        content_blocks=tuple(kept) if _needs_blocks(kept) else (),
    )


def _finish(stop_reason: object, has_calls: bool, json_tool: str | None) -> str | None:
    finish = settle_finish(normalize_finish(stop_reason), has_calls)
    # the answer tool's call is the answer: the turn is over
    return "stop" if finish == "tool_calls" and not has_calls and json_tool is not None else finish


def _refusal(stop_reason: object, details: Any, text: str) -> str | None:
    """For ``stop_reason: "refusal"``: the ``stop_details`` explanation, else the text, else the category."""
    if stop_reason != "refusal":
        return None
    details = details if isinstance(details, dict) else {}
    for candidate in (details.get("explanation"), text, details.get("category")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return "refused (stop_reason: refusal)"


def parse_models(provider: str, body: bytes) -> list[ModelInfo]:
    data = load_json(provider, body)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidResponseError("models response has no data list", provider=provider, status=200)
    return [_model_info(e) for e in entries if isinstance(e, dict) and e.get("id")]


def _model_info(entry: Mapping[str, Any]) -> ModelInfo:
    """A /v1/models entry: display name, ``max_input_tokens`` as the context window, ``max_tokens`` as the output
    limit, thinking support from ``capabilities.thinking``; Anthropic's list gives no prices."""
    capabilities = entry.get("capabilities")
    thinking = capabilities.get("thinking") if isinstance(capabilities, Mapping) else None
    return ModelInfo(
        id=str(entry["id"]),
        display_name=str(entry.get("display_name") or ""),
        context_window=_count(entry.get("max_input_tokens")),
        supports_thinking=isinstance(thinking, Mapping) and thinking.get("supported") is True,
        max_output_tokens=_count(entry.get("max_tokens")),
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class StreamParser:
    """Named Messages-API events to neutral events; complete only at ``message_stop``."""

    def __init__(self, provider: str, *, keep_text: bool = True, json_tool: str | None = None) -> None:
        self.acc = Accumulator(provider, think_tags=False, keep_text=keep_text)
        self._json_tool = json_tool
        self._kinds: dict[int, str] = {}
        self._thinking: dict[int, list[str]] = {}
        self._signatures: dict[int, str] = {}
        self._usage: dict[str, Any] = {}
        self._stopped = False
        self._stop_reason: object = None
        self._stop_details: Any = None
        # every content block by index, as its content_block_start gave it (a text block without its text, whose
        # (start, end) in the streamed text is kept instead; another kind with its deltas joined in), so the turn
        # can go back in the order it came
        self._kept: dict[int, dict[str, Any]] = {}
        self._text_start: dict[int, int] = {}
        self._server_input: dict[int, list[str]] = {}
        self._done: dict[int, ReasoningBlock] = {}
        self.acc.content_blocks = self._content_blocks

    def feed(self, event: str, text: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not text.strip():
            return events
        try:
            data = stream_json(text)
        except ValueError:
            raise StreamError(
                f"stream sent a data line that is not JSON: {text[:100]!r}",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            ) from None
        if not isinstance(data, dict):
            return events
        kind = data.get("type") or event
        acc = self.acc
        if kind == "error" or (data.get("error") and "type" not in data):
            # Anthropic's error event, or a gateway's untyped {"error": {...}} chunk (OpenRouter style)
            err = data.get("error")
            err = err if isinstance(err, dict) else {"message": str(err or data)}
            raise StreamError(
                f"error event in stream: {err.get('message', err)}",
                partial=acc.snapshot(),
                provider=acc.provider,
                error_type=str(err["type"]) if err.get("type") else None,
                code=str(err["code"]) if err.get("code") is not None else None,
                request_id=data.get("request_id"),
            )
        # the bulk of every stream first: text and tool-argument deltas
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                acc.add_text(delta.get("text") or "", events)
                return events
            index = int(data.get("index", 0))
            if dtype == "input_json_delta":
                self._input(index, delta.get("partial_json") or "", events)
            elif dtype == "thinking_delta":
                self._thinking.setdefault(index, []).append(delta.get("thinking") or "")
                acc.add_reasoning(delta.get("thinking") or "", events)
            elif dtype == "signature_delta":
                self._signatures[index] = self._signatures.get(index, "") + (delta.get("signature") or "")
            elif dtype == "citations_delta" and index in self._text_start:
                self._kept[index].setdefault("citations", []).append(delta.get("citation"))
            else:
                self._join(index, delta)
        elif kind == "message_start":
            message = data.get("message") or {}
            acc.id = str(message.get("id") or "")
            acc.model = str(message.get("model") or "")
            self._merge_usage(message.get("usage"), events)
        elif kind == "content_block_start":
            self._start(int(data.get("index", 0)), data.get("content_block") or {}, events)
        elif kind == "content_block_stop":
            self._stop(int(data.get("index", 0)))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                acc.finish(normalize_finish(delta["stop_reason"]))
                self._stop_reason = delta["stop_reason"]
            if isinstance(delta.get("stop_sequence"), str):
                acc.stop_sequence = delta["stop_sequence"]
            if delta.get("stop_details") is not None:
                self._stop_details = delta["stop_details"]
            self._merge_usage(data.get("usage"), events)
        elif kind == "message_stop":
            self._stopped = True
        return events

    def feed_many(self, sse_events: Sequence[RawEvent], out: list[StreamEvent]) -> None:
        """``feed`` for each event of a bulk read, into ``out``: the bulk of a stream, a text or tool-argument
        delta, done here with the checks that shape needs and nothing more; every other event through ``feed``.
        The outcome is feed's: tests/property/test_bulk_read_properties.py compares them."""
        feed, add_text, kinds = self.feed, self.acc.add_text, self._kinds
        for event, text, _ in sse_events:
            data = scan_whole(text)
            delta = data.get("delta") if type(data) is dict and data.get("type") == "content_block_delta" else None
            dtype = delta.get("type") if type(delta) is dict else None
            if dtype == "text_delta":
                piece = delta.get("text")  # type: ignore[union-attr]
                if type(piece) is str:
                    add_text(piece, out)
                    continue
            elif dtype == "input_json_delta":
                piece, index = delta.get("partial_json"), data.get("index", 0)  # type: ignore[union-attr]
                if type(piece) is str and type(index) is int and kinds.get(index) == "tool_use":
                    self.acc.tool_fragment(index, None, None, piece, out)
                    continue
            feed_one(feed, event, text, out)

    def _start(self, index: int, block: dict[str, Any], events: list[StreamEvent]) -> None:
        acc = self.acc
        btype = block.get("type", "")
        self._kinds[index] = btype
        self._kept[index] = {k: v for k, v in block.items() if k != "text"}
        if btype == "tool_use":
            if self._json_tool is not None and block.get("name") == self._json_tool:
                self._kinds[index] = "json"  # the answer tool: its input is the answer's text
                self._kept[index] = {"type": "text"}
                self._text_start[index] = len(acc.text.join())
            else:
                acc.tool_fragment(index, block.get("id"), block.get("name"), "", events)
        elif btype == "text":
            self._text_start[index] = len(acc.text.join())
            acc.add_text(block.get("text") or "", events)
        elif btype == "thinking":
            self._thinking[index] = [block.get("thinking") or ""]
            acc.add_reasoning(block.get("thinking") or "", events)
        elif btype == "redacted_thinking":
            acc.blocks.append(ReasoningBlock("", redacted=block.get("data", "")))
        # any other kind (server_tool_use, web_search_tool_result, compaction, ...) is kept as it started, its
        # streamed input and deltas joined into it

    def _input(self, index: int, fragment: str, events: list[StreamEvent]) -> None:
        kind = self._kinds.get(index)
        if kind == "json":
            self.acc.add_text(fragment, events)
        elif kind in ("tool_use", None):
            self.acc.tool_fragment(index, None, None, fragment, events)
        else:
            self._server_input.setdefault(index, []).append(fragment)

    def _join(self, index: int, delta: Mapping[str, Any]) -> None:
        """A delta hamr has no rule for, on a block of a kind it does not read (``compaction_delta`` on a
        ``compaction`` block): each of its string fields is appended to the block's field of that name, as the
        text of a ``text_delta`` is to ``text``. A delta of any other shape, or on a block hamr reads, cannot be
        joined: the completion keeps all it received, and ``to_message()`` says it cannot send this turn back."""
        kind = self._kinds.get(index)
        block = self._kept.get(index)
        fields = {k: v for k, v in delta.items() if k != "type"}
        if (
            block is not None
            and kind not in _REBUILT
            and all(isinstance(v, str) and isinstance(block.get(k), str | None) for k, v in fields.items())
        ):
            for name, value in fields.items():
                block[name] = (block.get(name) or "") + value
        elif self.acc.content_error is None:
            self.acc.content_error = (
                f"content block {index} ({kind!r}) came with a {delta.get('type')!r} delta hamr cannot join into "
                "the block, so to_message() cannot send this turn back as the provider sent it (send the request "
                "without stream to get the whole block)"
            )

    def _stop(self, index: int) -> None:
        if index in self._thinking:
            block = ReasoningBlock("".join(self._thinking.pop(index)), self._signatures.pop(index, None) or None)
            self.acc.blocks.append(block)
            self._done[index] = block
        elif index in self._text_start:
            self._kept[index]["_end"] = len(self.acc.text.join())
        elif index in self._server_input:
            raw = "".join(self._server_input.pop(index))
            self._kept[index]["input"] = json.loads(raw) if raw.strip() else {}

    def _content_blocks(self, text: str) -> tuple[dict[str, Any], ...]:
        """Every block in order (text blocks cut from the final text, none when the text was not kept) when the
        turn cannot be rebuilt from text, reasoning blocks and tool calls; else none."""
        out = []
        for index in sorted(self._kept):
            block = dict(self._kept[index])
            kind = self._kinds[index]
            if index in self._text_start:
                end = block.pop("_end", len(text))
                block["text"] = text[self._text_start[index] : end]
                if not block["text"]:
                    continue
            elif kind == "thinking":
                done = self._done.get(index)
                block["thinking"] = done.text if done else "".join(self._thinking.get(index, ()))
                block["signature"] = (done.signature if done else self._signatures.get(index)) or ""
            elif kind == "tool_use":
                number, call = self.acc.calls[index]
                raw = "".join(call.arguments)
                block.update(id=ensure_call_id(call.id, number), name=call.name, input=tool_arguments_dict(raw))
            elif index in self._server_input:  # still open: its input so far
                block["input"] = tool_arguments_dict("".join(self._server_input[index]))
            out.append(block)
        return tuple(out) if _needs_blocks(out) else ()

    def _merge_usage(self, usage: Any, events: list[StreamEvent]) -> None:
        if not isinstance(usage, dict):
            return
        self._usage.update({k: v for k, v in usage.items() if v is not None})
        parsed = parse_usage(self._usage)
        if parsed is not None:
            self.acc.set_usage(parsed, events)

    def end(self) -> None:
        if not self._stopped:
            raise StreamError(
                "stream ended before message_stop", partial=self.acc.snapshot(), provider=self.acc.provider
            )
        acc = self.acc
        acc.finish_reason = _finish(self._stop_reason, bool(acc.calls), self._json_tool)
        refusal = _refusal(self._stop_reason, self._stop_details, acc.text.join())
        if refusal is not None:
            acc.refusal = [refusal]
