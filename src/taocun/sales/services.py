"""Writes to the sales ledger one at a time: the marketplace's shops and finished orders.

Bulk files from other platforms go through :mod:`taocun.sales.importing`; these services
are for the platform's own marketplace (platform ``taocun``), which registers its shops and
posts each order once it is finished (escrow released), then any later refund. Every call
is idempotent on its key, so a retried task never counts an order twice.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from taocun.core.chinatime import china_date
from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.money import Money
from taocun.core.services import audit_record
from taocun.regions.models import Division, Household, Level
from taocun.sales.currency import BASE_CURRENCY, RateBook, to_cny_fen
from taocun.sales.models import OrderStatus, SalesOrder, Shop, ShopKind, ShopMove
from taocun.sales.validation import BadValue, aware_instant, key_from_text, platform_from_text

MARKETPLACE = "taocun"


def _platform(platform: str) -> str:
    try:
        return platform_from_text(platform)
    except BadValue as bad:
        raise ValidationError(bad.reason, field="platform") from None


def _key(text: str, *, what: str, field: str) -> str:
    try:
        return key_from_text(text, what=what)
    except BadValue as bad:
        raise ValidationError(bad.reason, field=field) from None


def _shop_state(shop: Shop) -> dict:
    return {
        "village": shop.village_id,
        "opened_at": shop.opened_at.isoformat(),
        "closed_at": shop.closed_at.isoformat() if shop.closed_at else None,
        "kind": shop.kind,
        "household": shop.household_id,
    }


def _order_state(order: SalesOrder) -> dict:
    return {
        "shop": str(order.shop_id),
        "amount_fen": order.amount_fen,
        "currency": order.currency,
        "refunded_fen": order.refunded_fen,
        "amount_cny_fen": order.amount_cny_fen,
        "refunded_cny_fen": order.refunded_cny_fen,
        "paid_at": order.paid_at.isoformat(),
        "status": order.status,
    }


# --- shops ---------------------------------------------------------------------------------


def shop_register(
    *,
    shop_id: str,
    village_code: str,
    opened_at: datetime,
    kind: str = ShopKind.PERSONAL,
    household: Household | None = None,
    platform: str = MARKETPLACE,
    actor: Any | None = None,
) -> Shop:
    """Enter a shop into the ledger, or bring it up to date (idempotent).

    A shop that changes village gets a :class:`ShopMove` (source ``shop_register``). The
    household, when given, must live in the shop's village. Audited when something changed.
    """
    platform = _platform(platform)
    shop_id = _key(shop_id, what="shop", field="shop_id")
    opened_at = aware_instant(opened_at, field="opened_at")
    if kind not in ShopKind.values:
        raise ValidationError(_("expected personal or enterprise"), field="kind")
    village = Division.objects.filter(code=village_code).first()
    if village is None:
        raise NotFound(_("unknown village code"), field="village_code")
    if village.level != Level.VILLAGE:
        raise ValidationError(_("not a village in the division table"), field="village_code")
    if household is not None and household.village_id != village.code:
        raise ValidationError(
            _("the household belongs to village %(code)s") % {"code": household.village_id},
            field="household",
        )
    values = {
        "village": village,
        "opened_at": opened_at,
        "kind": kind,
        "household": household,
    }
    with transaction.atomic():
        shop = Shop.objects.select_for_update().filter(platform=platform, shop_id=shop_id).first()
        if shop is None:
            try:
                with transaction.atomic():
                    shop = Shop.objects.create(platform=platform, shop_id=shop_id, **values)
            except IntegrityError:  # registered concurrently: fall through to an update
                shop = Shop.objects.select_for_update().get(platform=platform, shop_id=shop_id)
            else:
                audit_record(
                    actor=actor, action="sales.shop_register", obj=shop, after=_shop_state(shop)
                )
                return shop
        if shop.closed_at is not None and shop.closed_at < opened_at:
            raise ValidationError(_("the shop closed before this opening time"), field="opened_at")
        before = _shop_state(shop)
        if shop.village_id != village.code:
            ShopMove.objects.create(
                shop=shop,
                from_village_id=shop.village_id,
                to_village=village,
                source="shop_register",
            )
        for name, value in values.items():
            setattr(shop, name, value)
        after = _shop_state(shop)
        if after != before:
            shop.save()
            audit_record(
                actor=actor, action="sales.shop_register", obj=shop, before=before, after=after
            )
    return shop


def shop_close(
    *,
    shop_id: str,
    closed_at: datetime,
    platform: str = MARKETPLACE,
    actor: Any | None = None,
) -> Shop:
    """Mark a shop closed from ``closed_at`` (idempotent; the same time again changes
    nothing)."""
    platform = _platform(platform)
    closed_at = aware_instant(closed_at, field="closed_at")
    with transaction.atomic():
        shop = Shop.objects.select_for_update().filter(platform=platform, shop_id=shop_id).first()
        if shop is None:
            raise NotFound(_("unknown shop"), field="shop_id")
        if closed_at < shop.opened_at:
            raise ValidationError(_("before the shop opened"), field="closed_at")
        if shop.closed_at != closed_at:
            before = _shop_state(shop)
            shop.closed_at = closed_at
            shop.save(update_fields=["closed_at", "updated_at"])
            audit_record(
                actor=actor,
                action="sales.shop_close",
                obj=shop,
                before=before,
                after=_shop_state(shop),
            )
    return shop


# --- orders --------------------------------------------------------------------------------


def _to_cny(money: Money, *, paid_at: datetime) -> int:
    if money.currency == BASE_CURRENCY:
        return money.amount_fen
    day = china_date(paid_at)
    rate = RateBook.load({money.currency}).rate_on(money.currency, day)
    if rate is None:
        raise ValidationError(
            _("no %(currency)s rate on or before %(day)s")
            % {"currency": money.currency, "day": day.isoformat()},
            field="currency",
        )
    return to_cny_fen(money.amount_fen, rate)


def order_post(
    *,
    order_id: str,
    shop_id: str,
    amount: Money,
    paid_at: datetime,
    platform: str = MARKETPLACE,
    actor: Any | None = None,
) -> SalesOrder:
    """Post one finished order to the ledger (status ``completed``).

    Idempotent on ``(platform, order_id)``: posting the same order again returns it
    unchanged; posting it again with different values is a :class:`Conflict` (refunds go
    through :func:`order_refund_update`). Audited once, when the order enters the ledger.
    """
    platform = _platform(platform)
    order_id = _key(order_id, what="order", field="order_id")
    paid_at = aware_instant(paid_at, field="paid_at")
    if amount.amount_fen < 0:
        raise ValidationError(_("negative amount"), field="amount")
    shop = Shop.objects.filter(platform=platform, shop_id=shop_id).first()
    if shop is None:
        raise NotFound(_("unknown shop of this platform"), field="shop_id")
    amount_cny_fen = _to_cny(amount, paid_at=paid_at)
    values = {
        "shop": shop,
        "amount_fen": amount.amount_fen,
        "currency": amount.currency,
        "amount_cny_fen": amount_cny_fen,
        "paid_at": paid_at,
    }
    with transaction.atomic():
        existing = SalesOrder.objects.filter(platform=platform, order_id=order_id).first()
        if existing is None:
            try:
                with transaction.atomic():
                    order = SalesOrder.objects.create(
                        platform=platform,
                        order_id=order_id,
                        status=OrderStatus.COMPLETED,
                        **values,
                    )
            except IntegrityError:  # posted concurrently: compare with that one
                existing = SalesOrder.objects.get(platform=platform, order_id=order_id)
            else:
                audit_record(
                    actor=actor, action="sales.order_post", obj=order, after=_order_state(order)
                )
                return order
        for name, value in values.items():
            if getattr(existing, name) != value:
                raise Conflict(
                    _("order %(order)s is already in the ledger with another %(field)s")
                    % {"order": order_id, "field": name},
                    field=name,
                )
        return existing


def order_refund_update(
    *,
    order_id: str,
    refunded: Money,
    platform: str = MARKETPLACE,
    actor: Any | None = None,
) -> SalesOrder:
    """Set an order's total refunded amount (not an increment: calling it twice with the
    same total changes nothing). A refund above zero marks the order ``refunded``; zero
    marks it ``completed`` again. Converted to CNY at the order's own rate. Audited."""
    platform = _platform(platform)
    with transaction.atomic():
        order = (
            SalesOrder.objects.select_for_update()
            .filter(platform=platform, order_id=order_id)
            .first()
        )
        if order is None:
            raise NotFound(_("unknown order"), field="order_id")
        if order.status == OrderStatus.CANCELLED:
            raise ValidationError(_("the order was cancelled"), field="order_id")
        if refunded.currency != order.currency:
            raise ValidationError(
                _("the order is in %(currency)s") % {"currency": order.currency},
                field="currency",
            )
        if not 0 <= refunded.amount_fen <= order.amount_fen:
            raise ValidationError(
                _("a refund must be between 0 and the order's amount"), field="refunded"
            )
        refunded_cny_fen = _to_cny(refunded, paid_at=order.paid_at)
        status = OrderStatus.REFUNDED if refunded.amount_fen else OrderStatus.COMPLETED
        if (order.refunded_fen, order.refunded_cny_fen, order.status) == (
            refunded.amount_fen,
            refunded_cny_fen,
            status,
        ):
            return order
        before = _order_state(order)
        order.refunded_fen = refunded.amount_fen
        order.refunded_cny_fen = refunded_cny_fen
        order.status = status
        order.save(update_fields=["refunded_fen", "refunded_cny_fen", "status"])
        audit_record(
            actor=actor,
            action="sales.order_refund_update",
            obj=order,
            before=before,
            after=_order_state(order),
        )
    return order
