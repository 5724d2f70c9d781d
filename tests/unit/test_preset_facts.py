"""Issue 25, "defaults that still exist": every preset's default model is one its provider still serves, and it
and the prices carry the page and the date they were checked against (``nox -s cassettes`` lists them and flags
old ones)."""

from __future__ import annotations

import datetime

import pytest

from hamr._presets import PRESETS

#: defaults the providers retired or announced for retirement, with the page that says so (read 2026-12-02)
RETIRED = {
    # console.groq.com/docs/deprecations: decommissioned 2026-08-16, replacements openai/gpt-oss-120b, qwen3.6-27b
    "groq": {"llama-3.3-70b-versatile", "llama-3.1-8b-instant"},
    # developers.openai.com/api/docs/deprecations: gpt-4o-mini leaves OpenAI's API on 2027-01-14 (gpt-6-luna)
    "openrouter": {"openai/gpt-4o-mini", "openai/gpt-4o"},
    # api-docs.deepseek.com/quick_start/pricing: retired 2026-07-24
    "deepseek": {"deepseek-chat", "deepseek-reasoner"},
    # platform.claude.com/docs/en/about-claude/models/overview: Claude Sonnet 4.5 retired 2026-11-30
    "anthropic": {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929"},
}


@pytest.mark.parametrize("preset", sorted(RETIRED))
def test_no_default_model_is_retired_or_announced_for_retirement(preset: str) -> None:
    assert PRESETS[preset].default_model not in RETIRED[preset]


@pytest.mark.parametrize("preset", [p for p in PRESETS.values() if p.default_model], ids=lambda p: p.id)
def test_every_default_model_has_its_source_and_checked_date(preset) -> None:  # type: ignore[no-untyped-def]
    assert preset.default_model_source is not None, f"{preset.id}: default model without a source"
    url, checked = preset.default_model_source
    assert url.startswith("https://") and datetime.date.fromisoformat(checked)


@pytest.mark.parametrize("preset", list(PRESETS.values()), ids=lambda p: p.id)
def test_every_price_has_its_source_and_checked_date(preset) -> None:  # type: ignore[no-untyped-def]
    priced = preset.input_price_per_1m_tokens is not None or any(
        m.input_price_per_1m_tokens is not None for m in preset.models
    )
    if priced:
        assert preset.prices_source is not None, f"{preset.id}: prices without a source"
        url, checked = preset.prices_source
        assert url.startswith("https://") and datetime.date.fromisoformat(checked)
