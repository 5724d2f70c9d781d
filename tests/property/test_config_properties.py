"""Config over generated documents: valid ones (multi-provider and legacy) survive write -> load with every value
kept; legacy and new format mean the same; `hamr.use` touches only [active]; anything invalid is a ConfigError."""

from __future__ import annotations

import contextlib
import re
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import hamr
from hamr import ConfigError, ModelSpec
from hamr._config import _ACTIVE_KEYS, _LEGACY_EXTRA, _MODEL_KEYS, _PROVIDER_KEYS, _TOP_KEYS, parse_config
from hamr._presets import COMPATIBILITIES, PRESETS

# tests that render, write and parse a TOML file per example get half the profile's examples, to stay quick
FILE_EXAMPLES = settings(max_examples=max(settings().max_examples // 2, 10))
HOSTED_PRESETS = [pid for pid, preset in PRESETS.items() if preset.base_url is not None]
LEGACY_TYPES = {"openai": "openai-compatible", "anthropic": "anthropic-compatible"} | {c: c for c in COMPATIBILITIES}

# -------------------------------------------------------------------------------------------------------------------
# valid documents
# -------------------------------------------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=10)
line = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=10)


def names(first: str, rest: str, max_size: int) -> st.SearchStrategy[str]:
    """Like st.from_regex(f"[{first}][{rest}]{{0,max_size}}"), several times faster to draw."""
    return st.builds(str.__add__, st.sampled_from(first), st.text(alphabet=rest, max_size=max_size))


LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
custom_ids = names(LOWER, LOWER + DIGITS + "_-", 8).filter(lambda s: s not in PRESETS)
env_names = names(UPPER + "_", UPPER + DIGITS + "_", 12)
header_names = names(string.ascii_letters, string.ascii_letters + DIGITS + "-", 12)
urls = st.builds(
    "{}://{}.example{}/{}".format,
    st.sampled_from(["http", "https"]),
    names(LOWER, LOWER + DIGITS + "-", 10),
    st.sampled_from(["", ":8080"]),
    st.sampled_from(["", "v1", "v1/", "api/v1"]),
)
amounts = st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**6)
models = st.lists(
    st.fixed_dictionaries(
        {"id": text.filter(bool)},
        optional={
            "display_name": text,
            "context_window": st.integers(0, 2_000_000),
            "supports_thinking": st.booleans(),
            "input_price_per_1m_tokens": amounts,
            "output_price_per_1m_tokens": amounts,
        },
    ),
    unique_by=lambda m: m["id"],
    max_size=3,
)
PROVIDER_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "enabled": st.booleans(),
    "api_key_env": env_names,
    "api_key": line,
    "compatibility": st.sampled_from(COMPATIBILITIES),
    "headers": st.dictionaries(header_names, line, max_size=3).filter(lambda h: len({k.lower() for k in h}) == len(h)),
    "models": models,
    "default_model": text,
    "input_price_per_1m_tokens": amounts,
    "output_price_per_1m_tokens": amounts,
    "cache_read_price_per_1m_tokens": amounts,
    "cache_write_price_per_1m_tokens": amounts,
    "cache_write_1h_price_per_1m_tokens": amounts,
    "stream_usage": st.booleans(),
    "local": st.booleans(),
    "anthropic_version": line,
    "max_tokens_field": st.sampled_from(["max_tokens", "max_completion_tokens"]),
    "max_retries": st.integers(0, 10),
    "connect_timeout": amounts,
    "read_timeout": amounts,
    "stream_idle_timeout": amounts,
    "max_event_bytes": st.integers(0, 2**40),
    "max_response_bytes": st.integers(0, 2**40),
    "allow_insecure_http": st.booleans(),
}


def provider_tables(needs_base_url: bool) -> st.SearchStrategy[dict[str, Any]]:
    base_url = {"base_url": urls} if needs_base_url else {}
    optional = PROVIDER_FIELDS if needs_base_url else {**PROVIDER_FIELDS, "base_url": urls}
    return st.fixed_dictionaries(base_url, optional=optional)


@st.composite
def provider_sets(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """Some presets overridden field by field, some custom providers (which need a base_url)."""
    ids = draw(st.lists(st.sampled_from(HOSTED_PRESETS) | custom_ids, unique=True, max_size=3))
    return {pid: draw(provider_tables(needs_base_url=pid not in PRESETS)) for pid in ids}


def enabled_ids(providers: dict[str, dict[str, Any]]) -> list[str]:
    ids = set(HOSTED_PRESETS) | set(providers)
    return sorted(pid for pid in ids if providers.get(pid, {}).get("enabled", True))


@st.composite
def multi_provider_docs(draw: st.DrawFn) -> dict[str, Any]:
    providers = draw(provider_sets())
    doc: dict[str, Any] = {}
    relay_disabled = "relay" not in enabled_ids(providers)  # relay is the default: then [active] must say otherwise
    if relay_disabled or draw(st.booleans()):
        active = {"provider": draw(st.sampled_from(enabled_ids(providers)))}
        if draw(st.booleans()):
            active["model"] = draw(text)
        doc["active"] = active
    if providers:
        doc["providers"] = providers
    if "active" in doc and draw(st.booleans()):
        doc = {"providers": doc.get("providers", {}), "active": doc["active"]}  # [active] last for once
    return doc


@st.composite
def legacy_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A v0.1-v0.3 `[provider]` table: `name` (else custom, whatever the `type`), `type`, `model`, the rest as today."""
    name = draw(st.none() | st.sampled_from(HOSTED_PRESETS) | custom_ids)
    kind = draw(st.none() | st.sampled_from(sorted(LEGACY_TYPES)))
    pid = name or "custom"
    table = draw(provider_tables(needs_base_url=pid not in PRESETS or pid == "custom"))
    table.pop("enabled", None)  # the legacy provider is the active one: it cannot be disabled
    extra = {"name": name, "type": kind, "model": draw(st.none() | text)}
    return {"provider": {k: v for k, v in extra.items() if v is not None} | table}


def as_new_format(legacy: dict[str, Any]) -> dict[str, Any]:
    """The same settings written the v0.4 way."""
    table = dict(legacy["provider"])
    name, kind, model = table.pop("name", None), table.pop("type", None), table.pop("model", None)
    pid = name or "custom"
    if kind is not None:
        table.setdefault("compatibility", LEGACY_TYPES[kind])
    active = {"provider": pid} | ({"model": model} if model is not None else {})
    return {"providers": {pid: table}, "active": active}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example of a test module (a fresh one per example costs more than the test)."""
    return tmp_path_factory.mktemp("config")


def config_file(folder: Path, content: str | bytes) -> Path:
    path = folder / "config.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def effective(config: hamr.Config) -> tuple[Any, ...]:
    return config.active, config.providers


def expected_value(key: str, value: Any) -> Any:
    if key == "base_url":
        return value.rstrip("/")
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith(("price_per_1m_tokens", "timeout")):
        return float(value)
    return value


# -------------------------------------------------------------------------------------------------------------------
# round trips and equivalence
# -------------------------------------------------------------------------------------------------------------------


@FILE_EXAMPLES
@given(multi_provider_docs() | legacy_docs())
def test_a_written_config_loads_back_with_every_value_kept(folder: Path, doc: dict[str, Any]) -> None:
    path = config_file(folder, tomlkit.dumps(doc))
    loaded = hamr.load_config(path)
    assert effective(loaded) == effective(parse_config(doc, str(path)))
    tables = dict(doc.get("providers", {}))
    if "provider" in doc:
        tables[loaded.active.provider] = {k: v for k, v in doc["provider"].items() if k not in ("name", "type")}
        tables[loaded.active.provider].pop("model", None)
    for pid, table in tables.items():
        settings = loaded.providers[pid]
        for key, value in table.items():
            if key == "headers":
                for name, header in value.items():
                    assert settings.headers[name] == header
                    assert [k for k in settings.headers if k.lower() == name.lower()] == [name]
            elif key == "models":
                for model in value:
                    spec = ModelSpec(**{k: expected_value(k, v) for k, v in model.items()})
                    assert settings.model_spec(model["id"]) == spec
            else:
                assert getattr(settings, key) == expected_value(key, value), key
                assert settings.origins.get(key, "file") == "file", key
    if "active" in doc:
        assert loaded.active.provider == doc["active"]["provider"]
        if "model" in doc["active"]:
            assert loaded.active.model == doc["active"]["model"]


@given(legacy_docs())
def test_legacy_and_equivalent_new_format_give_the_same_effective_settings(legacy: dict[str, Any]) -> None:
    old, new = parse_config(legacy), parse_config(as_new_format(legacy))
    assert old.legacy and not new.legacy
    assert effective(old) == effective(new)


# -------------------------------------------------------------------------------------------------------------------
# hamr.use: only [active] changes
# -------------------------------------------------------------------------------------------------------------------

HEADER_LINE = re.compile(r"^\s*\[")


def lines_of(text: str) -> list[str]:
    """Lines as TOML sees them: ended by LF only (str.splitlines would also split at U+0085 and friends)."""
    return [part for part in re.split(r"(?<=\n)", text) if part]


def without_active(text: str) -> str:
    """The text with the [active] section (its header up to the next table header) cut out."""
    out, inside = [], False
    for current in lines_of(text):
        if HEADER_LINE.match(current):
            inside = current.strip() == "[active]"
        if not inside:
            out.append(current)
    return "".join(out)


@st.composite
def commented(draw: st.DrawFn, doc: dict[str, Any]) -> str:
    """The document as TOML with comment lines between its lines and comments after some values."""
    comment = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=15).map(lambda c: f"#{c}")
    out = []
    for current in lines_of(tomlkit.dumps(doc)):
        if draw(st.integers(0, 3)) == 0:
            out.append(draw(comment) + "\n")
        if " = " in current and not current.lstrip().startswith("[") and draw(st.booleans()):
            current = current.rstrip("\n") + "  " + draw(comment) + "\n"
        out.append(current)
    if draw(st.booleans()):
        out.append(draw(comment))  # no newline at the end of the file
    return "".join(out)


@FILE_EXAMPLES
@given(st.data(), multi_provider_docs() | legacy_docs())
def test_use_changes_only_the_active_table_and_keeps_comments_byte_for_byte(
    folder: Path, data: st.DataObject, doc: dict[str, Any]
) -> None:
    original = data.draw(commented(doc))
    assert tomllib.loads(original) == doc  # the comments are comments, nothing else
    path = config_file(folder, original)
    before = parse_config(doc, str(path))
    provider = data.draw(st.sampled_from(sorted(p for p, s in before.providers.items() if s.enabled)))
    model = data.draw(st.none() | text)
    after = hamr.use(provider, model, path)
    written = path.read_text(encoding="utf-8")
    assert hamr.load_config(path) == after
    if "[active]" in original:
        assert without_active(written) == without_active(original)
    else:  # appended: every byte already there stays where it was
        assert written.startswith(original.rstrip("\n"))
        assert without_active(written).rstrip("\n") == original.rstrip("\n")
    assert after.providers == before.providers
    assert after.active.provider == provider
    if model is not None:
        assert after.active.model == model


# -------------------------------------------------------------------------------------------------------------------
# invalid documents: ConfigError, and nothing else
# -------------------------------------------------------------------------------------------------------------------

WRONG_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "enabled": st.sampled_from(["yes", 1, 0.0, [True]]),
    "base_url": st.sampled_from(["api.example.com/v1", "ftp://x.example", "https://", 7, "http:/x", " "]),
    "api_key_env": st.sampled_from(["1KEY", "MY KEY", "KEY\n", "sk-live-abc", "", 3]),
    "api_key": st.sampled_from([1, True, {"a": "b"}]),
    "compatibility": st.sampled_from(["openai", "anthropic-compat", "", 1]),
    "headers": st.sampled_from(
        [{"X A": "v"}, {"X-A\n": "v"}, {"X-A": "a\r\nX-B: 1"}, {"X-A": 1}, {"": "v"}, {"X-A": {"b": "c"}}, "X-A: v"]
    ),
    "models": st.sampled_from([[{"display_name": "no id"}], [{"id": 1}], ["m"], {"id": "m"}, [{"id": "m", "x": 1}]]),
    "default_model": st.sampled_from([1, False, ["m"]]),
    "input_price_per_1m_tokens": st.sampled_from([-1, -0.5, "1.0", True, float("nan")]),
    "stream_usage": st.sampled_from(["true", 1]),
    "max_tokens_field": st.sampled_from(["max_output_tokens", "", 1]),
    "max_retries": st.sampled_from([-1, 1.5, "2", True]),
    "read_timeout": st.sampled_from([-1.0, "10s", False]),
    "max_event_bytes": st.sampled_from([-1, 1.5, "8MB", True]),
}
# not a key of any table hamr reads (asked of hamr's own schema, so a key added there is never "unknown" here)
unknown_keys = names(LOWER, LOWER + "_", 20).filter(
    lambda k: k not in {*_PROVIDER_KEYS, *_MODEL_KEYS, *_ACTIVE_KEYS, *_TOP_KEYS, *_LEGACY_EXTRA}
)


@st.composite
def invalid_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with exactly one thing made wrong."""
    doc = draw(multi_provider_docs())
    providers = doc.setdefault("providers", {})
    pid = draw(st.sampled_from(sorted(providers) or HOSTED_PRESETS))
    table = providers.setdefault(pid, {})
    fault = draw(st.sampled_from(["value", "unknown", "provider id", "active", "not a table"]))
    if fault == "value":
        key = draw(st.sampled_from(sorted(WRONG_VALUES)))
        table[key] = draw(WRONG_VALUES[key])
    elif fault == "unknown":
        where = draw(st.sampled_from(["top", "provider", "model", "active"]))
        key, value = draw(unknown_keys), draw(st.booleans() | text)
        if where == "top":
            doc[key] = value
        elif where == "provider":
            table[key] = value
        elif where == "model":
            table["models"] = [*table.get("models", []), {"id": "m-extra", key: value}]
        else:
            doc["active"] = doc.get("active", {"provider": pid}) | {key: value}
    elif fault == "provider id":
        bad = draw(st.sampled_from(["my provider", "-lead", "ünï", "tab\tid", "trailing\n", "a/b", ""]))
        providers[bad] = {"base_url": "https://x.example/v1"}
    elif fault == "active":
        doc["active"] = draw(
            st.sampled_from(
                [{"provider": "nope-not-configured"}, {"provider": 1}, {"model": 1, "provider": "relay"}, "relay"]
            )
        )
    else:
        target = draw(st.sampled_from(["providers", "provider", "active", "table"]))
        if target == "table":
            providers[pid] = draw(st.sampled_from(["https://x.example", 1, [1]]))
        else:
            doc[target] = draw(st.sampled_from(["x", 1, [1, 2]]))
    return doc


@FILE_EXAMPLES
@given(invalid_docs())
# found by this test: a trailing newline slipped through the id, variable-name and header-name patterns ("$")
@example({"providers": {"trailing\n": {"base_url": "https://x.example/v1"}}})
@example({"providers": {"work": {"base_url": "https://x.example/v1", "api_key_env": "KEY\n"}}})
@example({"providers": {"work": {"base_url": "https://x.example/v1", "headers": {"X-A\n": "v"}}}})
def test_a_document_with_one_mistake_raises_config_error_naming_the_file(folder: Path, doc: dict[str, Any]) -> None:
    path = config_file(folder, tomlkit.dumps(doc))
    with pytest.raises(ConfigError) as caught:
        hamr.load_config(path)
    assert caught.value.path == str(path)


toml_scalars = (
    st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | text | st.datetimes() | st.dates() | st.times()
)
# keys hamr knows (so generated documents reach deep into the loader) mixed with any text
KNOWN_KEYS = sorted(
    {"active", "providers", "provider", "name", "type", "model", *PRESETS, *PROVIDER_FIELDS, "base_url"}
)
vocabulary = st.sampled_from(KNOWN_KEYS) | text


def toml_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(vocabulary, inner, max_size=4)


toml_values = st.recursive(toml_scalars, toml_containers, max_leaves=12)


@given(st.dictionaries(vocabulary, toml_values, max_size=4))
def test_any_document_either_loads_or_raises_config_error(doc: dict[str, Any]) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(doc)


@FILE_EXAMPLES
@given(multi_provider_docs(), st.data())
def test_broken_toml_bytes_raise_config_error(folder: Path, doc: dict[str, Any], data: st.DataObject) -> None:
    body = tomlkit.dumps(doc).encode()
    cut = data.draw(st.integers(0, len(body)))
    garbage = data.draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"[", b'"', b"= =", b"\xff", b"\xc3"]))
    broken = body[:cut] + garbage + body[cut:]
    try:
        tomllib.loads(broken.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        pass
    else:
        assume(False)  # the insertion happened to be valid TOML: that is the other test's business
    path = config_file(folder, broken)
    with pytest.raises(ConfigError, match=r"invalid TOML|not UTF-8") as caught:
        hamr.load_config(path)
    assert caught.value.path == str(path)
