"""Checkouts racing for the last units, the same checkout sent twice, a payment delivered
twice and a receipt confirmed twice (PostgreSQL: real row locks, one connection per
thread). SQLite runs one writer at a time, so there is nothing to race there."""

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from taocun.core.errors import Conflict
from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.core.tests.concurrency import at_once
from taocun.market import services as market_services
from taocun.market.models import Product, Variant
from taocun.market.tests import factories as market
from taocun.orders import services
from taocun.orders.models import Checkout, Order, OrderEvent
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.payments import selectors as payment_selectors
from taocun.payments.models import LedgerTransaction, PaymentIntent, TransactionKind
from taocun.payments.providers.sandbox import SandboxProvider
from taocun.sales.models import SalesOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL; SQLite runs one writer at a time")


@pytest.fixture
def last_units(tree):
    factories.categories_seed()
    shop = market.shop(tree.qianchang, name="前仓果园")
    return market.product(shop, price_fen=1000, stock=2).variants.get()


def test_concurrent_checkouts_never_oversell_the_last_units(last_units):
    buyers = [factories.buyer() for _ in range(5)]
    for buyer in buyers:
        factories.address(buyer)

    results = at_once(*[lambda b=b: factories.place(b, (last_units, 1)) for b in buyers])

    placed = [r for r in results if isinstance(r, Checkout)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(placed) == 2 and len(refused) == 3, results
    assert all(error.code == "out_of_stock" for error in refused)
    assert Variant.objects.get(pk=last_units.pk).stock == 0
    assert Order.objects.count() == 2 and PaymentIntent.objects.count() == 2


def test_racing_stock_moves_of_several_packs_never_oversell(last_units):
    """The market's stock primitive without checkout's row locks: five callers each take
    one of a plentiful pack and one of the last two units, in either order. Two succeed;
    the refused ones put back what their statement had taken of the plentiful pack."""
    plenty = market.product(last_units.product.shop, name="土蜂蜜", stock=50).variants.get()

    def take(reverse: bool):
        packs = Variant.objects.in_bulk([plenty.pk, last_units.pk])
        changes = [(packs[plenty.pk], -1), (packs[last_units.pk], -1)]
        return market_services.variants_stock_adjust(
            actor=None, changes=changes[::-1] if reverse else changes
        )

    results = at_once(*[lambda r=bool(i % 2): take(r) for i in range(5)])

    taken = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(taken) == 2 and len(refused) == 3, results
    assert {error.extra["variant_id"] for error in refused} == {last_units.pk}
    assert Variant.objects.get(pk=last_units.pk).stock == 0
    assert Variant.objects.get(pk=plenty.pk).stock == 48
    assert AuditEntry.objects.filter(action="variant.stock_adjust").count() == 4
    assert not Product.objects.get(pk=last_units.product_id).in_stock


def test_two_checkouts_wanting_more_than_is_left_get_one(last_units):
    first, second = factories.buyer(), factories.buyer()
    factories.address(first)
    factories.address(second)

    results = at_once(
        lambda: factories.place(first, (last_units, 2)),
        lambda: factories.place(second, (last_units, 2)),
    )

    assert sorted(type(r).__name__ for r in results) == ["Checkout", "Conflict"]
    assert Variant.objects.get(pk=last_units.pk).stock == 0


def test_the_same_checkout_sent_twice_at_once_is_placed_once(last_units):
    buyer = factories.buyer()
    factories.address(buyer)

    results = at_once(
        lambda: factories.place(buyer, (last_units, 1), key="same"),
        lambda: factories.place(buyer, (last_units, 1), key="same"),
    )

    assert all(isinstance(r, Checkout) for r in results), results
    assert results[0].pk == results[1].pk
    assert Variant.objects.get(pk=last_units.pk).stock == 1
    assert PaymentIntent.objects.count() == 1


def test_a_payment_delivered_twice_at_once_pays_once(last_units):
    buyer = factories.buyer()
    factories.address(buyer)
    checkout = factories.place(buyer, (last_units, 1))
    intent = PaymentIntent.objects.get(public_id=checkout.intent_id)

    def deliver() -> int:
        payload = SandboxProvider().callback_build(
            intent_id=intent.public_id,
            reference=intent.reference,
            status="paid",
            amount=Money(intent.amount_fen),
            now=timezone.now(),
        )
        return Client().post("/payments/callback/sandbox/", payload).status_code

    assert at_once(deliver, deliver) == [200, 200]

    order = checkout.orders.get()
    assert order.status == S.PAID
    assert OrderEvent.objects.filter(order=order, to_status=S.PAID).count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.CAPTURE).count() == 1
    assert payment_selectors.ledger_check() == []


def test_receipt_confirmed_twice_at_once_releases_and_posts_once(last_units):
    buyer = factories.buyer()
    factories.address(buyer)
    checkout = factories.place(buyer, (last_units, 1))
    factories.pay(checkout)  # on commit: payment_succeeded marks the order paid
    order = checkout.orders.get()
    assert order.status == S.PAID
    keeper = order.shop.opened_by
    services.order_ship(order=order, actor=keeper, carrier="顺丰", tracking_number="1")

    results = at_once(
        lambda: services.order_confirm(order=order, actor=buyer),
        lambda: services.order_confirm(order=order, actor=buyer),
    )

    assert sorted(type(r).__name__ for r in results) == ["InvalidTransition", "Order"]
    assert LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count() == 1
    assert SalesOrder.objects.count() == 1
    assert payment_selectors.ledger_check() == []
