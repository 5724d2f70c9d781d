"""Prices and session spend. Amounts are Decimal so adding many small costs is exact.

Display rule, every string ``str(spend)`` gives:

- ``Spend: local``: a local provider (nothing is billed), before and after any request;
- ``Spend: no requests yet``: nothing counted yet (not ``$0.000``, which would claim a price is known);
- ``Spend: $X.XXX``: rounded half-up to 3 decimals (a tenth of a cent); a non-zero amount that would round to
  $0.000 shows ``Spend: <$0.001``, so ``$0.000`` means a priced zero (e.g. a free model's reported cost of 0);
- ``Spend: $X.XXX + n/a (k of n requests unpriced)``: some requests could be priced, ``k`` could not;
- ``Spend: $X.XXX + n/a (k of n requests priced in part: no price for M)``: ``k`` requests billed steps of a model
  ``M`` hamr has no price for (Anthropic's advisor tool); only their other steps are in the amount (both notes, when
  both happened, are joined with ``; ``);
- ``Spend: n/a (no price known for this model)``: no request could be priced, at least one for want of a price;
- ``Spend: n/a (no usage reported)``: a price is known but no response reported its token usage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, Inexact

from ._config import ProviderSettings
from ._types import Usage

_MILLION = Decimal(1_000_000)
_DISPLAY = Decimal("0.001")
#: The default context keeps 28 digits, so $10 + a reported cost of 2e-16 would round. Sums and products of
#: finite decimals, and division by a million, are exact at unbounded precision (and Inexact traps if not).
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])


#: Anthropic bills a request it ran in the US only (``inference_geo: "us"``, ``usage.inference_geo == "us"``) at 1.1
#: times every token price: https://docs.aws.amazon.com/claude-platform/latest/userguide/data-residency.html ("US:
#: ... A 1.1x pricing multiplier applies") with platform.claude.com/docs/en/manage-claude/data-residency, read
#: 2026-12-02
US_INFERENCE = Decimal("1.1")


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens. Cache reads/writes fall back to the input price when not configured."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    #: Anthropic's 1-hour cache writes; falls back to the (5-minute) write price
    cache_write_1h: Decimal | None = None

    def cost(self, usage: Usage) -> Decimal:
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        write_1h = write if self.cache_write_1h is None else self.cache_write_1h
        x = _EXACT
        five_minute = usage.cache_write_tokens - usage.cache_write_1h_tokens
        writes = x.add(x.multiply(five_minute, write), x.multiply(usage.cache_write_1h_tokens, write_1h))
        total = x.add(
            x.add(x.multiply(usage.uncached_input_tokens, self.input), x.multiply(usage.cache_read_tokens, read)),
            x.add(writes, x.multiply(usage.output_tokens, self.output)),
        )
        if usage.inference_geo == "us":
            total = x.multiply(total, US_INFERENCE)
        return x.divide(total, _MILLION)


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


#: the kinds of ``usage.iterations`` the request's own model ran, billed at its price: Anthropic's compaction docs
#: ("Understanding usage") and advisor tool docs ("iterations with type: "message" are billed at the executor
#: model's rates"); any other kind that names a model (``advisor_message``) is billed at that model's price
OWN_STEPS = frozenset({"message", "compaction"})

#: the price of a model other than the request's, by name; None when hamr has none for it
PriceOf = Callable[[str], "Price | None"]


def price_for(settings: ProviderSettings, model: str | None, *, own: bool = False) -> Price | None:
    """The model's own price if configured, else the provider's; None when either side is unknown (with ``own``,
    None unless the model has a price of its own). A model with a price of its own reads its cache at its own cache
    price, or at its input price when it has none: the provider's cache price belongs to the provider's price, never
    to another model's."""
    spec = settings.model_spec(model)
    inp = spec.input_price_per_1m_tokens if spec and spec.input_price_per_1m_tokens is not None else None
    out = spec.output_price_per_1m_tokens if spec and spec.output_price_per_1m_tokens is not None else None
    if own and (inp is None or out is None):
        return None
    read = settings.cache_read_price_per_1m_tokens
    if spec and spec.cache_read_price_per_1m_tokens is not None:
        read = spec.cache_read_price_per_1m_tokens
    elif inp is not None:
        read = None
    inp = settings.input_price_per_1m_tokens if inp is None else inp
    out = settings.output_price_per_1m_tokens if out is None else out
    if inp is None or out is None:
        return None
    return Price(
        Decimal(str(inp)),
        Decimal(str(out)),
        _dec(read),
        _dec(settings.cache_write_price_per_1m_tokens),
        _dec(settings.cache_write_1h_price_per_1m_tokens),
    )


def prices_of_others(settings: ProviderSettings, model: str | None) -> PriceOf:
    """How a request on ``model`` prices a step another model ran (Anthropic's advisor): at that model's own
    price only, since the provider's price is the price of the provider's model; ``model`` itself at its price."""

    def price_of(name: str) -> Price | None:
        return price_for(settings, name, own=name != model)

    return price_of


def is_local(settings: ProviderSettings, model: str | None = None) -> bool:
    """Local providers bill nothing: the relay preset, ``local = true``, or a loopback server with no prices."""
    return settings.local or (settings.is_loopback and price_for(settings, model) is None)


class Spend:
    """What a client has spent this session. One client may serve many threads: ``add`` counts under a lock."""

    def __init__(self, *, local: bool = False) -> None:
        self._lock = threading.Lock()
        self.local = local
        self.usd = Decimal(0)
        self.requests = 0
        self.unpriced = 0
        #: unpriced responses that had a price but no usage
        self.without_usage = 0
        #: responses priced in part: some of their ``usage.iterations`` ran on a model without a price
        self.partly_priced = 0
        #: the models those parts ran on
        self.unpriced_models: set[str] = set()

    def add(self, usage: Usage | None, price: Price | None, price_of: PriceOf | None = None) -> Decimal | None:
        """Count one response at ``price`` (its model's), a step another model ran (``usage.iterations``) at
        ``price_of(that model)``; returns what was counted, or None when nothing could be priced. A provider-reported
        cost (``usage.cost``) wins over the computed one."""
        with self._lock:
            return self._add(usage, price, price_of)

    def _add(self, usage: Usage | None, price: Price | None, price_of: PriceOf | None) -> Decimal | None:
        self.requests += 1
        if self.local or usage is None:
            if not self.local:
                self.unpriced += 1
                if price is not None:
                    self.without_usage += 1
            return None
        missing: set[str] = set()
        if usage.cost is not None or usage.upstream_cost is not None:
            # a reported cost; on an OpenRouter BYOK request, its fee plus what the upstream provider bills
            cost: Decimal | None = _EXACT.add(Decimal(str(usage.cost or 0)), Decimal(str(usage.upstream_cost or 0)))
        elif usage.iterations:
            cost = _steps_cost(usage, price, price_of, missing)
        else:
            cost = None if price is None else price.cost(usage)
        if cost is None:
            self.unpriced += 1
            return None
        if missing:
            self.partly_priced += 1
            self.unpriced_models |= missing
        self.usd = _EXACT.add(self.usd, cost)
        return cost

    @staticmethod
    def format_usd(amount: Decimal) -> str:
        shown = amount.quantize(_DISPLAY, rounding=ROUND_HALF_UP)
        if amount > 0 and shown == 0:
            return "<$0.001"
        return f"${shown}"

    def __str__(self) -> str:
        if self.local:
            return "Spend: local"
        if not self.requests:
            return "Spend: no requests yet"
        if self.unpriced == self.requests:
            if self.without_usage == self.unpriced:
                return "Spend: n/a (no usage reported)"
            return "Spend: n/a (no price known for this model)"
        notes = []
        if self.unpriced:
            notes.append(f"{self.unpriced} of {self.requests} requests unpriced")
        if self.partly_priced:
            models = ", ".join(sorted(self.unpriced_models))
            notes.append(f"{self.partly_priced} of {self.requests} requests priced in part: no price for {models}")
        text = f"Spend: {self.format_usd(self.usd)}"
        return text + f" + n/a ({'; '.join(notes)})" if notes else text

    def __repr__(self) -> str:
        return f"<Spend usd={self.usd} requests={self.requests} unpriced={self.unpriced} local={self.local}>"


def _steps_cost(usage: Usage, price: Price | None, price_of: PriceOf | None, missing: set[str]) -> Decimal | None:
    """What ``usage.iterations`` bill: each step at the price of the model that ran it. The models without a price
    go into ``missing``; None when no step could be priced."""
    total: Decimal | None = None
    for step in usage.iterations:
        if step.model is None or step.type in OWN_STEPS:
            step_price, model = price, "this model"
        else:
            step_price, model = (None if price_of is None else price_of(step.model)), step.model
        if step_price is None:
            missing.add(model)
            continue
        total = _EXACT.add(total or Decimal(0), step_price.cost(step.usage))
    return total
