"""How each non-live cassette is made: the responses it serves and where they come from.

A spec answers the contract test's requests in order; ``nox -s record -- <preset> --construct`` (pytest
``--construct``) runs the test against them and writes the cassette from the requests hamr really sent. A response
is either a **real recording** (``ref``: a real provider's response as a public project recorded it, read from the
local reference corpus and cited by its original source; see ``contract_evidence``) or **constructed** (``doc``:
written from the provider's documentation, when no real response for the situation exists). Every spec's
``provenance`` says which, and why.

Only the build needs this module and the reference corpus; replaying the cassettes needs neither.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hamr.kit import cassette_format
from hamr.kit.scrub import KEEP_RESPONSE, VOLATILE_RESPONSE
from tests.contract.contract_cases import CASES
from tests.contract.contract_evidence import CONSTRUCTED, REAL, recording

#: the day the documentation-made bodies below were written (a spec whose body changes gets its own date)
WRITTEN = "2026-11-25"
REBUILT = (
    "rebuilt: the request stored here is the one hamr sends for this contract test (method, URL, headers and JSON "
    "body as hamr built them, keys replaced by <PLACEHOLDER>), not the recorded one; recorded_request is what the "
    "provider was answering"
)

#: which recorded response headers the reference corpus keeps at all (its README's schema)
CORPUS_HEADERS = "the corpus keeps only content-type, retry-after, x-should-retry and x-ratelimit-*"
JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Spec:
    provenance: dict[str, Any]
    replies: list[Reply]


def reference(name: str) -> Reply:
    """A reference recording's response, verbatim (headers as the corpus keeps them)."""
    rec = recording(name)
    return Reply(rec.status, dict(rec.headers), rec.body)


#: why a recorded response is served more than once, unless a spec says otherwise
RETRIED = "hamr retries once, then raises"


def ref(
    name: str,
    note: str = "",
    times: int = 1,
    *,
    content_type: str | None = None,
    again: str = RETRIED,
    edits: str = "",
) -> Spec:
    """A spec serving a real recording's response (``times`` times, ``again`` saying why), cited by its original
    public source. ``content_type`` is added only where the source kept no response headers at all; ``edits`` says
    what the source's author changed in what they captured, where their history shows it."""
    return _real([recording(name)], note, times, content_type, again, edits)


def refs(name: str, indices: Sequence[int], note: str = "") -> Spec:
    """A spec serving several interactions of one public recording (``github:...``, without ``#n``) in their
    order: a conversation as the provider answered it, cited once with every interaction index."""
    return _real([recording(f"{name}#{n}") for n in indices], note, 1, None, RETRIED)


def conversation(names: Sequence[str], note: str = "", *, content_type: str | None = None, edits: str = "") -> Spec:
    """A spec serving a conversation a public source stores one turn per file (``github:...#0`` each), in order,
    each file cited."""
    return _real([recording(name) for name in names], note, 1, content_type, RETRIED, edits)


def _real(recs: list[Any], note: str, times: int, content_type: str | None, again: str, edits: str = "") -> Spec:
    replies = []
    for rec in recs:
        headers = dict(rec.headers)
        if "content-type" not in headers:
            if content_type is None:
                raise ValueError(f"{rec.name} kept no content-type: pass the one the provider sends (content_type=...)")
            headers["content-type"] = content_type
        replies.append(Reply(rec.status, headers, rec.body))
    first = recs[0]
    citation = dict(first.citation)
    kept_by = "the source stored" if first.name.startswith("github:") else f"of the recorded headers {CORPUS_HEADERS}"
    statement = _response_statement(first.body, first.headers, replies[0].headers, times, kept_by, again)
    cited: Any = citation
    if len({rec.citation["path"] for rec in recs}) > 1:
        cited = [rec.citation for rec in recs]
        statement = f"each of the {len(recs)} interactions, in order: {statement}"
    elif len(recs) > 1:
        citation["interaction_index"] = [rec.citation["interaction_index"] for rec in recs]
        statement = f"each of the {len(recs)} interactions, in order: {statement}"
    provenance: dict[str, Any] = {
        "source": REAL,
        "recording": cited,
        "recorded_request": first.recorded_request if len(recs) == 1 else [rec.recorded_request for rec in recs],
        "request": REBUILT,
        "response": statement,
    }
    several = recs if isinstance(cited, list) else recs[:1]  # each file's own words; one file's said once
    said = [rec.corpus_normalisation for rec in several if rec.corpus_normalisation]
    normalisation = "; ".join([*dict.fromkeys(said), *([f"the source's own edits: {edits}"] if edits else [])])
    if normalisation:
        provenance["corpus_normalisation"] = normalisation
    if note:
        provenance["note"] = note
    return Spec(provenance, replies * times)


def _response_statement(
    raw: bytes, recorded: dict[str, str], served: dict[str, str], times: int, kept_by: str, again: str
) -> str:
    """Exactly what the cassette changes in a recorded response, worked out from the bytes and headers."""
    encoded = cassette_format.encode_body(raw, served.get("content-type", ""))
    if (encoded.get("json_layout") or {}).get("canonical_numbers"):
        parts = [
            "status and body as recorded; the body replays byte for byte except that numbers are spelled as "
            "Python writes them (json_layout: canonical_numbers)"
        ]
    else:
        parts = ["status and body as recorded, replayed byte for byte"]
    kept = [h for h in recorded if (not VOLATILE_RESPONSE.match(h) or h in KEEP_RESPONSE) and h != "content-length"]
    dropped = [h for h in recorded if h not in kept and h != "content-length"]
    if kept:
        parts.append(f"headers kept as recorded: {', '.join(kept)} ({kept_by})")
    if dropped:
        parts.append(f"headers dropped as volatile: {', '.join(dropped)}")
    parts += [f"{h}: {served[h]} added (the source kept no response headers)" for h in served if h not in recorded]
    parts.append("content-length recomputed")
    if times > 1:
        parts.append(f"served {times} times ({again})")
    return "; ".join(parts)


def doc(follows: Iterable[str], note: str, *replies: Reply, why: str = "", constructed: str = WRITTEN) -> Spec:
    """A spec written from documentation pages (URLs in ``follows``), in the shape of the cited recordings
    (``<provider>/<file>.json`` in ``follows``, cited by their original source). ``why`` says why no real
    recording backs it (default: none of the situation exists, worded per preset and test by ``spec``)."""
    follows = list(follows)
    provenance: dict[str, Any] = {
        "source": CONSTRUCTED,
        "docs": [f for f in follows if f.startswith("https://")],
        "constructed": constructed,
    }
    shaped = [recording(f).citation for f in follows if not f.startswith("https://")]
    if shaped:
        provenance["shaped_after"] = shaped
    if why:
        provenance["why"] = why
    provenance["note"] = note
    return Spec(provenance, list(replies))


def body(value: Any, *, compact: bool = True) -> bytes:
    return json.dumps(value, separators=(",", ":") if compact else None, ensure_ascii=False).encode("utf-8")


def reply(status: int, value: Any, headers: dict[str, str] | None = None, *, compact: bool = True) -> Reply:
    return Reply(status, {**JSON, **(headers or {})}, body(value, compact=compact))


def sse(events: Iterable[Any], *, done: bool = True, headers: dict[str, str] | None = None) -> Reply:
    """``data:`` events (dicts, or raw lines such as comments and ``event:`` pairs), blank-line framed."""
    parts = []
    for event in events:
        parts.append(event if isinstance(event, str) else "data: " + json.dumps(event, separators=(",", ":")))
    if done:
        parts.append("data: [DONE]")
    return Reply(200, {**SSE, **(headers or {})}, ("\n\n".join(parts) + "\n\n").encode("utf-8"))


# ------------------------------------------------------------------------------------------------------------------
# the OpenAI chat-completions shape most presets share
# ------------------------------------------------------------------------------------------------------------------

TOOL_RESULT = (
    "No reference recording answers a tool-result follow-up: this is the provider's real answer to a plain question "
    "(recorded_request), the same response object an answer after a tool result is. What this test checks is the "
    "follow-up request hamr sends (stored here as hamr built it) and that the text answer parses."
)
OPENAI_DOCS = [
    "https://platform.openai.com/docs/api-reference/chat/object",
    "https://platform.openai.com/docs/api-reference/chat/streaming",
]
WEATHER_ARGS = '{"latitude": "52.5200", "longitude": "13.4050"}'
WEATHER_ANSWER = "It is sunny in Berlin right now, 21 °C."


def completion(
    model: str,
    content: Any,
    *,
    id: str = "chatcmpl-contract-1",
    finish: str = "stop",
    usage: dict[str, Any] | None = None,
    message_extra: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **(message_extra or {})}
    out = {
        "id": id,
        "object": "chat.completion",
        "created": 1764072000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 42, "completion_tokens": 12, "total_tokens": 54},
    }
    out.update(top or {})
    return out


def tool_calls(*calls: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"id": cid, "type": "function", "function": {"name": name, "arguments": args}} for cid, name, args in calls]


def chunk(model: str, delta: dict[str, Any], *, finish: str | None = None, **top: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-contract-2",
        "object": "chat.completion.chunk",
        "created": 1764072001,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **top,
    }


def openai_error(message: str, type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def openai_tool_stream(model: str, call_id: str, *, usage: dict[str, Any] | None, **top: Any) -> list[Any]:
    """The documented streamed tool call: id and name first with empty arguments, then argument fragments."""
    first = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": "weather", "arguments": ""}}
        ],
    }
    events: list[Any] = [chunk(model, first, **top)]
    for piece in _split(WEATHER_ARGS, 7):
        events.append(chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, **top))
    events.append(chunk(model, {}, finish="tool_calls", **top))
    if usage is not None:
        events.append({**chunk(model, {}, **top), "choices": [], "usage": usage})
    return events


def openrouter_upstream_error(provider_name: str) -> Reply:
    """OpenRouter's documented 502 for a failing upstream provider."""
    metadata = {"provider_name": provider_name, "raw": "upstream connect error"}
    return reply(502, {"error": {"code": 502, "message": "Provider returned error", "metadata": metadata}})


def mid_stream_error(model: str, message: str, type: str = "server_error", **top: Any) -> Reply:
    """Some text, then a ``data:`` line carrying an ``error`` object and no [DONE]: the OpenAI-compatible way a
    failure after the 200 is reported (what hamr expects from providers that document no other)."""
    events: list[Any] = [chunk(model, {"role": "assistant", "content": ""}, **top)]
    events += [chunk(model, {"content": piece}, **top) for piece in ("1", ", 2")]
    events.append({"error": {"message": message, "type": type, "code": None}})
    return sse(events, done=False)


# ------------------------------------------------------------------------------------------------------------------
# relay: the cassettes the local gemma model cannot produce
# ------------------------------------------------------------------------------------------------------------------


def _relay() -> dict[str, Spec]:
    llamacpp = "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md"
    return {
        "reasoning": ref("relay/05-llamabox-reasoning.json", "llama-box (llama.cpp-based) with a reasoning model."),
        "reasoning_stream": ref(
            "relay/04-ollama-stream-tool-call.json",
            "The only streamed reasoning a local server was recorded sending: Ollama's qwen3 streams delta.reasoning "
            "(then a tool call, which this test does not look at). llama.cpp itself sends delta.reasoning_content.",
        ),
        "error_unknown_model": ref(
            "relay/02-lmstudio-error-400-model.json",
            "LM Studio rejects an unknown model id; llama-cpp-python (the live relay) serves any id with its one "
            "model.",
        ),
        "error_mid_stream": doc(
            [llamacpp],
            "a data line with an error object after partial output, as OpenAI-compatible servers report it.",
            mid_stream_error("gemma-3-270m-it", "failed to decode the batch: KV cache is full"),
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# custom: a generic OpenAI-compatible server at https://llm.example.invalid/v1
# ------------------------------------------------------------------------------------------------------------------


def _custom() -> dict[str, Spec]:
    m = "acme-chat-1"
    note = "a generic OpenAI-compatible server, answered in the documented chat-completions format"
    errors = "https://platform.openai.com/docs/guides/error-codes"
    chat = reply(
        200, completion(m, "2 + 2 = 4.", usage={"prompt_tokens": 14, "completion_tokens": 7, "total_tokens": 21})
    )
    usage = {"prompt_tokens": 13, "completion_tokens": 8, "total_tokens": 21}
    stream = sse(
        [
            chunk(m, {"role": "assistant", "content": ""}),
            *[chunk(m, {"content": piece}) for piece in ("1", ", 2", ", 3")],
            chunk(m, {}, finish="stop"),
            {**chunk(m, {}), "choices": [], "usage": usage},
        ]
    )
    rate = reply(
        429, openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"), {"retry-after": "3"}
    )
    return {
        "chat": doc(OPENAI_DOCS, note, chat),
        "system_prompt": doc(OPENAI_DOCS, note, chat),
        "request_shape": doc(OPENAI_DOCS, note, chat),
        "header_unset": doc(OPENAI_DOCS, note, chat),
        "stream": doc(OPENAI_DOCS, note + "; usage in a last chunk with empty choices (include_usage)", stream),
        "stream_usage": doc(OPENAI_DOCS, note + "; usage in a last chunk with empty choices (include_usage)", stream),
        "tool_call": doc(
            OPENAI_DOCS,
            note,
            reply(
                200,
                completion(
                    m,
                    None,
                    finish="tool_calls",
                    message_extra={"tool_calls": tool_calls(("call_abc123", "weather", WEATHER_ARGS))},
                ),
            ),
        ),
        "stream_tool_call": doc(OPENAI_DOCS, note, sse(openai_tool_stream(m, "call_abc123", usage=usage))),
        "tool_result": doc(OPENAI_DOCS, note, reply(200, completion(m, WEATHER_ANSWER))),
        "models": doc(
            ["https://platform.openai.com/docs/api-reference/models/list"],
            note,
            reply(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 1764000000, "owned_by": "acme"},
                        {"id": "acme-embed-1", "object": "model", "created": 1764000000, "owned_by": "acme"},
                    ],
                },
            ),
        ),
        "error_401": doc(
            [errors],
            note,
            reply(
                401,
                openai_error(
                    "Incorrect API key provided: <INVALI*****KEY>.", "invalid_request_error", "invalid_api_key"
                ),
            ),
        ),
        "error_400": doc(
            [errors],
            note,
            reply(
                400,
                openai_error(
                    "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 5.0 instead.",
                    "invalid_request_error",
                    "decimal_above_max_value",
                    "temperature",
                ),
            ),
        ),
        "error_unknown_model": doc(
            [errors],
            note,
            reply(
                404,
                openai_error(
                    "The model `non-existent` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
            ),
        ),
        "error_429": doc(
            [errors, "https://www.rfc-editor.org/rfc/rfc9110#field.retry-after"],
            note + "; the 429 carries Retry-After in seconds",
            rate,
            rate,
        ),
        "error_5xx": doc(
            [errors], note, reply(503, openai_error("The server is overloaded or not ready yet.", "server_error"))
        ),
        "error_mid_stream": doc(
            OPENAI_DOCS,
            note,
            mid_stream_error(m, "The server had an error while processing your request. Sorry about that!"),
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# deepseek
# ------------------------------------------------------------------------------------------------------------------


def _deepseek() -> dict[str, Spec]:
    errors = "https://api-docs.deepseek.com/quick_start/error_codes"
    usage_null = {"usage": None, "system_fingerprint": "fp_8b330d02d0_prod0820_fp8_kvcache_20260402"}
    think = ["We need", " to add 2", " and 2.", " That is 4."]
    reasoning_stream = sse(
        [
            chunk("deepseek-reasoner", {"role": "assistant", "content": None, "reasoning_content": ""}, **usage_null),
            *[chunk("deepseek-reasoner", {"content": None, "reasoning_content": p}, **usage_null) for p in think],
            *[
                chunk("deepseek-reasoner", {"content": p, "reasoning_content": None}, **usage_null)
                for p in ("2 + 2", " = 4")
            ],
            chunk(
                "deepseek-reasoner",
                {"content": "", "reasoning_content": None},
                finish="stop",
                usage={
                    "prompt_tokens": 12,
                    "completion_tokens": 19,
                    "total_tokens": 31,
                    "prompt_tokens_details": {"cached_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 13},
                    "prompt_cache_hit_tokens": 0,
                    "prompt_cache_miss_tokens": 12,
                },
                system_fingerprint=usage_null["system_fingerprint"],
            ),
        ]
    )
    follows_err = [errors, "deepseek/05-error-401.json"]
    err_note = "written from DeepSeek's error-code table in the OpenAI-style error object its 401 recording shows"
    rate = reply(429, openai_error("Rate Limit Reached", "rate_limit_error", "rate_limit_reached"))
    return {
        "chat": ref("deepseek/01-chat-basic.json"),
        "system_prompt": ref("deepseek/01-chat-basic.json"),
        "request_shape": ref("deepseek/01-chat-basic.json"),
        "header_unset": ref("deepseek/01-chat-basic.json"),
        "stream": ref("deepseek/02-stream-text.json"),
        "stream_usage": ref("deepseek/02-stream-text.json"),
        "tool_call": ref("deepseek/03-tools-parallel.json"),
        "stream_tool_call": ref("deepseek/04-stream-tool-call.json"),
        "tool_result": ref("deepseek/01-chat-basic.json", TOOL_RESULT),
        "reasoning": ref(
            "deepseek/06-reasoning-nonstream.json",
            "The recording enabled thinking on deepseek-chat; hamr asks deepseek-reasoner, which always thinks.",
        ),
        "reasoning_stream": doc(
            ["https://api-docs.deepseek.com/guides/reasoning_model", "deepseek/02-stream-text.json"],
            "delta.reasoning_content then delta.content as DeepSeek documents them, with the recorded stream's "
            '"usage": null on every chunk and usage on the last',
            reasoning_stream,
        ),
        "models": ref(
            "deepseek/08-get-models.json",
            "The recording (2025-08) lists deepseek-chat and deepseek-reasoner, the preset's models then (DeepSeek "
            "retired both on 2026-07-24; the default is now deepseek-flash); it asked /v1/models, hamr asks /models. "
            "DeepSeek's list gives id, object and owned_by only: models() has the ids and the configured metadata.",
        ),
        "error_401": ref("deepseek/05-error-401.json"),
        "error_400": doc(
            follows_err,
            err_note,
            reply(
                400,
                openai_error(
                    "Invalid temperature value, the valid range of temperature is [0, 2]",
                    "invalid_request_error",
                    "invalid_request_error",
                ),
            ),
        ),
        "error_unknown_model": doc(
            follows_err,
            err_note,
            reply(400, openai_error("Model Not Exist", "invalid_request_error", "invalid_request_error")),
        ),
        "error_429": doc(follows_err, err_note + "; DeepSeek documents no Retry-After header", rate, rate),
        "error_5xx": doc(
            follows_err,
            err_note + " (503 Server Overloaded)",
            reply(503, openai_error("Server overloaded, please try again later", "server_error", "server_overloaded")),
        ),
        "error_mid_stream": doc(
            [errors, OPENAI_DOCS[1], "deepseek/02-stream-text.json"],
            "DeepSeek documents no mid-stream error; the recorded chunk shape, then an OpenAI-compatible error line",
            mid_stream_error("deepseek-chat", "Server overloaded, please try again later", usage=None),
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# openrouter
# ------------------------------------------------------------------------------------------------------------------


def _openrouter() -> dict[str, Spec]:
    errors = "https://openrouter.ai/docs/api-reference/errors"
    padded = reference("openrouter/01-chat-basic-padded.json")
    padding = padded.body[: len(padded.body) - len(padded.body.lstrip())].decode()
    base = json.loads(padded.body)

    def like_01(message: dict[str, Any], finish: str, native: str, usage: dict[str, Any], model: str) -> Reply:
        value = {
            **base,
            "id": "gen-1764072000-contract",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": finish,
                    "native_finish_reason": native,
                    "message": {"role": "assistant", "refusal": None, "reasoning": None, **message},
                }
            ],
            "usage": usage,
        }
        return Reply(200, dict(JSON), padding.encode() + body(value))

    usage = {**base["usage"], "prompt_tokens": 640, "completion_tokens": 70, "total_tokens": 710, "cost": 0.00099}
    tool = like_01(
        {
            "content": "",
            "tool_calls": [
                {
                    "id": "toolu_bdrk_01Contract",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "weather", "arguments": WEATHER_ARGS},
                }
            ],
        },
        "tool_calls",
        "tool_use",
        usage,
        "anthropic/claude-4.5-haiku-20251001",
    )
    reasoning_text = "The user asks for 2 + 2. Adding gives 4."
    reasoning = like_01(
        {
            "content": "2 + 2 = 4",
            "reasoning": reasoning_text,
            "reasoning_details": [{"type": "reasoning.text", "text": reasoning_text, "format": "unknown", "index": 0}],
        },
        "stop",
        "stop",
        {**base["usage"], "completion_tokens_details": {"reasoning_tokens": 14, "image_tokens": 0, "audio_tokens": 0}},
        "deepseek/deepseek-r1",
    )
    processing = ": OPENROUTER PROCESSING"
    midstream = sse(
        [
            processing,
            chunk("anthropic/claude-4.5-haiku-20251001", {"role": "assistant", "content": "1"}, provider="Anthropic"),
            chunk("anthropic/claude-4.5-haiku-20251001", {"role": "assistant", "content": "\n2"}, provider="Anthropic"),
            {
                **chunk("anthropic/claude-4.5-haiku-20251001", {"content": ""}, finish="error", provider="Anthropic"),
                "error": {"code": "server_error", "message": "Provider disconnected unexpectedly"},
            },
        ],
        done=False,
    )
    return {
        "chat": ref("openrouter/01-chat-basic-padded.json"),
        "system_prompt": ref("openrouter/01-chat-basic-padded.json"),
        "request_shape": ref("openrouter/01-chat-basic-padded.json"),
        "header_unset": ref("openrouter/01-chat-basic-padded.json"),
        "stream": ref("openrouter/02-stream-text.json"),
        "stream_usage": ref("openrouter/02-stream-text.json"),
        "tool_call": doc(
            [
                "openrouter/01-chat-basic-padded.json",
                "openrouter/05-stream-tool-call.json",
                "https://openrouter.ai/docs/features/tool-calling",
            ],
            "the streamed recording's call (shaped_after[1]) as a non-streamed answer, padding and usage.cost as "
            "in the recorded chat answer (shaped_after[0])",
            tool,
        ),
        "stream_tool_call": ref("openrouter/05-stream-tool-call.json"),
        "tool_result": ref("openrouter/01-chat-basic-padded.json", TOOL_RESULT),
        "reasoning": doc(
            [
                "https://openrouter.ai/docs/use-cases/reasoning-tokens",
                "openrouter/06-stream-reasoning.json",
                "openrouter/01-chat-basic-padded.json",
            ],
            "message.reasoning plus reasoning_details, as documented and as the recorded stream (shaped_after[0]) "
            "sends them; a reasoning "
            "model returns reasoning without a request parameter",
            reasoning,
        ),
        "reasoning_stream": ref(
            "openrouter/06-stream-reasoning.json",
            "The recording is claude-sonnet-4.5 with reasoning enabled; hamr asks deepseek/deepseek-r1.",
        ),
        "models": ref(
            "openrouter/13-get-models-full.json",
            "OpenRouter's full catalogue as of 2025-04 (302 models, per-token prices as strings): models() reads "
            "name, context_length and the prompt, completion and cache-read prices of every entry. It predates "
            "anthropic/claude-haiku-4.5, the contract model, so the test looks for anthropic/claude-3.7-sonnet.",
        ),
        "error_401": ref("openrouter/03-error-401.json"),
        "error_400": ref(
            "openrouter/09-error-400-provider.json",
            "A real OpenRouter 400: the upstream provider (OpenAI) rejected the request's temperature, its own error "
            "passed on as a string in metadata.raw.",
        ),
        "error_unknown_model": doc(
            [errors, "openrouter/03-error-401.json"],
            "the documented error object",
            reply(
                400, {"error": {"message": "non-existent is not a valid model ID", "code": 400}, "user_id": "REDACTED"}
            ),
        ),
        "error_429": ref(
            "openrouter/04-error-429-rate-limit.json",
            "It carries no Retry-After header (its reset time is an x-ratelimit-reset epoch in ms), so hamr waits its "
            "own first backoff.",
            times=2,
        ),
        "error_5xx": doc(
            [errors],
            "the documented 502 for a failing upstream provider",
            openrouter_upstream_error("Anthropic"),
        ),
        "error_mid_stream": doc(
            [errors + "#error-handling-in-streaming", "openrouter/02-stream-text.json"],
            'the documented mid-stream error chunk (error + finish_reason "error") after '
            "PROCESSING comments as recorded",
            midstream,
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# groq
# ------------------------------------------------------------------------------------------------------------------


def _groq() -> dict[str, Spec]:
    errors = "https://console.groq.com/docs/errors"
    m = "llama-3.3-70b-versatile"
    x_groq_usage = {
        "queue_time": 0.02,
        "prompt_tokens": 210,
        "prompt_time": 0.01,
        "completion_tokens": 24,
        "completion_time": 0.04,
        "total_tokens": 234,
        "total_time": 0.05,
    }
    tool_stream = sse(
        [
            chunk(
                m,
                {"role": "assistant", "content": None},
                system_fingerprint="fp_contract",
                x_groq={"id": "req_01contract"},
            ),
            chunk(
                m,
                {
                    "tool_calls": [
                        {
                            "id": "call_k3c9",
                            "type": "function",
                            "function": {"name": "weather", "arguments": WEATHER_ARGS},
                            "index": 0,
                        }
                    ]
                },
                system_fingerprint="fp_contract",
            ),
            chunk(
                m,
                {},
                finish="tool_calls",
                system_fingerprint="fp_contract",
                x_groq={"id": "req_01contract", "usage": x_groq_usage},
            ),
        ]
    )
    rate = reply(
        429,
        {
            "error": {
                "message": "Rate limit reached for model `llama-3.3-70b-versatile` on tokens per "
                "minute (TPM): Limit 6000, Used 5990, Requested 120. Please try again "
                "in 7s.",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
        {"retry-after": "7"},
    )
    return {
        "chat": ref("groq/01-chat-basic.json"),
        "system_prompt": ref("groq/01-chat-basic.json"),
        "request_shape": ref("groq/01-chat-basic.json"),
        "header_unset": ref("groq/01-chat-basic.json"),
        "stream": ref("groq/04-stream-text.json"),
        "stream_usage": ref(
            "groq/10-stream-usage-twice-ratelimit-headers.json",
            "The preset's model asked for usage (include_usage) as hamr asks: usage on the finish chunk twice "
            "(x_groq.usage and usage), then again in a choices-less chunk.",
        ),
        "tool_call": ref("groq/02-tool-call.json"),
        "stream_tool_call": doc(
            ["https://console.groq.com/docs/tool-use", "groq/04-stream-text.json", "groq/02-tool-call.json"],
            "the whole call in one delta, usage in x_groq.usage on the last chunk as the recorded stream "
            "(shaped_after[0]) shows",
            tool_stream,
        ),
        "tool_result": ref("groq/01-chat-basic.json", TOOL_RESULT),
        "reasoning": ref("groq/06-reasoning-raw-think.json", "reasoning_format raw: <think> inline in content."),
        "reasoning_stream": ref(
            "groq/12-stream-r1-distill-think.json",
            "The preset's reasoning model streaming its thinking inline as <think>...</think> in content deltas.",
        ),
        "models": ref(
            "groq/16-get-models-2024.json",
            "Groq's list as of 2024-04: id, owned_by, active and context_window per model, which models() reads as "
            "the context window. It predates llama-3.3-70b-versatile, the contract model, so the test looks for "
            "llama3-70b-8192.",
        ),
        "error_401": ref("groq/07-error-401-invalid-key.json"),
        "error_400": ref(
            "groq/09-error-400-tools-unsupported.json",
            "A real Groq 400 rejecting a request (tool calling on a model without it): an error object with no code.",
        ),
        "error_unknown_model": ref("groq/03-error-404-model.json"),
        "error_429": doc(
            ["https://console.groq.com/docs/rate-limits", errors],
            "the documented 429 with its retry-after header (seconds)",
            rate,
            rate,
        ),
        "error_5xx": doc(
            [errors],
            "the documented 503 when Groq is overloaded",
            reply(503, {"error": {"message": "Service Unavailable", "type": "internal_server_error"}}),
        ),
        "error_mid_stream": ref(
            "groq/05-stream-error-midstream-text.json",
            "The recording's request forced a tool call; the stream's failure is what matters.",
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# anthropic
# ------------------------------------------------------------------------------------------------------------------


def _anthropic() -> dict[str, Spec]:
    errors = "https://docs.anthropic.com/en/api/errors"
    m = "claude-haiku-4-5-20251001"
    usage = {
        "input_tokens": 720,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 18,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }

    def message(content: list[dict[str, Any]], stop: str = "end_turn", **extra: Any) -> dict[str, Any]:
        return {
            "model": m,
            "id": "msg_01Contract",
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "stop_details": None,
            "usage": {**usage, **extra},
        }

    thinking = message(
        [
            {
                "type": "thinking",
                "thinking": "The user asks for 2 + 2, which is 4.",
                "signature": "EqQBCkgIARABGAIiQL7aS1gQtbCJk0V2n0Zo8y2ZK9Wb7oD4r0dT1JqK6pAc0ntract",
            },
            {"type": "text", "text": "2 + 2 = 4"},
        ]
    )

    def err(status: int, type: str, msg: str, headers: dict[str, str] | None = None) -> Reply:
        return reply(
            status, {"type": "error", "error": {"type": type, "message": msg}, "request_id": "req_011Contract"}, headers
        )

    text_events = [
        'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5-20251001","id":'
        '"msg_01Contract","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,'
        '"usage":{"input_tokens":15,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}',
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":'
        '{"type":"text","text":""}               }',
        'event: ping\ndata: {"type": "ping"}',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
        '"text":"1\\n2"}          }',
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},'
        '"request_id":"req_011Contract"}',
    ]
    return {
        "chat": ref("anthropic/01-message-basic.json"),
        "system_prompt": ref("anthropic/01-message-basic.json"),
        "request_shape": ref("anthropic/01-message-basic.json"),
        "header_unset": ref("anthropic/01-message-basic.json"),
        "stream": ref("anthropic/02-stream-text.json"),
        "stream_usage": ref("anthropic/02-stream-text.json"),
        "tool_call": ref("anthropic/04-tool-use-parallel.json"),
        "stream_tool_call": ref("anthropic/05-stream-tool-use.json"),
        "tool_result": ref("anthropic/01-message-basic.json", TOOL_RESULT),
        "reasoning": doc(
            [
                "https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking",
                "anthropic/06-stream-thinking.json",
                "anthropic/01-message-basic.json",
            ],
            "a thinking block with its signature, then text, as documented (hamr's request enables thinking)",
            reply(200, thinking),
        ),
        "reasoning_stream": ref("anthropic/06-stream-thinking.json"),
        "models": ref(
            "anthropic/15-get-models-2026.json",
            "The 2026 list: display_name, max_input_tokens and capabilities per model, which models() reads "
            "(display name, context window, thinking support); it predates claude-sonnet-5-5, the preset's default.",
        ),
        "error_401": ref("anthropic/03-error-401.json"),
        "error_400": ref(
            "anthropic/07-error-400-invalid.json",
            "A real Anthropic 400 invalid_request_error rejecting a request (an effort level the model lacks).",
        ),
        "error_unknown_model": ref(
            "anthropic/08-error-404-model.json",
            "A real 404 not_found_error naming a model Anthropic no longer serves (answered as plain JSON to a stream "
            "request, x-should-retry: false).",
        ),
        "error_429": doc(
            [errors, "https://docs.anthropic.com/en/api/rate-limits"],
            "the documented 429 with retry-after (seconds)",
            err(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                {"retry-after": "12"},
            ),
            err(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                {"retry-after": "12"},
            ),
        ),
        "error_5xx": doc(
            [errors],
            "the documented 529 overloaded_error (no recording exists)",
            err(529, "overloaded_error", "Overloaded"),
        ),
        "error_mid_stream": doc(
            [
                "https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events",
                "anthropic/02-stream-text.json",
            ],
            "the documented error event after partial text, framed and spaced like the recorded stream (shaped_after)",
            Reply(
                200, {"content-type": "text/event-stream; charset=utf-8"}, ("\n\n".join(text_events) + "\n\n").encode()
            ),
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# mistral
# ------------------------------------------------------------------------------------------------------------------


def _mistral() -> dict[str, Spec]:
    m = "mistral-small-latest"
    errors = "https://docs.mistral.ai/api/"
    no_recording = "the reference set has no Mistral recording of this error; "
    invalid_model = "https://github.com/tmc/langchaingo/issues/1233 (invalid_model body quoted in the thread)"
    midstream = sse(
        [
            {
                "id": "9b1c2contract",
                "object": "chat.completion.chunk",
                "created": 1764072001,
                "model": m,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                "p": "abcd",
            },
            {
                "id": "9b1c2contract",
                "object": "chat.completion.chunk",
                "created": 1764072001,
                "model": m,
                "choices": [{"index": 0, "delta": {"content": "1, 2"}, "finish_reason": None}],
                "p": "abcdefghij",
            },
            {
                "object": "error",
                "message": "Service unavailable.",
                "type": "internal_server_error",
                "param": None,
                "code": "1000",
            },
        ],
        done=False,
    )
    rate = reply(429, {"message": "Requests rate limit exceeded"})
    return {
        "chat": ref("mistral/01-chat-basic.json"),
        "system_prompt": ref("mistral/01-chat-basic.json"),
        "request_shape": ref("mistral/01-chat-basic.json"),
        "header_unset": ref("mistral/01-chat-basic.json"),
        "stream": ref("mistral/02-stream-text.json"),
        "stream_usage": ref("mistral/02-stream-text.json"),
        "tool_call": ref("mistral/03-tools-parallel.json"),
        "stream_tool_call": ref("mistral/04-stream-tool-call.json"),
        "tool_result": ref("mistral/01-chat-basic.json", TOOL_RESULT),
        "reasoning": ref(
            "mistral/05-reasoning-content-array.json",
            "The recording asked mistral-small-latest for reasoning; hamr asks magistral-small-latest.",
        ),
        "reasoning_stream": ref(
            "mistral/06-stream-reasoning-array-then-string.json",
            "The recording asked mistral-small-latest for reasoning; hamr asks magistral-small-latest.",
        ),
        "models": ref(
            "mistral/10-get-models-2025.json",
            "Mistral's list as of 2025-12 (66 entries, aliases listed as models of their own): models() reads "
            "max_context_length as the context window, and name (the dated model an alias points at) as the "
            "display name.",
        ),
        "error_401": ref(
            "mistral/09-error-401-no-key.json",
            "Mistral's real 401, to a request that carried no key at all; the test sends a wrong key, which Mistral "
            "also answers with 401 (the body's message then says so).",
        ),
        "error_400": doc(
            [errors, invalid_model],
            no_recording + "Mistral's top-level error object",
            reply(
                400,
                {
                    "object": "error",
                    "message": "Temperature must be between 0 and 1.5",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                },
            ),
        ),
        "error_unknown_model": doc(
            [invalid_model],
            no_recording + "Mistral's invalid_model body as users quote it",
            reply(
                400,
                {
                    "object": "error",
                    "message": "Invalid model: non-existent",
                    "type": "invalid_model",
                    "param": None,
                    "code": "1500",
                },
            ),
        ),
        "error_429": doc(
            [errors], no_recording + "a 429 with Mistral's {message} body; no Retry-After is documented", rate, rate
        ),
        "error_5xx": doc(
            [errors, invalid_model],
            no_recording + "Mistral's top-level error object on a 503",
            reply(
                503,
                {
                    "object": "error",
                    "message": "Service unavailable.",
                    "type": "internal_server_error",
                    "param": None,
                    "code": "1000",
                },
            ),
        ),
        "error_mid_stream": doc(
            [errors, "mistral/02-stream-text.json", invalid_model],
            no_recording + "Mistral documents no mid-stream error: the recorded stream's chunks ('p' padding), "
            "then a data line holding Mistral's error object",
            midstream,
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# together
# ------------------------------------------------------------------------------------------------------------------


#: the content-type Together's recordings that kept headers show (application/json with a charset)
TOGETHER_JSON = "application/json; charset=utf-8"


def _together() -> dict[str, Spec]:
    m = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    errors = "https://docs.together.ai/docs/error-codes"
    r1 = "https://docs.together.ai/docs/deepseek-r1"

    def tchunk(
        model: str,
        content: str | None,
        token: int,
        *,
        finish: str | None = None,
        usage: Any = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        delta: dict[str, Any] = {"token_id": token, "role": "assistant", "content": content, "tool_calls": None}
        return {
            "id": "9a0contract",
            "object": "chat.completion.chunk",
            "created": 1764072001,
            "choices": [
                {
                    "index": 0,
                    "text": content or "",
                    "logprobs": None,
                    "finish_reason": finish,
                    "seed": seed,
                    "delta": delta,
                }
            ],
            "model": model,
            "usage": usage,
        }

    def tcompletion(model: str, message: dict[str, Any], finish: str, usage: dict[str, Any]) -> Reply:
        value = {
            "id": "9a0contract-1",
            "object": "chat.completion",
            "created": 1764072000,
            "model": model,
            "prompt": [],
            "choices": [
                {
                    "finish_reason": finish,
                    "seed": 14687020407684524000,
                    "logprobs": None,
                    "index": 0,
                    "message": {"role": "assistant", **message},
                }
            ],
            "usage": usage,
        }
        return Reply(
            200,
            {"content-type": "application/json; charset=utf-8"},
            json.dumps(value, indent=2, ensure_ascii=False).encode(),
        )

    r_model = "deepseek-ai/DeepSeek-R1"
    pieces = ["<think>", "\nThe user asks", " for 2 + 2.", " That is 4.\n", "</think>", "\n\n", "2 + 2", " = 4"]
    reasoning_stream = sse(
        [
            *[tchunk(r_model, p, 100 + i) for i, p in enumerate(pieces)],
            tchunk(
                r_model,
                "",
                1,
                finish="stop",
                usage={"prompt_tokens": 12, "completion_tokens": 25, "total_tokens": 37},
                seed=4631959635686359000,
            ),
        ]
    )
    midstream = sse(
        [
            tchunk(m, "1", 16),
            tchunk(m, ", 2", 11),
            {
                "id": "9a0contract",
                "error": {"message": "Internal server error", "type": "server_error", "param": None, "code": None},
            },
        ],
        done=False,
    )

    def err(status: int, msg: str, type: str, code: str | None, headers: dict[str, str] | None = None) -> Reply:
        return reply(
            status,
            {"id": "9a0contract-e", "error": {"message": msg, "type": type, "param": None, "code": code}},
            headers,
        )

    invalid_key = "https://github.com/harshitv804/LawGPT/issues/4 (401 body quoted in the thread)"
    no_recording = "the reference set has no Together error recording; "
    rate = err(
        429,
        "You have been rate limited. Please retry after 2 seconds.",
        "rate_limit_error",
        "rate_limit_exceeded",
        {"retry-after": "2"},
    )
    return {
        "chat": ref("together/02-chat-eos.json", 'finish_reason "eos"; gzip on the wire, stored decoded.'),
        "system_prompt": ref("together/02-chat-eos.json"),
        "request_shape": ref("together/04-chat-stop.json"),
        "header_unset": ref("together/04-chat-stop.json"),
        "stream": ref("together/01-stream-text.json"),
        "stream_usage": ref("together/01-stream-text.json"),
        "tool_call": ref(
            "together/05-tool-call-nonstream.json",
            "The preset's model on api.together.ai; the contract's Together tool scenario is this recording's.",
            content_type=TOGETHER_JSON,
        ),
        "stream_tool_call": ref(
            "together/08-stream-two-tool-calls.json",
            "Together's real stream of two tool calls in one answer (indexes 0 and 1, arguments in fragments); the "
            "contract's streamed tool scenario for Together is this recording's prompt, tools and model.",
        ),
        "tool_result": ref(
            "together/07-chat-2026.json",
            TOOL_RESULT + ' The preset\'s model on api.together.ai; a plain answer carries "tool_calls": [].',
            content_type=TOGETHER_JSON,
        ),
        "reasoning": doc(
            [r1, "together/04-chat-stop.json"],
            "DeepSeek-R1 on Together answers with <think>...</think> inline in content, as documented",
            tcompletion(
                r_model,
                {"content": "<think>\nThe user asks for 2 + 2. That is 4.\n</think>\n\n2 + 2 = 4", "tool_calls": []},
                "stop",
                {"prompt_tokens": 12, "completion_tokens": 25, "total_tokens": 37},
            ),
        ),
        "reasoning_stream": doc(
            [r1, "together/01-stream-text.json"],
            "<think> tags as their own deltas in the recorded stream's chunk shape, as DeepSeek-R1 streams them",
            reasoning_stream,
        ),
        "models": doc(
            ["https://docs.together.ai/reference/models-1"],
            "the documented bare JSON array (no data wrapper), prices per million tokens",
            reply(
                200,
                [
                    {
                        "id": m,
                        "object": "model",
                        "created": 1733443200,
                        "type": "chat",
                        "display_name": "Meta Llama 3.3 70B Instruct Turbo",
                        "organization": "Meta",
                        "link": "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct",
                        "context_length": 131072,
                        "config": {
                            "chat_template": None,
                            "stop": ["<|eot_id|>"],
                            "bos_token": None,
                            "eos_token": "<|eot_id|>",
                        },
                        "pricing": {"hourly": 0, "input": 0.88, "output": 0.88, "base": 0, "finetune": 0},
                    },
                    {
                        "id": r_model,
                        "object": "model",
                        "created": 1737504000,
                        "type": "chat",
                        "display_name": "DeepSeek R1",
                        "organization": "DeepSeek",
                        "context_length": 163840,
                        "pricing": {"hourly": 0, "input": 3, "output": 7, "base": 0, "finetune": 0},
                    },
                ],
            ),
        ),
        "error_401": doc(
            [invalid_key, errors],
            no_recording + "Together's invalid-key body as users quote it",
            reply(
                401,
                {
                    "error": {
                        "message": "Invalid API key provided. You can find your API key at "
                        "https://api.together.xyz/settings/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            ),
        ),
        "error_400": doc(
            [errors, invalid_key],
            no_recording + "the documented 400 in Together's error object",
            err(400, "Input validation error: `temperature` must be at most 2", "invalid_request_error", None),
        ),
        "error_unknown_model": doc(
            [errors, invalid_key],
            no_recording + "the documented 404 for an unknown model",
            err(
                404,
                "Unable to access model non-existent. Please visit "
                "https://api.together.ai/models to view the list of supported models.",
                "invalid_request_error",
                "model_not_available",
            ),
        ),
        "error_429": doc(
            [errors, "together/01-stream-text.json"],
            no_recording + "a 429 with the retry-after header Together sends (its recordings carry retry-after: 2)",
            rate,
            rate,
        ),
        "error_5xx": doc(
            [errors],
            no_recording + "the documented 503 when the service is overloaded",
            err(503, "The server is overloaded or not ready yet.", "server_error", None),
        ),
        "error_mid_stream": doc(
            [errors, OPENAI_DOCS[1], "together/01-stream-text.json"],
            "Together documents no mid-stream error: the recorded stream's chunks, then a data line with an error "
            "object",
            midstream,
        ),
    }


# ------------------------------------------------------------------------------------------------------------------
# request options (issue 17): a forced tool_choice, response_format, an image input
# ------------------------------------------------------------------------------------------------------------------

#: per preset: the documentation of (tool_choice, response_format, images) each answer below is written from
_OPTION_DOCS: dict[str, tuple[str, str, str]] = {
    "custom": (
        "https://platform.openai.com/docs/api-reference/chat/create",
        "https://platform.openai.com/docs/guides/structured-outputs",
        "https://platform.openai.com/docs/guides/images-vision",
    ),
    "deepseek": (
        "https://api-docs.deepseek.com/guides/function_calling",
        "https://api-docs.deepseek.com/guides/json_mode",
        "https://api-docs.deepseek.com/quick_start/pricing",
    ),
    "openrouter": (
        "https://openrouter.ai/docs/features/tool-calling",
        "https://openrouter.ai/docs/features/structured-outputs",
        "https://openrouter.ai/docs/features/multimodal/images",
    ),
    "groq": (
        "https://console.groq.com/docs/tool-use",
        "https://console.groq.com/docs/structured-outputs",
        "https://console.groq.com/docs/vision",
    ),
    "anthropic": (
        "https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use",
        "https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs",
        "https://docs.anthropic.com/en/docs/build-with-claude/vision",
    ),
    "mistral": (
        "https://docs.mistral.ai/capabilities/function_calling/",
        "https://docs.mistral.ai/capabilities/structured-output/custom_structured_output/",
        "https://docs.mistral.ai/capabilities/vision/",
    ),
    "together": (
        "https://docs.together.ai/docs/function-calling",
        "https://docs.together.ai/docs/json-mode",
        "https://docs.together.ai/docs/vision-overview",
    ),
}
JSON_ANSWER = '{"result": 8}'
#: the day the option answers below were written
OPTIONS_WRITTEN = "2026-12-01"


#: the option cassettes a real recording answers (DeepSeek's JSON mode, OpenRouter's and Anthropic's structured output,
#: Groq's forced tool call); the others follow each provider's documentation in the shape of its recordings
_REAL_OPTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("deepseek", "response_format"): (
        "deepseek/07-json-mode.json",
        "DeepSeek's real answer in JSON mode to this very prompt. The test asks for a json_schema format, which "
        "DeepSeek's chat completions do not take: hamr sends it as json_object, as the recorded request did, with "
        "the schema in a system message before the prompt, which the recorded request did not carry.",
    ),
    ("openrouter", "response_format"): (
        "openrouter/14-json-schema-nonstream.json",
        "OpenRouter's real json_schema answer, to this prompt, schema and model; the recorded request also gave the "
        "format a description and a seed, which hamr's neutral response_format does not carry.",
    ),
    ("anthropic", "response_format"): (
        "anthropic/16-native-structured-output-2026.json",
        "Claude Haiku 4.5's real structured-output answer (output_config.format) to this prompt and schema; the "
        "recorded request also sent a system prompt, which this test does not.",
    ),
    ("groq", "tool_choice"): (
        "groq/17-reasoning-forced-tool-call.json",
        "Groq's real answer to a forced call of final_result, its only tool (tool_choice required), from "
        "openai/gpt-oss-120b with message.reasoning beside the call; the recorded request was the second try of a "
        "conversation, the test asks the question once and names the tool.",
    ),
}


def _option_specs(preset: str) -> dict[str, Spec]:
    """The three option cassettes of a hosted preset: a real recording where ``_REAL_OPTIONS`` has one, else an
    answer written from the provider's documentation."""
    case = CASES[preset]
    tool_doc, format_doc, image_doc = _OPTION_DOCS[preset]
    name, args = (case.forced_tool or case.tool).calls[0]
    vision = case.vision_model or case.model
    if case.auth == "x-api-key":

        def message(content: list[dict[str, Any]], stop: str = "end_turn", model: str = case.model) -> Reply:
            usage = {"input_tokens": 420, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
            return reply(
                200,
                {"model": model, "id": "msg_01Contract", "type": "message", "role": "assistant", "content": content,
                 "stop_reason": stop, "stop_sequence": None, "usage": {**usage, "output_tokens": 24}},
            )  # fmt: skip

        forced = message([{"type": "tool_use", "id": "toolu_01Forced", "name": name, "input": args}], "tool_use")
        answer = message([{"type": "text", "text": JSON_ANSWER}])
        seen = message([{"type": "text", "text": "The image is a single red pixel."}], model=vision)
    else:
        forced = reply(
            200,
            completion(
                case.model,
                None,
                finish="stop",
                message_extra={"tool_calls": tool_calls(("call_forced_1", name, json.dumps(args)))},
            ),
        )
        answer = reply(200, completion(case.model, JSON_ANSWER))
        seen = reply(200, completion(vision, "The image is a single red pixel."))
    real = {test: ref(name, note) for (pid, test), (name, note) in _REAL_OPTIONS.items() if pid == preset}
    return {
        "tool_choice": doc(
            [tool_doc],
            "a call of the forced tool and nothing else; an OpenAI-style answer to a named tool_choice ends with "
            "finish_reason stop, an Anthropic one with stop_reason tool_use",
            forced,
            constructed=OPTIONS_WRITTEN,
        ),
        "response_format": doc(
            [format_doc],
            "the answer as JSON text following the requested schema",
            answer,
            constructed=OPTIONS_WRITTEN,
        ),
        "image_input": doc(
            [image_doc],
            f"a text answer about the image from {vision}, a model that reads images",
            seen,
            constructed=OPTIONS_WRITTEN,
        ),
        **real,
    }


# ------------------------------------------------------------------------------------------------------------------
# the openai-responses protocol: OpenAI's own API, and OpenRouter and DeepSeek switched to it
# ------------------------------------------------------------------------------------------------------------------

#: the real Responses recordings: pydantic-ai's cassettes and vercel/ai's stream fixtures, at the cited commits
PYDANTIC = "github:pydantic/pydantic-ai@4fda38988f2939fa6ea9cdefcf120693e10ef491:tests/models/cassettes/"
VERCEL = "github:vercel/ai@ed857f50f112e23930b0c2dd8d532cc8bebbc911:packages/openai/src/responses/__fixtures__/"
OPENAI_RESPONSES = PYDANTIC + "test_openai_responses/"
DEEPSEEK_RESPONSES = PYDANTIC + "test_deepseek_responses/test_deepseek_responses"
OPENROUTER_COT = OPENAI_RESPONSES + "test_openai_responses_raw_cot_stream_openrouter.yaml#0"
OPENROUTER_CACHE = PYDANTIC + "test_openai_prompt_cache/test_openrouter_responses_prompt_cache_e2e.yaml#0"
OPENAI_ERROR_EVENT = VERCEL + "openai-error.1.chunks.txt#0"
#: OpenRouter's /api/v1/responses (openai/gpt-5-mini, 2026-07-31) as neurouter captured it: one request and its
#: answer per pair of files; the JSON answers as of the commit that last changed them, the streams as first committed
NEUROUTER = "github:neuraxes/neurouter@1f84626586a1d02555a5550bbce8b400edf68eab:internal/data/upstream/openai/mock/"
NEUROUTER_FIRST = (
    "github:neuraxes/neurouter@8549a0d5b76f4feb316af005cdae403f8b2f0b69:internal/data/upstream/openai/mock/"
)
NEUROUTER_JSON_EDITS = (
    "the file is pretty-printed (two-space indents), and its reasoning item lost the member that followed "
    "encrypted_content: the file's first version (8549a0d) keeps the comma before it, left when its author removed "
    "the member (invalid JSON, mended in 1f84626); in the streams the same author captured that day that member is "
    '"format": "openai-responses-v1"'
)
NEUROUTER_STREAM_EDITS = (
    "none that its history shows: this is the file's first version (its next, 1f84626, removes the reasoning items' "
    '"format": "openai-responses-v1" member)'
)
RESPONSES_DOCS = [
    "https://platform.openai.com/docs/api-reference/responses/object",
    "https://platform.openai.com/docs/api-reference/responses-streaming",
]
#: the day the Responses bodies below were written
RESPONSES_WRITTEN = "2026-12-06"
RESULT_NOTE = (
    "The provider's real answer after a tool result in the recorded conversation (recorded_request); what this test "
    "checks is the follow-up request hamr sends (stored here as hamr built it) and that the text answer parses."
)


def response(model: str, output: list[dict[str, Any]], *, id: str = "resp_contract_1", **extra: Any) -> dict[str, Any]:
    """A completed Response object, in the documented field order of its recorded siblings."""
    usage = {
        "input_tokens": 42,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 54,
    }
    return {"id": id, "object": "response", "created_at": 1764979200, "status": "completed", "error": None,
            "incomplete_details": None, "model": model, "output": output, "usage": usage, **extra}  # fmt: skip


def message_item(text: str, id: str = "msg_contract_1") -> dict[str, Any]:
    content = [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]
    return {"id": id, "type": "message", "status": "completed", "role": "assistant", "content": content}


def call_item(call_id: str, name: str, arguments: str, id: str = "fc_contract_1") -> dict[str, Any]:
    return {"id": id, "type": "function_call", "status": "completed", "arguments": arguments, "call_id": call_id,
            "name": name}  # fmt: skip


def response_stream(final: dict[str, Any], *, named: bool = True, fail: dict[str, Any] | None = None) -> Reply:
    """``final`` as the documented event sequence: created, in_progress, each item added, its text (arguments) in
    deltas of 3 (7) characters, its done events, completed. OpenAI names each event (``event:`` lines); OpenRouter does
    not, opens with a comment and ends with ``data: [DONE]`` (``named=False``). ``fail``: an error event after
    the first two deltas of the first message, and nothing after it."""
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for n, item in enumerate(final["output"]):
        where = {"item_id": item["id"], "output_index": n}
        empty = {"message": {"content": [], "status": "in_progress"}, "function_call": {"arguments": ""}}
        events.append(
            {"type": "response.output_item.added", "output_index": n, "item": {**item, **empty[item["type"]]}}
        )
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            events.append({"type": "response.content_part.added", **where, "content_index": 0, "part": part})
            for k, piece in enumerate(_split(text, 3)):
                events.append({"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece})
                if fail is not None and k == 1:
                    return _responses_sse([*events, fail], named)
            events.append({"type": "response.output_text.done", **where, "content_index": 0, "text": text})
            events.append({"type": "response.content_part.done", **where, "content_index": 0,
                           "part": {**part, "text": text}})  # fmt: skip
        else:
            for piece in _split(item["arguments"], 7):
                events.append({"type": "response.function_call_arguments.delta", **where, "delta": piece})
            events.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
        events.append({"type": "response.output_item.done", "output_index": n, "item": item})
    events.append({"type": "response.completed", "response": final})
    return _responses_sse(events, named)


def _responses_sse(events: list[dict[str, Any]], named: bool) -> Reply:
    numbered = [{**event, "sequence_number": n} for n, event in enumerate(events)]
    if named:
        text = "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n" for e in numbered)
        return Reply(200, dict(SSE), text.encode("utf-8"))
    return sse([": OPENROUTER PROCESSING", *numbered], done=True)


def error_event(message: str, code: str = "server_error") -> dict[str, Any]:
    """An error event, nested as OpenAI sent one (vercel/ai's openai-error.1) and as Open Responses specifies."""
    return {"type": "error", "error": {"type": code, "code": code, "message": message, "param": None}}


def _openai_responses() -> dict[str, Spec]:
    errors = "https://platform.openai.com/docs/guides/error-codes"
    m = "gpt-4o"
    simple = OPENAI_RESPONSES + "test_openai_responses_model_simple_response.yaml#0"
    with_tool = OPENAI_RESPONSES + "test_openai_responses_model_simple_response_with_tool_call.yaml#"
    stream = OPENAI_RESPONSES + "test_openai_responses_stream.yaml#"
    rate = reply(
        429, openai_error("Rate limit reached for gpt-4o on requests per min (RPM): Limit 500.", "requests",
                          "rate_limit_exceeded"), {"retry-after": "2"},
    )  # fmt: skip
    midstream = response_stream(
        response(m, [message_item("1, 2, 3")]),
        fail=error_event("The server had an error while processing your request. Sorry about that!"),
    )
    return {
        "chat": ref(simple),
        "system_prompt": ref(OPENAI_RESPONSES + "test_openai_responses_system_prompt.yaml#0"),
        "request_shape": ref(simple),
        "header_unset": ref(simple),
        "stream": ref(stream + "1", "The recorded stream is the answer after a tool result; here it answers a prompt."),
        "stream_usage": ref(stream + "1", "The recorded stream is the answer after a tool result."),
        "tool_call": ref(with_tool + "0"),
        "tool_result": ref(with_tool + "1", RESULT_NOTE),
        "stream_tool_call": ref(stream + "0"),
        "reasoning": ref(OPENAI_RESPONSES + "test_openai_responses_model_thinking_part.yaml#0"),
        "reasoning_stream": ref(
            OPENAI_RESPONSES + "test_openai_responses_thinking_part_iter.yaml#0",
            "The recording is o3-mini's (reasoning summaries, encrypted reasoning); hamr asks gpt-5.",
        ),
        "models": doc(
            ["https://platform.openai.com/docs/api-reference/models/list"],
            "the documented model list, with the contract's model",
            reply(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"},
                        {"id": "gpt-6-luna", "object": "model", "created": 1790035200, "owned_by": "system"},
                    ],
                },
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_401": doc(
            [errors],
            "the documented 401 for a wrong key",
            reply(
                401,
                openai_error(
                    "Incorrect API key provided: <INVALI*****KEY>. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_400": ref(
            OPENAI_RESPONSES + "test_openai_responses_model_http_error.yaml#0",
            "OpenAI's real 400 for temperature -1 at /v1/responses; hamr sends temperature -1 too.",
        ),
        "error_unknown_model": doc(
            [errors],
            "the documented 404 for a model that does not exist",
            reply(
                404,
                openai_error(
                    "The model `non-existent` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_429": doc(
            [errors, "https://www.rfc-editor.org/rfc/rfc9110#field.retry-after"],
            "the documented 429 with Retry-After in seconds",
            rate,
            rate,
            constructed=RESPONSES_WRITTEN,
        ),
        "error_5xx": doc(
            [errors],
            "the documented 500",
            reply(
                500,
                openai_error(
                    "The server had an error while processing your request. Sorry about that!", "server_error"
                ),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_mid_stream": doc(
            [*RESPONSES_DOCS, OPENAI_ERROR_EVENT],
            "text deltas, then an error event in the shape OpenAI sent one (shaped_after[0], where it came before "
            "any text) and nothing after it",
            midstream,
            constructed=RESPONSES_WRITTEN,
        ),
        "tool_choice": ref(
            PYDANTIC + "test_tool_choice_matrix/test_tool_choice_matrix[required-openai_responses].yaml#0",
            "Recorded with tool_choice 'required' and gpt-5-mini (a reasoning item, then the call); hamr forces the "
            "tool by name.",
        ),
        "response_format": ref(
            OPENAI_RESPONSES + "test_native_output.yaml#1",
            "The recorded CityLocation JSON answer (text.format json_schema), there given after a tool round trip.",
        ),
        "image_input": ref(
            OPENAI_RESPONSES + "test_openai_responses_image_url_input.yaml#0",
            "The recorded image was a URL (a potato); hamr sends a base64 red dot.",
        ),
        "round_trip": refs(
            OPENAI_RESPONSES + "test_openai_responses_thinking_with_tool_calls.yaml",
            [0, 1],
            "gpt-5 reasoning (encrypted) and calling update_plan, then its answer after the result: the recorded "
            "follow-up sent the reasoning item back too.",
        ),
    }


def _openrouter_responses() -> dict[str, Spec]:
    errors = "https://openrouter.ai/docs/api/reference/errors-and-debugging"
    overview = "https://openrouter.ai/docs/api/reference/responses/overview"
    m = "openai/gpt-oss-20b"
    weather = call_item("call_contract_0001", "weather", WEATHER_ARGS)
    return {
        "chat": ref(OPENROUTER_CACHE, "The recorded request put a long cached catalogue before its question."),
        "system_prompt": ref(OPENROUTER_CACHE),
        "request_shape": ref(OPENROUTER_CACHE),
        "header_unset": ref(OPENROUTER_CACHE),
        "stream": ref(OPENROUTER_COT),
        "stream_usage": ref(OPENROUTER_COT),
        "reasoning_stream": ref(OPENROUTER_COT),
        "reasoning": ref(
            NEUROUTER + "responses_reasoning_response.json#0",
            "The recording is openai/gpt-5-mini's (reasoning effort medium, summary auto); hamr asks "
            "openai/gpt-oss-20b, the model of the recorded reasoning stream.",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
        "tool_call": ref(
            NEUROUTER + "responses_tool_call_response.json#0",
            "The recorded answer is encrypted reasoning (no summary) and the call.",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
        "stream_tool_call": ref(
            NEUROUTER_FIRST + "responses_stream_tool_call_response.txt#0",
            "The recorded stream is encrypted reasoning, one sentence of text, then the call in 18 argument deltas.",
            content_type=SSE["content-type"],
            edits=NEUROUTER_STREAM_EDITS,
        ),
        "tool_result": ref(
            NEUROUTER + "responses_tool_result_response.json#0",
            "OpenRouter's answer after the tool result (the recorded follow-up also asked for one sentence); what this "
            "test checks is the follow-up request hamr sends (stored here as hamr built it) and that the text answer "
            "parses.",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
        "models": ref("openrouter/13-get-models-full.json", "The /models endpoint both protocols share."),
        "error_401": ref(
            "openrouter/03-error-401.json",
            "Recorded at /api/v1/chat/completions: OpenRouter checks the key before it routes a request.",
        ),
        "error_400": doc(
            [overview, errors],
            "the error object the Responses API overview documents, with HTTP 400",
            reply(
                400,
                {
                    "error": {
                        "code": "invalid_prompt",
                        "message": "Invalid 'temperature': 5 is greater than the maximum of 2",
                    },
                    "metadata": None,
                },
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_unknown_model": doc(
            [overview, errors],
            "the documented error object for a model id OpenRouter does not know",
            reply(
                400,
                {
                    "error": {"code": "invalid_prompt", "message": "non-existent is not a valid model ID"},
                    "metadata": None,
                },
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_429": ref(
            "openrouter/04-error-429-rate-limit.json",
            "Recorded at /api/v1/chat/completions: a free model's rate limit, which is OpenRouter's, not the "
            "endpoint's. It carries no Retry-After header, so hamr waits its own first backoff.",
            times=2,
        ),
        "error_5xx": doc(
            [errors],
            "the documented 502 for a failing upstream provider",
            openrouter_upstream_error("OpenAI"),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_mid_stream": doc(
            [errors, "https://www.openresponses.org/specification", OPENROUTER_COT],
            "text deltas framed as the recorded stream, then an error event as Open Responses specifies it (an "
            "error after the 200 is 'emitted as an SSE data event')",
            response_stream(
                response(m, [message_item("1, 2, 3")], id="gen-1764979200-contract"),
                named=False,
                fail=error_event("Provider disconnected unexpectedly"),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "tool_choice": doc(
            [overview],
            "a call of the forced tool and nothing else",
            reply(200, response(m, [weather], id="gen-1764979200-contract")),
            constructed=RESPONSES_WRITTEN,
        ),
        "response_format": ref(
            NEUROUTER + "responses_structured_output_response.json#0",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
        "image_input": ref(
            NEUROUTER + "responses_vision_response.json#0",
            "The recorded answer is about the recording's own image (a base64 PNG, recorded_request); what this test "
            "checks is the image part hamr sends and that the answer parses.",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
        "round_trip": conversation(
            [NEUROUTER + "responses_tool_call_response.json#0", NEUROUTER + "responses_tool_result_response.json#0"],
            "A tool round trip with reasoning, as OpenRouter answered it: encrypted reasoning and a call, then the "
            "answer after the result. The recorded follow-up sent the reasoning item back with its id but without "
            "its status, the call without its id and status, and the result's output was the weather itself; hamr "
            "sends the items exactly as received (OpenRouter's tool-calling page shows input items with their id), "
            "its result is this test's.",
            content_type=JSON["content-type"],
            edits=NEUROUTER_JSON_EDITS,
        ),
    }


def _deepseek_responses() -> dict[str, Spec]:
    guide = "https://api-docs.deepseek.com/guides/responses_api"
    reference_page = "https://api-docs.deepseek.com/api/create-response/"
    errors = "https://api-docs.deepseek.com/quick_start/error_codes"
    m = "deepseek-v4-flash"
    text = DEEPSEEK_RESPONSES + "[text].yaml#0"
    stream = DEEPSEEK_RESPONSES + "[text_stream].yaml#0"
    tool = DEEPSEEK_RESPONSES + "[function_tool].yaml"

    def err(status: int, message: str, type: str, code: str | None) -> Reply:
        return reply(status, {"error": {"message": message, "type": type, "param": None, "code": code}})

    return {
        "chat": ref(text),
        "system_prompt": ref(text),
        "request_shape": ref(text),
        "header_unset": ref(text),
        "stream": ref(stream),
        "stream_usage": ref(stream),
        "reasoning": ref(DEEPSEEK_RESPONSES + "[reasoning_effort].yaml#0"),
        "reasoning_stream": ref(stream),
        "tool_call": ref(tool + "#0"),
        "tool_result": ref(tool + "#1", RESULT_NOTE),
        "stream_tool_call": ref(DEEPSEEK_RESPONSES + "[function_tool_stream].yaml#0"),
        "models": ref("deepseek/08-get-models.json", "The /models endpoint both protocols share."),
        "error_401": ref(
            "deepseek/05-error-401.json",
            "Recorded at /chat/completions: DeepSeek checks the key before it routes a request.",
        ),
        "error_400": doc(
            [errors, reference_page, "deepseek/05-error-401.json"],
            "the documented 400 in the error object DeepSeek sends (shaped_after[0])",
            err(
                400,
                "Invalid 'temperature': it must be between 0 and 2",
                "invalid_request_error",
                "invalid_request_error",
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_unknown_model": doc(
            [errors, reference_page, "deepseek/05-error-401.json"],
            "the documented 400 for a model that is not deepseek-flash or deepseek-v4-pro",
            err(400, "Model Not Exist", "invalid_request_error", "invalid_request_error"),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_429": doc(
            [errors, "deepseek/05-error-401.json"],
            "the documented 429; DeepSeek documents no Retry-After header",
            err(429, "Rate Limit Reached", "rate_limit_error", "rate_limit_reached"),
            err(429, "Rate Limit Reached", "rate_limit_error", "rate_limit_reached"),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_5xx": doc(
            [errors, "deepseek/05-error-401.json"],
            "the documented 503 Server Overloaded",
            err(503, "Server Overloaded", "server_error", "server_overloaded"),
            constructed=RESPONSES_WRITTEN,
        ),
        "error_mid_stream": doc(
            [guide, "https://www.openresponses.org/specification", stream],
            "text deltas with event lines as the recorded stream has them, then an error event as Open Responses "
            "specifies it (the guide lists response.failed as a stream's end)",
            response_stream(
                response(m, [message_item("1, 2, 3")], id="7f3d6c65-contract"),
                fail=error_event("Server Overloaded", "server_overloaded"),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "tool_choice": doc(
            [reference_page, tool + "#0"],
            "a call of the forced tool in the recorded call's shape (shaped_after[0]; the reference documents a "
            "named tool choice)",
            reply(
                200,
                response(
                    m, [call_item("call_00_contract", "get_temperature", '{"city": "Tokyo"}')], id="92471b7c-contract"
                ),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "response_format": doc(
            [guide, reference_page, text],
            "the answer as JSON text following the requested schema (DeepSeek's /responses takes json_schema, which "
            "its chat completions refuse)",
            reply(200, response(m, [message_item(JSON_ANSWER)], id="2e532992-contract")),
            constructed=RESPONSES_WRITTEN,
        ),
        "image_input": doc(
            [reference_page, text],
            "a text answer about the image from deepseek-flash (the reference: input_image in user messages with "
            "deepseek-flash)",
            reply(
                200,
                response("deepseek-flash", [message_item("The image is a single red pixel.")], id="2e532992-contract"),
            ),
            constructed=RESPONSES_WRITTEN,
        ),
        "round_trip": refs(
            tool,
            [0, 1],
            "DeepSeek's reasoning (reasoning_text content, no encrypted content) and call of get_temperature, then "
            "its answer after the result: the recorded follow-up sent the reasoning item back too.",
        ),
    }


_BUILDERS: dict[str, Callable[[], dict[str, Spec]]] = {
    "relay": _relay,
    "custom": _custom,
    "deepseek": _deepseek,
    "openrouter": _openrouter,
    "groq": _groq,
    "anthropic": _anthropic,
    "mistral": _mistral,
    "together": _together,
    "openai": _openai_responses,
    "openrouter-responses": _openrouter_responses,
    "deepseek-responses": _deepseek_responses,
}


#: how the reasons read: "no reference recording of a Groq 429 exists"
_PROVIDER = {
    "relay": "local-server",
    "deepseek": "DeepSeek",
    "openrouter": "OpenRouter",
    "groq": "Groq",
    "anthropic": "Anthropic",
    "mistral": "Mistral",
    "together": "Together",
    "openai": "OpenAI",
    "openrouter-responses": "OpenRouter Responses-API",
    "deepseek-responses": "DeepSeek Responses-API",
}
_SITUATION = {
    "stream_tool_call": "streamed tool call",
    "tool_call": "non-streamed tool call",
    "tool_result": "answer after a tool result",
    "reasoning": "non-streamed reasoning answer",
    "reasoning_stream": "streamed reasoning answer",
    "models": "GET /models response (the corpus holds them for Anthropic, DeepSeek, Groq, Mistral and OpenRouter only)",
    "error_401": "401",
    "error_400": "400 rejecting a request",
    "error_unknown_model": "unknown-model error",
    "error_429": "429",
    "error_5xx": "5xx (the corpus holds none for any provider)",
    "error_mid_stream": "error in the middle of a stream",
    "tool_choice": "answer to a forced tool_choice",
    "response_format": "structured-output answer in JSON",
    "image_input": "answer about an image",
    "round_trip": "answer to a follow-up carrying a reasoning item",
}
CUSTOM_WHY = (
    "custom stands for any OpenAI-compatible server and is configured at a placeholder host (llm.example.invalid): "
    "there is no real provider behind it to have recorded, so its cassettes follow OpenAI's documented format"
)


def _why(preset: str, test: str) -> str:
    if preset == "custom":
        return CUSTOM_WHY
    name = _PROVIDER.get(preset, preset)
    situation, _, aside = _SITUATION.get(test, test.replace("_", " ")).partition(" (")
    why = f"no reference recording of {'an' if name[0] in 'AEIOU' else 'a'} {name} {situation} exists"
    return f"{why} ({aside}" if aside else why


@functools.cache
def _specs(preset: str) -> dict[str, Spec]:
    specs = {**_BUILDERS[preset](), **(_option_specs(preset) if preset in _OPTION_DOCS else {})}
    for test, made in specs.items():
        provenance = made.provenance
        if provenance["source"] == CONSTRUCTED and not provenance.get("why"):
            note = provenance.pop("note")
            provenance.update(why=_why(preset, test), note=note)
    return specs


def spec(preset: str, test: str) -> Spec | None:
    """How ``preset``'s cassette for ``test`` is built, when it is built and not recorded live (None)."""
    return _specs(preset).get(test) if preset in _BUILDERS else None
