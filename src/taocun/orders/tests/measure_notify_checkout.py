"""Measurement, not a test suite (run by path): what notifications add to one two-shop
checkout (place + payment callback through HTTP) with real commits, in statements and CPU.

    .venv/bin/pytest src/taocun/orders/tests/measure_notify_checkout.py -q -s -p no:cacheprovider

Each variant runs N checkouts (``MEASURE_CHECKOUTS``, 20) after one warm-up: ``off``
(the notifications module made unimportable, which ``orders/notify.py`` treats as "not
installed"), ``worker`` (the default: SMS and e-mail left to the task worker) and
``in-process`` (``NOTIFICATIONS_SEND_IN_WORKER = False``: sent in the request after
commit). The difference from ``off`` is what notifications cost the request. Statements
are all of ``CaptureQueriesContext`` (BEGIN and COMMIT included); CPU is
``time.process_time`` of this process (on SQLite it includes the database's own work).
``MEASURE_SQL=1`` prints the statements of each checkout, ``MEASURE_PROFILE=<regex>`` a
cProfile of the series restricted to matching functions.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taocun.accounts.services import api_token_create
from taocun.core.money import Money
from taocun.market.tests import factories as market
from taocun.orders.models import Checkout
from taocun.orders.tests import factories
from taocun.payments.providers.sandbox import SandboxProvider

COUNT = int(os.environ.get("MEASURE_CHECKOUTS", "20"))


def _checkout(client: Client, buyer, variants, key: str) -> tuple[int, int, float, float]:
    body = {
        "address_id": buyer.addresses.get().pk,
        "lines": factories.lines_of(*[(variant, 1) for variant in variants]),
    }
    with CaptureQueriesContext(connection) as place:
        cpu = time.process_time()
        response = client.post(
            "/api/v1/orders/checkouts",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        place_cpu = time.process_time() - cpu
    assert response.status_code == 201, response.content
    checkout = Checkout.objects.get(pk=response.json()["id"])
    fields = SandboxProvider().callback_build(
        intent_id=checkout.intent_id,
        reference=checkout.reference,
        status="paid",
        amount=Money(checkout.total_fen),
        now=timezone.now(),
    )
    with CaptureQueriesContext(connection) as pay:
        cpu = time.process_time()
        paid = Client().post("/payments/callback/sandbox/", data=fields)
        pay_cpu = time.process_time() - cpu
    assert paid.json()["intent_status"] == "succeeded"
    if os.environ.get("MEASURE_SQL"):
        for label, captured in (("place", place), ("pay", pay)):
            print(f"--- {label}")
            for query in captured.captured_queries:
                print("   ", query["sql"][:150])
    return len(place), len(pay), place_cpu * 1000, pay_cpu * 1000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("notifications", ["off", "worker", "in-process"])
def test_measure(notifications, tree, monkeypatch, settings):
    settings.NOTIFICATIONS_SMS_BACKEND = "taocun.notifications.backends.LocmemSmsBackend"
    settings.NOTIFICATIONS_SEND_IN_WORKER = notifications != "in-process"
    if notifications == "off":
        import taocun.urls  # noqa: F401  (imports the notifications API before it goes)

        monkeypatch.setitem(sys.modules, "taocun.notifications.services", None)
    factories.categories_seed()
    buyer = factories.buyer()
    factories.address(buyer)
    first = market.shop(tree.qianchang, name="前仓果园")
    second = market.shop(tree.lizu, name="李祖蜂场")
    variants = [
        market.product(first, stock=10_000).variants.get(),
        market.product(second, name="土蜂蜜", stock=10_000).variants.get(),
    ]
    _token, raw = api_token_create(user=buyer)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    _checkout(client, buyer, variants, "warm-up")
    if os.environ.get("MEASURE_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
    runs = [_checkout(client, buyer, variants, f"k{n}") for n in range(COUNT)]
    if os.environ.get("MEASURE_PROFILE"):
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(os.environ["MEASURE_PROFILE"], 25)
    place_q, pay_q, place_cpu, pay_cpu = zip(*runs, strict=True)
    print(
        f"\n[{connection.vendor}, notifications {notifications}, "
        f"send_in_worker={getattr(settings, 'NOTIFICATIONS_SEND_IN_WORKER', '-')}] "
        f"{COUNT} checkouts: place {statistics.median(place_q)} + pay {statistics.median(pay_q)}"
        f" = {statistics.median(place_q) + statistics.median(pay_q)} statements; "
        f"CPU p50 place {statistics.median(place_cpu):.1f} ms + pay "
        f"{statistics.median(pay_cpu):.1f} ms"
    )
