"""Who a notification reaches and in which language.

Callers of :func:`taocun.notifications.services.notify` pass the title and body already
written in the recipient's language; :func:`in_recipient_language` is how they do it::

    with in_recipient_language(order.buyer):
        notify(user=order.buyer, kind="order.shipped", title=_("Your order has shipped"), ...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import translation

from taocun.notifications.models import NotificationPreference


def recipient_preference(user: Any) -> NotificationPreference | None:
    """The user's row, read once per user instance (a notification reads it several times)."""
    if not hasattr(user, "_notification_preference_cache"):
        user._notification_preference_cache = NotificationPreference.objects.filter(
            user_id=user.pk
        ).first()
    return user._notification_preference_cache


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
    if hasattr(user, "_notification_preference_cache"):
        del user._notification_preference_cache
