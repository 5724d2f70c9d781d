"""Issue 25, item 8 and issue 34, item 7: ``models()`` reads every field a user would want from the real
``GET /models`` recordings the models cassettes of anthropic, deepseek, groq, mistral and openrouter hold (see each
cassette's provenance): display name, context window, output limit, thinking support, and prices where the provider
gives them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import hamr
from hamr.kit import cassette_format

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
ENV = {
    name: "k"
    for name in ("ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "OPENROUTER_API_KEY")
}


def models(preset: str) -> dict[str, hamr.ModelInfo]:
    cassette = cassette_format.load((CASSETTES / preset / "models.yaml").read_text(encoding="utf-8"))
    response = cassette["interactions"][0]["response"]
    body = cassette_format.decode_body(response)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(response["status"], headers={"content-type": "application/json"}, content=body)
    )
    with hamr.Client(provider=preset, env=ENV, http_client=httpx.Client(transport=transport)) as client:
        return {m.id: m for m in client.models()}


def test_anthropic_models_have_display_name_context_output_and_thinking() -> None:
    listed = models("anthropic")
    assert listed["claude-opus-5"] == hamr.ModelInfo(
        id="claude-opus-5",
        display_name="Claude Opus 5",
        context_window=1_000_000,
        supports_thinking=True,
        max_output_tokens=128_000,
        source="server",
    )
    haiku = listed["claude-haiku-4-5-20251001"]
    assert (haiku.context_window, haiku.max_output_tokens, haiku.display_name) == (200_000, 64_000, "Claude Haiku 4.5")
    # Anthropic's list has no prices: the preset's default model keeps its configured metadata
    assert listed["claude-sonnet-5-5"].source == "config" and listed["claude-sonnet-5-5"].context_window == 1_000_000


def test_openrouter_models_have_name_context_and_every_price_the_catalogue_gives() -> None:
    listed = models("openrouter")
    assert len([m for m in listed.values() if m.source == "server"]) == 302
    assert listed["anthropic/claude-3.7-sonnet"] == hamr.ModelInfo(
        id="anthropic/claude-3.7-sonnet",
        display_name="Anthropic: Claude 3.7 Sonnet",
        context_window=200_000,
        input_price_per_1m_tokens=3.0,
        output_price_per_1m_tokens=15.0,
        cache_read_price_per_1m_tokens=0.3,
        max_output_tokens=64_000,
        source="server",
    )
    free = listed["microsoft/mai-ds-r1:free"]
    assert (free.input_price_per_1m_tokens, free.output_price_per_1m_tokens) == (0.0, 0.0)
    assert all(m.input_price_per_1m_tokens is not None and m.display_name for m in listed.values())


def test_deepseek_models_are_ids_plus_the_configured_metadata() -> None:
    listed = models("deepseek")
    # DeepSeek lists id, object and owned_by only
    assert listed["deepseek-chat"] == hamr.ModelInfo(id="deepseek-chat", source="server")
    flash = listed["deepseek-flash"]
    assert flash.source == "config" and flash.context_window == 1_000_000 and flash.input_price_per_1m_tokens is None
    assert listed["deepseek-v4-pro"].cache_read_price_per_1m_tokens == 0.044


def test_mistral_models_have_their_context_window_from_max_context_length() -> None:
    listed = models("mistral")
    assert listed["mistral-small-latest"] == hamr.ModelInfo(
        id="mistral-small-latest", display_name="mistral-small-2506", context_window=131_072, source="server"
    )
    assert listed["magistral-medium-latest"].context_window == 131_072
    assert listed["ministral-3b-2410"].context_window == 131_072
    assert listed["labs-devstral-small-2512"].context_window == 262_144
    assert all(m.context_window for m in listed.values())  # every entry of Mistral's list gives max_context_length


def test_groq_models_have_their_context_window() -> None:
    listed = models("groq")
    assert listed["llama3-70b-8192"].context_window == 8192
    assert listed["mixtral-8x7b-32768"].context_window == 32_768
    # the preset's default model, configured, is not in the 2024 list
    assert listed["openai/gpt-oss-120b"].source == "config" and listed["openai/gpt-oss-120b"].context_window == 131_072


@pytest.mark.parametrize("preset", ["anthropic", "deepseek", "groq", "mistral", "openrouter"])
def test_the_models_cassettes_rest_on_real_recordings(preset: str) -> None:
    cassette = cassette_format.load((CASSETTES / preset / "models.yaml").read_text(encoding="utf-8"))
    assert cassette["provenance"]["source"] == "real recording"
    assert set(cassette["provenance"]["recording"]) >= {"repo", "path", "commit", "interaction_index"}
