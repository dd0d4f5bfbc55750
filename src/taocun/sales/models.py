"""The cross-platform sales ledger: shops and orders of every platform a village sells on.

Rows come from imports (other platforms' exports, ``sales.importing``) and from the
marketplace, which posts finished orders through ``sales.services`` (platform ``taocun``).
Amounts are integer fen; an order in another currency keeps its own amount and also its
value in CNY at the rate of its payment day, which is what the label engine counts.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel


class ShopKind(models.TextChoices):
    PERSONAL = "personal", _("personal")
    ENTERPRISE = "enterprise", _("enterprise")


class OrderStatus(models.TextChoices):
    COMPLETED = "completed", _("completed")
    REFUNDED = "refunded", _("refunded")
    CANCELLED = "cancelled", _("cancelled")


class Shop(TimeStampedModel):
    platform = models.CharField(_("platform"), max_length=20)
    shop_id = models.CharField(_("shop id"), max_length=64)
    village = models.ForeignKey(
        "regions.Division",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        db_column="village_code",
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ShopKind.choices, default=ShopKind.PERSONAL
    )
    household = models.ForeignKey(
        "regions.Household",
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["platform", "shop_id"]
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        constraints = [
            models.UniqueConstraint(fields=["platform", "shop_id"], name="sales_shop_key"),
        ]
        indexes = [models.Index(fields=["village", "platform"])]

    def __str__(self) -> str:
        return f"{self.platform}:{self.shop_id}"


class ShopMove(models.Model):
    """A shop's village changed on re-import: kept so the move is explained, not silent.

    Stored evaluations are snapshots and keep the village the shop had when they ran.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="moves")
    from_village = models.ForeignKey(
        "regions.Division", on_delete=models.PROTECT, related_name="+", db_column="from_code"
    )
    to_village = models.ForeignKey(
        "regions.Division", on_delete=models.PROTECT, related_name="+", db_column="to_code"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["shop_id", "recorded_at"]

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.from_village_id} → {self.to_village_id}"


class CurrencyRate(models.Model):
    """How many fen one unit of ``currency`` is worth, from ``valid_from`` (China date)."""

    currency = models.CharField(_("currency"), max_length=3)
    valid_from = models.DateField(_("valid from"))
    cny_per_unit = models.DecimalField(_("CNY per unit"), max_digits=18, decimal_places=8)

    class Meta:
        ordering = ["currency", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="sales_rate_key"),
            models.CheckConstraint(
                condition=models.Q(cny_per_unit__gt=0), name="sales_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.valid_from}: {self.cny_per_unit}"


class SalesOrder(models.Model):
    """One paid order of a shop. Counted sales = ``amount_cny_fen - refunded_cny_fen`` unless
    cancelled. No timestamps: the ledger holds tens of millions of rows."""

    platform = models.CharField(_("platform"), max_length=20)
    order_id = models.CharField(_("order id"), max_length=64)
    # No index of its own: the (shop, paid_at) index below serves lookups by shop, and one
    # index less makes bulk imports about a third faster.
    shop = models.ForeignKey(
        Shop,
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    amount_cny_fen = models.BigIntegerField(_("amount in CNY (fen)"))
    refunded_cny_fen = models.BigIntegerField(_("refunded in CNY (fen)"), default=0)
    paid_at = models.DateTimeField(_("paid at"))
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices)

    class Meta:
        ordering = ["paid_at", "id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["platform", "order_id"], name="sales_order_key"),
            models.CheckConstraint(
                condition=models.Q(amount_fen__gte=0), name="sales_order_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_fen__gte=0)
                & models.Q(refunded_fen__lte=models.F("amount_fen")),
                name="sales_order_refund_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["shop", "paid_at"]), models.Index(fields=["paid_at"])]

    def __str__(self) -> str:
        return f"{self.platform}:{self.order_id}"
