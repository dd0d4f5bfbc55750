"""The money core: a double-entry ledger in integer fen, payment intents, escrows, refunds
and payouts.

The ledger is the truth. Every movement of money is one :class:`LedgerTransaction` whose
:class:`LedgerEntry` rows sum to zero; an account's balance is the sum of its entries and is
never stored (see docs/payments.md, "Why balances are not cached"). The other models are the
*domain* state — which intent is paid, which escrow is released — and each change of that
state is posted to the ledger in the same database transaction by ``payments.services``.

Nothing here reads another domain app: orders and checkouts are opaque references
(``market.order:123``), sellers and buyers are users.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel

REFERENCE_MAX_LENGTH = 100
KEY_MAX_LENGTH = 200


class AccountKind(models.TextChoices):
    """What an account holds. Positive balance = money held in that bucket.

    ``provider`` is the outside world seen through one payment provider: money enters the
    ledger from it (captures) and leaves to it (refunds, payouts), so its balance is minus
    the money the platform holds. Every other kind must never go negative.
    """

    PROVIDER = "provider", _("payment provider")
    ESCROW = "escrow", _("escrow of one order")
    SELLER_AVAILABLE = "seller_available", _("seller's available balance")
    PAYOUTS_IN_TRANSIT = "payouts_in_transit", _("seller's payouts in transit")
    PLATFORM_COMMISSION = "platform_commission", _("platform commission")
    UNAPPLIED = "unapplied", _("payment matching no open intent")


NON_NEGATIVE_KINDS = frozenset(AccountKind.values) - {AccountKind.PROVIDER}


class TransactionKind(models.TextChoices):
    CAPTURE = "capture", _("payment captured into escrow")
    RELEASE = "release", _("escrow released to the seller")
    REFUND = "refund", _("refund to the buyer")
    PAYOUT = "payout", _("payout requested")
    PAYOUT_COMPLETE = "payout_complete", _("payout completed")
    PAYOUT_FAIL = "payout_fail", _("payout failed, money returned")
    UNAPPLIED_CAPTURE = "unapplied_capture", _("payment received for a closed intent")
    UNAPPLIED_RETURN = "unapplied_return", _("unapplied payment returned")


class AppendOnly(models.Model):
    """Ledger rows are facts: written once, never changed or deleted (corrections are new
    transactions)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise RuntimeError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__} rows are append-only")


class LedgerAccount(models.Model):
    """One bucket of money of one owner in one currency.

    ``owner`` is an opaque reference: ``user:42`` for a seller, the order reference for an
    escrow, ``platform`` for the commission account, the provider name for a provider.
    """

    kind = models.CharField(_("kind"), max_length=24, choices=AccountKind.choices)
    owner = models.CharField(_("owner"), max_length=REFERENCE_MAX_LENGTH)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "owner", "currency"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner", "currency"], name="payments_account_key"
            ),
        ]
        indexes = [models.Index(fields=["owner", "currency"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner}:{self.currency}"


class LedgerTransaction(AppendOnly):
    """One movement of money: entries that sum to zero, in one currency.

    ``idempotency_key`` is the *natural* key of the movement (``capture:<intent>``,
    ``release:<escrow>``…), unique in the database: the last guard against posting the
    same movement twice, whatever the services above it do.
    """

    kind = models.CharField(_("kind"), max_length=24, choices=TransactionKind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=KEY_MAX_LENGTH)
    reference = models.CharField(_("reference"), max_length=REFERENCE_MAX_LENGTH, db_index=True)
    currency = models.CharField(_("currency"), max_length=3)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="payments_transaction_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.reference}"


class LedgerEntry(AppendOnly):
    """One leg of a transaction: a signed amount on one account (never zero)."""

    transaction = models.ForeignKey(
        LedgerTransaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_fen=0), name="payments_entry_amount_not_zero"
            ),
        ]
        # Balances are sums over an account's entries; statements read them in order.
        indexes = [models.Index(fields=["account", "id"], name="payments_entry_account_id")]

    def __str__(self) -> str:
        return f"{self.account} {self.amount_fen:+d}"


class IntentStatus(models.TextChoices):
    PENDING = "pending", _("waiting for payment")
    SUCCEEDED = "succeeded", _("paid")
    FAILED = "failed", _("payment failed")
    CANCELLED = "cancelled", _("cancelled")


OPEN_INTENT_STATUSES = (IntentStatus.PENDING, IntentStatus.SUCCEEDED)


class PaymentIntent(TimeStampedModel):
    """The buyer's payment for one checkout, through one provider.

    ``public_id`` is unguessable: it is the only thing the hosted pay page and the
    provider's callbacks name. A checkout has at most one intent that is pending or paid.
    """

    public_id = models.CharField(_("public id"), max_length=40, unique=True)
    reference = models.CharField(_("checkout reference"), max_length=REFERENCE_MAX_LENGTH)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    provider = models.CharField(_("provider"), max_length=20)
    provider_payment_id = models.CharField(_("provider payment id"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=IntentStatus.choices, default=IntentStatus.PENDING
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    return_url = models.CharField(_("return URL"), max_length=500, blank=True)
    redirect_url = models.CharField(_("pay page URL"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_reason = models.CharField(_("why it closed"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment intent")
        verbose_name_plural = _("payment intents")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_intent_amount"),
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status__in=OPEN_INTENT_STATUSES),
                name="payments_intent_one_open_per_reference",
            ),
        ]
        indexes = [models.Index(fields=["reference", "status"])]

    def __str__(self) -> str:
        return f"{self.public_id} {self.reference} {self.status}"


class EscrowStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("waiting for payment")
    HELD = "held", _("held in escrow")
    RELEASED = "released", _("released to the seller")
    REFUNDED = "refunded", _("fully refunded")
    VOID = "void", _("void (payment failed or cancelled)")


class Escrow(TimeStampedModel):
    """The money of one seller order inside a checkout's payment.

    Amounts kept here (``refunded_fen``, ``released_fen``, ``commission_fen``) are the
    domain's running totals, changed only under a row lock together with the ledger
    postings that move the money; ``ledger_check`` compares them with the ledger.
    """

    intent = models.ForeignKey(
        PaymentIntent, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="escrows"
    )
    reference = models.CharField(_("order reference"), max_length=REFERENCE_MAX_LENGTH)
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    commission_rate_bp = models.PositiveIntegerField(_("commission rate (basis points)"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=EscrowStatus.choices,
        default=EscrowStatus.AWAITING_PAYMENT,
    )
    account = models.OneToOneField(
        LedgerAccount,
        verbose_name=_("ledger account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escrow",
    )
    release_after = models.DateTimeField(_("release after"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_fen = models.BigIntegerField(_("released (fen)"), default=0)
    commission_fen = models.BigIntegerField(_("commission kept (fen)"), default=0)
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("escrow")
        verbose_name_plural = _("escrows")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_escrow_amount"),
            models.CheckConstraint(
                condition=Q(commission_rate_bp__lte=10_000), name="payments_escrow_rate"
            ),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=models.F("amount_fen")),
                name="payments_escrow_refunded_within_amount",
            ),
            models.UniqueConstraint(
                fields=["intent", "reference"], name="payments_escrow_intent_reference"
            ),
            # An order is paid at most once: only void escrows may share a reference.
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(status=EscrowStatus.VOID),
                name="payments_escrow_one_live_per_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "release_after"], name="payments_escrow_due"),
            models.Index(fields=["seller", "status"], name="payments_escrow_seller"),
            models.Index(fields=["reference"], name="payments_escrow_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.status}"

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen


class RefundStage(models.TextChoices):
    BEFORE_RELEASE = "before_release", _("from escrow, before release")
    AFTER_RELEASE = "after_release", _("from the seller's balance, after release")


class Refund(TimeStampedModel):
    escrow = models.ForeignKey(
        Escrow, verbose_name=_("escrow"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    commission_returned_fen = models.BigIntegerField(_("commission returned (fen)"), default=0)
    stage = models.CharField(_("stage"), max_length=16, choices=RefundStage.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    provider_refund_id = models.CharField(_("provider refund id"), max_length=64, blank=True)
    transaction = models.OneToOneField(
        LedgerTransaction,
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        related_name="refund",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_refund_amount"),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of {self.escrow.reference}: {self.amount_fen} fen"


class PayoutStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("in transit")
    PAID = "paid", _("paid out")
    FAILED = "failed", _("failed, money returned")


class Payout(TimeStampedModel):
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seller"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=12, choices=PayoutStatus.choices, default=PayoutStatus.IN_TRANSIT
    )
    provider = models.CharField(_("provider"), max_length=20)
    destination = models.CharField(_("destination"), max_length=100, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=64, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=200, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_payout_amount"),
        ]
        indexes = [models.Index(fields=["seller", "status"], name="payments_payout_seller")]

    def __str__(self) -> str:
        return f"payout {self.pk}: {self.amount_fen} fen {self.status}"

    @property
    def reference(self) -> str:
        return f"payments.payout:{self.pk}"


class CallbackNonce(models.Model):
    """A nonce seen in a verified provider callback: each is accepted once.

    Rows older than the timestamp window can be pruned; such a callback is refused as
    stale before its nonce is looked at.
    """

    provider = models.CharField(_("provider"), max_length=20)
    nonce = models.CharField(_("nonce"), max_length=64)
    received_at = models.DateTimeField(_("received at"), db_index=True)

    class Meta:
        verbose_name = _("callback nonce")
        verbose_name_plural = _("callback nonces")
        constraints = [
            models.UniqueConstraint(fields=["provider", "nonce"], name="payments_nonce_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.nonce}"


class IdempotencyKey(models.Model):
    """A caller's idempotency key for one money operation, and what it produced.

    Claimed (inserted) first, inside the operation's transaction: a concurrent call with
    the same key waits on the unique index, then finds the finished result. The
    ``fingerprint`` is a digest of the operation's parameters, so reusing a key for
    something else is refused instead of silently answered with an unrelated result.
    """

    key = models.CharField(_("key"), max_length=KEY_MAX_LENGTH, unique=True)
    operation = models.CharField(_("operation"), max_length=40)
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    result_id = models.BigIntegerField(_("result id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return f"{self.operation}:{self.key}"
