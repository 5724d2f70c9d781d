"""Deterministic long SSE streams for the benchmarks, one per protocol, plus what a correct decoder must get out.

Constructed, not recorded: the event shapes follow the providers' documented wire formats as seen in the recorded
reference responses (shared/reference/responses/):
- OpenAI-style chunks copy DeepSeek's (``deepseek/02-stream-text.json``, ``deepseek/04-stream-tool-call.json``,
  from crmne/ruby_llm@75b5cd5a): every chunk carries id/object/created/model/system_fingerprint, ``"usage":null``
  until the final chunk, tool calls keyed by ``index`` with id/name first and the arguments in small fragments,
  then ``data: [DONE]``.
- Anthropic-style events copy ``anthropic/02-stream-text.json`` and ``anthropic/05-stream-tool-use.json``
  (crmne/ruby_llm@fb5a49bf): ``event:`` + ``data:`` pairs, message_start with usage, a ping, text_delta and
  input_json_delta fragments, message_delta with stop_reason and usage, message_stop.
- Responses-style events copy OpenAI's ``/v1/responses`` streams recorded in pydantic/pydantic-ai's
  ``tests/models/cassettes/test_openai_responses/test_openai_responses_stream.yaml`` (@4fda3898, interactions 0 and
  1; replayed by ``cassettes/openai/stream*.yaml``): ``event:`` + ``data:`` pairs, response.created and
  response.in_progress carrying the response so far, each output item added, its content streamed
  (``output_text.delta`` with item_id, output_index and content_index; ``function_call_arguments.delta`` with item_id
  and output_index), its ``*.done`` events repeating the whole text or arguments, and response.completed carrying
  every output item again with the usage.

The text is a seeded pseudo-random word sequence with some multi-byte UTF-8, so byte splits land inside
characters as well as inside lines and events.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

WORDS = (
    "the", "stream", "of", "tokens", "arrives", "in", "small", "pieces", "and", "every", "piece", "is", "a",
    "delta", "hamr", "decodes", "café", "naïve", "über", "日本語", "данные", "ελληνικά", "→", "✓", "emoji 🚀",
    "JSON", "with", "\"quotes\"", "back\\slash", "new\nline", "tab\there", "numbers", "42", "3.14",
)  # fmt: skip

MODEL = "bench-model"


@dataclass(frozen=True)
class Expected:
    """What decoding a stream must produce: the text and each tool call's (id, name, arguments)."""

    text: str
    tool_calls: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Spec:
    """How long a stream is: text deltas, then tool calls made of argument fragments."""

    text_deltas: int = 32_000
    tool_calls: int = 8
    fragments_per_call: int = 1_000
    seed: int = 7

    @property
    def chunks(self) -> int:
        return self.text_deltas + self.tool_calls * (self.fragments_per_call + 1)


def _tokens(rng: random.Random, n: int) -> list[str]:
    return [(" " if i else "") + rng.choice(WORDS) for i in range(n)]


def _fragments(rng: random.Random, n: int, call: int) -> list[str]:
    """Argument JSON of one tool call, cut into ``n`` fragments of 1..6 characters (as streamed by DeepSeek)."""
    items: list[str] = []
    while len(json.dumps({"call": call, "items": items})) < n * 4:
        items.append(rng.choice(WORDS))
    text = json.dumps({"call": call, "items": items}, ensure_ascii=False)
    cuts = sorted(rng.sample(range(1, len(text)), n - 1))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def _plan(spec: Spec) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    rng = random.Random(spec.seed)
    tokens = _tokens(rng, spec.text_deltas)
    calls = [
        (f"call_{i:02d}_{rng.getrandbits(64):016x}", f"tool_{i}", _fragments(rng, spec.fragments_per_call, i))
        for i in range(spec.tool_calls)
    ]
    return tokens, calls


def expected(spec: Spec) -> Expected:
    tokens, calls = _plan(spec)
    return Expected("".join(tokens), tuple((cid, name, "".join(frags)) for cid, name, frags in calls))


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def openai_events(spec: Spec) -> Iterator[bytes]:
    """One SSE event (``data: ...\\n\\n``) per item, as bytes."""
    tokens, calls = _plan(spec)
    head = {
        "id": "e626f326-1f18-4dca-aad2-0f60d3d57075",
        "object": "chat.completion.chunk",
        "created": 1780944343,
        "model": MODEL,
        "system_fingerprint": "fp_8b330d02d0_prod0820_fp8_kvcache_20260402",
    }

    def chunk(delta: dict[str, object], finish: str | None = None, usage: object = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return f"data: {_dumps({**head, 'choices': [choice], 'usage': usage})}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    for token in tokens:
        yield chunk({"content": token})
    for index, (cid, name, frags) in enumerate(calls):
        call = {"index": index, "id": cid, "type": "function", "function": {"name": name, "arguments": ""}}
        yield chunk({"tool_calls": [call]})
        for frag in frags:
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]})
    usage = {"prompt_tokens": 25, "completion_tokens": spec.chunks, "total_tokens": 25 + spec.chunks}
    yield chunk({"content": ""}, "tool_calls" if calls else "stop", usage)
    yield b"data: [DONE]\n\n"


def anthropic_events(spec: Spec) -> Iterator[bytes]:
    """One SSE event (``event: ...\\ndata: ...\\n\\n``) per item, as bytes."""
    tokens, calls = _plan(spec)

    def event(name: str, data: dict[str, object]) -> bytes:
        return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n".encode()

    usage = {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}
    message = {
        "model": MODEL,
        "id": "msg_011CeCGmCzjcUtmtEmMdEiM2",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    yield event("message_start", {"message": message})
    yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    yield b'event: ping\ndata: {"type": "ping"}\n\n'
    for token in tokens:
        yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}})
    yield event("content_block_stop", {"index": 0})
    for i, (cid, name, frags) in enumerate(calls, start=1):
        block = {"type": "tool_use", "id": cid, "name": name, "input": {}}
        yield event("content_block_start", {"index": i, "content_block": block})
        for frag in frags:
            yield event(
                "content_block_delta", {"index": i, "delta": {"type": "input_json_delta", "partial_json": frag}}
            )
        yield event("content_block_stop", {"index": i})
    stop = "tool_use" if calls else "end_turn"
    yield event(
        "message_delta",
        {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {**usage, "output_tokens": spec.chunks}},
    )
    yield event("message_stop", {})


def responses_events(spec: Spec) -> Iterator[bytes]:
    """One SSE event (``event: ...\ndata: ...\n\n``) per item, as bytes."""
    tokens, calls = _plan(spec)

    def event(name: str, data: dict[str, object]) -> bytes:
        return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n".encode()

    response: dict[str, object] = {
        "id": "resp_67e554a21aa88191b65876ac5e5bbe0406c52f0e511c76ed",
        "object": "response",
        "created_at": 1743082658,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "model": MODEL,
        "output": [],
        "parallel_tool_calls": True,
        "store": False,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "usage": None,
    }
    yield event("response.created", {"response": response})
    yield event("response.in_progress", {"response": response})
    message_id = "msg_67e554a28bec8191b56d3e2331eff88006c52f0e511c76ed"
    message = {"type": "message", "id": message_id, "status": "in_progress", "role": "assistant", "content": []}
    yield event("response.output_item.added", {"output_index": 0, "item": message})
    where = {"item_id": message_id, "output_index": 0, "content_index": 0}
    yield event(
        "response.content_part.added", {**where, "part": {"type": "output_text", "text": "", "annotations": []}}
    )
    for token in tokens:
        yield event("response.output_text.delta", {**where, "delta": token})
    text = "".join(tokens)
    part = {"type": "output_text", "text": text, "annotations": []}
    yield event("response.output_text.done", {**where, "text": text})
    yield event("response.content_part.done", {**where, "part": part})
    items: list[dict[str, object]] = [{**message, "status": "completed", "content": [part]}]
    yield event("response.output_item.done", {"output_index": 0, "item": items[0]})
    for index, (cid, name, frags) in enumerate(calls, start=1):
        item = {"type": "function_call", "id": f"fc_{cid}", "call_id": cid, "name": name, "arguments": "",
                "status": "in_progress"}  # fmt: skip
        yield event("response.output_item.added", {"output_index": index, "item": item})
        for frag in frags:
            yield event("response.function_call_arguments.delta", {"item_id": item["id"], "output_index": index,
                                                                   "delta": frag})  # fmt: skip
        arguments = "".join(frags)
        yield event("response.function_call_arguments.done", {"item_id": item["id"], "output_index": index,
                                                              "arguments": arguments})  # fmt: skip
        items.append({**item, "arguments": arguments, "status": "completed"})
        yield event("response.output_item.done", {"output_index": index, "item": items[-1]})
    usage = {"input_tokens": 25, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": spec.chunks,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 25 + spec.chunks}  # fmt: skip
    yield event(
        "response.completed", {"response": {**response, "status": "completed", "output": items, "usage": usage}}
    )


#: the streams the loopback server serves (end to end, concurrency)
EVENTS = {"openai": openai_events, "anthropic": anthropic_events}
#: the streams decoded from memory (section 2): the served ones and the Responses API's
DECODED = {**EVENTS, "responses": responses_events}


def body(protocol: str, spec: Spec) -> bytes:
    return b"".join(EVENTS[protocol](spec))


def split_fixed(data: bytes, size: int) -> list[bytes]:
    """The body in reads of ``size`` bytes, cut wherever that falls (inside lines, events, UTF-8 characters)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


#: events before the first text delta: OpenAI's role chunk; Anthropic's message_start, content_block_start, ping
TEXT_START = {"openai": 1, "anthropic": 3}


def completion(protocol: str, spec: Spec) -> bytes:
    """The same answer as one non-streaming JSON body (``stream`` false): the text and tool calls of ``expected``,
    in the shapes of the recorded non-streaming responses (OpenAI ``chat.completion``, Anthropic ``message``)."""
    want = expected(spec)
    if protocol == "openai":
        calls = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in want.tool_calls
        ]
        message: dict[str, object] = {"role": "assistant", "content": want.text}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if calls else "stop"}
        usage = {"prompt_tokens": 25, "completion_tokens": spec.chunks, "total_tokens": 25 + spec.chunks}
        return _dumps(
            {
                "id": "e626f326-1f18-4dca-aad2-0f60d3d57075",
                "object": "chat.completion",
                "created": 1780944343,
                "model": MODEL,
                "choices": [choice],
                "usage": usage,
                "system_fingerprint": "fp_8b330d02d0_prod0820_fp8_kvcache_20260402",
            }
        ).encode()
    content: list[dict[str, object]] = [{"type": "text", "text": want.text}]
    content += [{"type": "tool_use", "id": cid, "name": name, "input": json.loads(args)} for cid, name, args in
                want.tool_calls]  # fmt: skip
    return _dumps(
        {
            "model": MODEL,
            "id": "msg_011CeCGmCzjcUtmtEmMdEiM2",
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": "tool_use" if want.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": spec.chunks},
        }
    ).encode()
