"""What the notifications of one checkout cost in queries, as the load test sends it: placing
a two-shop checkout through the API and the provider's payment callback (five messages:
"placed" to the buyer, "paid" to the buyer and the seller of each order), with real
commits, so that on-commit work runs where it runs in production.

A statement counts as the notifications' when it runs under their code (a frame of
``taocun/notifications/`` or ``orders/notify.py`` on the stack). Transaction control
(BEGIN, COMMIT, savepoints) is left out of the count: SQLite sends BEGIN as a statement
and PostgreSQL does not, so the count is the same on both. The limits are the counts
measured when notifications were written in bulk, a paid checkout as one batch, and their
SMS and e-mail left the request for the task worker (docs/notifications.md, "What it
costs"); a change that brings queries back fails here and prints them. ``-rP`` prints the
counts of a run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from taocun.accounts.services import api_token_create
from taocun.core.money import Money
from taocun.market.tests import factories as market
from taocun.orders.models import Checkout
from taocun.orders.tests import factories
from taocun.payments.providers.sandbox import SandboxProvider

pytestmark = pytest.mark.django_db(transaction=True)

# Statements run by notification code. Placing: the buyer's settings, the notification,
# its delivery, and either "is the send sweep this process enqueued still waiting?" or
# enqueueing one (both when it is no longer waiting). Paying: the same once for the four
# messages of the batch (the sweep enqueued when placing is still waiting: no worker).
PLACE_MAX = 5
PAY_MAX = 4

_NOTIFICATION_CODE = (
    str(Path("taocun", "notifications", "")),
    str(Path("taocun", "orders", "notify.py")),
)


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


class NotificationQueries:
    """Records every statement whose call stack passes through notification code."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if sql.split(None, 1)[0].upper() in TRANSACTION_CONTROL:
            return execute(sql, params, many, context)
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename.endswith(_NOTIFICATION_CODE[1]) or (
                _NOTIFICATION_CODE[0] in frame.f_code.co_filename
            ):
                self.statements.append(sql)
                break
            frame = frame.f_back
        return execute(sql, params, many, context)

    def report(self, label: str) -> str:
        lines = [f"{label}: {len(self.statements)} statements of notifications"]
        lines += [f"    {sql[:160]}" for sql in self.statements]
        return "\n".join(lines)


@pytest.fixture
def two_shops(tree):
    factories.categories_seed()
    first = market.shop(tree.qianchang, name="前仓果园")
    second = market.shop(tree.lizu, name="李祖蜂场")
    apples = market.product(first, price_fen=3990, stock=50)
    honey = market.product(second, name="土蜂蜜", price_fen=5800, stock=50)
    return [apples.variants.get(), honey.variants.get()]


def _place(client: Client, buyer, variants) -> dict:
    body = {
        "address_id": buyer.addresses.get().pk,
        "lines": factories.lines_of(*[(variant, 1) for variant in variants]),
    }
    response = client.post(
        "/api/v1/orders/checkouts",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="notify-queries",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _pay(checkout_id: int) -> None:
    checkout = Checkout.objects.get(pk=checkout_id)
    fields = SandboxProvider().callback_build(
        intent_id=checkout.intent_id,
        reference=checkout.reference,
        status="paid",
        amount=Money(checkout.total_fen),
        now=timezone.now(),
    )
    response = Client().post("/payments/callback/sandbox/", data=fields)
    assert response.json()["intent_status"] == "succeeded", response.content


def test_the_notifications_of_one_checkout_cost_a_handful_of_queries(buyer, two_shops):
    from taocun.notifications.models import Delivery, Notification

    _token, raw = api_token_create(user=buyer)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    place, pay = NotificationQueries(), NotificationQueries()

    with connection.execute_wrapper(place):
        placed = _place(client, buyer, two_shops)
    with connection.execute_wrapper(pay):
        _pay(placed["id"])

    print(place.report("place"), pay.report("pay callback"), sep="\n")
    kinds = sorted(Notification.objects.values_list("kind", flat=True))
    assert kinds == ["order.paid"] * 4 + ["order.placed"]
    assert Delivery.objects.filter(status="pending").count() == 5  # SMS, for the worker
    assert len(place.statements) <= PLACE_MAX, place.report("place")
    assert len(pay.statements) <= PAY_MAX, pay.report("pay callback")
