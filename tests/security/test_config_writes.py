"""Every config write is atomic and locked: concurrent writer processes never corrupt the file (and readers never
see half a file), the lock file is removed after each write without breaking mutual exclusion, a failed write
leaves the old file and no temp or lock file behind, a symlinked config stays a link, and environment-sourced keys
are never written. (Mode 0600 for new files and kept modes: tests/unit/test_config.py.)
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import hamr

HEADER = """\
# my hamr config: these comments must survive every switch
[providers.work]
base_url = "https://llm.example.com/v1"  # keep me
api_key_env = "WORK_API_KEY"

[providers.groq]
enabled = true
"""
SWITCHES = [("work", "big"), ("groq", "llama-3.3-70b-versatile"), ("mistral", None), ("deepseek", "deepseek-chat")]


def write(tmp_path: Path, text: str = HEADER) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_concurrent_writer_processes_never_corrupt_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "env-key-that-must-stay-in-the-env")
    path = write(tmp_path)
    jobs = [(provider, model, str(path)) for provider, model in SWITCHES * 15]
    seen: list[str] = []
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        pending = pool.starmap_async(hamr.use, jobs, chunksize=1)
        while not pending.ready():  # a reader racing the writers must always find a whole, valid file
            text = path.read_text()
            tomllib.loads(text)
            seen.append(text)
        results = pending.get(timeout=120)
    assert len(results) == len(jobs) and len(seen) > 0
    text = path.read_text()
    assert text.startswith(HEADER) and text.count("[active]") == 1
    assert "env-key-that-must-stay-in-the-env" not in text
    assert all(seen_text.startswith(HEADER) for seen_text in seen)
    active = tomllib.loads(text)["active"]
    assert (active["provider"], active.get("model")) in SWITCHES
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # the lock file went with the last writer


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        hamr.use("groq", path=path)
    assert path.read_text() == HEADER
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_symlinked_config_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    target = write(tmp_path)
    os.chmod(target, 0o640)
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    hamr.use("groq", path=link)
    assert link.is_symlink()
    assert hamr.load_config(target).active.provider == "groq"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_key_in_the_file_stays_and_an_environment_key_is_never_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORK_API_KEY", "env-only-key-987654")
    path = write(tmp_path, HEADER + '\n[providers.filed]\nbase_url = "https://x.test"\napi_key = "file-key-1"\n')
    hamr.use("work", "big", path=path)
    text = path.read_text()
    assert "env-only-key-987654" not in text and text.count('api_key = "file-key-1"') == 1


def test_a_writer_waits_for_the_lock_another_process_holds(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    path = write(tmp_path)
    with open(tmp_path / "config.toml.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        writer = multiprocessing.get_context("spawn").Process(target=hamr.use, args=("groq", None, str(path)))
        writer.start()
        writer.join(timeout=3)
        assert writer.is_alive() and path.read_text() == HEADER, "the writer went ahead without the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
    writer.join(timeout=30)
    assert writer.exitcode == 0 and tomllib.loads(path.read_text())["active"]["provider"] == "groq"


# read, pause, write back plus one: two holders of the lock at once lose an increment
INCREMENT = """
import sys, time
from pathlib import Path
from hamr._config import _locked
config = Path(sys.argv[1])
counter = config.with_name("counter")
for _ in range(int(sys.argv[2])):
    with _locked(config):
        n = int(counter.read_text())
        time.sleep(0.0005)
        counter.write_text(str(n + 1))
"""


def test_removing_the_lock_file_keeps_writers_mutually_exclusive(tmp_path: Path) -> None:
    """Each holder removes config.toml.lock before it lets go; a writer that waited on the removed file must not
    go ahead while a newcomer holds a fresh one (hamr._config._locked)."""
    pytest.importorskip("fcntl")
    (tmp_path / "counter").write_text("0")
    workers, rounds = 4, 150
    procs = [
        subprocess.Popen([sys.executable, "-c", INCREMENT, str(tmp_path / "config.toml"), str(rounds)])
        for _ in range(workers)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * workers
    assert (tmp_path / "counter").read_text() == str(workers * rounds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter"]
