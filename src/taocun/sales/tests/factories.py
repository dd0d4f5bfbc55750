"""Ledger rows for tests of reads (selectors); writes are tested through the services and
imports themselves."""

from datetime import UTC, datetime

import factory

from taocun.regions.tests.factories import DivisionFactory
from taocun.sales.models import OrderStatus, SalesOrder, Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    platform = "taobao"
    shop_id = factory.Sequence(lambda n: f"shop{n:05d}")
    village = factory.SubFactory(DivisionFactory)
    opened_at = datetime(2015, 1, 1, tzinfo=UTC)


class SalesOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesOrder

    platform = factory.SelfAttribute("shop.platform")
    order_id = factory.Sequence(lambda n: f"order{n:07d}")
    shop = factory.SubFactory(ShopFactory)
    amount_fen = 10_000
    amount_cny_fen = factory.SelfAttribute("amount_fen")
    refunded_fen = 0
    refunded_cny_fen = factory.SelfAttribute("refunded_fen")
    paid_at = datetime(2016, 6, 1, 4, 0, tzinfo=UTC)
    status = OrderStatus.COMPLETED
