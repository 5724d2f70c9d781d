"""The `hamr` command: providers, models, use, chat, config check, conform (the kit, imported only then). Errors
print one line and exit non-zero; a closed pipe (``hamr ... | head -1``) ends the command quietly."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

from ._client import Client
from ._config import Config, ProviderSettings, interpolate, load_config, permission_warning, use
from ._errors import HamrError, redact
from ._presets import PRESETS

EPILOG = """examples:
  hamr providers
  hamr models --provider relay
  hamr use deepseek deepseek-flash
  hamr chat "Write a haiku about TOML"
  hamr config check
  hamr conform http://127.0.0.1:8080/v1      (pip install "hamr[conform]"; hamr conform --help)

config file: the first that is set wins:
  --config PATH, then $HAMR_CONFIG, then $XDG_CONFIG_HOME/hamr/config.toml, then ~/.config/hamr/config.toml
  (a missing default file means the presets alone, with relay active; a missing --config or $HAMR_CONFIG is an error)

exit status: 0 done; 1 `config check` found a problem for the active provider; 2 an error (one line on stderr);
  130 interrupted; 141 stdout was closed early (a pipe into `head`), reported by nothing but the status
"""
CONFIG_CHECK_EPILOG = """exit status:
  0  the active provider can send requests as configured
  1  it cannot, or lacks a variable: its key or a header's environment variable is unset, or a request would be
     refused (credentials over plain http:// to a host that is not loopback)
  2  the config file cannot be used (invalid TOML, an unknown key, a wrong value; an explicit file that is missing)
Problems of other providers are listed too but leave the status alone. A config file that holds a key (api_key, or a
credential header written out) while other users may read it gets a warning with the chmod that fixes it; the
status stays as it is (`hamr use` warns about it too, on stderr).

example: hamr config check
"""
#: 128 + SIGPIPE: what a shell reports for a command whose output pipe was closed early
EXIT_CLOSED_PIPE = 141


def _key_status(p: ProviderSettings) -> str:
    if p.key():
        return f"key from {p.api_key_env}" if p.api_key_env and os.environ.get(p.api_key_env) else "key in file"
    if p.requires_key:
        return f"MISSING {p.api_key_env or 'api_key'}"
    return "no key needed"


def _usable_presets() -> list[str]:
    """Presets that work without a table in the file (custom has no base_url of its own)."""
    return [pid for pid, preset in PRESETS.items() if preset.base_url is not None]


def cmd_providers(config: Config, args: argparse.Namespace) -> int:
    rows = []
    for pid, p in sorted(config.providers.items()):
        mark = "*" if pid == config.active.provider else " "
        state = "enabled" if p.enabled else "disabled"
        rows.append((f"{mark} {pid}", p.compatibility, state, _key_status(p), p.base_url))
    for pid, preset in sorted(PRESETS.items()):
        if pid not in config.providers:
            hint = f'add [providers.{pid}] with base_url = "..." to use it'
            rows.append((f"  {pid}", preset.compatibility, "needs base_url", "key optional", hint))
    rows.sort(key=lambda r: r[0][2:])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[4])
    return 0


def cmd_models(config: Config, args: argparse.Namespace) -> int:
    with Client(config, provider=args.provider) as client:
        for m in client.models():
            extra = []
            if m.display_name:
                extra.append(m.display_name)
            if m.context_window:
                extra.append(f"{m.context_window} tokens")
            if m.supports_thinking:
                extra.append("thinking")
            print(m.id + (f"  ({', '.join(extra)})" if extra else ""))
    return 0


def cmd_use(config: Config | None, args: argparse.Namespace) -> int:
    new = use(args.provider, args.model, path=args.config)
    print(f"active: {new.active.provider} / {new.active.model or '(server default)'}  (written to {new.path})")
    warning = permission_warning(new)
    if warning:
        _say(f"hamr: warning: {warning}")
    return 0


def cmd_chat(config: Config, args: argparse.Namespace) -> int:
    with Client(config, provider=args.provider, model=args.model) as client:
        stream = client.stream(
            [{"role": "user", "content": args.prompt}], system=args.system, max_tokens=args.max_tokens
        )
        with stream:
            for event in stream:
                if event.type == "text":
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
        if not stream.completion.text.endswith("\n"):
            sys.stdout.write("\n")
        print(client.spend, file=sys.stderr)
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    where = config.path if config.path and config.path.exists() else "no config file (presets only)"
    print(f"config: {where}")
    warning = permission_warning(config)
    if warning:
        print(f"warning: {warning}")
    print(f"active: {config.active.provider} / {config.active.model or '(server default)'}")
    problems = 0
    for pid, p in sorted(config.providers.items()):
        if not p.enabled:
            continue
        line = f"  {pid}: {p.base_url} [{p.compatibility}] base_url from {p.origins.get('base_url', 'preset')}"
        missing, refused = [], []
        if p.requires_key and not p.key():
            missing.append(p.api_key_env or "api_key")
        for name, template in p.headers.items():
            try:
                if interpolate(template, os.environ) is None:
                    missing.append(f"{template} (header {name} will be omitted)")
            except HamrError as exc:
                missing.append(str(exc))
        refusal = p.plain_http_refusal()
        if refusal:
            refused.append(refusal.message)
        if missing:
            line += "; missing: " + ", ".join(missing)
        if refused:
            line += "; refused: " + "; ".join(refused)
        # p.problems() is every check a request makes before it is sent: each one shows above as missing or refused
        if (missing or p.problems()) and pid == config.active.provider:
            problems += 1
        print(line)
        if pid == config.active.provider or "file" in p.origins.values():
            for row in _effective(p):
                print(row)
    return 1 if problems else 0


_HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


def _shown(value: object) -> str:
    """A setting as TOML would spell it; None is "(not set)"."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _effective(p: ProviderSettings) -> list[str]:
    """Every setting of ``p``: the value in effect and where it came from (preset, file or default).
    Secrets never show: the key is only "set", credential headers are hidden, key-shaped text is redacted."""
    rows: list[tuple[str, str, str]] = []
    for f in dataclasses.fields(p):
        name, value = f.name, getattr(p, f.name)
        origin = p.origins.get(name, "default")
        if name in ("id", "source", "origins", "table"):
            continue
        if name == "api_key":
            rows.append((name, "(set, hidden)" if value else "(not set)", origin))
        elif name == "headers":
            for header, template in value.items():
                shown = "(hidden)" if header.lower() in _HIDDEN_HEADERS else _shown(template)
                rows.append((f"headers.{header}", shown, p.origins.get(f"headers.{header}", origin)))
        elif name == "models":
            for m in value:
                parts = [_shown(m.display_name or m.id)]
                parts += [f"{m.context_window} tokens"] if m.context_window else []
                if m.input_price_per_1m_tokens is not None or m.output_price_per_1m_tokens is not None:
                    parts.append(f"{m.input_price_per_1m_tokens} / {m.output_price_per_1m_tokens} USD per 1M")
                rows.append((f"models.{m.id}", ", ".join(parts), p.origins.get(f"models.{m.id}", origin)))
        else:
            rows.append((name, _shown(value), origin))
    width = max(len(r[0]) for r in rows)
    return [redact(f"      {n.ljust(width)} = {v}  ({o})") for n, v, o in rows]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hamr",
        description="A small, exact LLM provider runtime.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file; wins over $HAMR_CONFIG, which wins over $XDG_CONFIG_HOME/hamr/config.toml "
        "(default: ~/.config/hamr/config.toml)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "providers", help="list providers, their protocol and key status", epilog="example: hamr providers"
    )
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("models", help="list a provider's models", epilog="example: hamr models --provider groq")
    p.add_argument("--provider", help="provider id (default: the active one)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "use",
        help="switch the active provider/model and save it",
        epilog="example: hamr use anthropic claude-sonnet-5-5",
    )
    p.add_argument(
        "provider",
        help=f"a preset ({', '.join(_usable_presets())}) or a provider of your config file; "
        '`custom` once the file has [providers.custom] with base_url = "..."',
    )
    p.add_argument("model", nargs="?", help="model id (default: the provider's default)")
    p.set_defaults(func=cmd_use)

    p = sub.add_parser(
        "chat", help="send one prompt and stream the answer", epilog='example: hamr chat --provider relay "Say hello"'
    )
    p.add_argument("prompt")
    p.add_argument("--provider")
    p.add_argument("--model")
    p.add_argument("--system", help="system prompt")
    p.add_argument("--max-tokens", type=int, default=None)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("config", help="inspect the config")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser(
        "check",
        help="validate the config; list missing environment variables and what would refuse a request",
        description="Validate the config file and list, per provider, missing environment variables and anything\n"
        "that would refuse a request before it is sent; the active provider and every provider the file touches\n"
        "also get each effective setting and where it came from (preset, file or default).",
        epilog=CONFIG_CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.set_defaults(func=cmd_check)

    # listed for --help; `hamr conform ...` is handed to the kit's own parser before this one runs (see main)
    sub.add_parser("conform", help='probe a server and write its compatibility row (needs "hamr[conform]")')
    return parser


def conform(argv: Sequence[str]) -> int:
    """``hamr conform ...``: the conformance kit, imported only now; a clear line when its extra is missing."""
    try:
        from .kit import cli
    except ImportError as exc:
        _say(f'hamr: error: hamr conform needs the conform extra ({exc}): pip install "hamr[conform]"')
        return 2
    return cli.main(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["conform"]:
        return conform(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        # `use` loads (or creates) the file itself, so a missing file is not an error there
        config = None if args.command == "use" else load_config(args.config)
        status = int(args.func(config, args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except HamrError as exc:
        _say(f"hamr: error: {redact(str(exc))}")
        return 2
    except KeyboardInterrupt:
        _say("hamr: interrupted")
        return 130


def _say(line: str) -> None:
    """One line on stderr; a closed stderr is no reason for a traceback."""
    with contextlib.suppress(BrokenPipeError):
        print(line, file=sys.stderr)


def _closed_pipe() -> int:
    """The reader went away (``hamr ... | head -1``): stop quietly. Whatever is still buffered for stdout goes to
    /dev/null, so the interpreter's last flush does not raise again."""
    with contextlib.suppress(OSError, ValueError):  # ValueError: a stdout without a file descriptor
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_CLOSED_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
