"""Prices and session spend. Amounts are Decimal so adding many small costs is exact.

Display rule: ``Spend: $X.XXX`` rounded half-up to 3 decimals (a tenth of a cent); a non-zero spend that would
round to $0.000 shows as ``Spend: <$0.001``; ``Spend: local`` for local providers; ``Spend: n/a`` when no price
is known for the model, and ``+ n/a`` beside a known amount when only some requests could be priced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ._config import ProviderSettings
from ._types import Usage

_MILLION = Decimal(1_000_000)
_DISPLAY = Decimal("0.001")


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
        total = (
            usage.uncached_input_tokens * self.input
            + usage.cache_read_tokens * read
            + (usage.cache_write_tokens - usage.cache_write_1h_tokens) * write
            + usage.cache_write_1h_tokens * write_1h
            + usage.output_tokens * self.output
        )
        return total / _MILLION


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def price_for(settings: ProviderSettings, model: str | None) -> Price | None:
    """The model's own price if configured, else the provider's; None when either side is unknown."""
    spec = settings.model_spec(model)
    inp = spec.input_price_per_1m_tokens if spec and spec.input_price_per_1m_tokens is not None else None
    out = spec.output_price_per_1m_tokens if spec and spec.output_price_per_1m_tokens is not None else None
    inp = settings.input_price_per_1m_tokens if inp is None else inp
    out = settings.output_price_per_1m_tokens if out is None else out
    if inp is None or out is None:
        return None
    return Price(
        Decimal(str(inp)),
        Decimal(str(out)),
        _dec(settings.cache_read_price_per_1m_tokens),
        _dec(settings.cache_write_price_per_1m_tokens),
        _dec(settings.cache_write_1h_price_per_1m_tokens),
    )


def is_local(settings: ProviderSettings, model: str | None = None) -> bool:
    """Local providers bill nothing: the relay preset, ``local = true``, or a loopback server with no prices."""
    return settings.local or (settings.is_loopback and price_for(settings, model) is None)


class Spend:
    """What a client has spent this session."""

    def __init__(self, *, local: bool = False) -> None:
        self.local = local
        self.usd = Decimal(0)
        self.requests = 0
        self.unpriced = 0

    def add(self, usage: Usage | None, price: Price | None) -> Decimal | None:
        """Count one response; returns its cost, or None when it cannot be priced. A provider-reported cost
        (``usage.cost``) wins over the computed one."""
        self.requests += 1
        if self.local or usage is None:
            if not self.local:
                self.unpriced += 1
            return None
        if usage.cost is not None:
            cost = Decimal(str(usage.cost))
        elif price is not None:
            cost = price.cost(usage)
        else:
            self.unpriced += 1
            return None
        self.usd += cost
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
        if self.unpriced and self.unpriced == self.requests:
            return "Spend: n/a (no price known for this model)"
        text = f"Spend: {self.format_usd(self.usd)}"
        if self.unpriced:
            text += f" + n/a ({self.unpriced} of {self.requests} requests unpriced)"
        return text

    def __repr__(self) -> str:
        return f"<Spend usd={self.usd} requests={self.requests} unpriced={self.unpriced} local={self.local}>"
