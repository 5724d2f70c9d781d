"""The anthropic-compatible protocol, sans-IO: build /v1/messages and /v1/models requests, parse message bodies
and named stream events into hamr's neutral values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._config import ProviderSettings
from ._errors import InvalidResponseError, StreamError, error_from_response
from ._stream import Accumulator, normalize_finish, stream_json
from ._types import Completion, HTTPRequest, ModelInfo, ReasoningBlock, StreamEvent, ToolCall, Usage
from ._wire import clean_messages, load_json, stop_list, token_count, tool_arguments_dict, tool_choice_of

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
    system: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    parallel_tool_calls: bool | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop: str | Sequence[str] | None = None,
    seed: int | None = None,
    stream: bool = False,
    stream_usage: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> HTTPRequest:
    """The /v1/messages request: system prompts lifted to ``system``, tool calls and results as blocks, neutral
    options in Anthropic's form (``tool_choice`` "required" is ``{"type": "any"}``, ``parallel_tool_calls=False``
    is ``disable_parallel_tool_use``, ``stop`` is ``stop_sequences``)."""
    del stream_usage  # Anthropic always reports usage in message_start / message_delta
    if seed is not None:
        raise ValueError("seed is not supported by the anthropic-compatible protocol (the Messages API has no seed)")
    choice = tool_choice_of(tool_choice, tools)
    systems = [system] if system else []
    converted: list[dict[str, Any]] = []
    for msg in clean_messages(messages):
        role = msg["role"]
        if role == "system":
            systems.append(_text_of(msg.get("content")))
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": msg["tool_call_id"], "content": msg.get("content") or ""}
            if msg.get("is_error"):
                block["is_error"] = True
            _append(converted, "user", [block])
        elif role == "assistant":
            _append(converted, "assistant", _assistant_blocks(msg))
        else:
            content = msg.get("content")
            _append(
                converted, "user", content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
            )
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": [_simplify(m) for m in converted],
    }
    if systems:
        body["system"] = "\n\n".join(s for s in systems if s)
    if tools:
        body["tools"] = [_anthropic_tool(t) for t in tools]
        wire_choice = _tool_choice(choice, parallel_tool_calls)
        if wire_choice is not None:
            body["tool_choice"] = wire_choice
    for field, value in (("temperature", temperature), ("top_p", top_p), ("stop_sequences", stop_list(stop))):
        if value is not None:
            body[field] = value
    headers = _headers(settings, env)
    if stream:
        body["stream"] = True
        headers["accept"] = "text/event-stream"
    return HTTPRequest("POST", _url(settings, "/v1/messages"), headers, body)


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


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _append(out: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Anthropic wants user/assistant turns to alternate: consecutive same-role messages merge."""
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
    blocks: list[dict[str, Any]] = []
    for value in msg.get("reasoning_blocks") or ():
        rb = ReasoningBlock.from_value(value)
        if rb.redacted is not None:
            blocks.append({"type": "redacted_thinking", "data": rb.redacted})
        elif rb.signature:
            blocks.append({"type": "thinking", "thinking": rb.text, "signature": rb.signature})
    content = msg.get("content")
    if isinstance(content, list):
        blocks.extend(content)
    elif content:
        blocks.append({"type": "text", "text": content})
    for call in msg.get("tool_calls") or ():
        if "function" in call:  # an OpenAI-shaped call passed through
            fn = call["function"]
            call = {"id": call["id"], "name": fn.get("name"), "arguments": fn.get("arguments")}
        blocks.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": call["name"],
                "input": tool_arguments_dict(call.get("arguments")),
            }
        )
    if not blocks:
        blocks.append({"type": "text", "text": ""})
    return blocks


def _anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "function" and "function" in tool:
        tool = tool["function"]
    if "input_schema" in tool:
        return dict(tool)
    out: dict[str, Any] = {"name": tool["name"], "input_schema": tool.get("parameters") or {"type": "object"}}
    if tool.get("description"):
        out["description"] = tool["description"]
    return out


def parse_usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    read = token_count(data.get("cache_read_input_tokens"))
    write = token_count(data.get("cache_creation_input_tokens"))
    details = data.get("output_tokens_details")
    ttl = data.get("cache_creation")  # {"ephemeral_5m_input_tokens": n, "ephemeral_1h_input_tokens": m}
    write_1h = min(token_count(ttl.get("ephemeral_1h_input_tokens")), write) if isinstance(ttl, dict) else 0
    return Usage(
        input_tokens=token_count(data.get("input_tokens")) + read + write,
        output_tokens=token_count(data.get("output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=token_count(details.get("thinking_tokens")) if isinstance(details, dict) else 0,
        cache_write_1h_tokens=write_1h,
    )


def parse_chat(provider: str, body: bytes) -> Completion:
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
            calls.append(ToolCall.from_raw(block.get("id", ""), block.get("name", ""), raw))
    return Completion(
        text="".join(text),
        reasoning="".join(reasoning),
        tool_calls=tuple(calls),
        finish_reason=normalize_finish(data.get("stop_reason")),
        usage=parse_usage(data.get("usage")),
        model=str(data.get("model") or ""),
        id=str(data.get("id") or ""),
        provider=provider,
        reasoning_blocks=tuple(blocks),
    )


def parse_models(provider: str, body: bytes) -> list[ModelInfo]:
    data = load_json(provider, body)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidResponseError("models response has no data list", provider=provider, status=200)
    return [
        ModelInfo(id=str(e["id"]), display_name=str(e.get("display_name") or ""))
        for e in entries
        if isinstance(e, dict) and e.get("id")
    ]


class StreamParser:
    """Named Messages-API events to neutral events; complete only at ``message_stop``."""

    def __init__(self, provider: str, *, keep_text: bool = True) -> None:
        self.acc = Accumulator(provider, think_tags=False, keep_text=keep_text)
        self._kinds: dict[int, str] = {}
        self._thinking: dict[int, list[str]] = {}
        self._signatures: dict[int, str] = {}
        self._usage: dict[str, Any] = {}
        self._stopped = False

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
                acc.tool_fragment(index, None, None, delta.get("partial_json") or "", events)
            elif dtype == "thinking_delta":
                if acc.keep_text:  # thinking text is kept only for the Completion's reasoning_blocks
                    self._thinking.setdefault(index, []).append(delta.get("thinking") or "")
                acc.add_reasoning(delta.get("thinking") or "", events)
            elif dtype == "signature_delta":
                self._signatures[index] = self._signatures.get(index, "") + (delta.get("signature") or "")
        elif kind == "message_start":
            message = data.get("message") or {}
            acc.id = str(message.get("id") or "")
            acc.model = str(message.get("model") or "")
            self._merge_usage(message.get("usage"), events)
        elif kind == "content_block_start":
            index = int(data.get("index", 0))
            block = data.get("content_block") or {}
            self._kinds[index] = block.get("type", "")
            if block.get("type") == "tool_use":
                acc.tool_fragment(index, block.get("id"), block.get("name"), "", events)
            elif block.get("type") == "text":
                acc.add_text(block.get("text") or "", events)
            elif block.get("type") == "thinking":
                self._thinking[index] = [block.get("thinking") or ""]
                acc.add_reasoning(block.get("thinking") or "", events)
            elif block.get("type") == "redacted_thinking":
                acc.blocks.append(ReasoningBlock("", redacted=block.get("data", "")))
        elif kind == "content_block_stop":
            index = int(data.get("index", 0))
            if index in self._thinking:
                acc.blocks.append(
                    ReasoningBlock("".join(self._thinking.pop(index)), self._signatures.pop(index, None) or None)
                )
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                acc.finish_reason = normalize_finish(delta["stop_reason"])
            self._merge_usage(data.get("usage"), events)
        elif kind == "message_stop":
            self._stopped = True
        return events

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
