"""Command line for the nox sessions: ``check`` (the leak scanner and orphan check), ``drift`` (compare a fresh
recording with the cassettes it replaces, then install it), ``matrix`` (write COMPATIBILITY.md), ``scan`` (the
leak scanner over any files, e.g. a live run's reports before they are uploaded).

Run as ``python -m tests.contract.cassette_cli ...`` from the repository root.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
from pathlib import Path

from hamr._presets import PRESETS
from tests.contract import cassette_hygiene, cassette_reports, test_contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cassette_cli")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="fail on secrets, placeholder-less auth headers, orphans, missing cassettes")
    check.add_argument("root", type=Path)
    check.add_argument(
        "--max-age", type=int, default=90, metavar="DAYS", help="warn about evidence older than this (default 90)"
    )
    drift = sub.add_parser("drift", help="print shape drift of NEW against ROOT, then copy NEW over ROOT")
    drift.add_argument("root", type=Path)
    drift.add_argument("new", type=Path)
    drift.add_argument("--dry-run", action="store_true", help="only print the report")
    matrix = sub.add_parser("matrix", help="render COMPATIBILITY.md from --contract-results JSON")
    matrix.add_argument("results", type=Path)
    matrix.add_argument("output", type=Path)
    matrix.add_argument(
        "--conformance",
        type=Path,
        default=Path("conformance"),
        help="the conformance kit's runs (<server>/report.json)",
    )
    scan = sub.add_parser("scan", help="fail on key-shaped strings or a configured key's value in any file under DIR")
    scan.add_argument("root", type=Path)
    args = parser.parse_args(argv)

    if args.command == "check":
        findings = cassette_hygiene.check(args.root, cassette_hygiene.contract_test_ids(test_contract))
        for finding in findings:
            print(finding)
        count = len(list(args.root.glob("**/*.yaml")))
        report, flagged = cassette_reports.age_report(args.root, datetime.date.today(), args.max_age)
        print(report)
        facts, stale = cassette_reports.facts_report(PRESETS.values(), datetime.date.today(), args.max_age)
        print(facts)
        print(
            f"{count} cassettes checked, {len(findings)} problem(s), {flagged} older than {args.max_age} days; "
            f"{stale} preset default(s) or price(s) unchecked or checked more than {args.max_age} days ago"
        )
        return 1 if findings else 0
    if args.command == "drift":
        new_files = sorted(args.new.glob("**/*.yaml"))
        scanned = [f for path in new_files for f in cassette_hygiene.scan(path)]
        print(cassette_reports.drift_report(args.root, args.new))
        if scanned:
            print("\nNOT installed: the new recording has problems:")
            print("\n".join(str(f) for f in scanned))
            return 1
        if not args.dry_run:
            for path in new_files:
                target = args.root / path.relative_to(args.new)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            print(f"\ninstalled {len(new_files)} cassette(s) into {args.root}")
        return 0
    if args.command == "scan":
        keys = [v for name, v in os.environ.items() if name.endswith(("_API_KEY", "_TOKEN")) and len(v) >= 8]
        files = [p for p in sorted(args.root.rglob("*")) if p.is_file()] if args.root.exists() else []
        leaks = [f for path in files for f in cassette_hygiene.scan_text(path, keys)]
        for leak in leaks:
            print(leak)
        print(f"{len(files)} file(s) scanned, {len(leaks)} secret(s) found")
        return 1 if leaks else 0
    results = json.loads(args.results.read_text(encoding="utf-8"))
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.conformance.glob("*/report.json"))]
    args.output.write_text(cassette_reports.render_matrix(results, runs), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
