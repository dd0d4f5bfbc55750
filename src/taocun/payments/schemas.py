"""Shapes of the payments API. Amounts are integer fen (``…_fen``) with their currency."""

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator

from taocun.core.money import MAX_FEN


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class BalanceOut(Schema):
    currency: str
    available_fen: int = Field(description="Can be paid out, and pays refunds after release")
    pending_fen: int = Field(description="Held in escrow for orders not yet released")
    in_transit_fen: int = Field(description="Payouts requested and not yet confirmed")


class StatementLineOut(Schema):
    id: int
    at: datetime
    kind: str = Field(description="release, refund, payout, payout_fail…")
    reference: str = Field(description="The order or payout the line is about")
    memo: str
    amount_fen: int = Field(description="Positive in, negative out")
    balance_fen: int = Field(description="Available balance after this line")

    # Read from the entry's transaction (selected with it: no query per line).
    @staticmethod
    def resolve_at(entry) -> datetime:
        return entry.transaction.created_at

    @staticmethod
    def resolve_kind(entry) -> str:
        return entry.transaction.kind

    @staticmethod
    def resolve_reference(entry) -> str:
        return entry.transaction.reference

    @staticmethod
    def resolve_memo(entry) -> str:
        return entry.transaction.memo


class PayoutIn(Schema):
    amount_fen: int = Field(gt=0, le=MAX_FEN // 2)
    currency: Currency = "CNY"
    destination: Text = Field("", max_length=100, description="Masked account to pay into")


class PayoutOut(Schema):
    id: int
    amount_fen: int
    currency: str
    status: str = Field(description="in_transit, paid or failed")
    destination: str
    failure_reason: str
    created_at: datetime
    completed_at: datetime | None


class OrderPaymentOut(Schema):
    reference: str
    status: str = Field(description="awaiting_payment, held, released, refunded or void")
    seller_id: int
    amount_fen: int
    refunded_fen: int
    released_fen: int
    commission_fen: int
    release_after: datetime | None
    released_at: datetime | None


class PaymentStatusOut(Schema):
    reference: str
    kind: str = Field(description="checkout or order")
    status: str
    intent: str = Field(description="The payment's public id")
    currency: str
    amount_fen: int
    paid_at: datetime | None
    orders: list[OrderPaymentOut]
