"""The built-in providers, one row each: adding a provider means adding a row (and its cassettes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._types import ModelSpec

OPENAI = "openai-compatible"
ANTHROPIC = "anthropic-compatible"
#: OpenAI's Responses API (POST /responses), the Open Responses specification
RESPONSES = "openai-responses"
COMPATIBILITIES = (OPENAI, ANTHROPIC, RESPONSES)


@dataclass(frozen=True)
class Preset:
    id: str
    compatibility: str
    base_url: str | None
    api_key_env: str | None
    #: default headers; values may use $VAR / ${VAR} like user headers
    headers: dict[str, str] = field(default_factory=dict)
    #: another name the provider reads as one of ``headers`` (alias -> header): a file header of either name
    #: replaces the preset's, so the two never go out with different values
    header_aliases: dict[str, str] = field(default_factory=dict)
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
    #: where ``default_model`` was checked to be current, and when: (URL, "YYYY-MM-DD")
    default_model_source: tuple[str, str] | None = None
    #: where the prices were checked, and when: (URL, "YYYY-MM-DD"); None when the preset has no prices
    prices_source: tuple[str, str] | None = None


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
            # https://api-docs.deepseek.com/quick_start/pricing as stored (checked 2026-11-15, 2026-12-01 and, for the
            # per-model cache rows, 2026-12-02 with its zh-cn copy; the page carries no date of its own), USD per 1M
            # tokens at the PEAK rate: deepseek-flash (DeepSeek-V4.1-Flash) 0.30 input (cache miss), 0.006 input (cache
            # hit), 1.20 output; deepseek-v4-pro 1.32 / 0.044 / 3.96 (its own cache-hit price on its model row).
            # Off-peak (every hour but 01:00-04:00 and 06:00-10:00 UTC on weekdays) bills half; hamr does not price
            # by time of day, so off-peak Spend is an upper bound. The page: "Use deepseek-flash as the model name".
            # Thinking is a request option of the same model (on by default); deepseek-chat and deepseek-reasoner were
            # retired on 2026-07-24 15:59 UTC.
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
                    cache_read_price_per_1m_tokens=0.044,
                ),
            ),
            default_model_source=("https://api-docs.deepseek.com/quick_start/pricing", "2026-12-02"),
            prices_source=("https://api-docs.deepseek.com/quick_start/pricing", "2026-12-02"),
        ),
        Preset(
            "openai",
            # OpenAI's own API, the Responses protocol's reference: its models page sends function calling and the
            # built-in tools to /responses (on chat completions gpt-6-luna calls functions only with reasoning
            # effort "none"), and only there do reasoning items go back to the model between turns (README)
            RESPONSES,
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            # https://developers.openai.com/api/docs/models/gpt-6-luna (its stored ja-JP copy, read 2026-12-06),
            # USD per 1M tokens: 0.10 input, 0.01 cached input, 0.125 cache writes, 0.50 output; prompts over 272K
            # input tokens cost 2x input and 1.5x output for the whole request, which hamr does not price (README,
            # Spend). It replaces gpt-4o-mini, which leaves the API on 2027-01-14 (the deprecations page).
            input_price_per_1m_tokens=0.10,
            output_price_per_1m_tokens=0.50,
            cache_read_price_per_1m_tokens=0.01,
            cache_write_price_per_1m_tokens=0.125,
            default_model="gpt-6-luna",
            models=(
                ModelSpec("gpt-6-luna", "GPT-6 Luna", 1_050_000, supports_thinking=True, max_output_tokens=128_000),
            ),
            default_model_source=("https://developers.openai.com/api/docs/models/gpt-6-luna", "2026-12-06"),
            prices_source=("https://developers.openai.com/api/docs/models/gpt-6-luna", "2026-12-06"),
        ),
        Preset(
            "openrouter",
            OPENAI,
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            # OpenRouter attributes traffic to an app by these two headers; override them with your app's. Its app
            # attribution page (https://openrouter.ai/docs/app-attribution, read 2026-12-06) names X-OpenRouter-Title
            # the title header; "X-Title is still supported for backwards compatibility".
            headers={"HTTP-Referer": "https://pypi.org/project/hamr/", "X-OpenRouter-Title": "hamr"},
            header_aliases={"X-Title": "X-OpenRouter-Title"},
            # openai/gpt-4o-mini, the default until now, leaves OpenAI's API on 2027-01-14; OpenAI's deprecations page
            # names gpt-6-luna its replacement, and OpenRouter serves it as openai/gpt-6-luna
            # (https://openrouter.ai/openai/gpt-6-luna). No prices: OpenRouter reports each answer's cost itself.
            default_model="openai/gpt-6-luna",
            default_model_source=("https://developers.openai.com/api/docs/deprecations", "2026-12-02"),
            prices_source=("https://openrouter.ai/docs/use-cases/usage-accounting", "2026-12-02"),
        ),
        Preset(
            "groq",
            OPENAI,
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            # llama-3.3-70b-versatile, the default until now, was decommissioned on 2026-08-16; Groq's deprecations
            # page names openai/gpt-oss-120b and qwen3.6-27b as replacements. No prices: no Groq price page is among
            # the stored docs to check one against (Spend shows n/a until you configure them).
            default_model="openai/gpt-oss-120b",
            models=(ModelSpec("openai/gpt-oss-120b", "GPT-OSS 120B", 131_072, supports_thinking=True),),
            default_model_source=("https://console.groq.com/docs/deprecations", "2026-12-02"),
        ),
        Preset(
            "anthropic",
            ANTHROPIC,
            "https://api.anthropic.com",
            "ANTHROPIC_API_KEY",
            # Claude Sonnet 5.5 (claude-sonnet-5-5), USD per 1M tokens: 2.00 input, 10.00 output, 2.50 5-minute and
            # 4.00 1-hour cache writes from its model page https://platform.claude.com/docs/en/models/sonnet-5-5/overview
            # (checked 2026-12-01 and 2026-12-02), and 0.10 cache read from its migration guide as quoted in issue 25
            # https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide (Anthropic cut Sonnet 5.5 cache hits
            # from 0.20 to 0.10 on 2026-10-07; stored copies of the model page still show 0.20, the price before the
            # cut: README, provider notes). It replaces Claude Sonnet 4.5 (3 / 15), which retired on 2026-11-30.
            # Sonnet 5.5 thinks adaptively and answers 400 to a forced tool choice, a non-default temperature/top_p
            # and manual thinking budgets (README, provider notes).
            input_price_per_1m_tokens=2.00,
            output_price_per_1m_tokens=10.00,
            cache_read_price_per_1m_tokens=0.10,
            cache_write_price_per_1m_tokens=2.50,
            cache_write_1h_price_per_1m_tokens=4.00,
            default_model="claude-sonnet-5-5",
            models=(ModelSpec("claude-sonnet-5-5", "Claude Sonnet 5.5", 1_000_000, supports_thinking=True),),
            default_model_source=("https://platform.claude.com/docs/en/models/sonnet-5-5/overview", "2026-12-02"),
            prices_source=("https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide", "2026-12-02"),
        ),
        Preset(
            "mistral",
            OPENAI,
            "https://api.mistral.ai/v1",
            "MISTRAL_API_KEY",
            # the alias of the current Mistral Small (https://docs.mistral.ai/models); no prices configured
            default_model="mistral-small-latest",
            default_model_source=("https://docs.mistral.ai/models", "2026-12-02"),
            # Mistral rejects stream_options with 422 extra_forbidden and reports usage on the last chunk anyway
            stream_usage=False,
        ),
        Preset(
            "together",
            OPENAI,
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            # not on Together's deprecations page (stored copy read 2026-12-02); no prices configured
            default_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
            default_model_source=("https://docs.together.ai/docs/deprecations", "2026-12-02"),
        ),
    )
}
