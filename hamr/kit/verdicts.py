"""Verdicts: what one probe's recorded exchanges say about the server, as a pure function of those bytes (and of
what hamr made of them on replay). No network, clock or pytest outcome is read here.

Kinds: honoured · rejected loudly (a 4xx in the protocol's error shape) · accepted but ignored · broken shape
(naming what) · limited by the model (the server did its part, the model did not) · cannot tell (the control that
would show the parameter's effect failed, or the answers disagree between tries) · not applicable · not run.
A judgement is about one request: a failure is the verdict of the request that got it, never of its control.
Raw-stream rules (``rules``: ``[DONE]``, one final finish reason, tool-call ``index`` from 0, Anthropic block
indexes and event order, the Responses event lifecycle) are checked on the bytes, not through a parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hamr.kit.rules import (
    ANTHROPIC,
    CUT,
    OPENAI,
    RESPONSES,
    Answer,
    answer,
    anthropic_stream,
    clip,
    error_body,
    error_message,
    error_shape_problem,
    json_or_none,
    openai_stream,
    responses_stream,
    stream_calls,
    stream_errors,
    stream_problems,
    stream_tool_problems,
)
from hamr.kit.wire import Exchange

HONOURED = "honoured"
REJECTED = "rejected loudly"
IGNORED = "accepted but ignored"
BROKEN = "broken shape"
MODEL = "limited by the model"
UNTOLD = "cannot tell"
NOT_APPLICABLE = "not applicable"
NOT_RUN = "not run"
KINDS = (HONOURED, REJECTED, IGNORED, BROKEN, MODEL, UNTOLD, NOT_APPLICABLE, NOT_RUN)


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


def refusal(protocol: str, exchange: Exchange, what: str) -> Verdict | None:
    """The verdict for a request the server did not serve (rejected loudly, a broken shape, a limit of the run that
    ran out); None on a 2xx."""
    if exchange.cut:
        return Verdict(BROKEN, f"{what}: {exchange.cut}")
    if 200 <= exchange.status < 300:
        return None
    if 400 <= exchange.status < 500:
        problem = error_shape_problem(protocol, exchange)
        if problem is None:
            return Verdict(REJECTED, f"{exchange.status} for {what}: {error_message(exchange)}")
        return Verdict(BROKEN, problem)
    return Verdict(BROKEN, f"{exchange.status} for {what}, where a 4xx belongs: {error_message(exchange)}")


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


def _finish(protocol: str) -> str:
    """What an answer's end is called: a Responses answer has a status, the others a finish reason."""
    return "status" if protocol == RESPONSES else "finish"


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
        return Verdict(BROKEN, f"no data list of models with ids: {clip(step.last.body)}")
    if not data:
        return Verdict(BROKEN, "an empty data list")
    return _hamr_failed(step) or Verdict(HONOURED, f"{len(data)} model(s): {', '.join(m['id'] for m in data[:3])}")


def judge_chat(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    facts = _read(ctx, attempts[0][0], "a plain chat request")
    if isinstance(facts, Verdict):
        return facts
    if not facts.text.strip():
        return Verdict(MODEL, f"an empty answer (finish {facts.finish})")
    return Verdict(HONOURED, f"text, {_finish(ctx.protocol)} {facts.finish}, usage")


def judge_system(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    """The answer follows the system prompt, or else its prompt tokens tell: a system prompt the server drops adds
    none over the same request without it (the control step)."""
    added: int | None = None
    for n, attempt in enumerate(attempts, 1):
        step, control = _labelled(attempt, "system"), _labelled(attempt, "no system")
        if (served := _served(ctx, step, "a system prompt")) is not None:
            return served
        sent = step.last.request_json() or {}
        placed = {ANTHROPIC: sent.get("system"), RESPONSES: sent.get("instructions")}.get(
            ctx.protocol, (sent.get("messages") or [{}])[0].get("role")
        )
        if not placed:
            return Verdict(BROKEN, "the recorded request does not carry the system prompt in the protocol's place")
        if failed := _hamr_failed(step):
            return failed
        with_it = answer(ctx.protocol, step.last).input_tokens
        without = answer(ctx.protocol, control.last).input_tokens if _control_served(ctx, control) else None
        if with_it is not None and without is not None:
            added = with_it - without
            if added <= 0:
                return Verdict(
                    IGNORED, f"the system prompt added no prompt tokens ({with_it} with it, {without} without): dropped"
                )
        if ctx.extra["system_word"] in step.observed.text.lower():
            return Verdict(HONOURED, f"the answer follows the system prompt (try {n})")
    reached = (
        "(a server that drops the system prompt would look the same: no prompt tokens to tell)"
        if added is None
        else f"(it reached the model: {added} more prompt tokens than without it)"
    )
    return Verdict(
        MODEL, f"accepted; the model did not follow it in {len(attempts)} of {ctx.tries} tries {reached}", retry=True
    )


def _control_served(ctx: Context, control: Step) -> bool:
    return _served(ctx, control, "the control") is None and not control.observed.error


def _labelled(attempt: Attempt, label: str) -> Step:
    return next(s for s in attempt if s.label == label)


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
    if ctx.protocol == RESPONSES:
        stream = responses_stream(step.last.body)
        numbered = " and sequence_number increasing" if any("sequence_number" in e for _, e in stream.events) else ""
        return Verdict(
            HONOURED,
            f"response.created first, every *.added closed by its *.done{numbered}, ends with {stream.terminal} "
            f"(status {stream.finish})",
        )
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
    if ctx.protocol == RESPONSES:  # always in the final response: nothing asks for it
        ended = responses_stream(step.last.body)
        usage = ended.usage or {}
        if not all(isinstance(usage.get(k), int) for k in ("input_tokens", "output_tokens")):
            return Verdict(BROKEN, f"no usage (input_tokens, output_tokens) in {ended.terminal or 'a final response'}")
        return Verdict(
            HONOURED, f"usage in {ended.terminal} ({usage['input_tokens']} in, {usage['output_tokens']} out)"
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
    """A tool call's shape, from every forcing step (``tool_choice`` required, then the tool's name): a served
    answer in a broken shape settles it; a forced choice answered in words is the server ignoring it (a server that
    takes a forced choice constrains the model; the model cannot decline); a step the server refused is noted."""

    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        refused: list[Verdict] = []
        ignored: list[str] = []
        honoured: list[str] = []
        for attempt in attempts:
            for step in attempt:
                what = f"tool_choice {step.label}"
                served = _served(ctx, step, what)
                errors = stream_errors(ctx.protocol, step.last) if streamed else []
                if served is None and errors:
                    served = Verdict(BROKEN, f"an error in the stream for {what}: {errors[0]}")
                if served is not None:
                    refused.append(served)
                    continue
                if streamed:
                    problems = stream_problems(ctx.protocol, step.last) + stream_tool_problems(ctx.protocol, step.last)
                    called = stream_calls(ctx.protocol, step.last)
                else:
                    facts = answer(ctx.protocol, step.last)
                    problems, called = list(facts.problems), len(facts.calls)
                if problems:
                    return Verdict(BROKEN, f"{what}: " + "; ".join(problems))
                if failed := _hamr_failed(step):
                    return failed
                if called:
                    honoured.append(f"{called} call(s) with {what}")
                else:
                    ignored.append(what)
        if ignored:
            also = f" ({'; '.join(dict.fromkeys(honoured))})" if honoured else ""
            return Verdict(IGNORED, f"{', '.join(dict.fromkeys(ignored))} sent; answered in words, no tool call{also}")
        if honoured:
            how = "index from 0, " if streamed and ctx.protocol == OPENAI else ""
            args = "input a JSON object" if ctx.protocol == ANTHROPIC else "arguments a JSON string that parses"
            also = f" (also {refused[0].kind}: {refused[0].reason})" if refused else ""
            return Verdict(HONOURED, f"{'; '.join(dict.fromkeys(honoured))}, {how}{args}{also}")
        return Verdict(refused[0].kind, refused[0].reason, retry=True)

    return judge


def _calls(ctx: Context, step: Step) -> int:
    if "event-stream" in step.last.header("content-type"):
        return stream_calls(ctx.protocol, step.last)
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
    it; the control step (the same request without the parameter) shows the model would have done it. Each failure
    is its own request's: the real request's is the cell's verdict, a failed control only means the effect cannot
    be told."""

    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        control_fired = 0
        control_failed: Verdict | None = None
        for attempt in attempts:
            real = _labelled(attempt, real_step)
            facts = _read(ctx, real, what)
            if isinstance(facts, Verdict):
                return facts
            if fired(ctx, real):
                return Verdict(IGNORED, f"{what} sent, and still {stated}")
            for control in (s for s in attempt if s.label != real_step):
                outcome = _read(ctx, control, f"the control without {what}")
                if isinstance(outcome, Verdict):
                    control_failed = control_failed or outcome
                else:
                    control_fired += fired(ctx, control)
        if control_fired:
            return Verdict(
                HONOURED, f"without it {stated} ({control_fired} of {len(attempts)} controls); with it never"
            )
        if control_failed is not None:
            return Verdict(
                UNTOLD,
                f"{what} served, but its control failed ({control_failed.kind}: {control_failed.reason}): "
                "the effect cannot be seen",
                retry=True,
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
            value = json_or_none(facts.text)
            if isinstance(value, dict):
                if not schema:
                    return Verdict(HONOURED, f"the answer is a JSON object (try {n})")
                if set(value) == {"result"} and isinstance(value["result"], int):
                    return Verdict(HONOURED, f"the answer follows the schema (try {n})")
                return Verdict(IGNORED, f"a JSON object that breaks the schema: {clip(facts.text.encode())}")
            if facts.finish == CUT[ctx.protocol] and facts.text.lstrip().startswith(("{", "[")):
                continue  # the model ran out of tokens inside the object: the constraint held so far
            return Verdict(IGNORED, f"the answer is not JSON: {clip(facts.text.encode())}")
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
    """The answer stops at the limit and says so: ``length`` / ``max_tokens``, and a Responses answer ``status:
    "incomplete"`` with ``incomplete_details.reason`` ``max_output_tokens``."""
    limit, cut, said = ctx.extra["max_tokens"], CUT[ctx.protocol], _finish(ctx.protocol)
    field_name = "max_output_tokens" if ctx.protocol == RESPONSES else "max_tokens"
    for attempt in attempts:
        step = attempt[0]
        if step.last.cut:
            return Verdict(
                IGNORED, f"{field_name} {limit} sent, and the answer ran past the run's limit: {step.last.cut}"
            )
        facts = _read(ctx, step, f"{field_name} {limit}")
        if isinstance(facts, Verdict):
            return facts
        tokens = facts.output_tokens or 0
        if tokens > limit:
            return Verdict(IGNORED, f"{tokens} output tokens for {field_name} {limit}")
        if facts.finish == cut:
            return Verdict(HONOURED, f"cut at {tokens} tokens, {said} {cut}")
        if tokens == limit:
            return Verdict(BROKEN, f'{said} "{facts.finish}" at exactly the limit, not "{cut}"')
    return Verdict(MODEL, f"the model stopped before {limit} tokens in {len(attempts)} tries", retry=True)


def judge_seed(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    """The same seed twice, and no seed twice, at temperature 1, after a warm-up request with the same prompt (a
    server's prompt cache makes the first answer of a prompt differ from later ones whatever the seed). One pair is
    not evidence: "ignored" needs the seeded answers to differ in two tries or more, "honoured" to agree in two."""
    differed = 0
    unseeded_differed = False
    for attempt in attempts:
        for step in attempt:
            if isinstance(facts := _read(ctx, step, "seed"), Verdict):
                return facts
        texts = {s.label: answer(ctx.protocol, s.last).text for s in attempt}
        differed += texts["seeded-1"] != texts["seeded-2"]
        unseeded_differed |= texts["unseeded-1"] != texts["unseeded-2"]
    tries = len(attempts)
    if differed >= 2:
        return Verdict(IGNORED, f"the same seed at temperature 1 gave different answers in {differed} of {tries} tries")
    if differed:
        more = tries < ctx.tries
        reason = f"the same seed gave different answers in {differed} of {tries} tries"
        return Verdict(UNTOLD, reason + ("" if more else ": not repeatable enough to judge"), retry=more)
    if unseeded_differed and tries >= 2:
        return Verdict(HONOURED, f"the same seed gave the same answer ({tries} tries); without a seed they differed")
    if unseeded_differed:  # one pair is not evidence either way
        return Verdict(HONOURED, "the same seed gave the same answer once; without a seed they differed", retry=True)
    return Verdict(MODEL, "all answers were the same, seed or not: determinism cannot be told from it", retry=True)


def judge_reasoning(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    step = attempts[0][0]
    facts = _read(ctx, step, "a reasoning prompt")
    if isinstance(facts, Verdict):
        return facts
    if facts.reasoning_field:
        return Verdict(HONOURED, f"reasoning in {facts.reasoning_field}, apart from the answer")
    if "<think>" in facts.text and ctx.protocol == RESPONSES:
        return Verdict(BROKEN, "reasoning inline as <think> in output_text, where a reasoning item belongs")
    if "<think>" in facts.text:
        if step.observed.reasoning and "<think>" not in step.observed.text:
            return Verdict(HONOURED, "reasoning inline as <think>…</think> in content (hamr splits it off)")
        return Verdict(BROKEN, "an unclosed or misplaced <think> block in content")
    fields = "reasoning item" if ctx.protocol == RESPONSES else "reasoning_content, reasoning"
    return Verdict(NOT_APPLICABLE, f"the model sent no reasoning (no {fields} or <think>)")


_NO_VISION = re.compile(r"image|vision|multimodal|mmproj", re.IGNORECASE)


def judge_images(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    """The image request against the same text without the image: an image the server drops adds no prompt
    tokens."""
    image, text = attempts[0]
    if image.last.status >= 500 and _NO_VISION.search(image.last.body.decode("utf-8", "replace")):
        return Verdict(MODEL, f"{image.last.status}, the model reads no images: {error_message(image.last)}")
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
        return Verdict(HONOURED, f"404 in the error shape: {error_message(step.last)}")
    return Verdict(BROKEN, f"{status} in the error shape, where 404 belongs: {error_message(step.last)}")


def _error_judge(what: str, belongs: str, statuses: Callable[[int], bool], accepted: str) -> Judge:
    """A request the server must refuse: the status ``statuses`` allows, in the protocol's error shape. A 2xx that
    carries an error body is a broken shape (a client reads it as an answer); a plain 2xx is ``accepted``."""

    def judge(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
        step = attempts[0][0]
        status = step.last.status
        if 200 <= status < 300:
            if (message := error_body(step.last)) is not None:
                return Verdict(BROKEN, f"{status} with an error body, where {belongs} belongs: {message}")
            return Verdict(IGNORED, f"{status} {accepted}")
        if statuses(status):
            problem = error_shape_problem(ctx.protocol, step.last)
            return Verdict(BROKEN, problem) if problem else Verdict(HONOURED, f"{status} in the error shape")
        return Verdict(BROKEN, f"{status} for {what}, where {belongs} belongs")

    return judge


#: what the malformed-request probe sends, as its "accepted" verdict says it (probes.MALFORMED)
_MALFORMED = {RESPONSES: "for an input that is neither a string nor a list"}


def judge_malformed(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    accepted = _MALFORMED.get(ctx.protocol, "for messages that are not a list")
    return _error_judge("a malformed request", "a 4xx", lambda status: 400 <= status < 500, accepted)(ctx, attempts)


_judge_wrong_key = _error_judge(
    "a wrong key", "401", lambda status: status in (401, 403), "with a wrong key: the server checks no key"
)


def judge_bad_key(ctx: Context, attempts: Sequence[Attempt]) -> Verdict:
    if not ctx.keyed or not attempts:
        return Verdict(NOT_APPLICABLE, "no key given (--key-env): the server is taken to have none")
    return _judge_wrong_key(ctx, attempts)


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
