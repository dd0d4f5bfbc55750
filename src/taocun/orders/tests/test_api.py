"""The orders API through HTTP: cart, addresses, checkout with its Idempotency-Key, the
buyer's and the seller's order actions, and the error shapes."""

import json

import pytest

from taocun.core.models import AuditEntry
from taocun.market import services as market_services
from taocun.orders.models import Checkout, Order
from taocun.orders.tests import factories


def call(client, method, path, body=None, **headers):
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = json.dumps(body)
    return getattr(client, method)(f"/api/v1/orders{path}", **kwargs, **headers)


def test_cart_crud(client_for, buyer, variant):
    client = client_for(buyer)
    response = call(client, "post", "/cart/lines", {"variant_id": variant.pk, "quantity": 2})
    assert response.status_code == 201
    cart = response.json()
    assert cart["groups"][0]["shop_name"] == "前仓果园"
    assert cart["groups"][0]["items"][0]["quantity"] == 2
    assert cart["goods_fen"] == 2 * 3990

    response = call(client, "patch", f"/cart/lines/{variant.pk}", {"quantity": 1000})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = call(client, "patch", f"/cart/lines/{variant.pk}", {"quantity": 11})
    assert response.status_code == 400 and response.json()["code"] == "out_of_stock"
    assert (
        call(client, "patch", f"/cart/lines/{variant.pk}", {"quantity": 3}).json()["total_fen"]
        == 3 * 3990
    )
    assert call(client, "delete", f"/cart/lines/{variant.pk}").status_code == 204
    assert call(client, "get", "/cart").json()["groups"] == []


def test_the_api_needs_a_login(db):
    from django.test import Client

    response = Client().get("/api/v1/orders/cart")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_addresses(client_for, buyer):
    client = client_for(buyer)
    body = {"recipient": "王芳", "phone": "139 0013 9000", "province": "浙江省", "detail": "1 号"}
    response = call(client, "post", "/addresses", body)
    assert response.status_code == 201 and response.json()["phone"] == "+8613900139000"
    bad = call(client, "post", "/addresses", body | {"phone": "110"})
    assert bad.status_code == 400 and bad.json()["field"] == "phone"
    assert len(call(client, "get", "/addresses").json()) == 2
    other = client_for(factories.buyer())
    assert call(other, "delete", f"/addresses/{response.json()['id']}").status_code == 404
    # The new address becomes the default; the first one is not any more.
    assert call(other, "post", f"/addresses/{response.json()['id']}/default").status_code == 404
    made = call(client, "post", f"/addresses/{response.json()['id']}/default")
    assert made.status_code == 200 and made.json()["is_default"]
    defaults = [a["id"] for a in call(client, "get", "/addresses").json() if a["is_default"]]
    assert defaults == [response.json()["id"]]


def test_checkout_with_an_idempotency_key(client_for, buyer, variant):
    client = client_for(buyer)
    body = {
        "address_id": buyer.addresses.get().pk,
        "lines": factories.lines_of((variant, 2)),
    }
    response = call(client, "post", "/checkouts", body, HTTP_IDEMPOTENCY_KEY="abc")
    assert response.status_code == 201, response.json()
    placed = response.json()
    assert placed["status"] == "pending"
    assert placed["pay_url"].startswith("/payments/sandbox/pay/")
    assert placed["orders"][0]["total_fen"] == placed["total_fen"]

    again = call(client, "post", "/checkouts", body, HTTP_IDEMPOTENCY_KEY="abc")
    assert again.status_code == 201 and again.json()["id"] == placed["id"]
    assert Checkout.objects.count() == 1
    clash = call(
        client,
        "post",
        "/checkouts",
        body | {"lines": factories.lines_of((variant, 1))},
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"
    missing = call(client, "post", "/checkouts", body)
    assert missing.status_code == 400


def test_checkout_with_a_stale_price_is_409_naming_the_line(client_for, buyer, variant):
    client = client_for(buyer)
    body = {"address_id": buyer.addresses.get().pk, "lines": factories.lines_of((variant, 2))}
    market_services.variant_update(actor=None, variant=variant, price_fen=4200)

    response = call(client, "post", "/checkouts", body, HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 409
    error = response.json()
    assert error["code"] == "price_changed" and error["field"] == "lines.0"
    assert error["lines"][0]["line"] == 1
    assert not Order.objects.exists()


def test_buyer_and_seller_drive_an_order(client_for, paid_order, keeper, buyer):
    seller = client_for(keeper)
    me = client_for(buyer)
    listed = call(seller, "get", "/shop?status=paid").json()
    assert [o["id"] for o in listed["items"]] == [paid_order.pk]
    assert call(me, "get", "/mine").json()["count"] == 1

    detail = call(me, "get", f"/{paid_order.pk}").json()
    assert detail["actions"] == ["cancel", "request_refund"]
    assert detail["ship_recipient"] == "李华"
    assert [e["to_status"] for e in detail["events"]] == ["placed", "paid"]

    shipped = call(
        seller, "post", f"/{paid_order.pk}/ship", {"carrier": "顺丰", "tracking_number": "SF1"}
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    again = call(
        seller, "post", f"/{paid_order.pk}/ship", {"carrier": "顺丰", "tracking_number": "SF1"}
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert call(seller, "post", f"/{paid_order.pk}/deliver").json()["status"] == "delivered"
    asked = call(
        me, "post", f"/{paid_order.pk}/refund-request", {"amount_fen": 500, "reason": "烂"}
    )
    assert asked.json()["status"] == "refund_requested"
    too_much = call(
        seller,
        "post",
        f"/{paid_order.pk}/refund",
        {"amount_fen": paid_order.total_fen + 1},
        HTTP_IDEMPOTENCY_KEY="r0",
    )
    assert too_much.status_code == 400 and too_much.json()["code"] == "refund_exceeds_paid"
    refund = {"amount_fen": 500, "reason": "同意"}
    first = call(seller, "post", f"/{paid_order.pk}/refund", refund, HTTP_IDEMPOTENCY_KEY="r1")
    assert first.json()["status"] == "delivered" and first.json()["refunded_fen"] == 500
    retried = call(seller, "post", f"/{paid_order.pk}/refund", refund, HTTP_IDEMPOTENCY_KEY="r1")
    assert retried.status_code == 200 and retried.json()["refunded_fen"] == 500
    confirmed = call(me, "post", f"/{paid_order.pk}/confirm")
    assert confirmed.json()["status"] == "completed"


@pytest.mark.parametrize("path", ["", "/ship", "/confirm"])
def test_strangers_get_403_and_an_audit_entry(client_for, paid_order, path):
    stranger = client_for(factories.buyer())
    body = {"carrier": "x", "tracking_number": "y"} if path == "/ship" else None
    method = "get" if not path else "post"
    response = call(stranger, method, f"/{paid_order.pk}{path}", body)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert AuditEntry.objects.filter(
        action="access.denied", object_type="orders.order", object_id=str(paid_order.pk)
    ).exists()


def test_the_buyer_cannot_ship_and_the_seller_cannot_confirm(client_for, paid_order, keeper, buyer):
    ship = call(
        client_for(buyer),
        "post",
        f"/{paid_order.pk}/ship",
        {"carrier": "x", "tracking_number": "y"},
    )
    assert ship.status_code == 403
    assert call(client_for(keeper), "post", f"/{paid_order.pk}/confirm").status_code == 403


def test_only_sellers_have_an_order_desk(client_for, buyer):
    assert call(client_for(buyer), "get", "/shop").status_code == 403
