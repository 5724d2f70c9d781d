"""The committed cassettes are clean, and the checks that keep them clean really fail when they should: a planted
secret, an auth header without a placeholder, an orphan cassette, an interaction a test did not use, a missing
cassette (which must fail rather than reach the network), a citation of the local corpus copy, an incomplete
provenance; and the reports (drift, matrix) say what changed and what evidence each cell rests on."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hamr.kit import cassette_format
from tests.contract import cassette_hygiene, cassette_reports, contract_evidence, test_contract
from tests.contract.contract_cases import CASES, COLUMNS, TESTS

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


@pytest.mark.parametrize("before", ["key=", "''", '"', ":", "_", "\t"])  # '' is YAML's quote in quotes
def test_scanner_finds_a_key_after_any_separator(planted, before):
    secret = PLANTED["openai key"]
    planted.write_text(planted.read_text().replace("content: What's 2 + 2?", f"content: 'use {before}{secret}'"))

    assert [f.problem for f in cassette_hygiene.scan(planted) if "key-shaped" in f.problem]


def test_scanner_passes_a_key_shape_inside_a_longer_base64_run(planted):
    # an encrypted reasoning item's content (OpenRouter's, neurouter's capture) holds "...ENA4sk-epoP7ma6..."
    blob = "gAAAAABq" + X + "4sk-" + X + "+/" + X
    planted.write_text(planted.read_text().replace("content: What's 2 + 2?", f"content: {blob}"))

    assert cassette_hygiene.scan(planted) == []


def test_scanner_reports_a_cassette_that_is_not_yaml(planted):
    planted.write_text(planted.read_text().replace("content: What's 2 + 2?", "content: 'unclosed' quote'"))

    assert [f.problem.split(":")[0] for f in cassette_hygiene.scan(planted)] == ["unreadable"]


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

    lines = cassette_format.drift(old, new)

    assert "+ <chat.completion.chunk>.fingerprint (string)" in lines
    assert "- <chat.completion.chunk>.system_fingerprint (string)" in lines
    assert "~ <chat.completion.chunk>.usage: null/object -> object/string" in lines
    assert "+ event (comment)" in lines
    assert cassette_format.drift(old, old) == []


def test_drift_report_is_quiet_for_another_answer_but_not_for_a_new_status_or_header():
    old = cassette_format.load((CASSETTES / "groq" / "chat.yaml").read_text())
    reworded = copy.deepcopy(old)
    body = reworded["interactions"][0]["response"]["json"]
    body["choices"][0]["message"]["content"] = "A different answer, as a model gives on another day."
    body["usage"]["completion_tokens"] = 99
    assert cassette_format.drift(old, reworded) == []  # the same shape: not drift

    changed = copy.deepcopy(old)
    response = changed["interactions"][0]["response"]
    response["status"] = 202
    response["headers"]["x-ratelimit-remaining-requests"] = "99"
    lines = cassette_format.drift(old, changed)
    assert any("status 202" in line for line in lines)
    assert any("header x-ratelimit-remaining-requests" in line for line in lines)


def test_matrix_names_the_evidence_of_each_cell_and_why_cells_are_constructed():
    results = [
        {
            "preset": p,
            "test": t,
            "outcome": "passed",
            "provenance": "constructed",
            "date": "2026-11-25",
            "why": "no recording",
            "docs": [],
        }
        for p in CASES
        for t in COLUMNS
        if CASES[p].supports(t)  # an unsupported feature has no test and so no result
    ]
    for r in results:
        if r["preset"] == "relay" and r["test"] in ("chat", "system_prompt", "request_shape", "header_unset"):
            r.update(provenance="recorded live", date="2026-12-01" if r["test"] == "chat" else "2026-11-30")
        if r["preset"] == "groq" and r["test"] == "tool_call":
            r.update(provenance="real recording", date=None)  # a source that did not record its date
        if r["preset"] == "groq" and r["test"] == "error_429":
            r.update(why="no reference recording of a Groq 429 exists", docs=["https://console.groq.com/docs/errors"])
        if r["preset"] == "groq" and r["test"] == "models":
            r["outcome"] = "failed"
        if r["preset"] == "mistral" and r["test"] == "stream":
            r["outcome"] = "skipped"

    table = cassette_reports.render_matrix(results)

    def row(preset: str) -> dict[str, str]:
        line = next(line for line in table.splitlines() if line.startswith(f"| `{preset}`"))
        return dict(zip(cassette_reports.MATRIX_COLUMNS, line.strip("| ").split(" | ")[2:], strict=True))

    assert row("relay")["chat"] == "recorded live (2026-11-30 to 2026-12-01)"  # and when: the column's range
    assert row("relay")["stream"] == "constructed (2026-11-25)"
    assert row("relay")["401"] == "not supported"
    # tool_call real (its source gave no date), tool_result constructed
    assert row("groq")["tools"] == "real recording (undated by its source) + constructed (2026-11-25)"
    assert row("groq")["models"] == "failed"
    assert row("mistral")["stream"] == "skipped"  # a skipped test never reads as passing
    assert "- relay / 401: a local server takes no key" in table
    assert (
        "- groq / 429: no reference recording of a Groq 429 exists; constructed from https://console.groq.com/docs/errors"
        in table
    )
    reasons = next(line for line in table.splitlines() if line.startswith("- groq / chat;"))
    assert "; tools (follow-up with the result);" in reasons  # only the constructed test of a mixed column is named
    assert reasons.endswith(": no recording; constructed from (no page named)")
    with pytest.raises(ValueError, match="incomplete"):
        cassette_reports.render_matrix(results[1:])


def test_scanner_fails_on_a_cassette_citing_the_local_corpus_copy(planted):
    text = planted.read_text()
    cite = "  follows: ../shared/reference/responses/deepseek/01-chat-basic.json\n"
    planted.write_text(text.replace("  request: ", cite + "  request: ", 1))

    problems = [f.problem for f in cassette_hygiene.scan(planted)]

    assert any("cites ../shared" in p for p in problems), problems


def test_committed_cassettes_never_mention_the_local_corpus_copy():
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        assert "../shared" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("recording", None, "must cite the original source"),
        ("commit", "75b5cd5aef9a", "full 40-hex commit"),
        ("interaction_index", "0", "interaction_index"),
        ("interaction_index", [0, "1"], "interaction_index"),
        ("interaction_index", [], "interaction_index"),
        ("repo", "", "recording.repo is missing"),
        ("url", "https://github.com/crmne/ruby_llm", "url must point at the cited file"),
        ("recorded_request", None, "what the provider was answering"),
        ("response", "", "what was normalised in the response"),
    ],
)
def test_a_real_recording_must_cite_its_original_source_completely(field, value, problem):
    provenance = contract_evidence.head((CASSETTES / "deepseek" / "chat.yaml").read_text(encoding="utf-8"))
    assert provenance["source"] == contract_evidence.REAL and contract_evidence.problems(provenance) == []
    target = provenance["recording"] if field in ("commit", "interaction_index", "repo", "url") else provenance
    target[field] = value

    assert any(problem in p for p in contract_evidence.problems(provenance)), contract_evidence.problems(provenance)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("docs", ["deepseek/05-error-401.json"], "documentation page"),
        ("constructed", "recently", "date it was constructed"),
        ("why", "", "why no real recording"),
        ("source", "constructed", "provenance.source must be one of"),
    ],
)
def test_a_constructed_cassette_names_its_doc_pages_its_date_and_why(field, value, problem):
    provenance = contract_evidence.head((CASSETTES / "groq" / "error_429.yaml").read_text(encoding="utf-8"))
    assert provenance["source"] == contract_evidence.CONSTRUCTED and contract_evidence.problems(provenance) == []
    provenance[field] = value

    assert any(problem in p for p in contract_evidence.problems(provenance)), contract_evidence.problems(provenance)


def test_every_committed_cassette_is_one_of_the_three_evidence_kinds():
    kinds = {
        path: contract_evidence.kind(contract_evidence.head(path.read_text(encoding="utf-8")))
        for path in CASSETTES.glob("*/*.yaml")
    }
    assert set(kinds.values()) <= set(cassette_reports.EVIDENCE), {p: k for p, k in kinds.items() if k is None}


def test_every_built_cassette_is_what_nox_record_construct_builds_now(tmp_path):
    """``nox -s record -- <preset> --construct`` for every preset, into an empty directory (as the session does): it
    passes, and every cassette it builds (constructed, or a real recording's response) is the committed one, byte
    for byte; a cassette recorded live is not built. Needs the corpus and the public repositories' mirrors."""
    if not contract_evidence.reference_root().is_dir() or not contract_evidence.public_root().is_dir():
        pytest.skip(
            f"no reference corpus at {contract_evidence.reference_root()} or no mirrors at "
            f"{contract_evidence.public_root()} (set HAMR_REFERENCE_RESPONSES, HAMR_PUBLIC_REPOS)"
        )
    built = tmp_path / "built"
    command = [sys.executable, "-m", "pytest", "tests/contract/test_contract.py", f"--cassette-root={built}"]
    done = subprocess.run(
        [*command, "--construct", "--block-network", "-p", "no:cacheprovider", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    paths = sorted(path.relative_to(built) for path in built.glob("*/*.yaml"))
    live = [
        p for p in paths if "recorded live" in (CASSETTES / p).read_text(encoding="utf-8").split("interactions:")[0]
    ]
    assert live == []
    assert [p for p in paths if (built / p).read_bytes() != (CASSETTES / p).read_bytes()] == []
    committed = [p.relative_to(CASSETTES) for p in CASSETTES.glob("*/*.yaml")]
    unbuilt = [p for p in committed if p not in paths]
    assert all(
        "recorded live" in (CASSETTES / p).read_text(encoding="utf-8").split("interactions:")[0] for p in unbuilt
    )


def test_real_recordings_replay_the_cited_response_as_their_provenance_says():
    """Each real-recording cassette serves exactly the corpus file its spec names (byte for byte, or but for number
    spelling where its provenance says so), and cites that file's original source. Needs the local corpus copy."""
    if not contract_evidence.reference_root().is_dir():
        pytest.skip(f"no reference corpus at {contract_evidence.reference_root()} (set HAMR_REFERENCE_RESPONSES)")
    from tests.contract import contract_constructed

    checked = 0
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        document = cassette_format.load(path.read_text(encoding="utf-8"))
        if document["provenance"]["source"] != contract_evidence.REAL:
            continue
        try:
            spec = contract_constructed.spec(path.parent.name, path.stem)
        except contract_evidence.ReferenceError as exc:
            if contract_evidence.PUBLIC_VAR not in str(exc) or contract_evidence.public_root().is_dir():
                raise
            # read at its commit from a public repository's git mirror, which this machine lacks: its citation is
            # checked whole here, its bytes where the mirrors are (a maintainer's checkout; HAMR_PUBLIC_REPOS)
            recording = document["provenance"]["recording"]
            for cited in recording if isinstance(recording, list) else [recording]:
                assert re.fullmatch(r"[0-9a-f]{40}", cited["commit"]) and cited["repo"] and cited["path"], path
            continue
        assert spec is not None and spec.provenance == document["provenance"], f"{path} is not what its spec builds"
        for reply, interaction in zip(spec.replies, document["interactions"], strict=True):
            stored = interaction["response"]
            assert stored["status"] == reply.status, path
            if (stored.get("json_layout") or {}).get("canonical_numbers"):
                assert "numbers are spelled" in document["provenance"]["response"], path
                assert stored["json"] == json.loads(reply.body), path
            else:
                assert cassette_format.decode_body(stored) == reply.body, path
        checked += 1
    assert checked >= 70


def test_recording_dates_and_requests_are_read_from_the_reference_file():
    date = contract_evidence._recorded_date
    assert date("stream. Provenance: req_llm fixture ...; captured_at 2025-11-02T17:15:27.166996Z") == (
        "2025-11-02T17:15:27.166996Z"
    )
    assert date("stream (llama3-8b, 2025-02); no top-level usage") == "2025-02"
    assert date("Together on api.together.ai (2026): stream") == "2026"
    assert date("non-stream; captured_at None") is None
    assert contract_evidence._summary({"method": "POST", "path": "/v1/chat/completions", "json": None}) == (
        "POST /v1/chat/completions; the source did not store the request body"
    )


def test_a_conversation_cites_its_interactions_as_a_list():
    provenance = contract_evidence.head((CASSETTES / "openai" / "round_trip.yaml").read_text(encoding="utf-8"))
    assert provenance["recording"]["interaction_index"] == [0, 1]
    assert contract_evidence.problems(provenance) == []


def test_a_conversation_stored_one_turn_per_file_cites_each_file():
    provenance = contract_evidence.head(
        (CASSETTES / "openrouter-responses" / "round_trip.yaml").read_text(encoding="utf-8")
    )
    paths = [cited["path"] for cited in provenance["recording"]]
    assert [path.rsplit("/", 1)[1] for path in paths] == [
        "responses_tool_call_response.json",
        "responses_tool_result_response.json",
    ]
    assert len(provenance["recorded_request"]) == 2
    assert contract_evidence.problems(provenance) == []
    broken = {**provenance, "recording": [provenance["recording"][0], {**provenance["recording"][1], "commit": "x"}]}
    assert contract_evidence.problems(broken) == [
        "provenance.recording[1].commit must be the full 40-hex commit of the source",
        "provenance.recording[1].url must point at the cited file at the cited commit "
        f"(https://github.com/neuraxes/neurouter/blob/x/{paths[1]})",
    ]
    assert cassette_reports.evidence_date(provenance) == "2026-07-31"


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_public_recording_is_read_at_its_commit_as_its_project_replays_it(tmp_path, monkeypatch):
    """A recording the corpus lacks is read from a git mirror of the public repository, at the cited commit: a
    vcrpy cassette's parsed JSON body as json.dumps of it, a stored stream verbatim, a chunks fixture framed as
    ``data:`` events; dated by the response's created_at; a missing mirror or interaction is a clear error."""
    work = tmp_path / "work"
    (work / "cassettes").mkdir(parents=True)
    answer = {"id": "resp_1", "created_at": 1757604033, "status": "completed", "output": []}
    stream = 'event: response.created\ndata: {"type":"response.created","response":{"created_at":1764265411}}\n\n'
    cassette = {"interactions": [
        {"request": {"method": "POST", "uri": "https://api.example.com/v1/responses",
                     "parsed_body": {"model": "m", "input": [{"role": "user", "content": "Hi"}], "store": False}},
         "response": {"status": {"code": 200, "message": "OK"}, "headers": {"Content-Type": ["application/json"]},
                      "parsed_body": answer}},
        {"request": {"method": "POST", "uri": "https://api.example.com/v1/responses", "body": None},
         "response": {"status": {"code": 200, "message": "OK"}, "headers": {"content-type": ["text/event-stream"]},
                      "body": {"string": stream}}},
    ]}  # fmt: skip
    (work / "cassettes" / "a[x].yaml").write_text(yaml.safe_dump(cassette, sort_keys=False))
    (work / "s.chunks.txt").write_text('{"type":"response.created"}\n\n{"type":"error"}\n')
    pair = {"model": "m", "store": False, "input": [{"type": "message", "role": "user", "content": "Hi"}]}
    (work / "mock").mkdir()
    (work / "mock" / "x_request.json").write_text(json.dumps(pair, indent=2))
    (work / "mock" / "x_response.json").write_text('{\n  "id": "gen-1",\n  "created_at": 1785502387\n}')
    (work / "mock" / "y_response.txt").write_text("data: {}\n\n")  # no request beside it
    _git("init", "-q", cwd=work)
    _git("add", ".", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "fixtures", cwd=work)
    commit = _git("rev-parse", "HEAD", cwd=work)
    (work / "s.chunks.txt").write_text("changed after the cited commit\n")
    mirrors = tmp_path / "mirrors"
    mirrors.mkdir()
    _git("clone", "-q", "--bare", str(work), str(mirrors / "acme+suite" / "repo"), cwd=tmp_path)
    monkeypatch.setenv(contract_evidence.PUBLIC_VAR, str(mirrors))
    name = f"github:acme/suite@{commit}:cassettes/a[x].yaml"

    first = contract_evidence.recording(f"{name}#0")
    assert first.body == json.dumps(answer).encode() and first.status == 200
    assert first.headers == {"content-type": "application/json"}
    assert first.citation == {
        "repo": "acme/suite",
        "path": "cassettes/a[x].yaml",
        "commit": commit,
        "interaction_index": 0,
        "url": f"https://github.com/acme/suite/blob/{commit}/cassettes/a%5Bx%5D.yaml",
        "recorded": "2025-09-11",
    }
    assert first.recorded_request == {
        "endpoint": "POST /v1/responses", "model": "m", "stream": False, "messages": ["user: Hi"],
        "other fields": ["store"],
    }  # fmt: skip
    assert "json.dumps" in first.corpus_normalisation
    second = contract_evidence.recording(f"{name}#1")
    assert second.body == stream.encode() and second.citation["recorded"] == "2025-11-27"
    chunks = contract_evidence.recording(f"github:acme/suite@{commit}:s.chunks.txt#0")
    assert chunks.body == b'data: {"type":"response.created"}\n\ndata: {"type":"error"}\n\n'
    assert chunks.headers == {"content-type": "text/event-stream"} and "recorded" not in chunks.citation
    captured = contract_evidence.recording(f"github:acme/suite@{commit}:mock/x_response.json#0")
    assert captured.body == b'{\n  "id": "gen-1",\n  "created_at": 1785502387\n}'
    assert captured.status == 200 and captured.headers == {}  # the content-type is the spec's to give
    assert captured.citation["recorded"] == "2026-07-31"
    assert captured.recorded_request == {
        "endpoint": "POST (the source stores no URL)", "model": "m", "stream": False, "messages": ["user: Hi"],
        "other fields": ["store"],
    }  # fmt: skip
    assert "mock/x_request.json" in captured.corpus_normalisation
    with pytest.raises(contract_evidence.ReferenceError, match="holds one interaction"):
        contract_evidence.recording(f"github:acme/suite@{commit}:mock/x_response.json#1")
    with pytest.raises(contract_evidence.ReferenceError, match=r"cannot read mock/y_request\.json"):
        contract_evidence.recording(f"github:acme/suite@{commit}:mock/y_response.txt#0")
    with pytest.raises(contract_evidence.ReferenceError, match="no interaction 2"):
        contract_evidence.recording(f"{name}#2")
    with pytest.raises(
        contract_evidence.ReferenceError,
        match=f"put a git mirror of https://github.com/acme/other there, or set {contract_evidence.PUBLIC_VAR}",
    ):
        contract_evidence.recording(f"github:acme/other@{commit}:a.yaml#0")


def test_a_missing_reference_file_is_a_clear_error_naming_it_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(contract_evidence.REFERENCE_VAR, str(tmp_path))
    (tmp_path / "groq").mkdir()
    (tmp_path / "groq" / "01-chat-basic.json").write_text('{"source": {"repo": "a/b"}}')

    with pytest.raises(contract_evidence.ReferenceError, match=r"deepseek/01-chat-basic.json not found under .*"):
        contract_evidence.recording("deepseek/01-chat-basic.json")
    with pytest.raises(contract_evidence.ReferenceError, match=r"groq/01-chat-basic.json is malformed: KeyError"):
        contract_evidence.recording("groq/01-chat-basic.json")


def test_drift_report_compares_every_provenance_field():
    old = cassette_format.load((CASSETTES / "relay" / "chat.yaml").read_text())
    new = copy.deepcopy(old)
    new["provenance"].update(date="2031-01-01", server="llama-server b9999 at http://127.0.0.1:1234/v1", model="other")
    real = cassette_format.load((CASSETTES / "deepseek" / "chat.yaml").read_text())
    moved = copy.deepcopy(real)
    moved["provenance"]["recording"]["commit"] = "0" * 40
    del moved["provenance"]["recording"]["interaction_index"]

    lines = cassette_format.drift(old, new)
    kind = cassette_format.drift(real, cassette_format.load((CASSETTES / "groq" / "error_429.yaml").read_text()))

    assert f"~ provenance.date: {old['provenance']['date']} -> 2031-01-01" in lines
    assert any(line.startswith("~ provenance.server: ") and "llama-server b9999" in line for line in lines)
    assert any(line.startswith("~ provenance.model: ") and line.endswith("-> other") for line in lines)
    assert cassette_format.drift(real, moved)[-2:] == [
        f"~ provenance.recording.commit: {real['provenance']['recording']['commit']} -> {'0' * 40}",
        "- provenance.recording.interaction_index: 0",
    ]
    assert "~ provenance.source: real recording -> constructed from the documented wire format" in kind
    assert cassette_format.drift(old, old) == []


def test_report_scan_finds_key_shapes_and_configured_key_values(tmp_path):
    """`nox -s cassettes -- scan reports`: what the live workflow runs over its reports before uploading them."""
    report = tmp_path / "smoke.json"
    report.write_text('{"error": "401 for sk-ant-api03-abcdefghijklmnopqrstu", "raw": "xk-live-0123456789"}')
    clean = tmp_path / "junit.xml"
    clean.write_text("<testsuite tests='1'/>")
    found = [str(f) for f in cassette_hygiene.scan_text(report, ["xk-live-0123456789"])]
    assert len(found) == 2 and "sk-ant" in found[0] and "configured key" in found[1]
    assert "abcdefghij" not in " ".join(found) and "0123456789" not in " ".join(found)  # masked in the report
    assert cassette_hygiene.scan_text(clean, ["xk-live-0123456789"]) == []


def test_age_report_names_oldest_newest_and_flags_old_evidence(tmp_path):
    import datetime

    preset = tmp_path / "groq"
    preset.mkdir()
    dated = {
        "chat": {"source": "recorded live", "date": "2026-11-30", "server": "s", "model": "m"},
        "stream": {"source": "real recording", "recording": {"repo": "r", "recorded": "2024-06-01"}},
        "models": {"source": "constructed", "constructed": "2026-11-25"},
        "error_5xx": {"source": "real recording", "recording": {"repo": "r"}},  # the source gave no date
    }
    for name, provenance in dated.items():
        (preset / f"{name}.yaml").write_text(cassette_format.dump({"provenance": provenance, "interactions": []}))
    report, flagged = cassette_reports.age_report(tmp_path, datetime.date(2026, 12, 1), 90)
    assert "groq: oldest stream (2024-06-01), newest chat (2026-11-30); 1 without a date" in report
    assert flagged == 1 and "warning: groq/stream.yaml is 913 days old (2024-06-01)" in report
    assert cassette_reports.age_report(tmp_path, datetime.date(2026, 12, 1), 1000)[1] == 0


def test_facts_report_lists_each_default_and_price_with_its_date_and_flags_old_or_missing_ones():
    import dataclasses
    import datetime

    from hamr._presets import PRESETS

    presets = [
        PRESETS["anthropic"],  # checked 2026-12-02
        dataclasses.replace(PRESETS["groq"], default_model_source=("https://g.example/deprecations", "2026-05-01")),
        dataclasses.replace(PRESETS["mistral"], default_model_source=None),
    ]
    report, flagged = cassette_reports.facts_report(presets, datetime.date(2026, 12, 2), 90)
    assert "anthropic: default model claude-sonnet-5-5, checked 2026-12-02 (0 days ago)" in report
    assert "anthropic: prices 2 / 10 / 0.1 USD per 1M (in / out / cache read), checked 2026-12-02" in report
    assert "warning: groq: default model openai/gpt-oss-120b last checked 215 days ago: re-check it" in report
    assert "warning: mistral: default model mistral-small-latest: no source or checked date" in report
    assert "groq: no prices (Spend shows n/a until they are configured)" in report
    assert flagged == 2
    # the presets as shipped: every default and price dated, none stale on the day they were checked
    assert cassette_reports.facts_report(PRESETS.values(), datetime.date(2026, 12, 2), 90)[1] == 0
