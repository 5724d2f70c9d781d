"""Issue 16, prices: Anthropic bills a 1-hour cache write (2x input) apart from a 5-minute one (1.25x input); hamr
reads ``usage.cache_creation.ephemeral_1h_input_tokens`` and prices that part at the preset's 1-hour write price.

The body is the real recording ../shared/reference/responses/anthropic/01-message-basic.json (crmne/ruby_llm
spec/fixtures/vcr_cassettes/chat_basic_chat_functionality_anthropic_claude-haiku-4-5_can_have_a_basic_conversation.yml
@ fb5a49bf04da78d3e74496431ad1c99df5e7e5f0, interaction 0) with its token counts, all zero or small there, replaced
by constructed ones."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

import hamr
from hamr import _anthropic
from hamr._config import parse_config

RECORDED = (
    '{"model":"claude-haiku-4-5-20251001","id":"msg_011CeCGmD8uwD58unxgBN8Qx","type":"message","role":"assistant",'
    '"content":[{"type":"text","text":"2 + 2 = 4"}],"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,'
    '"usage":{"input_tokens":16,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":'
    '{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":13,"service_tier":"standard",'
    '"inference_geo":"not_available"}}'
)
USAGE = {
    "input_tokens": 1_000_000,
    "cache_creation_input_tokens": 4_000_000,
    "cache_read_input_tokens": 2_000_000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1_000_000, "ephemeral_1h_input_tokens": 3_000_000},
    "output_tokens": 1_000_000,
}


def body(usage: dict[str, object]) -> bytes:
    data = json.loads(RECORDED)
    data["usage"] = {**data["usage"], **usage}
    return json.dumps(data).encode()


def test_the_recorded_usage_has_no_one_hour_writes() -> None:
    usage = _anthropic.parse_chat("anthropic", RECORDED.encode()).usage
    assert usage is not None and usage.cache_write_1h_tokens == 0 and usage.input_tokens == 16


def test_one_hour_writes_are_read_from_cache_creation() -> None:
    usage = _anthropic.parse_chat("anthropic", body(USAGE)).usage
    assert usage == hamr.Usage(
        input_tokens=7_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=2_000_000,
        cache_write_tokens=4_000_000,
        cache_write_1h_tokens=3_000_000,
        inference_geo="not_available",
    )


def test_a_one_hour_count_above_the_write_total_is_capped() -> None:
    garbled = {**USAGE, "cache_creation": {"ephemeral_1h_input_tokens": 9_000_000}}
    usage = _anthropic.parse_chat("anthropic", body(garbled)).usage
    assert usage is not None and usage.cache_write_1h_tokens == usage.cache_write_tokens == 4_000_000


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_anthropic_preset_prices_each_part_at_its_published_price(kind: str) -> None:
    config = parse_config({"active": {"provider": "anthropic", "model": "claude-sonnet-5-5"}})
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body(USAGE)))
    env = {"ANTHROPIC_API_KEY": "k"}
    if kind == "sync":
        with hamr.Client(config, http_client=httpx.Client(transport=transport), env=env) as client:
            client.chat("hi")
            spend = client.spend
    else:
        async with hamr.AsyncClient(config, http_client=httpx.AsyncClient(transport=transport), env=env) as aclient:
            await aclient.chat("hi")
            spend = aclient.spend
    # 1M input at 2.00, 2M cache reads at 0.10, 1M 5-minute writes at 2.50, 3M 1-hour writes at 4.00, 1M out at 10.00
    assert spend.usd == Decimal("2.00") + 2 * Decimal("0.10") + Decimal("2.50") + 3 * Decimal("4.00") + Decimal("10")
