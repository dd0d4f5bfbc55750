"""Reviews of completed order lines, the seller's reply, and reports for moderators.

A review belongs to one order line (a buyer rates what they bought, once). Its ``product``
and ``shop`` are copied from the line so that listing pages read one table. Only
**visible** reviews count in ``Shop.rating_*`` and ``Product.rating_*``; the services in
:mod:`taocun.reviews.services` keep those aggregates equal to the sum and count of visible
reviews. Rows are written only through those services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel

STARS_MIN, STARS_MAX = 1, 5
TEXT_MAX = 1000
REPLY_MAX = 500
REASON_MAX = 300
NOTE_MAX = 300


class ReviewStatus(models.TextChoices):
    VISIBLE = "visible", _("visible")
    HIDDEN = "hidden", _("hidden")


class Review(TimeStampedModel):
    line = models.OneToOneField(
        "orders.OrderLine",
        verbose_name=_("order line"),
        on_delete=models.PROTECT,
        related_name="review",
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    product = models.ForeignKey(
        "market.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="reviews",
        db_index=False,
    )
    shop = models.ForeignKey(
        "market.Shop",
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        related_name="reviews",
        db_index=False,
    )
    stars = models.PositiveSmallIntegerField(_("stars"))
    text = models.TextField(_("text"), max_length=TEXT_MAX, blank=True)
    photo = models.FileField(_("photo"), max_length=200, blank=True)
    photo_thumbnail = models.FileField(_("photo thumbnail"), max_length=200, blank=True)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.VISIBLE
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    hidden_reason = models.CharField(_("reason for hiding"), max_length=REASON_MAX, blank=True)
    reply_text = models.TextField(_("seller's reply"), max_length=REPLY_MAX, blank=True)
    reply_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    reply_edited_at = models.DateTimeField(_("reply edited at"), null=True, blank=True)
    reply_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [
            models.Index(fields=["product", "status", "id"], name="reviews_product_status"),
            models.Index(fields=["shop", "status", "id"], name="reviews_shop_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=STARS_MIN) & Q(stars__lte=STARS_MAX),
                name="reviews_review_stars_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} ({self.stars}★)"

    @property
    def is_visible(self) -> bool:
        return self.status == ReviewStatus.VISIBLE


class ReportReason(models.TextChoices):
    SPAM = "spam", _("spam or advertising")
    OFFENSIVE = "offensive", _("offensive or abusive")
    FALSE = "false", _("false or misleading")
    PRIVATE = "private", _("personal information")
    OTHER = "other", _("something else")


class Report(TimeStampedModel):
    """A user's report of a review. Open until a moderator hides the review, puts it back
    or dismisses the reports; the moderation queue lists reviews with open reports."""

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReportReason.choices)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["review_id", "id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(fields=["review", "reporter"], name="reviews_report_once"),
        ]
        indexes = [
            models.Index(
                fields=["review"], condition=Q(resolved_at__isnull=True), name="reviews_open"
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} of review {self.review_id}"
