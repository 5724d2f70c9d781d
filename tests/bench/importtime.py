"""Import time and cold start. Each run is a fresh interpreter, timed inside it (interpreter start-up not counted);
medians over interleaved runs.

- import: ``import <module>`` alone.
- cold start: import, make a client, stream from the loopback bench server until the first text token. This is the
  honest total: libraries differ in what they defer (hamr imports httpx2 only when a client is made; httpx2 and
  httpx build their TLS context when a client is made, the SDKs later), and this counts all of it.
- process wall: the whole ``python -c "import <module>"`` less a bare ``python -c pass`` (what a CLI user waits).
- ``hamr providers``: the whole command's wall time, as a user at a shell waits for it (console script, config
  read, table printed).

Every module is imported from bytecode (``.pyc``), as after any ``pip install``: the runs drop
PYTHONDONTWRITEBYTECODE from the environment, so the warm-up writes the bytecode of an editable install too (with
it set, each import of an editable hamr compiles its source again, a cost no installed package pays).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.e2e import loopback_server
from tests.bench.streams import Spec

MODULES = ("hamr", "openai", "anthropic", "httpx2", "httpx")
_USER = "[{{'role': 'user', 'content': 'hi'}}]"  # doubled braces: the snippets go through str.format
# each ends when the first text token is in hand (the openai-style stream, except for the anthropic SDK)
COLD_START = {
    "hamr": "import hamr\nwith hamr.Client() as c, c.stream('hi') as s:\n    next(e for e in s if e.type == 'text')",
    "openai": (
        "import openai\nc = openai.OpenAI(api_key='bench', base_url='{url}/v1', max_retries=0)\n"
        f"s = c.chat.completions.create(model='bench-model', messages={_USER}, stream=True)\n"
        "next(ch for ch in s if ch.choices and ch.choices[0].delta.content)"
    ),
    "anthropic": (
        "import anthropic\nc = anthropic.Anthropic(api_key='bench', base_url='{url}', max_retries=0)\n"
        f"s = c.messages.create(model='bench-model', messages={_USER}, max_tokens=16, stream=True)\n"
        "next(e for e in s if e.type == 'content_block_delta')"
    ),
    **{
        library: (
            f"import {library}, json\nc = {library}.Client(base_url='{{url}}')\n"
            "with c.stream('POST', '/v1/chat/completions', json={{'model': 'bench-model', 'stream': True}}) as r:\n"
            "    next(ln for ln in r.iter_lines() if ln.startswith('data:') and "
            "json.loads(ln[5:])['choices'][0]['delta'].get('content'))"
        )
        for library in ("httpx2", "httpx")
    },
}
_TIMED = "import time\nt = time.perf_counter()\n{0}\nprint(time.perf_counter() - t)"


#: the environment of every timed run: this one, without PYTHONDONTWRITEBYTECODE (see the module docstring)
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _in_process(body: str, env: dict[str, str] | None = None) -> float:
    code = _TIMED.format(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env or BASE_ENV)
    return float(out.stdout.strip().splitlines()[-1])


def _wall(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env or BASE_ENV, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _hamr_command() -> list[str]:
    """The ``hamr`` console script beside this interpreter (as pip installs it), else ``python -m hamr``."""
    script = Path(sys.executable).with_name("hamr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hamr"]


def run(runs: int) -> tuple[dict[str, tuple[float, float, float]], tuple[float, float]]:
    """{module: (median seconds: import; cold start to first token; process wall less bare python)}, and
    ``hamr providers``' median wall time (whole, and less bare python)"""
    imports: dict[str, list[float]] = {m: [] for m in MODULES}
    cold: dict[str, list[float]] = {m: [] for m in MODULES}
    wall: dict[str, list[float]] = {m: [] for m in (*MODULES, "", "hamr providers")}
    with tempfile.TemporaryDirectory() as tmp, loopback_server(Spec(20, 0, 1)) as url:
        config = Path(tmp, "config.toml")
        config.write_text(
            f'[active]\nprovider = "bench"\nmodel = "bench-model"\n\n[providers.bench]\nbase_url = "{url}/v1"\n'
            'compatibility = "openai-compatible"\nmax_retries = 0\n'
        )
        env = {**BASE_ENV, "HAMR_CONFIG": str(config)}
        providers = [*_hamr_command(), "providers"]
        for module in MODULES:  # warm the OS file cache and write .pyc files before anything is timed
            _in_process(COLD_START[module].format(url=url), env)
        _wall(providers, env)
        for i in range(runs):
            order = MODULES[i % len(MODULES) :] + MODULES[: i % len(MODULES)]
            for module in order:
                imports[module].append(_in_process(f"import {module}"))
                cold[module].append(_in_process(COLD_START[module].format(url=url), env))
                wall[module].append(_wall([sys.executable, "-c", f"import {module}"]))
            wall[""].append(_wall([sys.executable, "-c", "pass"]))
            wall["hamr providers"].append(_wall(providers, env))
    bare = statistics.median(wall[""])
    median = statistics.median
    modules = {m: (median(imports[m]), median(cold[m]), median(wall[m]) - bare) for m in MODULES}
    return modules, (median(wall["hamr providers"]), median(wall["hamr providers"]) - bare)


def slowest_modules(module: str, entries: int = 12) -> list[str]:
    """``python -X importtime -c "import <module>"``: the modules that cost the most of their own time (the profile
    a missed import target is reported with), as a Markdown table."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=BASE_ENV,
    )
    rows = []
    for line in out.stderr.splitlines()[1:]:
        own, total, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        rows.append((int(own), int(total), name))
    rows.sort(reverse=True)
    table = ["| module | own µs | with its imports µs |", "| --- | ---: | ---: |"]
    return table + [f"| `{name}` | {own:,} | {total:,} |" for own, total, name in rows[:entries]]
