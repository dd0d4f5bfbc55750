"""How a notification leaves the platform: the SMS and e-mail backend interface and the
backends that ship with taocun.

A backend is a class named by a dotted path in settings (``NOTIFICATIONS_SMS_BACKEND``,
``NOTIFICATIONS_EMAIL_BACKEND``). It is instantiated once per batch of deliveries and its
``send`` is called once per message. ``send`` returns the provider's reference for the
message (or ``""``) when the provider accepted it, and raises any exception when it did
not — the message of the exception is recorded on the delivery and the delivery is retried
later. A backend never needs to catch its own errors: the caller's transaction and request
are protected by :mod:`taocun.notifications.services`.

See docs/notifications.md for writing a backend for a real SMS gateway.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger("taocun.notifications")

DEFAULT_SMS_BACKEND = "taocun.notifications.backends.ConsoleSmsBackend"
DEFAULT_EMAIL_BACKEND = "taocun.notifications.backends.DjangoEmailBackend"


@dataclass(frozen=True)
class OutgoingMessage:
    """What a backend sends. ``text`` is ready to send, in the recipient's language;
    ``kind`` and ``context`` are there for gateways that send by template (most mainland
    SMS gateways do: a template code chosen by ``kind``, its parameters from ``context``)."""

    to: str
    subject: str
    text: str
    kind: str
    language: str
    notification_id: int
    delivery_id: int
    context: dict[str, Any] = field(default_factory=dict)


class DeliveryBackend:
    """The interface: subclass and implement :meth:`send`."""

    def send(self, message: OutgoingMessage) -> str:
        raise NotImplementedError


class ConsoleSmsBackend(DeliveryBackend):
    """Writes each SMS to the log (logger ``taocun.notifications``, level INFO) and to
    standard output: the default, for development and demos. Sends nothing."""

    def send(self, message: OutgoingMessage) -> str:
        line = f"[sms to {message.to}] {message.text}"
        logger.info(line)
        print(line, flush=True)
        return ""


class LocmemSmsBackend(DeliveryBackend):
    """Keeps each SMS in :attr:`outbox` (a class-level list, like ``django.core.mail.outbox``)
    for tests. Empty it with ``LocmemSmsBackend.outbox.clear()``."""

    outbox: ClassVar[list[OutgoingMessage]] = []
    _lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> str:
        with self._lock:
            self.outbox.append(message)
            return f"locmem-{len(self.outbox)}"


class DjangoEmailBackend(DeliveryBackend):
    """E-mail through Django's ``send_mail``, so ``EMAIL_BACKEND`` (console, locmem, SMTP…)
    and ``DEFAULT_FROM_EMAIL`` decide how and from whom it goes."""

    def send(self, message: OutgoingMessage) -> str:
        send_mail(
            subject=message.subject,
            message=message.text,
            from_email=None,
            recipient_list=[message.to],
            fail_silently=False,
        )
        return ""


def backend_for(channel: str) -> DeliveryBackend:
    """A new instance of the backend configured for ``channel`` (``sms`` or ``email``)."""
    paths = {
        "sms": getattr(settings, "NOTIFICATIONS_SMS_BACKEND", DEFAULT_SMS_BACKEND),
        "email": getattr(settings, "NOTIFICATIONS_EMAIL_BACKEND", DEFAULT_EMAIL_BACKEND),
    }
    return import_string(paths[channel])()
