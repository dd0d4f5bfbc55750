"""Property-based: no sequence of checkouts, payments, shipments, confirmations, refunds,
cancellations and timeouts unbalances the payments ledger, loses or invents stock, or lets
an order's refunds drift from its escrow's.

A Hypothesis state machine drives the services in random orders (including steps that
must be refused: they raise an ApplicationError and change nothing). After every step:
``ledger_check`` finds nothing, each pack's stock plus what live orders hold equals what
it started with, and every paid order's refunded amount equals its escrow's. Each example
runs in a savepoint that is rolled back.
"""

import contextlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from taocun.core.errors import ApplicationError
from taocun.market.models import Variant
from taocun.market.tests import factories as market
from taocun.orders import services
from taocun.orders.models import Order, OrderLine
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.payments import selectors as payment_selectors
from taocun.payments.models import Escrow

STOCK = 6


class OrderMachine(RuleBasedStateMachine):
    buyer = None
    keepers: list = []
    variants: list = []

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.now = timezone.now()
        self.number = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def _orders(self) -> list[Order]:
        return list(Order.objects.order_by("pk"))

    def _pick(self, data, status=None) -> Order | None:
        orders = [o for o in self._orders() if status is None or o.status in status]
        return data.draw(st.sampled_from(orders)) if orders else None

    def _try(self, call, *args, **kwargs) -> None:
        # A refusal must have changed nothing: the invariants check it after the step.
        with contextlib.suppress(ApplicationError):
            call(*args, **kwargs)

    @rule(
        picks=st.lists(
            st.tuples(st.integers(0, 1), st.integers(1, 4)),
            min_size=1,
            max_size=2,
            unique_by=lambda p: p[0],
        )
    )
    def checkout(self, picks) -> None:
        self.number += 1
        items = [(self.variants[i], quantity) for i, quantity in picks]
        for variant, _quantity in items:
            variant.refresh_from_db()
        self._try(factories.place, self.buyer, *items, key=f"prop-{self.number}")

    @rule(data=st.data())
    def pay(self, data) -> None:
        order = self._pick(data, {S.PLACED})
        if order is not None:
            factories.pay(order.checkout)
            services.checkout_mark_paid(reference=order.checkout.reference)

    @rule(data=st.data())
    def ship(self, data) -> None:
        order = self._pick(data)
        if order is not None:
            self._try(
                services.order_ship,
                order=order,
                actor=order.shop.opened_by,
                carrier="EMS",
                tracking_number="E1",
            )

    @rule(data=st.data())
    def deliver(self, data) -> None:
        order = self._pick(data)
        if order is not None:
            self._try(services.order_deliver, order=order, actor=order.shop.opened_by)

    @rule(data=st.data())
    def confirm(self, data) -> None:
        order = self._pick(data)
        if order is not None:
            self._try(services.order_confirm, order=order, actor=self.buyer)

    @rule(data=st.data(), share=st.sampled_from([1, 2, 3, 10]))
    def refund(self, data, share) -> None:
        order = self._pick(data)
        if order is not None:
            amount = max(1, order.refundable_fen * share // 3)  # share 10: too much
            self._try(services.order_refund, order=order, actor=order.seller, amount_fen=amount)

    @rule(data=st.data())
    def request_refund(self, data) -> None:
        order = self._pick(data)
        if order is not None:
            self._try(
                services.order_refund_request,
                order=order,
                actor=self.buyer,
                amount_fen=max(1, order.refundable_fen // 2),
                reason="x",
            )

    @rule(data=st.data())
    def decline(self, data) -> None:
        order = self._pick(data)
        if order is not None:
            self._try(services.order_refund_decline, order=order, actor=order.seller, note="no")

    @rule(data=st.data(), by_seller=st.booleans())
    def cancel(self, data, by_seller) -> None:
        order = self._pick(data)
        if order is not None:
            actor = order.seller if by_seller else self.buyer
            self._try(services.order_cancel, order=order, actor=actor)

    @precondition(lambda self: Order.objects.filter(status=S.PLACED).exists())
    @rule()
    def time_out(self) -> None:
        self.now += timedelta(hours=1)
        services.checkouts_expire_due(now=self.now)

    @rule()
    def auto_complete(self) -> None:
        self.now += timedelta(days=11)
        services.orders_complete_due(now=self.now)

    @invariant()
    def the_ledger_balances(self) -> None:
        assert payment_selectors.ledger_check() == []

    @invariant()
    def stock_is_conserved(self) -> None:
        for variant in self.variants:
            held = sum(
                OrderLine.objects.filter(variant=variant, order__stock_released=False).values_list(
                    "quantity", flat=True
                )
            )
            assert Variant.objects.get(pk=variant.pk).stock + held == STOCK

    @invariant()
    def refunds_agree_with_escrows(self) -> None:
        escrows = {e.reference: e for e in Escrow.objects.exclude(status="void")}
        for order in self._orders():
            escrow = escrows.get(order.reference)
            if order.status == S.PLACED or escrow is None:
                assert order.refunded_fen == 0
                continue
            assert order.refunded_fen == escrow.refunded_fen
            assert order.refunded_fen <= order.total_fen


@pytest.mark.django_db
def test_no_sequence_of_order_operations_unbalances_money_or_stock(tree):
    keepers = [market.seller(tree.qianchang), market.seller(tree.lizu)]
    shops = [
        market.shop(tree.qianchang, keeper=keepers[0]),
        market.shop(tree.lizu, keeper=keepers[1]),
    ]
    OrderMachine.variants = [
        market.product(shop, price_fen=price, stock=STOCK).variants.get()
        for shop, price in zip(shops, [3990, 1001], strict=True)
    ]
    OrderMachine.keepers = keepers
    OrderMachine.buyer = factories.buyer()
    factories.address(OrderMachine.buyer)
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        OrderMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
