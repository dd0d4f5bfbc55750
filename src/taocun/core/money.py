"""Money as integer fen (hundredths of a yuan) with a currency. No floats, ever.

>>> Money.parse("1234.5")
Money(amount_fen=123450, currency='CNY')
>>> str(Money(123450))
'¥1,234.50'
>>> Money(100) + Money(250)
Money(amount_fen=350, currency='CNY')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from taocun.core.errors import ValidationError

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥", "GBP": "£"}
_YUAN = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?$")
# ±2^63 fen is far beyond any real amount; refusing more keeps every amount a BIGINT.
MAX_FEN = 2**63 - 1


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount_fen: int
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise TypeError(f"amount_fen must be an int, got {type(self.amount_fen).__name__}")
        if not (len(self.currency) == 3 and self.currency.isalpha() and self.currency.isupper()):
            raise ValidationError(
                _("%(value)s is not an ISO 4217 currency code") % {"value": self.currency},
                field="currency",
            )
        if abs(self.amount_fen) > MAX_FEN:
            raise ValidationError(_("The amount is too large."), field="amount")

    @classmethod
    def parse(
        cls, text: str | Decimal | int, currency: str = "CNY", *, field: str = "amount"
    ) -> Money:
        """Parse a yuan amount ("1234.5", "1,234.50", Decimal, int yuan) into fen.

        More than two decimals is an error rather than a silent rounding.
        """
        if isinstance(text, float):
            raise TypeError("Money.parse refuses floats; pass a string or a Decimal")
        if isinstance(text, int) and not isinstance(text, bool):
            return cls(text * 100, currency)
        raw = str(text).strip()
        sign = ""
        if raw[:1] in "+-" and raw[1:2] == "¥":
            sign, raw = raw[0], raw[1:]
        raw = sign + raw.removeprefix("¥").strip()
        if isinstance(text, str) and not _YUAN.match(raw):
            raise ValidationError(
                _("%(value)s is not an amount in yuan") % {"value": text}, field=field
            )
        try:
            value = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            raise ValidationError(
                _("%(value)s is not an amount in yuan") % {"value": text}, field=field
            ) from None
        if not value.is_finite():
            raise ValidationError(
                _("%(value)s is not an amount in yuan") % {"value": text}, field=field
            )
        fen = value * 100
        if fen != fen.to_integral_value():
            raise ValidationError(
                _("%(value)s has more than 2 decimals") % {"value": text}, field=field
            )
        if abs(fen) > MAX_FEN:
            raise ValidationError(_("The amount is too large."), field=field)
        return cls(int(fen), currency)

    @property
    def yuan(self) -> Decimal:
        return Decimal(self.amount_fen).scaleb(-2)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented  # type: ignore[return-value]
        if other.currency != self.currency:
            raise ValidationError(
                _("Cannot combine %(a)s with %(b)s") % {"a": self.currency, "b": other.currency},
                field="currency",
            )
        return other

    def __add__(self, other: Money) -> Money:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return Money(self.amount_fen + other.amount_fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        other = self._same_currency(other)
        if other is NotImplemented:
            return NotImplemented
        return Money(self.amount_fen - other.amount_fen, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Money(self.amount_fen * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount_fen, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount_fen < self._same_currency(other).amount_fen

    def __le__(self, other: Money) -> bool:
        return self.amount_fen <= self._same_currency(other).amount_fen

    def __gt__(self, other: Money) -> bool:
        return self.amount_fen > self._same_currency(other).amount_fen

    def __ge__(self, other: Money) -> bool:
        return self.amount_fen >= self._same_currency(other).amount_fen

    def __bool__(self) -> bool:
        return self.amount_fen != 0

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to ``ratios``; the parts always add up exactly."""
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValidationError(_("Ratios must be non-negative and not all zero."))
        total = sum(ratios)
        sign = -1 if self.amount_fen < 0 else 1
        amount = abs(self.amount_fen)
        parts = [amount * r // total for r in ratios]
        for i in range(amount - sum(parts)):
            parts[i % len(parts)] += 1
        return [Money(sign * p, self.currency) for p in parts]

    def format(self) -> str:
        """``¥1,234.50``; negative amounts as ``-¥1,234.50``."""
        sign = "-" if self.amount_fen < 0 else ""
        yuan, fen = divmod(abs(self.amount_fen), 100)
        symbol = SYMBOLS.get(self.currency, self.currency + " ")
        return f"{sign}{symbol}{yuan:,}.{fen:02d}"

    def yuan_text(self) -> str:
        """Plain yuan with two decimals and no grouping, as in CSV files: ``1234.50``."""
        sign = "-" if self.amount_fen < 0 else ""
        yuan, fen = divmod(abs(self.amount_fen), 100)
        return f"{sign}{yuan}.{fen:02d}"

    def __str__(self) -> str:
        return self.format()
