"""Issue 34 item 1: what Anthropic bills for a request that compacted its context or asked the advisor tool is the
sum of ``usage.iterations``, each at its own model's price; the top-level counts leave those steps out.

The usage blocks are the documentation's own examples: compaction
(https://platform.claude.com/docs/en/build-with-claude/compaction, "Understanding usage": "The top-level
`input_tokens` and `output_tokens` do not include compaction iteration usage ... To calculate total tokens consumed
and billed for a request, sum across all entries in the `usage.iterations` array") and the advisor tool
(https://platform.claude.com/docs/en/agents-and-tools/tool-use/advisor-tool, "Advisor tokens are not rolled into the
top-level totals"; `advisor_message` iterations "are billed at the advisor model's rates"). The message around them is
the real recording ../shared/reference/responses/anthropic/01-message-basic.json (crmne/ruby_llm
spec/fixtures/vcr_cassettes/chat_basic_chat_functionality_anthropic_claude-haiku-4-5_can_have_a_basic_conversation.yml
@ fb5a49bf04da78d3e74496431ad1c99df5e7e5f0, interaction 0), its model and usage replaced; the streams are
constructed from the streaming docs, the final usage (iterations included) in ``message_delta``, as the official
SDK's ``MessageDeltaUsage`` type has it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import hamr
from hamr._config import parse_config
from tests.unit.peer_support import MODES, Server, anthropic_stream, call, json_response, sse

MESSAGE = {
    "model": "claude-sonnet-5-5",
    "id": "msg_011CeCGmD8uwD58unxgBN8Qx",
    "type": "message",
    "role": "assistant",
    "content": [{"type": "text", "text": "2 + 2 = 4"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
}
#: the compaction doc's example: hamr billed the top level alone, $0.056 at Sonnet 5.5's 2.00 / 10.00
COMPACTED = {
    "input_tokens": 23000,
    "output_tokens": 1000,
    "iterations": [
        {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
        {"type": "message", "input_tokens": 23000, "output_tokens": 1000},
    ],
}
#: the advisor doc's example: two executor iterations and one advisor call on claude-opus-5
ADVISED = {
    "input_tokens": 1760,
    "cache_read_input_tokens": 412,
    "cache_creation_input_tokens": 0,
    "output_tokens": 531,
    "iterations": [
        {
            "type": "message",
            "input_tokens": 412,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "output_tokens": 89,
        },
        {
            "type": "advisor_message",
            "model": "claude-opus-5",
            "input_tokens": 823,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "output_tokens": 1612,
        },
        {
            "type": "message",
            "input_tokens": 1348,
            "cache_read_input_tokens": 412,
            "cache_creation_input_tokens": 0,
            "output_tokens": 442,
        },
    ],
}
#: the executor's part of ADVISED at Sonnet 5.5: 1,760 uncached in at 2.00, 412 cache reads at 0.10, 531 out at 10
EXECUTOR = (1760 * Decimal("2.00") + 412 * Decimal("0.10") + 531 * Decimal(10)) / 1_000_000
#: Claude Opus 5's price as configured in these tests (not a preset price: hamr has none for it)
OPUS = {"id": "claude-opus-5", "input_price_per_1m_tokens": 5.0, "output_price_per_1m_tokens": 25.0}


def run(
    mode: str, stream: bool, usage: dict[str, Any], models: list[dict[str, Any]] | None = None
) -> tuple[hamr.Spend, hamr.Completion]:
    """One answer with ``usage`` through the anthropic preset (claude-sonnet-5-5): the client's spend, the answer."""
    config: dict[str, Any] = {"active": {"provider": "anthropic", "model": "claude-sonnet-5-5"}}
    if models is not None:
        config["providers"] = {"anthropic": {"models": models}}
    stop = {"stop_reason": "end_turn"}
    answer = (
        sse(anthropic_stream(MESSAGE["content"], stop, usage)) if stream else json_response({**MESSAGE, "usage": usage})
    )
    result = call(
        mode, Server(answer), {"messages": "hi", "stream": stream}, provider="anthropic", cfg=parse_config(config)
    )
    assert result.spend is not None
    return result.spend, result.completion


BOTH = pytest.mark.parametrize("mode", MODES)
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream"])


@BOTH
@STREAM
def test_a_compacted_request_is_billed_for_every_iteration(mode: str, stream: bool) -> None:
    spend, _ = run(mode, stream, COMPACTED)
    # 203,000 in at 2.00 and 4,500 out at 10.00: $0.451, where the top level alone says $0.056
    assert spend.usd == Decimal("0.451")
    assert str(spend) == "Spend: $0.451"


@BOTH
@STREAM
def test_an_advisor_call_is_billed_at_the_advisor_models_price(mode: str, stream: bool) -> None:
    spend, _ = run(mode, stream, ADVISED, models=[OPUS])
    advisor = (823 * Decimal(5) + 1612 * Decimal(25)) / 1_000_000
    assert spend.usd == EXECUTOR + advisor
    assert str(spend) == "Spend: $0.053"


@BOTH
@STREAM
def test_an_advisor_model_without_a_price_is_n_a_never_zero(mode: str, stream: bool) -> None:
    """The provider's price is Sonnet 5.5's: the advisor's model must have its own, else that part is unpriced."""
    spend, _ = run(mode, stream, ADVISED)
    assert spend.usd == EXECUTOR
    assert str(spend) == "Spend: $0.009 + n/a (1 of 1 requests priced in part: no price for claude-opus-5)"


@BOTH
@STREAM
def test_usage_says_what_each_iteration_billed(mode: str, stream: bool) -> None:
    _, completion = run(mode, stream, ADVISED)
    usage = completion.usage
    assert usage is not None
    # the top level stays what Anthropic reports: the executor's tokens
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (2172, 412, 531)
    assert [(i.type, i.model) for i in usage.iterations] == [
        ("message", None),
        ("advisor_message", "claude-opus-5"),
        ("message", None),
    ]
    advisor = usage.iterations[1].usage
    assert (advisor.input_tokens, advisor.output_tokens, advisor.cache_read_tokens) == (823, 1612, 0)
    assert usage.iterations[2].usage.input_tokens == 1348 + 412


def test_without_iterations_the_top_level_is_the_bill() -> None:
    spend, _ = run("sync", False, {"input_tokens": 23000, "output_tokens": 1000})
    assert spend.usd == Decimal("0.056") and str(spend) == "Spend: $0.056"
