"""Orders test data, made through the services (never raw saves)."""

import itertools

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.core.money import Money
from taocun.market.models import Category
from taocun.orders import services
from taocun.orders.models import Checkout
from taocun.payments import services as payments
from taocun.payments.models import PaymentIntent
from taocun.payments.providers.sandbox import SandboxProvider

_keys = itertools.count(1)


def buyer(**kwargs):
    kwargs.setdefault("password", None)  # unusable and instant (tests use force_login)
    return UserFactory(roles=[(Role.BUYER, None)], **kwargs)


def address(user, **overrides):
    fields = {
        "recipient": "李华",
        "phone": "13800138000",
        "province": "浙江省",
        "city": "金华市",
        "district": "义乌市",
        "detail": "稠州北路 1 号",
    } | overrides
    return services.address_create(buyer=user, **fields)


def categories_seed() -> None:
    """A transactional test starts from a flushed database: put back the two categories
    the market factories use (migration 0002 seeds them for every other test)."""
    fruit, _ = Category.objects.get_or_create(
        slug="fruit",
        defaults={"name_zh_hans": "水果", "name_en": "Fruit", "name_fr": "Fruits"},
        commission_rate_bp=200,
    )
    Category.objects.get_or_create(
        slug="apples",
        defaults={"name_zh_hans": "苹果", "name_en": "Apples", "name_fr": "Pommes"},
        parent=fruit,
        commission_rate_bp=200,
    )


def lines_of(*items):
    """(variant, quantity) pairs → checkout lines at the variants' current prices."""
    return [
        {"variant_id": variant.pk, "quantity": quantity, "price_fen": variant.price_fen}
        for variant, quantity in items
    ]


def place(user, *items, key=None, address_=None) -> Checkout:
    return services.checkout_place(
        buyer=user,
        address=address_ or user.addresses.first() or address(user),
        lines=lines_of(*items),
        idempotency_key=key or f"test-{next(_keys)}",
    )


def pay(checkout: Checkout) -> PaymentIntent:
    """Capture the checkout's payment as the sandbox would (the caller runs the on-commit
    callbacks, where payments announces ``payment_succeeded``)."""
    intent = PaymentIntent.objects.get(public_id=checkout.intent_id)
    return payments.payment_capture(
        intent=intent,
        amount=Money(intent.amount_fen, intent.currency),
        provider_payment_id=SandboxProvider().payment_id_for(intent.public_id),
        idempotency_key=f"test.capture:{intent.public_id}",
    )
