"""Two reports over cassettes and contract results: the drift between a re-recorded cassette and the one it
replaces (fields and event types that appeared, disappeared or changed type), and the compatibility matrix."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import cassette_format
from contract_cases import CASES, COLUMNS

# ------------------------------------------------------------------------------------------------------------------
# drift
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
    old_source = (old.get("provenance") or {}).get("source")
    new_source = (new.get("provenance") or {}).get("source")
    if old_source != new_source:
        lines.append(f"~ provenance: {old_source} -> {new_source}")
    return lines


def drift_report(old_root: Path, new_root: Path) -> str:
    out = []
    for new_path in sorted(new_root.glob("**/*.yaml")):
        relative = new_path.relative_to(new_root)
        old_path = old_root / relative
        old = cassette_format.load(old_path.read_text(encoding="utf-8")) if old_path.exists() else None
        lines = drift(old, cassette_format.load(new_path.read_text(encoding="utf-8")))
        out.append(f"{relative}: " + ("no drift" if not lines else f"{len(lines)} change(s)"))
        out += [f"    {line}" for line in lines]
    return "\n".join(out) if out else "nothing was recorded"


# ------------------------------------------------------------------------------------------------------------------
# compatibility matrix
# ------------------------------------------------------------------------------------------------------------------

MATRIX_COLUMNS = list(dict.fromkeys(COLUMNS.values()))


def _cell(entries: list[Mapping[str, Any]]) -> str:
    if any(e["outcome"] == "failed" for e in entries):
        return "failed"
    ran = [e for e in entries if e["outcome"] == "passed"]
    if not ran:
        return "not supported"
    sources = {e.get("provenance") for e in ran}
    if sources == {"recorded live"}:
        return "passed"
    if "recorded live" in sources:
        return "passed (part constructed)"
    return "constructed-only"


def render_matrix(results: Iterable[Mapping[str, Any]]) -> str:
    """COMPATIBILITY.md from per-(preset, test) outcomes; every contract test of every preset must be present."""
    by_key = {(r["preset"], r["test"]): r for r in results}
    for preset, case in CASES.items():  # unsupported features have no test; their reason comes from the table
        for test in COLUMNS:
            if not case.supports(test):
                by_key[(preset, test)] = {"outcome": "unsupported", "reason": case.support[test]}
    missing = [f"{p}/{t}" for p in CASES for t in COLUMNS if (p, t) not in by_key]
    if missing:
        raise ValueError(f"results are incomplete (run the whole contract suite): missing {', '.join(missing[:5])}…")
    header = "| preset | " + " | ".join(MATRIX_COLUMNS) + " |"
    rows = [header, "|" + " --- |" * (len(MATRIX_COLUMNS) + 1)]
    notes: list[str] = []
    caveats: list[str] = []
    for preset in CASES:
        cells = []
        for column in MATRIX_COLUMNS:
            entries = [by_key[(preset, t)] for t, c in COLUMNS.items() if c == column]
            cells.append(_cell(entries))
            notes += sorted(
                {
                    f"- {preset} / {column}: {e['reason'].removeprefix(preset + ': ').removeprefix('unsupported: ')}"
                    for e in entries
                    if e["outcome"] == "unsupported"
                }
            )
        rows.append(f"| `{preset}` | " + " | ".join(cells) + " |")
        caveats += [f"- {preset} / {COLUMNS[t]}: {text}" for t, text in CASES[preset].caveats.items()]
    return "\n".join(
        [
            "# Compatibility",
            "",
            "What hamr's contract suite (`tests/contract/`) proves for each preset, replaying the cassettes in",
            "`cassettes/<preset>/` offline, through both `Client` and `AsyncClient` (a cell passes only if both do).",
            "Generated by `nox -s matrix`; do not edit by hand.",
            "",
            "- **passed**: the contract passed against cassettes recorded live from the real server.",
            "- **constructed-only**: the contract passed against cassettes constructed from the provider's documented",
            "  wire format or real reference recordings (each cassette's `provenance` says which); it has not been",
            "  re-recorded live with a key. **passed (part constructed)**: some of the column's tests are each kind.",
            "- **not supported**: the provider does not have the feature (reasons below).",
            "- **failed**: the contract fails; hamr does not work with this preset here.",
            "",
            *rows,
            "",
            "Columns: chat = plain chat, system prompt placement, request URL/auth/headers, interpolated header left",
            "out when unset; tools = a tool call and the follow-up with its result; 404 model = an unknown model id",
            "(400 or 404, as the provider answers); 429 = retried after Retry-After, then raised.",
            "",
            "Not supported:",
            "",
            *notes,
            "",
            "Caveats:",
            "",
            *caveats,
            "",
        ]
    )
