"""The openai-responses protocol, sans-IO: build /responses requests, parse Response objects and the semantic stream
events (``response.created`` ... ``response.completed``) into hamr's neutral values. /models is the
openai-compatible one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._config import ProviderSettings
from ._errors import InvalidResponseError, StreamError, error_from_response
from ._openai import build_models, parse_models
from ._openai import parse_usage as parse_chat_usage
from ._sse import RawEvent
from ._stream import (
    Accumulator,
    ensure_call_id,
    feed_one,
    fix_surrogates,
    normalize_finish,
    scan_json,
    settle_finish,
    stream_json,
)
from ._types import Completion, HTTPRequest, StreamEvent, ToolCall, Usage
from ._wire import (
    assistant_text,
    clean_messages,
    image_url_part,
    load_json,
    merge_extra,
    response_format_of,
    responses_turn,
    tool_arguments_json,
    tool_choice_of,
)

__all__ = ["StreamParser", "build_chat", "build_models", "parse_chat", "parse_models", "parse_usage"]

#: what hamr sends so that a conversation needs nothing stored on the server: the reasoning items come back with
#: their encrypted content, and go out again with the next turn (``to_message()``)
STATELESS = {"store": False, "include": ["reasoning.encrypted_content"]}
#: neutral options the Responses API has no field for: a ValueError before sending, never dropped
UNSUPPORTED = {"stop": "stop sequences", "seed": "a seed"}
#: a neutral content part (or an Anthropic block) as the Responses input part of the same meaning
_PART_TYPES = {"text": "input_text"}
REASONING_SEPARATOR = "\n\n"  # between two reasoning parts (summary parts, reasoning items), streamed or not


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
    """The /responses request: ``system`` as ``instructions``, messages as ``input`` items (tool calls as
    ``function_call`` items, tool results as ``function_call_output`` items with their ``call_id``, an answer's
    output items from ``to_message()`` exactly as received), function tools in the flat Responses form (``strict``
    false unless the tool says otherwise, as on chat completions), ``max_tokens`` as ``max_output_tokens``,
    ``response_format`` as ``text.format``. Stateless: ``store`` false and the reasoning items' encrypted content
    asked for (``extra_body={"store": True}`` / ``{"previous_response_id": ...}`` for server-side state).
    ``cache`` sends nothing: OpenAI caches prompts by itself."""
    del cache, stream_usage  # usage always comes with the response (response.completed)
    for option, given in (("stop", stop), ("seed", seed)):
        if given is not None:
            raise ValueError(
                f"{option} is not supported by the openai-responses protocol (the Responses API takes no "
                f"{UNSUPPORTED[option]}): leave it out, or use the openai-compatible protocol"
            )
    choice = tool_choice_of(tool_choice, tools)
    fmt = response_format_of(response_format)
    key = settings.key(env)
    headers = settings.request_headers({"Authorization": f"Bearer {key}" if key else ""}, env)
    body: dict[str, Any] = {"model": model, "input": input_items(messages)}
    if system:
        body["instructions"] = _instructions(system)
    if tools:
        body["tools"] = [_function_tool(t) for t in tools]
        if choice is not None:
            mode, name = choice
            body["tool_choice"] = mode if name is None else {"type": "function", "name": name}
        if parallel_tool_calls is not None:
            body["parallel_tool_calls"] = parallel_tool_calls
    for field, number in (("max_output_tokens", max_tokens), ("temperature", temperature), ("top_p", top_p)):
        if number is not None:
            body[field] = number
    if fmt is not None:
        wire = {"type": "json_object"} if fmt.schema is None else {"type": "json_schema", **_present(fmt._asdict())}
        body["text"] = {"format": wire}
    body.update({k: list(v) if isinstance(v, list) else v for k, v in STATELESS.items()})
    if stream:
        body["stream"] = True
        headers["accept"] = "text/event-stream"
    merge_extra(body, extra_body)
    return HTTPRequest("POST", f"{settings.base_url}/responses", headers, body)


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _instructions(system: str | Sequence[Mapping[str, Any]]) -> str:
    """``system`` as the ``instructions`` string: text blocks joined by a blank line."""
    if isinstance(system, str):
        return system
    texts = []
    for block in system:
        if not isinstance(block, Mapping) or not isinstance(block.get("text"), str):
            raise ValueError(f"a system prompt is a string or a list of text blocks, got {block!r}")
        texts.append(block["text"])
    return "\n\n".join(t for t in texts if t)


def input_items(messages: Sequence[Mapping[str, Any]] | str) -> list[dict[str, Any]]:
    """Neutral messages as Responses ``input`` items."""
    items: list[dict[str, Any]] = []
    for msg in clean_messages(messages):
        role, content = msg["role"], msg.get("content")
        if role == "tool":
            output = _parts(content, "input") if isinstance(content, list) else ("" if content is None else content)
            items.append({"type": "function_call_output", "call_id": msg["tool_call_id"], "output": output})
        elif role == "assistant":
            items += _assistant_items(msg)
        else:
            items.append({"role": role, "content": _parts(content, "input") if isinstance(content, list) else content})
    return items


def _parts(content: Sequence[Any], side: str) -> list[Any]:
    """Content parts in the Responses form: ``text`` as ``input_text``, an OpenAI ``image_url`` part or an
    Anthropic ``image`` block as ``input_image``; a part already in the Responses form passes unchanged."""
    out: list[Any] = []
    for part in content:
        if not isinstance(part, Mapping):
            raise ValueError(f"a content part must be a dict, got {part!r}")
        kind = part.get("type")
        if kind == "image":
            part = image_url_part(part)
            kind = "image_url"
        if kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            detail = image.get("detail") if isinstance(image, Mapping) else None
            out.append({"type": "input_image", "image_url": url, "detail": detail or "auto"})
        elif kind in _PART_TYPES:
            out.append({**part, "type": f"{side}_text"})
        else:
            out.append(dict(part))
    return out


def _assistant_items(msg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An assistant message as input items: the output items of a Responses answer exactly as received (its
    ``content`` list from ``to_message()``), else its text as an assistant message; then each tool call the items
    do not hold already, as a ``function_call`` item. Another protocol's reasoning cannot be sent to this one."""
    content = msg.get("content")
    items: list[dict[str, Any]] = []
    if responses_turn(content):
        items = [dict(item) for item in content or ()]
    else:
        text = content if isinstance(content, str) else assistant_text(content)
        if text:
            items.append({"role": "assistant", "content": text})
    sent = {item.get("call_id") for item in items if item.get("type") == "function_call"}
    for call in msg.get("tool_calls") or ():
        fn = _function(call)
        if call["id"] not in sent:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": fn.get("name"),
                    "arguments": tool_arguments_json(fn.get("arguments")),
                }
            )
    return items


def _function(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``function`` of a tool or tool call in OpenAI's chat form, else the (neutral) object itself."""
    inner = obj.get("function")
    return inner if isinstance(inner, Mapping) else obj


def _function_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A neutral tool (or OpenAI's chat form) as a Responses function tool; a tool in the Responses form (a
    ``type`` without a nested ``function``: a function, or a built-in such as ``{"type": "web_search"}``) passes
    unchanged. ``strict`` is false unless given: the Responses API's own default is strict, which rejects schemas
    that chat completions take."""
    if "type" in tool and "function" not in tool:
        return dict(tool)
    fn = _function(tool)
    out: dict[str, Any] = {"type": "function", "name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
    out["strict"] = bool(fn.get("strict", False))
    return out


# ------------------------------------------------------------------------------------------------------------------
# responses
# ------------------------------------------------------------------------------------------------------------------


def parse_usage(data: Any) -> Usage | None:
    """Responses usage (``input_tokens``, ``input_tokens_details.cached_tokens`` / ``cache_write_tokens``,
    ``output_tokens_details.reasoning_tokens``; OpenRouter's ``cost``) read as the chat-completions usage of the
    same meaning."""
    if not isinstance(data, dict):
        return None
    return parse_chat_usage(
        {
            **data,
            "prompt_tokens": data.get("input_tokens"),
            "completion_tokens": data.get("output_tokens"),
            "prompt_tokens_details": data.get("input_tokens_details"),
            "completion_tokens_details": data.get("output_tokens_details"),
        }
    )


def finish_reason(response: Mapping[str, Any], ended: str | None = None) -> str | None:
    """A response's ``status`` as a finish reason: ``completed`` is ``stop``; ``incomplete`` is its
    ``incomplete_details.reason`` (``max_output_tokens`` is ``length``, ``content_filter`` stays), ``incomplete``
    when none is given; any other status passes through. A response without a status (OpenRouter's, answering
    through some upstreams) has the one its stream event says (``ended``), else ``incomplete`` when it gives
    incomplete_details and ``completed`` when it does not: a whole body that names no reason to stop early."""
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    status = response.get("status") or ended or ("incomplete" if reason else "completed")
    if status == "incomplete":
        return normalize_finish(reason) or "incomplete"
    return normalize_finish("stop" if status == "completed" else status)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (a server's other values, or a value that is not a list, give none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _reasoning_text(item: Mapping[str, Any]) -> str:
    """The text of a reasoning item: its ``reasoning_text`` content (open models), else its summary parts."""
    parts = _dicts(item.get("content")) or _dicts(item.get("summary"))
    return REASONING_SEPARATOR.join(p["text"] for p in parts if isinstance(p.get("text"), str) and p["text"])


def parse_chat(provider: str, body: bytes, *, json_tool: str | None = None) -> Completion:
    """A Response object as a Completion: the text of its ``message`` items, ``function_call`` items as tool
    calls, reasoning items as reasoning, every output item in ``content_blocks`` (built-in tool items such as
    ``web_search_call`` only there). A ``failed`` response, or an error object in place of one, raises."""
    del json_tool  # only the Anthropic side answers through a tool
    data = load_json(provider, body)
    if not isinstance(data, dict):
        raise InvalidResponseError("response is not a JSON object", provider=provider, status=200)
    if data.get("status") == "failed" or (data.get("error") and not isinstance(data.get("output"), list)):
        raise error_from_response(provider, 200, {}, body)
    output = data.get("output")
    if not isinstance(output, list):
        raise InvalidResponseError(
            "response has no output list", provider=provider, status=200, body=body[:200].decode("utf-8", "replace")
        )
    text: list[str] = []
    refusal: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    for item in _dicts(output):
        kind = item.get("type")
        if kind == "message":
            for part in _dicts(item.get("content")):
                if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    text.append(part["text"])
                elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                    refusal.append(part["refusal"])
        elif kind == "reasoning":
            reasoning.append(_reasoning_text(item))
        elif kind == "function_call":
            raw = item.get("arguments")
            calls.append(
                ToolCall.from_raw(
                    ensure_call_id(str(item.get("call_id") or ""), len(calls)),
                    str(item.get("name") or ""),
                    raw if isinstance(raw, str) else tool_arguments_json(raw),
                )
            )
    return Completion(
        text=fix_surrogates("".join(text)),
        reasoning=fix_surrogates(REASONING_SEPARATOR.join(r for r in reasoning if r)),
        tool_calls=tuple(calls),
        finish_reason=settle_finish(finish_reason(data), bool(calls)),
        usage=parse_usage(data.get("usage")),
        model=str(data.get("model") or ""),
        id=str(data.get("id") or ""),
        provider=provider,
        refusal="".join(refusal) or None,
        content_blocks=tuple(_dicts(output)),
    )


# ------------------------------------------------------------------------------------------------------------------
# streams
# ------------------------------------------------------------------------------------------------------------------


def _failure(message: str, err: Any, partial: Completion, provider: str) -> StreamError:
    """A StreamError from an error object (``error`` event, ``response.failed``); its ``code`` and ``type`` decide,
    as an error status would, whether the stream is sent again (before any answer only)."""
    err = err if isinstance(err, dict) else {}
    code, kind = err.get("code"), err.get("type")
    return StreamError(
        f"{message}: {err.get('message') or err or 'no error message'}",
        partial=partial,
        provider=provider,
        code=None if code is None else str(code),
        error_type=None if kind is None else str(kind),
    )


class StreamParser:
    """Responses stream events to neutral events. Text, reasoning and argument deltas become events as they come;
    a ``*.done`` event (or ``output_item.done``) whose full text is longer than its deltas brought adds the rest,
    so a server that sends no deltas loses nothing. Complete at ``response.completed`` or ``response.incomplete``;
    ``response.failed`` and ``error`` raise StreamError with what arrived. Event types not in ``HANDLERS`` are
    passed over (README, "The openai-responses protocol")."""

    def __init__(self, provider: str, *, keep_text: bool = True, json_tool: str | None = None) -> None:
        del json_tool  # only the Anthropic side answers through a tool
        self.acc = Accumulator(provider, think_tags=False, keep_text=keep_text)
        self.acc.content_blocks = self._content_blocks
        self._final: dict[str, Any] | None = None  # the response of response.completed / response.incomplete
        self._items: dict[object, dict[str, Any] | None] = {}  # output index -> its item once done (None before)
        self._index_of: dict[object, object] = {}  # item id -> output index
        self._streamed: dict[tuple[object, str, object], int] = {}  # characters received per part
        self._reasoned = False  # a reasoning part has begun: the next one is set apart

    def feed(self, event: str, data: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not data.strip() or data == "[DONE]":  # OpenRouter ends its Responses streams with [DONE] too
            return events
        try:
            obj = stream_json(data)
        except ValueError:
            raise StreamError(
                f"stream sent a data line that is not JSON: {data[:100]!r}",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            ) from None
        if isinstance(obj, dict):
            handler = HANDLERS.get(obj.get("type") or event)
            if handler is not None:
                handler(self, obj, events)
        return events

    def feed_many(self, sse_events: Sequence[RawEvent], out: list[StreamEvent]) -> None:
        """``feed`` for each event of a bulk read, into ``out``. The bulk of a stream, a delta (``DELTAS``: text,
        reasoning, a call's arguments) that names its output index, is done here with the checks that shape needs
        and nothing more (inline: this loop runs once per event; the text deltas in a row to one part are counted
        once); any other event, or any doubt, goes to ``feed``. The outcome is feed's:
        tests/property/test_bulk_read_properties.py compares them."""
        feed, streamed, emit, add_text = self.feed, self._streamed, self._emit, self.acc.add_text
        run_key: tuple[object, str, object] | None = None  # the part of the text deltas in a row just read
        run = 0  # their characters, counted into _streamed at once when the run ends (before feed reads it)
        for event, data, _ in sse_events:
            try:
                obj, end = scan_json(data, 0)  # as scan_whole does, without a call
            except (StopIteration, ValueError):
                obj = end = None
            if (
                end == len(data)
                and type(obj) is dict
                and type(name := obj.get("type")) is str
                and (part := _DELTA_PARTS.get(name)) is not None
                and type(piece := obj.get("delta")) is str
                and piece
                and type(index := obj.get("output_index")) is int
                and type(number := obj.get(part[1], 0)) is int
            ):
                kind = part[0]
                if kind == "text":  # nearly every event: what _emit does with it, minus its checks
                    if run_key is None or index != run_key[0] or number != run_key[2]:
                        if run_key is not None:
                            streamed[run_key] = streamed.get(run_key, 0) + run
                        run_key, run = (index, kind, number), 0
                    run += len(piece)
                    add_text(piece, out)
                else:
                    emit((index, kind, number), piece, out)  # reads the count of its own part only
                continue
            if run_key is not None:
                streamed[run_key] = streamed.get(run_key, 0) + run
                run_key = None
            feed_one(feed, event, data, out)
        if run_key is not None:
            streamed[run_key] = streamed.get(run_key, 0) + run

    # ---- lifecycle ----

    def _started(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        response = obj.get("response")
        if isinstance(response, dict):
            self.acc.id = self.acc.id or str(response.get("id") or "")
            self.acc.model = self.acc.model or str(response.get("model") or "")

    def _finished(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        response = obj.get("response")
        if not isinstance(response, dict):
            raise ValueError(f"{obj.get('type')} without a response object")
        self._started(obj, events)
        if not self._streamed and not self.acc.calls:  # a server that sent the answer only at its end
            for n, item in enumerate(_dicts(response.get("output"))):
                self._item_done({"item": item, "output_index": n}, events)
        else:  # a call's arguments that only the final response brings (OpenRouter with Anthropic models)
            for item in _dicts(response.get("output")):
                if item.get("type") == "function_call":
                    self._settle_call(item, events)
        self._final = response
        self.acc.finish_reason = finish_reason(response, str(obj.get("type") or "").removeprefix("response.") or None)
        usage = parse_usage(response.get("usage"))
        if usage is not None:
            self.acc.set_usage(usage, events)

    def _failed(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        response = obj.get("response")
        err = response.get("error") if isinstance(response, dict) else None
        raise _failure("the response failed (response.failed)", err, self.acc.snapshot(), self.acc.provider)

    def _error(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        # the spec puts code/message/param on the event itself; OpenAI has sent them nested under "error"
        err = obj.get("error") if isinstance(obj.get("error"), dict) else obj
        raise _failure("error event in stream", err, self.acc.snapshot(), self.acc.provider)

    # ---- items and their parts ----

    def _index(self, obj: Mapping[str, Any]) -> object:
        index = obj.get("output_index")
        return index if index is not None else self._index_of.get(obj.get("item_id"), obj.get("item_id"))

    def _item_added(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        item, index = obj.get("item"), self._index(obj)
        if not isinstance(item, dict):
            return
        self._items.setdefault(index, None)
        if item.get("id") is not None:
            self._index_of[item["id"]] = index
        if item.get("type") == "function_call":
            self.acc.tool_fragment(index, item.get("call_id"), item.get("name"), "", events)
            self._settle((index, "arguments", 0), item.get("arguments"), events)

    def _item_done(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        item, index = obj.get("item"), self._index(obj)
        if not isinstance(item, dict):
            return
        self._items[index] = item
        kind = item.get("type")
        if kind == "message":
            for n, part in enumerate(_dicts(item.get("content"))):
                if part.get("type") == "refusal":
                    self._settle((index, "refusal", n), part.get("refusal"), events)
                else:
                    self._settle((index, "text", n), part.get("text"), events)
        elif kind == "reasoning":
            for n, part in enumerate(_dicts(item.get("content"))):
                self._settle((index, "reasoning", n), part.get("text"), events)
            for n, part in enumerate(_dicts(item.get("summary"))):
                self._settle((index, "summary", n), part.get("text"), events)
        elif kind == "function_call":
            # the call's id and name where it has none yet, and the arguments its deltas did not bring
            self.acc.tool_fragment(index, item.get("call_id"), item.get("name"), "", events)
            self._settle((index, "arguments", 0), item.get("arguments"), events)

    def _content_part(self, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        part = obj.get("part")
        if not isinstance(part, dict):
            return
        kind = {"output_text": "text", "refusal": "refusal", "reasoning_text": "reasoning"}.get(str(part.get("type")))
        if kind is not None:
            full = part.get("refusal") if kind == "refusal" else part.get("text")
            self._settle((self._index(obj), kind, obj.get("content_index", 0)), full, events)

    def _settle_call(self, item: Mapping[str, Any], events: list[StreamEvent]) -> None:
        """A function_call of the final response, found among the calls streamed (by its item id, else its call
        id): the arguments it holds beyond what was streamed arrive now. Arguments that disagree with the streamed
        ones (not their continuation) leave the streamed call as it is: its events are out already."""
        index = self._index_of.get(item.get("id"))
        if index not in self.acc.calls:
            call_id = item.get("call_id")
            index = next((key for key, (_, call) in self.acc.calls.items() if call_id and call.id == call_id), None)
        full = item.get("arguments")
        if index is None or not isinstance(full, str):
            return
        if full.startswith("".join(self.acc.calls[index][1].arguments)):
            self._settle((index, "arguments", 0), full, events)

    def _settle(self, key: tuple[object, str, object], full: Any, events: list[StreamEvent]) -> None:
        """The part ``key`` is ``full`` in all: what its deltas did not bring arrives now."""
        if isinstance(full, str) and len(full) > self._streamed.get(key, 0):
            self._emit(key, full[self._streamed.get(key, 0) :], events)

    def _emit(self, key: tuple[object, str, object], piece: str, events: list[StreamEvent]) -> None:
        acc, (index, kind, _) = self.acc, key
        if key not in self._streamed and kind in ("reasoning", "summary"):
            if self._reasoned:
                acc.add_reasoning(REASONING_SEPARATOR, events)
            self._reasoned = True
        self._streamed[key] = self._streamed.get(key, 0) + len(piece)
        if kind == "text":
            acc.add_text(piece, events)
        elif kind == "refusal":
            acc.refusal.append(piece)
        elif kind == "arguments":
            acc.tool_fragment(index, None, None, piece, events)
        else:
            acc.add_reasoning(piece, events)

    def _content_blocks(self, text: str) -> tuple[dict[str, Any], ...]:
        """Every output item in order: the final response's, else those done so far when every item begun is
        done (an item still open cannot be sent back). Without the answer's text kept, message items are left
        out, as that text is."""
        output = self._final.get("output") if self._final is not None else None
        if _dicts(output):
            items = _dicts(output)
        elif all(item is not None for item in self._items.values()):
            items = [item for item in self._items.values() if item is not None]
        else:
            return ()
        if not self.acc.keep_text:
            items = [item for item in items if item.get("type") != "message"]
        return tuple(dict(item) for item in items)

    def end(self) -> None:
        if self._final is None:
            raise StreamError(
                "stream ended before the response was complete (no response.completed or response.incomplete)",
                partial=self.acc.snapshot(),
                provider=self.acc.provider,
            )


_Handler = Callable[[StreamParser, dict[str, Any], list[StreamEvent]], None]


def _number_field(kind: str) -> str:
    """The field of an event that numbers its part of this kind within the item."""
    return "summary_index" if kind == "summary" else "content_index"


def _part(kind: str, field: str) -> _Handler:
    """The handler of a delta (``field`` "delta") or of a done event that gives the part's full text in ``field``
    (a string, or a part object with ``text``), for one kind of part."""
    index_field = _number_field(kind)

    def handle(parser: StreamParser, obj: dict[str, Any], events: list[StreamEvent]) -> None:
        key = (parser._index(obj), kind, obj.get(index_field, 0))
        value = obj.get(field)
        if field == "delta":
            if isinstance(value, str) and value:
                parser._emit(key, value, events)
        else:
            parser._settle(key, value.get("text") if isinstance(value, dict) else value, events)

    return handle


#: the delta events, each adding to one kind of part: the bulk of a stream (StreamParser.feed_many reads them itself)
DELTAS = {
    "response.output_text.delta": "text",
    "response.refusal.delta": "refusal",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning.delta": "reasoning",  # Open Responses' name for the same event (its schema/events.tsp)
    "response.reasoning_summary_text.delta": "summary",
    "response.function_call_arguments.delta": "arguments",
}
#: each delta event's kind of part and the field that numbers that part, as feed_many reads them
_DELTA_PARTS = {name: (kind, _number_field(kind)) for name, kind in DELTAS.items()}

#: every event type hamr reads, and what it does with it; the spec's other events are passed over (PASSED_OVER)
HANDLERS: dict[str, _Handler] = {
    "response.created": StreamParser._started,
    "response.in_progress": StreamParser._started,
    "response.queued": StreamParser._started,
    "response.completed": StreamParser._finished,
    "response.incomplete": StreamParser._finished,
    "response.failed": StreamParser._failed,
    "error": StreamParser._error,
    "response.output_item.added": StreamParser._item_added,
    "response.output_item.done": StreamParser._item_done,
    "response.content_part.added": StreamParser._content_part,
    "response.content_part.done": StreamParser._content_part,
    **{name: _part(kind, "delta") for name, kind in DELTAS.items()},
    "response.output_text.done": _part("text", "text"),
    "response.refusal.done": _part("refusal", "refusal"),
    "response.reasoning_text.done": _part("reasoning", "text"),
    "response.reasoning.done": _part("reasoning", "text"),  # Open Responses' name for the same event
    "response.reasoning_summary_text.done": _part("summary", "text"),
    "response.reasoning_summary_part.added": _part("summary", "part"),
    "response.reasoning_summary_part.done": _part("summary", "part"),
    "response.function_call_arguments.done": _part("arguments", "arguments"),
}

#: the event types of the spec hamr passes over on purpose: progress of the built-in tools, annotations, audio,
#: custom tool input. What they carry arrives whole in the item of ``response.output_item.done`` and in the final
#: response, and so in ``content_blocks``. Any type in neither table is passed over too (a newer spec's).
PASSED_OVER = (
    "response.output_text.annotation.added",
    "response.audio.delta",
    "response.audio.done",
    "response.audio.transcript.delta",
    "response.audio.transcript.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.code_interpreter_call.in_progress",
    "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.file_search_call.in_progress",
    "response.file_search_call.searching",
    "response.file_search_call.completed",
    "response.web_search_call.in_progress",
    "response.web_search_call.searching",
    "response.web_search_call.completed",
    "response.image_generation_call.in_progress",
    "response.image_generation_call.generating",
    "response.image_generation_call.partial_image",
    "response.image_generation_call.completed",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_list_tools.in_progress",
    "response.mcp_list_tools.completed",
    "response.mcp_list_tools.failed",
    "response.shell_call_command.added",
    "response.shell_call_command.delta",
    "response.shell_call_command.done",
    "response.shell_call_output_content.delta",
    "response.shell_call_output_content.done",
)
