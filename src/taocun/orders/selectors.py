"""Reads of the orders app for pages, the API and the CLI: the cart grouped by shop with
current prices, stock and shipping, and order lists and details without N+1 queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from taocun.core.errors import NotFound
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


def _problem(variant: Variant, quantity: int, buyer: Any) -> str:
    if not variant.is_active or not variant.product.is_listed:
        return _("No longer on sale.")
    if not variant.product.shop.can_sell:
        return _("The shop is not selling now.")
    if buyer is not None and is_shop_keeper(buyer, variant.product.shop):
        return _("This is your own shop.")
    if variant.stock == 0:
        return _("Sold out.")
    if variant.stock < quantity:
        return _("Only %(stock)d left.") % {"stock": variant.stock}
    return ""


def cart_view_of(*, items: Mapping[int, int], buyer: Any = None) -> CartView:
    """A cart of ``{variant_id: quantity}`` grouped by shop, with today's prices and stock
    and the shipping of each shop; lines that cannot be bought as they are say why."""
    variants = (
        Variant.objects.select_related("product__shop__village", "product__shop__household")
        .filter(pk__in=list(items))
        .order_by("product__shop_id", "product_id", "position", "pk")
    )
    groups: dict[int, CartGroup] = {}
    for variant in variants:
        quantity = items[variant.pk]
        group = groups.setdefault(variant.product.shop_id, CartGroup(shop=variant.product.shop))
        group.items.append(CartItem(variant, quantity, _problem(variant, quantity, buyer)))
    return CartView(groups=list(groups.values()))


def cart_view(*, buyer: Any) -> CartView:
    lines = CartLine.objects.filter(cart__buyer=buyer).values_list("variant_id", "quantity")
    return cart_view_of(items=dict(lines), buyer=buyer)


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
