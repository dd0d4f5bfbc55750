"""The payments API (mounted at /api/v1/payments): a seller's balance, statement and
payouts, and the status of a payment for its buyer and sellers.

Money is moved by the marketplace through ``payments.services``, not through this API;
the one write here is a seller's payout request, which needs an ``Idempotency-Key``
header so that a retried request (a dropped mobile connection) never pays out twice.
"""

from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.pagination import paginate

from taocun.core.money import Money
from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.payments import selectors, services
from taocun.payments.access import access_payment_status
from taocun.payments.models import LedgerEntry, Payout
from taocun.payments.schemas import (
    BalanceOut,
    Currency,
    PaymentStatusOut,
    PayoutIn,
    PayoutOut,
    StatementLineOut,
    Text,
)

router = Router()

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=150,
        description="Any unique string; repeating it repeats nothing",
    ),
]


class CurrencyIn(Schema):
    currency: Currency = "CNY"


class ReferenceIn(Schema):
    reference: Text = Field(
        min_length=1, max_length=100, description="A checkout or order reference"
    )


@router.get("/balance", response=BalanceOut, summary="My balance")
def balance(request: HttpRequest, query: Query[CurrencyIn]) -> BalanceOut:
    found = selectors.seller_balance(seller=request.auth, currency=query.currency)
    return BalanceOut(
        currency=found.currency,
        available_fen=found.available.amount_fen,
        pending_fen=found.pending.amount_fen,
        in_transit_fen=found.in_transit.amount_fen,
    )


@router.get("/statement", response=list[StatementLineOut], summary="My statement")
@paginate(BoundedLimitOffsetPagination)
def statement(request: HttpRequest, query: Query[CurrencyIn]) -> QuerySet[LedgerEntry]:
    """The available balance's movements, newest first, each with the balance after it."""
    return selectors.seller_statement(seller=request.auth, currency=query.currency)


@router.get("/payouts", response=list[PayoutOut], summary="My payouts")
@paginate(BoundedLimitOffsetPagination)
def payout_list(request: HttpRequest) -> QuerySet[Payout]:
    return selectors.seller_payouts(seller=request.auth)


@router.post("/payouts", response={201: PayoutOut}, summary="Request a payout")
def payout_create(
    request: HttpRequest, payload: PayoutIn, idempotency_key: IdempotencyKey
) -> Status:
    """From the available balance; ``409 insufficient_funds`` when it is short. The key is
    scoped to the caller, so two sellers can never collide."""
    payout = services.payout_request(
        seller=request.auth,
        amount=Money(payload.amount_fen, payload.currency),
        destination=payload.destination,
        idempotency_key=f"api.payout:{request.auth.pk}:{idempotency_key}",
        actor=request.auth,
    )
    return Status(201, payout)


@router.get("/status", response=PaymentStatusOut, summary="Status of a payment")
def status(request: HttpRequest, query: Query[ReferenceIn]) -> PaymentStatusOut:
    """For a checkout reference or an order reference; for its buyer, its sellers and
    staff (anyone else: 403, audited)."""
    found = access_payment_status(user=request.auth, reference=query.reference)
    return PaymentStatusOut(
        reference=found.reference,
        kind=found.kind,
        status=found.status,
        intent=found.intent_id,
        currency=found.amount.currency,
        amount_fen=found.amount.amount_fen,
        paid_at=found.paid_at,
        orders=[
            {
                "reference": order.reference,
                "status": order.status,
                "seller_id": order.seller_id,
                "amount_fen": order.amount.amount_fen,
                "refunded_fen": order.refunded.amount_fen,
                "released_fen": order.released.amount_fen,
                "commission_fen": order.commission.amount_fen,
                "release_after": order.release_after,
                "released_at": order.released_at,
            }
            for order in found.orders
        ],
    )
