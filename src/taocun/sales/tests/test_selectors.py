"""Ledger totals for pages: counted sales per China-time year and per platform."""

from datetime import UTC, datetime

import pytest

from taocun.core.errors import NotFound
from taocun.sales.models import OrderStatus
from taocun.sales.selectors import (
    PlatformSales,
    YearSales,
    division_sales_by_platform,
    division_sales_by_year,
    village_sales_by_year,
    village_shops,
)
from taocun.sales.tests.conftest import CHOUJIANG, LIZU, QIANCANG
from taocun.sales.tests.factories import SalesOrderFactory, ShopFactory


@pytest.fixture
def ledger(tree):
    taobao = ShopFactory(platform="taobao", shop_id="a", village=tree.qianchang)
    jd = ShopFactory(platform="jd", shop_id="b", village=tree.qianchang)
    elsewhere = ShopFactory(platform="taobao", shop_id="c", village=tree.lizu)
    # 2016-12-31T16:30Z is 2017 in China.
    SalesOrderFactory(
        shop=taobao, amount_fen=10000, paid_at=datetime(2016, 12, 31, 16, 30, tzinfo=UTC)
    )
    SalesOrderFactory(
        shop=taobao, amount_fen=5000, paid_at=datetime(2016, 12, 31, 15, 30, tzinfo=UTC)
    )
    SalesOrderFactory(
        shop=taobao,
        amount_fen=4000,
        refunded_fen=1000,
        status=OrderStatus.REFUNDED,
        paid_at=datetime(2016, 6, 1, tzinfo=UTC),
    )
    SalesOrderFactory(
        shop=jd,
        amount_fen=99999,
        status=OrderStatus.CANCELLED,
        paid_at=datetime(2016, 6, 1, tzinfo=UTC),
    )
    SalesOrderFactory(shop=jd, amount_fen=700, paid_at=datetime(2016, 6, 2, tzinfo=UTC))
    SalesOrderFactory(shop=elsewhere, amount_fen=300, paid_at=datetime(2016, 6, 2, tzinfo=UTC))


def test_village_sales_by_china_year(ledger):
    assert village_sales_by_year(village_code=QIANCANG) == [
        YearSales(year=2016, sales_fen=5000 + 3000 + 700, orders=3, shops=2),
        YearSales(year=2017, sales_fen=10000, orders=1, shops=1),
    ]
    assert village_sales_by_year(village_code=QIANCANG, platforms=["jd"]) == [
        YearSales(year=2016, sales_fen=700, orders=1, shops=1)
    ]


def test_a_township_adds_its_villages(ledger):
    assert division_sales_by_year(code=CHOUJIANG)[0].sales_fen == 8700
    assert division_sales_by_year(code="330782000000")[0].sales_fen == 9000
    assert village_sales_by_year(village_code=LIZU)[0].sales_fen == 300


def test_sales_by_platform(ledger):
    assert division_sales_by_platform(code=QIANCANG, year=2016) == [
        PlatformSales(platform="taobao", sales_fen=8000, orders=2, shops=1),
        PlatformSales(platform="jd", sales_fen=700, orders=1, shops=1),
    ]


def test_village_shops(ledger):
    shops = {
        shop.shop_id: (shop.order_count, shop.sales_fen)
        for shop in village_shops(village_code=QIANCANG)
    }
    assert shops == {"a": (3, 18000), "b": (1, 700)}


def test_an_unknown_division(db):
    with pytest.raises(NotFound):
        village_sales_by_year(village_code="330782003299")
