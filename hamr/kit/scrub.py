"""What happens to an interaction before it is written: secrets replaced by placeholders (by value, everywhere),
volatile headers dropped, compressed bodies decoded (vcrpy's ``decode_compressed_response``).

The same hooks serve live recording (vcrpy's ``before_record_request`` / ``before_record_response``) and the
construction of cassettes from reference bodies, so both kinds of cassette look alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol, TypeVar


class _Request(Protocol):
    """A recorded request as vcrpy hands it to ``before_record_request`` (the kit itself needs no vcrpy)."""

    uri: str
    headers: MutableMapping[str, Any]
    body: Any


R = TypeVar("R", bound=_Request)

#: response headers that change on every call and say nothing about the wire format. The rate-limit headers
#: (``x-ratelimit-*``, ``anthropic-ratelimit-*``) change on every call too, but hamr reads them (``rate_limits``):
#: they are kept, and a provider that stops sending them shows in the drift report
VOLATILE_RESPONSE = re.compile(
    r"^(date|age|expires|etag|last-modified|set-cookie|cf-ray|cf-cache-status|alt-svc|nel|report-to|server-timing|via"
    r"|x-request-id|request-id|x-amzn-requestid|x-amz-cf-id|x-amz-cf-pop|x-cloud-trace-context|x-envoy-.*"
    r"|openai-processing-ms|openai-organization|openai-project|anthropic-organization-id|x-kong-.*"
    r"|x-groq-region|x-mistral-.*|strict-transport-security|vary"
    r"|access-control-.*|cache-control|connection|keep-alive|transfer-encoding)$",
    re.IGNORECASE,
)
#: ...except these, which a test reads
KEEP_RESPONSE = frozenset({"retry-after", "retry-after-ms", "x-should-retry"})
#: request headers that belong to the HTTP library, not to hamr's contract
LIBRARY_REQUEST = frozenset({"user-agent", "accept-encoding", "connection", "host", "content-length"})


def placeholder(name: str) -> str:
    return f"<{name}>"


class Scrubber:
    """Replaces every secret value (API keys, values interpolated into headers) with its placeholder."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        # longest first, so a value containing another is replaced whole
        self._secrets = sorted(((v, p) for v, p in secrets.items() if v and v != p), key=lambda s: -len(s[0]))

    def text(self, text: str) -> str:
        for value, replacement in self._secrets:
            text = text.replace(value, replacement)
        return text

    def _body(self, body: Any) -> Any:
        if isinstance(body, bytes):
            try:
                return self.text(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return body
        return self.text(body) if isinstance(body, str) else body

    def request(self, request: R) -> R:
        request.uri = self.text(request.uri)
        for name in list(request.headers):
            if name.lower() in LIBRARY_REQUEST:
                del request.headers[name]
            else:
                request.headers[name] = self.text(str(request.headers[name]))
        request.body = self._body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        headers = {}
        for name, values in (response.get("headers") or {}).items():
            if VOLATILE_RESPONSE.match(name) and name.lower() not in KEEP_RESPONSE:
                continue
            headers[name] = [self.text(str(v)) for v in values]
        response["headers"] = headers
        body = response.get("body") or {}
        body["string"] = self._body(body.get("string"))
        return response
