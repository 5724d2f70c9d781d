"""Header interpolation against a reference model: for any template and environment, `hamr.interpolate` gives what
a plain left-to-right reading of the documented rules gives ($VAR, ${VAR}, ${VAR:?message}, $$, a lone $ stays)."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hamr import ConfigError, interpolate
from hamr._config import parse_config

NAMES = ["A", "B", "TEAM", "_X", "V1", "Ab_9"]
NAME_START = set(string.ascii_letters + "_")
NAME_CHARS = NAME_START | set(string.digits)


class Required(Exception):
    """The reference's way of saying: a ${VAR:?message} variable is unset."""


def reference(template: str, env: dict[str, str]) -> str | None:
    """The documented rules, read character by character (deliberately not a regex, unlike hamr).

    Any unset ``${VAR:?message}`` raises, wherever it stands; otherwise any unset plain variable omits the header.
    """
    out: list[str] = []
    unset = False
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = template[i + 1] if i + 1 < n else ""
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        name, message, end = _parse_reference(template, i)
        if name is None:
            out.append("$")
            i += 1
            continue
        if name in env:
            out.append(env[name])
        elif message is not None:
            raise Required(name)
        else:
            unset = True
        i = end
    return None if unset else "".join(out)


def _parse_reference(template: str, dollar: int) -> tuple[str | None, str | None, int]:
    """(name, required-message or None, index after the reference) for the reference starting at ``dollar``."""
    i = dollar + 1
    braced = i < len(template) and template[i] == "{"
    if braced:
        i += 1
    if i >= len(template) or template[i] not in NAME_START:
        return None, None, dollar + 1
    start = i
    while i < len(template) and template[i] in NAME_CHARS:
        i += 1
    name = template[start:i]
    if not braced:
        return name, None, i
    if template.startswith("}", i):
        return name, None, i + 1
    if template.startswith(":?", i):
        close = template.find("}", i + 2)
        if close >= 0:
            return name, template[i + 2 : close], close + 1
    return None, None, dollar + 1


names = st.sampled_from(NAMES)
literal = st.text(
    alphabet=st.sampled_from([*"abcXYZ019_-:?{} ", "é", "ß", "✓", "🎉", "日"]),
    max_size=6,
)
piece = st.one_of(
    literal,
    names.map(lambda n: f"${n}"),
    names.map(lambda n: f"${{{n}}}"),
    st.tuples(names, st.text(alphabet="abc ?:-é", max_size=5)).map(lambda t: f"${{{t[0]}:?{t[1]}}}"),
    st.just("$$"),
    st.just("$"),
    st.just("${"),
)
templates = st.lists(piece, max_size=8).map("".join)
# values may themselves look like templates: they must come out literally, never expanded again
values = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=8),
    templates,
)
environments = st.dictionaries(names, values, max_size=len(NAMES))


@given(templates, environments)
@example("$A${A:?say why}", {})  # found by this test: an unset plain variable used to hide the required one
def test_interpolation_equals_the_reference_model(template: str, env: dict[str, str]) -> None:
    try:
        expected = reference(template, env)
    except Required as missing:
        with pytest.raises(ConfigError, match=f"{missing} is not set"):
            interpolate(template, env)
        return
    assert interpolate(template, env) == expected


@given(templates, environments, names)
def test_an_unset_plain_variable_omits_the_header(template: str, env: dict[str, str], name: str) -> None:
    env = {k: v for k, v in env.items() if k != name}
    while ":?" in template:  # no required references: only the plain one decides
        template = template.replace(":?", "")
    template += f" ${{{name}}}"  # the space: "$" + "${" would be "$$" + "{"
    assert interpolate(template, env) is None


@given(templates, environments, names)
def test_an_unset_required_variable_fails_wherever_it_stands(template: str, env: dict[str, str], name: str) -> None:
    env = {k: v for k, v in env.items() if k != name}
    while ":?" in template:  # ours is the only required reference
        template = template.replace(":?", "")
    with pytest.raises(ConfigError, match=f"{name} is not set"):
        interpolate(f"{template} ${{{name}:?say why}}{template}", env)  # the space: "$" + "${" would be "$$" + "{"


@given(st.lists(names, min_size=1, max_size=4), environments, st.sampled_from(["\r", "\n", "\r\n"]), st.data())
def test_values_with_line_breaks_are_rejected(
    used: list[str], env: dict[str, str], newline: str, data: st.DataObject
) -> None:
    env = {name: env.get(name, "v") for name in used}
    broken = data.draw(st.sampled_from(used))
    env[broken] = data.draw(st.text(max_size=3)) + newline + data.draw(st.text(max_size=3))
    with pytest.raises(ConfigError, match="line break"):
        interpolate("".join(f"${{{name}}}" for name in used), env)


@given(names, values)
def test_a_value_is_inserted_literally_never_expanded_again(name: str, value: str) -> None:
    env = {n: f"${{{n}}}$$" for n in NAMES} | {name: value}
    assert interpolate(f"<${{{name}}}>", env) == f"<{value}>"


@given(
    st.dictionaries(st.sampled_from(["X-Team", "X-Token", "X-Price", "X-Tenant"]), templates, max_size=4), environments
)
def test_resolved_headers_are_the_reference_values_with_unset_ones_left_out(
    headers: dict[str, str], env: dict[str, str]
) -> None:
    config = parse_config({"providers": {"work": {"base_url": "https://llm.example", "headers": headers}}})
    settings = config.providers["work"]
    try:
        expected = {name: reference(t, env) for name, t in headers.items()}
    except Required:
        with pytest.raises(ConfigError, match="is not set"):
            settings.resolve_headers(env)
        return
    assert settings.resolve_headers(env) == {name: value for name, value in expected.items() if value is not None}
