"""Issue 8.5: finish_reason "length" means the answer hit max_tokens; a prompt too long for the context window is a
ContextWindowExceededError (a BadRequestError), recognised from each provider's own error text or code, also when
the error object arrives in a 200 body. Rate limits that mention tokens are not mistaken for it."""

from __future__ import annotations

import json

import pytest

import hamr
from hamr import _anthropic, _openai
from hamr._errors import error_from_response
from tests.unit.peer_support import DONE, MODES, Server, call, chunk, decode, json_response
from tests.unit.peer_wire import LMSTUDIO_LENGTH_BODY

USER = [{"role": "user", "content": "hi"}]


def test_length_from_an_openai_compatible_body() -> None:
    # recorded: relay/01 (LM Studio cut off by max_tokens)
    completion = _openai.parse_chat("relay", LMSTUDIO_LENGTH_BODY)
    assert completion.finish_reason == "length" and completion.text == '{"why":'


def test_length_from_a_stream() -> None:
    # constructed in the documented chunk shape
    _, completion = decode(_openai, chunk({"content": "Once upon"}) + chunk({}, "length") + DONE)
    assert completion.finish_reason == "length"


def test_anthropic_max_tokens_stop_is_length() -> None:
    # constructed from the documented Messages response: stop_reason "max_tokens"
    body = (
        b'{"id":"m","type":"message","content":[{"type":"text","text":"Once"}],"stop_reason":"max_tokens","usage":{}}'
    )
    assert _anthropic.parse_chat("anthropic", body).finish_reason == "length"


# Overflow errors, each with where its wording comes from.
OVERFLOW = [
    pytest.param(
        400,
        # recorded live from the local llama-cpp-python server (relay preset, gemma-3-270m-it, n_ctx 2048) on
        # 2026-11-25 with a 40000-word prompt; it answers in OpenAI's documented wording and code
        b'{"error":{"message":"This model\'s maximum context length is 2048 tokens. However, you requested 40015 '
        b"tokens (40010 in the messages, 5 in the completion). Please reduce the length of the messages or "
        b'completion.",'
        b'"type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}',
        id="openai-style-llama-cpp-python",
    ),
    pytest.param(
        400,
        # DeepSeek's OpenAI-style error object (shape of deepseek/05, code = type) with DeepSeek's documented wording
        b'{"error":{"message":"This model\'s maximum context length is 131072 tokens. However, you requested 140000 '
        b"tokens (136000 in the messages, 4000 in the completion). Please reduce the length of the messages or "
        b'completion.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}',
        id="deepseek",
    ),
    pytest.param(
        400,
        # Anthropic error object (shape of anthropic/07) with the documented "prompt is too long" message
        b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 213462 tokens > '
        b'200000 maximum"},"request_id":"req_1"}',
        id="anthropic-prompt-too-long",
    ),
    pytest.param(
        400,
        # Anthropic, when input plus max_tokens overflow (wording as quoted by several peer runtimes' classifiers)
        b'{"type":"error","error":{"type":"invalid_request_error","message":"input length and `max_tokens` exceed '
        b'context limit: 197602 + 8192 > 200000, decrease input length or `max_tokens` and try again"}}',
        id="anthropic-input-plus-max-tokens",
    ),
    pytest.param(
        400,
        # Groq, as quoted in thepersonalaicompany/amurex-backend#51 and OpenHands/OpenHands#1902
        b'{"error":{"message":"Please reduce the length of the messages or completion.","type":"invalid_request_error",'
        b'"param":"messages","code":"context_length_exceeded"}}',
        id="groq",
    ),
    pytest.param(
        400,
        # Mistral's error object (object/type/code null, as in the 422s quoted in avante.nvim#2347) with the wording
        # of docs.mistral.ai/resources/known-limitations
        b'{"object":"error","message":"Prompt contains 300000 tokens, too large for model with 131072 maximum context '
        b'length","type":"invalid_request_error","param":null,"code":null}',
        id="mistral",
    ),
    pytest.param(
        400,
        # OpenRouter error object with numeric code (shape of openrouter/03), wording of its errors documentation
        b'{"error":{"message":"This endpoint\'s maximum context length is 131072 tokens. However, you requested about '
        b'537812 tokens (537812 of text input). Please reduce the length of either one.","code":400}}',
        id="openrouter",
    ),
    pytest.param(
        400,
        # llama.cpp llama-server, as quoted in oobabooga/textgen#7257
        b'{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it",'
        b'"type":"exceed_context_size_error","n_prompt_tokens":14429,"n_ctx":8192}}',
        id="llama.cpp-server",
    ),
    pytest.param(
        500,
        # older llama-server builds sent the same error with HTTP 500 (ggml-org/llama.cpp#15780)
        b'{"error":{"code":500,"message":"the request exceeds the available context size. try increasing the context '
        b'size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":1407,"n_ctx":256}}',
        id="llama.cpp-server-http-500",
    ),
    pytest.param(
        400,
        # vLLM's error object (vllm-project/vllm#20409)
        b'{"object":"error","message":"This model\'s maximum context length is 16384 tokens. However, you requested '
        b"19591 tokens (9591 in the messages, 10000 in the completion). Please reduce the length of the messages or "
        b'completion. None","type":"BadRequestError","param":null,"code":400}',
        id="vllm",
    ),
    # the next three: error objects in the OpenAI shape carrying the provider's wording as collected, one real
    # sentence per provider, in pi-ai's overflow classifier (earendil-works/pi-ai, src/utils/overflow.ts)
    pytest.param(
        400, b'{"error":{"message":"prompt too long; exceeded max context length by 4096 tokens"}}', id="ollama"
    ),
    pytest.param(
        400,
        b'{"error":{"message":"The input (265330 tokens) is longer than the model\'s context length '
        b'(262144 tokens)."}}',
        id="together",
    ),
    pytest.param(
        400,
        b'{"error":"The number of tokens to keep from the initial prompt is greater than the context length."}',
        id="lm-studio",
    ),
]


@pytest.mark.parametrize(("status", "body"), OVERFLOW)
def test_each_providers_overflow_error_is_context_window_exceeded(status: int, body: bytes) -> None:
    error = error_from_response("p", status, {}, body)
    assert isinstance(error, hamr.ContextWindowExceededError)
    assert isinstance(error, hamr.BadRequestError)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        pytest.param(
            413,
            # Groq's tokens-per-minute refusal (assafelovic/gpt-researcher#985): a tier limit, not the context window
            b'{"error":{"message":"Request too large for model `llama-3.1-70b-versatile` in organization `org_x` on '
            b"tokens per minute (TPM): Limit 6000, Requested 14368, please reduce your message size and try again. "
            b'Visit https://console.groq.com/docs/rate-limits for more information.","type":"tokens",'
            b'"code":"rate_limit_exceeded"}}',
            hamr.BadRequestError,
            id="groq-tpm-413",
        ),
        pytest.param(
            429,
            b'{"error":{"message":"Throttling error: Too many tokens, please wait before trying again."}}',
            hamr.RateLimitError,
            id="throttle-mentioning-tokens",
        ),
        pytest.param(
            400,
            # OpenAI's output-limit error: max_tokens itself is too large, the prompt fits
            b'{"error":{"message":"max_tokens is too large: 10000. This model supports at most 4096 completion tokens, '
            b'whereas you provided 10000.","type":"invalid_request_error","param":"max_tokens","code":null}}',
            hamr.BadRequestError,
            id="max-tokens-too-large",
        ),
    ],
)
def test_errors_that_only_mention_tokens_are_not_context_overflow(status: int, body: bytes, cls: type) -> None:
    error = error_from_response("p", status, {}, body)
    assert type(error) is cls


@pytest.mark.parametrize("mode", MODES)
def test_overflow_through_the_client_is_catchable_as_bad_request(mode: str) -> None:
    status, body = OVERFLOW[0].values
    server = Server(json_response(body, status))
    with pytest.raises(hamr.BadRequestError) as info:
        call(mode, server, {"messages": USER}, provider="relay", model="m")
    assert isinstance(info.value, hamr.ContextWindowExceededError)
    assert "maximum context length is 2048" in str(info.value) and len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_llama_cpp_overflow_sent_as_http_500_is_not_retried(mode: str) -> None:
    status, body = next(p.values for p in OVERFLOW if p.id == "llama.cpp-server-http-500")
    server = Server(json_response(body, status), json_response(body, status), json_response(body, status))
    with pytest.raises(hamr.ContextWindowExceededError):
        call(mode, server, {"messages": USER}, provider="relay", model="m")
    assert len(server.requests) == 1  # a 500 is otherwise retried; this one would only fail again


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("provider", "body"),
    [
        # constructed: OpenRouter documents errors inside a 200 body, with the HTTP status as a numeric code
        ("openrouter", {"error": {"code": 400, "message": "This endpoint's maximum context length is 8192 tokens."}}),
        # constructed: an OpenAI-style error object in a 200 body, string code
        (
            "groq",
            {
                "error": {
                    "message": "Please reduce the length of the messages or completion.",
                    "type": "invalid_request_error",
                    "code": "context_length_exceeded",
                }
            },
        ),
        # constructed: an Anthropic error object sent with status 200 by a gateway
        (
            "anthropic",
            {"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 9 > 8"}},
        ),
    ],
)
def test_overflow_in_a_200_body_is_context_window_exceeded(mode: str, provider: str, body: dict[str, object]) -> None:
    server = Server(json_response(json.dumps(body).encode(), 200))
    with pytest.raises(hamr.ContextWindowExceededError):
        call(mode, server, {"messages": USER}, provider=provider)
