"""The money services through their public functions, on the real database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.payments import selectors, services, signals
from taocun.payments.errors import IdempotencyConflict, InsufficientFunds, RefundTooLarge
from taocun.payments.models import (
    AccountKind,
    Escrow,
    EscrowStatus,
    IntentStatus,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    PayoutStatus,
    RefundStage,
    TransactionKind,
)
from taocun.payments.providers.sandbox import SandboxProvider
from taocun.payments.tasks import escrow_release_due_task
from taocun.payments.tests.factories import checkout_open, checkout_paid, order_references, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    return person()


@pytest.fixture
def other_seller():
    return person()


def available(seller) -> int:
    return selectors.seller_balance(seller=seller).available.amount_fen


def platform() -> int:
    return (
        selectors.owner_balances(owner=services.PLATFORM_OWNER)
        .get(AccountKind.PLATFORM_COMMISSION, Money(0))
        .amount_fen
    )


def books_are_right() -> None:
    assert selectors.ledger_check() == []
    assert sum(line.total.amount_fen for line in selectors.trial_balance()) == 0


def ledger_size() -> tuple[int, int]:
    return LedgerTransaction.objects.count(), LedgerEntry.objects.count()


def release(reference: str, key: str = "") -> Escrow:
    return services.escrow_release(reference=reference, idempotency_key=key or f"r:{reference}")


def refund(reference: str, fen: int, key: str) -> object:
    return services.refund_issue(reference=reference, amount=Money(fen), idempotency_key=key)


# --- commission arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_fen", "rate_bp", "expected"),
    [(1999, 250, 50), (1980, 250, 50), (1979, 250, 49), (100, 0, 0), (1, 10_000, 1), (3, 1, 0)],
)
def test_commission_is_rounded_half_up_to_the_fen(amount_fen, rate_bp, expected):
    assert services.commission_for(amount_fen=amount_fen, rate_bp=rate_bp) == expected


# --- intents ----------------------------------------------------------------------------------


def test_an_intent_holds_one_escrow_per_order_and_points_to_the_pay_page(seller, other_seller):
    intent = checkout_open(orders=[(seller, 1500, 200), (other_seller, 2500, 0)])

    assert intent.status == IntentStatus.PENDING
    assert intent.amount_fen == 4000
    assert intent.redirect_url == f"/payments/sandbox/pay/{intent.public_id}/"
    escrows = list(intent.escrows.order_by("id"))
    assert [(e.seller, e.amount_fen, e.status) for e in escrows] == [
        (seller, 1500, EscrowStatus.AWAITING_PAYMENT),
        (other_seller, 2500, EscrowStatus.AWAITING_PAYMENT),
    ]
    assert ledger_size() == (0, 0)  # nothing moves before the buyer pays
    assert AuditEntry.objects.filter(action="payment.intent_create").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": Money(999)}, "splits"),
        ({"amount": Money(0)}, "amount"),
        ({"rate": 10_001}, "splits[0].commission_rate_bp"),
        ({"rate": -1}, "splits[0].commission_rate_bp"),
        ({"order_fen": -5}, "splits[0].amount"),
        ({"order_ref": "订单 1"}, "splits[0].reference"),
        ({"reference": ""}, "reference"),
        ({"return_url": "https://evil.example/steal"}, "return_url"),
    ],
)
def test_bad_intents_are_refused_naming_the_field(seller, change, field):
    order_fen = change.get("order_fen", 1000)
    with pytest.raises(ValidationError) as caught:
        services.payment_intent_create(
            reference=change.get("reference", "test.checkout:bad"),
            buyer=person(),
            amount=change.get("amount", Money(1000)),
            splits=[
                services.Split(
                    reference=change.get("order_ref", "test.order:bad"),
                    seller=seller,
                    amount=Money(order_fen),
                    commission_rate_bp=change.get("rate", 100),
                )
            ],
            idempotency_key="bad",
            return_url=change.get("return_url", ""),
        )
    assert caught.value.field == field
    assert not PaymentIntent.objects.exists()


def test_the_same_order_twice_in_one_payment_is_refused(seller):
    split = services.Split(
        reference="test.order:twice", seller=seller, amount=Money(500), commission_rate_bp=0
    )
    with pytest.raises(ValidationError, match="appears twice"):
        services.payment_intent_create(
            reference="test.checkout:twice",
            buyer=person(),
            amount=Money(1000),
            splits=[split, split],
            idempotency_key="twice",
        )


def test_the_same_key_twice_returns_the_same_intent_and_other_parameters_conflict(seller):
    buyer = person()
    kwargs = {
        "reference": "test.checkout:same",
        "buyer": buyer,
        "amount": Money(800),
        "splits": [services.Split("test.order:same", seller, Money(800), 300)],
        "idempotency_key": "checkout-same-1",
    }

    first = services.payment_intent_create(**kwargs)
    again = services.payment_intent_create(**kwargs)
    with pytest.raises(IdempotencyConflict) as caught:
        services.payment_intent_create(
            **{
                **kwargs,
                "amount": Money(900),
                "splits": [services.Split("test.order:same", seller, Money(900), 300)],
            }
        )

    assert again.pk == first.pk
    assert PaymentIntent.objects.count() == 1
    assert caught.value.code == "idempotency_conflict"
    assert caught.value.field == "idempotency_key"


def test_a_checkout_has_one_open_payment_and_may_retry_after_a_failure(seller):
    intent = checkout_open(orders=[(seller, 700, 0)], reference="test.checkout:retry")
    orders = order_references(intent)

    with pytest.raises(Conflict) as caught:
        services.payment_intent_create(
            reference="test.checkout:retry",
            buyer=person(),
            amount=Money(700),
            splits=[services.Split(orders[0], seller, Money(700), 0)],
            idempotency_key="retry-2",
        )
    assert caught.value.code == "payment_exists"

    services.payment_fail(intent=intent, reason="card declined", idempotency_key="fail-1")
    retry = services.payment_intent_create(
        reference="test.checkout:retry",
        buyer=person(),
        amount=Money(700),
        splits=[services.Split(orders[0], seller, Money(700), 0)],
        idempotency_key="retry-3",
    )

    assert retry.status == IntentStatus.PENDING
    assert Escrow.objects.get(intent=intent).status == EscrowStatus.VOID


def test_an_expired_pending_intent_is_cancelled_by_a_new_one(seller):
    intent = checkout_open(orders=[(seller, 700, 0)], reference="test.checkout:expired")
    PaymentIntent.objects.filter(pk=intent.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    retry = services.payment_intent_create(
        reference="test.checkout:expired",
        buyer=person(),
        amount=Money(700),
        splits=[services.Split(order_references(intent)[0], seller, Money(700), 0)],
        idempotency_key="expired-2",
    )

    intent.refresh_from_db()
    assert (intent.status, intent.closed_reason) == (IntentStatus.CANCELLED, "expired")
    assert retry.status == IntentStatus.PENDING


def test_an_order_in_a_live_payment_cannot_be_paid_by_another_checkout(seller):
    intent = checkout_open(orders=[(seller, 700, 0)])

    with pytest.raises(Conflict) as caught:
        services.payment_intent_create(
            reference="test.checkout:other",
            buyer=person(),
            amount=Money(700),
            splits=[services.Split(order_references(intent)[0], seller, Money(700), 0)],
            idempotency_key="other",
        )
    assert caught.value.code == "order_in_payment"


def test_a_paid_intent_cannot_be_cancelled_and_a_cancelled_one_stays_cancelled(seller):
    paid = checkout_paid(orders=[(seller, 700, 0)])
    with pytest.raises(Conflict, match="refund"):
        services.payment_intent_cancel(intent=paid, idempotency_key="cancel-paid")

    open_intent = checkout_open(orders=[(seller, 300, 0)])
    services.payment_intent_cancel(intent=open_intent, idempotency_key="c1", reason="timeout")
    again = services.payment_intent_cancel(intent=open_intent, idempotency_key="c2")

    assert again.status == IntentStatus.CANCELLED
    assert again.closed_reason == "timeout"


# --- capture ----------------------------------------------------------------------------------


def test_capture_puts_each_order_into_its_escrow(seller, other_seller):
    intent = checkout_paid(orders=[(seller, 1500, 200), (other_seller, 2500, 0)])

    assert intent.status == IntentStatus.SUCCEEDED and intent.paid_at is not None
    assert selectors.seller_balance(seller=seller).pending == Money(1500)
    assert selectors.seller_balance(seller=other_seller).pending == Money(2500)
    assert available(seller) == 0
    capture = LedgerTransaction.objects.get(kind=TransactionKind.CAPTURE)
    amounts = sorted(capture.entries.values_list("amount_fen", flat=True))
    assert amounts == [-4000, 1500, 2500]
    status = selectors.payment_status(reference=intent.reference)
    assert (status.kind, status.status) == ("checkout", IntentStatus.SUCCEEDED)
    assert [o.status for o in status.orders] == [EscrowStatus.HELD, EscrowStatus.HELD]
    books_are_right()


def test_capturing_the_same_payment_again_changes_nothing(seller):
    intent = checkout_paid(orders=[(seller, 1000, 0)])
    before = ledger_size()

    services.payment_capture(
        intent=intent,
        amount=Money(1000),
        provider_payment_id=intent.provider_payment_id,
        idempotency_key="another-key-same-payment",
    )

    assert ledger_size() == before


def test_a_capture_of_the_wrong_amount_is_refused(seller):
    intent = checkout_open(orders=[(seller, 1000, 0)])

    with pytest.raises(ValidationError) as caught:
        services.payment_capture(
            intent=intent, amount=Money(1), provider_payment_id="p", idempotency_key="k"
        )

    assert caught.value.code == "amount_mismatch"
    assert ledger_size() == (0, 0)
    intent.refresh_from_db()
    assert intent.status == IntentStatus.PENDING


def test_money_for_a_closed_intent_or_a_second_payment_goes_straight_back(seller):
    cancelled = checkout_open(orders=[(seller, 600, 0)])
    services.payment_intent_cancel(intent=cancelled, idempotency_key="cancel")
    paid = checkout_paid(orders=[(seller, 400, 0)])

    services.payment_capture(
        intent=cancelled, amount=Money(600), provider_payment_id="late", idempotency_key="l1"
    )
    services.payment_capture(
        intent=paid, amount=Money(400), provider_payment_id="dup", idempotency_key="l2"
    )

    kinds = list(LedgerTransaction.objects.values_list("kind", flat=True))
    assert kinds.count(TransactionKind.UNAPPLIED_CAPTURE) == 2
    assert kinds.count(TransactionKind.UNAPPLIED_RETURN) == 2
    cancelled.refresh_from_db()
    assert cancelled.status == IntentStatus.CANCELLED
    assert selectors.seller_balance(seller=seller).pending == Money(400)
    assert AuditEntry.objects.filter(action="payment.unapplied_returned").count() == 2
    books_are_right()


# --- release ----------------------------------------------------------------------------------


def test_release_pays_the_seller_minus_the_commission(seller):
    intent = checkout_paid(orders=[(seller, 1980, 250)])

    escrow = release(order_references(intent)[0])

    assert (escrow.status, escrow.released_fen, escrow.commission_fen) == (
        EscrowStatus.RELEASED,
        1980,
        50,
    )
    assert available(seller) == 1930
    assert platform() == 50
    assert selectors.seller_balance(seller=seller).pending == Money(0)
    books_are_right()


def test_a_zero_commission_order_pays_the_seller_everything(seller):
    intent = checkout_paid(orders=[(seller, 1234, 0)])

    release(order_references(intent)[0])

    assert available(seller) == 1234
    assert platform() == 0
    # No zero entries are written.
    release_tx = LedgerTransaction.objects.get(kind=TransactionKind.RELEASE)
    assert release_tx.entries.count() == 2


def test_releasing_twice_releases_once(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 100)]))[0]

    release(reference, "buyer-confirmed")
    release(reference, "auto-release")
    release(reference, "buyer-confirmed")

    assert LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count() == 1
    assert available(seller) == 990


def test_an_unpaid_or_unknown_order_cannot_be_released(seller):
    reference = order_references(checkout_open(orders=[(seller, 1000, 0)]))[0]

    with pytest.raises(Conflict) as caught:
        release(reference)
    assert caught.value.code == "not_held"
    with pytest.raises(NotFound):
        release("test.order:nobody")


# --- refunds ----------------------------------------------------------------------------------


def test_a_partial_refund_before_release_comes_out_of_escrow(seller):
    reference = order_references(checkout_paid(orders=[(seller, 2000, 500)]))[0]

    done = refund(reference, 500, "rf-1")
    escrow = release(reference)

    assert done.stage == RefundStage.BEFORE_RELEASE
    assert (escrow.refunded_fen, escrow.released_fen, escrow.commission_fen) == (500, 1500, 75)
    assert available(seller) == 1425
    assert platform() == 75
    books_are_right()


def test_a_refund_above_what_was_paid_is_refused_and_changes_nothing(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    refund(reference, 600, "rf-1")
    before = ledger_size()

    with pytest.raises(RefundTooLarge) as caught:
        refund(reference, 401, "rf-2")

    assert caught.value.code == "refund_exceeds_paid"
    assert caught.value.field == "amount"
    assert caught.value.extra["refundable_fen"] == 400
    assert "¥4.00" in caught.value.message
    assert ledger_size() == before
    refund(reference, 400, "rf-3")
    assert Escrow.objects.get(reference=reference).status == EscrowStatus.REFUNDED
    books_are_right()


def test_a_refund_after_release_comes_from_the_seller_and_returns_the_commission(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1999, 250)]))[0]
    release(reference)
    assert (available(seller), platform()) == (1949, 50)

    first = refund(reference, 999, "rf-1")
    assert first.stage == RefundStage.AFTER_RELEASE
    # Commission on the 1000 fen that remain: 25; so 25 of the 50 go back.
    assert first.commission_returned_fen == 25
    assert (available(seller), platform()) == (975, 25)

    refund(reference, 1000, "rf-2")
    assert (available(seller), platform()) == (0, 0)
    assert Escrow.objects.get(reference=reference).status == EscrowStatus.REFUNDED
    books_are_right()


def test_a_refund_after_payout_is_refused_when_the_seller_balance_is_short(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    release(reference)
    services.payout_request(seller=seller, amount=Money(800), idempotency_key="po-1")
    before = ledger_size()

    with pytest.raises(InsufficientFunds) as caught:
        refund(reference, 500, "rf-1")

    assert caught.value.code == "insufficient_funds"
    assert "¥2.00" in caught.value.message and "¥5.00" in caught.value.message
    assert ledger_size() == before
    assert Escrow.objects.get(reference=reference).refunded_fen == 0


def test_the_same_refund_key_twice_refunds_once_and_another_amount_conflicts(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]

    first = refund(reference, 300, "rf-same")
    again = refund(reference, 300, "rf-same")
    with pytest.raises(IdempotencyConflict):
        refund(reference, 301, "rf-same")

    assert again.pk == first.pk
    assert Escrow.objects.get(reference=reference).refunded_fen == 300


def test_an_unpaid_order_cannot_be_refunded(seller):
    reference = order_references(checkout_open(orders=[(seller, 1000, 0)]))[0]

    with pytest.raises(Conflict) as caught:
        refund(reference, 100, "rf")
    assert caught.value.code == "not_paid"


# --- payouts ----------------------------------------------------------------------------------


def test_a_payout_travels_from_available_to_in_transit_to_out(seller):
    release(order_references(checkout_paid(orders=[(seller, 5000, 0)]))[0])

    payout = services.payout_request(seller=seller, amount=Money(3000), idempotency_key="po")
    balance = selectors.seller_balance(seller=seller)
    assert (balance.available, balance.in_transit) == (Money(2000), Money(3000))
    assert payout.provider_reference == f"sbx_po_{payout.pk}"

    services.payout_complete(payout=payout, idempotency_key="po-done")
    balance = selectors.seller_balance(seller=seller)
    assert (balance.available, balance.in_transit) == (Money(2000), Money(0))
    with pytest.raises(Conflict):
        services.payout_fail(payout=payout, reason="late", idempotency_key="po-fail")
    books_are_right()


def test_a_failed_payout_returns_the_money(seller):
    release(order_references(checkout_paid(orders=[(seller, 5000, 0)]))[0])
    payout = services.payout_request(seller=seller, amount=Money(5000), idempotency_key="po")

    failed = services.payout_fail(payout=payout, reason="account closed", idempotency_key="f1")
    services.payout_fail(payout=payout, reason="account closed", idempotency_key="f2")

    assert failed.status == PayoutStatus.FAILED
    assert available(seller) == 5000
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_FAIL).count() == 1
    with pytest.raises(Conflict):
        services.payout_complete(payout=payout, idempotency_key="c1")


def test_a_payout_above_the_available_balance_is_refused(seller):
    checkout_paid(orders=[(seller, 5000, 0)])  # pending, not available

    with pytest.raises(InsufficientFunds):
        services.payout_request(seller=seller, amount=Money(1), idempotency_key="po")
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT).exists()


def test_the_statement_has_a_running_balance(seller):
    reference = order_references(checkout_paid(orders=[(seller, 10_000, 100)]))[0]
    release(reference)  # +9900
    refund(reference, 1000, "rf")  # -990 (10 of commission returned)
    services.payout_request(seller=seller, amount=Money(4000), idempotency_key="po")

    lines = list(selectors.seller_statement(seller=seller))

    assert [(line.transaction.kind, line.amount_fen, line.balance_fen) for line in lines] == [
        (TransactionKind.PAYOUT, -4000, 4910),
        (TransactionKind.REFUND, -990, 8910),
        (TransactionKind.RELEASE, 9900, 9900),
    ]
    assert [line.balance_fen for line in selectors.seller_statement(seller=seller)[1:2]] == [8910]


# --- automatic release ------------------------------------------------------------------------


def test_escrows_are_released_automatically_once_their_time_has_come(
    seller, django_capture_on_commit_callbacks
):
    intent = checkout_paid(orders=[(seller, 1000, 0), (seller, 2000, 0)])
    first, second = order_references(intent)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.escrow_schedule_release(
            reference=first, release_after=now + timedelta(days=7), idempotency_key="s1"
        )
    services.escrow_schedule_release(
        reference=second, release_after=now + timedelta(days=10), idempotency_key="s2"
    )
    assert DBTaskResult.objects.filter(run_after=now + timedelta(days=7)).exists()

    assert services.escrow_release_due(now=now + timedelta(days=6)) == []
    assert services.escrow_release_due(now=now + timedelta(days=8)) == [first]
    assert services.escrow_release_due(now=now + timedelta(days=8)) == []
    assert services.escrow_release_due(now=now + timedelta(days=11)) == [second]
    assert available(seller) == 3000
    assert escrow_release_due_task.call() == 0  # nothing left that is due
    books_are_right()


def test_only_held_escrows_can_be_scheduled(seller):
    reference = order_references(checkout_open(orders=[(seller, 1000, 0)]))[0]

    with pytest.raises(Conflict):
        services.escrow_schedule_release(
            reference=reference, release_after=timezone.now(), idempotency_key="s"
        )
    with pytest.raises(ValidationError):
        services.escrow_schedule_release(
            reference=reference,
            release_after=timezone.now().replace(tzinfo=None),
            idempotency_key="s",
        )


def test_a_fully_refunded_escrow_is_not_released_automatically(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    services.escrow_schedule_release(
        reference=reference, release_after=timezone.now(), idempotency_key="s"
    )
    refund(reference, 1000, "rf")

    assert services.escrow_release_due(now=timezone.now() + timedelta(days=1)) == []
    assert available(seller) == 0


# --- the books --------------------------------------------------------------------------------


def test_ledger_rows_are_append_only(seller):
    checkout_paid(orders=[(seller, 1000, 0)])
    entry = LedgerEntry.objects.first()

    entry.amount_fen = 1
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        LedgerTransaction.objects.first().delete()


def test_every_movement_is_audited(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    refund(reference, 100, "rf")
    release(reference)
    services.payout_request(seller=seller, amount=Money(100), idempotency_key="po")

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "payment.intent_create",
        "payment.capture",
        "escrow.refund",
        "escrow.release",
        "payout.request",
    } <= actions


def test_the_sandbox_secret_comes_from_settings_when_set(settings):
    settings.PAYMENTS_SANDBOX_SECRET = "one"
    first = SandboxProvider().payment_id_for("pi_x")
    settings.PAYMENTS_SANDBOX_SECRET = "two"
    assert SandboxProvider().payment_id_for("pi_x") != first


def test_idempotency_keys_up_to_200_characters_are_accepted(seller):
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]

    refund(reference, 100, "k" * 200)
    with pytest.raises(ValidationError) as caught:
        refund(reference, 100, "k" * 201)

    assert caught.value.field == "idempotency_key"
    assert Escrow.objects.get(reference=reference).refunded_fen == 100


def test_splits_may_be_mappings_with_seller_ids(seller):
    intent = services.payment_intent_create(
        reference="test.checkout:ids",
        buyer=person().pk,
        amount=Money(300),
        splits=[
            {
                "reference": "test.order:ids",
                "seller": seller.pk,
                "amount": Money(300),
                "commission_rate_bp": 0,
            }
        ],
        idempotency_key="ids",
    )

    assert intent.escrows.get().seller == seller
    assert selectors.seller_balance(seller=seller.pk).pending == Money(0)


def test_an_unknown_seller_id_is_refused_naming_the_order(seller):
    with pytest.raises(ValidationError) as caught:
        services.payment_intent_create(
            reference="test.checkout:ghost",
            buyer=seller,
            amount=Money(300),
            splits=[
                {
                    "reference": "test.order:ghost",
                    "seller": 987654,
                    "amount": Money(300),
                    "commission_rate_bp": 0,
                }
            ],
            idempotency_key="ghost",
        )

    assert caught.value.field == "splits[0].seller"
    with pytest.raises(ValidationError) as missing:
        services.payment_intent_create(
            reference="test.checkout:ghost",
            buyer=seller,
            amount=Money(300),
            splits=[{"reference": "test.order:ghost", "seller": seller}],
            idempotency_key="ghost",
        )
    assert missing.value.field == "splits[0].amount"


def test_domain_events_are_sent_after_commit(seller, django_capture_on_commit_callbacks):
    heard = []

    def listen(signal, sender, **values):
        heard.append((signal, values))

    receivers = [signals.payment_succeeded, signals.escrow_released, signals.refund_issued]
    for signal in receivers:
        signal.connect(listen, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            intent = checkout_paid(orders=[(seller, 1000, 100)])
        reference = order_references(intent)[0]
        with django_capture_on_commit_callbacks(execute=True):
            refund(reference, 100, "rf")
            release(reference)
    finally:
        for signal in receivers:
            signal.disconnect(listen)

    assert [signal for signal, _values in heard] == [
        signals.payment_succeeded,
        signals.refund_issued,
        signals.escrow_released,
    ]
    assert heard[0][1] == {
        "intent_id": intent.public_id,
        "reference": intent.reference,
        "order_references": [reference],
    }
    assert heard[1][1]["amount_fen"] == 100
    assert heard[2][1]["commission_fen"] == 9 and heard[2][1]["released_fen"] == 900
