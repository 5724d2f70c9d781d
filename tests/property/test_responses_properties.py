"""The openai-responses stream decoder: a generated Response (reasoning, message and function-call items), written
as a stream in any form the spec and real servers allow, decodes to that Response. The forms: ``event:`` lines or
none (OpenRouter sends none), a comment and ``data: [DONE]`` or not, each part streamed as deltas cut anywhere or
sent only whole in its ``*.done`` event, ``*.done`` events repeating what the deltas brought or not, a reasoning
item closed after the items that follow it (OpenRouter does), a call whose arguments are "" until
``response.completed`` brings them, the final item without its id (OpenRouter with Anthropic models does), and the
bytes cut into reads at any point, UTF-8 characters included."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hamr import _responses
from hamr._stream import StreamDecoder
from hamr._types import Completion, StreamEvent

# part texts: anything but line breaks (reasoning parts are told apart by the blank line hamr puts between them)
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), min_size=1, max_size=12)


@dataclass(frozen=True)
class Item:
    kind: str  # "reasoning", "message" or "function_call"
    parts: tuple[str, ...]  # reasoning summary parts, message text parts, or the call's arguments

    def done(self, n: int) -> dict[str, Any]:
        """The item as ``output_item.done`` and the final response give it."""
        if self.kind == "reasoning":
            summary = [{"type": "summary_text", "text": t} for t in self.parts]
            return {"type": "reasoning", "id": f"rs_{n}", "summary": summary, "encrypted_content": f"enc{n}"}
        if self.kind == "message":
            content = [{"type": "output_text", "text": t, "annotations": []} for t in self.parts]
            return {"type": "message", "id": f"msg_{n}", "role": "assistant", "status": "completed", "content": content}
        return {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": f"f{n}",
                "arguments": self.parts[0], "status": "completed"}  # fmt: skip

    def added(self, n: int) -> dict[str, Any]:
        empty = {"reasoning": {"summary": []}, "message": {"content": []}, "function_call": {"arguments": ""}}
        return {**self.done(n), **empty[self.kind], "status": "in_progress"}


items = st.lists(
    st.one_of(
        st.builds(Item, st.just("reasoning"), st.lists(TEXT, min_size=1, max_size=3).map(tuple)),
        st.builds(Item, st.just("message"), st.lists(TEXT, min_size=1, max_size=2).map(tuple)),
        st.builds(Item, st.just("function_call"), st.sampled_from(['{"a": 1}', '{"city": "Zürich"}', "{}"]).map(
            lambda args: (args,)
        )),
    ),
    min_size=1,
    max_size=4,
)  # fmt: skip


def _cut(text: str, data: st.DataObject) -> list[str]:
    """``text`` as the deltas of one part, cut anywhere (at least one character each)."""
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(len(text) - 1, 1)), max_size=3))))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if text[a:b]]


def render(response: list[Item], data: st.DataObject) -> tuple[bytes, list[dict[str, Any]]]:
    """The stream of ``response``, in forms drawn from ``data``; also the final output items."""
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": "resp_1", "model": "m"}}]
    held: list[dict[str, Any]] = []  # a reasoning item's closing events, sent after the items that follow it
    output = [item.done(n) for n, item in enumerate(response)]
    for n, item in enumerate(response):
        events += held if item.kind != "reasoning" else []
        held = held if item.kind == "reasoning" else []
        events.append({"type": "response.output_item.added", "output_index": n, "item": item.added(n)})
        late = item.kind == "reasoning" and data.draw(st.booleans(), label="close it later")
        closing: list[dict[str, Any]] = []  # a late reasoning item's done events, held back
        if item.kind == "function_call" and data.draw(st.booleans(), label="arguments only at the end"):
            where = {"output_index": n, "item_id": output[n]["id"]}
            if data.draw(st.booleans(), label="an empty done event"):
                events.append({"type": "response.function_call_arguments.done", "arguments": "", **where})
            events.append(
                {"type": "response.output_item.done", "output_index": n, "item": {**output[n], "arguments": ""}}
            )
            if data.draw(st.booleans(), label="the final item without its id"):
                output[n] = {k: v for k, v in output[n].items() if k != "id"}
            continue
        for k, text in enumerate(item.parts):
            where = {"output_index": n, "item_id": output[n]["id"]}
            if item.kind == "reasoning":
                delta, done, where = "reasoning_summary_text", {"text": text}, {**where, "summary_index": k}
            elif item.kind == "message":
                delta, done, where = "output_text", {"text": text}, {**where, "content_index": k}
            else:
                delta, done = "function_call_arguments", {"arguments": text}
            done_event = {"type": f"response.{delta}.done", **done, **where}
            if data.draw(st.booleans(), label="stream deltas"):
                events += [{"type": f"response.{delta}.delta", "delta": d, **where} for d in _cut(text, data)]
                if data.draw(st.booleans(), label="repeat in a done event"):
                    (closing if late else events).append(done_event)
            else:  # sent only whole, in its done event
                (closing if late else events).append(done_event)
        closing.append({"type": "response.output_item.done", "output_index": n, "item": output[n]})
        if late:
            held += closing
        else:
            events += closing
    events += held
    usage = {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}}
    final = {"id": "resp_1", "model": "m", "status": "completed", "output": output, "usage": usage}
    events.append({"type": "response.completed", "response": final})
    named = data.draw(st.booleans(), label="event lines")
    lines = [": PROCESSING\n\n"] if data.draw(st.booleans(), label="comment") else []
    for n, event in enumerate(events):
        event = {**event, "sequence_number": n}
        lines.append((f"event: {event['type']}\n" if named else "") + f"data: {json.dumps(event)}\n\n")
    if data.draw(st.booleans(), label="[DONE]"):
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode(), output


def decode(reads: list[bytes]) -> tuple[list[StreamEvent], Completion]:
    decoder = StreamDecoder(_responses.StreamParser("p"))
    events = [e for read in reads for e in decoder.iter_feed(read)] + list(decoder.iter_close())
    assert decoder.completion is not None
    return events, decoder.completion


def joined(events: list[StreamEvent], kind: str) -> str:
    return "".join(e.text for e in events if e.type == kind)


@given(items, st.data())
def test_a_response_streamed_in_any_allowed_form_decodes_to_that_response(
    response: list[Item], data: st.DataObject
) -> None:
    body, output = render(response, data)
    events, completion = decode([body])
    texts = [t for item in response if item.kind == "message" for t in item.parts]
    reasoning = [t for item in response if item.kind == "reasoning" for t in item.parts]
    calls = [(f"call_{n}", f"f{n}", item.parts[0]) for n, item in enumerate(response) if item.kind == "function_call"]
    assert joined(events, "text") == completion.text == "".join(texts)
    assert joined(events, "reasoning") == completion.reasoning
    # a reasoning item closed late may bring its parts after others: the parts, each once, set apart
    assert sorted(completion.reasoning.split("\n\n")) == sorted(reasoning) if reasoning else not completion.reasoning
    assert [(c.id, c.name, c.raw_arguments) for c in completion.tool_calls] == calls
    assert completion.finish_reason == ("tool_calls" if calls else "stop")
    assert completion.content_blocks == tuple(output)
    assert completion.usage is not None and (completion.usage.output_tokens, completion.usage.reasoning_tokens) == (
        7,
        2,
    )
    assert events[-1].type == "done" and events[-1].completion == completion


@given(items, st.data())
def test_any_split_of_the_bytes_gives_what_one_read_gives(response: list[Item], data: st.DataObject) -> None:
    body, _ = render(response, data)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(body)), max_size=8), label="cuts")))
    reads = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    whole_events, whole = decode([body])
    split_events, split = decode(reads)
    assert split == whole
    for kind in ("text", "reasoning"):
        assert joined(split_events, kind) == joined(whole_events, kind)
    fragments = [(e.index, e.id, e.name) for e in split_events if e.type == "tool_call" and (e.id or e.name)]
    assert fragments == [(e.index, e.id, e.name) for e in whole_events if e.type == "tool_call" and (e.id or e.name)]
