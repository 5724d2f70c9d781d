"""Typed errors, and the one place that turns an HTTP error response (any body shape) into one of them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._types import Completion, RateLimits

_KEY_SHAPES = re.compile(
    r"sk-(?:ant-|or-v1-|proj-)?[A-Za-z0-9_\-]{16,}|gsk_[A-Za-z0-9]{16,}|[Bb]earer\s+[A-Za-z0-9._~+/\-]{16,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*)?"
)
REDACTED = "[REDACTED]"
SNIPPET_LIMIT = 500


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret value and anything shaped like a key from ``text``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _KEY_SHAPES.sub(REDACTED, text)


class HamrError(Exception):
    """Base class of every error hamr raises."""


class ConfigError(HamrError):
    """A config file, an environment variable or an argument is wrong. Names the file and key path."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.message = message
        where = ", ".join(p for p in (path and f"in {path}", key and f"at {key}") if p)
        super().__init__(f"{message} ({where})" if where else message)


class ProviderError(HamrError):
    """The provider answered with an error, or could not be reached, or sent something unreadable."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: str = "",
        code: str | None = None,
        error_type: str | None = None,
        should_retry: bool | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        self.code = code
        self.error_type = error_type
        #: what the response's ``x-should-retry`` header said (True/False), None when it was absent or garbled
        self.should_retry = should_retry
        #: what the error response's headers said about the provider's rate limits, None when nothing
        self.rate_limits = rate_limits
        self.message = message
        prefix = f"{provider}: " + (f"HTTP {status}: " if status else "")
        super().__init__(prefix + message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, message={self.message!r})"


class AuthenticationError(ProviderError):
    """401/403: the key is missing, wrong, or not allowed to do this."""


class RateLimitError(ProviderError):
    """429: too many requests; ``retry_after`` says how long the provider asked to wait, when it did, and
    ``rate_limits`` what its headers said about the limit that was hit."""


class BadRequestError(ProviderError):
    """400/404/422: the request itself is wrong (unknown model, bad parameter)."""


class ContextWindowExceededError(BadRequestError):
    """The prompt (plus ``max_tokens``) is longer than the model's context window."""


class RequestTooLargeError(BadRequestError):
    """413 (Anthropic ``request_too_large``): the request body has more bytes than the endpoint accepts (an image or
    PDF too big, say). Not a context-window overflow: trimming old turns rarely helps; never retried."""


class InsufficientCreditsError(ProviderError):
    """402 (Anthropic ``billing_error``, OpenRouter "Insufficient credits", DeepSeek "Insufficient Balance"), or
    Anthropic's 400 "credit balance is too low": the account cannot pay for the request. Never retried."""


class ServerError(ProviderError):
    """5xx, including Anthropic's 529 overloaded; also Groq's 498 ``capacity_exceeded`` (its flex tier is full): the
    provider could not serve the request now."""


class InvalidResponseError(ProviderError):
    """The provider answered, but not with something hamr can read (not JSON, missing fields)."""


class TimeoutError(ProviderError):
    """A timeout fired; ``timeout`` names its config key: ``connect_timeout``, ``read_timeout`` or
    ``stream_idle_timeout``."""

    def __init__(self, message: str, *, timeout: str, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(message, **kwargs)


class ConnectionError(ProviderError):
    """The provider could not be reached, or the connection broke before a response arrived."""


class StreamError(ProviderError):
    """A stream broke after it started: an error event arrived or the connection dropped.
    ``partial`` holds everything received until then."""

    def __init__(self, message: str, *, partial: Completion, **kwargs: Any) -> None:
        self.partial = partial
        super().__init__(message, **kwargs)


class StreamTimeoutError(StreamError, TimeoutError):
    """A stream went silent for longer than ``stream_idle_timeout``: both a StreamError (``partial`` keeps what
    arrived) and a TimeoutError (``timeout == "stream_idle_timeout"``), so either ``except`` clause catches it."""


# How each provider says "the prompt does not fit the context window" (checked against their documented errors).
_CONTEXT_PATTERNS = re.compile(
    "|".join(
        (
            r"maximum context length",  # OpenAI, DeepSeek, OpenRouter, vLLM; Mistral "... 32768 maximum context length"
            r"prompt is too long",  # Anthropic "prompt is too long: 210000 tokens > 200000 maximum"
            r"exceed context limit",  # Anthropic "input length and `max_tokens` exceed context limit: ..."
            r"reduce the length",  # Groq "Please reduce the length of the messages or completion."
            r"exceeds the available context size|context size",  # llama.cpp server
            r"exceed context window",  # llama-cpp-python "Requested tokens (5000) exceed context window of 4096"
            r"greater than the context length|context length of only",  # LM Studio
            r"exceeded max context length",  # Ollama "prompt too long; exceeded max context length by 12 tokens"
            r"longer than the model's context length",  # Together
            r"maximum prompt length",  # xAI-style gateways
            r"context[ _]length|context[ _]window|input is too long|too many tokens",
            r"exceeds the (?:model's )?(?:maximum|max)",
        )
    ),
    re.IGNORECASE,
)
_CONTEXT_CODES = frozenset({"context_length_exceeded", "model_context_window_exceeded"})
_CONTEXT_TYPES = frozenset({"exceed_context_size_error"})  # llama.cpp, sent with HTTP 400 (older builds: 500)
# throttling that mentions tokens ("Too many tokens, please wait", "tokens per minute") is a rate limit, not overflow
_NOT_CONTEXT = re.compile(r"rate limit|per minute|\(TPM\)|throttl|quota|please wait", re.IGNORECASE)


# Bodies seen in the wild (messages of the 402/400 bodies these providers document or their users report); the
# request-size pattern keeps "Request exceeds the maximum allowed number of bytes" away from _CONTEXT_PATTERNS.
_CREDIT_PATTERNS = re.compile(r"insufficient (?:credits|balance)|credit balance is too low", re.IGNORECASE)
_TOO_LARGE_PATTERNS = re.compile(
    r"maximum allowed number of bytes|request entity too large|payload too large", re.IGNORECASE
)


def _is_context_overflow(message: str, code: str | None, etype: str | None) -> bool:
    if code in _CONTEXT_CODES or etype in _CONTEXT_TYPES:
        return True
    return bool(_CONTEXT_PATTERNS.search(message)) and not _NOT_CONTEXT.search(message)


def _seconds(value: str, scale: float = 1.0) -> float | None:
    """A wait given as a number (an infinite one too: ``max_retry_wait`` caps it); None for anything else, and for
    a negative or NaN number."""
    try:
        seconds = float(value) / scale
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``retry-after`` (seconds or HTTP date); None when absent/garbled.
    A garbled value (``soon``, a negative or NaN number, a header sent twice with its values joined) is ignored:
    the next form is tried, else the caller's own backoff applies. A date in the past means no wait."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None and (seconds := _seconds(ms, 1000.0)) is not None:
        return seconds
    value = lowered.get("retry-after")
    if value is None:
        return None
    if (seconds := _seconds(value)) is not None:
        return seconds
    import email.utils  # here: only an HTTP-date Retry-After needs it, and it costs `import hamr` a tenth

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _describe_body(body: bytes) -> tuple[str, str | None, str | None, str | None, str]:
    """(message, code, type, request_id, snippet) from an error body of any shape."""
    text = body.decode("utf-8", errors="replace").strip()
    snippet = text[:SNIPPET_LIMIT]
    if not text:
        return "empty response body", None, None, None, ""
    try:
        data = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("<"):
            title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
            summary = title.group(1).strip() if title else "an HTML page"
            return f"non-JSON error page: {summary}", None, None, None, snippet
        return text.splitlines()[0][:200], None, None, None, snippet
    if not isinstance(data, dict):
        return text[:200], None, None, None, snippet
    err = data.get("error", data)
    request_id = data.get("request_id") if isinstance(data.get("request_id"), str) else None
    if isinstance(err, str):
        return err, None, None, request_id, snippet
    if not isinstance(err, dict):
        return text[:200], None, None, request_id, snippet
    message = err.get("message") or err.get("detail") or data.get("message") or data.get("detail") or text[:200]
    code = err.get("code")
    etype = err.get("type")
    return (
        str(message),
        None if code is None else str(code),
        None if etype is None else str(etype),
        request_id,
        snippet,
    )


_TYPE_CLASSES: dict[str, type[ProviderError]] = {
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "rate_limit_error": RateLimitError,
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "server_error": ServerError,
    "timeout_error": ServerError,  # Anthropic's 504
    "invalid_request_error": BadRequestError,
    "not_found_error": BadRequestError,
    "conflict_error": BadRequestError,  # Anthropic's 409, a BadRequestError as the status is (retried, as 409 is)
    "request_too_large": RequestTooLargeError,
    "billing_error": InsufficientCreditsError,
    # codes of a failed Response (the Responses API's ResponseError), which names no type
    "rate_limit_exceeded": RateLimitError,
    "invalid_prompt": BadRequestError,
}


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    """The ``x-should-retry`` response header (sent by OpenAI and Anthropic) as True/False; None when absent or
    neither ``true`` nor ``false``."""
    value = next((v for k, v in headers.items() if k.lower() == "x-should-retry"), None)
    return {"true": True, "false": False}.get((value or "").strip().lower())


def error_from_response(
    provider: str, status: int, headers: Mapping[str, str], body: bytes, secrets: Iterable[str] = ()
) -> ProviderError:
    """Map an HTTP error response to the typed error a caller catches."""
    from ._limits import rate_limits  # it reads retry-after with parse_retry_after, above

    secrets = tuple(secrets)
    message, code, etype, request_id, snippet = _describe_body(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    request_id = request_id or lowered.get("request-id") or lowered.get("x-request-id")
    cls: type[ProviderError] = ProviderError
    if status < 400:  # an error object inside a successful response: classify by what it says
        numeric = int(code) if code and code.isdigit() else 0
        if 400 <= numeric < 600:
            status = numeric
        else:
            cls = _TYPE_CLASSES.get(etype or "") or _TYPE_CLASSES.get(code or "", ProviderError)
    if status in (401, 403):
        cls = AuthenticationError
    elif status == 429:
        cls = RateLimitError
    elif status == 402:
        cls = InsufficientCreditsError
    elif status == 413:
        # a body-size limit, unless the message counts tokens (Groq's 413 "Request too large ... tokens per minute")
        cls = BadRequestError if "token" in message.lower() else RequestTooLargeError
    elif status in (400, 404, 409, 422):
        cls = BadRequestError
    elif status >= 500 or status == 498:
        cls = ServerError
    if cls in (BadRequestError, ProviderError):
        # the body says more than a generic status: Anthropic's error types, Anthropic's 400 "Your credit balance is
        # too low to access the Anthropic API" (as its users report it, e.g. anthropics/claude-code#66314)
        if etype in ("billing_error", "request_too_large"):
            cls = _TYPE_CLASSES[etype]
        elif _CREDIT_PATTERNS.search(message):
            cls = InsufficientCreditsError
    too_large = etype == "request_too_large" or bool(_TOO_LARGE_PATTERNS.search(message))
    if too_large and cls in (BadRequestError, ProviderError):
        cls = RequestTooLargeError
    # a prompt over the context window: also inside a 200 body, as llama.cpp's HTTP 500, or as a 413 that counts
    # tokens; never a body-size complaint ("Request exceeds the maximum allowed number of bytes" also matches
    # _CONTEXT_PATTERNS' "exceeds the maximum")
    if (
        not too_large
        and _is_context_overflow(message, code, etype)
        and (cls in (BadRequestError, ProviderError) or etype in _CONTEXT_TYPES)
    ):
        cls = ContextWindowExceededError
    return cls(
        redact(message, secrets),
        provider=provider,
        status=status,
        request_id=request_id,
        retry_after=parse_retry_after(headers),
        body=redact(snippet, secrets),
        code=code,
        error_type=etype,
        should_retry=should_retry_header(headers),
        rate_limits=rate_limits(headers),
    )
