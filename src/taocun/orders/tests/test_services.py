"""The orders services: checkout, stock, the state machine, money and the sales ledger."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.models import AuditEntry
from taocun.market import search as market_search
from taocun.market import services as market_services
from taocun.market.models import Category, Variant
from taocun.market.tests import factories as market
from taocun.orders import services
from taocun.orders.models import Cart, CartLine, Checkout, Order, OrderEvent, OrderLine
from taocun.orders.models import OrderStatus as S
from taocun.orders.services import InvalidTransition
from taocun.orders.tests import factories
from taocun.payments import selectors as payment_selectors
from taocun.payments import services as payments
from taocun.payments.errors import IdempotencyConflict, RefundTooLarge
from taocun.payments.models import Escrow, EscrowStatus, IntentStatus, PaymentIntent
from taocun.sales.models import SalesOrder
from taocun.sales.models import Shop as SalesShop


def stock(variant) -> int:
    return Variant.objects.get(pk=variant.pk).stock


def statuses(order) -> list[tuple[str, str]]:
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("id")
        .values_list("from_status", "to_status")
    )


# --- checkout -----------------------------------------------------------------------------


def test_checkout_places_one_order_per_shop_and_one_payment(tree, buyer, orchard, variant):
    other_shop = market.shop(tree.lizu, name="后宅茶园")
    tea = market.product(
        other_shop, name="龙井茶", category="fruit", price_fen=12000, stock=5
    ).variants.get()
    market_services.shop_shipping_set(
        actor=None, shop=orchard[1], mode="weight", base_fen=800, per_kg_fen=200
    )
    services.cart_add(buyer=buyer, variant_id=variant.pk, quantity=3)

    checkout = factories.place(buyer, (variant, 3), (tea, 1))

    orders = list(checkout.orders.order_by("shop_id"))
    assert [o.shop_id for o in orders] == sorted([orchard[1].pk, other_shop.pk])
    apples = next(o for o in orders if o.shop_id == orchard[1].pk)
    assert apples.goods_fen == 3 * 3990
    assert apples.weight_g == 3 * 2500
    assert apples.shipping_fen == 800 + 8 * 200  # 7.5 kg: 8 started kilograms
    assert apples.total_fen == apples.goods_fen + apples.shipping_fen
    assert apples.seller_id == orchard[0].pk
    line = apples.lines.get()
    assert (line.product_name, line.unit_price_fen, line.quantity, line.unit_weight_g) == (
        "烟台红富士苹果",
        3990,
        3,
        2500,
    )
    assert line.commission_rate_bp == Category.objects.get(slug="apples").commission_rate_bp
    assert checkout.total_fen == sum(o.total_fen for o in orders)
    assert checkout.status == "pending" and checkout.pay_url
    intent = PaymentIntent.objects.get(public_id=checkout.intent_id)
    assert intent.reference == checkout.reference and intent.amount_fen == checkout.total_fen
    escrows = {e.reference: e for e in intent.escrows.all()}
    assert set(escrows) == {o.reference for o in orders}
    assert escrows[apples.reference].amount_fen == apples.total_fen
    assert escrows[apples.reference].seller_id == orchard[0].pk
    assert (stock(variant), stock(tea)) == (7, 4)
    assert not CartLine.objects.filter(cart__buyer=buyer).exists()  # bought: out of the cart
    assert [o.status for o in orders] == [S.PLACED, S.PLACED]
    assert statuses(apples) == [("", S.PLACED)]


def test_commission_is_weighted_by_line_amounts_and_waived_for_poor_households(tree, buyer):
    fruit = Category.objects.get(slug="apples")
    keeper = market.seller(tree.qianchang)
    keeper.household.registered_poor = True
    keeper.household.save()
    poor_shop = market.shop(tree.qianchang, keeper=keeper)
    poor = market.product(poor_shop, price_fen=1000).variants.get()

    checkout = factories.place(buyer, (poor, 1))

    order = checkout.orders.get()
    assert fruit.commission_rate_bp > 0
    assert order.commission_rate_bp == 0
    assert order.lines.get().commission_rate_bp == 0
    assert Escrow.objects.get(reference=order.reference).commission_rate_bp == 0


def test_weighted_rate_rounds_half_up_over_the_total():
    # 100 fen at 200 bp and 300 fen at 0 bp, 100 fen shipping: 20000 / 500 = 40 bp.
    assert services._weighted_rate_bp([(100, 200), (300, 0)], 500) == 40
    assert services._weighted_rate_bp([(1, 1)], 2) == 1  # 0.5 bp rounds up
    assert services._weighted_rate_bp([(1, 1)], 3) == 0


def _nothing_written(variant, before_stock: int) -> None:
    assert not Checkout.objects.exists()
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not PaymentIntent.objects.exists()
    assert stock(variant) == before_stock


def test_a_price_changed_since_the_buyer_saw_it_fails_and_writes_nothing(buyer, variant):
    seen = factories.lines_of((variant, 2))
    market_services.variant_update(actor=None, variant=variant, price_fen=4500)

    with translation.override("en"), pytest.raises(Conflict) as caught:
        services.checkout_place(
            buyer=buyer, address=buyer.addresses.get(), lines=seen, idempotency_key="k"
        )

    assert caught.value.code == "price_changed"
    assert caught.value.field == "lines.0"
    assert "烟台红富士苹果 (5 斤装)" in caught.value.message
    assert "¥39.90" in caught.value.message and "¥45.00" in caught.value.message
    _nothing_written(variant, 10)


def test_out_of_stock_on_a_second_line_fails_and_reserves_nothing(tree, buyer, variant):
    other = market.product(market.shop(tree.lizu), price_fen=500, stock=1).variants.get()

    with translation.override("en"), pytest.raises(Conflict) as caught:
        factories.place(buyer, (variant, 2), (other, 2))

    assert caught.value.code == "out_of_stock"
    assert caught.value.field == "lines.1"
    assert "only 1 left" in caught.value.message.lower()
    assert caught.value.extra["lines"][0]["line"] == 2
    _nothing_written(variant, 10)
    assert stock(other) == 1


def test_a_pack_taken_off_sale_fails(buyer, variant):
    market_services.variant_update(actor=None, variant=variant, is_active=False)
    with pytest.raises(Conflict) as caught:
        factories.place(buyer, (variant, 1))
    assert caught.value.code == "unavailable"
    assert not Checkout.objects.exists()


def test_the_same_idempotency_key_returns_the_same_checkout(buyer, variant):
    first = factories.place(buyer, (variant, 2), key="same")
    again = factories.place(buyer, (variant, 2), key="same")

    assert again.pk == first.pk
    assert Checkout.objects.count() == 1 and PaymentIntent.objects.count() == 1
    assert stock(variant) == 8
    with pytest.raises(IdempotencyConflict):
        factories.place(buyer, (variant, 3), key="same")
    assert stock(variant) == 8


def test_lines_are_checked(buyer, variant):
    address = buyer.addresses.get()
    for lines, field in [
        ([], "lines"),
        ([{"variant_id": variant.pk, "quantity": 0, "price_fen": 3990}], "lines.0.quantity"),
        ([{"variant_id": variant.pk, "quantity": 1000, "price_fen": 3990}], "lines.0.quantity"),
        (factories.lines_of((variant, 1), (variant, 1)), "lines.1.variant_id"),
    ]:
        with pytest.raises(ValidationError) as caught:
            services.checkout_place(buyer=buyer, address=address, lines=lines, idempotency_key="x")
        assert caught.value.field == field
    stranger = factories.buyer()
    with pytest.raises(NotFound):
        services.checkout_place(
            buyer=stranger,
            address=address,
            lines=factories.lines_of((variant, 1)),
            idempotency_key="x",
        )


def test_a_seller_cannot_buy_from_their_own_shop(keeper, variant):
    factories.address(keeper)
    with pytest.raises(ValidationError):
        services.cart_add(buyer=keeper, variant_id=variant.pk)
    with pytest.raises(Conflict) as caught:
        factories.place(keeper, (variant, 1))
    assert caught.value.code == "own_shop"


# --- cart ----------------------------------------------------------------------------------


def test_cart_lines_add_up_and_keep_their_bounds(buyer, variant):
    services.cart_add(buyer=buyer, variant_id=variant.pk, quantity=2)
    line = services.cart_add(buyer=buyer, variant_id=variant.pk, quantity=3)
    assert line.quantity == 5
    with pytest.raises(ValidationError) as caught:
        services.cart_add(buyer=buyer, variant_id=variant.pk, quantity=6)  # 11 > 10 in stock
    assert caught.value.code == "out_of_stock"
    with pytest.raises(ValidationError):
        services.cart_line_update(buyer=buyer, variant_id=variant.pk, quantity=0)
    assert services.cart_line_update(buyer=buyer, variant_id=variant.pk, quantity=1).quantity == 1
    services.cart_line_remove(buyer=buyer, variant_id=variant.pk)
    assert not CartLine.objects.exists()
    with pytest.raises(NotFound):
        services.cart_line_remove(buyer=buyer, variant_id=variant.pk)


def test_session_cart_merges_at_login_capped_by_stock(buyer, variant):
    services.cart_add(buyer=buyer, variant_id=variant.pk, quantity=4)
    kept = services.cart_merge_session(buyer=buyer, items={str(variant.pk): 9, "999999": 1})
    assert kept == 1
    assert Cart.objects.get(buyer=buyer).lines.get().quantity == 10


# --- payment and the state machine ------------------------------------------------------------


def test_payment_success_marks_orders_paid_once(buyer, variant, run_on_commit):
    checkout = factories.place(buyer, (variant, 1))
    run_on_commit(factories.pay, checkout)
    services.checkout_mark_paid(reference=checkout.reference)  # the event again

    order = checkout.orders.get()
    assert order.status == S.PAID and order.paid_at is not None
    assert statuses(order) == [("", S.PLACED), (S.PLACED, S.PAID)]
    checkout.refresh_from_db()
    assert checkout.status == "paid"


def test_a_two_shop_payment_marks_both_orders_paid_with_an_event_and_audit_each(
    tree, buyer, variant, run_on_commit
):
    honey = market.product(market.shop(tree.lizu, name="李祖蜂场"), name="土蜂蜜", price_fen=5800)
    checkout = factories.place(buyer, (variant, 2), (honey.variants.get(), 1))
    run_on_commit(factories.pay, checkout)

    orders = list(checkout.orders.order_by("pk"))
    assert [order.status for order in orders] == [S.PAID, S.PAID]
    assert [statuses(order) for order in orders] == [[("", S.PLACED), (S.PLACED, S.PAID)]] * 2
    audited = AuditEntry.objects.filter(action="order.pay").order_by("object_id")
    assert [(entry.object_id, entry.actor_label) for entry in audited] == [
        (str(order.pk), services.SYSTEM) for order in orders
    ]
    assert payment_selectors.ledger_check() == []


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "without-returning"])
def test_a_multi_line_order_is_paid_and_cancelled_with_all_its_stock(
    tree, buyer, orchard, keeper, returning, monkeypatch, run_on_commit
):
    """Stock of all lines moves in one statement. Without RETURNING (SQLite before 3.35,
    whose bulk inserts return no ids either) stock rows, orders and escrow accounts are
    written one by one instead, with the same outcome."""
    if not returning:
        from django.db import connection

        if connection.vendor != "sqlite":
            pytest.skip("PostgreSQL always has RETURNING (Django's own inserts need it)")
        # On SQLite, bulk inserts return ids exactly when RETURNING exists.
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    _keeper, shop, product = orchard
    big = market_services.variant_add(
        actor=None, product=product, label="10 斤装", weight_g=5000, price_fen=6990, stock=3
    )
    small = product.variants.exclude(pk=big.pk).get()
    honey = market.product(market.shop(tree.lizu), name="土蜂蜜", price_fen=5800).variants.get()
    checkout = factories.place(buyer, (small, 2), (big, 3), (honey, 1))
    assert (stock(small), stock(big), stock(honey)) == (8, 0, 99)
    product.refresh_from_db()
    assert product.in_stock  # the 5 斤 pack has 8 left
    run_on_commit(factories.pay, checkout)
    order = checkout.orders.get(shop=shop)
    assert order.status == S.PAID and order.lines.count() == 2
    assert Escrow.objects.get(reference=order.reference).account is not None

    services.order_cancel(order=order, actor=keeper, reason="缺货")
    assert (stock(small), stock(big), stock(honey)) == (10, 3, 99)
    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.stock_released
    released = AuditEntry.objects.filter(
        action="variant.stock_adjust", after__reason=f"order {order.pk}"
    )
    assert released.count() == 2
    assert payment_selectors.ledger_check() == []


def test_the_whole_way_to_completion_posts_the_sale(paid_order, keeper, buyer, tree):
    order = services.order_accept(order=paid_order, actor=keeper)
    order = services.order_ship(order=order, actor=keeper, carrier="中通", tracking_number="ZT1")
    order = services.order_deliver(order=order, actor=keeper)
    assert order.auto_complete_at == order.delivered_at + timedelta(days=10)
    assert Escrow.objects.get(reference=order.reference).release_after == order.auto_complete_at
    order = services.order_confirm(order=order, actor=buyer)

    assert order.status == S.COMPLETED
    assert statuses(order) == [
        ("", S.PLACED),
        (S.PLACED, S.PAID),
        (S.PAID, S.PAID),
        (S.PAID, S.SHIPPED),
        (S.SHIPPED, S.DELIVERED),
        (S.DELIVERED, S.COMPLETED),
    ]
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.status == EscrowStatus.RELEASED and escrow.released_fen == order.total_fen
    sale = SalesOrder.objects.get(platform="taocun", order_id=str(order.pk))
    assert sale.amount_fen == order.total_fen and sale.status == "completed"
    assert sale.paid_at == order.paid_at
    ledger_shop = SalesShop.objects.get(platform="taocun", shop_id=f"market-{order.shop_id}")
    assert ledger_shop.village_id == tree.qianchang.code
    assert ledger_shop.household_id == order.shop.household_id
    product = order.lines.get().product
    assert product.sold_count == 2 and product.search_rank >= 4  # 2 sold: one doubling
    assert market_search.search_rank_refresh(product_ids=[product.pk]) == 0  # already current
    assert payment_selectors.ledger_check() == []


def test_a_refund_after_completion_updates_the_sales_ledger(paid_order, keeper, buyer):
    order = services.order_ship(order=paid_order, actor=keeper, carrier="顺丰", tracking_number="1")
    order = services.order_confirm(order=order, actor=buyer)  # from shipped, too
    order = services.order_refund_request(order=order, actor=buyer, amount_fen=1000, reason="坏果")
    assert order.status == S.REFUND_REQUESTED

    order = services.order_refund(order=order, actor=keeper, amount_fen=1000)

    assert order.status == S.COMPLETED and order.refunded_fen == 1000
    sale = SalesOrder.objects.get(order_id=str(order.pk))
    assert (sale.refunded_fen, sale.status) == (1000, "refunded")
    order = services.order_refund(order=order, actor=keeper, amount_fen=order.refundable_fen)
    assert order.status == S.REFUNDED
    sale.refresh_from_db()
    assert sale.refunded_fen == sale.amount_fen
    assert payment_selectors.ledger_check() == []


def test_the_label_engine_reads_the_posted_sales(paid_order, keeper, buyer, tree):
    from taocun.labels.sources import source_opened

    order = services.order_ship(order=paid_order, actor=keeper, carrier="顺丰", tracking_number="1")
    order = services.order_confirm(order=order, actor=buyer)
    services.order_refund(order=order, actor=keeper, amount_fen=500)

    with source_opened("db") as source:
        joined = source.orders.join(source.shops, "shop_key")
        ours = joined.filter(joined.platform == "taocun")
        rows = (
            ours.select("village_code", "status", "amount_cny_fen", "refunded_cny_fen")
            .to_pyarrow()
            .to_pylist()
        )

    assert rows == [
        {
            "village_code": tree.qianchang.code,
            "status": "refunded",
            "amount_cny_fen": order.total_fen,
            "refunded_cny_fen": 500,
        }
    ]


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("confirm", {}),
        ("deliver", {}),
        ("decline", {"note": "no"}),
    ],
)
def test_invalid_transitions_are_409_and_change_nothing(paid_order, keeper, buyer, action, kwargs):
    call = {
        "confirm": lambda: services.order_confirm(order=paid_order, actor=buyer),
        "deliver": lambda: services.order_deliver(order=paid_order, actor=keeper),
        "decline": lambda: services.order_refund_decline(order=paid_order, actor=keeper, **kwargs),
    }[action]
    events = OrderEvent.objects.count()

    with translation.override("en"), pytest.raises(InvalidTransition) as caught:
        call()

    assert caught.value.http_status == 409 and caught.value.code == "invalid_transition"
    assert "paid" in caught.value.message
    paid_order.refresh_from_db()
    assert paid_order.status == S.PAID and OrderEvent.objects.count() == events


def test_shipped_orders_cannot_be_cancelled_nor_shipped_twice(paid_order, keeper, buyer):
    services.order_ship(order=paid_order, actor=keeper, carrier="顺丰", tracking_number="1")
    with pytest.raises(InvalidTransition):
        services.order_cancel(order=paid_order, actor=buyer)
    with pytest.raises(InvalidTransition):
        services.order_ship(order=paid_order, actor=keeper, carrier="顺丰", tracking_number="2")
    with pytest.raises(InvalidTransition):
        services.order_accept(order=paid_order, actor=keeper)


def test_unpaid_orders_cannot_be_shipped(buyer, variant, keeper):
    order = factories.place(buyer, (variant, 1)).orders.get()
    with pytest.raises(InvalidTransition):
        services.order_ship(order=order, actor=keeper, carrier="顺丰", tracking_number="1")


def test_buyer_cancels_an_unpaid_checkout(buyer, variant):
    checkout = factories.place(buyer, (variant, 4))
    order = services.order_cancel(order=checkout.orders.get(), actor=buyer, reason="买错了")

    assert order.status == S.CANCELLED and order.stock_released
    assert stock(variant) == 10
    intent = PaymentIntent.objects.get(public_id=checkout.intent_id)
    assert intent.status == IntentStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        services.order_cancel(order=order, actor=buyer)


def test_cancelling_a_paid_order_refunds_it_in_full_and_releases_stock(paid_order, keeper):
    order = services.order_cancel(order=paid_order, actor=keeper, reason="缺货")

    assert order.status == S.CANCELLED and order.refunded_fen == order.total_fen
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.status == EscrowStatus.REFUNDED
    assert stock(order.lines.get().variant) == 10
    assert not SalesOrder.objects.exists()
    assert payment_selectors.ledger_check() == []


def test_a_payment_timeout_cancels_releases_and_puts_the_cart_back(buyer, variant):
    checkout = factories.place(buyer, (variant, 3))
    assert services.checkouts_expire_due(now=timezone.now()) == []  # not due yet

    done = services.checkouts_expire_due(now=checkout.expires_at + timedelta(seconds=1))

    assert done == [checkout.pk]
    order = checkout.orders.get()
    order.refresh_from_db()
    assert order.status == S.CANCELLED and stock(variant) == 10
    assert PaymentIntent.objects.get(public_id=checkout.intent_id).status == IntentStatus.CANCELLED
    assert CartLine.objects.get(cart__buyer=buyer).quantity == 3
    assert services.checkouts_expire_due(now=checkout.expires_at + timedelta(hours=1)) == []
    assert OrderEvent.objects.filter(order=order, to_status=S.CANCELLED).count() == 1


def test_a_payment_that_arrived_before_the_timeout_sweep_wins(buyer, variant):
    checkout = factories.place(buyer, (variant, 1))
    factories.pay(checkout)  # captured, but its event was never delivered

    services.checkouts_expire_due(now=checkout.expires_at + timedelta(seconds=1))

    order = checkout.orders.get()
    assert order.status == S.PAID and stock(variant) == 9


def test_a_failed_payment_cancels_the_orders(buyer, variant, run_on_commit):
    checkout = factories.place(buyer, (variant, 2))
    run_on_commit(
        payments.payment_fail, intent=checkout.intent_id, reason="declined", idempotency_key="f"
    )
    assert checkout.orders.get().status == S.CANCELLED
    assert stock(variant) == 10


def test_refunds_above_what_was_paid_are_refused(paid_order, keeper, buyer):
    too_much = paid_order.total_fen + 1
    with pytest.raises(RefundTooLarge) as caught:
        services.order_refund(order=paid_order, actor=keeper, amount_fen=too_much)
    assert caught.value.extra["refundable_fen"] == paid_order.total_fen
    with pytest.raises(RefundTooLarge):
        services.order_refund_request(
            order=paid_order, actor=buyer, amount_fen=too_much, reason="x"
        )
    paid_order.refresh_from_db()
    assert paid_order.refunded_fen == 0 and paid_order.status == S.PAID
    assert Escrow.objects.get(reference=paid_order.reference).refunded_fen == 0


def test_a_partial_refund_lets_the_order_go_on_and_completion_releases_the_rest(
    paid_order, keeper, buyer
):
    order = services.order_refund_request(
        order=paid_order, actor=buyer, amount_fen=990, reason="少"
    )
    order = services.order_refund(order=order, actor=keeper, amount_fen=990)
    assert order.status == S.PAID and order.refunded_fen == 990
    order = services.order_ship(order=order, actor=keeper, carrier="EMS", tracking_number="E1")
    order = services.order_confirm(order=order, actor=buyer)

    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.released_fen == order.total_fen - 990
    sale = SalesOrder.objects.get(order_id=str(order.pk))
    assert (sale.amount_fen, sale.refunded_fen) == (order.total_fen, 990)
    assert payment_selectors.ledger_check() == []


def test_a_declined_refund_returns_the_order_where_it_was(paid_order, keeper, buyer):
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    order = services.order_refund_request(order=order, actor=buyer, amount_fen=100, reason="慢")
    order = services.order_refund_decline(order=order, actor=keeper, note="已发货")
    assert order.status == S.SHIPPED and order.refund_requested_fen == 0
    assert statuses(order)[-2:] == [
        (S.SHIPPED, S.REFUND_REQUESTED),
        (S.REFUND_REQUESTED, S.SHIPPED),
    ]


def test_a_full_refund_of_an_unshipped_order_releases_its_stock(paid_order, keeper, buyer):
    order = services.order_refund_request(
        order=paid_order, actor=buyer, amount_fen=paid_order.total_fen, reason="不要了"
    )
    order = services.order_refund(order=order, actor=keeper, amount_fen=order.total_fen)
    assert order.status == S.REFUNDED and order.stock_released
    assert stock(order.lines.get().variant) == 10
    with pytest.raises(InvalidTransition):
        services.order_refund(order=order, actor=keeper, amount_fen=1)


def test_delivered_orders_complete_by_themselves(paid_order, keeper, settings):
    settings.ORDERS_AUTO_CONFIRM_DAYS = 3
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    order = services.order_deliver(order=order, actor=keeper)
    assert services.orders_complete_due(now=timezone.now()) == []

    done = services.orders_complete_due(now=timezone.now() + timedelta(days=3, seconds=1))

    assert done == [order.pk]
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert Escrow.objects.get(reference=order.reference).status == EscrowStatus.RELEASED
    assert SalesOrder.objects.filter(order_id=str(order.pk)).exists()


def test_a_shipped_order_nobody_marks_delivered_completes_by_itself(
    paid_order, keeper, settings, run_on_commit
):
    settings.ORDERS_AUTO_CONFIRM_AFTER_SHIPPING_DAYS = 15
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    assert order.auto_complete_at == order.shipped_at + timedelta(days=15)
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.release_after == order.auto_complete_at
    assert services.orders_complete_due(now=order.shipped_at + timedelta(days=14)) == []

    done = services.orders_complete_due(now=order.auto_complete_at + timedelta(seconds=1))

    assert done == [order.pk]
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert Escrow.objects.get(reference=order.reference).status == EscrowStatus.RELEASED
    assert SalesOrder.objects.filter(order_id=str(order.pk)).exists()


def test_delivery_sets_the_nearer_confirmation_time(paid_order, keeper, settings):
    settings.ORDERS_AUTO_CONFIRM_AFTER_SHIPPING_DAYS = 15
    settings.ORDERS_AUTO_CONFIRM_DAYS = 3
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    order = services.order_deliver(order=order, actor=keeper)
    assert order.auto_complete_at == order.delivered_at + timedelta(days=3)
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.release_after == order.auto_complete_at


def test_a_declined_refund_of_a_shipped_order_restarts_its_clock(
    paid_order, keeper, buyer, settings
):
    settings.ORDERS_AUTO_CONFIRM_AFTER_SHIPPING_DAYS = 15
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    order = services.order_refund_request(order=order, actor=buyer, amount_fen=100, reason="慢")
    assert order.auto_complete_at is None
    assert Escrow.objects.get(reference=order.reference).release_after is None
    assert services.orders_complete_due(now=timezone.now() + timedelta(days=60)) == []
    order = services.order_refund_decline(order=order, actor=keeper, note="在路上")
    assert order.status == S.SHIPPED and order.auto_complete_at is not None
    assert Escrow.objects.get(reference=order.reference).release_after == order.auto_complete_at


def test_the_payments_automatic_release_completes_the_order(paid_order, keeper, run_on_commit):
    order = services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    order = services.order_deliver(order=order, actor=keeper)

    released = run_on_commit(
        payments.escrow_release_due, now=order.auto_complete_at + timedelta(seconds=1)
    )

    assert released == [order.reference]
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert SalesOrder.objects.filter(order_id=str(order.pk)).exists()


def _delivered(order, keeper):
    order = services.order_ship(order=order, actor=keeper, carrier="EMS", tracking_number="E")
    return services.order_deliver(order=order, actor=keeper)


def test_an_unanswered_refund_request_is_granted_and_never_pays_the_seller(
    paid_order, keeper, buyer, settings, run_on_commit
):
    settings.ORDERS_AUTO_CONFIRM_DAYS = 3
    settings.ORDERS_REFUND_ANSWER_DAYS = 5
    order = _delivered(paid_order, keeper)
    asked = timezone.now()
    order = services.order_refund_request(
        order=order, actor=buyer, amount_fen=990, reason="烂了三个", now=asked
    )
    assert order.refund_due_at == asked + timedelta(days=5) and order.auto_complete_at is None
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.release_after is None  # held while the seller decides

    # The delivery's confirmation time passes: neither sweep pays the seller.
    later = asked + timedelta(days=4)
    assert run_on_commit(payments.escrow_release_due, now=later) == []
    assert services.orders_complete_due(now=later) == []
    assert services.orders_refund_due(now=later) == []

    # The seller's time to answer runs out: the buyer gets the asked part back, the order
    # goes on as delivered, and its confirmation time starts again.
    due = asked + timedelta(days=5, seconds=1)
    with translation.override("en"):
        assert services.orders_refund_due(now=due) == [order.pk]
    assert services.orders_refund_due(now=due) == []  # a second sweep changes nothing
    order.refresh_from_db()
    assert (order.status, order.refunded_fen, order.refund_due_at) == (S.DELIVERED, 990, None)
    assert order.auto_complete_at is not None
    escrow.refresh_from_db()
    assert (escrow.status, escrow.refunded_fen) == (EscrowStatus.HELD, 990)
    assert escrow.release_after == order.auto_complete_at
    assert statuses(order)[-1] == (S.REFUND_REQUESTED, S.DELIVERED)
    event = OrderEvent.objects.filter(order=order).order_by("id").last()
    assert (event.actor, event.actor_label) == (None, services.SYSTEM)
    assert "did not answer" in event.note
    assert payment_selectors.ledger_check() == []


def test_an_unanswered_full_refund_of_an_unshipped_order_returns_its_stock(
    paid_order, buyer, settings
):
    settings.ORDERS_REFUND_ANSWER_DAYS = 2
    order = services.order_refund_request(
        order=paid_order, actor=buyer, amount_fen=paid_order.total_fen, reason="不要了"
    )
    assert services.orders_refund_due(now=timezone.now() + timedelta(days=2, seconds=1)) == [
        order.pk
    ]
    order.refresh_from_db()
    assert order.status == S.REFUNDED and order.stock_released
    assert stock(order.lines.get().variant) == 10
    assert Escrow.objects.get(reference=order.reference).status == EscrowStatus.REFUNDED


def test_the_sweeps_run_from_cron(paid_order, buyer, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.ORDERS_REFUND_ANSWER_DAYS = 0
    services.order_refund_request(order=paid_order, actor=buyer, amount_fen=100, reason="小")
    out = StringIO()
    call_command("orders", "refund-due", stdout=out)
    call_command("orders", "complete-due", stdout=out)
    call_command("orders", "expire", stdout=out)
    assert out.getvalue().splitlines() == [
        "1 refund request(s) granted",
        "0 order(s) completed",
        "0 checkout(s) cancelled",
    ]
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.refunded_fen) == (S.PAID, 100)


def test_an_answered_refund_request_is_not_granted_again(paid_order, keeper, buyer, settings):
    settings.ORDERS_AUTO_CONFIRM_DAYS = 3
    order = _delivered(paid_order, keeper)
    order = services.order_refund_request(order=order, actor=buyer, amount_fen=500, reason="小")
    order = services.order_refund_decline(order=order, actor=keeper, note="都是好的")
    assert order.status == S.DELIVERED and order.refund_due_at is None
    assert services.orders_refund_due(now=timezone.now() + timedelta(days=30)) == []
    # The buyer's confirmation time starts again and ends in the seller's favour.
    escrow = Escrow.objects.get(reference=order.reference)
    assert escrow.release_after == order.auto_complete_at is not None
    assert services.orders_complete_due(now=order.auto_complete_at + timedelta(seconds=1)) == [
        order.pk
    ]
    order.refresh_from_db()
    assert order.status == S.COMPLETED and order.refunded_fen == 0


def test_every_transition_is_audited(paid_order, keeper):
    services.order_ship(order=paid_order, actor=keeper, carrier="EMS", tracking_number="E")
    entry = AuditEntry.objects.filter(action="order.ship").get()
    assert entry.actor == keeper
    assert entry.before == {"status": "paid"} and entry.after["status"] == "shipped"


def test_addresses_normalise_the_phone_and_keep_one_default(buyer, tree):
    second = factories.address(buyer, phone="+86 139 0013 9000", is_default=True)
    assert second.phone == "+8613900139000" and second.is_default
    assert buyer.addresses.filter(is_default=True).count() == 1
    with pytest.raises(ValidationError) as caught:
        factories.address(buyer, phone="12345")
    assert caught.value.field == "phone"
    coded = factories.address(
        buyer, province="", city="", district="", division_code=tree.qianchang.code
    )
    assert coded.division == tree.qianchang and coded.province
    services.address_delete(buyer=buyer, address=second)
    assert buyer.addresses.filter(is_default=True).count() == 1


def test_buyer_and_seller_are_notified_when_an_order_is_paid(buyer, keeper, variant, run_on_commit):
    notifications = pytest.importorskip("taocun.notifications.models")
    checkout = run_on_commit(factories.place, buyer, (variant, 1))
    run_on_commit(factories.pay, checkout)
    kinds = notifications.Notification.objects.values_list("user_id", "kind")
    assert (buyer.pk, "order.placed") in kinds
    assert {(buyer.pk, "order.paid"), (keeper.pk, "order.paid")} <= set(kinds)
