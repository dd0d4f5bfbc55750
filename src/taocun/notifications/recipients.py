"""Who a notification reaches and in which language.

Callers of :func:`taocun.notifications.services.notify` pass the title and body already
written in the recipient's language; :func:`in_recipient_language` is how they do it::

    with in_recipient_language(order.buyer):
        notify(user=order.buyer, kind="order.shipped", title=_("Your order has shipped"), ...)

A recipient's settings (language, e-mail address, channels per group) are read once per
user instance and kept on it: :func:`recipients_load` reads them for many users in one
query, so a batch of messages costs one read whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation

from taocun.notifications.models import NotificationPreference

_PREFERENCE = "_notification_preference_cache"
_CHANNELS = "_notification_channels_cache"


def recipients_load(users: Iterable[Any]) -> None:
    """Read the settings of every user in ``users`` that has none kept yet, in one query
    (the user's row joined to their preference and channel rows), and keep them on each
    instance: instances of the same user all get them."""
    by_pk: dict[Any, list[Any]] = defaultdict(list)
    for user in users:
        if user.pk is not None and not hasattr(user, _CHANNELS):
            by_pk[user.pk].append(user)
    if not by_pk:
        return
    preferences: dict[Any, NotificationPreference | None] = dict.fromkeys(by_pk)
    channels: dict[Any, dict[str, tuple[bool, bool]]] = {pk: {} for pk in by_pk}
    rows = (
        get_user_model()
        ._default_manager.filter(pk__in=list(by_pk))
        .values_list(
            "pk",
            "notification_preference__id",
            "notification_preference__language",
            "notification_preference__email",
            "notification_channels__group",
            "notification_channels__sms",
            "notification_channels__email",
        )
    )
    for pk, preference_id, language, email, group, sms, by_email in rows:
        if preference_id is not None and preferences[pk] is None:
            preferences[pk] = NotificationPreference(
                id=preference_id, user_id=pk, language=language, email=email
            )
        if group is not None:
            channels[pk][group] = (sms, by_email)
    for pk, instances in by_pk.items():
        for user in instances:
            setattr(user, _PREFERENCE, preferences[pk])
            setattr(user, _CHANNELS, channels[pk])


def recipient_preference(user: Any) -> NotificationPreference | None:
    """The user's language and e-mail row (``None`` when they never set one)."""
    if not hasattr(user, _PREFERENCE):
        recipients_load([user])
    return getattr(user, _PREFERENCE, None)


def recipient_channels(user: Any) -> dict[str, tuple[bool, bool]]:
    """The groups whose channels the user changed: group → (SMS on, e-mail on). Groups
    left out have the defaults (``selectors.CHANNEL_DEFAULTS``)."""
    if not hasattr(user, _CHANNELS):
        recipients_load([user])
    return getattr(user, _CHANNELS, {})


def recipient_language(user: Any) -> str:
    """The language code messages to ``user`` are written in: their choice in the
    notification settings, else the site's default (``LANGUAGE_CODE``)."""
    preference = recipient_preference(user)
    available = {code for code, _name in settings.LANGUAGES}
    if preference is not None and preference.language in available:
        return preference.language
    return settings.LANGUAGE_CODE


@contextmanager
def in_recipient_language(user: Any) -> Iterator[str]:
    """Translate everything inside the block into ``user``'s language; yields the code."""
    language = recipient_language(user)
    with translation.override(language):
        yield language


def recipient_email(user: Any) -> str:
    """The address e-mail goes to: the one in the notification settings, else the account's
    own ``email`` if the user model has one; ``""`` when there is none."""
    preference = recipient_preference(user)
    if preference is not None and preference.email:
        return preference.email
    return str(getattr(user, "email", "") or "")


def recipient_phone(user: Any) -> str:
    """The mainland mobile number SMS goes to (the login phone, stored as +86…)."""
    return str(getattr(user, "phone", "") or "")


def forget_cached_preference(user: Any) -> None:
    """Drop what :func:`recipients_load` kept on ``user`` (after their settings changed)."""
    for name in (_PREFERENCE, _CHANNELS):
        if hasattr(user, name):
            delattr(user, name)
