"""Reads of the money core. Balances are always sums of ledger entries, aggregated in the
database; nothing here trusts a stored total."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound
from taocun.core.money import Money
from taocun.payments.models import (
    NON_NEGATIVE_KINDS,
    AccountKind,
    Escrow,
    EscrowStatus,
    LedgerAccount,
    LedgerEntry,
    PaymentIntent,
    Payout,
)
from taocun.payments.services import seller_owner


def account_balance(*, account: LedgerAccount) -> Money:
    total = account.entries.aggregate(total=Sum("amount_fen"))["total"] or 0
    return Money(total, account.currency)


def owner_balances(*, owner: str, currency: str = "CNY") -> dict[str, Money]:
    """Every account of one owner, by kind (kinds without an account are left out)."""
    rows = (
        LedgerEntry.objects.filter(account__owner=owner, account__currency=currency)
        .values("account__kind")
        .annotate(total=Sum("amount_fen"))
        .values_list("account__kind", "total")
    )
    return {kind: Money(total, currency) for kind, total in rows}


@dataclass(frozen=True)
class SellerBalance:
    currency: str
    available: Money  # may be paid out or used for refunds
    pending: Money  # held in escrow for the seller's orders, not yet released
    in_transit: Money  # payouts requested, not yet confirmed by the provider


def seller_balance(*, seller: Any, currency: str = "CNY") -> SellerBalance:
    """Two aggregate queries, whatever the number of orders."""
    own = owner_balances(owner=seller_owner(seller), currency=currency)
    pending = (
        LedgerEntry.objects.filter(
            account__kind=AccountKind.ESCROW,
            account__currency=currency,
            account__escrow__seller=seller,
        ).aggregate(total=Sum("amount_fen"))["total"]
        or 0
    )
    zero = Money(0, currency)
    return SellerBalance(
        currency=currency,
        available=own.get(AccountKind.SELLER_AVAILABLE, zero),
        pending=Money(pending, currency),
        in_transit=own.get(AccountKind.PAYOUTS_IN_TRANSIT, zero),
    )


def seller_statement(*, seller: Any, currency: str = "CNY") -> QuerySet[LedgerEntry]:
    """The seller's available-balance account, newest first, each line with the balance
    after it (``balance_fen``, a window sum in the database). Slice it to paginate: the
    running balance is computed over all lines before the slice is taken."""
    return (
        LedgerEntry.objects.filter(
            account__kind=AccountKind.SELLER_AVAILABLE,
            account__owner=seller_owner(seller),
            account__currency=currency,
        )
        .select_related("transaction")
        .annotate(balance_fen=Window(Sum("amount_fen"), order_by=F("id").asc()))
        .order_by("-id")
    )


def seller_payouts(*, seller: Any) -> QuerySet[Payout]:
    return Payout.objects.filter(seller=seller).order_by("-id")


@dataclass(frozen=True)
class OrderPayment:
    reference: str
    status: str
    seller_id: int
    amount: Money
    refunded: Money
    released: Money
    commission: Money
    release_after: Any
    released_at: Any


@dataclass(frozen=True)
class PaymentStatus:
    """Where the money of a checkout (or of one order) stands."""

    reference: str
    kind: str  # "checkout" or "order"
    status: str  # the intent's status for a checkout, the escrow's for an order
    intent_id: str
    buyer_id: int
    amount: Money
    paid_at: Any
    orders: list[OrderPayment] = field(default_factory=list)


def _order_payment(escrow: Escrow) -> OrderPayment:
    def money(fen: int) -> Money:
        return Money(fen, escrow.currency)

    return OrderPayment(
        reference=escrow.reference,
        status=escrow.status,
        seller_id=escrow.seller_id,
        amount=money(escrow.amount_fen),
        refunded=money(escrow.refunded_fen),
        released=money(escrow.released_fen),
        commission=money(escrow.commission_fen),
        release_after=escrow.release_after,
        released_at=escrow.released_at,
    )


def payment_status(*, reference: str) -> PaymentStatus:
    """The status of a checkout reference (its latest intent) or of an order reference
    (its live escrow). Raises NotFound when neither knows it."""
    intent = (
        PaymentIntent.objects.filter(reference=reference)
        .order_by(
            # A paid or pending intent speaks for the checkout over older failed ones.
            F("paid_at").desc(nulls_last=True),
            "-id",
        )
        .first()
    )
    if intent is not None:
        escrows = intent.escrows.order_by("id")
        return PaymentStatus(
            reference=reference,
            kind="checkout",
            status=intent.status,
            intent_id=intent.public_id,
            buyer_id=intent.buyer_id,
            amount=Money(intent.amount_fen, intent.currency),
            paid_at=intent.paid_at,
            orders=[_order_payment(escrow) for escrow in escrows],
        )
    escrow = (
        Escrow.objects.filter(reference=reference)
        .select_related("intent")
        .order_by(F("account_id").desc(nulls_last=True), "-id")
        .first()
    )
    if escrow is None:
        raise NotFound(
            _("No payment is known for %(reference)s.") % {"reference": reference[:100]},
            field="reference",
        )
    return PaymentStatus(
        reference=reference,
        kind="order",
        status=escrow.status,
        intent_id=escrow.intent.public_id,
        buyer_id=escrow.intent.buyer_id,
        amount=Money(escrow.amount_fen, escrow.currency),
        paid_at=escrow.intent.paid_at,
        orders=[_order_payment(escrow)],
    )


def payment_parties(*, reference: str) -> set[int]:
    """User ids allowed to see a reference's payment: the buyer and the sellers."""
    buyers = PaymentIntent.objects.filter(reference=reference).values_list("buyer_id", flat=True)
    by_order = Escrow.objects.filter(reference=reference).values_list(
        "seller_id", "intent__buyer_id"
    )
    sellers = Escrow.objects.filter(intent__reference=reference).values_list("seller_id", flat=True)
    parties = {*buyers, *sellers}
    for seller_id, buyer_id in by_order:
        parties.update((seller_id, buyer_id))
    return parties


@dataclass(frozen=True)
class TrialBalanceLine:
    kind: str
    currency: str
    total: Money
    accounts: int


def trial_balance() -> list[TrialBalanceLine]:
    """Totals by account kind and currency; the lines of each currency sum to zero."""
    rows = (
        LedgerEntry.objects.values("account__kind", "account__currency")
        .annotate(total=Sum("amount_fen"), accounts=Count("account_id", distinct=True))
        .order_by("account__currency", "account__kind")
    )
    return [
        TrialBalanceLine(
            kind=row["account__kind"],
            currency=row["account__currency"],
            total=Money(row["total"], row["account__currency"]),
            accounts=row["accounts"],
        )
        for row in rows
    ]


LIMIT = 100


def ledger_check() -> list[str]:
    """Every way the books could be wrong, as sentences; an empty list means they are right.

    1. a transaction whose entries do not sum to zero, or are in another currency;
    2. a balance below zero where money is held (above zero for a provider);
    3. an escrow whose ledger account disagrees with its stored totals;
    4. a currency whose entries do not sum to zero (follows from 1, checked anyway).

    Each check is one aggregate query; at most 100 problems of each kind are listed.
    """
    problems: list[str] = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount_fen"))
        .exclude(total=0)
        .order_by("transaction_id")[:LIMIT]
    )
    problems += [
        f"transaction {row['transaction_id']} sums to {row['total']} fen, not zero"
        for row in unbalanced
    ]
    mixed = (
        LedgerEntry.objects.exclude(account__currency=F("transaction__currency"))
        .values_list("id", "transaction_id")
        .order_by("id")[:LIMIT]
    )
    problems += [
        f"entry {entry_id} of transaction {transaction_id} is in another currency"
        for entry_id, transaction_id in mixed
    ]
    wrong_sign = (
        LedgerEntry.objects.values("account_id", "account__kind", "account__owner")
        .annotate(total=Sum("amount_fen"))
        .filter(
            Q(account__kind__in=NON_NEGATIVE_KINDS, total__lt=0)
            | Q(account__kind=AccountKind.PROVIDER, total__gt=0)
        )
        .order_by("account_id")[:LIMIT]
    )
    problems += [
        f"account {row['account__kind']}:{row['account__owner']} has {row['total']} fen"
        for row in wrong_sign
    ]
    disagreeing = (
        Escrow.objects.exclude(status__in=[EscrowStatus.VOID, EscrowStatus.AWAITING_PAYMENT])
        .annotate(
            held=Coalesce(Sum("account__entries__amount_fen"), 0),
            expected=Case(
                When(status=EscrowStatus.HELD, then=F("amount_fen") - F("refunded_fen")),
                default=Value(0),
            ),
        )
        .exclude(held=F("expected"))
        .values_list("reference", "status", "held", "expected")
        .order_by("id")[:LIMIT]
    )
    problems += [
        f"escrow {reference} ({status}) holds {held} fen, expected {expected}"
        for reference, status, held, expected in disagreeing
    ]
    per_currency = (
        LedgerEntry.objects.values("account__currency")
        .annotate(total=Sum("amount_fen"))
        .exclude(total=0)
        .order_by("account__currency")
    )
    problems += [
        f"{row['account__currency']} entries sum to {row['total']} fen" for row in per_currency
    ]
    return problems


def intent_get(*, public_id: str, provider: str | None = None) -> PaymentIntent:
    intents = PaymentIntent.objects.filter(public_id=public_id)
    if provider is not None:
        intents = intents.filter(provider=provider)
    intent = intents.first()
    if intent is None:
        raise NotFound(_("There is no payment %(id)s.") % {"id": public_id[:60]}, field="intent")
    return intent
