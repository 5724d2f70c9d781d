"""Helpers both protocols share: checking the caller's messages, and reading a JSON body safely."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ._errors import InvalidResponseError
from ._types import ReasoningBlock

ROLES = ("system", "user", "assistant", "tool")


def clean_messages(messages: Sequence[Mapping[str, Any]] | str) -> list[dict[str, Any]]:
    """Validate neutral messages (a bare string is one user message); raise ValueError naming the bad one."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise ValueError(f"messages[{i}] must be a dict with 'role' and 'content', got {type(msg).__name__}")
        role = msg.get("role")
        if role not in ROLES:
            raise ValueError(f"messages[{i}] has role {role!r}; use one of {', '.join(ROLES)}")
        if role == "tool" and not msg.get("tool_call_id"):
            raise ValueError(f"messages[{i}] is a tool result without 'tool_call_id'")
        for j, call in enumerate(msg.get("tool_calls") or ()):
            if not isinstance(call, Mapping) or not call.get("id"):
                raise ValueError(f"messages[{i}].tool_calls[{j}] needs an 'id'")
        for j, block in enumerate(msg.get("reasoning_blocks") or ()):
            ReasoningBlock.from_value(block, f"messages[{i}].reasoning_blocks[{j}]")
        out.append(dict(msg))
    return out


def tool_arguments_json(arguments: Any) -> str:
    """Tool-call arguments as the JSON text providers expect (a string passes through as sent)."""
    if arguments is None:
        return "{}"
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def tool_arguments_dict(arguments: Any) -> dict[str, Any]:
    """Tool-call arguments as an object (Anthropic's ``input``); unparseable text is sent back wrapped, not lost."""
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not arguments:
        return {}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {"_raw_arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw_arguments": arguments}


def token_count(value: Any) -> int:
    """A token count as sent, or 0 for null, missing or garbled values (usage is informative, never fatal)."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 0


def load_json(provider: str, body: bytes) -> Any:
    """Parse a JSON body (leading keep-alive whitespace allowed); anything else is an InvalidResponseError."""
    try:
        return json.loads(body)
    except ValueError:
        snippet = body[:200].decode("utf-8", "replace")
        what = "an empty body" if not body.strip() else f"a body that is not JSON: {snippet!r}"
        raise InvalidResponseError(f"expected JSON, got {what}", provider=provider, status=200, body=snippet) from None


# ---- request options: the neutral forms both protocols accept, checked once here --------------------------------

TOOL_CHOICE_MODES = ("auto", "none", "required")


def tool_names(tools: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """The names of ``tools``, in any of the accepted forms (neutral, OpenAI ``function``, Anthropic native)."""
    names = []
    for tool in tools or ():
        # OpenAI's chat form nests the function; the Responses form ({"type": "function", "name": ...}) does not
        inner = tool.get("function") if tool.get("type") == "function" and "function" in tool else tool
        names.append(str(inner.get("name") if isinstance(inner, Mapping) else ""))
    return names


def tool_choice_of(choice: Any, tools: Sequence[Mapping[str, Any]] | None) -> tuple[str, str | None] | None:
    """A neutral ``tool_choice`` checked against ``tools``: ``(mode, None)`` for auto/none/required, ``("tool", name)``
    for ``{"name": ...}``, None when there is nothing to send (no choice; auto or none without tools, which is what
    a request without tools means anyway). A choice that cannot be met is a ValueError before anything is sent."""
    if choice is None:
        return None
    if isinstance(choice, str) and choice in TOOL_CHOICE_MODES:
        if tools:
            return choice, None
        if choice == "required":
            raise ValueError("tool_choice='required' needs tools: pass tools=[...]")
        return None
    if isinstance(choice, Mapping) and set(choice) == {"name"} and isinstance(choice["name"], str):
        names = tool_names(tools)
        if choice["name"] not in names:
            known = ", ".join(repr(n) for n in names) or "no tools were given"
            raise ValueError(f"tool_choice names the tool {choice['name']!r}, which is not in tools ({known})")
        return "tool", choice["name"]
    raise ValueError(f"tool_choice must be 'auto', 'none', 'required' or {{'name': <tool name>}}, got {choice!r}")


def stop_list(stop: str | Sequence[str] | None) -> list[str] | None:
    """``stop`` as a list of stop sequences (a bare string is one), None when there are none."""
    if stop is None:
        return None
    stops = [stop] if isinstance(stop, str) else list(stop)
    for s in stops:
        if not isinstance(s, str) or not s:
            raise ValueError(f"stop must be a non-empty string or a list of them, got {stop!r}")
    return stops or None


_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class JSONFormat(NamedTuple):
    """A neutral ``response_format``: JSON text, following ``schema`` when there is one."""

    name: str
    schema: dict[str, Any] | None
    strict: bool | None


def response_format_of(fmt: Mapping[str, Any] | None) -> JSONFormat | None:
    """``{"type": "json_object"}``, ``{"type": "json_schema", "name", "schema", "strict"}`` (or OpenAI's own
    ``{"type": "json_schema", "json_schema": {...}}``) checked and normalised; ``{"type": "text"}`` and None are no
    format. Anything else is a ValueError."""
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return JSONFormat("json_answer", None, None)
    if kind == "json_schema":
        spec = fmt.get("json_schema", fmt)
        name, schema, strict = spec.get("name", "json_answer"), spec.get("schema"), spec.get("strict")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise ValueError(f"response_format name must be 1-64 letters, digits, _ or -, got {name!r}")
        if not isinstance(schema, Mapping):
            raise ValueError("response_format of type json_schema needs a 'schema' (a JSON schema object)")
        if strict is not None and not isinstance(strict, bool):
            raise ValueError(f"response_format strict must be true or false, got {strict!r}")
        return JSONFormat(name, dict(schema), strict)
    raise ValueError(
        'response_format must be {"type": "json_object"} or {"type": "json_schema", "name": ..., "schema": {...}}, '
        f"got {fmt!r}"
    )


_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


def image_block(part: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI ``image_url`` content part as an Anthropic ``image`` block (base64 data URL or https URL)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    if not isinstance(url, str) or not url:
        raise ValueError(f"an image_url part needs a url: {dict(part)!r}")
    block: dict[str, Any]
    found = _DATA_URL.match(url)
    if found:
        block = {"type": "image", "source": {"type": "base64", "media_type": found["media"], "data": found["data"]}}
    elif url.startswith("data:"):
        raise ValueError("an image data URL must be base64: data:<media type>;base64,<data>")
    else:
        block = {"type": "image", "source": {"type": "url", "url": url}}
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def image_url_part(block: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic ``image`` block as an OpenAI ``image_url`` part (the reverse of ``image_block``)."""
    source = block.get("source")
    if isinstance(source, Mapping) and source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif isinstance(source, Mapping) and source.get("type") == "url":
        url = str(source.get("url"))
    else:
        raise ValueError(f"an image block needs a base64 or url source: {dict(block)!r}")
    return {"type": "image_url", "image_url": {"url": url}}


#: the kinds of Responses-API output item whose presence makes an assistant ``content`` list the turn as that API
#: sent it (``Completion.content_blocks`` of an openai-responses answer), not content parts or Anthropic blocks
RESPONSES_ITEMS = frozenset(
    {
        "message",
        "reasoning",
        "function_call",
        "custom_tool_call",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
    }
)


def responses_turn(content: Any) -> bool:
    """Whether an assistant message's ``content`` is a Responses answer's output items (``to_message()`` of an
    openai-responses completion)."""
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") in RESPONSES_ITEMS for b in content
    )


def assistant_text(content: Any) -> str:
    """The text of an assistant ``content`` list kept whole for another protocol: Anthropic ``text`` blocks and the
    ``output_text`` parts of Responses ``message`` items, in order (what a protocol that cannot take the list back
    as it is sends instead)."""
    out: list[str] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            out.append(block["text"])
        elif block.get("type") == "message":
            out += [p["text"] for p in block.get("content") or () if p.get("type") == "output_text" and "text" in p]
    return "".join(out)


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
    """``extra_body`` into a built body, last, so it may override what hamr built; an object given where hamr
    built one too is merged one level deep (``output_config: {"effort": ...}`` beside ``response_format``'s
    ``output_config.format``)."""
    for key, value in (extra or {}).items():
        built = body.get(key)
        body[key] = {**built, **value} if isinstance(built, dict) and isinstance(value, Mapping) else value
