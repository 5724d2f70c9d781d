"""Checks every cassette must pass before it is committed: no secret, no auth header without a placeholder, a
complete provenance of one of the three evidence kinds (``contract_evidence``), no citation of the local copy of
the reference corpus (``../shared``, not part of the repository), and no cassette that no contract test uses (nor a
contract test without its cassette)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from hamr.kit import cassette_format
from tests.contract import contract_evidence
from tests.contract.contract_cases import CASES, LIVE

#: strings shaped like provider keys or bearer credentials; ``Bearer <PLACEHOLDER>`` is fine. A key starts a token:
#: ``sk-`` inside a longer run of base64 (an encrypted reasoning item's content) is not one
KEY_SHAPED = re.compile(
    r"(?<![A-Za-z0-9+/])(?:"
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|sk-or-(?:v1-)?[A-Za-z0-9_\-]{8,}"
    r"|sk-(?:proj-)?[A-Za-z0-9_\-]{16,}"
    r"|gsk_[A-Za-z0-9]{16,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
    r")"
    r"|[Bb]earer\s+(?!<[A-Z0-9_]+>)[A-Za-z0-9._~+/=\-]{8,}"
)
#: request/response headers that carry credentials
AUTH_HEADER = re.compile(r"^(authorization|proxy-authorization|x-api-key|api-key|cookie|set-cookie)$|key|token|secret")
#: ...but not the rate-limit headers, whose names count tokens (``x-ratelimit-remaining-tokens``): numbers, kept
RATE_LIMIT_HEADER = re.compile(r"^(x|anthropic)-ratelimit-")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")


@dataclass(frozen=True)
class Finding:
    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def scan(path: Path) -> list[Finding]:
    """Everything wrong with one cassette file."""
    text = path.read_text(encoding="utf-8")
    findings = [
        Finding(path, f"line {n}: key-shaped string {_mask(match.group())}")
        for n, line in enumerate(text.splitlines(), 1)
        for match in KEY_SHAPED.finditer(line)
    ]
    try:
        document = cassette_format.load(text)
    except (cassette_format.CassetteFormatError, ValueError, yaml.YAMLError) as exc:
        return [*findings, Finding(path, f"unreadable: {' '.join(str(exc).split())}")]
    findings += [Finding(path, problem) for problem in contract_evidence.problems(document.get("provenance"))]
    findings += [
        Finding(path, f"line {n}: cites ../shared, which is not part of the repository: cite the original source")
        for n, line in enumerate(text.splitlines(), 1)
        if contract_evidence.LOCAL_CORPUS.search(line)
    ]
    for n, interaction in enumerate(document.get("interactions") or []):
        for side in ("request", "response"):
            headers = (interaction.get(side) or {}).get("headers") or {}
            for name, value in headers.items():
                values = value if isinstance(value, list) else [value]
                credential = AUTH_HEADER.search(name.lower()) and not RATE_LIMIT_HEADER.match(name.lower())
                if credential and any(v and not PLACEHOLDER.search(str(v)) for v in values):
                    findings.append(Finding(path, f"interactions[{n}].{side} header {name!r} has no <PLACEHOLDER>"))
    return findings


def scan_text(path: Path, secrets: Iterable[str] = ()) -> list[Finding]:
    """Key-shaped strings, and any of ``secrets`` by value, in any file (a report, a log): what may not be uploaded."""
    text = path.read_bytes().decode("utf-8", "replace")
    findings = [
        Finding(path, f"line {n}: key-shaped string {_mask(match.group())}")
        for n, line in enumerate(text.splitlines(), 1)
        for match in KEY_SHAPED.finditer(line)
    ]
    findings += [Finding(path, f"holds the value of a configured key ({_mask(s)})") for s in secrets if s in text]
    return findings


def _mask(secret: str) -> str:
    return secret[:6] + "…" if len(secret) > 6 else "…"


def contract_test_ids(module: ModuleType) -> set[str]:
    """The ids of the contract tests a module defines (its ``@pytest.mark.contract(id)`` marks)."""
    return {
        mark.args[0]
        for obj in vars(module).values()
        for mark in getattr(obj, "pytestmark", [])
        if getattr(mark, "name", "") == "contract"
    }


def expected_cassettes(root: Path, test_ids: Iterable[str]) -> set[Path]:
    """One cassette per contract test and preset that supports it."""
    return {root / case.preset / f"{test}.yaml" for test in test_ids for case in CASES.values() if case.supports(test)}


def orphans(root: Path, expected: set[Path]) -> list[Finding]:
    found = set(root.glob("**/*.yaml"))
    return [Finding(p, "orphan: no contract test uses this cassette") for p in sorted(found - expected)] + [
        Finding(p, "missing: a contract test needs this cassette") for p in sorted(expected - found)
    ]


def live_cassettes_are_live(root: Path) -> list[Finding]:
    """Relay's LIVE tests must hold live recordings: a constructed stand-in would hide a real server's behaviour."""
    out = []
    for test, support in CASES["relay"].support.items():
        path = root / "relay" / f"{test}.yaml"
        if support == LIVE and path.exists():
            provenance: Any = cassette_format.load(path.read_text(encoding="utf-8")).get("provenance") or {}
            if provenance.get("source") != contract_evidence.LIVE:
                out.append(Finding(path, "relay cassettes are recorded live (nox -s record -- relay)"))
    return out


def check(root: Path, test_ids: Iterable[str]) -> list[Finding]:
    """All findings for a cassette directory."""
    findings: list[Finding] = []
    for path in sorted(root.glob("**/*.yaml")):
        findings += scan(path)
    findings += orphans(root, expected_cassettes(root, test_ids))
    findings += live_cassettes_are_live(root)
    return findings
