"""Reads of the sales ledger for pages, the API and reports, aggregated in the database.

Counted sales follow the label engine's rule (decision 0002): ``amount_cny_fen -
refunded_cny_fen`` per order, nothing for cancelled orders. Years are China-time years.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext as _

from taocun.core.chinatime import CHINA_TZ, china_day_start
from taocun.core.errors import NotFound
from taocun.regions.codes import PREFIX_LENGTH
from taocun.regions.models import Division, Level
from taocun.sales.models import OrderStatus, SalesOrder, Shop


@dataclass(frozen=True)
class YearSales:
    year: int
    sales_fen: int
    orders: int
    shops: int


@dataclass(frozen=True)
class PlatformSales:
    platform: str
    sales_fen: int
    orders: int
    shops: int


def _orders_under(division: Division) -> QuerySet[SalesOrder]:
    """Counted orders of the shops in a division (a village, or everything below a
    township, county, ...)."""
    orders = SalesOrder.objects.exclude(status=OrderStatus.CANCELLED)
    if division.level == Level.VILLAGE:
        return orders.filter(shop__village_id=division.code)
    prefix = division.code[: PREFIX_LENGTH[division.level]]
    return orders.filter(shop__village__code__startswith=prefix)


def _division(code: str) -> Division:
    division = Division.objects.filter(code=code).first()
    if division is None:
        raise NotFound(_("unknown division code"), field="code")
    return division


def _totals(orders: QuerySet[SalesOrder], group: str) -> QuerySet:
    return (
        orders.values(group)
        .annotate(
            sales_fen=Sum(F("amount_cny_fen") - F("refunded_cny_fen")),
            orders=Count("id"),
            shops=Count("shop", distinct=True),
        )
        .order_by(group)
    )


def division_sales_by_year(
    *, code: str, platforms: Collection[str] | None = None
) -> list[YearSales]:
    """Counted sales per China-time year of the shops in a division and below it, oldest
    year first; ``platforms`` limits them (e.g. the Alibaba platforms)."""
    orders = _orders_under(_division(code))
    if platforms is not None:
        orders = orders.filter(platform__in=list(platforms))
    orders = orders.annotate(year=ExtractYear("paid_at", tzinfo=CHINA_TZ))
    return [
        YearSales(
            year=row["year"], sales_fen=row["sales_fen"], orders=row["orders"], shops=row["shops"]
        )
        for row in _totals(orders, "year")
    ]


def village_sales_by_year(
    *, village_code: str, platforms: Collection[str] | None = None
) -> list[YearSales]:
    """Counted sales per China-time year of one village's shops."""
    return division_sales_by_year(code=village_code, platforms=platforms)


def division_sales_by_platform(*, code: str, year: int) -> list[PlatformSales]:
    """Counted sales of one China-time year per platform, largest first."""
    start = china_day_start(date(year, 1, 1))
    end = china_day_start(date(year + 1, 1, 1))
    orders = _orders_under(_division(code)).filter(paid_at__gte=start, paid_at__lt=end)
    rows = _totals(orders, "platform")
    result = [
        PlatformSales(
            platform=row["platform"],
            sales_fen=row["sales_fen"],
            orders=row["orders"],
            shops=row["shops"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda row: (-row.sales_fen, row.platform))


def village_shops(*, village_code: str) -> QuerySet[Shop]:
    """A village's shops of every platform with their counted order numbers and sales."""
    counted = ~Q(orders__status=OrderStatus.CANCELLED)
    return (
        Shop.objects.filter(village_id=village_code)
        .annotate(
            order_count=Count("orders", filter=counted),
            sales_fen=Sum(
                F("orders__amount_cny_fen") - F("orders__refunded_cny_fen"), filter=counted
            ),
        )
        .order_by("platform", "shop_id")
    )
