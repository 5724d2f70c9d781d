"""Config loading, validation, legacy format and switching."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

import hamr
import hamr._cli
from hamr import ConfigError, load_config, use

FULL = """\
# my hamr config
[active]
provider = "work"   # the team gateway
model = "big"

[providers.work]
base_url = "https://llm.example.com/v1/"
api_key_env = "WORK_KEY"
compatibility = "openai-compatible"
input_price_per_1m_tokens = 1
output_price_per_1m_tokens = 2.5

[providers.work.headers]
X-Team = "${TEAM}"
X-Static = "hamr"

[[providers.work.models]]
id = "big"
display_name = "Big"
context_window = 32000
supports_thinking = true

[providers.deepseek]
enabled = false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_file_means_presets_with_relay_active() -> None:
    config = load_config()
    assert config.active.provider == "relay"
    assert config.providers["relay"].base_url == "http://127.0.0.1:1234/v1"
    assert config.providers["deepseek"].api_key_env == "DEEPSEEK_API_KEY"
    assert config.providers["deepseek"].input_price_per_1m_tokens == 0.30
    assert config.providers["anthropic"].compatibility == "anthropic-compatible"
    assert set(config.providers) >= {"relay", "deepseek", "openrouter", "groq", "anthropic", "mistral", "together"}


def test_full_multi_provider_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    work = config.providers["work"]
    assert config.active == hamr._config.Active("work", "big")
    assert work.base_url == "https://llm.example.com/v1"  # trailing slash dropped
    assert work.headers == {"X-Team": "${TEAM}", "X-Static": "hamr"}
    assert work.models[0] == hamr.ModelSpec("big", "Big", 32000, True)
    assert work.input_price_per_1m_tokens == 1.0
    assert not config.providers["deepseek"].enabled
    assert work.origins["base_url"] == "file" and config.providers["groq"].origins["base_url"] == "preset"


def test_path_resolution_explicit_then_env_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg" / "hamr"
    xdg.mkdir(parents=True)
    (xdg / "config.toml").write_text('[active]\nprovider = "groq"\n')
    assert load_config().active.provider == "groq"
    env_file = write(tmp_path, '[active]\nprovider = "mistral"\n')
    monkeypatch.setenv("HAMR_CONFIG", str(env_file))
    assert load_config().active.provider == "mistral"
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('[active]\nprovider = "together"\n')
    assert load_config(explicit).active.provider == "together"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            '[providers.x]\nbase_url = "https://a"\ncompatibility = "openai"\n',
            "providers.x.compatibility",
            "unknown compatibility",
        ),
        ('[active]\nprovider = "deepseek"\n[providers.deepseek]\nenabled = false\n', "active.provider", "disabled"),
        ('[active]\nprovider = "deepsek"\n', "active.provider", "did you mean 'deepseek'"),
        (
            '[providers.groq]\ninput_price_per_1m_tokens = "cheap"\n',
            "providers.groq.input_price_per_1m_tokens",
            "must be a number",
        ),
        ('[providers.x]\nbase_url = "ftp://a"\n', "providers.x.base_url", "http:// or https://"),
        ('[providers.groq]\nbase_ulr = "https://a"\n', "providers.groq.base_ulr", "did you mean 'base_url'"),
        ('[providers.mine]\napi_key_env = "K"\n', "providers.mine.base_url", "needs a base_url"),
        (
            '[providers.groq.headers]\n"Bad Name" = "x"\n',
            "providers.groq.headers.Bad Name",
            "not a valid HTTP header name",
        ),
        ('[[providers.groq.models]]\ndisplay_name = "no id"\n', "providers.groq.models[0].id", "needs an id"),
        ('[activ]\nprovider = "groq"\n', "activ", "did you mean 'active'"),
        ('[providers.groq]\napi_key_env = "sk-not-a-name"\n', "providers.groq.api_key_env", "NAME of an environment"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert info.value.path == str(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[active]\nprovider = \n")
    with pytest.raises(ConfigError, match=r"invalid TOML.*line 2") as info:
        load_config(path)
    assert info.value.path == str(path)


LEGACY = """\
[provider]
name = "deepseek"
type = "openai"
api_key_env = "MY_DS_KEY"
model = "deepseek-reasoner"
"""


def test_legacy_single_provider_table_loads_into_the_same_model(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, LEGACY))
    assert config.legacy
    assert config.active == hamr._config.Active("deepseek", "deepseek-reasoner")
    ds = config.providers["deepseek"]
    assert ds.api_key_env == "MY_DS_KEY"
    assert ds.base_url == "https://api.deepseek.com"  # the preset fills the rest


def test_legacy_custom_server_without_name(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[provider]\ntype = "openai"\nbase_url = "http://localhost:8080/v1"\nmodel = "m"\n')
    )
    assert config.active == hamr._config.Active("custom", "m")
    assert config.providers["custom"].base_url == "http://localhost:8080/v1"


def test_key_from_env_is_preferred_and_file_key_is_the_fallback(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[providers.groq]\napi_key = "file-key"\n'))
    groq = config.providers["groq"]
    assert groq.key({}) == "file-key"
    assert groq.key({"GROQ_API_KEY": "env-key"}) == "env-key"
    assert "file-key" not in repr(groq)


def test_headers_interpolate_at_request_time_and_unset_omits(tmp_path: Path) -> None:
    work = load_config(write(tmp_path, FULL)).providers["work"]
    assert work.resolve_headers({"TEAM": "core"}) == {"X-Team": "core", "X-Static": "hamr"}
    assert work.resolve_headers({}) == {"X-Static": "hamr"}


def test_use_switches_and_keeps_everything_else_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORK_KEY", "secret-from-env")
    path = write(tmp_path, FULL)
    config = use("groq", "llama-3.3-70b-versatile", path=path)
    assert config.active == hamr._config.Active("groq", "llama-3.3-70b-versatile")
    text = path.read_text()
    assert text == FULL.replace('provider = "work"', 'provider = "groq"').replace(
        'model = "big"', 'model = "llama-3.3-70b-versatile"'
    )
    assert "secret-from-env" not in text
    assert load_config(path).active.provider == "groq"


def test_use_without_model_drops_the_old_model_and_takes_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = use("groq", path=path)
    assert config.active.model == "openai/gpt-oss-120b"
    assert 'model = "big"' not in path.read_text()


def test_use_creates_a_new_file_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    use("mistral", path=path)
    assert load_config(path).active.provider == "mistral"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_use_keeps_file_permissions_and_appends_active_to_legacy(tmp_path: Path) -> None:
    path = write(tmp_path, LEGACY)
    os.chmod(path, 0o640)
    use("groq", path=path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert path.read_text().startswith(LEGACY)
    assert load_config(path).active.provider == "groq"


def test_use_refuses_unknown_or_disabled_providers(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    with pytest.raises(ConfigError, match="unknown provider 'grok'; did you mean 'groq'"):
        use("grok", path=path)
    with pytest.raises(ConfigError, match="disabled"):
        use("deepseek", path=path)
    assert path.read_text() == FULL


# --- issue 18 ---------------------------------------------------------------------------------------------------------


def test_legacy_anthropic_type_without_name_is_custom_at_the_given_url(tmp_path: Path) -> None:
    """A legacy file pointing at a local Anthropic-compatible proxy: no preset key, no preset prices."""
    path = write(tmp_path, '[provider]\ntype = "anthropic"\nbase_url = "http://127.0.0.1:4000"\nmodel = "m"\n')
    config = load_config(path)
    assert config.active == hamr._config.Active("custom", "m")
    custom = config.providers["custom"]
    assert (custom.compatibility, custom.base_url) == ("anthropic-compatible", "http://127.0.0.1:4000")
    assert not custom.requires_key and custom.api_key_env is None
    assert custom.input_price_per_1m_tokens is None and str(hamr.Client(config).spend) == "Spend: local"
    assert config.providers["anthropic"].origins["base_url"] == "preset"  # the preset itself is untouched


def test_legacy_without_name_or_base_url_says_how_to_reach_a_preset(tmp_path: Path) -> None:
    path = write(tmp_path, '[provider]\ntype = "anthropic"\n')
    with pytest.raises(ConfigError, match=r'needs a base_url; .*name = "anthropic"') as info:
        load_config(path)
    assert info.value.key == "provider.base_url"


def test_client_for_custom_without_a_table_says_what_to_add() -> None:
    with pytest.raises(
        ConfigError, match=r'provider \'custom\' needs a base_url: add \[providers.custom\] with base_url = "..."'
    ):
        hamr.Client(provider="custom")
    with pytest.raises(ConfigError, match=r"active provider 'custom' needs a base_url: add \[providers.custom\]"):
        hamr._config.parse_config({"active": {"provider": "custom"}})


def test_xdg_config_home_that_is_empty_or_relative_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    default = tmp_path / "home" / ".config" / "hamr" / "config.toml"
    for xdg in ("", "relative/dir"):
        assert hamr._config.config_path(env={"XDG_CONFIG_HOME": xdg}) == default
    assert hamr._config.config_path(env={"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "hamr" / "config.toml"
    env = {"XDG_CONFIG_HOME": str(tmp_path), "HAMR_CONFIG": str(tmp_path / "env.toml")}
    assert hamr._config.config_path(env=env) == tmp_path / "env.toml"
    assert hamr._config.config_path(tmp_path / "flag.toml", env=env) == tmp_path / "flag.toml"


@pytest.mark.parametrize(
    ("text", "path_in_error", "key"),
    [
        (
            '[providers.work]\nbase_url = "https://a.example"\napi_key_env = "WORK_KEY"\n',
            True,
            "providers.work.api_key_env",
        ),
        (
            '[provider]\nname = "work"\nbase_url = "https://a.example"\napi_key_env = "WORK_KEY"\n',
            True,
            "provider.api_key_env",
        ),
        (
            '[providers.work]\nbase_url = "https://a.example"\nrequires_key = true\n',
            True,
            "providers.work.requires_key",
        ),
        ("[providers.groq]\nenabled = true\n", False, None),
    ],
)
def test_a_missing_key_error_points_where_the_requirement_is_written(
    tmp_path: Path, text: str, path_in_error: bool, key: str | None
) -> None:
    path = write(tmp_path, text)
    pid = "groq" if "groq" in text else "work"
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))
    client = hamr.Client(
        load_config(path), provider=pid, model="m", env={}, http_client=httpx.Client(transport=transport)
    )
    with pytest.raises(ConfigError, match="needs an API key") as info:
        client.chat("hi")
    assert sent == []
    assert info.value.key == key and (info.value.path == str(path)) is path_in_error
    if key is None:
        assert "GROQ_API_KEY (named by the groq preset" in str(info.value)


def test_use_leaves_no_lock_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    use("groq", path=path)
    hamr._cli.main(["--config", str(path), "use", "mistral"])
    with pytest.raises(ConfigError):
        use("nope", path=path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
