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
    cache_read_price_per_1m_tokens: float | None = None
    #: a 5-minute cache write (Anthropic), or the only kind there is
    cache_write_price_per_1m_tokens: float | None = None
    #: a 1-hour cache write (Anthropic ``cache_control.ttl = "1h"``)
    cache_write_1h_price_per_1m_tokens: float | None = None
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
            # https://api-docs.deepseek.com/quick_start/pricing as stored (checked 2026-11-15, again 2026-12-01; the
            # page carries no date of its own), USD per 1M tokens at the PEAK rate: deepseek-flash (DeepSeek-V4.1-Flash)
            # 0.30 input (cache miss), 0.006 input (cache hit), 1.20 output; deepseek-v4-pro 1.32 / 0.044 / 3.96 (its
            # cache hits are priced at the provider's 0.006 below: a model has no cache price of its own). Off-peak
            # (every hour but 01:00-04:00 and 06:00-10:00 UTC on weekdays) bills half; hamr does not price by time of
            # day, so off-peak Spend is an upper bound. The page: "Use deepseek-flash as the model name". Thinking is
            # a request option of the same model (on by default); deepseek-chat and deepseek-reasoner were retired on
            # 2026-07-24 15:59 UTC.
            input_price_per_1m_tokens=0.30,
            output_price_per_1m_tokens=1.20,
            cache_read_price_per_1m_tokens=0.006,
            default_model="deepseek-flash",
            models=(
                ModelSpec("deepseek-flash", "DeepSeek V4.1 Flash", 1_000_000, supports_thinking=True),
                ModelSpec(
                    "deepseek-v4-pro",
                    "DeepSeek V4 Pro",
                    1_000_000,
                    supports_thinking=True,
                    input_price_per_1m_tokens=1.32,
                    output_price_per_1m_tokens=3.96,
                ),
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
            # llama-3.3-70b-versatile; not re-checked in issue 16: no Groq price page is stored to check it against
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
            # Claude Sonnet 5.5 (claude-sonnet-5-5), USD per 1M tokens, from its model page
            # https://platform.claude.com/docs/en/models/sonnet-5-5/overview as stored (checked 2026-12-01): 2.00 input,
            # 10.00 output, 0.20 cache read, 2.50 5-minute and 4.00 1-hour cache writes. It replaces Claude Sonnet 4.5
            # (3 / 15), which retired on 2026-11-30. Sonnet 5.5 thinks adaptively and answers 400 to a forced tool
            # choice, a non-default temperature/top_p and manual thinking budgets (README, provider notes).
            input_price_per_1m_tokens=2.00,
            output_price_per_1m_tokens=10.00,
            cache_read_price_per_1m_tokens=0.20,
            cache_write_price_per_1m_tokens=2.50,
            cache_write_1h_price_per_1m_tokens=4.00,
            default_model="claude-sonnet-5-5",
            models=(ModelSpec("claude-sonnet-5-5", "Claude Sonnet 5.5", 1_000_000, supports_thinking=True),),
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
