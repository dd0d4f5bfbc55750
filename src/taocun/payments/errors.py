"""The payments members of the error family. Each has a stable ``code`` API clients and the
market can switch on; messages say what was wrong and with which amounts."""

from taocun.core.errors import ApplicationError, Conflict, ValidationError


class IdempotencyConflict(Conflict):
    """The idempotency key was already used for a different operation or parameters."""

    code = "idempotency_conflict"


class InsufficientFunds(Conflict):
    """The account that would pay has less than the amount (a balance never goes negative)."""

    code = "insufficient_funds"


class RefundTooLarge(ValidationError):
    """More than was paid minus what was already refunded."""

    code = "refund_exceeds_paid"


class CallbackRejected(ApplicationError):
    """A provider callback that failed verification; nothing was changed.

    ``code`` says why: ``bad_signature``, ``stale_callback``, ``replayed_callback``,
    ``callback_mismatch``, ``malformed_callback``, ``unknown_intent``.
    """

    code = "callback_rejected"
    http_status = 400


class ProviderError(ApplicationError):
    """The provider refused or failed an operation (a refund, a payout)."""

    code = "provider_error"
    http_status = 502


class UnbalancedTransaction(Exception):
    """A bug: a ledger transaction whose entries do not sum to zero. Never an input error,
    so it is not an ApplicationError: it surfaces as a 500 and rolls everything back."""
