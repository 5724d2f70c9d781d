"""Verdicts: what one probe's recorded exchanges say about the server, as a pure function of those bytes (and of
what hamr made of them on replay). No network, clock or pytest outcome is read here.

Kinds: honoured · rejected loudly (a 4xx in the protocol's error shape) · accepted but ignored · broken shape
(naming what) · limited by the model (the server did its part, the model did not) · not applicable · not run.
Raw-stream rules (``[DONE]``, one final finish reason, tool-call ``index`` from 0, Anthropic block indexes and
event order) are checked on the bytes, not through a parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conform_wire import Exchange

HONOURED = "honoured"
REJECTED = "rejected loudly"
IGNORED = "accepted but ignored"
BROKEN = "broken shape"
MODEL = "limited by the model"
NOT_APPLICABLE = "not applicable"
NOT_RUN = "not run"
KINDS = (HONOURED, REJECTED, IGNORED, BROKEN, MODEL, NOT_APPLICABLE, NOT_RUN)

OPENAI = "openai"
ANTHROPIC = "anthropic"


@dataclass(frozen=True)
class Verdict:
    kind: str
    reason: str
    #: another try of a model-dependent probe could change this verdict (the live run then tries again)
    retry: bool = False


@dataclass(frozen=True)
class Observation:
    """What hamr's client made of one step: its error (type and status) or its completion's parts."""

    error: str | None = None
    status: int | None = None
    text: str = ""
    finish_reason: str | None = None
    tool_calls: tuple[tuple[str, Any], ...] = ()
    usage: tuple[int, int] | None = None
    reasoning: str = ""
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step of one try, as replayed: its label, the exchanges it sent and what hamr made of them."""

    label: str
    exchanges: tuple[Exchange, ...]
    observed: Observation

    @property
    def first(self) -> Exchange:
        return self.exchanges[0]

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]


@dataclass(frozen=True)
class Context:
    protocol: str
    tries: int
    #: the target has a key (a bad-key probe can be judged)
    keyed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Attempt = Sequence[Step]
Judge = Callable[[Context, Sequence[Attempt]], Verdict]


# ------------------------------------------------------------------------------------------------------------------
# raw rules: error shape, SSE events, streams of both protocols
# ------------------------------------------------------------------------------------------------------------------


def error_shape_problem(protocol: str, exchange: Exchange) -> str | None:
    """Why an error response is not in the protocol's error shape; None when it is."""
    body = exchange.json()
    if protocol == ANTHROPIC:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("type") == "error" and isinstance(error, dict) and "message" in error:
            return None
        return f'{exchange.status} without Anthropic\'s {{"type": "error", "error": {{...}}}} body'
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return None
    return f'{exchange.status} without OpenAI\'s {{"error": {{"message": ...}}}} body: {_clip(exchange.body)}'


def _clip(body: bytes, size: int = 80) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def refusal(protocol: str, exchange: Exchange, what: str) -> Verdict | None:
    """The verdict for a request the server did not serve (rejected loudly, or a broken shape); None on a 2xx."""
    if 200 <= exchange.status < 300:
        return None
    if 400 <= exchange.status < 500:
        problem = error_shape_problem(protocol, exchange)
        if problem is None:
            return Verdict(REJECTED, f"{exchange.status} for {what}: {_error_message(exchange)}")
        return Verdict(BROKEN, problem)
    return Verdict(BROKEN, f"{exchange.status} for {what}, where a 4xx belongs: {_error_message(exchange)}")


def _error_message(exchange: Exchange) -> str:
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return _clip(str(message).encode()) if message else _clip(exchange.body)


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
            out.problems.append(f"a data event is not JSON: {_clip(data.encode())}")
            continue
        if not isinstance(chunk, dict):
            out.problems.append("a data event is not a JSON object")
            continue
        out.chunks.append(chunk)
        if "error" in chunk and "choices" not in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            out.errors.append(_clip(str(message).encode()))
            out.problems.append(f"an error event mid-stream: {out.errors[-1]}")
            continue
        if chunk.get("usage"):
            out.usage.append(chunk)
            if not isinstance(chunk.get("choices"), list):
                out.problems.append("the usage chunk has no choices list")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            if not chunk.get("usage"):
                out.problems.append(f"a chunk without choices: {_clip(data.encode())}")
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
            if not isinstance(_json_or_none(text or "{}"), dict):
                problems.append(f"streamed arguments do not join to a JSON object: {_clip(text.encode())}")
    if stream.finish_reasons and stream.finish_reasons[-1] != "tool_calls":
        problems.append(f'finish_reason "{stream.finish_reasons[-1]}" after a tool call, not "tool_calls"')
    return problems


def _json_or_none(text: str) -> Any:
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
    input_tokens: int | None = None
    output_tokens: int | None = None
    text: str = ""


def anthropic_stream(body: bytes) -> AnthropicStream:
    out = AnthropicStream()
    open_blocks: set[int] = set()
    for name, data in sse_events(body):
        value = _json_or_none(data)
        if not isinstance(value, dict):
            out.problems.append(f"event {name or '(unnamed)'} carries no JSON object")
            continue
        kind = str(value.get("type"))
        if name and name != kind:
            out.problems.append(f"event {name} carries type {kind}")
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
        if block.get("type") == "tool_use" and not block.get("input") and not out.tool_inputs.get(n):
            out.problems.append(f"tool_use block {n} has no input (input_json_delta dropped)")
        elif n in out.tool_inputs and not isinstance(_json_or_none(out.tool_inputs[n] or "{}"), dict):
            out.problems.append(f"block {n}'s input_json_delta fragments do not join to a JSON object")
    return out


def stream_problems(protocol: str, exchange: Exchange) -> list[str]:
    if "event-stream" not in exchange.header("content-type"):
        return [f"answered {exchange.header('content-type') or 'no content-type'}, not text/event-stream"]
    if protocol == ANTHROPIC:
        return anthropic_stream(exchange.body).problems
    return openai_stream(exchange.body).problems


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
        return Answer((f"the body is not a JSON object: {_clip(exchange.body)}",), "", None, (), None, None)
    if "error" in body and not body.get("choices") and not body.get("content"):
        return Answer((f"{exchange.status} with an error body: {_error_message(exchange)}",), "", None, (), None, None)
    if protocol == ANTHROPIC:
        return _anthropic_answer(body)
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
        elif not isinstance(_json_or_none(arguments or "{}"), dict):
            problems.append(f"tool-call arguments do not parse to a JSON object: {_clip(arguments.encode())}")
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


def _served(ctx: Context, step: Step, what: str) -> Verdict | None:
    """The verdict when a step's request was not served as asked (an error status, a broken body, hamr failing on
    the bytes); None when it was."""
    refused = refusal(ctx.protocol, step.last, what)
    if refused is not None:
        return refused
    if step.first.status != step.last.status:  # hamr retried without a field the server rejected
        return refusal(ctx.protocol, step.first, what)
    return None


def _read(ctx: Context, step: Step, what: str) -> Answer | Verdict:
    """The step's answer when it was served in shape and hamr read it; else the verdict that says why not."""
    if (served := _served(ctx, step, what)) is not None:
        return served
    facts = answer(ctx.protocol, step.last)
    if facts.problems:
        return Verdict(BROKEN, "; ".join(facts.problems))
    return _hamr_failed(step) or facts


def _hamr_failed(step: Step) -> Verdict | None:
    if step.observed.error:
        return Verdict(BROKEN, f"hamr could not read the answer: {step.observed.error}")
    return None


# ------------------------------------------------------------------------------------------------------------------
# judges, one per probe
# ------------------------------------------------------------------------------------------------------------------


def judge_models(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    if (refused := refusal(ctx.protocol, step.last, "GET /v1/models")) is not None:
        return refused
    body = step.last.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        return Verdict(BROKEN, f"no data list of models with ids: {_clip(step.last.body)}")
    if not data:
        return Verdict(BROKEN, "an empty data list")
    return _hamr_failed(step) or Verdict(HONOURED, f"{len(data)} model(s): {', '.join(m['id'] for m in data[:3])}")


def judge_chat(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    facts = _read(ctx, attempts[0][0], "a plain chat request")
    if isinstance(facts, Verdict):
        return facts
    if not facts.text.strip():
        return Verdict(MODEL, f"an empty answer (finish {facts.finish})")
    return Verdict(HONOURED, f"text, finish {facts.finish}, usage")


def judge_system(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    for attempt in attempts:
        step = attempt[0]
        if (served := _served(ctx, step, "a system prompt")) is not None:
            return served
        sent = step.last.request_json() or {}
        placed = sent.get("system") if ctx.protocol == ANTHROPIC else (sent.get("messages") or [{}])[0].get("role")
        if not placed:
            return Verdict(BROKEN, "the recorded request does not carry the system prompt in the protocol's place")
        if failed := _hamr_failed(step):
            return failed
        if ctx.extra["system_word"] in step.observed.text.lower():
            return Verdict(HONOURED, f"the answer follows the system prompt (try {attempts.index(attempt) + 1})")
    return Verdict(
        MODEL,
        f"accepted; the model did not follow it in {len(attempts)} of {ctx.tries} tries "
        "(a server that drops the system prompt would look the same)",
        retry=True,
    )


def judge_stream(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    if (served := _served(ctx, step, "a streamed chat request")) is not None:
        return served
    problems = stream_problems(ctx.protocol, step.last)
    if problems:
        return Verdict(BROKEN, "; ".join(problems))
    if failed := _hamr_failed(step):
        return failed
    if ctx.protocol == ANTHROPIC:
        reason = anthropic_stream(step.last.body).stop_reasons[-1]
        return Verdict(HONOURED, f"events in order, ends with message_stop, one stop_reason ({reason})")
    reason = openai_stream(step.last.body).finish_reasons[-1]
    return Verdict(HONOURED, f"ends with [DONE], one final finish reason ({reason})")


def judge_stream_usage(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    # a refused first exchange: hamr sent stream_options, was refused, and retried without it
    if (served := _served(ctx, step, "stream_options.include_usage")) is not None:
        return served
    if ctx.protocol == ANTHROPIC:
        facts = anthropic_stream(step.last.body)
        if facts.input_tokens is None or facts.output_tokens is None:
            return Verdict(BROKEN, "no usage in message_start / message_delta")
        return Verdict(
            HONOURED, f"message_start/message_delta usage ({facts.input_tokens} in, {facts.output_tokens} out)"
        )
    stream = openai_stream(step.last.body)
    if not stream.usage:
        return Verdict(IGNORED, "stream_options.include_usage sent; no chunk carried usage")
    if "the usage chunk has no choices list" in stream.problems:
        return Verdict(BROKEN, "the usage chunk has no choices list")
    last = stream.usage[-1]
    where = "a final chunk with empty choices" if last.get("choices") == [] else "a chunk with choices"
    return Verdict(HONOURED, f"usage in {where}")


def _tool_judge(streamed: bool) -> Judge:
    """A tool call's shape, from whichever forcing step got one: a step the server refused (or failed mid-stream)
    is noted and the next one tried; a served answer in a broken shape settles it."""

    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        refused: list[Verdict] = []
        for attempt in attempts:
            for step in attempt:
                what = f"tool_choice {step.label}"
                served = _served(ctx, step, what)
                errors = openai_stream(step.last.body).errors if streamed and ctx.protocol == OPENAI else []
                if served is None and errors:
                    served = Verdict(BROKEN, f"an error in the stream for {what}: {errors[0]}")
                if served is not None:
                    refused.append(served)
                    continue
                if streamed:
                    problems = stream_problems(ctx.protocol, step.last)
                    if ctx.protocol == OPENAI:
                        problems += openai_stream_tool_problems(openai_stream(step.last.body))
                    called = _stream_calls(ctx.protocol, step.last)
                else:
                    facts = answer(ctx.protocol, step.last)
                    problems, called = list(facts.problems), len(facts.calls)
                if problems:
                    return Verdict(BROKEN, f"{what}: " + "; ".join(problems))
                if failed := _hamr_failed(step):
                    return failed
                if called:
                    how = "index from 0, " if streamed and ctx.protocol == OPENAI else ""
                    args = "input a JSON object" if ctx.protocol == ANTHROPIC else "arguments a JSON string that parses"
                    also = f" (and {refused[0].kind} before: {refused[0].reason})" if refused else ""
                    return Verdict(HONOURED, f"{called} call(s) with {what}, {how}{args}{also}")
        if refused:
            return Verdict(refused[0].kind, refused[0].reason, retry=True)
        return Verdict(MODEL, f"no tool call in {len(attempts)} tries (shape not exercised)", retry=True)

    return judge


def _stream_calls(protocol: str, exchange: Exchange) -> int:
    if protocol == ANTHROPIC:
        return sum(1 for b in anthropic_stream(exchange.body).blocks if b.get("type") == "tool_use")
    return len({d.get("index") for d in openai_stream(exchange.body).tool_deltas})


def _calls(ctx: Context, step: Step) -> int:
    if "event-stream" in step.last.header("content-type"):
        return _stream_calls(ctx.protocol, step.last)
    return len(answer(ctx.protocol, step.last).calls)


def judge_tool_result(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    facts = _read(ctx, attempts[0][0], "a tool-result follow-up")
    if isinstance(facts, Verdict):
        return facts
    if not facts.text.strip() and not facts.calls:
        return Verdict(MODEL, "accepted; an empty answer to the tool result")
    return Verdict(HONOURED, "the tool result was taken and answered")


def judge_tool_forced(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    for n, attempt in enumerate(attempts, 1):
        step = attempt[0]
        facts = _read(ctx, step, "a named tool_choice")
        if isinstance(facts, Verdict):
            return facts
        if any(name == ctx.extra["tool"] for name, _ in facts.calls):
            return Verdict(HONOURED, f"the named tool was called against the prompt (try {n})")
    return Verdict(IGNORED, f"the named tool was never called in {len(attempts)} tries: answered in prose", retry=True)


def _control_judge(what: str, real_step: str, fired: Callable[[Context, Step], bool], stated: str) -> Judge:
    """A parameter that suppresses something: ``fired`` says a step showed the thing; the real step must never show
    it; the control step (the same request without the parameter) shows the model would have done it."""

    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        control_fired = 0
        for attempt in attempts:
            for step in attempt:
                facts = _read(ctx, step, what)
                if isinstance(facts, Verdict):
                    return facts
            real = next(s for s in attempt if s.label == real_step)
            if fired(ctx, real):
                return Verdict(IGNORED, f"{what} sent, and still {stated}")
            control_fired += sum(1 for s in attempt if s.label != real_step and fired(ctx, s))
        if control_fired:
            return Verdict(
                HONOURED, f"without it {stated} ({control_fired} of {len(attempts)} controls); with it never"
            )
        return Verdict(
            MODEL,
            f"even without {what}, {stated} in none of {len(attempts)} tries: its effect cannot be seen",
            retry=True,
        )

    return judge


def judge_json(schema: bool) -> Judge:
    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        what = "response_format json_schema" if schema else "response_format json_object"
        for n, attempt in enumerate(attempts, 1):
            step = attempt[0]
            facts = _read(ctx, step, what)
            if isinstance(facts, Verdict):
                return facts
            value = _json_or_none(facts.text)
            if isinstance(value, dict):
                if not schema:
                    return Verdict(HONOURED, f"the answer is a JSON object (try {n})")
                if set(value) == {"result"} and isinstance(value["result"], int):
                    return Verdict(HONOURED, f"the answer follows the schema (try {n})")
                return Verdict(IGNORED, f"a JSON object that breaks the schema: {_clip(facts.text.encode())}")
            if facts.finish in ("length", "max_tokens") and facts.text.lstrip().startswith(("{", "[")):
                continue  # the model ran out of tokens inside the object: the constraint held so far
            return Verdict(IGNORED, f"the answer is not JSON: {_clip(facts.text.encode())}")
        return Verdict(MODEL, f"the object did not close within the token limit in {len(attempts)} tries", retry=True)

    return judge


def judge_stop(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    word = ctx.extra["stop"]
    verdict = _control_judge(
        "stop", "stop", lambda c, s: word in answer(c.protocol, s.last).text, f"{word!r} appeared"
    )(ctx, attempts)
    if verdict.kind == HONOURED and ctx.protocol == ANTHROPIC:
        for attempt in attempts:
            body = next(s for s in attempt if s.label == "stop").last.json() or {}
            if body.get("stop_reason") == "end_turn" and body.get("stop_sequence") is None:
                continue
            if body.get("stop_reason") == "stop_sequence" and body.get("stop_sequence") != word:
                return Verdict(BROKEN, f"stop_sequence {body.get('stop_sequence')!r}, not {word!r}")
    return verdict


def judge_max_tokens(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    limit = ctx.extra["max_tokens"]
    cut = "max_tokens" if ctx.protocol == ANTHROPIC else "length"
    for attempt in attempts:
        step = attempt[0]
        facts = _read(ctx, step, f"max_tokens {limit}")
        if isinstance(facts, Verdict):
            return facts
        tokens = facts.output_tokens or 0
        if tokens > limit:
            return Verdict(IGNORED, f"{tokens} output tokens for max_tokens {limit}")
        if facts.finish == cut:
            return Verdict(HONOURED, f"cut at {tokens} tokens, finish {cut}")
        if tokens == limit:
            return Verdict(BROKEN, f'finish "{facts.finish}" at exactly the limit, not "{cut}"')
    return Verdict(MODEL, f"the model stopped before {limit} tokens in {len(attempts)} tries", retry=True)


def judge_seed(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    attempt = attempts[0]
    for step in attempt:
        if (served := _served(ctx, step, "seed")) is not None:
            return served
    texts = {s.label: answer(ctx.protocol, s.last).text for s in attempt}
    if texts["seeded-1"] != texts["seeded-2"]:
        return Verdict(IGNORED, "the same seed at temperature 1 gave two different answers")
    if texts["unseeded-1"] != texts["unseeded-2"]:
        return Verdict(HONOURED, "the same seed gave the same answer; without a seed the answers differed")
    return Verdict(MODEL, "all four answers were the same, seed or not: determinism cannot be told from it")


def judge_reasoning(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    facts = _read(ctx, step, "a reasoning prompt")
    if isinstance(facts, Verdict):
        return facts
    if facts.reasoning_field:
        return Verdict(HONOURED, f"reasoning in {facts.reasoning_field}, apart from the answer")
    if "<think>" in facts.text:
        if step.observed.reasoning and "<think>" not in step.observed.text:
            return Verdict(HONOURED, "reasoning inline as <think>…</think> in content (hamr splits it off)")
        return Verdict(BROKEN, "an unclosed or misplaced <think> block in content")
    return Verdict(NOT_APPLICABLE, "the model sent no reasoning (no reasoning_content, reasoning or <think>)")


_NO_VISION = re.compile(r"image|vision|multimodal|mmproj", re.IGNORECASE)


def judge_images(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    """The image request against the same text without the image: an image the server drops adds no prompt
    tokens."""
    image, text = attempts[0]
    if image.last.status >= 500 and _NO_VISION.search(image.last.body.decode("utf-8", "replace")):
        return Verdict(MODEL, f"{image.last.status}, the model reads no images: {_error_message(image.last)}")
    with_image = _read(ctx, image, "an image part")
    if isinstance(with_image, Verdict):
        return with_image
    without = _read(ctx, text, "the same text without the image")
    if isinstance(without, Verdict):
        return without
    added = (with_image.input_tokens or 0) - (without.input_tokens or 0)
    if added <= 0:
        return Verdict(
            IGNORED, f"accepted, but the image added no prompt tokens ({with_image.input_tokens} with it and without)"
        )
    return Verdict(HONOURED, f"the image part was taken: {added} more prompt tokens than the text alone")


def judge_unknown_model(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    status = step.last.status
    if 200 <= status < 300:
        facts = answer(ctx.protocol, step.last)
        if facts.problems:
            return Verdict(BROKEN, f"{status} with no answer: {'; '.join(facts.problems)}")
        return Verdict(IGNORED, f"{status}: an unknown model id is served by the model the server has")
    problem = error_shape_problem(ctx.protocol, step.last)
    if problem:
        return Verdict(BROKEN, problem)
    if status == 404:
        return Verdict(HONOURED, f"404 in the error shape: {_error_message(step.last)}")
    return Verdict(BROKEN, f"{status} in the error shape, where 404 belongs: {_error_message(step.last)}")


def judge_malformed(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    status = step.last.status
    if 200 <= status < 300:
        return Verdict(IGNORED, f"{status} for messages that are not a list")
    if 400 <= status < 500:
        problem = error_shape_problem(ctx.protocol, step.last)
        return Verdict(BROKEN, problem) if problem else Verdict(HONOURED, f"{status} in the error shape")
    return Verdict(BROKEN, f"{status} for a malformed request, where a 4xx belongs")


def judge_bad_key(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    if not ctx.keyed or not attempts:
        return Verdict(NOT_APPLICABLE, "no key given (--key-env): the server is taken to have none")
    step = attempts[0][0]
    status = step.last.status
    if 200 <= status < 300:
        return Verdict(IGNORED, f"{status} with a wrong key: the server checks no key")
    if status in (401, 403):
        problem = error_shape_problem(ctx.protocol, step.last)
        return Verdict(BROKEN, problem) if problem else Verdict(HONOURED, f"{status} in the error shape")
    return Verdict(BROKEN, f"{status} for a wrong key, where 401 belongs")


def _tool_fired(ctx: Context, step: Step) -> bool:
    return _calls(ctx, step) > 0


def _many_calls(ctx: Context, step: Step) -> bool:
    return _calls(ctx, step) > 1


JUDGES: dict[str, Judge] = {
    "models": judge_models,
    "chat": judge_chat,
    "system_prompt": judge_system,
    "stream": judge_stream,
    "stream_usage": judge_stream_usage,
    "tool_call": _tool_judge(streamed=False),
    "stream_tool_call": _tool_judge(streamed=True),
    "tool_result": judge_tool_result,
    "tool_choice_forced": judge_tool_forced,
    "tool_choice_none": _control_judge("tool_choice none", "none", _tool_fired, "a tool was called"),
    "parallel_tool_calls": _control_judge(
        "parallel_tool_calls false", "single", _many_calls, "more than one tool was called"
    ),
    "json_object": judge_json(schema=False),
    "json_schema": judge_json(schema=True),
    "stop": judge_stop,
    "max_tokens": judge_max_tokens,
    "seed": judge_seed,
    "reasoning": judge_reasoning,
    "images": judge_images,
    "error_unknown_model": judge_unknown_model,
    "error_malformed": judge_malformed,
    "error_bad_key": judge_bad_key,
}
