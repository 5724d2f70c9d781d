"""hamr: a small, exact LLM provider runtime for OpenAI-compatible, OpenAI Responses and Anthropic-compatible APIs."""

from ._client import AsyncClient, AsyncStream, Client, Stream
from ._config import Config, ProviderSettings, interpolate, load_config, use
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectionError,
    ContextWindowExceededError,
    HamrError,
    InsufficientCreditsError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
    StreamError,
    StreamTimeoutError,
    TimeoutError,
)
from ._presets import PRESETS
from ._pricing import Spend
from ._types import (
    Completion,
    ModelInfo,
    ModelSpec,
    RateLimit,
    RateLimits,
    ReasoningBlock,
    StreamEvent,
    ToolCall,
    Usage,
    UsageIteration,
)

__version__ = "0.4.0"

__all__ = [
    "PRESETS",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "Completion",
    "Config",
    "ConfigError",
    "ConnectionError",
    "ContextWindowExceededError",
    "HamrError",
    "InsufficientCreditsError",
    "InvalidResponseError",
    "ModelInfo",
    "ModelSpec",
    "ProviderError",
    "ProviderSettings",
    "RateLimit",
    "RateLimitError",
    "RateLimits",
    "ReasoningBlock",
    "RequestTooLargeError",
    "ServerError",
    "Spend",
    "Stream",
    "StreamError",
    "StreamEvent",
    "StreamTimeoutError",
    "TimeoutError",
    "ToolCall",
    "Usage",
    "UsageIteration",
    "interpolate",
    "load_config",
    "use",
]
