"""The kit judged, offline: each planted defect of ``planted.DEFECTS`` rewrites the cassettes of a committed live
run against the embedded llama-server (its OpenAI, Anthropic or Responses endpoint) the way a server with that
defect would have answered, and the kit must give the defect's cell its verdict; the committed run itself, with
nothing planted, is the control and must give the server's own row. A defect the server has itself is planted into
its answer repaired, which alone must be judged honoured. ``nox -s planted`` does the same live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hamr.kit import probes as p
from hamr.kit import run
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from hamr.kit.rules import ANTHROPIC, OPENAI, RESPONSES
from tests.conform import planted

REPO = Path(__file__).resolve().parents[2]
RUNS = {
    OPENAI: REPO / "conformance" / "llama-server-openai",
    ANTHROPIC: REPO / "conformance" / "llama-server-anthropic",
    RESPONSES: REPO / "conformance" / "llama-server-responses",
}
CASES = [(defect, probe, kind) for defect in planted.DEFECTS for probe, kind in defect.expected]


@pytest.mark.parametrize(
    ("defect", "probe", "expected"), CASES, ids=[f"{d.protocol}:{d.name}:{probe}" for d, probe, _ in CASES]
)
def test_each_planted_defect_gives_its_cell_and_verdict(defect, probe, expected):
    verdict = planted.judged(defect, RUNS[defect.protocol])[probe]

    assert verdict.kind == expected, verdict.reason


@pytest.mark.parametrize("protocol", sorted(RUNS))
def test_the_faithful_control_gives_the_servers_own_row(protocol):
    directory = RUNS[protocol]
    own = json.loads((directory / "report.json").read_text(encoding="utf-8"))["verdicts"]
    for probe in p.PROBES:
        path = directory / "cassettes" / f"{probe.name}.yaml"
        if not path.exists():
            continue
        cassette = w.loads(path.read_text(encoding="utf-8"))
        target = run.target_from(dict(cassette.conform["target"]))
        nothing = planted.Defect("nothing", "control", protocol, (), lambda body: False)
        verdict = run.judge(probe, planted.plant(nothing, cassette), target, path.name)
        assert (probe.name, verdict.kind) == (probe.name, own[probe.name]["kind"])


def test_every_planted_defect_changes_bytes_the_kit_reads():
    """A defect that rewrote nothing in its run would prove nothing: each touches at least one exchange (of the
    answers repaired, for a defect the server has itself)."""
    for defect in planted.DEFECTS:
        touched = 0
        for probe in defect.probes:
            cassette = w.loads((RUNS[defect.protocol] / "cassettes" / f"{probe}.yaml").read_text(encoding="utf-8"))
            before = planted.plant(defect, cassette, repaired_only=True).exchanges
            rewritten = planted.plant(defect, cassette).exchanges
            touched += sum(a != b for a, b in zip(before, rewritten, strict=True))
        assert touched, defect.name


REPAIRED = [(defect, probe) for defect in planted.DEFECTS if defect.repaired for probe, _ in defect.expected]


@pytest.mark.parametrize(("defect", "probe"), REPAIRED, ids=[f"{d.name}:{probe}" for d, probe in REPAIRED])
def test_a_defect_the_server_has_itself_is_honoured_once_repaired(defect, probe):
    """llama-server answers ``completed`` where ``incomplete`` belongs: its own run already gives the defect's
    verdict, which alone proves nothing. Its answers repaired as the specification has them must be judged honoured
    (and the defect planted into them gives the verdict again: the test above)."""
    own = json.loads((RUNS[defect.protocol] / "report.json").read_text(encoding="utf-8"))["verdicts"]
    expected = dict(defect.expected)[probe]

    repaired = planted.judged(defect, RUNS[defect.protocol], repaired_only=True)[probe]

    assert (own[probe]["kind"], repaired.kind) == (expected, v.HONOURED), repaired.reason


def test_the_score_table_names_each_miss():
    outcomes = [
        planted.Outcome("a", "x#1", "stream", "broken shape", "broken shape", ""),
        planted.Outcome("b", "x#2", "seed", "accepted but ignored", "honoured", ""),
    ]
    text = planted.table(outcomes)
    assert "| b | x#2 | seed | accepted but ignored | honoured (MISSED) |" in text
    assert text.endswith("Score: 1 of 2 planted defects give their cell and verdict.")


@pytest.mark.parametrize(
    ("defect", "probe", "expected"), CASES, ids=[f"{d.protocol}:{d.name}:{probe}" for d, probe, _ in CASES]
)
def test_each_planted_defect_changes_its_cells_verdict(defect, probe, expected):
    """A defect is caught only if the kit's verdict moves: without it (the server's own answers, or them repaired
    where the server has the defect itself) the cell must not already have the defect's verdict."""
    own = json.loads((RUNS[defect.protocol] / "report.json").read_text(encoding="utf-8"))["verdicts"][probe]["kind"]
    before = planted.judged(defect, RUNS[defect.protocol], repaired_only=True)[probe].kind if defect.repaired else own

    assert before != expected, f"{defect.name}: {probe} is {before} before the defect is planted"
