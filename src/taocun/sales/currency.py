"""Converting order amounts into CNY, once, when an order enters the ledger.

The label engine counts CNY only, so an order in another currency is converted at the rate
in force on its payment day (China date): the :class:`~taocun.sales.models.CurrencyRate`
of that currency with the latest ``valid_from`` on or before that day.

The arithmetic is exact: ``fen × rate`` as a decimal, rounded half to even to a whole fen
(banker's rounding, so a long ledger has no rounding drift in either direction).

>>> to_cny_fen(1999, Decimal("7.12345678"))  # US$19.99 → ¥142.40
14240
>>> to_cny_fen(5, Decimal("0.5")), to_cny_fen(15, Decimal("0.5"))  # halves go to even
(2, 8)
"""

import bisect
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal

from taocun.core.money import MAX_FEN
from taocun.sales.models import CurrencyRate

BASE_CURRENCY = "CNY"
# Enough digits for any BIGINT amount times a rate of 18 digits, so nothing rounds early.
_EXACT = Context(prec=60)


def to_cny_fen(amount_fen: int, cny_per_unit: Decimal) -> int:
    """``amount_fen`` of a currency in CNY fen at ``cny_per_unit``, rounded half to even.

    Raises ``OverflowError`` when the result does not fit a BIGINT.
    """
    exact = _EXACT.multiply(Decimal(amount_fen), cny_per_unit)
    fen = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN, context=_EXACT))
    if abs(fen) > MAX_FEN:
        raise OverflowError("the amount in CNY does not fit in 64 bits")
    return fen


class RateBook:
    """Every currency rate, loaded once for an import (a few thousand rows at most).

    ``rate_on(currency, day)`` is a binary search, so converting millions of orders costs
    no query per order.
    """

    def __init__(self, rates: dict[str, tuple[list[date], list[Decimal]]]) -> None:
        self._rates = rates

    @classmethod
    def load(cls, currencies: set[str] | None = None) -> "RateBook":
        query = CurrencyRate.objects.order_by("currency", "valid_from")
        if currencies is not None:
            query = query.filter(currency__in=currencies)
        rates: dict[str, tuple[list[date], list[Decimal]]] = {}
        for currency, valid_from, cny_per_unit in query.values_list(
            "currency", "valid_from", "cny_per_unit"
        ):
            days, values = rates.setdefault(currency, ([], []))
            days.append(valid_from)
            values.append(cny_per_unit)
        return cls(rates)

    def rate_on(self, currency: str, day: date) -> Decimal | None:
        """The rate in force on ``day`` (China date); ``None`` when there is none yet.
        CNY is always 1."""
        if currency == BASE_CURRENCY:
            return Decimal(1)
        found = self._rates.get(currency)
        if found is None:
            return None
        days, values = found
        index = bisect.bisect_right(days, day)
        return values[index - 1] if index else None

    def first_day(self, currency: str) -> date | None:
        found = self._rates.get(currency)
        return found[0][0] if found else None
