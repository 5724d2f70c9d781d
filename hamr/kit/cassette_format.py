"""The cassette file format: a vcrpy serializer that keeps cassettes readable and diffable.

vcrpy hands a serializer ``{"interactions": [...], "metadata": {...}}`` with bodies as text; this module writes

- a top-level ``provenance`` (from the cassette metadata): recorded live, a real recording made elsewhere (cited),
  or constructed from documentation (see ``contract_evidence``);
- JSON bodies decoded into YAML structure, plus a ``json_layout`` only when the wire text was not compact JSON
  (indentation, spacing, leading keep-alive whitespace), so replay sends the bytes the provider sent (numbers
  excepted where ``canonical_numbers`` says Python spells them differently);
- SSE bodies as a YAML literal block, one event field per line, exactly as sent;
- headers as ``name: value`` (lower-case names), with ``content-length`` recomputed from the stored body.

Reading reverses all of it. A body this module cannot reproduce exactly is kept verbatim as ``text`` (or
``base64``), never silently reformatted.
"""

from __future__ import annotations

import base64
import http
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

# Candidate encodings tried, in order, to describe how a JSON body was laid out on the wire.
_LAYOUTS: tuple[dict[str, Any], ...] = (
    {},
    {"separators": [", ", ": "]},
    {"indent": 2},
    {"indent": 4},
)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


class CassetteFormatError(ValueError):
    """A cassette file does not follow this format; the message names the file part at fault."""


# ------------------------------------------------------------------------------------------------------------------
# bodies
# ------------------------------------------------------------------------------------------------------------------


def _dump_json(value: Any, layout: Mapping[str, Any]) -> str:
    indent = layout.get("indent")
    separators = tuple(layout.get("separators") or ((",", ": ") if indent else (",", ":")))
    text = json.dumps(value, ensure_ascii=bool(layout.get("ensure_ascii")), indent=indent, separators=separators)
    return f"{layout.get('prefix', '')}{text}{layout.get('suffix', '')}"


def _json_layout(text: str, value: Any) -> dict[str, Any] | None:
    """The layout that re-creates ``text`` from ``value``: byte for byte, or else byte for byte but for how numbers
    are spelled (``0.000081`` comes back as ``8.1e-05``; marked ``canonical_numbers``). None when neither works."""
    core = text.strip()
    prefix = text[: len(text) - len(text.lstrip())]
    suffix = text[len(text.rstrip()) :]
    for exact in (True, False):
        for base in _LAYOUTS:
            for ensure_ascii in (False, True):
                layout = dict(base, ensure_ascii=True) if ensure_ascii else dict(base)
                dumped = _dump_json(value, layout)
                if dumped == core if exact else _NUMBER.sub("0", dumped) == _NUMBER.sub("0", core):
                    if prefix:
                        layout["prefix"] = prefix
                    if suffix:
                        layout["suffix"] = suffix
                    if not exact:
                        layout["canonical_numbers"] = True
                    return layout
    return None


def encode_body(raw: bytes | str | None, content_type: str) -> dict[str, Any]:
    """The readable fields describing one body (an empty dict for no body)."""
    if raw is None or raw in (b"", ""):
        return {}
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    else:
        text = raw
    if "event-stream" in content_type.lower():
        if "\r" in text:
            # YAML cannot show a carriage return in a literal block: store LF lines and say how they were framed.
            if text.replace("\r\n", "\n").replace("\n", "\r\n") == text:
                return {"sse": text.replace("\r\n", "\n"), "line_ending": "crlf"}
            return {"text": text}
        return {"sse": text}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    layout = _json_layout(text, value)
    if layout is None:
        return {"text": text}
    return {"json": value, "json_layout": layout} if layout else {"json": value}


def decode_body(entry: Mapping[str, Any]) -> bytes:
    """The exact body bytes a stored request or response entry stands for."""
    if "json" in entry:
        return _dump_json(entry["json"], entry.get("json_layout") or {}).encode("utf-8")
    if "sse" in entry:
        text = str(entry["sse"])
        return (text.replace("\n", "\r\n") if entry.get("line_ending") == "crlf" else text).encode("utf-8")
    if "text" in entry:
        return str(entry["text"]).encode("utf-8")
    if "base64" in entry:
        return base64.b64decode(entry["base64"])
    return b""


# ------------------------------------------------------------------------------------------------------------------
# headers
# ------------------------------------------------------------------------------------------------------------------


def _flat_headers(headers: Mapping[str, Any]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for name, value in headers.items():
        values = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        out[name.lower()] = values[0] if len(values) == 1 else values
    return out


def _list_headers(headers: Mapping[str, Any] | None) -> dict[str, list[str]]:
    return {
        name: [str(v) for v in value] if isinstance(value, list) else [str(value)]
        for name, value in (headers or {}).items()
    }


def _content_type(headers: Mapping[str, Any]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return str(value[0] if isinstance(value, list | tuple) else value)
    return ""


# ------------------------------------------------------------------------------------------------------------------
# the serializer vcrpy calls (module-level serialize / deserialize)
# ------------------------------------------------------------------------------------------------------------------


def _readable_request(request: Mapping[str, Any]) -> dict[str, Any]:
    headers = _flat_headers(request.get("headers") or {})
    out: dict[str, Any] = {"method": request["method"], "uri": request["uri"], "headers": headers}
    out.update(encode_body(request.get("body"), _content_type(headers)))
    return out


def _readable_response(response: Mapping[str, Any]) -> dict[str, Any]:
    headers = _flat_headers(response.get("headers") or {})
    headers.pop("transfer-encoding", None)
    status = response["status"]
    out: dict[str, Any] = {"status": int(status["code"])}
    reason = status.get("message")
    if reason and reason != _standard_reason(out["status"]):
        out["reason"] = reason
    body = encode_body((response.get("body") or {}).get("string"), _content_type(headers))
    headers["content-length"] = str(len(decode_body(body)))
    out["headers"] = headers
    out.update(body)
    return out


def _standard_reason(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return ""


# libyaml when available: replaying ~140 cassettes with the pure-Python parser costs seconds
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Multi-line strings as literal blocks, so a stream reads one event line per line."""


def _str_representer(dumper: Any, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    node: yaml.Node = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


_Dumper.add_representer(str, _str_representer)


def dump(document: Mapping[str, Any]) -> str:
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def serialize(cassette_dict: Mapping[str, Any]) -> str:
    metadata = dict(cassette_dict.get("metadata") or {})
    provenance = metadata.pop("provenance", None)
    document: dict[str, Any] = {"provenance": provenance}
    if metadata:
        document["metadata"] = metadata
    document["interactions"] = [
        {"request": _readable_request(i["request"]), "response": _readable_response(i["response"])}
        for i in cassette_dict["interactions"]
    ]
    return dump(document)


def deserialize(cassette_string: str) -> dict[str, Any]:
    document = yaml.load(cassette_string, Loader=_Loader)
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise CassetteFormatError("not a hamr cassette: expected a mapping with an 'interactions' list")
    if not document.get("provenance"):
        raise CassetteFormatError("cassette has no 'provenance': say whether it was recorded live or constructed")
    interactions = []
    for n, interaction in enumerate(document["interactions"]):
        try:
            request, response = interaction["request"], interaction["response"]
            body = decode_body(response)
            headers = _list_headers(response.get("headers"))
            headers["content-length"] = [str(len(body))]
            interactions.append(
                {
                    "request": {
                        "method": request["method"],
                        "uri": request["uri"],
                        "body": decode_body(request) or None,
                        "headers": _list_headers(request.get("headers")),
                    },
                    "response": {
                        "status": {
                            "code": int(response["status"]),
                            "message": response.get("reason") or _standard_reason(int(response["status"])),
                        },
                        "headers": headers,
                        "body": {"string": body},
                    },
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteFormatError(f"interactions[{n}] is malformed: {type(exc).__name__}: {exc}") from None
    # Provenance is written from vcrpy's cassette metadata but not handed back: pytest-recording's persister
    # unpacks (requests, responses) pairs only. Tools read it with ``provenance(path)``.
    return {"version": 1, "interactions": interactions}


def normalize(text: str) -> str:
    """A cassette file as this module writes it: the fixed point every committed cassette must already be at."""
    document = load(text)
    cassette = deserialize(text)
    cassette["metadata"] = {"provenance": document["provenance"], **(document.get("metadata") or {})}
    again = load(serialize(cassette))
    # canonical_numbers records how the provider spelled numbers on the wire: a fact the stored bytes no longer show
    for before, after in zip(document["interactions"], again["interactions"], strict=True):
        for side in ("request", "response"):
            if (before[side].get("json_layout") or {}).get("canonical_numbers") and "json" in after[side]:
                after[side]["json_layout"] = {**(after[side].get("json_layout") or {}), "canonical_numbers": True}
    return dump(again)


def load(text: str) -> dict[str, Any]:
    """A cassette file as its readable document (provenance and interactions as stored)."""
    document = yaml.load(text, Loader=_Loader)
    if not isinstance(document, dict):
        raise CassetteFormatError("not a hamr cassette: expected a mapping")
    return document


# ------------------------------------------------------------------------------------------------------------------
# shape drift: fields and event types that appeared, disappeared or changed type, and provenance changes
# ------------------------------------------------------------------------------------------------------------------


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _paths(value: Any, prefix: str, out: dict[str, set[str]]) -> None:
    out.setdefault(prefix or "$", set()).add(_type(value))
    if isinstance(value, dict):
        for key, child in value.items():
            _paths(child, f"{prefix}.{key}", out)
    elif isinstance(value, list):
        for child in value:
            _paths(child, f"{prefix}[]", out)


def _sse_shape(text: str, out: dict[str, set[str]], events: set[str]) -> None:
    name = ""
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith(":"):
            events.add("(comment)")
        elif line.startswith("data:"):
            data = line[5:].strip()
            try:
                value = json.loads(data)
            except ValueError:
                events.add(f"data {data[:20]}")
                continue
            kind = name or (value.get("type") or value.get("object") if isinstance(value, dict) else None) or "data"
            events.add(str(kind))
            _paths(value, f"<{kind}>", out)
        elif not line:
            name = ""


def shape(document: Mapping[str, Any]) -> tuple[dict[str, set[str]], set[str]]:
    """(JSON path -> types seen, stream event kinds) of a cassette, interactions numbered."""
    paths: dict[str, set[str]] = {}
    events: set[str] = set()
    for n, interaction in enumerate(document.get("interactions") or []):
        response = interaction.get("response") or {}
        paths.setdefault(f"#{n} status {response.get('status')}", set()).add("status")
        for name in response.get("headers") or {}:
            paths.setdefault(f"#{n} header {name}", set()).add("header")
        if "json" in response:
            _paths(response["json"], f"#{n} body", paths)
        if "sse" in response:
            _sse_shape(str(response["sse"]), paths, events)
    return paths, events


def drift(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences in shape; empty when the new cassette has the old one's shape."""
    if old is None:
        return ["new cassette"]
    old_paths, old_events = shape(old)
    new_paths, new_events = shape(new)
    lines = [f"+ {p} ({'/'.join(sorted(new_paths[p]))})" for p in sorted(new_paths.keys() - old_paths.keys())]
    lines += [f"- {p} ({'/'.join(sorted(old_paths[p]))})" for p in sorted(old_paths.keys() - new_paths.keys())]
    lines += [
        f"~ {p}: {'/'.join(sorted(old_paths[p]))} -> {'/'.join(sorted(new_paths[p]))}"
        for p in sorted(old_paths.keys() & new_paths.keys())
        if old_paths[p] != new_paths[p]
    ]
    lines += [f"+ event {e}" for e in sorted(new_events - old_events)]
    lines += [f"- event {e}" for e in sorted(old_events - new_events)]
    return lines + provenance_drift(old.get("provenance"), new.get("provenance"))


def _flat(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flat(child, f"{prefix}.{key}", out)
    elif isinstance(value, list) and value:
        for n, child in enumerate(value):
            _flat(child, f"{prefix}[{n}]", out)
    else:
        out[prefix] = value


def _shown(value: Any, size: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= size else text[: size - 1] + "…"


def provenance_drift(old: Any, new: Any) -> list[str]:
    """Every provenance field that appeared, disappeared or changed: the evidence kind (``source``), a live
    recording's date, server and model, a real recording's cited source (repository, path, commit, interaction,
    recorded date) and what it answered, a constructed cassette's doc pages and date, and the notes."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if isinstance(old, dict) and old:
        _flat(old, "provenance", before)
    if isinstance(new, dict) and new:
        _flat(new, "provenance", after)
    lines = []
    for key in dict.fromkeys([*after, *before]):
        if key not in before:
            lines.append(f"+ {key}: {_shown(after[key])}")
        elif key not in after:
            lines.append(f"- {key}: {_shown(before[key])}")
        elif before[key] != after[key]:
            lines.append(f"~ {key}: {_shown(before[key])} -> {_shown(after[key])}")
    return lines
