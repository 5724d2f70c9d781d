"""Peak memory (tracemalloc) while a long OpenAI-style stream passes through ``hamr.Client.stream``: with the
default accumulation (``stream.completion`` has the text) and with ``keep_text=False`` (events only). The body is
built before tracing starts and served from memory in 64 KiB reads, so only what hamr (and httpx) allocate
counts. Constant memory means: the peak does not grow with the stream's length."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass

import httpx2

from tests.bench import clients
from tests.bench.streams import Spec, body, split_fixed

BYTES_PER_TEXT_DELTA = 290  # about, for the OpenAI-style chunks of streams.py


@dataclass(frozen=True)
class Peak:
    stream_bytes: int
    text_chars: int
    text_bytes: int  # what the final text string itself occupies
    peak: int


def _spec(megabytes: float) -> Spec:
    return Spec(text_deltas=int(megabytes * 1e6 / BYTES_PER_TEXT_DELTA), tool_calls=1, fragments_per_call=100)


def _measure(chunks: list[bytes], keep_text: bool) -> tuple[int, int, int]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))

    client = clients.make_hamr("openai", "http://bench.invalid", httpx2.MockTransport(handler))
    gc.collect()
    tracemalloc.start()
    try:
        with client.stream(clients.MESSAGES, keep_text=keep_text) as stream:
            count = sum(1 for _ in stream)
        text = stream.completion.text
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        client.close()
    assert count > 0 and stream.completion.tool_calls, "the stream was not decoded"
    return peak, len(text), text.__sizeof__()


def run(sizes_mb: tuple[float, ...]) -> dict[tuple[float, bool], Peak]:
    """{(stream MB, keep_text): Peak}"""
    out: dict[tuple[float, bool], Peak] = {}
    for megabytes in sizes_mb:
        data = body("openai", _spec(megabytes))
        chunks = split_fixed(data, 65536)
        del data
        for keep_text in (True, False):
            peak, chars, text_bytes = _measure(chunks, keep_text)
            out[megabytes, keep_text] = Peak(sum(map(len, chunks)), chars, text_bytes, peak)
    return out
