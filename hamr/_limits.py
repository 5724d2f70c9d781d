"""The provider's rate-limit headers as one small value, sans-IO: response headers in, RateLimits out.

The forms read (each from the provider's docs, and from real recordings where one kept them):

- OpenAI and Groq: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, the reset a duration (``6s``,
  ``1m30s``, ``130ms``, ``7.899999999s``);
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``, the reset
  an RFC 3339 time;
- Together and OpenRouter: ``x-ratelimit-{limit,remaining,reset}`` for requests (Together adds ``-tokens``), the
  reset seconds (Together) or a Unix time in milliseconds (OpenRouter);
- Mistral: ``x-ratelimit-{limit,remaining}-{req,tokens}-minute``, a one-minute window with no reset stated;
- everyone: ``retry-after`` / ``retry-after-ms`` (``_errors.parse_retry_after``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from ._errors import parse_retry_after
from ._types import RateLimit, RateLimits

_PARTS = ("limit", "remaining", "reset")
#: header name -> (RateLimits field, RateLimit field)
_HEADERS: dict[str, tuple[str, str]] = {
    **{f"x-ratelimit-{part}-{kind}": (kind, part) for kind in ("requests", "tokens") for part in _PARTS},
    **{
        f"anthropic-ratelimit-{kind.replace('_', '-')}-{part}": (kind, part)
        for kind in ("requests", "tokens", "input_tokens", "output_tokens")
        for part in _PARTS
    },
    # Mistral
    **{
        f"x-ratelimit-{part}-{unit}-minute": (kind, part)
        for unit, kind in (("req", "requests"), ("tokens", "tokens"))
        for part in ("limit", "remaining")
    },
}
#: Together's and OpenRouter's request limit, which yields to the suffixed form when a server sends both
_PLAIN = frozenset(f"x-ratelimit-{part}" for part in _PARTS)
_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")

#: one piece of a Go-style duration (OpenAI, Groq): ``1h``, ``2m``, ``7.899999999s``, ``130ms``
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
#: a bare number this large is a point in time (Unix seconds; from 1e12 on, milliseconds), not seconds to wait
_EPOCH, _EPOCH_MS = 1e9, 1e12


def _count(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isdigit() else None


def _reset(value: str, now: float) -> float | None:
    """Seconds from ``now`` until the reset, from any form above; None when unreadable."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not number >= 0:  # negative or NaN
            return None
        if number >= _EPOCH:
            return max((number / 1000 if number >= _EPOCH_MS else number) - now, 0.0)
        return number
    pieces = _DURATION.findall(text)
    if pieces and "".join(n + u for n, u in pieces) == text:
        return sum(float(n) * _UNIT[u] for n, u in pieces)
    if "T" in text:
        from datetime import datetime  # here: only Anthropic's RFC 3339 resets need it

        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is not None:
            return max(when.timestamp() - now, 0.0)
    return None


def rate_limits(headers: Mapping[str, str], now: float | None = None) -> RateLimits | None:
    """What ``headers`` say about the provider's rate limits, resets counted from ``now`` (default: the clock);
    None when they say nothing. A value hamr cannot read is left None, never guessed."""
    found: dict[str, dict[str, str]] = {}
    plain: dict[str, str] = {}
    retry = False
    for name, value in headers.items():
        key = name.lower()
        if not key.startswith(_PREFIXES):
            continue
        if key.startswith("retry-after"):
            retry = True
        elif key in _PLAIN:
            plain[key.rpartition("-")[2]] = value
        elif key in _HEADERS:
            kind, part = _HEADERS[key]
            found.setdefault(kind, {})[part] = value
    for part, value in plain.items():
        found.setdefault("requests", {}).setdefault(part, value)
    retry_after = parse_retry_after(headers) if retry else None
    if not found and retry_after is None:
        return None
    clock = time.time() if now is None else now
    limits = {
        kind: RateLimit(
            limit=_count(parts["limit"]) if "limit" in parts else None,
            remaining=_count(parts["remaining"]) if "remaining" in parts else None,
            reset=_reset(parts["reset"], clock) if "reset" in parts else None,
        )
        for kind, parts in found.items()
    }
    return RateLimits(**limits, retry_after=retry_after)
