"""The `hamr` command: output a person reads, one-line errors, non-zero exit codes."""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

import hamr
from hamr import _cli

STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
)


@pytest.fixture
def mock_server(monkeypatch: pytest.MonkeyPatch) -> list[httpx2.Request]:
    """Route the CLI's client through a mock transport that plays a relay server."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json={"data": [{"id": "gemma-3-270m-it"}, {"id": "other"}]})
        return httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})

    client = functools.partial(hamr.Client, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    monkeypatch.setattr(_cli, "Client", client)
    return seen


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _cli.main(["--help"])
    assert info.value.code == 0
    assert "hamr chat" in capsys.readouterr().out


def test_providers_lists_every_preset_and_marks_the_active_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    for pid in ("relay", "deepseek", "openrouter", "groq", "anthropic", "mistral", "together"):
        assert pid in out
    assert "* relay" in out and "MISSING DEEPSEEK_API_KEY" in out


def test_chat_streams_text_to_stdout_and_spend_to_stderr(
    mock_server: list[httpx2.Request], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli.main(["chat", "--provider", "relay", "Say hello"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Hello there\n"
    assert captured.err.strip() == "Spend: local"


def test_models_lists_the_server_models(mock_server: list[httpx2.Request], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["models", "--provider", "relay"]) == 0
    assert capsys.readouterr().out.split() == ["gemma-3-270m-it", "other"]


def test_use_writes_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    assert _cli.main(["--config", str(path), "use", "groq", "llama-3.3-70b-versatile"]) == 0
    assert "active: groq / llama-3.3-70b-versatile" in capsys.readouterr().out
    assert hamr.load_config(path).active.provider == "groq"


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[active]\nprovider = "deepsek"\n')
    assert _cli.main(["--config", str(path), "providers"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hamr: error: ") and "did you mean 'deepseek'" in err


def test_chat_without_a_key_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["chat", "--provider", "deepseek", "hi"]) == 2
    assert "DEEPSEEK_API_KEY" in capsys.readouterr().err


def test_config_check_reports_missing_variables_for_the_active_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[active]\nprovider = "groq"\n[providers.groq.headers]\nX-Team = "$TEAM"\n')
    assert _cli.main(["--config", str(path), "config", "check"]) == 1
    out = capsys.readouterr().out
    assert "GROQ_API_KEY" in out and "$TEAM" in out


# --- issue 18: what the README and --help say is what the command does ---------------------------------------------


def test_providers_lists_custom_as_needing_a_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["providers"]) == 0
    custom = [line for line in capsys.readouterr().out.splitlines() if line.split()[0] == "custom"]
    assert len(custom) == 1
    assert "needs base_url" in custom[0] and 'add [providers.custom] with base_url = "..."' in custom[0]


def test_use_custom_without_a_table_says_what_to_add_and_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[active]\nprovider = "groq"\n')
    assert _cli.main(["--config", str(path), "use", "custom"]) == 2
    err = capsys.readouterr().err
    assert 'needs a base_url: add [providers.custom] with base_url = "..."' in err and str(path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no config.toml.lock
    assert path.read_text() == '[active]\nprovider = "groq"\n'
    # without a file, nothing is created at all: not the file, not its directory
    fresh = tmp_path / "new" / "config.toml"
    assert _cli.main(["--config", str(fresh), "use", "custom"]) == 2
    assert not fresh.parent.exists()


def test_use_custom_works_once_the_file_gives_it_a_base_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[providers.custom]\nbase_url = "http://127.0.0.1:8080/v1"\n')
    assert _cli.main(["--config", str(path), "use", "custom", "m"]) == 0
    assert _cli.main(["--config", str(path), "providers"]) == 0
    out = capsys.readouterr().out
    assert "* custom" in out and "http://127.0.0.1:8080/v1" in out and "needs base_url" not in out


def test_use_help_offers_only_providers_that_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli.main(["use", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    offered = text.split("a preset (")[1].split(")")[0].split(", ")
    assert "custom" not in offered and set(offered) == set(hamr.PRESETS) - {"custom"}
    assert '`custom` once the file has [providers.custom] with base_url = "..."' in text
    for pid in offered:  # every provider the help offers can be switched to as it stands
        assert _cli.main(["--config", str(tmp_path / "c.toml"), "use", pid]) == 0


def test_help_names_every_config_location_and_which_wins(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "--config PATH, then $HAMR_CONFIG, then $XDG_CONFIG_HOME/hamr/config.toml, then ~/.config/hamr/config.toml"
        in (text)
    )
    assert "wins over $HAMR_CONFIG, which wins over $XDG_CONFIG_HOME/hamr/config.toml" in text


def test_config_check_help_documents_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _cli.main(["config", "check", "--help"])
    out = capsys.readouterr().out
    for code, meaning in (("0", "can send requests"), ("1", "it cannot, or lacks a variable"), ("2", "cannot be used")):
        assert any(line.strip().startswith(f"{code}  ") and meaning in line for line in out.splitlines()), code


def test_config_check_exits_2_on_an_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[providers.groq]\nbase_ulr = 1\n")
    assert _cli.main(["--config", str(path), "config", "check"]) == 2
    assert _cli.main(["--config", str(tmp_path / "missing.toml"), "config", "check"]) == 2


LAN = '[active]\nprovider = "lan"\n[providers.lan]\nbase_url = "{url}"\n'


@pytest.mark.parametrize(
    ("table", "env", "refused"),
    [
        # a key over plain http:// to a host that is not loopback
        (LAN.format(url="http://192.168.1.20:8080/v1") + 'api_key_env = "LAN_KEY"\n', {"LAN_KEY": "k-1"}, True),
        # the same with the key unset: refused for the key now, and for plain http once it is set
        (LAN.format(url="http://192.168.1.20:8080/v1") + 'api_key_env = "LAN_KEY"\n', {}, True),
        (
            LAN.format(url="http://192.168.1.20:8080/v1") + 'api_key_env = "LAN_KEY"\nallow_insecure_http = true\n',
            {"LAN_KEY": "k-1"},
            False,
        ),
        (LAN.format(url="http://127.0.0.1:8080/v1") + 'api_key_env = "LAN_KEY"\n', {"LAN_KEY": "k-1"}, False),
        (LAN.format(url="https://llm.example.com/v1") + 'api_key_env = "LAN_KEY"\n', {"LAN_KEY": "k-1"}, False),
        (LAN.format(url="http://192.168.1.20:8080/v1"), {}, False),  # no credential: plain http is fine
        # a literal credential header, and one whose required variable is unset
        (LAN.format(url="http://192.168.1.20:8080/v1") + '[providers.lan.headers]\nX-Api-Key = "abc"\n', {}, True),
        (
            LAN.format(url="http://192.168.1.20:8080/v1")
            + '[providers.lan.headers]\nAuthorization = "Bearer ${TOK:?set TOK}"\n',
            {},
            True,
        ),
        (
            LAN.format(url="https://llm.example.com/v1") + '[providers.lan.headers]\nX-Line = "${HDR}"\n',
            {"HDR": "a\nb"},
            True,
        ),
        ('[active]\nprovider = "deepseek"\n', {}, True),  # the preset's key variable is unset
        ('[active]\nprovider = "deepseek"\n', {"DEEPSEEK_API_KEY": "k-2"}, False),
    ],
)
def test_config_check_fails_exactly_when_chat_would_refuse(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mock_server: list[httpx2.Request],
    table: str,
    env: dict[str, str],
    refused: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "c.toml"
    path.write_text(table)
    chat = _cli.main(["--config", str(path), "chat", "--model", "m", "hi"])
    assert (chat == 2, not mock_server) == (refused, refused)
    capsys.readouterr()
    assert _cli.main(["--config", str(path), "config", "check"]) == (1 if refused else 0)
    out = capsys.readouterr().out
    if "192.168.1.20" in table and refused:
        assert "refused: refusing to send credentials" in out and "allow_insecure_http = true" in out
    if not env and "LAN_KEY" in table:
        assert "missing: LAN_KEY" in out
    assert " table " not in out  # bookkeeping, not a setting


def test_missing_preset_key_names_the_preset_not_a_key_absent_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[providers.deepseek]\nenabled = true\n")
    assert _cli.main(["--config", str(path), "chat", "--provider", "deepseek", "hi"]) == 2
    err = capsys.readouterr().err
    assert "set the environment variable DEEPSEEK_API_KEY (named by the deepseek preset" in err
    assert "at providers.deepseek.api_key_env" not in err and str(path) not in err


HAMR = [sys.executable, "-c", "import sys; from hamr._cli import main; sys.exit(main())"]  # the console script
MANY = "".join(f'[providers.p{i}]\nbase_url = "https://p{i}.example.com/v1"\n' for i in range(40))  # ~40 KB of check


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """A real pipe whose reader is gone before hamr writes: no traceback, the shell's status for SIGPIPE."""
    path = tmp_path / "c.toml"
    path.write_text(MANY)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*HAMR, "--config", str(path), "config", "check"], stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (_cli.EXIT_CLOSED_PIPE, b"")


def test_piping_into_head_prints_the_first_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MANY)
    command = f"{shlex.join([*HAMR, '--config', str(path), 'config', 'check'])} | head -1"
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.stdout == f"config: {path}\n"
    assert done.stderr == "" and done.returncode == 0


# --- issue 34: a config file that holds a secret and that other users can read ---------------------------------------

KEY_IN_FILE = '[providers.work]\nbase_url = "https://llm.example.com/v1"\napi_key = "wk-file-secret-0123456789"\n'


def private_fix(line: str) -> list[str]:
    """The command a warning offers, as argv: what follows "make it private: "."""
    return shlex.split(line.split("make it private: ", 1)[1])


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660], ids=lambda mode: f"{mode:04o}")
def test_use_warns_when_a_file_holding_a_key_is_open_to_other_users_and_says_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(KEY_IN_FILE)
    path.chmod(mode)
    assert _cli.main(["--config", str(path), "use", "work", "big"]) == 0
    captured = capsys.readouterr()
    assert "active: work / big" in captured.out
    (warning,) = captured.err.splitlines()
    assert warning == (
        f"hamr: warning: {path} holds a secret (providers.work.api_key) and other users can read it "
        f"(mode {mode:04o}); make it private: chmod 600 {path}"
    )
    assert "wk-file-secret" not in captured.out + captured.err
    assert os.stat(path).st_mode & 0o777 == mode  # the warning names the fix; hamr does not change the mode itself

    subprocess.run(private_fix(warning), check=True)  # the offered fix, as printed
    assert _cli.main(["--config", str(path), "use", "work"]) == 0
    assert capsys.readouterr().err == ""
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_config_check_warns_about_a_readable_file_holding_secrets_and_keeps_its_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "my config.toml"
    token = "Bearer sk-proj-" + "a" * 24
    path.write_text(
        '[active]\nprovider = "work"\n' + KEY_IN_FILE + f'[providers.groq.headers]\nAuthorization = "{token}"\n'
    )
    path.chmod(0o644)
    assert _cli.main(["--config", str(path), "config", "check"]) == 0  # the active provider can still send requests
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {path} holds secrets (providers.work.api_key, providers.groq.headers.Authorization) and other "
        f"users can read it (mode 0644); make it private: chmod 600 '{path}'"
    ]
    assert "wk-file-secret" not in out and "sk-proj-" not in out
    subprocess.run(private_fix(warnings[0]), check=True)
    assert _cli.main(["--config", str(path), "config", "check"]) == 0
    assert "warning" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "text",
    [
        '[providers.work]\nbase_url = "https://llm.example.com/v1"\napi_key_env = "WORK_API_KEY"\n',
        '[providers.groq.headers]\nAuthorization = "Bearer ${GROQ_TOKEN}"\n',
        '[providers.groq.headers]\nX-Team = "blue"\n',
    ],
    ids=["key-in-the-environment", "credential-header-from-a-variable", "no-credential"],
)
def test_a_readable_file_without_secrets_gets_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o644)
    assert _cli.main(["--config", str(path), "use", "groq"]) == 0
    assert _cli.main(["--config", str(path), "config", "check"]) in (0, 1)
    captured = capsys.readouterr()
    assert captured.err == "" and "warning" not in captured.out


def test_a_legacy_file_names_its_key_where_it_stands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[provider]\nname = "groq"\napi_key = "gsk_file_secret"\n')
    path.chmod(0o640)
    assert _cli.main(["--config", str(path), "use", "groq"]) == 0
    assert "holds a secret (provider.api_key) and other users can read it (mode 0640)" in capsys.readouterr().err


def test_use_still_creates_a_new_file_private_without_a_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "config.toml"
    assert _cli.main(["--config", str(path), "use", "groq"]) == 0
    assert os.stat(path).st_mode & 0o777 == 0o600 and capsys.readouterr().err == ""
