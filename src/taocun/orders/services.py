"""Every write of the orders app: the cart, the address book, checkout and the order state
machine, with the money moves (``payments``), the stock moves (``market``) and the sales
ledger posting (``sales``) each transition needs.

Locks are taken in one order everywhere, so that no two services deadlock: the checkout
row, then its orders by id, then the variants by id (stock), then whatever ``payments``
locks inside its own services (intent, escrow, accounts). Every service owns its
transaction, audits, and sends notifications only for changes that commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.accounts.phones import normalize_phone
from taocun.core.audit import audit_records
from taocun.core.bulk import bulk_insert
from taocun.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from taocun.core.money import Money
from taocun.core.services import audit_record
from taocun.market import selectors as market_selectors
from taocun.market import services as market_services
from taocun.market.models import Variant
from taocun.orders import states
from taocun.orders.models import (
    ADDRESSES_MAX,
    CART_LINES_MAX,
    QUANTITY_MAX,
    Address,
    Cart,
    CartLine,
    Checkout,
    CheckoutStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from taocun.orders.notify import order_notify
from taocun.orders.selectors import is_own_shop
from taocun.payments import selectors as payment_selectors
from taocun.payments import services as payments
from taocun.payments.errors import IdempotencyConflict, RefundTooLarge
from taocun.payments.models import EscrowStatus, IntentStatus
from taocun.regions.models import Division
from taocun.sales import services as sales

logger = logging.getLogger(__name__)

SYSTEM = "system:orders"
DEFAULT_AUTO_CONFIRM_DAYS = 10
DEFAULT_REFUND_ANSWER_DAYS = 5
DEFAULT_SHIPPED_CONFIRM_DAYS = 15
SALES_PLATFORM = "taocun"
NOTE_MAX = 300


class InvalidTransition(Conflict):
    """The order is not in a status the action can start from."""

    code = "invalid_transition"


def auto_confirm_days() -> int:
    return int(getattr(settings, "ORDERS_AUTO_CONFIRM_DAYS", DEFAULT_AUTO_CONFIRM_DAYS))


def shipped_confirm_days() -> int:
    """Days after shipping before an order nobody marked delivered completes by itself."""
    return int(
        getattr(settings, "ORDERS_AUTO_CONFIRM_AFTER_SHIPPING_DAYS", DEFAULT_SHIPPED_CONFIRM_DAYS)
    )


def refund_answer_days() -> int:
    """Days a seller has to answer a refund request before it is granted by itself."""
    return int(getattr(settings, "ORDERS_REFUND_ANSWER_DAYS", DEFAULT_REFUND_ANSWER_DAYS))


def _user(actor: Any) -> Any | None:
    return actor if getattr(actor, "is_authenticated", False) else None


def _text(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationError(_("This field is required."), field=field)
    if len(text) > max_length:
        raise ValidationError(
            _("At most %(max)d characters (got %(count)d).")
            % {"max": max_length, "count": len(text)},
            field=field,
        )
    return text


def _quantity(value: Any, *, field: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise ValidationError(
                _("%(value)s is not a whole number.") % {"value": value}, field=field
            ) from None
    if not 1 <= value <= QUANTITY_MAX:
        raise ValidationError(
            _("The quantity must be between 1 and %(max)d.") % {"max": QUANTITY_MAX},
            field=field,
        )
    return value


def _on_commit_notify(**kwargs: Any) -> None:
    """Notify once the change is committed: a rolled-back order tells nobody anything."""
    transaction.on_commit(lambda: order_notify(**kwargs))


# --- cart -------------------------------------------------------------------------------


def _variant_for_sale(variant_id: Any, *, buyer: Any = None, field: str = "variant") -> Variant:
    """A pack that can be put in a cart now: on sale, its product listed, its shop
    selling, and not the buyer's own shop."""
    try:
        pk = int(variant_id)
    except (TypeError, ValueError):
        raise ValidationError(_("Choose a pack."), field=field) from None
    variant = Variant.objects.select_related("product__shop").filter(pk=pk, is_active=True).first()
    if variant is None or not variant.product.is_listed or not variant.product.shop.can_sell:
        raise NotFound(_("This pack is not on sale."), field=field)
    if buyer is not None and is_own_shop(buyer, variant.product.shop):
        raise ValidationError(_("You cannot buy from your own shop."), field=field)
    return variant


def cart_quantity_check(*, variant: Variant, quantity: int) -> int:
    """The quantity bounds of a cart line (also used for a visitor's session cart)."""
    quantity = _quantity(quantity)
    if quantity > variant.stock:
        raise ValidationError(
            _("Only %(stock)d left of %(name)s (%(label)s).")
            % {"stock": variant.stock, "name": variant.product.name, "label": variant.label},
            code="out_of_stock",
            field="quantity",
        )
    return quantity


def cart_for(*, buyer: Any) -> Cart:
    cart, _created = Cart.objects.get_or_create(buyer=buyer)
    return cart


def _cart_locked(buyer: Any) -> Cart:
    """The buyer's cart, locked (created the first time)."""
    cart = Cart.objects.select_for_update().filter(buyer=buyer).first()
    if cart is None:
        cart, created = Cart.objects.get_or_create(buyer=buyer)
        if not created:  # another request created it meanwhile
            cart = Cart.objects.select_for_update().get(pk=cart.pk)
    return cart


@transaction.atomic
def cart_add(*, buyer: Any, variant_id: Any, quantity: Any = 1) -> CartLine:
    """Put ``quantity`` more of a pack into the buyer's cart."""
    variant = _variant_for_sale(variant_id, buyer=buyer)
    cart = _cart_locked(buyer)
    lines = list(cart.lines.all())  # at most CART_LINES_MAX: the line and the count at once
    line = next((line for line in lines if line.variant_id == variant.pk), None)
    current = line.quantity if line else 0
    wanted = cart_quantity_check(variant=variant, quantity=current + _quantity(quantity))
    if line is None:
        if len(lines) >= CART_LINES_MAX:
            raise ValidationError(
                _("A cart holds at most %(max)d different packs.") % {"max": CART_LINES_MAX},
                field="variant",
            )
        return CartLine.objects.create(cart=cart, variant=variant, quantity=wanted)
    line.quantity = wanted
    line.save(update_fields=["quantity", "updated_at"])
    return line


@transaction.atomic
def cart_line_update(*, buyer: Any, variant_id: Any, quantity: Any) -> CartLine:
    """Set the quantity of a line that is in the cart."""
    line = (
        CartLine.objects.select_related("variant__product")
        .filter(cart__buyer=buyer, variant_id=_id(variant_id, field="variant"))
        .first()
    )
    if line is None:
        raise NotFound(_("This pack is not in your cart."), field="variant")
    line.quantity = cart_quantity_check(variant=line.variant, quantity=quantity)
    line.save(update_fields=["quantity", "updated_at"])
    return line


@transaction.atomic
def cart_line_remove(*, buyer: Any, variant_id: Any) -> None:
    deleted, _counts = CartLine.objects.filter(
        cart__buyer=buyer, variant_id=_id(variant_id, field="variant")
    ).delete()
    if not deleted:
        raise NotFound(_("This pack is not in your cart."), field="variant")


@transaction.atomic
def cart_merge_session(*, buyer: Any, items: Mapping[Any, Any]) -> int:
    """Move a visitor's session cart into their cart when they log in. Lines that can no
    longer be bought are dropped, quantities are capped by stock; returns the lines kept."""
    kept = 0
    for variant_id, quantity in items.items():
        try:
            variant = _variant_for_sale(variant_id, buyer=buyer)
            cart = cart_for(buyer=buyer)
            line = cart.lines.filter(variant=variant).first()
            total = min(
                (line.quantity if line else 0) + _quantity(quantity), variant.stock, QUANTITY_MAX
            )
            if total < 1:
                continue
            if line is None:
                if cart.lines.count() >= CART_LINES_MAX:
                    break
                CartLine.objects.create(cart=cart, variant=variant, quantity=total)
            else:
                line.quantity = total
                line.save(update_fields=["quantity", "updated_at"])
            kept += 1
        except ApplicationError:
            continue
    return kept


def _id(value: Any, *, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            _("%(value)s is not an id.") % {"value": value}, field=field
        ) from None


# --- addresses ----------------------------------------------------------------------------


def _address_values(
    *,
    recipient: Any,
    phone: Any,
    province: Any,
    city: Any,
    district: Any,
    detail: Any,
    division_code: Any = "",
) -> dict:
    values = {
        "recipient": _text(recipient, field="recipient", max_length=30, required=True),
        "phone": normalize_phone(phone, field="phone"),
        "province": _text(province, field="province", max_length=30),
        "city": _text(city, field="city", max_length=30),
        "district": _text(district, field="district", max_length=30),
        "detail": _text(detail, field="detail", max_length=120, required=True),
        "division": None,
    }
    code = str(division_code or "").strip()
    if code:
        division = Division.objects.select_related("parent__parent").filter(code=code).first()
        if division is None:
            raise NotFound(
                _("There is no division %(code)s.") % {"code": code[:20]}, field="division_code"
            )
        values["division"] = division
        # The text of the region comes from the tree where the buyer left it empty.
        chain = [division]
        while chain[-1].parent_id and len(chain) < 5:
            chain.append(chain[-1].parent)
        names = [d.name for d in reversed(chain)]
        for name, key in zip(names, ("province", "city", "district"), strict=False):
            values[key] = values[key] or name[:30]
    if not values["province"]:
        raise ValidationError(_("Name the province, or choose a division."), field="province")
    return values


@transaction.atomic
def address_create(*, buyer: Any, is_default: bool = False, **fields: Any) -> Address:
    values = _address_values(**fields)
    if Address.objects.filter(buyer=buyer).count() >= ADDRESSES_MAX:
        raise ValidationError(
            _("An address book holds at most %(max)d addresses.") % {"max": ADDRESSES_MAX},
            field="address",
        )
    first = not Address.objects.filter(buyer=buyer).exists()
    if is_default or first:
        Address.objects.filter(buyer=buyer, is_default=True).update(is_default=False)
    address = Address.objects.create(buyer=buyer, is_default=is_default or first, **values)
    audit_record(actor=buyer, action="orders.address_create", obj=address)
    return address


@transaction.atomic
def address_update(*, buyer: Any, address: Address, is_default: bool = False, **fields) -> Address:
    if address.buyer_id != buyer.pk:
        raise NotFound(_("There is no address %(id)s.") % {"id": address.pk}, field="address")
    for name, value in _address_values(**fields).items():
        setattr(address, name, value)
    if is_default and not address.is_default:
        Address.objects.filter(buyer=buyer, is_default=True).update(is_default=False)
        address.is_default = True
    address.save()
    audit_record(actor=buyer, action="orders.address_update", obj=address)
    return address


@transaction.atomic
def address_set_default(*, buyer: Any, address: Address) -> Address:
    """Make ``address`` the buyer's default (the one checkout offers first); nothing else
    of it changes. Already the default: nothing is written."""
    if address.buyer_id != buyer.pk:
        raise NotFound(_("There is no address %(id)s.") % {"id": address.pk}, field="address")
    if address.is_default:
        return address
    Address.objects.filter(buyer=buyer, is_default=True).update(is_default=False)
    address.is_default = True
    address.save(update_fields=["is_default", "updated_at"])
    audit_record(
        actor=buyer, action="orders.address_set_default", obj=address, after={"is_default": True}
    )
    return address


@transaction.atomic
def address_delete(*, buyer: Any, address: Address) -> None:
    """Placed orders keep their own copy of the address, so deleting is safe."""
    if address.buyer_id != buyer.pk:
        raise NotFound(_("There is no address %(id)s.") % {"id": address.pk}, field="address")
    was_default = address.is_default
    audit_record(actor=buyer, action="orders.address_delete", obj=address)
    address.delete()
    if was_default:
        successor = Address.objects.filter(buyer=buyer).order_by("-id").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


# --- checkout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIn:
    """One line as the buyer saw it: the pack, how many, and the unit price shown."""

    variant_id: int
    quantity: int
    price_fen: int


def _lines_in(lines: Sequence[LineIn | Mapping[str, Any]]) -> list[LineIn]:
    if not lines:
        raise ValidationError(_("The checkout has no lines."), field="lines")
    if len(lines) > CART_LINES_MAX:
        raise ValidationError(
            _("A checkout holds at most %(max)d lines.") % {"max": CART_LINES_MAX},
            field="lines",
        )
    parsed: list[LineIn] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        get = line.get if isinstance(line, Mapping) else lambda k, line=line: getattr(line, k)
        variant_id = _id(get("variant_id"), field=f"lines.{index}.variant_id")
        if variant_id in seen:
            raise ValidationError(
                _("Pack %(id)d is twice in the checkout.") % {"id": variant_id},
                field=f"lines.{index}.variant_id",
            )
        seen.add(variant_id)
        price = get("price_fen")
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise ValidationError(
                _("The price you saw is missing."), field=f"lines.{index}.price_fen"
            )
        parsed.append(
            LineIn(variant_id, _quantity(get("quantity"), field=f"lines.{index}.quantity"), price)
        )
    return parsed


def _fingerprint(*, address: Address, lines: list[LineIn]) -> str:
    canonical = json.dumps(
        {
            "address": address.pk,
            "lines": sorted([line.variant_id, line.quantity, line.price_fen] for line in lines),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _line_name(variant: Variant) -> str:
    return f"{variant.product.name} ({variant.label})"


def _line_problem(line: LineIn, variant: Variant | None, *, buyer: Any) -> tuple[str, str] | None:
    """Why a line cannot be bought as the buyer saw it: (code, message), or None."""
    if variant is None or not variant.is_active or not variant.product.is_listed:
        return "unavailable", _("pack %(id)d is no longer on sale") % {"id": line.variant_id}
    name = _line_name(variant)
    if not variant.product.shop.can_sell:
        return "unavailable", _("%(name)s: the shop is not selling now") % {"name": name}
    if is_own_shop(buyer, variant.product.shop):
        return "own_shop", _("%(name)s is from your own shop") % {"name": name}
    if variant.price_fen != line.price_fen:
        return "price_changed", _("the price of %(name)s changed from %(seen)s to %(now)s") % {
            "name": name,
            "seen": Money(line.price_fen),
            "now": Money(variant.price_fen),
        }
    if variant.stock < line.quantity:
        if variant.stock == 0:
            return "out_of_stock", _("%(name)s is sold out") % {"name": name}
        return "out_of_stock", _("only %(stock)d left of %(name)s, you asked for %(wanted)d") % {
            "stock": variant.stock,
            "name": name,
            "wanted": line.quantity,
        }
    return None


def _weighted_rate_bp(lines: Iterable[tuple[int, int]], total_fen: int) -> int:
    """The one commission rate of an order: each line's rate weighted by its amount, over
    the order's total (shipping carries no commission), rounded half up."""
    weighted = sum(amount * rate for amount, rate in lines)
    return (2 * weighted + total_fen) // (2 * total_fen) if total_fen else 0


def _stock_take(
    checkout: Checkout, *, lines: list[LineIn], variants: dict[int, Variant], actor: Any
) -> None:
    """Take the stock of every line in one statement (the packs are locked and checked)."""
    ordered = sorted(lines, key=lambda line: line.variant_id)
    try:
        market_services.variants_stock_adjust(
            actor=actor,
            changes=[(variants[line.variant_id], -line.quantity) for line in ordered],
            reason=f"checkout {checkout.pk}",
        )
    except Conflict as error:
        # Cannot happen while the rows are locked; kept so that a change of locking
        # elsewhere can never oversell.
        failed = error.extra.get("variant_id")
        index = next((i for i, line in enumerate(lines) if line.variant_id == failed), 0)
        raise Conflict(
            _("Line %(line)d: %(name)s sold out meanwhile. Nothing was ordered.")
            % {"line": index + 1, "name": _line_name(variants[lines[index].variant_id])},
            code="out_of_stock",
            field=f"lines.{index}",
        ) from None


def _orders_build(
    checkout: Checkout, *, lines: list[LineIn], variants: dict[int, Variant], buyer: Any
) -> tuple[list[Order], list[tuple[Order, OrderLine]]]:
    """One unsaved order per shop (by shop id) and the lines of each."""
    by_shop: dict[int, list[tuple[LineIn, Variant]]] = {}
    for line in lines:
        variant = variants[line.variant_id]
        by_shop.setdefault(variant.product.shop_id, []).append((line, variant))
    orders: list[Order] = []
    order_lines: list[tuple[Order, OrderLine]] = []
    for shop_id in sorted(by_shop):
        shop_lines = by_shop[shop_id]
        shop = shop_lines[0][1].product.shop
        priced = [
            (
                line,
                variant,
                line.price_fen * line.quantity,
                market_selectors.commission_rate_bp_for(product=variant.product),
            )
            for line, variant in shop_lines
        ]
        goods = sum(amount for _l, _v, amount, _r in priced)
        weight = sum(variant.weight_g * line.quantity for line, variant, _a, _r in priced)
        shipping = market_services.shipping_fee_fen(shop=shop, weight_g=weight, amount_fen=goods)
        total = goods + shipping
        order = Order(
            checkout=checkout,
            buyer=buyer,
            shop=shop,
            seller_id=shop.opened_by_id,
            goods_fen=goods,
            shipping_fen=shipping,
            total_fen=total,
            weight_g=weight,
            commission_rate_bp=_weighted_rate_bp(((a, r) for _l, _v, a, r in priced), total),
        )
        orders.append(order)
        order_lines += [
            (
                order,
                OrderLine(
                    variant=variant,
                    product=variant.product,
                    category=variant.product.category,
                    product_name=variant.product.name,
                    variant_label=variant.label,
                    unit_price_fen=line.price_fen,
                    quantity=line.quantity,
                    unit_weight_g=variant.weight_g,
                    line_total_fen=amount,
                    commission_rate_bp=rate,
                ),
            )
            for line, variant, amount, rate in priced
        ]
    return orders, order_lines


def checkout_place(
    *,
    buyer: Any,
    address: Address,
    lines: Sequence[LineIn | Mapping[str, Any]],
    idempotency_key: str,
) -> Checkout:
    """Place the orders of one checkout and open its one payment.

    All or nothing: if a line is no longer on sale, its price is not the one the buyer saw,
    or its stock is short, a ``Conflict`` names the line (``extra["lines"]`` lists every
    problem) and nothing is written, reserved or charged. The same ``idempotency_key`` with
    the same lines and address returns the first checkout; with others it is a 409.
    """
    key = _text(idempotency_key, field="idempotency_key", max_length=150, required=True)
    if address.buyer_id != buyer.pk:
        raise NotFound(_("There is no address %(id)s.") % {"id": address.pk}, field="address")
    parsed = _lines_in(lines)
    fingerprint = _fingerprint(address=address, lines=parsed)
    try:
        with transaction.atomic():
            return _checkout_create(
                buyer=buyer, address=address, lines=parsed, key=key, fingerprint=fingerprint
            )
    except IntegrityError:
        # The key is taken (a retry, or the same request committed concurrently): answer
        # with the first checkout. A new key, the common case, costs no read before.
        existing = _checkout_replay(buyer=buyer, key=key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing


def _checkout_replay(*, buyer: Any, key: str, fingerprint: str) -> Checkout | None:
    existing = Checkout.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None and existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            _("This Idempotency-Key was already used for another checkout."),
            field="idempotency_key",
        )
    return existing


def _checkout_create(
    *, buyer: Any, address: Address, lines: list[LineIn], key: str, fingerprint: str
) -> Checkout:
    now = timezone.now()
    # Claim the key first: a concurrent request with the same key waits here, then fails
    # on the unique constraint instead of reserving stock a second time.
    checkout = Checkout.objects.create(
        buyer=buyer,
        idempotency_key=key,
        fingerprint=fingerprint,
        goods_fen=0,
        shipping_fen=0,
        total_fen=0,
        ship_recipient=address.recipient,
        ship_phone=address.phone,
        ship_region=address.region_text[:100],
        ship_division=address.division,
        ship_detail=address.detail,
    )
    # Lock the packs in id order (the same order in every checkout: no deadlocks), then
    # check what the buyer saw against what is locked.
    variants = {
        v.pk: v
        for v in Variant.objects.select_for_update(of=("self",))
        .select_related("product__shop__household", "product__category")
        .filter(pk__in=[line.variant_id for line in lines])
        .order_by("pk")
    }
    problems = []
    for index, line in enumerate(lines):
        problem = _line_problem(line, variants.get(line.variant_id), buyer=buyer)
        if problem is not None:
            problems.append({"line": index + 1, "code": problem[0], "message": problem[1]})
    if problems:
        first = problems[0]
        raise Conflict(
            _("Line %(line)d: %(problem)s. Nothing was ordered; check your cart and try again.")
            % {"line": first["line"], "problem": first["message"]},
            code=first["code"],
            field=f"lines.{first['line'] - 1}",
            extra={"lines": problems},
        )
    _stock_take(checkout, lines=lines, variants=variants, actor=buyer)
    orders, order_lines = _orders_build(checkout, lines=lines, variants=variants, buyer=buyer)
    bulk_insert(Order, orders)
    for order, line in order_lines:
        line.order = order
    OrderLine.objects.bulk_create(line for _order, line in order_lines)
    placed = [("", OrderStatus.PLACED)] * len(orders)
    _events_record(orders, action="place", actor=buyer, moves=placed)
    checkout.goods_fen = sum(o.goods_fen for o in orders)
    checkout.shipping_fen = sum(o.shipping_fen for o in orders)
    checkout.total_fen = checkout.goods_fen + checkout.shipping_fen
    intent = payments.payment_intent_create(
        reference=checkout.reference,
        buyer=buyer,
        amount=Money(checkout.total_fen),
        splits=[
            payments.Split(
                reference=order.reference,
                seller=order.seller_id,
                amount=Money(order.total_fen),
                commission_rate_bp=order.commission_rate_bp,
            )
            for order in orders
        ],
        idempotency_key=f"orders.intent:{checkout.pk}",
        return_url=reverse("orders:checkout_result", args=[checkout.pk]),
        description=_("taocun checkout %(id)d") % {"id": checkout.pk},
    )
    checkout.intent_id = intent.public_id
    checkout.pay_url = intent.redirect_url
    checkout.expires_at = intent.expires_at
    checkout.save(
        update_fields=[
            "goods_fen",
            "shipping_fen",
            "total_fen",
            "intent_id",
            "pay_url",
            "expires_at",
            "updated_at",
        ]
    )
    CartLine.objects.filter(
        cart__buyer=buyer, variant_id__in=[line.variant_id for line in lines]
    ).delete()
    audit_record(
        actor=buyer,
        action="orders.checkout_place",
        obj=checkout,
        after={
            "orders": [o.pk for o in orders],
            "total_fen": checkout.total_fen,
            "lines": [[line.variant_id, line.quantity, line.price_fen] for line in lines],
            "placed_at": now.isoformat(),
        },
    )
    total = Money(checkout.total_fen)
    _on_commit_notify(
        user=buyer,
        kind="order.placed",
        message=lambda: (
            _("Order placed: pay %(total)s") % {"total": total},
            _("Your checkout %(id)d is waiting for payment.") % {"id": checkout.pk},
        ),
        url=reverse("orders:checkout_result", args=[checkout.pk]),
    )

    def schedule_expiry() -> None:
        from taocun.orders.tasks import checkouts_expire_due_task

        checkouts_expire_due_task.using(run_after=checkout.expires_at).enqueue()

    transaction.on_commit(schedule_expiry)
    return checkout


# --- the state machine -----------------------------------------------------------------------


def _actor_label(actor: Any) -> str:
    user = _user(actor)
    if user is not None:
        return str(getattr(user, "phone", "") or user.pk)[:100]
    return (actor if isinstance(actor, str) else SYSTEM)[:100]


def _order_locked(order: Order | int) -> Order:
    pk = order if isinstance(order, int) else order.pk
    locked = Order.objects.select_for_update(of=("self",)).filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("There is no order %(id)s.") % {"id": pk}, field="order")
    return locked


def order_transition(
    *, order: Order, action: str, actor: Any, note: str = "", fields: Sequence[str] = ()
) -> Order:
    """Apply one action of :data:`states.TRANSITIONS` to a locked order: check the move,
    save the status (and the ``fields`` the caller changed), log the event, audit.

    Raises :class:`InvalidTransition` (409) when the order's status does not allow it.
    """
    return orders_transition(orders=[order], action=action, actor=actor, note=note, fields=fields)[
        0
    ]


def orders_transition(
    *,
    orders: Sequence[Order],
    action: str,
    actor: Any,
    note: str = "",
    fields: Sequence[str] = (),
) -> list[Order]:
    """:func:`order_transition` for several locked orders (the orders of one checkout):
    every move is checked first, then one UPDATE, one INSERT of events and one of audit
    entries — an event and an audit entry per order, as one at a time."""
    orders = list(orders)
    for order in orders:
        if not states.allowed(action, status=order.status):
            raise InvalidTransition(
                _("Order %(id)d is %(status)s: %(action)s is not possible now.")
                % {
                    "id": order.pk,
                    "status": order.get_status_display(),
                    "action": action_label(action),
                },
                field="status",
                extra={"status": order.status, "action": action},
            )
    note = _text(note, field="note", max_length=NOTE_MAX)
    now = timezone.now()
    moves = []
    for order in orders:
        before = order.status
        order.status = states.target_status(
            action, status=order.status, refund_from_status=order.refund_from_status
        )
        order.updated_at = now
        moves.append((before, order.status))
    _orders_save(orders, fields=["status", "updated_at", *fields])
    _events_record(orders, action=action, actor=actor, moves=moves, note=note)
    audit_records(
        actor=actor,
        action=f"order.{action}",
        entries=[
            (order, {"status": before}, {"status": after, "note": note})
            for order, (before, after) in zip(orders, moves, strict=True)
        ],
    )
    return orders


def _orders_save(orders: Sequence[Order], *, fields: Sequence[str]) -> None:
    """Write ``fields`` of the orders in one UPDATE: a plain one when they all get the same
    values (a checkout's orders marked paid), else ``bulk_update``'s CASE per row."""
    if not orders:
        return
    values = {name: getattr(orders[0], name) for name in fields}
    if all(getattr(order, name) == values[name] for order in orders for name in fields):
        Order.objects.filter(pk__in=[order.pk for order in orders]).update(**values)
    else:
        Order.objects.bulk_update(orders, fields)


def _events_record(
    orders: Sequence[Order],
    *,
    action: str,
    actor: Any,
    moves: Sequence[tuple[str, str]],
    note: str = "",
) -> None:
    """One event per order, ``moves`` being each one's (from, to) status, in one INSERT."""
    user, label = _user(actor), _actor_label(actor)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            actor=user,
            actor_label=label,
            action=action,
            from_status=before,
            to_status=after,
            note=note,
        )
        for order, (before, after) in zip(orders, moves, strict=True)
    )


def action_label(action: str) -> str:
    return {
        "pay": _("payment"),
        "cancel": _("cancelling"),
        "accept": _("accepting"),
        "ship": _("shipping"),
        "deliver": _("marking it delivered"),
        "complete": _("confirming receipt"),
        "request_refund": _("asking for a refund"),
        "refund": _("a refund"),
        "refund_partial": _("a partial refund"),
        "decline_refund": _("refusing a refund"),
    }.get(action, action)


def _stock_release(order: Order, *, actor: Any) -> None:
    if order.stock_released:
        return
    lines = order.lines.select_related("variant").order_by("variant_id")
    market_services.variants_stock_adjust(
        actor=actor,
        changes=[(line.variant, line.quantity) for line in lines],
        reason=f"order {order.pk}",
    )
    order.stock_released = True
    order.save(update_fields=["stock_released", "updated_at"])


def _order_url(order: Order, *, seller: bool = False) -> str:
    name = "orders:desk_detail" if seller else "orders:detail"
    return reverse(name, args=[order.pk])


def _tell(order: Order, *, kind: str, buyer: bool, seller: bool, message) -> None:
    """Notify the buyer and/or the seller of ``order`` after commit."""
    if buyer:
        _on_commit_notify(
            user=order.buyer,
            kind=kind,
            message=lambda: message(order),
            url=_order_url(order),
            context={"order": order.pk},
        )
    if seller:
        _on_commit_notify(
            user=order.seller,
            kind=kind,
            message=lambda: message(order),
            url=_order_url(order, seller=True),
            context={"order": order.pk},
        )


# --- payment in and out -----------------------------------------------------------------------


def _checkout_pk(reference: str) -> int | None:
    prefix = "orders.checkout:"
    if not reference.startswith(prefix) or not reference[len(prefix) :].isdigit():
        return None
    return int(reference[len(prefix) :])


def _checkout_by_reference(reference: str) -> Checkout | None:
    pk = _checkout_pk(reference)
    return None if pk is None else Checkout.objects.filter(pk=pk).first()


def checkout_mark_paid(*, reference: str) -> Checkout | None:
    """The checkout's payment succeeded (``payments.payment_succeeded``): its placed orders
    become paid. Idempotent; references that are not checkouts of this app are ignored."""
    pk = _checkout_pk(reference)
    if pk is None:
        return None
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(pk=pk).first()
        if checkout is None or checkout.status == CheckoutStatus.PAID:
            return checkout
        status = payment_selectors.payment_status(reference=checkout.reference)
        if status.status != IntentStatus.SUCCEEDED:
            return checkout  # a stale event: the current intent is not paid
        _checkout_paid_locked(checkout, paid_at=status.paid_at or timezone.now())
    return checkout


def _checkout_paid_locked(checkout: Checkout, *, paid_at: datetime) -> None:
    checkout.status = CheckoutStatus.PAID
    checkout.save(update_fields=["status", "updated_at"])
    # Buyer, seller and shop come with the orders (the notifications below need them);
    # only the order rows are locked, as before.
    orders = (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "seller", "shop")
        .filter(checkout=checkout)
        .order_by("pk")
    )
    placed = []
    for order in orders:
        if order.status != OrderStatus.PLACED:
            # Cannot happen: a placed order is cancelled only after its intent is closed.
            logger.error("paid checkout %s has order %s in %s", checkout.pk, order.pk, order.status)
            continue
        order.paid_at = paid_at
        placed.append(order)
    orders_transition(orders=placed, action="pay", actor=SYSTEM, fields=["paid_at"])
    for order in placed:
        _tell(
            order,
            kind="order.paid",
            buyer=True,
            seller=True,
            message=lambda o: (
                _("Order %(id)d is paid") % {"id": o.pk},
                _("%(total)s from %(shop)s, to be shipped.")
                % {"total": Money(o.total_fen), "shop": o.shop.name},
            ),
        )


def checkout_cancel(
    *, checkout: Checkout, actor: Any, reason: str = "", restore_cart: bool = False
) -> Checkout:
    """Cancel an unpaid checkout and all its orders (one payment pays them all, so they go
    together): close the payment first, then release the stock. If the payment turns out
    to have succeeded meanwhile, the orders are marked paid instead and nothing is
    cancelled. Cancelling a cancelled checkout changes nothing."""
    reason = _text(reason, field="reason", max_length=NOTE_MAX)
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout.pk)
        if checkout.status != CheckoutStatus.PENDING:
            if checkout.status == CheckoutStatus.PAID:
                raise InvalidTransition(
                    _("Checkout %(id)d is paid: cancel its orders one by one.")
                    % {"id": checkout.pk},
                    field="status",
                )
            return checkout
        if checkout.intent_id:
            try:
                payments.payment_intent_cancel(
                    intent=checkout.intent_id,
                    idempotency_key=f"orders.intent-cancel:{checkout.pk}",
                    reason=reason or "cancelled",
                    actor=actor,
                )
            except Conflict as error:
                if error.code != "already_paid":
                    raise
                status = payment_selectors.payment_status(reference=checkout.reference)
                _checkout_paid_locked(checkout, paid_at=status.paid_at or timezone.now())
                return checkout
        checkout.status = CheckoutStatus.CANCELLED
        checkout.save(update_fields=["status", "updated_at"])
        orders = list(Order.objects.select_for_update().filter(checkout=checkout).order_by("pk"))
        for order in orders:
            if order.status != OrderStatus.PLACED:
                continue
            order.cancelled_at = timezone.now()
            order_transition(
                order=order, action="cancel", actor=actor, note=reason, fields=["cancelled_at"]
            )
            _stock_release(order, actor=actor)
            _tell(
                order,
                kind="order.cancelled",
                buyer=True,
                seller=False,
                message=lambda o: (
                    _("Order %(id)d is cancelled") % {"id": o.pk},
                    _("It was not paid; nothing was charged."),
                ),
            )
        if restore_cart:
            _cart_restore(checkout)
    return checkout


def _cart_restore(checkout: Checkout) -> None:
    """Put the lines of a checkout that timed out or failed back into the cart, so that
    the buyer can try again without searching for everything."""
    cart = cart_for(buyer=checkout.buyer)
    for line in OrderLine.objects.filter(order__checkout=checkout).order_by("id"):
        if cart.lines.count() >= CART_LINES_MAX:
            break
        CartLine.objects.get_or_create(
            cart=cart, variant_id=line.variant_id, defaults={"quantity": line.quantity}
        )


def checkouts_expire_due(*, now: datetime) -> list[int]:
    """Cancel every checkout whose payment time is over; return their ids. Each in its own
    transaction, so one failure does not hold back the others."""
    done = []
    for pk in Checkout.objects.filter(
        status=CheckoutStatus.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True):
        try:
            checkout = checkout_cancel(
                checkout=Checkout(pk=pk), actor=SYSTEM, reason="payment timeout", restore_cart=True
            )
        except ApplicationError as error:
            logger.warning("expiry of checkout %s skipped: %s", pk, error)
            continue
        if checkout.status == CheckoutStatus.CANCELLED:
            done.append(pk)
    return done


def checkout_payment_closed(*, reference: str, status: str) -> Checkout | None:
    """The payment failed or was cancelled at the provider (``payments.payment_closed``)."""
    checkout = _checkout_by_reference(reference)
    if checkout is None or checkout.status != CheckoutStatus.PENDING:
        return checkout
    return checkout_cancel(
        checkout=checkout, actor=SYSTEM, reason=f"payment {status}", restore_cart=True
    )


# --- seller and buyer actions -------------------------------------------------------------


def order_cancel(*, order: Order, actor: Any, reason: str = "") -> Order:
    """Cancel before shipment. Unpaid: the whole checkout is cancelled (its one payment
    covers every shop's order). Paid: the order's money goes back in full and its stock is
    released."""
    if order.status == OrderStatus.PLACED:
        checkout_cancel(checkout=order.checkout, actor=actor, reason=reason)
        order.refresh_from_db()
        if order.status != OrderStatus.CANCELLED:
            raise InvalidTransition(
                _("Order %(id)d was paid meanwhile: cancel it again to refund it.")
                % {"id": order.pk},
                field="status",
            )
        return order
    with transaction.atomic():
        order = _order_locked(order)
        if not states.allowed("cancel", status=order.status):
            order_transition(order=order, action="cancel", actor=actor)  # raises
        refund = order.refundable_fen
        if refund:
            payments.refund_issue(
                reference=order.reference,
                amount=Money(refund, order.currency),
                idempotency_key=f"orders.cancel:{order.pk}",
                reason=reason or "cancelled",
                actor=actor,
            )
        order.refunded_fen += refund
        order.cancelled_at = timezone.now()
        order_transition(
            order=order,
            action="cancel",
            actor=actor,
            note=reason,
            fields=["refunded_fen", "cancelled_at"],
        )
        _stock_release(order, actor=actor)
        _tell(
            order,
            kind="order.cancelled",
            buyer=True,
            seller=True,
            message=lambda o: (
                _("Order %(id)d is cancelled") % {"id": o.pk},
                _("%(amount)s goes back to the buyer.") % {"amount": Money(o.refunded_fen)},
            ),
        )
    return order


@transaction.atomic
def order_accept(*, order: Order, actor: Any) -> Order:
    order = _order_locked(order)
    if order.accepted_at is not None and order.status == OrderStatus.PAID:
        raise InvalidTransition(
            _("Order %(id)d is already accepted.") % {"id": order.pk}, field="status"
        )
    order.accepted_at = timezone.now()
    return order_transition(order=order, action="accept", actor=actor, fields=["accepted_at"])


@transaction.atomic
def order_ship(*, order: Order, actor: Any, carrier: str, tracking_number: str) -> Order:
    """The parcel left with ``carrier``. Should nobody mark it delivered, the order completes
    by itself ``ORDERS_AUTO_CONFIRM_AFTER_SHIPPING_DAYS`` later (delivery sets a nearer
    time), so a lost delivery scan never leaves the seller's money held for ever."""
    carrier = _text(carrier, field="carrier", max_length=40, required=True)
    tracking_number = _text(tracking_number, field="tracking_number", max_length=40, required=True)
    order = _order_locked(order)
    order.carrier = carrier
    order.tracking_number = tracking_number
    order.shipped_at = timezone.now()
    if order.accepted_at is None:
        order.accepted_at = order.shipped_at
    if not states.allowed("ship", status=order.status):
        return order_transition(order=order, action="ship", actor=actor)  # raises
    _schedule_release(
        order, at=order.shipped_at + timedelta(days=shipped_confirm_days()), actor=actor
    )
    order_transition(
        order=order,
        action="ship",
        actor=actor,
        note=f"{carrier} {tracking_number}",
        fields=["carrier", "tracking_number", "shipped_at", "accepted_at", "auto_complete_at"],
    )
    _tell(
        order,
        kind="order.shipped",
        buyer=True,
        seller=False,
        message=lambda o: (
            _("Order %(id)d is on its way") % {"id": o.pk},
            _("%(carrier)s, tracking number %(number)s.")
            % {"carrier": o.carrier, "number": o.tracking_number},
        ),
    )
    return order


def _schedule_release(order: Order, *, at: datetime, actor: Any) -> None:
    order.auto_complete_at = at
    payments.escrow_schedule_release(
        reference=order.reference,
        release_after=at,
        idempotency_key=f"orders.schedule:{order.pk}:{at.isoformat()}",
        actor=actor,
    )

    def enqueue() -> None:
        from taocun.orders.tasks import orders_complete_due_task

        orders_complete_due_task.using(run_after=at).enqueue()

    transaction.on_commit(enqueue)


@transaction.atomic
def order_deliver(*, order: Order, actor: Any, now: datetime | None = None) -> Order:
    """The parcel reached the buyer. The order completes by itself (and the seller is paid)
    ``ORDERS_AUTO_CONFIRM_DAYS`` later unless the buyer confirms or asks for a refund."""
    now = now or timezone.now()
    order = _order_locked(order)
    if not states.allowed("deliver", status=order.status):
        return order_transition(order=order, action="deliver", actor=actor)  # raises
    order.delivered_at = now
    _schedule_release(order, at=now + timedelta(days=auto_confirm_days()), actor=actor)
    order_transition(
        order=order,
        action="deliver",
        actor=actor,
        fields=["delivered_at", "auto_complete_at"],
    )
    _tell(
        order,
        kind="order.delivered",
        buyer=True,
        seller=True,
        message=lambda o: (
            _("Order %(id)d is delivered") % {"id": o.pk},
            _("Confirm receipt, or ask for a refund, within %(days)d days.")
            % {"days": auto_confirm_days()},
        ),
    )
    return order


def _sales_shop_id(order: Order) -> str:
    return f"market-{order.shop_id}"


def _sales_post(order: Order, *, actor: Any) -> None:
    """Enter a completed order into the sales ledger (registering its shop the first
    time), with what has been refunded so far."""
    shop = order.shop
    sales.shop_register(
        shop_id=_sales_shop_id(order),
        village_code=shop.village_id,
        opened_at=shop.verified_at or shop.created_at,
        household=shop.household,
        platform=SALES_PLATFORM,
        actor=actor,
    )
    sales.order_post(
        order_id=str(order.pk),
        shop_id=_sales_shop_id(order),
        amount=Money(order.total_fen, order.currency),
        paid_at=order.paid_at,
        platform=SALES_PLATFORM,
        actor=actor,
    )
    if order.refunded_fen:
        _sales_refund(order, actor=actor)
    order.sales_posted = True


def _sales_refund(order: Order, *, actor: Any) -> None:
    sales.order_refund_update(
        order_id=str(order.pk),
        refunded=Money(order.refunded_fen, order.currency),
        platform=SALES_PLATFORM,
        actor=actor,
    )


def _complete_locked(order: Order, *, actor: Any, note: str = "") -> Order:
    payments.escrow_release(
        reference=order.reference, idempotency_key=f"orders.release:{order.pk}", actor=actor
    )
    order.completed_at = timezone.now()
    _sales_post(order, actor=actor)
    order_transition(
        order=order,
        action="complete",
        actor=actor,
        note=note,
        fields=["completed_at", "sales_posted"],
    )
    market_services.product_sold_add(
        quantities=list(order.lines.values_list("product_id", "quantity"))
    )
    _tell(
        order,
        kind="order.completed",
        buyer=True,
        seller=True,
        message=lambda o: (
            _("Order %(id)d is completed") % {"id": o.pk},
            _("The money of the order was released to the seller."),
        ),
    )
    return order


@transaction.atomic
def order_confirm(*, order: Order, actor: Any) -> Order:
    """The buyer confirms receipt: the seller is paid and the order enters the sales
    ledger."""
    order = _order_locked(order)
    if not states.allowed("complete", status=order.status):
        return order_transition(order=order, action="complete", actor=actor)  # raises
    return _complete_locked(order, actor=actor, note="confirmed by the buyer")


def orders_complete_due(*, now: datetime) -> list[int]:
    """Complete every shipped or delivered order whose confirmation time has passed."""
    waiting = (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    done = []
    for pk in Order.objects.filter(status__in=waiting, auto_complete_at__lte=now).values_list(
        "pk", flat=True
    ):
        try:
            with transaction.atomic():
                order = _order_locked(pk)
                if order.status not in waiting or order.auto_complete_at > now:
                    continue
                _complete_locked(order, actor=SYSTEM, note="automatic confirmation")
        except ApplicationError as error:
            logger.warning("automatic completion of order %s skipped: %s", pk, error)
            continue
        done.append(pk)
    return done


def orders_refund_due(*, now: datetime) -> list[int]:
    """Grant every refund request its seller left unanswered past ``refund_due_at``: the
    asked amount goes back to the buyer, as if the seller had refunded it. Each order is
    its own transaction with its own key, so a sweep run twice refunds once; one that
    cannot be refunded now (a completed order whose seller's balance is short) is logged
    and tried again by the next sweep."""
    done = []
    for pk in Order.objects.filter(
        status=OrderStatus.REFUND_REQUESTED, refund_due_at__lte=now
    ).values_list("pk", flat=True):
        try:
            with transaction.atomic():
                order = _order_locked(pk)
                if order.status != OrderStatus.REFUND_REQUESTED or order.refund_due_at > now:
                    continue
                order_refund(
                    order=order,
                    actor=SYSTEM,
                    amount_fen=order.refund_requested_fen,
                    reason=_("The seller did not answer the refund request in time."),
                    idempotency_key=(
                        f"orders.auto-refund:{pk}:{order.refunded_fen}:"
                        f"{order.refund_due_at.isoformat()}"
                    ),
                )
        except ApplicationError as error:
            logger.warning("automatic refund of order %s skipped: %s", pk, error)
            continue
        done.append(pk)
    return done


def _enqueue_refund_due(at: datetime) -> None:
    def enqueue() -> None:
        from taocun.orders.tasks import orders_refund_due_task

        orders_refund_due_task.using(run_after=at).enqueue()

    transaction.on_commit(enqueue)


def order_escrow_released(*, reference: str) -> Order | None:
    """Payments released the order's escrow on its own (the automatic release): a shipped
    or delivered order is completed. Idempotent."""
    prefix = "orders.order:"
    if not reference.startswith(prefix) or not reference[len(prefix) :].isdigit():
        return None
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=int(reference[len(prefix) :])).first()
        if order is None or not states.allowed("complete", status=order.status):
            return order
        return _complete_locked(order, actor=SYSTEM, note="automatic confirmation")


def _refund_amount(order: Order, amount_fen: Any, *, field: str = "amount_fen") -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 1:
        raise ValidationError(_("The refund must be at least 0.01 yuan."), field=field)
    if amount_fen > order.refundable_fen:
        raise RefundTooLarge(
            _(
                "At most %(refundable)s of order %(id)d can be refunded (paid %(paid)s, "
                "already refunded %(refunded)s); %(amount)s asked."
            )
            % {
                "refundable": Money(order.refundable_fen),
                "id": order.pk,
                "paid": Money(order.total_fen),
                "refunded": Money(order.refunded_fen),
                "amount": Money(amount_fen),
            },
            field=field,
            extra={"refundable_fen": order.refundable_fen},
        )
    return amount_fen


@transaction.atomic
def order_refund_request(
    *, order: Order, actor: Any, amount_fen: int, reason: str, now: datetime | None = None
) -> Order:
    """The buyer asks for ``amount_fen`` back (all or part). The seller has
    ``ORDERS_REFUND_ANSWER_DAYS`` to refund or refuse; unanswered, the request is granted
    by itself (:func:`orders_refund_due`). Meanwhile the escrow is held: its automatic
    release waits for the answer, so silence never pays the seller."""
    now = now or timezone.now()
    order = _order_locked(order)
    if not states.allowed("request_refund", status=order.status):
        return order_transition(order=order, action="request_refund", actor=actor)  # raises
    reason = _text(reason, field="reason", max_length=300, required=True)
    order.refund_requested_fen = _refund_amount(order, amount_fen)
    order.refund_reason = reason
    order.refund_from_status = order.status
    order.refund_due_at = now + timedelta(days=refund_answer_days())
    order.auto_complete_at = None
    fields = [
        "refund_requested_fen",
        "refund_reason",
        "refund_from_status",
        "refund_due_at",
        "auto_complete_at",
    ]
    payments.escrow_hold(
        reference=order.reference,
        idempotency_key=f"orders.hold:{order.pk}:{order.refund_due_at.isoformat()}",
        actor=actor,
    )
    order_transition(order=order, action="request_refund", actor=actor, note=reason, fields=fields)
    _enqueue_refund_due(order.refund_due_at)
    _tell(
        order,
        kind="order.refund_requested",
        buyer=True,
        seller=True,
        message=lambda o: (
            _("Refund of %(amount)s asked for order %(id)d")
            % {"amount": Money(o.refund_requested_fen), "id": o.pk},
            o.refund_reason,
        ),
    )
    return order


@transaction.atomic
def order_refund(
    *, order: Order, actor: Any, amount_fen: int, reason: str = "", idempotency_key: str = ""
) -> Order:
    """Give money back: the whole rest of the order (→ refunded) or a part of it (the order
    goes on where it was). Before the order completes the money comes out of escrow, after
    it from the seller's balance (``payments.refund_issue``). Never more than was paid minus
    what was refunded; the sales ledger follows for a completed order."""
    order = _order_locked(order)
    if not states.allowed("refund", status=order.status):
        return order_transition(order=order, action="refund", actor=actor)  # raises
    amount_fen = _refund_amount(order, amount_fen)
    action = "refund" if amount_fen == order.refundable_fen else "refund_partial"
    reason = _text(reason, field="reason", max_length=300) or order.refund_reason
    was_shipped = order.status not in states.NOT_SHIPPED and not (
        order.status == OrderStatus.REFUND_REQUESTED
        and order.refund_from_status in states.NOT_SHIPPED
    )
    payments.refund_issue(
        reference=order.reference,
        amount=Money(amount_fen, order.currency),
        idempotency_key=idempotency_key or f"orders.refund:{order.pk}:{order.refunded_fen}",
        reason=reason,
        actor=actor,
    )
    escrow = payment_selectors.payment_status(reference=order.reference).orders[0]
    if escrow.refunded.amount_fen == order.refunded_fen:
        return order  # the same request again (its key was used): it was refunded before
    order.refunded_fen += amount_fen
    order.refund_requested_fen = 0
    order.refund_due_at = None
    order_transition(
        order=order,
        action=action,
        actor=actor,
        note=_("%(amount)s refunded. %(reason)s") % {"amount": Money(amount_fen), "reason": reason},
        fields=["refunded_fen", "refund_requested_fen", "refund_due_at"],
    )
    if order.sales_posted:
        _sales_refund(order, actor=actor)
    if action == "refund" and not was_shipped:
        _stock_release(order, actor=actor)
    _after_refund_return(order, actor=actor)
    _tell(
        order,
        kind="order.refunded",
        buyer=True,
        seller=True,
        message=lambda o: (
            _("%(amount)s refunded for order %(id)d") % {"amount": Money(amount_fen), "id": o.pk},
            _("The money goes back the way it was paid."),
        ),
    )
    return order


def _after_refund_return(order: Order, *, actor: Any) -> None:
    """An order back in ``shipped`` or ``delivered`` after a refund request: the buyer's
    time to confirm starts again (the escrow was held while the seller decided). One whose
    escrow was released meanwhile (by staff, or before escrows were held) completes now."""
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return
    status = payment_selectors.payment_status(reference=order.reference)
    if status.status == EscrowStatus.RELEASED:
        _complete_locked(order, actor=actor, note="escrow released during the refund request")
    elif status.status == EscrowStatus.HELD and order.auto_complete_at is None:
        delivered = order.status == OrderStatus.DELIVERED
        days = auto_confirm_days() if delivered else shipped_confirm_days()
        _schedule_release(order, at=timezone.now() + timedelta(days=days), actor=actor)
        order.save(update_fields=["auto_complete_at", "updated_at"])


@transaction.atomic
def order_refund_decline(*, order: Order, actor: Any, note: str) -> Order:
    order = _order_locked(order)
    note = _text(note, field="note", max_length=NOTE_MAX, required=True)
    order.refund_requested_fen = 0
    order.refund_due_at = None
    order_transition(
        order=order,
        action="decline_refund",
        actor=actor,
        note=note,
        fields=["refund_requested_fen", "refund_due_at"],
    )
    _after_refund_return(order, actor=actor)
    _tell(
        order,
        kind="order.refund_declined",
        buyer=True,
        seller=False,
        message=lambda o: (
            _("The refund for order %(id)d was refused") % {"id": o.pk},
            note,
        ),
    )
    return order
