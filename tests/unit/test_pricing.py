"""Prices, spend accumulation and the Spend display rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hamr import Usage, load_config
from hamr._config import parse_config
from hamr._pricing import Price, Spend, is_local, price_for


def test_preset_prices() -> None:
    config = load_config()
    # DeepSeek's and Anthropic's published prices as hamr/_presets.py cites them (issues 16, 25): deepseek-flash at
    # the peak rate with its cache-hit price (deepseek-v4-pro with its own model and cache-hit prices); Claude Sonnet
    # 5.5 with 5-minute and 1-hour cache writes priced apart; Groq unpriced (no Groq price page to check against)
    deepseek = Price(Decimal("0.3"), Decimal("1.2"), cache_read=Decimal("0.006"))
    assert price_for(config.providers["deepseek"], "deepseek-flash") == deepseek
    pro = Price(Decimal("1.32"), Decimal("3.96"), cache_read=Decimal("0.044"))
    assert price_for(config.providers["deepseek"], "deepseek-v4-pro") == pro
    assert price_for(config.providers["groq"], None) is None
    anthropic = Price(Decimal("2.0"), Decimal("10.0"), Decimal("0.1"), Decimal("2.5"), Decimal("4.0"))
    assert price_for(config.providers["anthropic"], None) == anthropic
    assert price_for(config.providers["mistral"], None) is None


def test_model_price_overrides_provider_price() -> None:
    config = parse_config(
        {
            "providers": {
                "groq": {
                    "input_price_per_1m_tokens": 0.59,
                    "output_price_per_1m_tokens": 0.79,
                    "models": [{"id": "cheap", "input_price_per_1m_tokens": 0.1, "output_price_per_1m_tokens": 0.2}],
                }
            }
        }
    )
    groq = config.providers["groq"]
    assert price_for(groq, "cheap") == Price(Decimal("0.1"), Decimal("0.2"))
    assert price_for(groq, "other") == Price(Decimal("0.59"), Decimal("0.79"))


def test_cost_prices_cache_reads_and_writes_separately() -> None:
    price = Price(Decimal(3), Decimal(15), cache_read=Decimal("0.3"), cache_write=Decimal("3.75"))
    usage = Usage(
        input_tokens=1_000_000 + 2_000_000 + 4_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=2_000_000,
        cache_write_tokens=4_000_000,
    )
    assert price.cost(usage) == Decimal(3) + Decimal("0.6") + Decimal(15) + Decimal(15)


def test_spend_display_rule() -> None:
    spend = Spend()
    assert str(spend) == "Spend: no requests yet"  # not $0.000: that would claim a price is known
    spend.add(Usage(input_tokens=10, output_tokens=10), Price(Decimal("0.27"), Decimal("1.10")))
    assert str(spend) == "Spend: <$0.001"
    spend.add(Usage(input_tokens=2000, output_tokens=3000), Price(Decimal("0.27"), Decimal("1.10")))
    assert spend.usd == Decimal("0.0038537")
    assert str(spend) == "Spend: $0.004"


def test_reported_cost_wins_over_computed_price() -> None:
    spend = Spend()
    assert spend.add(Usage(input_tokens=16, output_tokens=13, cost=0.000081), None) == Decimal("0.000081")
    assert str(spend) == "Spend: <$0.001"


def test_unknown_price_is_never_shown_as_zero() -> None:
    spend = Spend()
    spend.add(Usage(input_tokens=5, output_tokens=5), None)
    assert str(spend) == "Spend: n/a (no price known for this model)"
    spend.add(Usage(input_tokens=1_000_000, output_tokens=0), Price(Decimal(1), Decimal(1)))
    assert str(spend) == "Spend: $1.000 + n/a (1 of 2 requests unpriced)"


def test_local_providers_show_local() -> None:
    config = load_config()
    assert is_local(config.providers["relay"])
    spend = Spend(local=True)
    spend.add(Usage(input_tokens=5, output_tokens=5), None)
    assert str(spend) == "Spend: local"


@pytest.mark.parametrize(
    ("base_url", "prices", "local"),
    [
        ("http://127.0.0.1:8080/v1", {}, True),
        ("http://localhost:8080/v1", {}, True),
        ("http://[::1]:8080/v1", {}, True),
        ("http://127.0.0.1:8080/v1", {"input_price_per_1m_tokens": 1, "output_price_per_1m_tokens": 1}, False),
        ("https://llm.example.com/v1", {}, False),
    ],
)
def test_loopback_custom_providers_are_local_unless_priced(base_url: str, prices: dict, local: bool) -> None:
    settings = parse_config({"providers": {"mine": {"base_url": base_url, **prices}}}).providers["mine"]
    assert is_local(settings) is local


def test_one_hour_cache_writes_cost_their_own_price() -> None:
    # 1M uncached, 2M read, 4M written of which 3M to the 1-hour cache, 1M output, at Sonnet 4.5's published prices
    price = Price(Decimal(3), Decimal(15), Decimal("0.30"), Decimal("3.75"), Decimal("6.00"))
    usage = Usage(
        input_tokens=7_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=2_000_000,
        cache_write_tokens=4_000_000,
        cache_write_1h_tokens=3_000_000,
    )
    assert price.cost(usage) == Decimal(3) + 2 * Decimal("0.30") + Decimal("3.75") + 3 * Decimal("6.00") + 15


def test_without_a_one_hour_price_one_hour_writes_cost_the_write_price() -> None:
    usage = Usage(input_tokens=2_000_000, cache_write_tokens=2_000_000, cache_write_1h_tokens=1_000_000)
    assert Price(Decimal(3), Decimal(15), cache_write=Decimal("3.75")).cost(usage) == 2 * Decimal("3.75")
    assert Price(Decimal(3), Decimal(15)).cost(usage) == 2 * Decimal(3)


def test_the_one_hour_write_price_is_a_per_provider_key() -> None:
    config = parse_config({"providers": {"anthropic": {"cache_write_1h_price_per_1m_tokens": 7}}})
    price = price_for(config.providers["anthropic"], None)
    assert price is not None and price.cache_write_1h == Decimal("7.0") and price.cache_write == Decimal("2.5")
