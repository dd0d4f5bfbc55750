"""``taocun payments …`` through call_command."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from taocun.core.money import Money
from taocun.payments import selectors, services
from taocun.payments.models import (
    AccountKind,
    LedgerEntry,
    LedgerTransaction,
    PayoutStatus,
    TransactionKind,
)
from taocun.payments.tests.factories import checkout_paid, order_references, person

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("payments", *args, stdout=out)
    return out.getvalue()


def test_check_prints_the_trial_balance_of_right_books():
    seller = person()
    reference = order_references(checkout_paid(orders=[(seller, 10_000, 300)]))[0]
    services.escrow_release(reference=reference, idempotency_key="r")

    output = run("check")

    assert "platform_commission" in output and " 3.00" in output
    assert "-100.00" in output  # the provider: money held for others
    assert "The ledger balances." in output


def test_check_finds_an_unbalanced_transaction_and_a_negative_balance():
    """Rows written around the services (as a bug or a hand edit would) are caught."""
    checkout_paid(orders=[(person(), 1000, 0)])
    account = services.account_get(
        kind=AccountKind.SELLER_AVAILABLE, owner="user:0", currency="CNY"
    )
    broken = LedgerTransaction.objects.create(
        kind=TransactionKind.RELEASE, idempotency_key="hand-edit", reference="x", currency="CNY"
    )
    LedgerEntry.objects.bulk_create(
        [LedgerEntry(transaction=broken, account=account, amount_fen=-5)]
    )

    problems = selectors.ledger_check()
    with pytest.raises(CommandError) as caught:
        run("check")

    assert any(f"transaction {broken.pk} sums to -5" in p for p in problems)
    assert any("seller_available:user:0 has -5" in p for p in problems)
    assert any("CNY entries sum to -5" in p for p in problems)
    assert caught.value.returncode == 2


def test_release_due_and_payout_settlement():
    seller = person()
    reference = order_references(checkout_paid(orders=[(seller, 1000, 0)]))[0]
    services.escrow_schedule_release(
        reference=reference,
        release_after=datetime(2020, 1, 1, tzinfo=UTC),
        idempotency_key="s",
    )

    assert run("release-due").strip() == "1 escrow(s) released"
    payout = services.payout_request(seller=seller, amount=Money(400), idempotency_key="p1")
    assert run("payout-complete", str(payout.pk)).strip() == f"payout {payout.pk}: paid"
    second = services.payout_request(seller=seller, amount=Money(600), idempotency_key="p2")
    assert run("payout-fail", str(second.pk), "--reason", "closed").strip().endswith("failed")
    second.refresh_from_db()
    assert second.status == PayoutStatus.FAILED
    assert selectors.seller_balance(seller=seller).available == Money(600)


def test_an_unknown_payout_is_a_clean_error():
    with pytest.raises(CommandError, match="no payout 999"):
        run("payout-complete", "999")
