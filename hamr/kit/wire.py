"""The bytes of a conformance run: one exchange (request and response as they crossed the wire), the transport that
records them under a request budget, the one that serves them back, and the cassette file they live in (the
contract suite's format, ``cassette_format``, keys scrubbed by value)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import httpx2

from hamr.kit import cassette_format
from hamr.kit.scrub import LIBRARY_REQUEST, VOLATILE_RESPONSE, Scrubber


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, bodies as bytes."""

    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int
    headers: Mapping[str, str]
    body: bytes
    #: which of the run's limits cut this exchange short ("" when none did); status 0: no answer at all
    cut: str = ""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def request_json(self) -> Any:
        try:
            return json.loads(self.request_body) if self.request_body else None
        except ValueError:
            return None


class BudgetExceeded(RuntimeError):
    """A request beyond the run's budget: the kit never sends it."""


@dataclass
class Budget:
    limit: int
    used: int = 0

    def left(self) -> int:
        return self.limit - self.used


@dataclass(frozen=True)
class Limits:
    """What one request may take, so a run is bounded whatever the server does (one that ignores ``max_tokens``
    would otherwise generate to the end of its context on every request)."""

    #: seconds from sending the request to the end of its answer
    seconds: float = 120.0
    #: SSE events of one streamed answer (every probe asks for at most 96 tokens, about one event each)
    events: int = 400

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "events": self.events}


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class Recorder(httpx2.BaseTransport):
    """Forwards each request to the server, keeps request and whole response as an Exchange, and counts it against
    the budget (refusing one the budget does not cover)."""

    def __init__(self, budget: Budget, inner: httpx2.BaseTransport | None = None, limits: Limits | None = None) -> None:
        self.budget = budget
        self.limits = limits or Limits()
        # a fresh connection per request: llama-server closes a kept-alive connection after an error inside a stream
        # without saying so, and the next request on it would fail before the server saw it
        self.inner = inner or httpx2.HTTPTransport(limits=httpx2.Limits(max_keepalive_connections=0))
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.budget.left() <= 0:
            raise BudgetExceeded(f"the request budget ({self.budget.limit}) is spent")
        self.budget.used += 1
        body = request.read()
        deadline = time.monotonic() + self.limits.seconds
        request.extensions = {**request.extensions, "timeout": _timeouts(request, self.limits.seconds)}
        kept = Exchange(request.method, str(request.url), dict(request.headers), body, 0, {}, b"")
        try:
            response = self.inner.handle_request(request)
            headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in _FRAMING}
            kept = replace(kept, status=response.status_code, headers=headers)
            try:
                content, cut = self._read(response, deadline)
            finally:
                response.close()
        except httpx2.TimeoutException:
            self.exchanges.append(replace(kept, cut=_no_answer(self.limits, kept.status)))
            raise
        self.exchanges.append(replace(kept, body=content, cut=cut))
        return httpx2.Response(response.status_code, headers=headers, content=content)

    def _read(self, response: httpx2.Response, deadline: float) -> tuple[bytes, str]:
        """The body, or as much of it as the limits allow with the limit that cut it."""
        parts: list[bytes] = []
        events = 0
        for chunk in cast(httpx2.SyncByteStream, response.stream):  # a transport's answer: not read yet
            ends = [m.end() for m in _EVENT_END.finditer(chunk)]
            if events + len(ends) > self.limits.events:  # kept up to the last event the limit allows
                parts.append(chunk[: ends[self.limits.events - events - 1]] if self.limits.events > events else b"")
                return b"".join(parts), f"the stream ran past {self.limits.events} events (--max-events)"
            parts.append(chunk)
            events += len(ends)
            if time.monotonic() > deadline:
                return b"".join(parts), f"the answer took over {self.limits.seconds:g} s (--request-timeout)"
        return b"".join(parts), ""

    def close(self) -> None:
        """Kept open: every hamr client of a run shares this transport (and its connections), each closing its own
        httpx2 client after its step."""


def _timeouts(request: httpx2.Request, seconds: float) -> dict[str, float | None]:
    """The request's own timeouts, none longer than the request's limit."""
    own = request.extensions.get("timeout") or {}
    return {k: min(own.get(k) or seconds, seconds) for k in ("connect", "read", "write", "pool")}


def _no_answer(limits: Limits, status: int) -> str:
    where = "whole body" if status else "answer"
    return f"no {where} within {limits.seconds:g} s (--request-timeout)"


#: headers that describe how the body was framed or compressed on the wire, not what it holds
_FRAMING = frozenset({"content-length", "content-encoding", "transfer-encoding"})


class ReplayMismatch(AssertionError):
    """The kit's request differs from the one the cassette holds: the cassette is from another version of the kit."""


class Replayer(httpx2.BaseTransport):
    """Serves recorded exchanges in order; each request must be the recorded one (method, URL, JSON body)."""

    def __init__(self, exchanges: list[Exchange], where: str) -> None:
        self.exchanges = exchanges
        self.where = where
        self.position = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.position >= len(self.exchanges):
            raise ReplayMismatch(f"{self.where}: the kit sent {request.method} {request.url}, the cassette has no more")
        recorded = self.exchanges[self.position]
        body = request.read()
        sent = (request.method, str(request.url), _parsed(body))
        if sent != (recorded.method, recorded.url, _parsed(recorded.request_body)):
            raise ReplayMismatch(
                f"{self.where}: request #{self.position} differs from the recorded one ({request.method} {request.url})"
            )
        self.position += 1
        if recorded.cut and not recorded.body:  # the recorder saw the request time out: so does the replay
            raise httpx2.ReadTimeout(recorded.cut, request=request)
        return httpx2.Response(recorded.status, headers=dict(recorded.headers), content=recorded.body)


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


# ------------------------------------------------------------------------------------------------------------------
# cassettes
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cassette:
    """One probe's exchanges with the provenance and the run facts (target, steps, tries) a replay needs."""

    provenance: dict[str, Any]
    conform: dict[str, Any]
    exchanges: list[Exchange] = field(default_factory=list)


def scrubbed(exchange: Exchange, scrubber: Scrubber) -> Exchange:
    """The exchange as it may be written: secrets replaced by placeholders, library and volatile headers dropped."""
    request_headers = {
        k.lower(): scrubber.text(v) for k, v in exchange.request_headers.items() if k.lower() not in LIBRARY_REQUEST
    }
    headers = {k: scrubber.text(v) for k, v in exchange.headers.items() if not VOLATILE_RESPONSE.match(k)}
    return Exchange(
        exchange.method,
        scrubber.text(exchange.url),
        request_headers,
        scrubber.text(exchange.request_body.decode("utf-8", "replace")).encode("utf-8"),
        exchange.status,
        headers,
        _scrub_bytes(exchange.body, scrubber),
        exchange.cut,
    )


def _scrub_bytes(body: bytes, scrubber: Scrubber) -> bytes:
    try:
        return scrubber.text(body.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return body


def dumps(cassette: Cassette) -> str:
    interactions = [
        {
            "request": {
                "method": e.method,
                "uri": e.url,
                "body": e.request_body or None,
                "headers": {k: [v] for k, v in e.request_headers.items()},
            },
            "response": {
                "status": {"code": e.status, "message": ""},
                "headers": {k: [v] for k, v in e.headers.items()},
                "body": {"string": e.body},
            },
        }
        for e in cassette.exchanges
    ]
    cuts = {str(n): e.cut for n, e in enumerate(cassette.exchanges) if e.cut}
    metadata = {"provenance": cassette.provenance, "conform": {**cassette.conform, **({"cuts": cuts} if cuts else {})}}
    return cassette_format.serialize({"interactions": interactions, "metadata": metadata})


def loads(text: str) -> Cassette:
    document = cassette_format.load(text)
    data = cassette_format.deserialize(text)
    exchanges = []
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        exchanges.append(
            Exchange(
                request["method"],
                request["uri"],
                {k: v[0] for k, v in request["headers"].items()},
                request["body"] or b"",
                int(response["status"]["code"]),
                {k: v[0] for k, v in response["headers"].items() if k != "content-length"},
                response["body"]["string"],
            )
        )
    conform = (document.get("metadata") or {}).get("conform")
    if not isinstance(conform, dict):
        raise cassette_format.CassetteFormatError("not a conformance cassette: metadata.conform is missing")
    cuts = conform.pop("cuts", None) or {}
    exchanges = [replace(e, cut=str(cuts.get(str(n), ""))) for n, e in enumerate(exchanges)]
    return Cassette(dict(document["provenance"]), conform, exchanges)
