"""The payments API through HTTP: balances, statements, payouts and payment status."""

import pytest
from django.test import Client

from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.payments import services
from taocun.payments.models import Payout
from taocun.payments.tests.factories import checkout_paid, order_references, person

pytestmark = pytest.mark.django_db

API = "/api/v1/payments"


@pytest.fixture
def seller():
    return person()


@pytest.fixture
def released(seller):
    """A seller with ¥98.00 available (¥100.00 order at 2 %) and a ¥50.00 order in escrow."""
    intent = checkout_paid(orders=[(seller, 10_000, 200), (seller, 5_000, 0)])
    first, _second = order_references(intent)
    services.escrow_release(reference=first, idempotency_key="release")
    return intent


def post_payout(client: Client, key: str | None, **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        f"{API}/payouts",
        {"amount_fen": 1000, **body},
        content_type="application/json",
        **headers,
    )


def test_the_balance_needs_a_login():
    response = Client().get(f"{API}/balance")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_seller_sees_available_pending_and_in_transit(seller, released, client_for):
    client = client_for(seller)
    post_payout(client, "po-1", amount_fen=3000)

    response = client.get(f"{API}/balance")

    assert response.status_code == 200
    assert response.json() == {
        "currency": "CNY",
        "available_fen": 6800,
        "pending_fen": 5000,
        "in_transit_fen": 3000,
    }


def test_a_user_without_sales_has_zero_balances(client_for):
    body = client_for(person()).get(f"{API}/balance?currency=USD").json()

    assert body == {"currency": "USD", "available_fen": 0, "pending_fen": 0, "in_transit_fen": 0}


def test_a_bad_currency_is_a_400_naming_it(seller, client_for):
    response = client_for(seller).get(f"{API}/balance?currency=yuan")

    assert response.status_code == 400
    assert response.json()["field"] == "currency"


def test_the_statement_pages_with_running_balances(seller, released, client_for):
    client = client_for(seller)
    post_payout(client, "po-1", amount_fen=1000)
    post_payout(client, "po-2", amount_fen=2000)

    first_page = client.get(f"{API}/statement?limit=2").json()
    second_page = client.get(f"{API}/statement?limit=2&offset=2").json()

    assert first_page["count"] == 3
    assert [(i["kind"], i["amount_fen"], i["balance_fen"]) for i in first_page["items"]] == [
        ("payout", -2000, 6800),
        ("payout", -1000, 8800),
    ]
    assert [(i["kind"], i["amount_fen"], i["balance_fen"]) for i in second_page["items"]] == [
        ("release", 9800, 9800)
    ]
    assert second_page["items"][0]["reference"] == order_references(released)[0]


def test_a_payout_request_is_idempotent_by_its_key(seller, released, client_for):
    client = client_for(seller)

    first = post_payout(client, "tap-1", destination="bank:6222****1234")
    again = post_payout(client, "tap-1", destination="bank:6222****1234")

    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "in_transit"
    assert Payout.objects.count() == 1
    other = post_payout(client, "tap-1", amount_fen=999)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"


def test_two_sellers_may_use_the_same_key(seller, released, client_for):
    other = person()
    services.escrow_release(
        reference=order_references(checkout_paid(orders=[(other, 2000, 0)]))[0],
        idempotency_key="release-other",
    )

    assert post_payout(client_for(seller), "1").status_code == 201
    assert post_payout(client_for(other), "1").status_code == 201
    assert Payout.objects.count() == 2


def test_a_payout_needs_a_key_and_a_positive_amount(seller, released, client_for):
    client = client_for(seller)

    missing = post_payout(client, None)
    zero = post_payout(client, "k", amount_fen=0)

    assert missing.status_code == 400
    assert missing.json()["field"] == "Idempotency-Key"
    assert zero.status_code == 400 and zero.json()["field"] == "amount_fen"
    assert not Payout.objects.exists()


def test_a_payout_above_the_available_balance_is_409(seller, released, client_for):
    response = post_payout(client_for(seller), "k", amount_fen=9801)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_funds"
    assert (body["balance_fen"], body["needed_fen"]) == (9800, 9801)
    assert not Payout.objects.exists()


def test_a_seller_lists_only_their_payouts(seller, released, client_for):
    post_payout(client_for(seller), "k")

    mine = client_for(seller).get(f"{API}/payouts").json()
    theirs = client_for(person()).get(f"{API}/payouts").json()

    assert mine["count"] == 1 and mine["items"][0]["amount_fen"] == 1000
    assert theirs == {"items": [], "count": 0}


def test_the_buyer_and_the_seller_see_the_payment_status(seller, released, client_for):
    buyer = released.buyer
    order = order_references(released)[0]

    checkout = client_for(buyer).get(f"{API}/status", {"reference": released.reference})
    by_order = client_for(seller).get(f"{API}/status", {"reference": order})

    assert checkout.status_code == 200
    body = checkout.json()
    assert (body["kind"], body["status"], body["amount_fen"]) == ("checkout", "succeeded", 15000)
    assert [o["status"] for o in body["orders"]] == ["released", "held"]
    assert body["orders"][0]["commission_fen"] == 200
    assert by_order.json()["kind"] == "order"
    assert by_order.json()["orders"][0]["released_fen"] == 10_000


def test_someone_else_gets_403_and_the_refusal_is_audited(released, client_for):
    stranger = person()

    response = client_for(stranger).get(f"{API}/status", {"reference": released.reference})

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    denied = AuditEntry.objects.get(action="access.denied", actor=stranger)
    assert denied.object_id == released.reference


def test_an_unknown_reference_is_404(client_for):
    response = client_for(person()).get(f"{API}/status", {"reference": "market.order:0"})

    assert response.status_code == 404
    assert response.json()["field"] == "reference"


def test_staff_see_any_payment(released, client_for):
    staff = person(is_staff=True)

    response = client_for(staff).get(f"{API}/status", {"reference": released.reference})

    assert response.status_code == 200


def test_money_amounts_in_the_api_are_integers(seller, released, client_for):
    body = client_for(seller).get(f"{API}/balance").json()

    assert all(isinstance(value, int) for key, value in body.items() if key.endswith("_fen"))
    assert Money(body["available_fen"]) == Money(9800)
