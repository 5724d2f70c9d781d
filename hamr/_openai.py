"""The openai-compatible protocol, sans-IO: build /chat/completions and /models requests, parse bodies and
streamed chunks into hamr's neutral values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._config import ProviderSettings
from ._errors import InvalidResponseError, StreamError, error_from_response
from ._sse import SSEEvent
from ._stream import Accumulator, normalize_finish, split_think
from ._types import Completion, HTTPRequest, ModelInfo, StreamEvent, ToolCall, Usage
from ._wire import clean_messages, load_json, tool_arguments_json

# Fields of an assistant message that some providers need back to continue a reasoning turn.
REASONING_ECHO = {"deepseek": "reasoning_content"}


def build_chat(
    settings: ProviderSettings,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    system: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    stream: bool = False,
    stream_usage: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> HTTPRequest:
    key = settings.key(env)
    headers = settings.request_headers({"Authorization": f"Bearer {key}" if key else ""}, env)
    echo = REASONING_ECHO.get(settings.id)
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for msg in clean_messages(messages):
        m = {k: v for k, v in msg.items() if k not in ("reasoning", "reasoning_blocks")}
        if msg["role"] == "assistant":
            if msg.get("tool_calls"):
                m["tool_calls"] = [_openai_tool_call(c) for c in msg["tool_calls"]]
            if echo and msg.get("reasoning"):
                m[echo] = msg["reasoning"]
        out.append(m)
    body: dict[str, Any] = {"model": model, "messages": out}
    if tools:
        body["tools"] = [_openai_tool(t) for t in tools]
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    if stream:
        body["stream"] = True
        if settings.stream_usage if stream_usage is None else stream_usage:
            body["stream_options"] = {"include_usage": True}
        headers["accept"] = "text/event-stream"
    return HTTPRequest("POST", f"{settings.base_url}/chat/completions", headers, body)


def build_models(settings: ProviderSettings, env: Mapping[str, str] | None = None) -> HTTPRequest:
    key = settings.key(env)
    headers = settings.request_headers({"Authorization": f"Bearer {key}" if key else ""}, env)
    headers.pop("content-type", None)
    return HTTPRequest("GET", f"{settings.base_url}/models", headers)


def _openai_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "function" and "function" in tool:
        return dict(tool)
    fn: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("parameters") or {"type": "object"}}
    if tool.get("description"):
        fn["description"] = tool["description"]
    return {"type": "function", "function": fn}


def _openai_tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    if "function" in call:
        return dict(call)
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": tool_arguments_json(call.get("arguments"))},
    }


def parse_usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    prompt = data.get("prompt_tokens_details") or {}
    completion = data.get("completion_tokens_details") or {}
    cache_read = prompt.get("cached_tokens") or data.get("prompt_cache_hit_tokens") or 0
    cost = data.get("cost")
    return Usage(
        input_tokens=int(data.get("prompt_tokens") or 0),
        output_tokens=int(data.get("completion_tokens") or 0),
        cache_read_tokens=int(cache_read),
        cache_write_tokens=int(prompt.get("cache_write_tokens") or 0),
        reasoning_tokens=int(completion.get("reasoning_tokens") or 0),
        cost=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    )


def _content(content: Any) -> tuple[str, str]:
    """(text, reasoning) of a message content: a string, null, or an array of parts (Mistral thinking parts)."""
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    text: list[str] = []
    reasoning: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "thinking":
                inner = part.get("thinking")
                if isinstance(inner, str):
                    reasoning.append(inner)
                elif isinstance(inner, list):
                    reasoning.extend(p.get("text", "") for p in inner if isinstance(p, dict))
            elif isinstance(part.get("text"), str):
                text.append(part["text"])
    return "".join(text), "".join(reasoning)


def _reasoning_field(obj: Mapping[str, Any]) -> str:
    for name in ("reasoning_content", "reasoning"):
        value = obj.get(name)
        if isinstance(value, str) and value:
            return value
    details = obj.get("reasoning_details")
    if isinstance(details, list):
        return "".join(d.get("text") or d.get("summary") or "" for d in details if isinstance(d, dict))
    return ""


def parse_chat(provider: str, body: bytes) -> Completion:
    data = load_json(provider, body)
    if not isinstance(data, dict):
        raise InvalidResponseError("response is not a JSON object", provider=provider, status=200)
    if data.get("error"):
        raise error_from_response(provider, 200, {}, body)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise InvalidResponseError(
            "response has no choices", provider=provider, status=200, body=body[:200].decode("utf-8", "replace")
        )
    choice = choices[0]
    message = choice.get("message") or {}
    text, reasoning = _content(message.get("content"))
    reasoning = reasoning or _reasoning_field(message)
    if not reasoning:
        reasoning, text = split_think(text)
    calls = tuple(
        ToolCall.from_raw(
            c.get("id") or "",
            (c.get("function") or {}).get("name") or "",
            _raw_args((c.get("function") or {}).get("arguments")),
        )
        for c in message.get("tool_calls") or ()
        if isinstance(c, dict)
    )
    return Completion(
        text=text,
        reasoning=reasoning,
        tool_calls=calls,
        finish_reason=normalize_finish(choice.get("finish_reason")),
        usage=parse_usage(data.get("usage")) or parse_usage((data.get("x_groq") or {}).get("usage")),
        model=str(data.get("model") or ""),
        id=str(data.get("id") or ""),
        provider=provider,
    )


def _raw_args(arguments: Any) -> str:
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def parse_models(provider: str, body: bytes) -> list[ModelInfo]:
    data = load_json(provider, body)
    entries = data.get("data") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InvalidResponseError("models response has no data list", provider=provider, status=200)
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        pricing = entry.get("pricing") or {}
        out.append(
            ModelInfo(
                id=str(entry["id"]),
                display_name=str(entry.get("name") or entry.get("display_name") or ""),
                context_window=_int(entry.get("context_length") or entry.get("context_window")),
                input_price_per_1m_tokens=_per_million(pricing.get("prompt")),
                output_price_per_1m_tokens=_per_million(pricing.get("completion")),
            )
        )
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _per_million(per_token: Any) -> float | None:
    try:
        return round(float(per_token) * 1_000_000, 6) if per_token is not None else None
    except (TypeError, ValueError):
        return None


class StreamParser:
    """Chat-completion chunks to neutral events. The stream is complete at ``[DONE]`` or, for servers that omit
    it, once a finish_reason arrived; ending before either is a broken stream."""

    def __init__(self, provider: str) -> None:
        self.acc = Accumulator(provider)
        self._done = False

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        data = event.data
        if data == "[DONE]":
            self._done = True
            return events
        if self._done or not data.strip():
            return events
        try:
            chunk = json.loads(data)
        except ValueError:
            raise StreamError(
                f"stream sent a data line that is not JSON: {data[:100]!r}",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            ) from None
        if not isinstance(chunk, dict):
            return events
        if event.event == "error" or chunk.get("error"):
            err = chunk.get("error", chunk)
            message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            raise StreamError(
                f"error event in stream: {message}",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
                code=str(err.get("code")) if isinstance(err, dict) and err.get("code") is not None else None,
                error_type=str(err.get("type")) if isinstance(err, dict) and err.get("type") else None,
            )
        acc = self.acc
        if not acc.id and chunk.get("id"):
            acc.id = str(chunk["id"])
        if not acc.model and chunk.get("model"):
            acc.model = str(chunk["model"])
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text, reasoning = _content(delta.get("content"))
            acc.add_reasoning(reasoning or _reasoning_field(delta), events)
            acc.add_text(text, events)
            for frag in delta.get("tool_calls") or ():
                if not isinstance(frag, dict):
                    continue
                fn = frag.get("function") or {}
                key = frag.get("index")
                if key is None:
                    key = frag.get("id") or (list(acc.calls)[-1] if acc.calls else 0)
                acc.tool_fragment(key, frag.get("id"), fn.get("name"), _raw_args(fn.get("arguments")), events)
            finish = normalize_finish(choice.get("finish_reason"))
            if finish:
                acc.finish_reason = finish
        usage = parse_usage(chunk.get("usage")) or parse_usage((chunk.get("x_groq") or {}).get("usage"))
        if usage is not None:
            acc.set_usage(usage, events)
        return events

    def end(self) -> None:
        if not self._done and self.acc.finish_reason is None:
            raise StreamError(
                "stream ended before the response was complete (no finish_reason and no [DONE])",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            )
