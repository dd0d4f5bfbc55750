"""Notifications kept in the app, the deliveries of each through SMS and e-mail, and each
user's choice of channels.

A :class:`Notification` is the in-app copy (always written); each :class:`Delivery` is one
attempt-tracked send of it through one channel, written in the same transaction as the
notification (an outbox), so a rolled-back event sends nothing and a crash after commit
leaves a ``pending`` row that the retry sweep picks up.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel

TITLE_MAX = 200
BODY_MAX = 2000
URL_MAX = 500
KIND_MAX = 60
DEDUPE_KEY_MAX = 150


class Group(models.TextChoices):
    """Kinds of notification a user turns channels on or off for, as a whole."""

    ORDERS = "orders", _("Orders")
    PAYMENTS = "payments", _("Payments")
    REVIEWS = "reviews", _("Reviews")
    PROGRAM = "program", _("Programme news")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Notification(models.Model):
    """One message to one user, shown in their inbox until they delete their account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=KIND_MAX)
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    body = models.TextField(_("body"), max_length=BODY_MAX, blank=True)
    url = models.CharField(_("link"), max_length=URL_MAX, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=DEDUPE_KEY_MAX, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_unique_dedupe_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(TimeStampedModel):
    """One notification through one channel: where to, how it went, how many tries."""

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=100, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_one_per_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} {self.status} ({self.attempts})"


class NotificationPreference(TimeStampedModel):
    """A user's contact details for notifications: the language messages are written in
    and an e-mail address (the account itself has only a phone number)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    # One of settings.LANGUAGES (checked by the service, not frozen into a migration);
    # empty: the site's default language.
    language = models.CharField(_("language"), max_length=10, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id} {self.language or '-'} {self.email or '-'}"


class ChannelPreference(TimeStampedModel):
    """Whether one group of notifications goes out by SMS and by e-mail for one user.

    No row means the group's defaults (``selectors.CHANNEL_DEFAULTS``); the inbox copy is
    always kept and cannot be turned off.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_channels",
    )
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    sms = models.BooleanField(_("SMS"))
    email = models.BooleanField(_("e-mail"))

    class Meta:
        ordering = ["user_id", "group"]
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="channelpreference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.group} sms={self.sms} email={self.email}"
