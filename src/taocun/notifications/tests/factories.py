"""Test data and test backends for notifications."""

from __future__ import annotations

from typing import ClassVar

from taocun.accounts.tests.factories import UserFactory
from taocun.notifications.backends import DeliveryBackend, OutgoingMessage
from taocun.notifications.models import NotificationPreference


class FlakySmsBackend(DeliveryBackend):
    """Fails the next ``failures`` sends (as a gateway that is down), then accepts."""

    failures: ClassVar[int] = 0
    sent: ClassVar[list[OutgoingMessage]] = []

    def send(self, message: OutgoingMessage) -> str:
        if FlakySmsBackend.failures > 0:
            FlakySmsBackend.failures -= 1
            raise ConnectionError("gateway unreachable")
        FlakySmsBackend.sent.append(message)
        return f"flaky-{len(FlakySmsBackend.sent)}"


def person(*, email: str = "", language: str = "", **kwargs):
    """A user, with an e-mail address and a language in their notification settings when
    given."""
    user = UserFactory(**kwargs)
    if email or language:
        NotificationPreference.objects.create(user=user, email=email, language=language)
    return user
