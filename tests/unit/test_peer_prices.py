"""Issue 8.7: a model without a known price shows "Spend: n/a", never raises and never shows $0; OpenRouter's own
usage.cost wins over any computed price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.peer_support import DONE, MODES, Server, call, chunk, config, json_response, sse
from tests.unit.peer_wire import OPENROUTER_COST_BODY

USER = [{"role": "user", "content": "hi"}]
NA = "Spend: n/a (no price known for this model)"


def body(usage: dict[str, object] | None) -> dict[str, object]:
    """A chat.completion in the documented OpenAI shape."""
    out: dict[str, object] = {
        "id": "x",
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
    }
    if usage is not None:
        out["usage"] = usage
    return out


USAGE = {"prompt_tokens": 1000, "completion_tokens": 1000}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "toml"),
    [
        ("mistral", ""),  # a preset without prices
        ("together", ""),
        ("work", '[providers.work]\nbase_url = "https://llm.example.com/v1"\n'),  # custom, not loopback
        ("openrouter", ""),  # no usage.cost reported and no configured price
    ],
)
def test_an_unpriced_model_shows_n_a_never_zero(mode: str, provider: str, toml: str) -> None:
    run = call(
        mode, Server(json_response(body(USAGE))), {"messages": USER}, provider=provider, cfg=config(toml), model="m"
    )
    assert run.spend is not None
    assert str(run.spend) == NA and "$0" not in str(run.spend)


GROQ_PRICED = config("[providers.groq]\ninput_price_per_1m_tokens = 0.59\noutput_price_per_1m_tokens = 0.79\n")


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_without_usage_on_a_priced_provider_is_n_a_not_zero(mode: str) -> None:
    # constructed: a server that ignores stream_options sends no usage at all; groq's price (configured here: the
    # preset has none) is known but nothing can be multiplied, and the display says which of the two is missing
    stream = chunk({"content": "ok"}) + chunk({}, "stop") + DONE
    run = call(mode, Server(sse(stream)), {"messages": USER, "stream": True}, provider="groq", cfg=GROQ_PRICED)
    assert run.spend is not None and str(run.spend) == "Spend: n/a (no usage reported)"


@pytest.mark.parametrize("mode", MODES)
def test_partly_priced_sessions_say_how_many_requests_are_unpriced(mode: str) -> None:
    server = Server(json_response(body(USAGE)), json_response(body(None)))
    run = call(mode, server, {"messages": USER}, {"messages": USER}, provider="groq", cfg=GROQ_PRICED)
    assert run.spend is not None
    assert str(run.spend) == "Spend: $0.001 + n/a (1 of 2 requests unpriced)"


@pytest.mark.parametrize("mode", MODES)
def test_relay_and_loopback_servers_without_prices_are_local(mode: str) -> None:
    cfg = config('[providers.lab]\nbase_url = "http://127.0.0.1:8080/v1"\n')
    for provider in ("relay", "lab"):
        run = call(mode, Server(json_response(body(USAGE))), {"messages": USER}, provider=provider, cfg=cfg, model="m")
        assert run.spend is not None and str(run.spend) == "Spend: local"


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_reported_cost_wins_over_configured_prices(mode: str) -> None:
    # recorded: openrouter/01 reports usage.cost 0.000081 for 16 + 13 tokens; the configured prices would say 0.029
    cfg = config("[providers.openrouter]\ninput_price_per_1m_tokens = 1000.0\noutput_price_per_1m_tokens = 1000.0\n")
    run = call(mode, Server(json_response(OPENROUTER_COST_BODY)), {"messages": USER}, provider="openrouter", cfg=cfg)
    assert run.completion.usage is not None and run.completion.usage.cost == 0.000081
    assert run.spend is not None and run.spend.usd == Decimal("0.000081")
    assert str(run.spend) == "Spend: <$0.001"


@pytest.mark.parametrize("mode", MODES)
def test_a_reported_cost_of_zero_is_a_real_zero(mode: str) -> None:
    # constructed from openrouter/01's usage shape: a free model, OpenRouter reports cost 0
    run = call(mode, Server(json_response(body({**USAGE, "cost": 0}))), {"messages": USER}, provider="openrouter")
    assert run.spend is not None and str(run.spend) == "Spend: $0.000"


def test_a_model_price_fills_in_for_an_unpriced_provider() -> None:
    cfg = config(
        '[[providers.mistral.models]]\nid = "mistral-small-latest"\n'
        "input_price_per_1m_tokens = 0.1\noutput_price_per_1m_tokens = 0.3\n"
    )
    run = call("sync", Server(json_response(body(USAGE))), {"messages": USER}, provider="mistral", cfg=cfg)
    assert run.spend is not None and run.spend.usd == Decimal("0.0004")
