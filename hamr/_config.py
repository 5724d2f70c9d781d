"""Config: find, read and validate the TOML file, merge it over the presets, interpolate headers, switch providers."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._errors import ConfigError
from ._presets import COMPATIBILITIES, OPENAI, PRESETS, Preset
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._types import ModelSpec

ENV_CONFIG = "HAMR_CONFIG"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS_FIELDS = ("max_tokens", "max_completion_tokens")
DEFAULT_MAX_EVENT_BYTES = DEFAULT_MAX_EVENT_SIZE  # 8 MiB
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

# --------------------------------------------------------------------------------------------------------------
# Header interpolation
# --------------------------------------------------------------------------------------------------------------

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::\?(?P<message>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<dollar>\$))"
)


def interpolate(template: str, env: Mapping[str, str], *, where: str = "", path: str | None = None) -> str | None:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:?message}`` and ``$$`` (a literal ``$``) from ``env``.

    Returns ``None`` when a plain variable is unset (the header is then omitted). ``${VAR:?message}`` with VAR unset
    raises ConfigError with the message wherever it stands (an unset plain variable before it does not hide it).
    Values are inserted literally: a ``$`` inside a value is never expanded again.
    A result containing CR or LF raises ConfigError (it would inject headers).
    """
    unset: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group("dollar"):
            return "$"
        name = match.group("braced") or match.group("bare")
        value = env.get(name)
        if value is None:
            message = match.group("message")
            if message is not None:
                raise ConfigError(
                    f"required environment variable {name} is not set: {message or 'set it'}", path=path, key=where
                )
            unset.append(name)
            return ""
        return value

    result = _VAR.sub(substitute, template)
    if unset:
        return None
    if "\r" in result or "\n" in result:
        raise ConfigError("header value contains a line break (CR or LF); refusing to send it", path=path, key=where)
    return result


# --------------------------------------------------------------------------------------------------------------
# The resolved model of a config
# --------------------------------------------------------------------------------------------------------------


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


@dataclass(frozen=True)
class ProviderSettings:
    """One provider, with the preset filled in under what the file says. ``origins`` maps each field (and each
    ``headers.<name>`` and ``models.<id>``) to where its value came from: ``preset``, ``file`` or ``default``."""

    id: str
    compatibility: str
    base_url: str
    enabled: bool = True
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    # header values may be literal secrets in the file: repr shows none of them
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    models: tuple[ModelSpec, ...] = ()
    default_model: str | None = None
    input_price_per_1m_tokens: float | None = None
    output_price_per_1m_tokens: float | None = None
    cache_read_price_per_1m_tokens: float | None = None
    cache_write_price_per_1m_tokens: float | None = None
    #: Anthropic's 1-hour cache writes (``Usage.cache_write_1h_tokens``); unset, they cost the 5-minute write price
    cache_write_1h_price_per_1m_tokens: float | None = None
    stream_usage: bool = True
    local: bool = False
    requires_key: bool = False
    anthropic_version: str = DEFAULT_ANTHROPIC_VERSION
    #: the openai-compatible request field for the output limit; None: ``max_completion_tokens`` on OpenAI's own host
    max_tokens_field: str | None = None
    max_retries: int = 2
    max_retry_wait: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    stream_idle_timeout: float = 300.0
    #: the most one stream event (all its lines) may hold, and the most a plain response body may be: a hostile
    #: or broken server cannot make hamr hold more
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    allow_insecure_http: bool = False
    source: str | None = None
    origins: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: the file's table for this provider (``providers.<id>``, or ``provider`` in a legacy file), for error key paths
    table: str | None = field(default=None, repr=False, compare=False)

    def key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The API key: from ``api_key_env`` when that variable is set, else ``api_key`` from the file."""
        env = os.environ if env is None else env
        if self.api_key_env and env.get(self.api_key_env):
            return env[self.api_key_env]
        return self.api_key or None

    def resolve_headers(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Configured headers with variables expanded; a header whose variable is unset is left out."""
        env = os.environ if env is None else env
        out: dict[str, str] = {}
        for name, template in self.headers.items():
            value = interpolate(template, env, where=self._key_path(f"headers.{name}"), path=self.source)
            if value is not None:
                out[name] = value
        return out

    def secret_values(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Values that must never be shown: the key and every environment value a header interpolates."""
        env = os.environ if env is None else env
        values = [v for v in (self.key(env),) if v]
        for template in self.headers.values():
            for match in _VAR.finditer(template):
                name = match.group("braced") or match.group("bare")
                if name and env.get(name):
                    values.append(env[name])
        return values

    def request_headers(
        self,
        auth: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        *,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """JSON content type, the ``auth`` (credential) headers, the ``extra`` protocol headers, then the configured
        headers (which may override them all).

        Raises ConfigError when a required key is missing, or when a credential (a key, an interpolated header value
        or a literal credential header) would go over plain http:// to a host that is not loopback without
        ``allow_insecure_http = true``.
        """
        env = os.environ if env is None else env
        if self.requires_key and not any(auth.values()):
            raise self._missing_key()
        custom = self.resolve_headers(env)
        has_secret = (
            any(auth.values())
            or bool(self.secret_values(env))
            or any(name.lower() in _CREDENTIAL_HEADERS for name in custom)
        )
        if has_secret and self._plain_http_refused:
            raise self._insecure()
        headers = {"content-type": "application/json"}
        headers.update({k: v for k, v in auth.items() if v})
        headers.update(extra or {})
        lowered = {k.lower() for k in custom}
        headers = {k: v for k, v in headers.items() if k.lower() not in lowered}
        headers.update(custom)
        return headers

    def problems(self, env: Mapping[str, str] | None = None) -> list[ConfigError]:
        """Every reason a request would be refused before anything is sent, as the ConfigError it would raise: a
        missing key, a required header variable that is unset, a header that would carry a line break, and
        credentials bound for plain http:// to a host that is not loopback. The last is reported even while the
        key (or a required variable) is still unset: setting it would only trade one refusal for the other."""
        env = os.environ if env is None else env
        found: list[ConfigError] = []
        if self.requires_key and not self.key(env):
            found.append(self._missing_key())
        for name, template in self.headers.items():
            try:
                interpolate(template, env, where=self._key_path(f"headers.{name}"), path=self.source)
            except ConfigError as exc:
                found.append(exc)
        refusal = self.plain_http_refusal(env)
        return [*found, refusal] if refusal else found

    def plain_http_refusal(self, env: Mapping[str, str] | None = None) -> ConfigError | None:
        """The refusal a request meets, now or once its key and required variables are set, for sending credentials
        over plain http:// to a host that is not loopback without ``allow_insecure_http``; None when it is fine."""
        if not self._plain_http_refused:
            return None
        env = os.environ if env is None else env
        credentials = self.requires_key or bool(self.key(env)) or bool(self.secret_values(env))
        for name, template in self.headers.items():
            try:
                value = interpolate(template, env)
            except ConfigError:
                credentials = True  # the variable it requires will carry a value from the environment
                continue
            if value is not None and name.lower() in _CREDENTIAL_HEADERS:
                credentials = True
        return self._insecure() if credentials else None

    def _key_path(self, name: str) -> str:
        return f"{self.table or f'providers.{self.id}'}.{name}"

    def _missing_key(self) -> ConfigError:
        """The error for a required key that is not set, naming where the requirement comes from: the preset
        (nothing in the file to point at) or the file's key."""
        if self.api_key_env is None:
            return ConfigError(
                f"provider {self.id!r} needs an API key: add api_key_env (or api_key) to its table",
                path=self.source,
                key=self._key_path("requires_key"),
            )
        message = f"provider {self.id!r} needs an API key: set the environment variable {self.api_key_env}"
        if self.origins.get("api_key_env", "file") == "preset":
            return ConfigError(
                f"{message} (named by the {self.id} preset; api_key_env under [providers.{self.id}] changes it)"
            )
        return ConfigError(message, path=self.source, key=self._key_path("api_key_env"))

    @property
    def _plain_http_refused(self) -> bool:
        insecure = urlsplit(self.base_url).scheme == "http" and not self.is_loopback
        return insecure and not self.allow_insecure_http

    def _insecure(self) -> ConfigError:
        return ConfigError(
            f"refusing to send credentials for {self.id!r} over plain http:// to {self.base_url}: use "
            f"https://, or set allow_insecure_http = true for this provider if the network is trusted",
            path=self.source,
            key=self._key_path("base_url"),
        )

    def model_spec(self, model: str | None) -> ModelSpec | None:
        return next((m for m in self.models if m.id == model), None)

    @property
    def is_loopback(self) -> bool:
        return is_loopback_url(self.base_url)


@dataclass(frozen=True)
class Active:
    provider: str
    model: str | None


@dataclass(frozen=True)
class Config:
    """A loaded config. ``path`` is the file switching writes to (it may not exist yet)."""

    active: Active
    providers: dict[str, ProviderSettings]
    path: Path | None = None
    legacy: bool = False

    def provider(self, provider_id: str | None = None) -> ProviderSettings:
        pid = provider_id or self.active.provider
        try:
            return self.providers[pid]
        except KeyError:
            if pid in PRESETS:  # a preset without a base_url (custom) exists only once the file gives it one
                raise ConfigError(_needs_a_table(pid), path=str(self.path) if self.path else None) from None
            raise ConfigError(f"unknown provider {pid!r}{_did_you_mean(pid, self.providers)}") from None


def _needs_a_table(pid: str) -> str:
    """What to add to the file to use the preset ``pid``, which has no base_url of its own."""
    return (
        f'provider {pid!r} needs a base_url: add [providers.{pid}] with base_url = "..." (your server\'s URL, '
        f'e.g. "http://127.0.0.1:8080/v1") to the config file'
    )


@functools.lru_cache(maxsize=64)  # asked before every request; a pure function of the URL
def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    import ipaddress  # here, not at the top: most URLs never get this far, and `import hamr` stays lighter

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------

_PROVIDER_KEYS = {
    "enabled": bool,
    "base_url": str,
    "api_key_env": str,
    "api_key": str,
    "compatibility": str,
    "headers": dict,
    "models": list,
    "default_model": str,
    "input_price_per_1m_tokens": float,
    "output_price_per_1m_tokens": float,
    "cache_read_price_per_1m_tokens": float,
    "cache_write_price_per_1m_tokens": float,
    "cache_write_1h_price_per_1m_tokens": float,
    "stream_usage": bool,
    "local": bool,
    "requires_key": bool,
    "anthropic_version": str,
    "max_tokens_field": str,
    "max_retries": int,
    "max_retry_wait": float,
    "connect_timeout": float,
    "read_timeout": float,
    "stream_idle_timeout": float,
    "max_event_bytes": int,
    "max_response_bytes": int,
    "allow_insecure_http": bool,
}
_MODEL_KEYS = {
    "id": str,
    "display_name": str,
    "context_window": int,
    "supports_thinking": bool,
    "input_price_per_1m_tokens": float,
    "output_price_per_1m_tokens": float,
    "cache_read_price_per_1m_tokens": float,
    "max_output_tokens": int,
}
_LEGACY_EXTRA = {"name": str, "type": str, "model": str}
_TOP_KEYS = ("active", "providers", "provider")
_ACTIVE_KEYS = {"provider": str, "model": str}
_LEGACY_TYPES = {
    "openai": OPENAI,
    "openai-compatible": OPENAI,
    "anthropic": "anthropic-compatible",
    "anthropic-compatible": "anthropic-compatible",
    "openai-responses": "openai-responses",
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _did_you_mean(word: str, options: Any) -> str:
    import difflib  # only a config mistake needs it: kept out of `import hamr`

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _type_name(t: type) -> str:
    return {
        bool: "true/false",
        str: "a string",
        int: "a whole number",
        float: "a number",
        dict: "a table",
        list: "an array of tables",
    }[t]


def _check_table(table: Mapping[str, Any], schema: Mapping[str, type], where: str, path: str | None) -> dict[str, Any]:
    """Unknown keys and wrong types become ConfigErrors; ints are accepted where numbers are expected."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        kp = f"{where}.{key}" if where else key
        expected = schema.get(key)
        if expected is None:
            raise ConfigError(f"unknown key {key!r}{_did_you_mean(key, schema)}", path=path, key=kp)
        if expected is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"must be a number, got {value!r}", path=path, key=kp)
            if value < 0 or value != value:
                raise ConfigError(f"must not be negative, got {value!r}", path=path, key=kp)
            value = float(value)
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"must be a whole number >= 0, got {value!r}", path=path, key=kp)
        elif not isinstance(value, expected):
            # a misplaced key is still a key: name its type, never echo it
            shown = f"a TOML {type(value).__name__}" if key == "api_key" else repr(value)
            raise ConfigError(f"must be {_type_name(expected)}, got {shown}", path=path, key=kp)
        out[key] = value
    return out


def _check_base_url(url: str, where: str, path: str | None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url must be an http:// or https:// URL, got {url!r}", path=path, key=where)
    return url.rstrip("/")


def _header_aliases(preset: Preset, name: str) -> set[str]:
    """The other names (lower case) under which ``preset``'s provider reads the header ``name``."""
    pairs = {(a.lower(), h.lower()) for a, h in preset.header_aliases.items()}
    return {h for a, h in pairs if a == name.lower()} | {a for a, h in pairs if h == name.lower()}


def _build_provider(pid: str, raw: Mapping[str, Any], path: str | None, where: str) -> ProviderSettings:
    if not _ID.fullmatch(pid):
        raise ConfigError(f"provider id {pid!r} may use only letters, digits, '_', '-' and '.'", path=path, key=where)
    data = _check_table(raw, _PROVIDER_KEYS, where, path)
    preset: Preset = PRESETS.get(pid) or PRESETS["custom"]
    origins: dict[str, str] = {}

    def pick(name: str, preset_value: Any, default: Any = None) -> Any:
        if name in data:
            origins[name] = "file"
            return data[name]
        if preset_value is not None:
            origins[name] = "preset"
            return preset_value
        origins[name] = "default"
        return default

    compatibility = pick("compatibility", preset.compatibility)
    if compatibility not in COMPATIBILITIES:
        raise ConfigError(
            f"unknown compatibility {compatibility!r}; use one of {', '.join(COMPATIBILITIES)}"
            + _did_you_mean(compatibility, COMPATIBILITIES),
            path=path,
            key=f"{where}.compatibility",
        )
    base_url = pick("base_url", preset.base_url)
    if base_url is None:
        if where == "provider":
            reason = (
                "a legacy [provider] without a name is the custom provider and needs a base_url; for a preset's "
                'own server add its name (e.g. name = "anthropic")'
            )
        elif pid in PRESETS:
            reason = f"provider {pid!r} needs a base_url (the {pid} preset has none: it is your server's URL)"
        else:
            reason = f"provider {pid!r} needs a base_url (it is not a built-in preset{_did_you_mean(pid, PRESETS)})"
        raise ConfigError(reason, path=path, key=f"{where}.base_url")
    base_url = _check_base_url(base_url, f"{where}.base_url", path)

    headers = dict(preset.headers)
    origins["headers"] = "preset" if headers else "default"
    origins.update({f"headers.{name}": "preset" for name in headers})
    for name, value in data.get("headers", {}).items():
        hk = f"{where}.headers.{name}"
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError(f"{name!r} is not a valid HTTP header name", path=path, key=hk)
        if not isinstance(value, str):
            raise ConfigError(f"header value must be a string, got a TOML {type(value).__name__}", path=path, key=hk)
        if "\r" in value or "\n" in value:
            raise ConfigError("header value contains a line break (CR or LF)", path=path, key=hk)
        same = {name.lower(), *_header_aliases(preset, name)}
        for replaced in [k for k in headers if k.lower() in same]:
            del headers[replaced]
            origins.pop(f"headers.{replaced}", None)
        headers[name] = value
        origins["headers"] = origins[f"headers.{name}"] = "file"

    models = list(preset.models)
    origins.update({f"models.{m.id}": "preset" for m in models})
    if "models" in data:
        origins["models"] = "file"
        for i, entry in enumerate(data["models"]):
            mk = f"{where}.models[{i}]"
            if not isinstance(entry, dict):
                raise ConfigError("each [[models]] entry must be a table", path=path, key=mk)
            m = _check_table(entry, _MODEL_KEYS, mk, path)
            if "id" not in m:
                raise ConfigError("model entry needs an id", path=path, key=f"{mk}.id")
            # an entry for a preset model overrides only the fields it names (context_window etc. stay)
            base = next((x for x in models if x.id == m["id"]), None)
            spec = dataclasses.replace(base, **m) if base else ModelSpec(**m)
            models = [x for x in models if x.id != spec.id] + [spec]
            origins[f"models.{spec.id}"] = "file"

    key_env = pick("api_key_env", preset.api_key_env)
    if key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
        raise ConfigError(
            f"api_key_env must be the NAME of an environment variable, got {key_env!r}",
            path=path,
            key=f"{where}.api_key_env",
        )
    if data.get("max_tokens_field", MAX_TOKENS_FIELDS[0]) not in MAX_TOKENS_FIELDS:
        raise ConfigError(
            f"max_tokens_field must be 'max_tokens' or 'max_completion_tokens', got {data['max_tokens_field']!r}",
            path=path,
            key=f"{where}.max_tokens_field",
        )
    requires_key = pick("requires_key", preset.requires_key)
    if "api_key_env" in data and "requires_key" not in data:
        # a key variable named in the file is meant to be used: its absence is an error, not an anonymous request
        requires_key, origins["requires_key"] = True, "file"
    settings = ProviderSettings(
        id=pid,
        compatibility=compatibility,
        base_url=base_url,
        enabled=pick("enabled", None, True),
        api_key_env=key_env,
        api_key=data.get("api_key"),
        headers=headers,
        models=tuple(models),
        default_model=pick("default_model", preset.default_model),
        input_price_per_1m_tokens=pick("input_price_per_1m_tokens", preset.input_price_per_1m_tokens),
        output_price_per_1m_tokens=pick("output_price_per_1m_tokens", preset.output_price_per_1m_tokens),
        cache_read_price_per_1m_tokens=pick("cache_read_price_per_1m_tokens", preset.cache_read_price_per_1m_tokens),
        cache_write_price_per_1m_tokens=pick("cache_write_price_per_1m_tokens", preset.cache_write_price_per_1m_tokens),
        cache_write_1h_price_per_1m_tokens=pick(
            "cache_write_1h_price_per_1m_tokens", preset.cache_write_1h_price_per_1m_tokens
        ),
        stream_usage=pick("stream_usage", preset.stream_usage, True),
        local=pick("local", preset.local or None, False),
        requires_key=requires_key,
        anthropic_version=pick("anthropic_version", None, DEFAULT_ANTHROPIC_VERSION),
        max_tokens_field=pick("max_tokens_field", None),
        max_retries=pick("max_retries", None, 2),
        max_retry_wait=pick("max_retry_wait", None, 60.0),
        connect_timeout=pick("connect_timeout", None, 10.0),
        read_timeout=pick("read_timeout", None, 600.0),
        stream_idle_timeout=pick("stream_idle_timeout", None, 300.0),
        max_event_bytes=pick("max_event_bytes", None, DEFAULT_MAX_EVENT_BYTES),
        max_response_bytes=pick("max_response_bytes", None, DEFAULT_MAX_RESPONSE_BYTES),
        allow_insecure_http=pick("allow_insecure_http", None, False),
        source=path,
        origins=origins,
        table=where,
    )
    if "api_key" in data:
        origins["api_key"] = "file"
    return settings


def config_path(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The first that is given wins: the explicit path (``--config``), then $HAMR_CONFIG, then
    $XDG_CONFIG_HOME/hamr/config.toml, then ~/.config/hamr/config.toml. As the XDG spec says, an empty or relative
    $XDG_CONFIG_HOME is ignored."""
    env = os.environ if env is None else env
    if path is not None:
        return Path(path)
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    xdg = env.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "hamr" / "config.toml"


def _read_document(file: Path) -> dict[str, Any]:
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text ({exc.reason})", path=str(file)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", path=str(file)) from None
    import tomllib  # here, not at the top: with datetime, a sixth of `import hamr`, needed only to read a file

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(file)) from None


def parse_config(doc: Mapping[str, Any], path: str | None = None) -> Config:
    """Build a Config from an already-parsed TOML document (presets fill what it leaves out)."""
    for key in doc:
        if key not in _TOP_KEYS:
            raise ConfigError(f"unknown top-level key {key!r}{_did_you_mean(key, _TOP_KEYS)}", path=path, key=key)
    providers: dict[str, ProviderSettings] = {}
    file_ids: set[str] = set()
    raw_providers = doc.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise ConfigError("[providers] must be a table of provider tables", path=path, key="providers")
    for pid, raw in raw_providers.items():
        if not isinstance(raw, dict):
            raise ConfigError("must be a table", path=path, key=f"providers.{pid}")
        providers[pid] = _build_provider(pid, raw, path, f"providers.{pid}")
        file_ids.add(pid)

    active_provider: str | None = None
    active_model: str | None = None
    legacy = "provider" in doc
    if legacy:
        raw = doc["provider"]
        if not isinstance(raw, dict):
            raise ConfigError("legacy [provider] must be a table", path=path, key="provider")
        extra = _check_table({k: v for k, v in raw.items() if k in _LEGACY_EXTRA}, _LEGACY_EXTRA, "provider", path)
        kind = extra.get("type")
        if kind is not None and kind not in _LEGACY_TYPES:
            raise ConfigError(
                f"unknown provider type {kind!r}{_did_you_mean(kind, _LEGACY_TYPES)}", path=path, key="provider.type"
            )
        # no name is the custom provider whatever the type: a legacy file without a name points at its own server
        # (often a local proxy), never at a preset's hosted API with the preset's key and prices
        pid = extra.get("name") or "custom"
        rest = {k: v for k, v in raw.items() if k not in _LEGACY_EXTRA}
        if kind is not None:
            rest.setdefault("compatibility", _LEGACY_TYPES[kind])
        if pid in providers:
            raise ConfigError(
                f"legacy [provider] {pid!r} is also defined under [providers.{pid}]; keep one",
                path=path,
                key="provider",
            )
        providers[pid] = _build_provider(pid, rest, path, "provider")
        file_ids.add(pid)
        active_provider, active_model = pid, extra.get("model")

    for pid in PRESETS:
        if pid not in providers and PRESETS[pid].base_url is not None:
            providers[pid] = _build_provider(pid, {}, path, f"providers.{pid}")

    raw_active = doc.get("active", {})
    if not isinstance(raw_active, dict):
        raise ConfigError("[active] must be a table", path=path, key="active")
    active = _check_table(raw_active, _ACTIVE_KEYS, "active", path)
    if "provider" in active:
        if active["provider"] != active_provider:
            active_model = None
        active_provider = active["provider"]
    active_model = active.get("model", active_model)
    if active_provider is None:
        active_provider = "relay"
    if active_provider not in providers:
        if active_provider in PRESETS:
            raise ConfigError(f"active {_needs_a_table(active_provider)}", path=path, key="active.provider")
        hint = _did_you_mean(active_provider, providers)
        raise ConfigError(
            f"active provider {active_provider!r} is not configured{hint}", path=path, key="active.provider"
        )
    chosen = providers[active_provider]
    if not chosen.enabled:
        raise ConfigError(
            f"active provider {active_provider!r} is disabled (enabled = false)", path=path, key="active.provider"
        )
    if active_model is None:
        active_model = chosen.default_model or (chosen.models[0].id if chosen.models else None)
    return Config(Active(active_provider, active_model), providers, Path(path) if path else None, legacy)


def secrets_in_file(config: Config) -> list[str]:
    """The key paths of the secrets the config file itself holds: an ``api_key``, or a credential header (Authorization,
    x-api-key, ...) whose value is written out rather than taken from a variable."""
    found = []
    for p in config.providers.values():
        if p.api_key and p.origins.get("api_key") == "file":
            found.append(p._key_path("api_key"))
        for name, template in p.headers.items():
            literal = not any(m.group("braced") or m.group("bare") for m in _VAR.finditer(template))
            if literal and name.lower() in _CREDENTIAL_HEADERS and p.origins.get(f"headers.{name}") == "file":
                found.append(p._key_path(f"headers.{name}"))
    return found


def permission_warning(config: Config) -> str | None:
    """What is wrong when the config file holds a secret and other users may read or change it (any group or other
    permission bit, the rule ssh applies to a private key), with the command that fixes it; None when all is well.
    hamr never changes a file's mode itself: a file shared with a group on purpose stays shared."""
    if config.path is None or os.name == "nt":
        return None
    try:
        mode = config.path.stat().st_mode & 0o777
    except OSError:
        return None
    secrets = secrets_in_file(config) if mode & 0o077 else []
    if not secrets:
        return None
    import shlex  # only a warning needs it: kept out of `import hamr`

    what = "a secret" if len(secrets) == 1 else "secrets"
    access = "read" if mode & 0o044 else "change"
    return (
        f"{config.path} holds {what} ({', '.join(secrets)}) and other users can {access} it (mode {mode:04o}); "
        f"make it private: chmod 600 {shlex.quote(str(config.path))}"
    )


def load_config(path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Load the config. An explicit path (or $HAMR_CONFIG) must exist; a missing default file means presets only."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    explicit = path is not None or bool(env.get(ENV_CONFIG))
    if not file.exists():
        if explicit:
            raise ConfigError("config file not found", path=str(file))
        presets_only = parse_config({})
        return Config(presets_only.active, presets_only.providers, file)
    return parse_config(_read_document(file), str(file))


# --------------------------------------------------------------------------------------------------------------
# Writing: switching the active provider/model
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    """An exclusive lock on ``<config>.lock`` beside the file (beside a symlink's target), so concurrent writers
    never interleave; the lock file is removed again when the lock is released.

    Removing it keeps mutual exclusion only because of two rules. The holder removes the file *before* it lets go
    of the lock. And a writer that got the lock checks that the path still names the file it locked: if not, it
    waited on a file its predecessor removed, and a newcomer may already hold a fresh file's lock, so it starts
    over. Without the check, both would hold "the" lock at once."""
    file = Path(os.path.realpath(file))
    lock_path = file.with_name(file.name + ".lock")
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: atomic rename still protects readers
        yield
        return
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _names(lock_path, fd):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)  # releases the lock, after the file is gone


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` is (still) the file open as ``fd``."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def atomic_write(file: Path, text: str) -> None:
    """Write via a temp file in the same directory, fsync, rename; keep the file's mode (new files: 0600).
    A symlinked config is written through the link, so the link survives."""
    file = Path(os.path.realpath(file))
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = file.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    import tempfile  # only a config write needs it: kept out of `import hamr`

    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(file.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); platforms that cannot open a directory skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on directories
            os.fsync(fd)
    finally:
        os.close(fd)


def use(
    provider: str,
    model: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Make ``provider`` (and ``model``) active and persist it to the config file's ``[active]`` table.

    Only ``[active]`` changes: comments, key order and every other table stay byte-for-byte. Keys that come from
    the environment are never written. Returns the config as loaded after the write.
    """
    import tomlkit  # only writers pay for tomlkit

    env = os.environ if env is None else env
    file = config_path(path, env)
    if not file.exists():
        # nothing to lock yet: refuse an unusable provider before creating the directory or the lock file
        parse_config({}, str(file)).provider(provider)
    with _locked(file):
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        current = parse_config(_read_document(file), str(file)) if text else parse_config({}, str(file))
        target = current.provider(provider)
        if not target.enabled:
            raise ConfigError(
                f"provider {provider!r} is disabled (enabled = false)",
                path=str(file),
                key=f"providers.{provider}.enabled",
            )
        doc = tomlkit.parse(text)
        if "active" not in doc:
            # appended, not inserted at the top: every byte already in the file stays where it is
            doc.add("active", tomlkit.table())
        active = doc["active"]
        assert isinstance(active, dict)
        active["provider"] = provider
        if model is not None:
            active["model"] = model
        elif "model" in active:
            del active["model"]
        new_text = tomlkit.dumps(doc)
        import tomllib

        result = parse_config(tomllib.loads(new_text), str(file))
        atomic_write(file, new_text)
    return result
