"""Error responses of every shape map to one typed error, with secrets removed."""

from __future__ import annotations

import pytest

import hamr
from hamr._errors import error_from_response, parse_retry_after, redact


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        # shapes from ../shared/reference/responses/: anthropic/03-error-401, deepseek/05-error-401,
        # openrouter/03-error-401 (numeric code), groq/03-error-404-model, relay/02-lmstudio-error-400-model
        (
            401,
            b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},'
            b'"request_id":"req_011CeCGmBjaWkq37Sf5iU7so"}',
            hamr.AuthenticationError,
            "invalid x-api-key",
        ),
        (
            401,
            b'{"error":{"message":"Authentication Fails, Your api key: ****-key is invalid",'
            b'"type":"authentication_error","param":null,"code":"invalid_request_error"}}',
            hamr.AuthenticationError,
            "Authentication Fails",
        ),
        (
            401,
            b'{"error":{"message":"Missing Authentication header","code":401}}',
            hamr.AuthenticationError,
            "Missing Authentication header",
        ),
        (403, b'{"error":{"message":"forbidden"}}', hamr.AuthenticationError, "forbidden"),
        (
            404,
            b'{"error": {"code": "model_not_found", "message": "The model `non-existent` does not exist",'
            b' "type": "invalid_request_error"}}',
            hamr.BadRequestError,
            "does not exist",
        ),
        (
            400,
            b'{\n    "error": {\n        "message": "Invalid model identifier",\n        "code": "model_not_found"\n'
            b"    }\n}",
            hamr.BadRequestError,
            "Invalid model identifier",
        ),
        (422, b'{"detail": "unprocessable"}', hamr.BadRequestError, "unprocessable"),
        (429, b'{"error":{"message":"Rate limit exceeded","code":429}}', hamr.RateLimitError, "Rate limit"),
        (500, b"", hamr.ServerError, "empty response body"),
        (502, b"<html><head><title>502 Bad Gateway</title></head></html>", hamr.ServerError, "502 Bad Gateway"),
        (
            529,
            b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
            hamr.ServerError,
            "Overloaded",
        ),
        (503, b"upstream connect error", hamr.ServerError, "upstream connect error"),
        (
            400,
            b'{"error":{"message":"This model\'s maximum context length is 8192 tokens","code":'
            b'"context_length_exceeded"}}',
            hamr.ContextWindowExceededError,
            "maximum context length",
        ),
        (
            400,
            b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: '
            b'210000 tokens > 200000 maximum"}}',
            hamr.ContextWindowExceededError,
            "prompt is too long",
        ),
    ],
)
def test_error_bodies_map_to_typed_errors(status: int, body: bytes, cls: type, message: str) -> None:
    error = error_from_response("prov", status, {}, body)
    assert type(error) is cls
    assert error.status == status and error.provider == "prov"
    assert message in error.message and str(error).startswith(f"prov: HTTP {status}: ")


def test_anthropic_request_id_and_retry_after_are_kept() -> None:
    error = error_from_response(
        "anthropic",
        429,
        {"retry-after": "7"},
        b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"req_1"}',
    )
    assert isinstance(error, hamr.RateLimitError)
    assert error.retry_after == 7.0 and error.request_id == "req_1" and error.error_type == "rate_limit_error"


def test_request_id_header_is_used_when_the_body_has_none() -> None:
    assert error_from_response("p", 500, {"x-request-id": "abc"}, b"").request_id == "abc"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_in_seconds_ms_or_http_date(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert parse_retry_after(headers, now=now) == expected


def test_secrets_are_redacted_from_message_and_body() -> None:
    key = "my-very-secret-key-value"
    body = f'{{"error":{{"message":"bad key {key} and sk-proj-abcdefghijklmnopqrstuvwxyz"}}}}'.encode()
    error = error_from_response("p", 401, {}, body, secrets=[key])
    for text in (str(error), repr(error), error.body, error.message):
        assert key not in text and "sk-proj-abcdefghijklmnop" not in text


def test_redact_removes_key_shapes() -> None:
    text = "Bearer abcdefghijklmnopqrstuvwxyz0123 gsk_abcdefghijklmnopqrstu sk-ant-api03-abcdefghijklmnopqrstu"
    assert redact(text) == "[REDACTED] [REDACTED] [REDACTED]"


def test_error_object_inside_a_200_body_is_classified_by_its_type_or_code() -> None:
    assert type(error_from_response("p", 200, {}, b'{"error":{"message":"x","code":429}}')) is hamr.RateLimitError
    overloaded = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert type(error_from_response("p", 200, {}, overloaded)) is hamr.ServerError
