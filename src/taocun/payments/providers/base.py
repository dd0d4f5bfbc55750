"""What a payment provider must do for taocun, whatever it is (the sandbox, Alipay, WeChat
Pay, UnionPay).

Providers know nothing about the ledger: they start a payment and give the buyer somewhere
to pay, turn a callback into a :class:`VerifiedCallback` (or refuse it), and move money back
out (refunds, payouts). ``payments.services`` does the bookkeeping around each call.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from taocun.core.money import Money

CallbackStatus = Literal["paid", "failed"]


@dataclass(frozen=True)
class ProviderIntent:
    """Where to send the buyer to pay, and the provider's own id for the payment."""

    redirect_url: str
    provider_intent_id: str


@dataclass(frozen=True)
class VerifiedCallback:
    """A callback whose signature and freshness were checked by the provider.

    ``nonce`` identifies this *delivery* (each retry of a notification has its own);
    ``payment_id`` identifies the *payment* at the provider (the same on every delivery).
    """

    intent_id: str
    reference: str
    status: CallbackStatus
    amount: Money
    payment_id: str
    nonce: str
    timestamp: datetime


@dataclass(frozen=True)
class ProviderRefund:
    refund_id: str


class PaymentProvider(ABC):
    name: ClassVar[str]

    @abstractmethod
    def intent_create(
        self, *, intent_id: str, amount: Money, reference: str, description: str
    ) -> ProviderIntent:
        """Open a payment at the provider; return the page the buyer pays on."""

    @abstractmethod
    def intent_cancel(self, *, intent_id: str) -> None:
        """Close an unpaid payment so that the buyer can no longer pay it."""

    @abstractmethod
    def callback_verify(self, *, payload: Mapping[str, str], now: datetime) -> VerifiedCallback:
        """Check a callback's signature (constant time) and timestamp window and parse it.

        Raise :class:`taocun.payments.errors.CallbackRejected` with a specific code when
        anything is wrong. Replay (a nonce seen before) is checked by the caller, which
        owns the database.
        """

    @abstractmethod
    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        """Send ``amount`` of a captured payment back to the buyer.

        ``idempotency_key`` is passed on so that a retry after a crash is not paid twice
        by the provider either. Raise :class:`taocun.payments.errors.ProviderError` on
        refusal.
        """

    @abstractmethod
    def payout_send(
        self, *, payout_id: int, amount: Money, destination: str, idempotency_key: str
    ) -> str:
        """Start a transfer to a seller; return the provider's reference for it.

        The transfer's outcome is reported later (``payout_complete`` / ``payout_fail``).
        """
