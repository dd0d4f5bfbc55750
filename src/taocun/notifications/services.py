"""Every write of notifications: :func:`notify` (the one entry point for other apps),
delivery through SMS and e-mail, retries, read marks and users' preferences.

``notify`` writes the in-app notification and one ``pending`` delivery per enabled channel
in the caller's transaction, and sends after that transaction commits. Sending never raises
into the caller: a backend's failure is logged and recorded on the delivery, and the retry
sweep (:func:`deliveries_retry`, run by ``taocun notifications retry`` or
:data:`taocun.notifications.tasks.deliveries_retry_task`) tries again with back-off.
Delivery is at least once: a process that hangs longer than the stale timeout after
handing a message to the gateway may see it sent again by the sweep.

Notifications themselves are not audited (they are messages, not state of the platform);
changes to a user's contact details and channels are.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
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
    recipient_email,
    recipient_phone,
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
    group = kind_group(kind)
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    body = _text(body, field="body", limit=BODY_MAX, required=False)
    url = _link(url)
    context = _context(context)
    dedupe_key = _text(dedupe_key, field="dedupe_key", limit=DEDUPE_KEY_MAX, required=False)
    if getattr(user, "pk", None) is None:
        raise ValidationError(_("A notification needs a saved user."), field="user")

    with transaction.atomic():
        if dedupe_key:
            existing = Notification.objects.filter(user_id=user.pk, dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        fields = {
            "user_id": user.pk,
            "kind": kind,
            "group": group,
            "title": title,
            "body": body,
            "url": url,
            "context": context,
            "dedupe_key": dedupe_key,
        }
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin loses cleanly
                notification = Notification.objects.create(**fields)
        except IntegrityError:
            if not dedupe_key:
                raise
            return Notification.objects.get(user_id=user.pk, dedupe_key=dedupe_key)
        deliveries = [
            Delivery.objects.create(notification=notification, channel=channel, address=address)
            for channel, address in _channels_for(user=user, group=group)
        ]
    if deliveries:
        transaction.on_commit(
            partial(deliveries_send, delivery_ids=[d.pk for d in deliveries]), robust=True
        )
    return notification


def _channels_for(*, user: Any, group: str) -> list[tuple[str, str]]:
    """(channel, address) for each channel the user has on for the group and can be reached
    on. An inactive account gets nothing outside the app."""
    if not getattr(user, "is_active", True):
        return []
    chosen = selectors.preferences_get(user=user).channels(group)
    targets = []
    if chosen.sms and recipient_phone(user):
        targets.append((Channel.SMS.value, recipient_phone(user)))
    if chosen.email and recipient_email(user):
        targets.append((Channel.EMAIL.value, recipient_email(user)))
    return targets


# --- delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def deliveries_send(*, delivery_ids: Iterable[int], force: bool = False) -> SendResult:
    """Send each delivery that is due (pending, or failed and not given up; with ``force``
    also failed deliveries that were given up). Never raises: every failure is recorded on
    its delivery. Runs outside any transaction of the caller (after commit, or from the
    sweep), so each delivery's outcome commits on its own."""
    sent = failed = skipped = 0
    backends: dict[str, DeliveryBackend | Exception] = {}
    for delivery_id in delivery_ids:
        try:
            outcome = _deliver(delivery_id=delivery_id, backends=backends, force=force)
        except Exception:  # a bug or a lost database: keep the rest going, keep the trace
            logger.exception("notification delivery %s could not be processed", delivery_id)
            outcome = "failed"
        if outcome == "sent":
            sent += 1
        elif outcome == "failed":
            failed += 1
        else:
            skipped += 1
    if failed:
        _schedule_retry()
    return SendResult(sent=sent, failed=failed, skipped=skipped)


def _claim(*, delivery_id: int, now: datetime, force: bool) -> bool:
    """Take the delivery for this process (one conditional UPDATE, so two workers never
    send the same delivery at once)."""
    stale = now - timedelta(seconds=_stale_seconds())
    due = Q(status=DeliveryStatus.PENDING) | Q(
        status=DeliveryStatus.SENDING, last_attempt_at__lte=stale
    )
    if force:
        due |= Q(status=DeliveryStatus.FAILED)
    else:
        due |= Q(status=DeliveryStatus.FAILED, next_attempt_at__isnull=False)
    claimed = Delivery.objects.filter(due, pk=delivery_id).update(
        status=DeliveryStatus.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        updated_at=now,
    )
    return claimed == 1


def _deliver(
    *, delivery_id: int, backends: dict[str, DeliveryBackend | Exception], force: bool
) -> str:
    now = timezone.now()
    if not _claim(delivery_id=delivery_id, now=now, force=force):
        return "skipped"
    delivery = Delivery.objects.select_related("notification__user").get(pk=delivery_id)
    try:
        if delivery.channel not in backends:
            try:
                backends[delivery.channel] = backend_for(delivery.channel)
            except Exception as error:  # a wrong dotted path: every delivery records it
                backends[delivery.channel] = error
        backend = backends[delivery.channel]
        if isinstance(backend, Exception):
            raise backend
        reference = backend.send(_outgoing(delivery))
    except Exception as error:
        _record_failure(delivery=delivery, error=error, attempted_at=now)
        return "failed"
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        error="",
        provider_reference=str(reference or "")[:100],
        updated_at=timezone.now(),
    )
    return "sent"


def _record_failure(*, delivery: Delivery, error: Exception, attempted_at: datetime) -> None:
    """The next attempt counts from the start of this one."""
    attempts = delivery.attempts
    given_up = attempts >= _max_attempts()
    next_attempt = None if given_up else attempted_at + _backoff(attempts)
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
    message = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED,
        error=message,
        next_attempt_at=next_attempt,
        updated_at=timezone.now(),
    )


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
        from django_tasks.base import TaskResultStatus
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
