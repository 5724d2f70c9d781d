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
