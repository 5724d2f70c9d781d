"""The built-in providers, one row each: adding a provider means adding a row (and its cassettes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._types import ModelSpec

OPENAI = "openai-compatible"
ANTHROPIC = "anthropic-compatible"
COMPATIBILITIES = (OPENAI, ANTHROPIC)


@dataclass(frozen=True)
class Preset:
    id: str
    compatibility: str
    base_url: str | None
    api_key_env: str | None
    #: default headers; values may use $VAR / ${VAR} like user headers
    headers: dict[str, str] = field(default_factory=dict)
    input_price_per_1m_tokens: float | None = None
    output_price_per_1m_tokens: float | None = None
    default_model: str | None = None
    models: tuple[ModelSpec, ...] = ()
    #: send stream_options.include_usage on streamed chat requests
    stream_usage: bool = True
    #: spend shows as "local" (nothing is billed)
    local: bool = False
    #: a key is needed for requests to work
    requires_key: bool = True


PRESETS: dict[str, Preset] = {
    p.id: p
    for p in (
        Preset(
            "relay",
            OPENAI,
            "http://127.0.0.1:1234/v1",
            None,
            local=True,
            requires_key=False,
        ),
        Preset("custom", OPENAI, None, None, requires_key=False),
        Preset(
            "deepseek",
            OPENAI,
            "https://api.deepseek.com",
            "DEEPSEEK_API_KEY",
            input_price_per_1m_tokens=0.27,
            output_price_per_1m_tokens=1.10,
            default_model="deepseek-chat",
            models=(
                ModelSpec("deepseek-chat", "DeepSeek Chat", 128_000),
                ModelSpec("deepseek-reasoner", "DeepSeek Reasoner", 128_000, supports_thinking=True),
            ),
        ),
        Preset(
            "openrouter",
            OPENAI,
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            # OpenRouter attributes traffic to an app by these two headers; override them with your app's.
            headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-Title": "hamr"},
            default_model="openai/gpt-4o-mini",
        ),
        Preset(
            "groq",
            OPENAI,
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            input_price_per_1m_tokens=0.59,
            output_price_per_1m_tokens=0.79,
            default_model="llama-3.3-70b-versatile",
            models=(ModelSpec("llama-3.3-70b-versatile", "Llama 3.3 70B Versatile", 131_072),),
        ),
        Preset(
            "anthropic",
            ANTHROPIC,
            "https://api.anthropic.com",
            "ANTHROPIC_API_KEY",
            input_price_per_1m_tokens=3.00,
            output_price_per_1m_tokens=15.00,
            default_model="claude-sonnet-4-5",
            models=(ModelSpec("claude-sonnet-4-5", "Claude Sonnet 4.5", 200_000, supports_thinking=True),),
        ),
        Preset(
            "mistral",
            OPENAI,
            "https://api.mistral.ai/v1",
            "MISTRAL_API_KEY",
            default_model="mistral-small-latest",
            # Mistral rejects stream_options with 422 extra_forbidden and reports usage on the last chunk anyway
            stream_usage=False,
        ),
        Preset(
            "together",
            OPENAI,
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            default_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
    )
}
