"""Template filters for the market pages: money in fen shown as yuan, harvest months,
ratings; and the storefront strip the site's home page includes."""

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from taocun.core.money import Money
from taocun.core.wording import list_text

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """``3990`` → ``¥39.90``."""
    if fen is None or fen == "":
        return ""
    return Money(int(fen)).format()


@register.filter
def yuan_plain(fen: int | None) -> str:
    """``3990`` → ``39.90`` (for form fields)."""
    if fen is None or fen == "":
        return ""
    return Money(int(fen)).yuan_text()


@register.filter
def kilograms(grams: int | None) -> str:
    """``2500`` → ``2.5`` (for form fields and labels)."""
    if grams is None or grams == "":
        return ""
    kg, rest = divmod(int(grams), 1000)
    return f"{kg}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(kg)


@register.filter
def price_range(product) -> str:
    low, high = product.price_min_fen, product.price_max_fen
    if not low:
        return ""
    if high and high != low:
        return f"{Money(low).format()}–{Money(high).format()}"
    return Money(low).format()


@register.filter
def month_names(months: list[int]) -> str:
    """Harvest months as localised month names, e.g. "九月、十月" / "September, October"."""
    from datetime import date

    return list_text(date_format(date(2000, m, 1), "F") for m in months)


@register.filter
def stars(average: float | None) -> str:
    if average is None:
        return _("No ratings yet")
    return f"★ {average:.1f}"


@register.inclusion_tag("market/_home_strip.html")
def market_strip():
    """The storefront's search box and featured categories, for the site's home page."""
    from taocun.market.selectors import category_list

    return {"featured_categories": [c for c in category_list() if c.is_featured]}
