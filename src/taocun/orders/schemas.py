"""Shapes of the orders API. Money is integer fen (``…_fen``); times are ISO 8601 UTC."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from taocun.orders.models import QUANTITY_MAX


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
Quantity = Annotated[int, Field(ge=1, le=QUANTITY_MAX)]
StatusName = Literal[
    "placed",
    "paid",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "refund_requested",
    "refunded",
]


class CartLineIn(Schema):
    variant_id: int
    quantity: Quantity = 1


class CartQuantityIn(Schema):
    quantity: Quantity


class CartItemOut(Schema):
    variant_id: int
    product_id: int
    product_name: str
    label: str
    price_fen: int
    stock: int
    quantity: int
    line_total_fen: int
    problem: str = Field(description="Why the line cannot be bought as it is; empty if it can")


class CartGroupOut(Schema):
    shop_id: int
    shop_name: str
    items: list[CartItemOut]
    goods_fen: int
    shipping_fen: int
    total_fen: int


class CartOut(Schema):
    groups: list[CartGroupOut]
    goods_fen: int
    shipping_fen: int
    total_fen: int


class AddressIn(Schema):
    recipient: Text = Field(max_length=30)
    phone: Text = Field(max_length=30, description="Mainland mobile number")
    province: Text = Field("", max_length=30)
    city: Text = Field("", max_length=30)
    district: Text = Field("", max_length=30)
    division_code: Text = Field("", max_length=12, description="12-digit NBS code, optional")
    detail: Text = Field(max_length=120)
    is_default: bool = False


class AddressOut(Schema):
    id: int
    recipient: str
    phone: str
    province: str
    city: str
    district: str
    division_code: str | None = Field(None, alias="division_id")
    detail: str
    is_default: bool


class CheckoutLineIn(Schema):
    variant_id: int
    quantity: Quantity
    price_fen: int = Field(ge=0, description="The unit price the buyer saw")


class CheckoutIn(Schema):
    address_id: int
    lines: list[CheckoutLineIn] = Field(min_length=1, max_length=50)


class OrderSummaryOut(Schema):
    id: int
    status: str
    shop_id: int
    shop_name: str = Field(alias="shop.name")
    goods_fen: int
    shipping_fen: int
    total_fen: int
    refunded_fen: int
    created_at: datetime


class CheckoutOut(Schema):
    id: int
    status: str
    goods_fen: int
    shipping_fen: int
    total_fen: int
    pay_url: str
    expires_at: datetime | None
    orders: list[OrderSummaryOut]

    @staticmethod
    def resolve_orders(checkout) -> list:
        return list(checkout.orders.select_related("shop").order_by("id"))


class OrderLineOut(Schema):
    variant_id: int
    product_id: int
    product_name: str
    variant_label: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    commission_rate_bp: int


class OrderEventOut(Schema):
    at: datetime
    actor: str = Field(alias="actor_label")
    action: str
    from_status: str
    to_status: str
    note: str


class OrderOut(OrderSummaryOut):
    buyer_id: int
    commission_rate_bp: int
    weight_g: int
    refund_requested_fen: int
    refund_reason: str
    carrier: str
    tracking_number: str
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    auto_complete_at: datetime | None
    ship_recipient: str = Field(alias="checkout.ship_recipient")
    ship_phone: str = Field(alias="checkout.ship_phone")
    ship_region: str = Field(alias="checkout.ship_region")
    ship_detail: str = Field(alias="checkout.ship_detail")
    lines: list[OrderLineOut]
    events: list[OrderEventOut]
    actions: list[str] = Field(description="What the caller may do now")

    @staticmethod
    def resolve_lines(order) -> list:
        return list(order.lines.all())

    @staticmethod
    def resolve_events(order) -> list:
        return list(order.events.all())


class ShipIn(Schema):
    carrier: Text = Field(min_length=1, max_length=40)
    tracking_number: Text = Field(min_length=1, max_length=40)


class ReasonIn(Schema):
    reason: Text = Field("", max_length=300)


class RefundIn(Schema):
    amount_fen: int = Field(ge=1)
    reason: Text = Field("", max_length=300)


class NoteIn(Schema):
    note: Text = Field(min_length=1, max_length=300)


class OrderListIn(Schema):
    status: StatusName | None = None


class ParcelListIn(Schema):
    status: Literal["shipped", "delivered", "completed"] = Field(
        "shipped",
        description="shipped: parcels to hand over; delivered, completed: of the last 30 days",
    )
    q: Text = Field(
        "",
        max_length=40,
        description="An order number, the last 4+ digits of a phone, or a tracking number",
    )


class ParcelOut(Schema):
    """One parcel on a station agent's list. The recipient's phone is given by its last
    four digits only: the full address is on the order (``GET {id}``)."""

    id: int
    status: str
    shop_id: int
    shop_name: str = Field(alias="shop.name")
    village_code: str = Field(alias="shop.village_id")
    village_name: str = Field(alias="shop.village.name")
    buyer_name: str = Field(alias="buyer.display_name")
    recipient: str = Field(alias="checkout.ship_recipient")
    phone_tail: str
    carrier: str
    tracking_number: str
    total_fen: int
    shipped_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None

    @staticmethod
    def resolve_phone_tail(order) -> str:
        return order.checkout.ship_phone[-4:]
