"""Helpers both protocols share: checking the caller's messages, and reading a JSON body safely."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

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
        inner = tool.get("function") if tool.get("type") == "function" else tool
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
