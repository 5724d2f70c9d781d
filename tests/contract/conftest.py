"""The contract suite's machinery: one cassette per (preset, test) under ``cassettes/<preset>/<test>.yaml``,
replayed strictly, recorded with scrubbing, or constructed from a spec.

Modes (pytest options):

- replay (default, ``--record-mode=none``): every request must match a stored interaction (method, URL and JSON
  body) and every stored interaction must be used, else the test fails.
- live recording (``--record-mode=rewrite``, through ``nox -s record``): real keys come from the environment and
  are replaced by ``<VAR>`` placeholders before anything is written; constructed-only tests are skipped.
- construction (``--construct``): the test runs against the responses its spec in ``contract_constructed`` gives
  (reference bodies or documented wire formats) and the cassette is written from what hamr actually sent.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from collections.abc import Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from vcr.request import Request

import hamr
from hamr.kit import cassette_format
from hamr.kit.scrub import Scrubber, placeholder
from tests.contract import cassette_reports, contract_evidence
from tests.contract.contract_cases import CASES, CONSTRUCTED, TRACE_HEADER, TRACE_VAR, Case

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")
# the environment as the developer started pytest: the shared conftest hides *_API_KEY from tests, and live
# recording needs them
_START_ENV = dict(os.environ)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hamr contract")
    group.addoption("--cassette-root", default=str(REPO / "cassettes"), help="directory holding <preset>/ cassettes")
    group.addoption("--contract-preset", default="", help="comma-separated presets to run (default: all)")
    group.addoption(
        "--construct", action="store_true", help="(re)build constructed cassettes from contract_constructed specs"
    )
    group.addoption("--contract-results", default="", help="write per-(preset, test) outcomes as JSON here")


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    # Cassettes keep the .yaml suffix and stay YAML; only the layout inside is ours.
    vcr.register_serializer("yaml", cassette_format)
    vcr.register_matcher("json_body", _json_body_matcher)


def _json_body_matcher(r1: Request, r2: Request) -> None:
    def parsed(body: Any) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return body

    assert parsed(r1.body) == parsed(r2.body), "request bodies differ"


def _record_mode(config: pytest.Config) -> str:
    return str(config.getoption("--record-mode") or "none")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("contract")
    assert marker is not None, f"{metafunc.function.__name__} needs @pytest.mark.contract('<test id>')"
    test_id = marker.args[0]
    wanted = [p for p in metafunc.config.getoption("--contract-preset").split(",") if p]
    recording = _record_mode(metafunc.config) != "none"
    params = []
    for case in CASES.values():
        if (wanted and case.preset not in wanted) or not case.applies(test_id):
            continue  # another protocol's test: not applicable to this case at all
        support = case.support[test_id]
        if not case.supports(test_id):
            # no test at all, rather than a skip: the matrix reads "not supported" from contract_cases.py
            continue
        marks: list[pytest.MarkDecorator] = []
        if recording and support == CONSTRUCTED:
            marks.append(pytest.mark.skip(reason=f"{case.preset}/{test_id} is constructed-only; rebuild: --construct"))
        params.append(pytest.param(case, id=case.preset, marks=marks))
    metafunc.parametrize("case", params)
    # both clients on replay, one cassette for the two; recording and construction talk through the sync client
    metafunc.parametrize("client_kind", ["sync"] if recording or _constructing(metafunc.config) else CLIENT_KINDS)


CLIENT_KINDS = ["sync", "async"]


def _constructing(config: pytest.Config) -> bool:
    return bool(config.getoption("--construct"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract(test_id): a contract test; its cassette is <preset>/<test_id>.yaml")


# ------------------------------------------------------------------------------------------------------------------
# cassette location and vcr configuration
# ------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def contract_id(request: pytest.FixtureRequest) -> str:
    return str(request.node.get_closest_marker("contract").args[0])


@pytest.fixture
def cassette_path(request: pytest.FixtureRequest, case: Case, contract_id: str) -> Path:
    return Path(request.config.getoption("--cassette-root")) / case.preset / f"{contract_id}.yaml"


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    # pytest-recording's autouse ``vcr`` fixture asks for this in every test, contract test or not
    if "case" not in request.fixturenames:
        return str(request.config.getoption("--cassette-root"))
    return str(request.getfixturevalue("cassette_path").parent)


@pytest.fixture
def default_cassette_name(contract_id: str) -> str:
    return contract_id


@pytest.fixture
def replaying(request: pytest.FixtureRequest, record_mode: str) -> bool:
    """The test replays a committed cassette (not recording it live, nor constructing it: then the cassette is
    written after the test, and what the directory holds before is not this run's)."""
    return record_mode == "none" and not _constructing(request.config)


@pytest.fixture(scope="session")
def disable_recording(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--disable-recording")) or _constructing(request.config)


@pytest.fixture
def contract_env(case: Case, record_mode: str) -> dict[str, str]:
    """The environment hamr sees: placeholders on replay, the developer's real values when recording live."""
    names = [n for n in (case.key_env, TRACE_VAR) if n]
    if record_mode == "none":
        return {name: placeholder(name) for name in names}
    env = {}
    for name in names:
        value = _START_ENV.get(name)
        if not value and name == TRACE_VAR:
            value = f"contract-{datetime.date.today():%Y%m%d}"
        if not value:
            pytest.fail(f"recording {case.preset} live needs {name} in the environment")
        env[name] = value
    return env


@pytest.fixture
def scrubber(contract_env: dict[str, str]) -> Scrubber:
    return Scrubber({value: placeholder(name) for name, value in contract_env.items()})


@pytest.fixture
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    config: dict[str, Any] = {
        "serializer": "yaml",
        "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }
    # pytest-recording also reads this (for allowed hosts) in tests that are not contract tests
    if "case" in request.fixturenames:
        scrubber: Scrubber = request.getfixturevalue("scrubber")
        config.update(before_record_request=scrubber.request, before_record_response=scrubber.response)
    return config


# ------------------------------------------------------------------------------------------------------------------
# the harness a contract test talks through
# ------------------------------------------------------------------------------------------------------------------


class Harness:
    """Builds hamr clients for one preset and keeps every request they sent."""

    def __init__(
        self, case: Case, env: dict[str, str], tmp: Path, transport: httpx2.BaseTransport | None, kind: str
    ) -> None:
        self.case = case
        self.kind = kind
        self.env = env
        self.tmp = tmp
        self.transport = transport
        self.requests: list[httpx2.Request] = []

    def client(
        self,
        *,
        model: str | None = None,
        env: dict[str, str] | None = None,
        max_retries: int = 0,
        default_http: bool = False,
    ) -> hamr.Client | AsyncAsSync:
        """A Client for the preset, or an AsyncClient behind a sync face when the test runs for the async client;
        ``default_http`` lets hamr build its own httpx2 client (replay only)."""
        table: dict[str, Any] = {"max_retries": max_retries, **self.case.config}
        pid = self.case.provider_id
        lines = [f"[providers.{pid}]"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        lines += [f"[providers.{pid}.headers]", f'{TRACE_HEADER} = "${{{TRACE_VAR}}}"']
        path = self.tmp / f"hamr-{len(list(self.tmp.glob('hamr-*.toml')))}.toml"
        path.write_text("\n".join(lines) + "\n")
        client_env = dict(self.env if env is None else env)
        config = hamr.load_config(path, env=client_env)
        which = {"provider": pid, "model": model or self.case.model, "env": client_env}
        if self.kind == "async":
            assert self.transport is None, "constructing cassettes runs through the sync client"

            async def keep(request: httpx2.Request) -> None:
                self.requests.append(request)

            ahttp = None if default_http else httpx2.AsyncClient(event_hooks={"request": [keep]})
            return AsyncAsSync(hamr.AsyncClient(config, http_client=ahttp, **which))
        http = None
        if self.transport is not None or not default_http:
            http = httpx2.Client(transport=self.transport, event_hooks={"request": [self.requests.append]})
        return hamr.Client(config, http_client=http, **which)

    @property
    def request(self) -> httpx2.Request:
        assert self.requests, "no request was sent"
        return self.requests[-1]

    def body(self, request: httpx2.Request | None = None) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((request or self.request).content)
        return data


class AsyncAsSync:
    """An AsyncClient driven from the contract's sync test bodies, on an event loop of its own: one test body
    proves both clients. Every call and every stream step is one awaited step, so events and errors arrive in the
    order the async client gives them."""

    def __init__(self, client: hamr.AsyncClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()

    def run(self, step: Awaitable[T]) -> T:
        return self.loop.run_until_complete(step)

    def chat(self, *args: Any, **kwargs: Any) -> hamr.Completion:
        return self.run(self.client.chat(*args, **kwargs))

    def models(self) -> list[hamr.ModelInfo]:
        return self.run(self.client.models())

    def stream(self, *args: Any, **kwargs: Any) -> _StreamAsSync:
        return _StreamAsSync(self, self.run(self.client.stream(*args, **kwargs)))

    @property
    def _sleep(self) -> Any:
        return self.client._sleep

    @_sleep.setter
    def _sleep(self, record: Callable[[float], None]) -> None:
        async def sleep(seconds: float) -> None:
            record(seconds)

        self.client._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)  # provider, model, spend, ...

    def __enter__(self) -> AsyncAsSync:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.client.aclose())
        finally:
            self.loop.close()


class _StreamAsSync:
    def __init__(self, owner: AsyncAsSync, stream: hamr.AsyncStream) -> None:
        self.owner = owner
        self.stream = stream

    def __enter__(self) -> _StreamAsSync:
        self.owner.run(self.stream.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        self.owner.run(self.stream.__aexit__(*exc))

    def __iter__(self) -> Iterator[hamr.StreamEvent]:
        events = self.stream.__aiter__()
        while True:
            try:
                yield self.owner.run(events.__anext__())
            except StopAsyncIteration:
                return

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)  # completion, partial


class _Constructor(httpx2.BaseTransport):
    """Serves a spec's responses in order and keeps the (request, response) pairs for the cassette."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies = list(replies)
        self.interactions: list[tuple[httpx2.Request, Any]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not self.replies:
            raise AssertionError(f"the construction spec has no response left for {request.method} {request.url}")
        reply = self.replies.pop(0)
        request.read()
        self.interactions.append((request, reply))
        return httpx2.Response(reply.status, headers=reply.headers, content=reply.body)


@pytest.fixture
def contract(
    request: pytest.FixtureRequest,
    case: Case,
    contract_id: str,
    contract_env: dict[str, str],
    scrubber: Scrubber,
    cassette_path: Path,
    record_mode: str,
    tmp_path: Path,
    vcr: Any,
    client_kind: str,
) -> Iterator[Harness]:
    constructing = _constructing(request.config)
    constructor = None
    if constructing:
        from tests.contract import contract_constructed

        spec = contract_constructed.spec(case.preset, contract_id)
        if spec is None:
            pytest.skip(f"{case.preset}/{contract_id} has no construction spec (it is recorded live)")
        constructor = _Constructor(spec.replies)
    provenance = None
    if not constructing and vcr is not None and record_mode != "none":
        provenance = vcr.get_metadata("provenance", _live_provenance(case))
    harness = Harness(case, contract_env, tmp_path, constructor, client_kind)
    yield harness
    if constructor is not None:
        _write_constructed(cassette_path, constructor, spec, scrubber)
    elif vcr is not None and record_mode == "none":
        assert_all_played(vcr, cassette_path)
    elif provenance is not None:
        # name the software that answered, as its Server header says
        servers = sorted(
            {v for r in vcr.responses for k, vs in r["headers"].items() if k.lower() == "server" for v in vs}
        )
        if servers:
            provenance["server"] = f"{provenance['server']} (Server: {', '.join(servers)})"


def assert_all_played(cassette: Any, path: Path) -> None:
    """Strict replay: a cassette (vcrpy's, read from ``path``) holding an interaction the test did not use is out of
    date."""
    unused = [
        f"#{i} {req.method} {req.uri}" for i, (req, _) in enumerate(cassette.data) if cassette.play_counts[i] == 0
    ]
    if unused:
        pytest.fail(f"cassette {path} holds interactions this test did not use: {', '.join(unused)}")


def _live_provenance(case: Case) -> dict[str, str]:
    return {
        "source": "recorded live",
        "date": datetime.date.today().isoformat(),
        "server": _START_ENV.get("HAMR_RECORD_SERVER") or case.chat_url.rsplit("/", 1)[0],
        "model": _START_ENV.get("HAMR_RECORD_MODEL") or case.model,
    }


def _write_constructed(path: Path, constructor: _Constructor, spec: Any, scrubber: Scrubber) -> None:
    if constructor.replies:
        pytest.fail(f"construction spec for {path} has {len(constructor.replies)} response(s) the test never asked for")
    if path.exists() and "recorded live" in path.read_text(encoding="utf-8").split("interactions:")[0]:
        pytest.fail(f"{path} was recorded live; --construct does not overwrite it")
    interactions = []
    for sent, reply in constructor.interactions:
        vcr_request = scrubber.request(Request(sent.method, str(sent.url), sent.content, dict(sent.headers)))
        response = scrubber.response(
            {
                "status": {"code": reply.status, "message": ""},
                "headers": {k.lower(): [v] for k, v in reply.headers.items()},
                "body": {"string": reply.body},
            }
        )
        interactions.append({"request": vcr_request._to_dict(), "response": response})
    path.parent.mkdir(parents=True, exist_ok=True)
    text = cassette_format.serialize({"interactions": interactions, "metadata": {"provenance": spec.provenance}})
    path.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------------------------------------
# outcomes, for the compatibility matrix
# ------------------------------------------------------------------------------------------------------------------

_OUTCOMES: dict[str, dict[str, Any]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    case = getattr(item, "callspec", None) and item.callspec.params.get("case")
    marker = item.get_closest_marker("contract")
    if not isinstance(case, Case) or marker is None:
        return report
    key = f"{case.preset}/{marker.args[0]}"
    entry = _OUTCOMES.setdefault(key, {"preset": case.preset, "test": marker.args[0], "outcome": "passed"})
    if report.skipped:
        entry["outcome"] = "skipped"
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        entry["reason"] = reason.removeprefix("Skipped: ")
    elif report.failed:
        entry["outcome"] = "failed"
    root = Path(item.config.getoption("--cassette-root"))
    cassette = root / case.preset / f"{marker.args[0]}.yaml"
    if cassette.exists():
        provenance = contract_evidence.head(cassette.read_text(encoding="utf-8"))
        entry["provenance"] = contract_evidence.kind(provenance)
        entry["date"] = cassette_reports.evidence_date(provenance)  # when: recorded, or constructed
        if entry["provenance"] == "constructed":  # the matrix says why, and from which pages
            entry["why"], entry["docs"] = provenance.get("why", ""), provenance.get("docs", [])
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--contract-results", default="")
    if target and _OUTCOMES:
        Path(target).write_text(
            json.dumps(sorted(_OUTCOMES.values(), key=lambda e: (e["preset"], e["test"])), indent=1)
        )
