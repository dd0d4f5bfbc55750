"""Every movement of money. Typed, keyword-only, atomic, audited, idempotent.

Each service takes an ``idempotency_key`` chosen by the caller (the market uses keys like
``market.refund:<order>:<n>``). The key is claimed first, inside the service's transaction:

* the same key with the same parameters returns the original result and changes nothing;
* the same key with other parameters (or for another operation) raises
  :class:`IdempotencyConflict`;
* a concurrent call with the same key waits for the first and then returns its result.

A failed call claims nothing (its transaction rolls back), so it can be retried with the
same key. Under the services, every ledger transaction also has a *natural* unique key
(``capture:<intent>``, ``release:<escrow id>``…), the last guard against posting twice.

Locks: the domain row (intent, escrow, payout) first, then the ledger accounts that are
debited and must not go negative, in id order — one order everywhere, so no deadlocks.
Credited accounts are never locked: balances are sums of entries, so a credit needs no
read-modify-write and the platform's busy accounts are not a queue.
"""

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from taocun.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from taocun.core.money import MAX_FEN, Money
from taocun.core.services import audit_record
from taocun.payments import signals
from taocun.payments.errors import (
    CallbackRejected,
    IdempotencyConflict,
    InsufficientFunds,
    RefundTooLarge,
    UnbalancedTransaction,
)
from taocun.payments.models import (
    KEY_MAX_LENGTH,
    NON_NEGATIVE_KINDS,
    OPEN_INTENT_STATUSES,
    REFERENCE_MAX_LENGTH,
    AccountKind,
    CallbackNonce,
    Escrow,
    EscrowStatus,
    IdempotencyKey,
    IntentStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    Payout,
    PayoutStatus,
    Refund,
    RefundStage,
    TransactionKind,
)
from taocun.payments.notify import PAYOUT_FAILED, PAYOUT_PAID, PAYOUT_REQUESTED, payout_notify
from taocun.payments.providers import default_provider_name, provider_get

logger = logging.getLogger(__name__)


def _announce(signal, **values: Any) -> None:
    """Send a domain event once the surrounding transaction commits (never for a change
    that rolls back)."""

    def send() -> None:
        signal.send_robust(sender=PaymentIntent, **values)

    transaction.on_commit(send)


def _payout_tell(payout: Payout, *, kind: str) -> None:
    """Tell the payout's seller once the change is committed (``payments.notify``).
    Robust: a message that cannot be written is logged and never turns a committed payout
    into an error for the caller."""
    transaction.on_commit(
        partial(
            payout_notify,
            seller_id=payout.seller_id,
            payout_id=payout.pk,
            kind=kind,
            amount_fen=payout.amount_fen,
            currency=payout.currency,
            reason=payout.failure_reason,
        ),
        robust=True,
    )


PLATFORM_OWNER = "platform"
BP_PER_UNIT = 10_000
MAX_SPLITS = 100
DEFAULT_INTENT_TTL_SECONDS = 30 * 60
_REFERENCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-/#")


# --- small pure parts ----------------------------------------------------------------------


def commission_for(*, amount_fen: int, rate_bp: int) -> int:
    """The platform's commission on ``amount_fen`` at ``rate_bp`` basis points.

    Rounded half-up to the fen (0.5 fen goes to the platform), and never more than the
    amount. Computed on integers only:

    >>> commission_for(amount_fen=1999, rate_bp=250)  # 49.975 fen
    50
    >>> commission_for(amount_fen=1980, rate_bp=250)  # 49.5 fen
    50
    >>> commission_for(amount_fen=1979, rate_bp=250)  # 49.475 fen
    49
    >>> commission_for(amount_fen=100, rate_bp=0)
    0
    """
    if amount_fen < 0 or not 0 <= rate_bp <= BP_PER_UNIT:
        raise ValueError("amount_fen must be >= 0 and rate_bp within 0..10000")
    return min(amount_fen, (amount_fen * rate_bp + BP_PER_UNIT // 2) // BP_PER_UNIT)


def seller_owner(seller: Any) -> str:
    """The owner reference of a seller's accounts (a user or a user id)."""
    return f"user:{_user_id(seller, 'seller')}"


@dataclass(frozen=True)
class Split:
    """One seller order inside a checkout's payment. ``seller`` is a user or a user id.

    ``payment_intent_create`` also takes plain mappings with these four keys.
    """

    reference: str
    seller: Any  # settings.AUTH_USER_MODEL instance, or its primary key
    amount: Money
    commission_rate_bp: int


def _user_id(value: Any, field: str) -> int:
    """A user or a user id → the id; the user must exist."""
    pk = value if isinstance(value, int) and not isinstance(value, bool) else None
    if pk is None:
        pk = getattr(value, "pk", None)
    if not isinstance(pk, int) or pk <= 0:
        raise ValidationError(_("A user (or a user id) is needed."), field=field)
    return pk


def _check_users_exist(ids: dict[int, str]) -> None:
    found = set(get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True))
    for pk, field in ids.items():
        if pk not in found:
            raise ValidationError(_("There is no user %(id)d.") % {"id": pk}, field=field)


def _check_reference(value: Any, field: str) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= REFERENCE_MAX_LENGTH
        or not set(value) <= _REFERENCE_CHARS
    ):
        raise ValidationError(
            _(
                "A reference is 1 to %(max)d characters: letters, digits and _ . : - / # "
                "(got %(value)r)."
            )
            % {"max": REFERENCE_MAX_LENGTH, "value": str(value)[:120]},
            field=field,
        )
    return value


def _check_positive(amount: Any, field: str) -> Money:
    if not isinstance(amount, Money):
        raise ValidationError(_("The amount must be Money (integer fen)."), field=field)
    if amount.amount_fen <= 0:
        raise ValidationError(
            _("The amount must be more than zero (got %(amount)s).") % {"amount": amount},
            field=field,
        )
    return amount


def _check_text(value: str, field: str, max_length: int = 200) -> str:
    value = (value or "").strip()
    if len(value) > max_length or "\x00" in value:
        raise ValidationError(
            _("At most %(max)d characters, without NUL.") % {"max": max_length}, field=field
        )
    return value


def _check_aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(_("A time with a time zone is needed."), field=field)
    return value


# --- idempotency ---------------------------------------------------------------------------


def _fingerprint(operation: str, params: dict) -> str:
    canonical = json.dumps(
        {"operation": operation, **params}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim_insert(*, key: str, operation: str, fingerprint: str, result_id: int | None) -> bool:
    """Insert the key unless it exists: ``INSERT … ON CONFLICT (key) DO NOTHING``, one
    statement and no savepoint. A concurrent insert of the same key makes this one wait on
    the unique index until that transaction ends; True when this call inserted it."""
    quote = connection.ops.quote_name
    meta = IdempotencyKey._meta
    names = ("key", "operation", "fingerprint", "result_id", "created_at")
    columns = ", ".join(quote(meta.get_field(name).column) for name in names)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s) "
        f"ON CONFLICT ({quote(meta.get_field('key').column)}) DO NOTHING"
    )
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, operation, fingerprint, result_id, created_at])
        return cursor.rowcount == 1


def _claim(*, key: str, operation: str, params: dict, result_id: int | None = None) -> int | None:
    """Claim ``key`` for this operation; return the earlier result's id on a replay.

    Must run inside the service's transaction (the claim commits or rolls back with it).
    When the result's id is known before the work (a capture's intent), it is stored with
    the claim and :func:`_complete` is not needed.
    """
    if not isinstance(key, str) or not 1 <= len(key) <= KEY_MAX_LENGTH or "\x00" in key:
        raise ValidationError(
            _("An idempotency key is 1 to %(max)d characters.") % {"max": KEY_MAX_LENGTH},
            field="idempotency_key",
        )
    fingerprint = _fingerprint(operation, params)
    if _claim_insert(key=key, operation=operation, fingerprint=fingerprint, result_id=result_id):
        return None
    record = IdempotencyKey.objects.get(key=key)
    if record.operation != operation or record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            _(
                "The idempotency key %(key)s was already used for a different request "
                "(%(operation)s with other parameters); use a new key for a new request."
            )
            % {"key": key[:80], "operation": record.operation},
            field="idempotency_key",
        )
    if record.result_id is None:  # pragma: no cover - only visible to READ UNCOMMITTED
        raise Conflict(_("This request is still being processed."), field="idempotency_key")
    return record.result_id


def _complete(*, key: str, result_id: int) -> None:
    IdempotencyKey.objects.filter(key=key).update(result_id=result_id)


# --- the ledger ----------------------------------------------------------------------------


def account_get(*, kind: str, owner: str, currency: str) -> LedgerAccount:
    account, _created = LedgerAccount.objects.get_or_create(
        kind=kind, owner=owner, currency=currency
    )
    return account


_ACCOUNT_NAMES = {
    AccountKind.ESCROW: gettext_lazy("the order's escrow"),
    AccountKind.SELLER_AVAILABLE: gettext_lazy("the seller's available balance"),
    AccountKind.PAYOUTS_IN_TRANSIT: gettext_lazy("the payouts in transit"),
    AccountKind.PLATFORM_COMMISSION: gettext_lazy("the platform's commission"),
    AccountKind.UNAPPLIED: gettext_lazy("the unapplied payment"),
}


def _post(
    *,
    kind: str,
    key: str,
    reference: str,
    currency: str,
    legs: Sequence[tuple[LedgerAccount, int]],
    memo: str = "",
    field: str = "amount",
) -> LedgerTransaction:
    """Post one balanced transaction. Debited accounts that must not go negative are locked
    and checked first; a shortfall raises :class:`InsufficientFunds` naming the account."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs or sum(amount for _account, amount in legs) != 0:
        raise UnbalancedTransaction(f"{kind} {reference}: legs {legs!r} do not sum to zero")
    if any(account.currency != currency for account, _amount in legs):
        raise UnbalancedTransaction(f"{kind} {reference}: accounts in another currency")
    debits: dict[int, int] = {}
    for account, amount in legs:
        if amount < 0 and account.kind in NON_NEGATIVE_KINDS:
            debits[account.pk] = debits.get(account.pk, 0) + amount
    if debits:
        locked = list(
            LedgerAccount.objects.select_for_update().filter(pk__in=debits).order_by("pk")
        )
        balances = dict(
            LedgerEntry.objects.filter(account_id__in=debits)
            .values("account_id")
            .annotate(total=Sum("amount_fen"))
            .values_list("account_id", "total")
        )
        for account in locked:
            balance = balances.get(account.pk, 0)
            if balance + debits[account.pk] < 0:
                raise InsufficientFunds(
                    _("Not enough money in %(account)s: %(balance)s there, %(needed)s needed.")
                    % {
                        "account": _ACCOUNT_NAMES.get(account.kind, account.kind),
                        "balance": Money(balance, currency),
                        "needed": Money(-debits[account.pk], currency),
                    },
                    field=field,
                    extra={"balance_fen": balance, "needed_fen": -debits[account.pk]},
                )
    ledger_transaction = LedgerTransaction.objects.create(
        kind=kind, idempotency_key=key, reference=reference, currency=currency, memo=memo[:200]
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=ledger_transaction, account=account, amount_fen=amount)
        for account, amount in legs
    )
    return ledger_transaction


def _provider_account(provider: str, currency: str) -> LedgerAccount:
    return account_get(kind=AccountKind.PROVIDER, owner=provider, currency=currency)


def _platform_account(currency: str) -> LedgerAccount:
    return account_get(
        kind=AccountKind.PLATFORM_COMMISSION, owner=PLATFORM_OWNER, currency=currency
    )


def _seller_account(seller_id: int, kind: str, currency: str) -> LedgerAccount:
    return account_get(kind=kind, owner=f"user:{seller_id}", currency=currency)


# --- payment intents -----------------------------------------------------------------------


def _intent_ttl() -> timedelta:
    return timedelta(
        seconds=int(getattr(settings, "PAYMENTS_INTENT_TTL_SECONDS", DEFAULT_INTENT_TTL_SECONDS))
    )


def _check_return_url(url: str) -> str:
    url = (url or "").strip()
    if url and (
        len(url) > 500
        or not url_has_allowed_host_and_scheme(url, allowed_hosts=set(settings.ALLOWED_HOSTS))
    ):
        raise ValidationError(
            _("The return URL must be a path on this site (got %(url)s).") % {"url": url[:100]},
            field="return_url",
        )
    return url


def _as_split(value: Split | Mapping[str, Any], where: str) -> Split:
    if isinstance(value, Split):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(_("Each order must be a Split."), field=where)
    try:
        return Split(**{name: value[name] for name in Split.__dataclass_fields__})
    except KeyError as missing:
        raise ValidationError(
            _("The order lacks %(field)s.") % {"field": missing.args[0]},
            field=f"{where}.{missing.args[0]}",
        ) from None


def _check_splits(splits: Sequence[Split | Mapping[str, Any]], amount: Money) -> list[Split]:
    if not 1 <= len(splits) <= MAX_SPLITS:
        raise ValidationError(
            _("A payment covers 1 to %(max)d orders.") % {"max": MAX_SPLITS}, field="splits"
        )
    splits = [_as_split(split, f"splits[{index}]") for index, split in enumerate(splits)]
    seen: set[str] = set()
    total = 0
    for index, split in enumerate(splits):
        where = f"splits[{index}]"
        _check_reference(split.reference, f"{where}.reference")
        if split.reference in seen:
            raise ValidationError(
                _("Order %(reference)s appears twice.") % {"reference": split.reference},
                field=f"{where}.reference",
            )
        seen.add(split.reference)
        _check_positive(split.amount, f"{where}.amount")
        if split.amount.currency != amount.currency:
            raise ValidationError(
                _("Every order must be in %(currency)s.") % {"currency": amount.currency},
                field=f"{where}.amount",
            )
        rate = split.commission_rate_bp
        if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= BP_PER_UNIT:
            raise ValidationError(
                _("The commission rate is 0 to 10000 basis points (got %(rate)s).")
                % {"rate": rate},
                field=f"{where}.commission_rate_bp",
            )
        _user_id(split.seller, f"{where}.seller")
        total += split.amount.amount_fen
    if total != amount.amount_fen:
        raise ValidationError(
            _("The orders add up to %(total)s but the payment is %(amount)s.")
            % {"total": Money(total, amount.currency), "amount": amount},
            field="splits",
        )
    return splits


def payment_intent_create(
    *,
    reference: str,
    buyer: Any,
    amount: Money,
    splits: Sequence[Split | Mapping[str, Any]],
    idempotency_key: str,
    return_url: str = "",
    description: str = "",
    provider: str | None = None,
    actor: Any | None = None,
) -> PaymentIntent:
    """Open the payment of one checkout: one intent, one escrow per seller order.

    Refused while the checkout has another pending or paid intent (an expired pending one
    is cancelled first), or while one of its orders is in another live payment.
    """
    _check_reference(reference, "reference")
    _check_positive(amount, "amount")
    splits = _check_splits(splits, amount)
    return_url = _check_return_url(return_url)
    description = _check_text(description, "description")
    provider_name = provider or default_provider_name()
    payment_provider = provider_get(provider_name)
    buyer_id = _user_id(buyer, "buyer")
    seller_ids = [_user_id(split.seller, f"splits[{i}].seller") for i, split in enumerate(splits)]
    _check_users_exist(
        {buyer_id: "buyer", **{pk: f"splits[{i}].seller" for i, pk in enumerate(seller_ids)}}
    )
    params = {
        "reference": reference,
        "buyer": buyer_id,
        "amount_fen": amount.amount_fen,
        "currency": amount.currency,
        "splits": [
            [s.reference, seller_id, s.amount.amount_fen, s.commission_rate_bp]
            for s, seller_id in zip(splits, seller_ids, strict=True)
        ],
        "return_url": return_url,
        "description": description,
        "provider": provider_name,
    }
    now = timezone.now()
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payment_intent_create", params=params)
        if replay is not None:
            return PaymentIntent.objects.get(pk=replay)
        # The checkout's open intents (at most one), locked: an expired pending one is
        # cancelled, any other refuses the new payment.
        open_intents = list(
            PaymentIntent.objects.select_for_update()
            .filter(reference=reference, status__in=OPEN_INTENT_STATUSES)
            .order_by("-pk")
        )
        for stale in open_intents:
            if stale.status == IntentStatus.PENDING and stale.expires_at <= now:
                _intent_close(stale, status=IntentStatus.CANCELLED, reason="expired", actor=actor)
        existing = next((i for i in open_intents if i.status in OPEN_INTENT_STATUSES), None)
        if existing is not None:
            raise Conflict(
                _("Checkout %(reference)s already has a payment that is %(status)s.")
                % {"reference": reference, "status": existing.get_status_display()},
                code="payment_exists",
                field="reference",
            )
        taken = (
            Escrow.objects.filter(reference__in=[s.reference for s in splits])
            .exclude(status=EscrowStatus.VOID)
            .values_list("reference", flat=True)
            .first()
        )
        if taken is not None:
            raise Conflict(
                _("Order %(reference)s is already in another payment.") % {"reference": taken},
                code="order_in_payment",
                field="splits",
            )
        # The provider is asked first, so the intent is written once, with its pay page.
        public_id = "pi_" + secrets.token_urlsafe(18)
        opened = payment_provider.intent_create(
            intent_id=public_id,
            amount=amount,
            reference=reference,
            description=description,
        )
        try:
            intent = PaymentIntent.objects.create(
                public_id=public_id,
                reference=reference,
                buyer_id=buyer_id,
                amount_fen=amount.amount_fen,
                currency=amount.currency,
                provider=provider_name,
                description=description,
                return_url=return_url,
                redirect_url=opened.redirect_url,
                expires_at=now + _intent_ttl(),
            )
            Escrow.objects.bulk_create(
                Escrow(
                    intent=intent,
                    reference=split.reference,
                    seller_id=seller_id,
                    amount_fen=split.amount.amount_fen,
                    currency=amount.currency,
                    commission_rate_bp=split.commission_rate_bp,
                )
                for split, seller_id in zip(splits, seller_ids, strict=True)
            )
        except IntegrityError:
            # A concurrent checkout of the same reference or orders committed first. No
            # savepoint: the error leaves this service's transaction, which rolls back.
            raise Conflict(
                _("Checkout %(reference)s or one of its orders is already being paid.")
                % {"reference": reference},
                code="payment_exists",
                field="reference",
            ) from None
        audit_record(
            actor=actor if actor is not None else buyer,
            action="payment.intent_create",
            obj=intent,
            after={**params, "public_id": intent.public_id},
        )
        _complete(key=idempotency_key, result_id=intent.pk)
    return intent


def _intent_close(intent: PaymentIntent, *, status: str, reason: str, actor: Any) -> None:
    """Pending → failed/cancelled (caller holds the row lock); its escrows become void."""
    intent.status = status
    intent.closed_reason = reason[:200]
    intent.save(update_fields=["status", "closed_reason", "updated_at"])
    intent.escrows.filter(status=EscrowStatus.AWAITING_PAYMENT).update(
        status=EscrowStatus.VOID, updated_at=timezone.now()
    )
    _announce(
        signals.payment_closed,
        intent_id=intent.public_id,
        reference=intent.reference,
        status=status,
        reason=reason[:200],
    )
    audit_record(
        actor=actor,
        action=f"payment.intent_{status}",
        obj=intent,
        before={"status": IntentStatus.PENDING},
        after={"status": status, "reason": reason[:200]},
    )


def _intents_locking():
    """Intents read with ``SELECT … FOR UPDATE``, each with the id of its provider's ledger
    account (``provider_account_id``; None before the provider's first payment), so that
    a capture need not look the account up."""
    provider_account = LedgerAccount.objects.filter(
        kind=AccountKind.PROVIDER, owner=OuterRef("provider"), currency=OuterRef("currency")
    ).values("pk")[:1]
    return PaymentIntent.objects.select_for_update().annotate(
        provider_account_id=Subquery(provider_account)
    )


def _intent_locked(intent: PaymentIntent | str) -> PaymentIntent:
    public_id = intent if isinstance(intent, str) else intent.public_id
    found = _intents_locking().filter(public_id=public_id).first()
    if found is None:
        raise NotFound(
            _("There is no payment %(id)s.") % {"id": str(public_id)[:60]}, field="intent"
        )
    return found


def payment_intent_cancel(
    *, intent: PaymentIntent | str, idempotency_key: str, reason: str = "", actor: Any = None
) -> PaymentIntent:
    """Close an unpaid intent (checkout timeout, buyer gave up). Paid intents are refunded,
    not cancelled. Cancelling a closed intent changes nothing."""
    reason = _check_text(reason, "reason") or "cancelled"
    public_id = intent if isinstance(intent, str) else intent.public_id
    params = {"intent": public_id, "reason": reason}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payment_intent_cancel", params=params)
        if replay is not None:
            return PaymentIntent.objects.get(pk=replay)
        locked = _intent_locked(public_id)
        if locked.status == IntentStatus.SUCCEEDED:
            raise Conflict(
                _("Payment %(id)s is already paid: refund it instead of cancelling it.")
                % {"id": locked.public_id},
                code="already_paid",
                field="intent",
            )
        if locked.status == IntentStatus.PENDING:
            provider_get(locked.provider).intent_cancel(intent_id=locked.public_id)
            _intent_close(locked, status=IntentStatus.CANCELLED, reason=reason, actor=actor)
        _complete(key=idempotency_key, result_id=locked.pk)
    return locked


def payment_fail(
    *, intent: PaymentIntent | str, reason: str, idempotency_key: str, actor: Any = None
) -> PaymentIntent:
    """The provider says the buyer's payment failed. A closed intent is left as it is."""
    reason = _check_text(reason, "reason") or "failed"
    public_id = intent if isinstance(intent, str) else intent.public_id
    params = {"intent": public_id, "reason": reason}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payment_fail", params=params)
        if replay is not None:
            return PaymentIntent.objects.get(pk=replay)
        locked = _intent_locked(public_id)
        if locked.status == IntentStatus.PENDING:
            _intent_close(locked, status=IntentStatus.FAILED, reason=reason, actor=actor)
        _complete(key=idempotency_key, result_id=locked.pk)
    return locked


def _capture_params(*, public_id: str, amount: Any, provider_payment_id: Any) -> dict:
    """The checked parameters of a capture, as its idempotency key records them."""
    if not isinstance(amount, Money):
        raise ValidationError(_("The amount must be Money (integer fen)."), field="amount")
    provider_payment_id = _check_text(provider_payment_id, "provider_payment_id", 64)
    if not provider_payment_id:
        raise ValidationError(_("The provider's payment id is missing."), field="payment_id")
    return {
        "intent": public_id,
        "amount_fen": amount.amount_fen,
        "currency": amount.currency,
        "payment_id": provider_payment_id,
    }


def payment_capture(
    *,
    intent: PaymentIntent | str,
    amount: Money,
    provider_payment_id: str,
    idempotency_key: str,
    now: datetime | None = None,
    actor: Any = None,
) -> PaymentIntent:
    """The provider confirmed the buyer paid: the money goes into one escrow per order.

    Capturing the same provider payment again changes nothing. Money that arrives for an
    intent that is closed, or a second payment of a paid intent, is recorded and sent
    straight back to the buyer (``unapplied_capture`` then ``unapplied_return``).
    """
    public_id = intent if isinstance(intent, str) else intent.public_id
    params = _capture_params(
        public_id=public_id, amount=amount, provider_payment_id=provider_payment_id
    )
    # The result is the intent: when it is given, its id goes with the claim.
    known_pk = None if isinstance(intent, str) else intent.pk
    with transaction.atomic():
        replay = _claim(
            key=idempotency_key, operation="payment_capture", params=params, result_id=known_pk
        )
        if replay is not None:
            return PaymentIntent.objects.get(pk=replay)
        locked = _intent_locked(public_id)
        _capture_locked(locked, params=params, now=now or timezone.now(), actor=actor)
        if known_pk != locked.pk:
            _complete(key=idempotency_key, result_id=locked.pk)
    return locked


def _capture_locked(locked: PaymentIntent, *, params: dict, now: datetime, actor: Any) -> None:
    """The capture's work on a locked intent whose key the caller claimed."""
    amount = Money(params["amount_fen"], params["currency"])
    provider_payment_id = params["payment_id"]
    if (amount.amount_fen, amount.currency) != (locked.amount_fen, locked.currency):
        raise ValidationError(
            _("Payment %(id)s is for %(expected)s, not %(got)s.")
            % {
                "id": locked.public_id,
                "expected": Money(locked.amount_fen, locked.currency),
                "got": amount,
            },
            code="amount_mismatch",
            field="amount",
        )
    if locked.status == IntentStatus.PENDING:
        _capture_into_escrow(locked, provider_payment_id=provider_payment_id, now=now)
        audit_record(
            actor=actor,
            action="payment.capture",
            obj=locked,
            before={"status": IntentStatus.PENDING},
            after={
                "status": IntentStatus.SUCCEEDED,
                "amount_fen": amount.amount_fen,
                "payment_id": provider_payment_id,
            },
        )
    elif not (
        locked.status == IntentStatus.SUCCEEDED
        and locked.provider_payment_id == provider_payment_id
    ):
        _unapplied_return(locked, amount=amount, payment_id=provider_payment_id, actor=actor)


def _escrow_accounts(escrows: list[Escrow], currency: str) -> dict[int, LedgerAccount]:
    """The escrow account of each order, created in one INSERT (get-or-create: an upsert
    on the account's key returns the ids of new and existing rows alike)."""
    accounts = LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(kind=AccountKind.ESCROW, owner=escrow.reference, currency=currency)
            for escrow in escrows
        ],
        update_conflicts=True,
        unique_fields=["kind", "owner", "currency"],
        update_fields=["currency"],
    )
    if any(account.pk is None for account in accounts):  # SQLite before 3.35
        accounts = [
            account_get(kind=AccountKind.ESCROW, owner=escrow.reference, currency=currency)
            for escrow in escrows
        ]
    return {escrow.pk: account for escrow, account in zip(escrows, accounts, strict=True)}


def _capture_into_escrow(intent: PaymentIntent, *, provider_payment_id: str, now: datetime):
    escrows = list(intent.escrows.select_for_update().order_by("pk"))
    accounts = _escrow_accounts(escrows, intent.currency)
    provider_account_id = getattr(intent, "provider_account_id", None)
    if provider_account_id is None:  # the provider's first payment, or an unlocked intent
        provider_account = _provider_account(intent.provider, intent.currency)
    else:
        provider_account = LedgerAccount(
            pk=provider_account_id,
            kind=AccountKind.PROVIDER,
            owner=intent.provider,
            currency=intent.currency,
        )
    legs = [(provider_account, -intent.amount_fen)]
    legs += [(accounts[escrow.pk], escrow.amount_fen) for escrow in escrows]
    _post(
        kind=TransactionKind.CAPTURE,
        key=f"capture:{intent.public_id}",
        reference=intent.reference,
        currency=intent.currency,
        legs=legs,
        memo=provider_payment_id,
    )
    for escrow in escrows:
        escrow.status = EscrowStatus.HELD
        escrow.account = accounts[escrow.pk]
    Escrow.objects.bulk_update(escrows, ["status", "account"])
    intent.status = IntentStatus.SUCCEEDED
    intent.provider_payment_id = provider_payment_id
    intent.paid_at = now
    intent.save(update_fields=["status", "provider_payment_id", "paid_at", "updated_at"])
    _announce(
        signals.payment_succeeded,
        intent_id=intent.public_id,
        reference=intent.reference,
        order_references=[escrow.reference for escrow in escrows],
    )


def _unapplied_return(intent: PaymentIntent, *, amount: Money, payment_id: str, actor: Any):
    """Money the buyer paid that no open intent can take: book it in, send it back."""
    unapplied = account_get(
        kind=AccountKind.UNAPPLIED,
        owner=f"{intent.public_id}:{payment_id}"[:100],
        currency=amount.currency,
    )
    provider_account = _provider_account(intent.provider, amount.currency)
    _post(
        kind=TransactionKind.UNAPPLIED_CAPTURE,
        key=f"unapplied:{intent.public_id}:{payment_id}",
        reference=intent.reference,
        currency=amount.currency,
        legs=[(provider_account, -amount.amount_fen), (unapplied, amount.amount_fen)],
        memo=payment_id,
    )
    refund = provider_get(intent.provider).refund(
        payment_id=payment_id, amount=amount, idempotency_key=f"unapplied:{payment_id}"
    )
    _post(
        kind=TransactionKind.UNAPPLIED_RETURN,
        key=f"unapplied-return:{intent.public_id}:{payment_id}",
        reference=intent.reference,
        currency=amount.currency,
        legs=[(unapplied, -amount.amount_fen), (provider_account, amount.amount_fen)],
        memo=refund.refund_id,
    )
    audit_record(
        actor=actor,
        action="payment.unapplied_returned",
        obj=intent,
        after={
            "status": intent.status,
            "payment_id": payment_id,
            "amount_fen": amount.amount_fen,
            "refund_id": refund.refund_id,
        },
    )


# --- callbacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackOutcome:
    intent: PaymentIntent
    status: str  # the intent's status after the callback


def payment_callback_receive(
    *, provider: str, payload: dict[str, str], now: datetime | None = None
) -> CallbackOutcome:
    """Verify a provider's notification and apply it.

    Refused (:class:`CallbackRejected`, nothing changed, the refusal audited) when the
    signature is wrong, the timestamp is outside the window, the nonce was seen before,
    or it does not match the intent (reference, amount, currency). A new delivery of a
    notification already applied answers normally and changes nothing.
    """
    now = now or timezone.now()
    payment_provider = provider_get(provider)
    try:
        verified = payment_provider.callback_verify(payload=payload, now=now)
        with transaction.atomic():
            try:
                # No savepoint: a replay leaves this transaction, which rolls back.
                CallbackNonce.objects.create(
                    provider=provider, nonce=verified.nonce, received_at=now
                )
            except IntegrityError:
                raise CallbackRejected(
                    _("This callback (nonce %(nonce)s) was already received.")
                    % {"nonce": verified.nonce},
                    code="replayed_callback",
                    field="nonce",
                ) from None
            # Locked now: a capture below works on this row (as payment_capture does after
            # claiming its key; the callback's key is its own, so the order cannot
            # deadlock against another capture).
            intent = _intents_locking().filter(public_id=verified.intent_id, provider=provider)
            intent = intent.first()
            if intent is None:
                raise CallbackRejected(
                    _("There is no payment %(id)s.") % {"id": verified.intent_id[:60]},
                    code="unknown_intent",
                    field="intent",
                )
            expected = Money(intent.amount_fen, intent.currency)
            if verified.reference != intent.reference or verified.amount != expected:
                raise CallbackRejected(
                    _(
                        "The callback is for %(got)s on %(got_ref)s, but payment %(id)s is "
                        "%(expected)s on %(reference)s."
                    )
                    % {
                        "got": verified.amount,
                        "got_ref": verified.reference[:100],
                        "id": intent.public_id,
                        "expected": expected,
                        "reference": intent.reference,
                    },
                    code="callback_mismatch",
                    field="amount_fen",
                )
            if verified.status == "paid":
                # payment_capture's steps, inside this transaction (no savepoint) and on
                # the row locked above (no second read).
                params = _capture_params(
                    public_id=intent.public_id,
                    amount=verified.amount,
                    provider_payment_id=verified.payment_id,
                )
                key = f"callback-capture:{provider}:{params['payment_id']}"
                replay = _claim(
                    key=key, operation="payment_capture", params=params, result_id=intent.pk
                )
                if replay is None:
                    _capture_locked(intent, params=params, now=now, actor=f"provider:{provider}")
            else:
                intent = payment_fail(
                    intent=intent,
                    reason="provider reported failure",
                    idempotency_key=f"callback-fail:{provider}:{intent.public_id}",
                    actor=f"provider:{provider}",
                )
    except CallbackRejected as error:
        audit_record(
            actor=f"provider:{provider}",
            action="payment.callback_rejected",
            object_type="payments.paymentintent",
            object_id=str(payload.get("intent", ""))[:64],
            after={"code": error.code, "message": error.message[:200]},
        )
        raise
    return CallbackOutcome(intent=intent, status=intent.status)


def callback_nonces_prune(*, now: datetime) -> int:
    """Forget nonces older than twice the timestamp window: such callbacks are refused as
    stale anyway."""
    from taocun.payments.providers.sandbox import callback_window_seconds

    cutoff = now - timedelta(seconds=2 * callback_window_seconds())
    deleted, _details = CallbackNonce.objects.filter(received_at__lt=cutoff).delete()
    return deleted


# --- escrow --------------------------------------------------------------------------------


def _escrow_locked(reference: str) -> Escrow:
    _check_reference(reference, "reference")
    escrow = (
        Escrow.objects.select_related("account")
        .select_for_update(of=("self",))
        .filter(reference=reference)
        .exclude(status=EscrowStatus.VOID)
        .first()
    )
    if escrow is None:
        raise NotFound(
            _("No payment holds order %(reference)s.") % {"reference": reference},
            field="reference",
        )
    return escrow


def escrow_schedule_release(
    *, reference: str, release_after: datetime, idempotency_key: str, actor: Any = None
) -> Escrow:
    """Release the order's escrow automatically at ``release_after`` (the market sets it
    to delivery + N days; a later call moves it, e.g. when the buyer asks for more time)."""
    _check_aware(release_after, "release_after")
    params = {"reference": reference, "release_after": release_after.isoformat()}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="escrow_schedule_release", params=params)
        if replay is not None:
            return Escrow.objects.get(pk=replay)
        escrow = _escrow_locked(reference)
        if escrow.status != EscrowStatus.HELD:
            raise Conflict(
                _("Order %(reference)s is %(status)s: there is nothing to release.")
                % {"reference": reference, "status": escrow.get_status_display()},
                code="not_held",
                field="reference",
            )
        _release_after_set(escrow, release_after, action="escrow.schedule_release", actor=actor)
        _complete(key=idempotency_key, result_id=escrow.pk)

        def enqueue() -> None:
            from taocun.payments.tasks import escrow_release_due_task

            escrow_release_due_task.using(run_after=release_after).enqueue()

        transaction.on_commit(enqueue)
    return escrow


def _release_after_set(
    escrow: Escrow, release_after: datetime | None, *, action: str, actor: Any
) -> None:
    """Move (or, with ``None``, take back) the escrow's automatic release, audited."""
    before = escrow.release_after
    escrow.release_after = release_after
    escrow.save(update_fields=["release_after", "updated_at"])
    audit_record(
        actor=actor,
        action=action,
        obj=escrow,
        before={"release_after": before.isoformat() if before else None},
        after={"release_after": release_after.isoformat() if release_after else None},
    )


def escrow_hold(*, reference: str, idempotency_key: str, actor: Any = None) -> Escrow:
    """Take back an escrow's automatic release: the money stays held until someone decides
    (the market holds it while a refund request waits for the seller's answer). A released
    or refunded escrow is left as it is; holding twice changes nothing."""
    params = {"reference": reference}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="escrow_hold", params=params)
        if replay is not None:
            return Escrow.objects.get(pk=replay)
        escrow = _escrow_locked(reference)
        if escrow.status == EscrowStatus.HELD and escrow.release_after is not None:
            _release_after_set(escrow, None, action="escrow.hold", actor=actor)
        _complete(key=idempotency_key, result_id=escrow.pk)
    return escrow


def escrow_release(
    *, reference: str, idempotency_key: str, now: datetime | None = None, actor: Any = None
) -> Escrow:
    """Release an order's escrow: the seller's part to their available balance, the
    commission to the platform. Releasing a released escrow changes nothing."""
    now = now or timezone.now()
    params = {"reference": reference}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="escrow_release", params=params)
        if replay is not None:
            return Escrow.objects.get(pk=replay)
        escrow = _escrow_locked(reference)
        if escrow.status in (EscrowStatus.AWAITING_PAYMENT, EscrowStatus.REFUNDED):
            raise Conflict(
                _("Order %(reference)s is %(status)s: there is nothing to release.")
                % {"reference": reference, "status": escrow.get_status_display()},
                code="not_held",
                field="reference",
            )
        if escrow.status == EscrowStatus.HELD:
            remaining = escrow.amount_fen - escrow.refunded_fen
            commission = commission_for(amount_fen=remaining, rate_bp=escrow.commission_rate_bp)
            _post(
                kind=TransactionKind.RELEASE,
                key=f"release:{escrow.pk}",
                reference=reference,
                currency=escrow.currency,
                legs=[
                    (escrow.account, -remaining),
                    (
                        _seller_account(
                            escrow.seller_id, AccountKind.SELLER_AVAILABLE, escrow.currency
                        ),
                        remaining - commission,
                    ),
                    (_platform_account(escrow.currency), commission),
                ],
            )
            escrow.status = EscrowStatus.RELEASED
            escrow.released_at = now
            escrow.released_fen = remaining
            escrow.commission_fen = commission
            escrow.save(
                update_fields=[
                    "status",
                    "released_at",
                    "released_fen",
                    "commission_fen",
                    "updated_at",
                ]
            )
            _announce(
                signals.escrow_released,
                reference=reference,
                seller_id=escrow.seller_id,
                released_fen=remaining,
                commission_fen=commission,
            )
            audit_record(
                actor=actor,
                action="escrow.release",
                obj=escrow,
                before={"status": EscrowStatus.HELD},
                after={
                    "status": EscrowStatus.RELEASED,
                    "released_fen": remaining,
                    "commission_fen": commission,
                },
            )
        _complete(key=idempotency_key, result_id=escrow.pk)
    return escrow


def escrow_release_due(*, now: datetime, batch_size: int = 500) -> list[str]:
    """Release every held escrow whose ``release_after`` has passed; return their references.

    Each release is its own transaction (one bad escrow does not hold back the others),
    keyed ``auto-release:<reference>``, so running this twice — or in two workers at once —
    releases each escrow once.
    """
    _check_aware(now, "now")
    released: list[str] = []
    last_pk = 0
    while True:
        due = list(
            Escrow.objects.filter(status=EscrowStatus.HELD, release_after__lte=now, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "reference")[:batch_size]
        )
        if not due:
            return released
        for pk, reference in due:
            last_pk = pk
            try:
                escrow = escrow_release(
                    reference=reference,
                    idempotency_key=f"auto-release:{reference}",
                    now=now,
                    actor="system:escrow_release_due",
                )
            except ApplicationError as error:  # refunded meanwhile, say
                logger.warning("auto-release of %s skipped: %s", reference, error)
                continue
            if escrow.status == EscrowStatus.RELEASED:
                released.append(reference)


# --- refunds -------------------------------------------------------------------------------


def refund_issue(
    *,
    reference: str,
    amount: Money,
    idempotency_key: str,
    reason: str = "",
    actor: Any = None,
) -> Refund:
    """Refund part or all of an order to the buyer.

    Before release the money comes out of escrow. After release it comes back from the
    seller's available balance, and the platform returns the commission on the refunded
    part (the commission is recomputed on what remains, so a full refund returns all of
    it); if the seller's available balance is short, the refund is refused. Never more
    than was paid minus what was already refunded.
    """
    _check_reference(reference, "reference")
    _check_positive(amount, "amount")
    reason = _check_text(reason, "reason")
    params = {
        "reference": reference,
        "amount_fen": amount.amount_fen,
        "currency": amount.currency,
        "reason": reason,
    }
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="refund_issue", params=params)
        if replay is not None:
            return Refund.objects.get(pk=replay)
        escrow = _escrow_locked(reference)
        if escrow.status == EscrowStatus.AWAITING_PAYMENT:
            raise Conflict(
                _("Order %(reference)s is not paid yet: cancel the payment instead.")
                % {"reference": reference},
                code="not_paid",
                field="reference",
            )
        if amount.currency != escrow.currency:
            raise ValidationError(
                _("Order %(reference)s was paid in %(currency)s.")
                % {"reference": reference, "currency": escrow.currency},
                field="amount",
            )
        refundable = escrow.refundable_fen
        if amount.amount_fen > refundable:
            raise RefundTooLarge(
                _(
                    "At most %(refundable)s of order %(reference)s can still be refunded "
                    "(paid %(paid)s, already refunded %(refunded)s); %(amount)s asked."
                )
                % {
                    "refundable": Money(refundable, escrow.currency),
                    "reference": reference,
                    "paid": Money(escrow.amount_fen, escrow.currency),
                    "refunded": Money(escrow.refunded_fen, escrow.currency),
                    "amount": amount,
                },
                field="amount",
                extra={"refundable_fen": refundable},
            )
        intent = escrow.intent
        provider_account = _provider_account(intent.provider, escrow.currency)
        commission_returned = 0
        if escrow.status == EscrowStatus.HELD:
            stage = RefundStage.BEFORE_RELEASE
            legs = [(escrow.account, -amount.amount_fen), (provider_account, amount.amount_fen)]
        else:
            stage = RefundStage.AFTER_RELEASE
            commission_after = commission_for(
                amount_fen=refundable - amount.amount_fen, rate_bp=escrow.commission_rate_bp
            )
            commission_returned = escrow.commission_fen - commission_after
            legs = [
                (
                    _seller_account(
                        escrow.seller_id, AccountKind.SELLER_AVAILABLE, escrow.currency
                    ),
                    -(amount.amount_fen - commission_returned),
                ),
                (_platform_account(escrow.currency), -commission_returned),
                (provider_account, amount.amount_fen),
            ]
        ledger_transaction = _post(
            kind=TransactionKind.REFUND,
            # Natural key: the refund that takes this escrow past what was refunded before.
            key=f"refund:{escrow.pk}:{escrow.refunded_fen}",
            reference=reference,
            currency=escrow.currency,
            legs=legs,
            memo=reason,
        )
        provider_refund = provider_get(intent.provider).refund(
            payment_id=intent.provider_payment_id, amount=amount, idempotency_key=idempotency_key
        )
        refund = Refund.objects.create(
            escrow=escrow,
            amount_fen=amount.amount_fen,
            commission_returned_fen=commission_returned,
            stage=stage,
            reason=reason,
            provider_refund_id=provider_refund.refund_id,
            transaction=ledger_transaction,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        before = {"status": escrow.status, "refunded_fen": escrow.refunded_fen}
        escrow.refunded_fen += amount.amount_fen
        escrow.commission_fen -= commission_returned
        if escrow.refunded_fen == escrow.amount_fen:
            escrow.status = EscrowStatus.REFUNDED
        escrow.save(update_fields=["refunded_fen", "commission_fen", "status", "updated_at"])
        _announce(
            signals.refund_issued,
            reference=reference,
            refund_id=refund.pk,
            amount_fen=amount.amount_fen,
            currency=amount.currency,
            stage=stage,
        )
        audit_record(
            actor=actor,
            action="escrow.refund",
            obj=escrow,
            before=before,
            after={
                "status": escrow.status,
                "refunded_fen": escrow.refunded_fen,
                "refund_id": refund.pk,
                "amount_fen": amount.amount_fen,
                "stage": stage,
                "commission_returned_fen": commission_returned,
            },
        )
        _complete(key=idempotency_key, result_id=refund.pk)
    return refund


# --- payouts -------------------------------------------------------------------------------


def payout_request(
    *,
    seller: Any,
    amount: Money,
    idempotency_key: str,
    destination: str = "",
    provider: str | None = None,
    actor: Any = None,
) -> Payout:
    """Move ``amount`` of the seller's available balance out to them: it is in transit
    until the provider reports the transfer done (or failed, and it comes back)."""
    seller_id = _user_id(seller, "seller")
    _check_users_exist({seller_id: "seller"})
    _check_positive(amount, "amount")
    if amount.amount_fen > MAX_FEN // 2:
        raise ValidationError(_("The amount is too large."), field="amount")
    destination = _check_text(destination, "destination", 100)
    provider_name = provider or default_provider_name()
    payment_provider = provider_get(provider_name)
    params = {
        "seller": seller_id,
        "amount_fen": amount.amount_fen,
        "currency": amount.currency,
        "destination": destination,
        "provider": provider_name,
    }
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payout_request", params=params)
        if replay is not None:
            return Payout.objects.get(pk=replay)
        payout = Payout.objects.create(
            seller_id=seller_id,
            amount_fen=amount.amount_fen,
            currency=amount.currency,
            provider=provider_name,
            destination=destination,
        )
        _post(
            kind=TransactionKind.PAYOUT,
            key=f"payout:{payout.pk}",
            reference=payout.reference,
            currency=amount.currency,
            legs=[
                (
                    _seller_account(seller_id, AccountKind.SELLER_AVAILABLE, amount.currency),
                    -amount.amount_fen,
                ),
                (
                    _seller_account(seller_id, AccountKind.PAYOUTS_IN_TRANSIT, amount.currency),
                    amount.amount_fen,
                ),
            ],
        )
        payout.provider_reference = payment_provider.payout_send(
            payout_id=payout.pk,
            amount=amount,
            destination=destination,
            idempotency_key=idempotency_key,
        )[:64]
        payout.save(update_fields=["provider_reference", "updated_at"])
        audit_record(
            actor=actor if actor is not None else seller,
            action="payout.request",
            obj=payout,
            after={**params, "status": payout.status},
        )
        _payout_tell(payout, kind=PAYOUT_REQUESTED)
        _complete(key=idempotency_key, result_id=payout.pk)
    return payout


def _payout_locked(payout: Payout | int) -> Payout:
    pk = payout if isinstance(payout, int) else payout.pk
    found = Payout.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no payout %(id)s.") % {"id": pk}, field="payout")
    return found


def payout_complete(
    *,
    payout: Payout | int,
    idempotency_key: str,
    provider_reference: str = "",
    now: datetime | None = None,
    actor: Any = None,
) -> Payout:
    """The provider reports the transfer done: the money has left the platform."""
    provider_reference = _check_text(provider_reference, "provider_reference", 64)
    pk = payout if isinstance(payout, int) else payout.pk
    params = {"payout": pk, "provider_reference": provider_reference}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payout_complete", params=params)
        if replay is not None:
            return Payout.objects.get(pk=replay)
        locked = _payout_locked(pk)
        if locked.status == PayoutStatus.FAILED:
            raise Conflict(
                _("Payout %(id)s already failed; its money is back in the seller's balance.")
                % {"id": pk},
                code="payout_closed",
                field="payout",
            )
        if locked.status == PayoutStatus.IN_TRANSIT:
            _post(
                kind=TransactionKind.PAYOUT_COMPLETE,
                key=f"payout-complete:{locked.pk}",
                reference=locked.reference,
                currency=locked.currency,
                legs=[
                    (
                        _seller_account(
                            locked.seller_id, AccountKind.PAYOUTS_IN_TRANSIT, locked.currency
                        ),
                        -locked.amount_fen,
                    ),
                    (_provider_account(locked.provider, locked.currency), locked.amount_fen),
                ],
            )
            locked.status = PayoutStatus.PAID
            locked.completed_at = now or timezone.now()
            if provider_reference:
                locked.provider_reference = provider_reference
            locked.save(
                update_fields=["status", "completed_at", "provider_reference", "updated_at"]
            )
            audit_record(
                actor=actor,
                action="payout.complete",
                obj=locked,
                before={"status": PayoutStatus.IN_TRANSIT},
                after={"status": PayoutStatus.PAID},
            )
            _payout_tell(locked, kind=PAYOUT_PAID)
        _complete(key=idempotency_key, result_id=locked.pk)
    return locked


def payout_fail(
    *,
    payout: Payout | int,
    reason: str,
    idempotency_key: str,
    now: datetime | None = None,
    actor: Any = None,
) -> Payout:
    """The transfer failed (a closed bank account, say): the money returns to the seller's
    available balance."""
    reason = _check_text(reason, "reason") or "failed"
    pk = payout if isinstance(payout, int) else payout.pk
    params = {"payout": pk, "reason": reason}
    with transaction.atomic():
        replay = _claim(key=idempotency_key, operation="payout_fail", params=params)
        if replay is not None:
            return Payout.objects.get(pk=replay)
        locked = _payout_locked(pk)
        if locked.status == PayoutStatus.PAID:
            raise Conflict(
                _("Payout %(id)s is already paid out.") % {"id": pk},
                code="payout_closed",
                field="payout",
            )
        if locked.status == PayoutStatus.IN_TRANSIT:
            _post(
                kind=TransactionKind.PAYOUT_FAIL,
                key=f"payout-fail:{locked.pk}",
                reference=locked.reference,
                currency=locked.currency,
                legs=[
                    (
                        _seller_account(
                            locked.seller_id, AccountKind.PAYOUTS_IN_TRANSIT, locked.currency
                        ),
                        -locked.amount_fen,
                    ),
                    (
                        _seller_account(
                            locked.seller_id, AccountKind.SELLER_AVAILABLE, locked.currency
                        ),
                        locked.amount_fen,
                    ),
                ],
                memo=reason,
            )
            locked.status = PayoutStatus.FAILED
            locked.failure_reason = reason
            locked.completed_at = now or timezone.now()
            locked.save(update_fields=["status", "failure_reason", "completed_at", "updated_at"])
            audit_record(
                actor=actor,
                action="payout.fail",
                obj=locked,
                before={"status": PayoutStatus.IN_TRANSIT},
                after={"status": PayoutStatus.FAILED, "reason": reason},
            )
            _payout_tell(locked, kind=PAYOUT_FAILED)
        _complete(key=idempotency_key, result_id=locked.pk)
    return locked
