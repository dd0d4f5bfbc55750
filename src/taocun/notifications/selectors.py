"""Reads of notifications, their deliveries and users' channel choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from taocun.notifications.models import (
    Delivery,
    DeliveryStatus,
    Group,
    Notification,
)
from taocun.notifications.recipients import (
    recipient_channels,
    recipient_email,
    recipient_language,
    recipient_preference,
)

# Channels on for a group until the user changes them: what a buyer or seller must not
# miss (orders, money) comes by SMS too; the rest by e-mail only (when there is an address).
CHANNEL_DEFAULTS: dict[str, dict[str, bool]] = {
    Group.ORDERS: {"sms": True, "email": True},
    Group.PAYMENTS: {"sms": True, "email": True},
    Group.REVIEWS: {"sms": False, "email": True},
    Group.PROGRAM: {"sms": False, "email": True},
}


@dataclass(frozen=True)
class GroupChannels:
    group: str
    label: str
    sms: bool
    email: bool


@dataclass(frozen=True)
class Preferences:
    language: str
    language_chosen: str
    email: str
    groups: list[GroupChannels]

    def channels(self, group: str) -> GroupChannels:
        return next(item for item in self.groups if item.group == group)


def preferences_get(*, user: Any) -> Preferences:
    """Every group with its channels (the user's choice, else the default), the language
    messages are written in, and the e-mail address. One query, none when the user's
    settings were already read on this instance (``recipients.recipients_load``)."""
    chosen = recipient_channels(user)
    groups = []
    for group in Group:
        defaults = CHANNEL_DEFAULTS[group.value]
        sms, email = chosen.get(group.value, (defaults["sms"], defaults["email"]))
        groups.append(
            GroupChannels(group=group.value, label=str(group.label), sms=sms, email=email)
        )
    preference = recipient_preference(user)
    return Preferences(
        language=recipient_language(user),
        language_chosen=preference.language if preference else "",
        email=recipient_email(user),
        groups=groups,
    )


def notifications_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, unread first, each part newest first."""
    queryset = Notification.objects.filter(user_id=user.pk)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.annotate(
        unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())
    ).order_by("-unread", "-created_at", "-id")


def notifications_unread_count(*, user: Any) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def deliveries_failed(*, limit: int = 100) -> QuerySet[Delivery]:
    """Failed deliveries, oldest first, with their notification (for the CLI and admin)."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.FAILED)
        .select_related("notification")
        .order_by("created_at", "id")[:limit]
    )
