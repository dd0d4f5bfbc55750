"""Reads of the orders app for pages, the API and the CLI: the cart grouped by shop with
current prices, stock and shipping, and order lists and details without N+1 queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound, ValidationError
from taocun.market.access import is_shop_keeper
from taocun.market.models import Shop, Variant
from taocun.market.services import shipping_fee_fen
from taocun.orders.models import Address, CartLine, Checkout, Order, OrderEvent, OrderStatus


@dataclass
class CartItem:
    variant: Variant
    quantity: int
    problem: str = ""

    @property
    def price_fen(self) -> int:
        return self.variant.price_fen

    @property
    def line_total_fen(self) -> int:
        return self.variant.price_fen * self.quantity

    @property
    def weight_g(self) -> int:
        return self.variant.weight_g * self.quantity


@dataclass
class CartGroup:
    shop: Shop
    items: list[CartItem] = field(default_factory=list)

    @property
    def goods_fen(self) -> int:
        return sum(item.line_total_fen for item in self.items if not item.problem)

    @property
    def weight_g(self) -> int:
        return sum(item.weight_g for item in self.items if not item.problem)

    @property
    def shipping_fen(self) -> int:
        if not self.goods_fen:
            return 0
        return shipping_fee_fen(shop=self.shop, weight_g=self.weight_g, amount_fen=self.goods_fen)

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.shipping_fen


@dataclass
class CartView:
    groups: list[CartGroup]

    @property
    def items(self) -> list[CartItem]:
        return [item for group in self.groups for item in group.items]

    @property
    def buyable(self) -> list[CartItem]:
        return [item for item in self.items if not item.problem]

    @property
    def goods_fen(self) -> int:
        return sum(group.goods_fen for group in self.groups)

    @property
    def shipping_fen(self) -> int:
        return sum(group.shipping_fen for group in self.groups)

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.shipping_fen

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)


def is_own_shop(buyer: Any, shop: Shop) -> bool:
    """Whether ``buyer`` keeps ``shop``. The household is compared first: the keeper check
    reads the buyer's roles, and most buyers belong to no shop's household."""
    household_id = getattr(buyer, "household_id", None)
    return (
        household_id is not None
        and household_id == shop.household_id
        and is_shop_keeper(buyer, shop)
    )


def _problem(variant: Variant, quantity: int, buyer: Any) -> str:
    if not variant.is_active or not variant.product.is_listed:
        return _("No longer on sale.")
    if not variant.product.shop.can_sell:
        return _("The shop is not selling now.")
    if buyer is not None and is_own_shop(buyer, variant.product.shop):
        return _("This is your own shop.")
    if variant.stock == 0:
        return _("Sold out.")
    if variant.stock < quantity:
        return _("Only %(stock)d left.") % {"stock": variant.stock}
    return ""


def _cart_grouped(pairs: Iterable[tuple[Variant, int]], buyer: Any) -> CartView:
    groups: dict[int, CartGroup] = {}
    for variant, quantity in pairs:
        group = groups.setdefault(variant.product.shop_id, CartGroup(shop=variant.product.shop))
        group.items.append(CartItem(variant, quantity, _problem(variant, quantity, buyer)))
    return CartView(groups=list(groups.values()))


_CART_ORDER = ("product__shop_id", "product_id", "position", "pk")


def cart_view_of(*, items: Mapping[int, int], buyer: Any = None) -> CartView:
    """A cart of ``{variant_id: quantity}`` grouped by shop, with today's prices and stock
    and the shipping of each shop; lines that cannot be bought as they are say why."""
    variants = (
        Variant.objects.select_related("product__shop__village", "product__shop__household")
        .filter(pk__in=list(items))
        .order_by(*_CART_ORDER)
    )
    return _cart_grouped(((variant, items[variant.pk]) for variant in variants), buyer)


def cart_view(*, buyer: Any) -> CartView:
    """The buyer's cart as :func:`cart_view_of` shows it, read in one query."""
    lines = (
        CartLine.objects.select_related(
            "variant__product__shop__village", "variant__product__shop__household"
        )
        .filter(cart__buyer=buyer)
        .order_by(*(f"variant__{name}" for name in _CART_ORDER))
    )
    return _cart_grouped(((line.variant, line.quantity) for line in lines), buyer)


def session_items(raw: Any) -> dict[int, int]:
    """A visitor's session cart as ``{variant_id: quantity}``, ignoring anything odd."""
    items: dict[int, int] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if str(key).isdigit() and isinstance(value, int) and value > 0:
                items[int(key)] = value
    return items


def addresses(*, buyer: Any) -> QuerySet[Address]:
    return Address.objects.filter(buyer=buyer).select_related("division")


def address_get(*, buyer: Any, address_id: Any) -> Address:
    address = Address.objects.filter(buyer=buyer, pk=_int(address_id)).first()
    if address is None:
        raise NotFound(_("There is no address %(id)s.") % {"id": address_id}, field="address")
    return address


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("shop", "checkout", "buyer", "seller").prefetch_related(
        "lines"
    )


def buyer_orders(*, buyer: Any, status: str | None = None) -> QuerySet[Order]:
    orders = _orders().filter(buyer=buyer)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-id")


def shop_orders(*, shop: Shop, status: str | None = None) -> QuerySet[Order]:
    orders = _orders().filter(shop=shop)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-id")


def shop_order_counts(*, shop: Shop) -> dict[str, int]:
    from django.db.models import Count

    rows = Order.objects.filter(shop=shop).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in OrderStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def order_get(*, order_id: Any) -> Order:
    order = (
        Order.objects.select_related(
            "shop__village", "shop__household", "checkout", "buyer", "seller"
        )
        .prefetch_related(
            "lines",
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("id")),
        )
        .filter(pk=_int(order_id))
        .first()
    )
    if order is None:
        raise NotFound(_("There is no order %(id)s.") % {"id": order_id}, field="order")
    return order


def checkout_get(*, buyer: Any, checkout_id: Any) -> Checkout:
    checkout = (
        Checkout.objects.filter(buyer=buyer, pk=_int(checkout_id))
        .prefetch_related(
            Prefetch("orders", queryset=Order.objects.select_related("shop").order_by("id"))
        )
        .first()
    )
    if checkout is None:
        raise NotFound(_("There is no checkout %(id)s.") % {"id": checkout_id}, field="checkout")
    return checkout


def variants_for_ids(ids: Iterable[int]) -> dict[int, Variant]:
    return {v.pk: v for v in Variant.objects.select_related("product").filter(pk__in=list(ids))}


# --- the station agent's parcels ----------------------------------------------------------

# What a station agent looks at: parcels to hand over, and what was handed over lately.
PARCEL_STATUSES = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
PARCEL_RECENT_DAYS = 30
PARCEL_QUERY_MAX = 40
_ORDER_ID_DIGITS_MAX = 18  # below 2**63: a longer number is never an order id
_PHONE_TAIL_DIGITS = (4, 11)


def _parcel_scope(prefixes: list[str] | None) -> Q:
    """Orders of shops whose village code starts with one of ``prefixes`` (None: all).
    The shop's village key *is* its code: Django trims the join to the divisions."""
    if prefixes is None:
        return Q()
    scope = Q(pk__in=[])
    for prefix in prefixes:
        scope |= Q(shop__village__code__startswith=prefix)
    return scope


def _parcel_recent(status: str, *, now: datetime) -> Q:
    """Shipped parcels stay listed until handed over; the others only for a while."""
    since = now - timedelta(days=PARCEL_RECENT_DAYS)
    if status == OrderStatus.DELIVERED:
        return Q(status=status, delivered_at__gte=since)
    if status == OrderStatus.COMPLETED:
        return Q(status=status, completed_at__gte=since)
    return Q(status=status)


def _parcel_query(text: str) -> Q:
    """An order number, the last digits of the buyer's or recipient's phone, or (part of)
    a tracking number."""
    if "\x00" in text:
        raise ValidationError(_("Must not contain NUL characters."), field="q")
    if len(text) > PARCEL_QUERY_MAX:
        raise ValidationError(
            _("Search for at most %(max)d characters (got %(count)d).")
            % {"max": PARCEL_QUERY_MAX, "count": len(text)},
            field="q",
        )
    match = Q(tracking_number__iexact=text)
    if len(text) >= _PHONE_TAIL_DIGITS[0]:
        match |= Q(tracking_number__icontains=text)
    if text.isdigit() and text.isascii():
        if len(text) <= _ORDER_ID_DIGITS_MAX:
            match |= Q(pk=int(text))
        if _PHONE_TAIL_DIGITS[0] <= len(text) <= _PHONE_TAIL_DIGITS[1]:
            match |= Q(checkout__ship_phone__endswith=text) | Q(buyer__phone__endswith=text)
    return match


def parcel_status_check(status: str | None) -> str:
    """The status a parcels list shows: shipped unless one of :data:`PARCEL_STATUSES` is
    asked for; anything else is refused, naming the parameter."""
    if not status:
        return OrderStatus.SHIPPED
    if status not in PARCEL_STATUSES:
        raise ValidationError(
            _("%(status)s is not one of: %(choices)s.")
            % {"status": status[:30], "choices": ", ".join(PARCEL_STATUSES)},
            field="status",
        )
    return status


def station_parcels(
    *,
    prefixes: list[str] | None,
    status: str | None = None,
    query: str = "",
    now: datetime | None = None,
) -> QuerySet[Order]:
    """Orders of the shops in the villages ``prefixes`` cover (None: everywhere; see
    ``orders.access.access_station_parcels``) in ``status`` (default shipped; delivered
    and completed ones of the last :data:`PARCEL_RECENT_DAYS` days), optionally matching
    ``query``. Waiting parcels come oldest first (a queue); the others newest first."""
    status = parcel_status_check(status)
    now = now or timezone.now()
    orders = (
        Order.objects.select_related("shop__village", "checkout", "buyer")
        .filter(_parcel_scope(prefixes))
        .filter(_parcel_recent(status, now=now))
    )
    text = " ".join(str(query or "").split())
    if text:
        orders = orders.filter(_parcel_query(text))
    if status == OrderStatus.SHIPPED:
        return orders.order_by("shipped_at", "id")
    if status == OrderStatus.DELIVERED:
        return orders.order_by("-delivered_at", "-id")
    return orders.order_by("-completed_at", "-id")


def station_parcel_counts(
    *, prefixes: list[str] | None, now: datetime | None = None
) -> dict[str, int]:
    """How many orders each tab of the parcels page lists, in one query."""
    now = now or timezone.now()
    totals = Order.objects.filter(_parcel_scope(prefixes)).aggregate(
        **{
            status: Count("id", filter=_parcel_recent(status, now=now))
            for status in PARCEL_STATUSES
        }
    )
    return {status: totals[status] or 0 for status in PARCEL_STATUSES}
