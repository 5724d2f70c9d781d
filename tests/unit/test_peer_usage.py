"""Issue 8.1: usage is read from whichever chunk carries it, never counted twice, and the prompt is split into
uncached input, cache reads and cache writes, each priced at its own configured price."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hamr import Usage, _anthropic, _openai
from tests.unit.peer_support import DONE, MODES, Server, call, chunk, config, decode, json_response, of_type, sse
from tests.unit.peer_wire import (
    ANTHROPIC_MESSAGE_BODY,
    DEEPSEEK_USAGE_ON_LAST_CONTENT_CHUNK,
    GROQ_USAGE_IN_X_GROQ,
    MISTRAL_WHOLE_CALL_WITH_FINISH_AND_USAGE,
    OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK,
    OPENROUTER_USAGE_ON_REPEATED_FINISH,
)

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "input_tokens", "output_tokens"),
    [
        pytest.param(DEEPSEEK_USAGE_ON_LAST_CONTENT_CHUNK, 11, 8, id="deepseek-last-content-chunk"),
        pytest.param(OPENROUTER_USAGE_ON_REPEATED_FINISH, 15, 9, id="openrouter-repeated-finish-chunk"),
        pytest.param(OLLAMA_USAGE_IN_EMPTY_CHOICES_CHUNK, 195, 140, id="ollama-empty-choices-after-finish"),
        pytest.param(GROQ_USAGE_IN_X_GROQ, 18, 73, id="groq-x_groq-usage"),
        pytest.param(MISTRAL_WHOLE_CALL_WITH_FINISH_AND_USAGE, 159, 28, id="mistral-finish-and-usage-in-one-chunk"),
    ],
)
def test_stream_usage_is_read_from_whichever_chunk_carries_it(
    body: bytes, input_tokens: int, output_tokens: int
) -> None:
    # shapes: recorded streams, see peer_wire.py for each source
    events, completion = decode(_openai, body)
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (input_tokens, output_tokens)
    assert len(of_type(events, "usage")) == 1


def test_usage_repeated_on_two_chunks_is_reported_once() -> None:
    # constructed from the documented OpenAI chunk shape: a server that puts the same usage on the finish chunk and
    # again on a trailing "choices": [] chunk (the include_usage position)
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    body = chunk({"content": "hi"}) + chunk({}, "stop", usage=usage) + chunk(None, choices=[], usage=usage) + DONE
    events, completion = decode(_openai, body)
    assert completion.usage == Usage(input_tokens=10, output_tokens=5)
    assert len(of_type(events, "usage")) == 1


def test_a_later_usage_report_replaces_an_earlier_one_never_adds_to_it() -> None:
    # constructed: a relay that reports running totals on several chunks; the last report is the total
    body = (
        chunk({"content": "a"}, usage={"prompt_tokens": 10, "completion_tokens": 1})
        + chunk({"content": "b"}, usage={"prompt_tokens": 10, "completion_tokens": 2})
        + chunk({}, "stop", usage={"prompt_tokens": 10, "completion_tokens": 3})
        + DONE
    )
    _, completion = decode(_openai, body)
    assert completion.usage == Usage(input_tokens=10, output_tokens=3)


def test_usage_null_on_every_chunk_and_no_usage_at_all_leave_usage_unknown() -> None:
    # constructed from deepseek/02's shape ("usage": null on chunks) without the final usage, as servers that
    # ignore stream_options send it
    body = chunk({"content": "hi"}, usage=None) + chunk({}, "stop", usage=None) + DONE
    _, completion = decode(_openai, body)
    assert completion.usage is None


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_repeating_its_usage_is_billed_once(mode: str) -> None:
    # recorded: openrouter/02 sends finish_reason twice, usage (cost 0.00006) on the second
    server = Server(sse(OPENROUTER_USAGE_ON_REPEATED_FINISH))
    run = call(mode, server, {"messages": USER, "stream": True}, provider="openrouter")
    assert run.spend is not None and run.spend.usd == Decimal("0.00006") and run.spend.requests == 1


# --- cache reads and writes -----------------------------------------------------------------------------------------


def test_openai_cached_tokens_are_a_part_of_the_prompt() -> None:
    # recorded: mistral/04 reports prompt_tokens 159 with prompt_tokens_details.cached_tokens 128
    _, completion = decode(_openai, MISTRAL_WHOLE_CALL_WITH_FINISH_AND_USAGE)
    usage = completion.usage
    assert usage is not None
    assert (usage.input_tokens, usage.cache_read_tokens, usage.uncached_input_tokens) == (159, 128, 31)


def test_deepseek_prompt_cache_hit_tokens_are_cache_reads() -> None:
    # constructed from deepseek/01's usage shape (DeepSeek documents prompt_cache_hit_tokens + prompt_cache_miss_tokens
    # = prompt_tokens); the recording itself had 0 hits, so the counts here are chosen
    usage = _openai.parse_usage(
        {
            "prompt_tokens": 1200,
            "completion_tokens": 30,
            "prompt_tokens_details": {"cached_tokens": 0},
            "prompt_cache_hit_tokens": 1024,
            "prompt_cache_miss_tokens": 176,
        }
    )
    assert usage == Usage(input_tokens=1200, output_tokens=30, cache_read_tokens=1024)
    assert usage.uncached_input_tokens == 176


def test_openrouter_cache_write_tokens_are_cache_writes() -> None:
    # constructed from openrouter/05's usage shape (prompt_tokens_details.cached_tokens / cache_write_tokens)
    usage = _openai.parse_usage(
        {
            "prompt_tokens": 5000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 3000},
        }
    )
    assert usage == Usage(input_tokens=5000, output_tokens=10, cache_read_tokens=1000, cache_write_tokens=3000)
    assert usage.uncached_input_tokens == 1000


def test_garbled_usage_counts_are_zero_not_a_crash() -> None:
    # constructed: a relay sending strings and nulls where counts belong
    usage = _openai.parse_usage({"prompt_tokens": "many", "completion_tokens": None, "prompt_tokens_details": []})
    assert usage == Usage()


def test_anthropic_input_is_the_sum_of_uncached_cache_read_and_cache_creation() -> None:
    # constructed from anthropic/01's usage shape with cache counts filled in (Anthropic documents input_tokens as
    # the uncached part only)
    body = ANTHROPIC_MESSAGE_BODY.replace(b'"cache_creation_input_tokens":0', b'"cache_creation_input_tokens":4000')
    body = body.replace(b'"cache_read_input_tokens":0', b'"cache_read_input_tokens":2000')
    usage = _anthropic.parse_chat("anthropic", body).usage
    assert usage == Usage(
        input_tokens=16 + 2000 + 4000,
        output_tokens=13,
        cache_read_tokens=2000,
        cache_write_tokens=4000,
        inference_geo="not_available",
    )
    assert usage.uncached_input_tokens == 16


def test_anthropic_stream_usage_merges_message_start_and_message_delta() -> None:
    # constructed from the documented Messages streaming events: cache counts arrive in message_start, the final
    # output count in message_delta
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude",
                "content": [],
                "usage": {
                    "input_tokens": 50,
                    "cache_read_input_tokens": 900,
                    "cache_creation_input_tokens": 100,
                    "output_tokens": 1,
                },
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}},
        {"type": "message_stop"},
    ]
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    _, completion = decode(_anthropic, body)
    assert completion.usage == Usage(input_tokens=1050, output_tokens=42, cache_read_tokens=900, cache_write_tokens=100)


# --- pricing the parts separately -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_configured_cache_read_price_applies_to_deepseek_cache_hits(mode: str) -> None:
    cfg = config(
        "[providers.deepseek]\ninput_price_per_1m_tokens = 0.27\noutput_price_per_1m_tokens = 1.10\n"
        "cache_read_price_per_1m_tokens = 0.07\n"
    )
    # constructed from deepseek/01's body shape with 600k of 1M prompt tokens read from the cache
    body = {
        "id": "x",
        "model": "deepseek-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1_000_000,
            "completion_tokens": 1_000_000,
            "prompt_cache_hit_tokens": 600_000,
            "prompt_cache_miss_tokens": 400_000,
        },
    }
    run = call(mode, Server(json_response(body)), {"messages": USER}, provider="deepseek", cfg=cfg)
    assert run.spend is not None
    assert run.spend.usd == Decimal("0.4") * Decimal("0.27") + Decimal("0.6") * Decimal("0.07") + Decimal("1.10")


@pytest.mark.parametrize("mode", MODES)
def test_anthropic_cache_reads_and_writes_each_have_their_price(mode: str) -> None:
    cfg = config(
        "[providers.anthropic]\ncache_read_price_per_1m_tokens = 0.30\ncache_write_price_per_1m_tokens = 3.75\n"
    )
    # constructed from anthropic/01's body with 1M uncached, 2M read and 4M written tokens, 1M output
    body = (
        ANTHROPIC_MESSAGE_BODY.replace(b'"input_tokens":16', b'"input_tokens":1000000')
        .replace(b'"cache_read_input_tokens":0', b'"cache_read_input_tokens":2000000')
        .replace(b'"cache_creation_input_tokens":0', b'"cache_creation_input_tokens":4000000')
        .replace(b'"output_tokens":13', b'"output_tokens":1000000')
    )
    run = call(mode, Server(json_response(body)), {"messages": USER}, provider="anthropic", cfg=cfg)
    assert run.spend is not None
    # preset 2.00 in / 10.00 out (Claude Sonnet 5.5); reads 0.30, writes 3.75 as this file configures them
    assert run.spend.usd == Decimal("2.0") + 2 * Decimal("0.30") + 4 * Decimal("3.75") + Decimal("10.0")


@pytest.mark.parametrize("mode", MODES)
def test_without_cache_prices_cached_tokens_cost_the_input_price(mode: str) -> None:
    # constructed: groq priced 0.59 / 0.79 and no cache prices; half the prompt was cached
    body = {
        "id": "x",
        "model": "llama",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 2_000_000,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 1_000_000},
        },
    }
    cfg = config("[providers.groq]\ninput_price_per_1m_tokens = 0.59\noutput_price_per_1m_tokens = 0.79\n")
    run = call(mode, Server(json_response(body)), {"messages": USER}, provider="groq", cfg=cfg)
    assert run.spend is not None and run.spend.usd == 2 * Decimal("0.59")
