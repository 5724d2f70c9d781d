"""Every recorded or constructed stream, replayed in arbitrary chunks, gives exactly the events it gives whole.

vcrpy hands a stream back as one block; a real connection splits it anywhere: inside a multi-byte UTF-8
character, between the ``\\r`` and ``\\n`` of a line ending, one byte at a time. These tests feed each cassette's
stream bytes through ``hamr.Client.stream`` in such chunks (an httpx2 transport yields them one by one) and compare
the events, and for streams that fail mid-way the error and its partial answer, with the unsplit replay.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hamr
from hamr.kit import cassette_format
from hamr.kit.scrub import placeholder
from tests.contract.contract_cases import CASES, TRACE_VAR

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


def _streams() -> list[Any]:
    out = []
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        document = cassette_format.load(path.read_text(encoding="utf-8"))
        for n, interaction in enumerate(document["interactions"]):
            response = interaction["response"]
            if "sse" in response:
                body = cassette_format.decode_body(response)
                out.append(pytest.param(path.parent.name, body, id=f"{path.parent.name}/{path.stem}#{n}"))
    return out


STREAMS = _streams()


class _Chunks(httpx2.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


class Replayer:
    """Streams given chunks through a real ``hamr.Client`` for a preset (configs are built once per preset)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.configs: dict[str, tuple[hamr.Config, dict[str, str]]] = {}

    def _config(self, preset: str) -> tuple[hamr.Config, dict[str, str]]:
        if preset not in self.configs:
            case = CASES[preset]
            path = self.tmp / f"{preset}.toml"
            table = "".join(f'{k} = "{v}"\n' for k, v in case.config.items())
            path.write_text(f"[providers.{case.provider_id}]\nmax_retries = 0\n{table}")
            env = {name: placeholder(name) for name in (case.key_env, TRACE_VAR) if name}
            self.configs[preset] = (hamr.load_config(path, env=env), env)
        return self.configs[preset]

    def __call__(self, preset: str, chunks: list[bytes]) -> tuple[list[hamr.StreamEvent], Any]:
        """(events, failure); failure is (message, partial completion) for a stream that broke, else None."""
        config, env = self._config(preset)

        def respond(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))

        http = httpx2.Client(transport=httpx2.MockTransport(respond))
        events: list[hamr.StreamEvent] = []
        case = CASES[preset]
        with hamr.Client(config, provider=case.provider_id, model=case.model, http_client=http, env=env) as client:
            try:
                with client.stream("Count from 1 to 3") as stream:
                    events.extend(stream)
            except hamr.StreamError as exc:
                return events, (exc.message, exc.partial)
        return events, None


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replayer:
    return Replayer(tmp_path_factory.mktemp("replay"))


def _cut(body: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted({c for c in cuts if 0 < c < len(body)}), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize(("preset", "body"), STREAMS)
@given(cuts=st.lists(st.integers(min_value=1, max_value=100_000), max_size=40))
def test_stream_split_at_random_points_gives_the_same_events(preset, body, cuts, replay):
    scaled = [c % len(body) for c in cuts]
    assert replay(preset, _cut(body, scaled)) == replay(preset, [body])


@pytest.mark.parametrize(("preset", "body"), STREAMS)
def test_stream_fed_one_byte_at_a_time_gives_the_same_events(preset, body, replay):
    assert replay(preset, [body[i : i + 1] for i in range(len(body))]) == replay(preset, [body])


@pytest.mark.parametrize(("preset", "body"), STREAMS)
def test_stream_split_inside_every_multibyte_character_gives_the_same_events(preset, body, replay):
    inside = [i for i in range(1, len(body)) if body[i] & 0xC0 == 0x80]  # UTF-8 continuation bytes
    assert replay(preset, _cut(body, inside)) == replay(preset, [body])


@pytest.mark.parametrize(("preset", "body"), STREAMS)
def test_stream_with_crlf_line_endings_split_between_cr_and_lf_gives_the_same_events(preset, body, replay):
    crlf = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    between = [i + 1 for i in range(len(crlf) - 1) if crlf[i : i + 2] == b"\r\n"]
    assert replay(preset, _cut(crlf, between)) == replay(preset, [body])


def test_the_stream_corpus_exercises_multibyte_characters_and_failures():
    """The splitting properties above mean something only if some streams hold multi-byte text and some fail."""
    assert any(any(b & 0xC0 == 0x80 for b in p.values[1]) for p in STREAMS)
    assert sum(1 for p in STREAMS if b"error" in p.values[1]) >= 5
