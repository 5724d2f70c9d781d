"""Issue 25, "Spend counts what the bill counts": each finding reproduced through the client with an
``httpx.MockTransport``. Bodies are the real recordings named below with their usage replaced by constructed counts
(../shared/reference/responses: anthropic/01-message-basic.json, crmne/ruby_llm
spec/fixtures/vcr_cassettes/chat_basic_chat_functionality_anthropic_claude-haiku-4-5_can_have_a_basic_conversation.yml
@ fb5a49bf04da78d3e74496431ad1c99df5e7e5f0, interaction 0; openrouter/10-stream-deepseek-reasoning.json for the
shape of OpenRouter's ``cost_details``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

import hamr
from hamr._config import parse_config

ANTHROPIC = (
    '{"model":"claude-haiku-4-5-20251001","id":"msg_011CeCGmD8uwD58unxgBN8Qx","type":"message","role":"assistant",'
    '"content":[{"type":"text","text":"2 + 2 = 4"}],"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,'
    '"usage":{"input_tokens":16,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":'
    '{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":13,"service_tier":"standard",'
    '"inference_geo":"not_available"}}'
)


def spend_of(config: dict[str, Any], body: dict[str, Any], env: dict[str, str]) -> Decimal:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with hamr.Client(parse_config(config), http_client=httpx.Client(transport=transport), env=env) as client:
        client.chat("hi")
        return client.spend.usd


def anthropic_spend(usage: dict[str, Any]) -> Decimal:
    body = json.loads(ANTHROPIC)
    body["usage"] = {**body["usage"], **usage}
    config = {"active": {"provider": "anthropic", "model": "claude-sonnet-5-5"}}
    return spend_of(config, body, {"ANTHROPIC_API_KEY": "k"})


MILLION = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}


def test_us_only_inference_is_billed_at_1_1_times() -> None:
    """Data residency: ``inference_geo: "us"`` is billed at 1.1x every token price (US: "A 1.1x pricing multiplier
    applies", docs.aws.amazon.com/claude-platform/latest/userguide/data-residency.html, read 2026-12-02)."""
    global_run = anthropic_spend({**MILLION, "inference_geo": "global"})
    us_run = anthropic_spend({**MILLION, "inference_geo": "us"})
    assert global_run == Decimal("12.00")  # 1M in at 2.00, 1M out at 10.00
    assert us_run == Decimal("13.200")


def test_sonnet_5_5_cache_reads_are_priced_at_0_10() -> None:
    """Claude Sonnet 5.5's cache reads: $0.10 / MTok since 2026-10-07 (the preset had $0.20)."""
    assert anthropic_spend({"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 1_000_000}) == Decimal(
        "0.10"
    )


def openrouter_body(usage: dict[str, Any]) -> dict[str, Any]:
    message = {"role": "assistant", "content": "2 + 2 = 4"}
    return {
        "id": "gen-1",
        "model": "openai/gpt-oss-120b",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 16, "completion_tokens": 13, "total_tokens": 29, **usage},
    }


def test_an_openrouter_byok_answer_counts_the_upstream_cost_too() -> None:
    """OpenRouter usage accounting: ``cost`` is what OpenRouter charged, ``cost_details.upstream_inference_cost``
    what the upstream provider charged (BYOK requests only)."""
    env = {"OPENROUTER_API_KEY": "k"}
    config = {"active": {"provider": "openrouter"}}
    byok = {"cost": 0.00005, "is_byok": True, "cost_details": {"upstream_inference_cost": 0.001}}
    assert spend_of(config, openrouter_body(byok), env) == Decimal("0.00105")
    # not BYOK: cost is the whole bill, and upstream_inference_cost is null (the recording's shape)
    credits = {"cost": 0.0004953, "is_byok": False, "cost_details": {"upstream_inference_cost": None}}
    assert spend_of(config, openrouter_body(credits), env) == Decimal("0.0004953")


def test_deepseek_v4_pro_cache_hits_are_priced_at_its_own_0_044() -> None:
    body = {
        "id": "c",
        "model": "deepseek-v4-pro",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1_000_000,
            "completion_tokens": 0,
            "prompt_cache_hit_tokens": 1_000_000,
            "prompt_cache_miss_tokens": 0,
        },
    }
    config = {"active": {"provider": "deepseek", "model": "deepseek-v4-pro"}}
    assert spend_of(config, body, {"DEEPSEEK_API_KEY": "k"}) == Decimal("0.044")


def test_a_configured_model_price_without_a_cache_price_never_takes_the_providers() -> None:
    """A model priced on its own reads its cache at its input price (an upper bound), not at the provider's cache
    price, which belongs to another model."""
    config = {
        "active": {"provider": "work", "model": "big"},
        "providers": {
            "work": {
                "base_url": "https://llm.example.com/v1",
                "input_price_per_1m_tokens": 1.0,
                "output_price_per_1m_tokens": 1.0,
                "cache_read_price_per_1m_tokens": 0.01,
                "models": [{"id": "big", "input_price_per_1m_tokens": 5.0, "output_price_per_1m_tokens": 5.0}],
            }
        },
    }
    body = {
        "id": "c",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1_000_000,
            "completion_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 10**6},
        },
    }
    assert spend_of(config, body, {}) == Decimal("5.0")
