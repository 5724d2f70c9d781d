"""Running probes: live against a server (recording every exchange under the request budget) or from cassettes
(``--replay``). Both end the same way: each probe's verdict is judged from its cassette replayed through hamr, so a
live run and a replay of it cannot disagree.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

import hamr
from hamr.kit import probes as p
from hamr.kit import rules
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from hamr.kit.scrub import Scrubber, placeholder


class ConformError(Exception):
    """Bad input or a server the kit cannot talk to; its message is the one line the user sees."""


@dataclass(frozen=True)
class Target:
    """What a run talks to: a name, the server's root URL, its protocol, model and key variable, and what the user
    says about how the server runs (flags)."""

    name: str
    url: str
    protocol: str
    model: str | None = None
    key_env: str | None = None
    flags: str = ""
    server: str = ""

    @property
    def root(self) -> str:
        """The URL without a trailing ``/v1``: every protocol's paths hang under it."""
        return self.url.rstrip("/").removesuffix("/v1")

    def base_url(self, protocol: str | None = None) -> str:
        """hamr's ``base_url`` for the protocol: OpenAI's and the Responses API's include ``/v1``, Anthropic's does
        not."""
        return self.root + ("" if (protocol or self.protocol) == rules.ANTHROPIC else "/v1")

    def as_dict(self) -> dict[str, Any]:
        return {k: val for k, val in self.__dict__.items() if val}


def target_from(data: dict[str, Any]) -> Target:
    return Target(**{k: data[k] for k in Target.__dataclass_fields__ if k in data})


# ------------------------------------------------------------------------------------------------------------------
# hamr clients over a transport
# ------------------------------------------------------------------------------------------------------------------


class TransportClients:
    """hamr clients for the target, each on ``transport``: the recorder (live) or the replayer (a cassette)."""

    def __init__(
        self, target: Target, protocol: str, model: str | None, key: str | None, transport: httpx2.BaseTransport
    ):
        self.target, self.protocol, self.model, self.key, self.transport = target, protocol, model, key, transport
        self._tmp = tempfile.TemporaryDirectory(prefix="hamr-conform-")  # removed with this object
        self.tmp = Path(self._tmp.name)

    def config_text(self) -> str:
        # no retries (each request is one the budget counts); a server that stalls fails the probe within minutes
        settings = {"stream_usage": True, "max_retries": 0, "read_timeout": 180.0, "stream_idle_timeout": 120.0}
        return provider_toml("conform", self.target, self.protocol, **settings)

    @contextmanager
    def client(self, *, model: str | None = None, key: str | None = None) -> Iterator[hamr.Client]:
        path = self.tmp / "hamr.toml"
        path.write_text(self.config_text(), encoding="utf-8")
        env = {self.target.key_env: key or self.key or ""} if self.target.key_env else {}
        config = hamr.load_config(path, env=env)
        http = httpx2.Client(transport=self.transport)
        client = hamr.Client(config, provider="conform", model=model or self.model, http_client=http, env=env)
        try:
            yield client
        finally:
            client.close()
            http.close()


#: the kit's protocol -> hamr's ``compatibility``
COMPATIBILITY = {
    rules.OPENAI: "openai-compatible",
    rules.ANTHROPIC: "anthropic-compatible",
    rules.RESPONSES: "openai-responses",
}


def provider_toml(name: str, target: Target, protocol: str, **settings: Any) -> str:
    """A ``[providers.<name>]`` table for the target (what the kit's clients use, and the snippet's base)."""
    lines = [
        f"[providers.{name}]",
        f'compatibility = "{COMPATIBILITY[protocol]}"',
        f"base_url = {json.dumps(target.base_url(protocol))}",
    ]
    if target.key_env:
        lines.append(f"api_key_env = {json.dumps(target.key_env)}")
    split = urlsplit(target.url)
    if split.scheme == "http" and not hamr_loopback(target.url):
        lines.append("allow_insecure_http = true")
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def hamr_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


# ------------------------------------------------------------------------------------------------------------------
# judging one probe from its cassette (live and replay share this)
# ------------------------------------------------------------------------------------------------------------------


def replay_steps(probe: p.Probe, cassette: w.Cassette, target: Target, where: str) -> list[list[v.Step]]:
    """The probe's steps run again through hamr against the cassette: the exchanges each consumed and what hamr
    made of them. Every stored exchange must be used, in order."""
    protocol, attempts_n = cassette.conform["protocol"], int(cassette.conform["attempts"])
    replayer = w.Replayer(cassette.exchanges, where)
    key = placeholder(target.key_env) if target.key_env else None
    clients = TransportClients(target, protocol, cassette.conform.get("model"), key, replayer)
    attempts: list[list[v.Step]] = []
    for _ in range(attempts_n):
        steps = []
        for step in probe.steps:
            start = replayer.position
            observed = step.call(clients)
            steps.append(v.Step(step.label, tuple(cassette.exchanges[start : replayer.position]), observed))
        attempts.append(steps)
    if replayer.position != len(cassette.exchanges):
        raise w.ReplayMismatch(f"{where}: {len(cassette.exchanges) - replayer.position} recorded exchange(s) unused")
    return attempts


def judge(probe: p.Probe, cassette: w.Cassette, target: Target, where: str) -> v.Verdict:
    attempts = replay_steps(probe, cassette, target, where)
    if any(not s.exchanges for a in attempts for s in a):
        return v.Verdict(v.NOT_RUN, "a step sent nothing (hamr refused the request before sending it)")
    ctx = p.context(probe, cassette.conform["protocol"], int(cassette.conform["tries"]), bool(target.key_env))
    return v.JUDGES[probe.name](ctx, attempts)


# ------------------------------------------------------------------------------------------------------------------
# live
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class LiveRun:
    target: Target
    protocol: str
    model: str | None
    key: str | None
    budget: w.Budget
    tries: int
    progress: Callable[[str], None]
    provenance: dict[str, Any] = field(default_factory=dict)
    scrubber: Scrubber = field(default_factory=lambda: Scrubber({}))
    #: the transport under the recorder (None: the network; a fake server in the offline tests)
    inner: httpx2.BaseTransport | None = None
    limits: w.Limits = field(default_factory=w.Limits)


def live_probe(run: LiveRun, probe: p.Probe) -> w.Cassette | v.Verdict:
    """Run one probe against the server (repeating a model-dependent one until its verdict is settled or the tries
    are spent) and return its cassette; a verdict instead when it cannot run here."""
    if (why := probe.not_applicable(run.protocol)) is not None:
        return v.Verdict(v.NOT_APPLICABLE, why)
    if probe.name == "error_bad_key" and not run.target.key_env:
        return v.Verdict(v.NOT_APPLICABLE, "no key given (--key-env): the server is taken to have none")
    tries = run.tries if probe.model_dependent else 1
    if probe.worst_case(run.tries) > run.budget.left():
        return v.Verdict(
            v.NOT_RUN, f"needs up to {probe.worst_case(run.tries)} requests; {run.budget.left()} left of the budget"
        )
    recorder = w.Recorder(run.budget, run.inner, run.limits)
    clients = TransportClients(run.target, run.protocol, run.model, run.key, recorder)
    attempts: list[list[v.Step]] = []
    for _ in range(tries):
        steps = []
        for step in probe.steps:
            start = len(recorder.exchanges)
            observed = step.call(clients)
            exchanges = tuple(recorder.exchanges[start:])
            if not exchanges and observed.error and observed.error.startswith("ConnectionError"):
                where = (
                    f"lost {run.target.url} during the {probe.cell} probe" if run.budget.used > 1 else "cannot reach"
                )
                raise ConformError(f"{where}: {observed.error}")
            if not exchanges and observed.error and observed.error.startswith("TimeoutError"):
                raise ConformError(f"{run.target.url} did not answer {probe.name} in time: {observed.error}")
            steps.append(v.Step(step.label, exchanges, observed))
        attempts.append(steps)
        if any(not s.exchanges for s in steps):
            break
        ctx = p.context(probe, run.protocol, run.tries, bool(run.target.key_env))
        if not v.JUDGES[probe.name](ctx, attempts).retry:
            break
    conform = {
        "probe": probe.name,
        "cell": probe.cell,
        "protocol": run.protocol,
        "model": run.model,
        "tries": run.tries,
        "attempts": len(attempts),
        "steps": [s.label for s in probe.steps],
        "target": run.target.as_dict(),
    }
    return w.Cassette(run.provenance, conform, [w.scrubbed(e, run.scrubber) for e in recorder.exchanges])


IDENTITY_PATHS = ("/props", "/version", "/api/version")


def identity(run: LiveRun) -> tuple[w.Cassette, dict[str, Any]]:
    """The server's own account of itself: its Server header and the version/props endpoints some servers have
    (llama.cpp's /props, vLLM's /version, Ollama's /api/version); each answered one is kept."""
    recorder = w.Recorder(run.budget, run.inner, run.limits)
    headers = {}
    if run.key:
        headers = {"x-api-key": run.key} if run.protocol == rules.ANTHROPIC else {"authorization": f"Bearer {run.key}"}
    found: dict[str, Any] = {}
    with httpx2.Client(transport=recorder, timeout=10.0) as http:
        for path in IDENTITY_PATHS:
            try:
                response = http.get(run.target.root + path, headers=headers)
            except (httpx2.HTTPError, w.BudgetExceeded):
                continue
            body = _json(response.content)
            if response.status_code == 200 and isinstance(body, dict):
                found[path] = _identity_facts(body)
    conform = {"probe": "identity", "protocol": run.protocol, "model": run.model, "target": run.target.as_dict()}
    return w.Cassette(run.provenance, conform, [w.scrubbed(e, run.scrubber) for e in recorder.exchanges]), found


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _identity_facts(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("version", "build_info", "model_alias", "total_slots", "chat_template_caps", "api_version")
    facts = {k: body[k] for k in keep if k in body}
    settings = body.get("default_generation_settings")
    if isinstance(settings, dict) and "n_ctx" in settings:
        facts["n_ctx"] = settings["n_ctx"]
    return facts


def detect_protocol(
    target: Target,
    key: str | None,
    budget: w.Budget,
    progress: Callable[[str], None],
    inner: httpx2.BaseTransport | None = None,
) -> tuple[str, str | None, list[w.Exchange]]:
    """(protocol, model, the exchanges sent): the model from GET /v1/models unless the target names one, then the
    protocol whose chat endpoint answers a one-token request in its own shape (for ``auto``: OpenAI, then
    Anthropic, then Responses)."""
    recorder = w.Recorder(budget, inner)
    model = target.model
    if model is None:
        headers = {"authorization": f"Bearer {key}", "x-api-key": key} if key else {}
        try:
            with httpx2.Client(transport=recorder, timeout=30.0) as http:
                response = http.get(f"{target.root}/v1/models", headers=headers)
        except httpx2.HTTPError as exc:
            raise ConformError(f"cannot reach {target.url}: {type(exc).__name__}: {exc}") from None
        body = _json(response.content)
        data = body.get("data") if isinstance(body, dict) else None
        ids = [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
        if not ids:
            raise ConformError(
                f"GET {target.root}/v1/models answered {response.status_code} without a model id: pass --model"
            )
        model = ids[0]
        progress(f"model: {model} (the first of GET /v1/models)")
    protocols = rules.PROTOCOLS if target.protocol == "auto" else (target.protocol,)
    tried = []
    for protocol in protocols:
        clients = TransportClients(target, protocol, model, key, recorder)
        before = len(recorder.exchanges)
        observed = p.chat_call(max_tokens=1)(clients)
        if len(recorder.exchanges) == before:
            raise ConformError(f"cannot reach {target.url}: {observed.error}")
        exchange = recorder.exchanges[-1]
        path = urlsplit(exchange.url).path
        body = exchange.json()
        shaped = isinstance(body, dict) and _ANSWER_FIELD[protocol] in body
        if 200 <= exchange.status < 300 and shaped:
            progress(f"protocol: {protocol} (POST {path} answered {exchange.status})")
            return protocol, model, recorder.exchanges
        refused_in_shape = 400 <= exchange.status < 500 and rules.error_shape_problem(protocol, exchange) is None
        if refused_in_shape and exchange.status not in (404, 405):
            progress(f"protocol: {protocol} (POST {path} answered {exchange.status} in its error shape)")
            return protocol, model, recorder.exchanges
        tried.append(f"POST {path} answered {exchange.status}")
    if target.protocol != "auto":
        raise ConformError(f"{target.url} does not speak the {target.protocol} protocol: {'; '.join(tried)}")
    raise ConformError(f"{target.url} speaks none of the three protocols: {'; '.join(tried)}")


#: the field an answer in each protocol's shape has
_ANSWER_FIELD = {rules.OPENAI: "choices", rules.ANTHROPIC: "content", rules.RESPONSES: "output"}


def today() -> str:
    return datetime.date.today().isoformat()


def verdicts_of(
    cassettes: dict[str, w.Cassette], skipped: dict[str, v.Verdict], target: Target
) -> dict[str, v.Verdict]:
    """Every probe's verdict: judged from its cassette, or the reason it was not run."""
    out = {}
    for probe in p.PROBES:
        if probe.name in cassettes:
            out[probe.name] = judge(probe, cassettes[probe.name], target, f"{probe.name}.yaml")
        else:
            out[probe.name] = skipped.get(probe.name, v.Verdict(v.NOT_RUN, "no cassette"))
    return out


def probes_for(protocol: str) -> Sequence[p.Probe]:
    return [probe for probe in p.PROBES if probe.not_applicable(protocol) is None]
