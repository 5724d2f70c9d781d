"""Two reports over cassettes and contract results: the drift between a re-recorded cassette and the one it
replaces (fields and event types that appeared, disappeared or changed type, and every provenance field that
changed), and the compatibility matrix (per cell, the kind of evidence its tests passed against)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hamr.kit import cassette_format
from hamr.kit.cassette_format import drift
from tests.contract.contract_cases import CASES, COLUMNS


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


#: the evidence kinds a passing cell names, strongest first (``contract_evidence.KINDS``)
EVIDENCE = ("recorded live", "real recording", "constructed")


def _cell(entries: list[Mapping[str, Any]]) -> str:
    if all(e["outcome"] == "not applicable" for e in entries):
        return "n/a"
    if any(e["outcome"] == "failed" for e in entries):
        return "failed"
    if any(e["outcome"] == "skipped" for e in entries):
        return "skipped"  # never counted as passing
    ran = [e for e in entries if e["outcome"] == "passed"]
    if not ran:
        return "not supported"
    kinds: dict[str, set[str]] = {}
    for e in ran:
        kinds.setdefault(e.get("provenance") or "unknown evidence", set()).add(e.get("date") or "")
    order = sorted(kinds, key=lambda k: EVIDENCE.index(k) if k in EVIDENCE else len(EVIDENCE))
    return " + ".join(f"{kind} ({_when(kinds[kind])})" for kind in order)


def _when(dates: set[str]) -> str:
    """The dates of a cell's evidence of one kind: one date, a range, and how many the source left undated."""
    known = sorted(d for d in dates if d)
    span = (known[0] if known[0] == known[-1] else f"{known[0]} to {known[-1]}") if known else ""
    if "" in dates:
        return f"{span}; some undated" if span else "undated by its source"
    return span


#: how a test is named beside its column when only some of the column's tests are constructed
_LABELS = {
    "chat": "plain chat",
    "system_prompt": "system prompt",
    "request_shape": "request shape",
    "header_unset": "unset header",
    "tool_call": "tool call",
    "tool_result": "follow-up with the result",
    "reasoning": "non-streamed",
    "reasoning_stream": "streamed",
}


def _constructed_notes(preset: str, by_key: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[str]:
    """One line per reason a preset has constructed cells: which cells, why no real evidence, which doc pages."""
    groups: dict[str, list[str]] = {}
    for test in COLUMNS:
        entry = by_key[(preset, test)]
        if entry["outcome"] == "passed" and entry.get("provenance") == "constructed":
            groups.setdefault(str(entry.get("why") or "no reason given"), []).append(test)
    lines = []
    for why, tests in groups.items():
        cells = []
        for column in MATRIX_COLUMNS:
            own = [t for t in COLUMNS if COLUMNS[t] == column and CASES[preset].supports(t)]
            mine = [t for t in own if t in tests]
            if mine:
                cells.append(column if mine == own else f"{column} ({', '.join(_LABELS.get(t, t) for t in mine)})")
        docs = list(dict.fromkeys(d for t in tests for d in by_key[(preset, t)].get("docs") or []))
        lines.append(f"- {preset} / {'; '.join(cells)}: {why}; constructed from {', '.join(docs) or '(no page named)'}")
    return lines


#: the verdicts of a conformance run that mean hamr read a real server's answer for the cell (``nox -s conform``)
_MEASURED = (
    "honoured",
    "rejected loudly",
    "accepted but ignored",
    "broken shape",
    "limited by the model",
    "cannot tell",
)


def _measured_cell(column: str, runs: Sequence[Mapping[str, Any]]) -> str | None:
    """The live evidence the conformance runs give `custom`'s cell: how many real servers answered its probes."""
    servers = sorted(
        {
            run["target"]["name"]
            for run in runs
            for verdict in run["verdicts"].values()
            if verdict.get("column") == column and verdict["kind"] in _MEASURED
        }
    )
    if not servers:
        return None
    dates = {run["run"]["date"] for run in runs if run["target"]["name"] in servers}
    return f"recorded live ({_when(dates)}; `nox -s conform`, {len(servers)} servers)"


def _measured_section(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each server the conformance kit measured: its row of verdicts, run facts and rerun command."""
    if not runs:
        return []
    cells = [v["cell"] for v in runs[0]["verdicts"].values()]
    lines = [
        "## Servers measured by the conformance kit (`custom`)",
        "",
        "What real OpenAI- and Anthropic-compatible servers, and servers of the Responses API, did with each",
        "request option, probed live through hamr's own client by `nox -s conform` and judged from the recorded",
        "bytes (`conformance/<server>/`: report, cassettes, hamr config snippet; `nox -s conform -- --replay",
        "conformance/<server>` judges them again offline). Verdicts: honoured · rejected loudly (a 4xx in the",
        "protocol's error shape) · accepted but ignored · broken shape · limited by the model (the server did its",
        "part, the model did not) · cannot tell (the parameter's request was served, but its control failed or the",
        "tries disagree) · not applicable · not run. The `custom` row above counts these servers as its live",
        'evidence. The kit\'s verdicts are themselves checked: README, "The kit, judged".',
        "",
        "| server | protocol | " + " | ".join(cells) + " |",
        "|" + " --- |" * (len(cells) + 2),
    ]
    for run in runs:
        kinds = [v["kind"] for v in run["verdicts"].values()]
        lines.append(f"| `{run['target']['name']}` | {run['run']['protocol']} | " + " | ".join(kinds) + " |")
    lines.append("")
    for run in runs:
        facts = run["run"]
        lines.append(
            f"- `{run['target']['name']}` ({facts['date']}, {facts['requests']} requests, {facts['seconds']} s): "
            f"{facts['server']}; model {facts['model']}; rerun: `{facts['rerun']}`"
        )
    return ["", *lines]


def render_matrix(results: Iterable[Mapping[str, Any]], measured: Sequence[Mapping[str, Any]] = ()) -> str:
    """COMPATIBILITY.md from per-(preset, test) outcomes; every contract test of every preset must be present.
    ``measured``: the conformance kit's reports (``conformance/*/report.json``), the live evidence of `custom`."""
    by_key = {(r["preset"], r["test"]): r for r in results}
    for preset, case in CASES.items():  # unsupported features have no test; their reason comes from the table
        for test in COLUMNS:
            if not case.applies(test):  # another protocol's test
                by_key[(preset, test)] = {"outcome": "not applicable"}
            elif not case.supports(test):
                by_key[(preset, test)] = {"outcome": "unsupported", "reason": case.support[test]}
    missing = [f"{p}/{t}" for p in CASES for t in COLUMNS if (p, t) not in by_key]
    if missing:
        raise ValueError(f"results are incomplete (run the whole contract suite): missing {', '.join(missing[:5])}…")
    header = "| preset | protocol | " + " | ".join(MATRIX_COLUMNS) + " |"
    rows = [header, "|" + " --- |" * (len(MATRIX_COLUMNS) + 2)]
    notes: list[str] = []
    constructed: list[str] = []
    caveats: list[str] = []
    for preset in CASES:
        cells = []
        for column in MATRIX_COLUMNS:
            entries = [by_key[(preset, t)] for t, c in COLUMNS.items() if c == column]
            cell = _cell(entries)
            live = _measured_cell(column, measured) if preset == "custom" and cell != "failed" else None
            cells.append(f"{live} + {cell}" if live and cell != "not supported" else live or cell)
            notes += sorted(
                {
                    f"- {preset} / {column}: {e['reason'].removeprefix(preset + ': ').removeprefix('unsupported: ')}"
                    for e in entries
                    if e["outcome"] == "unsupported"
                }
            )
        rows.append(f"| `{preset}` | {CASES[preset].protocol} | " + " | ".join(cells) + " |")
        constructed += _constructed_notes(preset, by_key)
        caveats += [f"- {preset} / {COLUMNS[t]}: {text}" for t, text in CASES[preset].caveats.items()]
    return "\n".join(
        [
            "# Compatibility",
            "",
            "What hamr's contract suite (`tests/contract/`) proves for each preset and protocol, replaying the",
            "cassettes in `cassettes/<row>/` offline, through both `Client` and `AsyncClient` (a cell passes only if",
            "both do). A row is a preset, or a preset switched to another protocol (`openrouter-responses`: the",
            '`openrouter` preset with `compatibility = "openai-responses"`). Generated by `nox -s matrix`; do not',
            "edit by hand.",
            "",
            "A cell whose tests pass names the evidence they passed against (joined by `+` when a column's tests rest",
            "on more than one kind; each cassette's `provenance` says exactly what it is) and when it was made: the",
            "day it was recorded here or constructed, or the day the cited source recorded it (undated where the",
            "source does not say). `nox -s cassettes` lists each preset's oldest and newest and flags old ones:",
            "",
            "- **recorded live**: recorded here by `nox -s record` from a real server (for the local presets, a",
            "  llama.cpp server on 127.0.0.1), request and response as they crossed the wire.",
            "- **real recording**: the response is a real provider's, recorded elsewhere by a public project's test",
            "  suite and cited by its original source (repository, path, commit, interaction); the request is hamr's",
            "  own, rebuilt for the test, and the cassette says what the recorded request was and what, if anything,",
            "  was normalised in the response.",
            "- **constructed**: written from the provider's documentation because no real response for the situation",
            "  exists; the cassette names the doc pages and the date, and the list below says why.",
            "",
            "Other cells: **not supported** (the provider does not have the feature; reasons below), **failed**",
            "(the contract fails: hamr does not work with this preset here), **skipped** (not run; never counted as",
            "passing), **n/a** (a test of another protocol).",
            "",
            *rows,
            "",
            "Columns: chat = plain chat, system prompt placement, request URL/auth/headers, interpolated header left",
            "out when unset; tools = a tool call and the follow-up with its result; 404 model = an unknown model id",
            "(400 or 404, as the provider answers); 429 = retried after Retry-After, then raised; round trip = an",
            "answer's output items (reasoning items with their encrypted content, function calls) sent back exactly",
            "by `to_message()` with the tool results as `function_call_output` items (openai-responses).",
            "",
            "Constructed cells, and why no real evidence backs them:",
            "",
            *constructed,
            "",
            "Not supported:",
            "",
            *notes,
            "",
            "Caveats:",
            "",
            *caveats,
            *_measured_section(measured),
            "",
        ]
    )


def evidence_date(provenance: Any) -> str | None:
    """When a cassette's evidence was made: recorded live (``date``), recorded by the cited source
    (``recording.recorded``, when the source says), or constructed (``constructed``); None when unknown."""
    if not isinstance(provenance, dict):
        return None
    recording = provenance.get("recording")
    if isinstance(recording, list):  # a conversation stored in several files: when its first turn was recorded
        recording = recording[0] if recording else None
    cited = recording.get("recorded") if isinstance(recording, dict) else None
    value = provenance.get("date") or cited or provenance.get("constructed")
    return str(value)[:10] if value else None


def age_report(root: Path, today: datetime.date, max_days: int) -> tuple[str, int]:
    """Per preset, the oldest and newest cassette by the date of its evidence, and every cassette older than
    ``max_days`` (a warning: old evidence is still evidence, but worth re-recording). Returns the text and how many
    were flagged."""
    lines = [f"cassette age (evidence older than {max_days} days is flagged):"]
    flagged = 0
    for preset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        dated: list[tuple[str, str]] = []
        undated: list[str] = []
        for path in sorted(preset_dir.glob("*.yaml")):
            provenance = cassette_format.load(path.read_text(encoding="utf-8")).get("provenance")
            when = evidence_date(provenance)
            (dated.append((when, path.stem)) if when else undated.append(path.stem))
        if not dated:
            lines.append(f"  {preset_dir.name}: no dated cassette ({len(undated)} without a date)")
            continue
        dated.sort()
        (old_day, old), (new_day, new) = dated[0], dated[-1]
        line = f"  {preset_dir.name}: oldest {old} ({old_day}), newest {new} ({new_day})"
        if undated:
            line += f"; {len(undated)} without a date (a source that did not record one)"
        lines.append(line)
        for day, name in dated:
            age = (today - _first_day(day)).days
            if age > max_days:
                flagged += 1
                lines.append(f"    warning: {preset_dir.name}/{name}.yaml is {age} days old ({day})")
    return "\n".join(lines), flagged


def _first_day(value: str) -> datetime.date:
    """A date as sources give it: ``2026-11-30``, or only ``2025-02`` / ``2024`` (taken at its first day)."""
    parts = [int(p) for p in value.split("-")[:3]]
    return datetime.date(*(parts + [1, 1][: 3 - len(parts)]))


# ------------------------------------------------------------------------------------------------------------------
# dated facts of the presets
# ------------------------------------------------------------------------------------------------------------------


def facts_report(presets: Iterable[Any], today: datetime.date, max_days: int) -> tuple[str, int]:
    """Per preset, its default model and its prices (a model's own prices too) with the page and the date each was
    last checked against (``default_model_source`` / ``prices_source`` in hamr/_presets.py), flagging every check
    older than ``max_days`` and every default or price without one. Returns the text and how many were flagged."""
    lines = [f"preset defaults and prices (a check older than {max_days} days, or none, is flagged):"]
    flagged = 0
    for preset in presets:
        facts = [("default model", preset.default_model, preset.default_model_source)]
        priced = [("prices", preset)] + [(f"prices of {m.id}", m) for m in preset.models]
        for what, holder in priced:
            value = _prices(holder)
            if value is not None:
                facts.append((what, value, preset.prices_source))
        if preset.prices_source is not None and _prices(preset) is None:
            facts.append(("prices", "reported by the provider with each answer", preset.prices_source))
        elif _prices(preset) is None and preset.base_url and not preset.local:
            lines.append(f"  {preset.id}: no prices (Spend shows n/a until they are configured)")
        for what, value, source in facts:
            if value is None:
                continue
            if source is None:
                flagged += 1
                lines.append(f"    warning: {preset.id}: {what} {value}: no source or checked date")
                continue
            url, checked = source
            age = (today - _first_day(checked)).days
            lines.append(f"  {preset.id}: {what} {value}, checked {checked} ({age} days ago) at {url}")
            if age > max_days:
                flagged += 1
                lines.append(f"    warning: {preset.id}: {what} {value} last checked {age} days ago: re-check it")
    return "\n".join(lines), flagged


def _prices(holder: Any) -> str | None:
    """``in / out / cache read`` per 1M tokens, or None when neither the input nor the output price is set."""
    prices = [
        holder.input_price_per_1m_tokens,
        holder.output_price_per_1m_tokens,
        holder.cache_read_price_per_1m_tokens,
    ]
    if prices[:2] == [None, None]:
        return None
    return " / ".join("-" if p is None else f"{p:g}" for p in prices) + " USD per 1M (in / out / cache read)"
