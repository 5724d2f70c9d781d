"""Spend over generated usage sequences: exact, additive and monotone; and the display rule (see hamr._pricing):
``$X.XXX`` half-up, a non-zero amount that would show as $0.000 shows ``<$0.001``, unknown prices show ``n/a``,
nothing counted yet shows ``no requests yet``; every string is one the README documents."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact

from hypothesis import example, given
from hypothesis import strategies as st

from hamr import Spend, Usage, UsageIteration
from hamr._pricing import Price

TENTH_OF_A_CENT = Decimal("0.001")
# the expected sums are exact too: the default 28-digit context rounds $10 + 2.2e-16 (found by the dev profile)
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """Consistent counts: the cached parts are parts of the prompt. Sometimes a provider-reported cost."""
    cache_read = draw(st.integers(0, 2_000_000))
    cache_write = draw(st.integers(0, 2_000_000))
    uncached = draw(st.integers(0, 5_000_000))
    cost = draw(st.none() | st.floats(0, 50, allow_nan=False, allow_infinity=False))
    return Usage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=draw(st.integers(0, 1_000_000)),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=draw(st.integers(0, 1000)),
        cost=cost,
    )


@st.composite
def billed_usages(draw: st.DrawFn) -> Usage:
    """A usage, sometimes with Anthropic's ``iterations``: steps of the request's model, and advisor steps of a
    model that has no price (nothing is passed as ``price_of``)."""
    usage = draw(usages())
    kinds = st.sampled_from([("message", None), ("compaction", None), ("advisor_message", "claude-opus-5")])
    steps = draw(st.lists(st.tuples(kinds, usages()), max_size=3))
    return replace(usage, iterations=tuple(UsageIteration(kind, model, step) for (kind, model), step in steps))


usd_per_million = st.decimals(min_value=0, max_value=100, places=4)
prices = st.builds(
    Price,
    input=usd_per_million,
    output=usd_per_million,
    cache_read=st.none() | usd_per_million,
    cache_write=st.none() | usd_per_million,
)
# one response: its usage (None: the provider sent none) and the price hamr knows for it (None: unknown)
responses = st.tuples(st.none() | billed_usages(), st.none() | prices)


def spend_of(sequence: list[tuple[Usage | None, Price | None]]) -> Spend:
    spend = Spend()
    for usage, price in sequence:
        spend.add(usage, price)
    return spend


def shown(spend: Spend) -> Decimal:
    """The amount the display claims; ``<$0.001`` counts as just above zero."""
    text = Spend.format_usd(spend.usd)
    return Decimal("0.0005") if text == "<$0.001" else Decimal(text.removeprefix("$"))


@given(st.lists(responses, max_size=12), st.lists(responses, max_size=12))
@example(  # the default 28-digit context rounded this sum
    [(Usage(0, 0, cost=1.0), None)], [(Usage(0, 0, cost=2.220446049250313e-16), None), (Usage(0, 0, cost=10.0), None)]
)
def test_spend_is_additive_exactly(first: list, second: list) -> None:
    a, b, both = spend_of(first), spend_of(second), spend_of(first + second)
    assert both.usd == EXACT.add(a.usd, b.usd)
    assert (both.requests, both.unpriced) == (a.requests + b.requests, a.unpriced + b.unpriced)
    assert both.partly_priced == a.partly_priced + b.partly_priced


@given(st.lists(responses, max_size=20))
def test_spend_and_its_display_never_go_down(sequence: list) -> None:
    spend = Spend()
    total = Decimal(0)
    for usage, price in sequence:
        before, before_shown = spend.usd, shown(spend)
        cost = spend.add(usage, price)
        assert spend.usd >= before and shown(spend) >= before_shown
        if cost is not None:
            total = EXACT.add(total, cost)
    assert spend.usd == total


@given(usages(), prices)
def test_a_provider_reported_cost_wins_and_a_computed_one_follows_the_price(usage: Usage, price: Price) -> None:
    cost = Spend().add(usage, price)
    if usage.cost is not None:
        assert cost == Decimal(str(usage.cost))
    else:
        uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
        read = price.input if price.cache_read is None else price.cache_read
        write = price.input if price.cache_write is None else price.cache_write
        per_million = uncached * price.input + usage.cache_read_tokens * read
        per_million += usage.cache_write_tokens * write + usage.output_tokens * price.output
        assert cost == per_million / 1_000_000


@given(st.decimals(min_value=0, max_value=10_000, places=9))
def test_display_never_shows_zero_for_a_non_zero_amount(amount: Decimal) -> None:
    text = Spend.format_usd(amount)
    if amount == 0:
        assert text == "$0.000"
    elif amount < Decimal("0.0005"):
        assert text == "<$0.001"
    else:
        value = Decimal(text.removeprefix("$"))
        assert value >= TENTH_OF_A_CENT
        assert value.as_tuple().exponent == -3
        assert abs(value - amount) <= Decimal("0.0005")


@given(st.lists(st.tuples(st.none() | usages(), st.none()), min_size=1, max_size=6))
def test_unpriced_responses_show_n_a_never_zero(sequence: list) -> None:
    sequence = [
        (usage if usage is None else Usage(usage.input_tokens, usage.output_tokens), price) for usage, price in sequence
    ]
    assert str(spend_of(sequence)) == "Spend: n/a (no price known for this model)"


@given(st.lists(responses, max_size=6))
def test_local_spend_is_always_local(sequence: list) -> None:
    spend = Spend(local=True)
    for usage, price in sequence:
        assert spend.add(usage, price) is None
    assert str(spend) == "Spend: local"


# every string README.md's Spend section lists, and nothing else
DOCUMENTED = re.compile(
    r"Spend: (local|no requests yet|n/a \(no price known for this model\)|n/a \(no usage reported\)"
    r"|(?P<amount><\$0\.001|\$\d+\.\d{3})"
    r"( \+ n/a \(((?P<k>\d+) of (?P<n>\d+) requests unpriced)?(; )?"
    r"((?P<p>\d+) of (?P<pn>\d+) requests priced in part: no price for (?P<models>[^)]+))?\))?)"
)


@given(st.booleans(), st.lists(responses, max_size=8))
def test_every_display_is_a_documented_string_and_zero_means_a_priced_zero(local: bool, sequence: list) -> None:
    spend = Spend(local=local)
    for usage, price in sequence:
        spend.add(usage, price)
    text = str(spend)
    match = DOCUMENTED.fullmatch(text)
    assert match, text
    assert (text == "Spend: local") == local
    assert (text == "Spend: no requests yet") == (not local and not sequence)
    if match["amount"] is not None:
        assert spend.requests > spend.unpriced  # an amount only when some request was priced
        assert (match["amount"] == "$0.000") == (spend.usd == 0)
    if match["k"] is not None:
        assert (int(match["k"]), int(match["n"])) == (spend.unpriced, spend.requests) and spend.unpriced > 0
    if match["p"] is not None:
        assert (int(match["p"]), int(match["pn"])) == (spend.partly_priced, spend.requests) and spend.partly_priced
        assert match["models"] == ", ".join(sorted(spend.unpriced_models))
    if match["amount"] is not None and match["k"] is None and match["p"] is None:
        assert spend.unpriced == spend.partly_priced == 0  # a bare amount is the whole bill
    if text == "Spend: n/a (no usage reported)":
        assert all(usage is None and price is not None for usage, price in sequence)
