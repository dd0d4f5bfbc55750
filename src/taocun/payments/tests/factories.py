"""Test data for the money core, made through the services (never raw saves)."""

import itertools
from collections.abc import Sequence

import factory

from taocun.accounts.tests.factories import UserFactory
from taocun.core.money import Money
from taocun.payments import services
from taocun.payments.models import PaymentIntent
from taocun.payments.providers.sandbox import SandboxProvider

_numbers = itertools.count(1)


def person(**kwargs):
    """A user without a usable password: hashing one (Argon2) costs a fifth of a second of
    CPU, and these tests log in with ``force_login`` when they log in at all."""
    return UserFactory(password=factory.Transformer.Force("!"), **kwargs)


def next_number() -> int:
    return next(_numbers)


def checkout_open(
    *,
    orders: Sequence[tuple[object, int, int]],
    buyer=None,
    reference: str | None = None,
) -> PaymentIntent:
    """An intent for one checkout; ``orders`` are (seller, amount_fen, commission_rate_bp)."""
    number = next_number()
    reference = reference or f"test.checkout:{number}"
    splits = [
        services.Split(
            reference=f"test.order:{number}-{index}",
            seller=seller,
            amount=Money(amount_fen),
            commission_rate_bp=rate_bp,
        )
        for index, (seller, amount_fen, rate_bp) in enumerate(orders)
    ]
    return services.payment_intent_create(
        reference=reference,
        buyer=buyer or person(),
        amount=Money(sum(amount for _seller, amount, _rate in orders)),
        splits=splits,
        idempotency_key=f"test.intent:{number}",
        return_url="/orders/",
    )


def checkout_paid(**kwargs) -> PaymentIntent:
    intent = checkout_open(**kwargs)
    return services.payment_capture(
        intent=intent,
        amount=Money(intent.amount_fen, intent.currency),
        provider_payment_id=SandboxProvider().payment_id_for(intent.public_id),
        idempotency_key=f"test.capture:{intent.public_id}",
    )


def order_references(intent: PaymentIntent) -> list[str]:
    return list(intent.escrows.order_by("id").values_list("reference", flat=True))
