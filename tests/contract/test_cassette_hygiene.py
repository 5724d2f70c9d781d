"""The committed cassettes are clean, and the checks that keep them clean really fail when they should: a planted
secret, an auth header without a placeholder, an orphan cassette, an interaction a test did not use, a missing
cassette (which must fail rather than reach the network)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cassette_format
import cassette_hygiene
import cassette_reports
import pytest
import test_contract
from contract_cases import CASES, COLUMNS, TESTS

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes"
CONTRACT_IDS = cassette_hygiene.contract_test_ids(test_contract)

# Fake credentials, assembled at run time so this file is not itself key-shaped.
X = "Q7vT2mZr9KpL4sWx8NbY3cHd"
PLANTED = {
    "openai key": "sk-" + "proj-" + X + X,
    "anthropic key": "sk-" + "ant-api03-" + X,
    "openrouter key": "sk-" + "or-v1-" + X,
    "groq key": "gsk" + "_" + X,
    "bearer token": "Bearer " + X,
    "jwt": "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + ".c2lnbmF0dXJl",
}


def test_every_contract_test_id_has_a_row_in_the_capability_table():
    assert set(TESTS) == CONTRACT_IDS == set(COLUMNS)


def test_committed_cassettes_hold_no_secret_no_orphan_and_no_gap():
    assert cassette_hygiene.check(CASSETTES, CONTRACT_IDS) == []


def test_committed_cassettes_are_in_normal_form():
    """What the serializer writes, byte for byte: hand edits that change meaning or layout show up here."""
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert cassette_format.normalize(text) == text, f"{path} is not in normal form"


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of a real cassette to plant things in."""
    target = tmp_path / "deepseek" / "chat.yaml"
    target.parent.mkdir()
    shutil.copyfile(CASSETTES / "deepseek" / "chat.yaml", target)
    assert cassette_hygiene.scan(target) == []
    return target


@pytest.mark.parametrize("secret", PLANTED.values(), ids=PLANTED.keys())
def test_scanner_fails_on_a_planted_key_shaped_string(planted, secret):
    planted.write_text(planted.read_text().replace("content: What's 2 + 2?", f"content: 'use {secret}'"))

    findings = cassette_hygiene.scan(planted)

    assert [f.problem for f in findings if "key-shaped" in f.problem], findings
    assert secret not in " ".join(str(f) for f in findings), "the report must not print the secret back"


def test_scanner_fails_on_an_auth_header_without_placeholder(planted):
    planted.write_text(planted.read_text().replace("Bearer <DEEPSEEK_API_KEY>", "Bearer hunter2"))

    assert [str(f) for f in cassette_hygiene.scan(planted)] == [
        f"{planted}: interactions[0].request header 'authorization' has no <PLACEHOLDER>"
    ]


def test_scanner_fails_on_a_cassette_without_provenance(planted):
    text = planted.read_text()
    planted.write_text(text[text.index("interactions:") :])

    assert any("provenance" in f.problem for f in cassette_hygiene.scan(planted))


def test_orphan_and_missing_cassettes_are_reported(tmp_path):
    root = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, root)
    shutil.copyfile(root / "relay" / "chat.yaml", root / "relay" / "no_such_test.yaml")
    (root / "groq" / "stream.yaml").unlink()

    problems = [str(f) for f in cassette_hygiene.orphans(root, cassette_hygiene.expected_cassettes(root, CONTRACT_IDS))]

    assert problems == [
        f"{root / 'relay' / 'no_such_test.yaml'}: orphan: no contract test uses this cassette",
        f"{root / 'groq' / 'stream.yaml'}: missing: a contract test needs this cassette",
    ]


def _run_contract_test(root: Path, test: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--block-network",
            "--record-mode=none",
            f"--cassette-root={root}",
            f"tests/contract/test_contract.py::{test}",
            "-q",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_cassette_holding_an_unused_interaction_fails_its_test(tmp_path):
    root = tmp_path / "cassettes"
    shutil.copytree(CASSETTES / "relay", root / "relay")
    chat = root / "relay" / "chat.yaml"
    text = chat.read_text()
    head, interactions = text.split("interactions:\n")
    chat.write_text(f"{head}interactions:\n{interactions}{interactions}")  # the same interaction twice

    passing = _run_contract_test(CASSETTES, "test_chat_returns_text_usage_and_finish_reason[relay-sync]")
    strict = _run_contract_test(root, "test_chat_returns_text_usage_and_finish_reason[relay-sync]")

    assert passing.returncode == 0, passing.stdout
    assert strict.returncode == 1, strict.stdout
    assert (
        "holds interactions this test did not use: #1 POST http://127.0.0.1:1234/v1/chat/completions" in strict.stdout
    )


def test_a_missing_cassette_fails_instead_of_reaching_the_network(tmp_path):
    root = tmp_path / "cassettes"
    (root / "relay").mkdir(parents=True)

    result = _run_contract_test(root, "test_models_lists_the_servers_models[relay-sync]")

    assert result.returncode == 1, result.stdout
    assert "CannotOverwriteExistingCassetteException" in result.stdout


def test_drift_report_names_fields_and_events_that_appeared_disappeared_or_changed_type():
    old = cassette_format.load((CASSETTES / "deepseek" / "stream.yaml").read_text())
    new = cassette_format.load((CASSETTES / "deepseek" / "stream.yaml").read_text())
    new["interactions"][0]["response"]["sse"] = (
        new["interactions"][0]["response"]["sse"]
        .replace('"system_fingerprint":', '"fingerprint":')
        .replace('"usage":null', '"usage":"none"')
        .replace("data: [DONE]", ": keep-alive\n\ndata: [DONE]")
    )

    lines = cassette_reports.drift(old, new)

    assert "+ <chat.completion.chunk>.fingerprint (string)" in lines
    assert "- <chat.completion.chunk>.system_fingerprint (string)" in lines
    assert "~ <chat.completion.chunk>.usage: null/object -> object/string" in lines
    assert "+ event (comment)" in lines
    assert cassette_reports.drift(old, old) == []


def test_matrix_marks_live_constructed_unsupported_and_failed_cells():
    results = [
        {"preset": p, "test": t, "outcome": "passed", "provenance": "constructed"}
        for p in CASES
        for t in COLUMNS
        if CASES[p].supports(t)  # an unsupported feature has no test and so no result
    ]
    for r in results:
        if r["preset"] == "relay" and r["test"] == "chat":
            r["provenance"] = "recorded live"
        if r["preset"] == "relay" and r["test"] in ("system_prompt", "request_shape", "header_unset"):
            r["provenance"] = "recorded live"
        if r["preset"] == "groq" and r["test"] == "models":
            r["outcome"] = "failed"

    table = cassette_reports.render_matrix(results)

    relay = next(line for line in table.splitlines() if line.startswith("| `relay`"))
    groq = next(line for line in table.splitlines() if line.startswith("| `groq`"))
    assert relay.split(" | ")[1:3] == ["passed", "constructed-only"]
    assert "not supported" in relay
    assert "| failed |" in groq
    assert "- relay / 401: a local server takes no key" in table
    with pytest.raises(ValueError, match="incomplete"):
        cassette_reports.render_matrix(results[1:])
