"""The wire rules of the three protocols, read from recorded bytes: the error shape, SSE events, what a stream says
(``[DONE]``, finish reasons, tool-call ``index`` and arguments; Anthropic event order and block indexes; the Responses
event lifecycle: ``response.created`` first, every ``*.added`` closed by its ``*.done``, ``sequence_number``
increasing, one terminal event) and what one answer says. Facts and problems only; what they mean for a probe is
``verdicts``'s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hamr.kit.wire import Exchange

OPENAI = "openai"
ANTHROPIC = "anthropic"
RESPONSES = "responses"
PROTOCOLS = (OPENAI, ANTHROPIC, RESPONSES)
#: the finish of an answer cut at its token limit, per protocol (a Responses answer's: its status and reason)
CUT = {OPENAI: "length", ANTHROPIC: "max_tokens", RESPONSES: "incomplete (max_output_tokens)"}


# ------------------------------------------------------------------------------------------------------------------
# raw rules: error shape, SSE events, streams of the three protocols
# ------------------------------------------------------------------------------------------------------------------


def error_shape_problem(protocol: str, exchange: Exchange) -> str | None:
    """Why an error response is not in the protocol's error shape (the Responses API's is OpenAI's); None when it
    is."""
    body = exchange.json()
    if protocol == ANTHROPIC:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("type") == "error" and isinstance(error, dict) and "message" in error:
            return None
        return f'{exchange.status} without Anthropic\'s {{"type": "error", "error": {{...}}}} body'
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return None
    return f'{exchange.status} without OpenAI\'s {{"error": {{"message": ...}}}} body: {clip(exchange.body)}'


def clip(body: bytes, size: int = 80) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def error_body(exchange: Exchange) -> str | None:
    """The message of a body that is an error in any protocol's shape (``{"error": ...}`` without an answer),
    whatever the status said; None for any other body (a Response object says ``"error": null``)."""
    body = exchange.json()
    if isinstance(body, dict) and "error" in body and not body.get("choices") and not body.get("content"):
        if isinstance(body.get("output"), list) and body["error"] is None:
            return None
        return error_message(exchange)
    return None


def error_message(exchange: Exchange) -> str:
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return clip(str(message).encode()) if message else clip(exchange.body)


def sse_events(body: bytes) -> list[tuple[str, str]]:
    """(event name, data) of every event in an SSE body, per the WHATWG rules (comments skipped, data lines
    joined)."""
    events: list[tuple[str, str]] = []
    name, data = "", list[str]()
    for line in re.split(r"\r\n|\r|\n", body.decode("utf-8", "replace")):
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = "", list[str]()
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
    if data:
        events.append((name, "\n".join(data)))
    return events


@dataclass
class OpenAIStream:
    """The facts of an OpenAI chat-completions stream, read from its bytes."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)
    #: the messages of error events sent in the stream (``data: {"error": ...}``)
    errors: list[str] = field(default_factory=list)
    #: tool-call deltas of choice 0, in order
    tool_deltas: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""


def openai_stream(body: bytes) -> OpenAIStream:
    out = OpenAIStream()
    events = sse_events(body)
    datas = [d for _, d in events]
    if "[DONE]" not in datas:
        out.problems.append("no data: [DONE] at the end")
    elif datas[-1] != "[DONE]":
        out.problems.append("events after data: [DONE]")
    for data in datas:
        if data == "[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            out.problems.append(f"a data event is not JSON: {clip(data.encode())}")
            continue
        if not isinstance(chunk, dict):
            out.problems.append("a data event is not a JSON object")
            continue
        out.chunks.append(chunk)
        if "error" in chunk and "choices" not in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            out.errors.append(clip(str(message).encode()))
            out.problems.append(f"an error event mid-stream: {out.errors[-1]}")
            continue
        if chunk.get("usage"):
            out.usage.append(chunk)
            if not isinstance(chunk.get("choices"), list):
                out.problems.append("the usage chunk has no choices list")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            if not chunk.get("usage"):
                out.problems.append(f"a chunk without choices: {clip(data.encode())}")
            continue
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            out.text += str(delta.get("content") or "")
            out.tool_deltas += [d for d in delta.get("tool_calls") or [] if isinstance(d, dict)]
            if choice.get("finish_reason"):
                out.finish_reasons.append(str(choice["finish_reason"]))
    if not out.finish_reasons:
        out.problems.append("no chunk carries a finish_reason")
    elif len(out.finish_reasons) > 1:
        out.problems.append(f"{len(out.finish_reasons)} chunks carry a finish_reason ({', '.join(out.finish_reasons)})")
    out.problems = _counted(out.problems)
    return out


def openai_stream_tool_problems(stream: OpenAIStream) -> list[str]:
    """What is wrong with a stream's tool-call deltas: ``index`` missing or not from 0, arguments that are not a
    JSON string or do not parse, the wrong finish reason."""
    problems: list[str] = []
    if not stream.tool_deltas:
        return problems
    indexes = [d.get("index") for d in stream.tool_deltas]
    if any(not isinstance(i, int) for i in indexes):
        problems.append("streamed tool_calls without an integer index")
    elif min(i for i in indexes if isinstance(i, int)) != 0:
        problems.append(f"streamed tool_calls indexes start at {min(i for i in indexes if isinstance(i, int))}, not 0")
    arguments: dict[Any, str] = {}
    for delta in stream.tool_deltas:
        fragment = (delta.get("function") or {}).get("arguments")
        if fragment is None:
            continue
        if not isinstance(fragment, str):
            problems.append("tool-call arguments sent as a JSON object, not a JSON string")
            break
        arguments[delta.get("index")] = arguments.get(delta.get("index"), "") + fragment
    if not problems:
        for text in arguments.values():
            if not isinstance(json_or_none(text or "{}"), dict):
                problems.append(f"streamed arguments do not join to a JSON object: {clip(text.encode())}")
    if stream.finish_reasons and stream.finish_reasons[-1] != "tool_calls":
        problems.append(f'finish_reason "{stream.finish_reasons[-1]}" after a tool call, not "tool_calls"')
    return problems


def _counted(problems: list[str]) -> list[str]:
    """Each problem once, in order, with how often it happened (a wrong index repeats for every delta)."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem] = counts.get(problem, 0) + 1
    return [p if n == 1 else f"{p} (×{n})" for p, n in counts.items()]


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass
class AnthropicStream:
    """The facts of an Anthropic Messages stream, read from its bytes."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    #: joined input_json_delta per block index
    tool_inputs: dict[int, str] = field(default_factory=dict)
    stop_reasons: list[str] = field(default_factory=list)
    #: input_json_delta events sent to a block that is not open (their input went somewhere: not dropped)
    misdirected: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    text: str = ""


def typed_events(body: bytes, problems: list[str], *, done: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """(type, data) of each event of a stream whose events carry their ``type`` (Anthropic's, the Responses API's);
    an event without a JSON object, or whose name and type disagree, goes to ``problems``. ``done``: ``data: [DONE]``
    is passed over (OpenRouter ends its Responses streams with it)."""
    for name, data in sse_events(body):
        if done and data == "[DONE]":
            continue
        value = json_or_none(data)
        if not isinstance(value, dict):
            problems.append(f"event {name or '(unnamed)'} carries no JSON object")
            continue
        kind = str(value.get("type"))
        if name and name != kind:
            problems.append(f"event {name} carries type {kind}")
        yield kind, value


def anthropic_stream(body: bytes) -> AnthropicStream:
    out = AnthropicStream()
    open_blocks: set[int] = set()
    for kind, value in typed_events(body, out.problems):
        out.events.append((kind, value))
        index = value.get("index")
        if kind == "message_start":
            usage = (value.get("message") or {}).get("usage") or {}
            out.input_tokens = usage.get("input_tokens")
        elif kind == "content_block_start":
            if index != len(out.blocks):
                out.problems.append(f"content_block_start index {index} where {len(out.blocks)} comes next")
            out.blocks.append(dict(value.get("content_block") or {}))
            open_blocks.add(index if isinstance(index, int) else -1)
        elif kind == "content_block_delta":
            delta = value.get("delta") or {}
            if index not in open_blocks:
                out.problems.append(f"{delta.get('type')} sent to block {index}, which is not open")
                out.misdirected += delta.get("type") == "input_json_delta"
                continue
            block = out.blocks[index] if isinstance(index, int) and index < len(out.blocks) else {}
            if delta.get("type") == "input_json_delta":
                if block.get("type") != "tool_use":
                    out.problems.append(f"input_json_delta to a {block.get('type')} block")
                out.tool_inputs[index] = out.tool_inputs.get(index, "") + str(delta.get("partial_json", ""))
            elif delta.get("type") == "text_delta":
                if block.get("type") != "text":
                    out.problems.append(f"text_delta to a {block.get('type')} block")
                out.text += str(delta.get("text", ""))
        elif kind == "content_block_stop":
            if index not in open_blocks:
                out.problems.append(f"content_block_stop for block {index}, which is not open")
            open_blocks.discard(index if isinstance(index, int) else -1)
        elif kind == "message_delta":
            if open_blocks:
                out.problems.append(f"message_delta while block(s) {sorted(open_blocks)} are still open")
            reason = (value.get("delta") or {}).get("stop_reason")
            if reason:
                out.stop_reasons.append(str(reason))
            out.output_tokens = (value.get("usage") or {}).get("output_tokens", out.output_tokens)
    kinds = [k for k, _ in out.events if k != "ping"]
    if not kinds or kinds[0] != "message_start":
        out.problems.append("the stream does not open with message_start")
    if not kinds or kinds[-1] != "message_stop":
        out.problems.append("the stream does not end with message_stop")
    if len(out.stop_reasons) != 1:
        out.problems.append(f"{len(out.stop_reasons)} message_delta events carry a stop_reason (one belongs)")
    for n, block in enumerate(out.blocks):
        dropped = not block.get("input") and not out.tool_inputs.get(n) and not out.misdirected
        if block.get("type") == "tool_use" and dropped:
            out.problems.append(f"tool_use block {n} has no input (input_json_delta dropped)")
        elif n in out.tool_inputs and not isinstance(json_or_none(out.tool_inputs[n] or "{}"), dict):
            out.problems.append(f"block {n}'s input_json_delta fragments do not join to a JSON object")
    out.problems = _counted(out.problems)
    return out


def anthropic_stream_tool_problems(stream: AnthropicStream) -> list[str]:
    """What is wrong with a stream's tool calls beyond the event rules: a ``tool_use`` block and a stop reason other
    than ``tool_use`` (a client that waits for it never runs the tool)."""
    if any(b.get("type") == "tool_use" for b in stream.blocks) and stream.stop_reasons[-1:] != ["tool_use"]:
        return [f'stop_reason "{(stream.stop_reasons or ["none"])[-1]}" after a tool call, not "tool_use"']
    return []


#: the events that end a Responses stream, and the status each one's response must carry
TERMINAL = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}
#: ``*.added`` events that open something a ``*.done`` of the same name must close: what they open
_OPENERS = {"response.output_item": "output item", "response.content_part": "content part",
            "response.reasoning_summary_part": "summary part"}  # fmt: skip


@dataclass
class ResponsesStream:
    """The facts of a Responses stream (``POST /responses`` with ``stream: true``), read from its bytes."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the messages of ``error`` events and of ``response.failed``
    errors: list[str] = field(default_factory=list)
    #: the terminal event's type and its response object
    terminal: str | None = None
    final: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    #: per function_call item (by output index, else item id): the item as done (else as added), and its arguments as
    #: sent (the joined argument deltas, else the item's own ``arguments``; a value that is not a string kept as is);
    #: ``streamed``: the items whose arguments came as deltas
    calls: dict[Any, dict[str, Any]] = field(default_factory=dict)
    streamed: set[Any] = field(default_factory=set)

    @property
    def finish(self) -> str | None:
        return responses_finish(self.final) if self.final else None

    @property
    def usage(self) -> dict[str, Any] | None:
        usage = self.final.get("usage")
        return usage if isinstance(usage, dict) else None


def responses_finish(response: dict[str, Any]) -> str | None:
    """A Response's status, an incomplete one with its reason (``incomplete (max_output_tokens)``)."""
    status = response.get("status")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return f"incomplete ({reason})" if reason else "incomplete"
    return None if status is None else str(status)


def _item(event: dict[str, Any]) -> dict[str, Any]:
    item = event.get("item")
    return item if isinstance(item, dict) else {}


class _Lifecycle:
    """What is open in a Responses stream: items (keyed by output index, else item id), their content and summary
    parts, and the argument/text deltas not yet closed by their ``*.done``."""

    def __init__(self, out: ResponsesStream) -> None:
        self.out = out
        self.ids: dict[Any, Any] = {}  # item id -> its key
        self.items: dict[Any, str] = {}  # key -> item type, while open
        self.closed: set[Any] = set()
        self.parts: dict[tuple[Any, str, Any], str] = {}  # (item key, kind, index) -> what it is, while open
        self.deltas: dict[tuple[str, Any, Any], bool] = {}  # (event family, item key, index) -> closed by its done

    def key(self, event: dict[str, Any]) -> Any:
        index = event.get("output_index")
        if isinstance(index, int):
            return index
        item = event.get("item")
        item_id = item.get("id") if isinstance(item, dict) else event.get("item_id")
        return self.ids.get(item_id, item_id)

    def item_added(self, kind: str, event: dict[str, Any]) -> None:
        item = _item(event)
        key = self.key(event)
        if item.get("id") is not None:
            self.ids[item["id"]] = key
        if key in self.items or key in self.closed:
            self.out.problems.append(f"{kind} for an item added before")
        self.items[key] = str(item.get("type"))
        if item.get("type") == "function_call":
            self.out.calls[key] = {"item": item, "arguments": item.get("arguments") or ""}

    def item_done(self, kind: str, event: dict[str, Any]) -> None:
        key = self.key(event)
        if key not in self.items:
            self.out.problems.append(f"{kind} for an item that was not open")
        self.items.pop(key, None)
        self.closed.add(key)
        item = _item(event)
        if item.get("type") == "function_call":
            call = self.out.calls.setdefault(key, {"arguments": ""})
            call["item"] = item
            if key not in self.out.streamed or not isinstance(item.get("arguments"), str):
                call["arguments"] = item.get("arguments")

    def inside(self, kind: str, event: dict[str, Any]) -> Any:
        """The key of the item an event belongs to, after checking that it is open (an event that names no item
        is taken as it comes)."""
        key = self.key(event)
        if key is not None and key not in self.items:
            self.out.problems.append(f"{kind} for an item that is not open (events out of order)")
        return key

    def part(self, kind: str, event: dict[str, Any], opening: bool) -> None:
        family = kind.rsplit(".", 1)[0]
        which = "summary_index" if family == "response.reasoning_summary_part" else "content_index"
        part = (self.inside(kind, event), family, event.get(which, 0))
        if opening:
            self.parts[part] = _OPENERS[family]
        elif self.parts.pop(part, None) is None:
            self.out.problems.append(f"{kind} for a part that was not open")

    def delta(self, kind: str, event: dict[str, Any], done: bool) -> None:
        family = kind.rsplit(".", 1)[0]
        index = event.get("summary_index", event.get("content_index", 0))
        entry = (family, self.inside(kind, event), index)
        if done:
            self.deltas[entry] = True
            return
        self.deltas.setdefault(entry, False)
        value = event.get("delta")
        if family == "response.function_call_arguments":
            self.out.streamed.add(entry[1])
            call = self.out.calls.setdefault(entry[1], {"item": {}, "arguments": ""})
            if isinstance(value, str) and isinstance(call["arguments"], str):
                call["arguments"] += value
            elif not isinstance(value, str):  # kept as sent: the tool rules name it
                call["arguments"] = value
        elif family == "response.output_text" and isinstance(value, str):
            self.out.text += value

    def still_open(self, terminal: str) -> None:
        for item_type in self.items.values():
            self.out.problems.append(
                f"{terminal} while an output item ({item_type}) is open: its response.output_item.added never "
                "closed by response.output_item.done"
            )
        for what in self.parts.values():
            self.out.problems.append(f"{terminal} while a {what} is open: never closed by its *.done")
        self.items.clear()
        self.parts.clear()

    def unclosed_deltas(self) -> None:
        for (family, _, _), done in self.deltas.items():
            if not done:
                self.out.problems.append(f"{family}.delta without its {family}.done")


def responses_stream(body: bytes) -> ResponsesStream:
    out = ResponsesStream()
    life = _Lifecycle(out)
    after: list[str] = []
    sequence: int | None = None
    for kind, value in typed_events(body, out.problems, done=True):
        if not out.events and kind != "response.created":
            out.problems.append(f"the stream opens with {kind}, not response.created")
        out.events.append((kind, value))
        if out.terminal is not None:
            after.append(kind)
            continue
        number = value.get("sequence_number")
        if isinstance(number, int) and not isinstance(number, bool):
            if sequence is not None and number <= sequence:
                out.problems.append(f"sequence_number {number} after {sequence}: not increasing")
            sequence = number
        _responses_event(out, life, kind, value)
    if after:
        out.problems.append(f"{len(after)} event(s) after {out.terminal} ({', '.join(dict.fromkeys(after))})")
    if out.terminal is None:
        out.problems.append("the stream does not end with response.completed, response.incomplete or response.failed")
        life.still_open("the end of the stream")
    life.unclosed_deltas()
    if not out.text:  # a server that sent no text deltas: the final response's text
        out.text = _responses_text(out.final.get("output"))
    out.problems = _counted(out.problems)
    return out


def _responses_event(out: ResponsesStream, life: _Lifecycle, kind: str, value: dict[str, Any]) -> None:
    """One event of a Responses stream, before its terminal event."""
    family, _, last = kind.rpartition(".")
    if kind in TERMINAL:
        out.terminal = kind
        response = value.get("response")
        out.final = response if isinstance(response, dict) else {}
        if not isinstance(response, dict):
            out.problems.append(f"{kind} without a response object")
        elif response.get("status") != TERMINAL[kind]:
            out.problems.append(f'{kind} carries status "{response.get("status")}", not "{TERMINAL[kind]}"')
        elif kind == "response.incomplete" and out.finish == "incomplete":
            out.problems.append("response.incomplete without incomplete_details.reason")
        if kind == "response.failed":
            error = out.final.get("error")
            out.errors.append(clip(str(error.get("message") if isinstance(error, dict) else error).encode()))
        life.still_open(kind)
    elif kind == "error":  # the spec puts code and message on the event; OpenAI has nested them under "error"
        error = value["error"] if isinstance(value.get("error"), dict) else value
        out.errors.append(clip(str(error.get("message")).encode()))
        out.problems.append(f"an error event mid-stream: {out.errors[-1]}")
    elif kind == "response.output_item.added":
        life.item_added(kind, value)
    elif kind == "response.output_item.done":
        life.item_done(kind, value)
    elif family in _OPENERS and last in ("added", "done"):
        life.part(kind, value, last == "added")
    elif last in ("delta", "done") and kind.startswith("response."):
        life.delta(kind, value, last == "done")


def responses_stream_tool_problems(stream: ResponsesStream) -> list[str]:
    """What is wrong with a stream's function calls beyond the event rules: no ``call_id`` or name, arguments that do
    not join to a JSON object."""
    return _counted([p for call in stream.calls.values() for p in _call_problems(call["item"], call["arguments"])])


def _call_problems(item: dict[str, Any], arguments: Any) -> list[str]:
    """What is wrong with one function_call item (streamed or not) and its arguments as sent."""
    problems = [f"a function_call item without a {k}" for k in ("call_id", "name") if not item.get(k)]
    if not isinstance(arguments, str):
        problems.append("tool-call arguments sent as a JSON object, not a JSON string")
    elif not isinstance(json_or_none(arguments or "{}"), dict):
        problems.append(f"tool-call arguments do not parse to a JSON object: {clip(arguments.encode())}")
    return problems


def stream_tool_problems(protocol: str, exchange: Exchange) -> list[str]:
    """The tool-call rules of a streamed answer, every protocol (the event rules are ``stream_problems``')."""
    if protocol == ANTHROPIC:
        return anthropic_stream_tool_problems(anthropic_stream(exchange.body))
    if protocol == RESPONSES:
        return responses_stream_tool_problems(responses_stream(exchange.body))
    return openai_stream_tool_problems(openai_stream(exchange.body))


def stream_problems(protocol: str, exchange: Exchange) -> list[str]:
    if "event-stream" not in exchange.header("content-type"):
        return [f"answered {exchange.header('content-type') or 'no content-type'}, not text/event-stream"]
    if protocol == ANTHROPIC:
        return anthropic_stream(exchange.body).problems
    if protocol == RESPONSES:
        return responses_stream(exchange.body).problems
    return openai_stream(exchange.body).problems


def stream_errors(protocol: str, exchange: Exchange) -> list[str]:
    """The error events a streamed answer carries (OpenAI's ``data: {"error": ...}``, Responses' ``error`` and
    ``response.failed``)."""
    if "event-stream" not in exchange.header("content-type") or protocol == ANTHROPIC:
        return []
    if protocol == RESPONSES:
        return responses_stream(exchange.body).errors
    return openai_stream(exchange.body).errors


def stream_calls(protocol: str, exchange: Exchange) -> int:
    """How many tool calls a streamed answer makes."""
    if protocol == ANTHROPIC:
        return sum(1 for b in anthropic_stream(exchange.body).blocks if b.get("type") == "tool_use")
    if protocol == RESPONSES:
        return len(responses_stream(exchange.body).calls)
    return len({d.get("index") for d in openai_stream(exchange.body).tool_deltas})


# ------------------------------------------------------------------------------------------------------------------
# raw rules: one non-streamed answer
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """The facts of one non-streamed answer, read from its JSON body."""

    problems: tuple[str, ...]
    text: str
    finish: str | None
    #: (name, arguments as sent) per tool call
    calls: tuple[tuple[str, Any], ...]
    output_tokens: int | None
    reasoning_field: str | None
    input_tokens: int | None = None


def answer(protocol: str, exchange: Exchange) -> Answer:
    body = exchange.json()
    if not isinstance(body, dict):
        return Answer((f"the body is not a JSON object: {clip(exchange.body)}",), "", None, (), None, None)
    if (message := error_body(exchange)) is not None:
        return Answer((f"{exchange.status} with an error body: {message}",), "", None, (), None, None)
    if protocol == ANTHROPIC:
        return _anthropic_answer(body)
    if protocol == RESPONSES:
        return _responses_answer(body)
    return _openai_answer(body)


def _openai_answer(body: dict[str, Any]) -> Answer:
    problems: list[str] = []
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return Answer(("no choices[0]",), "", None, (), None, None)
    choice = choices[0]
    message = choice.get("message") or {}
    finish = choice.get("finish_reason")
    if not finish:
        problems.append("no finish_reason")
    calls = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        arguments = fn.get("arguments")
        if not call.get("id"):
            problems.append("a tool call without an id")
        if not isinstance(arguments, str):
            problems.append("tool-call arguments sent as a JSON object, not a JSON string")
        elif not isinstance(json_or_none(arguments or "{}"), dict):
            problems.append(f"tool-call arguments do not parse to a JSON object: {clip(arguments.encode())}")
        calls.append((str(fn.get("name")), arguments))
    if calls and finish != "tool_calls":
        problems.append(f'finish_reason "{finish}" after a tool call, not "tool_calls"')
    usage = body.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("completion_tokens"), int):
        problems.append("no usage.completion_tokens")
    field_name = next((k for k in ("reasoning_content", "reasoning") if message.get(k)), None)
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    text = str(message.get("content") or "")
    return Answer(tuple(problems), text, finish, tuple(calls), tokens, field_name, prompt)


def _anthropic_answer(body: dict[str, Any]) -> Answer:
    problems: list[str] = []
    content = body.get("content")
    if not isinstance(content, list):
        return Answer(("no content list",), "", None, (), None, None)
    finish = body.get("stop_reason")
    if not finish:
        problems.append("no stop_reason")
    calls = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            if not isinstance(block.get("input"), dict):
                problems.append("tool_use input is not a JSON object")
            calls.append((str(block.get("name")), block.get("input")))
    if calls and finish != "tool_use":
        problems.append(f'stop_reason "{finish}" after a tool call, not "tool_use"')
    usage = body.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
        problems.append("no usage.output_tokens")
    text = "".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    thinking = "thinking" if any(isinstance(b, dict) and b.get("type") == "thinking" for b in content) else None
    tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
    prompt = usage.get("input_tokens") if isinstance(usage, dict) else None
    return Answer(tuple(problems), text, finish, tuple(calls), tokens, thinking, prompt)


def _responses_text(output: Any) -> str:
    """The ``output_text`` of a Response's ``message`` items."""
    items = output if isinstance(output, list) else []
    return "".join(
        str(part.get("text", ""))
        for item in items
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "output_text"
    )


def _responses_answer(body: dict[str, Any]) -> Answer:
    output = body.get("output")
    if not isinstance(output, list):
        return Answer(("no output list",), "", None, (), None, None)
    problems: list[str] = []
    finish = responses_finish(body)
    if finish is None:
        problems.append("no status")
    elif finish == "failed":
        error = body.get("error")
        problems.append(f"status failed: {error.get('message') if isinstance(error, dict) else error}")
    elif finish == "incomplete":
        problems.append("status incomplete without incomplete_details.reason")
    items = [item for item in output if isinstance(item, dict)]
    calls = []
    for item in (i for i in items if i.get("type") == "function_call"):
        problems += _call_problems(item, item.get("arguments"))
        calls.append((str(item.get("name")), item.get("arguments")))
    usage = body.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
        problems.append("no usage.output_tokens")
    reasoning = "reasoning items" if any(i.get("type") == "reasoning" for i in items) else None
    tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
    prompt = usage.get("input_tokens") if isinstance(usage, dict) else None
    return Answer(tuple(problems), _responses_text(output), finish, tuple(calls), tokens, reasoning, prompt)
