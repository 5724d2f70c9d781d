"""The openai-compatible protocol, sans-IO: build /chat/completions and /models requests, parse bodies and
streamed chunks into hamr's neutral values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ._config import ProviderSettings
from ._errors import InvalidResponseError, StreamError, error_from_response
from ._mistral import FIELD_NAMES, apply_mistral_rules, follows_mistral_rules
from ._presets import PRESETS
from ._sse import RawEvent
from ._stream import (
    Accumulator,
    _CallBuilder,
    ensure_call_id,
    feed_one,
    fix_surrogates,
    normalize_finish,
    scan_json,
    settle_finish,
    split_think,
    stream_json,
)
from ._types import Completion, HTTPRequest, ModelInfo, ReasoningBlock, StreamEvent, ToolCall, Usage
from ._wire import (
    JSONFormat,
    assistant_text,
    clean_messages,
    image_url_part,
    load_json,
    merge_extra,
    response_format_of,
    stop_list,
    token_count,
    tool_arguments_json,
    tool_choice_of,
)

# Fields of an assistant message that some providers need back to continue a reasoning turn: DeepSeek answers 400
# when a tool-calling turn comes back without its reasoning_content; OpenRouter (Anthropic models above all) needs the
# reasoning_details entries, signatures included, exactly as it sent them.
REASONING_ECHO = {"deepseek": "reasoning_content", "openrouter": "reasoning_details"}
# the same for a provider of another name pointed at those APIs (``[providers.work] base_url = api.deepseek.com``)
_ECHO_BY_HOST = {urlsplit(PRESETS[pid].base_url or "").hostname: field for pid, field in REASONING_ECHO.items()}


def reasoning_echo(settings: ProviderSettings) -> str | None:
    """The assistant-message field this provider needs its reasoning back in, if any: by preset, else by host."""
    return REASONING_ECHO.get(settings.id) or _ECHO_BY_HOST.get(urlsplit(settings.base_url).hostname)


# Providers whose chat completions take response_format "text" and "json_object" only: DeepSeek
# (api-docs.deepseek.com/guides/json_mode) answers 400 "This response_format type is unavailable now" to json_schema.
# A schema goes to them as json_object, with the schema in a system message (their JSON mode wants "json" and an
# example of the format in the prompt anyway).
JSON_OBJECT_ONLY = frozenset({"deepseek"})
_JSON_OBJECT_ONLY_HOSTS = frozenset(urlsplit(PRESETS[pid].base_url or "").hostname for pid in JSON_OBJECT_ONLY)


def takes_json_schema(settings: ProviderSettings) -> bool:
    """Whether this provider takes a ``json_schema`` response format: not DeepSeek, by preset or by host."""
    return settings.id not in JSON_OBJECT_ONLY and urlsplit(settings.base_url).hostname not in _JSON_OBJECT_ONLY_HOSTS


# OpenAI deprecated max_tokens for max_completion_tokens, and its reasoning models (o-series, gpt-5) refuse max_tokens;
# most other openai-compatible servers know only max_tokens. A gateway in front of OpenAI sets ``max_tokens_field``.
_COMPLETION_TOKENS_HOSTS = frozenset({"api.openai.com"})


def max_tokens_field(settings: ProviderSettings) -> str:
    """The request field that carries ``max_tokens``: the provider's ``max_tokens_field``, else by host."""
    if settings.max_tokens_field:
        return settings.max_tokens_field
    host = urlsplit(settings.base_url).hostname
    return "max_completion_tokens" if host in _COMPLETION_TOKENS_HOSTS else "max_tokens"


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
    """The /chat/completions request. Neutral options map one to one (``tool_choice={"name": t}`` becomes
    ``{"type": "function", "function": {"name": t}}``); tool options are left out of a request without tools;
    ``cache`` sends nothing (these providers cache prompts by themselves)."""
    del cache
    choice = tool_choice_of(tool_choice, tools)
    fmt = response_format_of(response_format)
    key = settings.key(env)
    headers = settings.request_headers({"Authorization": f"Bearer {key}" if key else ""}, env)
    echo = reasoning_echo(settings)
    out: list[dict[str, Any]] = [{"role": "system", "content": _parts(system)}] if system else []
    for msg in clean_messages(messages):
        m = {k: v for k, v in msg.items() if k not in ("reasoning", "reasoning_blocks")}
        content = msg.get("content")
        if msg["role"] == "assistant":
            if isinstance(content, list):  # a turn kept whole (Anthropic blocks, Responses items): its text
                m["content"] = assistant_text(content)
            calls = msg.get("tool_calls")
            if calls:
                m["tool_calls"] = [_openai_tool_call(c) for c in calls]
            if echo == "reasoning_details":
                details = [b.details for b in _blocks(msg) if b.details is not None]
                if details:
                    m[echo] = details
            elif echo and (msg.get("reasoning") or calls):
                # DeepSeek answers 400 when a tool-calling turn comes back without it, empty or not
                m[echo] = msg.get("reasoning") or ""
            if not (m.get("content") or calls or (echo and m.get(echo))):
                continue  # an empty turn says nothing: left out, as the Anthropic side must (README)
        elif isinstance(content, list):
            m["content"] = _parts(content)
        out.append(m)
    mistral = follows_mistral_rules(settings)
    if mistral:
        apply_mistral_rules(out, offset=1 if system else 0)
    body: dict[str, Any] = {"model": model, "messages": out}
    if tools:
        body["tools"] = [_openai_tool(t) for t in tools]
        if choice is not None:
            mode, name = choice
            body["tool_choice"] = mode if name is None else {"type": "function", "function": {"name": name}}
        if parallel_tool_calls is not None:
            body["parallel_tool_calls"] = parallel_tool_calls
    if max_tokens is not None:
        body[max_tokens_field(settings)] = max_tokens
    for field, value in (("temperature", temperature), ("top_p", top_p), ("stop", stop_list(stop)), ("seed", seed)):
        if value is not None:
            body[FIELD_NAMES.get(field, field) if mistral else field] = value
    if fmt is not None and fmt.schema is not None and takes_json_schema(settings):
        wire = {k: v for k, v in fmt._asdict().items() if v is not None}
        body["response_format"] = {"type": "json_schema", "json_schema": wire}
    elif fmt is not None:
        body["response_format"] = {"type": "json_object"}
        if fmt.schema is not None:
            _put_schema_in_prompt(out, fmt)
    if stream:
        body["stream"] = True
        if settings.stream_usage if stream_usage is None else stream_usage:
            body["stream_options"] = {"include_usage": True}
        headers["accept"] = "text/event-stream"
    merge_extra(body, extra_body)
    return HTTPRequest("POST", f"{settings.base_url}/chat/completions", headers, body)


def _put_schema_in_prompt(messages: list[dict[str, Any]], fmt: JSONFormat) -> None:
    """A system message saying the answer's schema, after the leading system messages (so the prompt's cached
    prefix stays the same from turn to turn): what a provider without ``json_schema`` gets beside ``json_object``."""
    schema = json.dumps(fmt.schema, ensure_ascii=False, separators=(",", ":"))
    text = f"Answer with a JSON object that follows this JSON schema ({fmt.name}): {schema}"
    at = next((i for i, m in enumerate(messages) if m["role"] != "system"), len(messages))
    messages.insert(at, {"role": "system", "content": text})


def build_models(settings: ProviderSettings, env: Mapping[str, str] | None = None) -> HTTPRequest:
    key = settings.key(env)
    headers = settings.request_headers({"Authorization": f"Bearer {key}" if key else ""}, env)
    headers.pop("content-type", None)
    return HTTPRequest("GET", f"{settings.base_url}/models", headers)


def _parts(content: str | Sequence[Mapping[str, Any]]) -> str | list[Any]:
    """Message content as OpenAI parts: a string as is; Anthropic ``image`` blocks as ``image_url`` parts, any
    other part passed through unchanged."""
    if isinstance(content, str):
        return content
    return [image_url_part(p) if isinstance(p, Mapping) and p.get("type") == "image" else p for p in content]


def _blocks(msg: Mapping[str, Any]) -> list[ReasoningBlock]:
    return [ReasoningBlock.from_value(b) for b in msg.get("reasoning_blocks") or ()]


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
    """OpenAI-style usage. ``prompt_tokens`` is the whole prompt; cache reads come from
    ``prompt_tokens_details.cached_tokens`` (OpenAI, OpenRouter, Mistral, Groq) or DeepSeek's
    ``prompt_cache_hit_tokens``, cache writes from OpenRouter's ``prompt_tokens_details.cache_write_tokens``."""
    if not isinstance(data, dict):
        return None
    prompt = data.get("prompt_tokens_details")
    prompt = prompt if isinstance(prompt, dict) else {}
    completion = data.get("completion_tokens_details")
    completion = completion if isinstance(completion, dict) else {}
    cost = data.get("cost")
    return Usage(
        input_tokens=token_count(data.get("prompt_tokens")),
        output_tokens=token_count(data.get("completion_tokens")),
        cache_read_tokens=token_count(prompt.get("cached_tokens")) or token_count(data.get("prompt_cache_hit_tokens")),
        cache_write_tokens=token_count(prompt.get("cache_write_tokens")),
        reasoning_tokens=token_count(completion.get("reasoning_tokens")),
        cost=_number(cost),
        upstream_cost=_upstream_cost(data),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _upstream_cost(usage: Mapping[str, Any]) -> float | None:
    """OpenRouter BYOK (``is_byok: true``): ``usage.cost`` is OpenRouter's fee, and what the upstream provider
    bills on your own key is ``cost_details.upstream_inference_cost`` (else its prompt and completion parts)."""
    details = usage.get("cost_details")
    if usage.get("is_byok") is not True or not isinstance(details, Mapping):
        return None
    whole = _number(details.get("upstream_inference_cost"))
    if whole is not None:
        return whole
    parts = [_number(details.get(f"upstream_inference_{k}_cost")) for k in ("prompt", "completions")]
    return None if None in parts else sum(p for p in parts if p is not None)


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
        return "".join(_detail_text(d) for d in details if isinstance(d, dict))
    return ""


def _detail_text(detail: Mapping[str, Any]) -> str:
    text = detail.get("text") or detail.get("summary") or ""
    return text if isinstance(text, str) else ""


def _detail_block(detail: Mapping[str, Any]) -> ReasoningBlock:
    signature = detail.get("signature")
    return ReasoningBlock(
        _detail_text(detail), signature if isinstance(signature, str) and signature else None, details=dict(detail)
    )


def parse_chat(provider: str, body: bytes, *, json_tool: str | None = None) -> Completion:
    del json_tool  # only the Anthropic side answers through a tool
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
            ensure_call_id(str(c.get("id") or ""), n),
            (c.get("function") or {}).get("name") or "",
            _raw_args((c.get("function") or {}).get("arguments")),
        )
        for n, c in enumerate(c for c in message.get("tool_calls") or () if isinstance(c, dict))
    )
    details = message.get("reasoning_details")
    refusal = message.get("refusal")
    return Completion(
        text=fix_surrogates(text),
        reasoning=fix_surrogates(reasoning),
        refusal=refusal if isinstance(refusal, str) and refusal else None,
        tool_calls=calls,
        finish_reason=settle_finish(normalize_finish(choice.get("finish_reason")), bool(calls)),
        usage=_chunk_usage(data),
        model=str(data.get("model") or ""),
        id=str(data.get("id") or ""),
        provider=provider,
        reasoning_blocks=tuple(_detail_block(d) for d in details if isinstance(d, dict))
        if isinstance(details, list)
        else (),
    )


def _chunk_usage(data: Mapping[str, Any]) -> Usage | None:
    """Usage at the top level, or inside Groq's ``x_groq`` (older Groq streams report it only there)."""
    x_groq = data.get("x_groq")
    return parse_usage(data.get("usage")) or parse_usage(x_groq.get("usage") if isinstance(x_groq, dict) else None)


def _raw_args(arguments: Any) -> str:
    if arguments is None:
        return ""
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


#: where a /models entry gives the context window: OpenRouter and Together ``context_length``, Groq
#: ``context_window``, Mistral ``max_context_length``
_CONTEXT_FIELDS = ("context_length", "context_window", "max_context_length")


def parse_models(provider: str, body: bytes) -> list[ModelInfo]:
    data = load_json(provider, body)
    entries = data.get("data") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InvalidResponseError("models response has no data list", provider=provider, status=200)
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        # OpenRouter's catalogue: name, context_length, per-token prices as strings, top_provider's output limit
        pricing, top = (v if isinstance(v, dict) else {} for v in (entry.get("pricing"), entry.get("top_provider")))
        out.append(
            ModelInfo(
                id=str(entry["id"]),
                display_name=str(entry.get("name") or entry.get("display_name") or ""),
                context_window=next((_int(entry[f]) for f in _CONTEXT_FIELDS if _int(entry.get(f))), None),
                input_price_per_1m_tokens=_per_million(pricing.get("prompt")),
                output_price_per_1m_tokens=_per_million(pricing.get("completion")),
                cache_read_price_per_1m_tokens=_per_million(pricing.get("input_cache_read")),
                max_output_tokens=_int(top.get("max_completion_tokens")),
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


def _starts_new_call(call: _CallBuilder, call_id: str | None, name: object, arguments: object) -> bool:
    """Whether a fragment at the index of ``call`` begins another call: it has another id, or (with no id at all,
    as Ollama and LM Studio stream parallel calls) it names a function again, and either the name differs or the
    call there is already complete."""
    if call_id:
        if not call.id or call_id == call.id:
            return False
    elif not (name and call.name and (name != call.name or arguments)):
        return False
    if name and call.name and name != call.name:
        return True
    try:
        return isinstance(json.loads("".join(call.arguments)), dict)
    except ValueError:
        return False


class StreamParser:
    """Chat-completion chunks to neutral events. The stream is complete at ``[DONE]`` or, for servers that omit
    it, once a finish_reason arrived; ending before either is a broken stream."""

    def __init__(self, provider: str, *, keep_text: bool = True, json_tool: str | None = None) -> None:
        del json_tool  # only the Anthropic side answers through a tool
        self.acc = Accumulator(provider, keep_text=keep_text)
        self._done = False
        self._by_index: dict[object, int] = {}  # the provider's tool-call index -> hamr's call number
        self._by_id: dict[str, int] = {}
        self._last_call: int | None = None
        self._details: dict[object, dict[str, Any]] = {}  # OpenRouter reasoning_details, merged by their index
        self._answered = False  # a chunk carried a choice: the stream has an answer, empty or not

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if data == "[DONE]":
            self._done = True
            return events
        if self._done or not data.strip():
            return events
        try:
            chunk = stream_json(data)
        except ValueError:
            raise StreamError(
                f"stream sent a data line that is not JSON: {data[:100]!r}",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            ) from None
        if not isinstance(chunk, dict):
            return events
        # Mistral and vLLM send their error object bare ({"object": "error", "message": ...}), not under "error"
        if event == "error" or chunk.get("error") or chunk.get("object") == "error":
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
            self._answered = True
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and (len(delta) == 1 or (len(delta) == 2 and "role" in delta)):
                # the bulk of every stream, a text-only delta: what _delta does with it, minus its lookups
                acc.add_text(content, events)
            else:
                self._delta(delta, events)
            if choice.get("finish_reason") is not None:
                acc.finish(normalize_finish(choice["finish_reason"]))
        # usage may ride on any chunk (last content chunk, a repeated finish chunk, a "choices": [] chunk, x_groq);
        # each report replaces the previous one, so a provider repeating it is never counted twice
        if chunk.get("usage") is not None or chunk.get("x_groq") is not None:
            usage = _chunk_usage(chunk)
            if usage is not None:
                acc.set_usage(usage, events)
        return events

    def feed_many(self, sse_events: Sequence[RawEvent], out: list[StreamEvent]) -> None:
        """``feed`` for each event of a bulk read, into ``out``. The bulk of a stream, a chunk of one choice whose
        delta is only text or only an argument fragment of a call announced earlier, is done here with the checks
        that shape needs and nothing more (inline: this loop runs once per event); any other event, or any doubt,
        goes to ``feed``. The outcome is feed's: tests/property/test_bulk_read_properties.py compares them."""
        acc, feed, by_index = self.acc, self.feed, self._by_index
        add_text, tool_fragment = acc.add_text, acc.tool_fragment
        for event, data, _ in sse_events:
            try:
                chunk, end = scan_json(data, 0)  # as scan_whole does, without a call
            except (StopIteration, ValueError):
                chunk = end = None
            if (
                end != len(data)
                or type(chunk) is not dict
                or event != "message"
                or self._done
                or chunk.get("usage") is not None
                or "error" in chunk
                or "x_groq" in chunk
                or chunk.get("object") == "error"
                or type(choices := chunk.get("choices")) is not list
                or len(choices) != 1
                or type(choice := choices[0]) is not dict
                or type(delta := choice.get("delta")) is not dict
                or choice.get("index", 0) != 0
                or choice.get("finish_reason") is not None
            ):
                feed_one(feed, event, data, out)
                continue
            content = delta.get("content")
            if type(content) is str and (len(delta) == 1 or (len(delta) == 2 and "role" in delta)):
                key = None
            elif (
                len(delta) == 1
                and type(calls := delta.get("tool_calls")) is list
                and len(calls) == 1
                and type(frag := calls[0]) is dict
                and len(frag) == 2
                and type(fn := frag.get("function")) is dict
                and len(fn) == 1
                and type(content := fn.get("arguments")) is str  # content: now the fragment
                # no id, no name: a fragment at a known index never starts another call (see _call_key)
                and (key := by_index.get(frag.get("index"))) is not None
            ):
                self._last_call = key
            else:
                feed_one(feed, event, data, out)
                continue
            if not acc.id and chunk.get("id"):
                acc.id = str(chunk["id"])
            if not acc.model and chunk.get("model"):
                acc.model = str(chunk["model"])
            self._answered = True
            if key is None:
                add_text(content, out)
            else:
                tool_fragment(key, None, None, content, out)

    def _delta(self, delta: Mapping[str, Any], events: list[StreamEvent]) -> None:
        acc = self.acc
        text, reasoning = _content(delta.get("content"))
        acc.add_reasoning(reasoning or _reasoning_field(delta), events)
        acc.add_text(text, events)
        if isinstance(delta.get("refusal"), str):
            acc.refusal.append(delta["refusal"])
        if isinstance(delta.get("reasoning_details"), list):
            self._merge_details(delta["reasoning_details"])
        for frag in delta.get("tool_calls") or ():
            if not isinstance(frag, dict):
                continue
            fn = frag.get("function") or {}
            call_id = frag.get("id") if isinstance(frag.get("id"), str) else None
            key = self._call_key(frag.get("index"), call_id, fn.get("name"), fn.get("arguments"))
            if key in acc.calls and acc.calls[key][1].id:
                call_id = None  # a call keeps the id it was announced with
            acc.tool_fragment(key, call_id, fn.get("name"), _raw_args(fn.get("arguments")), events)

    def _call_key(self, index: object, call_id: str | None, name: object, arguments: object) -> int:
        """Which call a tool-call fragment belongs to: by ``index``, by ``id`` when the index is missing, else the
        call in progress. At an index already in use, a different id starts a new call only once the call there is
        complete or the name differs: Ollama streams every parallel call whole at index 0, while other servers
        (Poolside, vLLM's harmony parser) change the id between fragments of one call. Without ids, a fragment
        naming a function again after a complete call starts the next one."""
        calls = self.acc.calls
        if call_id and call_id in self._by_id:
            key = self._by_id[call_id]
        elif index is not None:
            known = self._by_index.get(index)
            if known is None or _starts_new_call(calls[known][1], call_id, name, arguments):
                known = self._by_index[index] = len(calls)
            key = known
        elif call_id or self._last_call is None:
            key = len(calls)
        else:
            key = self._last_call
        if call_id:
            self._by_id[call_id] = key
        self._last_call = key
        return key

    def _merge_details(self, details: list[Any]) -> None:
        """Join streamed reasoning_details fragments (text/summary/data/signature pieces) per entry index."""
        for position, detail in enumerate(details):
            if not isinstance(detail, dict):
                continue
            entry = self._details.setdefault(detail.get("index", f"at{position}"), {})
            for name, value in detail.items():
                if name in ("text", "summary", "data", "signature") and isinstance(value, str):
                    entry[name] = entry.get(name, "") + value
                elif entry.get(name) in (None, ""):
                    entry[name] = value
        self.acc.blocks = [_detail_block(d) for d in self._details.values()]

    def end(self) -> None:
        if not self._done and self.acc.finish_reason is None:
            raise StreamError(
                "stream ended before the response was complete (no finish_reason and no [DONE])",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            )
        if not self._answered:
            # as parse_chat's "response has no choices": [DONE] alone is not an empty answer but none at all
            raise StreamError(
                "stream ended without an answer: no chunk carried a choice",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            )
