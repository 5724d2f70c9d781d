"""``hamr conform``: point the kit at an OpenAI-compatible, Anthropic-compatible or Responses server and get its
compatibility row, with the evidence.

    hamr conform http://127.0.0.1:8080 --key-env MY_KEY
    hamr conform --replay conformance/my-server        # every verdict again, offline

Writes into --out (default ``conformance/<name>/``): ``cassettes/<probe>.yaml`` (every exchange, keys scrubbed),
``report.md`` (the row and why per cell), ``report.json``, ``hamr.toml`` (the ``[providers.<name>]`` snippet).
Exit code: 0 when the run's policy holds, 1 when a cell fails it (or a replay disagrees with the report), 2 for bad
input (an unreachable URL, a server that speaks none of the three protocols). Maintainers run it as ``nox -s
conform``, which adds the embedded servers as named targets (``tests/conform/targets.toml``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

from hamr.kit import probes as p
from hamr.kit import report, run
from hamr.kit import verdicts as v
from hamr.kit import wire as w
from hamr.kit.scrub import Scrubber, placeholder

DEFAULT_BUDGET = 100
DEFAULT_TRIES = 3


def targets(path: Path | None) -> dict[str, dict[str, Any]]:
    """The named targets of a TOML file (``[targets.<name>]`` tables: url, protocol, key_env, model, aliases): name
    -> its table, each alias -> the same table (a run under an alias is the target's own run, written under its
    name); none without a file."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise run.ConformError(f"--targets {path}: {exc}") from None
    named: dict[str, dict[str, Any]] = {}
    tables = data.get("targets", {})
    for name, table in tables.items():
        entry = dict(table, name=name)
        aliases = entry.pop("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(alias, str) for alias in aliases):
            raise run.ConformError(f"--targets {path}: targets.{name}.aliases: a list of names, not {aliases!r}")
        for alias in (name, *aliases):
            if alias in named or (alias != name and alias in tables):
                raise run.ConformError(f"--targets {path}: targets.{name}.aliases: {alias!r} names another target")
            named[alias] = entry
    return named


def parser(prog: str = "hamr conform") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Probe an OpenAI-compatible, Anthropic-compatible or Responses (POST /v1/responses) server and "
        "write its compatibility row with the "
        "evidence (cassettes), a JSON report and a hamr config snippet.",
        epilog=f"examples: {prog} http://127.0.0.1:8080/v1 --key-env MY_KEY | {prog} --replay conformance/my-server",
    )
    parser.add_argument("target", nargs="?", help="a base URL, or the name of a target of --targets")
    parser.add_argument("--targets", type=Path, metavar="FILE", help="a TOML file of named targets ([targets.<name>])")
    parser.add_argument(
        "--protocol",
        choices=("openai", "anthropic", "responses", "auto"),
        help="default: auto (OpenAI, then Anthropic, then Responses)",
    )
    parser.add_argument("--model", help="the model id (default: the first of GET /v1/models)")
    parser.add_argument("--key-env", metavar="VAR", help="the environment variable holding the server's key")
    parser.add_argument("--name", help="the row's name and the provider's in the TOML snippet")
    parser.add_argument("--out", type=Path, help="where to write (default: conformance/<name>)")
    parser.add_argument(
        "--budget", type=int, default=DEFAULT_BUDGET, help=f"most requests sent (default {DEFAULT_BUDGET})"
    )
    parser.add_argument(
        "--tries", type=int, default=DEFAULT_TRIES, help=f"tries of a model-dependent probe (default {DEFAULT_TRIES})"
    )
    parser.add_argument("--flags", default="", help="how the server runs (its version, flags), for the report")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=w.Limits.seconds,
        metavar="S",
        help=f"most seconds one request may take, answer included (default {w.Limits.seconds:g})",
    )
    parser.add_argument(
        "--max-events",
        type=int,
        default=w.Limits.events,
        metavar="N",
        help=f"most SSE events one streamed answer may send (default {w.Limits.events})",
    )
    parser.add_argument("--only", metavar="CELLS", help="run these cells alone (probe names or cells, comma-separated)")
    policy = parser.add_argument_group("policy (what exits 1)")
    policy.add_argument(
        "--fail-on",
        metavar="KINDS",
        default=",".join(report.DEFAULT_FAIL_ON),
        help=f"verdict kinds that fail the run in any cell (default: {', '.join(report.DEFAULT_FAIL_ON)}; "
        f"'none' for none); kinds: {', '.join(v.KINDS)}",
    )
    policy.add_argument(
        "--require",
        metavar="CELLS",
        default="",
        help="more cells that must hold (honoured, limited by the model, not applicable); always required: "
        + ", ".join(q.name for q in p.PROBES if q.required),
    )
    policy.add_argument(
        "--allow", metavar="CELLS", default="", help="cells that never fail the run (a known, documented gap)"
    )
    parser.add_argument("--replay", type=Path, metavar="DIR", help="recompute every verdict offline from DIR")
    parser.add_argument(
        "--render",
        action="store_true",
        help="with --replay: write DIR's verdicts (report.json), report.md and hamr.toml again from its cassettes",
    )
    return parser


def main(
    argv: list[str] | None = None, prog: str = "hamr conform", explain: Callable[[], str | None] = lambda: None
) -> int:
    """The command: ``prog`` is how a rerun is spelled in the report; ``explain`` says what else went wrong when a
    run ends in bad input (the maintainers' session: how its local server died)."""
    args = parser(prog).parse_args(argv)
    try:
        try:
            policy = report.Policy(
                fail_on=report.kind_names(args.fail_on),
                required=report.Policy().required | report.cell_names(args.require),
                allowed=report.cell_names(args.allow),
            )
            only = report.cell_names(args.only) if args.only else None
        except ValueError as exc:
            raise run.ConformError(str(exc)) from None
        if args.replay:
            return replay(args.replay, args.render, policy)
        if not args.target:
            named = ", ".join(targets(args.targets))
            also = f", one of {named}" if named else ""
            raise run.ConformError(f"name a target: a base URL{also}, or --replay DIR")
        return live(args, prog, policy, only)
    except run.ConformError as exc:
        died = explain()
        print(f"conform: {exc}" + (f" ({died})" if died else ""), file=sys.stderr)
        return 2
    except w.ReplayMismatch as exc:
        print(f"conform: {exc}: the cassettes come from another version of the kit; run it live again", file=sys.stderr)
        return 1


def _target(args: argparse.Namespace) -> run.Target:
    known = targets(args.targets)
    named = known.get(args.target)
    if named is None and not re.match(r"^https?://", args.target):
        raise run.ConformError(
            f"{args.target!r} is neither a URL (http://...) nor a target" + (f": {', '.join(known)}" if known else "")
        )
    data = dict(named or {"url": args.target})
    for key in ("protocol", "model", "key_env", "name", "flags"):
        if getattr(args, key, None):
            data[key] = getattr(args, key)
    data.setdefault("protocol", "auto")
    data.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]+", "-", urlsplit(data["url"]).netloc).strip("-") or "server")
    data["server"] = data.get("server") or os.environ.get("HAMR_RECORD_SERVER", "")
    return run.target_from(data)


def live(args: argparse.Namespace, prog: str, policy: report.Policy, only: frozenset[str] | None) -> int:
    target = _target(args)
    key = None
    if target.key_env:
        key = os.environ.get(target.key_env)
        if not key:
            raise run.ConformError(f"--key-env {target.key_env}: the variable is not set")
    rerun = f"{prog} {args.target}" + "".join(
        f" --{k.replace('_', '-')} {getattr(args, k)}" for k in ("protocol", "model", "key_env") if getattr(args, k)
    )
    out = args.out or Path("conformance") / target.name
    limits = w.Limits(args.request_timeout, args.max_events)
    budget = w.Budget(args.budget)
    return conform(target, key, out, budget, args.tries, rerun, policy=policy, limits=limits, only=only)


def conform(
    target: run.Target,
    key: str | None,
    out: Path,
    budget: w.Budget,
    tries: int,
    rerun: str,
    inner: httpx2.BaseTransport | None = None,
    progress: Callable[[str], None] = print,
    policy: report.Policy | None = None,
    limits: w.Limits | None = None,
    only: frozenset[str] | None = None,
) -> int:
    """One live run: probe, write cassettes and reports into ``out``, print the row and what changed since the
    previous run there; the exit code under ``policy``. ``only``: these probes alone (the rest "not run")."""
    policy = policy or report.Policy()
    probes = [probe for probe in p.PROBES if only is None or probe.name in only]
    plan = 3 + len(run.IDENTITY_PATHS) + sum(probe.worst_case(tries) for probe in probes)
    progress(
        f"conform {target.name}: {target.url}; budget {budget.limit} requests (this plan needs at most {plan}), "
        f"model-dependent probes up to {tries} tries"
    )
    started = time.monotonic()
    protocol, model, detection = run.detect_protocol(target, key, budget, progress, inner)
    scrubber = _scrubber(key, target.key_env)
    live_run = run.LiveRun(
        target,
        protocol,
        model,
        key,
        budget,
        tries,
        progress,
        scrubber=scrubber,
        inner=inner,
        limits=limits or w.Limits(),
    )
    live_run.provenance.update(
        source="recorded live", date=run.today(), server=target.server or target.url, model=model
    )
    cassettes: dict[str, w.Cassette] = {}
    identity_cassette, found = run.identity(live_run)
    cassettes["identity"] = identity_cassette
    servers = sorted({e.header("server") for e in [*detection, *identity_cassette.exchanges] if e.header("server")})
    if servers:
        live_run.provenance["server"] += f" (Server: {', '.join(servers)})"
    if target.flags:
        live_run.provenance["flags"] = target.flags
    if model_note := os.environ.get("HAMR_RECORD_MODEL"):
        live_run.provenance["model"] = model_note if model_note.startswith(str(model)) else f"{model}: {model_note}"
    cassettes["protocol"] = w.Cassette(
        live_run.provenance,
        {"probe": "protocol", "protocol": protocol, "model": model, "target": target.as_dict()},
        [w.scrubbed(e, scrubber) for e in detection],
    )
    skipped: dict[str, v.Verdict] = {
        probe.name: v.Verdict(v.NOT_RUN, "not asked for (--only)") for probe in p.PROBES if probe not in probes
    }
    for n, probe in enumerate(probes, 1):
        used = budget.used
        result = run.live_probe(live_run, probe)
        if isinstance(result, v.Verdict):
            skipped[probe.name] = result
            progress(f"[{n:2}/{len(probes)}] {probe.cell}: {result.kind} ({result.reason})")
            continue
        cassettes[probe.name] = w.loads(w.dumps(result))  # judged from what is written, as a replay will be
        verdict = run.judge(probe, cassettes[probe.name], target, f"{probe.name}.yaml")
        progress(f"[{n:2}/{len(probes)}] {probe.cell}: {verdict.kind} ({budget.used - used} req; {verdict.reason})")
    verdicts = run.verdicts_of({k: c for k, c in cassettes.items() if k in p.BY_NAME}, skipped, target)
    document = {
        "run": {
            "date": run.today(),
            "rerun": rerun,
            "url": target.url,
            "protocol": protocol,
            "model": live_run.provenance["model"],
            "server": live_run.provenance["server"],
            "flags": target.flags,
            "identity": found,
            "budget": budget.limit,
            "tries": tries,
            "requests": budget.used,
            "seconds": round(time.monotonic() - started, 1),
            "limits": live_run.limits.as_dict(),
        },
        "target": target.as_dict(),
        "skipped": {name: {"kind": s.kind, "reason": s.reason} for name, s in skipped.items()},
        "verdicts": report.as_json(verdicts),
    }
    previous = _read_json(out / "report.json")
    changes = report.verdict_drift(previous, document) + report.cassette_drift(out / "cassettes", cassettes)
    _write(out, target, protocol, model, cassettes, document)
    _print_result(target.name, document, out, progress, policy)
    if previous is not None:
        progress(f"since the run of {previous['run']['date']}: " + ("no change" if not changes else ""))
        for line in changes:
            progress(f"  {line}")
    return report.exit_code(document["verdicts"], policy)


def _scrubber(key: str | None, key_env: str | None) -> Scrubber:
    """The run's scrubber: the key (by value), the bad-key probe's wrong key (no secret, but key-shaped), and the
    home directory (a server's /props names its model's path) as ``~``."""
    secrets = {p.WRONG_KEY: placeholder("WRONG_KEY")}
    if key and key_env:
        secrets[key] = placeholder(key_env)
    if len(home := str(Path.home())) > 1:
        secrets[home] = "~"
    return Scrubber(secrets)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(
    out: Path,
    target: run.Target,
    protocol: str,
    model: str | None,
    cassettes: dict[str, w.Cassette],
    document: dict[str, Any],
) -> None:
    shutil.rmtree(out / "cassettes", ignore_errors=True)
    (out / "cassettes").mkdir(parents=True)
    for name, cassette in cassettes.items():
        (out / "cassettes" / f"{name}.yaml").write_text(w.dumps(cassette), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _render(out, target, protocol, model, document)


def _render(out: Path, target: run.Target, protocol: str, model: str | None, document: dict[str, Any]) -> None:
    """report.md and hamr.toml, both generated from the report's verdicts."""
    (out / "report.md").write_text(report.markdown(target.name, document), encoding="utf-8")
    (out / "hamr.toml").write_text(
        report.toml_snippet(target.name, target, protocol, model, document), encoding="utf-8"
    )


def _print_result(
    name: str, document: dict[str, Any], out: Path, progress: Callable[[str], None], policy: report.Policy
) -> None:
    run_facts = document["run"]
    progress(f"\n{run_facts['requests']} requests in {run_facts['seconds']} s; wrote {out}")
    progress(report.header())
    progress(report.row(name, run_facts["protocol"], document["verdicts"]))
    _print_policy(document["verdicts"], policy, progress)


def _print_policy(verdicts: dict[str, Any], policy: report.Policy, progress: Callable[[str], None]) -> None:
    failures = policy.failures(verdicts)
    progress(f"policy ({policy.describe()}): " + ("passes" if not failures else "FAILS on " + "; ".join(failures)))


def replay(directory: Path, render: bool = False, policy: report.Policy | None = None) -> int:
    """Every verdict again from DIR's cassettes, offline; compared with DIR/report.json when it is there.
    ``render``: write report.json's verdicts, report.md and hamr.toml again from the cassettes (after a change to how
    this version of the kit judges or words them; the run's facts stay), printing what changed."""
    folder = directory / "cassettes"
    if not folder.is_dir():
        raise run.ConformError(f"{directory} holds no cassettes/ folder: is it a conform run's --out?")
    cassettes = {path.stem: w.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))}
    recorded = _read_json(directory / "report.json") or {}
    any_cassette = next(iter(cassettes.values()), None)
    if any_cassette is None:
        raise run.ConformError(f"{folder} is empty")
    target = run.target_from(dict(any_cassette.conform["target"]))
    skipped = {name: v.Verdict(s["kind"], s["reason"]) for name, s in (recorded.get("skipped") or {}).items()}
    verdicts = report.as_json(run.verdicts_of({k: c for k, c in cassettes.items() if k in p.BY_NAME}, skipped, target))
    protocol = any_cassette.conform["protocol"]
    print(f"replayed {len(cassettes)} cassettes of {target.name} ({target.url}), offline")
    print(report.header())
    print(report.row(target.name, protocol, verdicts))
    changes = report.verdict_drift(recorded, {"verdicts": verdicts}, reasons=True) if recorded else []
    if recorded:
        print("the same verdicts as the live run" if not changes else "differs from report.json:")
    for line in changes:
        print(f"  {line}")
    if render and recorded:  # the files derived from the cassettes, by this version of the kit
        recorded["verdicts"] = verdicts
        text = json.dumps(recorded, indent=1, ensure_ascii=False) + "\n"
        (directory / "report.json").write_text(text, encoding="utf-8")
        _render(directory, target, protocol, any_cassette.conform.get("model"), recorded)
        print(f"rendered report.json's verdicts, report.md and hamr.toml in {directory} again")
        changes = []
    policy = policy or report.Policy()
    _print_policy(verdicts, policy, print)
    return 1 if changes else report.exit_code(verdicts, policy)


if __name__ == "__main__":
    sys.exit(main())
