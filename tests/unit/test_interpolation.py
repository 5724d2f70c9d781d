"""Header interpolation: $VAR, ${VAR}, ${VAR:?message}, $$, unset variables omit the header."""

from __future__ import annotations

import pytest

from hamr import ConfigError, interpolate

ENV = {"TEAM": "core", "TOKEN": "abc", "EMPTY": "", "DOLLAR": "$TEAM"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain", "plain"),
        ("$TEAM", "core"),
        ("${TEAM}-x", "core-x"),
        ("Bearer $TOKEN", "Bearer abc"),
        ("$TEAM$TOKEN", "coreabc"),
        ("cost: $$5", "cost: $5"),
        ("ends with $", "ends with $"),
        ("$1 is not a name", "$1 is not a name"),
        ("${unclosed", "${unclosed"),
        ("$EMPTY", ""),
        ("$DOLLAR", "$TEAM"),  # a value is never expanded again
    ],
)
def test_expands(template: str, expected: str) -> None:
    assert interpolate(template, ENV) == expected


@pytest.mark.parametrize("template", ["$MISSING", "x-${MISSING}", "$TEAM and $MISSING"])
def test_unset_variable_omits_the_header(template: str) -> None:
    assert interpolate(template, ENV) is None


def test_required_variable_raises_with_its_message() -> None:
    with pytest.raises(ConfigError, match="MISSING is not set: ask ops for the token"):
        interpolate("${MISSING:?ask ops for the token}", ENV, where="providers.x.headers.X-Token")
    assert interpolate("${TEAM:?never shown}", ENV) == "core"


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb"])
def test_line_breaks_from_the_environment_are_rejected(value: str) -> None:
    with pytest.raises(ConfigError, match="line break"):
        interpolate("$V", {"V": value})
