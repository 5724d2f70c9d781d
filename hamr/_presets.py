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
            # https://api-docs.deepseek.com/quick_start/pricing as stored (fetched as ?check=20261115, i.e. checked
            # 2026-11-15; the page carries no date of its own): deepseek-flash (DeepSeek-V4.1-Flash-1017) at the
            # PEAK rate, USD per 1M tokens: 0.30 input (cache miss), 0.006 input (cache hit), 1.20 output.
            # Off-peak (every hour but 01:00-04:00 and 06:00-10:00 UTC on weekdays) bills half; hamr does not price
            # by time of day, so off-peak Spend is an upper bound. Chat and reasoning share one price now: thinking
            # is a request option of the same model. deepseek-chat and deepseek-reasoner, the names below, were
            # retired on 2026-07-24 15:59 UTC (users quote DeepSeek's V4 notice in Open-Less/openless#132 and
            # FlowiseAI/Flowise#6667); deepseek-v4-pro costs 1.32 / 0.044 / 3.96 at peak on the same page.
            input_price_per_1m_tokens=0.30,
            output_price_per_1m_tokens=1.20,
            cache_read_price_per_1m_tokens=0.006,
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
            # Claude Sonnet 4.5, USD per 1M tokens: 3.00 input, 15.00 output from its model page
            # (https://platform.claude.com/docs/zh-CN/models/sonnet-4-5/overview.md as stored, undated: "Deprecated
            # ... retires on November 30, 2026", replacement Claude Sonnet 5.5 at 2 / 10); cache prices from
            # https://platform.claude.com/docs/en/about-claude/pricing (as stored, undated), whose rows are 1.25x input
            # for a 5-minute cache write, 2x for a 1-hour write and 0.1x for a cache hit: 3.75, 6.00 and 0.30.
            input_price_per_1m_tokens=3.00,
            output_price_per_1m_tokens=15.00,
            cache_read_price_per_1m_tokens=0.30,
            cache_write_price_per_1m_tokens=3.75,
            cache_write_1h_price_per_1m_tokens=6.00,
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
