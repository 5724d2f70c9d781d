"""``nox -s conform``: point the harness at an OpenAI- or Anthropic-compatible server and get its compatibility
row, with the evidence.

    python tests/conform/conform_cli.py http://127.0.0.1:8080 --key-env MY_KEY
    python tests/conform/conform_cli.py relay                      # a target of tests/conform/targets.toml
    python tests/conform/conform_cli.py --replay conformance/relay # every verdict again, offline

Writes into --out (default ``conformance/<name>/``): ``cassettes/<probe>.yaml`` (every exchange, keys scrubbed),
``report.md`` (the row and why per cell), ``report.json``, ``hamr.toml`` (the ``[providers.<name>]`` snippet).
Exit code: 0 when the required cells hold, 1 when one does not (or a replay disagrees with the report), 2 for bad
input (an unreachable URL, a server that speaks neither protocol).
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

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "contract")]

import conform_probes as p  # noqa: E402
import conform_report as report  # noqa: E402
import conform_run as run  # noqa: E402
import conform_verdicts as v  # noqa: E402
import conform_wire as w  # noqa: E402
import httpx2  # noqa: E402
from cassette_recording import Scrubber, placeholder  # noqa: E402

REPO = HERE.parents[1]
TARGETS = HERE / "targets.toml"
DEFAULT_BUDGET = 80
DEFAULT_TRIES = 3


def targets(path: Path = TARGETS) -> dict[str, dict[str, Any]]:
    """The named targets (the embedded servers, the gateway in front of one): name -> its table."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: dict(table, name=name) for name, table in data.get("targets", {}).items()}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s conform --",
        description="Probe an OpenAI- or Anthropic-compatible server and write its compatibility row with the "
        "evidence (cassettes), a JSON report and a hamr config snippet.",
        epilog="examples: nox -s conform -- relay | nox -s conform -- http://127.0.0.1:8080 --key-env MY_KEY | "
        "nox -s conform -- --replay conformance/relay",
    )
    parser.add_argument("target", nargs="?", help=f"a base URL, or a target of {TARGETS.relative_to(REPO)}")
    parser.add_argument("--protocol", choices=("openai", "anthropic", "auto"), help="default: auto (OpenAI first)")
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
    parser.add_argument("--replay", type=Path, metavar="DIR", help="recompute every verdict offline from DIR")
    parser.add_argument(
        "--render", action="store_true", help="with --replay: write DIR's report.md and hamr.toml again"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.replay:
            return replay(args.replay, args.render)
        if not args.target:
            raise run.ConformError("name a target: a base URL, one of " + ", ".join(targets()) + ", or --replay DIR")
        return live(args)
    except run.ConformError as exc:
        died = _local_server_death()
        print(f"conform: {exc}" + (f" ({died})" if died else ""), file=sys.stderr)
        return 2
    except w.ReplayMismatch as exc:
        print(f"conform: {exc}: the cassettes come from another version of the kit; run it live again", file=sys.stderr)
        return 1


def _target(args: argparse.Namespace) -> run.Target:
    named = targets().get(args.target)
    if named is None and not re.match(r"^https?://", args.target):
        raise run.ConformError(f"{args.target!r} is neither a URL (http://...) nor a target: {', '.join(targets())}")
    data = dict(named or {"url": args.target})
    for key in ("protocol", "model", "key_env", "name", "flags"):
        if getattr(args, key, None):
            data[key] = getattr(args, key)
    data.setdefault("protocol", "auto")
    data.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]+", "-", urlsplit(data["url"]).netloc).strip("-") or "server")
    data["server"] = data.get("server") or os.environ.get("HAMR_RECORD_SERVER", "")
    return run.target_from(data)


def live(args: argparse.Namespace) -> int:
    target = _target(args)
    key = None
    if target.key_env:
        key = os.environ.get(target.key_env)
        if not key:
            raise run.ConformError(f"--key-env {target.key_env}: the variable is not set")
    rerun = f"nox -s conform -- {args.target}" + "".join(
        f" --{k.replace('_', '-')} {getattr(args, k)}" for k in ("protocol", "model", "key_env") if getattr(args, k)
    )
    out = args.out or REPO / "conformance" / target.name
    return conform(target, key, out, w.Budget(args.budget), args.tries, rerun)


def conform(
    target: run.Target,
    key: str | None,
    out: Path,
    budget: w.Budget,
    tries: int,
    rerun: str,
    inner: httpx2.BaseTransport | None = None,
    progress: Callable[[str], None] = print,
) -> int:
    """One live run: probe, write cassettes and reports into ``out``, print the row and what changed since the
    previous run there; the exit code."""
    plan = 3 + len(run.IDENTITY_PATHS) + sum(probe.worst_case(tries) for probe in p.PROBES)
    progress(
        f"conform {target.name}: {target.url}; budget {budget.limit} requests (this plan needs at most {plan}), "
        f"model-dependent probes up to {tries} tries"
    )
    started = time.monotonic()
    protocol, model, detection = run.detect_protocol(target, key, budget, progress, inner)
    scrubber = _scrubber(key, target.key_env)
    live_run = run.LiveRun(target, protocol, model, key, budget, tries, progress, scrubber=scrubber, inner=inner)
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
    skipped: dict[str, v.Verdict] = {}
    for n, probe in enumerate(p.PROBES, 1):
        used = budget.used
        result = run.live_probe(live_run, probe)
        if isinstance(result, v.Verdict):
            skipped[probe.name] = result
            progress(f"[{n:2}/{len(p.PROBES)}] {probe.cell}: {result.kind} ({result.reason})")
            continue
        cassettes[probe.name] = w.loads(w.dumps(result))  # judged from what is written, as a replay will be
        verdict = run.judge(probe, cassettes[probe.name], target, f"{probe.name}.yaml")
        progress(f"[{n:2}/{len(p.PROBES)}] {probe.cell}: {verdict.kind} ({budget.used - used} req; {verdict.reason})")
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
        },
        "target": target.as_dict(),
        "skipped": {name: {"kind": s.kind, "reason": s.reason} for name, s in skipped.items()},
        "verdicts": report.as_json(verdicts),
    }
    previous = _read_json(out / "report.json")
    changes = report.verdict_drift(previous, document) + report.cassette_drift(out / "cassettes", cassettes)
    _write(out, target, protocol, model, cassettes, document)
    _print_result(target.name, document, out, progress)
    if previous is not None:
        progress(f"since the run of {previous['run']['date']}: " + ("no change" if not changes else ""))
        for line in changes:
            progress(f"  {line}")
    return report.exit_code(document["verdicts"])


def _scrubber(key: str | None, key_env: str | None) -> Scrubber:
    """The run's scrubber: the key (by value), the bad-key probe's wrong key (no secret, but key-shaped), and the
    home directory (a server's /props names its model's path) as ``~``."""
    secrets = {p.WRONG_KEY: placeholder("WRONG_KEY")}
    if key and key_env:
        secrets[key] = placeholder(key_env)
    if len(home := str(Path.home())) > 1:
        secrets[home] = "~"
    return Scrubber(secrets)


def _local_server_death() -> str | None:
    """How the local server the nox session started ended, when it died during the run (its watcher's report)."""
    sys.path.insert(0, str(HERE.parent / "smoke"))
    import local_servers

    report = local_servers.death_report(os.environ, wait=2.0)
    return report.strip().splitlines()[0] if report and report.strip() else None


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


def _print_result(name: str, document: dict[str, Any], out: Path, progress: Callable[[str], None]) -> None:
    run_facts = document["run"]
    progress(f"\n{run_facts['requests']} requests in {run_facts['seconds']} s; wrote {out}")
    progress(report.header())
    progress(report.row(name, run_facts["protocol"], document["verdicts"]))
    failing = report.failing_required(document["verdicts"])
    progress("required cells: " + ("all hold" if not failing else "failing: " + ", ".join(failing)))


def replay(directory: Path, render: bool = False) -> int:
    """Every verdict again from DIR's cassettes, offline; compared with DIR/report.json when it is there.
    ``render``: when they agree, write report.md and hamr.toml again from it (after a change to how they read)."""
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
    if render and recorded and not changes:  # the files derived from the verdicts, by this version of the kit
        _render(directory, target, protocol, any_cassette.conform.get("model"), recorded)
        print(f"rendered {directory / 'report.md'} and {directory / 'hamr.toml'} again")
    return 1 if changes else report.exit_code(verdicts)


if __name__ == "__main__":
    sys.exit(main())
