"""Every write of notifications: :func:`notify` and :func:`notify_many` (the entry points
for other apps), delivery through SMS and e-mail, retries, read marks and users'
preferences.

``notify_many`` writes the in-app notifications and one ``pending`` delivery per enabled
channel in the caller's transaction, in one insert each. After that transaction commits,
the deliveries go to the task worker (:data:`taocun.notifications.tasks.deliveries_send_task`,
one waiting sweep however many batches) or, with ``NOTIFICATIONS_SEND_IN_WORKER = False``,
are sent in the same process. Sending claims a batch of deliveries in one UPDATE and
records the outcomes in another; it never raises into the caller: a backend's failure is
logged and recorded on the delivery, and the retry sweep (:func:`deliveries_retry`, run by
``taocun notifications retry`` or :data:`taocun.notifications.tasks.deliveries_retry_task`)
tries again with back-off. Delivery is at least once: a process that hangs longer than the
stale timeout after handing messages to the gateway may see them sent again by the sweep.

Notifications themselves are not audited (they are messages, not state of the platform);
changes to a user's contact details and channels are.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

from taocun.core.bulk import bulk_insert
from taocun.core.errors import NotFound, ValidationError
from taocun.core.services import audit_record
from taocun.notifications import selectors
from taocun.notifications.backends import DeliveryBackend, OutgoingMessage, backend_for
from taocun.notifications.models import (
    BODY_MAX,
    DEDUPE_KEY_MAX,
    KIND_MAX,
    TITLE_MAX,
    URL_MAX,
    Channel,
    ChannelPreference,
    Delivery,
    DeliveryStatus,
    Group,
    Notification,
    NotificationPreference,
)
from taocun.notifications.recipients import (
    forget_cached_preference,
    in_recipient_language,
    recipient_channels,
    recipient_email,
    recipient_phone,
    recipients_load,
)

logger = logging.getLogger("taocun.notifications")

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# The first word of a kind names its group: "order.paid", "payout_failed", "review.posted".
KIND_GROUPS: dict[str, str] = {
    "order": Group.ORDERS,
    "orders": Group.ORDERS,
    "payment": Group.PAYMENTS,
    "payments": Group.PAYMENTS,
    "payout": Group.PAYMENTS,
    "refund": Group.PAYMENTS,
    "escrow": Group.PAYMENTS,
    "review": Group.REVIEWS,
    "reviews": Group.REVIEWS,
    "program": Group.PROGRAM,
    "programme": Group.PROGRAM,
}
CONTEXT_MAX_BYTES = 10_000
SMS_TEXT_MAX = 300
ERROR_MAX = 1000


# --- settings, read when used (never at import) -----------------------------------------


def _max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 5))


def _retry_base_seconds() -> int:
    return int(getattr(settings, "NOTIFICATIONS_RETRY_BASE_SECONDS", 60))


def _stale_seconds() -> int:
    return int(getattr(settings, "NOTIFICATIONS_STALE_SECONDS", 900))


def _site_url() -> str:
    return str(getattr(settings, "NOTIFICATIONS_SITE_URL", "") or "")


def _send_in_worker() -> bool:
    return bool(getattr(settings, "NOTIFICATIONS_SEND_IN_WORKER", True))


# --- validation -------------------------------------------------------------------------


def kind_group(kind: str) -> str:
    """The group of a kind (``order.paid`` → ``orders``); a ValidationError for a kind that
    is malformed or belongs to no group (a programming error in the caller)."""
    if not isinstance(kind, str) or len(kind) > KIND_MAX or not KIND_PATTERN.match(kind):
        raise ValidationError(
            _("%(kind)s is not a notification kind (lower-case words joined by dots).")
            % {"kind": repr(kind)},
            field="kind",
        )
    first = re.split(r"[._]", kind, maxsplit=1)[0]
    if first not in KIND_GROUPS:
        raise ValidationError(
            _("The kind %(kind)s belongs to no group; start it with one of: %(prefixes)s.")
            % {"kind": kind, "prefixes": ", ".join(sorted(KIND_GROUPS))},
            field="kind",
        )
    return KIND_GROUPS[first]


def _text(value: Any, *, field: str, limit: int, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError(_("The %(field)s is empty.") % {"field": field}, field=field)
    if len(text) > limit:
        raise ValidationError(
            _("The %(field)s is longer than %(limit)d characters.")
            % {"field": field, "limit": limit},
            field=field,
        )
    if "\x00" in text:
        raise ValidationError(
            _("The %(field)s contains a NUL character.") % {"field": field}, field=field
        )
    return text


def _link(url: str) -> str:
    """A path on this site (``/market/orders/12/``) or an http(s) address."""
    url = _text(url, field="url", limit=URL_MAX, required=False)
    if not url:
        return ""
    parts = urlsplit(url)
    local = url.startswith("/") and not url.startswith("//") and not parts.scheme
    remote = parts.scheme in {"http", "https"} and bool(parts.netloc)
    if not (local or remote) or any(c.isspace() for c in url):
        raise ValidationError(
            _("%(url)s is neither a path on this site nor an http(s) address.")
            % {"url": repr(url)},
            field="url",
        )
    return url


def _context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise ValidationError(_("The context must be a mapping."), field="context")
    try:
        encoded = json.dumps(dict(context), ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise ValidationError(
            _("The context cannot be stored as JSON: %(error)s") % {"error": error},
            field="context",
        ) from None
    if len(encoded.encode()) > CONTEXT_MAX_BYTES:
        raise ValidationError(
            _("The context is larger than %(limit)d bytes.") % {"limit": CONTEXT_MAX_BYTES},
            field="context",
        )
    return json.loads(encoded)


# --- notify -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotificationDraft:
    """One message for :func:`notify_many`; the fields are the arguments of :func:`notify`."""

    user: Any
    kind: str
    title: str
    body: str = ""
    url: str = ""
    context: Mapping[str, Any] | None = None
    dedupe_key: str = ""


def notify(
    *,
    user: Any,
    kind: str,
    title: str,
    body: str,
    url: str = "",
    context: dict | None = None,
    dedupe_key: str = "",
) -> Notification:
    """Tell ``user`` about an event: in the inbox now, by SMS and e-mail after commit.

    Runs in the caller's transaction: if it rolls back, nothing is stored and nothing is
    sent. ``title`` and ``body`` are already in the recipient's language (see
    :func:`taocun.notifications.recipients.in_recipient_language`). With a ``dedupe_key``
    (e.g. ``"order.paid:T20240101-1"``), a second call for the same user and key returns
    the first notification and sends nothing more.
    """
    draft = NotificationDraft(
        user=user,
        kind=kind,
        title=title,
        body=body,
        url=url,
        context=context,
        dedupe_key=dedupe_key,
    )
    return notify_many(drafts=[draft])[0]


def notify_many(*, drafts: Sequence[NotificationDraft]) -> list[Notification]:
    """:func:`notify` for several messages at once (the buyer and the sellers of one
    event), in the order given. The same rules hold for each; the batch costs the same
    few queries whatever its size: the recipients' settings (one, none if already read),
    existing dedupe keys (one, only when keys are given), the notifications (one insert)
    and their deliveries (one insert). Invalid input raises before anything is written,
    naming the message (``message 2 of 5``) and the field.
    """
    count = len(drafts)
    notifications = [
        _notification_checked(
            draft,
            location=_("message %(number)d of %(count)d") % {"number": number, "count": count}
            if count > 1
            else None,
        )
        for number, draft in enumerate(drafts, start=1)
    ]
    if not notifications:
        return []
    recipients_load(notification.user for notification in notifications)

    # No savepoint of its own: nothing below is expected to fail except a dedupe race,
    # which has its own savepoint; the caller's transaction is the unit.
    with transaction.atomic(savepoint=False):
        results, new = _deduplicated(notifications)
        created = _notifications_insert(new, results=results)
        deliveries = [
            Delivery(notification=notification, channel=channel, address=address)
            for notification in created
            for channel, address in _channels_for(user=notification.user, group=notification.group)
        ]
        bulk_insert(Delivery, deliveries)
    if deliveries:
        transaction.on_commit(
            partial(_deliveries_dispatch, delivery_ids=[d.pk for d in deliveries]), robust=True
        )
    return results


def _notification_checked(draft: NotificationDraft, *, location: str | None) -> Notification:
    """The draft as an unsaved notification, or a ValidationError naming the field (and
    the message, in a batch)."""
    try:
        group = kind_group(draft.kind)
        title = _text(draft.title, field="title", limit=TITLE_MAX, required=True)
        body = _text(draft.body, field="body", limit=BODY_MAX, required=False)
        url = _link(draft.url)
        context = _context(draft.context)
        dedupe_key = _text(
            draft.dedupe_key, field="dedupe_key", limit=DEDUPE_KEY_MAX, required=False
        )
        if getattr(draft.user, "pk", None) is None:
            raise ValidationError(_("A notification needs a saved user."), field="user")
    except ValidationError as error:
        error.location = location or error.location
        raise
    return Notification(
        user=draft.user,
        kind=draft.kind,
        group=group,
        title=title,
        body=body,
        url=url,
        context=context,
        dedupe_key=dedupe_key,
    )


def _deduplicated(
    notifications: list[Notification],
) -> tuple[list[Notification], list[Notification]]:
    """(what each draft answers, what is new): a dedupe key already used for the user, or
    used earlier in the batch, answers with that notification."""
    keyed = [n for n in notifications if n.dedupe_key]
    seen: dict[tuple[Any, str], Notification] = {}
    if keyed:
        stored = Notification.objects.filter(
            user_id__in={n.user_id for n in keyed}, dedupe_key__in={n.dedupe_key for n in keyed}
        )
        seen = {(n.user_id, n.dedupe_key): n for n in stored}
    results, new = [], []
    for notification in notifications:
        key = (notification.user_id, notification.dedupe_key)
        if notification.dedupe_key and key in seen:
            results.append(seen[key])
            continue
        if notification.dedupe_key:
            seen[key] = notification
        results.append(notification)
        new.append(notification)
    return results, new


def _notifications_insert(
    new: list[Notification], *, results: list[Notification]
) -> list[Notification]:
    """Store ``new`` in one insert and return what was stored. When a concurrent call
    stored a twin in the meantime (the unique dedupe constraint refuses the insert), store
    them one at a time instead, and answer each refused one with its twin in ``results``."""
    if not any(n.dedupe_key for n in new):
        bulk_insert(Notification, new)
        return new
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on
            bulk_insert(Notification, new)
        return new
    except IntegrityError:
        for notification in new:
            notification.pk = None
    created = []
    for notification in new:
        try:
            with transaction.atomic():
                notification.save(force_insert=True)
            created.append(notification)
        except IntegrityError:
            if not notification.dedupe_key:
                raise
            twin = Notification.objects.get(
                user_id=notification.user_id, dedupe_key=notification.dedupe_key
            )
            results[:] = [twin if r is notification else r for r in results]
    return created


def _channels_for(*, user: Any, group: str) -> list[tuple[str, str]]:
    """(channel, address) for each channel the user has on for the group and can be reached
    on. An inactive account gets nothing outside the app."""
    if not getattr(user, "is_active", True):
        return []
    defaults = selectors.CHANNEL_DEFAULTS[group]
    sms, email = recipient_channels(user).get(group, (defaults["sms"], defaults["email"]))
    targets = []
    if sms and recipient_phone(user):
        targets.append((Channel.SMS.value, recipient_phone(user)))
    if email and recipient_email(user):
        targets.append((Channel.EMAIL.value, recipient_email(user)))
    return targets


# --- delivery ---------------------------------------------------------------------------

# Deliveries claimed and sent together: one claim, one settings read, one write of the
# outcomes per batch. A worker that dies mid-batch leaves the batch in ``sending`` for the
# stale timeout, so at most this many messages can go out twice; and this many times the
# backend's own timeout must stay well under NOTIFICATIONS_STALE_SECONDS.
SEND_BATCH = 25
# What a batch writes back about each delivery after sending.
OUTCOME_FIELDS = [
    "status",
    "sent_at",
    "next_attempt_at",
    "error",
    "provider_reference",
    "updated_at",
]


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def _deliveries_dispatch(*, delivery_ids: list[int]) -> None:
    """After the notifying transaction committed: hand its deliveries to the task worker
    (the default) or, with ``NOTIFICATIONS_SEND_IN_WORKER = False``, send them here."""
    if _send_in_worker():
        _sweep_request()
    else:
        deliveries_send(delivery_ids=delivery_ids)


# The send sweep this process enqueued last (its task result id): while it still waits,
# batches committed by this process need no other one. Remembered per process, so checking
# is one lookup by primary key; other processes keep their own (a few waiting sweeps at
# most, and the ones that run after the first find little or nothing left).
_last_sweep: dict[str, Any] = {}


def _sweep_request() -> None:
    """Make sure a send sweep waits for the worker: enqueue one unless the one this
    process enqueued last is still waiting (it will see these deliveries: they committed
    before this check, so before it starts). Best effort: without it,
    ``taocun notifications retry`` sends what was left pending."""
    try:
        from taocun.notifications.tasks import deliveries_send_task

        if _sweep_waiting(deliveries_send_task, _last_sweep.get("id")):
            return
        _last_sweep["id"] = deliveries_send_task.enqueue().id
    except Exception:
        logger.exception("could not enqueue the notification send task")


def _sweep_waiting(task: Any, result_id: Any) -> bool:
    """Whether the task result ``result_id`` is still ready and not started."""
    if result_id is None:
        return False
    try:
        return task.get_result(result_id).status == TaskResultStatus.READY
    except (TaskResultDoesNotExist, NotImplementedError):  # gone, or a backend that forgets
        return False


def deliveries_send_pending(*, limit: int = 1000) -> SendResult:
    """Send pending deliveries, oldest first, at most ``limit`` (the worker's sweep, see
    :data:`taocun.notifications.tasks.deliveries_send_task`). When more are left, another
    sweep is enqueued, so that the worker's other tasks get a turn in between."""
    sent = failed = 0
    while sent + failed < limit:
        now = timezone.now()
        wanted = min(SEND_BATCH, limit - sent - failed)
        claimed = _claim(due=Q(status=DeliveryStatus.PENDING), now=now, limit=wanted)
        if claimed:
            batch = _send_claimed(claimed, attempted_at=now)
            sent, failed = sent + batch.sent, failed + batch.failed
        if len(claimed) < wanted:
            # None left (or another worker holds them). What commits from now on
            # enqueues its own sweep: this one is no longer waiting.
            break
    else:
        _sweep_request()
    if failed:
        _schedule_retry()
    return SendResult(sent=sent, failed=failed)


def deliveries_send(*, delivery_ids: Iterable[int], force: bool = False) -> SendResult:
    """Send each delivery that is due (pending, or failed and not given up; with ``force``
    also failed deliveries that were given up), in batches. Never raises: every failure
    is recorded on its delivery. Runs outside any transaction of the caller (after commit,
    or from the sweep), so each batch's outcome commits on its own."""
    ids = list(dict.fromkeys(delivery_ids))
    sent = failed = 0
    for start in range(0, len(ids), SEND_BATCH):
        chunk = ids[start : start + SEND_BATCH]
        now = timezone.now()
        try:
            claimed = _claim(
                due=_due(now=now, force=force) & Q(pk__in=chunk), now=now, limit=len(chunk)
            )
        except Exception:  # a lost database: keep the trace, leave them to the sweep
            logger.exception("notification deliveries %s could not be claimed", chunk)
            failed += len(chunk)
            continue
        if claimed:
            batch = _send_claimed(claimed, attempted_at=now)
            sent, failed = sent + batch.sent, failed + batch.failed
    if failed:
        _schedule_retry()
    return SendResult(sent=sent, failed=failed, skipped=len(ids) - sent - failed)


def _due(*, now: datetime, force: bool) -> Q:
    stale = now - timedelta(seconds=_stale_seconds())
    due = Q(status=DeliveryStatus.PENDING) | Q(
        status=DeliveryStatus.SENDING, last_attempt_at__lte=stale
    )
    if force:
        return due | Q(status=DeliveryStatus.FAILED)
    return due | Q(status=DeliveryStatus.FAILED, next_attempt_at__isnull=False)


def _claim(*, due: Q, now: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for this process, with their notification and
    user: the rows are locked (others skip them) and marked ``sending`` in one UPDATE, so
    two workers never send the same delivery at once. SQLite has no row locks; its
    transactions begin IMMEDIATE, which serialises claims the same way."""
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__user")
            .filter(due)
            .order_by("pk")[:limit]
        )
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                status=DeliveryStatus.SENDING,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                updated_at=now,
            )
    for delivery in claimed:
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.last_attempt_at = now
    return claimed


def _send_claimed(claimed: list[Delivery], *, attempted_at: datetime) -> SendResult:
    """Send claimed deliveries through their backends (each instantiated once per batch)
    and record every outcome in one UPDATE. A failure of the database here leaves the
    batch in ``sending``; the sweep sends it again after the stale timeout."""
    sent = failed = 0
    backends: dict[str, DeliveryBackend | Exception] = {}
    try:
        recipients_load(delivery.notification.user for delivery in claimed)
        for delivery in claimed:
            try:
                reference = _backend(delivery.channel, backends).send(_outgoing(delivery))
            except Exception as error:
                _failure_note(delivery=delivery, error=error, attempted_at=attempted_at)
                failed += 1
            else:
                delivery.status = DeliveryStatus.SENT
                delivery.sent_at = timezone.now()
                delivery.next_attempt_at = None
                delivery.error = ""
                delivery.provider_reference = str(reference or "")[:100]
                sent += 1
            delivery.updated_at = timezone.now()
        Delivery.objects.bulk_update(claimed, OUTCOME_FIELDS)
    except Exception:  # a bug or a lost database: keep the trace, leave it to the sweep
        logger.exception(
            "notification deliveries %s could not be processed", [d.pk for d in claimed]
        )
        return SendResult(failed=len(claimed))
    return SendResult(sent=sent, failed=failed)


def _backend(channel: str, backends: dict[str, DeliveryBackend | Exception]) -> DeliveryBackend:
    """The batch's backend for ``channel``; a dotted path that cannot be loaded is raised
    for every delivery of the channel, so that each one records it."""
    if channel not in backends:
        try:
            backends[channel] = backend_for(channel)
        except Exception as error:
            backends[channel] = error
    backend = backends[channel]
    if isinstance(backend, Exception):
        raise backend
    return backend


def _failure_note(*, delivery: Delivery, error: Exception, attempted_at: datetime) -> None:
    """Mark a failed attempt on the delivery (written with the batch's outcomes); the next
    attempt counts from the start of this one."""
    attempts = delivery.attempts
    given_up = attempts >= _max_attempts()
    logger.warning(
        "notification %s: %s to %s failed (attempt %d%s): %s",
        delivery.notification_id,
        delivery.channel,
        delivery.address,
        attempts,
        ", giving up" if given_up else "",
        error,
        exc_info=error,
    )
    delivery.status = DeliveryStatus.FAILED
    delivery.error = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    delivery.next_attempt_at = None if given_up else attempted_at + _backoff(attempts)


def _backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8… times the base, capped at a day."""
    return timedelta(seconds=min(_retry_base_seconds() * 2 ** max(attempts - 1, 0), 86_400))


def _schedule_retry() -> None:
    """Ask the task worker to sweep when the earliest failed delivery is due, unless a sweep
    is already waiting to run by then (an outage must not queue one task per failure).
    Best effort: without a worker, ``taocun notifications retry`` from cron does the same."""
    try:
        from taocun.notifications.tasks import deliveries_retry_task

        due = (
            Delivery.objects.filter(status=DeliveryStatus.FAILED, next_attempt_at__isnull=False)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is None or _retry_already_scheduled(deliveries_retry_task.module_path, due):
            return
        deliveries_retry_task.using(run_after=due).enqueue()
    except Exception:
        logger.exception("could not schedule the notification retry task")


def _retry_already_scheduled(task_path: str, due: datetime) -> bool:
    """Whether the database task backend holds a sweep that will run by ``due``."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another task backend: enqueue every time
        return False
    return DBTaskResult.objects.filter(
        task_path=task_path, status=TaskResultStatus.READY, run_after__lte=due
    ).exists()


def _absolute(url: str) -> str:
    """A link that works outside the site (in an SMS or e-mail), or "" when there is none."""
    if not url:
        return ""
    if urlsplit(url).scheme:
        return url
    site = _site_url()
    return urljoin(site.rstrip("/") + "/", url.lstrip("/")) if site else ""


def _outgoing(delivery: Delivery) -> OutgoingMessage:
    """The message as the recipient reads it, in their language."""
    notification = delivery.notification
    user = notification.user
    link = _absolute(notification.url)
    with in_recipient_language(user) as language:
        site = _("taocun")
        if delivery.channel == Channel.SMS:
            text = _("[%(site)s] %(title)s: %(body)s") % {
                "site": site,
                "title": notification.title,
                "body": notification.body,
            }
            text = text.rstrip(": ：")
            if len(text) > SMS_TEXT_MAX - len(link) - 1:
                text = text[: SMS_TEXT_MAX - len(link) - 2] + "…"
            text = f"{text} {link}".strip()
        else:
            preferences = _absolute(reverse("notifications:preferences"))
            footer = _(
                "You receive this e-mail because e-mail is on for %(group)s in your "
                "notification settings."
            ) % {"group": Group(notification.group).label}
            parts = [notification.body, link, "-- ", footer, preferences]
            text = "\n\n".join(part for part in parts if part)
        subject = _("[%(site)s] %(title)s") % {"site": site, "title": notification.title}
    return OutgoingMessage(
        to=delivery.address,
        subject=subject,
        text=text,
        kind=notification.kind,
        language=language,
        notification_id=notification.pk,
        delivery_id=delivery.pk,
        context=notification.context,
    )


def deliveries_retry(*, now: datetime, limit: int = 500) -> SendResult:
    """Send again what is due: failed deliveries whose next attempt has come, pending ones
    left behind (the process stopped between commit and sending) and ones stuck in
    ``sending`` past the stale timeout. Safe to run from several places at once."""
    stale = now - timedelta(seconds=_stale_seconds())
    left_behind = now - timedelta(seconds=60)
    due = (
        Delivery.objects.filter(
            Q(status=DeliveryStatus.FAILED, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.PENDING, created_at__lte=left_behind)
            | Q(status=DeliveryStatus.SENDING, last_attempt_at__lte=stale)
        )
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliveries_send(delivery_ids=list(due))


def delivery_retry(*, delivery_id: int) -> Delivery:
    """Send one failed delivery again now, even after it was given up (operators, CLI)."""
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("There is no delivery %(id)s.") % {"id": delivery_id})
    if delivery.status == DeliveryStatus.SENT:
        raise ValidationError(
            _("Delivery %(id)s was already sent.") % {"id": delivery_id}, field="delivery"
        )
    deliveries_send(delivery_ids=[delivery_id], force=True)
    delivery.refresh_from_db()
    return delivery


# --- reading ----------------------------------------------------------------------------


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read (again is a no-op that keeps the first time)."""
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of ``user`` read; return how many were unread."""
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- preferences ------------------------------------------------------------------------


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def preferences_update(
    *,
    user: Any,
    actor: Any,
    language: str = UNSET,
    email: str = UNSET,
    channels: Mapping[str, Mapping[str, bool]] | None = None,
) -> selectors.Preferences:
    """Change what the user chose; arguments left out keep their value. ``channels`` maps a
    group to ``{"sms": bool, "email": bool}`` (either key may be left out)."""
    updates: dict[str, str] = {}
    if language is not UNSET:
        language = str(language or "").strip()
        available = {code for code, _name in settings.LANGUAGES}
        if language and language not in available:
            raise ValidationError(
                _("%(language)s is not one of the site's languages (%(choices)s).")
                % {"language": repr(language), "choices": ", ".join(sorted(available))},
                field="language",
            )
        updates["language"] = language
    if email is not UNSET:
        email = str(email or "").strip()
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                raise ValidationError(
                    _("%(email)s is not an e-mail address.") % {"email": repr(email)},
                    field="email",
                ) from None
            if len(email) > 254:
                raise ValidationError(_("The e-mail address is too long."), field="email")
        updates["email"] = email
    changes = _channel_changes(channels or {})

    with transaction.atomic():
        forget_cached_preference(user)  # "before" as stored now, not as read earlier
        before = _preferences_state(selectors.preferences_get(user=user))
        if updates:
            NotificationPreference.objects.update_or_create(user_id=user.pk, defaults=updates)
        current = {g.group: g for g in selectors.preferences_get(user=user).groups}
        for group, wanted in changes.items():
            values = {
                "sms": wanted.get("sms", current[group].sms),
                "email": wanted.get("email", current[group].email),
            }
            ChannelPreference.objects.update_or_create(
                user_id=user.pk, group=group, defaults=values
            )
        forget_cached_preference(user)
        after_preferences = selectors.preferences_get(user=user)
        after = _preferences_state(after_preferences)
        if after != before:
            audit_record(
                actor=actor,
                action="notifications.preferences_update",
                obj=user,
                before=before,
                after=after,
            )
    return after_preferences


def _channel_changes(channels: Mapping[str, Mapping[str, bool]]) -> dict[str, dict[str, bool]]:
    groups = set(Group.values)
    changes: dict[str, dict[str, bool]] = {}
    for group, wanted in channels.items():
        if group not in groups:
            raise ValidationError(
                _("%(group)s is not a notification group (%(choices)s).")
                % {"group": repr(group), "choices": ", ".join(Group.values)},
                field="channels",
            )
        if not isinstance(wanted, Mapping):
            raise ValidationError(
                _("The channels of %(group)s must map sms and email to on or off.")
                % {"group": group},
                field=f"channels.{group}",
            )
        for channel, enabled in wanted.items():
            if channel not in Channel.values or not isinstance(enabled, bool):
                raise ValidationError(
                    _("The channels of %(group)s must map sms and email to on or off.")
                    % {"group": group},
                    field=f"channels.{group}.{channel}",
                )
        changes[group] = dict(wanted)
    return changes


def _preferences_state(preferences: selectors.Preferences) -> dict:
    return {
        "language": preferences.language_chosen,
        "email": preferences.email,
        "channels": {g.group: {"sms": g.sms, "email": g.email} for g in preferences.groups},
    }
