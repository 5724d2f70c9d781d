"""The kit judged: real-world server defects planted one at a time, each with the cell and verdict the kit must give
for it. A defect is data: which requests it touches, what a buggy server does to such a request before its model
sees it (live only), and what it does to the answer's bytes (live and offline).

Live, a ``Planting`` transport sits between the kit's recorder and a real server (the embedded llama-server or the
relay), so the cassettes hold the planted bytes; ``python -m tests.conform.planted <target>`` (``nox -s planted``)
runs every defect of the target's protocol and a faithful pass-through (the control, which must give the server's
own row). Offline, ``plant`` rewrites the exchanges of a committed live run's cassette the same way, and the kit
judges the result (tests/conform/test_planted.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx2

from hamr.kit import cli, run
from hamr.kit import probes as p
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from hamr.kit.rules import ANTHROPIC, OPENAI, RESPONSES

Body = dict[str, Any]


@dataclass(frozen=True)
class Defect:
    name: str
    #: where it was seen (a tracker issue) or which of the kit's wrong verdicts it proves fixed
    source: str
    protocol: str
    #: probe -> the verdict kind the kit must give that cell
    expected: tuple[tuple[str, str], ...]
    #: the requests it touches (their JSON body)
    when: Callable[[Body], bool]
    #: what the server does to such a request before its model sees it (live)
    request: Callable[[Body], Body] | None = None
    #: what the server does to the answer's bytes (live and offline)
    response: Callable[[w.Exchange], w.Exchange] | None = None
    #: offline, where the request change cannot reach a model: the answer it leads to
    offline: Callable[[w.Exchange], w.Exchange] | None = None
    #: a defect the server under test has itself: its answer as a server without the defect sends it (constructed
    #: from the specification), into which the defect is then planted; that answer alone must be judged honoured
    repaired: Callable[[w.Exchange], w.Exchange] | None = None

    @property
    def probes(self) -> frozenset[str]:
        return frozenset(probe for probe, _ in self.expected)


# ------------------------------------------------------------------------------------------------------------------
# byte rewriting: JSON bodies and SSE events
# ------------------------------------------------------------------------------------------------------------------


def _json_body(fn: Callable[[Body], Body]) -> Callable[[w.Exchange], w.Exchange]:
    def rewrite(exchange: w.Exchange) -> w.Exchange:
        body = exchange.json()
        if not isinstance(body, dict) or "event-stream" in exchange.header("content-type"):
            return exchange
        return replace(exchange, body=json.dumps(fn(body)).encode())

    return rewrite


def _events(fn: Callable[[str, Any], list[tuple[str, Any]]]) -> Callable[[w.Exchange], w.Exchange]:
    """Each SSE event (name, parsed data or the raw ``[DONE]``) through ``fn``, which returns the events to send
    instead (none: dropped)."""

    def rewrite(exchange: w.Exchange) -> w.Exchange:
        if "event-stream" not in exchange.header("content-type"):
            return exchange
        out: list[str] = []
        for block in re.split(r"\r?\n\r?\n", exchange.body.decode("utf-8")):
            if not block.strip():
                continue
            name = next((line[6:].strip() for line in block.splitlines() if line.startswith("event:")), "")
            data = "\n".join(line[5:].lstrip() for line in block.splitlines() if line.startswith("data:"))
            try:
                value: Any = json.loads(data)
            except ValueError:
                value = data
            for new_name, new_value in fn(name, value):
                text = new_value if isinstance(new_value, str) else json.dumps(new_value)
                out.append((f"event: {new_name}\n" if new_name else "") + f"data: {text}\n\n")
        return replace(exchange, body="".join(out).encode())

    return rewrite


def _chunks(fn: Callable[[Body], Body | None]) -> Callable[[w.Exchange], w.Exchange]:
    """Each JSON chunk of an OpenAI stream through ``fn`` (None: dropped); ``[DONE]`` kept."""
    return _events(lambda name, value: [(name, value)] if not isinstance(value, dict) else _kept(name, fn(value)))


def _kept(name: str, value: Body | None) -> list[tuple[str, Any]]:
    return [] if value is None else [(name, value)]


def _each_choice(fn: Callable[[Body], None]) -> Callable[[Body], Body]:
    def rewrite(chunk: Body) -> Body:
        for choice in chunk.get("choices") or []:
            fn(choice)
        return chunk

    return rewrite


def _each_tool_delta(fn: Callable[[Body], None]) -> Callable[[Body], None]:
    def rewrite(choice: Body) -> None:
        for delta in (choice.get("delta") or {}).get("tool_calls") or []:
            fn(delta)

    return rewrite


def _no_usage(chunk: Body) -> Body | None:
    if chunk.get("usage") and not chunk.get("choices"):
        return None
    chunk.pop("usage", None)
    return chunk


def _usage_without_choices(chunk: Body) -> Body:
    if chunk.get("usage") and chunk.get("choices") == []:
        del chunk["choices"]
    return chunk


def _set_finish(value: str | None, only: str | None = None) -> Callable[[Body], None]:
    def rewrite(choice: Body) -> None:
        if choice.get("finish_reason") and (only is None or choice["finish_reason"] == only):
            choice["finish_reason"] = value

    return rewrite


def _arguments_as_object(body: Body) -> Body:
    for choice in body.get("choices") or []:
        for call in (choice.get("message") or {}).get("tool_calls") or []:
            call["function"]["arguments"] = json.loads(call["function"]["arguments"] or "{}")
    return body


def _openai_error(status: int, message: str) -> Callable[[w.Exchange], w.Exchange]:
    """An error in OpenAI's shape, whatever the server answered."""
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}}).encode()
    return lambda exchange: replace(exchange, status=status, headers={"content-type": "application/json"}, body=body)


def _openai_text(text: str, finish: str = "stop", completion_tokens: int = 6) -> Callable[[w.Exchange], w.Exchange]:
    """The answer a server gives in words (non-streamed or streamed), usage kept from the real answer."""

    def rewrite(exchange: w.Exchange) -> w.Exchange:
        if "event-stream" in exchange.header("content-type"):
            chunk: Body = {"id": "planted", "object": "chat.completion.chunk"}
            events = [
                {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
                {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            ]
            body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            return replace(exchange, status=200, body=body.encode())
        real = exchange.json() if isinstance(exchange.json(), dict) else {}
        usage = dict(real.get("usage") or {"prompt_tokens": 12})
        usage["completion_tokens"] = completion_tokens
        answer = {
            "id": "planted",
            "object": "chat.completion",
            "model": real.get("model", "planted"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        }
        return replace(
            exchange, status=200, headers={"content-type": "application/json"}, body=json.dumps(answer).encode()
        )

    return rewrite


def _openai_tool_call(exchange: w.Exchange) -> w.Exchange:
    call = {"id": "call_planted", "type": "function", "function": {"name": p.TOOL, "arguments": '{"city":"Paris"}'}}
    real = exchange.json() if isinstance(exchange.json(), dict) else {}
    answer = {
        "id": "planted",
        "object": "chat.completion",
        "model": real.get("model", "planted"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": real.get("usage") or {"prompt_tokens": 12, "completion_tokens": 9},
    }
    return replace(exchange, status=200, headers={"content-type": "application/json"}, body=json.dumps(answer).encode())


def _seed_differs() -> Callable[[w.Exchange], w.Exchange]:
    """Every other seeded answer changed: what the same seed twice gives on a server that drops it."""
    seen = iter(range(1 << 30))

    def rewrite(exchange: w.Exchange) -> w.Exchange:
        if next(seen) % 2 == 0:
            return exchange
        return _json_body(lambda body: _append_text(body, " Then the tide turned."))(exchange)

    return rewrite


def _append_text(body: Body, more: str) -> Body:
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        message["content"] = str(message.get("content") or "") + more
    return body


def _same_prompt_tokens_as_without_system(exchange: w.Exchange) -> w.Exchange:
    """The prompt tokens a server that drops the system prompt counts: those of the user turn alone."""
    return _json_body(lambda body: _prompt_tokens(body, _HELLO_TOKENS.get(exchange.url, 0)))(exchange)


#: offline only: the control's prompt tokens per URL, filled from the cassette before planting
_HELLO_TOKENS: dict[str, int] = {}


def _prompt_tokens(body: Body, tokens: int) -> Body:
    usage = body.get("usage") or {}
    usage["prompt_tokens" if "prompt_tokens" in usage else "input_tokens"] = tokens
    return body


# Anthropic


def _typed_events(fn: Callable[[str, Body], list[tuple[str, Any]]]) -> Callable[[w.Exchange], w.Exchange]:
    """Each JSON event of an Anthropic or Responses stream (each carries its ``type``) through ``fn``."""
    return _events(lambda name, value: fn(name, value) if isinstance(value, dict) else [(name, value)])


def _stop_reason(value: str) -> Callable[[str, Body], list[tuple[str, Any]]]:
    def rewrite(name: str, event: Body) -> list[tuple[str, Any]]:
        if event.get("type") == "message_delta" and (event.get("delta") or {}).get("stop_reason") == "tool_use":
            event["delta"]["stop_reason"] = value
        return [(name, event)]

    return rewrite


def _delta_index_plus_one(name: str, event: Body) -> list[tuple[str, Any]]:
    if event.get("type") == "content_block_delta":
        event["index"] = int(event.get("index", 0)) + 1
    return [(name, event)]


def _drop_input_json(name: str, event: Body) -> list[tuple[str, Any]]:
    if event.get("type") == "content_block_delta" and (event.get("delta") or {}).get("type") == "input_json_delta":
        return []
    return [(name, event)]


def _message_delta_without_usage(name: str, event: Body) -> list[tuple[str, Any]]:
    if event.get("type") == "message_delta":
        event.pop("usage", None)
    return [(name, event)]


# Responses


def _items_announced_late() -> Callable[[str, Body], list[tuple[str, Any]]]:
    """Each ``response.output_item.added`` held back until its item's ``done``: the item's content arrives while
    no item is open (litellm#36375: content events that belong to no announced item)."""
    held: list[tuple[str, Any]] = []

    def rewrite(name: str, event: Body) -> list[tuple[str, Any]]:
        if event.get("type") == "response.output_item.added":
            held.append((name, event))
            return []
        if event.get("type") == "response.output_item.done":
            out, held[:] = [*held, (name, event)], []
            return out
        return [(name, event)]

    return rewrite


def _never_closed(name: str, event: Body) -> list[tuple[str, Any]]:
    """No ``response.output_item.done`` or ``response.content_part.done``: what was added is never closed."""
    if event.get("type") in ("response.output_item.done", "response.content_part.done"):
        return []
    return [(name, event)]


def _function_call_arguments_as_object(item: Body) -> None:
    if item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
        item["arguments"] = json.loads(item["arguments"] or "{}")


def _responses_arguments_as_object(body: Body) -> Body:
    """Every function_call item's ``arguments`` as a JSON object."""
    for item in body.get("output") or []:
        _function_call_arguments_as_object(item)
    return body


def _at_the_limit(body: Body, limit: int) -> bool:
    usage = body.get("usage") or {}
    return bool(limit) and isinstance(usage.get("output_tokens"), int) and usage["output_tokens"] >= limit


def _with_status(body: Body, status: str, reason: str | None) -> Body:
    return {**body, "status": status, "incomplete_details": {"reason": reason} if reason else None}


def _stopped_at_the_limit(exchange: w.Exchange) -> w.Exchange:
    """The answer as the specification has it: cut at ``max_output_tokens``, ``status: "incomplete"`` with
    ``incomplete_details.reason`` ``max_output_tokens`` (what llama-server does not send)."""
    limit = int((exchange.request_json() or {}).get("max_output_tokens") or 0)
    cut = lambda body: _with_status(body, "incomplete", "max_output_tokens") if _at_the_limit(body, limit) else body  # noqa: E731
    return _json_body(cut)(exchange)


def _completed_anyway(exchange: w.Exchange) -> w.Exchange:
    """``status: "completed"`` and no ``incomplete_details`` on an answer cut at its limit."""
    done = lambda body: _with_status(body, "completed", None) if body.get("status") == "incomplete" else body  # noqa: E731
    return _json_body(done)(exchange)


# ------------------------------------------------------------------------------------------------------------------
# what the requests look like
# ------------------------------------------------------------------------------------------------------------------


def _streamed(body: Body) -> bool:
    return bool(body.get("stream"))


def _forced(body: Body) -> bool:
    choice = body.get("tool_choice")
    return bool(body.get("tools")) and (choice in ("required", "any") or isinstance(choice, dict))


def _without(*keys: str) -> Callable[[Body], Body]:
    return lambda body: {k: value for k, value in body.items() if k not in keys}


def _no_system(body: Body) -> Body:
    body = {k: value for k, value in body.items() if k != "system"}
    body["messages"] = [m for m in body.get("messages") or [] if m.get("role") != "system"]
    return body


def _has_system(body: Body) -> bool:
    return bool(body.get("system")) or any(m.get("role") == "system" for m in body.get("messages") or [])


def _first_user_text(body: Body) -> str:
    turns = body.get("messages") or body.get("input") or []
    for message in turns if isinstance(turns, list) else []:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def _about(prompt: list[dict[str, Any]]) -> Callable[[Body], bool]:
    text = prompt[0]["content"]
    return lambda body: _first_user_text(body) == text


IGN, BRK = v.IGNORED, v.BROKEN

DEFECTS: tuple[Defect, ...] = (
    # --- OpenAI chat completions: the kit's issue (trackers) -------------------------------------------------------
    Defect(
        "usage ignored",
        "ollama#4448",
        OPENAI,
        (("stream_usage", IGN),),
        _streamed,
        response=_chunks(_no_usage),
    ),
    Defect(
        "usage chunk without choices",
        "ROCm/ATOM#1711",
        OPENAI,
        (("stream_usage", BRK),),
        _streamed,
        response=_chunks(_usage_without_choices),
    ),
    Defect(
        "tool deltas without index",
        "ollama#7881, mistral.rs#1507",
        OPENAI,
        (("stream_tool_call", BRK),),
        lambda b: _streamed(b) and _forced(b),
        response=_chunks(_each_choice(_each_tool_delta(lambda d: d.pop("index", None)))),
    ),
    Defect(
        "tool deltas counted from 1",
        "litellm#11580",
        OPENAI,
        (("stream_tool_call", BRK),),
        lambda b: _streamed(b) and _forced(b),
        response=_chunks(_each_choice(_each_tool_delta(lambda d: d.update(index=int(d.get("index", 0)) + 1)))),
    ),
    Defect(
        "arguments as an object",
        "llama.cpp#20198",
        OPENAI,
        (("tool_call", BRK),),
        lambda b: _forced(b) and not _streamed(b),
        response=_json_body(_arguments_as_object),
    ),
    Defect(
        "stop instead of tool_calls",
        "sglang#2877",
        OPENAI,
        (("tool_call", BRK),),
        lambda b: _forced(b) and not _streamed(b),
        response=_json_body(_each_choice(_set_finish("stop", "tool_calls"))),
    ),
    Defect(
        "no final finish reason",
        "foundry-local#423, TGI",
        OPENAI,
        (("stream", BRK),),
        _streamed,
        response=_chunks(_each_choice(_set_finish(None))),
    ),
    Defect(
        "no [DONE]",
        "foundry-local#423, TGI",
        OPENAI,
        (("stream", BRK),),
        _streamed,
        response=_events(lambda n, d: [] if d == "[DONE]" else [(n, d)]),
    ),
    Defect(
        "unknown model served (200)",
        "issue 31's list (unknown model 200)",
        OPENAI,
        (("error_unknown_model", IGN),),
        lambda b: b.get("model") == p.UNKNOWN_MODEL,
        # llama-server serves an unknown model itself: its answer repaired as OpenAI's 404 first
        repaired=_openai_error(404, "The model 'hamr-conform-no-such-model' does not exist"),
        response=_openai_text("Hello there."),
    ),
    Defect(
        "unknown model answered 400",
        "ollama#6646",
        OPENAI,
        (("error_unknown_model", BRK),),
        lambda b: b.get("model") == p.UNKNOWN_MODEL,
        response=_openai_error(400, "model 'hamr-conform-no-such-model' not found, try pulling it first"),
    ),
    Defect(
        "response_format ignored",
        "llama.cpp#10732",
        OPENAI,
        (("json_object", IGN), ("json_schema", IGN)),
        lambda b: "response_format" in b,
        # llama-server answers these in prose itself: repaired as the JSON the format asks for first
        repaired=_openai_text('{"result": 8}'),
        response=_openai_text("Sure! The square root of 64 is 8."),
    ),
    Defect(
        "stop ignored",
        "issue 31's list (ignored stop)",
        OPENAI,
        (("stop", IGN),),
        lambda b: bool(b.get("stop")),
        request=_without("stop"),
        offline=_openai_text("The weather is fine here."),
    ),
    Defect(
        "max_tokens ignored",
        "issue 31, item 8 (a run that never ended)",
        OPENAI,
        (("max_tokens", IGN),),
        _about(p.LONG),
        request=_without("max_tokens", "max_completion_tokens"),
        offline=_openai_text("Once upon a time " * 30, "stop", 90),
    ),
    Defect(
        "seed ignored",
        "issue 31's list (ignored seed)",
        OPENAI,
        (("seed", IGN),),
        lambda b: "seed" in b,
        request=_without("seed"),
        offline=_seed_differs(),
    ),
    # --- the kit's own wrong verdicts (issue 31) ------------------------------------------------------------------
    Defect(
        "tool_choice none ignored",
        "ollama#17921; issue 31, item 1",
        OPENAI,
        (("tool_choice_none", IGN),),
        lambda b: b.get("tool_choice") == "none",
        request=lambda b: {**b, "tool_choice": "required"},
        offline=_openai_tool_call,
    ),
    Defect(
        "errors sent as 200",
        "issue 31, item 3 (litellm#27030)",
        OPENAI,
        (("error_malformed", BRK), ("error_bad_key", BRK)),
        lambda b: b.get("messages") == "not a list" or b.get("max_tokens") == 8,
        response=lambda e: replace(e, status=200) if 400 <= e.status < 500 else e,
    ),
    Defect(
        "forced tool_choice dropped",
        "ollama#17921; issue 31, item 4",
        OPENAI,
        (("tool_call", IGN), ("stream_tool_call", IGN)),
        _forced,
        request=_without("tool_choice", "tools"),
        offline=_openai_text("The weather in Paris is sunny."),
    ),
    Defect(
        "system prompt dropped",
        "issue 31, item 6 (llama-cpp-python's gemma chat format)",
        OPENAI,
        (("system_prompt", IGN),),
        _has_system,
        request=_no_system,
        offline=_same_prompt_tokens_as_without_system,
    ),
    # --- Anthropic Messages -----------------------------------------------------------------------------------------
    Defect(
        "streamed tool call ends end_turn",
        "issue 31, item 2",
        ANTHROPIC,
        (("stream_tool_call", BRK),),
        lambda b: _streamed(b) and _forced(b),
        response=_typed_events(_stop_reason("end_turn")),
    ),
    Defect(
        "deltas sent to the wrong block",
        "sglang#25876; issue 31, item 9",
        ANTHROPIC,
        (("stream", BRK),),
        _streamed,
        response=_typed_events(_delta_index_plus_one),
    ),
    Defect(
        "input_json_delta dropped",
        "litellm#29491",
        ANTHROPIC,
        (("stream_tool_call", BRK),),
        lambda b: _streamed(b) and _forced(b),
        response=_typed_events(_drop_input_json),
    ),
    Defect(
        "message_delta without usage",
        "issue 31's list (a message_delta without usage)",
        ANTHROPIC,
        (("stream_usage", BRK),),
        _streamed,
        response=_typed_events(_message_delta_without_usage),
    ),
    # --- Responses (issue 32) --------------------------------------------------------------------------------------
    Defect(
        "events out of order",
        "litellm#36375, litellm#38654",
        RESPONSES,
        (("stream", BRK),),
        _streamed,
        response=lambda exchange: _typed_events(_items_announced_late())(exchange),  # fresh state per answer
    ),
    Defect(
        "an *.added never closed",
        "CLIProxyAPI#4860",
        RESPONSES,
        (("stream", BRK),),
        _streamed,
        response=_typed_events(_never_closed),
    ),
    Defect(
        "completed where incomplete belongs",
        "issue 32 (llama.cpp's own /v1/responses)",
        RESPONSES,
        (("max_tokens", BRK),),
        _about(p.LONG),
        repaired=_stopped_at_the_limit,
        response=_completed_anyway,
    ),
    Defect(
        "arguments as an object",
        "adk-go#1254, cc-switch#5100",
        RESPONSES,
        (("tool_call", BRK),),
        lambda b: _forced(b) and not _streamed(b),
        response=_json_body(_responses_arguments_as_object),
    ),
)
BY_NAME = {d.name: d for d in DEFECTS}
_HELLO = p.BY_NAME["system_prompt"]


# ------------------------------------------------------------------------------------------------------------------
# live: a transport that plants the defect in front of a real server
# ------------------------------------------------------------------------------------------------------------------


class Planting(httpx2.BaseTransport):
    """Forwards to the server, with ``defect`` planted in the requests it touches (None: a faithful pass-through)."""

    def __init__(self, defect: Defect | None, inner: httpx2.BaseTransport | None = None) -> None:
        self.defect = defect
        self.inner = inner or httpx2.HTTPTransport(limits=httpx2.Limits(max_keepalive_connections=0))
        self.planted = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = _parsed(request.read())
        defect = self.defect
        if defect is None or not isinstance(body, dict) or not defect.when(body):
            return self.inner.handle_request(request)
        self.planted += 1
        if defect.request is not None:
            content = json.dumps(defect.request(body)).encode()
            headers = {k: val for k, val in request.headers.items() if k.lower() != "content-length"}
            request = httpx2.Request(
                request.method, request.url, headers=headers, content=content, extensions=request.extensions
            )
        response = self.inner.handle_request(request)
        if defect.response is None and defect.repaired is None:
            return response
        try:
            content = response.read()
        finally:
            response.close()
        headers = {
            k: val
            for k, val in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        }
        exchange = _rewritten(
            defect,
            w.Exchange(request.method, str(request.url), {}, request.content, response.status_code, headers, content),
        )
        return httpx2.Response(exchange.status, headers=dict(exchange.headers), content=exchange.body)


def _rewritten(defect: Defect, exchange: w.Exchange) -> w.Exchange:
    """The answer with the defect's byte changes (into the repaired answer, for a defect the server has itself)."""
    if defect.repaired is not None:
        exchange = defect.repaired(exchange)
    return exchange if defect.response is None else defect.response(exchange)


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------------------------
# offline: the defect planted into a committed live run's cassette
# ------------------------------------------------------------------------------------------------------------------


def plant(defect: Defect, cassette: w.Cassette, *, repaired_only: bool = False) -> w.Cassette:
    """The cassette as a server with ``defect`` would have answered: every exchange whose request it touches
    rewritten (its ``offline`` answer where the defect acts on the request, then its byte changes). With
    ``repaired_only``: the answers of a defect the server has itself as a server without it sends them."""
    if _HELLO.name == cassette.conform.get("probe"):
        _HELLO_TOKENS.clear()
        for exchange in cassette.exchanges:
            body = exchange.request_json() or {}
            if not _has_system(body):
                usage = (exchange.json() or {}).get("usage") or {}
                _HELLO_TOKENS[exchange.url] = int(usage.get("prompt_tokens", usage.get("input_tokens", 0)))
    exchanges = []
    for exchange in cassette.exchanges:
        body = exchange.request_json()
        if isinstance(body, dict) and defect.when(body):
            if repaired_only:
                exchange = defect.repaired(exchange) if defect.repaired is not None else exchange
            else:
                exchange = _rewritten(defect, defect.offline(exchange) if defect.offline is not None else exchange)
        exchanges.append(exchange)
    return replace(cassette, exchanges=exchanges)


def judged(defect: Defect, run_dir: Path, *, repaired_only: bool = False) -> dict[str, v.Verdict]:
    """The verdict of each cell the defect targets, judged from the run's cassettes with the defect planted (with
    ``repaired_only``: with the server's own defect repaired, nothing planted)."""
    out = {}
    for probe_name in sorted(defect.probes):
        cassette = w.loads((run_dir / "cassettes" / f"{probe_name}.yaml").read_text(encoding="utf-8"))
        target = run.target_from(dict(cassette.conform["target"]))
        rewritten = plant(defect, cassette, repaired_only=repaired_only)
        out[probe_name] = run.judge(p.BY_NAME[probe_name], rewritten, target, f"{probe_name}.yaml (planted)")
    return out


# ------------------------------------------------------------------------------------------------------------------
# live runner: every defect of the target's protocol, then the faithful control; the score
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    defect: str
    source: str
    cell: str
    expected: str
    got: str
    reason: str

    @property
    def caught(self) -> bool:
        return self.expected == self.got


def live(
    target: run.Target, key: str | None, committed: Path, progress: Callable[[str], None] = print
) -> tuple[list[Outcome], list[str]]:
    """Run every defect of the target's protocol through the kit against the live server, then the control; the
    outcomes and the control's disagreements with the committed run's row."""
    outcomes: list[Outcome] = []
    protocol = target.protocol
    with tempfile.TemporaryDirectory(prefix="hamr-planted-") as scratch:
        for defect in (d for d in DEFECTS if d.protocol == protocol):
            started = time.monotonic()
            planting = Planting(defect)
            out = Path(scratch) / re.sub(r"\W+", "-", defect.name)
            cli.conform(
                target,
                key,
                out,
                w.Budget(60),
                3,
                "planted",
                inner=planting,
                progress=lambda line: None,
                only=defect.probes,
            )
            verdicts = json.loads((out / "report.json").read_text(encoding="utf-8"))["verdicts"]
            for probe_name, expected in defect.expected:
                got = verdicts[probe_name]
                outcomes.append(Outcome(defect.name, defect.source, got["cell"], expected, got["kind"], got["reason"]))
                mark = "caught" if expected == got["kind"] else "MISSED"
                took = time.monotonic() - started
                progress(f"{mark}: {defect.name} -> {got['cell']}: {got['kind']} ({took:.0f} s; {got['reason']})")
        out = Path(scratch) / "control"
        cli.conform(
            target,
            key,
            out,
            w.Budget(cli.DEFAULT_BUDGET),
            cli.DEFAULT_TRIES,
            "control",
            inner=Planting(None),
            progress=lambda line: None,
        )
        row = json.loads((out / "report.json").read_text(encoding="utf-8"))["verdicts"]
    own = json.loads((committed / "report.json").read_text(encoding="utf-8"))["verdicts"]
    differs = [
        f"{row[name]['cell']}: {row[name]['kind']} (the committed run: {own[name]['kind']})"
        for name in row
        if name in own and row[name]["kind"] != own[name]["kind"]
    ]
    progress(
        "control (faithful pass-through): "
        + ("the server's own row" if not differs else "differs: " + "; ".join(differs))
    )
    return outcomes, differs


def table(outcomes: list[Outcome]) -> str:
    lines = ["| planted defect | seen in | cell | expected | the kit said |", "| --- | --- | --- | --- | --- |"]
    for o in outcomes:
        lines.append(
            f"| {o.defect} | {o.source} | {o.cell} | {o.expected} | {o.got}{'' if o.caught else ' (MISSED)'} |"
        )
    caught = sum(o.caught for o in outcomes)
    return "\n".join(lines) + f"\n\nScore: {caught} of {len(outcomes)} planted defects give their cell and verdict."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s planted --", description="plant each defect in front of a live server"
    )
    parser.add_argument(
        "targets", nargs="+", help="targets of tests/conform/targets.toml (their committed run is the control's row)"
    )
    args = parser.parse_args(argv)
    known = cli.targets(Path(__file__).with_name("targets.toml"))
    failed = 0
    for name in args.targets:
        data = dict(known[name])
        data["server"] = os.environ.get("HAMR_RECORD_SERVER", "")
        target = run.target_from(data)
        key = os.environ.get(target.key_env) if target.key_env else None
        outcomes, differs = live(target, key, Path("conformance") / data["name"])
        print(f"\n## {data['name']}\n\n{table(outcomes)}")
        failed += sum(not o.caught for o in outcomes) + bool(differs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
