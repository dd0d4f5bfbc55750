"""How many queries one checkout costs, request by request, as the load test sends them: a
cart add, placing a two-shop checkout and the provider's payment callback — through HTTP
with a bearer token, in real transactions (``transaction=True``: a request's transaction
is a real one and its on-commit work runs when it commits, as under gunicorn).

The limits are the counts measured after the stock, ledger and order writes were batched
(docs/benchmarks.md, "Checkouts"); a change that brings queries back fails here and lists
every statement. ``pytest src/taocun/orders/tests/test_query_counts.py -rP`` prints the
counts and statements of a run: that is how the numbers in the docs were taken.

Statements run by the notifications app (``taocun.notifications`` and ``orders/notify.py``,
after commit) are counted apart: they belong to that app, which is moving them off the
request path, and are not limited here.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taocun.accounts.services import api_token_create
from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.market.models import Variant
from taocun.market.tests import factories as market
from taocun.orders.models import Checkout, OrderEvent
from taocun.orders.models import OrderStatus as S
from taocun.orders.tests import factories
from taocun.payments import selectors as payment_selectors
from taocun.payments import services as payments
from taocun.payments.models import AccountKind, LedgerAccount, LedgerEntry
from taocun.payments.providers.sandbox import SandboxProvider

pytestmark = pytest.mark.django_db(transaction=True)

# Statements of orders, market, payments and the request itself (authentication, the
# response, BEGIN and COMMIT), notifications excluded: the same on SQLite and PostgreSQL.
# Before the batching (the same requests, counted the same way) they were 12, 49 (56 with
# a third line) and 42.
LIMITS = {"cart add": 8, "place": 26, "pay callback": 22}

_NOTIFYING = (f"{Path('taocun', 'notifications')}", str(Path("taocun", "orders", "notify.py")))


def _notifying() -> bool:
    """Whether the statement being logged comes from the notifications' code."""
    frame = sys._getframe(1)
    while frame is not None:
        if any(part in frame.f_code.co_filename for part in _NOTIFYING):
            return True
        frame = frame.f_back
    return False


class _TaggedLog(deque):
    """``connection.queries_log`` that notes, for each statement (BEGIN and COMMIT
    included), whether the notifications ran it."""

    def append(self, item: dict) -> None:
        super().append({**item, "notifying": _notifying()})


class Counted:
    """The statements one request ran, ours and the notifications' apart."""

    def __init__(self, label: str, queries: list[dict]) -> None:
        self.label = label
        self.ours = [q["sql"] for q in queries if not q.get("notifying")]
        self.notifications = len(queries) - len(self.ours)

    def __len__(self) -> int:
        return len(self.ours)

    def report(self) -> str:
        kinds = Counter(sql.split(None, 1)[0].upper() for sql in self.ours)
        lines = [
            f"{self.label} ({connection.vendor}): {len(self.ours)} queries, "
            f"+{self.notifications} of notifications; {dict(sorted(kinds.items()))}"
        ]
        return "\n".join(lines + [f"    {sql[:240]}" for sql in self.ours])


@pytest.fixture
def counted(monkeypatch) -> Callable[[str, Callable[[], object]], tuple[object, Counted]]:
    """Run ``call`` (one request): its statements, with those of its on-commit work."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself, not its proxy
    monkeypatch.setattr(wrapper, "queries_log", _TaggedLog(maxlen=wrapper.queries_limit))

    def run(label: str, call: Callable[[], object]) -> tuple[object, Counted]:
        with CaptureQueriesContext(connection) as queries:
            result = call()
        found = Counted(label, queries.captured_queries)
        print(found.report())
        return result, found

    return run


def _within_limit(found: Counted) -> None:
    limit = LIMITS[found.label]
    assert len(found) <= limit, f"more than {limit} queries:\n{found.report()}"


@pytest.fixture
def two_shops(tree):
    """Two verified shops in two villages (two sellers), two packs in the first."""
    factories.categories_seed()
    first = market.shop(tree.qianchang, name="前仓果园")
    second = market.shop(tree.lizu, name="李祖蜂场")
    apples = market.product(
        first,
        variants=[
            {"label": "5 斤装", "unit": "box", "weight_g": 2500, "price_fen": 3990, "stock": 50},
            {"label": "10 斤装", "unit": "box", "weight_g": 5000, "price_fen": 6990, "stock": 50},
        ],
    )
    honey = market.product(second, name="土蜂蜜", price_fen=5800, stock=50)
    # The platform has been paid through the sandbox before: its account exists (the very
    # first capture of a provider creates it, four statements more).
    payments.account_get(kind=AccountKind.PROVIDER, owner="sandbox", currency="CNY")
    return [*apples.variants.order_by("pk"), honey.variants.get()]


@pytest.fixture
def api_buyer(buyer) -> tuple[object, Client]:
    _token, raw = api_token_create(user=buyer)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/orders/cart")  # the token's first use stamps it
    return buyer, client


def _post(client: Client, path: str, body: dict, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def _checkout_body(buyer, variants: list[Variant]) -> dict:
    return {
        "address_id": buyer.addresses.get().pk,
        "lines": factories.lines_of(*[(variant, 1) for variant in variants]),
    }


def _callback(checkout_id: int) -> dict:
    checkout = Checkout.objects.get(pk=checkout_id)
    return SandboxProvider().callback_build(
        intent_id=checkout.intent_id,
        reference=checkout.reference,
        status="paid",
        amount=Money(checkout.total_fen),
        now=timezone.now(),
    )


def test_cart_add_queries(api_buyer, two_shops, counted):
    _buyer, client = api_buyer
    _post(client, "/api/v1/orders/cart/lines", {"variant_id": two_shops[0].pk, "quantity": 1})
    body = {"variant_id": two_shops[2].pk, "quantity": 1}
    response, queries = counted(
        "cart add", lambda: _post(client, "/api/v1/orders/cart/lines", body)
    )
    assert response.status_code == 201, response.content
    assert [len(group["items"]) for group in response.json()["groups"]] == [1, 1]
    _within_limit(queries)


def test_place_and_pay_queries(api_buyer, two_shops, counted):
    """One pack of each shop, then the provider's notification that it is paid."""
    buyer, client = api_buyer
    body = _checkout_body(buyer, two_shops[1:])
    response, place = counted(
        "place",
        lambda: _post(client, "/api/v1/orders/checkouts", body, HTTP_IDEMPOTENCY_KEY="k"),
    )
    assert response.status_code == 201, response.content
    placed = response.json()
    assert len(placed["orders"]) == 2
    assert list(Variant.objects.order_by("pk").values_list("stock", flat=True)) == [50, 49, 49]
    assert AuditEntry.objects.filter(action="variant.stock_adjust").count() == 2
    assert OrderEvent.objects.filter(action="place").count() == 2
    _within_limit(place)

    fields = _callback(placed["id"])
    response, pay = counted(
        "pay callback", lambda: Client().post("/payments/callback/sandbox/", data=fields)
    )
    assert response.status_code == 200 and response.json()["intent_status"] == "succeeded"
    checkout = Checkout.objects.get(pk=placed["id"])
    assert checkout.status == "paid"
    assert set(checkout.orders.values_list("status", flat=True)) == {S.PAID}
    assert OrderEvent.objects.filter(action="pay").count() == 2
    assert AuditEntry.objects.filter(action="payment.capture").count() == 1
    assert AuditEntry.objects.filter(action="order.pay").count() == 2
    assert LedgerAccount.objects.filter(kind="escrow").count() == 2
    assert LedgerEntry.objects.filter(transaction__kind="capture").count() == 3
    assert payment_selectors.ledger_check() == []
    status = payment_selectors.payment_status(reference=checkout.reference)
    assert [order.status for order in status.orders] == ["held", "held"]
    _within_limit(pay)


def test_more_lines_cost_no_more_queries(api_buyer, two_shops, counted):
    """Stock, orders, lines and events are written in bulk: three lines over two shops
    cost what two lines do."""
    buyer, client = api_buyer
    two = _checkout_body(buyer, [two_shops[0], two_shops[2]])
    three = _checkout_body(buyer, two_shops)
    _response, first = counted(
        "place", lambda: _post(client, "/api/v1/orders/checkouts", two, HTTP_IDEMPOTENCY_KEY="a")
    )
    response, second = counted(
        "place",
        lambda: _post(client, "/api/v1/orders/checkouts", three, HTTP_IDEMPOTENCY_KEY="b"),
    )
    assert response.status_code == 201, response.content
    assert len(second) <= len(first), second.report()
