"""The streaming hot path's shortcuts give exactly what the general code gives: one-event reads decoded without the
SSE line loop, data lines parsed by json's scanner directly, many-event reads parsed into one list (a failure
still arrives after the events before it), and unencoded bodies read raw (compressed ones still decoded). Their
speed is measured by ``nox -s bench``, never asserted here."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

import hamr
from hamr._config import parse_config
from hamr._openai import StreamParser
from hamr._sse import SSEDecodeError, SSEDecoder, SSEEvent
from hamr._stream import StreamDecoder, stream_json

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
    b"data: a\rdata: b\n\n",  # a lone CR ends a line too
    b"event: e\rdata: cr after the name\n\n",
    b"data: a\nb\n\n",  # "b" is a field without a value: ignored, the data is "a"
    b"data: \n\n",
    b"event: a\rb\ndata: cr inside the name line\n\n",
    b"data: first half\n",  # a data line alone: the event goes on in the next read
    b"data: second half\n\n",
    b"data: a line cut ",  # a line cut before its end: the next read goes on with it
    b"data: in two\n\n",
]


def decode(reads: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [ev for read in reads for ev in decoder.feed(read)]
    return events + decoder.close()


def decode_hot_path(reads: list[bytes]) -> list[tuple[str, str]]:
    """As StreamDecoder reads: the one-event shortcut first, the line loop for what it does not take."""
    decoder = SSEDecoder()
    events: list[tuple[str, str]] = []
    for read in reads:
        whole = decoder.whole(read)
        events += [whole[:2]] if whole is not None else [(ev.event, ev.data) for ev in decoder.feed(read)]
    return events + [(ev.event, ev.data) for ev in decoder.close()]


def test_one_event_reads_decode_exactly_as_the_whole_stream_does() -> None:
    whole = decode([b"".join(READS)])
    assert decode(READS) == whole
    hot = decode_hot_path(READS)
    assert hot == [(ev.event, ev.data) for ev in whole]
    assert whole[:3] == [
        SSEEvent("message", '{"a": 1}'),
        SSEEvent("content_block_delta", '{"b": 2}'),
        SSEEvent("ping", '{"c": 3}'),
    ]
    assert SSEEvent("message", "with id", "7") in whole and SSEEvent("message", "empty name", "7") in whole
    assert {("e", "cr after the name"), ("message", "a\nb"), ("a", "cr inside the name line")} <= set(hot)
    assert ("message", "first half\nsecond half") in hot and ("message", "a line cut data: in two") in hot


def test_a_character_cut_before_a_whole_event_read_is_still_an_error() -> None:
    decoder = SSEDecoder()
    assert decoder.whole(b"\xc3") is None and decoder.feed(b"\xc3") == []
    assert decoder.whole(b"data: x\n\n") is None
    with pytest.raises(SSEDecodeError):
        decoder.feed(b"data: x\n\n")


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


def test_a_failure_inside_a_many_event_read_comes_after_the_events_before_it() -> None:
    read = b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' * 2 + b"data: {not json\n\n"
    decoder = StreamDecoder(StreamParser("custom"))
    handed: list[str] = []
    with pytest.raises(hamr.StreamError) as failure:
        for event in decoder.iter_feed(read):
            handed.append(event.text)
    assert handed == ["a", "a"]
    assert failure.value.partial is not None and failure.value.partial.text == "aa"


STREAM_READS = [
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"caf"}}]}\n\n',
    'data: {"choices":[{"index":0,"delta":{"content":"é ✓"}}]}\n\n'.encode(),
    b'data: {"choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


def _streamed_body(kind: str, encoding: str | None) -> httpx2.Response:
    """A 200 whose body arrives as it would from a server (not loaded up front), plain or gzip-compressed."""
    body = b"".join(STREAM_READS)
    reads = STREAM_READS if encoding is None else [gzip.compress(body)[i : i + 7] for i in range(0, 200, 7)]
    headers = {"content-type": "text/event-stream", **({"content-encoding": encoding} if encoding else {})}

    def sync_reads() -> Iterator[bytes]:
        yield from reads

    async def async_reads() -> AsyncIterator[bytes]:
        for read in reads:
            yield read

    return httpx2.Response(200, headers=headers, content=sync_reads() if kind == "sync" else async_reads())


@pytest.mark.parametrize("encoding", [None, "gzip"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_streamed_body_is_read_raw_or_through_its_content_encoding(kind: str, encoding: str | None) -> None:
    # an unencoded body takes the raw reads (no httpx2 decoder layer); a gzip one must still be decompressed
    config = parse_config({"active": {"provider": "relay", "model": "m"}})
    transport = httpx2.MockTransport(lambda request: _streamed_body(kind, encoding))
    texts: list[str] = []
    completion: hamr.Completion
    if kind == "sync":
        client = hamr.Client(config, http_client=httpx2.Client(transport=transport))
        with client, client.stream("hi") as stream:
            texts += [event.text for event in stream if event.type == "text"]
        completion = stream.completion
    else:
        aclient = hamr.AsyncClient(config, http_client=httpx2.AsyncClient(transport=transport))
        async with aclient, await aclient.stream("hi") as astream:
            texts += [event.text async for event in astream if event.type == "text"]
        completion = astream.completion
    assert texts == ["caf", "é ✓", "!"]
    assert completion.text == "café ✓!" and completion.finish_reason == "stop"


def test_only_the_stream_s_first_character_can_be_a_dropped_bom() -> None:
    bom = "\ufeff".encode()
    assert decode_hot_path([bom + b"data: a\n\n", b"data: b\n\n"]) == [("message", "a"), ("message", "b")]
    # later, U+FEFF is an ordinary character: here it makes the line's field name "\ufeffdata", which is ignored
    assert decode_hot_path([b"data: a\n\n", bom + b"data: b\n\n"]) == [("message", "a")]
