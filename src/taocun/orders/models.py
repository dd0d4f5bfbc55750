"""Carts, delivery addresses, checkouts and orders of the marketplace.

A **checkout** is what a buyer pays at once: one payment intent in ``payments``, one
**order** per shop, each order's money in its own escrow. Orders keep a snapshot of what was
bought (name, pack, unit price, weight and commission rate of each line) and of the delivery
address, so later edits of the catalog or the address book never change a placed order.

Rows are written only through :mod:`taocun.orders.services`; an order's status changes only
through :func:`taocun.orders.services.order_transition`, against the one table of allowed
moves in :mod:`taocun.orders.states`, and every move leaves an :class:`OrderEvent`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel

# Cart rules shared by services, forms and the API.
QUANTITY_MAX = 999
CART_LINES_MAX = 50
ADDRESSES_MAX = 20


class Cart(TimeStampedModel):
    """A buyer's one cart, across shops. Anonymous visitors keep theirs in the session
    until they log in (``services.cart_merge_session``)."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.CASCADE,
        related_name="cart",
    )

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"cart {self.buyer_id}"


class CartLine(TimeStampedModel):
    cart = models.ForeignKey(
        Cart, verbose_name=_("cart"), on_delete=models.CASCADE, related_name="lines"
    )
    variant = models.ForeignKey(
        "market.Variant", verbose_name=_("pack"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["cart_id", "id"]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="orders_cartline_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=QUANTITY_MAX),
                name="orders_cartline_quantity_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} × {self.quantity}"


class Address(TimeStampedModel):
    """One entry of a buyer's address book. The region is text (province, city, district)
    and, when the buyer picked it from the division tree, its code."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.CASCADE,
        related_name="addresses",
    )
    recipient = models.CharField(_("recipient"), max_length=30)
    phone = models.CharField(_("phone number"), max_length=16)
    province = models.CharField(_("province"), max_length=30)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30)
    division = models.ForeignKey(
        "regions.Division",
        verbose_name=_("division"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    detail = models.CharField(_("street and number"), max_length=120)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["-is_default", "-id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["buyer"], condition=Q(is_default=True), name="orders_one_default_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.region_text} {self.detail}"

    @property
    def region_text(self) -> str:
        return " ".join(part for part in (self.province, self.city, self.district) if part)


class CheckoutStatus(models.TextChoices):
    PENDING = "pending", _("awaiting payment")
    PAID = "paid", _("paid")
    CANCELLED = "cancelled", _("cancelled")


class Checkout(TimeStampedModel):
    """One payment for the orders of one or more shops. ``idempotency_key`` is unique per
    buyer: placing the same checkout again (a retried request) returns this one."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        related_name="checkouts",
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=150)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CheckoutStatus.choices,
        default=CheckoutStatus.PENDING,
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    goods_fen = models.BigIntegerField(_("goods (fen)"))
    shipping_fen = models.BigIntegerField(_("shipping (fen)"))
    total_fen = models.BigIntegerField(_("total (fen)"))
    # The delivery address as it was at checkout.
    ship_recipient = models.CharField(_("recipient"), max_length=30)
    ship_phone = models.CharField(_("phone number"), max_length=16)
    ship_region = models.CharField(_("region"), max_length=100)
    ship_division = models.ForeignKey(
        "regions.Division",
        verbose_name=_("division"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ship_detail = models.CharField(_("street and number"), max_length=120)
    intent_id = models.CharField(_("payment"), max_length=40, blank=True)
    pay_url = models.CharField(_("payment page"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("pay before"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="orders_checkout_idempotency"
            ),
            models.CheckConstraint(
                condition=Q(total_fen=F("goods_fen") + F("shipping_fen")),
                name="orders_checkout_total",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="orders_checkout_due")]

    def __str__(self) -> str:
        return f"checkout {self.pk}"

    @property
    def reference(self) -> str:
        """The opaque reference payments knows this checkout by."""
        return f"orders.checkout:{self.pk}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("awaiting payment")
    PAID = "paid", _("paid")
    SHIPPED = "shipped", _("shipped")
    DELIVERED = "delivered", _("delivered")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
    REFUND_REQUESTED = "refund_requested", _("refund requested")
    REFUNDED = "refunded", _("refunded")


class Order(TimeStampedModel):
    """One shop's part of a checkout. Money: ``total_fen`` was paid into the order's escrow;
    ``refunded_fen`` went back to the buyer. ``commission_rate_bp`` is the rate passed to
    payments: the lines' category rates weighted by their amounts over the order's total
    (shipping carries none)."""

    checkout = models.ForeignKey(
        Checkout, verbose_name=_("checkout"), on_delete=models.PROTECT, related_name="orders"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    shop = models.ForeignKey(
        "market.Shop",
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("paid to"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The seller whose balance receives the order's money."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    goods_fen = models.BigIntegerField(_("goods (fen)"))
    shipping_fen = models.BigIntegerField(_("shipping (fen)"))
    total_fen = models.BigIntegerField(_("total (fen)"))
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    commission_rate_bp = models.PositiveIntegerField(_("commission rate (basis points)"))
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    refund_requested_fen = models.BigIntegerField(_("refund asked (fen)"), default=0)
    refund_reason = models.CharField(_("refund reason"), max_length=300, blank=True)
    refund_from_status = models.CharField(
        _("status before the refund request"), max_length=20, blank=True
    )
    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    auto_complete_at = models.DateTimeField(_("completes automatically at"), null=True, blank=True)
    refund_due_at = models.DateTimeField(
        _("refunded automatically at"),
        null=True,
        blank=True,
        help_text=_("When a refund request the seller has not answered is granted."),
    )
    stock_released = models.BooleanField(_("stock released"), default=False)
    sales_posted = models.BooleanField(_("posted to the sales ledger"), default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["buyer", "id"], name="orders_order_buyer"),
            models.Index(fields=["shop", "status", "id"], name="orders_order_shop_status"),
            models.Index(fields=["status", "auto_complete_at"], name="orders_order_due"),
            models.Index(fields=["status", "refund_due_at"], name="orders_order_refund_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_fen=F("goods_fen") + F("shipping_fen")),
                name="orders_order_total",
            ),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("total_fen")),
                name="orders_order_refund_within_total",
            ),
            models.CheckConstraint(
                condition=Q(commission_rate_bp__lte=10_000),
                name="orders_order_commission_within_100_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.pk}"

    @property
    def reference(self) -> str:
        """The opaque reference of the order's escrow in payments."""
        return f"orders.order:{self.pk}"

    @property
    def refundable_fen(self) -> int:
        return self.total_fen - self.refunded_fen


class OrderLine(models.Model):
    """What was bought, as it was at checkout."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    variant = models.ForeignKey(
        "market.Variant", verbose_name=_("pack"), on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(
        "market.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(
        "market.Category", verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    product_name = models.CharField(_("product"), max_length=60)
    variant_label = models.CharField(_("pack"), max_length=30)
    unit_price_fen = models.BigIntegerField(_("unit price (fen)"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_weight_g = models.PositiveIntegerField(_("unit weight (g)"))
    line_total_fen = models.BigIntegerField(_("line total (fen)"))
    commission_rate_bp = models.PositiveIntegerField(_("commission rate (basis points)"))

    class Meta:
        ordering = ["order_id", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(line_total_fen=F("unit_price_fen") * F("quantity")),
                name="orders_line_total",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} {self.variant_label} × {self.quantity}"


class OrderEvent(models.Model):
    """One step of an order's history: who moved it from which status to which, and why."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=100)
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["order_id", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"

    @property
    def from_label(self) -> str:
        return OrderStatus(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        return OrderStatus(self.to_status).label
