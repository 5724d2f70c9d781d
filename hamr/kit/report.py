"""What a run hands back, built from its verdicts alone: the row in COMPATIBILITY.md's form, the report (Markdown
and JSON), the ``[providers.<name>]`` TOML snippet for hamr's config, the exit code, and what changed since the
previous run (drift)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hamr.kit import cassette_format
from hamr.kit import probes as p
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from hamr.kit.cassette_format import drift as shape_drift
from hamr.kit.run import Target, provider_toml

#: the kinds a required cell may have and still hold: the server did its part
HOLDS = (v.HONOURED, v.MODEL, v.NOT_APPLICABLE)


def header() -> str:
    cells = [probe.cell for probe in p.PROBES]
    return "| server | protocol | " + " | ".join(cells) + " |\n| " + " | ".join(["---"] * (len(cells) + 2)) + " |"


def row(name: str, protocol: str, verdicts: Mapping[str, Mapping[str, str]]) -> str:
    cells = [verdicts[probe.name]["kind"] for probe in p.PROBES]
    return f"| `{name}` | {protocol} | " + " | ".join(cells) + " |"


def failing_required(verdicts: Mapping[str, Mapping[str, str]]) -> list[str]:
    return [probe.cell for probe in p.PROBES if probe.required and verdicts[probe.name]["kind"] not in HOLDS]


#: the verdicts that fail a run in any cell by default: the server says yes and does not, or breaks the protocol
DEFAULT_FAIL_ON = (v.BROKEN, v.IGNORED)


@dataclass(frozen=True)
class Policy:
    """Which verdicts fail a run (exit code 1), for a server project's CI: any cell whose kind is in ``fail_on``,
    and any ``required`` cell that does not hold (honoured, limited by the model or not applicable); ``allowed``
    cells (a known, documented gap) never fail it. Cells are named by probe (``tool_choice_none``) or column."""

    fail_on: frozenset[str] = frozenset(DEFAULT_FAIL_ON)
    required: frozenset[str] = frozenset(probe.name for probe in p.PROBES if probe.required)
    allowed: frozenset[str] = field(default_factory=frozenset)

    def failures(self, verdicts: Mapping[str, Mapping[str, str]]) -> list[str]:
        """``cell: kind`` for each cell that fails the run, in the row's order."""
        out = []
        for probe in p.PROBES:
            kind = verdicts[probe.name]["kind"]
            if probe.name in self.allowed:
                continue
            if kind in self.fail_on or (probe.name in self.required and kind not in HOLDS):
                out.append(f"{probe.cell}: {kind}")
        return out

    def describe(self) -> str:
        parts = [f"fail on {', '.join(sorted(self.fail_on)) or 'nothing'} in any cell"]
        parts.append("required to hold: " + (", ".join(_cells(self.required)) or "none"))
        if self.allowed:
            parts.append("allowed: " + ", ".join(_cells(self.allowed)))
        return "; ".join(parts)


def _cells(names: Iterable[str]) -> list[str]:
    return [probe.cell for probe in p.PROBES if probe.name in set(names)]


def cell_names(text: str) -> frozenset[str]:
    """Probe names from a comma-separated list of probe names or cells (``seed,tool_choice none``)."""
    names = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        probe = p.BY_NAME.get(item) or next((q for q in p.PROBES if q.cell == item), None)
        if probe is None:
            raise ValueError(f"{item!r} is no cell; one of: {', '.join(q.name for q in p.PROBES)}")
        names.add(probe.name)
    return frozenset(names)


def kind_names(text: str) -> frozenset[str]:
    """Verdict kinds from a comma-separated list (``broken shape,accepted but ignored``; ``none`` for no kind)."""
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip() and k.strip() != "none")
    if unknown := kinds - set(v.KINDS):
        raise ValueError(f"{', '.join(sorted(unknown))}: no verdict kind; one of: {', '.join(v.KINDS)}")
    return kinds


def exit_code(verdicts: Mapping[str, Mapping[str, str]], policy: Policy | None = None) -> int:
    """0 when no cell fails the policy (by default: no broken shape or ignored parameter anywhere, and every required
    cell holds), else 1."""
    return 1 if (policy or Policy()).failures(verdicts) else 0


def as_json(verdicts: Mapping[str, v.Verdict]) -> dict[str, dict[str, str]]:
    return {
        probe.name: {
            "cell": probe.cell,
            "kind": verdicts[probe.name].kind,
            "reason": verdicts[probe.name].reason,
            **({"column": p.MATRIX_COLUMN[probe.name]} if probe.name in p.MATRIX_COLUMN else {}),
        }
        for probe in p.PROBES
    }


#: cell -> (setting, value) hamr takes when the server does not honour the cell
SETTINGS = {"stream_usage": ("stream_usage", False)}
#: what a user should know where hamr has no setting
ADVICE = {
    "tool_choice_forced": "a named tool_choice is not enforced: check that the answer calls the tool",
    "tool_choice_none": 'tool_choice "none" is not enforced: leave tools out of requests that must not call one',
    "parallel_tool_calls": "parallel_tool_calls=false is not enforced: expect several calls and run them in order",
    "json_object": "json_object is not enforced: parse with completion.json() and handle InvalidResponseError",
    "json_schema": "json_schema is not enforced: validate the answer against the schema yourself",
    "stop": "stop sequences are not enforced: cut the text yourself",
    "max_tokens": "max_tokens is not enforced: answers may run long",
    "seed": "seed gives no determinism here",
    "error_unknown_model": "an unknown model id is not refused: check the model id in completion.model",
    "error_bad_key": "the server takes any key",
}


def toml_snippet(name: str, target: Target, protocol: str, model: str | None, report: Mapping[str, Any]) -> str:
    """The ``[providers.<name>]`` table for hamr's config: the target's URL, protocol, key variable and model, and
    the settings its verdicts call for; comments for what hamr has no setting for."""
    verdicts = report["verdicts"]
    settings: dict[str, Any] = {}
    notes = []
    for probe, (setting, value) in SETTINGS.items():
        if verdicts[probe]["kind"] in (v.IGNORED, v.REJECTED, v.BROKEN):
            settings[setting] = value
            notes.append(f"# {setting} = {json.dumps(value)}: {p.BY_NAME[probe].cell} is {verdicts[probe]['kind']}")
    if model:
        settings["default_model"] = model
    if target.key_env is None:
        settings["requires_key"] = False
    for probe, advice in ADVICE.items():
        kind, cell = verdicts[probe]["kind"], p.BY_NAME[probe].cell
        if kind == v.IGNORED:
            notes.append(f"# {cell}: {kind}; {advice}")
        elif kind in (v.REJECTED, v.BROKEN):
            then = (
                "hamr raises the error class its status maps to" if probe.startswith("error_") else "leave it out here"
            )
            notes.append(f"# {cell}: {kind}: {verdicts[probe]['reason']}; {then}")
    head = [
        f"# generated by `nox -s conform` from {report['run']['date']}'s run against {target.url}",
        f"# ({report['run']['rerun']}); do not edit: rerun it",
        *notes,
    ]
    return "\n".join(head) + "\n" + provider_toml(name, target, protocol, **settings)


def markdown(name: str, report: Mapping[str, Any]) -> str:
    run, verdicts = report["run"], report["verdicts"]
    lines = [
        f"# Conformance: `{name}`",
        "",
        f"Generated by `{run['rerun']}` on {run['date']} ({run['requests']} requests, {run['seconds']} s); "
        "`--replay` recomputes every verdict from the cassettes beside this file. Do not edit by hand.",
        "",
        f"- server: {run['server']}",
        f"- model: {run['model']}",
        f"- protocol: {run['protocol']}",
        f"- tries of a model-dependent probe: up to {run['tries']}; request budget {run['budget']}",
    ]
    if run.get("flags"):
        lines.append(f"- flags: {run['flags']}")
    for path, facts in (run.get("identity") or {}).items():
        lines.append(f"- `GET {path}`: {json.dumps(facts, sort_keys=True)}")
    lines += ["", header(), row(name, run["protocol"], verdicts), "", "| cell | verdict | why |", "| --- | --- | --- |"]
    for probe in p.PROBES:
        verdict = verdicts[probe.name]
        lines.append(f"| {probe.cell} | {verdict['kind']} | {verdict['reason'].replace('|', '&#124;')} |")
    failing = failing_required(verdicts)
    lines += ["", f"Required cells: {'all hold' if not failing else 'failing: ' + ', '.join(failing)}."]
    failures = Policy().failures(verdicts)
    lines += [
        f"Default policy ({Policy().describe()}): "
        + ("passes." if not failures else f"fails on {'; '.join(failures)}.")
    ]
    return "\n".join(lines) + "\n"


def verdict_drift(old: Mapping[str, Any] | None, new: Mapping[str, Any], *, reasons: bool = False) -> list[str]:
    """Each cell whose verdict kind (with ``reasons``: or its reason) changed since the previous report."""
    if old is None:
        return []
    before, after = old.get("verdicts") or {}, new["verdicts"]
    fields = ("kind", "reason") if reasons else ("kind",)
    return [
        f"{after[name]['cell']}: {before[name]['kind']} -> {after[name]['kind']} ({after[name]['reason']})"
        for name in after
        if name not in before or any(before[name][f] != after[name][f] for f in fields)
    ]


def cassette_drift(old_dir: Path, new: Mapping[str, w.Cassette]) -> list[str]:
    """Shape drift (fields, event kinds, statuses) of each new cassette against the one it replaces."""
    where: dict[str, list[str]] = {}
    for name, cassette in sorted(new.items()):
        old_path = old_dir / f"{name}.yaml"
        if not old_path.exists():
            continue
        lines = shape_drift(
            cassette_format.load(old_path.read_text(encoding="utf-8")), cassette_format.load(w.dumps(cassette))
        )
        for line in lines:
            where.setdefault(line, []).append(name)
    # a change every cassette shares (the server's version, the model) is said once
    return [
        f"{', '.join(names) if len(names) <= 3 else f'{len(names)} cassettes'}: {line}" for line, names in where.items()
    ]
