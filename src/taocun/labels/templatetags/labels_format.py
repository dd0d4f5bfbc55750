"""Template filters for label results: money from integer fen, shares as percentages."""

from decimal import Decimal, InvalidOperation

from django import template

from taocun.core.money import Money
from taocun.sales import platforms

register = template.Library()


@register.filter
def fen(value) -> str:
    """``123450`` → ``¥1,234.50``; empty for a missing amount."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        return Money(int(value)).format()
    except (TypeError, ValueError):
        return ""


@register.filter
def percent(value, places: int = 1) -> str:
    """A fraction as a percentage: ``Decimal("0.123")`` → ``12.3 %``; empty when unknown."""
    if value is None or value == "" or isinstance(value, bool):
        return ""
    try:
        number = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError):
        return ""
    return f"{number.quantize(Decimal(1).scaleb(-int(places)))} %"


@register.filter
def size_class(value: str) -> str:
    """A cluster's size class in words."""
    from taocun.labels.selectors import size_class_label

    return size_class_label(value or "")


@register.filter
def town_basis(value: str) -> str:
    """Which rule made a township a Taobao town, in words."""
    from taocun.labels.selectors import town_basis_label

    return town_basis_label(value or "")


@register.filter
def platform_name(value: str) -> str:
    """A ledger platform code as the platform's name (``jd`` → "JD.com")."""
    return platforms.platform_name(value or "")
