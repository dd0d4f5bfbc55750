"""Reviews test data. Shops and products come from market's factories (through its
services); a completed order is written directly through the orders models — the state
the orders services leave after delivery and confirmation — so these tests do not depend
on the payment flow. ``test_services.test_review_of_an_order_completed_through_orders``
checks the same thing end to end through the orders services."""

import itertools

from django.utils import timezone

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.market.models import Product, Variant
from taocun.orders.models import Checkout, CheckoutStatus, Order, OrderLine, OrderStatus

_keys = itertools.count(1)


def buyer(**kwargs):
    kwargs.setdefault("password", None)  # unusable and instant: tests use force_login
    return UserFactory(roles=[(Role.BUYER, None)], **kwargs)


def order(user, *products: Product, status: str = OrderStatus.COMPLETED, quantity: int = 1):
    """One order of ``user`` at the products' shop, one line per product (first pack)."""
    variants = [Variant.objects.filter(product=p).order_by("id").first() for p in products]
    shop = products[0].shop
    keeper = shop.household.members_accounts.order_by("id").first()
    goods = sum(v.price_fen * quantity for v in variants)
    weight = sum(v.weight_g * quantity for v in variants)
    checkout = Checkout.objects.create(
        buyer=user,
        idempotency_key=f"reviews-test-{next(_keys)}",
        fingerprint="0" * 64,
        status=CheckoutStatus.PAID,
        goods_fen=goods,
        shipping_fen=0,
        total_fen=goods,
        ship_recipient="李华",
        ship_phone="13800138000",
        ship_region="浙江省 金华市 义乌市",
        ship_detail="稠州北路 1 号",
    )
    now = timezone.now()
    placed = Order.objects.create(
        checkout=checkout,
        buyer=user,
        shop=shop,
        seller=keeper,
        status=status,
        goods_fen=goods,
        shipping_fen=0,
        total_fen=goods,
        weight_g=weight,
        commission_rate_bp=200,
        paid_at=now,
        completed_at=now if status == OrderStatus.COMPLETED else None,
    )
    for variant in variants:
        OrderLine.objects.create(
            order=placed,
            variant=variant,
            product=variant.product,
            category=variant.product.category,
            product_name=variant.product.name,
            variant_label=variant.label,
            unit_price_fen=variant.price_fen,
            quantity=quantity,
            unit_weight_g=variant.weight_g,
            line_total_fen=variant.price_fen * quantity,
            commission_rate_bp=200,
        )
    return placed


def line(user, product: Product, **kwargs) -> OrderLine:
    return order(user, product, **kwargs).lines.get()
