"""One client, many callers: a Client shared by 16 threads and an AsyncClient shared by 64 tasks, streams and
chats interleaved. Every caller gets its own answer (no cross-talk), and ``client.spend`` is the exact sum of the
costs of every answer. Bodies are constructed (faultkit.py cites their shapes)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import httpx2
import pytest

import hamr
from hamr._pricing import Price, Spend
from hamr._types import Usage
from tests.faults.faultkit import KEY, SSE_TYPE, config, sse

PRICE = {"input_price_per_1m_tokens": 3.7, "output_price_per_1m_tokens": 11.3}
PIECES = 6


def caller_of(request: httpx2.Request) -> int:
    body = json.loads(request.content)
    return int(body["messages"][-1]["content"].split("-")[1])


def answer(n: int) -> list[str]:
    return [f"caller-{n}:{k} " for k in range(PIECES)]


def tokens(n: int) -> tuple[int, int]:
    return 10 + n, 3 + 2 * n


class Paced(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """Stream pieces that yield to other threads and tasks between each other, so that callers interleave."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            await asyncio.sleep(0)
            yield piece


def handler(protocol: str) -> httpx2.MockTransport:
    def respond(request: httpx2.Request) -> httpx2.Response:
        n = caller_of(request)
        prompt, output = tokens(n)
        stream = json.loads(request.content).get("stream", False)
        if protocol == "openai":
            pieces = openai_stream(n, prompt, output) if stream else [openai_chat(n, prompt, output)]
        else:
            pieces = anthropic_stream(n, prompt, output) if stream else [anthropic_chat(n, prompt, output)]
        kind = SSE_TYPE if stream else "application/json"
        return httpx2.Response(200, headers={"content-type": kind}, stream=Paced(pieces), request=request)

    return httpx2.MockTransport(respond)


def openai_chat(n: int, prompt: int, output: int) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": "".join(answer(n))}, "finish_reason": "stop"}
    usage = {"prompt_tokens": prompt, "completion_tokens": output}
    return json.dumps({"id": f"c{n}", "model": "m", "choices": [choice], "usage": usage}).encode()


def openai_stream(n: int, prompt: int, output: int) -> list[bytes]:
    head = {"id": f"c{n}", "object": "chat.completion.chunk", "model": "m"}
    deltas = [sse({**head, "choices": [{"index": 0, "delta": {"content": p}}]}) for p in answer(n)]
    end = sse({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = sse({**head, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": output}})
    return [*deltas, end, usage, sse("[DONE]")]


def anthropic_chat(n: int, prompt: int, output: int) -> bytes:
    return json.dumps(
        {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [{"type": "text", "text": "".join(answer(n))}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": prompt, "output_tokens": output},
        }
    ).encode()


def anthropic_stream(n: int, prompt: int, output: int) -> list[bytes]:
    message = {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": "m", "content": []}
    start = {"type": "message_start", "message": {**message, "usage": {"input_tokens": prompt, "output_tokens": 1}}}
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    delta = {"type": "content_block_delta", "index": 0}
    deltas = [sse({**delta, "delta": {"type": "text_delta", "text": p}}, "content_block_delta") for p in answer(n)]
    stop = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": output}}
    return [
        sse(start, "message_start"),
        sse(block, "content_block_start"),
        *deltas,
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse(stop, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]


def expected_spend(callers: range) -> Decimal:
    price = Price(Decimal("3.7"), Decimal("11.3"))
    return sum((price.cost(Usage(*tokens(n))) for n in callers), Decimal(0))


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so that an unguarded read-modify-write loses updates."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_a_client_shared_by_16_threads_keeps_each_answer_apart_and_counts_spend_exactly(
    protocol: str, busy_switching: None
) -> None:
    per_thread, threads = 12, 16
    callers = range(per_thread * threads)
    http = httpx2.Client(transport=handler(protocol))
    client = hamr.Client(config(protocol, **PRICE), http_client=http, env={"FAULT_KEY": KEY})
    got: dict[int, tuple[str, str]] = {}
    failures: list[BaseException] = []

    def work(first: int) -> None:
        try:
            for n in range(first, first + per_thread):
                if n % 2:
                    with client.stream(f"caller-{n}") as stream:
                        delivered = "".join(e.text for e in stream)
                    got[n] = (delivered, stream.completion.text)
                else:
                    text = client.chat(f"caller-{n}").text
                    got[n] = (text, text)
        except BaseException as exc:  # reported below, in the main thread
            failures.append(exc)

    pool = [threading.Thread(target=work, args=(t * per_thread,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert failures == []
    assert got == {n: ("".join(answer(n)),) * 2 for n in callers}, "every caller got its own answer"
    assert client.spend.requests == len(callers)
    assert client.spend.usd == expected_spend(callers)


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_an_async_client_shared_by_64_tasks_keeps_each_answer_apart_and_counts_spend_exactly(protocol: str) -> None:
    per_task, tasks = 4, 64
    callers = range(per_task * tasks)
    got: dict[int, tuple[str, str]] = {}

    async def main() -> hamr.Spend:
        http = httpx2.AsyncClient(transport=handler(protocol))
        async with hamr.AsyncClient(config(protocol, **PRICE), http_client=http, env={"FAULT_KEY": KEY}) as client:

            async def work(first: int) -> None:
                for n in range(first, first + per_task):
                    if n % 2:
                        async with client.stream(f"caller-{n}") as stream:
                            delivered = "".join([e.text async for e in stream])
                        got[n] = (delivered, stream.completion.text)
                    else:
                        text = (await client.chat(f"caller-{n}")).text
                        got[n] = (text, text)

            await asyncio.gather(*(work(t * per_task) for t in range(tasks)))
            return client.spend

    spend = asyncio.run(main())
    assert got == {n: ("".join(answer(n)),) * 2 for n in callers}, "every caller got its own answer"
    assert spend.requests == len(callers)
    assert spend.usd == expected_spend(callers)


def test_spend_added_from_16_threads_at_once_loses_nothing(busy_switching: None) -> None:
    spend, price = Spend(), Price(Decimal("0.3"), Decimal("1.1"))
    adds, threads = 3000, 16
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        for _ in range(adds):
            spend.add(Usage(7, 5), price)
            spend.add(None, price)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert spend.requests == 2 * adds * threads
    assert spend.unpriced == spend.without_usage == adds * threads
    assert spend.usd == price.cost(Usage(7, 5)) * adds * threads
