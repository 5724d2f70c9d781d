"""What a provider says about its rate limits, read from its response headers into ``completion.rate_limits`` (chat
and stream, both clients) and ``RateLimitError.rate_limits``. The header values are the providers' own, as real
recordings kept them (cited at each), or as the provider's docs describe them."""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import pytest

import hamr
from hamr import RateLimit, RateLimits
from tests.unit.peer_support import DONE, ENV, MODES, Server, anthropic_stream, call, chunk

CHAT = {
    "id": "c1",
    "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}
ANTHROPIC_CHAT = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}

#: groq/10-stream-usage-twice-ratelimit-headers.json of the reference corpus (cassettes/groq/stream_usage.yaml cites
#: its public source): OpenAI's form, resets as Go durations
GROQ = {
    "x-ratelimit-limit-requests": "1000",
    "x-ratelimit-limit-tokens": "12000",
    "x-ratelimit-remaining-requests": "990",
    "x-ratelimit-remaining-tokens": "10420",
    "x-ratelimit-reset-requests": "14m24s",
    "x-ratelimit-reset-tokens": "7.899999999s",
}
#: a real Anthropic response's headers (edubruell/tidyllm@15b6a0216e495f7814caad7b17d638dd5a134f5f,
#: tests/testthat/claude/api.anthropic.com/v1/messages-f84379-POST.R, recorded 2025-08-21): resets as RFC 3339
#: times, all in the past now
ANTHROPIC = {
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "80000",
    "anthropic-ratelimit-input-tokens-reset": "2025-08-21T12:40:59Z",
    "anthropic-ratelimit-output-tokens-limit": "16000",
    "anthropic-ratelimit-output-tokens-remaining": "16000",
    "anthropic-ratelimit-output-tokens-reset": "2025-08-21T12:41:00Z",
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:59Z",
    "anthropic-ratelimit-tokens-limit": "96000",
    "anthropic-ratelimit-tokens-remaining": "96000",
    "anthropic-ratelimit-tokens-reset": "2025-08-21T12:40:59Z",
}
#: together/04-chat-stop.json: the unsuffixed request limit, a tokens limit, resets in seconds, and a retry-after
#: on a 200
TOGETHER = {
    "retry-after": "2",
    "x-ratelimit-limit": "75",
    "x-ratelimit-limit-tokens": "16666",
    "x-ratelimit-remaining": "149",
    "x-ratelimit-remaining-tokens": "16269",
    "x-ratelimit-reset": "2",
}
#: mistral/01-chat-basic.json: a one-minute window, no reset stated (the query cost is not a limit)
MISTRAL = {
    "x-ratelimit-limit-tokens-minute": "100000",
    "x-ratelimit-remaining-tokens-minute": "98321",
    "x-ratelimit-tokens-query-cost": "32",
    "x-ratelimit-limit-req-minute": "100",
    "x-ratelimit-remaining-req-minute": "99",
}
#: openrouter/04-error-429-rate-limit.json: the reset a Unix time in milliseconds (2025-08-08)
OPENROUTER_429 = {"x-ratelimit-limit": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1754667660000"}
OPENROUTER_429_BODY = {
    "error": {
        "message": "Rate limit exceeded: free-models-per-min. ",
        "code": 429,
        "metadata": {"headers": OPENROUTER_429, "provider_name": None},
    },
    "user_id": "REDACTED",
}


def reply(body: Mapping[str, Any], headers: Mapping[str, str], status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json=dict(body), headers={"content-type": "application/json", **headers})


def chat_limits(provider: str, headers: Mapping[str, str], mode: str = "sync", body: Any = CHAT) -> Any:
    run = call(mode, Server(reply(body, headers)), {"messages": "hi"}, provider=provider)
    return run.completion.rate_limits


@pytest.mark.parametrize("mode", MODES)
def test_openai_style_limits_with_durations_are_read(mode: str) -> None:
    limits = chat_limits("groq", GROQ, mode)

    assert limits == RateLimits(
        requests=RateLimit(limit=1000, remaining=990, reset=864.0),
        tokens=RateLimit(limit=12000, remaining=10420, reset=pytest.approx(7.899999999)),
    )


def test_anthropic_limits_are_read_in_all_four_kinds_and_a_past_reset_is_zero() -> None:
    limits = chat_limits("anthropic", ANTHROPIC, body=ANTHROPIC_CHAT)

    assert limits == RateLimits(
        requests=RateLimit(1000, 999, 0.0),
        tokens=RateLimit(96000, 96000, 0.0),
        input_tokens=RateLimit(80000, 80000, 0.0),
        output_tokens=RateLimit(16000, 16000, 0.0),
    )


def test_an_rfc3339_reset_counts_seconds_from_now() -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=40)
    headers = {"anthropic-ratelimit-requests-remaining": "7", "anthropic-ratelimit-requests-reset": soon.isoformat()}

    limits = chat_limits("anthropic", headers, body=ANTHROPIC_CHAT)

    assert limits.requests.remaining == 7
    assert 30 < limits.requests.reset <= 40


def test_together_limits_and_a_retry_after_on_a_success_are_read() -> None:
    limits = chat_limits("together", TOGETHER)

    assert limits == RateLimits(requests=RateLimit(75, 149, 2.0), tokens=RateLimit(16666, 16269, None), retry_after=2.0)


def test_mistral_per_minute_limits_are_read_without_a_reset() -> None:
    assert chat_limits("mistral", MISTRAL) == RateLimits(
        requests=RateLimit(100, 99, None), tokens=RateLimit(100000, 98321, None)
    )


def test_a_reset_given_as_a_unix_time_in_milliseconds_counts_from_now() -> None:
    soon = int((time.time() + 20) * 1000)
    limits = chat_limits("openrouter", {"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(soon)})

    assert limits.requests.remaining == 3
    assert 10 < limits.requests.reset <= 20


@pytest.mark.parametrize("mode", MODES)
def test_a_rate_limit_error_carries_what_the_provider_said(mode: str) -> None:
    server = Server(*[reply(OPENROUTER_429_BODY, OPENROUTER_429, 429)] * 3)

    with pytest.raises(hamr.RateLimitError) as info:
        call(mode, server, {"messages": "hi"}, provider="openrouter")

    assert info.value.rate_limits == RateLimits(requests=RateLimit(limit=1, remaining=0, reset=0.0))


def test_unreadable_values_are_left_unknown_never_guessed() -> None:
    headers = {
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "-1",
        "x-ratelimit-reset-requests": "soon",
        "x-ratelimit-reset-tokens": "1m30x",
        "x-ratelimit-remaining-tokens": "12",
    }

    assert chat_limits("groq", headers) == RateLimits(
        requests=RateLimit(None, None, None), tokens=RateLimit(None, 12, None)
    )


def test_a_response_without_rate_limit_headers_has_none() -> None:
    assert chat_limits("deepseek", {}) is None


@pytest.mark.parametrize("mode", MODES)
def test_a_streamed_answer_carries_the_limits_of_its_response(mode: str) -> None:
    body = chunk({"content": "hi"}) + chunk({}, "stop") + DONE
    stream = httpx2.Response(200, content=body, headers={"content-type": "text/event-stream", **GROQ})

    run = call(mode, Server(stream), {"messages": "hi", "stream": True}, provider="groq")

    assert run.completion.rate_limits.requests == RateLimit(1000, 990, 864.0)
    assert run.events[-1][-1].completion.rate_limits == run.completion.rate_limits


def test_a_broken_streams_partial_keeps_the_limits() -> None:
    body = anthropic_stream([{"type": "text", "text": "hel"}], {"stop_reason": "end_turn"})
    cut = body[: body.index(b"event: content_block_stop")]
    stream = httpx2.Response(200, content=cut, headers={"content-type": "text/event-stream", **ANTHROPIC})
    http = httpx2.Client(transport=httpx2.MockTransport(Server(stream)))

    with (
        hamr.Client(provider="anthropic", model="claude", env=ENV, http_client=http) as client,
        pytest.raises(hamr.StreamError) as info,
        client.stream("hi") as s,
    ):
        list(s)

    assert info.value.partial.text == "hel"
    assert info.value.partial.rate_limits.requests == RateLimit(1000, 999, 0.0)
