"""The streaming hot path's shortcuts give exactly what the general code gives: one-event reads decoded without the
SSE line loop, data lines parsed by json's scanner directly, text events built without the dataclass
``__init__``, and many-event reads parsed into one list (a failure still arrives after the events before it).
Their speed is measured by ``nox -s bench``, never asserted here."""

from __future__ import annotations

import dataclasses
import json

import pytest

import hamr
from hamr._openai import StreamParser
from hamr._sse import SSEDecoder, SSEEvent
from hamr._stream import StreamDecoder, delta_event, stream_json

# reads as a live server sends them, one per write: the shortcut shapes, and near misses that must not take it
READS = [
    b'data: {"a": 1}\n\n',
    b'event: content_block_delta\ndata: {"b": 2}\n\n',
    b"event: ping\n",  # an event line alone: the data follows in the next read
    b'data: {"c": 3}\n\n',
    b"data:no-space\n\n",
    b"data: two\ndata: lines\n\n",
    b"id: 7\ndata: with id\n\n",
    b": comment\n\n",
    b"event: \ndata: empty name\n\n",
    b"data: crlf\r\n\r\n",
    b'data: {"split": "',
    b'here"}\n\n',
    b"event: x\n\n",  # an event without data dispatches nothing
    "data: ünïcödé\n\n".encode(),
]


def decode(reads: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [ev for read in reads for ev in decoder.feed(read)]
    return events + decoder.close()


def test_one_event_reads_decode_exactly_as_the_whole_stream_does() -> None:
    whole = decode([b"".join(READS)])
    assert decode(READS) == whole
    assert whole[:3] == [
        SSEEvent("message", '{"a": 1}'),
        SSEEvent("content_block_delta", '{"b": 2}'),
        SSEEvent("ping", '{"c": 3}'),
    ]
    assert SSEEvent("message", "with id", "7") in whole and SSEEvent("message", "empty name", "7") in whole


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, null, true]}', '  {"lead": 1}', '{"trail": 1}  ', "42", '"s"', "NaN", '{"a": "\\u00e9"}'],
)
def test_stream_json_returns_what_json_loads_returns(text: str) -> None:
    # compared as JSON text, so NaN (never equal to itself) is compared too
    assert json.dumps(stream_json(text)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1} {"b": 2}', "[DONE]", "{'single': 1}"])
def test_stream_json_rejects_what_json_loads_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        stream_json(text)


def test_fast_built_delta_events_equal_normally_built_ones_in_every_way() -> None:
    fast, plain = delta_event("reasoning", "x"), hamr.StreamEvent("reasoning", text="x")
    assert (fast, hash(fast), repr(fast), vars(fast)) == (plain, hash(plain), repr(plain), vars(plain))
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "y"  # type: ignore[misc]


def test_a_failure_inside_a_many_event_read_comes_after_the_events_before_it() -> None:
    read = b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' * 2 + b"data: {not json\n\n"
    decoder = StreamDecoder(StreamParser("custom"))
    handed: list[str] = []
    with pytest.raises(hamr.StreamError) as failure:
        for event in decoder.iter_feed(read):
            handed.append(event.text)
    assert handed == ["a", "a"]
    assert failure.value.partial is not None and failure.value.partial.text == "aa"
