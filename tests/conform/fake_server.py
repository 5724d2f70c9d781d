"""A small OpenAI-compatible server as an httpx2 transport, with the quirks of the issue's list switchable one by
one (usage ignored, no ``[DONE]``, tool calls without ``index``, ``parallel_tool_calls`` ignored, ...): the kit's
offline tests run it through the live path, so each verdict kind is proved on bytes that show it. Its answers are
constructed from OpenAI's documented wire format (https://platform.openai.com/docs/api-reference/chat)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx2

MODEL = "fake-1"
KEY = "fake-server-key-123456"


class FakeOpenAI(httpx2.BaseTransport):
    def __init__(self, *quirks: str, key: str | None = None) -> None:
        self.quirks = set(quirks)
        self.key = key
        self.counter = itertools.count()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.key and request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "invalid api key")
        if (routed := _models_or_404(request, "/v1/chat/completions")) is not None:
            return routed
        body = json.loads(request.content)
        if not isinstance(body.get("messages"), list):
            return _error(400, "messages must be a list")
        if body.get("model") != MODEL and "serves_any_model" not in self.quirks:
            return _error(404, f"model {body.get('model')} not found")
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_object" and "rejects_json_object" in self.quirks:
            return _error(400, "response_format json_object is not supported")
        if fmt == "json_schema" and "json_schema_500" in self.quirks:
            return _error(500, "Input should be 'text' or 'json_object'")
        text, calls, finish, tokens = self._answer(body)
        if body.get("stream"):
            return self._stream(body, text, calls, finish, tokens)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = [
                {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                for n, (name, args) in enumerate(calls)
            ]
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": MODEL,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": self._prompt(body), "completion_tokens": tokens, "total_tokens": 7 + tokens},
            },
        )

    def _prompt(self, body: dict[str, Any]) -> int:
        """Prompt tokens: the messages' size, image parts left out where the server drops them."""
        return _prompt_tokens(body["messages"], "drops_images" in self.quirks)

    def _answer(self, body: dict[str, Any]) -> tuple[str, list[tuple[str, dict[str, Any]]], str, int]:
        messages = body["messages"]
        prompt = json.dumps(messages)
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        choice = body.get("tool_choice")
        if "ignores_none" in self.quirks and choice == "none":
            choice = "required"
        mute = "mute_model" in self.quirks  # a tiny model: follows only what the server enforces
        begged = choice == "auto" and "must call" in prompt and not mute
        if tools and (isinstance(choice, dict) or choice == "required" or begged):
            if isinstance(choice, dict) or mute:
                names = [choice["function"]["name"]] if isinstance(choice, dict) else tools[:1]
            else:
                names = (
                    tools if body.get("parallel_tool_calls", True) or "ignores_parallel" in self.quirks else tools[:1]
                )
            return "", [(name, {"city": "Paris"}) for name in names], "tool_calls", 12
        if "response_format" in body and "ignores_json" not in self.quirks:
            schema = body["response_format"]["type"] == "json_schema" and "schema_as_object" not in self.quirks
            return json.dumps({"result": 8} if schema else {"answer": 8}), [], "stop", 6
        if messages[0]["role"] == "system" and "banana" in messages[0]["content"] and not mute:
            return "banana", [], "stop", 1
        if "about the weather" in prompt:
            sentence = "Sunny." if mute else "The weather is fine here."
            for stop in [] if "ignores_stop" in self.quirks else body.get("stop") or []:
                sentence = sentence.split(stop)[0]
            return sentence, [], "stop", 6
        limit = body.get("max_tokens") or 4096
        if "dragon" in prompt and mute:
            return "No.", [], "stop", 2
        if "dragon" in prompt and "ignores_max_tokens" not in self.quirks:
            return "Once upon a time " * 2, [], "length", limit
        if "dragon" in prompt:
            return "Once upon a time " * 20, [], "stop", 80
        if "sea" in prompt:
            seed = body.get("seed")
            n = seed if seed is not None and "ignores_seed" not in self.quirks else next(self.counter)
            return f"The sea number {n}.", [], "stop", 5
        return "4", [], "stop", 1

    def _stream(self, body: dict[str, Any], text: str, calls: list[Any], finish: str, tokens: int) -> httpx2.Response:
        chunks: list[dict[str, Any]] = []

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> None:
            chunks.append(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                }
            )

        chunk({"role": "assistant", "content": ""})
        for word in text.split(" ") if text else []:
            chunk({"content": word + " "})
        first = 1 if "index_from_1" in self.quirks else 0
        for n, (name, args) in enumerate(calls):
            arguments = json.dumps(args)
            head: dict[str, Any] = {"index": n + first, "id": f"call_{n}", "type": "function"}
            head["function"] = {"name": name, "arguments": arguments[:5]}
            tail: dict[str, Any] = {"index": n + first, "function": {"arguments": arguments[5:]}}
            if "no_index" in self.quirks:
                head.pop("index"), tail.pop("index")
            chunk({"tool_calls": [head]})
            chunk({"tool_calls": [tail]})
        chunk({}, "stop" if calls and "stop_after_tool" in self.quirks else finish)
        usage = {"prompt_tokens": self._prompt(body), "completion_tokens": tokens, "total_tokens": 7 + tokens}
        if (body.get("stream_options") or {}).get("include_usage") and "no_usage" not in self.quirks:
            if "usage_without_choices" in self.quirks:
                chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "usage": usage})
            else:
                chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
        if "no_done" not in self.quirks:
            lines.append("data: [DONE]\n\n")
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream", "server": "fake/1.0"}, content="".join(lines)
        )


def _models_or_404(request: httpx2.Request, served: str) -> httpx2.Response | None:
    """The model list for GET /v1/models, a 404 for anything but a POST to ``served``; None for that POST."""
    path = request.url.path
    if request.method == "GET" and path == "/v1/models":
        return httpx2.Response(200, json={"object": "list", "data": [{"id": MODEL, "object": "model"}]})
    if request.method != "POST" or path != served:
        return _error(404, f"no route {request.method} {path}")
    return None


def _prompt_tokens(messages: list[Any], drop_images: bool) -> int:
    def kept(message: Any) -> Any:
        content = message.get("content")
        if drop_images and isinstance(content, list):
            return {**message, "content": [p for p in content if p.get("type") == "text"]}
        return message

    return len(json.dumps([kept(m) for m in messages])) // 8


def _error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"error": {"message": message, "type": "invalid_request_error", "code": status}}
    )


class FakeAnthropic(httpx2.BaseTransport):
    """The Messages API side (https://docs.anthropic.com/en/api/messages, .../messages-streaming), with the
    quirks of sglang#25876 (a delta sent to the wrong block index) and litellm#29491 (input_json_delta dropped)."""

    def __init__(self, *quirks: str) -> None:
        self.quirks = set(quirks)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and path == "/v1/models":
            return httpx2.Response(200, json={"data": [{"id": MODEL, "type": "model"}], "has_more": False})
        if request.method != "POST" or path != "/v1/messages":
            return _anthropic_error(404, "not_found_error", f"no route {request.method} {path}")
        body = json.loads(request.content)
        if not isinstance(body.get("messages"), list):
            return _anthropic_error(400, "invalid_request_error", "messages: Input should be a valid list")
        if body.get("model") != MODEL:
            return _anthropic_error(404, "not_found_error", f"model: {body.get('model')}")
        choice = body.get("tool_choice") or {}
        blocks: list[dict[str, Any]] = [{"type": "text", "text": "Ok"}]
        stop = "end_turn"
        if body.get("tools") and choice.get("type") in ("tool", "any"):
            name = choice.get("name") or body["tools"][0]["name"]
            blocks.append({"type": "tool_use", "id": "toolu_1", "name": name, "input": {"city": "Paris"}})
            stop = "tool_use"
        if not body.get("stream"):
            prompt = [{"role": "system", "content": body["system"]}] if body.get("system") else []
            usage = {"input_tokens": _prompt_tokens(prompt + body["messages"], False), "output_tokens": 5}
            message = {"type": "message", "role": "assistant", "content": blocks, "stop_reason": stop, "usage": usage}
            return httpx2.Response(200, json={"id": "msg_1", "model": MODEL, "stop_sequence": None, **message})
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=self._stream(blocks, stop))

    def _stream(self, blocks: list[dict[str, Any]], stop: str) -> str:
        message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": MODEL}
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {**message, "usage": {"input_tokens": 9, "output_tokens": 1}}}
        ]
        for n, block in enumerate(blocks):
            start = dict(block, text="") if block["type"] == "text" else dict(block, input={})
            events.append({"type": "content_block_start", "index": n, "content_block": start})
            at = 0 if "wrong_block_index" in self.quirks and block["type"] == "tool_use" else n
            if block["type"] == "text":
                events.append(
                    {"type": "content_block_delta", "index": at, "delta": {"type": "text_delta", "text": "Ok"}}
                )
            elif "drops_input_json" not in self.quirks:
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                events.append({"type": "content_block_delta", "index": at, "delta": delta})
            events.append({"type": "content_block_stop", "index": n})
        events.append({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 5}})
        events.append({"type": "message_stop"})
        return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def _anthropic_error(status: int, kind: str, message: str) -> httpx2.Response:
    return httpx2.Response(status, json={"type": "error", "error": {"type": kind, "message": message}})


class FakeResponses(httpx2.BaseTransport):
    """The Responses API side (``POST /v1/responses``: https://platform.openai.com/docs/api-reference/responses and
    its streaming events, .../responses-streaming; Open Responses' specification), answering as FakeOpenAI decides,
    with the quirks of the issue's Responses defects switchable one by one: events out of order, an ``*.added``
    never closed, ``completed`` where ``incomplete`` belongs, arguments as an object, ``sequence_number`` not
    increasing, no ``function_call_arguments.done``. Only ``/v1/responses`` is served: ``--protocol auto`` reaches it
    after the other two protocols' 404s."""

    def __init__(self, *quirks: str) -> None:
        self.quirks = set(quirks)
        self.chat = FakeOpenAI(*(q for q in quirks if q in _SHARED_QUIRKS))

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if (routed := _models_or_404(request, "/v1/responses")) is not None:
            return routed
        body = json.loads(request.content)
        if not isinstance(body.get("input"), str | list):
            return _error(400, "'input' must be a string or an array of items")
        if body.get("model") != MODEL:
            return _error(404, f"model {body.get('model')} not found")
        text, calls, finish, tokens = self.chat._answer(_as_chat(body))
        cut = finish == "length" and "completed_at_limit" not in self.quirks
        output: list[dict[str, Any]] = []
        if "17 * 23" in json.dumps(body["input"]):
            summary = [{"type": "summary_text", "text": "17 * 23 = 391."}]
            output.append({"type": "reasoning", "id": "rs_1", "summary": summary, "encrypted_content": "e30="})
            text = "391"
        if text or not calls:
            part = {"type": "output_text", "text": text, "annotations": []}
            output.append({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                           "content": [part]})  # fmt: skip
        for n, (name, args) in enumerate(calls):
            arguments: Any = args if "arguments_object" in self.quirks else json.dumps(args)
            output.append({"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}", "name": name,
                           "arguments": arguments, "status": "completed"})  # fmt: skip
        prompt = _prompt_tokens(_as_chat(body)["messages"], "drops_images" in self.quirks)
        response: dict[str, Any] = {
            "id": "resp_1",
            "object": "response",
            "model": MODEL,
            "status": "incomplete" if cut else "completed",
            "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
            "output": output,
            "error": None,
            "usage": {"input_tokens": prompt, "output_tokens": tokens},
        }
        if not body.get("stream"):
            return httpx2.Response(200, json=response)
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=self._stream(response).encode()
        )

    def _stream(self, response: dict[str, Any]) -> str:
        pending = {**response, "status": "in_progress", "output": [], "usage": None}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": pending},
            {"type": "response.in_progress", "response": pending},
        ]
        for n, item in enumerate(response["output"]):
            events += self._item_events(n, item)
        terminal = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        events.append({"type": terminal, "response": response})
        lines = []
        for number, event in enumerate(events):
            if "no_sequence" not in self.quirks:
                event["sequence_number"] = 3 if "sequence_backwards" in self.quirks and number == 4 else number
            lines.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
        return "".join(lines)

    def _item_events(self, n: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        opened = {**item, "status": "in_progress"}
        where = {"output_index": n, "item_id": item["id"]}
        added = {"type": "response.output_item.added", "output_index": n, "item": opened}
        inner: list[dict[str, Any]] = []
        if item["type"] == "message":
            opened["content"] = []
            part = dict(item["content"][0])
            text = part["text"]
            inner.append(
                {"type": "response.content_part.added", **where, "content_index": 0, "part": {**part, "text": ""}}
            )
            for word in text.split(" ") if text else []:
                inner.append({"type": "response.output_text.delta", **where, "content_index": 0, "delta": word + " "})
            inner.append({"type": "response.output_text.done", **where, "content_index": 0, "text": text})
            inner.append({"type": "response.content_part.done", **where, "content_index": 0, "part": part})
        elif item["type"] == "function_call":
            opened["arguments"] = ""
            arguments = item["arguments"]
            pieces = [arguments] if not isinstance(arguments, str) else [arguments[:5], arguments[5:]]
            inner += [{"type": "response.function_call_arguments.delta", **where, "delta": p} for p in pieces]
            if "no_arguments_done" not in self.quirks:
                inner.append({"type": "response.function_call_arguments.done", **where, "arguments": arguments})
        done = [] if "never_closed" in self.quirks else [{"type": "response.output_item.done", "output_index": n,
                                                           "item": item}]  # fmt: skip
        if "out_of_order" in self.quirks:  # the item announced only after its content
            return [*inner, added, *done]
        return [added, *inner, *done]


#: the quirks FakeResponses hands on to FakeOpenAI's decisions (what the model answers)
_SHARED_QUIRKS = frozenset({"mute_model", "ignores_json", "schema_as_object", "ignores_none", "ignores_parallel",
                            "ignores_max_tokens", "drops_images"})  # fmt: skip


def _as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses request as the chat-completions body FakeOpenAI decides on: instructions as a system message,
    input items as messages, flat tools and tool_choice in the chat form, text.format as response_format."""
    items = body["input"] if isinstance(body["input"], list) else [{"role": "user", "content": body["input"]}]
    messages = [{"role": "system", "content": body["instructions"]}] if body.get("instructions") else []
    for item in items:
        if "role" in item:
            content = item["content"]
            if isinstance(content, list):
                content = [dict(p, type="text") if p.get("type") == "input_text" else p for p in content]
            messages.append({"role": item["role"], "content": content})
        else:
            messages.append({"role": "tool", "content": json.dumps(item)})
    chat: dict[str, Any] = {"messages": messages, "max_tokens": body.get("max_output_tokens")}
    if body.get("tools"):
        chat["tools"] = [{"type": "function", "function": {"name": t["name"]}} for t in body["tools"]]
    choice = body.get("tool_choice")
    chat["tool_choice"] = {"function": {"name": choice["name"]}} if isinstance(choice, dict) else choice
    chat["parallel_tool_calls"] = body.get("parallel_tool_calls", True)
    fmt = (body.get("text") or {}).get("format")
    if fmt:
        chat["response_format"] = fmt
    return chat
