"""Two requests at once must have exactly one effect (PostgreSQL: real row locks).

Each call runs in its own thread with its own database connection; a barrier starts them
together. Whatever the interleaving, the outcome asserted is the same. SQLite serialises
every write transaction (BEGIN IMMEDIATE), so there is nothing to race there.
"""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from taocun.core.money import Money
from taocun.core.tests.concurrency import at_once
from taocun.payments import selectors, services
from taocun.payments.errors import InsufficientFunds, RefundTooLarge
from taocun.payments.models import (
    Escrow,
    IntentStatus,
    PaymentIntent,
    Refund,
    TransactionKind,
)
from taocun.payments.providers.sandbox import SandboxProvider
from taocun.payments.tests.factories import checkout_open, checkout_paid, order_references, person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL; SQLite runs one writer at a time")


def count(kind: str) -> int:
    from taocun.payments.models import LedgerTransaction

    return LedgerTransaction.objects.filter(kind=kind).count()


def test_two_captures_of_one_intent_capture_once():
    intent = checkout_open(orders=[(person(), 1000, 100), (person(), 500, 0)])
    payment_id = SandboxProvider().payment_id_for(intent.public_id)

    def capture(key: str) -> Callable[[], object]:
        return lambda: services.payment_capture(
            intent=intent.public_id,
            amount=Money(1500),
            provider_payment_id=payment_id,
            idempotency_key=key,
        )

    results = at_once(capture("a"), capture("b"))

    assert all(isinstance(result, PaymentIntent) for result in results), results
    assert count(TransactionKind.CAPTURE) == 1
    assert count(TransactionKind.UNAPPLIED_CAPTURE) == 0
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED
    assert selectors.ledger_check() == []


def test_two_callbacks_delivered_at_once_capture_once():
    intent = checkout_open(orders=[(person(), 1000, 100)])

    def deliver() -> object:
        payload = SandboxProvider().callback_build(
            intent_id=intent.public_id,
            reference=intent.reference,
            status="paid",
            amount=Money(1000),
            now=timezone.now(),
        )
        return Client().post("/payments/callback/sandbox/", payload).status_code

    assert at_once(deliver, deliver) == [200, 200]
    assert count(TransactionKind.CAPTURE) == 1


def test_two_payments_of_one_intent_keep_one_and_return_the_other():
    intent = checkout_open(orders=[(person(), 1000, 0)])

    def capture(payment_id: str) -> Callable[[], object]:
        return lambda: services.payment_capture(
            intent=intent.public_id,
            amount=Money(1000),
            provider_payment_id=payment_id,
            idempotency_key=f"capture:{payment_id}",
        )

    at_once(capture("first"), capture("second"))

    assert count(TransactionKind.CAPTURE) == 1
    assert count(TransactionKind.UNAPPLIED_RETURN) == 1
    assert selectors.ledger_check() == []


def test_two_refunds_that_together_exceed_the_payment_refund_once():
    reference = order_references(checkout_paid(orders=[(person(), 1000, 0)]))[0]

    def refund(key: str) -> Callable[[], object]:
        return lambda: services.refund_issue(
            reference=reference, amount=Money(600), idempotency_key=key
        )

    results = at_once(refund("a"), refund("b"))

    assert sorted(type(result).__name__ for result in results) == ["Refund", "RefundTooLarge"]
    assert any(isinstance(result, RefundTooLarge) for result in results)
    assert Escrow.objects.get(reference=reference).refunded_fen == 600
    assert count(TransactionKind.REFUND) == 1
    assert selectors.ledger_check() == []


def test_the_same_refund_twice_at_once_refunds_once():
    reference = order_references(checkout_paid(orders=[(person(), 1000, 0)]))[0]

    def refund() -> object:
        return services.refund_issue(reference=reference, amount=Money(400), idempotency_key="same")

    first, second = at_once(refund, refund)

    assert isinstance(first, Refund) and isinstance(second, Refund)
    assert first.pk == second.pk
    assert Refund.objects.count() == 1
    assert Escrow.objects.get(reference=reference).refunded_fen == 400


def test_two_payouts_that_together_exceed_the_balance_pay_once():
    seller = person()
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    services.escrow_release(reference=reference, idempotency_key="release")

    def payout(key: str) -> Callable[[], object]:
        return lambda: services.payout_request(
            seller=seller, amount=Money(700), idempotency_key=key
        )

    results = at_once(payout("a"), payout("b"))

    assert sum(isinstance(result, InsufficientFunds) for result in results) == 1
    assert selectors.seller_balance(seller=seller).available == Money(300)
    assert selectors.ledger_check() == []


def test_a_refund_after_release_and_a_payout_at_once_never_overdraw():
    seller = person()
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    services.escrow_release(reference=reference, idempotency_key="release")

    results = at_once(
        lambda: services.refund_issue(
            reference=reference, amount=Money(600), idempotency_key="refund"
        ),
        lambda: services.payout_request(seller=seller, amount=Money(600), idempotency_key="po"),
    )

    assert sum(isinstance(result, InsufficientFunds) for result in results) == 1
    assert selectors.seller_balance(seller=seller).available == Money(400)
    assert selectors.ledger_check() == []


def test_two_checkouts_of_one_reference_open_one_intent():
    seller, buyer = person(), person()

    def create(key: str) -> Callable[[], object]:
        return lambda: services.payment_intent_create(
            reference="test.checkout:race",
            buyer=buyer,
            amount=Money(500),
            splits=[services.Split(f"test.order:race-{key}", seller, Money(500), 0)],
            idempotency_key=key,
        )

    results = at_once(create("a"), create("b"))

    assert sum(isinstance(result, PaymentIntent) for result in results) == 1
    assert PaymentIntent.objects.filter(reference="test.checkout:race").count() == 1
