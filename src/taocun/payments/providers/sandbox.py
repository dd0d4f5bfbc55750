"""The built-in sandbox provider: a hosted pay page on taocun itself and signed callbacks.

It behaves like a real provider so that the whole flow (redirect, pay, signed
notification, refund, payout) runs in the demo and the tests without the network.

Callback protocol (form fields, all strings)::

    intent      the intent's public id
    reference   the checkout reference
    status      paid | failed
    amount_fen  integer fen
    currency    ISO 4217
    payment_id  the sandbox's id of the payment (the same on every delivery)
    timestamp   Unix seconds when this delivery was signed
    nonce       16-64 characters [A-Za-z0-9_-], new for every delivery
    signature   hex HMAC-SHA256 over the canonical JSON of every other field

The canonical form is ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8: unambiguous whatever the values contain, and it
covers every field sent, including ones this version does not read.
"""

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from taocun.core.errors import ApplicationError
from taocun.core.money import Money
from taocun.payments.errors import CallbackRejected
from taocun.payments.providers.base import (
    PaymentProvider,
    ProviderIntent,
    ProviderRefund,
    VerifiedCallback,
)

REQUIRED_FIELDS = (
    "intent",
    "reference",
    "status",
    "amount_fen",
    "currency",
    "payment_id",
    "timestamp",
    "nonce",
)
_DIGITS = re.compile(r"^[0-9]{1,18}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_WINDOW_SECONDS = 300


def sandbox_secret() -> bytes:
    """``PAYMENTS_SANDBOX_SECRET`` (env ``TAOCUN_SANDBOX_SECRET``), else derived from
    SECRET_KEY, so a fresh checkout works and rotating SECRET_KEY rotates it too."""
    configured = getattr(settings, "PAYMENTS_SANDBOX_SECRET", "")
    if configured:
        return configured.encode()
    return salted_hmac("taocun.payments.sandbox", "callback-secret").hexdigest().encode()


def callback_window_seconds() -> int:
    return int(getattr(settings, "PAYMENTS_CALLBACK_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS))


def canonical_bytes(fields: Mapping[str, str]) -> bytes:
    unsigned = {key: value for key, value in fields.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(fields: Mapping[str, str]) -> str:
    return hmac.new(sandbox_secret(), canonical_bytes(fields), hashlib.sha256).hexdigest()


def _reject(code: str, message: str, field: str | None = None) -> CallbackRejected:
    return CallbackRejected(message, code=code, field=field)


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    # --- paying ----------------------------------------------------------------------------

    def intent_create(
        self, *, intent_id: str, amount: Money, reference: str, description: str
    ) -> ProviderIntent:
        return ProviderIntent(
            redirect_url=reverse("payments:sandbox_pay", args=[intent_id]),
            provider_intent_id=intent_id,
        )

    def intent_cancel(self, *, intent_id: str) -> None:
        """Nothing to do: the hosted page reads the intent's status and refuses to pay a
        closed one."""

    def payment_id_for(self, intent_id: str) -> str:
        """The sandbox's payment id for an intent: derived, so paying twice on the hosted
        page is the same payment, as at a real provider."""
        digest = hmac.new(sandbox_secret(), f"payment:{intent_id}".encode(), hashlib.sha256)
        return "sbx_" + digest.hexdigest()[:24]

    def callback_build(
        self,
        *,
        intent_id: str,
        reference: str,
        status: str,
        amount: Money,
        now: datetime,
        payment_id: str | None = None,
        nonce: str | None = None,
    ) -> dict[str, str]:
        """A signed notification, as the sandbox sends it after the buyer's choice."""
        fields = {
            "intent": intent_id,
            "reference": reference,
            "status": status,
            "amount_fen": str(amount.amount_fen),
            "currency": amount.currency,
            "payment_id": payment_id or self.payment_id_for(intent_id),
            "timestamp": str(int(now.timestamp())),
            "nonce": nonce or secrets.token_urlsafe(24),
        }
        fields["signature"] = sign(fields)
        return fields

    # --- verifying -------------------------------------------------------------------------

    def callback_verify(self, *, payload: Mapping[str, str], now: datetime) -> VerifiedCallback:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in payload.items()):
            raise _reject("malformed_callback", _("Every callback field must be text."))
        given = payload.get("signature", "")
        if not _HEX64.match(given):
            raise _reject(
                "bad_signature",
                _("The callback has no valid signature (64 hex digits expected)."),
                "signature",
            )
        expected = sign(payload)
        # Constant time: the comparison must not tell an attacker how much of it was right.
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise _reject(
                "bad_signature",
                _("The callback's signature does not match its contents."),
                "signature",
            )
        missing = [name for name in REQUIRED_FIELDS if not payload.get(name)]
        if missing:
            raise _reject(
                "malformed_callback",
                _("The callback lacks %(fields)s.") % {"fields": ", ".join(missing)},
                missing[0],
            )
        if not _DIGITS.match(payload["timestamp"]):
            raise _reject(
                "malformed_callback", _("The timestamp must be Unix seconds."), "timestamp"
            )
        signed_at = datetime.fromtimestamp(int(payload["timestamp"]), tz=UTC)
        window = callback_window_seconds()
        age = (now - signed_at).total_seconds()
        if abs(age) > window:
            raise _reject(
                "stale_callback",
                _(
                    "The callback was signed %(age)d seconds away from now; at most "
                    "%(window)d seconds are accepted."
                )
                % {"age": int(age), "window": window},
                "timestamp",
            )
        if not _NONCE.match(payload["nonce"]):
            raise _reject(
                "malformed_callback",
                _("The nonce must be 16 to 64 letters, digits, - or _."),
                "nonce",
            )
        if payload["status"] not in ("paid", "failed"):
            raise _reject("malformed_callback", _("The status must be paid or failed."), "status")
        if not _DIGITS.match(payload["amount_fen"]) or int(payload["amount_fen"]) == 0:
            raise _reject(
                "malformed_callback",
                _("The amount must be a positive whole number of fen."),
                "amount_fen",
            )
        try:
            amount = Money(int(payload["amount_fen"]), payload["currency"])
        except ApplicationError as error:
            raise _reject("malformed_callback", error.message, "currency") from None
        return VerifiedCallback(
            intent_id=payload["intent"],
            reference=payload["reference"],
            status=payload["status"],  # type: ignore[arg-type]
            amount=amount,
            payment_id=payload["payment_id"][:64],
            nonce=payload["nonce"],
            timestamp=signed_at,
        )

    # --- money going out -------------------------------------------------------------------

    def refund(self, *, payment_id: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        digest = hashlib.sha256(f"{payment_id}:{idempotency_key}".encode()).hexdigest()
        return ProviderRefund(refund_id="sbx_rf_" + digest[:24])

    def payout_send(
        self, *, payout_id: int, amount: Money, destination: str, idempotency_key: str
    ) -> str:
        return f"sbx_po_{payout_id}"
