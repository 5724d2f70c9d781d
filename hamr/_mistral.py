"""Mistral's rules, applied to an openai-compatible request before it is sent: tool-call ids must be exactly nine
characters of ``a-zA-Z0-9`` ("Tool call id was call_0 but must be a-z, A-Z, 0-9, with a length of 9."), and a
``user`` message may not directly follow a ``tool`` message ("Unexpected role 'user' after role 'tool'"); both
happen when a conversation started with another provider continues on Mistral. And a few request fields have
Mistral's own names (``FIELD_NAMES``): Mistral answers 422 ``extra_forbidden`` to a field it does not know."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from ._config import ProviderSettings

MISTRAL_HOST = "api.mistral.ai"
_VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: OpenAI's name of a request field -> Mistral's: its chat-completions schema (the official SDK, generated from its
#: OpenAPI spec) has ``random_seed`` and no ``seed``
FIELD_NAMES = {"seed": "random_seed"}


def follows_mistral_rules(settings: ProviderSettings) -> bool:
    """The mistral preset, or a provider of another name whose base_url is Mistral's API."""
    return settings.id == "mistral" or urlsplit(settings.base_url).hostname == MISTRAL_HOST


def mistral_tool_id(call_id: str) -> str:
    """``call_id`` itself when Mistral accepts it, else nine base-62 characters of its SHA-256: the same foreign id
    becomes the same valid id in every request, so a call and its result still match."""
    if _VALID_ID.fullmatch(call_id):
        return call_id
    import hashlib  # here, not at the top: only foreign ids need it, and it costs `import hamr` a tenth

    number = int.from_bytes(hashlib.sha256(call_id.encode("utf-8")).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def apply_mistral_rules(messages: list[dict[str, Any]], *, offset: int = 0) -> None:
    """Check and fix the outgoing openai-form ``messages`` in place (``offset``: how many messages hamr put before
    the caller's, so an error names the caller's index)."""
    check_order(messages, offset)
    map_tool_ids(messages)


def check_order(messages: Sequence[dict[str, Any]], offset: int = 0) -> None:
    """Raise ValueError, before anything is sent, where a ``user`` message directly follows a ``tool`` message.
    hamr does not invent the assistant turn Mistral wants in between: the caller decides what it says."""
    for i in range(1, len(messages)):
        if messages[i]["role"] == "user" and messages[i - 1]["role"] == "tool":
            raise ValueError(
                f"messages[{i - offset}] is a 'user' message directly after a 'tool' message, which Mistral rejects "
                f"(\"Unexpected role 'user' after role 'tool'\"): send the tool results back for the assistant's "
                f"answer first, or put an assistant message between them"
            )


def map_tool_ids(messages: list[dict[str, Any]]) -> None:
    """Give every tool call (assistant ``tool_calls[].id``) and tool result (``tool_call_id``) an id Mistral accepts,
    in place. Raises ValueError in the (one in 10^16) case that two different ids map to the same one."""
    origin: dict[str, str] = {}  # valid id -> the id it was made from

    def valid(call_id: Any) -> str:
        new = mistral_tool_id(str(call_id))
        if origin.setdefault(new, str(call_id)) != str(call_id):
            raise ValueError(f"tool-call ids {origin[new]!r} and {str(call_id)!r} both map to {new!r} for Mistral")
        return new

    for msg in messages:
        if msg.get("tool_calls"):
            msg["tool_calls"] = [{**call, "id": valid(call["id"])} for call in msg["tool_calls"]]
        if msg["role"] == "tool":
            msg["tool_call_id"] = valid(msg["tool_call_id"])
