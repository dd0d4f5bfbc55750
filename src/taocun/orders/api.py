"""The orders API (mounted at /api/v1/orders): the buyer's cart, address book, checkout
and orders; the seller's order desk and its actions; the station agent's parcels.

Every call needs a token or a session. Each order action goes through ``access_order``
(403 and an audit entry for anyone not party to the order) and then the state machine
(409 ``invalid_transition`` for an action the order's status does not allow). Checkout
needs an ``Idempotency-Key`` header: a retried request returns the same checkout and
charges nothing twice.
"""

from typing import Annotated

from django.http import HttpRequest
from ninja import Header, Path, Query, Router, Status
from ninja.pagination import paginate

from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.orders import selectors, services
from taocun.orders.access import (
    access_order,
    access_seller_desk,
    access_station_parcels,
    order_roles,
)
from taocun.orders.models import Order
from taocun.orders.schemas import (
    AddressIn,
    AddressOut,
    CartLineIn,
    CartOut,
    CartQuantityIn,
    CheckoutIn,
    CheckoutOut,
    NoteIn,
    OrderListIn,
    OrderOut,
    OrderSummaryOut,
    ParcelListIn,
    ParcelOut,
    ReasonIn,
    RefundIn,
    ShipIn,
)
from taocun.orders.states import actions_for

router = Router()

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=150,
        description="Any unique string; repeating it repeats nothing",
    ),
]


def _cart_out(view: selectors.CartView) -> dict:
    return {
        "groups": [
            {
                "shop_id": group.shop.pk,
                "shop_name": group.shop.name,
                "items": [
                    {
                        "variant_id": item.variant.pk,
                        "product_id": item.variant.product_id,
                        "product_name": item.variant.product.name,
                        "label": item.variant.label,
                        "price_fen": item.price_fen,
                        "stock": item.variant.stock,
                        "quantity": item.quantity,
                        "line_total_fen": item.line_total_fen,
                        "problem": item.problem,
                    }
                    for item in group.items
                ],
                "goods_fen": group.goods_fen,
                "shipping_fen": group.shipping_fen,
                "total_fen": group.total_fen,
            }
            for group in view.groups
        ],
        "goods_fen": view.goods_fen,
        "shipping_fen": view.shipping_fen,
        "total_fen": view.total_fen,
    }


# --- cart -------------------------------------------------------------------------------


@router.get("/cart", response=CartOut, summary="My cart, by shop")
def cart(request: HttpRequest) -> dict:
    return _cart_out(selectors.cart_view(buyer=request.auth))


@router.post("/cart/lines", response={201: CartOut}, summary="Add a pack to my cart")
def cart_add(request: HttpRequest, body: CartLineIn) -> Status:
    services.cart_add(buyer=request.auth, variant_id=body.variant_id, quantity=body.quantity)
    return Status(201, _cart_out(selectors.cart_view(buyer=request.auth)))


@router.patch("/cart/lines/{variant_id}", response=CartOut, summary="Change a quantity")
def cart_update(request: HttpRequest, variant_id: int, body: CartQuantityIn) -> dict:
    services.cart_line_update(buyer=request.auth, variant_id=variant_id, quantity=body.quantity)
    return _cart_out(selectors.cart_view(buyer=request.auth))


@router.delete("/cart/lines/{variant_id}", response={204: None}, summary="Remove a line")
def cart_remove(request: HttpRequest, variant_id: int) -> Status:
    services.cart_line_remove(buyer=request.auth, variant_id=variant_id)
    return Status(204, None)


# --- addresses -----------------------------------------------------------------------------


@router.get("/addresses", response=list[AddressOut], summary="My address book")
def addresses(request: HttpRequest) -> list:
    return list(selectors.addresses(buyer=request.auth))


@router.post("/addresses", response={201: AddressOut}, summary="Add an address")
def address_create(request: HttpRequest, body: AddressIn) -> Status:
    address = services.address_create(buyer=request.auth, **body.dict())
    return Status(201, address)


@router.put("/addresses/{address_id}", response=AddressOut, summary="Change an address")
def address_update(request: HttpRequest, address_id: int, body: AddressIn):
    address = selectors.address_get(buyer=request.auth, address_id=address_id)
    return services.address_update(buyer=request.auth, address=address, **body.dict())


@router.post(
    "/addresses/{address_id}/default", response=AddressOut, summary="Make an address the default"
)
def address_set_default(request: HttpRequest, address_id: int):
    address = selectors.address_get(buyer=request.auth, address_id=address_id)
    return services.address_set_default(buyer=request.auth, address=address)


@router.delete("/addresses/{address_id}", response={204: None}, summary="Delete an address")
def address_delete(request: HttpRequest, address_id: int) -> Status:
    address = selectors.address_get(buyer=request.auth, address_id=address_id)
    services.address_delete(buyer=request.auth, address=address)
    return Status(204, None)


# --- checkout ------------------------------------------------------------------------------


@router.post("/checkouts", response={201: CheckoutOut}, summary="Place a checkout")
def checkout_place(
    request: HttpRequest, body: CheckoutIn, idempotency_key: IdempotencyKey
) -> Status:
    """One order per shop and one payment for all; go to ``pay_url`` to pay. A line whose
    price or stock changed since the buyer saw it is a 409 naming it, and nothing is
    ordered."""
    address = selectors.address_get(buyer=request.auth, address_id=body.address_id)
    checkout = services.checkout_place(
        buyer=request.auth,
        address=address,
        lines=[line.dict() for line in body.lines],
        idempotency_key=idempotency_key,
    )
    return Status(201, checkout)


@router.get("/checkouts/{checkout_id}", response=CheckoutOut, summary="A checkout of mine")
def checkout_get(request: HttpRequest, checkout_id: int):
    return selectors.checkout_get(buyer=request.auth, checkout_id=checkout_id)


# --- orders --------------------------------------------------------------------------------


@router.get("/mine", response=list[OrderSummaryOut], summary="My orders")
@paginate(BoundedLimitOffsetPagination)
def my_orders(request: HttpRequest, query: Query[OrderListIn]):
    return selectors.buyer_orders(buyer=request.auth, status=query.status)


@router.get("/shop", response=list[OrderSummaryOut], summary="My shop's orders")
@paginate(BoundedLimitOffsetPagination)
def shop_orders(request: HttpRequest, query: Query[OrderListIn]):
    shop = access_seller_desk(user=request.auth)
    return selectors.shop_orders(shop=shop, status=query.status)


@router.get("/parcels", response=list[ParcelOut], summary="Station agent: my villages' parcels")
@paginate(BoundedLimitOffsetPagination)
def parcels(request: HttpRequest, query: Query[ParcelListIn]):
    """The orders of the shops in the villages the agent's grants cover (program staff:
    all). Mark one delivered with ``POST {id}/deliver``."""
    prefixes = access_station_parcels(user=request.auth)
    return selectors.station_parcels(prefixes=prefixes, status=query.status, query=query.q)


def _detail(request: HttpRequest, order: Order) -> Order:
    order = selectors.order_get(order_id=order.pk)
    order.actions = actions_for(status=order.status, roles=order_roles(request.auth, order))
    return order


def _order_for(request: HttpRequest, order_id: int, action: str) -> Order:
    order = selectors.order_get(order_id=order_id)
    access_order(user=request.auth, order=order, action=action)
    return order


OrderId = Annotated[int, Path(description="The order's id")]


@router.get("/{order_id}", response=OrderOut, summary="An order with its history")
def order_detail(request: HttpRequest, order_id: OrderId):
    order = _order_for(request, order_id, "view")
    return _detail(request, order)


@router.post("/{order_id}/accept", response=OrderOut, summary="Seller: accept")
def order_accept(request: HttpRequest, order_id: OrderId):
    order = _order_for(request, order_id, "accept")
    return _detail(request, services.order_accept(order=order, actor=request.auth))


@router.post("/{order_id}/ship", response=OrderOut, summary="Seller: shipped, with tracking")
def order_ship(request: HttpRequest, order_id: OrderId, body: ShipIn):
    order = _order_for(request, order_id, "ship")
    shipped = services.order_ship(
        order=order,
        actor=request.auth,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
    )
    return _detail(request, shipped)


@router.post("/{order_id}/deliver", response=OrderOut, summary="Seller or agent: delivered")
def order_deliver(request: HttpRequest, order_id: OrderId):
    order = _order_for(request, order_id, "deliver")
    return _detail(request, services.order_deliver(order=order, actor=request.auth))


@router.post("/{order_id}/cancel", response=OrderOut, summary="Cancel before shipment")
def order_cancel(request: HttpRequest, order_id: OrderId, body: ReasonIn):
    order = _order_for(request, order_id, "cancel")
    cancelled = services.order_cancel(order=order, actor=request.auth, reason=body.reason)
    return _detail(request, cancelled)


@router.post("/{order_id}/confirm", response=OrderOut, summary="Buyer: confirm receipt")
def order_confirm(request: HttpRequest, order_id: OrderId):
    order = _order_for(request, order_id, "complete")
    return _detail(request, services.order_confirm(order=order, actor=request.auth))


@router.post("/{order_id}/refund-request", response=OrderOut, summary="Buyer: ask for a refund")
def order_refund_request(request: HttpRequest, order_id: OrderId, body: RefundIn):
    order = _order_for(request, order_id, "request_refund")
    asked = services.order_refund_request(
        order=order, actor=request.auth, amount_fen=body.amount_fen, reason=body.reason
    )
    return _detail(request, asked)


@router.post("/{order_id}/refund", response=OrderOut, summary="Seller: refund all or part")
def order_refund(
    request: HttpRequest, order_id: OrderId, body: RefundIn, idempotency_key: IdempotencyKey
):
    order = _order_for(request, order_id, "refund")
    refunded = services.order_refund(
        order=order,
        actor=request.auth,
        amount_fen=body.amount_fen,
        reason=body.reason,
        idempotency_key=f"orders.api-refund:{request.auth.pk}:{idempotency_key}",
    )
    return _detail(request, refunded)


@router.post("/{order_id}/refund-decline", response=OrderOut, summary="Seller: refuse a refund")
def order_refund_decline(request: HttpRequest, order_id: OrderId, body: NoteIn):
    order = _order_for(request, order_id, "decline_refund")
    declined = services.order_refund_decline(order=order, actor=request.auth, note=body.note)
    return _detail(request, declined)
